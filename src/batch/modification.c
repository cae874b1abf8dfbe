/*
 * modification.c - the instance-modification batch (POST
 * /modification/executeAsync) and its synchronous twin (POST
 * /modification/execute): one list of instructions applied to many running
 * instances of one process definition, each as src/modification.c applies
 * it to one.
 */
#include "core.h"

#include <string.h>

#define INSTANCE "processInstance"

static int add_row(rebatch_engine *e, const char *id, const char *json, int rev, void *groups) {
  (void)e; (void)json; (void)rev;
  return rb_batch_add_item(groups, "", id);
}

/* AbstractModificationCmd.collectProcessInstanceIds: the union of the
 * explicit ids and both queries' instances. */
static int collect_ids(rebatch_engine *e, const cJSON *body, cJSON *groups, rb_response *res) {
  const cJSON *ids = cJSON_GetObjectItemCaseSensitive(body, "processInstanceIds"), *id;
  const cJSON *runtime = cJSON_GetObjectItemCaseSensitive(body, "processInstanceQuery");
  const cJSON *historic = cJSON_GetObjectItemCaseSensitive(body, "historicProcessInstanceQuery");
  int rc = REBATCH_OK, has_null = 0;
  if (ids && !cJSON_IsNull(ids) && !cJSON_IsArray(ids)) return rb_invalid(res, 400, "%s", "");
  cJSON_ArrayForEach(id, ids) {
    if (!cJSON_IsString(id)) has_null = 1;
    else if ((rc = rb_batch_add_item(groups, "", id->valuestring)) != REBATCH_OK) return rc;
  }
  if (runtime && !cJSON_IsNull(runtime)) rc = rb_query_body_each(e, &rb_instance_query, runtime, add_row, groups, res);
  if (rc == REBATCH_OK && historic && !cJSON_IsNull(historic))
    rc = rb_query_body_each(e, &rb_history_query, historic, add_row, groups, res);
  if (rc != REBATCH_OK) return rc;
  if (rb_batch_item_count(groups) < 0) return REBATCH_NOMEM;
  if (cJSON_GetArraySize(groups) == 0 && !has_null)
    return rb_invalid(res, 400, "Process instance ids cannot be empty: Process instance ids is empty");
  if (has_null) return rb_invalid(res, 400, "Process instance ids cannot be null: Process instance ids contains null value");
  return REBATCH_OK;
}

static cJSON *modification_params(const char *definition_id, const cJSON *body, cJSON *instructions) {
  cJSON *p = cJSON_CreateObject();
  if (!p || !rb_put_str(p, "processDefinitionId", definition_id) || !cJSON_AddItemToObject(p, "instructions", instructions)) {
    cJSON_Delete(p);
    cJSON_Delete(instructions);
    return NULL;
  }
  if (!rb_put_bool(p, "skipCustomListeners", rb_flag(body, "skipCustomListeners")) ||
      !rb_put_bool(p, "skipIoMappings", rb_flag(body, "skipIoMappings"))) {
    cJSON_Delete(p);
    return NULL;
  }
  return p;
}

static int load_definition(rebatch_engine *e, const char *id, rb_doc *def, rb_response *res) {
  int rc = rb_definition_load(e, id, def);
  if (rc == REBATCH_OK && !def->json)
    rc = rb_invalid(res, 400, "no deployed process definition found with id '%s': processDefinition is null", id ? id : "null");
  return rc;
}

/* ModificationRestServiceImpl: the builder needs the definition id, the
 * DTOs fill it with the instructions, then ProcessInstanceModificationCmd /
 * ProcessInstanceModificationBatchCmd check instructions, ids, definition. */
static int select_modification(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                               rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const char *definition_id = rb_str(body, "processDefinitionId");
  cJSON *instructions = NULL;
  rb_doc def;
  int rc;
  (void)source;
  memset(&def, 0, sizeof def);
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "Request body is null: a modification needs processDefinitionId, instructions and process instances");
  if (!cJSON_IsObject(body)) return rb_invalid(res, 400, "%s", "");
  if (!definition_id) return rb_invalid(res, 400, "processDefinitionId is null");
  rc = rb_modification_read(body, 1, &instructions, res);
  if (rc == REBATCH_OK && cJSON_GetArraySize(instructions) == 0)
    rc = rb_invalid(res, 400, "Modification instructions cannot be empty is empty");
  if (rc == REBATCH_OK) rc = (sel->groups = cJSON_CreateArray()) ? collect_ids(e, body, sel->groups, res) : REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = load_definition(e, definition_id, &def, res);
  if (rc == REBATCH_OK && !rb_set_str(cJSON_GetArrayItem(sel->groups, 0), "deploymentId", rb_str(def.json, "deploymentId")))
    rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK && rb_str(def.json, "tenantId") && !(sel->tenant_id = rb_strdup(rb_str(def.json, "tenantId"))))
    rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) {
    sel->params = modification_params(definition_id, body, instructions);
    instructions = NULL;
    if (!sel->params) rc = REBATCH_NOMEM;
  }
  cJSON_Delete(instructions);
  rb_doc_clear(&def);
  return rc;
}

/* One instance: it must still run, on the batch's definition. Its
 * cancellations are not external (the builder's default). */
static int apply(rebatch_engine *e, const char *instance_id, const cJSON *params, rb_response *res) {
  const char *definition_id = rb_str(params, "processDefinitionId");
  rb_doc inst, def;
  int rc = rb_load(e, INSTANCE, instance_id, &inst);
  memset(&def, 0, sizeof def);
  if (rc == REBATCH_OK && !inst.json)
    rc = rb_error(res, 500, "ProcessEngineException", 0,
                  "ENGINE-13036 Process instance '%s' cannot be modified. The process instance does not exist", instance_id);
  if (rc == REBATCH_OK && !rb_str_eq(rb_str(inst.json, "processDefinitionId"), definition_id))
    rc = rb_error(res, 500, "ProcessEngineException", 0,
                  "ENGINE-13037 Process instance '%s' cannot be modified. Its process definition '%s' does not match given process definition '%s'",
                  instance_id, rb_str(inst.json, "processDefinitionId"), definition_id);
  if (rc == REBATCH_OK) rc = load_definition(e, definition_id, &def, res);
  if (rc == REBATCH_OK)
    rc = rb_modification_apply(e, &inst, def.json, cJSON_GetObjectItemCaseSensitive(params, "instructions"),
                               "INTERNALLY_TERMINATED", 1, res);
  rb_doc_clear(&inst);
  rb_doc_clear(&def);
  return rc;
}

int rb_op_executeModificationAsync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_instance_modification, 0, request, res);
}

int rb_op_executeModification(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_run_now(e, &rb_batch_instance_modification, 0, request, res);
}

const rb_batch_type rb_batch_instance_modification = {"instance-modification", select_modification, apply, NULL, NULL};
