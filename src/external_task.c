/*
 * external_task.c - external tasks: created when a token reaches a service
 * task with a topic, fetched and locked (or locked one by one) by workers,
 * completed, failed (with retries and failedExternalTask incidents), ended
 * by a BPMN error, unlocked, and queried.
 */
#include "core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXTERNAL_TASK "externalTask"

/* "Retries left": never set (null) or above zero, as Camunda defines it. */
static int has_retries_left(const cJSON *task) {
  const cJSON *r = cJSON_GetObjectItemCaseSensitive(task, "retries");
  return !cJSON_IsNumber(r) || r->valuedouble > 0;
}

static int is_true(const cJSON *obj, const char *key) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* The "fetch" index: where fetchAndLock looks for a task, so that a fetch
 * costs what it answers rather than the size of the topic. The value is the
 * topic and a bucket: 0, + or - for an unlocked task of zero, positive or
 * negative priority, L for a locked one (its lock may have expired); no
 * entry for a task without retries or suspended (never fetchable). Writes
 * it into buf[RB_FETCH_KEY_MAX]; NULL for no entry. */
#define RB_FETCH_KEY_MAX 260
static const char *fetch_key(char *buf, const char *topic, int retries_left, int suspended,
                             int locked, double priority) {
  size_t len = topic ? strlen(topic) : 0;
  if (!topic || !retries_left || suspended || len + 3 > RB_FETCH_KEY_MAX) return NULL;
  memcpy(buf, topic, len);
  buf[len] = '\x1f';
  buf[len + 1] = locked ? 'L' : priority > 0 ? '+' : priority < 0 ? '-' : '0';
  buf[len + 2] = '\0';
  return buf;
}

static const char *task_fetch_key(char *buf, const cJSON *task) {
  const cJSON *until = cJSON_GetObjectItemCaseSensitive(task, "lockExpirationTime");
  return fetch_key(buf, rb_str(task, "topicName"), has_retries_left(task), is_true(task, "suspended"),
                   until && !cJSON_IsNull(until),
                   cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(task, "priority")));
}

/* A topic's lock calendar: one record per topic (its id the topic name)
 * whose "lockedFrom" is a time before which no lock of the topic's L bucket
 * expires (null: no task there). A fetch with nothing unlocked left to take
 * reads the L bucket only once a lock may have expired, so workers holding
 * 200,000 locks do not make every fetch read them all. Each write into the
 * L bucket lowers lockedFrom when it must; a fetch that walked the whole
 * bucket sets it to the earliest expiration it saw. Without the record (a
 * store written before it, or a topic too long for an id) fetches walk the
 * bucket, which creates it. */
#define TOPIC_LOCKS "externalTaskTopicLocks"

static int calendar_load(rebatch_engine *e, const char *topic, rb_doc *cal) {
  memset(cal, 0, sizeof *cal);
  if (!topic || strlen(topic) > REBATCH_ID_MAX) return REBATCH_OK;
  return rb_load(e, TOPIC_LOCKS, topic, cal);
}

/* The calendar's lockedFrom; INFINITY when no task is locked. */
static double calendar_from(const cJSON *cal) {
  const cJSON *from = cJSON_GetObjectItemCaseSensitive(cal, "lockedFrom");
  return cJSON_IsNumber(from) ? from->valuedouble : INFINITY;
}

/* A task of `topic` enters or stays in the L bucket, its lock expiring at `until`. */
static int calendar_note_lock(rebatch_engine *e, const char *topic, double until) {
  rb_doc cal;
  int rc = calendar_load(e, topic, &cal);
  if (rc == REBATCH_OK && cal.json && until < calendar_from(cal.json))
    rc = rb_set_num(cal.json, "lockedFrom", until) ? rb_save(e, TOPIC_LOCKS, &cal, NULL, 0) : REBATCH_NOMEM;
  rb_doc_clear(&cal);
  return rc;
}

/* After a walk of the whole L bucket: `from` is the earliest expiration in it. */
static int calendar_set(rebatch_engine *e, const char *topic, double from) {
  rb_doc cal;
  cJSON *value = isinf(from) ? cJSON_CreateNull() : cJSON_CreateNumber(from);
  int rc = calendar_load(e, topic, &cal);
  if (rc == REBATCH_OK && !cal.json && topic && strlen(topic) <= REBATCH_ID_MAX) {
    cJSON *record = cJSON_CreateObject();
    if (!record || !rb_put_str(record, "topicName", topic)) {
      cJSON_Delete(record);
      rc = REBATCH_NOMEM;
    } else {
      rc = rb_doc_init(&cal, topic, record);
    }
  }
  if (rc == REBATCH_OK && cal.json)
    rc = rb_take(cal.json, "lockedFrom", value) ? rb_save(e, TOPIC_LOCKS, &cal, NULL, 0) : REBATCH_NOMEM;
  else cJSON_Delete(value);
  rb_doc_clear(&cal);
  return rc;
}

static int save_task(rebatch_engine *e, rb_doc *doc) {
  char key[RB_FETCH_KEY_MAX];
  const char *fetch = task_fetch_key(key, doc->json);
  rebatch_index_entry index[] = {
      {"processInstanceId", rb_str(doc->json, "processInstanceId")},
      {"topicName", rb_str(doc->json, "topicName")},
      {"fetch", fetch},
  };
  int rc = rb_save(e, EXTERNAL_TASK, doc, index, 3);
  if (rc == REBATCH_OK && fetch && fetch[strlen(fetch) - 1] == 'L')
    rc = calendar_note_lock(e, rb_str(doc->json, "topicName"), rb_date(doc->json, "lockExpirationTime"));
  return rc;
}

int rb_external_tasks_set_suspended_for_instance(rebatch_engine *e, const char *instance_id, int suspended) {
  rb_docs docs = {0};
  int rc = rb_find_all(e, EXTERNAL_TASK, "processInstanceId", instance_id, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++)
    rc = rb_set_bool(docs.items[i].json, "suspended", suspended) ? save_task(e, &docs.items[i]) : REBATCH_NOMEM;
  rb_docs_clear(&docs);
  return rc;
}

int rb_external_task_create(rebatch_engine *e, const cJSON *instance,
                            const cJSON *definition, const cJSON *activity,
                            const char *execution_id,
                            const char *activity_instance_id) {
  char id[REBATCH_ID_MAX + 1];
  cJSON *t;
  rb_doc doc;
  long long priority = 0;
  int rc = rb_new_id(e, id);
  if (rc != REBATCH_OK) return rc;
  if (!(t = cJSON_CreateObject())) return REBATCH_NOMEM;
  rb_int(activity, "priority", &priority);
  rb_put_str(t, "activityId", rb_str(activity, "id"));
  rb_put_str(t, "activityInstanceId", activity_instance_id);
  rb_put_null(t, "errorMessage");
  rb_put_null(t, "errorDetails");
  rb_put_str(t, "executionId", execution_id);
  rb_put_str(t, "id", id);
  rb_put_null(t, "lockExpirationTime");
  rb_put_num(t, "createTime", rb_now(e));
  rb_put_str(t, "processDefinitionId", rb_str(definition, "id"));
  rb_put_str(t, "processDefinitionKey", rb_str(definition, "key"));
  rb_put_str(t, "processDefinitionVersionTag", rb_str(definition, "versionTag"));
  rb_put_str(t, "processInstanceId", rb_str(instance, "id"));
  rb_put_null(t, "retries");
  rb_put_bool(t, "suspended", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(instance, "suspended")));
  rb_put_null(t, "workerId");
  rb_put_str(t, "topicName", rb_str(activity, "topic"));
  rb_put_str(t, "tenantId", rb_str(instance, "tenantId"));
  rb_put_num(t, "priority", (double)priority);
  rb_put_str(t, "businessKey", rb_str(instance, "businessKey"));
  if (!rb_has(t, "businessKey")) {
    cJSON_Delete(t);
    return REBATCH_NOMEM;
  }
  if ((rc = rb_doc_init(&doc, id, t)) != REBATCH_OK) return rc;
  rc = save_task(e, &doc);
  rb_doc_clear(&doc);
  return rc;
}

int rb_external_tasks_migrate(rebatch_engine *e, const char *instance_id, const cJSON *target, const cJSON *mapping) {
  rb_docs tasks = {0};
  int rc = rb_find_all(e, EXTERNAL_TASK, "processInstanceId", instance_id, &tasks);
  for (int i = 0; rc == REBATCH_OK && i < tasks.count; i++) {
    cJSON *t = tasks.items[i].json;
    const char *to = rb_str(mapping, rb_str(t, "activityId"));
    if (!to) continue;
    if (!rb_set_str(t, "processDefinitionId", rb_str(target, "id")) ||
        !rb_set_str(t, "processDefinitionKey", rb_str(target, "key")) ||
        !rb_set_str(t, "processDefinitionVersionTag", rb_str(target, "versionTag")) || !rb_set_str(t, "activityId", to))
      rc = REBATCH_NOMEM;
    if (rc == REBATCH_OK) rc = save_task(e, &tasks.items[i]);
  }
  rb_docs_clear(&tasks);
  return rc;
}

int rb_external_tasks_delete_for_instance(rebatch_engine *e, const char *instance_id) {
  return rb_external_tasks_delete_for_execution(e, instance_id, NULL);
}

int rb_external_tasks_delete_for_execution(rebatch_engine *e, const char *instance_id,
                                           const char *execution_id) {
  rb_docs tasks = {0};
  int rc = rb_find_all(e, EXTERNAL_TASK, "processInstanceId", instance_id, &tasks);
  for (int i = 0; rc == REBATCH_OK && i < tasks.count; i++)
    if (!execution_id || rb_str_eq(rb_str(tasks.items[i].json, "executionId"), execution_id))
      rc = rb_delete(e, EXTERNAL_TASK, &tasks.items[i]);
  rb_docs_clear(&tasks);
  return rc;
}

static cJSON *task_to_dto(rebatch_engine *e, const cJSON *t) {
  static const char *const fields[] = {
      "activityId", "activityInstanceId", "errorMessage", "executionId", "id",
      "lockExpirationTime", "createTime", "processDefinitionId",
      "processDefinitionKey", "processDefinitionVersionTag",
      "processInstanceId", "retries", "suspended", "workerId", "topicName",
      "tenantId", "priority", "businessKey", NULL};
  (void)e;
  return rb_dto(t, fields);
}

/* ---- incidents on retries ------------------------------------------------ */

/* Camunda's setRetriesAndManageIncidents: falling to 0 opens a
 * failedExternalTask incident, rising from 0 resolves it. */
static int set_retries(rebatch_engine *e, rb_doc *task, int retries) {
  int had_left = has_retries_left(task->json), rc = REBATCH_OK;
  const cJSON *old = cJSON_GetObjectItemCaseSensitive(task->json, "retries");
  int was_zero = cJSON_IsNumber(old) && old->valuedouble <= 0;
  if (!rb_set_num(task->json, "retries", retries)) return REBATCH_NOMEM;
  if (had_left && retries <= 0) {
    rb_incident_spec s;
    memset(&s, 0, sizeof s);
    s.type = "failedExternalTask";
    s.configuration = task->id;
    s.message = rb_str(task->json, "errorMessage");
    s.process_instance_id = rb_str(task->json, "processInstanceId");
    s.process_definition_id = rb_str(task->json, "processDefinitionId");
    s.process_definition_key = rb_str(task->json, "processDefinitionKey");
    s.execution_id = rb_str(task->json, "executionId");
    s.activity_id = rb_str(task->json, "activityId");
    s.failed_activity_id = rb_str(task->json, "activityId");
    s.tenant_id = rb_str(task->json, "tenantId");
    rc = rb_incident_create(e, &s);
  } else if (was_zero && retries > 0) {
    rc = rb_incident_end(e, "failedExternalTask", task->id, 1);
  }
  return rc == REBATCH_OK ? save_task(e, task) : rc;
}

int rb_external_task_set_retries(rebatch_engine *e, rb_doc *task, int retries) {
  return set_retries(e, task, retries);
}

/* What the text path reads before it writes: the index values and the
 * retries (absent when null or not a number). 0 when it cannot tell. */
typedef struct task_text {
  char instance[REBATCH_ID_MAX + 1];
  char topic[256];
  int got_instance, got_topic, numeric, suspended, locked;
  double retries, priority, until;
} task_text;

static int read_task_text(const char *text, task_text *t) {
  rb_text_field f[] = {{"processInstanceId", NULL, 0}, {"topicName", NULL, 0}, {"retries", NULL, 0},
                       {"suspended", NULL, 0}, {"lockExpirationTime", NULL, 0}, {"priority", NULL, 0}};
  const char *r;
  if (rb_text_fields(text, f, 6) < 0) return 0;
  t->got_instance = rb_field_str(&f[0], t->instance, sizeof t->instance);
  t->got_topic = rb_field_str(&f[1], t->topic, sizeof t->topic);
  r = f[2].value;
  t->numeric = r && (*r == '-' || (*r >= '0' && *r <= '9'));
  t->suspended = rb_field_flag(&f[3]);
  t->locked = f[4].value && strncmp(f[4].value, "null", 4) != 0;
  if (t->locked && rb_field_num(&f[4], &t->until) <= 0) return 0;
  t->priority = 0;
  if (f[5].value && rb_field_num(&f[5], &t->priority) < 0) return 0;
  return t->got_instance >= 0 && t->got_topic >= 0 && rb_field_num(&f[2], &t->retries) > 0;
}

int rb_external_task_set_retries_text(rebatch_engine *e, const char *id, int retries, int *done) {
  char *text, *patched = NULL, value[32];
  rb_member member = {"retries", value};
  task_text t;
  int rev, rc = rb_load_text(e, EXTERNAL_TASK, id, &text, &rev), got = 0, had_left, was_zero;
  *done = 0;
  if (rc != REBATCH_OK || !text) {
    *done = rc != REBATCH_OK;
    rb_free(text);
    return rc;
  }
  rb_format_number(retries, value);
  if (read_task_text(text, &t)) got = rb_text_patch(text, &member, 1, &patched);
  rb_free(text);
  had_left = !t.numeric || t.retries > 0; /* as has_retries_left */
  was_zero = t.numeric && t.retries <= 0;
  if (got == 0 || (had_left && retries <= 0)) { /* an incident to create: parse */
    rb_free(patched);
    return REBATCH_OK;
  }
  *done = 1;
  if (got < 0) return REBATCH_NOMEM;
  if (was_zero && retries > 0) rc = rb_incident_end(e, "failedExternalTask", id, 1);
  if (rc == REBATCH_OK) {
    char key[RB_FETCH_KEY_MAX];
    rebatch_index_entry index[] = {
        {"processInstanceId", t.got_instance > 0 ? t.instance : NULL},
        {"topicName", t.got_topic > 0 ? t.topic : NULL},
        {"fetch", fetch_key(key, t.got_topic > 0 ? t.topic : NULL, retries > 0, t.suspended, t.locked,
                            t.priority)},
    };
    rc = rb_save_text(e, EXTERNAL_TASK, id, patched, &rev, index, 3);
    if (rc == REBATCH_OK && index[2].value && t.locked) rc = calendar_note_lock(e, t.topic, t.until);
  }
  rb_free(patched);
  return rc;
}

/* ---- fetch and lock -------------------------------------------------------- */

static int locked_at(const cJSON *task, double now) {
  double until = rb_date(task, "lockExpirationTime");
  return until >= 0 && until > now;
}

static int fetchable(const cJSON *task, double now) {
  return has_retries_left(task) && !is_true(task, "suspended") && !locked_at(task, now);
}

static int topic_accepts(const cJSON *topic, const cJSON *task) {
  const char *bk = rb_str(topic, "businessKey");
  const char *pd = rb_str(topic, "processDefinitionId");
  const char *key = rb_str(topic, "processDefinitionKey");
  const char *tag = rb_str(topic, "processDefinitionVersionTag");
  const cJSON *pd_in = cJSON_GetObjectItemCaseSensitive(topic, "processDefinitionIdIn");
  const cJSON *key_in = cJSON_GetObjectItemCaseSensitive(topic, "processDefinitionKeyIn");
  const cJSON *tenants = cJSON_GetObjectItemCaseSensitive(topic, "tenantIdIn");
  const char *tenant = rb_str(task, "tenantId");
  if (bk && (!rb_str(task, "businessKey") || strcmp(bk, rb_str(task, "businessKey")))) return 0;
  if (pd && strcmp(pd, rb_str(task, "processDefinitionId"))) return 0;
  if (key && strcmp(key, rb_str(task, "processDefinitionKey"))) return 0;
  if (tag && (!rb_str(task, "processDefinitionVersionTag") || strcmp(tag, rb_str(task, "processDefinitionVersionTag")))) return 0;
  if (cJSON_IsArray(pd_in) && !rb_list_contains(pd_in, rb_str(task, "processDefinitionId"))) return 0;
  if (cJSON_IsArray(key_in) && !rb_list_contains(key_in, rb_str(task, "processDefinitionKey"))) return 0;
  if (cJSON_IsArray(tenants) && !rb_list_contains(tenants, tenant)) return 0;
  if (rb_flag(topic, "withoutTenantId") && tenant) return 0;
  return 1;
}

/* The variables a topic asks for: all when `variables` is absent or null. */
static int task_variables(rebatch_engine *e, const cJSON *topic, const cJSON *task,
                          cJSON **out) {
  const cJSON *wanted = cJSON_GetObjectItemCaseSensitive(topic, "variables");
  cJSON *all = NULL, *var, *next;
  int rc = rb_instance_variables(e, rb_str(task, "processInstanceId"), &all);
  *out = NULL;
  if (rc != REBATCH_OK) return rc;
  for (var = all->child; cJSON_IsArray(wanted) && var; var = next) {
    next = var->next;
    if (!rb_list_contains(wanted, var->string)) cJSON_Delete(cJSON_DetachItemViaPointer(all, var));
  }
  /* Topics ask for deserialized values explicitly (default false). */
  *out = rb_variables_to_dto(all, rb_flag(topic, "deserializeValues"));
  cJSON_Delete(all);
  return *out ? REBATCH_OK : REBATCH_NOMEM;
}

static cJSON *locked_dto(const cJSON *t, cJSON *variables) {
  static const char *const before[] = {
      "activityId", "activityInstanceId", "errorMessage", "errorDetails",
      "executionId", "id", "lockExpirationTime", "createTime",
      "processDefinitionId", "processDefinitionKey",
      "processDefinitionVersionTag", "processInstanceId", "retries",
      "suspended", "workerId", "topicName", "tenantId", NULL};
  cJSON *dto = rb_dto(t, before);
  if (!dto || !cJSON_AddItemToObject(dto, "variables", variables)) {
    cJSON_Delete(dto);
    cJSON_Delete(variables);
    return NULL;
  }
  rb_copy(dto, t, "priority");
  rb_copy(dto, t, "businessKey");
  rb_take(dto, "extensionProperties", cJSON_CreateObject());
  return rb_has(dto, "extensionProperties") ? dto : (cJSON_Delete(dto), NULL);
}

static int lock_task(rebatch_engine *e, rb_doc *task, const char *worker,
                     double until, const cJSON *topic, cJSON *out) {
  cJSON *vars = NULL, *dto;
  int rc;
  if (!rb_set_str(task->json, "workerId", worker) || !rb_set_num(task->json, "lockExpirationTime", until))
    return REBATCH_NOMEM;
  if ((rc = save_task(e, task)) != REBATCH_OK) return rc;
  if ((rc = task_variables(e, topic, task->json, &vars)) != REBATCH_OK) {
    cJSON_Delete(vars);
    return rc;
  }
  dto = locked_dto(task->json, vars);
  if (!dto || !cJSON_AddItemToArray(out, dto)) {
    cJSON_Delete(dto);
    return REBATCH_NOMEM;
  }
  return REBATCH_OK;
}

static double priority_of(const cJSON *t) {
  return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "priority"));
}

/* Highest priority first; stable, so equal priorities keep id order. */
static void sort_by_priority(rb_docs *docs) {
  for (int i = 1; i < docs->count; i++) {
    rb_doc tmp = docs->items[i];
    int j = i;
    for (; j > 0 && priority_of(docs->items[j - 1].json) < priority_of(tmp.json); j--)
      docs->items[j] = docs->items[j - 1];
    docs->items[j] = tmp;
  }
}

/* What one topic of a fetch needs while it walks the buckets. */
typedef struct {
  const cJSON *topic;
  const char *worker;
  double now, until;
  long long *left;
  cJSON *out;
  double earliest; /* the earliest lock expiration seen in the walk */
} fetch_walk;

/* Locks the fetchable tasks of docs, in their order, while tasks are
 * wanted; every task of docs counts towards w->earliest, as the walk has
 * read it (the calendar must not miss one). */
static int take_tasks(rebatch_engine *e, fetch_walk *w, rb_docs *docs) {
  int rc = REBATCH_OK;
  for (int i = 0; rc == REBATCH_OK && i < docs->count; i++) {
    const cJSON *task = docs->items[i].json;
    double until;
    if (*w->left > 0 && fetchable(task, w->now) && topic_accepts(w->topic, task)) {
      rc = lock_task(e, &docs->items[i], w->worker, w->until, w->topic, w->out);
      (*w->left)--;
    }
    until = rb_date(docs->items[i].json, "lockExpirationTime");
    if (until != RB_NO_DATE && until < w->earliest) w->earliest = until;
  }
  return rc;
}

/* Walks one bucket of the fetch index a page at a time, stopping as soon as
 * enough tasks are locked; *whole says whether it read every task there. */
static int take_paged(rebatch_engine *e, fetch_walk *w, const char *key, int *whole) {
  char after[REBATCH_ID_MAX + 1] = "";
  int rc = REBATCH_OK, more = 1;
  while (rc == REBATCH_OK && more && *w->left > 0) {
    rb_docs page = {0};
    int limit = *w->left < 64 ? (int)*w->left + 8 : 128;
    rc = rb_find_page(e, EXTERNAL_TASK, "fetch", key, after[0] ? after : NULL, limit, &page);
    if (rc == REBATCH_OK) {
      more = page.count == limit;
      if (page.count > 0) snprintf(after, sizeof after, "%s", page.items[page.count - 1].id);
      rc = take_tasks(e, w, &page);
    }
    rb_docs_clear(&page);
  }
  *whole = !more;
  return rc;
}

/* A bucket of prioritised tasks, whole and highest priority first (few
 * tasks have a priority other than 0). */
static int take_by_priority(rebatch_engine *e, fetch_walk *w, const char *key) {
  rb_docs docs = {0};
  int rc = *w->left > 0 ? rb_find_all(e, EXTERNAL_TASK, "fetch", key, &docs) : REBATCH_OK;
  if (rc == REBATCH_OK) {
    sort_by_priority(&docs);
    rc = take_tasks(e, w, &docs);
  }
  rb_docs_clear(&docs);
  return rc;
}

/* The L bucket: read only when the topic's lock calendar says a lock may
 * have expired; a walk of all of it brings the calendar up to date. */
static int take_expired(rebatch_engine *e, fetch_walk *w, const char *key) {
  const char *name = rb_str(w->topic, "topicName");
  rb_doc cal;
  int whole = 0, rc = calendar_load(e, name, &cal);
  int skip = rc == REBATCH_OK && cal.json && calendar_from(cal.json) > w->now;
  rb_doc_clear(&cal);
  if (rc != REBATCH_OK || skip) return rc;
  w->earliest = INFINITY;
  rc = take_paged(e, w, key, &whole);
  return rc == REBATCH_OK && whole ? calendar_set(e, name, w->earliest) : rc;
}

/* Unlocked tasks first (by priority when asked), then locked ones whose
 * lock has expired: a fetch reads the tasks it locks and the pages they
 * come in, plus, only when the unlocked tasks do not suffice and a lock
 * may have expired, the locked ones of the topic. */
static int fetch_topic(rebatch_engine *e, const cJSON *topic, const char *worker,
                       int use_priority, long long *left, cJSON *out, rb_response *res) {
  const char *name = rb_str(topic, "topicName");
  static const char buckets[] = "+0-";
  char key[RB_FETCH_KEY_MAX];
  long long duration;
  fetch_walk w = {topic, worker, rb_now(e), 0, left, out, INFINITY};
  int rc = REBATCH_OK, whole;
  if (!name) return rb_invalid(res, 400, "topicName is null");
  if (rb_int(topic, "lockDuration", &duration) != 1 || duration <= 0)
    return rb_invalid(res, 400, "lockDuration is not greater than 0");
  w.until = w.now + (double)duration;
  if (!fetch_key(key, name, 1, 0, 0, 0)) return REBATCH_OK; /* no task has so long a topic */
  for (int b = 0; rc == REBATCH_OK && buckets[b] && *left > 0; b++) {
    key[strlen(key) - 1] = buckets[b];
    rc = use_priority && buckets[b] != '0' ? take_by_priority(e, &w, key) : take_paged(e, &w, key, &whole);
  }
  key[strlen(key) - 1] = 'L';
  return rc == REBATCH_OK && *left > 0 ? take_expired(e, &w, key) : rc;
}

int rb_op_fetchAndLock(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const cJSON *topics = cJSON_GetObjectItemCaseSensitive(body, "topics"), *topic;
  const char *worker = rb_str(body, "workerId");
  long long max = 10;
  int use_priority = !rb_has(body, "usePriority") || rb_flag(body, "usePriority");
  cJSON *out;
  int rc = REBATCH_OK;
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "Request body is null");
  if (!worker) return rb_error(res, 500, "NullValueException", 0, "workerId is null");
  rb_int(body, "maxTasks", &max);
  if (max < 0)
    return rb_invalid(res, 400, "maxTasks is not greater than or equal to 0");
  if (!(out = cJSON_CreateArray())) return REBATCH_NOMEM;
  cJSON_ArrayForEach(topic, topics) {
    if (rc != REBATCH_OK || max <= 0) break;
    rc = fetch_topic(e, topic, worker, use_priority, &max, out, res);
  }
  if (rc != REBATCH_OK) {
    cJSON_Delete(out);
    return rc;
  }
  return rb_ok(res, 200, out);
}

/* ---- per task commands -------------------------------------------------- */

static int load_task(rebatch_engine *e, const cJSON *request, rb_doc *task,
                     rb_response *res) {
  const char *id = rb_str(request, "id");
  int rc = rb_load(e, EXTERNAL_TASK, id, task);
  if (rc != REBATCH_OK) return rc;
  if (!task->json)
    return rb_error(res, 404, "RestException", 0, "External task with id %s does not exist", id ? id : "null");
  return REBATCH_OK;
}

/* Only the worker holding the lock may act on a task, and only while the
 * task is active (upstream's ensureActive, checked right after). */
static int check_worker(const rb_doc *task, const char *worker, const char *what,
                        rb_response *res) {
  const char *owner = rb_str(task->json, "workerId");
  if (!worker) return rb_error(res, 500, "NullValueException", 0, "workerId is null");
  if (owner && strcmp(owner, worker) == 0 && is_true(task->json, "suspended"))
    return rb_error(res, 500, "SuspendedEntityInteractionException", 0, "ENGINE-03043 ExternalTask with id '%s' is suspended.",
                    task->id);
  if (owner && strcmp(owner, worker) == 0) return REBATCH_OK;
  return rb_error(res, 400, "RestException", 0, what, task->id, worker, owner ? owner : "null");
}

/* A body's variables and localVariables: a service task runs in its
 * instance's one scope in rebatch, so both land on the instance. Camunda
 * reads them before it looks for the task, so a bad value is a 400 first. */
static int body_variables(const cJSON *body, cJSON **out, rb_response *res) {
  cJSON *local = NULL, *var;
  int rc = rb_variables_parse(cJSON_GetObjectItemCaseSensitive(body, "variables"), NULL, out, res);
  if (rc == REBATCH_OK) rc = rb_variables_parse(cJSON_GetObjectItemCaseSensitive(body, "localVariables"), NULL, &local, res);
  while (rc == REBATCH_OK && local && (var = local->child)) {
    cJSON_DetachItemViaPointer(local, var);
    if (!rb_set(*out, var->string, var)) rc = REBATCH_NOMEM;
  }
  cJSON_Delete(local);
  return rc;
}

int rb_op_completeExternalTask(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  char instance[REBATCH_ID_MAX + 1], execution[REBATCH_ID_MAX + 1];
  cJSON *variables = NULL;
  rb_doc task;
  int rc = body_variables(body, &variables, res);
  memset(&task, 0, sizeof task);
  if (rc == REBATCH_OK) rc = load_task(e, request, &task, res);
  if (rc == REBATCH_OK)
    rc = check_worker(&task, rb_str(body, "workerId"),
                      "External Task %s cannot be completed by worker '%s'. It is locked by worker '%s'.", res);
  if (rc == REBATCH_OK) {
    snprintf(instance, sizeof instance, "%s", rb_str(task.json, "processInstanceId"));
    snprintf(execution, sizeof execution, "%s", rb_str(task.json, "executionId"));
    rc = rb_delete(e, EXTERNAL_TASK, &task);
  }
  /* As ExternalTaskEntity.complete: an open incident of the task (retries
   * ran out while the worker kept its lock) ends resolved. */
  if (rc == REBATCH_OK) rc = rb_incident_end(e, "failedExternalTask", task.id, 1);
  if (rc == REBATCH_OK) rc = rb_instance_resume(e, instance, execution, RB_RESUME_LEAVE, variables, res);
  cJSON_Delete(variables);
  rb_doc_clear(&task);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

int rb_op_handleExternalTaskFailure(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  long long retries = 0, timeout = 0;
  const char *details = rb_str(body, "errorDetails");
  cJSON *variables = NULL;
  rb_doc task;
  int rc;
  /* rb_request_coerce made both integers, or refused them */
  rb_int(body, "retries", &retries);
  rb_int(body, "retryTimeout", &timeout);
  memset(&task, 0, sizeof task);
  rc = body_variables(body, &variables, res);
  if (rc == REBATCH_OK) rc = load_task(e, request, &task, res);
  if (rc == REBATCH_OK)
    rc = check_worker(&task, rb_str(body, "workerId"),
                      "Failure of External Task %s cannot be reported by worker '%s'. It is locked by worker '%s'.", res);
  if (rc == REBATCH_OK && retries < 0)
    rc = rb_error(res, 500, "ProcessEngineException", 0, "retries is not greater than or equal to 0");
  if (rc == REBATCH_OK && timeout < 0)
    rc = rb_error(res, 500, "ProcessEngineException", 0, "retryDuration is not greater than or equal to 0");
  if (rc == REBATCH_OK) {
    char message[667];
    snprintf(message, sizeof message, "%s", rb_str(body, "errorMessage") ? rb_str(body, "errorMessage") : "");
    if (!(rb_str(body, "errorMessage") ? rb_set_str(task.json, "errorMessage", message)
                                       : rb_set_str(task.json, "errorMessage", NULL)) ||
        (details && !rb_set_str(task.json, "errorDetails", details)) ||
        !rb_set_num(task.json, "lockExpirationTime", rb_now(e) + (double)timeout))
      rc = REBATCH_NOMEM;
  }
  if (rc == REBATCH_OK) rc = set_retries(e, &task, (int)(retries > 2147483647 ? 2147483647 : retries));
  if (rc == REBATCH_OK) rc = rb_instance_set_variables(e, rb_str(task.json, "processInstanceId"), variables);
  cJSON_Delete(variables);
  rb_doc_clear(&task);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* Camunda checks workerId and errorCode before it looks for the task, and
 * the REST resource reads the variables before either. */
int rb_op_handleExternalTaskBpmnError(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const char *code = rb_str(body, "errorCode");
  char instance[REBATCH_ID_MAX + 1], execution[REBATCH_ID_MAX + 1];
  cJSON *variables = NULL;
  rb_doc task;
  int rc = rb_variables_parse(cJSON_GetObjectItemCaseSensitive(body, "variables"), NULL, &variables, res);
  memset(&task, 0, sizeof task);
  if (rc == REBATCH_OK && !rb_str(body, "workerId"))
    rc = rb_error(res, 500, "NullValueException", 0, "workerId is null");
  if (rc == REBATCH_OK && !code) rc = rb_error(res, 500, "NullValueException", 0, "errorCode is null");
  if (rc == REBATCH_OK) rc = load_task(e, request, &task, res);
  if (rc == REBATCH_OK)
    rc = check_worker(&task, rb_str(body, "workerId"),
                      "Bpmn error of External Task %s cannot be reported by worker '%s'. It is locked by worker '%s'.", res);
  if (rc == REBATCH_OK) {
    snprintf(instance, sizeof instance, "%s", rb_str(task.json, "processInstanceId"));
    snprintf(execution, sizeof execution, "%s", rb_str(task.json, "executionId"));
    rc = rb_delete(e, EXTERNAL_TASK, &task);
  }
  /* The task leaves with its activity; an open incident goes with it. */
  if (rc == REBATCH_OK) rc = rb_incident_end(e, "failedExternalTask", task.id, 0);
  if (rc == REBATCH_OK)
    rc = rb_instance_throw_error(e, instance, execution, code, rb_str(body, "errorMessage"), variables, res);
  cJSON_Delete(variables);
  rb_doc_clear(&task);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* Another worker's lock stands until its expiration time has passed;
 * Camunda compares with !now.after(expiration), so the instant itself still
 * counts as locked. */
static int held_by_other(const cJSON *task, const char *worker, double now) {
  const char *owner = rb_str(task, "workerId");
  double until = rb_date(task, "lockExpirationTime");
  return owner && strcmp(owner, worker) != 0 && until >= 0 && now <= until;
}

int rb_op_lockExternalTask(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const char *worker = rb_str(body, "workerId");
  long long duration = 0;
  double now = rb_now(e);
  rb_doc task;
  int rc;
  /* lockDuration is a primitive long in Camunda's DTO: absent reads as 0
   * (rb_request_coerce made it an integer, or refused it). */
  rb_int(body, "lockDuration", &duration);
  if (!worker) return rb_error(res, 500, "NullValueException", 0, "workerId is null");
  if (duration <= 0) return rb_error(res, 400, "RestException", 0, "lockDuration is not greater than 0");
  memset(&task, 0, sizeof task);
  rc = load_task(e, request, &task, res);
  if (rc == REBATCH_OK && held_by_other(task.json, worker, now))
    rc = rb_error(res, 400, "RestException", 0,
                  "External Task %s cannot be locked by worker '%s'. It is locked by worker '%s'.",
                  task.id, worker, rb_str(task.json, "workerId"));
  if (rc == REBATCH_OK && (!rb_set_str(task.json, "workerId", worker) ||
                           !rb_set_num(task.json, "lockExpirationTime", now + (double)duration)))
    rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = save_task(e, &task);
  rb_doc_clear(&task);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

int rb_op_unlockExternalTask(rebatch_engine *e, const cJSON *request, rb_response *res) {
  rb_doc task;
  int rc = load_task(e, request, &task, res);
  if (rc == REBATCH_OK && (!rb_set_str(task.json, "workerId", NULL) ||
                           !rb_set_num(task.json, "lockExpirationTime", RB_NO_DATE)))
    rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = save_task(e, &task);
  rb_doc_clear(&task);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

int rb_op_extendExternalTaskLock(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  long long duration = 0;
  double now = rb_now(e);
  rb_doc task;
  int rc;
  rb_int(body, "newDuration", &duration);
  if (duration <= 0)
    return rb_error(res, 400, "RestException", 0, "lockTime is not greater than 0");
  rc = load_task(e, request, &task, res);
  if (rc == REBATCH_OK)
    rc = check_worker(&task, rb_str(body, "workerId"),
                      "The lock of the External Task %s cannot be extended by worker '%s''. It is locked by worker '%s'.", res);
  if (rc == REBATCH_OK && !locked_at(task.json, now))
    rc = rb_error(res, 400, "RestException", 0,
                  "Cannot extend a lock that expired: lockExpirationTime is not greater than or equal to %.0f", now);
  if (rc == REBATCH_OK && !rb_set_num(task.json, "lockExpirationTime", now + (double)duration)) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = save_task(e, &task);
  rb_doc_clear(&task);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

int rb_op_setExternalTaskRetries(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  long long retries;
  int got = rb_int(body, "retries", &retries);
  rb_doc task;
  int rc;
  /* rb_request_coerce made retries an integer, or refused it */
  if (got == 0) return rb_invalid(res, 400, "The number of retries cannot be null.");
  /* SetExternalTaskRetriesCmd validates its input before it looks the task up. */
  if (retries < 0)
    return rb_error(res, 400, "BadUserRequestException", 0,
                    "The number of retries cannot be negative: retries is not greater than or equal to 0");
  rc = load_task(e, request, &task, res);
  if (rc == REBATCH_OK) rc = set_retries(e, &task, (int)(retries > 2147483647 ? 2147483647 : retries));
  rb_doc_clear(&task);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* The resource answers a missing task itself, with no engine exception
 * behind it: no code (the task commands' 404 carries NotFoundException's). */
int rb_op_getExternalTask(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id");
  rb_doc task;
  cJSON *dto;
  int rc = rb_load(e, EXTERNAL_TASK, id, &task);
  if (rc == REBATCH_OK && !task.json)
    rc = rb_error(res, 404, "RestException", RB_CODE_NULL, "External task with id %s does not exist", id ? id : "null");
  if (rc != REBATCH_OK) {
    rb_doc_clear(&task);
    return rc;
  }
  dto = task_to_dto(e, task.json);
  rb_doc_clear(&task);
  return dto ? rb_ok(res, 200, dto) : REBATCH_NOMEM;
}

/* ---- queries ---------------------------------------------------------------- */

static int q_locked(rebatch_engine *e, const cJSON *t, const cJSON *a) {
  (void)a;
  return locked_at(t, rb_now(e));
}
static int q_not_locked(rebatch_engine *e, const cJSON *t, const cJSON *a) {
  return !q_locked(e, t, a);
}
static int q_with_retries(rebatch_engine *e, const cJSON *t, const cJSON *a) {
  (void)e; (void)a;
  return has_retries_left(t);
}
static int q_no_retries(rebatch_engine *e, const cJSON *t, const cJSON *a) {
  (void)e; (void)a;
  return !has_retries_left(t);
}
static int q_activity_in(rebatch_engine *e, const cJSON *t, const cJSON *a) {
  (void)e;
  return rb_list_contains(a, rb_str(t, "activityId"));
}
static int definition_name_matches(rebatch_engine *e, const cJSON *t, const cJSON *a, int like) {
  rb_doc def;
  int found = 0;
  if (!cJSON_IsString(a)) return 0;
  if (rb_definition_load(e, rb_str(t, "processDefinitionId"), &def) == REBATCH_OK && def.json) {
    const char *name = rb_str(def.json, "name");
    found = name && (like ? rb_like(name, a->valuestring) : strcmp(name, a->valuestring) == 0);
  }
  rb_doc_clear(&def);
  return found;
}
static int q_definition_name(rebatch_engine *e, const cJSON *t, const cJSON *a) {
  return definition_name_matches(e, t, a, 0);
}
static int q_definition_name_like(rebatch_engine *e, const cJSON *t, const cJSON *a) {
  return definition_name_matches(e, t, a, 1);
}
/* processVariables: conditions on the variables of the task's instance. */
static int q_process_variables(rebatch_engine *e, const cJSON *t, const cJSON *a) {
  cJSON *vars = NULL;
  int found = rb_instance_variables(e, rb_str(t, "processInstanceId"), &vars) == REBATCH_OK &&
              rb_variables_match(vars, a);
  cJSON_Delete(vars);
  return found;
}

static const rb_filter task_filters[] = {
    {"externalTaskId", RB_F_EQ, "id", NULL, 0},
    {"externalTaskIdIn", RB_F_IN, "id", NULL, 0},
    {"topicName", RB_F_EQ, "topicName", NULL, 1},
    {"workerId", RB_F_EQ, "workerId", NULL, 0},
    {"activityId", RB_F_EQ, "activityId", NULL, 0},
    {"activityIdIn", RB_F_VALUE, NULL, q_activity_in, 0},
    {"executionId", RB_F_EQ, "executionId", NULL, 0},
    {"processInstanceId", RB_F_EQ, "processInstanceId", NULL, 1},
    {"processInstanceIdIn", RB_F_IN, "processInstanceId", NULL, 0},
    {"processDefinitionId", RB_F_EQ, "processDefinitionId", NULL, 0},
    {"processDefinitionKey", RB_F_EQ, "processDefinitionKey", NULL, 0},
    {"processDefinitionKeyIn", RB_F_IN, "processDefinitionKey", NULL, 0},
    {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},
    {"locked", RB_F_FLAG, NULL, q_locked, 0},
    {"notLocked", RB_F_FLAG, NULL, q_not_locked, 0},
    {"withRetriesLeft", RB_F_FLAG, NULL, q_with_retries, 0},
    {"noRetriesLeft", RB_F_FLAG, NULL, q_no_retries, 0},
    {"active", RB_F_FLAG, NULL, rb_pred_active, 0},
    {"suspended", RB_F_FLAG, NULL, rb_pred_suspended, 0},
    {"lockExpirationBefore", RB_F_DATE_BEFORE, "lockExpirationTime", NULL, 0},
    {"lockExpirationAfter", RB_F_DATE_AFTER, "lockExpirationTime", NULL, 0},
    {"priorityHigherThanOrEquals", RB_F_VALUE, NULL, rb_pred_priority_at_least, 0},
    {"priorityLowerThanOrEquals", RB_F_VALUE, NULL, rb_pred_priority_at_most, 0},
    {"processDefinitionName", RB_F_VALUE, NULL, q_definition_name, 0},
    {"processDefinitionNameLike", RB_F_VALUE, NULL, q_definition_name_like, 0},
    {"processVariables", RB_F_VALUE, NULL, q_process_variables, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key task_sorts[] = {
    {"id", "id"}, {"lockExpirationTime", "lockExpirationTime"},
    {"processInstanceId", "processInstanceId"}, {"processDefinitionId", "processDefinitionId"},
    {"processDefinitionKey", "processDefinitionKey"}, {"tenantId", "tenantId"},
    {"taskPriority", "priority"}, {"createTime", "createTime"}, {NULL, NULL}};

const rb_query rb_external_task_query = {EXTERNAL_TASK, task_filters, task_sorts, task_to_dto};

int rb_op_getExternalTasks(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_list(e, &rb_external_task_query, request, res);
}

int rb_op_getExternalTasksCount(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_count(e, &rb_external_task_query, request, res);
}

/* Camunda: GetExternalTaskErrorDetailsCmd's NullValueException is not the
 * NotFoundException the resource maps to 404, so it surfaces as a 500. A
 * task without details answers 204. */
int rb_op_getExternalTaskErrorDetails(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id");
  const char *details;
  rb_doc task;
  cJSON *body = NULL;
  int rc = rb_load(e, EXTERNAL_TASK, id, &task);
  if (rc == REBATCH_OK && !task.json)
    rc = rb_error(res, 500, "NullValueException", 0, "No external task found with id %s: externalTask is null",
                  id ? id : "null");
  details = rc == REBATCH_OK ? rb_str(task.json, "errorDetails") : NULL;
  if (details && !(body = cJSON_CreateString(details))) rc = REBATCH_NOMEM;
  rb_doc_clear(&task);
  if (rc != REBATCH_OK) return rc;
  return body ? rb_ok(res, 200, body) : rb_ok(res, 204, NULL);
}
