/*
 * query_params.c - what Camunda does to a query request before it runs:
 * the query DTO converts each URL parameter by its declared Java type
 * (AbstractSearchQueryDto and its converters; sortBy/sortOrder through
 * their validating setters), then applyFilters hands the values to the
 * engine query, which refuses empty id sets and unknown variable
 * comparators. Every check runs before any record is read, so a bad
 * request fails the same way over an empty store.
 */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { JT_STRING, JT_BOOLEAN, JT_DATE, JT_INTEGER, JT_LONG, JT_VARIABLES } rb_java_type;

/* RB_F_VALUE parameters whose DTO setter takes something other than
 * String or a String list (the converter named in @CamundaQueryParam). */
static const struct {
  const char *param;
  rb_java_type type;
} value_types[] = {
    {"suspended", JT_BOOLEAN},
    {"completed", JT_BOOLEAN},
    {"version", JT_INTEGER},
    {"priorityHigherThanOrEquals", JT_LONG},
    {"priorityLowerThanOrEquals", JT_LONG},
    {"jobPriorityHigherThanOrEquals", JT_LONG},
    {"jobPriorityLowerThanOrEquals", JT_LONG},
    {"executedActivityBefore", JT_DATE},
    {"executedActivityAfter", JT_DATE},
    {"executedJobBefore", JT_DATE},
    {"executedJobAfter", JT_DATE},
    {"processVariables", JT_VARIABLES},
    {NULL, JT_STRING}};

/* Typed parameters Camunda's DTOs declare that rebatch's queries do not
 * filter by (they select nothing rebatch stores differently): converted
 * all the same, so a bad value fails as upstream. By collection. */
static const struct {
  const char *collection;
  const char *param;
  rb_java_type type;
} unfiltered_types[] = {
    {"deployment", "withoutSource", JT_BOOLEAN},
    {"deployment", "withoutTenantId", JT_BOOLEAN},
    {"deployment", "includeDeploymentsWithoutTenantId", JT_BOOLEAN},
    {"processDefinition", "deployedAfter", JT_DATE},
    {"processDefinition", "deployedAt", JT_DATE},
    {"processDefinition", "ver", JT_INTEGER},
    {"processDefinition", "latest", JT_BOOLEAN},
    {"processDefinition", "includeProcessDefinitionsWithoutTenantId", JT_BOOLEAN},
    {"processDefinition", "withoutVersionTag", JT_BOOLEAN},
    {"processDefinition", "startableInTasklist", JT_BOOLEAN},
    {"processDefinition", "notStartableInTasklist", JT_BOOLEAN},
    {"processDefinition", "startablePermissionCheck", JT_BOOLEAN},
    {"job", "includeJobsWithoutTenantId", JT_BOOLEAN},
    {"job", "acquired", JT_BOOLEAN},
    {"jobDefinition", "includeJobDefinitionsWithoutTenantId", JT_BOOLEAN},
    {NULL, NULL, JT_STRING}};

/* Parameters that select by a condition list and so also take the two
 * case flags (read next to the conditions, not as filters). */
static const char *const condition_params[] = {"variables", "processVariables", "variableValue", NULL};

static const char *const java_names[] = {"java.lang.String", "java.lang.Boolean", "java.util.Date",
                                         "java.lang.Integer", "java.lang.Long", "java.util.List"};

static rb_java_type type_of(const rb_filter *f) {
  switch (f->kind) {
  case RB_F_FLAG:
    /* deserializeValues is a resource parameter (JAX-RS Boolean.valueOf:
     * anything but "true" is false), not a DTO one. */
    return strcmp(f->param, "deserializeValues") == 0 ? JT_STRING : JT_BOOLEAN;
  case RB_F_DATE_BEFORE:
  case RB_F_DATE_AFTER:
    return JT_DATE;
  case RB_F_VARIABLES:
    return JT_VARIABLES;
  case RB_F_VALUE:
    for (int i = 0; value_types[i].param; i++)
      if (strcmp(value_types[i].param, f->param) == 0) return value_types[i].type;
    return JT_STRING;
  default:
    return JT_STRING;
  }
}

/* Jackson reads the text as a JSON value of the type: literals only,
 * surrounding whitespace allowed, "null" is no value. */
static const char *trimmed(const char *text, char *buf, size_t cap) {
  size_t n;
  while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r') text++;
  n = strlen(text);
  while (n && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\n' || text[n - 1] == '\r')) n--;
  if (n >= cap) n = cap - 1;
  memcpy(buf, text, n);
  buf[n] = '\0';
  return buf;
}

static int reads_as_integer(const char *text, long long min, long long max) {
  char *end;
  long long v;
  if (strcmp(text, "null") == 0) return 1;
  if (!*text || (*text != '-' && (*text < '0' || *text > '9'))) return 0;
  errno = 0;
  v = strtoll(text, &end, 10);
  return errno == 0 && *end == '\0' && v >= min && v <= max;
}

static int converts(rb_java_type type, const char *value) {
  char buf[64];
  const char *t = trimmed(value, buf, sizeof buf);
  switch (type) {
  case JT_BOOLEAN:
    return strlen(value) < sizeof buf && (strcmp(t, "true") == 0 || strcmp(t, "false") == 0 || strcmp(t, "null") == 0);
  case JT_INTEGER:
    return strlen(value) < sizeof buf && reads_as_integer(t, -2147483647LL - 1, 2147483647LL);
  case JT_LONG:
    return strlen(value) < sizeof buf && reads_as_integer(t, -9223372036854775807LL - 1, 9223372036854775807LL);
  case JT_DATE: {
    cJSON item;
    double ms;
    memset(&item, 0, sizeof item);
    item.type = cJSON_String;
    item.valuestring = (char *)value;
    return rb_parse_date(&item, &ms) == 1;
  }
  default:
    return 1;
  }
}

/* Java's String.split(delimiter): the parts, trailing empty ones dropped
 * (but a text without the delimiter is one part, even when empty). */
static int split_count(const char *text, size_t len, char delimiter) {
  int parts = 0, kept = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && text[i] != delimiter) continue;
    parts++;
    if (i > start) kept = parts;
    start = i + 1;
  }
  return parts == 1 ? 1 : kept;
}

/* VariableListConverter: comma separated KEY_OPERATOR_VALUE triples. */
static int variables_format_ok(const char *text) {
  size_t len = strlen(text), start = 0;
  int expressions = split_count(text, len, ',');
  for (int n = 0; n < expressions; n++) {
    const char *comma = memchr(text + start, ',', len - start);
    size_t end = comma ? (size_t)(comma - text) : len;
    if (split_count(text + start, end - start, '_') != 3) return 0;
    start = end + 1;
  }
  return 1;
}

static int conversion_failed(rb_response *res, const char *param, const char *value, rb_java_type type) {
  if (type == JT_VARIABLES)
    return rb_invalid(res, 400, "Cannot set query parameter '%s' to value '%s': "
                      "variable query parameter has to have format KEY_OPERATOR_VALUE.", param, value);
  if (type == JT_DATE && (value[0] == '"' || (*value && value[strlen(value) - 1] == '"')))
    return rb_invalid(res, 400, "Cannot set query parameter '%s' to value '%s': "
                      "Cannot convert value %s to java type java.util.Date because of double quotes", param, value, value);
  return rb_invalid(res, 400, "Cannot set query parameter '%s' to value '%s': Cannot convert value %s to java type %s",
                    param, value, value, java_names[type]);
}

static int check_value(rb_response *res, const char *param, const cJSON *item, rb_java_type type) {
  if (!cJSON_IsString(item) || type == JT_STRING) return REBATCH_OK;
  if (type == JT_VARIABLES ? variables_format_ok(item->valuestring) : converts(type, item->valuestring))
    return REBATCH_OK;
  return conversion_failed(res, param, item->valuestring, type);
}

static int has_filter(const rb_query *q, const char *param) {
  for (const rb_filter *f = q->filters; f->param; f++)
    if (strcmp(f->param, param) == 0) return 1;
  return 0;
}

static int valid_sort_by(const rb_query *q, const char *name) {
  for (const rb_sort_key *k = q->sort_keys; k && k->name; k++)
    if (strcmp(k->name, name) == 0) return 1;
  return 0;
}

static int valid_sort_order(const char *order) {
  return strcmp(order, "asc") == 0 || strcmp(order, "desc") == 0;
}

/* sortBy and sortOrder are set through setters that throw. From the URL
 * the DTO reports that without the setter's message; from a JSON body
 * Jackson wraps the setter's exception, which JsonMappingExceptionHandler
 * answers with an empty message (code null). */
static int check_sorting(const rb_query *q, const cJSON *url, const cJSON *body, rb_response *res) {
  const cJSON *by = cJSON_GetObjectItemCaseSensitive(body, "sortBy");
  const cJSON *order = cJSON_GetObjectItemCaseSensitive(body, "sortOrder");
  if ((cJSON_IsString(by) && !valid_sort_by(q, by->valuestring)) ||
      (cJSON_IsString(order) && !valid_sort_order(order->valuestring)))
    return rb_invalid(res, 400, "%s", "");
  by = cJSON_GetObjectItemCaseSensitive(url, "sortBy");
  order = cJSON_GetObjectItemCaseSensitive(url, "sortOrder");
  if (cJSON_IsString(by) && !valid_sort_by(q, by->valuestring))
    return rb_invalid(res, 400, "Cannot set query parameter 'sortBy' to value '%s'", by->valuestring);
  if (cJSON_IsString(order) && !valid_sort_order(order->valuestring))
    return rb_invalid(res, 400, "Cannot set query parameter 'sortOrder' to value '%s'", order->valuestring);
  return REBATCH_OK;
}

/* The URL parameters the query's DTO declares, converted by type. */
static int check_url(const rb_query *q, const cJSON *url, rb_response *res) {
  int rc = REBATCH_OK, conditions = 0;
  for (const rb_filter *f = q->filters; rc == REBATCH_OK && f->param; f++)
    rc = check_value(res, f->param, cJSON_GetObjectItemCaseSensitive(url, f->param), type_of(f));
  for (int i = 0; rc == REBATCH_OK && unfiltered_types[i].param; i++)
    if (strcmp(unfiltered_types[i].collection, q->collection) == 0)
      rc = check_value(res, unfiltered_types[i].param, cJSON_GetObjectItemCaseSensitive(url, unfiltered_types[i].param),
                       unfiltered_types[i].type);
  for (int i = 0; condition_params[i]; i++) conditions |= has_filter(q, condition_params[i]);
  if (rc == REBATCH_OK && conditions)
    rc = check_value(res, "variableNamesIgnoreCase", cJSON_GetObjectItemCaseSensitive(url, "variableNamesIgnoreCase"), JT_BOOLEAN);
  if (rc == REBATCH_OK && conditions)
    rc = check_value(res, "variableValuesIgnoreCase", cJSON_GetObjectItemCaseSensitive(url, "variableValuesIgnoreCase"), JT_BOOLEAN);
  return rc;
}

/* Id sets the engine query refuses when empty (EnsureUtil.ensureNotEmpty:
 * a ProcessEngineException), where the DTO passes an empty set on: the
 * process instance DTOs do (`!= null`); the job and external task DTOs
 * skip empty lists (and then select as if none were given, see query.c).
 * Only a JSON array can be empty: the URL's StringSetConverter makes "" a
 * set of one empty id. */
static const struct {
  const char *collection;
  const char *param;
  const char *what;
} id_sets[] = {{"processInstance", "processInstanceIds", "Set of process instance ids"},
               {"historicProcessInstance", "processInstanceIds", "Set of process instance ids"},
               {NULL, NULL, NULL}};

static int check_id_sets(const rb_query *q, const cJSON *request, rb_response *res) {
  for (int i = 0; id_sets[i].param; i++) {
    const cJSON *item = rb_param(request, id_sets[i].param);
    if (cJSON_IsArray(item) && !item->child && strcmp(q->collection, id_sets[i].collection) == 0)
      return rb_error(res, 500, "ProcessEngineException", 0, "%s is empty", id_sets[i].what);
  }
  return REBATCH_OK;
}

/* Lists the engine query refuses to hold null (EnsureUtil.ensureNotNull
 * over the array: NullValueException; the historic activity id lists with
 * BadUserRequestException), named as the query method names them. The
 * DTOs pass only non-empty lists on, and a URL list cannot hold null. */
static const struct {
  const char *collection;
  const char *param;
  const char *name;
  int bad_request;
} null_free_lists[] = {
    {"processInstance", "processDefinitionKeyIn", "processDefinitionKeys", 0},
    {"processInstance", "processDefinitionKeyNotIn", "processDefinitionKeyNotIn", 0},
    {"processInstance", "tenantIdIn", "tenantIds", 0},
    {"processInstance", "activityIdIn", "activity ids", 0},
    {"historicProcessInstance", "processInstanceIdNotIn", "processInstanceIdNotIn", 0},
    {"historicProcessInstance", "processDefinitionKeyIn", "processDefinitionKeys", 0},
    {"historicProcessInstance", "processDefinitionKeyNotIn", "processDefinitionKeys", 0},
    {"historicProcessInstance", "incidentIdIn", "incidentIds", 0},
    {"historicProcessInstance", "tenantIdIn", "tenantIds", 0},
    {"historicProcessInstance", "executedActivityIdIn", "activity ids", 1},
    {"historicProcessInstance", "activeActivityIdIn", "activity ids", 1},
    {"historicProcessInstance", "activityIdIn", "activity ids", 1},
    {"job", "tenantIdIn", "tenantIds", 0},
    {"externalTask", "processInstanceIdIn", "processInstanceIdIn", 0},
    {"externalTask", "activityIdIn", "activityIdIn", 0},
    {"externalTask", "tenantIdIn", "tenantIds", 0},
    {"incident", "processDefinitionKeyIn", "processDefinitionKeys", 0},
    {"incident", "tenantIdIn", "tenantIds", 0},
    {"incident", "jobDefinitionIdIn", "jobDefinitionIds", 0},
    {NULL, NULL, NULL, 0}};

static int holds(const cJSON *list, int (*test)(const cJSON *)) {
  const cJSON *item;
  cJSON_ArrayForEach(item, list)
    if (test(item)) return 1;
  return 0;
}

static int is_null_entry(const cJSON *item) { return !cJSON_IsString(item); }
static int is_empty_entry(const cJSON *item) { return cJSON_IsString(item) && !item->valuestring[0]; }

static int check_null_free_lists(const rb_query *q, const cJSON *body, rb_response *res) {
  for (int i = 0; null_free_lists[i].param; i++) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, null_free_lists[i].param);
    if (strcmp(null_free_lists[i].collection, q->collection) != 0 || !cJSON_IsArray(list)) continue;
    if (holds(list, is_null_entry))
      return null_free_lists[i].bad_request
                 ? rb_error(res, 400, "BadUserRequestException", 0, "%s contains null value", null_free_lists[i].name)
                 : rb_error(res, 500, "NullValueException", 0, "%s contains null value", null_free_lists[i].name);
    /* HistoricProcessInstanceQueryImpl.processDefinitionKeyNotIn alone
     * also refuses empty keys. */
    if (strcmp(null_free_lists[i].param, "processDefinitionKeyNotIn") == 0 &&
        strcmp(q->collection, "historicProcessInstance") == 0 && holds(list, is_empty_entry))
      return rb_error(res, 400, "NotValidException", 0, "%s contains empty string", null_free_lists[i].name);
  }
  return REBATCH_OK;
}

static int known_operator(const char *op, int process_variables) {
  static const char *const ops[] = {"eq", "neq", "gt", "gteq", "lt", "lteq", "like", NULL};
  for (int i = 0; ops[i]; i++)
    if (strcmp(op, ops[i]) == 0) return 1;
  return process_variables && strcmp(op, "notLike") == 0;
}

static int bad_operator(rb_response *res, const char *op, int op_len, int process_variables) {
  return rb_invalid(res, 400, "Invalid %svariable comparator specified: %.*s",
                    process_variables ? "process " : "", op_len, op);
}

/* Each condition's comparator, from the URL's triples or the JSON list,
 * as the DTO's applyFilters maps them onto query methods. */
static int check_operators(const cJSON *conditions, int process_variables, rb_response *res) {
  const cJSON *c;
  if (cJSON_IsString(conditions)) {
    const char *p = conditions->valuestring;
    while (*p) {
      const char *op = strchr(p, '_'), *op_end, *next = strchr(p, ',');
      if (!op || (next && op > next)) break; /* format checked before */
      op_end = strchr(op + 1, '_');
      if (op_end && !(next && op_end > next)) {
        char buf[32];
        int n = (int)(op_end - op - 1);
        snprintf(buf, sizeof buf, "%.*s", n, op + 1);
        if ((size_t)n >= sizeof buf || !known_operator(buf, process_variables))
          return bad_operator(res, op + 1, n, process_variables);
      }
      if (!next) break;
      p = next + 1;
    }
    return REBATCH_OK;
  }
  cJSON_ArrayForEach(c, conditions) {
    const char *op = rb_str(c, "operator");
    if (op && !known_operator(op, process_variables))
      return bad_operator(res, op, (int)strlen(op), process_variables);
  }
  return REBATCH_OK;
}

int rb_query_check(const rb_query *q, const cJSON *request, rb_response *res) {
  const cJSON *url = cJSON_GetObjectItemCaseSensitive(request, "query");
  int rc = check_sorting(q, url, cJSON_GetObjectItemCaseSensitive(request, "body"), res);
  if (rc == REBATCH_OK) rc = check_url(q, url, res);
  if (rc == REBATCH_OK) rc = check_id_sets(q, request, res);
  if (rc == REBATCH_OK) rc = check_null_free_lists(q, cJSON_GetObjectItemCaseSensitive(request, "body"), res);
  for (const rb_filter *f = q->filters; rc == REBATCH_OK && f->param; f++) {
    rb_java_type type = type_of(f);
    const cJSON *conditions = type == JT_VARIABLES ? rb_param(request, f->param) : NULL;
    if (conditions) rc = check_operators(conditions, strcmp(f->param, "processVariables") == 0, res);
  }
  return rc;
}
