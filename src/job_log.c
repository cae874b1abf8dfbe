/*
 * job_log.c - what job failures leave behind: the historic job log
 * (Camunda's history level FULL) and a job's last stacktrace. The log has one
 * entry when a job is created, fails, succeeds or is deleted unexecuted,
 * each a snapshot of the job at that moment; and its queries.
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOB_LOG "historicJobLog"

/* The job fields every entry copies, as (log field, job field), in the
 * order rb_job_create writes them. */
static const char *const copied[][2] = {
    {"jobId", "id"},
    {"jobDefinitionId", "jobDefinitionId"},
    {"processInstanceId", "processInstanceId"},
    {"processDefinitionId", "processDefinitionId"},
    {"processDefinitionKey", "processDefinitionKey"},
    {"executionId", "executionId"},
    {"jobDueDate", "dueDate"},
    {"jobPriority", "priority"},
    {"tenantId", "tenantId"},
    {"batchId", "batchId"},
    {"jobDefinitionType", "jobType"},
    {"jobDefinitionConfiguration", "jobConfiguration"},
    {"activityId", "activityId"},
    {"deploymentId", "deploymentId"},
    {NULL, NULL}};
_Static_assert(sizeof copied / sizeof copied[0] - 1 == RB_JOB_LOG_KEYS, "RB_JOB_LOG_KEYS counts copied");

/* Entries keep only what is set: an absent field reads as null in the DTO,
 * and the smaller text is most of what a log write costs. */
static void put_if(rb_writer *w, const char *key, const cJSON *value) {
  if (value && !cJSON_IsNull(value)) rb_writer_item(w, key, value);
}

static void put_flag(rb_writer *w, const char *key, int on) {
  if (on) rb_writer_bool(w, key, 1);
}

/* The entry's text, written straight from the job (one entry per job
 * creation and run: no tree built and printed), into the engine's save
 * buffer. NULL on NOMEM. */
static const char *entry_text(rebatch_engine *e, const char *id, const cJSON *job,
                              rb_job_log_kind kind, int retries) {
  int failure = kind == RB_JOB_LOG_FAILURE;
  rb_writer w;
  const char *text;
  rb_writer_open(&w, e->save_text, e->save_text_cap);
  rb_writer_str(&w, "id", id);
  rb_writer_num(&w, "timestamp", rb_now(e));
  rb_writer_num(&w, "jobRetries", retries);
  for (int i = 0; copied[i][0]; i++) put_if(&w, copied[i][0], cJSON_GetObjectItemCaseSensitive(job, copied[i][1]));
  if (failure) {
    static const char *const failed[] = {"exceptionMessage", "exceptionStacktrace", "failedActivityId", NULL};
    static const char *const as[] = {"jobExceptionMessage", "exceptionStacktrace", "failedActivityId", NULL};
    for (int i = 0; failed[i]; i++) put_if(&w, as[i], cJSON_GetObjectItemCaseSensitive(job, failed[i]));
  }
  put_flag(&w, "creationLog", kind == RB_JOB_LOG_CREATION);
  put_flag(&w, "failureLog", failure);
  put_flag(&w, "successLog", kind == RB_JOB_LOG_SUCCESS);
  put_flag(&w, "deletionLog", kind == RB_JOB_LOG_DELETION);
  text = rb_writer_close(&w);
  e->save_text = w.p;
  e->save_text_cap = w.cap;
  return text;
}

/* A job is created, succeeds and is deleted at most once, so those entries
 * are named after the job (no id from the host on the hot path); failures
 * repeat and get fresh ids. */
static int entry_id(rebatch_engine *e, const cJSON *job, rb_job_log_kind kind, char *id) {
  static const char suffix[] = {'c', 'f', 's', 'd'};
  const char *job_id = rb_str(job, "id");
  if (kind == RB_JOB_LOG_FAILURE || !job_id || strlen(job_id) + 2 > REBATCH_ID_MAX) return rb_new_id(e, id);
  snprintf(id, REBATCH_ID_MAX + 1, "%s:%c", job_id, suffix[kind]);
  return REBATCH_OK;
}

int rb_job_log(rebatch_engine *e, const cJSON *job, rb_job_log_kind kind, int retries,
               char *id_out) {
  char id[REBATCH_ID_MAX + 1];
  rebatch_index_entry index[2];
  const char *text;
  int rev = 0, rc = entry_id(e, job, kind, id);
  if (rc != REBATCH_OK) return rc;
  if (!(text = entry_text(e, id, job, kind, retries))) return REBATCH_NOMEM;
  index[0].field = "jobId";
  index[0].value = rb_str(job, "id");
  index[1].field = "processInstanceId";
  index[1].value = rb_str(job, "processInstanceId");
  rc = rb_save_text(e, JOB_LOG, id, text, &rev, index, 2);
  if (rc == REBATCH_OK && id_out) strcpy(id_out, id);
  return rc;
}

int rb_job_log_keys(rb_text_field *fields) {
  int n = 0;
  for (; copied[n][0]; n++) fields[n].key = copied[n][1];
  return n;
}

/* A text the caller's walk could not read is parsed after all. */
static int log_parsed(rebatch_engine *e, const char *job_text, rb_job_log_kind kind, int retries) {
  cJSON *job;
  int rc = rb_parse_record(e, job_text, &job);
  if (rc != REBATCH_OK) return rc;
  rc = rb_job_log(e, job, kind, retries, NULL);
  cJSON_Delete(job);
  return rc;
}

/* The copied member's value among the job's fields. The search starts where
 * the last one was found: callers list the fields in the job's order, which
 * is the order of `copied`, so each lookup is usually one compare. */
static const rb_text_field *field_of(const rb_text_field *f, int count, int *at, const char *key) {
  for (int n = 0; n < count; n++) {
    int i = (*at + n) % count;
    if (strcmp(f[i].key, key) == 0) {
      *at = i + 1;
      return &f[i];
    }
  }
  return NULL;
}

int rb_job_log_fields(rebatch_engine *e, const char *job_text, const rb_text_field *f, int count,
                      rb_job_log_kind kind, int retries) {
  enum { COPIED = sizeof copied / sizeof copied[0] - 1 };
  const rb_text_field *c[COPIED];
  char id[REBATCH_ID_MAX + 1], job_id[REBATCH_ID_MAX + 1], instance[REBATCH_ID_MAX + 1];
  static const char *const flags[] = {"creationLog", "failureLog", "successLog", "deletionLog"};
  rebatch_index_entry index[2];
  rb_writer w;
  const char *text;
  int rev = 0, at = 0, got_instance = 0;
  size_t n;
  for (int i = 0; i < COPIED; i++) c[i] = field_of(f, count, &at, copied[i][1]);
  if (kind == RB_JOB_LOG_FAILURE || !c[0] || rb_field_str(c[0], job_id, sizeof job_id) <= 0 ||
      (c[2] && (got_instance = rb_field_str(c[2], instance, sizeof instance)) < 0) ||
      strlen(job_id) + 2 > REBATCH_ID_MAX)
    return log_parsed(e, job_text, kind, retries);
  n = strlen(job_id); /* named as entry_id names them */
  memcpy(id, job_id, n);
  id[n] = ':';
  id[n + 1] = "cfsd"[kind];
  id[n + 2] = '\0';
  rb_writer_open(&w, e->save_text, e->save_text_cap);
  rb_writer_str(&w, "id", id);
  rb_writer_num(&w, "timestamp", rb_now(e));
  rb_writer_num(&w, "jobRetries", retries);
  for (int i = 0; i < COPIED; i++)
    if (c[i] && c[i]->value && *c[i]->value != 'n') rb_writer_raw(&w, copied[i][0], c[i]->value, c[i]->len);
  rb_writer_bool(&w, flags[kind], 1);
  text = rb_writer_close(&w);
  e->save_text = w.p;
  e->save_text_cap = w.cap;
  if (!text) return REBATCH_NOMEM;
  index[0].field = "jobId";
  index[0].value = job_id;
  index[1].field = "processInstanceId";
  index[1].value = got_instance > 0 ? instance : NULL;
  return rb_save_text(e, JOB_LOG, id, text, &rev, index, 2);
}

static int is_flag(const cJSON *r, const char *key) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, key));
}

/* Did a job of the instance run (succeed or fail) at or before / at or
 * after the date? Behind the historic instance query's executedJob filters. */
int rb_job_log_executed(rebatch_engine *e, const char *instance_id, const cJSON *date, int before) {
  rb_docs docs = {0};
  double ms, at;
  int found = 0;
  if (rb_parse_date(date, &ms) != 1) return 0;
  if (rb_find_all(e, JOB_LOG, "processInstanceId", instance_id, &docs) == REBATCH_OK)
    for (int i = 0; !found && i < docs.count; i++) {
      const cJSON *r = docs.items[i].json;
      if (!is_flag(r, "successLog") && !is_flag(r, "failureLog")) continue;
      at = rb_date(r, "timestamp");
      found = before ? at <= ms : at >= ms;
    }
  rb_docs_clear(&docs);
  return found;
}

/* Removes the entries of the jobs of these job definitions (a batch deleted
 * with its history). A rare operation: a scan instead of one more index
 * on every entry. */
int rb_job_log_delete_for_definitions(rebatch_engine *e, const char *const *definition_ids, int count) {
  rb_docs docs = {0};
  int rc = rb_scan_all(e, JOB_LOG, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) {
    const char *jd = rb_str(docs.items[i].json, "jobDefinitionId");
    for (int k = 0; jd && k < count; k++)
      if (definition_ids[k] && strcmp(jd, definition_ids[k]) == 0) {
        rc = rb_delete(e, JOB_LOG, &docs.items[i]);
        break;
      }
  }
  rb_docs_clear(&docs);
  return rc;
}

/* ---- queries ------------------------------------------------------------ */

static cJSON *job_log_to_dto(rebatch_engine *e, const cJSON *r) {
  static const char *const fields[] = {
      "id", "timestamp", "removalTime", "jobId", "jobDueDate", "jobRetries",
      "jobPriority", "jobExceptionMessage", "jobDefinitionId",
      "jobDefinitionType", "jobDefinitionConfiguration", "activityId",
      "failedActivityId", "executionId", "processInstanceId",
      "processDefinitionId", "processDefinitionKey", "deploymentId",
      "tenantId", "hostname", "rootProcessInstanceId", "batchId",
      NULL};
  static const char *const flags[] = {"creationLog", "failureLog", "successLog", "deletionLog", NULL};
  cJSON *dto = rb_dto(r, fields);
  (void)e;
  /* Every instance is its own root: the root is not stored twice. */
  if (dto && !rb_take(dto, "rootProcessInstanceId", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(dto, "processInstanceId"), 1))) {
    cJSON_Delete(dto);
    return NULL;
  }
  for (int i = 0; dto && flags[i]; i++)
    if (!rb_put_bool(dto, flags[i], cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, flags[i])))) {
      cJSON_Delete(dto);
      return NULL;
    }
  return dto;
}

static int creation(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return is_flag(r, "creationLog");
}
static int failure(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return is_flag(r, "failureLog");
}
static int success(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return is_flag(r, "successLog");
}
static int deletion(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return is_flag(r, "deletionLog");
}

static int priority_at_most(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e;
  return rb_number_bounded(r, "jobPriority", a, 0);
}
static int priority_at_least(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e;
  return rb_number_bounded(r, "jobPriority", a, 1);
}

static const rb_filter job_log_filters[] = {
    {"logId", RB_F_EQ, "id", NULL, 0},
    {"jobId", RB_F_EQ, "jobId", NULL, 1},
    {"jobExceptionMessage", RB_F_EQ, "jobExceptionMessage", NULL, 0},
    {"jobDefinitionId", RB_F_EQ, "jobDefinitionId", NULL, 0},
    {"jobDefinitionType", RB_F_EQ, "jobDefinitionType", NULL, 0},
    {"jobDefinitionConfiguration", RB_F_EQ, "jobDefinitionConfiguration", NULL, 0},
    {"activityIdIn", RB_F_IN, "activityId", NULL, 0},
    {"failedActivityIdIn", RB_F_IN, "failedActivityId", NULL, 0},
    {"executionIdIn", RB_F_IN, "executionId", NULL, 0},
    {"processInstanceId", RB_F_EQ, "processInstanceId", NULL, 1},
    {"processDefinitionId", RB_F_EQ, "processDefinitionId", NULL, 0},
    {"processDefinitionKey", RB_F_EQ, "processDefinitionKey", NULL, 0},
    {"deploymentId", RB_F_EQ, "deploymentId", NULL, 0},
    {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},
    {"withoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0},
    {"hostname", RB_F_EQ, "hostname", NULL, 0},
    {"jobPriorityLowerThanOrEquals", RB_F_VALUE, NULL, priority_at_most, 0},
    {"jobPriorityHigherThanOrEquals", RB_F_VALUE, NULL, priority_at_least, 0},
    {"creationLog", RB_F_FLAG, NULL, creation, 0},
    {"failureLog", RB_F_FLAG, NULL, failure, 0},
    {"successLog", RB_F_FLAG, NULL, success, 0},
    {"deletionLog", RB_F_FLAG, NULL, deletion, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

/* "occurrence" is Camunda's sequence counter; entries are written in
 * order, so their timestamps order them the same way. */
static const rb_sort_key job_log_sorts[] = {
    {"timestamp", "timestamp"}, {"jobId", "jobId"}, {"jobDefinitionId", "jobDefinitionId"},
    {"jobDueDate", "jobDueDate"}, {"jobRetries", "jobRetries"}, {"jobPriority", "jobPriority"},
    {"activityId", "activityId"}, {"executionId", "executionId"},
    {"processInstanceId", "processInstanceId"}, {"processDefinitionId", "processDefinitionId"},
    {"processDefinitionKey", "processDefinitionKey"}, {"deploymentId", "deploymentId"},
    {"hostname", "hostname"}, {"occurrence", "timestamp"}, {"tenantId", "tenantId"},
    {NULL, NULL}};

static const rb_query job_log_query = {JOB_LOG, job_log_filters, job_log_sorts, job_log_to_dto};

int rb_op_getHistoricJobLogs(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_list(e, &job_log_query, request, res);
}

int rb_op_getHistoricJobLogsCount(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_count(e, &job_log_query, request, res);
}

int rb_op_getHistoricJobLog(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_get_by_id(e, JOB_LOG, request, job_log_to_dto, "Historic job log with id %s does not exist", res);
}

/* A record's text field as a text/plain answer: 200 with the text, 204
 * when the record has none; `missing` is the error for an unknown id. */
static int text_of(rebatch_engine *e, const char *coll, const char *id, const char *field,
                   const char *missing, const char *what, rb_response *res) {
  const char *text;
  rb_doc doc;
  cJSON *body = NULL;
  int rc = rb_load(e, coll, id, &doc);
  if (rc == REBATCH_OK && !doc.json)
    rc = rb_not_found(res, "InvalidRequestException", "%s %s: %s is null", missing, id ? id : "null", what);
  text = rc == REBATCH_OK ? rb_str(doc.json, field) : NULL;
  if (text && !(body = cJSON_CreateString(text))) rc = REBATCH_NOMEM;
  rb_doc_clear(&doc);
  if (rc != REBATCH_OK) return rc;
  return body ? rb_ok(res, 200, body) : rb_ok(res, 204, NULL);
}

/* Camunda: the commands' NullValueException ("No ... found with id <id>:
 * <what> is null") becomes a 404 InvalidRequestException. */
int rb_op_getHistoricJobLogStacktrace(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return text_of(e, JOB_LOG, rb_str(request, "id"), "exceptionStacktrace", "No historic job log found with id",
                 "historicJobLog", res);
}

int rb_op_getJobStacktrace(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return text_of(e, "job", rb_str(request, "id"), "exceptionStacktrace", "No job found with id", "job", res);
}
