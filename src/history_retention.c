/*
 * history_retention.c - how long history stays: the removal time of a
 * process instance's history (written on every record of it) and the
 * history cleanup job that removes the history whose removal time has
 * passed (POST /history/cleanup).
 */
#include "core.h"

#include <string.h>

#define HISTORIC_INSTANCE "historicProcessInstance"
#define JOB "job"
#define CLEANUP_JOB "history-cleanup"

/* The history of an instance, by collection, with the indexed fields each
 * declares on save (read back from the record: they are its members). */
typedef struct history_collection {
  const char *name;
  const char *index[3];
  int count;
} history_collection;

static const history_collection instance_history = {HISTORIC_INSTANCE,
                                                     {"processDefinitionId", "processDefinitionKey", "businessKey"}, 3};
static const history_collection related_history[] = {
    {"historicActivityInstance", {"processInstanceId"}, 1},
    {"historicVariableInstance", {"processInstanceId", "name"}, 2},
    {"historicDetail", {"processInstanceId", "variableInstanceId"}, 2},
    {"historicIncident", {"configuration", "processInstanceId"}, 2},
    {"historicJobLog", {"jobId", "processInstanceId"}, 2},
};

static int save_with_removal_time(rebatch_engine *e, const history_collection *c, rb_doc *doc, double ms) {
  rebatch_index_entry index[3];
  cJSON *value = ms == RB_NO_DATE ? cJSON_CreateNull() : cJSON_CreateNumber(ms);
  if (!rb_take(doc->json, "removalTime", value)) return REBATCH_NOMEM;
  for (int i = 0; i < c->count; i++) {
    index[i].field = c->index[i];
    index[i].value = rb_str(doc->json, c->index[i]);
  }
  return rb_save(e, c->name, doc, index, c->count);
}

int rb_history_set_removal_time(rebatch_engine *e, rb_doc *hist, double ms) {
  int rc = save_with_removal_time(e, &instance_history, hist, ms);
  for (size_t k = 0; rc == REBATCH_OK && k < sizeof related_history / sizeof related_history[0]; k++) {
    rb_docs docs = {0};
    rc = rb_find_all(e, related_history[k].name, "processInstanceId", hist->id, &docs);
    for (int i = 0; rc == REBATCH_OK && i < docs.count; i++)
      rc = save_with_removal_time(e, &related_history[k], &docs.items[i], ms);
    rb_docs_clear(&docs);
  }
  return rc;
}

/* The job log and historic incidents of a batch's jobs, found by their
 * job definitions (a scan: batch jobs belong to no process instance). */
int rb_job_history_set_removal_time(rebatch_engine *e, const char *const *definition_ids, int count, double ms) {
  static const history_collection *const colls[] = {&related_history[3], &related_history[4]};
  int rc = REBATCH_OK;
  for (int c = 0; rc == REBATCH_OK && c < 2; c++) {
    rb_docs docs = {0};
    rc = rb_scan_all(e, colls[c]->name, &docs);
    for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) {
      const char *jd = rb_str(docs.items[i].json, "jobDefinitionId");
      for (int k = 0; jd && k < count; k++)
        if (definition_ids[k] && strcmp(jd, definition_ids[k]) == 0) {
          rc = save_with_removal_time(e, colls[c], &docs.items[i], ms);
          break;
        }
    }
    rb_docs_clear(&docs);
  }
  return rc;
}

/* ---- history cleanup --------------------------------------------------------------- */

int rb_history_cleanup_job(const char *job_type) { return job_type && strcmp(job_type, CLEANUP_JOB) == 0; }

/* Removes every historic instance whose removal time has passed, with
 * its whole history, and every such historic batch with its jobs' log. */
int rb_history_cleanup_run(rebatch_engine *e) {
  rb_docs docs = {0};
  double now = rb_now(e);
  int rc = rb_scan_all(e, HISTORIC_INSTANCE, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) {
    double at = rb_date(docs.items[i].json, "removalTime");
    rb_history_deletion outcome;
    if (at >= 0 && at <= now) rc = rb_history_instance_delete(e, docs.items[i].id, &outcome);
  }
  rb_docs_clear(&docs);
  if (rc == REBATCH_OK) rc = rb_scan_all(e, "historicBatch", &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) {
    double at = rb_date(docs.items[i].json, "removalTime");
    if (at >= 0 && at <= now) rc = rb_historic_batch_delete(e, &docs.items[i]);
  }
  rb_docs_clear(&docs);
  return rc;
}

/* The cleanup job, if there is one (*job cleared first). */
static int find_cleanup_job(rebatch_engine *e, rb_doc *job) {
  rb_docs docs = {0};
  int rc = rb_scan_all(e, JOB, &docs);
  memset(job, 0, sizeof *job);
  for (int i = 0; rc == REBATCH_OK && i < docs.count && !job->json; i++)
    if (rb_history_cleanup_job(rb_str(docs.items[i].json, "jobType"))) {
      *job = docs.items[i];
      memset(&docs.items[i], 0, sizeof docs.items[i]);
    }
  rb_docs_clear(&docs);
  return rc;
}

/* GET /history/cleanup/job and /jobs: 404 RestException without one. */
static int cleanup_jobs(rebatch_engine *e, int list, rb_response *res) {
  cJSON *dto = NULL, *out;
  rb_doc job;
  int rc = find_cleanup_job(e, &job);
  if (rc == REBATCH_OK && !job.json)
    rc = rb_error(res, 404, "RestException", RB_CODE_NULL, list ? "History cleanup jobs are empty" : "History cleanup job does not exist");
  if (rc == REBATCH_OK && !(dto = rb_job_to_dto(e, job.json))) rc = REBATCH_NOMEM;
  rb_doc_clear(&job);
  if (rc != REBATCH_OK) return rc;
  if (!list) return rb_ok(res, 200, dto);
  if (!(out = cJSON_CreateArray()) || !cJSON_AddItemToArray(out, dto)) {
    cJSON_Delete(out);
    cJSON_Delete(dto);
    return REBATCH_NOMEM;
  }
  return rb_ok(res, 200, out);
}

int rb_op_getHistoryCleanupJob(rebatch_engine *e, const cJSON *request, rb_response *res) {
  (void)request;
  return cleanup_jobs(e, 0, res);
}

int rb_op_getHistoryCleanupJobs(rebatch_engine *e, const cJSON *request, rb_response *res) {
  (void)request;
  return cleanup_jobs(e, 1, res);
}

/* rebatch has no batch windows: the cleanup runs whenever its job is due. */
int rb_op_getHistoryCleanupConfiguration(rebatch_engine *e, const cJSON *request, rb_response *res) {
  cJSON *dto = cJSON_CreateObject();
  (void)e; (void)request;
  if (!dto || !rb_put_null(dto, "batchWindowStartTime") || !rb_put_null(dto, "batchWindowEndTime") ||
      !rb_put_bool(dto, "enabled", 1)) {
    cJSON_Delete(dto);
    return REBATCH_NOMEM;
  }
  return rb_ok(res, 200, dto);
}

/* POST /history/cleanup: the one cleanup job, created when there is none,
 * due now when immediatelyDue (the default) or already due; its JobDto. */
int rb_op_cleanupHistory(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *due_param = rb_str(cJSON_GetObjectItemCaseSensitive(request, "query"), "immediatelyDue");
  int immediately = !(due_param && strcmp(due_param, "false") == 0);
  char id[REBATCH_ID_MAX + 1];
  rb_doc job;
  cJSON *dto;
  int rc = find_cleanup_job(e, &job);
  if (rc == REBATCH_OK && !job.json) {
    rb_job_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.job_type = CLEANUP_JOB;
    spec.due_date = immediately ? rb_now(e) : RB_NO_DATE;
    spec.retries = e->config.default_retries;
    rc = rb_job_create(e, &spec, id);
    if (rc == REBATCH_OK) rc = rb_load(e, JOB, id, &job);
  } else if (rc == REBATCH_OK && immediately) {
    rc = rb_set_num(job.json, "dueDate", rb_now(e)) ? rb_job_save(e, &job) : REBATCH_NOMEM;
  }
  dto = rc == REBATCH_OK && job.json ? rb_job_to_dto(e, job.json) : NULL;
  rb_doc_clear(&job);
  if (rc != REBATCH_OK) return rc;
  return dto ? rb_ok(res, 200, dto) : REBATCH_NOMEM;
}
