/*
 * job_retries.c - set-job-retries batches: by process instances (runtime
 * or historic query) and by jobs (POST /job/retries), and what an
 * execution job does to each job.
 */
#include "core.h"

#include <string.h>

#define JOB "job"

/* A job's group is its deploymentId, read from the row's text; the row is
 * parsed only when that walk cannot tell. */
static int add_job_row(rebatch_engine *e, const char *id, const char *json, int rev, void *groups) {
  char deployment[REBATCH_ID_MAX + 1];
  int got = rb_text_str(json, "deploymentId", deployment, sizeof deployment), rc;
  (void)rev;
  if (got < 0) {
    cJSON *job;
    rc = rb_parse_record(e, json, &job);
    if (rc != REBATCH_OK) return rc;
    rc = rb_batch_add_item(groups, rb_str(job, "deploymentId"), id);
    cJSON_Delete(job);
    return rc;
  }
  return rb_batch_add_item(groups, got ? deployment : NULL, id);
}

static int add_jobs_of_instance(rebatch_engine *e, const char *instance_id, cJSON *groups) {
  return rb_find_all_rows(e, JOB, "processInstanceId", instance_id, add_job_row, groups);
}

/* A selected instance's jobs go in as the query yields it: no id list. */
static int add_jobs_of_row(rebatch_engine *e, const char *id, const char *json, int rev, void *groups) {
  (void)json; (void)rev;
  return add_jobs_of_instance(e, id, groups);
}

/* Operation parameters stored with the batch: retries, and the due date
 * only when the request named one (null clears due dates). */
static cJSON *retries_params(long long retries, const cJSON *body) {
  const cJSON *due = cJSON_GetObjectItemCaseSensitive(body, "dueDate");
  cJSON *params = cJSON_CreateObject();
  double ms = RB_NO_DATE;
  /* rb_request_coerce refused a dueDate that is not a date. */
  if (due) rb_parse_date(due, &ms);
  if (!params || !rb_put_num(params, "retries", (double)retries) ||
      (due && (!rb_put_bool(params, "dueDateSet", 1) || !rb_set_num(params, "dueDate", ms)))) {
    cJSON_Delete(params);
    return NULL;
  }
  return params;
}

static int read_retries(const cJSON *body, long long *retries, rb_response *res) {
  int got = rb_int(body, "retries", retries);
  /* rb_request_coerce made retries an integer, or refused it */
  if (got == 0) return rb_invalid(res, 400, "retries is null");
  return REBATCH_OK;
}

/* The selection once jobs are known: none is "jobIds is empty";
 * negative retries are rejected only then, as Camunda orders its checks. */
static int create_retries_batch(cJSON *groups, long long retries, const cJSON *body,
                                rb_batch_selection *sel, rb_response *res) {
  cJSON *params;
  if (cJSON_GetArraySize(groups) == 0) {
    cJSON_Delete(groups);
    return rb_invalid(res, 400, "jobIds is empty");
  }
  if (retries < 0) {
    cJSON_Delete(groups);
    return rb_error(res, 500, "ProcessEngineException", 0, "Retries count is not greater than or equal to 0");
  }
  if (!(params = retries_params(retries, body))) {
    cJSON_Delete(groups);
    return REBATCH_NOMEM;
  }
  sel->groups = groups;
  sel->params = params;
  return REBATCH_OK;
}

static int add_instances(rebatch_engine *e, const cJSON *ids, cJSON *groups) {
  const cJSON *id;
  cJSON_ArrayForEach(id, ids) {
    int rc;
    if (!cJSON_IsString(id)) continue; /* null entries match nothing upstream */
    if ((rc = add_jobs_of_instance(e, id->valuestring, groups)) != REBATCH_OK) return rc;
  }
  return REBATCH_OK;
}

static int by_process(rebatch_engine *e, const cJSON *request, const char *query_field,
                      const rb_query *query, rb_batch_selection *sel, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const cJSON *explicit_ids = cJSON_GetObjectItemCaseSensitive(body, "processInstances");
  const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, query_field);
  cJSON *groups;
  long long retries;
  int rc;
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "setJobRetriesDto is null");
  if ((rc = read_retries(body, &retries, res)) != REBATCH_OK) return rc;
  if (cJSON_IsNull(q)) q = NULL;
  if (!q && cJSON_GetArraySize(explicit_ids) == 0)
    return rb_error(res, 500, "ProcessEngineException", 0,
                    "ENGINE-13051 You must specify at least one of or one of processInstanceIds, processInstanceQuery, or historicProcessInstanceQuery.");
  if (!(groups = cJSON_CreateArray())) return REBATCH_NOMEM;
  if (q) rc = rb_each_instance(e, query, q, add_jobs_of_row, groups, res);
  if (rc == REBATCH_OK && cJSON_IsArray(explicit_ids)) rc = add_instances(e, explicit_ids, groups);
  if (rc != REBATCH_OK) {
    cJSON_Delete(groups);
    return rc;
  }
  return create_retries_batch(groups, retries, body, sel, res);
}

/* POST /job/retries: explicit job ids (unknown ones kept, failing at
 * execution as upstream) and/or a job query. */
static int by_jobs(rebatch_engine *e, const cJSON *request, rb_batch_selection *sel, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const cJSON *ids = cJSON_GetObjectItemCaseSensitive(body, "jobIds");
  const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, "jobQuery"), *id;
  cJSON *groups;
  long long retries;
  int rc;
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "setJobRetriesDto is null");
  if ((rc = read_retries(body, &retries, res)) != REBATCH_OK) return rc;
  if (cJSON_IsNull(q)) q = NULL;
  if (!q && !cJSON_IsArray(ids))
    return rb_error(res, 500, "ProcessEngineException", 0, "ENGINE-13050 You must specify at least one of jobIds or jobQuery.");
  if (!(groups = cJSON_CreateArray())) return REBATCH_NOMEM;
  cJSON_ArrayForEach(id, ids) {
    char *text;
    int rev;
    if (!cJSON_IsString(id)) continue;
    rc = rb_load_text(e, JOB, id->valuestring, &text, &rev);
    if (rc == REBATCH_OK && text) rc = add_job_row(e, id->valuestring, text, rev, groups);
    else if (rc == REBATCH_OK) rc = rb_batch_add_item(groups, NULL, id->valuestring);
    rb_free(text);
    if (rc != REBATCH_OK) break;
  }
  if (rc == REBATCH_OK && q) rc = rb_query_body_each(e, &rb_job_query, q, add_job_row, groups, res);
  if (rc != REBATCH_OK) {
    cJSON_Delete(groups);
    return rc;
  }
  return create_retries_batch(groups, retries, body, sel, res);
}

enum { BY_PROCESS, BY_HISTORIC_QUERY, BY_JOBS };

static int select_jobs(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                       rb_response *res) {
  if (source == BY_JOBS) return by_jobs(e, request, sel, res);
  if (source == BY_HISTORIC_QUERY)
    return by_process(e, request, "historicProcessInstanceQuery", &rb_history_query, sel, res);
  return by_process(e, request, "processInstanceQuery", &rb_instance_query, sel, res);
}

int rb_op_setJobRetriesAsyncByProcess(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_set_job_retries, BY_PROCESS, request, res);
}

int rb_op_setJobRetriesAsyncByHistoricQuery(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_set_job_retries, BY_HISTORIC_QUERY, request, res);
}

int rb_op_setJobRetriesAsync(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_batch_start(e, &rb_batch_set_job_retries, BY_JOBS, request, res);
}

/* What one execution job item does: the job must still exist; retries are
 * set (incidents follow), the due date only when the request named one. */
static int apply(rebatch_engine *e, const char *job_id, const cJSON *params, rb_response *res) {
  long long retries = 0;
  int due_set = rb_flag(params, "dueDateSet"), done;
  char due[32];
  rb_member extra[1] = {{"dueDate", due}};
  rb_doc job;
  int rc;
  rb_int(params, "retries", &retries);
  if (rb_date(params, "dueDate") == RB_NO_DATE) strcpy(due, "null");
  else rb_format_number(rb_date(params, "dueDate"), due);
  rc = rb_job_set_retries_text(e, job_id, (int)retries, extra, due_set, &done);
  if (done) return rc;
  rc = rb_load(e, JOB, job_id, &job);
  if (rc == REBATCH_OK && !job.json)
    rc = rb_error(res, 500, "ProcessEngineException", 0, "ENGINE-13053 No job found with id '%s'.'", job_id);
  if (rc == REBATCH_OK && due_set &&
      !rb_set_num(job.json, "dueDate", rb_date(params, "dueDate")))
    rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = rb_job_set_retries(e, &job, (int)retries);
  rb_doc_clear(&job);
  return rc;
}

const rb_batch_type rb_batch_set_job_retries = {"set-job-retries", select_jobs, apply, NULL, NULL};
