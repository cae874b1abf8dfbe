/*
 * test_engine.c - the token engine and the operations, end to end through
 * rebatch_call() over the memory store and a deterministic host (a clock
 * the test advances, counter ids, a job handler the test can make fail).
 *
 * Covered: deploy + start (external task), complete (instance ends, history
 * COMPLETED), async-before jobs failing through the host (retries count
 * down, failedJob incident at 0, resolved by setJobRetries), retry time
 * cycles, parallel fork/join, timer due dates, cancellation
 * (EXTERNALLY_TERMINATED), validation errors (status, type, message,
 * nothing written), and two sweeps over whole operations: a storage fault
 * at every storage call and an allocation failure at every allocation.
 * Each failing run must report an error and leave the store byte for byte
 * as it was (rebatch_memory_store_dump), without crashing or leaking.
 *
 * Requests are written with single quotes, which call() turns into double
 * quotes (no test value contains a quote).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core.h"

/* ------------------------------------------------------------------------ */
/* The deterministic host                                                   */
/* ------------------------------------------------------------------------ */

#define T_START 1704067200000.0 /* 2024-01-01T00:00:00Z */

#define FAIL_WITH_TRACE 2
#define DEFER_JOBS 3

typedef struct host_ctx {
  double now;
  long next_id;
  int fail_jobs; /* execute_job fails every job while set (DEFER_JOBS: defers them) */
  int job_calls;
} host_ctx;

static double h_now(void *ctx) { return ((host_ctx *)ctx)->now; }

static int h_next_id(void *ctx, char *buf) {
  host_ctx *h = ctx;
  snprintf(buf, REBATCH_ID_MAX + 1, "id%05ld", ++h->next_id);
  return REBATCH_OK;
}

static int h_execute_job(void *ctx, const char *job_json, char *error_buf,
                         int error_cap) {
  host_ctx *h = ctx;
  (void)job_json;
  h->job_calls++;
  if (!h->fail_jobs) return REBATCH_OK;
  if (h->fail_jobs == DEFER_JOBS) {
    snprintf(error_buf, (size_t)error_cap, "node-a");
    return REBATCH_DEFERRED;
  }
  /* The message, then after its NUL the stacktrace (when asked for). */
  snprintf(error_buf, (size_t)error_cap, "boom");
  if (h->fail_jobs == FAIL_WITH_TRACE) snprintf(error_buf + 5, (size_t)error_cap - 5, "Error: boom\n    at handler");
  return REBATCH_ERROR;
}

typedef struct fx {
  rebatch_store *store;
  rebatch_engine *e;
  host_ctx h;
} fx;

static int fx_open(fx *f, const char *config) {
  rebatch_host host;
  char *err = NULL;
  int rc;
  memset(f, 0, sizeof *f);
  f->h.now = T_START;
  f->store = rebatch_memory_store_new();
  if (!f->store) return 0;
  memset(&host, 0, sizeof host);
  host.version = REBATCH_HOST_VERSION;
  host.ctx = &f->h;
  host.now_ms = h_now;
  host.next_id = h_next_id;
  host.execute_job = h_execute_job;
  rc = rebatch_open(f->store, &host, config, &f->e, &err);
  if (err) fprintf(stderr, "rebatch_open: %s\n", err);
  rebatch_free(err);
  return rc == REBATCH_OK;
}

static void fx_close(fx *f) {
  rebatch_close(f->e);
  rebatch_memory_store_free(f->store);
  memset(f, 0, sizeof *f);
}

static char *dump(fx *f) { return rebatch_memory_store_dump(f->store); }

static void delete_null_members(cJSON *record) {
  cJSON *member = record ? record->child : NULL;
  while (member) {
    cJSON *next = member->next;
    if (cJSON_IsNull(member)) cJSON_Delete(cJSON_DetachItemViaPointer(record, member));
    member = next;
  }
}

/* A dump with the job executor's traces taken out of the jobs: their
 * revisions and locks. A failed executor step has committed its acquisition
 * (the jobs' locks) and released the locks again when it could; a job
 * written back is stored without its null members (rb_save). */
static char *without_locks(const char *dump_text) {
  cJSON *all = dump_text ? cJSON_Parse(dump_text) : NULL, *job;
  char *text;
  cJSON_ArrayForEach(job, cJSON_GetObjectItemCaseSensitive(all, "job")) {
    cJSON *record = cJSON_GetObjectItemCaseSensitive(job, "record");
    cJSON_DeleteItemFromObjectCaseSensitive(job, "rev");
    cJSON_DeleteItemFromObjectCaseSensitive(record, "lockOwner");
    cJSON_DeleteItemFromObjectCaseSensitive(record, "lockExpirationTime");
    delete_null_members(record);
  }
  text = all ? cJSON_PrintUnformatted(all) : NULL;
  cJSON_Delete(all);
  return text;
}

/* Whether a failed call left the store as it was (an executor step: but for
 * the jobs' revisions and locks). */
static int unchanged(const char *before, const char *after, int own_tx) {
  char *a, *b;
  int same;
  if (!before || !after) return 0;
  if (!own_tx) return strcmp(before, after) == 0;
  a = without_locks(before);
  b = without_locks(after);
  same = a && b && strcmp(a, b) == 0;
  cJSON_free(a);
  cJSON_free(b);
  return same;
}

/* ------------------------------------------------------------------------ */
/* Calling operations                                                       */
/* ------------------------------------------------------------------------ */

static char *quotes(const char *fmt, va_list ap) {
  char *text = rb_vsprintf(fmt, ap);
  for (char *p = text; p && *p; p++)
    if (*p == '\'') *p = '"';
  return text;
}

/* The request with ' turned into "; NULL request when fmt is NULL. */
static char *request_text(const char *fmt, ...) {
  va_list ap;
  char *text;
  va_start(ap, fmt);
  text = quotes(fmt, ap);
  va_end(ap);
  return text;
}

/* Runs an operation; returns the parsed response ({"status": -1} when the
 * call returned NULL). The caller cJSON_Delete()s it. */
static cJSON *vcall(fx *f, const char *op, const char *fmt, va_list ap) {
  char *req = fmt ? quotes(fmt, ap) : NULL;
  char *text = rebatch_call(f->e, op, req);
  cJSON *res = text ? cJSON_Parse(text) : cJSON_Parse("{\"status\":-1}");
  rebatch_free(text);
  rebatch_free(req);
  return res;
}

static cJSON *call(fx *f, const char *op, const char *fmt, ...) {
  va_list ap;
  cJSON *res;
  va_start(ap, fmt);
  res = vcall(f, op, fmt, ap);
  va_end(ap);
  return res;
}

static int status_of(const cJSON *res) {
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(res, "status");
  return cJSON_IsNumber(s) ? s->valueint : -2;
}

static cJSON *body_of(const cJSON *res) {
  return cJSON_GetObjectItemCaseSensitive(res, "body");
}

/* Runs an operation and returns only its status. */
static int call_status(fx *f, const char *op, const char *fmt, ...) {
  va_list ap;
  cJSON *res;
  int status;
  va_start(ap, fmt);
  res = vcall(f, op, fmt, ap);
  va_end(ap);
  status = status_of(res);
  if (status >= 400) {
    char *text = cJSON_PrintUnformatted(res);
    fprintf(stderr, "  (%s -> %s)\n", op, text ? text : "?");
    rebatch_free(text);
  }
  cJSON_Delete(res);
  return status;
}

/* body.count of a count operation, -1 on failure. */
static int count_of(fx *f, const char *op, const char *fmt, ...) {
  va_list ap;
  cJSON *res;
  int n = -1;
  va_start(ap, fmt);
  res = vcall(f, op, fmt, ap);
  va_end(ap);
  if (status_of(res) == 200) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(body_of(res), "count");
    if (cJSON_IsNumber(c)) n = c->valueint;
  }
  cJSON_Delete(res);
  return n;
}

/* The string member `key` of element `index` of a list operation's body,
 * copied into buf ("" when absent). */
static const char *list_str(fx *f, const char *op, const char *request,
                            int index, const char *key, char *buf, size_t cap) {
  cJSON *res = call(f, op, request);
  const char *v = rb_str(cJSON_GetArrayItem(body_of(res), index), key);
  snprintf(buf, cap, "%s", v ? v : "");
  cJSON_Delete(res);
  return buf;
}

static int list_size(fx *f, const char *op, const char *request) {
  cJSON *res = call(f, op, request);
  int n = status_of(res) == 200 ? cJSON_GetArraySize(body_of(res)) : -1;
  cJSON_Delete(res);
  return n;
}

/* Checks an error response: status, body.type and the start of
 * body.message. */
#define CHECK_ERROR(res, want_status, want_type, message_prefix)             \
  do {                                                                       \
    const cJSON *b_ = body_of(res);                                          \
    const char *m_ = rb_str(b_, "message");                                  \
    CHECK_EQ_INT(status_of(res), want_status);                               \
    CHECK_EQ_STR(rb_str(b_, "type"), want_type);                             \
    CHECK(rb_has(b_, "code"));                                               \
    if (!m_ || strncmp(m_, message_prefix, strlen(message_prefix)) != 0) {   \
      fprintf(stderr, "%s:%d: message %s does not start with %s\n", __FILE__, \
              __LINE__, m_ ? m_ : "NULL", message_prefix);                   \
      check_state.current_failed++;                                          \
    }                                                                        \
  } while (0)

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

#define START "{'id':'start','type':'startEvent'}"
#define END "{'id':'end','type':'endEvent'}"
#define FLOW(id, s, t) "{'id':'" id "','source':'" s "','target':'" t "'}"

/* start -> charge (external task, topic charge) -> end */
#define INVOICE                                                           \
  "{'key':'invoice','name':'Invoice','activities':[" START                \
  ",{'id':'charge','type':'serviceTask','topic':'charge'}," END "],"      \
  "'flows':[" FLOW("f1", "start", "charge") "," FLOW("f2", "charge", "end") "]}"

/* start -> work (asyncBefore service task without topic) -> end */
#define ASYNC                                                             \
  "{'key':'async','activities':[" START                                   \
  ",{'id':'work','type':'serviceTask','asyncBefore':true}," END "],"      \
  "'flows':[" FLOW("f1", "start", "work") "," FLOW("f2", "work", "end") "]}"

/* the same with a retry time cycle R5/PT1M */
#define CYCLE                                                             \
  "{'key':'cycle','activities':[" START                                   \
  ",{'id':'work','type':'serviceTask','asyncBefore':true,"                \
  "'failedJobRetryTimeCycle':'R5/PT1M'}," END "],"                        \
  "'flows':[" FLOW("f1", "start", "work") "," FLOW("f2", "work", "end") "]}"

/* start -> fork -> a (topic ta) / b (topic tb) -> join -> end */
#define PARALLEL                                                          \
  "{'key':'parallel','activities':[" START                                \
  ",{'id':'fork','type':'parallelGateway'}"                               \
  ",{'id':'a','type':'serviceTask','topic':'ta'}"                         \
  ",{'id':'b','type':'serviceTask','topic':'tb'}"                         \
  ",{'id':'join','type':'parallelGateway'}," END "],"                     \
  "'flows':[" FLOW("f1", "start", "fork") "," FLOW("f2", "fork", "a") "," \
  FLOW("f3", "fork", "b") "," FLOW("f4", "a", "join") ","                 \
  FLOW("f5", "b", "join") "," FLOW("f6", "join", "end") "]}"

/* start -> wait (timer PT5M) -> end */
#define TIMER                                                             \
  "{'key':'timer','activities':[" START                                   \
  ",{'id':'wait','type':'intermediateCatchEvent','timerDuration':'PT5M'}," \
  END "],'flows':[" FLOW("f1", "start", "wait") "," FLOW("f2", "wait", "end") "]}"

static int deploy(fx *f, const char *model) {
  return call_status(f, "createDeployment",
                     "{'body':{'name':'d','processes':[%s]}}", model);
}

/* Starts the latest version of key; writes the instance id into id. */
static int start(fx *f, const char *key, const char *business_key, char *id,
                 size_t cap) {
  cJSON *res = call(f, "startProcessInstanceByKey",
                    "{'key':'%s','body':{'businessKey':'%s'}}", key,
                    business_key);
  int status = status_of(res);
  if (id) snprintf(id, cap, "%s", rb_str(body_of(res), "id") ? rb_str(body_of(res), "id") : "");
  cJSON_Delete(res);
  return status;
}

static int list_size_f(fx *f, const char *op, char *request);

/* Locks every task of a topic for worker w; returns how many. */
static int fetch(fx *f, const char *topic) {
  return list_size_f(f, "fetchAndLock",
                     request_text("{'body':{'workerId':'w','maxTasks':10,"
                                "'topics':[{'topicName':'%s','lockDuration':60000}]}}",
                                topic));
}

static int complete_task(fx *f, const char *task_id) {
  return call_status(f, "completeExternalTask",
                     "{'id':'%s','body':{'workerId':'w'}}", task_id);
}

/* The id of the (first) external task of a topic. */
static const char *task_of_topic(fx *f, const char *topic, char *buf, size_t cap) {
  char *req = request_text("{'query':{'topicName':'%s'}}", topic);
  list_str(f, "getExternalTasks", req, 0, "id", buf, cap);
  rebatch_free(req);
  return buf;
}

/* The first job's member `key` as text (numbers printed). */
static const char *first_job(fx *f, const char *key, char *buf, size_t cap) {
  cJSON *res = call(f, "getJobs", "{}");
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(body_of(res), 0), key);
  if (cJSON_IsString(v)) snprintf(buf, cap, "%s", v->valuestring);
  else if (cJSON_IsNumber(v)) snprintf(buf, cap, "%d", v->valueint);
  else if (cJSON_IsNull(v)) snprintf(buf, cap, "null");
  else snprintf(buf, cap, "?");
  cJSON_Delete(res);
  return buf;
}

/* executeDueJobs; returns body.<what> (executed/succeeded/failed). */
static int due_jobs(fx *f, const char *what) {
  cJSON *res = call(f, "executeDueJobs", "{}");
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(body_of(res), what);
  int v = status_of(res) == 200 && cJSON_IsNumber(n) ? n->valueint : -1;
  cJSON_Delete(res);
  return v;
}

static const char *history_state(fx *f, const char *id, char *buf, size_t cap) {
  cJSON *res = call(f, "getHistoricProcessInstance", "{'id':'%s'}", id);
  snprintf(buf, cap, "%s", rb_str(body_of(res), "state") ? rb_str(body_of(res), "state") : "");
  cJSON_Delete(res);
  return buf;
}

/* list_size over a request built with request_text (freed here). */
static int list_size_f(fx *f, const char *op, char *request) {
  int n = list_size(f, op, request);
  rebatch_free(request);
  return n;
}

/* ------------------------------------------------------------------------ */
/* Token engine and operations                                              */
/* ------------------------------------------------------------------------ */

TEST(deploy_and_start_creates_an_external_task) {
  fx f;
  char id[64], buf[128];
  cJSON *res;
  REQUIRE(fx_open(&f, NULL));
  REQUIRE(deploy(&f, INVOICE) == 200);
  CHECK_EQ_INT(start(&f, "invoice", "order-1", id, sizeof id), 200);
  CHECK(id[0] != '\0');
  CHECK_EQ_INT(count_of(&f, "getProcessInstancesCount", "{}"), 1);
  CHECK_EQ_INT(count_of(&f, "getExternalTasksCount", "{}"), 1);
  res = call(&f, "getExternalTasks", "{}");
  {
    const cJSON *t = cJSON_GetArrayItem(body_of(res), 0);
    CHECK_EQ_STR(rb_str(t, "topicName"), "charge");
    CHECK_EQ_STR(rb_str(t, "activityId"), "charge");
    CHECK_EQ_STR(rb_str(t, "processInstanceId"), id);
    CHECK_EQ_STR(rb_str(t, "processDefinitionKey"), "invoice");
    CHECK_EQ_STR(rb_str(t, "businessKey"), "order-1");
    CHECK_EQ_STR(rb_str(t, "createTime"), "2024-01-01T00:00:00.000+0000");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, "workerId")));
  }
  cJSON_Delete(res);
  res = call(&f, "getProcessInstance", "{'id':'%s'}", id);
  CHECK_EQ_INT(status_of(res), 200);
  CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(body_of(res), "ended")));
  CHECK_EQ_STR(rb_str(body_of(res), "definitionKey"), "invoice");
  cJSON_Delete(res);
  CHECK_EQ_STR(history_state(&f, id, buf, sizeof buf), "ACTIVE");
  fx_close(&f);
}

TEST(complete_ends_the_instance_with_history_completed) {
  fx f;
  char id[64], task[64], buf[128];
  cJSON *res;
  REQUIRE(fx_open(&f, NULL));
  REQUIRE(deploy(&f, INVOICE) == 200);
  REQUIRE(start(&f, "invoice", "order-1", id, sizeof id) == 200);
  f.h.now += 1500;
  CHECK_EQ_INT(fetch(&f, "charge"), 1);
  task_of_topic(&f, "charge", task, sizeof task);
  CHECK_EQ_INT(fetch(&f, "charge"), 0); /* locked now */
  f.h.now += 500;
  CHECK_EQ_INT(complete_task(&f, task), 204);
  CHECK_EQ_INT(count_of(&f, "getProcessInstancesCount", "{}"), 0);
  CHECK_EQ_INT(count_of(&f, "getExternalTasksCount", "{}"), 0);
  res = call(&f, "getHistoricProcessInstance", "{'id':'%s'}", id);
  CHECK_EQ_STR(rb_str(body_of(res), "state"), "COMPLETED");
  CHECK_EQ_STR(rb_str(body_of(res), "startTime"), "2024-01-01T00:00:00.000+0000");
  CHECK_EQ_STR(rb_str(body_of(res), "endTime"), "2024-01-01T00:00:02.000+0000");
  CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(body_of(res), "durationInMillis")), 2000);
  CHECK_EQ_STR(rb_str(body_of(res), "businessKey"), "order-1");
  cJSON_Delete(res);
  /* start, charge, end: all finished, none canceled */
  CHECK_EQ_INT(list_size_f(&f, "getHistoricActivityInstances",
                           request_text("{'query':{'processInstanceId':'%s'}}", id)), 3);
  CHECK_EQ_INT(list_size_f(&f, "getHistoricActivityInstances",
                           request_text("{'query':{'processInstanceId':'%s','finished':true}}", id)), 3);
  CHECK_EQ_INT(list_size_f(&f, "getHistoricActivityInstances",
                           request_text("{'query':{'canceled':true}}")), 0);
  CHECK_EQ_INT(count_of(&f, "getHistoricProcessInstancesCount", "{'query':{'completed':true}}"), 1);
  /* The task is gone: completing again is a 404. */
  res = call(&f, "completeExternalTask", "{'id':'%s','body':{'workerId':'w'}}", task);
  CHECK_ERROR(res, 404, "RestException", "External task with id");
  cJSON_Delete(res);
  (void)buf;
  fx_close(&f);
}

TEST(instance_without_wait_state_ends_during_start) {
  fx f;
  char id[64], buf[64];
  cJSON *res;
  REQUIRE(fx_open(&f, NULL));
  REQUIRE(deploy(&f, "{'key':'flash','activities':[" START ",{'id':'t','type':'task'}," END
                     "],'flows':[" FLOW("f1", "start", "t") "," FLOW("f2", "t", "end") "]}") == 200);
  res = call(&f, "startProcessInstanceByKey", "{'key':'flash'}");
  CHECK_EQ_INT(status_of(res), 200);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body_of(res), "ended")));
  snprintf(id, sizeof id, "%s", rb_str(body_of(res), "id") ? rb_str(body_of(res), "id") : "");
  cJSON_Delete(res);
  CHECK_EQ_INT(count_of(&f, "getProcessInstancesCount", "{}"), 0);
  CHECK_EQ_STR(history_state(&f, id, buf, sizeof buf), "COMPLETED");
  fx_close(&f);
}

TEST(failing_async_job_counts_retries_down_to_a_failed_job_incident) {
  fx f;
  char id[64], job[64], buf[128];
  cJSON *res;
  REQUIRE(fx_open(&f, NULL));
  REQUIRE(deploy(&f, ASYNC) == 200);
  REQUIRE(start(&f, "async", "b", id, sizeof id) == 200);
  CHECK_EQ_INT(count_of(&f, "getJobsCount", "{}"), 1);
  first_job(&f, "id", job, sizeof job);
  CHECK_EQ_STR(first_job(&f, "retries", buf, sizeof buf), "3");
  CHECK_EQ_STR(first_job(&f, "processInstanceId", buf, sizeof buf), id);
  CHECK_EQ_INT(f.h.job_calls, 0); /* the start ends at the async boundary */
  f.h.fail_jobs = 1;
  for (int left = 2; left >= 0; left--) {
    res = call(&f, "executeDueJobs", "{}");
    CHECK_EQ_INT(status_of(res), 200);
    CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(body_of(res), "failed")), 1);
    CHECK_EQ_STR(rb_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(body_of(res), "jobs"), 0),
                        "exceptionMessage"), "boom");
    cJSON_Delete(res);
    snprintf(buf, sizeof buf, "%d", left);
    {
      char got[32];
      CHECK_EQ_STR(first_job(&f, "retries", got, sizeof got), buf);
    }
    CHECK_EQ_INT(count_of(&f, "getIncidentsCount", "{}"), left == 0 ? 1 : 0);
  }
  CHECK_EQ_INT(f.h.job_calls, 3);
  CHECK_EQ_STR(first_job(&f, "exceptionMessage", buf, sizeof buf), "boom");
  CHECK_EQ_STR(first_job(&f, "failedActivityId", buf, sizeof buf), "work");
  res = call(&f, "getIncidents", "{}");
  {
    const cJSON *inc = cJSON_GetArrayItem(body_of(res), 0);
    CHECK_EQ_STR(rb_str(inc, "incidentType"), "failedJob");
    CHECK_EQ_STR(rb_str(inc, "configuration"), job);
    CHECK_EQ_STR(rb_str(inc, "processInstanceId"), id);
    CHECK_EQ_STR(rb_str(inc, "activityId"), "work");
    CHECK_EQ_STR(rb_str(inc, "incidentMessage"), "boom");
  }
  cJSON_Delete(res);
  CHECK_EQ_INT(count_of(&f, "getProcessInstancesCount", "{'query':{'withIncident':true}}"), 1);
  /* No retries left: the executor leaves the job alone. */
  CHECK_EQ_INT(due_jobs(&f, "executed"), 0);
  CHECK_EQ_INT(f.h.job_calls, 3);
  /* Retries back: the incident is resolved; then the job succeeds. */
  CHECK_EQ_INT(call_status(&f, "setJobRetries", "{'id':'%s','body':{'retries':1}}", job), 204);
  CHECK_EQ_INT(count_of(&f, "getIncidentsCount", "{}"), 0);
  res = call(&f, "getHistoricIncidents", "{}");
  CHECK_EQ_INT(cJSON_GetArraySize(body_of(res)), 1);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(body_of(res), 0), "resolved")));
  cJSON_Delete(res);
  f.h.fail_jobs = 0;
  CHECK_EQ_INT(due_jobs(&f, "succeeded"), 1);
  CHECK_EQ_INT(count_of(&f, "getJobsCount", "{}"), 0);
  CHECK_EQ_INT(count_of(&f, "getProcessInstancesCount", "{}"), 0);
  CHECK_EQ_STR(history_state(&f, id, buf, sizeof buf), "COMPLETED");
  fx_close(&f);
}

TEST(execute_job_reports_the_failure_and_keeps_it_recorded) {
  fx f;
  char id[64], job[64], buf[64];
  cJSON *res;
  REQUIRE(fx_open(&f, "{\"defaultNumberOfRetries\":1}"));
  REQUIRE(deploy(&f, ASYNC) == 200);
  REQUIRE(start(&f, "async", "b", id, sizeof id) == 200);
  first_job(&f, "id", job, sizeof job);
  CHECK_EQ_STR(first_job(&f, "retries", buf, sizeof buf), "1");
  f.h.fail_jobs = 1;
  res = call(&f, "executeJob", "{'id':'%s'}", job);
  CHECK_ERROR(res, 500, "RestException", "boom");
  cJSON_Delete(res);
  /* The failure is committed although the call reported an error. */
  CHECK_EQ_STR(first_job(&f, "retries", buf, sizeof buf), "0");
  CHECK_EQ_INT(count_of(&f, "getIncidentsCount", "{'query':{'incidentType':'failedJob'}}"), 1);
  res = call(&f, "executeJob", "{'id':'nope'}");
  CHECK_EQ_INT(status_of(res), 404);
  CHECK(rb_str(body_of(res), "message") && strstr(rb_str(body_of(res), "message"), "nope"));
  cJSON_Delete(res);
  fx_close(&f);
}

TEST(host_stacktrace_and_deferred_jobs_locked_until_the_host_ends_them) {
  fx f;
  char id[64], job[64], buf[128];
  cJSON *res;
  REQUIRE(fx_open(&f, "{\"defaultNumberOfRetries\":3}"));
  REQUIRE(deploy(&f, ASYNC) == 200);
  REQUIRE(start(&f, "async", "b", id, sizeof id) == 200);
  first_job(&f, "id", job, sizeof job);
  /* A failure with the host's own stacktrace keeps it. */
  f.h.fail_jobs = FAIL_WITH_TRACE;
  CHECK_EQ_INT(due_jobs(&f, "failed"), 1);
  res = call(&f, "getJobStacktrace", "{'id':'%s'}", job);
  CHECK(cJSON_IsString(body_of(res)) && strcmp(body_of(res)->valuestring, "Error: boom\n    at handler") == 0);
  cJSON_Delete(res);
  /* Deferred: locked for the host's owner, not acquired again, no success logged. */
  f.h.fail_jobs = DEFER_JOBS;
  CHECK_EQ_INT(due_jobs(&f, "executed"), 1);
  CHECK_EQ_STR(first_job(&f, "lockOwner", buf, sizeof buf), "node-a");
  CHECK_EQ_STR(first_job(&f, "lockExpirationTime", buf, sizeof buf), "2024-01-01T00:05:00.000+0000");
  CHECK_EQ_INT(due_jobs(&f, "executed"), 0);
  res = call(&f, "completeLockedJob", "{'id':'%s','body':{'lockOwner':'node-b'}}", job);
  CHECK_ERROR(res, 400, "InvalidRequestException", "Job '");
  cJSON_Delete(res);
  /* The host's code failed: Camunda's failure handling, its stacktrace, the lock gone. */
  res = call(&f, "failLockedJob", "{'id':'%s','body':{'lockOwner':'node-a','errorMessage':'late','errorDetails':'Error: late'}}", job);
  CHECK_EQ_INT(status_of(res), 204);
  cJSON_Delete(res);
  CHECK_EQ_STR(first_job(&f, "retries", buf, sizeof buf), "1");
  CHECK_EQ_STR(first_job(&f, "exceptionMessage", buf, sizeof buf), "late");
  CHECK_EQ_STR(first_job(&f, "lockOwner", buf, sizeof buf), "?");
  /* Deferred again and an expired lock: acquired again; then the host completes it. */
  CHECK_EQ_INT(due_jobs(&f, "executed"), 1);
  f.h.now += 300001;
  CHECK_EQ_INT(due_jobs(&f, "executed"), 1);
  res = call(&f, "completeLockedJob", "{'id':'%s','body':{'lockOwner':'node-a'}}", job);
  CHECK_EQ_INT(status_of(res), 204);
  cJSON_Delete(res);
  CHECK_EQ_INT(count_of(&f, "getJobsCount", "{}"), 0);
  res = call(&f, "completeLockedJob", "{'id':'%s','body':{'lockOwner':'node-a'}}", job);
  CHECK_EQ_INT(status_of(res), 404);
  cJSON_Delete(res);
  fx_close(&f);
}

TEST(retry_time_cycle_resets_retries_and_moves_the_due_date) {
  fx f;
  char id[64], buf[64];
  REQUIRE(fx_open(&f, NULL));
  REQUIRE(deploy(&f, CYCLE) == 200);
  REQUIRE(start(&f, "cycle", "b", id, sizeof id) == 200);
  CHECK_EQ_STR(first_job(&f, "dueDate", buf, sizeof buf), "null");
  f.h.fail_jobs = 1;
  CHECK_EQ_INT(due_jobs(&f, "failed"), 1);
  CHECK_EQ_STR(first_job(&f, "retries", buf, sizeof buf), "4");
  CHECK_EQ_STR(first_job(&f, "dueDate", buf, sizeof buf), "2024-01-01T00:01:00.000+0000");
  CHECK_EQ_INT(due_jobs(&f, "executed"), 0); /* not due yet */
  CHECK_EQ_INT(count_of(&f, "getJobsCount", "{'query':{'executable':true}}"), 0);
  f.h.now += 59999;
  CHECK_EQ_INT(due_jobs(&f, "executed"), 0);
  f.h.now += 1;
  CHECK_EQ_INT(count_of(&f, "getJobsCount", "{'query':{'executable':true}}"), 1);
  CHECK_EQ_INT(due_jobs(&f, "failed"), 1);
  CHECK_EQ_STR(first_job(&f, "retries", buf, sizeof buf), "3");
  CHECK_EQ_STR(first_job(&f, "dueDate", buf, sizeof buf), "2024-01-01T00:02:00.000+0000");
  fx_close(&f);
}

TEST(parallel_gateway_forks_and_joins) {
  fx f;
  char id[64], ta[64], tb[64], buf[64];
  cJSON *res;
  REQUIRE(fx_open(&f, NULL));
  REQUIRE(deploy(&f, PARALLEL) == 200);
  REQUIRE(start(&f, "parallel", "p", id, sizeof id) == 200);
  CHECK_EQ_INT(count_of(&f, "getExternalTasksCount", "{}"), 2);
  CHECK_EQ_INT(fetch(&f, "ta"), 1);
  CHECK_EQ_INT(fetch(&f, "tb"), 1);
  task_of_topic(&f, "ta", ta, sizeof ta);
  task_of_topic(&f, "tb", tb, sizeof tb);
  CHECK(strcmp(ta, tb) != 0);
  /* Each branch has its own execution. */
  {
    char ea[64], eb[64];
    char *qa = request_text("{'query':{'topicName':'ta'}}");
    char *qb = request_text("{'query':{'topicName':'tb'}}");
    list_str(&f, "getExternalTasks", qa, 0, "executionId", ea, sizeof ea);
    list_str(&f, "getExternalTasks", qb, 0, "executionId", eb, sizeof eb);
    CHECK(strcmp(ea, eb) != 0);
    rebatch_free(qa);
    rebatch_free(qb);
  }
  CHECK_EQ_INT(complete_task(&f, ta), 204);
  /* One branch waits in the join; the instance is still running. */
  CHECK_EQ_INT(count_of(&f, "getProcessInstancesCount", "{}"), 1);
  CHECK_EQ_INT(count_of(&f, "getProcessInstancesCount", "{'query':{'activityIdIn':['join']}}"), 1);
  CHECK_EQ_INT(count_of(&f, "getProcessInstancesCount", "{'query':{'activityIdIn':['b']}}"), 1);
  CHECK_EQ_INT(list_size_f(&f, "getHistoricActivityInstances",
                           request_text("{'query':{'activityId':'end'}}")), 0);
  CHECK_EQ_INT(complete_task(&f, tb), 204);
  CHECK_EQ_INT(count_of(&f, "getProcessInstancesCount", "{}"), 0);
  CHECK_EQ_STR(history_state(&f, id, buf, sizeof buf), "COMPLETED");
  /* Both branches entered the join; the end event ran exactly once. */
  CHECK_EQ_INT(list_size_f(&f, "getHistoricActivityInstances",
                           request_text("{'query':{'activityId':'join'}}")), 2);
  CHECK_EQ_INT(list_size_f(&f, "getHistoricActivityInstances",
                           request_text("{'query':{'activityId':'join','unfinished':true}}")), 0);
  CHECK_EQ_INT(list_size_f(&f, "getHistoricActivityInstances",
                           request_text("{'query':{'activityId':'end'}}")), 1);
  res = call(&f, "getHistoricActivityInstances", "{'query':{'processInstanceId':'%s','unfinished':true}}", id);
  CHECK_EQ_INT(cJSON_GetArraySize(body_of(res)), 0);
  cJSON_Delete(res);
  fx_close(&f);
}

TEST(timer_job_is_due_after_its_duration) {
  fx f;
  char id[64], buf[64];
  REQUIRE(fx_open(&f, NULL));
  REQUIRE(deploy(&f, TIMER) == 200);
  f.h.now += 1000;
  REQUIRE(start(&f, "timer", "t", id, sizeof id) == 200);
  CHECK_EQ_INT(count_of(&f, "getJobsCount", "{'query':{'timers':true}}"), 1);
  CHECK_EQ_STR(first_job(&f, "dueDate", buf, sizeof buf), "2024-01-01T00:05:01.000+0000");
  CHECK_EQ_INT(due_jobs(&f, "executed"), 0);
  f.h.now += 299999;
  CHECK_EQ_INT(due_jobs(&f, "executed"), 0);
  CHECK_EQ_INT(count_of(&f, "getProcessInstancesCount", "{}"), 1);
  f.h.now += 1;
  CHECK_EQ_INT(due_jobs(&f, "succeeded"), 1);
  CHECK_EQ_INT(count_of(&f, "getJobsCount", "{}"), 0);
  CHECK_EQ_STR(history_state(&f, id, buf, sizeof buf), "COMPLETED");
  CHECK_EQ_INT(list_size_f(&f, "getHistoricActivityInstances",
                           request_text("{'query':{'activityType':'intermediateTimer'}}")), 1);
  fx_close(&f);
}

TEST(cancel_ends_the_instance_externally_terminated) {
  fx f;
  char id[64], id2[64], buf[64];
  cJSON *res;
  REQUIRE(fx_open(&f, NULL));
  REQUIRE(deploy(&f, INVOICE) == 200);
  REQUIRE(deploy(&f, ASYNC) == 200);
  REQUIRE(start(&f, "invoice", "x", id, sizeof id) == 200);
  REQUIRE(start(&f, "async", "y", id2, sizeof id2) == 200);
  f.h.fail_jobs = 1;
  for (int i = 0; i < 3; i++) due_jobs(&f, "failed");
  CHECK_EQ_INT(count_of(&f, "getIncidentsCount", "{}"), 1);
  CHECK_EQ_INT(call_status(&f, "deleteProcessInstance", "{'id':'%s'}", id), 204);
  CHECK_EQ_INT(call_status(&f, "deleteProcessInstance", "{'id':'%s'}", id2), 204);
  CHECK_EQ_INT(count_of(&f, "getProcessInstancesCount", "{}"), 0);
  CHECK_EQ_INT(count_of(&f, "getExternalTasksCount", "{}"), 0);
  CHECK_EQ_INT(count_of(&f, "getJobsCount", "{}"), 0);
  CHECK_EQ_INT(count_of(&f, "getIncidentsCount", "{}"), 0);
  res = call(&f, "getHistoricProcessInstance", "{'id':'%s'}", id);
  CHECK_EQ_STR(rb_str(body_of(res), "state"), "EXTERNALLY_TERMINATED");
  CHECK(rb_str(body_of(res), "endTime") != NULL);
  cJSON_Delete(res);
  CHECK_EQ_STR(history_state(&f, id2, buf, sizeof buf), "EXTERNALLY_TERMINATED");
  /* The open activity (charge) was canceled. */
  CHECK_EQ_INT(list_size_f(&f, "getHistoricActivityInstances",
                           request_text("{'query':{'processInstanceId':'%s','canceled':true}}", id)), 1);
  CHECK_EQ_INT(list_size_f(&f, "getHistoricActivityInstances",
                           request_text("{'query':{'processInstanceId':'%s','unfinished':true}}", id)), 0);
  /* The historic incident was deleted, not resolved. */
  res = call(&f, "getHistoricIncidents", "{}");
  CHECK_EQ_INT(cJSON_GetArraySize(body_of(res)), 1);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(body_of(res), 0), "deleted")));
  cJSON_Delete(res);
  CHECK_EQ_INT(count_of(&f, "getHistoricProcessInstancesCount", "{'query':{'externallyTerminated':true}}"), 2);
  res = call(&f, "deleteProcessInstance", "{'id':'%s'}", id);
  CHECK_EQ_INT(status_of(res), 404);
  CHECK(rb_str(body_of(res), "message") && strstr(rb_str(body_of(res), "message"), id));
  cJSON_Delete(res);
  CHECK_EQ_INT(call_status(&f, "deleteProcessInstance", "{'id':'%s','query':{'failIfNotExists':'false'}}", id), 204);
  fx_close(&f);
}

TEST(deployments_version_by_key) {
  fx f;
  cJSON *res;
  REQUIRE(fx_open(&f, NULL));
  REQUIRE(deploy(&f, INVOICE) == 200);
  REQUIRE(deploy(&f, INVOICE) == 200);
  res = call(&f, "getProcessDefinitionByKey", "{'key':'invoice'}");
  CHECK_EQ_INT(status_of(res), 200);
  CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(body_of(res), "version")), 2);
  cJSON_Delete(res);
  CHECK_EQ_INT(list_size(&f, "getProcessDefinitions", "{\"query\":{\"latestVersion\":true}}"), 1);
  CHECK_EQ_INT(list_size(&f, "getProcessDefinitions", "{}"), 2);
  fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Validation errors                                                        */
/* ------------------------------------------------------------------------ */

/* Runs op and checks the error; also that nothing was written. */
static void expect_error(fx *f, int line, const char *op, const char *request,
                         int status, const char *type, const char *prefix) {
  char *before = dump(f), *after;
  cJSON *res = call(f, op, request);
  const char *m = rb_str(body_of(res), "message");
  if (status_of(res) != status || !rb_str(body_of(res), "type") ||
      strcmp(rb_str(body_of(res), "type"), type) != 0 || !m ||
      strncmp(m, prefix, strlen(prefix)) != 0 || !rb_has(body_of(res), "code")) {
    char *text = cJSON_PrintUnformatted(res);
    fprintf(stderr, "%s:%d: %s: want %d %s \"%s...\", got %s\n", __FILE__, line,
            op, status, type, prefix, text ? text : "NULL");
    rebatch_free(text);
    check_state.current_failed++;
  }
  after = dump(f);
  if (!before || !after || strcmp(before, after) != 0) {
    fprintf(stderr, "%s:%d: %s: the failing call changed the store\n", __FILE__, line, op);
    check_state.current_failed++;
  }
  rebatch_free(before);
  rebatch_free(after);
  cJSON_Delete(res);
}

#define EXPECT_ERROR(f, op, status, type, prefix, ...)                  \
  do {                                                                  \
    char *req_ = request_text(__VA_ARGS__);                             \
    expect_error(f, __LINE__, op, req_, status, type, prefix);          \
    rebatch_free(req_);                                                 \
  } while (0)

TEST(unknown_operation_and_bad_requests) {
  fx f;
  cJSON *res;
  REQUIRE(fx_open(&f, NULL));
  res = call(&f, "noSuchOperation", "{}");
  CHECK_ERROR(res, 404, "RestException", "Unknown operation 'noSuchOperation'");
  cJSON_Delete(res);
  CHECK_EQ_INT(status_of(res = call(&f, "getJobs", "{not json")), 400);
  CHECK_ERROR(res, 400, "InvalidRequestException", "The request is not valid JSON");
  cJSON_Delete(res);
  res = call(&f, "getJobs", "[1]");
  CHECK_ERROR(res, 400, "InvalidRequestException", "The request must be a JSON object");
  cJSON_Delete(res);
  {
    char *text = rebatch_call(NULL, "getJobs", "{}");
    CHECK(text != NULL && strstr(text, "\"status\":404") != NULL);
    rebatch_free(text);
    text = rebatch_call(f.e, NULL, "{}");
    CHECK(text != NULL && strstr(text, "\"status\":404") != NULL);
    rebatch_free(text);
    /* A NULL request is an absent body, not a crash. */
    text = rebatch_call(f.e, "getJobs", NULL);
    CHECK(text != NULL && strstr(text, "\"status\":200") != NULL);
    rebatch_free(text);
  }
  fx_close(&f);
}

TEST(deployment_validation_errors) {
  fx f;
  REQUIRE(fx_open(&f, NULL));
  EXPECT_ERROR(&f, "createDeployment", 400, "InvalidRequestException",
               "A deployment needs at least one process", "{'body':{'processes':[]}}");
  EXPECT_ERROR(&f, "createDeployment", 400, "InvalidRequestException",
               "A deployment needs at least one process", "{}");
  EXPECT_ERROR(&f, "createDeployment", 400, "ParseException", "ENGINE-09005 Could not parse BPMN process",
               "{'body':{'processes':[{'key':'k','activities':[" START
               ",{'id':'x','type':'subProcess'}],'flows':[]}]}}");
  EXPECT_ERROR(&f, "createDeployment", 400, "ParseException", "ENGINE-09005",
               "{'body':{'processes':[{'key':'k','activities':[" START ",{'id':'s2','type':'startEvent'}],'flows':[]}]}}");
  EXPECT_ERROR(&f, "createDeployment", 400, "ParseException", "ENGINE-09005",
               "{'body':{'processes':[{'key':'k','activities':[" START "],'flows':[" FLOW("f", "start", "nowhere") "]}]}}");
  EXPECT_ERROR(&f, "createDeployment", 400, "ParseException", "ENGINE-09005",
               "{'body':{'processes':[{'key':'k','activities':[" START ",{'id':'t','type':'intermediateCatchEvent'}],'flows':[]}]}}");
  EXPECT_ERROR(&f, "createDeployment", 400, "ParseException", "ENGINE-09005",
               "{'body':{'processes':[{'key':'k','activities':[" START ",{'id':'t','type':'task','asyncBefore':true,'failedJobRetryTimeCycle':'often'}],'flows':[]}]}}");
  EXPECT_ERROR(&f, "createDeployment", 400, "ParseException", "ENGINE-09005",
               "{'body':{'processes':[{'key':'k','activities':[" START "," START "],'flows':[]}]}}");
  EXPECT_ERROR(&f, "createDeployment", 400, "ParseException", "ENGINE-09005",
               "{'body':{'processes':[{'activities':[" START "],'flows':[]}]}}");
  /* A valid process next to an invalid one: nothing is deployed. */
  EXPECT_ERROR(&f, "createDeployment", 400, "ParseException", "ENGINE-09005",
               "{'body':{'processes':[" INVOICE ",{'key':'bad','activities':[],'flows':[]}]}}");
  CHECK_EQ_INT(list_size(&f, "getProcessDefinitions", "{}"), 0);
  fx_close(&f);
}

TEST(operation_validation_errors) {
  fx f;
  char id[64], task[64], job[64];
  REQUIRE(fx_open(&f, NULL));
  REQUIRE(deploy(&f, INVOICE) == 200);
  REQUIRE(deploy(&f, ASYNC) == 200);
  REQUIRE(start(&f, "invoice", "a", id, sizeof id) == 200);
  REQUIRE(start(&f, "async", "b", NULL, 0) == 200);
  REQUIRE(fetch(&f, "charge") == 1);
  task_of_topic(&f, "charge", task, sizeof task);
  first_job(&f, "id", job, sizeof job);

  EXPECT_ERROR(&f, "startProcessInstanceByKey", 404, "RestException",
               "No matching process definition with key: nope and no tenant-id", "{'key':'nope'}");
  EXPECT_ERROR(&f, "startProcessInstance", 500, "RestException",
               "Cannot instantiate process definition nope", "{'id':'nope'}");
  EXPECT_ERROR(&f, "startProcessInstanceByKey", 400, "InvalidRequestException",
               "variables must be a JSON object", "{'key':'invoice','body':{'variables':[1]}}");
  EXPECT_ERROR(&f, "startProcessInstanceByKey", 400, "InvalidRequestException",
               "Cannot set variable 'x'", "{'key':'invoice','body':{'variables':{'x':5}}}");
  EXPECT_ERROR(&f, "getProcessInstance", 404, "InvalidRequestException",
               "Process instance with id nope does not exist", "{'id':'nope'}");

  EXPECT_ERROR(&f, "completeExternalTask", 404, "RestException",
               "External task with id nope does not exist", "{'id':'nope','body':{'workerId':'w'}}");
  EXPECT_ERROR(&f, "completeExternalTask", 400, "RestException",
               "External Task ", "{'id':'%s','body':{'workerId':'intruder'}}", task);
  EXPECT_ERROR(&f, "completeExternalTask", 500, "NullValueException",
               "workerId is null", "{'id':'%s','body':{}}", task);
  /* Jackson's mapping error: an empty message */
  EXPECT_ERROR(&f, "handleExternalTaskFailure", 400, "InvalidRequestException", "",
               "{'id':'%s','body':{'workerId':'w','retries':'many'}}", task);
  EXPECT_ERROR(&f, "handleExternalTaskFailure", 500, "ProcessEngineException",
               "retries is not greater than or equal to 0",
               "{'id':'%s','body':{'workerId':'w','retries':-1}}", task);
  EXPECT_ERROR(&f, "extendExternalTaskLock", 400, "RestException",
               "lockTime is not greater than 0", "{'id':'%s','body':{'workerId':'w','newDuration':0}}", task);
  EXPECT_ERROR(&f, "setExternalTaskRetries", 400, "InvalidRequestException",
               "The number of retries cannot be null.", "{'id':'%s','body':{}}", task);
  EXPECT_ERROR(&f, "setExternalTaskRetries", 400, "BadUserRequestException",
               "The number of retries cannot be negative", "{'id':'%s','body':{'retries':-2}}", task);
  EXPECT_ERROR(&f, "fetchAndLock", 400, "InvalidRequestException", "Request body is null", "{}");
  EXPECT_ERROR(&f, "fetchAndLock", 500, "NullValueException", "workerId is null",
               "{'body':{'topics':[]}}");
  EXPECT_ERROR(&f, "fetchAndLock", 400, "InvalidRequestException", "lockDuration is not greater than 0",
               "{'body':{'workerId':'w','topics':[{'topicName':'charge'}]}}");
  EXPECT_ERROR(&f, "fetchAndLock", 400, "InvalidRequestException", "topicName is null",
               "{'body':{'workerId':'w','topics':[{'lockDuration':10}]}}");
  EXPECT_ERROR(&f, "fetchAndLock", 400, "InvalidRequestException", "maxTasks is not greater",
               "{'body':{'workerId':'w','maxTasks':-1,'topics':[]}}");

  EXPECT_ERROR(&f, "setJobRetries", 400, "InvalidRequestException", "retries is null",
               "{'id':'%s','body':{}}", job);
  /* Jackson's mapping errors (empty messages): text that is no integer, beyond an int */
  EXPECT_ERROR(&f, "setJobRetries", 400, "InvalidRequestException", "",
               "{'id':'%s','body':{'retries':'1.5'}}", job);
  EXPECT_ERROR(&f, "setJobRetries", 400, "InvalidRequestException", "",
               "{'id':'%s','body':{'retries':'99999999999999999999'}}", job);
  EXPECT_ERROR(&f, "setJobRetries", 500, "InvalidRequestException", "ENGINE-13054",
               "{'id':'%s','body':{'retries':-1}}", job);
  EXPECT_ERROR(&f, "setJobRetries", 500, "InvalidRequestException", "ENGINE-13053 No job found with id 'nope'",
               "{'id':'nope','body':{'retries':1}}");
  /* Jackson's mapping error: an empty message. */
  EXPECT_ERROR(&f, "setJobRetries", 400, "InvalidRequestException", "",
               "{'id':'%s','body':{'retries':1,'dueDate':'tomorrow'}}", job);
  EXPECT_ERROR(&f, "executeDueJobs", 400, "InvalidRequestException", "maxJobs must be a non-negative integer",
               "{'body':{'maxJobs':-1}}");
  EXPECT_ERROR(&f, "getJob", 404, "InvalidRequestException", "Job with id nope does not exist", "{'id':'nope'}");

  EXPECT_ERROR(&f, "getJobs", 400, "InvalidRequestException",
               "Only a single sorting parameter specified", "{'query':{'sortBy':'jobId'}}");
  EXPECT_ERROR(&f, "getJobs", 400, "InvalidRequestException",
               "Cannot set query parameter 'sortBy' to value 'color'", "{'query':{'sortBy':'color','sortOrder':'asc'}}");
  EXPECT_ERROR(&f, "getJobs", 400, "InvalidRequestException",
               "Cannot set query parameter 'sortOrder' to value 'up'", "{'query':{'sortBy':'jobId','sortOrder':'up'}}");
  EXPECT_ERROR(&f, "getJobs", 400, "InvalidRequestException",
               "Cannot set query parameter 'firstResult' to value 'x'", "{'query':{'firstResult':'x'}}");
  EXPECT_ERROR(&f, "getJobs", 400, "InvalidRequestException",
               "Query parameter 'dueDates' is not supported by rebatch", "{'query':{'dueDates':'x'}}");
  EXPECT_ERROR(&f, "getHistoricProcessInstances", 400, "InvalidRequestException",
               "Cannot set query parameter 'startedBefore' to value 'yesterday'",
               "{'query':{'startedBefore':'yesterday'}}");
  EXPECT_ERROR(&f, "deleteDeployment", 404, "InvalidRequestException",
               "Deployment with id 'nope' do not exist", "{'id':'nope'}");
  fx_close(&f);
}

TEST(deleting_a_deployment_with_instances_needs_cascade) {
  fx f;
  char dep[64];
  cJSON *res;
  REQUIRE(fx_open(&f, NULL));
  res = call(&f, "createDeployment", "{'body':{'processes':[" INVOICE "]}}");
  snprintf(dep, sizeof dep, "%s", rb_str(body_of(res), "id") ? rb_str(body_of(res), "id") : "");
  cJSON_Delete(res);
  REQUIRE(start(&f, "invoice", "a", NULL, 0) == 200);
  EXPECT_ERROR(&f, "deleteDeployment", 500, "ProcessEngineException",
               "Deletion of process definition without cascading failed.", "{'id':'%s'}", dep);
  CHECK_EQ_INT(call_status(&f, "deleteDeployment", "{'id':'%s','query':{'cascade':true}}", dep), 204);
  {
    char *empty = dump(&f);
    CHECK_EQ_STR(empty, "{}");
    rebatch_free(empty);
  }
  fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Whole-operation sweeps: storage faults and allocation failures           */
/* ------------------------------------------------------------------------ */

/* A scenario: setup builds the state and writes the request to run. */
typedef struct scenario {
  const char *name;
  const char *op;
  void (*setup)(fx *f, char *request, size_t cap);
  /* The operation commits each job in a transaction of its own
   * (executeJob, executeDueJobs): once a job's transaction committed, a
   * failure building the response cannot take it back. Its failing runs
   * must leave the store as before or as after a clean run, never
   * anything in between. */
  int own_tx;
} scenario;

static void set_request(char *request, size_t cap, const char *fmt, ...) {
  va_list ap;
  char *text;
  va_start(ap, fmt);
  text = quotes(fmt, ap);
  va_end(ap);
  snprintf(request, cap, "%s", text ? text : "");
  rebatch_free(text);
}

static void s_deploy(fx *f, char *request, size_t cap) {
  (void)f;
  set_request(request, cap, "{'body':{'name':'d','processes':[" INVOICE "," PARALLEL "," TIMER "]}}");
}

static void s_start(fx *f, char *request, size_t cap) {
  deploy(f, INVOICE);
  set_request(request, cap, "{'key':'invoice','body':{'businessKey':'k',"
                            "'variables':{'amount':{'value':5},'who':{'value':'me','type':'String'}}}}");
}

static void s_start_parallel(fx *f, char *request, size_t cap) {
  deploy(f, PARALLEL);
  set_request(request, cap, "{'key':'parallel'}");
}

static void s_fetch(fx *f, char *request, size_t cap) {
  deploy(f, INVOICE);
  start(f, "invoice", "a", NULL, 0);
  start(f, "invoice", "b", NULL, 0);
  set_request(request, cap, "{'body':{'workerId':'w','maxTasks':5,"
                            "'topics':[{'topicName':'charge','lockDuration':1000}]}}");
}

static void s_complete(fx *f, char *request, size_t cap) {
  char task[64];
  deploy(f, INVOICE);
  start(f, "invoice", "a", NULL, 0);
  fetch(f, "charge");
  task_of_topic(f, "charge", task, sizeof task);
  set_request(request, cap, "{'id':'%s','body':{'workerId':'w','variables':{'paid':{'value':true}}}}", task);
}

/* Completing the second branch of a parallel instance joins and ends it. */
static void s_complete_join(fx *f, char *request, size_t cap) {
  char task[64];
  deploy(f, PARALLEL);
  start(f, "parallel", "a", NULL, 0);
  fetch(f, "ta");
  fetch(f, "tb");
  complete_task(f, task_of_topic(f, "ta", task, sizeof task));
  task_of_topic(f, "tb", task, sizeof task);
  set_request(request, cap, "{'id':'%s','body':{'workerId':'w'}}", task);
}

/* The external task's last failure opens an incident. */
static void s_task_failure(fx *f, char *request, size_t cap) {
  char task[64];
  deploy(f, INVOICE);
  start(f, "invoice", "a", NULL, 0);
  fetch(f, "charge");
  task_of_topic(f, "charge", task, sizeof task);
  set_request(request, cap, "{'id':'%s','body':{'workerId':'w','errorMessage':'no',"
                            "'retries':0,'retryTimeout':0}}", task);
}

/* INVOICE with an error boundary event on charge (its code variables set). */
#define GUARDED                                                             \
  "{'key':'guarded','activities':[" START                                   \
  ",{'id':'charge','type':'serviceTask','topic':'charge'}," END             \
  ",{'id':'onError','type':'boundaryEvent','eventDefinition':'error',"      \
  "'attachedTo':'charge','errorCode':'E','errorCodeVariable':'code',"       \
  "'errorMessageVariable':'why'},{'id':'review','type':'userTask'}],"       \
  "'flows':[" FLOW("f1", "start", "charge") "," FLOW("f2", "charge", "end") \
  "," FLOW("f3", "onError", "review") "]}"

static void s_bpmn_error_caught(fx *f, char *request, size_t cap) {
  char task[64];
  deploy(f, GUARDED);
  start(f, "guarded", "a", NULL, 0);
  fetch(f, "charge");
  task_of_topic(f, "charge", task, sizeof task);
  set_request(request, cap, "{'id':'%s','body':{'workerId':'w','errorCode':'E','errorMessage':'no',"
                            "'variables':{'x':{'value':1}}}}", task);
}

/* Uncaught, with an incident open: the instance completes, the incident goes. */
static void s_bpmn_error_uncaught(fx *f, char *request, size_t cap) {
  char task[64];
  deploy(f, INVOICE);
  start(f, "invoice", "a", NULL, 0);
  fetch(f, "charge");
  task_of_topic(f, "charge", task, sizeof task);
  cJSON_Delete(call(f, "handleExternalTaskFailure", "{'id':'%s','body':{'workerId':'w','retries':0}}", task));
  set_request(request, cap, "{'id':'%s','body':{'workerId':'w','errorCode':'E'}}", task);
}

/* Complete after the retries ran out: the incident ends resolved. */
static void s_complete_incident(fx *f, char *request, size_t cap) {
  char task[64];
  s_bpmn_error_uncaught(f, request, cap);
  task_of_topic(f, "charge", task, sizeof task);
  set_request(request, cap, "{'id':'%s','body':{'workerId':'w'}}", task);
}

static void s_lock(fx *f, char *request, size_t cap) {
  char task[64];
  deploy(f, INVOICE);
  start(f, "invoice", "a", NULL, 0);
  task_of_topic(f, "charge", task, sizeof task);
  set_request(request, cap, "{'id':'%s','body':{'workerId':'w','lockDuration':1000}}", task);
}

static void s_due_job_succeeds(fx *f, char *request, size_t cap) {
  deploy(f, ASYNC);
  start(f, "async", "a", NULL, 0);
  set_request(request, cap, "{}");
}

/* The job fails its last retry: failure recorded, incident created. */
static void s_due_job_fails(fx *f, char *request, size_t cap) {
  deploy(f, CYCLE);
  start(f, "cycle", "a", NULL, 0);
  f->h.fail_jobs = 1;
  set_request(request, cap, "{}");
}

static void s_due_timer(fx *f, char *request, size_t cap) {
  deploy(f, TIMER);
  start(f, "timer", "a", NULL, 0);
  f->h.now += 300000;
  set_request(request, cap, "{'body':{'maxJobs':5}}");
}

static void s_cancel(fx *f, char *request, size_t cap) {
  char id[64];
  deploy(f, PARALLEL);
  deploy(f, ASYNC);
  start(f, "parallel", "a", id, sizeof id);
  fetch(f, "ta");
  start(f, "async", "b", NULL, 0);
  set_request(request, cap, "{'id':'%s'}", id);
}

/* Cancel an instance whose job has an open incident. */
static void s_cancel_incident(fx *f, char *request, size_t cap) {
  char id[64];
  deploy(f, "{'key':'async','activities':[" START
            ",{'id':'work','type':'serviceTask','asyncBefore':true,"
            "'failedJobRetryTimeCycle':'R1/PT1M'}," END "],"
            "'flows':[" FLOW("f1", "start", "work") "," FLOW("f2", "work", "end") "]}");
  start(f, "async", "a", id, sizeof id);
  f->h.fail_jobs = 1;
  due_jobs(f, "failed");
  f->h.fail_jobs = 0;
  set_request(request, cap, "{'id':'%s'}", id);
}

static void s_set_retries(fx *f, char *request, size_t cap) {
  char job[64];
  s_cancel_incident(f, request, cap);
  first_job(f, "id", job, sizeof job);
  set_request(request, cap, "{'id':'%s','body':{'retries':2}}", job);
}

static void s_delete_deployment(fx *f, char *request, size_t cap) {
  cJSON *res = call(f, "createDeployment", "{'body':{'processes':[" INVOICE "," ASYNC "]}}");
  char dep[64];
  snprintf(dep, sizeof dep, "%s", rb_str(body_of(res), "id") ? rb_str(body_of(res), "id") : "");
  cJSON_Delete(res);
  start(f, "invoice", "a", NULL, 0);
  start(f, "async", "b", NULL, 0);
  set_request(request, cap, "{'id':'%s','query':{'cascade':'true'}}", dep);
}

static void s_query(fx *f, char *request, size_t cap) {
  deploy(f, INVOICE);
  start(f, "invoice", "a", NULL, 0);
  start(f, "invoice", "b", NULL, 0);
  set_request(request, cap, "{'query':{'processDefinitionKey':'invoice','sortBy':'businessKey',"
                            "'sortOrder':'desc','maxResults':'5'}}");
}

static void s_query_ignore_case(fx *f, char *request, size_t cap) {
  deploy(f, INVOICE);
  cJSON_Delete(call(f, "startProcessInstanceByKey",
                    "{'key':'invoice','body':{'variables':{'Who':{'value':'Ann'}}}}"));
  set_request(request, cap, "{'body':{'variables':[{'name':'who','operator':'eq','value':'ANN'}],"
                            "'variableNamesIgnoreCase':true,'variableValuesIgnoreCase':true}}");
}

/* ---- issue 14: the batch types over instances and history ---------------- */

/* Two invoice instances, the first with an external task failed into an
 * incident, the second with a variable. */
static void two_invoices(fx *f) {
  char task[64];
  deploy(f, INVOICE);
  start(f, "invoice", "a", NULL, 0);
  fetch(f, "charge");
  task_of_topic(f, "charge", task, sizeof task);
  cJSON_Delete(call(f, "handleExternalTaskFailure", "{'id':'%s','body':{'workerId':'w','retries':0}}", task));
  cJSON_Delete(call(f, "startProcessInstanceByKey",
                    "{'key':'invoice','body':{'businessKey':'b','variables':{'n':{'value':1}}}}"));
}

/* Creates a batch and runs its seed job (the only job there is), so that
 * the request's executeDueJobs runs its execution jobs. */
static void seeded(fx *f, char *request, size_t cap, const char *op, const char *body) {
  cJSON_Delete(call(f, op, body));
  due_jobs(f, "executed");
  /* One execution job per request: each job commits on its own. */
  set_request(request, cap, "{'body':{'maxJobs':1}}");
}

static void s_instance_deletion(fx *f, char *request, size_t cap) {
  two_invoices(f);
  set_request(request, cap, "{'body':{'processInstanceQuery':{'processDefinitionKey':'invoice'},"
                            "'processInstanceIds':['gone'],'deleteReason':'r'}}");
}

static void s_instance_deletion_runs(fx *f, char *request, size_t cap) {
  two_invoices(f);
  seeded(f, request, cap, "deleteProcessInstancesAsync",
         "{'body':{'processInstanceQuery':{'processDefinitionKey':'invoice'},'deleteReason':'r'}}");
}

static void s_suspension_runs(fx *f, char *request, size_t cap) {
  two_invoices(f);
  seeded(f, request, cap, "setProcessInstancesSuspendedAsync",
         "{'body':{'suspended':true,'historicProcessInstanceQuery':{'processDefinitionKey':'invoice'}}}");
}

static void s_suspend_definition(fx *f, char *request, size_t cap) {
  char def[64];
  two_invoices(f);
  list_str(f, "getProcessDefinitions", "{}", 0, "id", def, sizeof def);
  set_request(request, cap, "{'id':'%s','body':{'suspended':true,'includeProcessInstances':true}}", def);
}

static void s_set_variables_runs(fx *f, char *request, size_t cap) {
  two_invoices(f);
  seeded(f, request, cap, "setVariablesAsync",
         "{'body':{'processInstanceQuery':{'processDefinitionKey':'invoice'},"
         "'variables':{'n':{'value':2},'d':{'value':'2024-01-01T00:00:00.000+0000','type':'Date'}}}}");
}

/* Both instances deleted: a finished history with an incident and variables. */
static void two_ended(fx *f) {
  two_invoices(f);
  cJSON_Delete(call(f, "deleteProcessInstancesAsync", "{'body':{'processInstanceQuery':{}}}"));
  for (int i = 0; i < 3; i++) due_jobs(f, "executed");
}

static void s_historic_deletion_runs(fx *f, char *request, size_t cap) {
  two_ended(f);
  seeded(f, request, cap, "deleteHistoricProcessInstancesAsync",
         "{'body':{'historicProcessInstanceQuery':{'processDefinitionKey':'invoice'}}}");
}

static void s_removal_time_runs(fx *f, char *request, size_t cap) {
  two_ended(f);
  seeded(f, request, cap, "setRemovalTimeAsync",
         "{'body':{'historicProcessInstanceQuery':{},'absoluteRemovalTime':'2024-01-01T00:00:00.000+0000'}}");
}

static void s_history_cleanup_runs(fx *f, char *request, size_t cap) {
  s_removal_time_runs(f, request, cap);
  for (int i = 0; i < 2; i++) due_jobs(f, "executed");
  cJSON_Delete(call(f, "cleanupHistory", "{'query':{}}"));
  set_request(request, cap, "{'body':{'maxJobs':1}}");
}

static void s_job_definition_retries(fx *f, char *request, size_t cap) {
  char job[64], jd[64];
  s_cancel_incident(f, request, cap);
  first_job(f, "id", job, sizeof job);
  first_job(f, "jobDefinitionId", jd, sizeof jd);
  set_request(request, cap, "{'id':'%s','body':{'retries':2,'dueDate':'2024-01-02T00:00:00.000+0000'}}", jd);
}

static void s_delete_job(fx *f, char *request, size_t cap) {
  char job[64];
  s_cancel_incident(f, request, cap);
  first_job(f, "id", job, sizeof job);
  set_request(request, cap, "{'id':'%s'}", job);
}

static void s_job_definitions_suspended(fx *f, char *request, size_t cap) {
  s_cancel_incident(f, request, cap);
  set_request(request, cap, "{'body':{'processDefinitionKey':'async','suspended':true,'includeJobs':true}}");
}

static void s_set_variables(fx *f, char *request, size_t cap) {
  two_invoices(f);
  set_request(request, cap, "{'body':{'processInstanceIds':['gone'],'historicProcessInstanceQuery':{},"
                            "'variables':{'n':{'value':'7','type':'Long'},'o':{'value':{'a':[1]}}}}}");
}

static void s_suspend_sync_by_key(fx *f, char *request, size_t cap) {
  two_invoices(f);
  set_request(request, cap, "{'body':{'suspended':true,'processDefinitionKey':'invoice'}}");
}

static void s_removal_time(fx *f, char *request, size_t cap) {
  two_ended(f);
  set_request(request, cap, "{'body':{'historicProcessInstanceIds':['gone'],'historicProcessInstanceQuery':{},"
                            "'calculatedRemovalTime':true,'updateInChunks':true,'updateChunkSize':10}}");
}

static void s_batch_removal_time_runs(fx *f, char *request, size_t cap) {
  two_ended(f);
  seeded(f, request, cap, "setBatchRemovalTimeAsync",
         "{'body':{'historicBatchQuery':{'type':'instance-deletion'},'absoluteRemovalTime':'2024-01-01T00:00:00.000+0000'}}");
}

static void s_restart_by_key(fx *f, char *request, size_t cap) {
  char id[64];
  two_ended(f);
  list_str(f, "getHistoricProcessInstances", "{}", 0, "id", id, sizeof id);
  set_request(request, cap, "{'key':'invoice','body':{'processInstanceIds':['%s'],"
                            "'instructions':[{'type':'startBeforeActivity','activityId':'charge'}]}}", id);
}

/* ---- issue 17: modification, messages, migration ------------------------- */

/* The first invoice instance (external task failed into an incident) is
 * modified: its task started over, the failed one cancelled. */
static void s_modify(fx *f, char *request, size_t cap) {
  char id[64];
  two_invoices(f);
  list_str(f, "getProcessInstances", "{'query':{'businessKey':'a'}}", 0, "id", id, sizeof id);
  set_request(request, cap, "{'id':'%s','body':{'instructions':[{'type':'startBeforeActivity','activityId':'charge',"
                            "'variables':{'v':{'value':1}}},{'type':'cancel','activityId':'charge',"
                            "'cancelCurrentActiveActivityInstances':true}]}}", id);
}

static void s_modification_runs(fx *f, char *request, size_t cap) {
  char def[64], body[512];
  two_invoices(f);
  list_str(f, "getProcessDefinitions", "{}", 0, "id", def, sizeof def);
  snprintf(body, sizeof body, "{'body':{'processDefinitionId':'%s','instructions':[{'type':'cancel','activityId':'charge'}],"
                              "'processInstanceQuery':{'processDefinitionKey':'invoice'}}}", def);
  seeded(f, request, cap, "executeModificationAsync", body);
}

/* start | byMessage (message order) -> wait (message go) -> end */
#define MESSAGES                                                          \
  "{'key':'messages','activities':[" START                                \
  ",{'id':'byMessage','type':'startEvent','messageName':'order'}"          \
  ",{'id':'wait','type':'intermediateCatchEvent','messageName':'go'}," END  \
  "],'flows':[" FLOW("f1", "start", "wait") "," FLOW("f0", "byMessage", "wait") \
  "," FLOW("f2", "wait", "end") "]}"

static void s_correlate(fx *f, char *request, size_t cap) {
  deploy(f, MESSAGES);
  start(f, "messages", "a", NULL, 0);
  start(f, "messages", "b", NULL, 0);
  set_request(request, cap, "{'body':{'messageName':'go','all':true,'resultEnabled':true,'variablesInResultEnabled':true,"
                            "'processVariables':{'x':{'value':1}}}}");
}

static void s_correlate_start(fx *f, char *request, size_t cap) {
  deploy(f, MESSAGES);
  set_request(request, cap, "{'body':{'messageName':'order','businessKey':'k','resultEnabled':true,"
                            "'processVariables':{'x':{'value':1}}}}");
}

static void s_correlate_runs(fx *f, char *request, size_t cap) {
  deploy(f, MESSAGES);
  start(f, "messages", "a", NULL, 0);
  start(f, "messages", "b", NULL, 0);
  seeded(f, request, cap, "correlateMessageAsync",
         "{'body':{'messageName':'go','processInstanceQuery':{'processDefinitionKey':'invoice'},"
         "'historicProcessInstanceQuery':{'processDefinitionKey':'messages'},'variables':{'y':{'value':2}}}}");
}

/* Both invoice instances (one with an incident) move to a second version. */
static void s_migrate(fx *f, char *request, size_t cap) {
  char v1[64], v2[64];
  two_invoices(f);
  deploy(f, INVOICE);
  list_str(f, "getProcessDefinitions", "{'query':{'version':'1'}}", 0, "id", v1, sizeof v1);
  list_str(f, "getProcessDefinitions", "{'query':{'version':'2'}}", 0, "id", v2, sizeof v2);
  set_request(request, cap, "{'body':{'migrationPlan':{'sourceProcessDefinitionId':'%s','targetProcessDefinitionId':'%s',"
                            "'instructions':[{'sourceActivityIds':['charge'],'targetActivityIds':['charge']}],"
                            "'variables':{'m':{'value':true}}},'processInstanceQuery':{'processDefinitionId':'%s'}}}",
              v1, v2, v1);
}

static void s_generate_plan(fx *f, char *request, size_t cap) {
  char v1[64], v2[64];
  deploy(f, INVOICE);
  deploy(f, INVOICE);
  list_str(f, "getProcessDefinitions", "{'query':{'version':'1'}}", 0, "id", v1, sizeof v1);
  list_str(f, "getProcessDefinitions", "{'query':{'version':'2'}}", 0, "id", v2, sizeof v2);
  set_request(request, cap, "{'body':{'sourceProcessDefinitionId':'%s','targetProcessDefinitionId':'%s'}}", v1, v2);
}

/* ---- issue 11: the retries batches and the reads over what they leave --- */

/* An async job failed into an incident, and the invoice's external task. */
static void failed_job_and_task(fx *f, char *request, size_t cap) {
  s_cancel_incident(f, request, cap);
  deploy(f, INVOICE);
  start(f, "invoice", "b", NULL, 0);
}

static void s_job_retries_runs(fx *f, char *request, size_t cap) {
  failed_job_and_task(f, request, cap);
  seeded(f, request, cap, "setJobRetriesAsyncByProcess",
         "{'body':{'retries':3,'processInstanceQuery':{'processDefinitionKey':'async'}}}");
}

static void s_external_task_retries_runs(fx *f, char *request, size_t cap) {
  failed_job_and_task(f, request, cap);
  seeded(f, request, cap, "setExternalTaskRetriesAsync",
         "{'body':{'retries':5,'externalTaskQuery':{'topicName':'charge'}}}");
}

static void s_count_external_tasks(fx *f, char *request, size_t cap) {
  s_external_task_retries_runs(f, request, cap);
  due_jobs(f, "executed");
  set_request(request, cap, "{'query':{'withRetriesLeft':'true'}}");
}

static void s_job_log_after_retries(fx *f, char *request, size_t cap) {
  s_job_retries_runs(f, request, cap);
  due_jobs(f, "executed");
  set_request(request, cap, "{'query':{'sortBy':'timestamp','sortOrder':'asc'}}");
}

static void s_jobs_after_retries(fx *f, char *request, size_t cap) {
  s_job_log_after_retries(f, request, cap);
  set_request(request, cap, "{'query':{'sortBy':'jobId','sortOrder':'asc'}}");
}

/* Both kinds of subscription: two waiting tokens and the start event. */
static void s_event_subscriptions(fx *f, char *request, size_t cap) {
  deploy(f, MESSAGES);
  start(f, "messages", "a", NULL, 0);
  start(f, "messages", "b", NULL, 0);
  set_request(request, cap, "{'query':{'sortBy':'created','sortOrder':'desc','eventType':'message'}}");
}

/* A plan whose variable report names a Java serialized value. */
static void s_validate_plan_variables(fx *f, char *request, size_t cap) {
  char v1[64], v2[64];
  deploy(f, INVOICE);
  deploy(f, INVOICE);
  list_str(f, "getProcessDefinitions", "{'query':{'version':'1'}}", 0, "id", v1, sizeof v1);
  list_str(f, "getProcessDefinitions", "{'query':{'version':'2'}}", 0, "id", v2, sizeof v2);
  set_request(request, cap, "{'body':{'sourceProcessDefinitionId':'%s','targetProcessDefinitionId':'%s','instructions':[],"
                            "'variables':{'s':{'type':'Object','value':'rO0','valueInfo':{'objectTypeName':'java.util.List',"
                            "'serializationDataFormat':'application/x-java-serialized-object'}}}}}", v1, v2);
}

static const scenario scenarios[] = {
    {"createDeployment", "createDeployment", s_deploy, 0},
    {"start", "startProcessInstanceByKey", s_start, 0},
    {"start parallel", "startProcessInstanceByKey", s_start_parallel, 0},
    {"fetchAndLock", "fetchAndLock", s_fetch, 0},
    {"complete", "completeExternalTask", s_complete, 0},
    {"complete + join", "completeExternalTask", s_complete_join, 0},
    {"external task failure", "handleExternalTaskFailure", s_task_failure, 0},
    {"bpmn error caught", "handleExternalTaskBpmnError", s_bpmn_error_caught, 0},
    {"bpmn error uncaught", "handleExternalTaskBpmnError", s_bpmn_error_uncaught, 0},
    {"lock", "lockExternalTask", s_lock, 0},
    {"complete with incident", "completeExternalTask", s_complete_incident, 0},
    {"due job succeeds", "executeDueJobs", s_due_job_succeeds, 1},
    {"due job fails", "executeDueJobs", s_due_job_fails, 1},
    {"due timer", "executeDueJobs", s_due_timer, 1},
    {"cancel", "deleteProcessInstance", s_cancel, 0},
    {"cancel with incident", "deleteProcessInstance", s_cancel_incident, 0},
    {"setJobRetries resolves incident", "setJobRetries", s_set_retries, 0},
    {"deleteDeployment cascade", "deleteDeployment", s_delete_deployment, 0},
    {"getProcessInstances", "getProcessInstances", s_query, 0},
    {"getProcessInstances ignoring case", "getProcessInstances", s_query_ignore_case, 0},
    {"instance-deletion batch", "deleteProcessInstancesAsync", s_instance_deletion, 0},
    {"instance-deletion runs", "executeDueJobs", s_instance_deletion_runs, 1},
    {"suspension runs", "executeDueJobs", s_suspension_runs, 1},
    {"suspend a definition with its instances", "setProcessDefinitionSuspended", s_suspend_definition, 0},
    {"set-variables runs", "executeDueJobs", s_set_variables_runs, 1},
    {"historic-instance-deletion runs", "executeDueJobs", s_historic_deletion_runs, 1},
    {"process-set-removal-time runs", "executeDueJobs", s_removal_time_runs, 1},
    {"history cleanup runs", "executeDueJobs", s_history_cleanup_runs, 1},
    {"job definition retries", "setJobDefinitionRetries", s_job_definition_retries, 0},
    {"delete a job with its incident", "deleteJob", s_delete_job, 0},
    {"suspend job definitions with their jobs", "setJobDefinitionsSuspended", s_job_definitions_suspended, 0},
    {"set-variables batch", "setVariablesAsync", s_set_variables, 0},
    {"suspend instances by definition key", "setProcessInstancesSuspended", s_suspend_sync_by_key, 0},
    {"process-set-removal-time batch", "setRemovalTimeAsync", s_removal_time, 0},
    {"batch-set-removal-time runs", "executeDueJobs", s_batch_removal_time_runs, 1},
    {"restart by key", "restartProcessInstancesByKey", s_restart_by_key, 0},
    {"modify an instance", "modifyProcessInstance", s_modify, 0},
    {"instance-modification runs", "executeDueJobs", s_modification_runs, 1},
    {"correlate to waiting tokens", "correlateMessage", s_correlate, 0},
    {"correlate to a message start event", "correlateMessage", s_correlate_start, 0},
    {"correlate-message runs", "executeDueJobs", s_correlate_runs, 1},
    {"migrate", "executeMigrationPlan", s_migrate, 0},
    {"generate a migration plan", "generateMigrationPlan", s_generate_plan, 0},
    {"job-retries runs", "executeDueJobs", s_job_retries_runs, 1},
    {"external-task-retries runs", "executeDueJobs", s_external_task_retries_runs, 1},
    {"count external tasks", "getExternalTasksCount", s_count_external_tasks, 0},
    {"job log", "getHistoricJobLogs", s_job_log_after_retries, 0},
    {"jobs", "getJobs", s_jobs_after_retries, 0},
    {"event subscriptions", "getEventSubscriptions", s_event_subscriptions, 0},
    {"validate a plan's variables", "validateMigrationPlan", s_validate_plan_variables, 0},
};

#define N_SCENARIOS ((int)(sizeof scenarios / sizeof scenarios[0]))

/* Opens a fixture with the scenario set up; request receives the request. */
static int scenario_open(const scenario *s, fx *f, char *request, size_t cap) {
  if (!fx_open(f, NULL)) return 0;
  s->setup(f, request, cap);
  return 1;
}

/* The scenario's response (text, caller frees) and store dump after a clean
 * run, for comparison with runs that end in success. */
static int reference_run(const scenario *s, char **response, char **after) {
  fx f;
  char request[2048];
  int ok;
  if (!scenario_open(s, &f, request, sizeof request)) return 0;
  *response = rebatch_call(f.e, s->op, request);
  *after = dump(&f);
  ok = *response && *after && strstr(*response, "\"status\":") &&
       !strstr(*response, "\"status\":4") && !strstr(*response, "\"status\":5");
  if (!ok) fprintf(stderr, "reference run of '%s' failed: %s\n", s->name, *response ? *response : "NULL");
  fx_close(&f);
  return ok;
}

TEST(store_fault_at_every_storage_call_writes_nothing) {
  for (int si = 0; si < N_SCENARIOS; si++) {
    const scenario *s = &scenarios[si];
    char *ref_response = NULL, *ref_dump = NULL;
    int n, done = 0;
    if (!reference_run(s, &ref_response, &ref_dump)) {
      check_state.current_failed++;
      rebatch_free(ref_response);
      rebatch_free(ref_dump);
      continue;
    }
    for (n = 1; !done && n < 5000; n++) {
      fx f;
      char request[2048];
      char *before, *after, *text;
      cJSON *res;
      if (!scenario_open(s, &f, request, sizeof request)) {
        check_state.current_failed++;
        break;
      }
      before = dump(&f);
      rebatch_inject_store_fault(f.e, n);
      text = rebatch_call(f.e, s->op, request);
      after = dump(&f);
      res = text ? cJSON_Parse(text) : NULL;
      if (!res) {
        fprintf(stderr, "%s: fault %d: no response\n", s->name, n);
        check_state.current_failed++;
        done = 1;
      } else if (status_of(res) >= 400) {
        const char *m = rb_str(body_of(res), "message");
        if (status_of(res) != 500 || !m || !strstr(m, "injected storage fault") ||
            strcmp(rb_str(body_of(res), "type") ? rb_str(body_of(res), "type") : "", "ProcessEngineException")) {
          fprintf(stderr, "%s: fault %d: unexpected error %s\n", s->name, n, text);
          check_state.current_failed++;
          done = 1;
        }
        if (!unchanged(before, after, s->own_tx)) {
          fprintf(stderr, "%s: fault %d: the store changed\n  before %s\n  after  %s\n", s->name, n,
                  before ? before : "NULL", after ? after : "NULL");
          check_state.current_failed++;
          done = 1;
        }
      } else {
        /* Success: only when the fault was never reached. */
        done = 1;
        if (f.e->fault_countdown <= 0) {
          fprintf(stderr, "%s: fault %d was swallowed: the call succeeded\n", s->name, n);
          check_state.current_failed++;
        }
        if (!after || strcmp(after, ref_dump) != 0 || strcmp(text, ref_response) != 0) {
          fprintf(stderr, "%s: fault %d: success differs from the clean run\n", s->name, n);
          check_state.current_failed++;
        }
        if (n == 1) {
          fprintf(stderr, "%s: no storage call to fail\n", s->name);
          check_state.current_failed++;
        }
      }
      rebatch_inject_store_fault(f.e, 0);
      cJSON_Delete(res);
      rebatch_free(text);
      rebatch_free(before);
      rebatch_free(after);
      fx_close(&f);
    }
    if (!done) {
      fprintf(stderr, "%s: never succeeded\n", s->name);
      check_state.current_failed++;
    }
    rebatch_free(ref_response);
    rebatch_free(ref_dump);
  }
}

/* ---- allocation failures ------------------------------------------------ */

static long alloc_count, alloc_fail_at;
static int alloc_sticky; /* fail every allocation from the Nth on */

static int alloc_fails(void) {
  alloc_count++;
  return alloc_count == alloc_fail_at || (alloc_sticky && alloc_count >= alloc_fail_at);
}

static void *failing_malloc(size_t n) { return alloc_fails() ? NULL : malloc(n); }

static void *failing_realloc(void *p, size_t n) {
  return alloc_fails() ? NULL : realloc(p, n);
}

static void failing_free(void *p) { free(p); }

/* Whether a response is Camunda's engine exception for a failed allocation. */
static int is_out_of_memory(const char *text) {
  cJSON *res = cJSON_Parse(text);
  const char *type = res ? rb_str(body_of(res), "type") : NULL;
  const char *message = res ? rb_str(body_of(res), "message") : NULL;
  int yes = status_of(res) == 500 && type && strcmp(type, "ProcessEngineException") == 0 && message &&
            strcmp(message, "out of memory") == 0;
  cJSON_Delete(res);
  return yes;
}

/* Runs the call with the Nth allocation failing; the allocator is restored
 * before returning. */
static char *call_failing_at(fx *f, const char *op, const char *request, long n,
                             int sticky, long *count) {
  char *text;
  alloc_count = 0;
  alloc_fail_at = n;
  alloc_sticky = sticky;
  rebatch_set_allocator(failing_malloc, failing_realloc, failing_free);
  text = rebatch_call(f->e, op, request);
  rebatch_set_allocator(NULL, NULL, NULL);
  *count = alloc_count;
  return text;
}

/* Sweeps N = 1.. over one scenario. One fixture serves every run: a failed
 * run must leave the store as it was (that is checked), and the host's
 * clock and ids are rewound. Returns the number of runs. */
static long alloc_sweep(const scenario *s, int sticky, int *silent) {
  char *ref_response = NULL, *ref_dump = NULL, *before = NULL;
  char request[2048];
  host_ctx saved;
  fx f;
  long n, runs = 0;
  int done = 0;
  *silent = 0;
  if (!reference_run(s, &ref_response, &ref_dump) ||
      !scenario_open(s, &f, request, sizeof request)) {
    check_state.current_failed++;
    rebatch_free(ref_response);
    rebatch_free(ref_dump);
    return 0;
  }
  saved = f.h;
  before = dump(&f);
  for (n = 1; !done && before; n++) {
    long count;
    char *text, *after;
    int status = -1;
    f.h = saved;
    text = call_failing_at(&f, s->op, request, n, sticky, &count);
    runs++;
    after = dump(&f);
    if (text) {
      cJSON *res = cJSON_Parse(text);
      status = status_of(res);
      cJSON_Delete(res);
    }
    if (text && (strstr(text, "not JSON") || strstr(text, "not valid JSON"))) {
      /* A parse that failed for lack of memory is not a corrupt record or request. */
      fprintf(stderr, "%s: allocation %ld failed and was reported as bad JSON: %s\n", s->name, n, text);
      check_state.current_failed++;
    } else if (text && status >= 400 && !is_out_of_memory(text)) {
      fprintf(stderr, "%s: allocation %ld failed and was reported as something else: %s\n", s->name, n, text);
      check_state.current_failed++;
    }
    if (after && (strstr(after, "not JSON") || strstr(after, "not valid JSON"))) {
      /* ...nor recorded as one (a job's exception message, its log). */
      fprintf(stderr, "%s: allocation %ld failed and the store records bad JSON: %s\n", s->name, n, after);
      check_state.current_failed++;
    }
    if (count < n) {
      /* The Nth allocation never happened: a clean run. */
      done = 1;
      if (status < 200 || status >= 400 || !after || strcmp(after, ref_dump) != 0 ||
          strcmp(text, ref_response) != 0) {
        fprintf(stderr, "%s: run without failure (N=%ld) differs from the clean run: %s\n", s->name, n,
                text ? text : "NULL");
        check_state.current_failed++;
      }
    } else if (!text || status >= 400) {
      /* An executor step commits each job (and its acquisition) on its
       * own: the job may have run with only the response lost, or its
       * lock may have been taken and released. */
      int ran = after && s->own_tx && strcmp(after, ref_dump) == 0;
      if (!ran && !unchanged(before, after, s->own_tx)) {
        fprintf(stderr, "%s: allocation %ld failed (%s), the call %s, and the store changed\n  before %s\n  after  %s\n",
                s->name, n, sticky ? "and all after" : "alone", text ? text : "returned NULL",
                before, after ? after : "NULL");
        check_state.current_failed++;
        done = 1; /* the fixture is no longer in its initial state */
      } else if (!after || strcmp(after, before) != 0) {
        /* The store moved on; start again from the scenario's state. */
        rebatch_free(before);
        fx_close(&f);
        if (!scenario_open(s, &f, request, sizeof request)) {
          check_state.current_failed++;
          rebatch_free(after);
          rebatch_free(text);
          break;
        }
        saved = f.h;
        before = dump(&f);
      }
    } else {
      /* Succeeded although an allocation failed. */
      if (sticky) {
        fprintf(stderr, "%s: allocation %ld and all after failed, yet the call succeeded: %s\n",
                s->name, n, text);
        check_state.current_failed++;
        done = 1;
      } else if (!*silent && (!after || strcmp(after, ref_dump) != 0)) {
        *silent = (int)n; /* a swallowed failure changed the data */
      }
      /* The store moved on; start again from the scenario's state. */
      rebatch_free(before);
      fx_close(&f);
      if (!scenario_open(s, &f, request, sizeof request)) {
        check_state.current_failed++;
        rebatch_free(after);
        rebatch_free(text);
        break;
      }
      saved = f.h;
      before = dump(&f);
    }
    rebatch_free(after);
    rebatch_free(text);
  }
  rebatch_free(before);
  rebatch_free(ref_response);
  rebatch_free(ref_dump);
  fx_close(&f);
  rebatch_set_allocator(NULL, NULL, NULL);
  return runs;
}

TEST(allocation_failure_anywhere_in_a_call_writes_nothing) {
  for (int si = 0; si < N_SCENARIOS; si++) {
    int silent;
    long runs = alloc_sweep(&scenarios[si], 1, &silent);
    CHECK(runs > 1);
  }
}

TEST(single_allocation_failure_never_crashes_leaks_or_half_writes) {
  for (int si = 0; si < N_SCENARIOS; si++) {
    int silent;
    long runs = alloc_sweep(&scenarios[si], 0, &silent);
    CHECK(runs > 1);
    if (silent && getenv("REBATCH_TEST_VERBOSE"))
      fprintf(stderr, "note: %s succeeded with other data after failing allocation %d alone\n",
              scenarios[si].name, silent);
  }
}
