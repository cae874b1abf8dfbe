/*
 * modification.c - process instance modification: instructions that start
 * tokens before or after activities or on sequence flows, and cancel
 * activity and transition instances, applied in order to one running
 * instance (POST /process-instance/{id}/modification); the batch of
 * src/batch/modification.c applies the same to many.
 */
#include "core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define INSTANCE "processInstance"

static int is(const char *a, const char *b) { return rb_str_eq(a, b); }

static int is_start(const char *type) {
  return is(type, "startBeforeActivity") || is(type, "startAfterActivity") || is(type, "startTransition");
}

/* A string member that is absent, null or a string; anything else is a
 * Jackson mapping error upstream. */
static int string_or_null(const cJSON *ins, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(ins, key);
  return !v || cJSON_IsNull(v) || cJSON_IsString(v);
}

static int well_typed(const cJSON *ins) {
  static const char *const keys[] = {"type", "activityId", "transitionId", "activityInstanceId",
                                     "transitionInstanceId", "ancestorActivityInstanceId", NULL};
  const cJSON *vars = cJSON_GetObjectItemCaseSensitive(ins, "variables");
  const cJSON *flag = cJSON_GetObjectItemCaseSensitive(ins, "cancelCurrentActiveActivityInstances");
  if (!cJSON_IsObject(ins)) return 0;
  for (int i = 0; keys[i]; i++)
    if (!string_or_null(ins, keys[i])) return 0;
  if (vars && !cJSON_IsNull(vars) && !cJSON_IsObject(vars)) return 0;
  return !flag || cJSON_IsNull(flag) || cJSON_IsBool(flag);
}

/* CancellationInstructionDto.validateParameters: exactly one target. */
static int cancel_targets(const cJSON *ins) {
  return (rb_str(ins, "activityId") != NULL) + (rb_str(ins, "activityInstanceId") != NULL) +
         (rb_str(ins, "transitionInstanceId") != NULL);
}

/* The instruction's DTO checks, as the REST DTOs make them while the
 * builder is filled (ProcessInstanceModificationInstructionDto.applyTo). */
static int check_instruction(const cJSON *ins, int multiple, rb_response *res) {
  const char *type = rb_str(ins, "type");
  if (!well_typed(ins) || !(is_start(type) || is(type, "cancel"))) return rb_invalid(res, 400, "%s", "");
  if (is(type, "startTransition") && !rb_str(ins, "transitionId"))
    return rb_invalid(res, 400, "For instruction type 'startTransition': 'transitionId' must be set");
  if (is_start(type) && !is(type, "startTransition") && !rb_str(ins, "activityId"))
    return rb_invalid(res, 400, "For instruction type '%s': 'activityId' must be set", type);
  if (is(type, "cancel") && multiple && !rb_str(ins, "activityId"))
    return rb_invalid(res, 400, "For instruction type 'cancel': 'activityId' must be set");
  if (is(type, "cancel") && !multiple && cancel_targets(ins) != 1)
    return rb_invalid(res, 400, "For instruction type 'cancel': exactly one, 'activityId', 'activityInstanceId', or "
                                "'transitionInstanceId', is required");
  return REBATCH_OK;
}

static int copy_member(cJSON *to, const cJSON *from, const char *key) {
  const char *v = rb_str(from, key);
  return !v || rb_put_str(to, key, v);
}

/* The kept form of one instruction: its target and (single instance
 * only: ModificationBuilder ignores them) its variables, parsed. */
static int keep_instruction(const cJSON *ins, int multiple, cJSON *out, rb_response *res) {
  static const char *const keys[] = {"type", "activityId", "transitionId", "activityInstanceId",
                                     "transitionInstanceId", NULL};
  const cJSON *vars = cJSON_GetObjectItemCaseSensitive(ins, "variables");
  cJSON *kept = cJSON_CreateObject(), *typed = NULL;
  int rc = kept ? REBATCH_OK : REBATCH_NOMEM;
  for (int i = 0; rc == REBATCH_OK && keys[i]; i++)
    if (!copy_member(kept, ins, keys[i])) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK && multiple && rb_flag(ins, "cancelCurrentActiveActivityInstances") &&
      !rb_put_bool(kept, "cancelCurrentActiveActivityInstances", 1))
    rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK && !multiple && cJSON_IsObject(vars) && vars->child) {
    rc = rb_variables_parse(vars, NULL, &typed, res);
    if (rc == REBATCH_OK && !rb_take(kept, "variables", typed)) rc = REBATCH_NOMEM;
    else if (rc != REBATCH_OK) cJSON_Delete(typed);
  }
  if (rc == REBATCH_OK && !cJSON_AddItemToArray(out, kept)) rc = REBATCH_NOMEM;
  if (rc != REBATCH_OK) cJSON_Delete(kept);
  return rc;
}

int rb_modification_read(const cJSON *body, int multiple, cJSON **out, rb_response *res) {
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "instructions"), *ins;
  int rc = REBATCH_OK;
  *out = NULL;
  if (list && !cJSON_IsNull(list) && !cJSON_IsArray(list)) return rb_invalid(res, 400, "%s", "");
  if (!(*out = cJSON_CreateArray())) return REBATCH_NOMEM;
  cJSON_ArrayForEach(ins, list) {
    rc = check_instruction(ins, multiple, res);
    if (rc == REBATCH_OK) rc = keep_instruction(ins, multiple, *out, res);
    if (rc != REBATCH_OK) break;
  }
  if (rc != REBATCH_OK) {
    cJSON_Delete(*out);
    *out = NULL;
  }
  return rc;
}

/* ActivityAfterInstantiationCmd: the activity must have exactly one
 * outgoing flow to take (restart checks the same). */
int rb_check_start_after(const cJSON *def, const char *activity_id, rb_response *res) {
  const cJSON *flows[2];
  int n = rb_model_outgoing(def, activity_id, flows, 2);
  if (n == 0)
    return rb_error(res, 500, "ProcessEngineException", 0, "Cannot start after activity %s; activity has no outgoing sequence flow to take", activity_id);
  if (n > 1)
    return rb_error(res, 500, "ProcessEngineException", 0, "Cannot start after activity %s; activity has more than one outgoing sequence flow", activity_id);
  return REBATCH_OK;
}

/* ---- applying ----------------------------------------------------------- */

typedef struct rb_modify {
  rebatch_engine *e;
  const cJSON *def;
  cJSON *inst;
  int wrap; /* the REST resource turns NotValidExceptions into InvalidRequestExceptions */
  rb_response *res;
} rb_modify;

/* A NotValidException: 400 either way, its type as the endpoint shows it. */
static int not_valid(const rb_modify *m, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (m->wrap) return rb_invalid(m->res, 400, "%s", msg);
  return rb_error(m->res, 400, "NotValidException", 0, "%s", msg);
}

static cJSON *tokens(const rb_modify *m) { return cJSON_GetObjectItemCaseSensitive(m->inst, "tokens"); }

static int is_transition(const cJSON *token) {
  return is(rb_str(token, "state"), "asyncBefore") || is(rb_str(token, "state"), "asyncAfter");
}

/* Where a start instruction puts its token, after upstream's checks. */
static int start_target(const rb_modify *m, const cJSON *ins, const char **activity, const char **state) {
  const char *type = rb_str(ins, "type"), *id = rb_str(ins, "activityId"), *def_id = rb_str(m->def, "id");
  *state = "arrive";
  *activity = id;
  if (is(type, "startTransition")) {
    const cJSON *flow = rb_model_flow(m->def, rb_str(ins, "transitionId"));
    if (!flow)
      return not_valid(m, "Cannot perform instruction: Start transition '%s'; Element '%s' does not exist in process '%s': element is null",
                       rb_str(ins, "transitionId"), rb_str(ins, "transitionId"), def_id);
    *activity = rb_str(flow, "target");
    return REBATCH_OK;
  }
  if (is(type, "startBeforeActivity")) {
    if (!rb_model_activity(m->def, id))
      return not_valid(m, "Cannot perform instruction: Start before activity '%s'; Element '%s' does not exist in process '%s': element is null",
                       id, id, def_id);
    return REBATCH_OK;
  }
  if (!rb_model_activity(m->def, id))
    return not_valid(m, "Cannot perform instruction: Start after activity '%s'; Activity '%s' does not exist: activity is null", id, id);
  *state = "take";
  return rb_check_start_after(m->def, id, m->res);
}

static int start(const rb_modify *m, const cJSON *ins) {
  const cJSON *vars = cJSON_GetObjectItemCaseSensitive(ins, "variables");
  const char *activity, *state;
  int rc = start_target(m, ins, &activity, &state);
  if (rc == REBATCH_OK && vars) rc = rb_variables_set(m->e, m->inst, vars, 0);
  if (rc == REBATCH_OK) rc = rb_instance_start_at(m->e, m->def, m->inst, activity, state, m->res);
  return rc;
}

/* Cancels every token the test picks; the list changes as they go. */
static int cancel_where(const rb_modify *m, int (*picks)(const cJSON *token, const cJSON *arg), const cJSON *arg) {
  cJSON *token = tokens(m)->child, *next;
  for (; token; token = next) {
    int rc;
    next = token->next;
    if (!picks(token, arg)) continue;
    if ((rc = rb_instance_cancel_token(m->e, m->inst, token)) != REBATCH_OK) return rc;
  }
  return REBATCH_OK;
}

static int at_activity(const cJSON *token, const cJSON *ins) {
  const cJSON *only = cJSON_GetObjectItemCaseSensitive(ins, "tokens");
  if (!is(rb_str(token, "activityId"), rb_str(ins, "activityId"))) return 0;
  return !only || rb_list_contains(only, rb_str(token, "id"));
}

static int any_token(const cJSON *token, const cJSON *ins) {
  (void)token; (void)ins;
  return 1;
}

static int of_activity_instance(const cJSON *token, const cJSON *ins) {
  return !is_transition(token) && is(rb_str(token, "activityInstanceId"), rb_str(ins, "activityInstanceId"));
}

static int of_transition_instance(const cJSON *token, const cJSON *ins) {
  return is_transition(token) && is(rb_str(token, "id"), rb_str(ins, "transitionInstanceId"));
}

static int exists(const rb_modify *m, int (*picks)(const cJSON *token, const cJSON *arg), const cJSON *ins) {
  const cJSON *token;
  cJSON_ArrayForEach(token, tokens(m))
    if (picks(token, ins)) return 1;
  return 0;
}

static int cancel(const rb_modify *m, const cJSON *ins) {
  const char *aiid = rb_str(ins, "activityInstanceId"), *tiid = rb_str(ins, "transitionInstanceId");
  if (rb_str(ins, "activityId")) return cancel_where(m, at_activity, ins);
  /* The process instance is the root activity instance: cancelling it
   * cancels everything under it. */
  if (aiid && is(aiid, rb_str(m->inst, "id"))) return cancel_where(m, any_token, ins);
  if (aiid && !exists(m, of_activity_instance, ins))
    return not_valid(m, "Cannot perform instruction: Cancel activity instance '%s'; Activity instance '%s' does not exist: activityInstance is null",
                     aiid, aiid);
  if (aiid) return cancel_where(m, of_activity_instance, ins);
  if (!exists(m, of_transition_instance, ins))
    return not_valid(m, "Cannot perform instruction: Cancel transition instance '%s'; Transition instance '%s' does not exist: transitionInstance is null",
                     tiid, tiid);
  return cancel_where(m, of_transition_instance, ins);
}

/* cancelCurrentActiveActivityInstances: the activity's instances are the
 * ones of the tree before the first instruction, as upstream reads it
 * once (checkCancellation); their token ids go into a copy of the
 * instructions. */
static int pin_current(const rb_modify *m, const cJSON *instructions, cJSON **out) {
  const cJSON *ins, *token;
  *out = cJSON_Duplicate(instructions, 1);
  if (!*out) return REBATCH_NOMEM;
  cJSON_ArrayForEach(ins, *out) {
    cJSON *ids;
    if (!rb_flag(ins, "cancelCurrentActiveActivityInstances")) continue;
    if (!(ids = cJSON_AddArrayToObject((cJSON *)ins, "tokens"))) return REBATCH_NOMEM;
    cJSON_ArrayForEach(token, tokens(m))
      if (is(rb_str(token, "activityId"), rb_str(ins, "activityId")) &&
          !cJSON_AddItemToArray(ids, cJSON_CreateString(rb_str(token, "id"))))
        return REBATCH_NOMEM;
  }
  return REBATCH_OK;
}

int rb_modification_apply(rebatch_engine *e, rb_doc *inst, const cJSON *def, const cJSON *instructions,
                          const char *terminated_state, int wrap, rb_response *res) {
  rb_modify m = {e, def, inst->json, wrap, res};
  cJSON *pinned = NULL;
  const cJSON *ins;
  int emptied = 0;
  int rc = pin_current(&m, instructions, &pinned);
  cJSON_ArrayForEach(ins, pinned) {
    if (rc != REBATCH_OK) break;
    rc = is(rb_str(ins, "type"), "cancel") ? cancel(&m, ins) : start(&m, ins);
    emptied = cJSON_GetArraySize(tokens(&m)) == 0 && is(rb_str(ins, "type"), "cancel");
  }
  cJSON_Delete(pinned);
  if (rc == REBATCH_OK) rc = rb_instance_store_modified(e, inst, emptied ? terminated_state : NULL);
  return rc;
}

/* POST /process-instance/{id}/modification: no instructions, nothing
 * happens, not even the check that the instance exists. */
int rb_op_modifyProcessInstance(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const char *id = rb_str(request, "id");
  cJSON *instructions = NULL;
  rb_doc inst, def;
  int rc;
  memset(&inst, 0, sizeof inst);
  memset(&def, 0, sizeof def);
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "Request body is null: a modification needs instructions");
  if (!cJSON_IsObject(body)) return rb_invalid(res, 400, "%s", "");
  rc = rb_modification_read(body, 0, &instructions, res);
  if (rc == REBATCH_OK && cJSON_GetArraySize(instructions) == 0) {
    cJSON_Delete(instructions);
    return rb_ok(res, 204, NULL);
  }
  if (rc == REBATCH_OK) rc = rb_load(e, INSTANCE, id, &inst);
  if (rc == REBATCH_OK && !inst.json)
    rc = rb_error(res, 500, "ProcessEngineException", 0,
                  "ENGINE-13036 Process instance '%s' cannot be modified. The process instance does not exist", id ? id : "null");
  if (rc == REBATCH_OK) rc = rb_definition_load(e, rb_str(inst.json, "processDefinitionId"), &def);
  if (rc == REBATCH_OK && !def.json)
    rc = rb_error(res, 500, "ProcessEngineException", 0, "Process definition of instance '%s' does not exist", id);
  /* The REST resource marks its cancellations as external. */
  if (rc == REBATCH_OK) rc = rb_modification_apply(e, &inst, def.json, instructions, "EXTERNALLY_TERMINATED", 0, res);
  cJSON_Delete(instructions);
  rb_doc_clear(&inst);
  rb_doc_clear(&def);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}
