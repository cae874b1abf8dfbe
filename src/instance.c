/*
 * instance.c - process instances, their history, and the token engine that
 * moves them from wait state to wait state.
 *
 * A runtime instance record holds its tokens (Camunda's executions): each
 * token sits at an activity in a state. The engine loop takes tokens in the
 * transient states (arrive, execute, leave, take) forward until every token
 * rests in a wait state (a job, an external task, a join, a user task) or
 * the instance has ended. Everything one call does is saved in the same
 * transaction, so a failure anywhere leaves the instance as it was.
 */
#include "core.h"

#include <stdio.h>
#include <string.h>

#define INSTANCE "processInstance"
#define HISTORIC_INSTANCE "historicProcessInstance"
#define HISTORIC_ACTIVITY "historicActivityInstance"

typedef struct rb_run {
  rebatch_engine *e;
  const cJSON *def;
  cJSON *inst; /* the runtime record being advanced */
  rb_response *res;
} rb_run;

static int is_type(const cJSON *activity, const char *type) {
  const char *t = rb_str(activity, "type");
  return t && strcmp(t, type) == 0;
}

static cJSON *tokens_of(cJSON *inst) {
  return cJSON_GetObjectItemCaseSensitive(inst, "tokens");
}

static const char *token_state(const cJSON *token) { return rb_str(token, "state"); }

static int set_state(cJSON *token, const char *state) {
  return rb_set_str(token, "state", state) ? REBATCH_OK : REBATCH_NOMEM;
}

/* ---- records --------------------------------------------------------- */

static int save_instance(rebatch_engine *e, rb_doc *doc) {
  rebatch_index_entry index[] = {
      {"processDefinitionId", rb_str(doc->json, "processDefinitionId")},
      {"processDefinitionKey", rb_str(doc->json, "processDefinitionKey")},
      {"businessKey", rb_str(doc->json, "businessKey")},
  };
  return rb_save(e, INSTANCE, doc, index, 3);
}

int rb_instance_save(rebatch_engine *e, rb_doc *doc) { return save_instance(e, doc); }

static int save_history(rebatch_engine *e, rb_doc *doc) {
  rebatch_index_entry index[] = {
      {"processDefinitionId", rb_str(doc->json, "processDefinitionId")},
      {"processDefinitionKey", rb_str(doc->json, "processDefinitionKey")},
      {"businessKey", rb_str(doc->json, "businessKey")},
  };
  return rb_save(e, HISTORIC_INSTANCE, doc, index, 3);
}

static int save_activity(rebatch_engine *e, rb_doc *doc) {
  rebatch_index_entry index[] = {
      {"processInstanceId", rb_str(doc->json, "processInstanceId")},
  };
  return rb_save(e, HISTORIC_ACTIVITY, doc, index, 1);
}

int rb_history_save(rebatch_engine *e, rb_doc *doc) { return save_history(e, doc); }
int rb_history_activity_save(rebatch_engine *e, rb_doc *doc) { return save_activity(e, doc); }

/* Camunda's activity type names where they differ from the model's. */
const char *rb_activity_type(const cJSON *activity) {
  const char *type = rb_str(activity, "type");
  if (strcmp(type, "endEvent") == 0) return "noneEndEvent";
  if (strcmp(type, "intermediateCatchEvent") == 0)
    return rb_str(activity, "messageName") ? "intermediateMessageCatch" : "intermediateTimer";
  if (strcmp(type, "startEvent") == 0 && rb_str(activity, "messageName")) return "messageStartEvent";
  if (strcmp(type, "intermediateThrowEvent") == 0) return "intermediateNoneThrowEvent";
  if (strcmp(type, "boundaryEvent") == 0) return "boundaryError";
  return type;
}

/* Opens the historic activity instance of a token entering an activity. */
static int begin_activity(rb_run *run, cJSON *token, const cJSON *activity) {
  char uid[REBATCH_ID_MAX + 1], id[REBATCH_ID_MAX * 2 + 2];
  const char *activity_id = rb_str(activity, "id");
  cJSON *rec;
  rb_doc doc;
  int rc = rb_new_id(run->e, uid);
  if (rc != REBATCH_OK) return rc;
  snprintf(id, sizeof id, "%.63s:%s", activity_id, uid);
  if (!(rec = cJSON_CreateObject())) return REBATCH_NOMEM;
  rb_put_str(rec, "id", id);
  rb_put_str(rec, "parentActivityInstanceId", rb_str(run->inst, "id"));
  rb_put_str(rec, "activityId", activity_id);
  rb_put_str(rec, "activityName", rb_str(activity, "name"));
  rb_put_str(rec, "activityType", rb_activity_type(activity));
  rb_copy(rec, run->inst, "processDefinitionKey");
  rb_copy(rec, run->inst, "processDefinitionId");
  rb_put_str(rec, "processInstanceId", rb_str(run->inst, "id"));
  rb_put_str(rec, "executionId", rb_str(token, "id"));
  rb_put_null(rec, "taskId");
  rb_put_null(rec, "calledProcessInstanceId");
  rb_put_null(rec, "calledCaseInstanceId");
  rb_put_null(rec, "assignee");
  rb_put_num(rec, "startTime", rb_now(run->e));
  rb_put_null(rec, "endTime");
  rb_put_null(rec, "durationInMillis");
  rb_put_bool(rec, "canceled", 0);
  rb_put_bool(rec, "completeScope", is_type(activity, "endEvent"));
  rb_copy(rec, run->inst, "tenantId");
  rb_put_null(rec, "removalTime");
  rb_put_str(rec, "rootProcessInstanceId", rb_str(run->inst, "id"));
  if (!rb_set_str(token, "activityInstanceId", id)) {
    cJSON_Delete(rec);
    return REBATCH_NOMEM;
  }
  if ((rc = rb_doc_init(&doc, id, rec)) != REBATCH_OK) return rc;
  rc = save_activity(run->e, &doc);
  rb_doc_clear(&doc);
  return rc;
}

/* Closes the token's open historic activity instance, if any;
 * complete_scope marks it as having ended its scope (none end event,
 * uncaught BPMN error). */
static int close_activity(rebatch_engine *e, cJSON *token, int canceled, int complete_scope) {
  const char *id = rb_str(token, "activityInstanceId");
  double now = rb_now(e), start;
  rb_doc doc;
  int rc;
  if (!id) return REBATCH_OK;
  if ((rc = rb_load(e, HISTORIC_ACTIVITY, id, &doc)) != REBATCH_OK || !doc.json) {
    rb_doc_clear(&doc);
    return rc;
  }
  start = rb_date(doc.json, "startTime");
  if (!rb_set_num(doc.json, "endTime", now) ||
      !rb_set_num(doc.json, "durationInMillis", start >= 0 ? now - start : 0) ||
      !rb_set_bool(doc.json, "canceled", canceled) ||
      (complete_scope && !rb_set_bool(doc.json, "completeScope", 1))) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = save_activity(e, &doc);
  rb_doc_clear(&doc);
  if (rc == REBATCH_OK) cJSON_DeleteItemFromObjectCaseSensitive(token, "activityInstanceId");
  return rc;
}

static int end_activity(rebatch_engine *e, cJSON *token, int canceled) {
  return close_activity(e, token, canceled, 0);
}

/* ---- tokens ------------------------------------------------------------ */

static cJSON *add_token(rb_run *run, const char *execution_id,
                        const char *activity_id, const char *state) {
  cJSON *token = cJSON_CreateObject();
  if (!token) return NULL;
  if (!rb_put_str(token, "id", execution_id) ||
      !rb_put_str(token, "activityId", activity_id) ||
      !rb_put_str(token, "state", state) ||
      !cJSON_AddItemToArray(tokens_of(run->inst), token)) {
    cJSON_Delete(token);
    return NULL;
  }
  return token;
}

static cJSON *find_token(cJSON *inst, const char *execution_id) {
  cJSON *token;
  cJSON_ArrayForEach(token, tokens_of(inst)) {
    const char *id = rb_str(token, "id");
    if (id && execution_id && strcmp(id, execution_id) == 0) return token;
  }
  return NULL;
}

static void drop_token(rb_run *run, cJSON *token) {
  cJSON_Delete(cJSON_DetachItemViaPointer(tokens_of(run->inst), token));
}

static int move_token(cJSON *token, const char *activity_id, const char *state) {
  /* a message name a migration kept belongs to the activity left */
  cJSON_DeleteItemFromObjectCaseSensitive(token, "messageName");
  if (!rb_set_str(token, "activityId", activity_id)) return REBATCH_NOMEM;
  return set_state(token, state);
}

/* ---- behaviour --------------------------------------------------------- */

static int create_job(rb_run *run, const cJSON *activity, cJSON *token,
                      const char *slot, double due) {
  return rb_job_create_for_token(run->e, run->inst, run->def, activity, token, slot, due);
}

static int on_arrive(rb_run *run, cJSON *token, const cJSON *activity) {
  if (rb_flag(activity, "asyncBefore")) {
    int rc = create_job(run, activity, token, "async-before", RB_NO_DATE);
    return rc == REBATCH_OK ? set_state(token, "asyncBefore") : rc;
  }
  return set_state(token, "execute");
}

static int on_join(rb_run *run, cJSON *token, const cJSON *activity) {
  const char *activity_id = rb_str(activity, "id");
  int needed = rb_model_incoming_count(run->def, activity_id), waiting = 0;
  cJSON *other, *next;
  if (needed <= 1) return set_state(token, "leave");
  cJSON_ArrayForEach(other, tokens_of(run->inst))
    if (other != token && strcmp(rb_str(other, "activityId"), activity_id) == 0 &&
        strcmp(token_state(other), "join") == 0) waiting++;
  if (waiting + 1 < needed) return set_state(token, "join");
  /* The last arrival continues; the waiting tokens merge into it. */
  for (other = tokens_of(run->inst)->child; other; other = next) {
    next = other->next;
    if (other != token && strcmp(rb_str(other, "activityId"), activity_id) == 0 &&
        strcmp(token_state(other), "join") == 0 && needed-- > 1) {
      int rc = end_activity(run->e, other, 0);
      if (rc != REBATCH_OK) return rc;
      drop_token(run, other);
    }
  }
  return set_state(token, "leave");
}

static int on_execute(rb_run *run, cJSON *token, const cJSON *activity) {
  int rc = begin_activity(run, token, activity);
  if (rc != REBATCH_OK) return rc;
  if (is_type(activity, "endEvent")) {
    rc = end_activity(run->e, token, 0);
    if (rc == REBATCH_OK) drop_token(run, token);
    return rc;
  }
  if (is_type(activity, "userTask") || is_type(activity, "receiveTask"))
    return set_state(token, "wait");
  if (is_type(activity, "serviceTask") && rb_str(activity, "topic")) {
    rc = rb_external_task_create(run->e, run->inst, run->def, activity, rb_str(token, "id"),
                                 rb_str(token, "activityInstanceId"));
    return rc == REBATCH_OK ? set_state(token, "wait") : rc;
  }
  if (is_type(activity, "intermediateCatchEvent") && rb_str(activity, "messageName"))
    return set_state(token, "wait");
  if (is_type(activity, "intermediateCatchEvent")) {
    double ms = 0;
    rb_duration_ms(rb_str(activity, "timerDuration"), &ms);
    rc = create_job(run, activity, token, "timer", rb_now(run->e) + ms);
    return rc == REBATCH_OK ? set_state(token, "wait") : rc;
  }
  if (is_type(activity, "parallelGateway")) return on_join(run, token, activity);
  return set_state(token, "leave");
}

static int on_leave(rb_run *run, cJSON *token, const cJSON *activity) {
  int rc = end_activity(run->e, token, 0);
  if (rc != REBATCH_OK) return rc;
  if (rb_flag(activity, "asyncAfter")) {
    rc = create_job(run, activity, token, "async-after", RB_NO_DATE);
    return rc == REBATCH_OK ? set_state(token, "asyncAfter") : rc;
  }
  return set_state(token, "take");
}

/* Follows one flow to its target activity. */
static int follow(cJSON *token, const cJSON *flow) {
  return move_token(token, rb_str(flow, "target"), "arrive");
}

/* Exclusive gateways take their default flow (conditions are not
 * evaluated); any other activity with several outgoing flows forks. */
static int on_take(rb_run *run, cJSON *token, const cJSON *activity) {
  const cJSON *flows[64];
  int n = rb_model_outgoing(run->def, rb_str(activity, "id"), flows, 64);
  if (n == 0) {
    drop_token(run, token);
    return REBATCH_OK;
  }
  if (n > 64) n = 64;
  if (is_type(activity, "exclusiveGateway")) {
    const char *dflt = rb_str(activity, "default");
    const cJSON *chosen = dflt ? rb_model_flow(run->def, dflt) : NULL;
    return follow(token, chosen ? chosen : flows[0]);
  }
  for (int i = 1; i < n; i++) {
    char id[REBATCH_ID_MAX + 1];
    int rc = rb_new_id(run->e, id);
    if (rc != REBATCH_OK) return rc;
    if (!add_token(run, id, rb_str(flows[i], "target"), "arrive")) return REBATCH_NOMEM;
  }
  return follow(token, flows[0]);
}

static cJSON *next_moving_token(cJSON *inst) {
  static const char *const moving[] = {"arrive", "execute", "leave", "take", NULL};
  cJSON *token;
  cJSON_ArrayForEach(token, tokens_of(inst))
    for (int i = 0; moving[i]; i++)
      if (strcmp(token_state(token), moving[i]) == 0) return token;
  return NULL;
}

/* Upper bound on steps in one call: a model with a loop and no wait state
 * must fail cleanly instead of running forever. */
#define RB_MAX_STEPS 100000

static int run_tokens(rb_run *run) {
  cJSON *token;
  int steps = 0;
  while ((token = next_moving_token(run->inst))) {
    const cJSON *activity = rb_model_activity(run->def, rb_str(token, "activityId"));
    const char *state = token_state(token);
    int rc;
    if (!activity)
      return rb_error(run->res, 500, "ProcessEngineException", 0, "Activity '%s' does not exist in process %s",
                      rb_str(token, "activityId"), rb_str(run->def, "id"));
    if (++steps > RB_MAX_STEPS)
      return rb_error(run->res, 500, "ProcessEngineException", 0,
                      "Process instance %s did not reach a wait state (endless loop in the model?)",
                      rb_str(run->inst, "id"));
    if (strcmp(state, "arrive") == 0) rc = on_arrive(run, token, activity);
    else if (strcmp(state, "execute") == 0) rc = on_execute(run, token, activity);
    else if (strcmp(state, "leave") == 0) rc = on_leave(run, token, activity);
    else rc = on_take(run, token, activity);
    if (rc != REBATCH_OK) return rc;
  }
  return REBATCH_OK;
}

/* ---- ending ------------------------------------------------------------ */

/* The removal time an ending instance's history gets under the default
 * strategy (end): the end plus its definition's historyTimeToLive days;
 * RB_NO_DATE without one. */
static int removal_time_at_end(rebatch_engine *e, const cJSON *inst, double end, double *at) {
  long long days;
  rb_doc def;
  int rc = rb_definition_load(e, rb_str(inst, "processDefinitionId"), &def);
  *at = RB_NO_DATE;
  if (rc == REBATCH_OK && def.json && rb_int(def.json, "historyTimeToLive", &days) == 1 && days >= 0)
    *at = end + (double)days * 86400000.0;
  rb_doc_clear(&def);
  return rc;
}

static int finish_history(rebatch_engine *e, const cJSON *inst,
                          const char *state, const char *reason) {
  rb_doc hist;
  double now = rb_now(e), start, removal = RB_NO_DATE;
  int rc = rb_load(e, HISTORIC_INSTANCE, rb_str(inst, "id"), &hist);
  if (rc == REBATCH_OK && hist.json) {
    start = rb_date(hist.json, "startTime");
    if (!rb_set_num(hist.json, "endTime", now) ||
        !rb_set_num(hist.json, "durationInMillis", start >= 0 ? now - start : 0) ||
        !rb_set_str(hist.json, "state", state) ||
        !rb_set_str(hist.json, "deleteReason", reason))
      rc = REBATCH_NOMEM;
    if (rc == REBATCH_OK) rc = removal_time_at_end(e, inst, now, &removal);
    if (rc == REBATCH_OK) rc = removal == RB_NO_DATE ? save_history(e, &hist) : rb_history_set_removal_time(e, &hist, removal);
  }
  rb_doc_clear(&hist);
  return rc;
}

/* Writes the instance back, or removes it when its last token ended. */
static int store_instance(rebatch_engine *e, rb_doc *doc) {
  int rc;
  if (cJSON_GetArraySize(tokens_of(doc->json)) > 0) return save_instance(e, doc);
  rc = finish_history(e, doc->json, "COMPLETED", NULL);
  if (rc == REBATCH_OK && doc->rev > 0) rc = rb_delete(e, INSTANCE, doc);
  return rc;
}

/* ---- starting ------------------------------------------------------------ */

static cJSON *new_instance(const cJSON *def, const char *id, const rb_start *s, double now) {
  cJSON *inst = cJSON_CreateObject();
  const char *tenant = s->tenant_id ? s->tenant_id : rb_str(def, "tenantId");
  if (!inst) return NULL;
  rb_put_str(inst, "id", id);
  rb_put_str(inst, "processDefinitionId", rb_str(def, "id"));
  rb_put_str(inst, "processDefinitionKey", rb_str(def, "key"));
  rb_put_str(inst, "deploymentId", rb_str(def, "deploymentId"));
  rb_put_str(inst, "businessKey", s->business_key);
  rb_put_str(inst, "tenantId", tenant);
  rb_put_bool(inst, "suspended", 0);
  rb_put_num(inst, "startTime", now);
  cJSON_AddObjectToObject(inst, "variables");
  cJSON_AddArrayToObject(inst, "tokens");
  /* A member lost to NOMEM (its id, say) must not be read as absent later. */
  if (!tokens_of(inst) || !rb_has(inst, "variables") || (inst->type & RB_JSON_INCOMPLETE)) {
    cJSON_Delete(inst);
    return NULL;
  }
  return inst;
}

static cJSON *new_history(const cJSON *def, const cJSON *inst,
                          const char *start_activity, const rb_start *s) {
  cJSON *h = cJSON_CreateObject();
  if (!h) return NULL;
  rb_copy(h, inst, "id");
  rb_copy(h, inst, "businessKey");
  rb_put_str(h, "processDefinitionId", rb_str(def, "id"));
  rb_put_str(h, "processDefinitionKey", rb_str(def, "key"));
  rb_put_str(h, "processDefinitionName", rb_str(def, "name"));
  rb_copy(h, def, "version");
  rb_take(h, "processDefinitionVersion", cJSON_DetachItemFromObjectCaseSensitive(h, "version"));
  rb_copy(h, inst, "startTime");
  rb_put_null(h, "endTime");
  rb_put_null(h, "removalTime");
  rb_put_null(h, "durationInMillis");
  rb_put_null(h, "startUserId");
  rb_put_str(h, "startActivityId", start_activity);
  rb_put_null(h, "deleteReason");
  rb_put_str(h, "rootProcessInstanceId", rb_str(inst, "id"));
  rb_put_null(h, "superProcessInstanceId");
  rb_put_null(h, "superCaseInstanceId");
  rb_put_null(h, "caseInstanceId");
  rb_copy(h, inst, "tenantId");
  rb_put_str(h, "state", "ACTIVE");
  if (!rb_put_str(h, "restartedProcessInstanceId", s->restarted_from)) {
    cJSON_Delete(h);
    return NULL;
  }
  return h;
}

/* Places the first tokens as the instructions say: before an activity,
 * after one (taking its outgoing flow), or on a sequence flow. Without
 * instructions the instance starts at its none start event. */
static int place_tokens(rb_run *run, const cJSON *instructions) {
  const cJSON *ins;
  int first = 1;
  if (!instructions || cJSON_GetArraySize(instructions) == 0)
    return add_token(run, rb_str(run->inst, "id"), rb_model_start_event(run->def), "arrive")
               ? REBATCH_OK : REBATCH_NOMEM;
  cJSON_ArrayForEach(ins, instructions) {
    const char *type = rb_str(ins, "type"), *target = rb_str(ins, "activityId"), *state = "arrive";
    char id[REBATCH_ID_MAX + 1];
    int rc;
    if (strcmp(type, "startAfterActivity") == 0) state = "take";
    if (strcmp(type, "startTransition") == 0)
      target = rb_str(rb_model_flow(run->def, rb_str(ins, "transitionId")), "target");
    if (!target || !rb_model_activity(run->def, target))
      return rb_error(run->res, 400, "NotValidException", 0, "Element '%s' does not exist in process %s: targetElement is null",
                      target ? target : rb_str(ins, "transitionId"), rb_str(run->def, "id"));
    if (first) strcpy(id, rb_str(run->inst, "id"));
    else if ((rc = rb_new_id(run->e, id)) != REBATCH_OK) return rc;
    if (!add_token(run, id, target, state)) return REBATCH_NOMEM;
    first = 0;
  }
  return REBATCH_OK;
}

static const char *start_activity_of(const cJSON *def, const cJSON *instructions) {
  const cJSON *first = cJSON_GetArrayItem(instructions, 0);
  if (!first) return rb_model_start_event(def);
  if (rb_str(first, "activityId")) return rb_str(first, "activityId");
  return rb_str(rb_model_flow(def, rb_str(first, "transitionId")), "target");
}

int rb_instance_start(rebatch_engine *e, const cJSON *def, const rb_start *s,
                      const cJSON *instructions, char *id_out, rb_response *res) {
  char id[REBATCH_ID_MAX + 1];
  cJSON *inst, *hist_json;
  rb_doc doc, hist;
  rb_run run;
  int rc = rb_new_id(e, id);
  if (rc != REBATCH_OK) return rc;
  if (!(inst = new_instance(def, id, s, rb_now(e)))) return REBATCH_NOMEM;
  if ((rc = rb_doc_init(&doc, id, inst)) != REBATCH_OK) return rc;
  run.e = e;
  run.def = def;
  run.inst = doc.json;
  run.res = res;
  hist_json = new_history(def, inst, start_activity_of(def, instructions), s);
  rc = hist_json ? rb_doc_init(&hist, id, hist_json) : REBATCH_NOMEM;
  if (rc == REBATCH_OK) {
    rc = save_history(e, &hist);
    rb_doc_clear(&hist);
  }
  /* Start values are "initial" in history only when the instance starts
   * at one place, as upstream (restart reads them back only then). */
  if (rc == REBATCH_OK && s->variables)
    rc = rb_variables_set(e, doc.json, s->variables, cJSON_GetArraySize(instructions) <= 1);
  if (rc == REBATCH_OK) rc = place_tokens(&run, instructions);
  if (rc == REBATCH_OK) rc = run_tokens(&run);
  if (rc == REBATCH_OK) rc = store_instance(e, &doc);
  if (rc == REBATCH_OK && id_out) strcpy(id_out, id);
  rb_doc_clear(&doc);
  return rc;
}

/* Loads an instance, its definition and one of its tokens for a
 * continuation; *token is NULL unless all three exist. */
static int open_token(rebatch_engine *e, const char *instance_id, const char *execution_id,
                      rb_doc *inst, rb_doc *def, cJSON **token, rb_response *res) {
  int rc = rb_load(e, INSTANCE, instance_id, inst);
  memset(def, 0, sizeof *def);
  *token = NULL;
  if (rc == REBATCH_OK && !inst->json)
    rc = rb_error(res, 500, "ProcessEngineException", 0, "Process instance '%s' does not exist", instance_id ? instance_id : "null");
  if (rc == REBATCH_OK) rc = rb_definition_load(e, rb_str(inst->json, "processDefinitionId"), def);
  if (rc == REBATCH_OK && !def->json)
    rc = rb_error(res, 500, "ProcessEngineException", 0, "Process definition of instance '%s' does not exist", instance_id);
  if (rc == REBATCH_OK && !(*token = find_token(inst->json, execution_id)))
    rc = rb_error(res, 500, "ProcessEngineException", 0, "Execution '%s' does not exist", execution_id ? execution_id : "null");
  return rc;
}

/* Runs the tokens on and writes the instance back. */
static int advance(rebatch_engine *e, rb_doc *inst, const rb_doc *def, rb_response *res) {
  rb_run run;
  int rc;
  run.e = e;
  run.def = def->json;
  run.inst = inst->json;
  run.res = res;
  rc = run_tokens(&run);
  return rc == REBATCH_OK ? store_instance(e, inst) : rc;
}

int rb_instance_resume(rebatch_engine *e, const char *instance_id,
                       const char *execution_id, rb_resume how,
                       const cJSON *variables, rb_response *res) {
  static const char *const states[] = {"execute", "leave", "take"};
  rb_doc inst, def;
  cJSON *token;
  int rc = open_token(e, instance_id, execution_id, &inst, &def, &token, res);
  if (rc == REBATCH_OK) rc = set_state(token, states[how]);
  if (rc == REBATCH_OK && variables) rc = rb_variables_set(e, inst.json, variables, 0);
  if (rc == REBATCH_OK) rc = advance(e, &inst, &def, res);
  rb_doc_clear(&inst);
  rb_doc_clear(&def);
  return rc;
}

/* camunda:errorCodeVariable / errorMessageVariable of the catching event. */
static int set_error_variables(rebatch_engine *e, cJSON *inst, const cJSON *boundary,
                               const char *code, const char *message, rb_response *res) {
  const char *code_var = rb_str(boundary, "errorCodeVariable");
  const char *message_var = rb_str(boundary, "errorMessageVariable");
  cJSON *input = cJSON_CreateObject(), *typed = NULL, *value;
  int rc = input ? REBATCH_OK : REBATCH_NOMEM;
  if (rc == REBATCH_OK && code_var &&
      (!(value = cJSON_AddObjectToObject(input, code_var)) || !rb_put_str(value, "value", code)))
    rc = REBATCH_NOMEM;
  /* Set after the code: the message wins when both name one variable. */
  if (rc == REBATCH_OK && message_var) {
    cJSON_DeleteItemFromObjectCaseSensitive(input, message_var);
    if (!(value = cJSON_AddObjectToObject(input, message_var)) || !rb_put_str(value, "value", message))
      rc = REBATCH_NOMEM;
  }
  if (rc == REBATCH_OK && input->child) rc = rb_variables_parse(input, NULL, &typed, res);
  if (rc == REBATCH_OK && typed) rc = rb_variables_set(e, inst, typed, 0);
  cJSON_Delete(typed);
  cJSON_Delete(input);
  return rc;
}

int rb_instance_throw_error(rebatch_engine *e, const char *instance_id,
                            const char *execution_id, const char *error_code,
                            const char *error_message, const cJSON *variables,
                            rb_response *res) {
  const cJSON *boundary = NULL;
  rb_doc inst, def;
  cJSON *token;
  int rc = open_token(e, instance_id, execution_id, &inst, &def, &token, res);
  if (rc == REBATCH_OK && variables) rc = rb_variables_set(e, inst.json, variables, 0);
  if (rc == REBATCH_OK) boundary = rb_model_error_boundary(def.json, rb_str(token, "activityId"), error_code);
  if (rc == REBATCH_OK && boundary) {
    /* Error boundary events interrupt: the activity is canceled. */
    rc = end_activity(e, token, 1);
    if (rc == REBATCH_OK) rc = set_error_variables(e, inst.json, boundary, error_code, error_message, res);
    if (rc == REBATCH_OK) rc = move_token(token, rb_str(boundary, "id"), "arrive");
  } else if (rc == REBATCH_OK) {
    /* Uncaught, Camunda (enableExceptionsAfterUnhandledBpmnError off)
     * ends the execution as a none end event would. */
    rc = close_activity(e, token, 0, 1);
    if (rc == REBATCH_OK) cJSON_Delete(cJSON_DetachItemViaPointer(tokens_of(inst.json), token));
  }
  if (rc == REBATCH_OK) rc = advance(e, &inst, &def, res);
  rb_doc_clear(&inst);
  rb_doc_clear(&def);
  return rc;
}

/* ---- modification ------------------------------------------------------------ */

int rb_instance_cancel_token(rebatch_engine *e, cJSON *inst, cJSON *token) {
  const char *instance_id = rb_str(inst, "id"), *execution_id = rb_str(token, "id");
  int rc = end_activity(e, token, 1);
  if (rc == REBATCH_OK) rc = rb_jobs_delete_for_execution(e, instance_id, execution_id);
  if (rc == REBATCH_OK) rc = rb_external_tasks_delete_for_execution(e, instance_id, execution_id);
  if (rc == REBATCH_OK) rc = rb_incidents_delete_for_execution(e, instance_id, execution_id);
  if (rc == REBATCH_OK) cJSON_Delete(cJSON_DetachItemViaPointer(tokens_of(inst), token));
  return rc;
}

/* A token started in an instance that has none left takes the instance's
 * id, as upstream's process instance execution carries on. */
int rb_instance_start_at(rebatch_engine *e, const cJSON *def, cJSON *inst, const char *activity_id,
                         const char *state, rb_response *res) {
  char id[REBATCH_ID_MAX + 1];
  rb_run run;
  int rc = REBATCH_OK;
  run.e = e;
  run.def = def;
  run.inst = inst;
  run.res = res;
  if (cJSON_GetArraySize(tokens_of(inst)) == 0) snprintf(id, sizeof id, "%s", rb_str(inst, "id"));
  else rc = rb_new_id(e, id);
  if (rc != REBATCH_OK) return rc;
  if (!add_token(&run, id, activity_id, state)) return REBATCH_NOMEM;
  return run_tokens(&run);
}

static int terminate(rebatch_engine *e, rb_doc *inst, const char *state, const char *reason);

int rb_instance_store_modified(rebatch_engine *e, rb_doc *inst, const char *terminated_state) {
  if (terminated_state && cJSON_GetArraySize(tokens_of(inst->json)) == 0)
    return terminate(e, inst, terminated_state, NULL);
  return store_instance(e, inst);
}

/* ---- cancelling ------------------------------------------------------------ */

static int end_tokens(rebatch_engine *e, cJSON *inst) {
  cJSON *token;
  cJSON_ArrayForEach(token, tokens_of(inst)) {
    int rc = end_activity(e, token, 1);
    if (rc != REBATCH_OK) return rc;
  }
  return REBATCH_OK;
}

/* Ends a running instance externally: its jobs, external tasks and open
 * incidents go, its history records EXTERNALLY_TERMINATED. */
static int terminate(rebatch_engine *e, rb_doc *inst, const char *state, const char *reason) {
  const char *id = rb_str(inst->json, "id");
  int rc = end_tokens(e, inst->json);
  if (rc == REBATCH_OK) rc = rb_jobs_delete_for_instance(e, id);
  if (rc == REBATCH_OK) rc = rb_external_tasks_delete_for_instance(e, id);
  if (rc == REBATCH_OK) rc = rb_incidents_delete_for_instance(e, id);
  if (rc == REBATCH_OK) rc = finish_history(e, inst->json, state, reason);
  if (rc == REBATCH_OK) rc = rb_delete(e, INSTANCE, inst);
  return rc;
}

static int cancel_instance(rebatch_engine *e, rb_doc *inst, const char *reason) {
  return terminate(e, inst, "EXTERNALLY_TERMINATED", reason);
}

int rb_op_deleteProcessInstance(rebatch_engine *e, const cJSON *request,
                                rb_response *res) {
  const char *id = rb_str(request, "id");
  const cJSON *query = cJSON_GetObjectItemCaseSensitive(request, "query");
  const char *fail = rb_str(query, "failIfNotExists");
  rb_doc inst;
  int rc = rb_load(e, INSTANCE, id, &inst);
  if (rc == REBATCH_OK && !inst.json) {
    rb_doc_clear(&inst);
    if (fail && strcmp(fail, "false") == 0) return rb_ok(res, 204, NULL);
    return rb_error(res, 404, "InvalidRequestException", 0, "No process instance found for id '%s': processInstance is null",
                    id ? id : "null");
  }
  /* Camunda's REST resource always deletes without a reason. */
  if (rc == REBATCH_OK) rc = cancel_instance(e, &inst, NULL);
  rb_doc_clear(&inst);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

int rb_instance_delete(rebatch_engine *e, const char *id, const char *reason, int *found) {
  rb_doc inst;
  int rc = rb_load(e, INSTANCE, id, &inst);
  *found = inst.json != NULL;
  if (rc == REBATCH_OK && inst.json) rc = cancel_instance(e, &inst, reason);
  rb_doc_clear(&inst);
  return rc;
}

/* An instance's suspension reaches its jobs and external tasks, and its
 * history's state (SUSPENDED / ACTIVE), as AbstractSetProcessInstanceStateCmd. */
int rb_instance_set_suspended(rebatch_engine *e, const char *id, int suspended, int *found) {
  rb_doc inst, hist;
  int rc = rb_load(e, INSTANCE, id, &inst);
  *found = inst.json != NULL;
  memset(&hist, 0, sizeof hist);
  if (rc == REBATCH_OK && inst.json)
    rc = rb_set_bool(inst.json, "suspended", suspended) ? save_instance(e, &inst) : REBATCH_NOMEM;
  if (rc == REBATCH_OK && inst.json) rc = rb_load(e, HISTORIC_INSTANCE, id, &hist);
  if (rc == REBATCH_OK && hist.json)
    rc = rb_set_str(hist.json, "state", suspended ? "SUSPENDED" : "ACTIVE") ? save_history(e, &hist) : REBATCH_NOMEM;
  if (rc == REBATCH_OK && inst.json) rc = rb_jobs_set_suspended_for_instance(e, id, suspended);
  if (rc == REBATCH_OK && inst.json) rc = rb_external_tasks_set_suspended_for_instance(e, id, suspended);
  rb_doc_clear(&hist);
  rb_doc_clear(&inst);
  return rc;
}

int rb_instances_exist(rebatch_engine *e, const char *definition_id, int *exist) {
  rb_docs docs = {0};
  int rc = rb_find_page(e, INSTANCE, "processDefinitionId", definition_id, NULL, 1, &docs);
  *exist = docs.count > 0;
  rb_docs_clear(&docs);
  return rc;
}

static int delete_all(rebatch_engine *e, const char *coll, const char *field,
                      const char *value) {
  rb_docs docs = {0};
  int rc = rb_find_all(e, coll, field, value, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++)
    rc = rb_delete(e, coll, &docs.items[i]);
  rb_docs_clear(&docs);
  return rc;
}

/* An instance's whole history: activity instances, variables and their
 * details, incidents, the job log, and the historic instance itself. */
static int delete_history(rebatch_engine *e, rb_doc *hist) {
  int rc = delete_all(e, HISTORIC_ACTIVITY, "processInstanceId", hist->id);
  if (rc == REBATCH_OK) rc = rb_history_variables_delete(e, hist->id);
  if (rc == REBATCH_OK) rc = delete_all(e, "historicJobLog", "processInstanceId", hist->id);
  if (rc == REBATCH_OK) rc = delete_all(e, "historicIncident", "processInstanceId", hist->id);
  if (rc == REBATCH_OK) rc = rb_delete(e, HISTORIC_INSTANCE, hist);
  return rc;
}

int rb_history_instance_delete(rebatch_engine *e, const char *id, rb_history_deletion *outcome) {
  rb_doc hist;
  int rc = rb_load(e, HISTORIC_INSTANCE, id, &hist);
  *outcome = !hist.json ? RB_HISTORY_NOT_FOUND : rb_date(hist.json, "endTime") < 0 ? RB_HISTORY_RUNNING : RB_HISTORY_DELETED;
  if (rc == REBATCH_OK && *outcome == RB_HISTORY_DELETED) rc = delete_history(e, &hist);
  rb_doc_clear(&hist);
  return rc;
}

/* Removes every runtime and historic trace of a definition's instances
 * (deployment deletion with cascade). */
int rb_instance_purge(rebatch_engine *e, const char *definition_id) {
  rb_docs docs = {0};
  int rc = rb_find_all(e, INSTANCE, "processDefinitionId", definition_id, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++)
    rc = cancel_instance(e, &docs.items[i], "deployment deleted");
  rb_docs_clear(&docs);
  if (rc == REBATCH_OK) rc = rb_find_all(e, HISTORIC_INSTANCE, "processDefinitionId", definition_id, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) rc = delete_history(e, &docs.items[i]);
  rb_docs_clear(&docs);
  return rc;
}

/* ---- DTOs ---------------------------------------------------------------- */

static cJSON *instance_to_dto(rebatch_engine *e, const cJSON *inst) {
  cJSON *dto = cJSON_CreateObject();
  (void)e;
  if (!dto) return NULL;
  rb_take(dto, "links", cJSON_CreateArray());
  rb_copy(dto, inst, "id");
  rb_put_str(dto, "definitionId", rb_str(inst, "processDefinitionId"));
  rb_copy(dto, inst, "businessKey");
  rb_put_null(dto, "caseInstanceId");
  rb_put_bool(dto, "ended", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(inst, "tokens")) == 0);
  rb_copy(dto, inst, "suspended");
  rb_copy(dto, inst, "tenantId");
  /* Camunda 7.23 appends definitionKey after tenantId on the wire. */
  rb_put_str(dto, "definitionKey", rb_str(inst, "processDefinitionKey"));
  if (!rb_has(dto, "definitionKey")) {
    cJSON_Delete(dto);
    return NULL;
  }
  return dto;
}

static cJSON *history_to_dto(rebatch_engine *e, const cJSON *h) {
  static const char *const fields[] = {
      "id", "businessKey", "processDefinitionId", "processDefinitionKey",
      "processDefinitionName", "processDefinitionVersion", "startTime",
      "endTime", "removalTime", "durationInMillis", "startUserId",
      "startActivityId", "deleteReason", "rootProcessInstanceId",
      "superProcessInstanceId", "superCaseInstanceId", "caseInstanceId",
      "tenantId", "state", "restartedProcessInstanceId", NULL};
  (void)e;
  return rb_dto(h, fields);
}

static cJSON *activity_to_dto(rebatch_engine *e, const cJSON *a) {
  static const char *const fields[] = {
      "id", "parentActivityInstanceId", "activityId", "activityName",
      "activityType", "processDefinitionKey", "processDefinitionId",
      "processInstanceId", "executionId", "taskId", "calledProcessInstanceId",
      "calledCaseInstanceId", "assignee", "startTime", "endTime",
      "durationInMillis", "canceled", "completeScope", "tenantId",
      "removalTime", "rootProcessInstanceId", NULL};
  (void)e;
  return rb_dto(a, fields);
}

/* ---- starting, by operation ------------------------------------------- */

/* The instance's variables at the end of the start: from the runtime
 * record, or from history when it ended already. */
static int variables_after_start(rebatch_engine *e, const rb_doc *inst, const char *id, cJSON **out) {
  cJSON *stored = NULL;
  int rc = REBATCH_OK;
  if (inst->json) stored = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(inst->json, "variables"), 1);
  else rc = rb_history_variables(e, id, 0, &stored);
  if (rc == REBATCH_OK && !(*out = rb_variables_to_dto(stored, 1))) rc = REBATCH_NOMEM;
  cJSON_Delete(stored);
  return rc;
}

static int start_with(rebatch_engine *e, const rb_doc *def, const cJSON *request,
                      rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  char id[REBATCH_ID_MAX + 1];
  rb_start s = {rb_str(body, "businessKey"), NULL, NULL, NULL};
  rb_doc inst, hist;
  cJSON *dto = NULL, *vars = NULL, *typed = NULL;
  char *prefix;
  int rc;
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(def->json, "suspended")))
    return rb_error(res, 500, "RestException", 0,
                    "Cannot instantiate process definition %s: Process definition with id '%s' is suspended",
                    def->id, def->id);
  if (!(prefix = rb_sprintf("Cannot instantiate process definition %s: ", def->id))) return REBATCH_NOMEM;
  rc = rb_variables_parse(cJSON_GetObjectItemCaseSensitive(body, "variables"), prefix, &typed, res);
  rb_free(prefix);
  s.variables = typed;
  if (rc == REBATCH_OK) rc = rb_instance_start(e, def->json, &s, NULL, id, res);
  cJSON_Delete(typed);
  if (rc != REBATCH_OK) return rc;
  /* The instance may have ended already; the DTO then comes from history. */
  if ((rc = rb_load(e, INSTANCE, id, &inst)) != REBATCH_OK) return rc;
  if (inst.json) {
    dto = instance_to_dto(e, inst.json);
  } else if ((rc = rb_load(e, HISTORIC_INSTANCE, id, &hist)) == REBATCH_OK && hist.json &&
             rb_take(hist.json, "tokens", cJSON_CreateArray())) {
    rb_set_str(hist.json, "processDefinitionKey", rb_str(def->json, "key"));
    rb_set_bool(hist.json, "suspended", 0);
    dto = instance_to_dto(e, hist.json);
  }
  if (!inst.json) rb_doc_clear(&hist);
  /* Camunda returns every variable of the instance at the end of the
   * transaction, typed ({type, value, valueInfo}), not the request's. */
  if (rc == REBATCH_OK && dto && rb_flag(body, "withVariablesInReturn")) {
    rc = variables_after_start(e, &inst, id, &vars);
    if (rc == REBATCH_OK && !rb_take(dto, "variables", vars)) rc = REBATCH_NOMEM;
  }
  rb_doc_clear(&inst);
  if (rc == REBATCH_OK && !dto) rc = REBATCH_NOMEM;
  if (rc != REBATCH_OK) {
    cJSON_Delete(dto);
    return rc;
  }
  return rb_ok(res, 200, dto);
}

int rb_op_startProcessInstance(rebatch_engine *e, const cJSON *request,
                               rb_response *res) {
  const char *id = rb_str(request, "id");
  rb_doc def;
  int rc = rb_definition_load(e, id, &def);
  if (rc == REBATCH_OK && !def.json)
    rc = rb_error(res, 500, "RestException", 0,
                  "Cannot instantiate process definition %s: no deployed process definition found with id '%s': processDefinition is null",
                  id ? id : "null", id ? id : "null");
  if (rc == REBATCH_OK) rc = start_with(e, &def, request, res);
  rb_doc_clear(&def);
  return rc;
}

int rb_op_startProcessInstanceByKey(rebatch_engine *e, const cJSON *request,
                                    rb_response *res) {
  const char *key = rb_str(request, "key");
  rb_doc def;
  int rc = rb_definition_latest_by_key(e, key, &def);
  if (rc == REBATCH_OK && !def.json)
    rc = rb_not_found(res, "RestException", "No matching process definition with key: %s and no tenant-id", key ? key : "null");
  if (rc == REBATCH_OK) rc = start_with(e, &def, request, res);
  rb_doc_clear(&def);
  return rc;
}

/* ---- queries ------------------------------------------------------------- */

static int at_activity(rebatch_engine *e, const cJSON *inst, const cJSON *arg) {
  const cJSON *token;
  (void)e;
  cJSON_ArrayForEach(token, cJSON_GetObjectItemCaseSensitive(inst, "tokens"))
    if (rb_list_contains(arg, rb_str(token, "activityId"))) return 1;
  return 0;
}

static int key_not_in(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e;
  return !rb_list_contains(arg, rb_str(r, "processDefinitionKey"));
}

static int with_incident(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)arg;
  return rb_incident_matches_instance(e, rb_str(r, "id"), NULL, NULL, 0);
}

static int incident_type(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  return rb_incident_matches_instance(e, rb_str(r, "id"), "incidentType", arg, 0);
}

static int incident_id(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  return rb_incident_matches_instance(e, rb_str(r, "id"), "id", arg, 0);
}

static int incident_message(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  return rb_incident_matches_instance(e, rb_str(r, "id"), "incidentMessage", arg, 0);
}

static int incident_message_like(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  return rb_incident_matches_instance(e, rb_str(r, "id"), "incidentMessage", arg, 1);
}

static int variables_match(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e;
  return rb_variables_match(cJSON_GetObjectItemCaseSensitive(r, "variables"), arg);
}

static const rb_filter instance_filters[] = {
    {"processInstanceIds", RB_F_IN, "id", NULL, 0},
    {"businessKey", RB_F_EQ, "businessKey", NULL, 1},
    {"businessKeyLike", RB_F_LIKE, "businessKey", NULL, 0},
    {"processDefinitionId", RB_F_EQ, "processDefinitionId", NULL, 1},
    {"processDefinitionKey", RB_F_EQ, "processDefinitionKey", NULL, 1},
    {"processDefinitionKeyIn", RB_F_IN, "processDefinitionKey", NULL, 0},
    {"processDefinitionKeyNotIn", RB_F_VALUE, NULL, key_not_in, 0},
    {"deploymentId", RB_F_EQ, "deploymentId", NULL, 0},
    {"rootProcessInstanceId", RB_F_EQ, "id", NULL, 0},
    {"superProcessInstance", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"subProcessInstance", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"superCaseInstance", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"subCaseInstance", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"caseInstanceId", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"activityIdIn", RB_F_VALUE, NULL, at_activity, 0},
    {"active", RB_F_FLAG, NULL, rb_pred_active, 0},
    {"suspended", RB_F_FLAG, NULL, rb_pred_suspended, 0},
    {"withIncident", RB_F_FLAG, NULL, with_incident, 0},
    {"incidentId", RB_F_VALUE, NULL, incident_id, 0},
    {"incidentType", RB_F_VALUE, NULL, incident_type, 0},
    {"incidentMessage", RB_F_VALUE, NULL, incident_message, 0},
    {"incidentMessageLike", RB_F_VALUE, NULL, incident_message_like, 0},
    {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},
    {"withoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0},
    {"processDefinitionWithoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0},
    {"rootProcessInstances", RB_F_FLAG, NULL, rb_pred_everything, 0},
    {"leafProcessInstances", RB_F_FLAG, NULL, rb_pred_everything, 0},
    {"variables", RB_F_VARIABLES, NULL, variables_match, 0},
    {"orQueries", RB_F_UNSUPPORTED, NULL, NULL, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key instance_sorts[] = {
    {"instanceId", "id"}, {"definitionKey", "processDefinitionKey"},
    {"definitionId", "processDefinitionId"}, {"tenantId", "tenantId"},
    {"businessKey", "businessKey"}, {NULL, NULL}};


int rb_op_getProcessInstances(rebatch_engine *e, const cJSON *request,
                              rb_response *res) {
  return rb_query_list(e, &rb_instance_query, request, res);
}

int rb_op_getProcessInstancesCount(rebatch_engine *e, const cJSON *request,
                                   rb_response *res) {
  return rb_query_count(e, &rb_instance_query, request, res);
}

int rb_op_getProcessInstance(rebatch_engine *e, const cJSON *request,
                             rb_response *res) {
  return rb_get_by_id(e, INSTANCE, request, instance_to_dto, "Process instance with id %s does not exist", res);
}

static int has_state(const cJSON *r, const char *state) {
  const char *s = rb_str(r, "state");
  return s && strcmp(s, state) == 0;
}

static int h_finished(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return rb_date(r, "endTime") >= 0;
}
static int h_unfinished(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  return !h_finished(e, r, a);
}
static int h_completed(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return has_state(r, "COMPLETED");
}
static int h_external(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return has_state(r, "EXTERNALLY_TERMINATED");
}
static int h_internal(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return has_state(r, "INTERNALLY_TERMINATED");
}
static int h_active(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return has_state(r, "ACTIVE");
}
static int h_suspended(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return has_state(r, "SUSPENDED");
}

static int h_with_incidents(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)a;
  return rb_history_incident_matches(e, rb_str(r, "id"), NULL, NULL, 0);
}
static int h_incident_type(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  return rb_history_incident_matches(e, rb_str(r, "id"), "incidentType", a, 0);
}
static int h_incident_status(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  return rb_history_incident_matches(e, rb_str(r, "id"), "incidentStatus", a, 0);
}
static int h_key_not_in(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e;
  return !rb_list_contains(arg, rb_str(r, "processDefinitionKey"));
}
/* Historic instances match on their historic variable instances. */
static int h_variables(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  cJSON *vars = NULL;
  int found = rb_history_variables(e, rb_str(r, "id"), 0, &vars) == REBATCH_OK && rb_variables_match(vars, arg);
  cJSON_Delete(vars);
  return found;
}
static int h_id_not_in(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e;
  return !rb_list_contains(arg, rb_str(r, "id"));
}

static int h_incident_id_in(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  return rb_history_incident_matches(e, rb_str(r, "id"), "id", a, 0);
}
static int h_incident_message(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  return rb_history_incident_matches(e, rb_str(r, "id"), "incidentMessage", a, 0);
}
static int h_incident_message_like(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  return rb_history_incident_matches(e, rb_str(r, "id"), "incidentMessage", a, 1);
}

typedef enum rb_activity_test {
  RB_EXECUTED_IN,  /* a finished activity instance of a listed activity */
  RB_ACTIVE_IN,    /* an unfinished one */
  RB_ANY_IN,       /* active, or waiting there as a token (async, incident) */
  RB_RAN_BEFORE,   /* started or ended at or before the date */
  RB_RAN_AFTER     /* started or ended at or after the date */
} rb_activity_test;

static int activity_passes(const cJSON *a, rb_activity_test test, const cJSON *arg, double date) {
  int finished = rb_date(a, "endTime") >= 0;
  double start = rb_date(a, "startTime"), end = rb_date(a, "endTime");
  switch (test) {
  case RB_EXECUTED_IN: return finished && rb_list_contains(arg, rb_str(a, "activityId"));
  case RB_ACTIVE_IN:
  case RB_ANY_IN: return !finished && rb_list_contains(arg, rb_str(a, "activityId"));
  case RB_RAN_BEFORE: return (start >= 0 && start <= date) || (end >= 0 && end <= date);
  case RB_RAN_AFTER: return (start >= 0 && start >= date) || (end >= 0 && end >= date);
  }
  return 0;
}

/* Historic activity instances answer the activity filters of the historic
 * instance query; tokens waiting before an activity count for activityIdIn. */
static int activity_test(rebatch_engine *e, const cJSON *r, const cJSON *arg, rb_activity_test test) {
  rb_docs docs = {0};
  rb_doc inst;
  double date = 0;
  int found = 0;
  if ((test == RB_RAN_BEFORE || test == RB_RAN_AFTER) && rb_parse_date(arg, &date) != 1) return 0;
  if (rb_find_all(e, HISTORIC_ACTIVITY, "processInstanceId", rb_str(r, "id"), &docs) == REBATCH_OK)
    for (int i = 0; !found && i < docs.count; i++) found = activity_passes(docs.items[i].json, test, arg, date);
  rb_docs_clear(&docs);
  if (found || test != RB_ANY_IN) return found;
  if (rb_load(e, INSTANCE, rb_str(r, "id"), &inst) == REBATCH_OK && inst.json) found = at_activity(e, inst.json, arg);
  rb_doc_clear(&inst);
  return found;
}

static int h_activity_in(rebatch_engine *e, const cJSON *r, const cJSON *a) { return activity_test(e, r, a, RB_ANY_IN); }
static int h_executed_in(rebatch_engine *e, const cJSON *r, const cJSON *a) { return activity_test(e, r, a, RB_EXECUTED_IN); }
static int h_active_in(rebatch_engine *e, const cJSON *r, const cJSON *a) { return activity_test(e, r, a, RB_ACTIVE_IN); }
static int h_ran_before(rebatch_engine *e, const cJSON *r, const cJSON *a) { return activity_test(e, r, a, RB_RAN_BEFORE); }
static int h_ran_after(rebatch_engine *e, const cJSON *r, const cJSON *a) { return activity_test(e, r, a, RB_RAN_AFTER); }

/* Jobs that failed and still have retries left (Camunda 7.23). */
static int h_jobs_retrying(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  rb_docs jobs = {0};
  int found = 0;
  (void)a;
  if (rb_find_all(e, "job", "processInstanceId", rb_str(r, "id"), &jobs) == REBATCH_OK)
    for (int i = 0; !found && i < jobs.count; i++) {
      long long retries = 0;
      rb_int(jobs.items[i].json, "retries", &retries);
      found = retries > 0 && rb_str(jobs.items[i].json, "exceptionMessage") != NULL;
    }
  rb_docs_clear(&jobs);
  return found;
}

static int h_job_before(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  return rb_job_log_executed(e, rb_str(r, "id"), a, 1);
}
static int h_job_after(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  return rb_job_log_executed(e, rb_str(r, "id"), a, 0);
}

static const rb_filter history_filters[] = {
    {"processInstanceId", RB_F_EQ, "id", NULL, 0},
    {"processInstanceIds", RB_F_IN, "id", NULL, 0},
    {"processInstanceIdNotIn", RB_F_VALUE, NULL, h_id_not_in, 0},
    {"rootProcessInstanceId", RB_F_EQ, "rootProcessInstanceId", NULL, 0},
    {"processDefinitionId", RB_F_EQ, "processDefinitionId", NULL, 1},
    {"processDefinitionKey", RB_F_EQ, "processDefinitionKey", NULL, 1},
    {"processDefinitionKeyIn", RB_F_IN, "processDefinitionKey", NULL, 0},
    {"processDefinitionKeyNotIn", RB_F_VALUE, NULL, h_key_not_in, 0},
    {"processDefinitionName", RB_F_EQ, "processDefinitionName", NULL, 0},
    {"processDefinitionNameLike", RB_F_LIKE, "processDefinitionName", NULL, 0},
    {"processInstanceBusinessKey", RB_F_EQ, "businessKey", NULL, 1},
    {"processInstanceBusinessKeyIn", RB_F_IN, "businessKey", NULL, 0},
    {"processInstanceBusinessKeyLike", RB_F_LIKE, "businessKey", NULL, 0},
    {"startedBy", RB_F_EQ, "startUserId", NULL, 0},
    {"superProcessInstanceId", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"subProcessInstanceId", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"superCaseInstanceId", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"subCaseInstanceId", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"caseInstanceId", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},
    {"withoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0},
    {"startedBefore", RB_F_DATE_BEFORE, "startTime", NULL, 0},
    {"startedAfter", RB_F_DATE_AFTER, "startTime", NULL, 0},
    {"finishedBefore", RB_F_DATE_BEFORE, "endTime", NULL, 0},
    {"finishedAfter", RB_F_DATE_AFTER, "endTime", NULL, 0},
    {"finished", RB_F_FLAG, NULL, h_finished, 0},
    {"unfinished", RB_F_FLAG, NULL, h_unfinished, 0},
    {"completed", RB_F_FLAG, NULL, h_completed, 0},
    {"externallyTerminated", RB_F_FLAG, NULL, h_external, 0},
    {"internallyTerminated", RB_F_FLAG, NULL, h_internal, 0},
    {"active", RB_F_FLAG, NULL, h_active, 0},
    {"suspended", RB_F_FLAG, NULL, h_suspended, 0},
    {"withIncidents", RB_F_FLAG, NULL, h_with_incidents, 0},
    {"withRootIncidents", RB_F_FLAG, NULL, h_with_incidents, 0},
    {"incidentType", RB_F_VALUE, NULL, h_incident_type, 0},
    {"incidentStatus", RB_F_VALUE, NULL, h_incident_status, 0},
    {"rootProcessInstances", RB_F_FLAG, NULL, rb_pred_everything, 0},
    {"variables", RB_F_VARIABLES, NULL, h_variables, 0},
    {"incidentIdIn", RB_F_VALUE, NULL, h_incident_id_in, 0},
    {"incidentMessage", RB_F_VALUE, NULL, h_incident_message, 0},
    {"incidentMessageLike", RB_F_VALUE, NULL, h_incident_message_like, 0},
    {"activityIdIn", RB_F_VALUE, NULL, h_activity_in, 0},
    {"executedActivityIdIn", RB_F_VALUE, NULL, h_executed_in, 0},
    {"activeActivityIdIn", RB_F_VALUE, NULL, h_active_in, 0},
    {"executedActivityBefore", RB_F_VALUE, NULL, h_ran_before, 0},
    {"executedActivityAfter", RB_F_VALUE, NULL, h_ran_after, 0},
    {"withJobsRetrying", RB_F_FLAG, NULL, h_jobs_retrying, 0},
    {"executedJobBefore", RB_F_VALUE, NULL, h_job_before, 0},
    {"executedJobAfter", RB_F_VALUE, NULL, h_job_after, 0},
    {"orQueries", RB_F_UNSUPPORTED, NULL, NULL, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key history_sorts[] = {
    {"instanceId", "id"}, {"definitionId", "processDefinitionId"},
    {"definitionKey", "processDefinitionKey"}, {"definitionName", "processDefinitionName"},
    {"definitionVersion", "processDefinitionVersion"}, {"businessKey", "businessKey"},
    {"startTime", "startTime"}, {"endTime", "endTime"}, {"duration", "durationInMillis"},
    {"tenantId", "tenantId"}, {NULL, NULL}};

const rb_query rb_history_query = {HISTORIC_INSTANCE, history_filters, history_sorts,
                                   history_to_dto};
const rb_query rb_instance_query = {INSTANCE, instance_filters, instance_sorts,
                                    instance_to_dto};

int rb_op_getHistoricProcessInstances(rebatch_engine *e, const cJSON *request,
                                      rb_response *res) {
  return rb_query_list(e, &rb_history_query, request, res);
}

int rb_op_getHistoricProcessInstancesCount(rebatch_engine *e, const cJSON *request,
                                           rb_response *res) {
  return rb_query_count(e, &rb_history_query, request, res);
}

int rb_op_getHistoricProcessInstance(rebatch_engine *e, const cJSON *request,
                                     rb_response *res) {
  return rb_get_by_id(e, HISTORIC_INSTANCE, request, history_to_dto,
                      "Historic process instance with id %s does not exist", res);
}

static int a_finished(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return rb_date(r, "endTime") >= 0;
}
static int a_unfinished(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  return !a_finished(e, r, a);
}
static int a_canceled(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "canceled"));
}

static int a_complete_scope(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "completeScope"));
}

static const rb_filter activity_filters[] = {
    {"processInstanceId", RB_F_EQ, "processInstanceId", NULL, 1},
    {"activityInstanceId", RB_F_EQ, "id", NULL, 0},
    {"processDefinitionId", RB_F_EQ, "processDefinitionId", NULL, 0},
    {"executionId", RB_F_EQ, "executionId", NULL, 0},
    {"activityId", RB_F_EQ, "activityId", NULL, 0},
    {"activityName", RB_F_EQ, "activityName", NULL, 0},
    {"activityType", RB_F_EQ, "activityType", NULL, 0},
    {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},
    {"finished", RB_F_FLAG, NULL, a_finished, 0},
    {"unfinished", RB_F_FLAG, NULL, a_unfinished, 0},
    {"canceled", RB_F_FLAG, NULL, a_canceled, 0},
    {"completeScope", RB_F_FLAG, NULL, a_complete_scope, 0},
    {"taskAssignee", RB_F_EQ, "assignee", NULL, 0},
    {"withoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0},
    {"startedBefore", RB_F_DATE_BEFORE, "startTime", NULL, 0},
    {"startedAfter", RB_F_DATE_AFTER, "startTime", NULL, 0},
    {"finishedBefore", RB_F_DATE_BEFORE, "endTime", NULL, 0},
    {"finishedAfter", RB_F_DATE_AFTER, "endTime", NULL, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key activity_sorts[] = {
    {"activityInstanceId", "id"}, {"instanceId", "processInstanceId"},
    {"executionId", "executionId"}, {"activityId", "activityId"},
    {"activityName", "activityName"}, {"activityType", "activityType"},
    {"startTime", "startTime"}, {"endTime", "endTime"}, {"duration", "durationInMillis"},
    {"definitionId", "processDefinitionId"}, {"tenantId", "tenantId"},
    /* Camunda's sequence counter: activity instances start in id order
     * within one start time, so startTime is the closest stored order. */
    {"occurrence", "startTime"}, {NULL, NULL}};

static const rb_query activity_query = {HISTORIC_ACTIVITY, activity_filters, activity_sorts,
                                        activity_to_dto};

int rb_op_getHistoricActivityInstances(rebatch_engine *e, const cJSON *request,
                                       rb_response *res) {
  return rb_query_list(e, &activity_query, request, res);
}

int rb_op_getHistoricActivityInstancesCount(rebatch_engine *e, const cJSON *request,
                                            rb_response *res) {
  return rb_query_count(e, &activity_query, request, res);
}

int rb_op_getHistoricActivityInstance(rebatch_engine *e, const cJSON *request,
                                      rb_response *res) {
  return rb_get_by_id(e, HISTORIC_ACTIVITY, request, activity_to_dto,
                      "Historic activity instance with id '%s' does not exist", res);
}

int rb_instance_dto(rebatch_engine *e, const char *id, const cJSON *def, cJSON **out) {
  rb_doc doc;
  cJSON *stub;
  int rc = rb_load(e, INSTANCE, id, &doc);
  *out = NULL;
  if (rc != REBATCH_OK || doc.json) {
    if (doc.json && !(*out = instance_to_dto(e, doc.json))) rc = REBATCH_NOMEM;
    rb_doc_clear(&doc);
    return rc;
  }
  rb_doc_clear(&doc);
  if ((rc = rb_load(e, HISTORIC_INSTANCE, id, &doc)) != REBATCH_OK) return rc;
  stub = cJSON_CreateObject();
  if (stub && (!rb_put_str(stub, "id", id) || !rb_put_str(stub, "processDefinitionId", rb_str(def, "id")) ||
               !rb_put_str(stub, "processDefinitionKey", rb_str(def, "key")) ||
               !rb_put_str(stub, "businessKey", rb_str(doc.json, "businessKey")) || !rb_put_bool(stub, "suspended", 0) ||
               !rb_put_str(stub, "tenantId", rb_str(doc.json, "tenantId")))) {
    cJSON_Delete(stub);
    stub = NULL;
  }
  rb_doc_clear(&doc);
  *out = stub ? instance_to_dto(e, stub) : NULL;
  cJSON_Delete(stub);
  return *out ? REBATCH_OK : REBATCH_NOMEM;
}

/* A copy of the instance's variables (empty when it is gone). */
int rb_instance_variables(rebatch_engine *e, const char *instance_id, cJSON **out) {
  rb_doc inst;
  int rc = rb_load(e, INSTANCE, instance_id, &inst);
  const cJSON *vars = inst.json ? cJSON_GetObjectItemCaseSensitive(inst.json, "variables") : NULL;
  *out = rc == REBATCH_OK ? (vars ? cJSON_Duplicate(vars, 1) : cJSON_CreateObject()) : NULL;
  rb_doc_clear(&inst);
  if (rc == REBATCH_OK && !*out) rc = REBATCH_NOMEM;
  return rc;
}
