/*
 * migration.c - the instance-migration batch (POST
 * /migration/executeAsync) and its synchronous twin (POST
 * /migration/execute): a validated plan applied to each selected instance,
 * as MigrateProcessInstanceBatchCmd / MigrateProcessInstanceCmd.
 */
#include "core.h"

#include <string.h>

static int add_row(rebatch_engine *e, const char *id, const char *json, int rev, void *groups) {
  (void)e; (void)json; (void)rev;
  return rb_batch_add_item(groups, "", id);
}

/* AbstractMigrationCmd.collectProcessInstanceIds: explicit ids and the
 * runtime query's; then upstream's empty / null checks. */
static int collect_ids(rebatch_engine *e, const cJSON *body, cJSON *groups, rb_response *res) {
  const cJSON *ids = cJSON_GetObjectItemCaseSensitive(body, "processInstanceIds"), *id;
  const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, "processInstanceQuery");
  int rc = REBATCH_OK, has_null = 0;
  if (ids && !cJSON_IsNull(ids) && !cJSON_IsArray(ids)) return rb_invalid(res, 400, "%s", "");
  cJSON_ArrayForEach(id, ids) {
    if (!cJSON_IsString(id)) has_null = 1;
    else if ((rc = rb_batch_add_item(groups, "", id->valuestring)) != REBATCH_OK) return rc;
  }
  if (q && !cJSON_IsNull(q)) rc = rb_query_body_each(e, &rb_instance_query, q, add_row, groups, res);
  if (rc != REBATCH_OK) return rc;
  if (rb_batch_item_count(groups) < 0) return REBATCH_NOMEM;
  if (cJSON_GetArraySize(groups) == 0 && !has_null)
    return rb_error(res, 400, "BadUserRequestException", 0, "Process instance ids cannot empty: process instance ids is empty");
  if (has_null)
    return rb_error(res, 400, "BadUserRequestException", 0, "Process instance ids cannot be null: process instance ids contains null value");
  return REBATCH_OK;
}

/* The batch's jobs carry the source definition's deployment, its tenant
 * is the source definition's. */
static int source_of(rebatch_engine *e, const cJSON *plan, rb_batch_selection *sel) {
  rb_doc def;
  int rc = rb_definition_load(e, rb_str(plan, "sourceProcessDefinitionId"), &def);
  if (rc == REBATCH_OK && !rb_set_str(cJSON_GetArrayItem(sel->groups, 0), "deploymentId", rb_str(def.json, "deploymentId")))
    rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK && rb_str(def.json, "tenantId") && !(sel->tenant_id = rb_strdup(rb_str(def.json, "tenantId"))))
    rc = REBATCH_NOMEM;
  rb_doc_clear(&def);
  return rc;
}

static int select_migration(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                            rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const cJSON *dto = cJSON_GetObjectItemCaseSensitive(body, "migrationPlan");
  cJSON *plan = NULL;
  int rc;
  (void)source;
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "Request body is null: a migration needs a migrationPlan and process instances");
  if (!cJSON_IsObject(body)) return rb_invalid(res, 400, "%s", "");
  if (!dto || cJSON_IsNull(dto)) return rb_invalid(res, 400, "Migration plan cannot be null: migration plan is null");
  rc = rb_migration_plan_read(e, dto, &plan, res);
  if (rc == REBATCH_OK) rc = (sel->groups = cJSON_CreateArray()) ? collect_ids(e, body, sel->groups, res) : REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = source_of(e, plan, sel);
  if (rc == REBATCH_OK && !(sel->params = cJSON_CreateObject())) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK && (!rb_put_bool(sel->params, "skipCustomListeners", rb_flag(body, "skipCustomListeners")) ||
                           !rb_put_bool(sel->params, "skipIoMappings", rb_flag(body, "skipIoMappings"))))
    rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) {
    rc = rb_take(sel->params, "plan", plan) ? REBATCH_OK : REBATCH_NOMEM;
    plan = NULL;
  }
  cJSON_Delete(plan);
  return rc;
}

static int apply(rebatch_engine *e, const char *instance_id, const cJSON *params, rb_response *res) {
  return rb_migration_migrate(e, instance_id, cJSON_GetObjectItemCaseSensitive(params, "plan"), res);
}

int rb_op_executeMigrationPlan(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_run_now(e, &rb_batch_instance_migration, 0, request, res);
}

int rb_op_executeMigrationPlanAsync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_instance_migration, 0, request, res);
}

const rb_batch_type rb_batch_instance_migration = {"instance-migration", select_migration, apply, NULL, NULL};
