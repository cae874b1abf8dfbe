/*
 * external_task_retries.c - setting external task retries in bulk, as a
 * batch (POST /external-task/retries-async) or at once in one transaction
 * (PUT /external-task/retries).
 */
#include "core.h"

#include <stdio.h>
#include <string.h>

#define EXTERNAL_TASK "externalTask"

/* Collected ids by deployment. Ungrouped (the synchronous endpoint, which makes no batch jobs) every id
 * goes to one group and explicit ids are not even read: setting their
 * retries reads them, and answers 404 for an unknown one. */
typedef struct rb_collector {
  cJSON *groups;
  int grouped;
  rb_deployment_memo deployments;
} rb_collector;

/* An external task's deployment is its process definition's. */
static int add_task_of(rebatch_engine *e, const char *task_id, const char *definition, rb_collector *c) {
  return rb_batch_add_by_definition(e, &c->deployments, c->groups, c->grouped ? definition : NULL, task_id);
}

static int add_task(rebatch_engine *e, const char *task_id, const cJSON *task, rb_collector *c) {
  return add_task_of(e, task_id, task ? rb_str(task, "processDefinitionId") : NULL, c);
}

/* The same from a task's row, its definition read off the text; the row
 * is parsed only when that walk cannot tell. */
static int add_task_row(rebatch_engine *e, const char *id, const char *json, int rev, void *c) {
  char definition[sizeof ((rb_deployment_memo *)0)->definition_id];
  int got, rc;
  cJSON *task;
  (void)rev;
  if (!((rb_collector *)c)->grouped) return add_task_of(e, id, NULL, c);
  got = rb_text_str(json, "processDefinitionId", definition, sizeof definition);
  if (got >= 0) return add_task_of(e, id, got ? definition : NULL, c);
  if ((rc = rb_parse_record(e, json, &task)) != REBATCH_OK) return rc;
  rc = add_task(e, id, task, c);
  cJSON_Delete(task);
  return rc;
}

static int add_explicit_tasks(rebatch_engine *e, const cJSON *ids, rb_collector *c) {
  const cJSON *id;
  cJSON_ArrayForEach(id, ids) {
    char *text = NULL;
    int rev, rc = c->grouped ? rb_load_text(e, EXTERNAL_TASK, id->valuestring, &text, &rev) : REBATCH_OK;
    if (rc == REBATCH_OK)
      rc = text ? add_task_row(e, id->valuestring, text, rev, c) : add_task_of(e, id->valuestring, NULL, c);
    rb_free(text);
    if (rc != REBATCH_OK) return rc;
  }
  return REBATCH_OK;
}

static int add_tasks_of_instances(rebatch_engine *e, const cJSON *instance_ids, rb_collector *c) {
  const cJSON *id;
  cJSON_ArrayForEach(id, instance_ids) {
    int rc = rb_find_all_rows(e, EXTERNAL_TASK, "processInstanceId", id->valuestring, add_task_row, c);
    if (rc != REBATCH_OK) return rc;
  }
  return REBATCH_OK;
}

static int has_null(const cJSON *list) {
  const cJSON *item;
  cJSON_ArrayForEach(item, list)
    if (!cJSON_IsString(item)) return 1;
  return 0;
}

static const cJSON *query_of(const cJSON *body, const char *name) {
  const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, name);
  return q && !cJSON_IsNull(q) ? q : NULL;
}

/* Collects the union of every source the request names, in Camunda's
 * order of checks. Returns the groups in *out. */
static int collect(rebatch_engine *e, const cJSON *body, int grouped, long long *retries,
                   cJSON **out, rb_response *res) {
  const cJSON *task_ids = cJSON_GetObjectItemCaseSensitive(body, "externalTaskIds");
  const cJSON *instance_ids = cJSON_GetObjectItemCaseSensitive(body, "processInstanceIds");
  const cJSON *task_query = query_of(body, "externalTaskQuery");
  const cJSON *instance_query = query_of(body, "processInstanceQuery");
  const cJSON *history_query = query_of(body, "historicProcessInstanceQuery");
  cJSON *groups = cJSON_CreateArray(), *instances = cJSON_CreateArray();
  rb_collector collector;
  int rc = groups && instances ? REBATCH_OK : REBATCH_NOMEM, got;
  *out = NULL;
  /* The REST layer converts the queries, in this order, before it looks at
   * the retries; the external task query runs only later. */
  if (rc == REBATCH_OK && task_query) rc = rb_query_body_check(&rb_external_task_query, task_query, res);
  if (rc == REBATCH_OK && instance_query) rc = rb_select_instance_ids(e, &rb_instance_query, instance_query, instances, res);
  if (rc == REBATCH_OK && history_query) rc = rb_select_instance_ids(e, &rb_history_query, history_query, instances, res);
  /* rb_request_coerce made retries an integer, or refused it */
  if (rc == REBATCH_OK && (got = rb_int(body, "retries", retries)) == 0)
    rc = rb_invalid(res, 400, "The number of retries cannot be null.");
  if (rc == REBATCH_OK && cJSON_GetArraySize(task_ids) > 0 && has_null(task_ids))
    rc = rb_invalid(res, 400, "External task id cannot be null: externalTaskIds contains null value");
  if (rc == REBATCH_OK && has_null(instance_ids))
    rc = rb_error(res, 500, "NullValueException", 0, "processInstanceIdIn contains null value");
  collector.groups = groups;
  collector.grouped = grouped;
  memset(&collector.deployments, 0, sizeof collector.deployments);
  if (rc == REBATCH_OK) rc = add_explicit_tasks(e, task_ids, &collector);
  if (rc == REBATCH_OK && task_query)
    rc = rb_query_body_each(e, &rb_external_task_query, task_query, add_task_row, &collector, res);
  if (rc == REBATCH_OK) rc = add_tasks_of_instances(e, instance_ids, &collector);
  if (rc == REBATCH_OK) rc = add_tasks_of_instances(e, instances, &collector);
  cJSON_Delete(instances);
  if (rc == REBATCH_OK && cJSON_GetArraySize(groups) == 0) rc = rb_invalid(res, 400, "externalTaskIds is empty");
  if (rc != REBATCH_OK) {
    cJSON_Delete(groups);
    return rc;
  }
  *out = groups;
  return REBATCH_OK;
}

/* Both endpoints select alike; only the batch groups its ids (see
 * rb_collector). */
static int select_tasks(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                        rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  long long retries;
  int rc;
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "Request body is null: the retries and a selection of external tasks are required");
  if ((rc = collect(e, body, !(source & RB_BATCH_NOW), &retries, &sel->groups, res)) != REBATCH_OK) return rc;
  sel->params = cJSON_CreateObject();
  if (!sel->params || !rb_put_num(sel->params, "retries", (double)retries)) return REBATCH_NOMEM;
  return REBATCH_OK;
}

int rb_op_setExternalTaskRetriesAsync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_set_external_task_retries, 0, request, res);
}

/* One task: it must exist and the retries must not be negative. Used by
 * the sync endpoint (404/400) and by execution jobs (job failure). */
static int set_one(rebatch_engine *e, const char *task_id, long long retries, rb_response *res) {
  rb_doc task;
  int rc, done;
  if (retries < 0)
    return rb_invalid(res, 400, "The number of retries cannot be negative: retries is not greater than or equal to 0");
  if (retries > 2147483647) retries = 2147483647;
  if ((rc = rb_external_task_set_retries_text(e, task_id, (int)retries, &done)) != REBATCH_OK || done)
    return rc;
  if ((rc = rb_load(e, EXTERNAL_TASK, task_id, &task)) != REBATCH_OK) return rc;
  if (!task.json) rc = rb_not_found(res, "InvalidRequestException", "Cannot find external task with id %s: externalTask is null", task_id);
  else rc = rb_external_task_set_retries(e, &task, (int)retries);
  rb_doc_clear(&task);
  return rc;
}

int rb_op_setExternalTaskRetriesSync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_run_now(e, &rb_batch_set_external_task_retries, 0, request, res);
}

static int apply(rebatch_engine *e, const char *task_id, const cJSON *params, rb_response *res) {
  long long retries = 0;
  rb_int(params, "retries", &retries);
  return set_one(e, task_id, retries, res);
}

const rb_batch_type rb_batch_set_external_task_retries = {"set-external-task-retries", select_tasks, apply, NULL,
                                                          NULL};
