/*
 * instance_deletion.c - instance-deletion batches (POST /process-instance/delete
 * and .../delete-historic-query-based): running instances deleted as
 * DeleteProcessInstanceBatchCmd and its job handler do.
 */
#include "core.h"

#include <string.h>

enum { BY_RUNTIME_QUERY, BY_HISTORIC_QUERY };

/* Each endpoint reads one of the two queries of the DTO and ignores the
 * other, as upstream's resource does. */
static const rb_instance_sources sources[] = {
    {"processInstanceIds", "processInstanceQuery", NULL, 0, 0, 0},
    {"processInstanceIds", NULL, "historicProcessInstanceQuery", 0, 0, 0},
};

static int select_instances(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                            rb_response *res) {
  static const char *const flags[] = {"skipCustomListeners", "skipSubprocesses", "skipIoMappings", NULL};
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const cJSON *reason = cJSON_GetObjectItemCaseSensitive(body, "deleteReason");
  int rc;
  if (!body || cJSON_IsNull(body))
    return rb_invalid(res, 400, "Request body is null: processInstanceIds or a query is required");
  if (reason && !cJSON_IsNull(reason) && !cJSON_IsString(reason))
    return rb_invalid(res, 400, "deleteReason must be a string");
  if (!(sel->groups = cJSON_CreateArray())) return REBATCH_NOMEM;
  if ((rc = rb_select_instances(e, body, &sources[source & 1], sel->groups, res)) != REBATCH_OK) return rc;
  if (cJSON_GetArraySize(sel->groups) == 0) return rb_invalid(res, 400, "processInstanceIds is empty");
  /* The batch's deletions skip instances that are gone (failIfNotExists
   * false in upstream's batch configuration). */
  if (!(sel->params = cJSON_CreateObject()) || !rb_put_str(sel->params, "deleteReason", rb_str(body, "deleteReason")))
    return REBATCH_NOMEM;
  for (int i = 0; flags[i]; i++)
    if (!rb_put_bool(sel->params, flags[i], rb_flag(body, flags[i]))) return REBATCH_NOMEM;
  return REBATCH_OK;
}

static int apply(rebatch_engine *e, const char *instance_id, const cJSON *params, rb_response *res) {
  int found;
  (void)res;
  return rb_instance_delete(e, instance_id, rb_str(params, "deleteReason"), &found);
}

int rb_op_deleteProcessInstancesAsync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_instance_deletion, BY_RUNTIME_QUERY, request, res);
}

int rb_op_deleteProcessInstancesAsyncHistoricQueryBased(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_instance_deletion, BY_HISTORIC_QUERY, request, res);
}

const rb_batch_type rb_batch_instance_deletion = {"instance-deletion", select_instances, apply, NULL, NULL};
