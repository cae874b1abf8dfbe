/*
 * job.c - jobs and job definitions: creation, execution with Camunda's
 * failure handling (retries, retry time cycle, failedJob incidents), the
 * job executor step the host drives, and the job queries.
 */
#include "core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define JOB "job"
#define JOB_DEFINITION "jobDefinition"

/* ---- records ------------------------------------------------------------ */

static int retries_of(const cJSON *job) {
  long long r = 0;
  rb_int(job, "retries", &r);
  return (int)r;
}

static int is_true(const cJSON *obj, const char *key) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* A due date as an index value that sorts as the date: 16 digits of
 * milliseconds since the epoch (no due date and dates before 1970: zero). */
#define DUE_KEY_SIZE 17

static void due_key(double due, char key[DUE_KEY_SIZE]) {
  double ms = due < 0 ? 0 : due > 9999999999999999.0 ? 9999999999999999.0 : floor(due);
  snprintf(key, DUE_KEY_SIZE, "%016.0f", ms);
}

/* The "acquirable" index value of a job with retries left that is not
 * suspended (the executor's candidates; failed jobs stay out of the walk).
 * A store that walks an index in value order (version 3) gets the due date,
 * so acquisition reads due jobs first; other stores get "1". */
static const char *acquirable_value(const rebatch_engine *e, int acquirable, double due,
                                    char key[DUE_KEY_SIZE]) {
  if (!acquirable) return NULL;
  if (!rb_ordered_possible(e)) return "1";
  due_key(due, key);
  return key;
}

/* rb_date(job, "dueDate") of a job's text, parsing it only when the quick
 * walk cannot tell. */
static int text_due(rebatch_engine *e, const char *text, double *due) {
  cJSON *parsed;
  int rc;
  if (rb_text_date(text, "dueDate", due) >= 0) return REBATCH_OK;
  if ((rc = rb_parse_record(e, text, &parsed)) != REBATCH_OK) return rc;
  *due = rb_date(parsed, "dueDate");
  cJSON_Delete(parsed);
  return REBATCH_OK;
}

static void job_index(const rebatch_engine *e, const cJSON *job, rebatch_index_entry index[3],
                      char key[DUE_KEY_SIZE]) {
  int acquirable = retries_of(job) > 0 && !is_true(job, "suspended");
  index[0].field = "processInstanceId";
  index[0].value = rb_str(job, "processInstanceId");
  index[1].field = "jobDefinitionId";
  index[1].value = rb_str(job, "jobDefinitionId");
  index[2].field = "acquirable";
  index[2].value = acquirable_value(e, acquirable, rb_date(job, "dueDate"), key);
}

int rb_jobs_set_suspended_for_instance(rebatch_engine *e, const char *instance_id, int suspended) {
  rb_docs docs = {0};
  int rc = rb_find_all(e, JOB, "processInstanceId", instance_id, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++)
    rc = rb_set_bool(docs.items[i].json, "suspended", suspended) ? rb_job_save(e, &docs.items[i]) : REBATCH_NOMEM;
  rb_docs_clear(&docs);
  return rc;
}

int rb_job_save(rebatch_engine *e, rb_doc *job) {
  rebatch_index_entry index[3];
  char key[DUE_KEY_SIZE];
  job_index(e, job->json, index, key);
  return rb_save(e, JOB, job, index, 3);
}

/* A new job's text, written member by member; each member's value is
 * remembered (as offsets: the buffer may move) for the creation log entry,
 * so the job is neither built as a tree nor read back. */
typedef struct job_draft {
  rb_writer w;
  rb_text_field f[20];
  size_t start[20];
  int count;
} job_draft;

static void nj_begin(job_draft *t, const char *key) {
  t->f[t->count].key = key;
  /* the value starts after the key, its quotes, ':' and any ',' */
  t->start[t->count] = t->w.len + strlen(key) + 3 + (t->w.len > 1);
}

static void nj_end(job_draft *t) {
  t->f[t->count].len = t->w.len - t->start[t->count];
  t->count++;
}

static void nj_str(job_draft *t, const char *key, const char *value) {
  nj_begin(t, key);
  rb_writer_str(&t->w, key, value);
  nj_end(t);
}

static void nj_num(job_draft *t, const char *key, double value) {
  nj_begin(t, key);
  rb_writer_num(&t->w, key, value);
  nj_end(t);
}

/* RB_NO_DATE is written as null. */
static void nj_date(job_draft *t, const char *key, double value) {
  if (value != RB_NO_DATE) nj_num(t, key, value);
  else nj_str(t, key, NULL);
}

/* Saves a new job and logs its creation from the values just written (the
 * log goes into the engine's save buffer, so the job has its own). */
static int insert_job(rebatch_engine *e, const char *id, job_draft *t, const rb_job_spec *s) {
  rebatch_index_entry index[3];
  const cJSON *inst = s->instance;
  char *text = rb_writer_close(&t->w), key[DUE_KEY_SIZE];
  int rev = 0, rc;
  if (!text) {
    rb_free(t->w.p);
    return REBATCH_NOMEM;
  }
  for (int i = 0; i < t->count; i++) t->f[i].value = text + t->start[i];
  index[0].field = "processInstanceId";
  index[0].value = inst ? rb_str(inst, "id") : NULL;
  index[1].field = "jobDefinitionId";
  index[1].value = s->job_definition_id;
  index[2].field = "acquirable";
  index[2].value = acquirable_value(e, s->retries > 0 && !s->suspended, s->due_date, key);
  rc = rb_save_text(e, JOB, id, text, &rev, index, 3);
  if (rc == REBATCH_OK) rc = rb_job_log_fields(e, text, t->f, t->count, RB_JOB_LOG_CREATION, s->retries);
  rb_free(text);
  return rc;
}

int rb_job_create(rebatch_engine *e, const rb_job_spec *s, char *id_out) {
  char id[REBATCH_ID_MAX + 1];
  const cJSON *inst = s->instance;
  job_draft t;
  int rc = rb_new_id(e, id);
  if (rc != REBATCH_OK) {
    cJSON_Delete(s->batch_items);
    return rc;
  }
  t.count = 0;
  rb_writer_open(&t.w, NULL, 0);
  nj_str(&t, "id", id);
  nj_str(&t, "jobDefinitionId", s->job_definition_id);
  nj_str(&t, "processInstanceId", inst ? rb_str(inst, "id") : NULL);
  nj_str(&t, "processDefinitionId", inst ? rb_str(inst, "processDefinitionId") : NULL);
  nj_str(&t, "processDefinitionKey", inst ? rb_str(inst, "processDefinitionKey") : NULL);
  nj_str(&t, "executionId", s->execution_id);
  rb_writer_str(&t.w, "exceptionMessage", NULL);
  rb_writer_str(&t.w, "exceptionStacktrace", NULL);
  rb_writer_str(&t.w, "failedActivityId", NULL);
  rb_writer_num(&t.w, "retries", s->retries);
  nj_date(&t, "dueDate", s->due_date);
  rb_writer_bool(&t.w, "suspended", s->suspended);
  nj_num(&t, "priority", s->priority);
  nj_str(&t, "tenantId", s->tenant_id);
  rb_writer_num(&t.w, "createTime", rb_now(e));
  nj_str(&t, "batchId", s->batch_id);
  nj_str(&t, "jobType", s->job_type);
  nj_str(&t, "jobConfiguration", s->configuration);
  nj_str(&t, "activityId", s->activity_id);
  nj_str(&t, "deploymentId", s->deployment_id);
  /* Execution jobs carry their slice of ids, like Camunda's per-job
   * configuration byte array. */
  if (s->batch_items) rb_writer_item(&t.w, "batchItems", s->batch_items);
  cJSON_Delete(s->batch_items);
  rc = insert_job(e, id, &t, s);
  if (rc == REBATCH_OK && id_out) strcpy(id_out, id);
  return rc;
}

/* A job for a token waiting at an activity: async-before, async-after or a
 * timer. The job definition was created when the process was deployed. */
int rb_job_create_for_token(rebatch_engine *e, const cJSON *inst,
                            const cJSON *def, const cJSON *activity,
                            const cJSON *token, const char *slot,
                            double due_date) {
  const cJSON *ids = cJSON_GetObjectItemCaseSensitive(activity, "jobDefinitionIds");
  int timer = strcmp(slot, "timer") == 0;
  rb_job_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.job_definition_id = rb_str(ids, slot);
  spec.job_type = timer ? "timer-intermediate-transition" : "async-continuation";
  spec.configuration = timer ? rb_str(activity, "id") : slot;
  spec.instance = inst;
  spec.execution_id = rb_str(token, "id");
  spec.activity_id = rb_str(activity, "id");
  spec.deployment_id = rb_str(def, "deploymentId");
  spec.tenant_id = rb_str(inst, "tenantId");
  spec.due_date = due_date;
  spec.retries = e->config.default_retries;
  /* A suspended instance's or job definition's new jobs are suspended
   * too, as upstream's JobEntity.insert and JobDeclaration. */
  spec.suspended = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(inst, "suspended"));
  if (!spec.suspended && spec.job_definition_id) {
    rb_doc jd;
    int rc = rb_load(e, "jobDefinition", spec.job_definition_id, &jd);
    spec.suspended = rc == REBATCH_OK && jd.json && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jd.json, "suspended"));
    rb_doc_clear(&jd);
    if (rc != REBATCH_OK) return rc;
  }
  spec.priority = 0;
  return rb_job_create(e, &spec, NULL);
}

cJSON *rb_job_to_dto(rebatch_engine *e, const cJSON *job) {
  static const char *const fields[] = {
      "id", "jobDefinitionId", "processInstanceId", "processDefinitionId",
      "processDefinitionKey", "executionId", "exceptionMessage",
      "failedActivityId", "retries", "dueDate", "suspended", "priority",
      "tenantId", "createTime", "batchId", NULL};
  cJSON *dto = rb_dto(job, fields);
  (void)e;
  /* Not in Camunda's JobDto: shown only while the host runs the job's code. */
  if (dto && rb_str(job, "lockOwner") &&
      !(rb_copy(dto, job, "lockOwner") && rb_copy_date(dto, job, "lockExpirationTime"))) {
    cJSON_Delete(dto);
    return NULL;
  }
  return dto;
}

/* A job can still have its incident open with retries left: a job
 * definition's retries are set without resolving incidents, as upstream. */
static int has_incident(rebatch_engine *e, const char *job_id, int *open) {
  rb_docs docs = {0};
  int rc = rb_find_all(e, "incident", "configuration", job_id, &docs);
  *open = 0;
  for (int i = 0; i < docs.count; i++) *open |= rb_str(docs.items[i].json, "incidentType") &&
                                                strcmp(rb_str(docs.items[i].json, "incidentType"), "failedJob") == 0;
  rb_docs_clear(&docs);
  return rc;
}

int rb_job_set_retries(rebatch_engine *e, rb_doc *job, int retries) {
  int old = retries_of(job->json), rc = REBATCH_OK, open = 0;
  if (retries < 0) retries = 0;
  if (!rb_set_num(job->json, "retries", retries)) return REBATCH_NOMEM;
  if (old == 0 && retries > 0) rc = rb_incident_end(e, "failedJob", job->id, 1);
  if (old > 0 && retries == 0) rc = has_incident(e, job->id, &open);
  if (rc == REBATCH_OK && old > 0 && retries == 0 && !open) {
    rb_incident_spec s;
    memset(&s, 0, sizeof s);
    s.type = "failedJob";
    s.configuration = job->id;
    s.message = rb_str(job->json, "exceptionMessage");
    s.process_instance_id = rb_str(job->json, "processInstanceId");
    s.process_definition_id = rb_str(job->json, "processDefinitionId");
    s.process_definition_key = rb_str(job->json, "processDefinitionKey");
    s.execution_id = rb_str(job->json, "executionId");
    s.activity_id = rb_str(job->json, "activityId");
    s.failed_activity_id = rb_str(job->json, "failedActivityId");
    s.job_definition_id = rb_str(job->json, "jobDefinitionId");
    s.tenant_id = rb_str(job->json, "tenantId");
    s.history_configuration = rb_str(job->json, "lastFailureLogId");
    rc = rb_incident_create(e, &s);
  }
  /* Like Camunda's, the failure's log id lives only as long as the failure. */
  cJSON_DeleteItemFromObjectCaseSensitive(job->json, "lastFailureLogId");
  return rc == REBATCH_OK ? rb_job_save(e, job) : rc;
}

/* What the text path reads before it writes anything, with where the
 * members it writes are (f[3] retries, then the extra members). */
typedef struct job_text {
  char instance[REBATCH_ID_MAX + 1];
  char definition[REBATCH_ID_MAX + 1];
  int got_instance, got_definition, suspended;
  double retries;
  rb_text_field f[4 + 7];
} job_text;

static int read_job_text(const char *text, job_text *t, const rb_member *extra, int extra_count) {
  rb_text_field *f = t->f;
  f[0].key = "processInstanceId";
  f[1].key = "jobDefinitionId";
  f[2].key = "suspended";
  f[3].key = "retries";
  for (int i = 0; i < extra_count; i++) f[4 + i].key = extra[i].key;
  if (rb_text_fields(text, f, 4 + extra_count) < 0) return 0;
  t->got_instance = rb_field_str(&f[0], t->instance, sizeof t->instance);
  t->got_definition = rb_field_str(&f[1], t->definition, sizeof t->definition);
  t->suspended = rb_field_flag(&f[2]);
  return t->got_instance >= 0 && t->got_definition >= 0 && rb_field_num(&f[3], &t->retries) > 0 &&
         t->retries == floor(t->retries);
}

/* 1 when no key is asked for twice (the walk gives a repeated key the
 * member's next occurrence). */
static int reads_apart(const rb_text_field *f, int count) {
  for (int i = 0; i < count; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(f[i].key, f[j].key) == 0) return 0;
  return 1;
}

int rb_job_set_retries_text(rebatch_engine *e, const char *id, int retries,
                            const rb_member *extra, int extra_count, int *done) {
  char *text, *patched = NULL, value[32], key[DUE_KEY_SIZE];
  double due = RB_NO_DATE;
  rb_member members[8];
  job_text t;
  int rev, rc = rb_load_text(e, JOB, id, &text, &rev), old, got = 0;
  *done = 0;
  if (rc != REBATCH_OK || !text || extra_count > 7) {
    *done = rc != REBATCH_OK;
    rb_free(text);
    return rc;
  }
  if (retries < 0) retries = 0;
  rb_format_number(retries, value);
  members[0].key = "retries";
  members[0].json = value;
  memcpy(members + 1, extra, (size_t)extra_count * sizeof *extra);
  if (read_job_text(text, &t, extra, extra_count))
    got = reads_apart(t.f, 4 + extra_count) ? rb_text_replace(text, t.f + 3, members, 1 + extra_count, &patched)
                                            : rb_text_patch(text, members, 1 + extra_count, &patched);
  rb_free(text);
  old = got > 0 && t.retries > 0 ? 1 : 0; /* null retries read as 0, as retries_of */
  if (got == 0 || (old && retries == 0)) { /* an incident to create: parse */
    rb_free(patched);
    return REBATCH_OK;
  }
  *done = 1;
  if (got < 0) return REBATCH_NOMEM;
  if (!old && retries > 0) rc = rb_incident_end(e, "failedJob", id, 1);
  if (rc == REBATCH_OK && rb_ordered_possible(e)) rc = text_due(e, patched, &due);
  if (rc == REBATCH_OK) {
    rebatch_index_entry index[] = {
        {"processInstanceId", t.got_instance > 0 ? t.instance : NULL},
        {"jobDefinitionId", t.got_definition > 0 ? t.definition : NULL},
        {"acquirable", acquirable_value(e, retries > 0 && !t.suspended, due, key)},
    };
    rc = rb_save_text(e, JOB, id, patched, &rev, index, 3);
  }
  rb_free(patched);
  return rc;
}

/* MigratingTimerJobInstance with updateEvent: the target's timer
 * declaration sets the due date anew (TimerDeclarationImpl.updateJob: now
 * plus the target's duration); the job, its retries and id stay. */
static int update_timer(rebatch_engine *e, cJSON *job, const cJSON *activity) {
  double ms;
  if (!rb_duration_ms(rb_str(activity, "timerDuration"), &ms)) return REBATCH_OK;
  return rb_set_num(job, "dueDate", rb_now(e) + ms) ? REBATCH_OK : REBATCH_NOMEM;
}

int rb_jobs_migrate(rebatch_engine *e, const char *instance_id, const cJSON *target, const cJSON *mapping,
                    const cJSON *updating) {
  rb_docs jobs = {0};
  int rc = rb_find_all(e, JOB, "processInstanceId", instance_id, &jobs);
  for (int i = 0; rc == REBATCH_OK && i < jobs.count; i++) {
    cJSON *job = jobs.items[i].json;
    const char *from = rb_str(job, "activityId"), *to = rb_str(mapping, from);
    const cJSON *activity = rb_model_activity(target, to);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(activity, "jobDefinitionIds");
    const char *slot = rb_str_eq(rb_str(job, "jobType"), "timer-intermediate-transition") ? "timer" : rb_str(job, "jobConfiguration");
    if (!to) continue;
    if (rb_str_eq(slot, "timer") && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(updating, from)))
      rc = update_timer(e, job, activity);
    if (rc != REBATCH_OK) break;
    if (!rb_set_str(job, "processDefinitionId", rb_str(target, "id")) ||
        !rb_set_str(job, "processDefinitionKey", rb_str(target, "key")) ||
        !rb_set_str(job, "deploymentId", rb_str(target, "deploymentId")) || !rb_set_str(job, "activityId", to) ||
        !rb_set_str(job, "jobDefinitionId", rb_str(ids, slot ? slot : "")) ||
        (rb_str_eq(slot, "timer") ? !rb_set_str(job, "jobConfiguration", to) : 0))
      rc = REBATCH_NOMEM;
    if (rc == REBATCH_OK) rc = rb_job_save(e, &jobs.items[i]);
  }
  rb_docs_clear(&jobs);
  return rc;
}

int rb_jobs_delete_for_instance(rebatch_engine *e, const char *instance_id) {
  return rb_jobs_delete_for_execution(e, instance_id, NULL);
}

int rb_jobs_delete_for_execution(rebatch_engine *e, const char *instance_id, const char *execution_id) {
  rb_docs jobs = {0};
  int rc = rb_find_all(e, JOB, "processInstanceId", instance_id, &jobs);
  for (int i = 0; rc == REBATCH_OK && i < jobs.count; i++) {
    if (execution_id && !rb_str_eq(rb_str(jobs.items[i].json, "executionId"), execution_id)) continue;
    rc = rb_incident_end(e, "failedJob", jobs.items[i].id, 0);
    if (rc == REBATCH_OK) rc = rb_job_log(e, jobs.items[i].json, RB_JOB_LOG_DELETION, retries_of(jobs.items[i].json), NULL);
    if (rc == REBATCH_OK) rc = rb_delete(e, JOB, &jobs.items[i]);
  }
  rb_docs_clear(&jobs);
  return rc;
}

/* ---- execution ------------------------------------------------------------ */

typedef struct rb_outcome {
  int failed;
  int by_engine; /* the engine threw (a ProcessEngineException), not the host's job code */
  int deferred;  /* the host runs the job's code on its own; message: the lock owner */
  int conflicted; /* another writer changed a record the job wrote: rolled back, runs again */
  char message[512];
  char *trace; /* the host's stacktrace of a failure, or NULL (owned) */
} rb_outcome;

static int process_job_handler(rebatch_engine *e, rb_doc *job, rb_response *res) {
  const char *config = rb_str(job->json, "jobConfiguration");
  const char *type = rb_str(job->json, "jobType");
  rb_resume how = RB_RESUME_LEAVE;
  char instance_id[REBATCH_ID_MAX + 1], execution_id[REBATCH_ID_MAX + 1];
  int rc;
  if (strcmp(type, "async-continuation") == 0)
    how = config && strcmp(config, "async-after") == 0 ? RB_RESUME_TAKE : RB_RESUME_EXECUTE;
  snprintf(instance_id, sizeof instance_id, "%s", rb_str(job->json, "processInstanceId"));
  snprintf(execution_id, sizeof execution_id, "%s", rb_str(job->json, "executionId"));
  if ((rc = rb_delete(e, JOB, job)) != REBATCH_OK) return rc;
  return rb_instance_resume(e, instance_id, execution_id, how, NULL, res);
}

/* A timer job that changes definitions' suspension state runs no process
 * code: the host is not asked. */
static int definition_state_job(rebatch_engine *e, rb_doc *job, rb_response *res) {
  const char *stored = rb_str(job->json, "jobConfiguration");
  char *type = rb_strdup(rb_str(job->json, "jobType")), *config = rb_strdup(stored);
  /* no configuration is the run's own error (not valid), not out of memory */
  int rc = type && (config || !stored) ? rb_delete(e, JOB, job) : REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = rb_definition_state_job_run(e, type, config, res);
  rb_free(type);
  rb_free(config);
  return rc;
}

/* What the host's job code needs to find itself: the job's activity and
 * how the model names the code there. */
static int host_job_text(rebatch_engine *e, const cJSON *job, char **text) {
  static const char *const names[] = {"delegateExpression", "class", "expression", NULL};
  cJSON *dto = rb_job_to_dto(e, job);
  rb_doc def = {NULL, NULL, 0};
  const cJSON *activity = NULL;
  int rc = REBATCH_OK;
  if (!dto) return REBATCH_NOMEM;
  if (rb_str(job, "processDefinitionId") && rb_str(job, "activityId"))
    rc = rb_definition_load(e, rb_str(job, "processDefinitionId"), &def);
  if (rc == REBATCH_OK && def.json) activity = rb_model_activity(def.json, rb_str(job, "activityId"));
  if (rc == REBATCH_OK && (!rb_set_str(dto, "activityId", rb_str(job, "activityId")) ||
                           !rb_set_str(dto, "jobConfiguration", rb_str(job, "jobConfiguration"))))
    rc = REBATCH_NOMEM;
  for (int i = 0; rc == REBATCH_OK && activity && names[i]; i++)
    if (rb_str(activity, names[i]) && !rb_set_str(dto, names[i], rb_str(activity, names[i]))) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK && !(*text = rb_print(dto))) rc = REBATCH_NOMEM;
  rb_doc_clear(&def);
  cJSON_Delete(dto);
  return rc;
}

/* Lets the host run the job's process code (tests, the simulation, the
 * server's job handlers): it succeeds, fails, or is deferred. */
static int ask_host(rebatch_engine *e, const cJSON *job, rb_outcome *out) {
  char buf[4096], *text = NULL;
  size_t len;
  int rc;
  if (!e->host.execute_job) return REBATCH_OK;
  if ((rc = host_job_text(e, job, &text)) != REBATCH_OK) return rc;
  memset(buf, 0, sizeof buf); /* a second string (the stacktrace) is read only if written */
  rc = e->host.execute_job(e->host.ctx, text, buf, (int)sizeof buf - 1);
  rb_free(text);
  if (rc == REBATCH_OK) return REBATCH_OK;
  len = strlen(buf);
  if (len > sizeof out->message - 1) len = sizeof out->message - 1; /* the message, cut to fit */
  memcpy(out->message, buf, len);
  out->message[len] = '\0';
  if (rc == REBATCH_DEFERRED) {
    out->deferred = 1;
    if (!out->message[0]) strcpy(out->message, "rebatch");
    return REBATCH_OK;
  }
  out->failed = 1;
  if (!out->message[0]) strcpy(out->message, "job failed");
  len = strlen(buf);
  if (len + 1 < sizeof buf && buf[len + 1] && !(out->trace = rb_strdup(buf + len + 1))) return REBATCH_NOMEM;
  return REBATCH_OK;
}

/* Who runs a job and for how long it is locked: the executor's lock owner
 * (NULL when a job is executed by request, unlocked) and lockTimeInMillis. */
typedef struct rb_lock {
  const char *owner;
  double ms;
} rb_lock;

/* Locks a job whose code the host runs on its own: acquisition skips it
 * until the lock expires; the host ends it with completeLockedJob or
 * failLockedJob. */
static int lock_job(rebatch_engine *e, rb_doc *job, const char *owner, double ms) {
  if (!rb_set_str(job->json, "lockOwner", owner) ||
      !rb_set_num(job->json, "lockExpirationTime", rb_now(e) + ms))
    return REBATCH_NOMEM;
  return rb_job_save(e, job);
}

/* Runs a batch's job (b->batch_id set) or a process job (parsed: job). */
static int run_job(rebatch_engine *e, const rb_batch_job *b, rb_doc *job, const rb_lock *lock,
                   rb_outcome *out) {
  rb_response res = {0, NULL};
  int rc = REBATCH_OK;
  if (b->batch_id) rc = rb_batch_job_execute(e, b, &res);
  else if (rb_definition_state_job(rb_str(job->json, "jobType"))) rc = definition_state_job(e, job, &res);
  else if (rb_history_cleanup_job(rb_str(job->json, "jobType"))) {
    rc = rb_delete(e, JOB, job);
    if (rc == REBATCH_OK) rc = rb_history_cleanup_run(e);
  }
  else {
    rc = ask_host(e, job->json, out);
    if (rc == REBATCH_OK && out->deferred) rc = lock_job(e, job, out->message, lock->ms);
    else if (rc == REBATCH_OK && !out->failed) rc = process_job_handler(e, job, &res);
  }
  if (rc == RB_REJECTED) {
    out->failed = 1;
    out->by_engine = 1;
    snprintf(out->message, sizeof out->message, "%s",
             rb_str(res.body, "message") ? rb_str(res.body, "message") : "job failed");
    rc = REBATCH_OK;
  }
  cJSON_Delete(res.body);
  return rc;
}

/* The retry time cycle of the job's activity (R3/PT5M), if it has one. */
static int retry_cycle_of(rebatch_engine *e, const cJSON *job, int *retries,
                          double *interval, int *found) {
  rb_doc def;
  const cJSON *activity;
  int rc;
  *found = 0;
  if (!rb_str(job, "processDefinitionId") || !rb_str(job, "activityId")) return REBATCH_OK;
  if ((rc = rb_definition_load(e, rb_str(job, "processDefinitionId"), &def)) != REBATCH_OK) return rc;
  activity = def.json ? rb_model_activity(def.json, rb_str(job, "activityId")) : NULL;
  *found = activity && rb_retry_cycle(rb_str(activity, "failedJobRetryTimeCycle"), retries, interval);
  rb_doc_clear(&def);
  return REBATCH_OK;
}

/* Camunda's failure handling: the first failure under a retry cycle resets
 * retries to the cycle's count; every failure then takes one retry and,
 * with a cycle, moves the due date by its interval. */
static int record_failure(rebatch_engine *e, const char *job_id, const char *message, const char *stacktrace) {
  char log_id[REBATCH_ID_MAX + 1];
  rb_doc job;
  int cycle_retries = 0, found = 0, retries, rc = rb_load(e, JOB, job_id, &job);
  double interval = 0;
  if (rc != REBATCH_OK || !job.json) {
    rb_doc_clear(&job);
    return rc;
  }
  rc = retry_cycle_of(e, job.json, &cycle_retries, &interval, &found);
  retries = retries_of(job.json);
  if (found && !rb_str(job.json, "exceptionMessage")) retries = cycle_retries;
  if (rc == REBATCH_OK) {
    char *trace = stacktrace ? rb_strdup(stacktrace)
                             : rb_sprintf("org.camunda.bpm.engine.ProcessEngineException: %s\n\tat rebatch job executor", message);
    cJSON_DeleteItemFromObjectCaseSensitive(job.json, "lockOwner");
    cJSON_DeleteItemFromObjectCaseSensitive(job.json, "lockExpirationTime");
    if (!trace || !rb_set_str(job.json, "exceptionMessage", message) ||
        !rb_set_str(job.json, "exceptionStacktrace", trace) ||
        !rb_set_str(job.json, "failedActivityId", rb_str(job.json, "activityId")) ||
        (found && !rb_set_num(job.json, "dueDate", rb_now(e) + interval)))
      rc = REBATCH_NOMEM;
    rb_free(trace);
  }
  /* Camunda logs the failure with the retries the job had when it ran; an
   * incident this failure opens names the entry (historyConfiguration). */
  if (rc == REBATCH_OK) rc = rb_job_log(e, job.json, RB_JOB_LOG_FAILURE, retries_of(job.json), log_id);
  if (rc == REBATCH_OK && !rb_set_str(job.json, "lastFailureLogId", log_id)) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = rb_job_set_retries(e, &job, retries - 1);
  rb_doc_clear(&job);
  return rc;
}

/* A due job as acquisition read it. A batch's job is run from that text:
 * its removal names the revision read then, so a job changed or deleted
 * meanwhile fails it, and the job is read again (a process job is read
 * again in any case: the host's code runs before anything is written). */
typedef struct acquired {
  char *id;
  char *text; /* as locked; taken by the execution */
  char *read; /* as read, kept while locking (to undo a group's locks) */
  int rev, read_rev;
  int group; /* the index of the first job of its process instance's group; its own when alone */
  int dropped; /* another node locked it (or its group) first */
} acquired;

/* A batch's job (seed, monitor or execution) is run from its batch, type,
 * items and retries alone, read from its text in one walk that also finds
 * what its success log entry copies (log, pointing into *text); only its
 * items are parsed. Other jobs are parsed whole (job->json; *text is then
 * NULL). */
typedef struct loaded_job {
  rb_text_field f[4 + RB_JOB_LOG_KEYS];
  rb_text_field *log;
  int log_count;
  rb_batch_job batch;
  char batch_id[REBATCH_ID_MAX + 1], type[128];
  cJSON *items; /* owned */
  int retries;
} loaded_job;

/* The quick reading of a batch's job: 0 when the text needs parsing. */
static int read_batch_job(const char *id, int rev, loaded_job *l) {
  rb_text_field *f = l->f;
  double retries = 0;
  if (rb_field_str(&f[0], l->batch_id, sizeof l->batch_id) <= 0 ||
      rb_field_str(&f[1], l->type, sizeof l->type) <= 0)
    return 0;
  if (f[3].value && *f[3].value != 'n' && (rb_field_num(&f[3], &retries) <= 0 || retries == RB_NO_DATE))
    return 0; /* not a number: rb_int's reading of it is the parsed one */
  l->retries = (int)(long long)retries;
  l->batch.id = id;
  l->batch.rev = rev;
  l->batch.batch_id = l->batch_id;
  l->batch.type = l->type;
  l->batch.items = l->items = f[2].value ? cJSON_ParseWithLength(f[2].value, f[2].len) : NULL;
  return !f[2].value || l->items;
}

static int load_job(rebatch_engine *e, const char *id, acquired *hint, rb_doc *job, char **text,
                    loaded_job *l) {
  rb_text_field *f = l->f;
  int rc = REBATCH_OK;
  l->log = NULL;
  l->items = NULL;
  memset(&l->batch, 0, sizeof l->batch);
  if (hint) {
    *text = hint->text;
    hint->text = NULL;
    job->rev = hint->rev;
  } else {
    rc = rb_load_text(e, JOB, id, text, &job->rev);
  }
  if (rc != REBATCH_OK || !*text) return rc;
  f[0].key = "batchId";
  f[1].key = "jobType";
  f[2].key = "batchItems";
  f[3].key = "retries";
  l->log_count = rb_job_log_keys(f + 4);
  if (rb_text_fields(*text, f, 4 + l->log_count) > 0 && read_batch_job(id, job->rev, l)) {
    l->log = f + 4;
    return REBATCH_OK;
  }
  cJSON_Delete(l->items);
  l->items = NULL;
  memset(&l->batch, 0, sizeof l->batch);
  if (hint) { /* not a batch's job: read it now */
    rb_free(*text);
    *text = NULL;
    return load_job(e, id, NULL, job, text, l);
  }
  {
    int parsed = rb_parse_record(e, *text, &job->json);
    rb_free(*text);
    *text = NULL;
    if (parsed != REBATCH_OK) return parsed;
  }
  if (!(job->id = rb_strdup(id))) return REBATCH_NOMEM;
  l->retries = retries_of(job->json);
  l->batch.id = job->id;
  l->batch.rev = job->rev;
  l->batch.batch_id = rb_str(job->json, "batchId");
  l->batch.type = rb_str(job->json, "jobType");
  l->batch.items = cJSON_GetObjectItemCaseSensitive(job->json, "batchItems");
  return REBATCH_OK;
}

/* Whether the job (its text, or parsed when text is NULL) is locked by
 * owner: a job whose lock expired and that another node acquired since is
 * not run a second time. */
static int held_by(rebatch_engine *e, const char *text, const cJSON *json, const char *owner) {
  char buf[REBATCH_ID_MAX * 4 + 1];
  cJSON *parsed = NULL;
  int got, held;
  if (!text) return rb_str_eq(rb_str(json, "lockOwner"), owner);
  got = rb_text_str(text, "lockOwner", buf, sizeof buf);
  if (got >= 0) return got > 0 && strcmp(buf, owner) == 0;
  if (rb_parse_record(e, text, &parsed) != REBATCH_OK) return 0;
  held = rb_str_eq(rb_str(parsed, "lockOwner"), owner);
  cJSON_Delete(parsed);
  return held;
}

/* Executes one job in its own transaction; a failure is then recorded in a
 * second one, as Camunda's failed job listener does. *exists is 0 when the
 * job is gone (or, for the executor, no longer locked by lock->owner).
 * hint: the job as acquisition read and locked it, or NULL. */
static int run_in_tx(rebatch_engine *e, const char *id, acquired *hint, const rb_lock *lock,
                     rb_outcome *out, int *exists) {
  rb_doc job = {NULL, NULL, 0};
  char *text = NULL;
  loaded_job l;
  int rc = rb_tx_begin(e), stale;
  l.log = NULL;
  l.items = NULL;
  memset(out, 0, sizeof *out);
  *exists = 0;
  if (rc == REBATCH_OK) rc = load_job(e, id, hint, &job, &text, &l);
  /* the executor's own lock is in the text acquisition handed over */
  if (rc == REBATCH_OK && lock->owner && (l.log || job.json) && !(hint && l.log) &&
      !held_by(e, l.log ? text : NULL, job.json, lock->owner)) {
    l.log = NULL;
    rb_doc_clear(&job);
  }
  if (rc == REBATCH_OK && (l.log || job.json)) {
    *exists = 1;
    rc = run_job(e, &l.batch, &job, lock, out);
    if (rc == REBATCH_OK && !out->failed && !out->deferred)
      rc = l.log ? rb_job_log_fields(e, text, l.log, l.log_count, RB_JOB_LOG_SUCCESS, l.retries)
                 : rb_job_log(e, job.json, RB_JOB_LOG_SUCCESS, l.retries, NULL);
  }
  stale = hint && l.log && (rc == REBATCH_NOTFOUND || rc == REBATCH_CONFLICT);
  cJSON_Delete(l.items);
  rb_free(text);
  rb_doc_clear(&job);
  if (rc == REBATCH_OK && !out->failed) return rb_tx_commit(e);
  rb_tx_rollback(e);
  if (stale) return run_in_tx(e, id, NULL, lock, out, exists);
  if (rc != REBATCH_OK) return rc;
  if ((rc = rb_tx_begin(e)) != REBATCH_OK) return rc;
  rc = record_failure(e, id, out->message, out->trace);
  if (rc == REBATCH_OK) return rb_tx_commit(e);
  rb_tx_rollback(e);
  return rc;
}

/* Gives up the executor's lock on a job it did not finish, so that any node
 * acquires it again at once. A job changed meanwhile keeps what the other
 * writer wrote (its lock, if still ours, then expires). */
static int release_lock(rebatch_engine *e, const char *id, const char *owner) {
  rb_doc job;
  int rc = rb_tx_begin(e);
  if (rc != REBATCH_OK) return rc;
  rc = rb_load(e, JOB, id, &job);
  if (rc == REBATCH_OK && job.json && rb_str_eq(rb_str(job.json, "lockOwner"), owner)) {
    cJSON_DeleteItemFromObjectCaseSensitive(job.json, "lockOwner");
    cJSON_DeleteItemFromObjectCaseSensitive(job.json, "lockExpirationTime");
    rc = rb_job_save(e, &job);
  }
  rb_doc_clear(&job);
  if (rc == REBATCH_OK) rc = rb_tx_commit(e);
  else rb_tx_rollback(e);
  return rc == REBATCH_CONFLICT || rc == REBATCH_NOTFOUND ? REBATCH_OK : rc;
}

/* As Camunda handles an OptimisticLockingException in the job executor: a
 * job whose transaction met another writer is no failure. Nothing it did
 * stays, no retry is taken, and its lock is released so it runs again. */
static int execute_job(rebatch_engine *e, const char *id, acquired *hint, const rb_lock *lock,
                       rb_outcome *out, int *exists) {
  int rc = run_in_tx(e, id, hint, lock, out, exists);
  if (rc != REBATCH_CONFLICT || !lock->owner) return rc;
  out->failed = 0;
  out->deferred = 0;
  out->conflicted = 1;
  *exists = 1;
  return release_lock(e, id, lock->owner);
}

/* ---- jobs whose code the host ran on its own ------------------------------ */

/* Loads the job of a completeLockedJob/failLockedJob request if the request's
 * lockOwner holds it; else answers the error (job->json NULL). */
static int load_locked(rebatch_engine *e, const cJSON *request, rb_doc *job, rb_response *res) {
  const char *id = rb_str(request, "id");
  const char *owner = rb_str(cJSON_GetObjectItemCaseSensitive(request, "body"), "lockOwner");
  const char *held;
  int rc;
  if (!owner) return rb_invalid(res, 400, "lockOwner is null");
  if (!id) return rb_not_found(res, "InvalidRequestException", "ENGINE-14026 No job found with id 'null'");
  if ((rc = rb_load(e, JOB, id, job)) != REBATCH_OK) return rc;
  if (!job->json) return rb_not_found(res, "InvalidRequestException", "ENGINE-14026 No job found with id '%s'", id);
  held = rb_str(job->json, "lockOwner");
  if (held && strcmp(held, owner) == 0) return REBATCH_OK;
  rb_doc_clear(job);
  return rb_invalid(res, 400, "Job '%s' is not locked by '%s'", id, owner);
}

/* The host's code for a deferred job succeeded: the job's continuation runs
 * now, in this operation's transaction; an engine failure there fails the
 * job as in execute_job. */
int rb_op_completeLockedJob(rebatch_engine *e, const cJSON *request, rb_response *res) {
  rb_doc job = {NULL, NULL, 0};
  rb_response run = {0, NULL};
  char message[512] = "";
  int retries, rc = rb_tx_begin(e);
  if (rc == REBATCH_OK) rc = load_locked(e, request, &job, res);
  if (rc != REBATCH_OK || !job.json) {
    rb_doc_clear(&job);
    if (rc == REBATCH_OK) rc = rb_tx_commit(e);
    else rb_tx_rollback(e);
    return rc;
  }
  retries = retries_of(job.json);
  cJSON_DeleteItemFromObjectCaseSensitive(job.json, "lockOwner");
  cJSON_DeleteItemFromObjectCaseSensitive(job.json, "lockExpirationTime");
  rc = process_job_handler(e, &job, &run);
  if (rc == RB_REJECTED)
    snprintf(message, sizeof message, "%s", rb_str(run.body, "message") ? rb_str(run.body, "message") : "job failed");
  else if (rc == REBATCH_OK)
    rc = rb_job_log(e, job.json, RB_JOB_LOG_SUCCESS, retries, NULL);
  cJSON_Delete(run.body);
  if (rc == REBATCH_OK) {
    rb_doc_clear(&job);
    if ((rc = rb_tx_commit(e)) == REBATCH_OK) rb_ok(res, 204, NULL);
    return rc;
  }
  rb_tx_rollback(e);
  if (rc == RB_REJECTED && (rc = rb_tx_begin(e)) == REBATCH_OK) {
    rc = record_failure(e, job.id, message, NULL);
    if (rc == REBATCH_OK) rc = rb_tx_commit(e);
    else rb_tx_rollback(e);
    if (rc == REBATCH_OK) rc = rb_not_found(res, "InvalidRequestException", "%s", message);
  }
  rb_doc_clear(&job);
  return rc;
}

/* The host's code for a deferred job threw: Camunda's failure handling,
 * with the host's message and stacktrace (errorMessage, errorDetails). */
int rb_op_failLockedJob(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const char *message = rb_str(body, "errorMessage");
  rb_doc job = {NULL, NULL, 0};
  int rc = load_locked(e, request, &job, res);
  if (rc == REBATCH_OK && job.json) {
    rc = record_failure(e, job.id, message && *message ? message : "job failed", rb_str(body, "errorDetails"));
    if (rc == REBATCH_OK) rb_ok(res, 204, NULL);
  }
  rb_doc_clear(&job);
  return rc;
}

int rb_op_executeJob(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id");
  rb_outcome out;
  int exists, rc;
  /* Camunda: ExecuteJobsCmd's ENGINE-14026 becomes a 404; what the job
   * throws is rethrown after the failure is recorded. JobResourceImpl turns
   * a ProcessEngineException (an engine failure, e.g. a batch job's
   * ENGINE-13053) into a 404 InvalidRequestException and any other runtime
   * exception (the host's job code) into a 500 RestException, both without
   * a code. */
  if (!id) return rb_not_found(res, "InvalidRequestException", "ENGINE-14026 No job found with id 'null'");
  {
    rb_lock unlocked = {NULL, e->config.lock_time_ms};
    rc = execute_job(e, id, NULL, &unlocked, &out, &exists);
  }
  rb_free(out.trace);
  if (rc != REBATCH_OK) return rc;
  if (!exists) return rb_not_found(res, "InvalidRequestException", "ENGINE-14026 No job found with id '%s'", id);
  if (out.failed && out.by_engine) return rb_not_found(res, "InvalidRequestException", "%s", out.message);
  if (out.failed) return rb_error(res, 500, "RestException", RB_CODE_NULL, "%s", out.message);
  return rb_ok(res, 204, NULL);
}

static int add_result(cJSON *list, const char *id, const rb_outcome *out) {
  cJSON *item = cJSON_CreateObject();
  if (!item || !rb_put_str(item, "id", id) || !rb_put_bool(item, "failed", out->failed) ||
      !rb_put_str(item, "exceptionMessage", out->failed ? out->message : NULL) ||
      !cJSON_AddItemToArray(list, item)) {
    cJSON_Delete(item);
    return 0;
  }
  return 1;
}

static int is_due(rebatch_engine *e, const cJSON *job, double now) {
  double due = rb_date(job, "dueDate");
  (void)e;
  return due < 0 || due <= now;
}

typedef struct acquired_list {
  acquired *items;
  int count, cap;
} acquired_list;

static void acquired_free(acquired *a) {
  rb_free(a->id);
  rb_free(a->text);
  rb_free(a->read);
}

static void acquired_truncate(acquired_list *l, int count) {
  while (l->count > count) acquired_free(&l->items[--l->count]);
}

static void acquired_clear(acquired_list *l) {
  acquired_truncate(l, 0);
  rb_free(l->items);
  memset(l, 0, sizeof *l);
}

/* Takes the row's id and text (the page's copies) into the list. */
static int acquired_push(acquired_list *l, char **id, char **text, int rev, int group) {
  acquired *a;
  if (l->count == l->cap) {
    int cap = l->cap ? l->cap * 2 : 16;
    acquired *items = rb_realloc(l->items, (size_t)cap * sizeof *items);
    if (!items) return REBATCH_NOMEM;
    l->items = items;
    l->cap = cap;
  }
  a = &l->items[l->count++];
  memset(a, 0, sizeof *a);
  a->id = *id;
  a->read = *text;
  a->rev = a->read_rev = rev;
  a->group = group;
  *id = *text = NULL;
  return REBATCH_OK;
}

/* The process instances an acquisition has decided on (their exclusive
 * jobs acquired together, or skipped). */
typedef struct seen_instances {
  char **ids;
  int count, cap;
} seen_instances;

static int seen_add(seen_instances *s, const char *id) {
  if (s->count == s->cap) {
    int cap = s->cap ? s->cap * 2 : 16;
    char **ids = rb_realloc(s->ids, (size_t)cap * sizeof *ids);
    if (!ids) return REBATCH_NOMEM;
    s->ids = ids;
    s->cap = cap;
  }
  if (!(s->ids[s->count] = rb_strdup(id))) return REBATCH_NOMEM;
  s->count++;
  return REBATCH_OK;
}

static int seen_has(const seen_instances *s, const char *id) {
  for (int i = 0; i < s->count; i++)
    if (strcmp(s->ids[i], id) == 0) return 1;
  return 0;
}

static void seen_clear(seen_instances *s) {
  for (int i = 0; i < s->count; i++) rb_free(s->ids[i]);
  rb_free(s->ids);
  memset(s, 0, sizeof *s);
}

typedef struct acquisition {
  acquired_list *due;
  int max;
  double now;
  char *after; /* the last row's id: where the next page starts */
  size_t after_cap;
  int skipped; /* rows seen that were not due */
  double next_due; /* the earliest due date of those, RB_NO_DATE when none */
  /* Walking in due order (rb_ordered_possible): the last row's due key is
   * the cursor's other half, and the first row not due ends the walk. */
  int ordered, ended, advanced;
  char after_key[DUE_KEY_SIZE];
  seen_instances instances;
} acquisition;

/* Whether a job's lock, which ends at *until, has not expired (the key test
 * first: most jobs are never locked). A locked job's next chance is its
 * lock's end, not its due date, which has passed. */
static int locked(const char *json, double now, double *until) {
  return strstr(json, "\"lockExpirationTime\"") && rb_text_date(json, "lockExpirationTime", until) > 0 &&
         *until > now;
}

/* In due order, whether the row (its due date's key, its id) comes after
 * the cursor, which it then becomes. A row out of order (an index value
 * that is not the row's due date) is passed over, so none is taken twice. */
static int ordered_advance(acquisition *a, double due, const char *id) {
  char key[DUE_KEY_SIZE];
  int cmp;
  due_key(due, key);
  cmp = a->after ? strcmp(key, a->after_key) : 1;
  if (cmp < 0 || (cmp == 0 && strcmp(id, a->after) <= 0)) return 0;
  memcpy(a->after_key, key, sizeof key);
  a->advanced++;
  return 1;
}

static void wait_until(acquisition *a, double when) {
  a->skipped++;
  if (a->next_due == RB_NO_DATE || when < a->next_due) a->next_due = when;
}

/* A job's due date, and whether it has retries left and is active, from its
 * text (parsed when the quick walk cannot tell). */
static int job_state(rebatch_engine *e, const char *json, double *due, int *acquirable) {
  job_text t;
  cJSON *parsed;
  int rc;
  if (rb_text_date(json, "dueDate", due) >= 0 && read_job_text(json, &t, NULL, 0)) {
    *acquirable = t.retries > 0 && !t.suspended;
    return REBATCH_OK;
  }
  if ((rc = rb_parse_record(e, json, &parsed)) != REBATCH_OK) return rc;
  *due = rb_date(parsed, "dueDate");
  *acquirable = retries_of(parsed) > 0 && !is_true(parsed, "suspended");
  cJSON_Delete(parsed);
  return REBATCH_OK;
}

typedef struct instance_scan {
  acquisition *a;
  int first; /* the group's first index in a->due */
  int held;  /* a job of the instance is locked: the instance is skipped */
  double until;
} instance_scan;

static int instance_row(rebatch_engine *e, const char *id, const char *json, int rev, void *ctx) {
  instance_scan *s = ctx;
  double due, until;
  int acquirable, rc;
  char *id_copy, *text_copy;
  if (s->held) return REBATCH_OK;
  if (locked(json, s->a->now, &until)) {
    s->held = 1;
    s->until = until;
    return REBATCH_OK;
  }
  if ((rc = job_state(e, json, &due, &acquirable)) != REBATCH_OK) return rc;
  if (!acquirable || !(due < 0 || due <= s->a->now)) return REBATCH_OK;
  id_copy = rb_strdup(id);
  text_copy = rb_strdup(json);
  rc = id_copy && text_copy ? acquired_push(s->a->due, &id_copy, &text_copy, rev, s->first) : REBATCH_NOMEM;
  rb_free(id_copy);
  rb_free(text_copy);
  return rc;
}

/* Camunda's exclusive jobs: the due jobs of one process instance are
 * acquired together, by one node, or not at all while any job of the
 * instance is locked (running on some node). Every process job is
 * exclusive, as Camunda's default. */
static int acquire_instance(rebatch_engine *e, acquisition *a, const char *instance) {
  instance_scan s = {a, a->due->count, 0, 0};
  int rc = seen_add(&a->instances, instance);
  if (rc == REBATCH_OK) rc = rb_find_all_rows(e, JOB, "processInstanceId", instance, instance_row, &s);
  if (rc != REBATCH_OK || !s.held) return rc;
  acquired_truncate(a->due, s.first);
  wait_until(a, s.until);
  return REBATCH_OK;
}

/* Reads a row's due date and lock from its text; a text the quick walk
 * cannot judge is parsed as rb_find_page would. */
static int acquire_row(rebatch_engine *e, char **row_id, char **row_json, int rev,
                       void *ctx) {
  acquisition *a = ctx;
  const char *id = *row_id, *json = *row_json;
  char instance[REBATCH_ID_MAX + 1];
  double due, until;
  int got;
  size_t len = strlen(id);
  int rc;
  if ((rc = text_due(e, json, &due)) != REBATCH_OK) return rc;
  if (a->ordered && !ordered_advance(a, due, id)) return REBATCH_OK;
  if (len >= a->after_cap) {
    char *grown = rb_realloc(a->after, len + 1);
    if (!grown) return REBATCH_NOMEM;
    a->after = grown;
    a->after_cap = len + 1;
  }
  memcpy(a->after, id, len + 1);
  if (locked(json, a->now, &until)) {
    wait_until(a, until);
    return REBATCH_OK;
  }
  if (!(due < 0 || due <= a->now)) {
    a->ended = a->ordered;
    wait_until(a, due);
    return REBATCH_OK;
  }
  if (a->due->count >= a->max) return REBATCH_OK;
  got = rb_text_str(json, "processInstanceId", instance, sizeof instance);
  if (got < 0) { /* not the quick kind of text: parse it for the instance */
    cJSON *parsed;
    int rc = rb_parse_record(e, json, &parsed);
    if (rc != REBATCH_OK) return rc;
    got = rb_str(parsed, "processInstanceId") ? 1 : 0;
    if (got) snprintf(instance, sizeof instance, "%s", rb_str(parsed, "processInstanceId"));
    cJSON_Delete(parsed);
  }
  if (got > 0) return seen_has(&a->instances, instance) ? REBATCH_OK : acquire_instance(e, a, instance);
  return acquired_push(a->due, row_id, row_json, rev, a->due->count);
}

/* Saves a job's text at *rev (then its new revision), with the index
 * entries the text says (parsed when the quick walk cannot tell). */
static int save_job_text(rebatch_engine *e, const char *id, const char *text, int *rev) {
  job_text t;
  rb_doc doc = {NULL, NULL, *rev};
  int rc;
  double due;
  char key[DUE_KEY_SIZE];
  if (read_job_text(text, &t, NULL, 0) && rb_text_date(text, "dueDate", &due) >= 0) {
    rebatch_index_entry index[] = {
        {"processInstanceId", t.got_instance > 0 ? t.instance : NULL},
        {"jobDefinitionId", t.got_definition > 0 ? t.definition : NULL},
        {"acquirable", acquirable_value(e, t.retries > 0 && !t.suspended, due, key)},
    };
    return rb_save_text(e, JOB, id, text, rev, index, 3);
  }
  if ((rc = rb_parse_record(e, text, &doc.json)) != REBATCH_OK) return rc;
  if (!(doc.id = rb_strdup(id))) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = rb_job_save(e, &doc);
  *rev = doc.rev;
  rb_doc_clear(&doc);
  return rc;
}

/* The job's text with the lock (members) written into it. */
static int locked_text(rebatch_engine *e, const char *text, const rb_member *lock, char **out) {
  cJSON *parsed;
  int rc, got = rb_text_patch(text, lock, 2, out);
  if (got != 0) return got > 0 ? REBATCH_OK : REBATCH_NOMEM;
  if ((rc = rb_parse_record(e, text, &parsed)) != REBATCH_OK) return rc;
  if (!rb_take(parsed, lock[0].key, cJSON_Parse(lock[0].json)) ||
      !rb_take(parsed, lock[1].key, cJSON_Parse(lock[1].json)) || !(*out = rb_print(parsed)))
    rc = REBATCH_NOMEM;
  cJSON_Delete(parsed);
  return rc;
}

/* Locks every acquired job under the owner, each with the revision it was
 * read at. A job another node changed first (locked it, most likely) is
 * dropped with the rest of its group, whose locks are undone. */
static int lock_all(rebatch_engine *e, acquired_list *due, const rb_member *lock) {
  for (int i = 0; i < due->count; i++) {
    acquired *a = &due->items[i];
    int rc;
    if (due->items[a->group].dropped) {
      a->dropped = 1;
      continue;
    }
    rb_free(a->text);
    a->text = NULL;
    a->rev = a->read_rev;
    rc = locked_text(e, a->read, lock, &a->text);
    if (rc == REBATCH_OK) rc = save_job_text(e, a->id, a->text, &a->rev);
    if (rc != REBATCH_CONFLICT && rc != REBATCH_NOTFOUND) {
      if (rc != REBATCH_OK) return rc;
      continue;
    }
    for (int j = a->group; j < i; j++)
      if ((rc = save_job_text(e, due->items[j].id, due->items[j].read, &due->items[j].rev)) != REBATCH_OK) return rc;
    for (int j = a->group; j <= i; j++) due->items[j].dropped = 1;
  }
  return REBATCH_OK;
}

/* Keeps the jobs this node holds, in order, without their read texts. */
static void keep_locked(acquired_list *due) {
  int kept = 0;
  for (int i = 0; i < due->count; i++) {
    acquired *a = &due->items[i];
    rb_free(a->read);
    a->read = NULL;
    if (a->dropped) acquired_free(a);
    else due->items[kept++] = *a;
  }
  due->count = kept;
}

/* The lock's members: the owner as a JSON string, its expiration time. */
static int lock_members(const rb_lock *lock, double now, rb_member m[2], char **owner_json, char until[32]) {
  cJSON *owner = cJSON_CreateString(lock->owner);
  *owner_json = owner ? cJSON_PrintUnformatted(owner) : NULL;
  cJSON_Delete(owner);
  if (!*owner_json) return REBATCH_NOMEM;
  rb_format_number(now + lock->ms, until);
  m[0].key = "lockOwner";
  m[0].json = *owner_json;
  m[1].key = "lockExpirationTime";
  m[1].json = until;
  return REBATCH_OK;
}

/* Camunda's AcquireJobsCmd: collects due, acquirable jobs that no node
 * holds, in id order (due order with a version 3 store), at most max (a process instance's group may go
 * beyond), and locks them under lock->owner for lock->ms in one short
 * transaction. A store that checks revisions only at commit (PostgreSQL)
 * reports another node's lock there: the locks are then written again one
 * by one, each checked as it is written, and the jobs lost are dropped.
 * *next_due: the earliest time a job seen waiting becomes due or unlocked
 * (RB_NO_DATE when none). */
static int acquire(rebatch_engine *e, int max, const rb_lock *lock, acquired_list *due, double *next_due) {
  acquisition a = {due, max, rb_now(e), NULL, 0, 0, RB_NO_DATE, rb_ordered_possible(e), 0, 0, {0}, {NULL, 0, 0}};
  rb_member members[2];
  char *owner_json = NULL, until[32];
  int rc = lock_members(lock, a.now, members, &owner_json, until);
  if (rc == REBATCH_OK) rc = rb_tx_begin(e);
  while (rc == REBATCH_OK && due->count < max && !a.ended) {
    /* A page no larger than what is still wanted (every row of a page is
     * copied out of the store) until rows that are not due turn up; in due
     * order one row more, whose due date is the next wake-up. */
    int count = 0, wanted = max - due->count + a.ordered;
    int page = !a.skipped && wanted < 200 ? wanted : 200;
    a.advanced = 0;
    rc = a.ordered ? rb_find_ordered_page_take(e, JOB, "acquirable", a.after ? a.after_key : NULL, a.after,
                                               page, acquire_row, &a, &count)
                   : rb_find_page_take(e, JOB, "acquirable", "1", a.after, page, acquire_row, &a, &count);
    if (rc == REBATCH_OK && (count < page || (a.ordered && !a.advanced))) break;
  }
  rb_free(a.after);
  seen_clear(&a.instances);
  *next_due = a.next_due;
  if (rc == REBATCH_OK && due->count > 0) rc = lock_all(e, due, members);
  if (rc == REBATCH_OK) rc = rb_tx_commit(e);
  else rb_tx_rollback(e);
  if (rc == REBATCH_CONFLICT && (rc = rb_tx_begin(e)) == REBATCH_OK) {
    for (int i = 0; i < due->count; i++) due->items[i].dropped = 0;
    rc = lock_all(e, due, members);
    if (rc == REBATCH_OK) rc = rb_tx_commit(e);
    else rb_tx_rollback(e);
  }
  rb_free(owner_json);
  if (rc != REBATCH_OK) acquired_clear(due);
  else keep_locked(due);
  return rc;
}

/* Releases, best effort, the locks of jobs a failed step did not finish
 * (the step's own error is what the caller reports). */
static void release_unfinished(rebatch_engine *e, const acquired_list *due, int from, const char *owner) {
  char error[sizeof e->store_error];
  memcpy(error, e->store_error, sizeof error);
  for (int i = from; i < due->count; i++) release_lock(e, due->items[i].id, owner);
  memcpy(e->store_error, error, sizeof error);
}

/* The executeDueJobs body's lockOwner and lockTimeInMillis. */
static int read_lock(rebatch_engine *e, const cJSON *body, rb_lock *lock, rb_response *res) {
  const cJSON *owner = cJSON_GetObjectItemCaseSensitive(body, "lockOwner");
  long long ms = (long long)e->config.lock_time_ms;
  if (owner && !cJSON_IsNull(owner) && (!cJSON_IsString(owner) || !*owner->valuestring))
    return rb_invalid(res, 400, "lockOwner must be a non-empty string");
  if (rb_int(body, "lockTimeInMillis", &ms) < 0 || ms < 0)
    return rb_invalid(res, 400, "lockTimeInMillis must be a non-negative integer");
  lock->owner = cJSON_IsString(owner) ? owner->valuestring : "rebatch";
  lock->ms = (double)ms;
  return REBATCH_OK;
}

/* The job executor's step: acquires (locks) up to maxJobs due jobs at the
 * host clock's time under lockOwner and executes each in its own
 * transaction. nextDueInMs tells the host how long it may sleep: the time
 * from the step's start to the earliest due date or lock end among the
 * acquirable jobs the acquisition saw waiting (null when none; when the
 * step executed jobs, they may have made new ones, so the host steps again
 * rather than trust it). conflicted counts jobs that met another writer and
 * were released to run again. */
int rb_op_executeDueJobs(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  long long max = 100, per_tx = 1;
  acquired_list due = {0};
  rb_text_cache batch_cache = {0};
  rb_lock lock;
  cJSON *summary, *list;
  int succeeded = 0, failed = 0, conflicted = 0, settled = 0, rc;
  double start = rb_now(e), next_due;
  if (rb_int(body, "maxJobs", &max) < 0 || max < 0)
    return rb_invalid(res, 400, "maxJobs must be a non-negative integer");
  if (rb_int(body, "jobsPerTransaction", &per_tx) < 0 || per_tx < 1)
    return rb_invalid(res, 400, "jobsPerTransaction must be a positive integer");
  if ((rc = read_lock(e, body, &lock, res)) != REBATCH_OK) return rc;
  if (!rb_group_possible(e)) per_tx = 1;
  if ((rc = acquire(e, (int)(max > 1000000 ? 1000000 : max), &lock, &due, &next_due)) != REBATCH_OK) return rc;
  e->batch_cache = &batch_cache;
  summary = cJSON_CreateObject();
  list = cJSON_CreateArray();
  for (int i = 0; rc == REBATCH_OK && summary && list && i < due.count; i++) {
    rb_outcome out;
    int exists;
    /* Group commit: per_tx jobs share one transaction, each in a savepoint. */
    if (per_tx > 1 && i % per_tx == 0 && (rc = rb_group_begin(e)) != REBATCH_OK) break;
    rc = execute_job(e, due.items[i].id, &due.items[i], &lock, &out, &exists);
    rb_free(out.trace);
    if (rc == REBATCH_OK && exists && out.conflicted) conflicted++;
    else if (rc == REBATCH_OK && exists) {
      out.failed ? failed++ : succeeded++;
      if (!add_result(list, due.items[i].id, &out)) rc = REBATCH_NOMEM;
    }
    if (rc == REBATCH_OK && per_tx > 1 && (i % per_tx == per_tx - 1 || i == due.count - 1))
      rc = rb_group_commit(e);
    if (rc == REBATCH_OK && (per_tx == 1 || i % per_tx == per_tx - 1 || i == due.count - 1)) settled = i + 1;
  }
  rb_group_rollback(e);
  e->batch_cache = NULL;
  rb_text_cache_clear(&batch_cache);
  if (rc != REBATCH_OK) release_unfinished(e, &due, settled, lock.owner);
  acquired_clear(&due);
  if (rc == REBATCH_OK && summary && list && rb_put_num(summary, "executed", succeeded + failed) &&
      rb_put_num(summary, "succeeded", succeeded) && rb_put_num(summary, "failed", failed) &&
      rb_put_num(summary, "conflicted", conflicted) && cJSON_AddItemToObject(summary, "jobs", list) &&
      (next_due == RB_NO_DATE ? rb_put_str(summary, "nextDueInMs", NULL)
                              : rb_put_num(summary, "nextDueInMs", next_due > start ? next_due - start : 0)))
    return rb_ok(res, 200, summary);
  if (!rb_has(summary, "jobs")) cJSON_Delete(list);
  cJSON_Delete(summary);
  return rc == REBATCH_OK ? REBATCH_NOMEM : rc;
}

/* ---- retries ---------------------------------------------------------------- */

int rb_op_setJobRetries(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id");
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  long long retries;
  double due = RB_NO_DATE;
  int got = rb_int(body, "retries", &retries), due_given = rb_has(body, "dueDate");
  rb_doc job;
  int rc;
  /* rb_request_coerce made retries an integer, or refused it */
  if (got == 0) return rb_invalid(res, 400, "retries is null");
  /* rb_request_coerce refused a dueDate that is not a date. */
  if (due_given) rb_parse_date(cJSON_GetObjectItemCaseSensitive(body, "dueDate"), &due);
  if (retries < 0)
    return rb_error(res, 500, "InvalidRequestException", RB_CODE_NULL,
                    "ENGINE-13054 The number of job retries must be a non-negative Integer, but '%lld' has been provided.", retries);
  if ((rc = rb_load(e, JOB, id, &job)) != REBATCH_OK) return rc;
  /* JobResourceImpl rethrows the engine's exception without its cause,
   * so neither error carries a code. */
  if (!job.json) {
    rb_doc_clear(&job);
    return rb_error(res, 500, "InvalidRequestException", RB_CODE_NULL, "ENGINE-13053 No job found with id '%s'.'", id ? id : "null");
  }
  if (due_given && !rb_set_num(job.json, "dueDate", due)) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = rb_job_set_retries(e, &job, (int)(retries > 2147483647 ? 2147483647 : retries));
  rb_doc_clear(&job);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* ---- queries ---------------------------------------------------------------- */

static int with_retries_left(rebatch_engine *e, const cJSON *j, const cJSON *a) {
  (void)e; (void)a;
  return retries_of(j) > 0;
}
static int no_retries_left(rebatch_engine *e, const cJSON *j, const cJSON *a) {
  (void)e; (void)a;
  return retries_of(j) == 0;
}
static int executable(rebatch_engine *e, const cJSON *j, const cJSON *a) {
  (void)a;
  return retries_of(j) > 0 && is_due(e, j, rb_now(e));
}
static int job_type_is(const cJSON *j, const char *prefix) {
  const char *t = rb_str(j, "jobType");
  return t && strncmp(t, prefix, strlen(prefix)) == 0;
}
static int timers(rebatch_engine *e, const cJSON *j, const cJSON *a) {
  (void)e; (void)a;
  return job_type_is(j, "timer");
}
static int messages(rebatch_engine *e, const cJSON *j, const cJSON *a) {
  return !timers(e, j, a);
}
static int with_exception(rebatch_engine *e, const cJSON *j, const cJSON *a) {
  (void)e; (void)a;
  return rb_str(j, "exceptionMessage") != NULL;
}

static const rb_filter job_filters[] = {
    {"jobId", RB_F_EQ, "id", NULL, 0},
    {"jobIds", RB_F_IN, "id", NULL, 0},
    {"jobDefinitionId", RB_F_EQ, "jobDefinitionId", NULL, 1},
    {"processInstanceId", RB_F_EQ, "processInstanceId", NULL, 1},
    {"processInstanceIds", RB_F_IN, "processInstanceId", NULL, 0},
    {"executionId", RB_F_EQ, "executionId", NULL, 0},
    {"processDefinitionId", RB_F_EQ, "processDefinitionId", NULL, 0},
    {"processDefinitionKey", RB_F_EQ, "processDefinitionKey", NULL, 0},
    {"activityId", RB_F_EQ, "activityId", NULL, 0},
    {"withRetriesLeft", RB_F_FLAG, NULL, with_retries_left, 0},
    {"noRetriesLeft", RB_F_FLAG, NULL, no_retries_left, 0},
    {"executable", RB_F_FLAG, NULL, executable, 0},
    {"timers", RB_F_FLAG, NULL, timers, 0},
    {"messages", RB_F_FLAG, NULL, messages, 0},
    {"withException", RB_F_FLAG, NULL, with_exception, 0},
    {"exceptionMessage", RB_F_EQ, "exceptionMessage", NULL, 0},
    {"failedActivityId", RB_F_EQ, "failedActivityId", NULL, 0},
    {"active", RB_F_FLAG, NULL, rb_pred_active, 0},
    {"suspended", RB_F_FLAG, NULL, rb_pred_suspended, 0},
    {"priorityLowerThanOrEquals", RB_F_VALUE, NULL, rb_pred_priority_at_most, 0},
    {"priorityHigherThanOrEquals", RB_F_VALUE, NULL, rb_pred_priority_at_least, 0},
    {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},
    {"withoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0},
    {"dueDates", RB_F_UNSUPPORTED, NULL, NULL, 0},
    {"createTimes", RB_F_UNSUPPORTED, NULL, NULL, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key job_sorts[] = {
    {"jobId", "id"}, {"executionId", "executionId"},
    {"processInstanceId", "processInstanceId"}, {"processDefinitionId", "processDefinitionId"},
    {"processDefinitionKey", "processDefinitionKey"}, {"jobPriority", "priority"},
    {"jobRetries", "retries"}, {"jobDueDate", "dueDate"}, {"tenantId", "tenantId"},
    {NULL, NULL}};

const rb_query rb_job_query = {JOB, job_filters, job_sorts, rb_job_to_dto};

int rb_op_getJobs(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_list(e, &rb_job_query, request, res);
}

int rb_op_getJobsCount(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_count(e, &rb_job_query, request, res);
}

int rb_op_getJob(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_get_by_id(e, JOB, request, rb_job_to_dto, "Job with id %s does not exist", res);
}

static cJSON *job_definition_to_dto(rebatch_engine *e, const cJSON *jd) {
  static const char *const fields[] = {
      "id", "processDefinitionId", "processDefinitionKey", "jobType",
      "jobConfiguration", "activityId", "suspended", "overridingJobPriority",
      "tenantId", "deploymentId", NULL};
  (void)e;
  return rb_dto(jd, fields);
}

static int activity_in(rebatch_engine *e, const cJSON *jd, const cJSON *a) {
  (void)e;
  return rb_list_contains(a, rb_str(jd, "activityId"));
}
static int with_overriding_priority(rebatch_engine *e, const cJSON *jd, const cJSON *a) {
  (void)e; (void)a;
  return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(jd, "overridingJobPriority"));
}

static const rb_filter job_definition_filters[] = {
    {"jobDefinitionId", RB_F_EQ, "id", NULL, 0},
    {"activityIdIn", RB_F_VALUE, NULL, activity_in, 0},
    {"processDefinitionId", RB_F_EQ, "processDefinitionId", NULL, 1},
    {"processDefinitionKey", RB_F_EQ, "processDefinitionKey", NULL, 0},
    {"jobType", RB_F_EQ, "jobType", NULL, 0},
    {"jobConfiguration", RB_F_EQ, "jobConfiguration", NULL, 1},
    {"active", RB_F_FLAG, NULL, rb_pred_active, 0},
    {"suspended", RB_F_FLAG, NULL, rb_pred_suspended, 0},
    {"withOverridingJobPriority", RB_F_FLAG, NULL, with_overriding_priority, 0},
    {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},
    {"withoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key job_definition_sorts[] = {
    {"jobDefinitionId", "id"}, {"activityId", "activityId"},
    {"processDefinitionId", "processDefinitionId"},
    {"processDefinitionKey", "processDefinitionKey"}, {"jobType", "jobType"},
    {"jobConfiguration", "jobConfiguration"}, {"tenantId", "tenantId"}, {NULL, NULL}};

static const rb_query job_definition_query = {JOB_DEFINITION, job_definition_filters,
                                              job_definition_sorts, job_definition_to_dto};

int rb_op_getJobDefinitions(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_list(e, &job_definition_query, request, res);
}
