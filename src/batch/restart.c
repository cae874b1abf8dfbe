/*
 * restart.c - restarting finished process instances of a definition, as a
 * batch (restart-async) or at once (restart): each historic instance gives
 * a new instance started by the instructions, with the old business key
 * and its last (or initial) variables.
 */
#include "core.h"

#include <stdio.h>
#include <string.h>

#define HISTORIC_INSTANCE "historicProcessInstance"

static int is(const char *a, const char *b) { return a && strcmp(a, b) == 0; }

/* Keeps the start instructions (cancel is ignored for restart, as
 * upstream) and checks each names what its type needs. */
static int read_instructions(const cJSON *body, cJSON **out, rb_response *res) {
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "instructions"), *ins;
  *out = NULL;
  if (!list || cJSON_IsNull(list)) return rb_invalid(res, 400, "instructions is null: restart needs at least one instruction");
  if (!cJSON_IsArray(list)) return rb_invalid(res, 400, "instructions must be an array");
  if (!(*out = cJSON_CreateArray())) return REBATCH_NOMEM;
  cJSON_ArrayForEach(ins, list) {
    const char *type = rb_str(ins, "type");
    int needs_activity = is(type, "startBeforeActivity") || is(type, "startAfterActivity");
    cJSON *kept;
    if (is(type, "cancel")) continue;
    if (!needs_activity && !is(type, "startTransition")) return rb_invalid(res, 400, "%s", "");
    if (needs_activity && !rb_str(ins, "activityId"))
      return rb_invalid(res, 400, "For instruction type '%s': 'activityId' must be set", type);
    if (!needs_activity && !rb_str(ins, "transitionId"))
      return rb_invalid(res, 400, "For instruction type 'startTransition': 'transitionId' must be set");
    kept = cJSON_CreateObject();
    if (!kept || !rb_put_str(kept, "type", type) ||
        !rb_put_str(kept, needs_activity ? "activityId" : "transitionId",
                    rb_str(ins, needs_activity ? "activityId" : "transitionId")) ||
        !cJSON_AddItemToArray(*out, kept)) {
      cJSON_Delete(kept);
      return REBATCH_NOMEM;
    }
  }
  return REBATCH_OK;
}

static int empty_instructions(const cJSON *instructions, rb_response *res) {
  if (cJSON_GetArraySize(instructions) > 0) return REBATCH_OK;
  return rb_invalid(res, 400, "Restart instructions cannot be empty: instructions is empty");
}

/* The union of the explicit ids and the historic query's, deduplicated. */
static int collect_ids(rebatch_engine *e, const cJSON *body, cJSON *groups, rb_response *res) {
  const cJSON *ids = cJSON_GetObjectItemCaseSensitive(body, "processInstanceIds"), *id;
  const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, "historicProcessInstanceQuery");
  cJSON *selected = cJSON_CreateArray();
  int rc = selected ? REBATCH_OK : REBATCH_NOMEM;
  if (rc == REBATCH_OK && q && !cJSON_IsNull(q)) rc = rb_select_instance_ids(e, &rb_history_query, q, selected, res);
  cJSON_ArrayForEach(id, ids) {
    if (rc != REBATCH_OK) break;
    if (!cJSON_IsString(id)) rc = rb_invalid(res, 400, "Process instance ids cannot be null: processInstanceIds contains null value");
    else if (!rb_batch_add_item(groups, "", id->valuestring)) rc = REBATCH_NOMEM;
  }
  cJSON_ArrayForEach(id, selected) {
    if (rc != REBATCH_OK) break;
    if (!rb_batch_add_item(groups, "", id->valuestring)) rc = REBATCH_NOMEM;
  }
  cJSON_Delete(selected);
  if (rc == REBATCH_OK && rb_batch_item_count(groups) < 0) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK && cJSON_GetArraySize(groups) == 0) rc = rb_invalid(res, 400, "processInstanceIds is empty");
  return rc;
}

static int load_definition(rebatch_engine *e, const char *id, rb_doc *def, rb_response *res) {
  int rc = rb_definition_load(e, id, def);
  if (rc == REBATCH_OK && !def->json)
    rc = rb_invalid(res, 400, "no deployed process definition found with id '%s': processDefinition is null", id ? id : "null");
  return rc;
}

static cJSON *restart_params(const char *definition_id, const cJSON *body, cJSON *instructions) {
  static const char *const flags[] = {"initialVariables", "skipCustomListeners", "skipIoMappings", "withoutBusinessKey", NULL};
  cJSON *p = cJSON_CreateObject();
  if (!p || !rb_put_str(p, "processDefinitionId", definition_id) || !cJSON_AddItemToObject(p, "instructions", instructions)) {
    cJSON_Delete(p);
    cJSON_Delete(instructions);
    return NULL;
  }
  for (int i = 0; flags[i]; i++)
    if (!rb_put_bool(p, flags[i], rb_flag(body, flags[i]))) {
      cJSON_Delete(p);
      return NULL;
    }
  return p;
}

/* The groups hold one mapping: every id belongs to the definition's
 * deployment, as upstream. */
static int set_deployment(cJSON *groups, const char *deployment) {
  return rb_set_str(cJSON_GetArrayItem(groups, 0), "deploymentId", deployment);
}

/* The async endpoint reads the ids before it checks that instructions are
 * left; the synchronous twin checks the instructions first. */
static int select_restart(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                          rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const char *id = rb_str(request, "id");
  int now = source & RB_BATCH_NOW;
  cJSON *instructions = NULL;
  rb_doc def;
  int rc;
  memset(&def, 0, sizeof def);
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "Request body is null: restart needs processInstanceIds or a historicProcessInstanceQuery, and instructions");
  rc = read_instructions(body, &instructions, res);
  if (rc == REBATCH_OK && now) rc = empty_instructions(instructions, res);
  if (rc == REBATCH_OK) rc = (sel->groups = cJSON_CreateArray()) ? collect_ids(e, body, sel->groups, res) : REBATCH_NOMEM;
  if (rc == REBATCH_OK && !now) rc = empty_instructions(instructions, res);
  if (rc == REBATCH_OK) rc = load_definition(e, id, &def, res);
  if (rc == REBATCH_OK && !set_deployment(sel->groups, rb_str(def.json, "deploymentId"))) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK && rb_str(def.json, "tenantId") && !(sel->tenant_id = rb_strdup(rb_str(def.json, "tenantId"))))
    rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) {
    sel->params = restart_params(id, body, instructions);
    instructions = NULL;
    if (!sel->params) rc = REBATCH_NOMEM;
  }
  cJSON_Delete(instructions);
  rb_doc_clear(&def);
  return rc;
}

int rb_op_restartProcessInstancesAsync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_instance_restart, 0, request, res);
}

/* The synchronous twin restarts every instance in this one transaction. */
int rb_op_restartProcessInstances(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_run_now(e, &rb_batch_instance_restart, 0, request, res);
}

static int check_instructions_fit(const cJSON *def, const cJSON *instructions, rb_response *res) {
  const cJSON *ins;
  cJSON_ArrayForEach(ins, instructions) {
    const char *type = rb_str(ins, "type"), *activity = rb_str(ins, "activityId");
    const cJSON *flows[2];
    int n;
    if (is(type, "startTransition")) {
      if (!rb_model_flow(def, rb_str(ins, "transitionId")))
        return rb_error(res, 400, "NotValidException", 0, "Element '%s' does not exist in process %s: targetElement is null",
                        rb_str(ins, "transitionId"), rb_str(def, "id"));
      continue;
    }
    if (!rb_model_activity(def, activity))
      return rb_error(res, 400, "NotValidException", 0, "Element '%s' does not exist in process %s: targetElement is null",
                      activity, rb_str(def, "id"));
    if (!is(type, "startAfterActivity")) continue;
    n = rb_model_outgoing(def, activity, flows, 2);
    if (n == 0)
      return rb_error(res, 500, "ProcessEngineException", 0, "Cannot start after activity %s; activity has no outgoing sequence flow to take", activity);
    if (n > 1)
      return rb_error(res, 500, "ProcessEngineException", 0, "Cannot start after activity %s; activity has more than one outgoing sequence flow", activity);
  }
  return REBATCH_OK;
}

/* Restarts one historic instance: finished, of exactly this definition. */
static int restart_one(rebatch_engine *e, const char *instance_id, const cJSON *def,
                       const cJSON *params, rb_response *res) {
  const cJSON *instructions = cJSON_GetObjectItemCaseSensitive(params, "instructions");
  cJSON *variables = NULL;
  rb_doc hist;
  rb_start start;
  int rc = rb_load(e, HISTORIC_INSTANCE, instance_id, &hist);
  if (rc != REBATCH_OK) return rc;
  if (!hist.json)
    rc = rb_error(res, 400, "BadUserRequestException", 0, "Historic process instance cannot be found: historicProcessInstanceId is null");
  else if (rb_date(hist.json, "endTime") < 0)
    rc = rb_error(res, 500, "ProcessEngineException", 0,
                  "ENGINE-13040 Historic process instance '%s' cannot be restarted. It is not completed or terminated.", instance_id);
  else if (!is(rb_str(hist.json, "processDefinitionId"), rb_str(def, "id")))
    rc = rb_error(res, 500, "ProcessEngineException", 0,
                  "ENGINE-13039 Historic process instance '%s' cannot be restarted. Its process definition '%s' does not match given process definition '%s'",
                  instance_id, rb_str(hist.json, "processDefinitionId"), rb_str(def, "id"));
  if (rc == REBATCH_OK) rc = check_instructions_fit(def, instructions, res);
  if (rc == REBATCH_OK) rc = rb_history_variables(e, instance_id, rb_flag(params, "initialVariables"), &variables);
  if (rc == REBATCH_OK) {
    memset(&start, 0, sizeof start);
    start.business_key = rb_flag(params, "withoutBusinessKey") ? NULL : rb_str(hist.json, "businessKey");
    start.variables = variables;
    start.tenant_id = rb_str(def, "tenantId") ? NULL : rb_str(hist.json, "tenantId");
    start.restarted_from = instance_id;
    rc = rb_instance_start(e, def, &start, instructions, NULL, res);
  }
  cJSON_Delete(variables);
  rb_doc_clear(&hist);
  return rc;
}

static int apply(rebatch_engine *e, const char *instance_id, const cJSON *params, rb_response *res) {
  rb_doc def;
  int rc = load_definition(e, rb_str(params, "processDefinitionId"), &def, res);
  if (rc == REBATCH_OK) rc = restart_one(e, instance_id, def.json, params, res);
  rb_doc_clear(&def);
  return rc;
}

/* A job of ids without a deployment carries the definition's, as
 * upstream's postProcessJob gives it. */
static int job_deployment(rebatch_engine *e, const cJSON *params, const char *group_deployment, char *buf) {
  rb_doc def;
  int rc = REBATCH_OK;
  buf[0] = '\0';
  if (group_deployment && group_deployment[0]) {
    snprintf(buf, REBATCH_ID_MAX + 1, "%s", group_deployment);
    return REBATCH_OK;
  }
  rc = rb_definition_load(e, rb_str(params, "processDefinitionId"), &def);
  if (rc == REBATCH_OK && rb_str(def.json, "deploymentId"))
    snprintf(buf, REBATCH_ID_MAX + 1, "%s", rb_str(def.json, "deploymentId"));
  rb_doc_clear(&def);
  return rc;
}

const rb_batch_type rb_batch_instance_restart = {"instance-restart", select_restart, apply, NULL, job_deployment};
