/*
 * test_store.c - the storage contract (rebatch_store in rebatch.h), checked
 * through the vtable only, so the same tests can run against any store:
 * replace open_store()/close_store() (and dump_store(), which only the
 * memory store has) to point them somewhere else.
 *
 * Covered: get/put/remove, revisions and conflicts, index maintenance on
 * update and delete, byte-wise id order and after_id/limit paging over
 * 10,000 records, rollback and commit, canonical dumps, and out-of-memory
 * behaviour under an allocator that fails the Nth allocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rebatch.h"

/* ------------------------------------------------------------------------ */
/* Reading delivered rows.                                                  */
/* ------------------------------------------------------------------------ */

/*
 * rebatch_rows is internal to src/store.c and has no accessors, so the test
 * mirrors its layout (an array of {id, json, rev}). Every test reads rows
 * through the helpers below, so a layout change shows up as failures here
 * and needs fixing in one place.
 */
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

/* ------------------------------------------------------------------------ */
/* The store under test.                                                    */
/* ------------------------------------------------------------------------ */

static rebatch_store *open_store(void) { return rebatch_memory_store_new(); }

static void close_store(rebatch_store *st) { rebatch_memory_store_free(st); }

static char *dump_store(const rebatch_store *st) {
  return rebatch_memory_store_dump(st);
}

/* ------------------------------------------------------------------------ */
/* Helpers over the vtable.                                                 */
/* ------------------------------------------------------------------------ */

static int put(rebatch_store *st, const char *coll, const char *id,
               const char *json, int rev, const rebatch_index_entry *ix,
               int n, int *new_rev) {
  int dummy = -1;
  return st->put(st->ctx, coll, id, json, rev, ix, n,
                 new_rev ? new_rev : &dummy);
}

/* Inserts {"n": i} with one indexed field; returns the put's code. */
static int put1(rebatch_store *st, const char *coll, const char *id,
                const char *field, const char *value) {
  rebatch_index_entry ix = {field, value};
  return put(st, coll, id, "{\"n\":1}", 0, &ix, field ? 1 : 0, NULL);
}

/* The stored revision, 0 when absent, -1 on a failing get. */
static int rev_of(rebatch_store *st, const char *coll, const char *id) {
  rebatch_rows rows = {0};
  int rev = st->get(st->ctx, coll, id, &rows) != REBATCH_OK ? -1 : 0;
  if (rows.count > 1) rev = -2;
  if (rows.count == 1) rev = rows.items[0].rev;
  rows_free(&rows);
  return rev;
}

/* The stored JSON text into buf ("" when absent). */
static const char *json_of(rebatch_store *st, const char *coll, const char *id,
                           char *buf, size_t cap) {
  rebatch_rows rows = {0};
  buf[0] = '\0';
  if (st->get(st->ctx, coll, id, &rows) == REBATCH_OK && rows.count == 1)
    snprintf(buf, cap, "%s", rows.items[0].json);
  rows_free(&rows);
  return buf;
}

/* One page of ids, comma separated, into buf; field NULL means scan. Ends
 * with "!<rc>" when the callback fails. */
static const char *page(rebatch_store *st, const char *coll, const char *field,
                        const char *value, const char *after, int limit,
                        char *buf, size_t cap) {
  rebatch_rows rows = {0};
  size_t len = 0;
  int rc = field ? st->find(st->ctx, coll, field, value, after, limit, &rows)
                 : st->scan(st->ctx, coll, after, limit, &rows);
  buf[0] = '\0';
  for (int i = 0; i < rows.count && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "," : "",
                            rows.items[i].id);
  if (rc != REBATCH_OK && len < cap) snprintf(buf + len, cap - len, "!%d", rc);
  rows_free(&rows);
  return buf;
}

#define FIND(st, coll, field, value) \
  page(st, coll, field, value, NULL, 1000, buf, sizeof buf)
#define SCAN(st, coll) page(st, coll, NULL, NULL, NULL, 1000, buf, sizeof buf)

/* ------------------------------------------------------------------------ */
/* Records and revisions.                                                   */
/* ------------------------------------------------------------------------ */

TEST(store_has_version_2_and_all_its_callbacks) {
  rebatch_store *st = open_store();
  REQUIRE(st != NULL);
  CHECK_EQ_INT(st->version, 2);
  CHECK(st->begin && st->commit && st->rollback && st->get && st->put &&
        st->remove && st->find && st->scan && st->errmsg && st->savepoint &&
        st->release && st->rollback_to);
  close_store(st);
}

TEST(insert_then_get_returns_json_and_revision_1) {
  rebatch_store *st = open_store();
  rebatch_rows rows = {0};
  char buf[256];
  int rev = 0;
  REQUIRE(st != NULL);
  CHECK_EQ_INT(put(st, "job", "j1", "{\"a\":1}", 0, NULL, 0, &rev),
               REBATCH_OK);
  CHECK_EQ_INT(rev, 1);
  CHECK_EQ_INT(st->get(st->ctx, "job", "j1", &rows), REBATCH_OK);
  CHECK_EQ_INT(rows.count, 1);
  if (rows.count == 1) {
    CHECK_EQ_STR(rows.items[0].id, "j1");
    CHECK_EQ_STR(rows.items[0].json, "{\"a\":1}");
    CHECK_EQ_INT(rows.items[0].rev, 1);
  }
  rows_free(&rows);
  CHECK_EQ_STR(json_of(st, "job", "j1", buf, sizeof buf), "{\"a\":1}");
  close_store(st);
}

TEST(get_of_absent_record_or_collection_is_ok_with_no_row) {
  rebatch_store *st = open_store();
  REQUIRE(st != NULL);
  CHECK_EQ_INT(rev_of(st, "job", "nope"), 0);
  CHECK_EQ_INT(put1(st, "job", "j1", NULL, NULL), REBATCH_OK);
  CHECK_EQ_INT(rev_of(st, "job", "nope"), 0);
  CHECK_EQ_INT(rev_of(st, "batch", "j1"), 0);
  close_store(st);
}

TEST(collections_are_separate) {
  rebatch_store *st = open_store();
  char buf[256];
  REQUIRE(st != NULL);
  CHECK_EQ_INT(put(st, "a", "x", "1", 0, NULL, 0, NULL), REBATCH_OK);
  CHECK_EQ_INT(put(st, "b", "x", "2", 0, NULL, 0, NULL), REBATCH_OK);
  CHECK_EQ_STR(json_of(st, "a", "x", buf, sizeof buf), "1");
  CHECK_EQ_STR(json_of(st, "b", "x", buf, sizeof buf), "2");
  CHECK_EQ_INT(st->remove(st->ctx, "a", "x", 1), REBATCH_OK);
  CHECK_EQ_INT(rev_of(st, "a", "x"), 0);
  CHECK_EQ_INT(rev_of(st, "b", "x"), 1);
  close_store(st);
}

TEST(each_update_adds_one_to_the_revision) {
  rebatch_store *st = open_store();
  char buf[256];
  int rev = 0;
  REQUIRE(st != NULL);
  CHECK_EQ_INT(put(st, "job", "j", "{\"v\":1}", 0, NULL, 0, &rev), REBATCH_OK);
  for (int i = 2; i <= 5; i++) {
    char json[32];
    snprintf(json, sizeof json, "{\"v\":%d}", i);
    CHECK_EQ_INT(put(st, "job", "j", json, rev, NULL, 0, &rev), REBATCH_OK);
    CHECK_EQ_INT(rev, i);
  }
  CHECK_EQ_INT(rev_of(st, "job", "j"), 5);
  CHECK_EQ_STR(json_of(st, "job", "j", buf, sizeof buf), "{\"v\":5}");
  close_store(st);
}

TEST(stale_or_wrong_revisions_conflict_and_change_nothing) {
  rebatch_store *st = open_store();
  rebatch_index_entry ix = {"state", "new"};
  char buf[256];
  int rev = 0;
  REQUIRE(st != NULL);
  CHECK_EQ_INT(put(st, "job", "j", "{\"v\":1}", 0, &ix, 1, &rev), REBATCH_OK);
  CHECK_EQ_INT(put(st, "job", "j", "{\"v\":2}", 1, NULL, 0, &rev), REBATCH_OK);
  rev = 77;
  ix.value = "other";
  /* a writer that read revision 1 */
  CHECK_EQ_INT(put(st, "job", "j", "{\"v\":3}", 1, &ix, 1, &rev),
               REBATCH_CONFLICT);
  CHECK_EQ_INT(rev, 77); /* not written on failure */
  /* a revision from the future */
  CHECK_EQ_INT(put(st, "job", "j", "{\"v\":3}", 9, &ix, 1, NULL),
               REBATCH_CONFLICT);
  /* an insert over an existing record */
  CHECK_EQ_INT(put(st, "job", "j", "{\"v\":3}", 0, &ix, 1, NULL),
               REBATCH_CONFLICT);
  /* an update of a record that is gone */
  CHECK_EQ_INT(put(st, "job", "gone", "{}", 1, NULL, 0, NULL),
               REBATCH_CONFLICT);
  CHECK_EQ_INT(rev_of(st, "job", "gone"), 0);
  CHECK_EQ_INT(rev_of(st, "job", "j"), 2);
  CHECK_EQ_STR(json_of(st, "job", "j", buf, sizeof buf), "{\"v\":2}");
  CHECK_EQ_STR(FIND(st, "job", "state", "other"), "");
  CHECK(st->errmsg(st->ctx) != NULL);
  close_store(st);
}

TEST(remove_checks_existence_and_revision) {
  rebatch_store *st = open_store();
  int rev = 0;
  REQUIRE(st != NULL);
  CHECK_EQ_INT(st->remove(st->ctx, "job", "j", 1), REBATCH_NOTFOUND);
  CHECK_EQ_INT(put(st, "job", "j", "{}", 0, NULL, 0, NULL), REBATCH_OK);
  CHECK_EQ_INT(put(st, "job", "j", "{}", 1, NULL, 0, NULL), REBATCH_OK);
  CHECK_EQ_INT(st->remove(st->ctx, "job", "j", 1), REBATCH_CONFLICT);
  CHECK_EQ_INT(st->remove(st->ctx, "job", "j", 3), REBATCH_CONFLICT);
  CHECK_EQ_INT(rev_of(st, "job", "j"), 2);
  CHECK_EQ_INT(st->remove(st->ctx, "job", "j", 2), REBATCH_OK);
  CHECK_EQ_INT(rev_of(st, "job", "j"), 0);
  CHECK_EQ_INT(st->remove(st->ctx, "job", "j", 2), REBATCH_NOTFOUND);
  CHECK(st->errmsg(st->ctx) != NULL);
  /* a new record under the same id starts over */
  CHECK_EQ_INT(put(st, "job", "j", "{}", 0, NULL, 0, &rev), REBATCH_OK);
  CHECK_EQ_INT(rev, 1);
  close_store(st);
}

TEST(null_arguments_are_misuse) {
  rebatch_store *st = open_store();
  rebatch_rows rows = {0};
  rebatch_index_entry bad = {NULL, "x"};
  REQUIRE(st != NULL);
  CHECK_EQ_INT(put(st, NULL, "j", "{}", 0, NULL, 0, NULL), REBATCH_MISUSE);
  CHECK_EQ_INT(put(st, "job", NULL, "{}", 0, NULL, 0, NULL), REBATCH_MISUSE);
  CHECK_EQ_INT(put(st, "job", "j", NULL, 0, NULL, 0, NULL), REBATCH_MISUSE);
  CHECK_EQ_INT(put(st, "job", "j", "{}", -1, NULL, 0, NULL), REBATCH_MISUSE);
  CHECK_EQ_INT(put(st, "job", "j", "{}", 0, &bad, 1, NULL), REBATCH_MISUSE);
  CHECK_EQ_INT(st->get(st->ctx, NULL, "j", &rows), REBATCH_MISUSE);
  CHECK_EQ_INT(st->find(st->ctx, "job", "f", NULL, NULL, 10, &rows),
               REBATCH_MISUSE);
  CHECK_EQ_INT(st->scan(st->ctx, "job", NULL, -1, &rows), REBATCH_MISUSE);
  CHECK_EQ_INT(rows.count, 0);
  CHECK_EQ_INT(rev_of(st, "job", "j"), 0);
  close_store(st);
}

/* ------------------------------------------------------------------------ */
/* Indexes.                                                                 */
/* ------------------------------------------------------------------------ */

TEST(find_returns_records_with_the_value_in_id_order) {
  rebatch_store *st = open_store();
  char buf[1024];
  REQUIRE(st != NULL);
  CHECK_EQ_INT(put1(st, "job", "c", "batchId", "b1"), REBATCH_OK);
  CHECK_EQ_INT(put1(st, "job", "a", "batchId", "b1"), REBATCH_OK);
  CHECK_EQ_INT(put1(st, "job", "b", "batchId", "b2"), REBATCH_OK);
  CHECK_EQ_INT(put1(st, "job", "d", "other", "b1"), REBATCH_OK);
  CHECK_EQ_INT(put1(st, "task", "e", "batchId", "b1"), REBATCH_OK);
  CHECK_EQ_STR(FIND(st, "job", "batchId", "b1"), "a,c");
  CHECK_EQ_STR(FIND(st, "job", "batchId", "b2"), "b");
  CHECK_EQ_STR(FIND(st, "job", "batchId", "b3"), "");
  CHECK_EQ_STR(FIND(st, "job", "nofield", "b1"), "");
  CHECK_EQ_STR(FIND(st, "nocoll", "batchId", "b1"), "");
  CHECK_EQ_STR(FIND(st, "job", "other", "b1"), "d");
  CHECK_EQ_STR(FIND(st, "task", "batchId", "b1"), "e");
  close_store(st);
}

TEST(update_replaces_the_whole_index_set) {
  rebatch_store *st = open_store();
  rebatch_index_entry two[] = {{"state", "new"}, {"owner", "w1"}};
  rebatch_index_entry one[] = {{"state", "done"}};
  char buf[1024];
  int rev = 0;
  REQUIRE(st != NULL);
  CHECK_EQ_INT(put(st, "job", "j", "{}", 0, two, 2, &rev), REBATCH_OK);
  CHECK_EQ_STR(FIND(st, "job", "state", "new"), "j");
  CHECK_EQ_STR(FIND(st, "job", "owner", "w1"), "j");
  CHECK_EQ_INT(put(st, "job", "j", "{}", rev, one, 1, &rev), REBATCH_OK);
  CHECK_EQ_STR(FIND(st, "job", "state", "new"), "");
  CHECK_EQ_STR(FIND(st, "job", "owner", "w1"), ""); /* absent from new set */
  CHECK_EQ_STR(FIND(st, "job", "state", "done"), "j");
  /* same values again: still found exactly once */
  CHECK_EQ_INT(put(st, "job", "j", "{}", rev, one, 1, &rev), REBATCH_OK);
  CHECK_EQ_STR(FIND(st, "job", "state", "done"), "j");
  /* an empty set drops everything */
  CHECK_EQ_INT(put(st, "job", "j", "{}", rev, NULL, 0, &rev), REBATCH_OK);
  CHECK_EQ_STR(FIND(st, "job", "state", "done"), "");
  CHECK_EQ_INT(rev, 4);
  close_store(st);
}

TEST(null_values_are_not_indexed_and_duplicates_count_once) {
  rebatch_store *st = open_store();
  rebatch_index_entry ix[] = {
      {"owner", NULL}, {"state", "s"}, {"state", "s"}, {"tag", "t1"},
      {"tag", "t2"}};
  char buf[1024];
  REQUIRE(st != NULL);
  CHECK_EQ_INT(put(st, "job", "j", "{}", 0, ix, 5, NULL), REBATCH_OK);
  CHECK_EQ_STR(FIND(st, "job", "state", "s"), "j");
  CHECK_EQ_STR(FIND(st, "job", "owner", ""), "");
  /* a field repeated with different values is indexed under each */
  CHECK_EQ_STR(FIND(st, "job", "tag", "t1"), "j");
  CHECK_EQ_STR(FIND(st, "job", "tag", "t2"), "j");
  close_store(st);
}

TEST(remove_drops_the_record_from_its_indexes) {
  rebatch_store *st = open_store();
  char buf[1024];
  REQUIRE(st != NULL);
  CHECK_EQ_INT(put1(st, "job", "a", "batchId", "b"), REBATCH_OK);
  CHECK_EQ_INT(put1(st, "job", "b", "batchId", "b"), REBATCH_OK);
  CHECK_EQ_INT(st->remove(st->ctx, "job", "a", 1), REBATCH_OK);
  CHECK_EQ_STR(FIND(st, "job", "batchId", "b"), "b");
  CHECK_EQ_INT(st->remove(st->ctx, "job", "b", 1), REBATCH_OK);
  CHECK_EQ_STR(FIND(st, "job", "batchId", "b"), "");
  CHECK_EQ_STR(SCAN(st, "job"), "");
  /* the value can be used again */
  CHECK_EQ_INT(put1(st, "job", "c", "batchId", "b"), REBATCH_OK);
  CHECK_EQ_STR(FIND(st, "job", "batchId", "b"), "c");
  close_store(st);
}

/* ------------------------------------------------------------------------ */
/* Order and paging.                                                        */
/* ------------------------------------------------------------------------ */

TEST(ids_are_ordered_byte_wise) {
  rebatch_store *st = open_store();
  /* strcmp order: '0' < 'A' < 'Z' < '_' < 'a' < "aa" < 0xC3 (UTF-8) */
  const char *ids[] = {"a", "\xc3\xa9", "Z", "aa", "_", "A", "0", "a0"};
  char buf[1024];
  REQUIRE(st != NULL);
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
    CHECK_EQ_INT(put1(st, "c", ids[i], "f", "v"), REBATCH_OK);
  CHECK_EQ_STR(SCAN(st, "c"), "0,A,Z,_,a,a0,aa,\xc3\xa9");
  CHECK_EQ_STR(FIND(st, "c", "f", "v"), "0,A,Z,_,a,a0,aa,\xc3\xa9");
  close_store(st);
}

TEST(after_id_and_limit_select_a_page) {
  rebatch_store *st = open_store();
  char buf[1024];
  REQUIRE(st != NULL);
  for (const char *id = "bdfhj"; *id; id++) {
    char s[2] = {*id, 0};
    CHECK_EQ_INT(put1(st, "c", s, "f", "v"), REBATCH_OK);
  }
  CHECK_EQ_STR(page(st, "c", NULL, NULL, NULL, 2, buf, sizeof buf), "b,d");
  CHECK_EQ_STR(page(st, "c", NULL, NULL, "d", 2, buf, sizeof buf), "f,h");
  /* after_id need not exist */
  CHECK_EQ_STR(page(st, "c", NULL, NULL, "e", 2, buf, sizeof buf), "f,h");
  CHECK_EQ_STR(page(st, "c", NULL, NULL, "a", 1, buf, sizeof buf), "b");
  CHECK_EQ_STR(page(st, "c", NULL, NULL, "j", 5, buf, sizeof buf), "");
  CHECK_EQ_STR(page(st, "c", NULL, NULL, "z", 5, buf, sizeof buf), "");
  CHECK_EQ_STR(page(st, "c", NULL, NULL, "", 9, buf, sizeof buf), "b,d,f,h,j");
  CHECK_EQ_STR(page(st, "c", NULL, NULL, NULL, 0, buf, sizeof buf), "");
  CHECK_EQ_STR(page(st, "c", "f", "v", "b", 3, buf, sizeof buf), "d,f,h");
  CHECK_EQ_STR(page(st, "c", "f", "v", "h", 3, buf, sizeof buf), "j");
  CHECK_EQ_STR(page(st, "c", "f", "v", NULL, 0, buf, sizeof buf), "");
  close_store(st);
}

#define MANY 10000

/* Pages through scan (field NULL) or find with the given page size and
 * checks that ids arrive ascending, each once, `expect` of them. */
static void check_paging(rebatch_store *st, const char *field,
                         const char *value, int limit, int expect) {
  rebatch_rows rows = {0};
  char last[64] = "";
  int seen = 0, pages = 0;
  int ordered = 1;
  /* bounded, so a store that repeats rows fails instead of looping */
  while (ordered && pages <= expect / limit + 1) {
    int rc;
    const char *after = seen ? last : NULL;
    rc = field ? st->find(st->ctx, "many", field, value, after, limit, &rows)
               : st->scan(st->ctx, "many", after, limit, &rows);
    CHECK_EQ_INT(rc, REBATCH_OK);
    CHECK(rows.count <= limit);
    for (int i = 0; i < rows.count; i++) {
      if (seen && strcmp(rows.items[i].id, last) <= 0) {
        CHECK(!"ids out of order");
        ordered = 0;
        break;
      }
      snprintf(last, sizeof last, "%s", rows.items[i].id);
      seen++;
    }
    pages++;
    if (rc != REBATCH_OK || rows.count < limit) break;
    rows_free(&rows);
  }
  rows_free(&rows);
  CHECK_EQ_INT(seen, expect);
  CHECK(pages >= expect / limit);
}

TEST(paging_visits_10000_records_in_order) {
  rebatch_store *st = open_store();
  char id[32], mod[8];
  unsigned x = 12345;
  int i, removed = 0;
  REQUIRE(st != NULL);
  /* every id once, in a scrambled order (i * 7919 mod MANY is a bijection) */
  for (i = 0; i < MANY; i++) {
    int k = (int)((i * 7919L) % MANY);
    snprintf(id, sizeof id, "r%05d", k);
    snprintf(mod, sizeof mod, "m%d", k % 7);
    CHECK_EQ_INT(put1(st, "many", id, "mod", mod), REBATCH_OK);
  }
  check_paging(st, NULL, NULL, 97, MANY);
  check_paging(st, NULL, NULL, 1000, MANY);
  check_paging(st, "mod", "m3", 50, (MANY + 3) / 7);
  /* remove a pseudo-random third and page again */
  for (i = 0; i < MANY; i++) {
    x = x * 1103515245u + 12345u;
    if ((x >> 16) % 3) continue;
    snprintf(id, sizeof id, "r%05d", i);
    CHECK_EQ_INT(st->remove(st->ctx, "many", id, 1), REBATCH_OK);
    removed++;
  }
  check_paging(st, NULL, NULL, 333, MANY - removed);
  close_store(st);
}

/* ------------------------------------------------------------------------ */
/* Transactions.                                                            */
/* ------------------------------------------------------------------------ */

/* A small store with records, revisions > 1 and indexes in two
 * collections, for transaction and out-of-memory tests. */
static void seed(rebatch_store *st) {
  rebatch_index_entry ix[] = {{"state", "new"}, {"owner", "w1"}};
  int rev = 0;
  CHECK_EQ_INT(put(st, "job", "a", "{\"n\":1}", 0, ix, 2, &rev), REBATCH_OK);
  CHECK_EQ_INT(put(st, "job", "a", "{\"n\":2}", rev, ix, 1, &rev), REBATCH_OK);
  CHECK_EQ_INT(put(st, "job", "b", "{\"n\":3}", 0, ix, 2, NULL), REBATCH_OK);
  CHECK_EQ_INT(put(st, "job", "c", "[1,2]", 0, NULL, 0, NULL), REBATCH_OK);
  CHECK_EQ_INT(put(st, "batch", "x", "{\"t\":\"s\"}", 0, ix + 1, 1, NULL),
               REBATCH_OK);
}

/* Everything observable about seed()'s indexes, as one string. */
static const char *index_view(rebatch_store *st, char *out, size_t cap) {
  char buf[256];
  snprintf(out, cap, "new=%s", FIND(st, "job", "state", "new"));
  snprintf(out + strlen(out), cap - strlen(out), " done=%s",
           FIND(st, "job", "state", "done"));
  snprintf(out + strlen(out), cap - strlen(out), " w1=%s",
           FIND(st, "job", "owner", "w1"));
  snprintf(out + strlen(out), cap - strlen(out), " w2=%s",
           FIND(st, "job", "owner", "w2"));
  snprintf(out + strlen(out), cap - strlen(out), " bw1=%s",
           FIND(st, "batch", "owner", "w1"));
  snprintf(out + strlen(out), cap - strlen(out), " z=%s",
           FIND(st, "zeta", "owner", "w2"));
  return out;
}

/* A transaction's worth of every kind of write over seed()'s data. */
static void mixed_writes(rebatch_store *st) {
  rebatch_index_entry done[] = {{"state", "done"}, {"owner", "w2"}};
  char buf[256];
  int rev = 0;
  CHECK_EQ_INT(put(st, "job", "a", "{\"n\":9}", 2, done, 2, &rev), REBATCH_OK);
  CHECK_EQ_INT(put(st, "job", "a", "{\"n\":10}", rev, done, 1, &rev),
               REBATCH_OK);
  CHECK_EQ_INT(st->remove(st->ctx, "job", "b", 1), REBATCH_OK);
  CHECK_EQ_INT(put(st, "job", "b", "{\"again\":1}", 0, done, 2, NULL),
               REBATCH_OK);
  CHECK_EQ_INT(st->remove(st->ctx, "job", "c", 1), REBATCH_OK);
  CHECK_EQ_INT(put(st, "job", "d", "{}", 0, done, 2, NULL), REBATCH_OK);
  CHECK_EQ_INT(put(st, "zeta", "z", "{}", 0, done + 1, 1, NULL), REBATCH_OK);
  CHECK_EQ_INT(st->remove(st->ctx, "batch", "x", 1), REBATCH_OK);
  /* reads inside the transaction see its writes */
  CHECK_EQ_INT(rev_of(st, "job", "a"), 4);
  CHECK_EQ_INT(rev_of(st, "job", "b"), 1);
  CHECK_EQ_INT(rev_of(st, "job", "c"), 0);
  CHECK_EQ_STR(FIND(st, "job", "state", "done"), "a,b,d");
  CHECK_EQ_STR(FIND(st, "job", "owner", "w2"), "b,d");
  CHECK_EQ_STR(SCAN(st, "job"), "a,b,d");
}

TEST(rollback_restores_records_revisions_and_indexes) {
  rebatch_store *st = open_store();
  char *before, *after, view_before[512], view_after[512];
  REQUIRE(st != NULL);
  seed(st);
  before = dump_store(st);
  index_view(st, view_before, sizeof view_before);
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
  mixed_writes(st);
  CHECK_EQ_INT(st->rollback(st->ctx), REBATCH_OK);
  after = dump_store(st);
  CHECK_EQ_STR(after, before);
  CHECK_EQ_STR(index_view(st, view_after, sizeof view_after), view_before);
  CHECK_EQ_STR(view_before,
               "new=a,b done= w1=b w2= bw1=x z=");
  CHECK_EQ_INT(rev_of(st, "job", "a"), 2);
  /* the store is usable afterwards, revisions continuing from the old ones */
  CHECK_EQ_INT(put(st, "job", "a", "{}", 2, NULL, 0, NULL), REBATCH_OK);
  CHECK_EQ_INT(rev_of(st, "job", "a"), 3);
  rebatch_free(before);
  rebatch_free(after);
  close_store(st);
}

TEST(commit_keeps_the_writes) {
  rebatch_store *st = open_store();
  char view[512];
  REQUIRE(st != NULL);
  seed(st);
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
  mixed_writes(st);
  CHECK_EQ_INT(st->commit(st->ctx), REBATCH_OK);
  CHECK_EQ_STR(index_view(st, view, sizeof view),
               "new= done=a,b,d w1= w2=b,d bw1= z=z");
  CHECK_EQ_INT(rev_of(st, "job", "a"), 4);
  CHECK_EQ_INT(rev_of(st, "job", "c"), 0);
  /* a later rollback does not reach back into a committed transaction */
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
  CHECK_EQ_INT(st->remove(st->ctx, "job", "a", 4), REBATCH_OK);
  CHECK_EQ_INT(st->rollback(st->ctx), REBATCH_OK);
  CHECK_EQ_INT(rev_of(st, "job", "a"), 4);
  CHECK_EQ_STR(index_view(st, view, sizeof view),
               "new= done=a,b,d w1= w2=b,d bw1= z=z");
  close_store(st);
}

TEST(rollback_to_a_savepoint_undoes_only_the_writes_after_it) {
  rebatch_store *st = open_store();
  char *before, *after, view[512];
  REQUIRE(st != NULL);
  seed(st);
  CHECK_EQ_INT(st->savepoint(st->ctx), REBATCH_MISUSE); /* outside a transaction */
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
  CHECK_EQ_INT(put1(st, "incident", "kept", NULL, NULL), REBATCH_OK);
  before = dump_store(st);
  CHECK_EQ_INT(st->savepoint(st->ctx), REBATCH_OK);
  CHECK_EQ_INT(st->savepoint(st->ctx), REBATCH_MISUSE); /* never nested */
  mixed_writes(st);
  CHECK_EQ_INT(st->rollback_to(st->ctx), REBATCH_OK);
  after = dump_store(st);
  CHECK_EQ_STR(after, before);
  CHECK_EQ_INT(st->rollback_to(st->ctx), REBATCH_MISUSE); /* the savepoint ended */
  /* a released savepoint's writes stay in the transaction, until it commits */
  CHECK_EQ_INT(st->savepoint(st->ctx), REBATCH_OK);
  mixed_writes(st);
  CHECK_EQ_INT(st->release(st->ctx), REBATCH_OK);
  CHECK_EQ_INT(st->commit(st->ctx), REBATCH_OK);
  CHECK_EQ_STR(index_view(st, view, sizeof view),
               "new= done=a,b,d w1= w2=b,d bw1= z=z");
  CHECK_EQ_INT(rev_of(st, "incident", "kept"), 1);
  rebatch_free(before);
  rebatch_free(after);
  close_store(st);
}

TEST(rolling_back_the_transaction_also_undoes_a_released_savepoint) {
  rebatch_store *st = open_store();
  char *before, *after;
  REQUIRE(st != NULL);
  seed(st);
  before = dump_store(st);
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
  CHECK_EQ_INT(st->savepoint(st->ctx), REBATCH_OK);
  mixed_writes(st);
  CHECK_EQ_INT(st->release(st->ctx), REBATCH_OK);
  CHECK_EQ_INT(st->rollback(st->ctx), REBATCH_OK);
  after = dump_store(st);
  CHECK_EQ_STR(after, before);
  rebatch_free(before);
  rebatch_free(after);
  close_store(st);
}

TEST(begin_inside_a_transaction_is_misuse) {
  rebatch_store *st = open_store();
  REQUIRE(st != NULL);
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_MISUSE);
  CHECK(st->errmsg(st->ctx) != NULL);
  CHECK_EQ_INT(st->commit(st->ctx), REBATCH_OK);
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
  CHECK_EQ_INT(st->rollback(st->ctx), REBATCH_OK);
  close_store(st);
}

TEST(a_failed_write_inside_a_transaction_leaves_the_others) {
  rebatch_store *st = open_store();
  REQUIRE(st != NULL);
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
  CHECK_EQ_INT(put1(st, "job", "a", NULL, NULL), REBATCH_OK);
  CHECK_EQ_INT(put1(st, "job", "a", NULL, NULL), REBATCH_CONFLICT);
  CHECK_EQ_INT(rev_of(st, "job", "a"), 1);
  CHECK_EQ_INT(st->rollback(st->ctx), REBATCH_OK);
  CHECK_EQ_INT(rev_of(st, "job", "a"), 0);
  close_store(st);
}

/* Updates that keep some indexed values (the entry stays in its posting's
 * tree, in place) or all of them (the entries are not touched at all), over
 * postings large enough to have deep trees: finds stay complete and
 * ordered, and rollback brings back every value and text. */
static int by_strcmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Ids of every length around the trees' 8-byte key prefixes, sharing
 * prefixes, and with bytes above 0x7f: scans, finds and seeks follow strcmp
 * (byte-wise, unsigned) order exactly. */
TEST(ids_order_byte_wise_across_lengths_and_prefixes) {
  const char *ids[] = {"abcdefgh", "a", "abcdefghi", "ab", "abcdefgh0", "abcdefg",
                       "abcdefgz", "b", "\xc3\xa9t\xc3\xa9", "zz", "abcdefghij",
                       "abcdefgh\x7f", "abcdefgi", "abcdefgh\xff", "A", "abcdefghi0"};
  const int n = (int)(sizeof ids / sizeof ids[0]);
  const char *sorted[sizeof ids / sizeof ids[0]];
  char buf[512], want[512];
  size_t len = 0;
  rebatch_store *st = open_store();
  REQUIRE(st != NULL);
  for (int i = 0; i < n; i++) CHECK_EQ_INT(put1(st, "c", ids[i], "f", "v"), REBATCH_OK);
  memcpy(sorted, ids, sizeof ids);
  qsort(sorted, (size_t)n, sizeof sorted[0], by_strcmp);
  for (int i = 0; i < n; i++) len += (size_t)snprintf(want + len, sizeof want - len, "%s%s", i ? "," : "", sorted[i]);
  CHECK_EQ_STR(SCAN(st, "c"), want);
  CHECK_EQ_STR(FIND(st, "c", "f", "v"), want);
  for (int i = 0; i + 1 < n; i++) {
    CHECK_EQ_STR(page(st, "c", NULL, NULL, sorted[i], 1, buf, sizeof buf), sorted[i + 1]);
    CHECK_EQ_STR(page(st, "c", "f", "v", sorted[i], 1, buf, sizeof buf), sorted[i + 1]);
  }
  CHECK_EQ_STR(page(st, "c", NULL, NULL, sorted[n - 1], 1, buf, sizeof buf), "");
  /* every record can be removed again by identity through the same order */
  for (int i = 0; i < n; i++) CHECK_EQ_INT(st->remove(st->ctx, "c", ids[i], 1), REBATCH_OK);
  CHECK_EQ_STR(SCAN(st, "c"), "");
  CHECK_EQ_STR(FIND(st, "c", "f", "v"), "");
  close_store(st);
}

TEST(updates_keeping_indexed_values_keep_finds_exact) {
  rebatch_store *st = open_store();
  char *before, *after, id[32], json[32], buf[64];
  int i, rev;
  REQUIRE(st != NULL);
  for (i = 0; i < 1000; i++) {
    rebatch_index_entry ix[] = {{"kind", "k"}, {"state", i % 3 ? "rest" : "third"}};
    snprintf(id, sizeof id, "r%05d", i);
    CHECK_EQ_INT(put(st, "many", id, "{\"v\":0}", 0, ix, 2, NULL), REBATCH_OK);
  }
  before = dump_store(st);
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
  for (i = 0; i < 1000; i++) {
    /* every third id (leaves and inner nodes of the trees alike) moves to
     * "done" keeping "kind"; the others keep both values */
    rebatch_index_entry ix[] = {{"kind", "k"}, {"state", i % 3 ? "rest" : "done"}};
    snprintf(id, sizeof id, "r%05d", i);
    snprintf(json, sizeof json, "{\"v\":%d}", i);
    CHECK_EQ_INT(put(st, "many", id, json, 1, ix, 2, &rev), REBATCH_OK);
    CHECK_EQ_INT(rev, 2);
  }
  CHECK_EQ_STR(json_of(st, "many", "r00007", buf, sizeof buf), "{\"v\":7}");
  CHECK_EQ_STR(page(st, "many", "state", "third", NULL, 5, buf, sizeof buf), "");
  CHECK_EQ_STR(page(st, "many", "state", "done", NULL, 3, buf, sizeof buf),
               "r00000,r00003,r00006");
  CHECK_EQ_STR(page(st, "many", "state", "rest", "r00994", 5, buf, sizeof buf),
               "r00995,r00997,r00998");
  check_paging(st, "kind", "k", 64, 1000);
  check_paging(st, "state", "rest", 64, 666);
  check_paging(st, "state", "done", 64, 334);
  CHECK_EQ_INT(st->rollback(st->ctx), REBATCH_OK);
  after = dump_store(st);
  CHECK_EQ_STR(after, before);
  CHECK_EQ_INT(rev_of(st, "many", "r00007"), 1);
  CHECK_EQ_STR(page(st, "many", "state", "done", NULL, 5, buf, sizeof buf), "");
  CHECK_EQ_STR(page(st, "many", "state", "third", "r00990", 5, buf, sizeof buf),
               "r00993,r00996,r00999");
  check_paging(st, "kind", "k", 64, 1000);
  check_paging(st, "state", "third", 64, 334);
  check_paging(st, "state", "rest", 64, 666);
  /* the same updates outside a transaction, then removes: nothing is left */
  for (i = 0; i < 1000; i++) {
    rebatch_index_entry ix[] = {{"kind", "k"}, {"state", i % 3 ? "rest" : "done"}};
    snprintf(id, sizeof id, "r%05d", i);
    CHECK_EQ_INT(put(st, "many", id, "{}", 1, ix, 2, NULL), REBATCH_OK);
    CHECK_EQ_INT(st->remove(st->ctx, "many", id, 2), REBATCH_OK);
  }
  CHECK_EQ_STR(page(st, "many", "kind", "k", NULL, 5, buf, sizeof buf), "");
  rebatch_free(before);
  rebatch_free(after);
  close_store(st);
}

TEST(rollback_of_a_long_transaction_over_many_records) {
  rebatch_store *st = open_store();
  char *before, *after, id[32], buf[64];
  int i;
  REQUIRE(st != NULL);
  for (i = 0; i < 2000; i += 2) {
    snprintf(id, sizeof id, "r%05d", i);
    CHECK_EQ_INT(put1(st, "many", id, "p", i % 3 ? "x" : "y"), REBATCH_OK);
  }
  before = dump_store(st);
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
  for (i = 0; i < 2000; i++) {
    rebatch_index_entry ix = {"p", "z"};
    snprintf(id, sizeof id, "r%05d", i);
    if (i % 2)
      CHECK_EQ_INT(put(st, "many", id, "{}", 0, &ix, 1, NULL), REBATCH_OK);
    else if (i % 4)
      CHECK_EQ_INT(st->remove(st->ctx, "many", id, 1), REBATCH_OK);
    else
      CHECK_EQ_INT(put(st, "many", id, "{}", 1, &ix, 1, NULL), REBATCH_OK);
  }
  CHECK_EQ_STR(page(st, "many", "p", "y", NULL, 5, buf, sizeof buf), "");
  CHECK_EQ_INT(st->rollback(st->ctx), REBATCH_OK);
  after = dump_store(st);
  CHECK_EQ_STR(after, before);
  CHECK_EQ_STR(page(st, "many", "p", "z", NULL, 5, buf, sizeof buf), "");
  CHECK_EQ_STR(page(st, "many", "p", "y", NULL, 3, buf, sizeof buf),
               "r00000,r00006,r00012");
  check_paging(st, NULL, NULL, 64, 1000);
  rebatch_free(before);
  rebatch_free(after);
  close_store(st);
}

TEST(freeing_a_store_inside_a_transaction_leaks_nothing) {
  rebatch_store *st = open_store();
  REQUIRE(st != NULL);
  seed(st);
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
  mixed_writes(st);
  close_store(st); /* ASan reports anything left behind */
}

/* ------------------------------------------------------------------------ */
/* Dump (memory store).                                                     */
/* ------------------------------------------------------------------------ */

TEST(dump_is_sorted_and_embeds_records_as_stored) {
  rebatch_store *st = open_store();
  char *text;
  REQUIRE(st != NULL);
  CHECK_EQ_INT(put(st, "job", "b", "{ \"x\" : [1, 2] }", 0, NULL, 0, NULL),
               REBATCH_OK);
  CHECK_EQ_INT(put(st, "job", "a", "{\"y\":\"s\"}", 0, NULL, 0, NULL),
               REBATCH_OK);
  CHECK_EQ_INT(put(st, "job", "a", "{\"y\":null}", 1, NULL, 0, NULL),
               REBATCH_OK);
  CHECK_EQ_INT(put(st, "batch", "z", "7", 0, NULL, 0, NULL), REBATCH_OK);
  CHECK_EQ_INT(put(st, "empty", "e", "{}", 0, NULL, 0, NULL), REBATCH_OK);
  CHECK_EQ_INT(st->remove(st->ctx, "empty", "e", 1), REBATCH_OK);
  text = dump_store(st);
  CHECK_EQ_STR(text,
               "{\"batch\":{\"z\":{\"rev\":1,\"record\":7}},"
               "\"job\":{\"a\":{\"rev\":2,\"record\":{\"y\":null}},"
               "\"b\":{\"rev\":1,\"record\":{ \"x\" : [1, 2] }}}}");
  rebatch_free(text);
  close_store(st);
  st = open_store();
  REQUIRE(st != NULL);
  text = dump_store(st);
  CHECK_EQ_STR(text, "{}");
  rebatch_free(text);
  close_store(st);
}

/* Names are escaped as JSON.stringify does, so the JS store dumps alike. */
TEST(dump_escapes_ids_as_json_strings) {
  rebatch_store *st = open_store();
  char *text;
  REQUIRE(st != NULL);
  CHECK_EQ_INT(put(st, "job", "q\"\\\n\x01", "{}", 0, NULL, 0, NULL), REBATCH_OK);
  text = dump_store(st);
  CHECK_EQ_STR(text, "{\"job\":{\"q\\\"\\\\\\n\\u0001\":{\"rev\":1,\"record\":{}}}}");
  rebatch_free(text);
  close_store(st);
}

TEST(equal_contents_built_differently_dump_identically) {
  rebatch_store *one = open_store(), *two = open_store();
  char *d1, *d2, id[16];
  int i;
  REQUIRE(one != NULL && two != NULL);
  /* one: ascending, straight */
  for (i = 0; i < 300; i++) {
    snprintf(id, sizeof id, "k%03d", i);
    CHECK_EQ_INT(put(one, i % 2 ? "odd" : "even", id, "{\"v\":1}", 0, NULL, 0,
                     NULL),
                 REBATCH_OK);
  }
  /* two: descending, with detours that leave the same contents */
  CHECK_EQ_INT(put(two, "tmp", "t", "{}", 0, NULL, 0, NULL), REBATCH_OK);
  for (i = 299; i >= 0; i--) {
    snprintf(id, sizeof id, "k%03d", i);
    CHECK_EQ_INT(put(two, i % 2 ? "odd" : "even", id, "{\"v\":1}", 0, NULL,
                     0, NULL),
                 REBATCH_OK);
    CHECK_EQ_INT(put(two, "extra", id, "{}", 0, NULL, 0, NULL), REBATCH_OK);
  }
  CHECK_EQ_INT(two->begin(two->ctx), REBATCH_OK);
  CHECK_EQ_INT(two->remove(two->ctx, "even", "k000", 1), REBATCH_OK);
  CHECK_EQ_INT(two->rollback(two->ctx), REBATCH_OK);
  for (i = 0; i < 300; i++) {
    snprintf(id, sizeof id, "k%03d", i);
    CHECK_EQ_INT(two->remove(two->ctx, "extra", id, 1), REBATCH_OK);
  }
  CHECK_EQ_INT(two->remove(two->ctx, "tmp", "t", 1), REBATCH_OK);
  d1 = dump_store(one);
  d2 = dump_store(two);
  REQUIRE(d1 != NULL && d2 != NULL);
  CHECK_EQ_STR(d1, d2);
  rebatch_free(d1);
  rebatch_free(d2);
  close_store(one);
  close_store(two);
}

/* ------------------------------------------------------------------------ */
/* Out of memory.                                                           */
/* ------------------------------------------------------------------------ */

/* Allocation counting: fail_at > 0 makes the fail_at-th allocation from
 * the last arm() fail; live counts blocks not yet freed. */
static long allocs, fail_at, live;

static void *oom_malloc(size_t n) {
  void *p;
  if (fail_at && ++allocs == fail_at) return NULL;
  p = malloc(n);
  if (p) live++;
  return p;
}

static void *oom_realloc(void *old, size_t n) {
  void *p;
  if (fail_at && ++allocs == fail_at) return NULL;
  p = realloc(old, n);
  if (p && !old) live++;
  return p;
}

static void oom_free(void *p) {
  if (p) live--;
  free(p);
}

static void arm(long n) {
  allocs = 0;
  fail_at = n;
}

static void oom_install(void) {
  arm(0);
  live = 0;
  rebatch_set_allocator(oom_malloc, oom_realloc, oom_free);
}

static void oom_restore(void) { rebatch_set_allocator(NULL, NULL, NULL); }

typedef int (*oom_op)(rebatch_store *st);

/* Runs op with the 1st, 2nd, ... allocation failing until it succeeds.
 * Each failure must be REBATCH_NOMEM and leave the dump and the indexes as
 * they were. Returns how many failures were seen. */
static int fail_each_allocation(rebatch_store *st, oom_op op) {
  char *before = dump_store(st), *after;
  char view_before[512], view_after[512];
  int failures = 0;
  index_view(st, view_before, sizeof view_before);
  for (long n = 1; n < 1000; n++) {
    int rc;
    arm(n);
    rc = op(st);
    arm(0);
    if (rc == REBATCH_OK) break;
    failures++;
    CHECK_EQ_INT(rc, REBATCH_NOMEM);
    after = dump_store(st);
    CHECK_EQ_STR(after, before);
    CHECK_EQ_STR(index_view(st, view_after, sizeof view_after), view_before);
    rebatch_free(after);
  }
  rebatch_free(before);
  return failures;
}

static int op_insert_new_collection(rebatch_store *st) {
  rebatch_index_entry ix[] = {{"owner", "w9"}, {"fresh", "v"}};
  return put(st, "zeta", "z1", "{\"a\":1}", 0, ix, 2, NULL);
}

static int op_insert_indexed(rebatch_store *st) {
  rebatch_index_entry ix[] = {{"state", "new"}, {"owner", "w2"},
                              {"newfield", "v"}};
  return put(st, "job", "e", "{\"a\":1}", 0, ix, 3, NULL);
}

static int op_update_indexes(rebatch_store *st) {
  rebatch_index_entry ix[] = {{"state", "done"}, {"owner", "w2"}};
  return put(st, "job", "a", "{\"changed\":true}", 2, ix, 2, NULL);
}

static int op_remove(rebatch_store *st) {
  return st->remove(st->ctx, "job", "b", 1);
}

/* Reads fail only in delivering rows; they free what they got. */
static int op_scan(rebatch_store *st) {
  rebatch_rows rows = {0};
  int rc = st->scan(st->ctx, "job", NULL, 10, &rows);
  if (rc == REBATCH_OK && rows.count != 3) rc = REBATCH_ERROR;
  rows_free(&rows);
  return rc;
}

static int op_find(rebatch_store *st) {
  rebatch_rows rows = {0};
  int rc = st->find(st->ctx, "job", "state", "new", "a", 10, &rows);
  if (rc == REBATCH_OK && rows.count != 1) rc = REBATCH_ERROR;
  rows_free(&rows);
  return rc;
}

static int op_get(rebatch_store *st) {
  rebatch_rows rows = {0};
  int rc = st->get(st->ctx, "job", "a", &rows);
  if (rc == REBATCH_OK && rows.count != 1) rc = REBATCH_ERROR;
  rows_free(&rows);
  return rc;
}

TEST(out_of_memory_in_each_operation_changes_nothing) {
  static const oom_op ops[] = {op_insert_new_collection, op_insert_indexed,
                               op_update_indexes, op_remove,
                               op_scan, op_find, op_get};
  int failures;
  oom_install();
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    for (int in_tx = 0; in_tx < 2; in_tx++) {
      rebatch_store *st = open_store();
      REQUIRE(st != NULL);
      seed(st);
      if (in_tx) CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
      failures = fail_each_allocation(st, ops[i]);
      /* writes allocate, except a remove outside a transaction */
      if (i < 3 || (i == 3 && in_tx)) CHECK(failures > 0);
      if (in_tx) CHECK_EQ_INT(st->rollback(st->ctx), REBATCH_OK);
      close_store(st);
    }
  }
  CHECK_EQ_INT(live, 0);
  oom_restore();
}

/* The 17th record and the 65th logged write make tables grow; those
 * allocations must fail cleanly too. */
TEST(out_of_memory_while_tables_grow_changes_nothing) {
  rebatch_store *st;
  char id[16];
  int i;
  oom_install();
  st = open_store();
  REQUIRE(st != NULL);
  seed(st);
  CHECK_EQ_INT(st->begin(st->ctx), REBATCH_OK);
  for (i = 0; i < 200; i++) {
    snprintf(id, sizeof id, "g%03d", i);
    CHECK(fail_each_allocation(st, op_insert_indexed) > 0);
    /* make room for the next round under a new id */
    CHECK_EQ_INT(st->remove(st->ctx, "job", "e", 1), REBATCH_OK);
    CHECK_EQ_INT(put1(st, "job", id, "state", "new"), REBATCH_OK);
  }
  CHECK_EQ_INT(st->rollback(st->ctx), REBATCH_OK);
  close_store(st);
  CHECK_EQ_INT(live, 0);
  oom_restore();
}

/* Memory-store property: an index value nobody holds any more is freed,
 * so unique values (instance ids, ...) do not pile up. */
TEST(removed_values_give_their_memory_back) {
  rebatch_store *st;
  rebatch_index_entry ix[] = {{"state", "u1"}, {"state", "u1"},
                              {"owner", "u2"}};
  long baseline;
  int rev = 0;
  oom_install();
  st = open_store();
  REQUIRE(st != NULL);
  seed(st);
  baseline = live;
  CHECK_EQ_INT(put(st, "job", "u", "{}", 0, ix, 3, &rev), REBATCH_OK);
  CHECK_EQ_INT(put(st, "job", "u", "{}", rev, ix + 1, 2, &rev), REBATCH_OK);
  CHECK_EQ_INT(st->remove(st->ctx, "job", "u", rev), REBATCH_OK);
  CHECK_EQ_INT(live, baseline);
  close_store(st);
  CHECK_EQ_INT(live, 0);
  oom_restore();
}

TEST(out_of_memory_in_new_and_dump_returns_null) {
  rebatch_store *st = NULL;
  char *text = NULL;
  long n;
  oom_install();
  for (n = 1; n < 100 && !st; n++) {
    arm(n);
    st = open_store();
    arm(0);
  }
  REQUIRE(st != NULL);
  seed(st);
  for (n = 1; n < 1000 && !text; n++) {
    arm(n);
    text = dump_store(st);
    arm(0);
  }
  CHECK(n > 2);
  CHECK(text != NULL);
  rebatch_free(text);
  close_store(st);
  CHECK_EQ_INT(live, 0);
  oom_restore();
}
