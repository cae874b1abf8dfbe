/*
 * select.c - what every batch type selects its items with: query DTOs
 * taken from request bodies, and the process instances a request names
 * (explicit ids, a runtime query, a historic query).
 */
#include "core.h"

#include <stdio.h>
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
  if (!request || !rb_add_reference(request, "body", q)) {
    cJSON_Delete(request);
    return REBATCH_NOMEM;
  }
  rc = rb_query_each(e, query, request, visit, ctx, res);
  cJSON_Delete(request);
  return rc;
}

/* Checks a query DTO from a request body as its resource's query does
 * (rb_query_check) without running it: the REST layer converts a batch
 * body's queries (toQuery) before the command checks anything else. */
int rb_query_body_check(const rb_query *query, const cJSON *q, rb_response *res) {
  cJSON *request;
  int rc;
  if (!cJSON_IsObject(q)) return rb_invalid(res, 400, "The query must be a JSON object");
  request = cJSON_CreateObject();
  if (!request || !rb_add_reference(request, "body", q)) {
    cJSON_Delete(request);
    return REBATCH_NOMEM;
  }
  rc = rb_query_check(query, request, res);
  cJSON_Delete(request);
  return rc;
}

/* The instances a query DTO selects (an empty processInstanceIds set is
 * refused by the query, as any query's). */
int rb_each_instance(rebatch_engine *e, const rb_query *query, const cJSON *q,
                     rb_row_visit visit, void *ctx, rb_response *res) {
  return rb_query_body_each(e, query, q, visit, ctx, res);
}

int rb_select_instance_ids(rebatch_engine *e, const rb_query *query, const cJSON *q,
                           cJSON *ids_out, rb_response *res) {
  return rb_each_instance(e, query, q, append_id, ids_out, res);
}

/* ---- instances by deployment ------------------------------------------------ */

/* Grouping instances by deployment: a runtime instance names its own; a
 * historic one its definition, whose deployment is remembered for the runs
 * of instances of one definition. */
typedef struct instance_collector {
  cJSON *groups;
  rb_deployment_memo deployments;
} instance_collector;

int rb_batch_add_by_definition(rebatch_engine *e, rb_deployment_memo *memo, cJSON *groups,
                               const char *definition, const char *id) {
  int rc = REBATCH_OK;
  if (definition && !(memo->known && strcmp(definition, memo->definition_id) == 0)) {
    rb_doc def;
    rc = rb_definition_load(e, definition, &def);
    memo->known = rc == REBATCH_OK && def.json && strlen(definition) < sizeof memo->definition_id;
    if (memo->known) {
      snprintf(memo->definition_id, sizeof memo->definition_id, "%s", definition);
      snprintf(memo->deployment_id, sizeof memo->deployment_id, "%s",
               rb_str(def.json, "deploymentId") ? rb_str(def.json, "deploymentId") : "");
    }
    rb_doc_clear(&def);
  }
  if (rc != REBATCH_OK) return rc;
  return rb_batch_add_item(groups, definition && memo->known && memo->deployment_id[0] ? memo->deployment_id : NULL, id);
}

/* A row's member, read off its text; parsed only when the walk cannot tell. */
static int row_member(rebatch_engine *e, const char *json, const char *key, char *buf, size_t cap, int *got) {
  cJSON *row;
  int rc;
  if ((*got = rb_text_str(json, key, buf, cap)) >= 0) return REBATCH_OK;
  rc = rb_parse_record(e, json, &row);
  if (rc != REBATCH_OK) return rc;
  *got = rb_str(row, key) && strlen(rb_str(row, key)) < cap;
  if (*got) snprintf(buf, cap, "%s", rb_str(row, key));
  cJSON_Delete(row);
  return REBATCH_OK;
}

static int add_running_row(rebatch_engine *e, const char *id, const char *json, int rev, void *c) {
  char deployment[REBATCH_ID_MAX + 1];
  int got, rc = row_member(e, json, "deploymentId", deployment, sizeof deployment, &got);
  (void)rev;
  if (rc != REBATCH_OK) return rc;
  return rb_batch_add_item(((instance_collector *)c)->groups, got ? deployment : NULL, id);
}

static int add_historic_row(rebatch_engine *e, const char *id, const char *json, int rev, void *c) {
  char definition[sizeof ((rb_deployment_memo *)0)->definition_id];
  int got, rc = row_member(e, json, "processDefinitionId", definition, sizeof definition, &got);
  (void)rev;
  if (rc != REBATCH_OK) return rc;
  return rb_batch_add_by_definition(e, &((instance_collector *)c)->deployments, ((instance_collector *)c)->groups,
                                    got ? definition : NULL, id);
}

/* Explicit ids are looked up among `collection`'s records; ids that are not
 * there go to the unknown deployment's group, as upstream's
 * BatchElementConfiguration keeps them (their items then fail or are
 * skipped), unless `known_only`. null entries are left out. */
static int add_explicit(rebatch_engine *e, const cJSON *ids, const char *collection, rb_row_visit add,
                        int known_only, instance_collector *c) {
  const cJSON *id;
  cJSON_ArrayForEach(id, ids) {
    char *text = NULL;
    int rev, rc;
    if (!cJSON_IsString(id)) continue;
    rc = rb_load_text(e, collection, id->valuestring, &text, &rev);
    if (rc == REBATCH_OK && text) rc = add(e, id->valuestring, text, rev, c);
    else if (rc == REBATCH_OK && !known_only) rc = rb_batch_add_item(c->groups, NULL, id->valuestring);
    rb_free(text);
    if (rc != REBATCH_OK) return rc;
  }
  return REBATCH_OK;
}

static const cJSON *member(const cJSON *body, const char *name) {
  const cJSON *m = name ? cJSON_GetObjectItemCaseSensitive(body, name) : NULL;
  return m && !cJSON_IsNull(m) ? m : NULL;
}

int rb_select_instances(rebatch_engine *e, const cJSON *body, const rb_instance_sources *from, cJSON *groups,
                        rb_response *res) {
  const cJSON *ids = member(body, from->ids), *runtime = member(body, from->runtime);
  const cJSON *historic = member(body, from->historic);
  instance_collector c;
  int rc = REBATCH_OK;
  memset(&c, 0, sizeof c);
  c.groups = groups;
  if (ids && !cJSON_IsArray(ids)) return rb_invalid(res, 400, "%s must be an array", from->ids);
  if (ids && from->historic_ids)
    rc = add_explicit(e, ids, "historicProcessInstance", add_historic_row, from->known_only, &c);
  else if (ids)
    rc = add_explicit(e, ids, "processInstance", add_running_row, from->known_only, &c);
  if (rc == REBATCH_OK && runtime) rc = rb_each_instance(e, &rb_instance_query, runtime, add_running_row, &c, res);
  if (rc == REBATCH_OK && historic && from->unfinished_only && cJSON_IsObject(historic)) {
    cJSON *unfinished = cJSON_Duplicate(historic, 1);
    rc = unfinished && rb_set_bool(unfinished, "unfinished", 1) ? REBATCH_OK : REBATCH_NOMEM;
    if (rc == REBATCH_OK) rc = rb_each_instance(e, &rb_history_query, unfinished, add_historic_row, &c, res);
    cJSON_Delete(unfinished);
  } else if (rc == REBATCH_OK && historic) {
    rc = rb_each_instance(e, &rb_history_query, historic, add_historic_row, &c, res);
  }
  if (rc == REBATCH_OK && rb_batch_item_count(groups) < 0) rc = REBATCH_NOMEM;
  return rc;
}
