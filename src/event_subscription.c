/*
 * event_subscription.c - GET /event-subscription and its count, as
 * upstream's EventSubscriptionQuery over the message subscriptions.
 *
 * rebatch keeps no subscription records: each query reads them off what
 * they stand for, so none can outlive its token or definition. A token
 * waiting at an intermediate message catch event or a receive task is a
 * subscription of its instance (id: the token's activity instance id,
 * created: that activity instance's start); a message start event of the
 * latest version of a key (per tenant) is one of no instance (id: the
 * definition id and the event id, created: the deployment's time), as
 * upstream keeps only the latest version subscribed.
 */
#include "core.h"

#include <stdio.h>
#include <string.h>

#define INSTANCE "processInstance"
#define DEFINITION "processDefinition"
#define DEPLOYMENT "deployment"
#define HISTORIC_ACTIVITY "historicActivityInstance"

static cJSON *subscription(const char *id, const char *name, const char *execution, const char *instance,
                           const char *activity, double created, const char *tenant) {
  cJSON *s = cJSON_CreateObject();
  if (!s || !rb_put_str(s, "id", id) || !rb_put_str(s, "eventType", "message") || !rb_put_str(s, "eventName", name) ||
      !rb_put_str(s, "executionId", execution) || !rb_put_str(s, "processInstanceId", instance) ||
      !rb_put_str(s, "activityId", activity) ||
      !(created >= 0 ? rb_put_num(s, "createdDate", created) : rb_put_null(s, "createdDate")) ||
      !rb_put_str(s, "tenantId", tenant)) {
    cJSON_Delete(s);
    return NULL;
  }
  return s;
}

static int push(rb_docs *out, cJSON *s) {
  rb_doc doc;
  int rc;
  if (!s) return REBATCH_NOMEM;
  if ((rc = rb_doc_init(&doc, rb_str(s, "id"), s)) != REBATCH_OK) return rc;
  rc = rb_docs_push(out, &doc);
  rb_doc_clear(&doc);
  return rc;
}

/* When the token began waiting: its activity instance's start. */
static int waiting_since(rebatch_engine *e, const char *activity_instance_id, double *at) {
  rb_doc act;
  int rc = rb_load(e, HISTORIC_ACTIVITY, activity_instance_id, &act);
  *at = rc == REBATCH_OK && act.json ? rb_date(act.json, "startTime") : RB_NO_DATE;
  rb_doc_clear(&act);
  return rc;
}

static int add_waiting(rebatch_engine *e, const cJSON *inst, rb_docs *out) {
  const cJSON *token;
  rb_doc def;
  int rc = rb_definition_load(e, rb_str(inst, "processDefinitionId"), &def);
  cJSON_ArrayForEach(token, cJSON_GetObjectItemCaseSensitive(inst, "tokens")) {
    const cJSON *activity = rb_model_activity(def.json, rb_str(token, "activityId"));
    const char *name = rb_token_message_name(def.json, token), *ai = rb_str(token, "activityInstanceId");
    double since;
    if (rc != REBATCH_OK) break;
    if (!name || !ai || !rb_str_eq(rb_str(token, "state"), "wait") || rb_str_eq(rb_str(activity, "type"), "startEvent"))
      continue;
    rc = waiting_since(e, ai, &since);
    if (rc == REBATCH_OK)
      rc = push(out, subscription(ai, name, rb_str(token, "id"), rb_str(inst, "id"), rb_str(activity, "id"), since,
                                  rb_str(inst, "tenantId")));
  }
  rb_doc_clear(&def);
  return rc;
}

static int add_instance(rebatch_engine *e, const char *id, rb_docs *out) {
  rb_doc inst;
  int rc = rb_load(e, INSTANCE, id, &inst);
  if (rc == REBATCH_OK && inst.json) rc = add_waiting(e, inst.json, out);
  rb_doc_clear(&inst);
  return rc;
}

static int add_instances(rebatch_engine *e, rb_docs *out) {
  rb_docs all = {0};
  int rc = rb_scan_all(e, INSTANCE, &all);
  for (int i = 0; rc == REBATCH_OK && i < all.count; i++) rc = add_waiting(e, all.items[i].json, out);
  rb_docs_clear(&all);
  return rc;
}

static int deployed_at(rebatch_engine *e, const cJSON *def, double *at) {
  rb_doc dep;
  int rc = rb_load(e, DEPLOYMENT, rb_str(def, "deploymentId"), &dep);
  *at = rc == REBATCH_OK && dep.json ? rb_date(dep.json, "deploymentTime") : RB_NO_DATE;
  rb_doc_clear(&dep);
  return rc;
}

static int add_start_events(rebatch_engine *e, rb_docs *out) {
  rb_docs defs = {0};
  int rc = rb_scan_all(e, DEFINITION, &defs);
  for (int i = 0; rc == REBATCH_OK && i < defs.count; i++) {
    const cJSON *def = defs.items[i].json, *a;
    double at = RB_NO_DATE;
    int deployed = 0;
    if (!rb_definition_is_latest(&defs, def)) continue;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(def, "activities")) {
      char id[2 * REBATCH_ID_MAX + 2];
      if (rc != REBATCH_OK) break;
      if (!rb_str_eq(rb_str(a, "type"), "startEvent") || !rb_str(a, "messageName")) continue;
      if (!deployed++) rc = deployed_at(e, def, &at);
      snprintf(id, sizeof id, "%s:%s", rb_str(def, "id"), rb_str(a, "id"));
      if (rc == REBATCH_OK)
        rc = push(out, subscription(id, rb_str(a, "messageName"), NULL, NULL, rb_str(a, "id"), at, rb_str(def, "tenantId")));
    }
  }
  rb_docs_clear(&defs);
  return rc;
}

/* Every subscription, or only the instance's when the request names one
 * (start event subscriptions have no instance). */
static int load_subscriptions(rebatch_engine *e, const cJSON *request, rb_docs *out) {
  const cJSON *instance = rb_param(request, "processInstanceId");
  int rc;
  if (cJSON_IsString(instance)) return add_instance(e, instance->valuestring, out);
  rc = add_instances(e, out);
  return rc == REBATCH_OK ? add_start_events(e, out) : rc;
}

static const rb_filter subscription_filters[] = {
    {"eventSubscriptionId", RB_F_EQ, "id", NULL, 0},
    {"eventName", RB_F_EQ, "eventName", NULL, 0},
    {"eventType", RB_F_EQ, "eventType", NULL, 0},
    {"executionId", RB_F_EQ, "executionId", NULL, 0},
    {"processInstanceId", RB_F_EQ, "processInstanceId", NULL, 0},
    {"activityId", RB_F_EQ, "activityId", NULL, 0},
    {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},
    {"withoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0},
    {"includeEventSubscriptionsWithoutTenantId", RB_F_UNSUPPORTED, NULL, NULL, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key subscription_sorts[] = {{"created", "createdDate"}, {"tenantId", "tenantId"}, {NULL, NULL}};

static cJSON *subscription_to_dto(rebatch_engine *e, const cJSON *record) {
  static const char *const fields[] = {"id", "eventType", "eventName", "executionId", "processInstanceId",
                                       "activityId", "createdDate", "tenantId", NULL};
  (void)e;
  return rb_dto(record, fields);
}

static const rb_query subscription_query = {"eventSubscription", subscription_filters, subscription_sorts,
                                            subscription_to_dto};

int rb_op_getEventSubscriptions(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_list_from(e, &subscription_query, load_subscriptions, request, res);
}

int rb_op_getEventSubscriptionsCount(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_count_from(e, &subscription_query, load_subscriptions, request, res);
}
