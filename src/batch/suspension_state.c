/*
 * suspension_state.c - instance-update-suspension-state batches
 * (POST /process-instance/suspended-async) and their synchronous twin
 * (PUT /process-instance/suspended), as UpdateProcessInstancesSuspendState-
 * BatchCmd and UpdateProcessInstancesSuspendStateCmd: the instances named by
 * ids, a runtime and a historic query are suspended or activated with
 * their jobs and external tasks.
 */
#include "core.h"

#include <string.h>

static const rb_instance_sources sources = {"processInstanceIds", "processInstanceQuery",
                                            "historicProcessInstanceQuery", 0, 0, 0};

static int present(const cJSON *body, const char *name) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, name);
  return m && !cJSON_IsNull(m);
}

static int has_null(const cJSON *list) {
  const cJSON *item;
  cJSON_ArrayForEach(item, list)
    if (!cJSON_IsString(item)) return 1;
  return 0;
}

/* The batch command's errors are BadUserRequestExceptions, which the async
 * resource turns into InvalidRequestExceptions; the sync one passes them
 * on. The two spell the empty selection differently, as upstream. */
static int user_error(int now, rb_response *res, const char *message) {
  if (now) return rb_error(res, 400, "BadUserRequestException", 0, "%s", message);
  return rb_invalid(res, 400, "%s", message);
}

static int select_instances(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                            rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  int now = source & RB_BATCH_NOW, rc;
  if (!body || cJSON_IsNull(body))
    return rb_invalid(res, 400, "Request body is null: suspended and a selection of process instances are required");
  if (!now && !present(body, "processInstanceIds") && !present(body, "processInstanceQuery") &&
      !present(body, "historicProcessInstanceQuery"))
    return rb_invalid(res, 400, "Either processInstanceIds, processInstanceQuery or historicProcessInstanceQuery should be set to update the suspension state.");
  if (has_null(cJSON_GetObjectItemCaseSensitive(body, "processInstanceIds")))
    return user_error(now, res, "Cannot be null.: Process Instance ids contains null value");
  if (!(sel->groups = cJSON_CreateArray())) return REBATCH_NOMEM;
  if ((rc = rb_select_instances(e, body, &sources, sel->groups, res)) != REBATCH_OK) return rc;
  if (cJSON_GetArraySize(sel->groups) == 0)
    return user_error(now, res, now ? "No process instance ids given: Process Instance ids is empty"
                                    : "No process instance ids given: process Instance Ids is empty");
  if (!(sel->params = cJSON_CreateObject()) || !rb_put_bool(sel->params, "suspended", rb_flag(body, "suspended")))
    return REBATCH_NOMEM;
  return REBATCH_OK;
}

/* An instance that is gone is left alone, as upstream's update by id
 * updates no row. */
static int apply(rebatch_engine *e, const char *instance_id, const cJSON *params, rb_response *res) {
  int found;
  (void)res;
  return rb_instance_set_suspended(e, instance_id, rb_flag(params, "suspended"), &found);
}

int rb_op_setProcessInstancesSuspendedAsync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_instance_suspension_state, 0, request, res);
}

/* PUT /process-instance/suspended: by a definition (id or key), or the
 * synchronous twin of the batch, as ProcessInstanceSuspensionStateDto
 * chooses. */
int rb_op_setProcessInstancesSuspended(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  int by_definition = present(body, "processDefinitionId") + present(body, "processDefinitionKey");
  int by_instances = present(body, "processInstanceIds") + present(body, "processInstanceQuery") +
                     present(body, "historicProcessInstanceQuery");
  if (!body || cJSON_IsNull(body))
    return rb_invalid(res, 400, "Request body is null: suspended and a selection of process instances are required");
  if (by_definition >= 1 && by_instances >= 1)
    return rb_invalid(res, 400, "Choose either a single processInstance with processDefinitionId or processDefinitionKey or a group of processInstances with processInstanceIds, procesInstanceQuery or historicProcessInstanceQuery.");
  if (by_definition > 1)
    return rb_invalid(res, 400, "Only one of processDefinitionId or processDefinitionKey should be set to update the suspension state.");
  if (by_definition == 0 && by_instances == 0)
    return rb_invalid(res, 400, "Either processDefinitionId or processDefinitionKey should be set to update the suspension state.");
  if (by_definition) return rb_instances_of_definitions_set_suspended(e, body, res);
  return rb_batch_run_now(e, &rb_batch_instance_suspension_state, 0, request, res);
}

const rb_batch_type rb_batch_instance_suspension_state = {"instance-update-suspension-state", select_instances, apply,
                                                          NULL, NULL};
