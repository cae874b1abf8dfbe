/*
 * bench_store.c - cost per operation of the in-memory store at 100,000
 * records, through the rebatch_store vtable as the engine uses it.
 *
 *   CJ=<cJSON source dir>
 *   cc -std=c11 -O2 -Isrc -I$CJ tests/bench/bench_store.c \
 *      $(ls src/[!h]*.c src/host_[!w]*.c src/batch/*.c 2>/dev/null) $CJ/cJSON.c -o bench
 *   ./bench [records]
 * (that is every src file but host_wasm.c, as for the native tests).
 *
 * Not part of `make test`: it prints numbers rather than checking them.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rebatch.h"

/* rebatch_rows is internal to src/store.c; the layout is mirrored to free
 * delivered rows (same as tests/c/test_store.c). */
typedef struct mirror_row {
  char *id;
  char *json;
  int rev;
} mirror_row;

struct rebatch_rows {
  mirror_row *items;
  int count;
  int cap;
};

static void rows_free(rebatch_rows *rows) {
  for (int i = 0; i < rows->count; i++) {
    rebatch_free(rows->items[i].id);
    rebatch_free(rows->items[i].json);
  }
  rebatch_free(rows->items);
  memset(rows, 0, sizeof *rows);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what, double seconds, long ops) {
  printf("%-34s %9.3f us/op  (%ld ops, %.3f s)\n", what, seconds * 1e6 / ops,
         ops, seconds);
}

/* A job-sized record: ~350 bytes like the engine's job rows. */
static void job_json(char *buf, size_t cap, int i, int retries) {
  snprintf(buf, cap,
           "{\"id\":\"job-%08d\",\"jobDefinitionId\":\"def-0001\","
           "\"processInstanceId\":\"pi-%08d\",\"executionId\":\"ex-%08d\","
           "\"processDefinitionKey\":\"batchProcess\",\"retries\":%d,"
           "\"exceptionMessage\":null,\"dueDate\":null,\"suspended\":false,"
           "\"priority\":0,\"tenantId\":null,\"createTime\":1700000000000,"
           "\"batchId\":\"batch-1\",\"lockOwner\":null,"
           "\"lockExpiration\":null}",
           i, i, i, retries);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100000;
  rebatch_store *st = rebatch_memory_store_new();
  char id[32], json[512], pi[32];
  int *revs = calloc((size_t)n, sizeof *revs);
  rebatch_rows rows = {0};
  double t;
  long found = 0;
  int i, rc = 0;
  if (!st || !revs) return 1;

  /* Insert in increasing id order, as batch seeding does. */
  t = now_s();
  for (i = 0; i < n; i++) {
    rebatch_index_entry ix[3] = {{"batchId", "batch-1"},
                                 {"processInstanceId", pi},
                                 {"lockOwner", NULL}};
    snprintf(id, sizeof id, "job-%08d", i);
    snprintf(pi, sizeof pi, "pi-%08d", i);
    job_json(json, sizeof json, i, 3);
    rc |= st->put(st->ctx, "job", id, json, 0, ix, 3, &revs[i]);
  }
  report("put (insert, 3 index entries)", now_s() - t, n);

  t = now_s();
  for (i = 0; i < n; i++) {
    snprintf(id, sizeof id, "job-%08d", (int)((i * 7919L) % n));
    rc |= st->get(st->ctx, "job", id, &rows);
    rows_free(&rows);
  }
  report("get (random order, row copied)", now_s() - t, n);

  /* Update with a changed index value, inside a transaction each. */
  t = now_s();
  for (i = 0; i < n; i++) {
    rebatch_index_entry ix[3] = {{"batchId", "batch-1"},
                                 {"processInstanceId", pi},
                                 {"lockOwner", "worker-1"}};
    snprintf(id, sizeof id, "job-%08d", i);
    snprintf(pi, sizeof pi, "pi-%08d", i);
    job_json(json, sizeof json, i, 2);
    rc |= st->begin(st->ctx);
    rc |= st->put(st->ctx, "job", id, json, revs[i], ix, 3, &revs[i]);
    rc |= st->commit(st->ctx);
  }
  report("begin+put (update)+commit", now_s() - t, n);

  /* find: a page of 100 on a value every record holds, walking forward. */
  t = now_s();
  {
    char after[32] = "";
    long pages = 0;
    for (;;) {
      rc |= st->find(st->ctx, "job", "batchId", "batch-1",
                     pages ? after : NULL, 100, &rows);
      found += rows.count;
      pages++;
      if (rows.count < 100) break;
      snprintf(after, sizeof after, "%s", rows.items[rows.count - 1].id);
      rows_free(&rows);
    }
    rows_free(&rows);
    report("find page of 100, per row", now_s() - t, found);
  }

  /* find of a unique value (one row): lookup cost. */
  t = now_s();
  for (i = 0; i < n; i++) {
    snprintf(pi, sizeof pi, "pi-%08d", (int)((i * 7919L) % n));
    rc |= st->find(st->ctx, "job", "processInstanceId", pi, NULL, 10, &rows);
    rows_free(&rows);
  }
  report("find unique value (1 row)", now_s() - t, n);

  /* A page deep inside the collection: seeking must not be O(n). */
  t = now_s();
  for (i = 0; i < 10000; i++) {
    snprintf(id, sizeof id, "job-%08d", (int)((i * 7919L) % n));
    rc |= st->scan(st->ctx, "job", id, 10, &rows);
    rows_free(&rows);
  }
  report("scan page of 10 after random id", now_s() - t, 10000);

  /* Remove from the front, as completed jobs go. */
  t = now_s();
  for (i = 0; i < n; i++) {
    snprintf(id, sizeof id, "job-%08d", i);
    rc |= st->begin(st->ctx);
    rc |= st->remove(st->ctx, "job", id, revs[i]);
    rc |= st->commit(st->ctx);
  }
  report("begin+remove+commit (front)", now_s() - t, n);

  rebatch_memory_store_free(st);
  free(revs);
  if (rc || found != n) {
    printf("unexpected result (rc %d, found %ld)\n", rc, found);
    return 1;
  }
  return 0;
}
