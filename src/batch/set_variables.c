/*
 * set_variables.c - set-variables batches (POST /process-instance/variables-async),
 * as SetVariablesToProcessInstancesBatchCmd and BatchSetVariablesHandler:
 * the same typed variables set on every selected running instance, with
 * their history.
 */
#include "core.h"

#include <string.h>

/* Explicit ids that are not running instances are left out, and the
 * historic query selects unfinished instances only, as upstream. */
static const rb_instance_sources sources = {"processInstanceIds", "processInstanceQuery",
                                            "historicProcessInstanceQuery", 0, 1, 1};

static int present(const cJSON *body, const char *name) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, name);
  return m && !cJSON_IsNull(m);
}

static int select_instances(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                            rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  cJSON *variables = NULL;
  int rc;
  (void)source;
  if (!body || cJSON_IsNull(body))
    return rb_invalid(res, 400, "Request body is null: variables and a selection of process instances are required");
  rc = rb_variables_parse(cJSON_GetObjectItemCaseSensitive(body, "variables"), "Cannot set variables: ", &variables, res);
  if (rc == REBATCH_OK && !present(body, "variables")) rc = rb_invalid(res, 400, "variables is null");
  if (rc == REBATCH_OK && !variables->child)
    rc = rb_error(res, 400, "BadUserRequestException", 0, "variables is empty");
  if (rc == REBATCH_OK && !present(body, "processInstanceIds") && !present(body, "processInstanceQuery") &&
      !present(body, "historicProcessInstanceQuery"))
    rc = rb_invalid(res, 400, "No process instances found.");
  if (rc == REBATCH_OK) rc = (sel->groups = cJSON_CreateArray()) ? rb_select_instances(e, body, &sources, sel->groups, res)
                                                                 : REBATCH_NOMEM;
  if (rc == REBATCH_OK && cJSON_GetArraySize(sel->groups) == 0)
    rc = rb_error(res, 400, "BadUserRequestException", 0, "processInstanceIds is empty");
  if (rc == REBATCH_OK && (!(sel->params = cJSON_CreateObject()) || !cJSON_AddItemToObject(sel->params, "variables", variables)))
    rc = REBATCH_NOMEM;
  else if (rc == REBATCH_OK)
    variables = NULL;
  cJSON_Delete(variables);
  return rc;
}

/* An instance that ended meanwhile is skipped (failIfNotExists false). */
static int apply(rebatch_engine *e, const char *instance_id, const cJSON *params, rb_response *res) {
  (void)res;
  return rb_instance_set_variables(e, instance_id, cJSON_GetObjectItemCaseSensitive(params, "variables"));
}

int rb_op_setVariablesAsync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_set_variables, 0, request, res);
}

const rb_batch_type rb_batch_set_variables = {"set-variables", select_instances, apply, NULL, NULL};
