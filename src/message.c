/*
 * message.c - message correlation (POST /message), as upstream's
 * DefaultCorrelationHandler: first to the tokens waiting for the message
 * (intermediate message catch events, receive tasks) of active instances
 * that match the correlation set, then to message start events of the
 * latest definition versions. The correlate-message batch
 * (src/batch/message.c) correlates to the waiting tokens of each instance.
 */
#include "core.h"

#include <stdio.h>
#include <string.h>

#define INSTANCE "processInstance"
#define DEFINITION "processDefinition"

/* ---- the correlation set ------------------------------------------------- */

static int same_value(const cJSON *stored, const cJSON *wanted) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(stored, "value");
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(wanted, "value");
  if (!a || !b) return (!a || cJSON_IsNull(a)) && (!b || cJSON_IsNull(b));
  return cJSON_Compare(a, b, 1);
}

/* The instance's variables hold every correlation key with its value. */
static int keys_match(const cJSON *inst, const cJSON *keys) {
  const cJSON *vars = cJSON_GetObjectItemCaseSensitive(inst, "variables"), *key;
  cJSON_ArrayForEach(key, keys) {
    const cJSON *stored = cJSON_GetObjectItemCaseSensitive(vars, key->string);
    if (!stored || !same_value(stored, key)) return 0;
  }
  return 1;
}

static int tenant_matches(const rb_correlation *c, const cJSON *record) {
  if (!c->tenant_set) return 1;
  if (!c->tenant_id) return !rb_str(record, "tenantId");
  return rb_str_eq(rb_str(record, "tenantId"), c->tenant_id);
}

static int instance_matches(const rb_correlation *c, const cJSON *inst) {
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(inst, "suspended"))) return 0;
  if (c->business_key && !rb_str_eq(rb_str(inst, "businessKey"), c->business_key)) return 0;
  if (c->process_instance_id && !rb_str_eq(rb_str(inst, "id"), c->process_instance_id)) return 0;
  return tenant_matches(c, inst) && keys_match(inst, c->correlation_keys);
}

const char *rb_token_message_name(const cJSON *def, const cJSON *token) {
  const char *name = rb_str(rb_model_activity(def, rb_str(token, "activityId")), "messageName");
  return name && rb_str(token, "messageName") ? rb_str(token, "messageName") : name;
}

/* A token that waits for the message: no name matches any message. */
static int waits_for(const cJSON *def, const cJSON *token, const char *message_name) {
  const char *name = rb_token_message_name(def, token);
  if (!rb_str_eq(rb_str(token, "state"), "wait") || !name) return 0;
  return !message_name || strcmp(name, message_name) == 0;
}

/* ---- finding the matches ---------------------------------------------------- */

typedef struct rb_matches {
  const rb_correlation *c;
  cJSON *list; /* [{processInstanceId, executionId} | {processDefinitionId, activityId}] */
} rb_matches;

static int add_match(cJSON *list, const char *k1, const char *v1, const char *k2, const char *v2) {
  cJSON *m = cJSON_CreateObject();
  if (!m || !rb_put_str(m, k1, v1) || !rb_put_str(m, k2, v2) || !cJSON_AddItemToArray(list, m)) {
    cJSON_Delete(m);
    return REBATCH_NOMEM;
  }
  return REBATCH_OK;
}

static int match_instance(rebatch_engine *e, const char *id, const char *json, int rev, void *ctx) {
  rb_matches *m = ctx;
  cJSON *inst = NULL;
  const cJSON *token;
  rb_doc def;
  int rc = rb_parse_record(e, json, &inst);
  (void)rev;
  memset(&def, 0, sizeof def);
  if (rc == REBATCH_OK && !instance_matches(m->c, inst)) {
    cJSON_Delete(inst);
    return REBATCH_OK;
  }
  if (rc == REBATCH_OK) rc = rb_definition_load(e, rb_str(inst, "processDefinitionId"), &def);
  cJSON_ArrayForEach(token, cJSON_GetObjectItemCaseSensitive(inst, "tokens")) {
    if (rc != REBATCH_OK) break;
    if (waits_for(def.json, token, m->c->message_name))
      rc = add_match(m->list, "processInstanceId", id, "executionId", rb_str(token, "id"));
  }
  rb_doc_clear(&def);
  cJSON_Delete(inst);
  return rc;
}

static int match_executions(rebatch_engine *e, rb_matches *m) {
  const rb_correlation *c = m->c;
  char *text = NULL;
  int rev, rc;
  if (c->process_instance_id) {
    rc = rb_load_text(e, INSTANCE, c->process_instance_id, &text, &rev);
    if (rc == REBATCH_OK && text) rc = match_instance(e, c->process_instance_id, text, rev, m);
    rb_free(text);
    return rc;
  }
  if (c->business_key) return rb_find_all_rows(e, INSTANCE, "businessKey", c->business_key, match_instance, m);
  return rb_scan_all_rows(e, INSTANCE, match_instance, m);
}

/* Upstream subscribes only the latest version of a key (per tenant) to its
 * message start events. */
int rb_definition_is_latest(const rb_docs *defs, const cJSON *def) {
  double version = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(def, "version"));
  for (int i = 0; i < defs->count; i++) {
    const cJSON *other = defs->items[i].json;
    if (!rb_str_eq(rb_str(other, "key"), rb_str(def, "key"))) continue;
    if (!rb_str_eq(rb_str(other, "tenantId"), rb_str(def, "tenantId")) &&
        (rb_str(other, "tenantId") || rb_str(def, "tenantId"))) continue;
    if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(other, "version")) > version) return 0;
  }
  return 1;
}

static int match_start_events(rebatch_engine *e, rb_matches *m) {
  rb_docs defs = {0};
  int rc;
  if (!m->c->message_name) return REBATCH_OK;
  rc = rb_scan_all(e, DEFINITION, &defs);
  for (int i = 0; rc == REBATCH_OK && i < defs.count; i++) {
    const cJSON *def = defs.items[i].json;
    const cJSON *start = rb_model_message_start(def, m->c->message_name);
    if (!start || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(def, "suspended")) || !tenant_matches(m->c, def) ||
        !rb_definition_is_latest(&defs, def)) continue;
    rc = add_match(m->list, "processDefinitionId", rb_str(def, "id"), "activityId", rb_str(start, "id"));
  }
  rb_docs_clear(&defs);
  return rc;
}

/* ---- messages of a mismatch ------------------------------------------------- */

static void append(char *buf, size_t cap, const char *fmt, const char *value) {
  size_t len = strlen(buf);
  if (len < cap) snprintf(buf + len, cap - len, fmt, value);
}

/* A Java Map's toString of the correlation keys: {name=value, ...}. */
static void keys_text(const cJSON *keys, char *buf, size_t cap) {
  const cJSON *key;
  int first = 1;
  buf[0] = '\0';
  if (!keys || !keys->child) {
    snprintf(buf, cap, "null");
    return;
  }
  append(buf, cap, "%s", "{");
  cJSON_ArrayForEach(key, keys) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(key, "value");
    char num[32];
    append(buf, cap, first ? "%s=" : ", %s=", key->string);
    if (cJSON_IsString(v)) append(buf, cap, "%s", v->valuestring);
    else if (cJSON_IsNumber(v)) {
      rb_format_number(v->valuedouble, num);
      append(buf, cap, "%s", num);
    } else if (cJSON_IsBool(v)) append(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else append(buf, cap, "%s", "null");
    first = 0;
  }
  append(buf, cap, "%s", "}");
}

static int mismatch(const rb_correlation *c, rb_response *res, const char *reason) {
  return rb_error(res, 400, "RestException", 0,
                  "org.camunda.bpm.engine.MismatchingMessageCorrelationException: Cannot correlate message '%s': %s",
                  c->message_name ? c->message_name : "null", reason);
}

/* ENGINE-13031 / ENGINE-13030: more than one execution / definition. */
static int too_many(const rb_correlation *c, int count, int executions, rb_response *res) {
  char keys[512];
  keys_text(c->correlation_keys, keys, sizeof keys);
  return rb_error(res, 400, "RestException", 0,
                  "org.camunda.bpm.engine.MismatchingMessageCorrelationException: ENGINE-130%s Cannot correlate a message with name '%s' to a single %s. "
                  "%d %s match the correlation%s keys: CorrelationSet [businessKey=%s, processInstanceId=%s, processDefinitionId=null, "
                  "correlationKeys=%s, localCorrelationKeys=null, tenantId=%s, isTenantIdSet=%s, isExecutionsOnly=%s]",
                  executions ? "31" : "30", c->message_name ? c->message_name : "null",
                  executions ? "execution" : "process definition", count,
                  executions ? "executions" : "process definitions", executions ? "" : "s",
                  c->business_key ? c->business_key : "null",
                  c->process_instance_id ? c->process_instance_id : "null", keys,
                  c->tenant_id ? c->tenant_id : "null", c->tenant_set ? "true" : "false",
                  c->executions_only ? "true" : "false");
}

/* ---- triggering --------------------------------------------------------------- */

/* Takes over execution and instance (NULL: JSON null) in every case. */
static cJSON *result_dto(const char *type, cJSON *execution, cJSON *instance) {
  cJSON *r = cJSON_CreateObject();
  if (!r || !rb_put_str(r, "resultType", type)) {
    cJSON_Delete(r);
    cJSON_Delete(execution);
    cJSON_Delete(instance);
    return NULL;
  }
  if (!rb_take(r, "execution", execution ? execution : cJSON_CreateNull())) {
    cJSON_Delete(r);
    cJSON_Delete(instance);
    return NULL;
  }
  if (!rb_take(r, "processInstance", instance ? instance : cJSON_CreateNull())) {
    cJSON_Delete(r);
    return NULL;
  }
  return r;
}

static cJSON *execution_dto(const char *id, const char *instance_id, const char *tenant) {
  cJSON *d = cJSON_CreateObject();
  if (!d || !rb_put_str(d, "id", id) || !rb_put_str(d, "processInstanceId", instance_id) || !rb_put_bool(d, "ended", 0) ||
      !rb_put_str(d, "tenantId", tenant)) {
    cJSON_Delete(d);
    return NULL;
  }
  return d;
}

/* The instance's variables after the correlation, for
 * variablesInResultEnabled. */
static int add_variables(rebatch_engine *e, cJSON *result, const char *instance_id) {
  cJSON *vars = NULL;
  int rc = rb_instance_variables(e, instance_id, &vars);
  if (rc == REBATCH_OK && !vars->child) {
    /* The instance ended: upstream's snapshot keeps its last values. */
    cJSON_Delete(vars);
    vars = NULL;
    rc = rb_history_variables(e, instance_id, 0, &vars);
    if (rc != REBATCH_OK) {
      cJSON_Delete(vars);
      return rc;
    }
    return rb_take(result, "variables", vars) ? REBATCH_OK : REBATCH_NOMEM;
  }
  if (rc == REBATCH_OK && !rb_take(result, "variables", rb_variables_to_dto(vars, 0))) rc = REBATCH_NOMEM;
  cJSON_Delete(vars);
  return rc;
}

static int trigger_execution(rebatch_engine *e, const rb_correlation *c, const cJSON *match, cJSON *results,
                             rb_response *res) {
  const char *pi = rb_str(match, "processInstanceId"), *exec = rb_str(match, "executionId");
  char tenant[REBATCH_ID_MAX + 1];
  cJSON *r = NULL;
  rb_doc inst;
  int rc = rb_load(e, INSTANCE, pi, &inst);
  tenant[0] = '\0';
  if (rc == REBATCH_OK && rb_str(inst.json, "tenantId")) snprintf(tenant, sizeof tenant, "%s", rb_str(inst.json, "tenantId"));
  rb_doc_clear(&inst);
  if (rc != REBATCH_OK) return rc;
  if (results) {
    cJSON *execution = execution_dto(exec, pi, tenant[0] ? tenant : NULL);
    r = execution ? result_dto("Execution", execution, NULL) : NULL;
    if (!r || !cJSON_AddItemToArray(results, r)) {
      cJSON_Delete(r);
      return REBATCH_NOMEM;
    }
  }
  rc = rb_instance_resume(e, pi, exec, RB_RESUME_LEAVE, c->variables, res);
  if (rc == REBATCH_OK && r && c->variables_in_result) rc = add_variables(e, r, pi);
  return rc;
}

static int start_instance(rebatch_engine *e, const rb_correlation *c, const cJSON *match, cJSON *results,
                          rb_response *res) {
  char id[REBATCH_ID_MAX + 1];
  cJSON *instructions = NULL, *ins, *r;
  rb_doc def;
  rb_start start;
  int rc = rb_definition_load(e, rb_str(match, "processDefinitionId"), &def);
  if (rc == REBATCH_OK && !def.json)
    rc = rb_error(res, 500, "ProcessEngineException", 0, "Process definition '%s' does not exist", rb_str(match, "processDefinitionId"));
  if (rc == REBATCH_OK) {
    instructions = cJSON_CreateArray();
    ins = cJSON_CreateObject();
    if (!instructions || !ins || !cJSON_AddItemToArray(instructions, ins)) {
      cJSON_Delete(ins);
      rc = REBATCH_NOMEM;
    } else if (!rb_put_str(ins, "type", "startBeforeActivity") || !rb_put_str(ins, "activityId", rb_str(match, "activityId"))) {
      rc = REBATCH_NOMEM;
    }
  }
  if (rc == REBATCH_OK) {
    memset(&start, 0, sizeof start);
    start.business_key = c->business_key;
    start.variables = c->variables;
    rc = rb_instance_start(e, def.json, &start, instructions, id, res);
  }
  cJSON_Delete(instructions);
  if (rc == REBATCH_OK && results) {
    r = result_dto("ProcessDefinition", NULL, NULL);
    if (!r || !cJSON_AddItemToArray(results, r)) {
      cJSON_Delete(r);
      rc = REBATCH_NOMEM;
    }
    if (rc == REBATCH_OK) {
      cJSON *dto = NULL;
      rc = rb_instance_dto(e, id, def.json, &dto);
      if (rc == REBATCH_OK && !rb_take(r, "processInstance", dto)) rc = REBATCH_NOMEM;
    }
    if (rc == REBATCH_OK && c->variables_in_result) rc = add_variables(e, r, id);
  }
  rb_doc_clear(&def);
  return rc;
}

static int trigger(rebatch_engine *e, const rb_correlation *c, const cJSON *match, cJSON *results, rb_response *res) {
  if (rb_str(match, "executionId")) return trigger_execution(e, c, match, results, res);
  return start_instance(e, c, match, results, res);
}

int rb_correlate(rebatch_engine *e, const rb_correlation *c, cJSON *results, rb_response *res) {
  rb_matches m = {c, cJSON_CreateArray()};
  const cJSON *match;
  int rc = m.list ? match_executions(e, &m) : REBATCH_NOMEM;
  int executions = cJSON_GetArraySize(m.list);
  if (rc == REBATCH_OK && !c->all && executions > 1) rc = too_many(c, executions, 1, res);
  if (rc == REBATCH_OK && !c->executions_only && (c->all || executions == 0)) {
    rc = match_start_events(e, &m);
    if (rc == REBATCH_OK && !c->all && cJSON_GetArraySize(m.list) > 1)
      rc = too_many(c, cJSON_GetArraySize(m.list), 0, res);
  }
  if (rc == REBATCH_OK && !c->all && cJSON_GetArraySize(m.list) == 0)
    rc = mismatch(c, res, "No process definition or execution matches the parameters");
  cJSON_ArrayForEach(match, m.list) {
    if (rc != REBATCH_OK) break;
    rc = trigger(e, c, match, results, res);
  }
  cJSON_Delete(m.list);
  return rc;
}

/* ---- POST /message ------------------------------------------------------------ */

static int parse_map(const cJSON *body, const char *key, cJSON **out, rb_response *res) {
  const cJSON *input = cJSON_GetObjectItemCaseSensitive(body, key);
  return rb_variables_parse(input, "Cannot deliver message: ", out, res);
}

int rb_op_correlateMessage(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  cJSON *keys = NULL, *vars = NULL, *results = NULL;
  rb_correlation c;
  int rc;
  memset(&c, 0, sizeof c);
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "Request body is null: a message needs a messageName");
  if (!cJSON_IsObject(body)) return rb_invalid(res, 400, "%s", "");
  if (!(c.message_name = rb_str(body, "messageName"))) return rb_invalid(res, 400, "No message name supplied");
  c.tenant_id = rb_str(body, "tenantId");
  if (c.tenant_id && rb_flag(body, "withoutTenantId"))
    return rb_invalid(res, 400, "Parameter 'tenantId' cannot be used together with parameter 'withoutTenantId'.");
  c.variables_in_result = rb_flag(body, "variablesInResultEnabled");
  if (!rb_flag(body, "resultEnabled") && c.variables_in_result)
    return rb_invalid(res, 400, "Parameter 'variablesInResultEnabled' cannot be used without 'resultEnabled' set to true.");
  c.tenant_set = c.tenant_id || rb_flag(body, "withoutTenantId");
  c.business_key = rb_str(body, "businessKey");
  c.process_instance_id = rb_str(body, "processInstanceId");
  c.all = rb_flag(body, "all");
  rc = parse_map(body, "correlationKeys", &keys, res);
  if (rc == REBATCH_OK) rc = parse_map(body, "processVariables", &vars, res);
  c.correlation_keys = keys;
  c.variables = vars && vars->child ? vars : NULL;
  if (rc == REBATCH_OK && rb_flag(body, "resultEnabled") && !(results = cJSON_CreateArray())) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = rb_correlate(e, &c, results, res);
  cJSON_Delete(keys);
  cJSON_Delete(vars);
  if (rc != REBATCH_OK) {
    cJSON_Delete(results);
    return rc;
  }
  return results ? rb_ok(res, 200, results) : rb_ok(res, 204, NULL);
}
