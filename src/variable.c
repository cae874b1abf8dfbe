/*
 * variable.c - process variables: Camunda's typed values ({value, type,
 * valueInfo}) read from requests and written to responses, the variable
 * endpoints of a process instance, and their history at level FULL.
 *
 * A runtime instance record keeps its variables under "variables" as
 * name -> {id, type, value, valueInfo, revision}, in their stored form:
 * Date as a UTC Camunda date string, Json and Object as their serialized
 * text. Every change writes the historic variable instance (one per
 * variable id: its last value, CREATED or DELETED) and a variableUpdate
 * historic detail (flagged `initial` when set at start), in the same
 * transaction as the instance itself.
 */
#include "core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INSTANCE "processInstance"
#define HIST_VAR "historicVariableInstance"
#define HIST_DETAIL "historicDetail"

/* The largest magnitude a JSON number keeps exactly as a double. */
#define RB_EXACT_LIMIT 9007199254740992.0

/* Outcomes of reading one typed value besides the storage codes. */
enum { RB_VALUE_INVALID = 100, RB_VALUE_UNSUPPORTED = 101 };

/* ---- reading typed values ------------------------------------------------- */

typedef struct rb_type {
  const char *name;      /* as the REST API writes it */
  const char *java_type; /* for Camunda's conversion message */
} rb_type;

static const rb_type types[] = {
    {"String", "java.lang.String"},   {"Integer", "java.lang.Integer"},
    {"Long", "java.lang.Long"},       {"Short", "java.lang.Short"},
    {"Double", "java.lang.Double"},   {"Boolean", "java.lang.Boolean"},
    {"Date", "java.util.Date"},       {"Null", NULL},
    {"Json", NULL},                   {"Object", NULL},
    {NULL, NULL}};

/* Camunda lower-cases the first letter of the REST name and looks that up,
 * so "integer" and "Integer" are one type and "INTEGER" is none. */
static const rb_type *type_named(const char *name) {
  for (int i = 0; types[i].name; i++) {
    const char *t = types[i].name;
    if ((name[0] == t[0] || name[0] == t[0] + ('a' - 'A')) && strcmp(name + 1, t + 1) == 0)
      return &types[i];
  }
  return NULL;
}

static int is_type(const rb_type *t, const char *name) { return strcmp(t->name, name) == 0; }

/* A number as Java prints the boxed value in a message: integers plainly,
 * others in the shortest form that reads back. */
static void number_text(double v, char *buf, size_t n) {
  if (v == floor(v) && fabs(v) < 1e18) {
    snprintf(buf, n, "%lld", (long long)v);
    return;
  }
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, n, "%.*g", digits, v);
    if (strtod(buf, NULL) == v) return;
  }
}

/* The value as Camunda's "Cannot convert value '%s'" shows it (rb_malloc'd). */
static char *value_text(const cJSON *value) {
  char buf[64];
  if (cJSON_IsString(value)) return rb_strdup(value->valuestring);
  if (cJSON_IsBool(value)) return rb_strdup(cJSON_IsTrue(value) ? "true" : "false");
  if (cJSON_IsNumber(value)) {
    number_text(value->valuedouble, buf, sizeof buf);
    return rb_strdup(buf);
  }
  return rb_print(value);
}

static int conversion_error(const cJSON *value, const rb_type *t, const char *given, char **msg) {
  char *text = value_text(value);
  if (!text) return REBATCH_NOMEM;
  *msg = rb_sprintf("Cannot convert value '%s' of type '%s' to java type %s", text, given, t->java_type);
  rb_free(text);
  return *msg ? RB_VALUE_INVALID : REBATCH_NOMEM;
}

/* Java's Integer/Long/Short.parseLong of a string: optional sign, digits. */
static int integer_text(const char *s, double *out) {
  const char *p = s + (*s == '-' || *s == '+');
  double v = 0;
  if (!*p) return 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') return 0;
    v = v * 10 + (*p - '0');
    if (v > 1e19) return 0;
  }
  *out = *s == '-' ? -v : v;
  return 1;
}

/* An integral value of the given range from a number or a numeric string.
 * 1 ok, 0 not an integer in range. */
static int integral(const cJSON *value, double lo, double hi, double *out) {
  double v;
  if (cJSON_IsNumber(value)) v = value->valuedouble;
  else if (!cJSON_IsString(value) || !integer_text(value->valuestring, &v)) return 0;
  if (v != floor(v) || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

static int double_text(const char *s, double *out) {
  char *end;
  double v;
  if (!*s) return 0;
  v = strtod(s, &end);
  if (*end || !isfinite(v)) return 0;
  *out = v;
  return 1;
}

/* yyyy-MM-dd'T'HH:mm:ss.SSSZ exactly (Z: +hhmm / -hhmm), the one form
 * Camunda's REST object mapper reads into a java.util.Date. */
static int camunda_date(const char *s, double *ms) {
  static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddd+dddd";
  cJSON *item;
  int ok;
  if (strlen(s) != sizeof shape - 1) return 0;
  for (size_t i = 0; shape[i]; i++) {
    char c = s[i];
    if (shape[i] == 'd' ? (c < '0' || c > '9') : shape[i] == '+' ? (c != '+' && c != '-') : c != shape[i])
      return 0;
  }
  if (!(item = cJSON_CreateString(s))) return -1;
  ok = rb_parse_date(item, ms) == 1;
  cJSON_Delete(item);
  return ok;
}

/* Beyond ±2^53 a double no longer holds every integer: rebatch refuses
 * such a Long rather than round it. */
static int inexact_error(const cJSON *value, const char *given, char **msg) {
  char *text = value_text(value);
  if (!text) return REBATCH_NOMEM;
  *msg = rb_sprintf("Cannot convert value '%s' of type '%s': rebatch keeps integers exactly only up to "
                    "2^53 (9007199254740992) in magnitude", text, given);
  rb_free(text);
  return *msg ? RB_VALUE_INVALID : REBATCH_NOMEM;
}

/* Compared as text: 9007199254740993 reads as 2^53 in a double. */
static int beyond_limit_text(const char *s) {
  static const char limit[] = "9007199254740992";
  size_t len;
  s += *s == '-' || *s == '+';
  while (s[0] == '0' && s[1]) s++;
  len = strlen(s);
  return len > sizeof limit - 1 || (len == sizeof limit - 1 && strcmp(s, limit) > 0);
}

static int is_big_integer(const cJSON *value) {
  double v;
  if (cJSON_IsNumber(value)) return value->valuedouble == floor(value->valuedouble) && fabs(value->valuedouble) > RB_EXACT_LIMIT;
  return cJSON_IsString(value) && integer_text(value->valuestring, &v) && beyond_limit_text(value->valuestring);
}

/* The stored value of a primitive type, or a message. */
static int primitive(const rb_type *t, const char *given, const cJSON *value, cJSON **out, char **msg) {
  double v;
  *out = NULL;
  if (!value || cJSON_IsNull(value)) return (*out = cJSON_CreateNull()) ? REBATCH_OK : REBATCH_NOMEM;
  if (is_type(t, "String")) {
    if (cJSON_IsString(value)) *out = cJSON_CreateString(value->valuestring);
    else {
      char *text = value_text(value);
      *out = text ? cJSON_CreateString(text) : NULL;
      rb_free(text);
    }
  } else if (is_type(t, "Integer") || is_type(t, "Short") || is_type(t, "Long")) {
    double hi = is_type(t, "Short") ? 32767 : is_type(t, "Integer") ? 2147483647.0 : RB_EXACT_LIMIT;
    if (is_type(t, "Long") && is_big_integer(value)) return inexact_error(value, given, msg);
    if (!integral(value, -hi - (hi < RB_EXACT_LIMIT), hi, &v)) return conversion_error(value, t, given, msg);
    *out = cJSON_CreateNumber(v);
  } else if (is_type(t, "Double")) {
    if (cJSON_IsNumber(value)) v = value->valuedouble;
    else if (!cJSON_IsString(value) || !double_text(value->valuestring, &v)) return conversion_error(value, t, given, msg);
    *out = cJSON_CreateNumber(v);
  } else if (is_type(t, "Boolean")) {
    const char *s = cJSON_IsString(value) ? value->valuestring : "";
    if (cJSON_IsBool(value)) *out = cJSON_CreateBool(cJSON_IsTrue(value));
    else if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) *out = cJSON_CreateTrue();
    else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) *out = cJSON_CreateFalse();
    else return conversion_error(value, t, given, msg);
  } else { /* Date */
    char buf[32];
    int ok = cJSON_IsString(value) ? camunda_date(value->valuestring, &v) : 0;
    if (ok < 0) return REBATCH_NOMEM;
    if (!ok) return conversion_error(value, t, given, msg);
    rb_format_date(v, buf);
    *out = cJSON_CreateString(buf);
  }
  return *out ? REBATCH_OK : REBATCH_NOMEM;
}

/* A value without a type, as Camunda's untyped values end up stored:
 * JSON numbers as Integer, Long or Double by their size, objects and
 * arrays as Object values serialized in JSON. */
static int untyped(const cJSON *value, cJSON *typed, char **msg) {
  const char *type = "Null";
  cJSON *stored = NULL;
  if (cJSON_IsString(value)) type = "String";
  else if (cJSON_IsBool(value)) type = "Boolean";
  else if (cJSON_IsNumber(value)) {
    double v = value->valuedouble;
    if (v != floor(v)) type = "Double";
    else if (fabs(v) > RB_EXACT_LIMIT) return inexact_error(value, "Long", msg);
    else type = v >= -2147483648.0 && v <= 2147483647.0 ? "Integer" : "Long";
  } else if (cJSON_IsObject(value) || cJSON_IsArray(value)) {
    char *text = rb_print(value);
    cJSON *info;
    stored = text ? cJSON_CreateString(text) : NULL;
    rb_free(text);
    if (!rb_take(typed, "value", stored) || !(info = cJSON_AddObjectToObject(typed, "valueInfo")) ||
        !rb_put_str(info, "objectTypeName", cJSON_IsArray(value) ? "java.util.ArrayList" : "java.util.LinkedHashMap") ||
        !rb_put_str(info, "serializationDataFormat", "application/json") || !rb_put_str(typed, "type", "Object"))
      return REBATCH_NOMEM;
    return REBATCH_OK;
  }
  stored = value && !cJSON_IsNull(value) ? cJSON_Duplicate(value, 1) : cJSON_CreateNull();
  if (!rb_take(typed, "value", stored) || !rb_put_str(typed, "type", type) || !cJSON_AddObjectToObject(typed, "valueInfo"))
    return REBATCH_NOMEM;
  return REBATCH_OK;
}

/* Reads one REST typed value into *out ({type, value, valueInfo}).
 * Returns REBATCH_OK, REBATCH_NOMEM, or RB_VALUE_INVALID /
 * RB_VALUE_UNSUPPORTED with *msg (rb_malloc'd) saying why. */
static int read_value(const cJSON *dto, cJSON **out, char **msg) {
  const cJSON *value = cJSON_GetObjectItemCaseSensitive(dto, "value");
  const cJSON *info = cJSON_GetObjectItemCaseSensitive(dto, "valueInfo");
  const cJSON *type_item = cJSON_GetObjectItemCaseSensitive(dto, "type");
  const char *given = cJSON_IsString(type_item) ? type_item->valuestring : NULL;
  const rb_type *t;
  cJSON *stored = NULL;
  int rc;
  *msg = NULL;
  if (!(*out = cJSON_CreateObject())) return REBATCH_NOMEM;
  if (!given || !*given) return untyped(value, *out, msg);
  if (!(t = type_named(given))) {
    *msg = rb_sprintf("Unsupported value type '%s'", given);
    return *msg ? RB_VALUE_UNSUPPORTED : REBATCH_NOMEM;
  }
  if (is_type(t, "Json") || is_type(t, "Object")) {
    if (value && !cJSON_IsNull(value) && !cJSON_IsString(value)) {
      *msg = rb_sprintf("Must provide 'null' or String value for value of SerializableValue type '%s'.", given);
      return *msg ? RB_VALUE_INVALID : REBATCH_NOMEM;
    }
    stored = value ? cJSON_Duplicate(value, 1) : cJSON_CreateNull();
    rc = stored ? REBATCH_OK : REBATCH_NOMEM;
  } else if (is_type(t, "Null")) {
    rc = (stored = cJSON_CreateNull()) ? REBATCH_OK : REBATCH_NOMEM;
  } else {
    rc = primitive(t, given, value, &stored, msg);
  }
  if (rc != REBATCH_OK) return rc;
  if (!rb_take(*out, "value", stored) || !rb_put_str(*out, "type", t->name) ||
      !rb_take(*out, "valueInfo", cJSON_IsObject(info) && is_type(t, "Object") ? cJSON_Duplicate(info, 1) : cJSON_CreateObject()))
    return REBATCH_NOMEM;
  return REBATCH_OK;
}

int rb_variables_parse(const cJSON *input, const char *prefix, cJSON **out, rb_response *res) {
  const cJSON *var;
  if (!(*out = cJSON_CreateObject())) return REBATCH_NOMEM;
  if (!input || cJSON_IsNull(input)) return REBATCH_OK;
  /* Malformed shapes fail in Camunda's JSON mapping, before any resource
   * can wrap the message. */
  if (!cJSON_IsObject(input))
    return rb_invalid(res, 400, "variables must be a JSON object of typed values");
  cJSON_ArrayForEach(var, input) {
    cJSON *typed = NULL;
    char *msg = NULL;
    int rc;
    if (!cJSON_IsObject(var) && !cJSON_IsNull(var))
      return rb_invalid(res, 400, "Cannot set variable '%s': a typed value object is expected", var->string);
    rc = read_value(var, &typed, &msg);
    if (rc == RB_VALUE_INVALID || rc == RB_VALUE_UNSUPPORTED) {
      /* A resource that wraps the message makes every failure an
       * InvalidRequestException; unwrapped, an unknown type stays the
       * RestException Camunda throws. */
      if (prefix) rc = rb_invalid(res, 400, "%s%s", prefix, msg);
      else rc = rb_error(res, 400, rc == RB_VALUE_UNSUPPORTED ? "RestException" : "InvalidRequestException", RB_CODE_NULL, "%s", msg);
    } else if (rc == REBATCH_OK && !cJSON_AddItemToObject(*out, var->string, typed)) {
      rc = REBATCH_NOMEM;
    } else if (rc == REBATCH_OK) {
      typed = NULL;
    }
    rb_free(msg);
    cJSON_Delete(typed);
    if (rc != REBATCH_OK) return rc;
  }
  return REBATCH_OK;
}

/* ---- writing typed values ------------------------------------------------- */

/* Object values serialized in JSON are shown parsed when deserialized, as
 * Camunda's object mapper writes the deserialized Java object. */
static cJSON *shown_value(const char *type, const cJSON *value, const cJSON *info, int deserialize) {
  const char *format = rb_str(info, "serializationDataFormat");
  if (deserialize && type && strcmp(type, "Object") == 0 && cJSON_IsString(value) && format &&
      strcmp(format, "application/json") == 0) {
    cJSON *parsed;
    int rc = rb_parse_request(value->valuestring, &parsed);
    if (rc == REBATCH_OK) return parsed;
    if (rc == REBATCH_NOMEM) return NULL; /* not shown as the raw text */
  }
  return value ? cJSON_Duplicate(value, 1) : cJSON_CreateNull();
}

cJSON *rb_value_to_dto(const cJSON *stored, int deserialize) {
  const cJSON *info = cJSON_GetObjectItemCaseSensitive(stored, "valueInfo");
  cJSON *dto = cJSON_CreateObject();
  if (!dto) return NULL;
  if (!rb_take(dto, "type", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(stored, "type"), 1)) ||
      !rb_take(dto, "value", shown_value(rb_str(stored, "type"), cJSON_GetObjectItemCaseSensitive(stored, "value"), info, deserialize)) ||
      !rb_take(dto, "valueInfo", info ? cJSON_Duplicate(info, 1) : cJSON_CreateObject())) {
    cJSON_Delete(dto);
    return NULL;
  }
  return dto;
}

cJSON *rb_variables_to_dto(const cJSON *variables, int deserialize) {
  cJSON *out = cJSON_CreateObject();
  const cJSON *var;
  cJSON_ArrayForEach(var, variables) {
    if (!out) break;
    if (!rb_take(out, var->string, rb_value_to_dto(var, deserialize))) {
      cJSON_Delete(out);
      out = NULL;
    }
  }
  return out;
}

/* ---- history ---------------------------------------------------------------- */

static int save_hist_var(rebatch_engine *e, rb_doc *doc) {
  rebatch_index_entry index[] = {
      {"processInstanceId", rb_str(doc->json, "processInstanceId")},
      {"name", rb_str(doc->json, "name")},
  };
  return rb_save(e, HIST_VAR, doc, index, 2);
}

static int save_detail(rebatch_engine *e, rb_doc *doc) {
  rebatch_index_entry index[] = {
      {"processInstanceId", rb_str(doc->json, "processInstanceId")},
      {"variableInstanceId", rb_str(doc->json, "variableInstanceId")},
  };
  return rb_save(e, HIST_DETAIL, doc, index, 2);
}

/* The fields every historic variable record shares, from the instance. */
static int put_scope(cJSON *rec, const cJSON *inst) {
  const char *id = rb_str(inst, "id");
  return rb_copy(rec, inst, "processDefinitionKey") && rb_copy(rec, inst, "processDefinitionId") &&
         rb_put_str(rec, "processInstanceId", id) && rb_put_str(rec, "executionId", id) &&
         rb_put_str(rec, "activityInstanceId", id) && rb_put_null(rec, "caseDefinitionKey") &&
         rb_put_null(rec, "caseDefinitionId") && rb_put_null(rec, "caseInstanceId") &&
         rb_put_null(rec, "caseExecutionId") && rb_put_null(rec, "taskId") && rb_copy(rec, inst, "tenantId") &&
         rb_put_null(rec, "removalTime") && rb_put_str(rec, "rootProcessInstanceId", id);
}

static int put_value(cJSON *rec, const char *type_key, const cJSON *var) {
  return rb_put_str(rec, type_key, rb_str(var, "type")) &&
         rb_take(rec, "value", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(var, "value"), 1)) &&
         rb_take(rec, "valueInfo", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(var, "valueInfo"), 1));
}

static int write_detail(rebatch_engine *e, const cJSON *inst, const char *name, const cJSON *var, int initial) {
  char id[REBATCH_ID_MAX + 1];
  long long revision = 0;
  cJSON *rec;
  rb_doc doc;
  int rc = rb_new_id(e, id);
  if (rc != REBATCH_OK) return rc;
  rb_int(var, "revision", &revision);
  if (!(rec = cJSON_CreateObject())) return REBATCH_NOMEM;
  if (!rb_put_str(rec, "id", id) || !rb_put_str(rec, "type", "variableUpdate") || !put_scope(rec, inst) ||
      !rb_put_null(rec, "userOperationId") || !rb_put_num(rec, "time", rb_now(e)) ||
      !rb_put_str(rec, "variableName", name) || !rb_put_str(rec, "variableInstanceId", rb_str(var, "id")) ||
      !put_value(rec, "variableType", var) || !rb_put_bool(rec, "initial", initial) ||
      !rb_put_num(rec, "revision", (double)revision) || !rb_put_null(rec, "errorMessage")) {
    cJSON_Delete(rec);
    return REBATCH_NOMEM;
  }
  if ((rc = rb_doc_init(&doc, id, rec)) != REBATCH_OK) return rc;
  rc = save_detail(e, &doc);
  rb_doc_clear(&doc);
  return rc;
}

static int create_hist_var(rebatch_engine *e, const cJSON *inst, const char *name, const cJSON *var) {
  cJSON *rec = cJSON_CreateObject();
  rb_doc doc;
  int rc;
  if (!rec || !rb_copy(rec, var, "id") || !rb_put_str(rec, "name", name) || !put_value(rec, "type", var) ||
      !put_scope(rec, inst) || !rb_put_null(rec, "errorMessage") || !rb_put_str(rec, "state", "CREATED") ||
      !rb_put_num(rec, "createTime", rb_now(e))) {
    cJSON_Delete(rec);
    return REBATCH_NOMEM;
  }
  if ((rc = rb_doc_init(&doc, rb_str(var, "id"), rec)) != REBATCH_OK) return rc;
  rc = save_hist_var(e, &doc);
  rb_doc_clear(&doc);
  return rc;
}

/* Brings the historic variable instance up to the runtime one: its last
 * value, or its deletion. */
static int update_hist_var(rebatch_engine *e, const cJSON *var, int deleted) {
  rb_doc doc;
  int rc = rb_load(e, HIST_VAR, rb_str(var, "id"), &doc);
  if (rc == REBATCH_OK && doc.json) {
    cJSON_DeleteItemFromObjectCaseSensitive(doc.json, "type");
    cJSON_DeleteItemFromObjectCaseSensitive(doc.json, "value");
    cJSON_DeleteItemFromObjectCaseSensitive(doc.json, "valueInfo");
    if (!put_value(doc.json, "type", var) || !rb_set_str(doc.json, "state", deleted ? "DELETED" : "CREATED"))
      rc = REBATCH_NOMEM;
    if (rc == REBATCH_OK) rc = save_hist_var(e, &doc);
  }
  rb_doc_clear(&doc);
  return rc;
}

/* ---- setting and removing ------------------------------------------------- */

static cJSON *variables_of(cJSON *inst) {
  cJSON *vars = cJSON_GetObjectItemCaseSensitive(inst, "variables");
  if (cJSON_IsObject(vars)) return vars;
  return rb_set(inst, "variables", cJSON_CreateObject()) ? cJSON_GetObjectItemCaseSensitive(inst, "variables") : NULL;
}

static int replace_value(cJSON *var, const cJSON *typed) {
  static const char *const keys[] = {"type", "value", "valueInfo", NULL};
  for (int i = 0; keys[i]; i++)
    if (!rb_take(var, keys[i], cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(typed, keys[i]), 1))) return 0;
  return 1;
}

static int set_one(rebatch_engine *e, cJSON *inst, cJSON *vars, const char *name, const cJSON *typed, int initial) {
  cJSON *var = cJSON_GetObjectItemCaseSensitive(vars, name);
  int rc;
  if (var) {
    long long revision = 0;
    rb_int(var, "revision", &revision);
    if (!replace_value(var, typed) || !rb_set_num(var, "revision", (double)(revision + 1))) return REBATCH_NOMEM;
    rc = update_hist_var(e, var, 0);
  } else {
    char id[REBATCH_ID_MAX + 1];
    if ((rc = rb_new_id(e, id)) != REBATCH_OK) return rc;
    var = cJSON_CreateObject();
    if (!var || !rb_put_str(var, "id", id) || !replace_value(var, typed) || !rb_put_num(var, "revision", 0) ||
        !cJSON_AddItemToObject(vars, name, var)) {
      cJSON_Delete(var);
      return REBATCH_NOMEM;
    }
    rc = create_hist_var(e, inst, name, var);
  }
  return rc == REBATCH_OK ? write_detail(e, inst, name, var, initial) : rc;
}

int rb_variables_set(rebatch_engine *e, cJSON *inst, const cJSON *typed, int initial) {
  cJSON *vars = variables_of(inst);
  const cJSON *var;
  if (!vars) return REBATCH_NOMEM;
  cJSON_ArrayForEach(var, typed) {
    int rc = set_one(e, inst, vars, var->string, var, initial);
    if (rc != REBATCH_OK) return rc;
  }
  return REBATCH_OK;
}

/* Removing a variable the instance does not have is no error. */
static int remove_one(rebatch_engine *e, cJSON *inst, const char *name) {
  cJSON *vars = variables_of(inst), *var;
  int rc;
  if (!vars) return REBATCH_NOMEM;
  if (!(var = cJSON_GetObjectItemCaseSensitive(vars, name))) return REBATCH_OK;
  rc = update_hist_var(e, var, 1);
  if (rc == REBATCH_OK) rc = write_detail(e, inst, name, var, 0);
  if (rc == REBATCH_OK) cJSON_DeleteItemFromObjectCaseSensitive(vars, name);
  return rc;
}

/* {name: {type, value, valueInfo}} of a historic instance: the last values
 * (its historic variable instances still CREATED) or the initial ones (its
 * variable updates flagged initial). */
int rb_history_variables(rebatch_engine *e, const char *instance_id, int initial, cJSON **out) {
  rb_docs docs = {0};
  int rc = rb_find_all(e, initial ? HIST_DETAIL : HIST_VAR, "processInstanceId", instance_id, &docs);
  *out = rc == REBATCH_OK ? cJSON_CreateObject() : NULL;
  if (rc == REBATCH_OK && !*out) rc = REBATCH_NOMEM;
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) {
    const cJSON *r = docs.items[i].json;
    const char *state = rb_str(r, "state");
    cJSON *typed;
    if (initial ? !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "initial")) : !state || strcmp(state, "CREATED") != 0)
      continue;
    typed = cJSON_CreateObject();
    if (!rb_take(*out, rb_str(r, initial ? "variableName" : "name"), typed) ||
        !rb_put_str(typed, "type", rb_str(r, initial ? "variableType" : "type")) ||
        !rb_copy(typed, r, "value") || !rb_copy(typed, r, "valueInfo"))
      rc = REBATCH_NOMEM;
  }
  rb_docs_clear(&docs);
  if (rc != REBATCH_OK) {
    cJSON_Delete(*out);
    *out = NULL;
  }
  return rc;
}

static int delete_all(rebatch_engine *e, const char *coll, const char *instance_id) {
  rb_docs docs = {0};
  int rc = rb_find_all(e, coll, "processInstanceId", instance_id, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) rc = rb_delete(e, coll, &docs.items[i]);
  rb_docs_clear(&docs);
  return rc;
}

int rb_history_variables_delete(rebatch_engine *e, const char *instance_id) {
  int rc = delete_all(e, HIST_VAR, instance_id);
  return rc == REBATCH_OK ? delete_all(e, HIST_DETAIL, instance_id) : rc;
}

/* ---- the process instance variable endpoints ------------------------------ */

/* Camunda's engine names a missing execution the same way everywhere. */
static int load_instance(rebatch_engine *e, const char *id, rb_doc *doc) {
  return rb_load(e, INSTANCE, id, doc);
}

static int no_execution(rb_response *res, int status, const char *type, const char *what, const char *id) {
  return rb_error(res, status, type, 0, "%sexecution %s doesn't exist: execution is null", what, id ? id : "null");
}

/* deserializeValue(s): true unless "false". */
static int deserialize_param(const cJSON *request, const char *name) {
  const cJSON *q = cJSON_GetObjectItemCaseSensitive(request, "query");
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(q, name);
  return !(cJSON_IsFalse(item) || (cJSON_IsString(item) && strcmp(item->valuestring, "false") == 0));
}

int rb_op_getProcessInstanceVariables(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id");
  rb_doc inst;
  cJSON *dto;
  int rc = load_instance(e, id, &inst);
  if (rc == REBATCH_OK && !inst.json) rc = no_execution(res, 500, "NullValueException", "", id);
  if (rc != REBATCH_OK) {
    rb_doc_clear(&inst);
    return rc;
  }
  dto = rb_variables_to_dto(cJSON_GetObjectItemCaseSensitive(inst.json, "variables"), deserialize_param(request, "deserializeValues"));
  rb_doc_clear(&inst);
  return dto ? rb_ok(res, 200, dto) : REBATCH_NOMEM;
}

int rb_op_getProcessInstanceVariable(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id"), *name = rb_str(request, "key");
  const cJSON *var;
  char *what;
  rb_doc inst;
  int rc = load_instance(e, id, &inst);
  if (rc == REBATCH_OK && !inst.json) {
    if (!(what = rb_sprintf("Cannot get process instance variable %s: ", name ? name : "null"))) rc = REBATCH_NOMEM;
    else rc = no_execution(res, 500, "RestException", what, id);
    rb_free(what);
  }
  var = rc == REBATCH_OK ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(inst.json, "variables"), name ? name : "") : NULL;
  if (rc == REBATCH_OK && !var)
    rc = rb_error(res, 404, "InvalidRequestException", RB_CODE_NULL, "process instance variable with name %s does not exist", name ? name : "null");
  if (rc == REBATCH_OK) {
    cJSON *dto = rb_value_to_dto(var, deserialize_param(request, "deserializeValue"));
    rc = dto ? rb_ok(res, 200, dto) : REBATCH_NOMEM;
  }
  rb_doc_clear(&inst);
  return rc;
}

/* Loads the instance, applies the change and saves it, or answers with
 * Camunda's "execution ... doesn't exist" wrapped by `what`. */
static int change_instance(rebatch_engine *e, const char *id, const cJSON *set, const cJSON *deletions,
                           const char *what, rb_response *res) {
  const cJSON *name;
  rb_doc inst;
  int rc = load_instance(e, id, &inst);
  if (rc == REBATCH_OK && !inst.json) rc = no_execution(res, 500, "RestException", what, id);
  if (rc == REBATCH_OK && set) rc = rb_variables_set(e, inst.json, set, 0);
  cJSON_ArrayForEach(name, deletions) {
    if (rc != REBATCH_OK) break;
    if (cJSON_IsString(name)) rc = remove_one(e, inst.json, name->valuestring);
  }
  if (rc == REBATCH_OK) rc = rb_instance_save(e, &inst);
  rb_doc_clear(&inst);
  return rc;
}

int rb_op_setProcessInstanceVariable(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id"), *name = rb_str(request, "key");
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  cJSON *input = NULL, *typed = NULL;
  char *what = rb_sprintf("Cannot put process instance variable %s: ", name ? name : "null");
  int rc = what ? REBATCH_OK : REBATCH_NOMEM;
  if (rc == REBATCH_OK && (!body || cJSON_IsNull(body))) rc = rb_invalid(res, 400, "%srequest body is null", what);
  if (rc == REBATCH_OK && !name) rc = rb_invalid(res, 400, "%svariable name is null", what);
  if (rc == REBATCH_OK) {
    input = cJSON_CreateObject();
    if (!input || !rb_add_reference(input, name, body)) rc = REBATCH_NOMEM;
  }
  if (rc == REBATCH_OK) rc = rb_variables_parse(input, what, &typed, res);
  if (rc == REBATCH_OK) rc = change_instance(e, id, typed, NULL, what, res);
  cJSON_Delete(input);
  cJSON_Delete(typed);
  rb_free(what);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

int rb_op_deleteProcessInstanceVariable(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id"), *name = rb_str(request, "key");
  char *what = rb_sprintf("Cannot delete process instance variable %s: ", name ? name : "null");
  cJSON *names = what && name ? cJSON_CreateStringArray(&name, 1) : NULL;
  int rc = names ? change_instance(e, id, NULL, names, what, res) : REBATCH_NOMEM;
  if (!name && what) rc = rb_invalid(res, 400, "%svariable name is null", what);
  cJSON_Delete(names);
  rb_free(what);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

int rb_op_modifyProcessInstanceVariables(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id");
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const cJSON *deletions = cJSON_GetObjectItemCaseSensitive(body, "deletions");
  cJSON *typed = NULL;
  char *what = NULL;
  int rc;
  if (deletions && !cJSON_IsNull(deletions) && !cJSON_IsArray(deletions))
    return rb_invalid(res, 400, "Cannot modify variables for process instance: deletions must be an array of variable names");
  rc = rb_variables_parse(cJSON_GetObjectItemCaseSensitive(body, "modifications"),
                          "Cannot modify variables for process instance: ", &typed, res);
  if (rc == REBATCH_OK && !(what = rb_sprintf("Cannot modify variables for process instance %s: ", id ? id : "null")))
    rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = change_instance(e, id, typed, cJSON_IsArray(deletions) ? deletions : NULL, what, res);
  cJSON_Delete(typed);
  rb_free(what);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* Sets variables on a running instance without moving it (an external
 * task failure with variables). */
int rb_instance_set_variables(rebatch_engine *e, const char *instance_id, const cJSON *typed) {
  rb_doc inst;
  int rc = load_instance(e, instance_id, &inst);
  if (rc == REBATCH_OK && inst.json && cJSON_GetArraySize(typed) > 0) {
    rc = rb_variables_set(e, inst.json, typed, 0);
    if (rc == REBATCH_OK) rc = rb_instance_save(e, &inst);
  }
  rb_doc_clear(&inst);
  return rc;
}

/* ---- history queries -------------------------------------------------------- */

static cJSON *with_shown_value(cJSON *dto, const char *type_key) {
  cJSON *shown;
  if (!dto) return NULL;
  shown = shown_value(rb_str(dto, type_key), cJSON_GetObjectItemCaseSensitive(dto, "value"),
                      cJSON_GetObjectItemCaseSensitive(dto, "valueInfo"), 1);
  if (!rb_set(dto, "value", shown)) {
    cJSON_Delete(dto);
    return NULL;
  }
  return dto;
}

static cJSON *hist_var_to_dto(rebatch_engine *e, const cJSON *r) {
  static const char *const fields[] = {
      "id", "name", "type", "value", "valueInfo", "processDefinitionKey", "processDefinitionId",
      "processInstanceId", "executionId", "activityInstanceId", "caseDefinitionKey", "caseDefinitionId",
      "caseInstanceId", "caseExecutionId", "taskId", "errorMessage", "tenantId", "state", "createTime",
      "removalTime", "rootProcessInstanceId", NULL};
  (void)e;
  return with_shown_value(rb_dto(r, fields), "type");
}

static cJSON *detail_to_dto(rebatch_engine *e, const cJSON *r) {
  static const char *const fields[] = {
      "type", "id", "processDefinitionKey", "processDefinitionId", "processInstanceId", "activityInstanceId",
      "executionId", "caseDefinitionKey", "caseDefinitionId", "caseInstanceId", "caseExecutionId", "taskId",
      "tenantId", "userOperationId", "time", "removalTime", "rootProcessInstanceId", "variableName",
      "variableInstanceId", "variableType", "value", "valueInfo", "initial", "revision", "errorMessage", NULL};
  cJSON *dto = rb_dto(r, fields);
  double time = rb_date(r, "time");
  char buf[32];
  (void)e;
  /* "time" has no date suffix for rb_dto to know it by. */
  rb_format_date(time < 0 ? 0 : time, buf);
  if (dto && !rb_set(dto, "time", time < 0 ? cJSON_CreateNull() : cJSON_CreateString(buf))) {
    cJSON_Delete(dto);
    return NULL;
  }
  return with_shown_value(dto, "variableType");
}

/* Values as URL parameters are text: a value matches when it reads the
 * same (numbers as JSON writes them, booleans as true/false); fold: String
 * values compare ignoring case (variableValuesIgnoreCase). */
static int value_matches(const cJSON *r, const cJSON *arg, int fold) {
  const cJSON *value = cJSON_GetObjectItemCaseSensitive(r, "value");
  char *text;
  int same;
  if (!cJSON_IsString(arg)) return cJSON_Compare(value, arg, 1);
  if (cJSON_IsString(value)) return rb_text_compare(value->valuestring, arg->valuestring, fold) == 0;
  if (!(text = rb_print(value))) return 0;
  same = strcmp(text, arg->valuestring) == 0;
  rb_free(text);
  return same;
}

static int value_equals(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e;
  return value_matches(r, arg, 0);
}

static int value_equals_folded(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e;
  return value_matches(r, arg, 1);
}

static int name_equals_folded(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  const char *name = rb_str(r, "name");
  (void)e;
  return name && cJSON_IsString(arg) && rb_text_compare(name, arg->valuestring, 1) == 0;
}

static int name_like_folded(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e;
  return cJSON_IsString(arg) && rb_like_fold(rb_str(r, "name"), arg->valuestring, 1);
}

static int type_in(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e;
  return rb_list_contains(arg, rb_str(r, "type")) || rb_list_contains(arg, rb_str(r, "variableType"));
}

static int is_initial(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e; (void)arg;
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "initial"));
}

static const rb_filter hist_var_filters[] = {
    {"variableName", RB_F_EQ, "name", NULL, 1},
    {"variableNameLike", RB_F_LIKE, "name", NULL, 0},
    {"variableValue", RB_F_VALUE, NULL, value_equals, 0},
    {"variableTypeIn", RB_F_VALUE, NULL, type_in, 0},
    {"processInstanceId", RB_F_EQ, "processInstanceId", NULL, 1},
    {"processInstanceIdIn", RB_F_IN, "processInstanceId", NULL, 0},
    {"processDefinitionId", RB_F_EQ, "processDefinitionId", NULL, 0},
    {"processDefinitionKey", RB_F_EQ, "processDefinitionKey", NULL, 0},
    {"executionIdIn", RB_F_IN, "executionId", NULL, 0},
    {"activityInstanceIdIn", RB_F_IN, "activityInstanceId", NULL, 0},
    {"variableInstanceIdIn", RB_F_IN, "id", NULL, 0},
    {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},
    {"withoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0},
    {"rebatchState", RB_F_EQ, "state", NULL, 0},
    {"includeDeleted", RB_F_FLAG, NULL, rb_pred_everything, 0},
    {"deserializeValues", RB_F_FLAG, NULL, rb_pred_everything, 0},
    {"caseInstanceId", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"caseExecutionIdIn", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"caseActivityIdIn", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"taskIdIn", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    /* variableName / variableNameLike / variableValue under
     * variableNamesIgnoreCase / variableValuesIgnoreCase (hist_var_request) */
    {"rebatchNameIgnoreCase", RB_F_VALUE, NULL, name_equals_folded, 0},
    {"rebatchNameLikeIgnoreCase", RB_F_VALUE, NULL, name_like_folded, 0},
    {"rebatchValueIgnoreCase", RB_F_VALUE, NULL, value_equals_folded, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key hist_var_sorts[] = {
    {"instanceId", "processInstanceId"}, {"variableName", "name"}, {"tenantId", "tenantId"}, {NULL, NULL}};

static const rb_query hist_var_query = {HIST_VAR, hist_var_filters, hist_var_sorts, hist_var_to_dto};

static const rb_filter detail_filters[] = {
    {"processInstanceId", RB_F_EQ, "processInstanceId", NULL, 1},
    {"processInstanceIdIn", RB_F_IN, "processInstanceId", NULL, 0},
    {"executionId", RB_F_EQ, "executionId", NULL, 0},
    {"activityInstanceId", RB_F_EQ, "activityInstanceId", NULL, 0},
    {"variableInstanceId", RB_F_EQ, "variableInstanceId", NULL, 1},
    {"variableTypeIn", RB_F_VALUE, NULL, type_in, 0},
    {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},
    {"withoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0},
    {"initial", RB_F_FLAG, NULL, is_initial, 0},
    {"variableUpdates", RB_F_FLAG, NULL, rb_pred_everything, 0},
    {"excludeTaskDetails", RB_F_FLAG, NULL, rb_pred_everything, 0},
    {"formFields", RB_F_FLAG, NULL, rb_pred_nothing, 0},
    {"deserializeValues", RB_F_FLAG, NULL, rb_pred_everything, 0},
    {"occurredBefore", RB_F_DATE_BEFORE, "time", NULL, 0},
    {"occurredAfter", RB_F_DATE_AFTER, "time", NULL, 0},
    {"userOperationId", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"taskId", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"caseInstanceId", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"caseExecutionId", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key detail_sorts[] = {
    {"processInstanceId", "processInstanceId"}, {"variableName", "variableName"},
    {"variableType", "variableType"}, {"variableRevision", "revision"}, {"time", "time"},
    {"tenantId", "tenantId"}, {NULL, NULL}};

static const rb_query detail_query = {HIST_DETAIL, detail_filters, detail_sorts, detail_to_dto};

static int flag_param(const cJSON *request, const char *name) {
  const cJSON *flag = rb_param(request, name);
  return cJSON_IsTrue(flag) || (cJSON_IsString(flag) && strcmp(flag->valuestring, "true") == 0);
}

/* Moves query[from] to query[to] (the filter that folds case). */
static int rename_param(cJSON *query, const char *from, const char *to) {
  cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(query, from);
  return !item || rb_set(query, to, item);
}

/* The request as the filter table reads it: Camunda leaves deleted
 * variables out unless includeDeleted is set (a state filter), and its
 * *IgnoreCase options turn the name and value filters into folding ones
 * (no index narrowing by an exact name then). *out stays NULL when the
 * request needs no change. */
static int hist_var_request(const cJSON *request, cJSON **out) {
  int deleted = flag_param(request, "includeDeleted");
  int names = flag_param(request, "variableNamesIgnoreCase");
  int values = flag_param(request, "variableValuesIgnoreCase");
  cJSON *query;
  *out = NULL;
  if (deleted && !names && !values) return REBATCH_OK;
  if (!(*out = request ? cJSON_Duplicate(request, 1) : cJSON_CreateObject())) return REBATCH_NOMEM;
  query = cJSON_GetObjectItemCaseSensitive(*out, "query");
  if (!cJSON_IsObject(query)) {
    if (!rb_set(*out, "query", cJSON_CreateObject())) return REBATCH_NOMEM;
    query = cJSON_GetObjectItemCaseSensitive(*out, "query");
  }
  if (!deleted && !rb_set_str(query, "rebatchState", "CREATED")) return REBATCH_NOMEM;
  if (names && (!rename_param(query, "variableName", "rebatchNameIgnoreCase") ||
                !rename_param(query, "variableNameLike", "rebatchNameLikeIgnoreCase")))
    return REBATCH_NOMEM;
  if (values && !rename_param(query, "variableValue", "rebatchValueIgnoreCase")) return REBATCH_NOMEM;
  return REBATCH_OK;
}

int rb_op_getHistoricVariableInstances(rebatch_engine *e, const cJSON *request, rb_response *res) {
  cJSON *own = NULL;
  int rc = hist_var_request(request, &own);
  if (rc == REBATCH_OK) rc = rb_query_list(e, &hist_var_query, own ? own : request, res);
  cJSON_Delete(own);
  return rc;
}

int rb_op_getHistoricVariableInstancesCount(rebatch_engine *e, const cJSON *request, rb_response *res) {
  cJSON *own = NULL;
  int rc = hist_var_request(request, &own);
  if (rc == REBATCH_OK) rc = rb_query_count(e, &hist_var_query, own ? own : request, res);
  cJSON_Delete(own);
  return rc;
}

int rb_op_getHistoricDetails(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_list(e, &detail_query, request, res);
}

int rb_op_getHistoricDetailsCount(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_count(e, &detail_query, request, res);
}

/* GET /history/{variable-instance,detail}/{id}: Camunda runs the list
 * query by id, so a deleted variable (state DELETED) is not found without
 * includeDeleted, which the single resource has no parameter for. */
static int get_history_record(rebatch_engine *e, const cJSON *request, const char *coll,
                              rb_to_dto to_dto, const char *what, rb_response *res) {
  const char *id = rb_str(request, "id");
  const char *state;
  cJSON *dto = NULL;
  rb_doc doc;
  int rc = rb_load(e, coll, id, &doc);
  state = doc.json ? rb_str(doc.json, "state") : NULL;
  if (rc == REBATCH_OK && (!doc.json || (state && strcmp(state, "DELETED") == 0)))
    rc = rb_not_found(res, "InvalidRequestException", "%s with Id '%s' does not exist.", what, id ? id : "null");
  if (rc == REBATCH_OK && !(dto = to_dto(e, doc.json))) rc = REBATCH_NOMEM;
  rb_doc_clear(&doc);
  return rc == REBATCH_OK ? rb_ok(res, 200, dto) : rc;
}

int rb_op_getHistoricVariableInstance(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return get_history_record(e, request, HIST_VAR, hist_var_to_dto, "Historic variable instance", res);
}

int rb_op_getHistoricDetail(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return get_history_record(e, request, HIST_DETAIL, detail_to_dto, "Historic detail", res);
}
