/*
 * batch_removal_time.c - batch-set-removal-time batches
 * (POST /history/batch/set-removal-time), as SetRemovalTimeToHistoricBatchesCmd
 * and BatchSetRemovalTimeJobHandler: an absolute or cleared removal time
 * on historic batches (calculated: none, rebatch has no
 * batchOperationHistoryTimeToLive).
 */
#include "core.h"

#include <string.h>

#define HISTORIC_BATCH "historicBatch"

static int present(const cJSON *body, const char *name) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, name);
  return m && !cJSON_IsNull(m);
}

static int bad_user(rb_response *res, const char *message) {
  return rb_error(res, 400, "BadUserRequestException", 0, "%s", message);
}

static int add_batch(rebatch_engine *e, const char *id, const char *json, int rev, void *groups) {
  (void)e; (void)json; (void)rev;
  return rb_batch_add_item(groups, NULL, id);
}

static int select_batches(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                          rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const cJSON *ids = cJSON_GetObjectItemCaseSensitive(body, "historicBatchIds"), *id;
  const cJSON *listed = cJSON_IsArray(ids) ? ids : NULL;
  const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, "historicBatchQuery");
  const char *mode = NULL;
  double at = RB_NO_DATE;
  int rc = REBATCH_OK;
  (void)source;
  if (!body || cJSON_IsNull(body))
    return rb_invalid(res, 400, "Request body is null: a removal time mode and historic batches are required");
  if (rb_flag(body, "calculatedRemovalTime")) mode = "calculated";
  if (present(body, "absoluteRemovalTime")) {
    if (mode) return bad_user(res, "The removal time modes are mutually exclusive: mode is not null");
    /* rb_request_coerce refused one that is not a date. */
    rb_parse_date(cJSON_GetObjectItemCaseSensitive(body, "absoluteRemovalTime"), &at);
    mode = "absolute";
  }
  if (rb_flag(body, "clearedRemovalTime")) {
    if (mode) return bad_user(res, "The removal time modes are mutually exclusive: mode is not null");
    mode = "cleared";
  }
  if (!present(body, "historicBatchIds") && !present(body, "historicBatchQuery"))
    return bad_user(res, "Neither query nor ids provided.");
  if (!(sel->groups = cJSON_CreateArray())) return REBATCH_NOMEM;
  if (present(body, "historicBatchQuery")) rc = rb_query_body_each(e, &rb_historic_batch_query, q, add_batch, sel->groups, res);
  cJSON_ArrayForEach(id, listed) {
    char *text = NULL;
    int rev;
    if (rc != REBATCH_OK) break;
    if (!cJSON_IsString(id)) continue;
    rc = rb_load_text(e, HISTORIC_BATCH, id->valuestring, &text, &rev);
    if (rc == REBATCH_OK && text) rc = rb_batch_add_item(sel->groups, NULL, id->valuestring);
    rb_free(text);
  }
  if (rc == REBATCH_OK && rb_batch_item_count(sel->groups) < 0) rc = REBATCH_NOMEM;
  if (rc != REBATCH_OK) return rc;
  if (!mode) return bad_user(res, "removalTime is null");
  if (cJSON_GetArraySize(sel->groups) == 0) return bad_user(res, "historicBatches is empty");
  if (!(sel->params = cJSON_CreateObject()) || !rb_put_str(sel->params, "mode", mode) ||
      !(at == RB_NO_DATE ? rb_put_null(sel->params, "removalTime") : rb_put_num(sel->params, "removalTime", at)))
    return REBATCH_NOMEM;
  return REBATCH_OK;
}

static int apply(rebatch_engine *e, const char *batch_id, const cJSON *params, rb_response *res) {
  (void)res;
  return rb_historic_batch_set_removal_time(e, batch_id, rb_date(params, "removalTime"));
}

int rb_op_setBatchRemovalTimeAsync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_batch_set_removal_time, 0, request, res);
}

const rb_batch_type rb_batch_batch_set_removal_time = {"batch-set-removal-time", select_batches, apply, NULL, NULL};
