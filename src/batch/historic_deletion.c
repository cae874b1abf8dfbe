/*
 * historic_deletion.c - historic-instance-deletion batches
 * (POST /history/process-instance/delete) and the synchronous
 * DELETE /history/process-instance/{id}, as DeleteHistoricProcessInstances-
 * BatchCmd and DeleteHistoricProcessInstancesCmd: a finished instance's
 * whole history goes.
 */
#include "core.h"

#include <string.h>

static const rb_instance_sources sources = {"historicProcessInstanceIds", NULL, "historicProcessInstanceQuery", 1, 0, 0};

static int select_instances(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                            rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  int rc;
  (void)source;
  if (!body || cJSON_IsNull(body))
    return rb_invalid(res, 400, "Request body is null: historicProcessInstanceIds or a historicProcessInstanceQuery is required");
  if (!(sel->groups = cJSON_CreateArray())) return REBATCH_NOMEM;
  if ((rc = rb_select_instances(e, body, &sources, sel->groups, res)) != REBATCH_OK) return rc;
  if (cJSON_GetArraySize(sel->groups) == 0) return rb_invalid(res, 400, "historicProcessInstanceIds is empty");
  /* Upstream's batch runs with failIfNotExists false whatever the body
   * says; deleteReason only goes to its operation log. */
  return (sel->params = cJSON_CreateObject()) ? REBATCH_OK : REBATCH_NOMEM;
}

static int still_running(rb_response *res, const char *id) {
  return rb_error(res, 400, "BadUserRequestException", 0,
                  "Process instance is still running, cannot delete historic process instance: HistoricProcessInstanceEntity[id=%s]: instance.getEndTime() is null",
                  id);
}

/* History already gone is skipped; a running instance fails the job. */
static int apply(rebatch_engine *e, const char *instance_id, const cJSON *params, rb_response *res) {
  rb_history_deletion outcome;
  int rc = rb_history_instance_delete(e, instance_id, &outcome);
  (void)params;
  if (rc == REBATCH_OK && outcome == RB_HISTORY_RUNNING) return still_running(res, instance_id);
  return rc;
}

int rb_op_deleteHistoricProcessInstancesAsync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_historic_instance_deletion, 0, request, res);
}

/* The resource turns every engine failure into one 404. */
int rb_op_deleteHistoricProcessInstance(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id");
  const char *fail = rb_str(cJSON_GetObjectItemCaseSensitive(request, "query"), "failIfNotExists");
  rb_history_deletion outcome;
  int rc = rb_history_instance_delete(e, id, &outcome);
  if (rc != REBATCH_OK) return rc;
  if (outcome == RB_HISTORY_RUNNING || (outcome == RB_HISTORY_NOT_FOUND && !(fail && strcmp(fail, "false") == 0)))
    return rb_error(res, 404, "InvalidRequestException", 0, "Historic process instance with id %s does not exist", id ? id : "null");
  return rb_ok(res, 204, NULL);
}

const rb_batch_type rb_batch_historic_instance_deletion = {"historic-instance-deletion", select_instances, apply, NULL,
                                                           NULL};
