/*
 * removal_time.c - process-set-removal-time batches
 * (POST /history/process-instance/set-removal-time), as
 * SetRemovalTimeToHistoricProcessInstancesCmd and
 * ProcessSetRemovalTimeJobHandler: an absolute, cleared or calculated
 * removal time on every record of each selected instance's history.
 */
#include "core.h"

#include <string.h>

#define HISTORIC_INSTANCE "historicProcessInstance"
#define MAX_CHUNK_SIZE 500

/* Explicit ids not in history are left out, as upstream maps them through
 * a historic query without keeping unknown ones. */
static const rb_instance_sources sources = {"historicProcessInstanceIds", NULL, "historicProcessInstanceQuery", 1, 1, 0};

static int present(const cJSON *body, const char *name) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, name);
  return m && !cJSON_IsNull(m);
}

static int bad_user(rb_response *res, const char *message) {
  return rb_error(res, 400, "BadUserRequestException", 0, "%s", message);
}

/* The mode in the order the resource calls the builder: calculated,
 * absolute, cleared; a second one is refused. */
static int read_mode(const cJSON *body, const char **mode, double *at, rb_response *res) {
  *mode = NULL;
  *at = RB_NO_DATE;
  if (rb_flag(body, "calculatedRemovalTime")) *mode = "calculated";
  if (present(body, "absoluteRemovalTime")) {
    if (*mode) return bad_user(res, "The removal time modes are mutually exclusive: mode is not null");
    /* rb_request_coerce refused one that is not a date. */
    rb_parse_date(cJSON_GetObjectItemCaseSensitive(body, "absoluteRemovalTime"), at);
    *mode = "absolute";
  }
  if (rb_flag(body, "clearedRemovalTime")) {
    if (*mode) return bad_user(res, "The removal time modes are mutually exclusive: mode is not null");
    *mode = "cleared";
  }
  return REBATCH_OK;
}

static int select_instances(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                            rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const char *mode;
  long long chunk = 0;
  double at;
  int got, rc;
  (void)source;
  if (!body || cJSON_IsNull(body))
    return rb_invalid(res, 400, "Request body is null: a removal time mode and historic process instances are required");
  if ((rc = read_mode(body, &mode, &at, res)) != REBATCH_OK) return rc;
  /* rb_request_coerce made updateChunkSize an integer, or refused it */
  got = rb_int(body, "updateChunkSize", &chunk);
  if (got > 0 && (chunk <= 0 || chunk > MAX_CHUNK_SIZE))
    return bad_user(res, "The value for chunk size should be between 1 and 500");
  if (!present(body, "historicProcessInstanceIds") && !present(body, "historicProcessInstanceQuery"))
    return bad_user(res, "Neither query nor ids provided.");
  if (!(sel->groups = cJSON_CreateArray())) return REBATCH_NOMEM;
  if ((rc = rb_select_instances(e, body, &sources, sel->groups, res)) != REBATCH_OK) return rc;
  if (!mode) return bad_user(res, "removalTime is null");
  if (cJSON_GetArraySize(sel->groups) == 0) return bad_user(res, "historicProcessInstances is empty");
  if (!(sel->params = cJSON_CreateObject()) || !rb_put_str(sel->params, "mode", mode) ||
      !(at == RB_NO_DATE ? rb_put_null(sel->params, "removalTime") : rb_put_num(sel->params, "removalTime", at)) ||
      !rb_put_bool(sel->params, "hierarchical", rb_flag(body, "hierarchical")) ||
      !rb_put_bool(sel->params, "updateInChunks", rb_flag(body, "updateInChunks")))
    return REBATCH_NOMEM;
  return REBATCH_OK;
}

/* DefaultHistoryRemovalTimeProvider under the default strategy (end): the
 * end time plus the definition's historyTimeToLive days; none for a
 * running instance or a definition without one. */
static int calculated(rebatch_engine *e, const cJSON *hist, double *at) {
  long long days;
  rb_doc def;
  int rc = rb_definition_load(e, rb_str(hist, "processDefinitionId"), &def);
  *at = RB_NO_DATE;
  if (rc == REBATCH_OK && def.json && rb_int(def.json, "historyTimeToLive", &days) == 1 && rb_date(hist, "endTime") >= 0)
    *at = rb_date(hist, "endTime") + (double)days * 86400000.0;
  rb_doc_clear(&def);
  return rc;
}

/* History that is gone meanwhile is skipped. */
static int apply(rebatch_engine *e, const char *instance_id, const cJSON *params, rb_response *res) {
  const char *mode = rb_str(params, "mode");
  double at = rb_date(params, "removalTime");
  rb_doc hist;
  int rc = rb_load(e, HISTORIC_INSTANCE, instance_id, &hist);
  (void)res;
  if (rc == REBATCH_OK && hist.json && mode && strcmp(mode, "calculated") == 0) rc = calculated(e, hist.json, &at);
  if (rc == REBATCH_OK && hist.json) rc = rb_history_set_removal_time(e, &hist, at);
  rb_doc_clear(&hist);
  return rc;
}

/* updateInChunks: one instance per execution job, as upstream's
 * calculateInvocationsPerBatchJob. */
static int invocations(rebatch_engine *e, const cJSON *params) {
  return rb_flag(params, "updateInChunks") ? 1 : rb_batch_invocations(e, "process-set-removal-time");
}

int rb_op_setRemovalTimeAsync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_process_set_removal_time, 0, request, res);
}

const rb_batch_type rb_batch_process_set_removal_time = {"process-set-removal-time", select_instances, apply,
                                                         invocations, NULL};
