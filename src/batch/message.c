/*
 * message.c - the correlate-message batch (POST
 * /process-instance/message-async): a message correlated to every waiting
 * token of each selected instance, as upstream's
 * MessageCorrelationBatchJobHandler (executions only, all of them).
 */
#include "core.h"

#include <string.h>

#define INSTANCE "processInstance"

/* An instance's deployment: the runtime record's, else its definition's
 * (a historic query may select instances that have ended). */
static int add_instance(rebatch_engine *e, const char *id, const char *definition_id, const char *deployment,
                        cJSON *groups) {
  rb_doc def;
  int rc = REBATCH_OK;
  memset(&def, 0, sizeof def);
  if (!deployment && definition_id) {
    rc = rb_definition_load(e, definition_id, &def);
    deployment = rb_str(def.json, "deploymentId");
  }
  if (rc == REBATCH_OK) rc = rb_batch_add_item(groups, deployment ? deployment : "", id);
  rb_doc_clear(&def);
  return rc;
}

static int add_row(rebatch_engine *e, const char *id, const char *json, int rev, void *groups) {
  cJSON *row;
  int rc = rb_parse_record(e, json, &row);
  (void)rev;
  if (rc != REBATCH_OK) return rc;
  rc = add_instance(e, id, rb_str(row, "processDefinitionId"), rb_str(row, "deploymentId"), groups);
  cJSON_Delete(row);
  return rc;
}

/* Explicit ids of running instances go by their deployment, the others
 * in the unknown deployment's group (CorrelateAllMessageBatchCmd hands its
 * BatchElementConfiguration the id list next to the query's mappings);
 * their execution then finds nothing to correlate to. */
static int add_ids(rebatch_engine *e, const cJSON *ids, cJSON *groups) {
  const cJSON *id;
  cJSON_ArrayForEach(id, ids) {
    char *text = NULL;
    int rev, rc;
    if (!cJSON_IsString(id)) continue;
    rc = rb_load_text(e, INSTANCE, id->valuestring, &text, &rev);
    if (rc == REBATCH_OK) rc = text ? add_row(e, id->valuestring, text, rev, groups) : rb_batch_add_item(groups, "", id->valuestring);
    rb_free(text);
    if (rc != REBATCH_OK) return rc;
  }
  return REBATCH_OK;
}

static int present(const cJSON *v) { return v && !cJSON_IsNull(v); }

static int collect(rebatch_engine *e, const cJSON *body, cJSON *groups, rb_response *res) {
  const cJSON *ids = cJSON_GetObjectItemCaseSensitive(body, "processInstanceIds");
  const cJSON *runtime = cJSON_GetObjectItemCaseSensitive(body, "processInstanceQuery");
  const cJSON *historic = cJSON_GetObjectItemCaseSensitive(body, "historicProcessInstanceQuery");
  int rc = REBATCH_OK;
  if (!present(ids) && !present(runtime) && !present(historic)) return rb_invalid(res, 400, "No process instances found.");
  if (present(ids) && !cJSON_IsArray(ids)) return rb_invalid(res, 400, "%s", "");
  if (present(ids)) rc = add_ids(e, ids, groups);
  if (rc == REBATCH_OK && present(runtime)) rc = rb_query_body_each(e, &rb_instance_query, runtime, add_row, groups, res);
  if (rc == REBATCH_OK && present(historic)) rc = rb_query_body_each(e, &rb_history_query, historic, add_row, groups, res);
  if (rc == REBATCH_OK && rb_batch_item_count(groups) < 0) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK && cJSON_GetArraySize(groups) == 0)
    rc = rb_error(res, 400, "BadUserRequestException", 0, "Process instance ids cannot be empty: process instance ids is empty");
  return rc;
}

static int select_instances(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                            rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  cJSON *vars = NULL;
  int rc;
  (void)source;
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "Request body is null: message-async needs process instances");
  if (!cJSON_IsObject(body)) return rb_invalid(res, 400, "%s", "");
  rc = rb_variables_parse(cJSON_GetObjectItemCaseSensitive(body, "variables"), "Cannot set variables: ", &vars, res);
  if (rc == REBATCH_OK) rc = (sel->groups = cJSON_CreateArray()) ? collect(e, body, sel->groups, res) : REBATCH_NOMEM;
  if (rc == REBATCH_OK && !(sel->params = cJSON_CreateObject())) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK && !rb_put_str(sel->params, "messageName", rb_str(body, "messageName"))) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) {
    rc = rb_take(sel->params, "variables", vars) ? REBATCH_OK : REBATCH_NOMEM;
    vars = NULL;
  }
  cJSON_Delete(vars);
  return rc;
}

static int apply(rebatch_engine *e, const char *instance_id, const cJSON *params, rb_response *res) {
  const cJSON *vars = cJSON_GetObjectItemCaseSensitive(params, "variables");
  rb_correlation c;
  memset(&c, 0, sizeof c);
  c.message_name = rb_str(params, "messageName");
  c.process_instance_id = instance_id;
  c.variables = vars && vars->child ? vars : NULL;
  c.all = 1;
  c.executions_only = 1;
  return rb_correlate(e, &c, NULL, res);
}

int rb_op_correlateMessageAsync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_correlate_message, 0, request, res);
}

const rb_batch_type rb_batch_correlate_message = {"correlate-message", select_instances, apply, NULL, NULL};
