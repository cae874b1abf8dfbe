/*
 * bench_batch.c - the two scenarios of batch.bench.js, natively, for
 * profiling the engine without the WASM runtime in the way (callgrind's
 * instruction counts are repeatable on a shared machine; wall time is not).
 *
 *   CJ=$(bash scripts/fetch-cjson.sh | tail -n1)
 *   cc -std=c11 -O2 -g -Isrc -I$CJ tests/bench/bench_batch.c \
 *      $(ls src/*.c src/batch/*.c | grep -v host_wasm) $CJ/cJSON.c -o build/bench_batch -lm
 *   build/bench_batch jobs|tasks [items]
 *   valgrind --tool=callgrind --toggle-collect=run_batch build/bench_batch jobs 10000
 *   BENCH_COUNT=1 build/bench_batch jobs 10000   (also: store calls per item)
 *
 * Fixtures (N instances with a failed job, or N external tasks) are built
 * first; run_batch is the measured part: the creating call, then
 * executeDueJobs steps of 101 jobs until no batch is left, as the JS bench.
 * Not part of `make test`: it prints numbers rather than checking them
 * (beyond the batch doing its work).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cJSON.h"
#include "rebatch.h"

typedef struct host_ctx {
  double now;
  long next_id;
  char prefix;
} host_ctx;

static double h_now(void *ctx) { return ((host_ctx *)ctx)->now; }

static int h_next_id(void *ctx, char *buf) {
  host_ctx *h = ctx;
  snprintf(buf, REBATCH_ID_MAX + 1, "%c%08ld", h->prefix, ++h->next_id);
  return REBATCH_OK;
}

static int h_fail(void *ctx, const char *job, char *err, int cap) {
  (void)ctx;
  (void)job;
  snprintf(err, (size_t)cap, "boom");
  return REBATCH_ERROR;
}

static rebatch_engine *open_engine(rebatch_store *st, host_ctx *h, int failing,
                                   const char *config) {
  rebatch_host host;
  rebatch_engine *e = NULL;
  memset(&host, 0, sizeof host);
  host.version = REBATCH_HOST_VERSION;
  host.ctx = h;
  host.now_ms = h_now;
  host.next_id = h_next_id;
  host.execute_job = failing ? h_fail : NULL;
  if (rebatch_open(st, &host, config, &e, NULL) != REBATCH_OK) exit(2);
  return e;
}

/* BENCH_COUNT=1: counts the store calls of the measured part, by call and
 * collection, to tell engine work from the store work it asks for. */
typedef struct counted {
  rebatch_store outer;
  rebatch_store *inner;
  int on;
  char names[64][48];
  long counts[64];
  int used;
} counted;

static void tally(counted *c, const char *op, const char *coll) {
  char key[48];
  int i;
  if (!c->on) return;
  snprintf(key, sizeof key, "%s %s", op, coll);
  for (i = 0; i < c->used && strcmp(c->names[i], key) != 0; i++) {}
  if (i == c->used && c->used < 64) strcpy(c->names[c->used++], key);
  if (i < 64) c->counts[i]++;
}

static int c_begin(void *ctx) {
  counted *c = ctx;
  tally(c, "begin", "-");
  return c->inner->begin(c->inner->ctx);
}
static int c_commit(void *ctx) { counted *c = ctx; return c->inner->commit(c->inner->ctx); }
static int c_rollback(void *ctx) { counted *c = ctx; return c->inner->rollback(c->inner->ctx); }
static int c_get(void *ctx, const char *coll, const char *id, rebatch_rows *out) {
  counted *c = ctx;
  tally(c, "get", coll);
  return c->inner->get(c->inner->ctx, coll, id, out);
}
static int c_put(void *ctx, const char *coll, const char *id, const char *json, int rev,
                 const rebatch_index_entry *index, int n, int *new_rev) {
  counted *c = ctx;
  tally(c, "put", coll);
  return c->inner->put(c->inner->ctx, coll, id, json, rev, index, n, new_rev);
}
static int c_remove(void *ctx, const char *coll, const char *id, int rev) {
  counted *c = ctx;
  tally(c, "remove", coll);
  return c->inner->remove(c->inner->ctx, coll, id, rev);
}
static int c_find(void *ctx, const char *coll, const char *field, const char *value,
                  const char *after, int limit, rebatch_rows *out) {
  counted *c = ctx;
  char key[40];
  snprintf(key, sizeof key, "%s.%s", coll, field);
  tally(c, "find", key);
  return c->inner->find(c->inner->ctx, coll, field, value, after, limit, out);
}
static int c_scan(void *ctx, const char *coll, const char *after, int limit, rebatch_rows *out) {
  counted *c = ctx;
  tally(c, "scan", coll);
  return c->inner->scan(c->inner->ctx, coll, after, limit, out);
}
static const char *c_errmsg(void *ctx) { counted *c = ctx; return c->inner->errmsg(c->inner->ctx); }

static rebatch_store *counting(counted *c, rebatch_store *inner) {
  memset(c, 0, sizeof *c);
  c->inner = inner;
  c->outer = (rebatch_store){REBATCH_STORE_VERSION, c, c_begin, c_commit, c_rollback, c_get,
                             c_put, c_remove, c_find, c_scan, c_errmsg};
  return &c->outer;
}

static void print_counts(const counted *c, int n) {
  for (int i = 0; i < c->used; i++)
    printf("  %-40s %8ld  %.2f per item\n", c->names[i], c->counts[i], (double)c->counts[i] / n);
}

/* Calls an operation; returns the parsed response (caller deletes). */
static cJSON *call(rebatch_engine *e, const char *op, const char *req) {
  char *text = rebatch_call(e, op, req);
  cJSON *res = text ? cJSON_Parse(text) : NULL;
  int status = cJSON_GetObjectItem(res, "status") ? cJSON_GetObjectItem(res, "status")->valueint : 0;
  if (status >= 400 || !res) {
    fprintf(stderr, "%s failed: %s\n", op, text ? text : "(null)");
    exit(2);
  }
  rebatch_free(text);
  return res;
}

static double body_num(const cJSON *res, const char *key) {
  return cJSON_GetObjectItem(cJSON_GetObjectItem(res, "body"), key)->valuedouble;
}

static void call_drop(rebatch_engine *e, const char *op, const char *req) {
  cJSON_Delete(call(e, op, req));
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define ASYNC                                                                          \
  "{\"body\":{\"name\":\"bench\",\"processes\":[{\"key\":\"async\",\"activities\":["   \
  "{\"id\":\"start\",\"type\":\"startEvent\"},"                                        \
  "{\"id\":\"svc\",\"type\":\"serviceTask\",\"asyncBefore\":true},"                    \
  "{\"id\":\"end\",\"type\":\"endEvent\"}],\"flows\":["                                \
  "{\"id\":\"f1\",\"source\":\"start\",\"target\":\"svc\"},"                           \
  "{\"id\":\"f2\",\"source\":\"svc\",\"target\":\"end\"}]}]}}"
#define EXT                                                                            \
  "{\"body\":{\"name\":\"bench\",\"processes\":[{\"key\":\"ext\",\"activities\":["     \
  "{\"id\":\"start\",\"type\":\"startEvent\"},"                                        \
  "{\"id\":\"work\",\"type\":\"serviceTask\",\"topic\":\"work\"},"                     \
  "{\"id\":\"end\",\"type\":\"endEvent\"}],\"flows\":["                                \
  "{\"id\":\"f1\",\"source\":\"start\",\"target\":\"work\"},"                          \
  "{\"id\":\"f2\",\"source\":\"work\",\"target\":\"end\"}]}]}}"

/* The measured part: create the batch, then run executor steps until no
 * batch is left. Returns the number of jobs executed. */
__attribute__((noinline)) static long run_batch(rebatch_engine *e, host_ctx *h,
                                                const char *op, const char *req) {
  long executed = 0;
  call_drop(e, op, req);
  for (;;) {
    cJSON *count = call(e, "getBatchesCount", "{}");
    int left = (int)body_num(count, "count");
    cJSON_Delete(count);
    if (!left) break;
    cJSON *r = call(e, "executeDueJobs", "{\"body\":{\"maxJobs\":101}}");
    int n = (int)body_num(r, "executed");
    if (body_num(r, "failed") > 0) {
      fprintf(stderr, "batch job failed\n");
      exit(3);
    }
    cJSON_Delete(r);
    executed += n;
    if (!n) h->now += 30000;
  }
  return executed;
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "jobs";
  int n = argc > 2 ? atoi(argv[2]) : 10000, jobs = strcmp(which, "jobs") == 0;
  char key_req[64];
  rebatch_store *mem = rebatch_memory_store_new();
  static counted counter;
  rebatch_store *st = counting(&counter, mem);
  host_ctx fh = {1704067200000.0, 0, 'f'}, bh;
  rebatch_engine *fx = open_engine(st, &fh, jobs, jobs ? "{\"defaultNumberOfRetries\":1}" : NULL);
  double t;
  long executed;
  call_drop(fx, "createDeployment", jobs ? ASYNC : EXT);
  snprintf(key_req, sizeof key_req, "{\"key\":\"%s\",\"body\":{}}", jobs ? "async" : "ext");
  for (int i = 0; i < n; i++) call_drop(fx, "startProcessInstanceByKey", key_req);
  for (;;) {
    cJSON *r = call(fx, "executeDueJobs", "{\"body\":{\"maxJobs\":10000}}");
    int k = (int)body_num(r, "executed");
    cJSON_Delete(r);
    if (!k) break;
  }
  bh = fh;
  bh.prefix = 'b';
  bh.next_id = 0;
  rebatch_close(fx);
  rebatch_engine *e = open_engine(st, &bh, 0, NULL);
  counter.on = getenv("BENCH_COUNT") != NULL;
  t = now_s();
  executed = jobs ? run_batch(e, &bh, "setJobRetriesAsyncByProcess",
                              "{\"body\":{\"retries\":3,\"dueDate\":\"2100-01-01T00:00:00.000+0000\","
                              "\"processInstanceQuery\":{\"processDefinitionKey\":\"async\"}}}")
                  : run_batch(e, &bh, "setExternalTaskRetriesAsync",
                              "{\"body\":{\"retries\":5,\"externalTaskQuery\":{\"topicName\":\"work\"}}}");
  t = now_s() - t;
  printf("native %s items=%d seconds=%.3f jobs=%ld\n", which, n, t, executed);
  counter.on = 0;
  print_counts(&counter, n);
  rebatch_close(e);
  rebatch_memory_store_free(mem);
  return 0;
}
