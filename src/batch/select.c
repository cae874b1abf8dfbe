/*
 * select.c - what every batch type selects its items with: query DTOs
 * taken from request bodies, and the process instances a request names
 * (explicit ids, a runtime query, a historic query).
 */
#include "core.h"

#include <string.h>

static int append_id(rebatch_engine *e, const char *row_id, const char *json, int rev, void *ids) {
  cJSON *id = cJSON_CreateString(row_id);
  (void)e; (void)json; (void)rev;
  if (!id || !cJSON_AddItemToArray(ids, id)) {
    cJSON_Delete(id);
    return REBATCH_NOMEM;
  }
  return REBATCH_OK;
}

/* Runs a query DTO from a request body as that resource's query. */
int rb_query_body_each(rebatch_engine *e, const rb_query *query, const cJSON *q,
                       rb_row_visit visit, void *ctx, rb_response *res) {
  cJSON *request;
  int rc;
  if (!cJSON_IsObject(q)) return rb_invalid(res, 400, "The query must be a JSON object");
  request = cJSON_CreateObject();
  if (!request || !cJSON_AddItemReferenceToObject(request, "body", (cJSON *)q)) {
    cJSON_Delete(request);
    return REBATCH_NOMEM;
  }
  rc = rb_query_each(e, query, request, visit, ctx, res);
  cJSON_Delete(request);
  return rc;
}

/* The instances a query DTO selects. An explicitly empty
 * processInstanceIds set is Camunda's "Set of process instance ids is
 * empty". */
int rb_each_instance(rebatch_engine *e, const rb_query *query, const cJSON *q,
                     rb_row_visit visit, void *ctx, rb_response *res) {
  const cJSON *explicit_ids = cJSON_GetObjectItemCaseSensitive(q, "processInstanceIds");
  if (cJSON_IsArray(explicit_ids) && cJSON_GetArraySize(explicit_ids) == 0)
    return rb_error(res, 500, "ProcessEngineException", 0, "Set of process instance ids is empty");
  return rb_query_body_each(e, query, q, visit, ctx, res);
}

int rb_select_instance_ids(rebatch_engine *e, const rb_query *query, const cJSON *q,
                           cJSON *ids_out, rb_response *res) {
  return rb_each_instance(e, query, q, append_id, ids_out, res);
}
