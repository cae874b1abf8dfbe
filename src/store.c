/*
 * store.c - the one path from the core to the host's storage vtable.
 *
 * Everything the core reads or writes passes here, so this is where the
 * store's version is checked, arguments are asserted, failures are turned
 * into the engine's error message, and tests inject faults.
 */
#include "core.h"

#include <string.h>

/* Rows as a store delivers them: copies of id and JSON text. */
typedef struct rb_row {
  char *id;
  char *json;
  int rev;
} rb_row;

struct rebatch_rows {
  rb_row *items;
  int count;
  int cap;
};

/* Pages of this size keep find_all/scan_all from asking a store for an
 * unbounded result in one callback. */
#define RB_PAGE 1000

int rebatch_rows_add(rebatch_rows *rows, const char *id, const char *json,
                     int rev) {
  rb_row *row;
  if (!rows || !id || !json) return REBATCH_MISUSE;
  if (rows->count == rows->cap) {
    int cap = rows->cap ? rows->cap * 2 : 16;
    rb_row *items = rb_realloc(rows->items, (size_t)cap * sizeof *items);
    if (!items) return REBATCH_NOMEM;
    rows->items = items;
    rows->cap = cap;
  }
  row = &rows->items[rows->count];
  row->id = rb_strdup(id);
  row->json = rb_strdup(json);
  if (!row->id || !row->json) {
    rb_free(row->id);
    rb_free(row->json);
    return REBATCH_NOMEM;
  }
  row->rev = rev;
  rows->count++;
  return REBATCH_OK;
}

static void rows_clear(rebatch_rows *rows) {
  for (int i = 0; i < rows->count; i++) {
    rb_free(rows->items[i].id);
    rb_free(rows->items[i].json);
  }
  rb_free(rows->items);
  memset(rows, 0, sizeof *rows);
}

/* Records the failure text for the error body the caller will build. */
static int note_failure(rebatch_engine *e, int rc) {
  const char *msg = NULL;
  if (rc == REBATCH_OK) return rc;
  if ((rc == REBATCH_ERROR || rc == REBATCH_CONFLICT) && e->store.errmsg) msg = e->store.errmsg(e->store.ctx);
  if (!msg || !*msg) msg = rebatch_errstr(rc);
  strncpy(e->store_error, msg, sizeof e->store_error - 1);
  e->store_error[sizeof e->store_error - 1] = '\0';
  return rc;
}

/* Counts data calls for rebatch_inject_store_fault; returns nonzero when
 * this call is the one that must fail. */
static int fault_due(rebatch_engine *e) {
  if (e->fault_countdown <= 0) return 0;
  if (--e->fault_countdown > 0) return 0;
  strcpy(e->store_error, "injected storage fault");
  return 1;
}

int rb_tx_begin(rebatch_engine *e) {
  int rc;
  if (e->in_tx) return REBATCH_MISUSE;
  e->store_error[0] = '\0';
  rc = e->in_group ? e->store.savepoint(e->store.ctx) : e->store.begin(e->store.ctx);
  if (rc == REBATCH_OK) e->in_tx = 1;
  return note_failure(e, rc);
}

/* In a group, a failed release leaves the group's transaction in doubt:
 * the group ends here, rolled back whole (its jobs run again later). */
int rb_tx_commit(rebatch_engine *e) {
  int rc;
  if (!e->in_tx) return REBATCH_MISUSE;
  rc = e->in_group ? e->store.release(e->store.ctx) : e->store.commit(e->store.ctx);
  e->in_tx = 0;
  if (rc != REBATCH_OK) {
    note_failure(e, rc);
    if (e->in_group) rb_group_rollback(e);
    else e->store.rollback(e->store.ctx);
  }
  return rc;
}

void rb_tx_rollback(rebatch_engine *e) {
  if (!e->in_tx) return;
  e->in_tx = 0;
  if (!e->in_group) {
    e->store.rollback(e->store.ctx);
  } else if (e->store.rollback_to(e->store.ctx) != REBATCH_OK) {
    rb_group_rollback(e);
  }
}

int rb_group_possible(const rebatch_engine *e) {
  return e->store.version >= 2 && e->store.savepoint && e->store.release && e->store.rollback_to;
}

int rb_group_begin(rebatch_engine *e) {
  int rc;
  if (e->in_tx || e->in_group || !rb_group_possible(e)) return REBATCH_MISUSE;
  e->store_error[0] = '\0';
  rc = e->store.begin(e->store.ctx);
  if (rc == REBATCH_OK) e->in_group = 1;
  return note_failure(e, rc);
}

/* A group already rolled back (a failed release) commits nothing: its
 * failure was reported by the job that met it. */
int rb_group_commit(rebatch_engine *e) {
  int rc;
  if (!e->in_group) return REBATCH_OK;
  e->in_group = 0;
  rc = e->store.commit(e->store.ctx);
  if (rc != REBATCH_OK) {
    note_failure(e, rc);
    e->store.rollback(e->store.ctx);
  }
  return rc;
}

void rb_group_rollback(rebatch_engine *e) {
  if (!e->in_group) return;
  e->in_group = 0;
  e->store.rollback(e->store.ctx);
}

int rb_doc_init(rb_doc *doc, const char *id, cJSON *json) {
  memset(doc, 0, sizeof *doc);
  doc->id = rb_strdup(id);
  if (!doc->id) {
    cJSON_Delete(json);
    return REBATCH_NOMEM;
  }
  doc->json = json;
  return REBATCH_OK;
}

void rb_doc_clear(rb_doc *doc) {
  rb_free(doc->id);
  cJSON_Delete(doc->json);
  memset(doc, 0, sizeof *doc);
}

void rb_docs_clear(rb_docs *docs) {
  for (int i = 0; i < docs->count; i++) rb_doc_clear(&docs->items[i]);
  rb_free(docs->items);
  memset(docs, 0, sizeof *docs);
}

int rb_docs_push(rb_docs *docs, rb_doc *doc) {
  if (docs->count == docs->cap) {
    int cap = docs->cap ? docs->cap * 2 : 16;
    rb_doc *items = rb_realloc(docs->items, (size_t)cap * sizeof *items);
    if (!items) return REBATCH_NOMEM;
    docs->items = items;
    docs->cap = cap;
  }
  docs->items[docs->count++] = *doc;
  memset(doc, 0, sizeof *doc);
  return REBATCH_OK;
}

/* Parses delivered rows into documents; a row that is not JSON is a store
 * defect reported as a storage error. */
static int rows_to_docs(rebatch_engine *e, rebatch_rows *rows, rb_docs *out) {
  for (int i = 0; i < rows->count; i++) {
    rb_doc doc;
    cJSON *json;
    int rc = rb_parse_record(e, rows->items[i].json, &json);
    if (rc != REBATCH_OK) return rc;
    doc.id = rows->items[i].id;
    rows->items[i].id = NULL;
    doc.json = json;
    doc.rev = rows->items[i].rev;
    if (rb_docs_push(out, &doc) != REBATCH_OK) {
      rb_doc_clear(&doc);
      return REBATCH_NOMEM;
    }
  }
  return REBATCH_OK;
}

int rb_load(rebatch_engine *e, const char *coll, const char *id, rb_doc *doc) {
  rebatch_rows rows = {0};
  rb_docs docs = {0};
  int rc;
  memset(doc, 0, sizeof *doc);
  if (!id) return REBATCH_OK;
  if (fault_due(e)) return REBATCH_ERROR;
  rc = note_failure(e, e->store.get(e->store.ctx, coll, id, &rows));
  if (rc == REBATCH_OK && rows.count > 1) rc = REBATCH_ERROR;
  if (rc == REBATCH_OK) rc = rows_to_docs(e, &rows, &docs);
  rows_clear(&rows);
  if (rc == REBATCH_OK && docs.count == 1) {
    *doc = docs.items[0];
    docs.count = 0;
  }
  rb_docs_clear(&docs);
  return rc;
}

int rb_load_text(rebatch_engine *e, const char *coll, const char *id,
                 char **text, int *rev) {
  rebatch_rows rows = {0};
  int rc;
  *text = NULL;
  *rev = 0;
  if (!id) return REBATCH_OK;
  if (fault_due(e)) return REBATCH_ERROR;
  rc = note_failure(e, e->store.get(e->store.ctx, coll, id, &rows));
  if (rc == REBATCH_OK && rows.count > 1) rc = REBATCH_ERROR;
  if (rc == REBATCH_OK && rows.count == 1) {
    *text = rows.items[0].json;
    *rev = rows.items[0].rev;
    rows.items[0].json = NULL;
  }
  rows_clear(&rows);
  return rc;
}

void rb_text_cache_clear(rb_text_cache *cache) {
  rb_free(cache->id);
  rb_free(cache->text);
  cJSON_Delete(cache->json);
  memset(cache, 0, sizeof *cache);
}

int rb_save_text(rebatch_engine *e, const char *coll, const char *id, const char *text,
                 int *rev, const rebatch_index_entry *index, int index_count) {
  int rc, new_rev = 0;
  if (!id || !text) return REBATCH_MISUSE;
  if (fault_due(e)) return REBATCH_ERROR;
  rc = e->store.put(e->store.ctx, coll, id, text, *rev, index, index_count, &new_rev);
  if (rc == REBATCH_OK) *rev = new_rev;
  return note_failure(e, rc);
}

int rb_save(rebatch_engine *e, const char *coll, rb_doc *doc,
            const rebatch_index_entry *index, int index_count) {
  char *text;
  if (!doc->id || !doc->json) return REBATCH_MISUSE;
  /* The store copies the text, so one buffer serves every save. */
  text = rb_print_record_into(doc->json, &e->save_text, &e->save_text_cap);
  if (!text) return fault_due(e) ? REBATCH_ERROR : REBATCH_NOMEM;
  return rb_save_text(e, coll, doc->id, text, &doc->rev, index, index_count);
}

int rb_delete(rebatch_engine *e, const char *coll, rb_doc *doc) {
  if (!doc->id || doc->rev <= 0) return REBATCH_MISUSE;
  if (fault_due(e)) return REBATCH_ERROR;
  return note_failure(e, e->store.remove(e->store.ctx, coll, doc->id, doc->rev));
}

/* One page of rows from find (field set) or scan (field NULL). A store
 * that returns more rows than asked breaks the contract: a storage error. */
static int fetch_page(rebatch_engine *e, const char *coll, const char *field,
                      const char *value, const char *after_id, int limit,
                      rebatch_rows *rows) {
  int rc;
  if (fault_due(e)) return REBATCH_ERROR;
  rc = field ? e->store.find(e->store.ctx, coll, field, value, after_id, limit, rows)
             : e->store.scan(e->store.ctx, coll, after_id, limit, rows);
  rc = note_failure(e, rc);
  if (rc == REBATCH_OK && rows->count > limit) rc = REBATCH_ERROR;
  return rc;
}

int rb_find_page(rebatch_engine *e, const char *coll, const char *field,
                 const char *value, const char *after_id, int limit,
                 rb_docs *out) {
  rebatch_rows rows = {0};
  int rc = fetch_page(e, coll, field, value, after_id, limit, &rows);
  if (rc == REBATCH_OK) rc = rows_to_docs(e, &rows, out);
  rows_clear(&rows);
  return rc;
}

int rb_find_page_take(rebatch_engine *e, const char *coll, const char *field,
                      const char *value, const char *after_id, int limit,
                      rb_row_take visit, void *ctx, int *count) {
  rebatch_rows rows = {0};
  int rc = fetch_page(e, coll, field, value, after_id, limit, &rows);
  *count = 0;
  for (int i = 0; rc == REBATCH_OK && i < rows.count; i++)
    rc = visit(e, &rows.items[i].id, &rows.items[i].json, rows.items[i].rev, ctx);
  if (rc == REBATCH_OK) *count = rows.count;
  rows_clear(&rows);
  return rc;
}

int rb_ordered_possible(const rebatch_engine *e) {
  return e->store.version >= 3 && e->store.find_ordered;
}

int rb_find_ordered_page_take(rebatch_engine *e, const char *coll, const char *field,
                              const char *after_value, const char *after_id, int limit,
                              rb_row_take visit, void *ctx, int *count) {
  rebatch_rows rows = {0};
  int rc;
  *count = 0;
  if (!rb_ordered_possible(e) || !field || !after_value != !after_id) return REBATCH_MISUSE;
  if (fault_due(e)) return REBATCH_ERROR;
  rc = note_failure(e, e->store.find_ordered(e->store.ctx, coll, field, after_value, after_id, limit, &rows));
  if (rc == REBATCH_OK && rows.count > limit) rc = REBATCH_ERROR;
  for (int i = 0; rc == REBATCH_OK && i < rows.count; i++)
    rc = visit(e, &rows.items[i].id, &rows.items[i].json, rows.items[i].rev, ctx);
  if (rc == REBATCH_OK) *count = rows.count;
  rows_clear(&rows);
  return rc;
}

/* Every row of a find (field set) or scan (field NULL), a page at a time. */
static int each_row(rebatch_engine *e, const char *coll, const char *field,
                    const char *value, rb_row_visit visit, void *ctx) {
  rebatch_rows rows = {0};
  char *after = NULL;
  int rc, more;
  do {
    rc = fetch_page(e, coll, field, value, after, RB_PAGE, &rows);
    for (int i = 0; rc == REBATCH_OK && i < rows.count; i++)
      rc = visit(e, rows.items[i].id, rows.items[i].json, rows.items[i].rev, ctx);
    more = rc == REBATCH_OK && rows.count == RB_PAGE;
    rb_free(after);
    after = NULL;
    if (more) { /* the page's last id is where the next one starts */
      after = rows.items[rows.count - 1].id;
      rows.items[rows.count - 1].id = NULL;
    }
    rows_clear(&rows);
  } while (more);
  return rc;
}

int rb_find_all_rows(rebatch_engine *e, const char *coll, const char *field,
                     const char *value, rb_row_visit visit, void *ctx) {
  if (!field || !value) return REBATCH_MISUSE;
  return each_row(e, coll, field, value, visit, ctx);
}

int rb_scan_all_rows(rebatch_engine *e, const char *coll, rb_row_visit visit, void *ctx) {
  return each_row(e, coll, NULL, NULL, visit, ctx);
}

static int collect_all(rebatch_engine *e, const char *coll, const char *field,
                       const char *value, rb_docs *out) {
  for (;;) {
    int before = out->count, rc;
    /* The page's own pushes may move out->items: pass a stable copy. */
    char *after = NULL;
    if (before && !(after = rb_strdup(out->items[before - 1].id)))
      return REBATCH_NOMEM;
    rc = rb_find_page(e, coll, field, value, after, RB_PAGE, out);
    rb_free(after);
    if (rc != REBATCH_OK) return rc;
    if (out->count - before < RB_PAGE) return REBATCH_OK;
  }
}

int rb_find_all(rebatch_engine *e, const char *coll, const char *field,
                const char *value, rb_docs *out) {
  if (!field || !value) return REBATCH_MISUSE;
  return collect_all(e, coll, field, value, out);
}

int rb_scan_all(rebatch_engine *e, const char *coll, rb_docs *out) {
  return collect_all(e, coll, NULL, NULL, out);
}
