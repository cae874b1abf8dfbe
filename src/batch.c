/*
 * batch.c - Camunda's batch framework: a batch holds the ids of the work
 * items; its seed job turns them into execution jobs (batchJobsPerSeed per
 * run, invocationsPerBatchJob items each), the execution jobs apply the
 * operation, and the monitor job ends the batch once no execution job is
 * left. Batches also live in history.
 */
#include "core.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

#define BATCH "batch"
#define HISTORIC_BATCH "historicBatch"
#define JOB "job"
#define JOB_DEFINITION "jobDefinition"
#define SEED_JOB "batch-seed-job"
#define MONITOR_JOB "batch-monitor-job"
#define CHUNK "batchChunk"

/* ---- id groups ------------------------------------------------------------ */

/* Case-insensitive deployment order with the unknown deployment last, as
 * Camunda's BatchElementConfiguration sorts its groups. */
static int deployment_order(const char *a, const char *b) {
  if (!a || !b) return (a == NULL) - (b == NULL);
  return strcasecmp(a, b);
}

/* Appends an id to its deployment's group: [{deploymentId, ids: [..]}].
 * Groups are put in deployment order and duplicates removed later, by
 * rb_batch_item_count: cJSON_InsertItemInArray cannot place a group
 * between two others (the CVE-2023-50471 check of cJSON 1.7.17, which
 * Debian's 1.7.15 carries, refuses every new item not put first). */
int rb_batch_add_item(cJSON *groups, const char *deployment_id, const char *id) {
  cJSON *group, *item;
  cJSON_ArrayForEach(group, groups)
    if (deployment_order(rb_str(group, "deploymentId"), deployment_id) == 0) break;
  if (!group) {
    group = cJSON_CreateObject();
    if (!group || !rb_put_str(group, "deploymentId", deployment_id) || !cJSON_AddArrayToObject(group, "ids") ||
        !cJSON_AddItemToArray(groups, group)) {
      cJSON_Delete(group);
      return REBATCH_NOMEM;
    }
  }
  item = cJSON_CreateString(id);
  if (!item || !cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(group, "ids"), item)) {
    cJSON_Delete(item);
    return REBATCH_NOMEM;
  }
  return REBATCH_OK;
}

static int compare_items(const void *a, const void *b) {
  return strcmp((*(cJSON *const *)a)->valuestring, (*(cJSON *const *)b)->valuestring);
}

/* Sorts and deduplicates every group (Camunda keeps a set per deployment,
 * so the order inside a group is ours to choose: id order is repeatable). */
static int seal_group(cJSON *ids) {
  int n = cJSON_GetArraySize(ids), kept = 0;
  cJSON **items, *item;
  if (n < 2) return 1;
  if (!(items = rb_malloc((size_t)n * sizeof *items))) return 0;
  n = 0;
  while ((item = ids->child)) items[n++] = cJSON_DetachItemViaPointer(ids, item);
  qsort(items, (size_t)n, sizeof *items, compare_items);
  for (int i = 0; i < n; i++) {
    if (kept && strcmp(items[i]->valuestring, items[kept - 1]->valuestring) == 0) cJSON_Delete(items[i]);
    else items[kept++] = items[i];
  }
  for (int i = 0; i < kept; i++) cJSON_AddItemToArray(ids, items[i]);
  rb_free(items);
  return 1;
}

static int compare_groups(const void *a, const void *b) {
  return deployment_order(rb_str(*(cJSON *const *)a, "deploymentId"), rb_str(*(cJSON *const *)b, "deploymentId"));
}

/* Puts the groups in deployment order, detaching and re-adding them (see
 * rb_batch_add_item). */
static int sort_groups(cJSON *groups) {
  int n = cJSON_GetArraySize(groups);
  cJSON **items, *item;
  if (n < 2) return 1;
  if (!(items = rb_malloc((size_t)n * sizeof *items))) return 0;
  n = 0;
  while ((item = groups->child)) items[n++] = cJSON_DetachItemViaPointer(groups, item);
  qsort(items, (size_t)n, sizeof *items, compare_groups);
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(groups, items[i]);
  rb_free(items);
  return 1;
}

int rb_batch_item_count(cJSON *groups) {
  cJSON *group;
  int n = 0;
  if (!sort_groups(groups)) return -1;
  cJSON_ArrayForEach(group, groups) {
    cJSON *ids = cJSON_GetObjectItemCaseSensitive(group, "ids");
    if (!seal_group(ids)) return -1;
    n += cJSON_GetArraySize(ids);
  }
  return n;
}

/* ---- records -------------------------------------------------------------- */

static int save_batch(rebatch_engine *e, rb_doc *doc) {
  rebatch_index_entry index[] = {{"type", rb_str(doc->json, "type")}};
  return rb_save(e, BATCH, doc, index, 1);
}

static int save_history(rebatch_engine *e, rb_doc *doc) {
  rebatch_index_entry index[] = {{"type", rb_str(doc->json, "type")}};
  return rb_save(e, HISTORIC_BATCH, doc, index, 1);
}

int rb_batch_invocations(rebatch_engine *e, const char *type) {
  long long v;
  if (rb_int(e->config.invocations_by_batch_type, type, &v) == 1 && v >= 0) return (int)v;
  return e->config.invocations_per_batch_job;
}

static int invocations_for(rebatch_engine *e, const rb_batch_type *type, const cJSON *params) {
  return type->invocations ? type->invocations(e, params) : rb_batch_invocations(e, type->name);
}

/* ---- the batch types ------------------------------------------------------- */

static const rb_batch_type *const batch_types[] = {
    &rb_batch_set_job_retries,
    &rb_batch_set_external_task_retries,
    &rb_batch_instance_restart,
    &rb_batch_instance_modification,
    &rb_batch_correlate_message,
    &rb_batch_instance_migration,
    &rb_batch_instance_deletion,
    &rb_batch_instance_suspension_state,
    &rb_batch_set_variables,
    &rb_batch_historic_instance_deletion,
    &rb_batch_process_set_removal_time,
    &rb_batch_batch_set_removal_time,
};

static const rb_batch_type *type_named(const char *name) {
  for (size_t i = 0; name && i < sizeof batch_types / sizeof batch_types[0]; i++)
    if (strcmp(batch_types[i]->name, name) == 0) return batch_types[i];
  return NULL;
}

static int new_job_definition(rebatch_engine *e, const char *batch_id,
                              const char *job_type, const char *deployment_id,
                              const char *tenant, char *id) {
  cJSON *jd;
  rb_doc doc;
  int rc = rb_new_id(e, id);
  if (rc != REBATCH_OK) return rc;
  if (!(jd = cJSON_CreateObject())) return REBATCH_NOMEM;
  rb_put_str(jd, "id", id);
  rb_put_null(jd, "processDefinitionId");
  rb_put_null(jd, "processDefinitionKey");
  rb_put_null(jd, "activityId");
  rb_put_str(jd, "jobType", job_type);
  rb_put_str(jd, "jobConfiguration", batch_id);
  rb_put_null(jd, "overridingJobPriority");
  rb_put_bool(jd, "suspended", 0);
  rb_put_str(jd, "tenantId", tenant);
  rb_put_str(jd, "deploymentId", deployment_id);
  if ((rc = rb_doc_init(&doc, id, jd)) != REBATCH_OK) return rc;
  rc = rb_job_definition_save(e, &doc);
  rb_doc_clear(&doc);
  return rc;
}

static int batch_job(rebatch_engine *e, const cJSON *batch, const char *definition_field,
                     const char *job_type, const char *deployment_id, double due,
                     cJSON *items) {
  rb_job_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.job_definition_id = rb_str(batch, definition_field);
  spec.job_type = job_type;
  spec.configuration = rb_str(batch, "id");
  spec.deployment_id = deployment_id;
  spec.batch_id = rb_str(batch, "id");
  spec.tenant_id = rb_str(batch, "tenantId");
  spec.due_date = due;
  spec.retries = e->config.default_retries;
  spec.suspended = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(batch, "suspended"));
  spec.batch_items = items;
  return rb_job_create(e, &spec, NULL);
}

static cJSON *new_batch(rebatch_engine *e, const char *id, const char *type,
                        const char *tenant, int items, int invocations, double now) {
  cJSON *b = cJSON_CreateObject();
  if (!b) return NULL;
  rb_put_str(b, "id", id);
  rb_put_str(b, "type", type);
  rb_put_num(b, "totalJobs", items == 0 || invocations == 0 ? 0 : ceil((double)items / invocations));
  rb_put_num(b, "jobsCreated", 0);
  rb_put_num(b, "batchJobsPerSeed", e->config.batch_jobs_per_seed);
  rb_put_num(b, "invocationsPerBatchJob", invocations);
  rb_put_bool(b, "suspended", 0);
  rb_put_str(b, "tenantId", tenant);
  rb_put_null(b, "createUserId");
  rb_put_num(b, "startTime", now);
  rb_put_null(b, "executionStartTime");
  return b;
}

static cJSON *history_of(const cJSON *b) {
  static const char *const fields[] = {
      "id", "type", "totalJobs", "batchJobsPerSeed", "invocationsPerBatchJob",
      "seedJobDefinitionId", "monitorJobDefinitionId", "batchJobDefinitionId",
      "tenantId", "createUserId", "startTime", NULL};
  cJSON *h = cJSON_CreateObject();
  for (int i = 0; h && fields[i]; i++) rb_copy(h, b, fields[i]);
  if (h && (!rb_put_null(h, "endTime") || !rb_put_null(h, "removalTime") ||
            !rb_put_null(h, "executionStartTime"))) {
    cJSON_Delete(h);
    return NULL;
  }
  return h;
}

/* Items per seed run: Camunda's invocationsPerBatchJob x batchJobsPerSeed. */
static int chunk_size(rebatch_engine *e, int invocations) {
  return (invocations > 0 ? invocations : 1) * e->config.batch_jobs_per_seed;
}

/* The ids wait in chunk records, one per seed run, so a seed run reads and
 * deletes one small record instead of rewriting the whole id list (which
 * would make large batches quadratic). Chunk ids sort in creation order. */
static int save_chunk(rebatch_engine *e, const char *batch_id, int seq,
                      const char *deployment_id, cJSON *ids) {
  char id[REBATCH_ID_MAX + 16];
  cJSON *chunk = cJSON_CreateObject();
  rb_doc doc;
  rebatch_index_entry index[1];
  int rc;
  snprintf(id, sizeof id, "%s:%09d", batch_id, seq);
  if (!chunk || !rb_put_str(chunk, "batchId", batch_id) || !rb_put_str(chunk, "deploymentId", deployment_id) ||
      !cJSON_AddItemToObject(chunk, "ids", ids)) {
    cJSON_Delete(ids);
    cJSON_Delete(chunk);
    return REBATCH_NOMEM;
  }
  if ((rc = rb_doc_init(&doc, id, chunk)) != REBATCH_OK) return rc;
  index[0].field = "batchId";
  index[0].value = batch_id;
  rc = rb_save(e, CHUNK, &doc, index, 1);
  rb_doc_clear(&doc);
  return rc;
}

static int save_chunks(rebatch_engine *e, const char *batch_id, cJSON *groups, int size) {
  cJSON *group;
  int seq = 0, rc = REBATCH_OK;
  cJSON_ArrayForEach(group, groups) {
    cJSON *ids = cJSON_GetObjectItemCaseSensitive(group, "ids");
    while (rc == REBATCH_OK && ids->child) {
      cJSON *slice = cJSON_CreateArray();
      for (int n = 0; slice && n < size && ids->child; n++)
        cJSON_AddItemToArray(slice, cJSON_DetachItemViaPointer(ids, ids->child));
      rc = slice ? save_chunk(e, batch_id, seq++, rb_str(group, "deploymentId"), slice) : REBATCH_NOMEM;
    }
  }
  return rc;
}

static const char *first_deployment(const cJSON *groups) {
  return rb_str(cJSON_GetArrayItem(groups, 0), "deploymentId");
}

/* Creates a batch over `groups` (see rb_batch_add_item; taken over) with
 * operation parameters `params` (taken over): its three job definitions,
 * its history, its id chunks and its first seed job. *dto is the BatchDto. */
int rb_batch_create(rebatch_engine *e, const rb_batch_type *type, const char *tenant,
                    cJSON *groups, cJSON *params, cJSON **dto) {
  char id[REBATCH_ID_MAX + 1], seed[REBATCH_ID_MAX + 1], monitor[REBATCH_ID_MAX + 1], exec[REBATCH_ID_MAX + 1];
  char deployment[REBATCH_ID_MAX + 1];
  int invocations = invocations_for(e, type, params), items = rb_batch_item_count(groups), rc;
  const char *first = first_deployment(groups);
  cJSON *b = NULL, *h;
  rb_doc doc, hist;
  *dto = NULL;
  snprintf(deployment, sizeof deployment, "%s", first ? first : "");
  rc = items < 0 ? REBATCH_NOMEM : rb_new_id(e, id);
  if (rc == REBATCH_OK && !(b = new_batch(e, id, type->name, tenant, items, invocations, rb_now(e)))) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK && cJSON_AddItemToObject(b, "params", params)) params = NULL;
  else if (rc == REBATCH_OK) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = new_job_definition(e, id, SEED_JOB, first ? deployment : NULL, tenant, seed);
  if (rc == REBATCH_OK) rc = new_job_definition(e, id, MONITOR_JOB, NULL, tenant, monitor);
  if (rc == REBATCH_OK) rc = new_job_definition(e, id, type->name, NULL, tenant, exec);
  if (rc == REBATCH_OK && (!rb_put_str(b, "seedJobDefinitionId", seed) || !rb_put_str(b, "monitorJobDefinitionId", monitor) ||
                           !rb_put_str(b, "batchJobDefinitionId", exec)))
    rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = save_chunks(e, id, groups, chunk_size(e, invocations));
  cJSON_Delete(params);
  cJSON_Delete(groups);
  if (rc != REBATCH_OK) {
    cJSON_Delete(b);
    return rc;
  }
  if ((rc = rb_doc_init(&doc, id, b)) != REBATCH_OK) return rc;
  rc = save_batch(e, &doc);
  if (rc == REBATCH_OK) {
    h = history_of(doc.json);
    rc = h ? rb_doc_init(&hist, id, h) : REBATCH_NOMEM;
    if (rc == REBATCH_OK) {
      rc = save_history(e, &hist);
      rb_doc_clear(&hist);
    }
  }
  if (rc == REBATCH_OK)
    rc = batch_job(e, doc.json, "seedJobDefinitionId", SEED_JOB, first ? deployment : NULL, RB_NO_DATE, NULL);
  if (rc == REBATCH_OK && !(*dto = rb_batch_to_dto(e, doc.json))) rc = REBATCH_NOMEM;
  rb_doc_clear(&doc);
  return rc;
}

void rb_batch_selection_clear(rb_batch_selection *sel) {
  cJSON_Delete(sel->groups);
  cJSON_Delete(sel->params);
  rb_free(sel->tenant_id);
  memset(sel, 0, sizeof *sel);
}

int rb_batch_start(rebatch_engine *e, const rb_batch_type *type, int source,
                   const cJSON *request, rb_response *res) {
  rb_batch_selection sel = {NULL, NULL, NULL};
  cJSON *dto = NULL;
  int rc = type->select(e, source, request, &sel, res);
  if (rc == REBATCH_OK) {
    rc = rb_batch_create(e, type, sel.tenant_id, sel.groups, sel.params, &dto);
    sel.groups = sel.params = NULL;
  }
  rb_batch_selection_clear(&sel);
  return rc == REBATCH_OK ? rb_ok(res, 200, dto) : rc;
}

int rb_batch_run_now(rebatch_engine *e, const rb_batch_type *type, int source,
                     const cJSON *request, rb_response *res) {
  rb_batch_selection sel = {NULL, NULL, NULL};
  const cJSON *group, *id;
  int rc = type->select(e, source | RB_BATCH_NOW, request, &sel, res);
  if (rc == REBATCH_OK && rb_batch_item_count(sel.groups) < 0) rc = REBATCH_NOMEM; /* sorts and deduplicates */
  if (rc != REBATCH_OK) {
    rb_batch_selection_clear(&sel);
    return rc;
  }
  cJSON_ArrayForEach(group, sel.groups) {
    cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(group, "ids")) {
      if (rc != REBATCH_OK) break;
      rc = type->apply(e, id->valuestring, sel.params, res);
    }
  }
  rb_batch_selection_clear(&sel);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* ---- the batch's jobs --------------------------------------------------------- */

static int next_chunk(rebatch_engine *e, const char *batch_id, rb_doc *chunk) {
  rb_docs docs = {0};
  int rc = rb_find_page(e, CHUNK, "batchId", batch_id, NULL, 1, &docs);
  memset(chunk, 0, sizeof *chunk);
  if (rc == REBATCH_OK && docs.count == 1) {
    *chunk = docs.items[0];
    docs.count = 0;
  }
  rb_docs_clear(&docs);
  return rc;
}

/* One seed run: the next chunk becomes execution jobs of
 * invocationsPerBatchJob ids each; then another seed job if chunks remain,
 * else the monitor job. */
static int run_seed(rebatch_engine *e, rb_doc *batch) {
  const rb_batch_type *type = type_named(rb_str(batch->json, "type"));
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(batch->json, "params");
  long long per_job = 1, jobs_created = 0;
  int created = 0, rc;
  const char *deployment;
  char carried[REBATCH_ID_MAX + 1];
  cJSON *ids;
  rb_doc chunk;
  /* The batch's own invocationsPerBatchJob, as upstream's seed job reads it. */
  if (rb_int(batch->json, "invocationsPerBatchJob", &per_job) != 1 || per_job <= 0) per_job = 1;
  if ((rc = next_chunk(e, batch->id, &chunk)) != REBATCH_OK) return rc;
  ids = chunk.json ? cJSON_GetObjectItemCaseSensitive(chunk.json, "ids") : NULL;
  deployment = rb_str(chunk.json, "deploymentId");
  if (rc == REBATCH_OK && chunk.json && type && type->job_deployment) {
    rc = type->job_deployment(e, params, deployment, carried);
    deployment = carried[0] ? carried : NULL;
  }
  while (rc == REBATCH_OK && ids && ids->child) {
    cJSON *items = cJSON_CreateArray();
    for (int n = 0; items && n < per_job && ids->child; n++)
      cJSON_AddItemToArray(items, cJSON_DetachItemViaPointer(ids, ids->child));
    rc = items ? batch_job(e, batch->json, "batchJobDefinitionId", rb_str(batch->json, "type"),
                           deployment, RB_NO_DATE, items)
               : REBATCH_NOMEM;
    created++;
  }
  if (rc == REBATCH_OK && chunk.json) rc = rb_delete(e, CHUNK, &chunk);
  rb_doc_clear(&chunk);
  rb_int(batch->json, "jobsCreated", &jobs_created);
  if (rc == REBATCH_OK && !rb_set_num(batch->json, "jobsCreated", (double)(jobs_created + created))) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = save_batch(e, batch);
  if (rc == REBATCH_OK) rc = next_chunk(e, batch->id, &chunk);
  if (rc != REBATCH_OK) return rc;
  if (chunk.json) {
    rc = batch_job(e, batch->json, "seedJobDefinitionId", SEED_JOB, rb_str(chunk.json, "deploymentId"), RB_NO_DATE, NULL);
    rb_doc_clear(&chunk);
    return rc;
  }
  /* No due date: simple batches complete as soon as the executor looks. */
  return batch_job(e, batch->json, "monitorJobDefinitionId", MONITOR_JOB, NULL, RB_NO_DATE, NULL);
}

static int has_execution_jobs(rebatch_engine *e, const cJSON *batch, int *any) {
  rb_docs docs = {0};
  int rc = rb_find_page(e, JOB, "jobDefinitionId", rb_str(batch, "batchJobDefinitionId"), NULL, 1, &docs);
  *any = docs.count > 0;
  rb_docs_clear(&docs);
  return rc;
}

static int delete_jobs_of(rebatch_engine *e, const char *definition_id) {
  rb_docs docs = {0};
  int rc = rb_find_all(e, JOB, "jobDefinitionId", definition_id, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) {
    long long retries = 0;
    rb_int(docs.items[i].json, "retries", &retries);
    rc = rb_incident_end(e, "failedJob", docs.items[i].id, 0);
    if (rc == REBATCH_OK) rc = rb_job_log(e, docs.items[i].json, RB_JOB_LOG_DELETION, (int)retries, NULL);
    if (rc == REBATCH_OK) rc = rb_delete(e, JOB, &docs.items[i]);
  }
  rb_docs_clear(&docs);
  return rc;
}

static int delete_definition(rebatch_engine *e, const char *id) {
  rb_doc jd;
  int rc = rb_load(e, JOB_DEFINITION, id, &jd);
  if (rc == REBATCH_OK && jd.json) rc = rb_delete(e, JOB_DEFINITION, &jd);
  rb_doc_clear(&jd);
  return rc;
}

static const char *const job_definition_fields[] = {"seedJobDefinitionId", "monitorJobDefinitionId",
                                                     "batchJobDefinitionId", NULL};

static int is_batch_incident(const cJSON *incident, const cJSON *batch) {
  const char *const *defs = job_definition_fields;
  const char *jd = rb_str(incident, "jobDefinitionId");
  for (int i = 0; jd && defs[i]; i++)
    if (rb_str(batch, defs[i]) && strcmp(jd, rb_str(batch, defs[i])) == 0) return 1;
  return 0;
}

/* Cascading deletion takes the batch jobs' historic incidents along. */
static int delete_historic_incidents(rebatch_engine *e, const cJSON *batch) {
  rb_docs docs = {0};
  int rc = rb_scan_all(e, "historicIncident", &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++)
    if (is_batch_incident(docs.items[i].json, batch)) rc = rb_delete(e, "historicIncident", &docs.items[i]);
  rb_docs_clear(&docs);
  return rc;
}

static int delete_chunks(rebatch_engine *e, const char *batch_id) {
  rb_docs docs = {0};
  int rc = rb_find_all(e, CHUNK, "batchId", batch_id, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) rc = rb_delete(e, CHUNK, &docs.items[i]);
  rb_docs_clear(&docs);
  return rc;
}

/* The history a batch's jobs left (incidents, job log), removed with the
 * batch's own history as Camunda's HistoricBatchEntity.delete() does. The
 * batch and its historic record name the same three job definitions. */
static int delete_job_history(rebatch_engine *e, const cJSON *batch) {
  const char *const *defs = job_definition_fields;
  const char *ids[] = {rb_str(batch, defs[0]), rb_str(batch, defs[1]), rb_str(batch, defs[2])};
  int rc = delete_historic_incidents(e, batch);
  return rc == REBATCH_OK ? rb_job_log_delete_for_definitions(e, ids, 3) : rc;
}

/* Removes the batch with its jobs and job definitions and ends its history
 * (deletes it with cascade). */
static int remove_batch(rebatch_engine *e, rb_doc *batch, int cascade) {
  const char *const *defs = job_definition_fields;
  rb_doc hist;
  int rc = REBATCH_OK;
  for (int i = 0; rc == REBATCH_OK && defs[i]; i++) rc = delete_jobs_of(e, rb_str(batch->json, defs[i]));
  if (rc == REBATCH_OK) rc = delete_chunks(e, batch->id);
  if (rc == REBATCH_OK && cascade) rc = delete_job_history(e, batch->json);
  for (int i = 0; rc == REBATCH_OK && defs[i]; i++) rc = delete_definition(e, rb_str(batch->json, defs[i]));
  if (rc == REBATCH_OK) rc = rb_load(e, HISTORIC_BATCH, batch->id, &hist);
  else memset(&hist, 0, sizeof hist);
  if (rc == REBATCH_OK && hist.json) {
    if (cascade) rc = rb_delete(e, HISTORIC_BATCH, &hist);
    else if (!rb_set_num(hist.json, "endTime", rb_now(e))) rc = REBATCH_NOMEM;
    else rc = save_history(e, &hist);
  }
  rb_doc_clear(&hist);
  if (rc == REBATCH_OK) rc = rb_delete(e, BATCH, batch);
  return rc;
}

static int run_monitor(rebatch_engine *e, rb_doc *batch) {
  int any = 0, rc = has_execution_jobs(e, batch->json, &any);
  if (rc != REBATCH_OK) return rc;
  if (any)
    return batch_job(e, batch->json, "monitorJobDefinitionId", MONITOR_JOB, NULL,
                     rb_now(e) + e->config.batch_poll_time_s * 1000.0, NULL);
  return remove_batch(e, batch, 0);
}

/* The last execution job of a fully seeded batch is done (the monitor job
 * exists only once seeding has finished): the monitor becomes due now, so
 * the batch ends within an executor step instead of a batchPollTime later. */
static int hurry_monitor(rebatch_engine *e, const cJSON *batch) {
  rb_docs docs = {0};
  int any = 0, rc = has_execution_jobs(e, batch, &any);
  double due;
  if (rc != REBATCH_OK || any) return rc;
  rc = rb_find_page(e, JOB, "jobDefinitionId", rb_str(batch, "monitorJobDefinitionId"), NULL, 1, &docs);
  if (rc == REBATCH_OK && docs.count == 1) {
    due = rb_date(docs.items[0].json, "dueDate");
    if (due > rb_now(e))
      rc = rb_set_num(docs.items[0].json, "dueDate", rb_now(e)) ? rb_job_save(e, &docs.items[0]) : REBATCH_NOMEM;
  }
  rb_docs_clear(&docs);
  return rc;
}

static int mark_execution_start(rebatch_engine *e, rb_doc *batch) {
  rb_doc hist;
  double now = rb_now(e);
  int rc;
  if (rb_date(batch->json, "executionStartTime") >= 0) return REBATCH_OK;
  if (!rb_set_num(batch->json, "executionStartTime", now)) return REBATCH_NOMEM;
  if ((rc = save_batch(e, batch)) != REBATCH_OK) return rc;
  rc = rb_load(e, HISTORIC_BATCH, batch->id, &hist);
  if (rc == REBATCH_OK && hist.json) {
    rc = rb_set_num(hist.json, "executionStartTime", now) ? save_history(e, &hist) : REBATCH_NOMEM;
  }
  rb_doc_clear(&hist);
  return rc;
}

static int run_items(rebatch_engine *e, rb_doc *batch, const cJSON *items, rb_response *res) {
  const char *name = rb_str(batch->json, "type");
  const rb_batch_type *type = type_named(name);
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(batch->json, "params"), *item;
  int rc = mark_execution_start(e, batch);
  if (rc == REBATCH_OK && !type) return rb_error(res, 500, "ProcessEngineException", 0, "Unknown batch type '%s'", name);
  cJSON_ArrayForEach(item, items) {
    if (rc != REBATCH_OK) break;
    rc = type->apply(e, item->valuestring, params, res);
  }
  return rc;
}

/* Loads the batch of a job. During executeDueJobs an execution job of a
 * batch whose execution has started only reads its batch, so the batch's
 * record is parsed once and then borrowed (*borrowed: not to be changed or
 * freed) for as long as the store holds the same text. */
static int load_batch(rebatch_engine *e, const char *id, int execution, rb_doc *batch,
                      int *borrowed) {
  rb_text_cache *cache = e->batch_cache;
  char *text;
  cJSON *json;
  int rev, rc;
  *borrowed = 0;
  if (!cache || !execution) return rb_load(e, BATCH, id, batch);
  memset(batch, 0, sizeof *batch);
  if ((rc = rb_load_text(e, BATCH, id, &text, &rev)) != REBATCH_OK || !text) return rc;
  if (!cache->text || strcmp(cache->text, text) != 0 || strcmp(cache->id, id) != 0) {
    if ((rc = rb_parse_record(e, text, &json)) != REBATCH_OK) {
      rb_free(text);
      return rc;
    }
    if (rb_date(json, "executionStartTime") < 0) {
      rb_free(text);
      rc = rb_doc_init(batch, id, json);
      batch->rev = rev;
      return rc;
    }
    rb_text_cache_clear(cache);
    cache->json = json;
    if (!(cache->id = rb_strdup(id))) {
      rb_free(text);
      rb_text_cache_clear(cache);
      return REBATCH_NOMEM;
    }
    cache->text = text;
  } else {
    rb_free(text);
  }
  batch->id = cache->id;
  batch->json = cache->json;
  batch->rev = rev;
  *borrowed = 1;
  return REBATCH_OK;
}

/* Executes a job that belongs to a batch (seed, monitor or execution). */
int rb_batch_job_execute(rebatch_engine *e, const rb_batch_job *job, rb_response *res) {
  const char *batch_id = job->batch_id, *type = job->type;
  rb_doc batch, doc = {(char *)job->id, NULL, job->rev};
  int rc;
  int borrowed = 0, execution;
  execution = strcmp(type, SEED_JOB) != 0 && strcmp(type, MONITOR_JOB) != 0;
  /* Removed first: the job may have been read before this transaction, and
   * its revision tells whether it is still the job that was read. */
  if ((rc = rb_delete(e, JOB, &doc)) != REBATCH_OK) return rc;
  if ((rc = load_batch(e, batch_id, execution, &batch, &borrowed)) != REBATCH_OK) return rc;
  if (!batch.json) {
    rb_doc_clear(&batch);
    return rb_error(res, 500, "NullValueException", 0, "Batch with id '%s' cannot be found: batch is null", batch_id);
  }
  if (strcmp(type, SEED_JOB) == 0) rc = run_seed(e, &batch);
  else if (strcmp(type, MONITOR_JOB) == 0) rc = run_monitor(e, &batch);
  else if ((rc = run_items(e, &batch, job->items, res)) == REBATCH_OK)
    rc = hurry_monitor(e, batch.json);
  if (borrowed) memset(&batch, 0, sizeof batch);
  rb_doc_clear(&batch);
  return rc;
}

/* ---- DTOs ------------------------------------------------------------------ */

static const char *const batch_fields[] = {
    "id", "type", "totalJobs", "jobsCreated", "batchJobsPerSeed",
    "invocationsPerBatchJob", "seedJobDefinitionId", "monitorJobDefinitionId",
    "batchJobDefinitionId", "suspended", "tenantId", "createUserId",
    "startTime", "executionStartTime", NULL};

cJSON *rb_batch_to_dto(rebatch_engine *e, const cJSON *b) {
  (void)e;
  return rb_dto(b, batch_fields);
}

static cJSON *historic_batch_to_dto(rebatch_engine *e, const cJSON *h) {
  static const char *const fields[] = {
      "id", "type", "totalJobs", "batchJobsPerSeed", "invocationsPerBatchJob",
      "seedJobDefinitionId", "monitorJobDefinitionId", "batchJobDefinitionId",
      "tenantId", "createUserId", "startTime", "endTime", "removalTime",
      "executionStartTime", NULL};
  (void)e;
  return rb_dto(h, fields);
}

typedef struct rb_batch_counts {
  int existing;
  int failed;
} rb_batch_counts;

static int count_execution_jobs(rebatch_engine *e, const cJSON *b, rb_batch_counts *c) {
  rb_docs docs = {0};
  int rc = rb_find_all(e, JOB, "jobDefinitionId", rb_str(b, "batchJobDefinitionId"), &docs);
  c->existing = docs.count;
  c->failed = 0;
  for (int i = 0; i < docs.count; i++) {
    long long r = 0;
    rb_int(docs.items[i].json, "retries", &r);
    c->failed += r == 0;
  }
  rb_docs_clear(&docs);
  return rc;
}

/* remainingJobs counts existing execution jobs plus those not yet created;
 * deleted jobs count as completed, as in Camunda's statistics query. */
static cJSON *statistics_to_dto(rebatch_engine *e, const cJSON *b) {
  rb_batch_counts c;
  long long total = 0, created = 0;
  cJSON *dto;
  if (count_execution_jobs(e, b, &c) != REBATCH_OK) return NULL;
  rb_int(b, "totalJobs", &total);
  rb_int(b, "jobsCreated", &created);
  if (!(dto = rb_batch_to_dto(e, b))) return NULL;
  long long remaining = c.existing + (total - created > 0 ? total - created : 0);
  rb_put_num(dto, "remainingJobs", (double)remaining);
  rb_put_num(dto, "completedJobs", (double)(total - remaining > 0 ? total - remaining : 0));
  rb_put_num(dto, "failedJobs", c.failed);
  if (!rb_has(dto, "failedJobs")) {
    cJSON_Delete(dto);
    return NULL;
  }
  return dto;
}

/* ---- queries ----------------------------------------------------------------- */

static int suspended_is(rebatch_engine *e, const cJSON *b, const cJSON *arg) {
  int want = cJSON_IsTrue(arg) || (cJSON_IsString(arg) && strcmp(arg->valuestring, "true") == 0);
  (void)e;
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "suspended")) == want;
}
static int with_failures(rebatch_engine *e, const cJSON *b, const cJSON *arg) {
  rb_batch_counts c;
  (void)arg;
  return count_execution_jobs(e, b, &c) == REBATCH_OK && c.failed > 0;
}
static int without_failures(rebatch_engine *e, const cJSON *b, const cJSON *arg) {
  rb_batch_counts c;
  (void)arg;
  return count_execution_jobs(e, b, &c) == REBATCH_OK && c.failed == 0;
}
static int completed_is(rebatch_engine *e, const cJSON *h, const cJSON *arg) {
  int want = cJSON_IsTrue(arg) || (cJSON_IsString(arg) && strcmp(arg->valuestring, "true") == 0);
  (void)e;
  return (rb_date(h, "endTime") >= 0) == want;
}

#define BATCH_COMMON_FILTERS                                 \
  {"batchId", RB_F_EQ, "id", NULL, 0},                       \
  {"type", RB_F_EQ, "type", NULL, 1},                        \
  {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},              \
  {"withoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0}

static const rb_filter batch_filters[] = {
    BATCH_COMMON_FILTERS,
    {"suspended", RB_F_VALUE, NULL, suspended_is, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_filter statistics_filters[] = {
    BATCH_COMMON_FILTERS,
    {"suspended", RB_F_VALUE, NULL, suspended_is, 0},
    {"createdBy", RB_F_EQ, "createUserId", NULL, 0},
    {"startedBefore", RB_F_DATE_BEFORE, "startTime", NULL, 0},
    {"startedAfter", RB_F_DATE_AFTER, "startTime", NULL, 0},
    {"withFailures", RB_F_FLAG, NULL, with_failures, 0},
    {"withoutFailures", RB_F_FLAG, NULL, without_failures, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_filter historic_filters[] = {
    BATCH_COMMON_FILTERS,
    {"completed", RB_F_VALUE, NULL, completed_is, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key batch_sorts[] = {{"batchId", "id"}, {"tenantId", "tenantId"}, {NULL, NULL}};
static const rb_sort_key statistics_sorts[] = {
    {"batchId", "id"}, {"tenantId", "tenantId"}, {"startTime", "startTime"}, {NULL, NULL}};
static const rb_sort_key historic_sorts[] = {
    {"batchId", "id"}, {"startTime", "startTime"}, {"endTime", "endTime"}, {"tenantId", "tenantId"}, {NULL, NULL}};

static const rb_query batch_query = {BATCH, batch_filters, batch_sorts, rb_batch_to_dto};
static const rb_query statistics_query = {BATCH, statistics_filters, statistics_sorts, statistics_to_dto};
const rb_query rb_historic_batch_query = {HISTORIC_BATCH, historic_filters, historic_sorts, historic_batch_to_dto};

int rb_op_getBatches(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_list(e, &batch_query, request, res);
}
int rb_op_getBatchesCount(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_count(e, &batch_query, request, res);
}
int rb_op_getBatchStatistics(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_list(e, &statistics_query, request, res);
}
int rb_op_getBatchStatisticsCount(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_count(e, &statistics_query, request, res);
}
int rb_op_getHistoricBatches(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_list(e, &rb_historic_batch_query, request, res);
}
int rb_op_getHistoricBatchesCount(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_count(e, &rb_historic_batch_query, request, res);
}

int rb_op_getBatch(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_get_by_id(e, BATCH, request, rb_batch_to_dto, "Batch with id '%s' does not exist", res);
}
int rb_op_getHistoricBatch(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_get_by_id(e, HISTORIC_BATCH, request, historic_batch_to_dto, "Historic batch with id '%s' does not exist", res);
}

int rb_op_deleteBatch(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id");
  int cascade = rb_flag(cJSON_GetObjectItemCaseSensitive(request, "query"), "cascade");
  rb_doc batch;
  int rc = rb_load(e, BATCH, id, &batch);
  if (rc == REBATCH_OK && !batch.json)
    rc = rb_error(res, 400, "InvalidRequestException", 0, "Unable to delete batch with id '%s'", id ? id : "null");
  if (rc == REBATCH_OK) rc = remove_batch(e, &batch, cascade);
  rb_doc_clear(&batch);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

int rb_op_deleteHistoricBatch(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id");
  rb_doc hist;
  int rc = rb_load(e, HISTORIC_BATCH, id, &hist);
  if (rc == REBATCH_OK && !hist.json)
    rc = rb_error(res, 400, "InvalidRequestException", 0, "Unable to delete historic batch with id '%s'", id ? id : "null");
  if (rc == REBATCH_OK) rc = delete_job_history(e, hist.json);
  if (rc == REBATCH_OK) rc = rb_delete(e, HISTORIC_BATCH, &hist);
  rb_doc_clear(&hist);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* For batch-set-removal-time and the history cleanup. */
int rb_historic_batch_set_removal_time(rebatch_engine *e, const char *id, double ms) {
  rb_doc hist;
  int rc = rb_load(e, HISTORIC_BATCH, id, &hist);
  cJSON *value = ms == RB_NO_DATE ? cJSON_CreateNull() : cJSON_CreateNumber(ms);
  if (rc == REBATCH_OK && hist.json) rc = rb_take(hist.json, "removalTime", value) ? save_history(e, &hist) : REBATCH_NOMEM;
  else cJSON_Delete(value);
  if (rc == REBATCH_OK && hist.json) {
    const char *const *defs = job_definition_fields;
    const char *ids[] = {rb_str(hist.json, defs[0]), rb_str(hist.json, defs[1]), rb_str(hist.json, defs[2])};
    rc = rb_job_history_set_removal_time(e, ids, 3, ms);
  }
  rb_doc_clear(&hist);
  return rc;
}

int rb_historic_batch_delete(rebatch_engine *e, rb_doc *hist) {
  int rc = delete_job_history(e, hist->json);
  return rc == REBATCH_OK ? rb_delete(e, HISTORIC_BATCH, hist) : rc;
}

static int suspend_definition_jobs(rebatch_engine *e, const char *definition_id, int suspended) {
  rb_docs docs = {0};
  rb_doc jd;
  int rc = rb_load(e, JOB_DEFINITION, definition_id, &jd);
  if (rc == REBATCH_OK && jd.json)
    rc = rb_set_bool(jd.json, "suspended", suspended) ? rb_job_definition_save(e, &jd) : REBATCH_NOMEM;
  rb_doc_clear(&jd);
  if (rc == REBATCH_OK) rc = rb_find_all(e, JOB, "jobDefinitionId", definition_id, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++)
    rc = rb_set_bool(docs.items[i].json, "suspended", suspended) ? rb_job_save(e, &docs.items[i]) : REBATCH_NOMEM;
  rb_docs_clear(&docs);
  return rc;
}

/* Suspending a batch suspends its three job definitions and their jobs;
 * jobs created later are created suspended. */
int rb_op_setBatchSuspended(rebatch_engine *e, const cJSON *request, rb_response *res) {
  static const char *const defs[] = {"seedJobDefinitionId", "monitorJobDefinitionId", "batchJobDefinitionId", NULL};
  const char *id = rb_str(request, "id");
  int suspended = rb_flag(cJSON_GetObjectItemCaseSensitive(request, "body"), "suspended");
  rb_doc batch;
  int rc = rb_load(e, BATCH, id, &batch);
  if (rc == REBATCH_OK && !batch.json)
    rc = rb_error(res, 400, "InvalidRequestException", 0, "Unable to %s batch with id '%s'",
                  suspended ? "suspend" : "activate", id ? id : "null");
  if (rc == REBATCH_OK && !rb_set_bool(batch.json, "suspended", suspended)) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = save_batch(e, &batch);
  for (int i = 0; rc == REBATCH_OK && defs[i]; i++)
    rc = suspend_definition_jobs(e, rb_str(batch.json, defs[i]), suspended);
  rb_doc_clear(&batch);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}
