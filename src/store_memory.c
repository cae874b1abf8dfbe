/*
 * store_memory.c - the built-in in-memory store (rebatch_memory_store_new).
 *
 * Layout
 *   store       -> collections, hashed by name
 *   collection  -> records, hashed by id (get/put/remove in O(1))
 *               -> the same records in an AVL tree by id (ordered paging)
 *               -> indexed fields, hashed by name
 *   field       -> postings, hashed by value
 *   posting     -> AVL tree, by record id, of the index entries that hold
 *                  this value (ordered paging for find)
 *
 * Every hash and tree link is intrusive: the nodes live inside records and
 * index entries, so linking and unlinking never allocate. put and remove do
 * all their allocation first and only then mutate, with steps that cannot
 * fail. That gives the contract's two guarantees: a NOMEM leaves the store as
 * it was, and rollback (which only relinks and frees) cannot fail.
 *
 * Transactions keep an undo log. Data a transaction replaces or removes is
 * not freed while it is open; the log keeps it, so rollback puts the very
 * same objects back, and commit frees them. Index postings are reference
 * counted by the entries that point at them, live or in the log, so a
 * posting a rollback needs is still there.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cJSON.h"
#include "rebatch.h"

#define CONTAINER(ptr, type, member) \
  ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* ------------------------------------------------------------------------ */
/* Intrusive chained hash table keyed by strings.                           */
/* ------------------------------------------------------------------------ */

typedef struct hnode {
  struct hnode *next;
  size_t hash;
  const char *key; /* points into the object that embeds the node */
} hnode;

typedef struct htab {
  hnode **buckets; /* NULL until the first reserve */
  size_t mask;     /* bucket count - 1; the count is a power of two */
  size_t count;
} htab;

/* FNV-1a: short ids, cheap, and good enough spread for power-of-two masks
 * once the high bits are folded in. */
static size_t hash_str(const char *s) {
  unsigned long long h = 14695981039346656037ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return (size_t)(h ^ (h >> 29));
}

static hnode *htab_find(const htab *t, const char *key, size_t hash) {
  hnode *n;
  if (!t->buckets) return NULL;
  for (n = t->buckets[hash & t->mask]; n; n = n->next)
    if (n->hash == hash && strcmp(n->key, key) == 0) return n;
  return NULL;
}

/* Makes room for one more node so that the htab_link that follows never
 * has to allocate. Growing does not change what the table holds, so it is
 * harmless when the operation that asked for it fails later. */
static int htab_reserve(htab *t) {
  size_t size, i;
  hnode **buckets;
  if (t->buckets && t->count <= t->mask) return REBATCH_OK;
  size = t->buckets ? (t->mask + 1) * 2 : 16;
  buckets = rb_calloc(size, sizeof *buckets);
  if (!buckets) return REBATCH_NOMEM;
  for (i = 0; t->buckets && i <= t->mask; i++) {
    hnode *n = t->buckets[i], *next;
    for (; n; n = next) {
      next = n->next;
      n->next = buckets[n->hash & (size - 1)];
      buckets[n->hash & (size - 1)] = n;
    }
  }
  rb_free(t->buckets);
  t->buckets = buckets;
  t->mask = size - 1;
  return REBATCH_OK;
}

/* Needs buckets (a reserve, now or before the node was unlinked); a table
 * over its load factor still works, which is what lets rollback relink. */
static void htab_link(htab *t, hnode *n) {
  hnode **head = &t->buckets[n->hash & t->mask];
  n->next = *head;
  *head = n;
  t->count++;
}

static void htab_unlink(htab *t, hnode *n) {
  hnode **p = &t->buckets[n->hash & t->mask];
  while (*p != n) p = &(*p)->next;
  *p = n->next;
  t->count--;
}

/* ------------------------------------------------------------------------ */
/* Intrusive AVL tree ordered by strcmp of the node keys (unique keys).     */
/* ------------------------------------------------------------------------ */

typedef struct tnode {
  struct tnode *left, *right;
  const char *key;
  /* the key's first 8 bytes, big-endian, zero padded (t_key_prefix): most
   * comparisons end there, without reading the key, which for index
   * entries lives in another allocation */
  unsigned long long prefix;
  int height;
} tnode;

static unsigned long long t_key_prefix(const char *key) {
  unsigned long long prefix = 0;
  int i = 0;
  for (; i < 8 && key[i]; i++) prefix = prefix << 8 | (unsigned char)key[i];
  return i ? prefix << 8 * (8 - i) : 0; /* a shift by 64 would be undefined */
}

static void t_set_key(tnode *n, const char *key) {
  n->key = key;
  n->prefix = t_key_prefix(key);
}

/* strcmp order. Equal prefixes with a zero last byte mean the keys ended
 * within them, equally. */
static int t_compare(const tnode *a, const tnode *b) {
  if (a->prefix != b->prefix) return a->prefix < b->prefix ? -1 : 1;
  if (!(a->prefix & 0xff)) return 0;
  return strcmp(a->key + 8, b->key + 8);
}

static int t_height(const tnode *n) { return n ? n->height : 0; }

static void t_update(tnode *n) {
  int l = t_height(n->left), r = t_height(n->right);
  n->height = 1 + (l > r ? l : r);
}

static tnode *t_rotate_right(tnode *n) {
  tnode *l = n->left;
  n->left = l->right;
  l->right = n;
  t_update(n);
  t_update(l);
  return l;
}

static tnode *t_rotate_left(tnode *n) {
  tnode *r = n->right;
  n->right = r->left;
  r->left = n;
  t_update(n);
  t_update(r);
  return r;
}

static tnode *t_balance(tnode *n) {
  int diff;
  t_update(n);
  diff = t_height(n->left) - t_height(n->right);
  if (diff > 1) {
    if (t_height(n->left->left) < t_height(n->left->right))
      n->left = t_rotate_left(n->left);
    return t_rotate_right(n);
  }
  if (diff < -1) {
    if (t_height(n->right->right) < t_height(n->right->left))
      n->right = t_rotate_right(n->right);
    return t_rotate_left(n);
  }
  return n;
}

static tnode *t_insert(tnode *root, tnode *n) {
  if (!root) {
    n->left = n->right = NULL;
    n->height = 1;
    return n;
  }
  if (t_compare(n, root) < 0)
    root->left = t_insert(root->left, n);
  else
    root->right = t_insert(root->right, n);
  return t_balance(root);
}

/* Detaches the leftmost node of a non-empty tree into *min. */
static tnode *t_remove_min(tnode *root, tnode **min) {
  if (!root->left) {
    *min = root;
    return root->right;
  }
  root->left = t_remove_min(root->left, min);
  return t_balance(root);
}

/* Removes node n (by identity, found through its key). The successor node
 * takes n's place instead of copying keys, because nodes are intrusive. */
static tnode *t_remove(tnode *root, const tnode *n) {
  tnode *min, *right;
  if (!root) return NULL;
  if (root != n) {
    if (t_compare(n, root) < 0)
      root->left = t_remove(root->left, n);
    else
      root->right = t_remove(root->right, n);
    return t_balance(root);
  }
  if (!root->right) return root->left;
  right = t_remove_min(root->right, &min);
  min->left = root->left;
  min->right = right;
  return t_balance(min);
}

/* Puts node n where node old is (found through its key, which n shares):
 * one descent and no rebalancing, where a remove and an insert would take
 * two of each. */
static tnode *t_replace(tnode *root, const tnode *old, tnode *n) {
  tnode **link = &root;
  while (*link != old)
    link = t_compare(old, *link) < 0 ? &(*link)->left : &(*link)->right;
  n->left = old->left;
  n->right = old->right;
  n->height = old->height;
  n->prefix = old->prefix;
  *link = n;
  return root;
}

/* In-order iteration from the first key greater than `after`. The stack
 * holds part of one root-to-leaf path; an AVL tree of 2^60 nodes is less
 * than 90 deep. */
#define T_STACK 96

typedef struct tcursor {
  tnode *stack[T_STACK];
  int depth;
} tcursor;

static void t_seek(tcursor *c, tnode *root, const char *after) {
  tnode bound;
  if (after) t_set_key(&bound, after);
  c->depth = 0;
  while (root) {
    if (!after || t_compare(root, &bound) > 0) {
      c->stack[c->depth++] = root;
      root = root->left;
    } else {
      root = root->right;
    }
  }
}

static tnode *t_next(tcursor *c) {
  tnode *n, *m;
  if (!c->depth) return NULL;
  n = c->stack[--c->depth];
  for (m = n->right; m; m = m->left) c->stack[c->depth++] = m;
  return n;
}

/* ------------------------------------------------------------------------ */
/* Store objects.                                                           */
/* ------------------------------------------------------------------------ */

typedef struct mem_field {
  hnode h;       /* in coll->fields, key = name */
  htab postings; /* value -> mem_posting */
  char name[];
} mem_field;

typedef struct mem_posting {
  hnode h;         /* in field->postings, key = value */
  tnode *entries;  /* mem_entry.node, by record id */
  size_t refs;     /* entries pointing here, linked or held by the undo log */
  mem_field *field;
  char value[];
} mem_posting;

struct mem_record;

/* One indexed value of one record. */
typedef struct mem_entry {
  tnode node; /* in posting->entries, key = record id */
  mem_posting *posting;
  struct mem_record *rec;
} mem_entry;

/* A record's whole index set, one allocation. */
typedef struct mem_iset {
  int count;
  mem_entry entries[];
} mem_iset;

typedef struct mem_record {
  hnode h;        /* in coll->records, key = id */
  tnode node;     /* in coll->ids, key = id */
  char *json;
  int rev;
  mem_iset *iset; /* NULL when the record has no indexed values */
  char id[];
} mem_record;

typedef struct mem_coll {
  hnode h;      /* in store->colls, key = name */
  htab records; /* id -> mem_record */
  tnode *ids;   /* the same records in id order */
  htab fields;  /* name -> mem_field */
  char name[];
} mem_coll;

enum { UNDO_INSERT, UNDO_UPDATE, UNDO_REWRITE, UNDO_REMOVE };

/* How to take back one write. INSERT: rec is linked, drop it. UPDATE: rec
 * is linked, json/rev/iset are its state before. REWRITE: an update that
 * kept the record's index set, json/rev are its state before. REMOVE: rec
 * is detached but intact, link it again. */
typedef struct mem_undo {
  int kind;
  mem_coll *coll;
  mem_record *rec;
  char *json;
  int rev;
  mem_iset *iset;
} mem_undo;

typedef struct mem_store {
  rebatch_store vt; /* what rebatch_memory_store_new hands out */
  htab colls;
  int in_tx;
  int in_savepoint;
  mem_undo *undo;
  size_t undo_count, undo_cap;
  size_t savepoint; /* the undo log's length when the savepoint was opened */
  char errmsg[256];
} mem_store;

/* Records the message errmsg() reports and passes the code through. */
__attribute__((format(printf, 3, 4))) static int fail(mem_store *s, int rc,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
  va_end(ap);
  return rc;
}

static int nomem(mem_store *s) {
  return fail(s, REBATCH_NOMEM, "out of memory");
}

/* Allocates a zeroed object that ends in a flexible char array at
 * `name_off`, copies name there and makes it the key of the hash node at
 * `hnode_off`: one allocation per named object. */
static void *named_new(size_t name_off, size_t hnode_off, const char *name,
                       size_t hash) {
  size_t len = strlen(name);
  char *obj = rb_calloc(1, name_off + len + 1);
  hnode *h;
  if (!obj) return NULL;
  memcpy(obj + name_off, name, len + 1);
  h = (hnode *)(void *)(obj + hnode_off);
  h->key = obj + name_off;
  h->hash = hash;
  return obj;
}

/* ---- collections, fields, postings -------------------------------------- */

static mem_coll *coll_find(const mem_store *s, const char *name) {
  hnode *h = htab_find(&s->colls, name, hash_str(name));
  return h ? CONTAINER(h, mem_coll, h) : NULL;
}

/* Collections are created by their first put and live until the store is
 * freed; an empty one is invisible (dump skips it), so a failed or rolled
 * back put that created one leaves nothing observable. */
static int coll_obtain(mem_store *s, const char *name, mem_coll **out) {
  size_t hash = hash_str(name);
  hnode *h = htab_find(&s->colls, name, hash);
  mem_coll *c;
  if (h) {
    *out = CONTAINER(h, mem_coll, h);
    return REBATCH_OK;
  }
  if (htab_reserve(&s->colls) != REBATCH_OK) return REBATCH_NOMEM;
  c = named_new(offsetof(mem_coll, name), offsetof(mem_coll, h), name, hash);
  if (!c) return REBATCH_NOMEM;
  htab_link(&s->colls, &c->h);
  *out = c;
  return REBATCH_OK;
}

static mem_field *field_find(const mem_coll *c, const char *name) {
  hnode *h = htab_find(&c->fields, name, hash_str(name));
  return h ? CONTAINER(h, mem_field, h) : NULL;
}

/* Like collections, fields stay once created: there are a handful per
 * collection, and keeping them means a rollback never needs one back. */
static int field_obtain(mem_coll *c, const char *name, mem_field **out) {
  size_t hash = hash_str(name);
  hnode *h = htab_find(&c->fields, name, hash);
  mem_field *f;
  if (h) {
    *out = CONTAINER(h, mem_field, h);
    return REBATCH_OK;
  }
  if (htab_reserve(&c->fields) != REBATCH_OK) return REBATCH_NOMEM;
  f = named_new(offsetof(mem_field, name), offsetof(mem_field, h), name, hash);
  if (!f) return REBATCH_NOMEM;
  htab_link(&c->fields, &f->h);
  *out = f;
  return REBATCH_OK;
}

static mem_posting *posting_find(const mem_field *f, const char *value) {
  hnode *h = htab_find(&f->postings, value, hash_str(value));
  return h ? CONTAINER(h, mem_posting, h) : NULL;
}

/* Finds or creates the posting and takes a reference on it. */
static int posting_acquire(mem_field *f, const char *value,
                           mem_posting **out) {
  size_t hash = hash_str(value);
  hnode *h = htab_find(&f->postings, value, hash);
  mem_posting *p;
  if (h) {
    p = CONTAINER(h, mem_posting, h);
  } else {
    if (htab_reserve(&f->postings) != REBATCH_OK) return REBATCH_NOMEM;
    p = named_new(offsetof(mem_posting, value),
                  offsetof(mem_posting, h), value, hash);
    if (!p) return REBATCH_NOMEM;
    p->field = f;
    htab_link(&f->postings, &p->h);
  }
  p->refs++;
  *out = p;
  return REBATCH_OK;
}

/* Postings go when the last entry naming the value does, so unique values
 * (instance ids, ...) do not pile up. */
static void posting_release(mem_posting *p) {
  if (--p->refs) return;
  htab_unlink(&p->field->postings, &p->h);
  rb_free(p);
}

/* ---- index sets --------------------------------------------------------- */

static void iset_release(mem_iset *set) {
  int i;
  if (!set) return;
  for (i = 0; i < set->count; i++) posting_release(set->entries[i].posting);
  rb_free(set);
}

static int iset_holds(const mem_iset *set, const mem_posting *p) {
  int i;
  for (i = 0; i < set->count; i++)
    if (set->entries[i].posting == p) return 1;
  return 0;
}

/* Builds the index set a put declares, holding references on its postings
 * but not yet linked into them. NULL values are not indexed; a repeated
 * (field, value) pair counts once. *out stays NULL when nothing is indexed. */
static int iset_build(mem_coll *c, const rebatch_index_entry *index, int n,
                      mem_iset **out) {
  mem_iset *set;
  int i, values = 0;
  *out = NULL;
  for (i = 0; i < n; i++) values += index[i].value != NULL;
  if (!values) return REBATCH_OK;
  set = rb_malloc(sizeof *set + (size_t)values * sizeof set->entries[0]);
  if (!set) return REBATCH_NOMEM;
  set->count = 0;
  for (i = 0; i < n; i++) {
    mem_field *f;
    mem_posting *p;
    if (!index[i].value) continue;
    if (field_obtain(c, index[i].field, &f) != REBATCH_OK ||
        posting_acquire(f, index[i].value, &p) != REBATCH_OK) {
      iset_release(set);
      return REBATCH_NOMEM;
    }
    if (iset_holds(set, p)) {
      posting_release(p);
      continue;
    }
    set->entries[set->count].posting = p;
    set->entries[set->count].rec = NULL;
    set->count++;
  }
  *out = set;
  return REBATCH_OK;
}

/* Whether a put declares the index set a record already has, value by value
 * in the same order (callers build their entries in a fixed order; any
 * other difference just rebuilds the set). Most updates change no indexed
 * value, and keeping the entries linked spares their trees a remove and an
 * insert each. */
static int iset_same(const mem_iset *set, const rebatch_index_entry *index,
                     int n) {
  int i, k = 0, count = set ? set->count : 0;
  for (i = 0; i < n; i++) {
    const mem_posting *p;
    if (!index[i].value) continue;
    if (k == count) return 0;
    p = set->entries[k++].posting;
    if (strcmp(p->value, index[i].value) != 0 ||
        strcmp(p->field->name, index[i].field) != 0)
      return 0;
  }
  return k == count;
}

static void iset_link(mem_iset *set, mem_record *r) {
  int i;
  for (i = 0; set && i < set->count; i++) {
    mem_entry *e = &set->entries[i];
    e->rec = r;
    e->node.key = r->id;
    e->node.prefix = r->node.prefix;
    e->posting->entries = t_insert(e->posting->entries, &e->node);
  }
}

static void iset_unlink(mem_iset *set) {
  int i;
  for (i = 0; set && i < set->count; i++) {
    mem_entry *e = &set->entries[i];
    e->posting->entries = t_remove(e->posting->entries, &e->node);
  }
}

/* Moves a record's index entries from set `from` (linked) to set `to`: an
 * entry on a posting both sets hold takes the old entry's place in its
 * tree; the others are inserted or removed. An update mostly changes one
 * indexed value of several, and the postings it keeps can be large. */
static void iset_swap(mem_iset *from, mem_iset *to, mem_record *r) {
  unsigned long long replaced = 0;
  int i, k, from_count = from ? from->count : 0;
  if (from_count > 64) {
    iset_unlink(from);
    iset_link(to, r);
    return;
  }
  for (i = 0; to && i < to->count; i++) {
    mem_entry *e = &to->entries[i];
    e->rec = r;
    e->node.key = r->id;
    e->node.prefix = r->node.prefix;
    for (k = 0; k < from_count && from->entries[k].posting != e->posting; k++) {}
    if (k < from_count) {
      e->posting->entries = t_replace(e->posting->entries, &from->entries[k].node, &e->node);
      replaced |= 1ull << k;
    } else {
      e->posting->entries = t_insert(e->posting->entries, &e->node);
    }
  }
  for (k = 0; k < from_count; k++) {
    mem_entry *e = &from->entries[k];
    if (!(replaced >> k & 1)) e->posting->entries = t_remove(e->posting->entries, &e->node);
  }
}

/* ---- records ------------------------------------------------------------ */

static mem_record *record_find(const mem_coll *c, const char *id) {
  hnode *h = htab_find(&c->records, id, hash_str(id));
  return h ? CONTAINER(h, mem_record, h) : NULL;
}

static void record_link(mem_coll *c, mem_record *r) {
  htab_link(&c->records, &r->h);
  c->ids = t_insert(c->ids, &r->node);
  iset_link(r->iset, r);
}

static void record_unlink(mem_coll *c, mem_record *r) {
  htab_unlink(&c->records, &r->h);
  c->ids = t_remove(c->ids, &r->node);
  iset_unlink(r->iset);
}

static void record_free(mem_record *r) {
  rb_free(r->json);
  iset_release(r->iset);
  rb_free(r);
}

/* ---- undo log ----------------------------------------------------------- */

/* Called before a write mutates anything, so logging it cannot fail. */
static int undo_reserve(mem_store *s) {
  size_t cap;
  mem_undo *log;
  if (!s->in_tx || s->undo_count < s->undo_cap) return REBATCH_OK;
  cap = s->undo_cap ? s->undo_cap * 2 : 64;
  log = rb_realloc(s->undo, cap * sizeof *log);
  if (!log) return REBATCH_NOMEM;
  s->undo = log;
  s->undo_cap = cap;
  return REBATCH_OK;
}

static void undo_push(mem_store *s, int kind, mem_coll *c, mem_record *r,
                      char *json, int rev, mem_iset *set) {
  mem_undo *u = &s->undo[s->undo_count++];
  u->kind = kind;
  u->coll = c;
  u->rec = r;
  u->json = json;
  u->rev = rev;
  u->iset = set;
}

static void undo_apply(mem_undo *u) {
  mem_record *r = u->rec;
  switch (u->kind) {
    case UNDO_INSERT:
      record_unlink(u->coll, r);
      record_free(r);
      break;
    case UNDO_REWRITE:
      rb_free(r->json);
      r->json = u->json;
      r->rev = u->rev;
      break;
    case UNDO_UPDATE:
      iset_swap(r->iset, u->iset, r);
      iset_release(r->iset);
      rb_free(r->json);
      r->json = u->json;
      r->rev = u->rev;
      r->iset = u->iset;
      break;
    default: /* UNDO_REMOVE */
      record_link(u->coll, r);
      break;
  }
}

/* Frees what the log kept alive once the transaction can no longer need it. */
static void undo_discard(mem_undo *u) {
  if (u->kind == UNDO_UPDATE || u->kind == UNDO_REWRITE) {
    rb_free(u->json);
    iset_release(u->iset);
  } else if (u->kind == UNDO_REMOVE) {
    record_free(u->rec);
  }
}

/* ------------------------------------------------------------------------ */
/* The rebatch_store callbacks.                                             */
/* ------------------------------------------------------------------------ */

static int mem_begin(void *ctx) {
  mem_store *s = ctx;
  if (s->in_tx)
    return fail(s, REBATCH_MISUSE, "begin inside a transaction");
  s->in_tx = 1;
  s->undo_count = 0;
  return REBATCH_OK;
}

static int mem_commit(void *ctx) {
  mem_store *s = ctx;
  size_t i;
  if (!s->in_tx)
    return fail(s, REBATCH_MISUSE, "commit outside a transaction");
  for (i = 0; i < s->undo_count; i++) undo_discard(&s->undo[i]);
  s->undo_count = 0;
  s->in_tx = s->in_savepoint = 0;
  return REBATCH_OK;
}

/* Newest first: each step finds the store exactly as its write left it. */
static int mem_rollback(void *ctx) {
  mem_store *s = ctx;
  if (!s->in_tx)
    return fail(s, REBATCH_MISUSE, "rollback outside a transaction");
  while (s->undo_count) undo_apply(&s->undo[--s->undo_count]);
  s->in_tx = s->in_savepoint = 0;
  return REBATCH_OK;
}

/* A savepoint is a mark in the undo log: rolling back to it applies the
 * entries after the mark, newest first, as mem_rollback applies all. */
static int mem_savepoint(void *ctx) {
  mem_store *s = ctx;
  if (!s->in_tx || s->in_savepoint)
    return fail(s, REBATCH_MISUSE, "savepoint outside a transaction or inside another savepoint");
  s->in_savepoint = 1;
  s->savepoint = s->undo_count;
  return REBATCH_OK;
}

static int mem_release(void *ctx) {
  mem_store *s = ctx;
  if (!s->in_savepoint) return fail(s, REBATCH_MISUSE, "release without a savepoint");
  s->in_savepoint = 0;
  return REBATCH_OK;
}

static int mem_rollback_to(void *ctx) {
  mem_store *s = ctx;
  if (!s->in_savepoint) return fail(s, REBATCH_MISUSE, "rollback_to without a savepoint");
  while (s->undo_count > s->savepoint) undo_apply(&s->undo[--s->undo_count]);
  s->in_savepoint = 0;
  return REBATCH_OK;
}

static int mem_get(void *ctx, const char *collection, const char *id,
                   rebatch_rows *out) {
  mem_store *s = ctx;
  mem_coll *c;
  mem_record *r;
  if (!collection || !id || !out)
    return fail(s, REBATCH_MISUSE, "get: NULL argument");
  c = coll_find(s, collection);
  r = c ? record_find(c, id) : NULL;
  if (!r) return REBATCH_OK;
  if (rebatch_rows_add(out, r->id, r->json, r->rev) != REBATCH_OK)
    return nomem(s);
  return REBATCH_OK;
}

static int put_check(mem_store *s, const char *collection, const char *id,
                     const char *json, int expected_rev,
                     const rebatch_index_entry *index, int index_count,
                     const int *new_rev) {
  int i;
  if (!collection || !id || !json || !new_rev || expected_rev < 0 ||
      index_count < 0 || (index_count && !index))
    return fail(s, REBATCH_MISUSE, "put: bad argument");
  for (i = 0; i < index_count; i++)
    if (!index[i].field)
      return fail(s, REBATCH_MISUSE, "put %s/%s: index entry without field",
                  collection, id);
  return REBATCH_OK;
}

/* Everything a put allocates, made before the store changes. */
typedef struct put_plan {
  int keep_index; /* an update that leaves the record's index set as is */
  mem_iset *iset;
  char *json;
  mem_record *rec; /* a new record, for inserts */
} put_plan;

static int put_prepare(mem_store *s, mem_coll *c, const char *id,
                       const char *json, const mem_record *existing,
                       const rebatch_index_entry *index, int index_count,
                       put_plan *plan) {
  int insert = !existing;
  memset(plan, 0, sizeof *plan);
  if (undo_reserve(s) != REBATCH_OK) return REBATCH_NOMEM;
  if (insert && htab_reserve(&c->records) != REBATCH_OK) return REBATCH_NOMEM;
  plan->keep_index = !insert && iset_same(existing->iset, index, index_count);
  if (!plan->keep_index &&
      iset_build(c, index, index_count, &plan->iset) != REBATCH_OK)
    return REBATCH_NOMEM;
  plan->json = rb_strdup(json);
  if (plan->json && insert) {
    plan->rec = named_new(offsetof(mem_record, id), offsetof(mem_record, h),
                          id, hash_str(id));
    if (plan->rec) t_set_key(&plan->rec->node, plan->rec->h.key);
  }
  if (!plan->json || (insert && !plan->rec)) {
    rb_free(plan->json);
    iset_release(plan->iset);
    return REBATCH_NOMEM;
  }
  return REBATCH_OK;
}

static void put_insert(mem_store *s, mem_coll *c, put_plan *plan) {
  mem_record *r = plan->rec;
  r->json = plan->json;
  r->rev = 1;
  r->iset = plan->iset;
  record_link(c, r);
  if (s->in_tx) undo_push(s, UNDO_INSERT, c, r, NULL, 0, NULL);
}

/* The record's index set is replaced whole (iset_swap), which is what
 * removes values absent from the new set. */
static void put_update(mem_store *s, mem_coll *c, mem_record *r,
                       put_plan *plan) {
  char *old_json = r->json;
  mem_iset *old_iset = r->iset;
  int old_rev = r->rev;
  if (plan->keep_index) {
    r->json = plan->json;
    r->rev = old_rev + 1;
    if (s->in_tx) undo_push(s, UNDO_REWRITE, c, r, old_json, old_rev, NULL);
    else rb_free(old_json);
    return;
  }
  iset_swap(old_iset, plan->iset, r);
  r->json = plan->json;
  r->rev = old_rev + 1;
  r->iset = plan->iset;
  if (s->in_tx) {
    undo_push(s, UNDO_UPDATE, c, r, old_json, old_rev, old_iset);
  } else {
    rb_free(old_json);
    iset_release(old_iset);
  }
}

static int mem_put(void *ctx, const char *collection, const char *id,
                   const char *json, int expected_rev,
                   const rebatch_index_entry *index, int index_count,
                   int *new_rev) {
  mem_store *s = ctx;
  mem_coll *c;
  mem_record *r;
  put_plan plan;
  int rc = put_check(s, collection, id, json, expected_rev, index,
                     index_count, new_rev);
  if (rc != REBATCH_OK) return rc;
  if (coll_obtain(s, collection, &c) != REBATCH_OK) return nomem(s);
  r = record_find(c, id);
  if (!r && expected_rev)
    return fail(s, REBATCH_CONFLICT, "put %s/%s: the record no longer exists",
                collection, id);
  if (r && !expected_rev)
    return fail(s, REBATCH_CONFLICT, "put %s/%s: the record already exists",
                collection, id);
  if (r && r->rev != expected_rev)
    return fail(s, REBATCH_CONFLICT,
                "put %s/%s: the record was changed by someone else",
                collection, id);
  if (r && r->rev == INT_MAX)
    return fail(s, REBATCH_ERROR, "put %s/%s: revision overflow", collection,
                id);
  if (put_prepare(s, c, id, json, r, index, index_count, &plan) != REBATCH_OK)
    return nomem(s);
  if (r)
    put_update(s, c, r, &plan);
  else
    put_insert(s, c, &plan);
  *new_rev = r ? r->rev : 1;
  return REBATCH_OK;
}

static int mem_remove(void *ctx, const char *collection, const char *id,
                      int expected_rev) {
  mem_store *s = ctx;
  mem_coll *c;
  mem_record *r;
  if (!collection || !id)
    return fail(s, REBATCH_MISUSE, "remove: NULL argument");
  c = coll_find(s, collection);
  r = c ? record_find(c, id) : NULL;
  if (!r)
    return fail(s, REBATCH_NOTFOUND, "remove %s/%s: no such record",
                collection, id);
  if (r->rev != expected_rev)
    return fail(s, REBATCH_CONFLICT,
                "remove %s/%s: the record was changed by someone else",
                collection, id);
  if (undo_reserve(s) != REBATCH_OK) return nomem(s);
  record_unlink(c, r);
  if (s->in_tx)
    undo_push(s, UNDO_REMOVE, c, r, NULL, 0, NULL);
  else
    record_free(r);
  return REBATCH_OK;
}

/* Delivers up to `limit` rows after `after_id` from a tree of records (ids)
 * or of index entries (a posting); `to_record` maps a node to its record.
 * Seeking is O(log n), so each page costs O(log n + limit). */
static int deliver(tnode *root, const char *after_id, int limit,
                   mem_record *(*to_record)(tnode *), rebatch_rows *out) {
  tcursor cur;
  tnode *n;
  int sent = 0, rc;
  t_seek(&cur, root, after_id);
  while (sent < limit && (n = t_next(&cur))) {
    mem_record *r = to_record(n);
    rc = rebatch_rows_add(out, r->id, r->json, r->rev);
    if (rc != REBATCH_OK) return rc;
    sent++;
  }
  return REBATCH_OK;
}

static mem_record *record_of_id_node(tnode *n) {
  return CONTAINER(n, mem_record, node);
}

static mem_record *record_of_entry_node(tnode *n) {
  return CONTAINER(n, mem_entry, node)->rec;
}

static int mem_find(void *ctx, const char *collection, const char *field,
                    const char *value, const char *after_id, int limit,
                    rebatch_rows *out) {
  mem_store *s = ctx;
  mem_coll *c;
  mem_field *f;
  mem_posting *p;
  int rc;
  if (!collection || !field || !value || !out || limit < 0)
    return fail(s, REBATCH_MISUSE, "find: bad argument");
  c = coll_find(s, collection);
  f = c ? field_find(c, field) : NULL;
  p = f ? posting_find(f, value) : NULL;
  if (!p) return REBATCH_OK;
  rc = deliver(p->entries, after_id, limit, record_of_entry_node, out);
  return rc == REBATCH_NOMEM ? nomem(s) : rc;
}

static int mem_scan(void *ctx, const char *collection, const char *after_id,
                    int limit, rebatch_rows *out) {
  mem_store *s = ctx;
  mem_coll *c;
  int rc;
  if (!collection || !out || limit < 0)
    return fail(s, REBATCH_MISUSE, "scan: bad argument");
  c = coll_find(s, collection);
  if (!c) return REBATCH_OK;
  rc = deliver(c->ids, after_id, limit, record_of_id_node, out);
  return rc == REBATCH_NOMEM ? nomem(s) : rc;
}

static const char *mem_errmsg(void *ctx) {
  mem_store *s = ctx;
  return s->errmsg[0] ? s->errmsg : NULL;
}

/* ------------------------------------------------------------------------ */
/* Creation, destruction, dump.                                             */
/* ------------------------------------------------------------------------ */

rebatch_store *rebatch_memory_store_new(void) {
  mem_store *s = rb_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->vt.version = 2; /* no find_ordered (version 3) yet: acquisition walks */
  s->vt.ctx = s;
  s->vt.begin = mem_begin;
  s->vt.commit = mem_commit;
  s->vt.rollback = mem_rollback;
  s->vt.get = mem_get;
  s->vt.put = mem_put;
  s->vt.remove = mem_remove;
  s->vt.find = mem_find;
  s->vt.scan = mem_scan;
  s->vt.errmsg = mem_errmsg;
  s->vt.savepoint = mem_savepoint;
  s->vt.release = mem_release;
  s->vt.rollback_to = mem_rollback_to;
  return &s->vt;
}

/* Calls fn on every node of a table; fn may free the node's object. */
static void htab_each(htab *t, void (*fn)(hnode *)) {
  size_t i;
  for (i = 0; t->buckets && i <= t->mask; i++) {
    hnode *n = t->buckets[i], *next;
    for (; n; n = next) {
      next = n->next;
      fn(n);
    }
  }
}

/* Teardown frees objects directly rather than unlinking them one by one. */
static void free_record_node(hnode *h) {
  mem_record *r = CONTAINER(h, mem_record, h);
  rb_free(r->json);
  rb_free(r->iset);
  rb_free(r);
}

static void free_posting_node(hnode *h) {
  rb_free(CONTAINER(h, mem_posting, h));
}

static void free_field_node(hnode *h) {
  mem_field *f = CONTAINER(h, mem_field, h);
  htab_each(&f->postings, free_posting_node);
  rb_free(f->postings.buckets);
  rb_free(f);
}

static void free_coll_node(hnode *h) {
  mem_coll *c = CONTAINER(h, mem_coll, h);
  htab_each(&c->records, free_record_node);
  rb_free(c->records.buckets);
  htab_each(&c->fields, free_field_node);
  rb_free(c->fields.buckets);
  rb_free(c);
}

void rebatch_memory_store_free(rebatch_store *store) {
  mem_store *s;
  if (!store) return;
  s = store->ctx;
  /* An open transaction's log owns detached data; rolling back puts it
   * where the teardown below finds it. */
  if (s->in_tx) mem_rollback(s);
  htab_each(&s->colls, free_coll_node);
  rb_free(s->colls.buckets);
  rb_free(s->undo);
  rb_free(s);
}

static int cmp_coll_names(const void *a, const void *b) {
  const mem_coll *x = *(mem_coll *const *)a, *y = *(mem_coll *const *)b;
  return strcmp(x->name, y->name);
}

/* Non-empty collections sorted by name, in a fresh array of *count. */
static mem_coll **sorted_colls(const mem_store *s, size_t *count) {
  mem_coll **list = rb_malloc((s->colls.count + 1) * sizeof *list);
  size_t i, n = 0;
  if (!list) return NULL;
  for (i = 0; s->colls.buckets && i <= s->colls.mask; i++) {
    hnode *h;
    for (h = s->colls.buckets[i]; h; h = h->next) {
      mem_coll *c = CONTAINER(h, mem_coll, h);
      if (c->ids) list[n++] = c;
    }
  }
  qsort(list, n, sizeof *list, cmp_coll_names);
  *count = n;
  return list;
}

/* The dump is written in two passes over the same code: the first (out
 * NULL) only counts, so the text is allocated once, at its final size, and
 * records are copied verbatim rather than parsed: a parsed copy of a large
 * store would need several times its memory. */
typedef struct dump_out {
  char *p;
  size_t len;
} dump_out;

static void dump_put(dump_out *o, const char *s, size_t n) {
  if (o->p) memcpy(o->p + o->len, s, n);
  o->len += n;
}
#define DUMP_LITERAL(o, lit) dump_put(o, lit, sizeof lit - 1)

/* A JSON string as JSON.stringify writes it (the JS store's dump). */
static void dump_name(dump_out *o, const char *s) {
  static const char hex[] = "0123456789abcdef";
  dump_put(o, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[6] = {'\\', 'u', '0', '0', 0, 0};
    if (c >= 0x20 && c != '"' && c != '\\') {
      dump_put(o, s, 1);
      continue;
    }
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      dump_put(o, esc, 6);
      continue;
    }
    dump_put(o, esc, 2);
  }
  dump_put(o, "\"", 1);
}

static void dump_coll(dump_out *o, const mem_coll *c) {
  tcursor cur;
  tnode *n;
  char rev[24];
  int first = 1;
  dump_name(o, c->name);
  dump_put(o, ":{", 2);
  t_seek(&cur, c->ids, NULL);
  while ((n = t_next(&cur))) {
    mem_record *r = record_of_id_node(n);
    if (!first) dump_put(o, ",", 1);
    first = 0;
    dump_name(o, r->id);
    DUMP_LITERAL(o, ":{\"rev\":");
    dump_put(o, rev, (size_t)snprintf(rev, sizeof rev, "%d", r->rev));
    DUMP_LITERAL(o, ",\"record\":");
    dump_put(o, r->json, strlen(r->json));
    dump_put(o, "}", 1);
  }
  dump_put(o, "}", 1);
}

static void dump_store(dump_out *o, mem_coll **colls, size_t n) {
  dump_put(o, "{", 1);
  for (size_t i = 0; i < n; i++) {
    if (i) dump_put(o, ",", 1);
    dump_coll(o, colls[i]);
  }
  dump_put(o, "}", 1);
}

char *rebatch_memory_store_dump(const rebatch_store *store) {
  mem_coll **colls;
  dump_out o = {NULL, 0};
  size_t n;
  if (!store) return NULL;
  colls = sorted_colls(store->ctx, &n);
  if (!colls) return NULL;
  dump_store(&o, colls, n);
  o.p = rb_malloc(o.len + 1);
  if (o.p) {
    o.len = 0;
    dump_store(&o, colls, n);
    o.p[o.len] = '\0';
  }
  rb_free(colls);
  return o.p;
}
