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

/* The job log is most of what a batch leaves behind (two entries an item:
 * its execution job's creation and success), so its records are compact:
 * short keys (the DTO, the filters and the sorts name them below), the kind
 * as one letter "k" instead of four flags, and no configuration when it is
 * the batch id (a batch job's always is; CONFIG then reads it from "b").
 * Keys that other modules read keep their names: jobId and
 * processInstanceId (indexed), jobDefinitionId (a batch's removal time and
 * deletion), tenantId (the tenant filters), removalTime,
 * exceptionStacktrace and failedActivityId. */
#define TIMESTAMP "t"
#define RETRIES "r"
#define PRIORITY "p"
#define DUE "due"
#define TYPE "dt"
#define CONFIG "dc"
#define BATCH "b"
#define ACTIVITY "a"
#define EXECUTION "x"
#define DEFINITION "pd"
#define DEFINITION_KEY "pk"
#define DEPLOYMENT "dp"
#define MESSAGE "m"
#define KIND "k"

/* The job fields every entry copies, as (log key, job field), in the
 * order rb_job_create writes them. */
static const char *const copied[][2] = {
    {"jobId", "id"},
    {"jobDefinitionId", "jobDefinitionId"},
    {"processInstanceId", "processInstanceId"},
    {DEFINITION, "processDefinitionId"},
    {DEFINITION_KEY, "processDefinitionKey"},
    {EXECUTION, "executionId"},
    {DUE, "dueDate"},
    {PRIORITY, "priority"},
    {"tenantId", "tenantId"},
    {BATCH, "batchId"},
    {TYPE, "jobType"},
    {CONFIG, "jobConfiguration"},
    {ACTIVITY, "activityId"},
    {DEPLOYMENT, "deploymentId"},
    {NULL, NULL}};
_Static_assert(sizeof copied / sizeof copied[0] - 1 == RB_JOB_LOG_KEYS, "RB_JOB_LOG_KEYS counts copied");
enum { COPIED_BATCH = 9, COPIED_CONFIG = 11 };

/* The kinds' letters, in rb_job_log_kind's order. */
static const char kinds[] = "cfsd";

/* Entries keep only what is set: an absent field reads as null in the DTO,
 * and the smaller text is most of what a log write costs. */
static void put_if(rb_writer *w, const char *key, const cJSON *value) {
  if (value && !cJSON_IsNull(value)) rb_writer_item(w, key, value);
}

static void put_kind(rb_writer *w, rb_job_log_kind kind) {
  char letter[2] = {kinds[kind], '\0'};
  rb_writer_str(w, KIND, letter);
}

/* The configuration is left out when it is the batch id; a batch job
 * without one says so (null), or the reader would take the batch id. */
static int config_implied(const cJSON *config, const cJSON *batch) {
  return cJSON_IsString(batch) && cJSON_IsString(config) && strcmp(config->valuestring, batch->valuestring) == 0;
}

/* The entry's text, written straight from the job (one entry per job
 * creation and run: no tree built and printed), into the engine's save
 * buffer. NULL on NOMEM. */
static const char *entry_text(rebatch_engine *e, const char *id, const cJSON *job,
                              rb_job_log_kind kind, int retries) {
  int failure = kind == RB_JOB_LOG_FAILURE;
  const cJSON *batch = cJSON_GetObjectItemCaseSensitive(job, copied[COPIED_BATCH][1]);
  rb_writer w;
  const char *text;
  rb_writer_open(&w, e->save_text, e->save_text_cap);
  rb_writer_str(&w, "id", id);
  rb_writer_num(&w, TIMESTAMP, rb_now(e));
  rb_writer_num(&w, RETRIES, retries);
  for (int i = 0; copied[i][0]; i++) {
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(job, copied[i][1]);
    if (i != COPIED_CONFIG) put_if(&w, copied[i][0], value);
    else if (!config_implied(value, batch)) {
      if (value && !cJSON_IsNull(value)) rb_writer_item(&w, CONFIG, value);
      else if (cJSON_IsString(batch)) rb_writer_raw(&w, CONFIG, "null", 4);
    }
  }
  if (failure) {
    static const char *const failed[] = {"exceptionMessage", "exceptionStacktrace", "failedActivityId", NULL};
    static const char *const as[] = {MESSAGE, "exceptionStacktrace", "failedActivityId", NULL};
    for (int i = 0; failed[i]; i++) put_if(&w, as[i], cJSON_GetObjectItemCaseSensitive(job, failed[i]));
  }
  put_kind(&w, kind);
  text = rb_writer_close(&w);
  e->save_text = w.p;
  e->save_text_cap = w.cap;
  return text;
}

/* A job is created, succeeds and is deleted at most once, so those entries
 * are named after the job (no id from the host on the hot path); failures
 * repeat and get fresh ids. */
static int entry_id(rebatch_engine *e, const cJSON *job, rb_job_log_kind kind, char *id) {
  const char *job_id = rb_str(job, "id");
  if (kind == RB_JOB_LOG_FAILURE || !job_id || strlen(job_id) + 2 > REBATCH_ID_MAX) return rb_new_id(e, id);
  snprintf(id, REBATCH_ID_MAX + 1, "%s:%c", job_id, kinds[kind]);
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

static int set(const rb_text_field *f) { return f && f->value && *f->value != 'n'; }

/* config_implied over the job's text: the same JSON string, byte for byte
 * (the two were written by the same writer, escapes alike). */
static int raw_config_implied(const rb_text_field *config, const rb_text_field *batch) {
  return set(config) && set(batch) && *config->value == '"' && config->len == batch->len &&
         memcmp(config->value, batch->value, config->len) == 0;
}

int rb_job_log_fields(rebatch_engine *e, const char *job_text, const rb_text_field *f, int count,
                      rb_job_log_kind kind, int retries) {
  enum { COPIED = sizeof copied / sizeof copied[0] - 1 };
  const rb_text_field *c[COPIED];
  char id[REBATCH_ID_MAX + 1], job_id[REBATCH_ID_MAX + 1], instance[REBATCH_ID_MAX + 1];
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
  id[n + 1] = kinds[kind];
  id[n + 2] = '\0';
  rb_writer_open(&w, e->save_text, e->save_text_cap);
  rb_writer_str(&w, "id", id);
  rb_writer_num(&w, TIMESTAMP, rb_now(e));
  rb_writer_num(&w, RETRIES, retries);
  for (int i = 0; i < COPIED; i++) {
    if (i == COPIED_CONFIG && raw_config_implied(c[i], c[COPIED_BATCH])) continue;
    if (set(c[i])) rb_writer_raw(&w, copied[i][0], c[i]->value, c[i]->len);
    else if (i == COPIED_CONFIG && set(c[COPIED_BATCH])) rb_writer_raw(&w, CONFIG, "null", 4);
  }
  put_kind(&w, kind);
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

static int is_kind(const cJSON *r, rb_job_log_kind kind) {
  const char *k = rb_str(r, KIND);
  return k && k[0] == kinds[kind] && !k[1];
}

/* The entry's jobDefinitionConfiguration: stored, or implied by its batch. */
static const cJSON *config_of(const cJSON *r) {
  const cJSON *config = cJSON_GetObjectItemCaseSensitive(r, CONFIG);
  return config ? config : cJSON_GetObjectItemCaseSensitive(r, BATCH);
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
      if (!is_kind(r, RB_JOB_LOG_SUCCESS) && !is_kind(r, RB_JOB_LOG_FAILURE)) continue;
      at = rb_date(r, TIMESTAMP);
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

/* One DTO member from the stored key (NULL: derived, below). */
static int dto_member(cJSON *dto, const cJSON *r, const char *name, const char *key) {
  static const char *const dates[] = {"timestamp", "removalTime", "jobDueDate", NULL};
  const cJSON *value;
  for (int i = 0; dates[i]; i++)
    if (strcmp(name, dates[i]) == 0) return rb_put_date(dto, name, rb_date(r, key));
  if (strcmp(name, "jobDefinitionConfiguration") == 0) value = config_of(r);
  else if (strcmp(name, "rootProcessInstanceId") == 0) value = cJSON_GetObjectItemCaseSensitive(r, "processInstanceId");
  else value = cJSON_GetObjectItemCaseSensitive(r, key);
  return rb_take(dto, name, value ? cJSON_Duplicate(value, 1) : cJSON_CreateNull());
}

static cJSON *job_log_to_dto(rebatch_engine *e, const cJSON *r) {
  /* (DTO field, stored key), in Camunda's order. Every instance is its own
   * root: the root is not stored twice. */
  static const char *const fields[][2] = {
      {"id", "id"}, {"timestamp", TIMESTAMP}, {"removalTime", "removalTime"}, {"jobId", "jobId"},
      {"jobDueDate", DUE}, {"jobRetries", RETRIES}, {"jobPriority", PRIORITY}, {"jobExceptionMessage", MESSAGE},
      {"jobDefinitionId", "jobDefinitionId"}, {"jobDefinitionType", TYPE}, {"jobDefinitionConfiguration", NULL},
      {"activityId", ACTIVITY}, {"failedActivityId", "failedActivityId"}, {"executionId", EXECUTION},
      {"processInstanceId", "processInstanceId"}, {"processDefinitionId", DEFINITION},
      {"processDefinitionKey", DEFINITION_KEY}, {"deploymentId", DEPLOYMENT}, {"tenantId", "tenantId"},
      {"hostname", "hostname"}, {"rootProcessInstanceId", NULL}, {"batchId", BATCH}, {NULL, NULL}};
  static const char *const flags[] = {"creationLog", "failureLog", "successLog", "deletionLog", NULL};
  cJSON *dto = cJSON_CreateObject();
  (void)e;
  for (int i = 0; dto && fields[i][0]; i++)
    if (!dto_member(dto, r, fields[i][0], fields[i][1])) {
      cJSON_Delete(dto);
      return NULL;
    }
  for (int i = 0; dto && flags[i]; i++)
    if (!rb_put_bool(dto, flags[i], is_kind(r, (rb_job_log_kind)i))) {
      cJSON_Delete(dto);
      return NULL;
    }
  return dto;
}

static int creation(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return is_kind(r, RB_JOB_LOG_CREATION);
}
static int failure(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return is_kind(r, RB_JOB_LOG_FAILURE);
}
static int success(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return is_kind(r, RB_JOB_LOG_SUCCESS);
}
static int deletion(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return is_kind(r, RB_JOB_LOG_DELETION);
}

/* RB_F_EQ's test (the parameter read as its text), on the configuration
 * stored or implied. */
static int config_equals(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  const cJSON *config = config_of(r);
  char buf[32];
  const char *want = cJSON_IsString(a) ? a->valuestring : NULL;
  (void)e;
  if (cJSON_IsNumber(a)) {
    snprintf(buf, sizeof buf, "%.0f", a->valuedouble);
    want = buf;
  } else if (cJSON_IsBool(a)) want = cJSON_IsTrue(a) ? "true" : "false";
  return want && cJSON_IsString(config) && strcmp(config->valuestring, want) == 0;
}

static int priority_at_most(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e;
  return rb_number_bounded(r, PRIORITY, a, 0);
}
static int priority_at_least(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e;
  return rb_number_bounded(r, PRIORITY, a, 1);
}

static const rb_filter job_log_filters[] = {
    {"logId", RB_F_EQ, "id", NULL, 0},
    {"jobId", RB_F_EQ, "jobId", NULL, 1},
    {"jobExceptionMessage", RB_F_EQ, MESSAGE, NULL, 0},
    {"jobDefinitionId", RB_F_EQ, "jobDefinitionId", NULL, 0},
    {"jobDefinitionType", RB_F_EQ, TYPE, NULL, 0},
    {"jobDefinitionConfiguration", RB_F_VALUE, NULL, config_equals, 0},
    {"activityIdIn", RB_F_IN, ACTIVITY, NULL, 0},
    {"failedActivityIdIn", RB_F_IN, "failedActivityId", NULL, 0},
    {"executionIdIn", RB_F_IN, EXECUTION, NULL, 0},
    {"processInstanceId", RB_F_EQ, "processInstanceId", NULL, 1},
    {"processDefinitionId", RB_F_EQ, DEFINITION, NULL, 0},
    {"processDefinitionKey", RB_F_EQ, DEFINITION_KEY, NULL, 0},
    {"deploymentId", RB_F_EQ, DEPLOYMENT, NULL, 0},
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
    {"timestamp", TIMESTAMP}, {"jobId", "jobId"}, {"jobDefinitionId", "jobDefinitionId"},
    {"jobDueDate", DUE}, {"jobRetries", RETRIES}, {"jobPriority", PRIORITY},
    {"activityId", ACTIVITY}, {"executionId", EXECUTION},
    {"processInstanceId", "processInstanceId"}, {"processDefinitionId", DEFINITION},
    {"processDefinitionKey", DEFINITION_KEY}, {"deploymentId", DEPLOYMENT},
    {"hostname", "hostname"}, {"occurrence", TIMESTAMP}, {"tenantId", "tenantId"},
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
