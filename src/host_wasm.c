/*
 * host_wasm.c - the WASM host bridge (WASM build only; the native build
 * leaves this file out).
 *
 * The JS binding implements the storage callbacks and host services. C
 * reaches them through static imports from module "env" (no function
 * tables, no addFunction), each keyed by an integer handle the JS side
 * chooses and keeps in a Map. The constructors below build a rebatch_store
 * and a rebatch_host whose ctx is that handle and whose function pointers
 * relay to the imports.
 *
 * The import list here and the import object in bindings/loader.js must
 * match exactly (tests/exports.test.js checks the built module's imports).
 *
 * Contract the JS side keeps: an import never throws into WASM. It catches,
 * keeps the message for rebatch_js_errmsg() and returns REBATCH_ERROR (or
 * REBATCH_CONFLICT for a StoreConflictError).
 */
#include <stdint.h>

#include "alloc.h"
#include "rebatch.h"

#define RB_IMPORT(name) \
  __attribute__((import_module("env"), import_name(#name)))

/* ---- imports: storage (mirror rebatch_store) ---------------------------- */

RB_IMPORT(rebatch_js_begin) int rebatch_js_begin(int h);
RB_IMPORT(rebatch_js_commit) int rebatch_js_commit(int h);
RB_IMPORT(rebatch_js_rollback) int rebatch_js_rollback(int h);
RB_IMPORT(rebatch_js_savepoint) int rebatch_js_savepoint(int h);
RB_IMPORT(rebatch_js_release) int rebatch_js_release(int h);
RB_IMPORT(rebatch_js_rollback_to) int rebatch_js_rollback_to(int h);
RB_IMPORT(rebatch_js_get)
int rebatch_js_get(int h, const char *collection, const char *id,
                   rebatch_rows *out);
/* `index` points at index_count rebatch_index_entry structs (two 32-bit
 * pointers each, value may be 0); JS writes the new revision to *new_rev. */
RB_IMPORT(rebatch_js_put)
int rebatch_js_put(int h, const char *collection, const char *id,
                   const char *json, int expected_rev,
                   const rebatch_index_entry *index, int index_count,
                   int *new_rev);
RB_IMPORT(rebatch_js_remove)
int rebatch_js_remove(int h, const char *collection, const char *id,
                      int expected_rev);
RB_IMPORT(rebatch_js_find)
int rebatch_js_find(int h, const char *collection, const char *field,
                    const char *value, const char *after_id, int limit,
                    rebatch_rows *out);
RB_IMPORT(rebatch_js_scan)
int rebatch_js_scan(int h, const char *collection, const char *after_id,
                    int limit, rebatch_rows *out);
RB_IMPORT(rebatch_js_find_ordered)
int rebatch_js_find_ordered(int h, const char *collection, const char *field,
                            const char *after_value, const char *after_id,
                            int limit, rebatch_rows *out);
/* A string in WASM memory owned by the JS adapter (allocated with
 * rebatch_alloc, freed by it at its next callback or when the handle is
 * released), or 0. */
RB_IMPORT(rebatch_js_errmsg) const char *rebatch_js_errmsg(int h);

/* ---- imports: host services (mirror rebatch_host) ----------------------- */

RB_IMPORT(rebatch_js_now) double rebatch_js_now(int h);
/* JS writes a NUL-terminated id of at most REBATCH_ID_MAX bytes into buf. */
RB_IMPORT(rebatch_js_next_id) int rebatch_js_next_id(int h, char *buf);
RB_IMPORT(rebatch_js_execute_job)
int rebatch_js_execute_job(int h, const char *job_json, char *error_buf,
                           int error_cap);

/* ---- relays -------------------------------------------------------------- */

static int handle_of(void *ctx) { return (int)(intptr_t)ctx; }

static int relay_begin(void *ctx) { return rebatch_js_begin(handle_of(ctx)); }

static int relay_commit(void *ctx) {
  return rebatch_js_commit(handle_of(ctx));
}

static int relay_rollback(void *ctx) {
  return rebatch_js_rollback(handle_of(ctx));
}

static int relay_savepoint(void *ctx) { return rebatch_js_savepoint(handle_of(ctx)); }
static int relay_release(void *ctx) { return rebatch_js_release(handle_of(ctx)); }
static int relay_rollback_to(void *ctx) { return rebatch_js_rollback_to(handle_of(ctx)); }

static int relay_get(void *ctx, const char *collection, const char *id,
                     rebatch_rows *out) {
  return rebatch_js_get(handle_of(ctx), collection, id, out);
}

static int relay_put(void *ctx, const char *collection, const char *id,
                     const char *json, int expected_rev,
                     const rebatch_index_entry *index, int index_count,
                     int *new_rev) {
  return rebatch_js_put(handle_of(ctx), collection, id, json, expected_rev,
                        index, index_count, new_rev);
}

static int relay_remove(void *ctx, const char *collection, const char *id,
                        int expected_rev) {
  return rebatch_js_remove(handle_of(ctx), collection, id, expected_rev);
}

static int relay_find(void *ctx, const char *collection, const char *field,
                      const char *value, const char *after_id, int limit,
                      rebatch_rows *out) {
  return rebatch_js_find(handle_of(ctx), collection, field, value, after_id,
                         limit, out);
}

static int relay_scan(void *ctx, const char *collection, const char *after_id,
                      int limit, rebatch_rows *out) {
  return rebatch_js_scan(handle_of(ctx), collection, after_id, limit, out);
}

static int relay_find_ordered(void *ctx, const char *collection,
                              const char *field, const char *after_value,
                              const char *after_id, int limit,
                              rebatch_rows *out) {
  return rebatch_js_find_ordered(handle_of(ctx), collection, field,
                                 after_value, after_id, limit, out);
}

static const char *relay_errmsg(void *ctx) {
  return rebatch_js_errmsg(handle_of(ctx));
}

static double relay_now(void *ctx) { return rebatch_js_now(handle_of(ctx)); }

static int relay_next_id(void *ctx, char *buf) {
  return rebatch_js_next_id(handle_of(ctx), buf);
}

static int relay_execute_job(void *ctx, const char *job_json, char *error_buf,
                             int error_cap) {
  return rebatch_js_execute_job(handle_of(ctx), job_json, error_buf,
                                error_cap);
}

/* ---- exported constructors ---------------------------------------------- */

rebatch_store *rebatch_js_store_new(int handle, int has_savepoints,
                                    int has_find_ordered) {
  rebatch_store *store = rb_calloc(1, sizeof *store);
  if (!store) return NULL;
  store->version = has_find_ordered ? 3 : has_savepoints ? 2 : 1;
  if (has_find_ordered) store->find_ordered = relay_find_ordered;
  if (has_savepoints) {
    store->savepoint = relay_savepoint;
    store->release = relay_release;
    store->rollback_to = relay_rollback_to;
  }
  store->ctx = (void *)(intptr_t)handle;
  store->begin = relay_begin;
  store->commit = relay_commit;
  store->rollback = relay_rollback;
  store->get = relay_get;
  store->put = relay_put;
  store->remove = relay_remove;
  store->find = relay_find;
  store->scan = relay_scan;
  store->errmsg = relay_errmsg;
  return store;
}

void rebatch_js_store_free(rebatch_store *store) { rb_free(store); }

rebatch_host *rebatch_js_host_new(int handle, int has_job_handler) {
  rebatch_host *host = rb_calloc(1, sizeof *host);
  if (!host) return NULL;
  host->version = REBATCH_HOST_VERSION;
  host->ctx = (void *)(intptr_t)handle;
  host->now_ms = relay_now;
  host->next_id = relay_next_id;
  host->execute_job = has_job_handler ? relay_execute_job : NULL;
  return host;
}

void rebatch_js_host_free(rebatch_host *host) { rb_free(host); }
