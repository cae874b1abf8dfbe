/*
 * activity_tree.c - a running instance's activity instance tree, as
 * Camunda's GET /process-instance/{id}/activity-instances answers it.
 *
 * rebatch's process instances have one scope (no sub processes), so the
 * tree has two levels: the process instance itself (activityType
 * "processDefinition"), and under it one node per token. A token resting in
 * an activity (wait state, join) is an activity instance; a token waiting
 * on an async-before or async-after job is a transition instance, whose id
 * is its execution id, as in Camunda. Incidents hang on the node of the
 * execution they were raised for.
 */
#include "core.h"

#include <string.h>

/* The incidents of one execution: their ids and {id, activityId} pairs. */
static int add_incidents(cJSON *node, const rb_docs *incidents, const char *execution_id) {
  cJSON *ids = cJSON_AddArrayToObject(node, "incidentIds");
  cJSON *list = cJSON_AddArrayToObject(node, "incidents");
  if (!ids || !list) return REBATCH_NOMEM;
  for (int i = 0; execution_id && i < incidents->count; i++) {
    const cJSON *r = incidents->items[i].json;
    const char *exec = rb_str(r, "executionId");
    cJSON *pair;
    if (!exec || strcmp(exec, execution_id) != 0) continue;
    if (!(pair = cJSON_CreateObject()) || !cJSON_AddItemToArray(list, pair)) {
      cJSON_Delete(pair);
      return REBATCH_NOMEM;
    }
    if (!cJSON_AddItemToArray(ids, cJSON_CreateString(incidents->items[i].id)) ||
        !rb_put_str(pair, "id", incidents->items[i].id) || !rb_put_str(pair, "activityId", rb_str(r, "activityId")))
      return REBATCH_NOMEM;
  }
  return REBATCH_OK;
}

static cJSON *execution_ids(const char *id) {
  cJSON *ids = cJSON_CreateArray();
  if (ids && !cJSON_AddItemToArray(ids, cJSON_CreateString(id))) {
    cJSON_Delete(ids);
    return NULL;
  }
  return ids;
}

/* An ActivityInstanceDto in Camunda's field order ("name" is the
 * deprecated twin of activityName that Camunda still writes). Children
 * arrays start empty. */
static cJSON *activity_node(const cJSON *inst, const char *id, const char *parent,
                            const char *activity_id, const char *type, const char *name,
                            const char *execution_id, const rb_docs *incidents) {
  cJSON *n = cJSON_CreateObject();
  if (!n) return NULL;
  rb_put_str(n, "id", id);
  rb_put_str(n, "parentActivityInstanceId", parent);
  rb_put_str(n, "activityId", activity_id);
  rb_put_str(n, "activityType", type);
  rb_put_str(n, "processInstanceId", rb_str(inst, "id"));
  rb_put_str(n, "processDefinitionId", rb_str(inst, "processDefinitionId"));
  cJSON_AddArrayToObject(n, "childActivityInstances");
  cJSON_AddArrayToObject(n, "childTransitionInstances");
  rb_take(n, "executionIds", execution_ids(execution_id));
  rb_put_str(n, "activityName", name);
  if (add_incidents(n, incidents, parent ? execution_id : NULL) != REBATCH_OK ||
      !rb_put_str(n, "name", name)) {
    cJSON_Delete(n);
    return NULL;
  }
  return n;
}

/* A TransitionInstanceDto ("targetActivityId" is the deprecated twin of
 * activityId that Camunda still writes). */
static cJSON *transition_node(const cJSON *inst, const cJSON *token, const cJSON *activity,
                              const rb_docs *incidents) {
  const char *execution_id = rb_str(token, "id");
  cJSON *n = cJSON_CreateObject();
  if (!n) return NULL;
  rb_put_str(n, "id", execution_id);
  rb_put_str(n, "parentActivityInstanceId", rb_str(inst, "id"));
  rb_put_str(n, "processInstanceId", rb_str(inst, "id"));
  rb_put_str(n, "processDefinitionId", rb_str(inst, "processDefinitionId"));
  rb_put_str(n, "activityId", rb_str(token, "activityId"));
  rb_put_str(n, "activityName", rb_str(activity, "name"));
  rb_put_str(n, "activityType", activity ? rb_activity_type(activity) : NULL);
  rb_put_str(n, "executionId", execution_id);
  if (add_incidents(n, incidents, execution_id) != REBATCH_OK ||
      !rb_put_str(n, "targetActivityId", rb_str(token, "activityId"))) {
    cJSON_Delete(n);
    return NULL;
  }
  return n;
}

static int is_transition(const cJSON *token) {
  const char *state = rb_str(token, "state");
  return state && (strcmp(state, "asyncBefore") == 0 || strcmp(state, "asyncAfter") == 0);
}

static int add_child(cJSON *root, const cJSON *inst, const cJSON *def, const cJSON *token,
                     const rb_docs *incidents) {
  const cJSON *activity = rb_model_activity(def, rb_str(token, "activityId"));
  const char *aiid = rb_str(token, "activityInstanceId");
  cJSON *node;
  const char *list = "childActivityInstances";
  if (is_transition(token)) {
    node = transition_node(inst, token, activity, incidents);
    list = "childTransitionInstances";
  } else if (aiid) {
    node = activity_node(inst, aiid, rb_str(inst, "id"), rb_str(token, "activityId"),
                         activity ? rb_activity_type(activity) : NULL, rb_str(activity, "name"),
                         rb_str(token, "id"), incidents);
  } else {
    return REBATCH_OK; /* a token between activities does not rest */
  }
  if (!node) return REBATCH_NOMEM;
  if (!cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(root, list), node)) {
    cJSON_Delete(node);
    return REBATCH_NOMEM;
  }
  return REBATCH_OK;
}

static int build_tree(rebatch_engine *e, const cJSON *inst, const cJSON *def, cJSON **out) {
  const char *id = rb_str(inst, "id");
  const cJSON *token;
  rb_docs incidents = {0};
  cJSON *root;
  int rc = rb_find_all(e, "incident", "processInstanceId", id, &incidents);
  *out = NULL;
  if (rc != REBATCH_OK) return rc;
  root = activity_node(inst, id, NULL, rb_str(inst, "processDefinitionId"), "processDefinition",
                       rb_str(def, "name"), id, &incidents);
  rc = root ? REBATCH_OK : REBATCH_NOMEM;
  cJSON_ArrayForEach(token, cJSON_GetObjectItemCaseSensitive(inst, "tokens")) {
    if (rc != REBATCH_OK) break;
    rc = add_child(root, inst, def, token, &incidents);
  }
  rb_docs_clear(&incidents);
  if (rc == REBATCH_OK) *out = root;
  else cJSON_Delete(root);
  return rc;
}

int rb_op_getActivityInstanceTree(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id");
  rb_doc inst, def;
  cJSON *tree = NULL;
  int rc = rb_load(e, "processInstance", id, &inst);
  memset(&def, 0, sizeof def);
  /* Camunda: GetActivityInstanceCmd answers null for an unknown instance,
   * which the resource turns into this 404. */
  if (rc == REBATCH_OK && !inst.json)
    rc = rb_not_found(res, "InvalidRequestException", "Process instance with id %s does not exist", id ? id : "null");
  if (rc == REBATCH_OK) rc = rb_definition_load(e, rb_str(inst.json, "processDefinitionId"), &def);
  if (rc == REBATCH_OK) rc = build_tree(e, inst.json, def.json, &tree);
  rb_doc_clear(&inst);
  rb_doc_clear(&def);
  return rc == REBATCH_OK ? rb_ok(res, 200, tree) : rc;
}
