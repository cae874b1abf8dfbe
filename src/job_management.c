/*
 * job_management.c - what a batch user does to jobs and job definitions
 * directly: delete a job (DELETE /job/{id}), set the retries of a job
 * definition's failed jobs (PUT /job-definition/{id}/retries), suspend and
 * activate jobs (PUT /job/suspended, /job/{id}/suspended) and job
 * definitions (PUT /job-definition/suspended, /job-definition/{id}/suspended,
 * now or at an executionDate).
 */
#include "core.h"

#include <string.h>

#define JOB "job"
#define JOB_DEFINITION "jobDefinition"

/* ---- DELETE /job/{id} --------------------------------------------------------- */

/* As DeleteJobCmd and JobEntity.delete: the job's incident goes (deleted
 * in history) and the job log records a deletion. A job some node has
 * acquired (locked, expired or not) is refused, and JobResourceImpl rethrows
 * that as a RestException without a cause (code null). */
int rb_op_deleteJob(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id");
  long long retries = 0;
  rb_doc job;
  int rc = rb_load(e, JOB, id, &job);
  if (rc == REBATCH_OK && !job.json)
    rc = rb_not_found(res, "InvalidRequestException", "No job found with id '%s': job is null", id ? id : "null");
  if (rc == REBATCH_OK && (rb_str(job.json, "lockOwner") || rb_date(job.json, "lockExpirationTime") != RB_NO_DATE))
    rc = rb_error(res, 500, "RestException", RB_CODE_NULL, "Cannot delete job when the job is being executed. Try again later.");
  if (rc == REBATCH_OK) {
    rb_int(job.json, "retries", &retries);
    rc = rb_incident_end(e, "failedJob", id, 0);
  }
  if (rc == REBATCH_OK) rc = rb_job_log(e, job.json, RB_JOB_LOG_DELETION, (int)retries, NULL);
  if (rc == REBATCH_OK) rc = rb_delete(e, JOB, &job);
  rb_doc_clear(&job);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* ---- PUT /job-definition/{id}/retries ----------------------------------------- */

/* Upstream's bulk update of the definition's jobs with no retries left:
 * retries (and the due date when given) change, their incidents stay open
 * (IncidentTest: a later failure opens no second one). */
int rb_op_setJobDefinitionRetries(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  long long retries;
  double due = RB_NO_DATE;
  int got = rb_int(body, "retries", &retries), due_given = rb_has(body, "dueDate");
  rb_docs docs = {0};
  int rc;
  /* rb_request_coerce made retries an integer, or refused it */
  if (got == 0) return rb_invalid(res, 400, "retries is null");
  /* rb_request_coerce refused a dueDate that is not a date. */
  if (due_given) rb_parse_date(cJSON_GetObjectItemCaseSensitive(body, "dueDate"), &due);
  if (retries < 0)
    return rb_error(res, 500, "InvalidRequestException", 0,
                    "ENGINE-13054 The number of job retries must be a non-negative Integer, but '%lld' has been provided.", retries);
  if (retries > 2147483647) retries = 2147483647;
  rc = rb_find_all(e, JOB, "jobDefinitionId", rb_str(request, "id"), &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) {
    long long left = 0;
    cJSON *job = docs.items[i].json;
    if (rb_int(job, "retries", &left) != 1 || left != 0) continue;
    if (!rb_set_num(job, "retries", (double)retries) || (due_given && !rb_set_num(job, "dueDate", due))) rc = REBATCH_NOMEM;
    else rc = rb_job_save(e, &docs.items[i]);
  }
  rb_docs_clear(&docs);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* ---- suspension ------------------------------------------------------------------ */

static int present(const cJSON *body, const char *name) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, name);
  return m && !cJSON_IsNull(m);
}

/* The tenant condition of a selection by processDefinitionKey: 1 when the
 * record passes. */
static int tenant_passes(const cJSON *selector, const cJSON *record) {
  const char *want = rb_str(selector, "processDefinitionTenantId"), *tenant = rb_str(record, "tenantId");
  if (want) return tenant && strcmp(tenant, want) == 0;
  if (rb_flag(selector, "processDefinitionWithoutTenantId")) return tenant == NULL;
  return 1;
}

/* A record matches a selection by one of its fields (the one the selector
 * names), the key's tenant condition included. */
static int matches(const cJSON *selector, const cJSON *record, const char *field) {
  const char *want = rb_str(selector, field), *have = rb_str(record, field);
  if (!want || !have || strcmp(want, have) != 0) return 0;
  return strcmp(field, "processDefinitionKey") != 0 || tenant_passes(selector, record);
}

static int set_flag(rebatch_engine *e, rb_doc *doc, int suspended, int job) {
  if (!rb_set_bool(doc->json, "suspended", suspended)) return REBATCH_NOMEM;
  return job ? rb_job_save(e, doc) : rb_job_definition_save(e, doc);
}

/* Every record of `coll` the selector names: by its indexed field when
 * the store has one, else by a scan. */
static int select_records(rebatch_engine *e, const char *coll, const cJSON *selector, const char *field,
                          const char *indexed_by, rb_docs *out) {
  rb_docs all = {0};
  int rc;
  if (indexed_by && strcmp(field, indexed_by) == 0) return rb_find_all(e, coll, field, rb_str(selector, field), out);
  if (strcmp(field, "id") == 0) {
    rb_doc doc;
    if ((rc = rb_load(e, coll, rb_str(selector, "id"), &doc)) == REBATCH_OK && doc.json) rc = rb_docs_push(out, &doc);
    rb_doc_clear(&doc); /* not moved: absent, or the push failed */
    return rc;
  }
  rc = rb_scan_all(e, coll, &all);
  for (int i = 0; rc == REBATCH_OK && i < all.count; i++)
    if (matches(selector, all.items[i].json, field)) rc = rb_docs_push(out, &all.items[i]);
  rb_docs_clear(&all);
  return rc;
}

static const char *const job_fields[] = {"jobId", "jobDefinitionId", "processInstanceId", "processDefinitionId",
                                         "processDefinitionKey", NULL};

/* The one member of a selector that is set ("jobId" reads the record id). */
static const char *selected_field(const cJSON *selector, const char *const *fields) {
  for (int i = 0; fields[i]; i++)
    if (present(selector, fields[i])) return fields[i];
  return NULL;
}

static int jobs_set_suspended(rebatch_engine *e, const cJSON *selector, int suspended) {
  const char *field = selected_field(selector, job_fields);
  rb_docs docs = {0};
  cJSON *by_id = NULL;
  int rc;
  if (field && strcmp(field, "jobId") == 0) {
    if (!(by_id = cJSON_CreateObject()) || !rb_put_str(by_id, "id", rb_str(selector, "jobId"))) {
      cJSON_Delete(by_id);
      return REBATCH_NOMEM;
    }
    rc = select_records(e, JOB, by_id, "id", NULL, &docs);
    cJSON_Delete(by_id);
  } else if (field && strcmp(field, "processInstanceId") == 0) {
    rc = rb_find_all(e, JOB, "processInstanceId", rb_str(selector, field), &docs);
  } else {
    rc = field ? select_records(e, JOB, selector, field, "jobDefinitionId", &docs) : REBATCH_OK;
  }
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) rc = set_flag(e, &docs.items[i], suspended, 1);
  rb_docs_clear(&docs);
  return rc;
}

static const char *const job_definition_fields[] = {"jobDefinitionId", "processDefinitionId", "processDefinitionKey",
                                                    NULL};

int rb_job_definitions_set_suspended(rebatch_engine *e, const cJSON *selector, int suspended, int include_jobs) {
  const char *field = selected_field(selector, job_definition_fields);
  rb_docs docs = {0}, jobs = {0};
  cJSON *by_id = NULL;
  int rc = REBATCH_OK;
  if (field && strcmp(field, "jobDefinitionId") == 0) {
    if (!(by_id = cJSON_CreateObject()) || !rb_put_str(by_id, "id", rb_str(selector, field))) rc = REBATCH_NOMEM;
    if (rc == REBATCH_OK) rc = select_records(e, JOB_DEFINITION, by_id, "id", NULL, &docs);
    cJSON_Delete(by_id);
  } else if (field) {
    rc = select_records(e, JOB_DEFINITION, selector, field, "processDefinitionId", &docs);
  }
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) {
    rc = set_flag(e, &docs.items[i], suspended, 0);
    if (rc == REBATCH_OK && include_jobs) rc = rb_find_all(e, JOB, "jobDefinitionId", docs.items[i].id, &jobs);
    for (int j = 0; rc == REBATCH_OK && j < jobs.count; j++) rc = set_flag(e, &jobs.items[j], suspended, 1);
    rb_docs_clear(&jobs);
  }
  rb_docs_clear(&docs);
  return rc;
}

/* JobSuspensionStateDto: exactly one selection. */
static int update_jobs(rebatch_engine *e, const cJSON *body, rb_response *res) {
  int n = 0, rc;
  for (int i = 0; job_fields[i]; i++) n += present(body, job_fields[i]);
  if (n > 1)
    return rb_invalid(res, 400, "Only one of jobId, jobDefinitionId, processInstanceId, processDefinitionId or processDefinitionKey should be set to update the suspension state.");
  if (n == 0)
    return rb_invalid(res, 400, "Either jobId, jobDefinitionId, processInstanceId, processDefinitionId or processDefinitionKey should be set to update the suspension state.");
  rc = jobs_set_suspended(e, body, rb_flag(body, "suspended"));
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

static int no_body(const cJSON *body, rb_response *res) {
  if (body && !cJSON_IsNull(body)) return REBATCH_OK;
  return rb_invalid(res, 400, "Request body is null: suspended is required");
}

int rb_op_setJobsSuspended(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  int rc = no_body(body, res);
  if (rc != REBATCH_OK) return rc;
  if (present(body, "jobId"))
    return rb_invalid(res, 400, "Either jobDefinitionId, processInstanceId, processDefinitionId or processDefinitionKey can be set to update the suspension state.");
  return update_jobs(e, body, res);
}

/* The resource sets the path's id as the DTO's jobId. */
static int with_path_id(const cJSON *request, const char *field, cJSON **out) {
  cJSON *body = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(request, "body"), 1);
  *out = body;
  return body && rb_set_str(body, field, rb_str(request, "id")) ? REBATCH_OK : REBATCH_NOMEM;
}

int rb_op_setJobSuspended(rebatch_engine *e, const cJSON *request, rb_response *res) {
  cJSON *body = NULL;
  int rc = no_body(cJSON_GetObjectItemCaseSensitive(request, "body"), res);
  if (rc == REBATCH_OK) rc = with_path_id(request, "jobId", &body);
  if (rc == REBATCH_OK) rc = update_jobs(e, body, res);
  cJSON_Delete(body);
  return rc;
}

/* JobDefinitionSuspensionStateDto: exactly one selection, includeJobs,
 * an optional executionDate (a timer job then). `path_id`: the resource
 * of one job definition (its wrapping of a date error). */
static int update_job_definitions(rebatch_engine *e, const cJSON *body, const char *path_id, rb_response *res) {
  const cJSON *date = cJSON_GetObjectItemCaseSensitive(body, "executionDate");
  double due = RB_NO_DATE;
  int n = 0, rc;
  for (int i = 0; job_definition_fields[i]; i++) n += present(body, job_definition_fields[i]);
  if (n > 1)
    return rb_invalid(res, 400, "Only one of jobDefinitionId, processDefinitionId or processDefinitionKey should be set to update the suspension state.");
  if (n == 0)
    return rb_invalid(res, 400, "Either jobDefinitionId, processDefinitionId or processDefinitionKey should be set to update the suspension state.");
  if (cJSON_IsString(date) && date->valuestring[0] && rb_parse_date(date, &due) < 0) {
    if (path_id)
      return rb_invalid(res, 400, "The suspension state of Job Definition with id %s could not be updated due to: Invalid format: \"%s\"",
                        path_id, date->valuestring);
    return rb_invalid(res, 400, "Could not update the suspension state of Job Definitions due to: Invalid format: \"%s\"",
                      date->valuestring);
  }
  if (due != RB_NO_DATE) rc = rb_state_job_schedule(e, rb_flag(body, "suspended") ? "suspend-job-definition" : "activate-job-definition", body, due);
  else rc = rb_job_definitions_set_suspended(e, body, rb_flag(body, "suspended"), rb_flag(body, "includeJobs"));
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

int rb_op_setJobDefinitionsSuspended(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  int rc = no_body(body, res);
  if (rc != REBATCH_OK) return rc;
  if (present(body, "jobDefinitionId"))
    return rb_invalid(res, 400, "Either processDefinitionId or processDefinitionKey can be set to update the suspension state.");
  return update_job_definitions(e, body, NULL, res);
}

int rb_op_setJobDefinitionSuspended(rebatch_engine *e, const cJSON *request, rb_response *res) {
  cJSON *body = NULL;
  int rc = no_body(cJSON_GetObjectItemCaseSensitive(request, "body"), res);
  if (rc == REBATCH_OK) rc = with_path_id(request, "jobDefinitionId", &body);
  if (rc == REBATCH_OK) rc = update_job_definitions(e, body, rb_str(request, "id"), res);
  cJSON_Delete(body);
  return rc;
}
