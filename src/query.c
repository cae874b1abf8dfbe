/*
 * query.c - Camunda style list queries: filter parameters from the URL or a
 * JSON body, sorting, paging. Each resource describes its parameters in a
 * table (rb_query); this file does the rest the same way for all of them.
 */
#include "core.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cJSON *rb_param(const cJSON *request, const char *name) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const cJSON *query = cJSON_GetObjectItemCaseSensitive(request, "query");
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, name);
  if (item && !cJSON_IsNull(item)) return item;
  item = cJSON_GetObjectItemCaseSensitive(query, name);
  return item && !cJSON_IsNull(item) ? item : NULL;
}

static int same_char(char a, char b, int fold) {
  return a == b || (fold && tolower((unsigned char)a) == tolower((unsigned char)b));
}

/* SQL LIKE: % any run, _ any one character; fold: ignoring (ASCII) case. */
static int like(const char *value, const char *pattern, int fold) {
  if (!value) return 0;
  while (*pattern) {
    if (*pattern == '%') {
      while (*pattern == '%') pattern++;
      if (!*pattern) return 1;
      for (; *value; value++)
        if (like(value, pattern, fold)) return 1;
      return 0;
    }
    if (!*value || (*pattern != '_' && !same_char(*pattern, *value, fold))) return 0;
    pattern++;
    value++;
  }
  return !*value;
}

int rb_like(const char *value, const char *pattern) { return like(value, pattern, 0); }

int rb_like_fold(const char *value, const char *pattern, int fold) {
  return like(value, pattern, fold);
}

/* strcmp, optionally ignoring (ASCII) case. */
static int text_compare(const char *a, const char *b, int fold) {
  if (!fold) return strcmp(a, b);
  for (; *a && same_char(*a, *b, 1); a++, b++) {}
  return tolower((unsigned char)*a) - tolower((unsigned char)*b);
}

int rb_text_compare(const char *a, const char *b, int fold) { return text_compare(a, b, fold); }

/* Predicates several resources share. */
int rb_pred_suspended(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e; (void)arg;
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "suspended"));
}

int rb_pred_active(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  return !rb_pred_suspended(e, r, arg);
}

int rb_pred_without_tenant(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e; (void)arg;
  return rb_str(r, "tenantId") == NULL;
}

int rb_number_bounded(const cJSON *r, const char *field, const cJSON *bound, int at_least) {
  double value = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, field)), limit;
  if (cJSON_IsNumber(bound)) limit = bound->valuedouble;
  else if (cJSON_IsString(bound)) limit = atof(bound->valuestring);
  else return 0;
  return at_least ? value >= limit : value <= limit;
}

int rb_pred_priority_at_least(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e;
  return rb_number_bounded(r, "priority", arg, 1);
}

int rb_pred_priority_at_most(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e;
  return rb_number_bounded(r, "priority", arg, 0);
}

/* For filters naming things rebatch does not have (sub instances, cases). */
int rb_pred_nothing(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e; (void)r; (void)arg;
  return 0;
}

/* For flags every rebatch record satisfies (root and leaf instances). */
int rb_pred_everything(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  (void)e; (void)r; (void)arg;
  return 1;
}

int rb_list_contains(const cJSON *list, const char *value) {
  if (!value) return 0;
  if (cJSON_IsArray(list)) {
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
      if (cJSON_IsString(item) && strcmp(item->valuestring, value) == 0) return 1;
    return 0;
  }
  if (cJSON_IsString(list)) {
    size_t n = strlen(value);
    const char *p = list->valuestring;
    while (*p) {
      const char *end = strchr(p, ',');
      size_t len = end ? (size_t)(end - p) : strlen(p);
      if (len == n && strncmp(p, value, n) == 0) return 1;
      if (!end) break;
      p = end + 1;
    }
  }
  return 0;
}

static const char *param_text(const cJSON *item, char *buf) {
  if (cJSON_IsString(item)) return item->valuestring;
  if (cJSON_IsNumber(item)) {
    snprintf(buf, 32, "%.0f", item->valuedouble);
    return buf;
  }
  if (cJSON_IsBool(item)) return cJSON_IsTrue(item) ? "true" : "false";
  return NULL;
}

static int date_param(const rb_filter *f, const cJSON *item, double *ms,
                      rb_response *res) {
  if (rb_parse_date(item, ms) == 1) return REBATCH_OK;
  return rb_invalid(res, 400, "Cannot set query parameter '%s' to value '%s'",
                    f->param, cJSON_IsString(item) ? item->valuestring : "?");
}

/* Does the record pass one filter? Returns 1/0, or RB_REJECTED with res. */
static int passes(rebatch_engine *e, const rb_filter *f, const cJSON *item,
                  const cJSON *record, rb_response *res) {
  char buf[32];
  const char *text = param_text(item, buf);
  const char *field = f->field ? rb_str(record, f->field) : NULL;
  double ms;
  switch (f->kind) {
  case RB_F_EQ:
    return text && field && strcmp(field, text) == 0;
  case RB_F_IN:
    return rb_list_contains(item, field);
  case RB_F_LIKE:
    return text && rb_like(field, text);
  case RB_F_FLAG:
  case RB_F_VALUE:
  case RB_F_VARIABLES:
    return f->predicate(e, record, item);
  case RB_F_DATE_BEFORE:
  case RB_F_DATE_AFTER: {
    double stored = rb_date(record, f->field);
    if (date_param(f, item, &ms, res) != REBATCH_OK) return RB_REJECTED;
    if (stored < 0) return 0;
    return f->kind == RB_F_DATE_BEFORE ? stored <= ms : stored >= ms;
  }
  case RB_F_UNSUPPORTED:
    return rb_invalid(res, 400, "Query parameter '%s' is not supported by rebatch", f->param);
  }
  return 0;
}

/* An empty JSON list: the query DTOs pass only non-empty lists on (the
 * process instance ids, which they pass on, are refused before). */
static int empty_list(const cJSON *item) { return cJSON_IsArray(item) && !item->child; }

/* Parameters that take effect: present, not null, not an empty list, and
 * for flags true. */
static int active(const rb_filter *f, const cJSON *item) {
  if (!item || empty_list(item)) return 0;
  if (f->kind == RB_F_FLAG) return cJSON_IsTrue(item) || (cJSON_IsString(item) && strcmp(item->valuestring, "true") == 0);
  return 1;
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef struct rb_id_list {
  const char **ids;
  int count;
  int cap;
} rb_id_list;

static int push_id(rb_id_list *l, const char *id) {
  if (!*id) return REBATCH_OK;
  if (l->count == l->cap) {
    int cap = l->cap ? l->cap * 2 : 16;
    const char **ids = rb_realloc(l->ids, (size_t)cap * sizeof *ids);
    if (!ids) return REBATCH_NOMEM;
    l->ids = ids;
    l->cap = cap;
  }
  l->ids[l->count++] = id;
  return REBATCH_OK;
}

/* The ids an id list names (array or comma separated), in id order (store
 * order), each once. They point into list or into *copy; the caller frees
 * l->ids and *copy. */
static int listed_ids(const cJSON *list, rb_id_list *l, char **copy) {
  int rc = REBATCH_OK, kept = 0;
  memset(l, 0, sizeof *l);
  *copy = cJSON_IsString(list) ? rb_strdup(list->valuestring) : NULL;
  if (cJSON_IsString(list) && !*copy) return REBATCH_NOMEM;
  if (*copy) {
    for (char *p = *copy; rc == REBATCH_OK && p;) {
      char *comma = strchr(p, ',');
      if (comma) *comma++ = '\0';
      rc = push_id(l, p);
      p = comma;
    }
  } else {
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
      if (rc == REBATCH_OK && cJSON_IsString(item)) rc = push_id(l, item->valuestring);
  }
  if (rc != REBATCH_OK) return rc;
  if (l->count > 1) qsort(l->ids, (size_t)l->count, sizeof *l->ids, compare_strings);
  for (int i = 0; i < l->count; i++)
    if (!kept || strcmp(l->ids[kept - 1], l->ids[i]) != 0) l->ids[kept++] = l->ids[i];
  l->count = kept;
  return REBATCH_OK;
}

typedef struct rb_sorting {
  const char *field;
  int descending;
} rb_sorting;

static int sort_field(const rb_query *q, const char *name, const char **field) {
  for (const rb_sort_key *k = q->sort_keys; k && k->name; k++)
    if (strcmp(k->name, name) == 0) {
      *field = k->field;
      return 1;
    }
  return 0;
}

static int read_order(const char *order, int *descending) {
  if (strcmp(order, "asc") == 0) *descending = 0;
  else if (strcmp(order, "desc") == 0) *descending = 1;
  else return 0;
  return 1;
}

/* The body's sorting array, as applySortingOptions applies it to the
 * query: an unknown sortBy orders by nothing (no else branch upstream), an
 * unknown sortOrder sets no direction, and the query itself refuses a
 * direction with no ordering before it, a second direction for one
 * ordering, and an ordering left without one (NotValidException). */
static int read_sorting_list(const rb_query *q, const cJSON *list, rb_sorting *s, int *count,
                             rb_response *res) {
  const cJSON *entry;
  int pending = 0, directed = 0; /* the last ordering, and whether it has a direction */
  cJSON_ArrayForEach(entry, list) {
    const char *name = rb_str(entry, "sortBy"), *dir = rb_str(entry, "sortOrder");
    int descending;
    if (name && *count < 4 && sort_field(q, name, &s[*count].field)) {
      s[(*count)++].descending = 0;
      pending = 1;
      directed = 0;
    }
    if (!dir || !read_order(dir, &descending)) continue;
    if (!pending)
      return rb_error(res, 400, "NotValidException", 0, "You should call any of the orderBy methods first before "
                      "specifying a direction: currentOrderingProperty is null");
    if (directed)
      return rb_error(res, 400, "NotValidException", 0, "Invalid query: can specify only one direction desc() or asc() "
                      "for an ordering constraint: direction is not null");
    s[*count - 1].descending = descending;
    directed = 1;
  }
  if (pending && !directed)
    return rb_error(res, 400, "NotValidException", 0, "Invalid query: call asc() or desc() after using orderByXX(): direction is null");
  return REBATCH_OK;
}

/* sortBy/sortOrder (URL or body), or the body's sorting array. */
static int read_sorting(const rb_query *q, const cJSON *request, rb_sorting *s,
                        int *count, rb_response *res) {
  const cJSON *by = rb_param(request, "sortBy");
  const cJSON *order = rb_param(request, "sortOrder");
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(request, "body"), "sorting");
  *count = 0;
  if (by || order) {
    if (!by || !order)
      return rb_invalid(res, 400, "Only a single sorting parameter specified. sortBy and sortOrder required");
    /* rb_query_check refused unknown values before. */
    *count = cJSON_IsString(by) && sort_field(q, by->valuestring, &s[0].field) && cJSON_IsString(order) &&
             read_order(order->valuestring, &s[0].descending);
    return REBATCH_OK;
  }
  if (cJSON_IsArray(list)) return read_sorting_list(q, list, s, count, res);
  return REBATCH_OK;
}

static int compare_field(const cJSON *a, const cJSON *b, const char *field) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, field);
  const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, field);
  int xnull = !x || cJSON_IsNull(x), ynull = !y || cJSON_IsNull(y);
  if (xnull || ynull) return xnull - ynull > 0 ? -1 : (xnull == ynull ? 0 : 1);
  if (cJSON_IsNumber(x) && cJSON_IsNumber(y))
    return (x->valuedouble > y->valuedouble) - (x->valuedouble < y->valuedouble);
  if (cJSON_IsString(x) && cJSON_IsString(y)) return strcmp(x->valuestring, y->valuestring);
  if (cJSON_IsBool(x) && cJSON_IsBool(y)) return cJSON_IsTrue(x) - cJSON_IsTrue(y);
  return 0;
}

/* Ties fall back to the id, so every ordering is total and repeatable. */
static int compare_docs(const rb_doc *a, const rb_doc *b, const rb_sorting *s,
                        int count) {
  for (int i = 0; i < count; i++) {
    int c = compare_field(a->json, b->json, s[i].field);
    if (c) return s[i].descending ? -c : c;
  }
  return strcmp(a->id, b->id);
}

static void sort_docs(rb_docs *docs, const rb_sorting *s, int count) {
  /* Shell sort over a total order (ties broken by id) is deterministic. */
  for (int gap = docs->count / 2; gap > 0; gap /= 2)
    for (int i = gap; i < docs->count; i++) {
      rb_doc tmp = docs->items[i];
      int j = i;
      for (; j >= gap && compare_docs(&docs->items[j - gap], &tmp, s, count) > 0; j -= gap)
        docs->items[j] = docs->items[j - gap];
      docs->items[j] = tmp;
    }
}

static int flag_set(const cJSON *request, const char *name) {
  const cJSON *item = rb_param(request, name);
  return cJSON_IsTrue(item) || (cJSON_IsString(item) && strcmp(item->valuestring, "true") == 0);
}

/* What an RB_F_VARIABLES predicate gets: the conditions as given, or, when
 * the query sets variableNamesIgnoreCase / variableValuesIgnoreCase, them
 * wrapped with those flags (*wrapped then owns the wrapper). */
static int variables_arg(const cJSON *request, const cJSON *conditions,
                         const cJSON **arg, cJSON **wrapped) {
  int names = flag_set(request, "variableNamesIgnoreCase");
  int values = flag_set(request, "variableValuesIgnoreCase");
  *arg = conditions;
  *wrapped = NULL;
  if (!names && !values) return REBATCH_OK;
  if (!(*wrapped = cJSON_CreateObject()) ||
      !rb_take(*wrapped, "rebatch:conditions", cJSON_Duplicate(conditions, 1)) ||
      !rb_set_bool(*wrapped, "rebatch:namesIgnoreCase", names) ||
      !rb_set_bool(*wrapped, "rebatch:valuesIgnoreCase", values))
    return REBATCH_NOMEM;
  *arg = *wrapped;
  return REBATCH_OK;
}

/* The filters a request sets, read once per query rather than once per
 * record: each with the argument its predicate gets. */
typedef struct rb_active {
  const rb_filter *f;
  const cJSON *arg;
} rb_active;

typedef struct rb_plan {
  rb_active *active;
  int count;
  cJSON *wrapped; /* owned: the variables argument when flags wrap it */
} rb_plan;

static void plan_clear(rb_plan *p) {
  rb_free(p->active);
  cJSON_Delete(p->wrapped);
  memset(p, 0, sizeof *p);
}

static int plan_init(const rb_query *q, const cJSON *request, rb_plan *p) {
  int total = 0, rc = REBATCH_OK;
  memset(p, 0, sizeof *p);
  for (const rb_filter *f = q->filters; f->param; f++) total++;
  if (total && !(p->active = rb_malloc((size_t)total * sizeof *p->active))) return REBATCH_NOMEM;
  for (const rb_filter *f = q->filters; rc == REBATCH_OK && f->param; f++) {
    const cJSON *item = rb_param(request, f->param);
    if (!active(f, item)) continue;
    /* At most one RB_F_VARIABLES filter per query: they share the flags. */
    if (f->kind == RB_F_VARIABLES && !p->wrapped) rc = variables_arg(request, item, &item, &p->wrapped);
    p->active[p->count].f = f;
    p->active[p->count++].arg = item;
  }
  if (rc != REBATCH_OK) plan_clear(p);
  return rc;
}

/* 1 when the record passes every filter, 0, or RB_REJECTED with res. */
static int plan_matches(rebatch_engine *e, const rb_plan *p, const cJSON *record,
                        rb_response *res) {
  for (int i = 0; i < p->count; i++) {
    int ok = passes(e, p->active[i].f, p->active[i].arg, record, res);
    if (ok != 1) return ok;
  }
  return 1;
}

/* Unsupported parameters fail even when no record would be tested. */
static int reject_unsupported(const rb_query *q, const cJSON *request,
                              rb_response *res) {
  for (const rb_filter *f = q->filters; f->param; f++)
    if (f->kind == RB_F_UNSUPPORTED && active(f, rb_param(request, f->param)))
      return rb_invalid(res, 400, "Query parameter '%s' is not supported by rebatch", f->param);
  return REBATCH_OK;
}

/* A query's record filter for row visits: the rows come from a lookup on
 * `index` (an indexed equality or the id list; NULL: a scan). */
/* A row visit that also gets the record when a filter already parsed it
 * (*record NULL otherwise): it may take it (setting *record to NULL). */
typedef int (*rb_parsed_visit)(rebatch_engine *e, const char *id, const char *text, cJSON **record,
                               int rev, void *ctx);

typedef struct rb_row_filter {
  const rb_plan *plan;
  const rb_filter *index;
  const char *value;
  int decided; /* lookup_decides, once per query */
  rb_row_visit visit;
  rb_parsed_visit parsed_visit; /* instead of visit: rows with the record a filter parsed */
  void *ctx;
  rb_response *res;
} rb_row_filter;

/* Whether the rows need no further test: no filter is set, or the only one
 * is the one the lookup answered: the id list loaded, or the indexed
 * equality (a store's find returns the rows whose indexed field equals the
 * value, and every save declares that field's value as the record holds
 * it). Such rows are never parsed. */
static int lookup_decides(const rb_row_filter *rf) {
  return rf->plan->count == 0 ||
         (rf->plan->count == 1 && rf->index && rf->plan->active[0].f == rf->index);
}

static int visit_matching(rebatch_engine *e, const char *id, const char *text, int rev,
                          void *c) {
  const rb_row_filter *rf = c;
  cJSON *record = NULL;
  int ok = 1, rc;
  if (!rf->decided) {
    int parsed = rb_parse_record(e, text, &record);
    if (parsed != REBATCH_OK) return parsed;
    ok = plan_matches(e, rf->plan, record, rf->res);
  }
  if (ok == RB_REJECTED) rc = RB_REJECTED;
  else if (!ok) rc = REBATCH_OK;
  else if (rf->parsed_visit) rc = rf->parsed_visit(e, id, text, &record, rev, rf->ctx);
  else rc = rf->visit(e, id, text, rev, rf->ctx);
  cJSON_Delete(record);
  return rc;
}

/* The rows an id list names, each once, in id order. */
static int each_listed(rebatch_engine *e, const char *coll, const cJSON *list,
                       rb_row_filter *rf) {
  rb_id_list l;
  char *copy;
  int rc = listed_ids(list, &l, &copy);
  for (int i = 0; rc == REBATCH_OK && i < l.count; i++) {
    char *text;
    int rev;
    rc = rb_load_text(e, coll, l.ids[i], &text, &rev);
    if (rc == REBATCH_OK && text) rc = visit_matching(e, l.ids[i], text, rev, rf);
    rb_free(text);
  }
  rb_free(l.ids);
  rb_free(copy);
  return rc;
}

/* The records a loader built (they are not stored) through the same plan. */
static int each_loaded(rebatch_engine *e, rb_query_loader load, const cJSON *request,
                       rb_row_filter *rf) {
  rb_docs docs = {0};
  int rc = load(e, request, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) {
    rb_doc *d = &docs.items[i];
    int ok = plan_matches(e, rf->plan, d->json, rf->res);
    char *text;
    if (ok == RB_REJECTED) rc = RB_REJECTED;
    else if (ok && rf->parsed_visit) rc = rf->parsed_visit(e, d->id, NULL, &d->json, d->rev, rf->ctx);
    else if (ok) {
      text = rb_print(d->json);
      rc = text ? rf->visit(e, d->id, text, d->rev, rf->ctx) : REBATCH_NOMEM;
      rb_free(text);
    }
  }
  rb_docs_clear(&docs);
  return rc;
}

/* Streams the matching records a page of rows at a time, in id order, so a
 * selection over 100,000 records never holds them all. */
static int query_rows(rebatch_engine *e, const rb_query *q, rb_query_loader load,
                      const cJSON *request, rb_row_filter rf) {
  rb_sorting sorting[4];
  rb_plan plan;
  rb_response *res = rf.res;
  char buf[32];
  int sort_count, rc = rb_query_check(q, request, res);
  if (rc == REBATCH_OK) rc = read_sorting(q, request, sorting, &sort_count, res);
  if (rc == REBATCH_OK) rc = reject_unsupported(q, request, res);
  if (rc == REBATCH_OK) rc = plan_init(q, request, &plan);
  if (rc != REBATCH_OK) return rc;
  rf.plan = &plan;
  if (load) {
    rc = each_loaded(e, load, request, &rf);
    plan_clear(&plan);
    return rc;
  }
  for (const rb_filter *f = q->filters; f->param; f++) {
    const cJSON *item = rb_param(request, f->param);
    if (item && !empty_list(item) && f->kind == RB_F_IN && f->field && strcmp(f->field, "id") == 0 &&
        (cJSON_IsArray(item) || cJSON_IsString(item))) {
      rf.index = f;
      rf.decided = lookup_decides(&rf);
      rc = each_listed(e, q->collection, item, &rf);
      plan_clear(&plan);
      return rc;
    }
  }
  for (const rb_filter *f = q->filters; !rf.index && f->param; f++) {
    const cJSON *item = rb_param(request, f->param);
    if (f->indexed && item && (rf.value = param_text(item, buf))) rf.index = f;
  }
  rf.decided = lookup_decides(&rf);
  rc = rf.index ? rb_find_all_rows(e, q->collection, rf.index->field, rf.value, visit_matching, &rf)
                : rb_scan_all_rows(e, q->collection, visit_matching, &rf);
  plan_clear(&plan);
  return rc;
}

int rb_query_each(rebatch_engine *e, const rb_query *q, const cJSON *request,
                  rb_row_visit visit, void *ctx, rb_response *res) {
  rb_row_filter rf = {NULL, NULL, NULL, 0, visit, NULL, ctx, res};
  return query_rows(e, q, NULL, request, rf);
}

static int paging(const cJSON *request, const char *name, long long dflt,
                  long long *out, rb_response *res) {
  const cJSON *query = cJSON_GetObjectItemCaseSensitive(request, "query");
  int got = rb_int(query, name, out);
  if (got == 0) *out = dflt;
  if (got < 0 || *out < 0)
    return rb_invalid(res, 400, "Cannot set query parameter '%s' to value '%s'", name,
                      rb_str(query, name) ? rb_str(query, name) : "?");
  return REBATCH_OK;
}

/* Camunda 7.14+'s queryMaxResultsLimit (QueryMaxResultsLimitUtil): with a
 * limit configured, a list must be paged, and by no more than the limit.
 * Upstream checks only for an authenticated user; rebatch checks every
 * request (docs/compatibility.md). */
static int check_max_results(rebatch_engine *e, long long max, rb_response *res) {
  int limit = e->config.query_max_results_limit;
  if (limit <= 0) return REBATCH_OK;
  if (max == 0x7fffffff) return rb_invalid(res, 400, "An unbound number of results is forbidden!");
  if (max > limit) return rb_invalid(res, 400, "Max results limit of %d exceeded!", limit);
  return REBATCH_OK;
}

/* A page of a list, built while the matching rows stream by, so that a
 * page costs the rows up to its end (unsorted) or a parse of each matching
 * row and a heap of firstResult + maxResults (sorted), never all records
 * held at once (issue 13: GET /external-task?maxResults=10 read and kept
 * 200,000 parsed tasks). */
#define RB_PAGE_FULL (-2) /* a visit's "stop": the page has its rows */

typedef struct rb_page {
  const rb_query *q;
  long long first, max;
  const rb_sorting *sorting;
  int sort_count;
  rb_docs kept;   /* sorted: the best first + max rows, a heap whose root is the worst */
  cJSON *list;    /* the page's DTOs */
  long long seen; /* unsorted: matching rows so far (one past the page ends the walk) */
} rb_page;

/* Each DTO joins the list as its printed text (a raw item): a list of
 * 200,000 tasks as cJSON trees took several times the memory of its text,
 * and WASM memory, once grown, is never given back. */
static int add_dto(rebatch_engine *e, const rb_query *q, cJSON *list, const cJSON *record) {
  cJSON *dto = q->to_dto(e, record), *raw;
  char *text = dto ? rb_print(dto) : NULL;
  cJSON_Delete(dto);
  raw = text ? cJSON_CreateRaw(text) : NULL;
  rb_free(text);
  if (!raw || !cJSON_AddItemToArray(list, raw)) {
    cJSON_Delete(raw);
    return REBATCH_NOMEM;
  }
  return REBATCH_OK;
}

/* Unsorted: rows come in id order, the default order; the page is the
 * rows from `first` on, and the walk stops once it has `max` of them. */
static int page_in_order(rebatch_engine *e, const char *id, const char *text, cJSON **record,
                         int rev, void *c) {
  rb_page *p = c;
  int rc;
  (void)id;
  (void)rev;
  if (p->seen++ < p->first) return REBATCH_OK;
  if (p->seen - p->first > p->max) return RB_PAGE_FULL;
  if (!*record && (rc = rb_parse_record(e, text, record)) != REBATCH_OK) return rc;
  return add_dto(e, p->q, p->list, *record);
}

static int worse(const rb_page *p, int a, int b) {
  return compare_docs(&p->kept.items[a], &p->kept.items[b], p->sorting, p->sort_count) > 0;
}

/* Restores the heap (the worst row at the root) from position i down. */
static void sift_down(rb_page *p, int i) {
  for (;;) {
    int l = 2 * i + 1, r = l + 1, top = i;
    rb_doc tmp;
    if (l < p->kept.count && worse(p, l, top)) top = l;
    if (r < p->kept.count && worse(p, r, top)) top = r;
    if (top == i) return;
    tmp = p->kept.items[i];
    p->kept.items[i] = p->kept.items[top];
    p->kept.items[top] = tmp;
    i = top;
  }
}

static void sift_up(rb_page *p, int i) {
  while (i > 0 && worse(p, i, (i - 1) / 2)) {
    rb_doc tmp = p->kept.items[i];
    p->kept.items[i] = p->kept.items[(i - 1) / 2];
    p->kept.items[(i - 1) / 2] = tmp;
    i = (i - 1) / 2;
  }
}

/* Sorted: keeps the best first + max rows seen so far. */
static int page_sorted(rebatch_engine *e, const char *id, const char *text, cJSON **record,
                       int rev, void *c) {
  rb_page *p = c;
  rb_doc doc = {NULL, *record, rev};
  int rc = doc.json ? REBATCH_OK : rb_parse_record(e, text, &doc.json);
  *record = NULL;
  if (rc != REBATCH_OK) return rc;
  if (!(doc.id = rb_strdup(id))) {
    rb_doc_clear(&doc);
    return REBATCH_NOMEM;
  }
  if (p->kept.count < p->first + p->max) {
    if ((rc = rb_docs_push(&p->kept, &doc)) != REBATCH_OK) {
      rb_doc_clear(&doc);
      return rc;
    }
    sift_up(p, p->kept.count - 1);
    return REBATCH_OK;
  }
  if (p->kept.count > 0 && compare_docs(&doc, &p->kept.items[0], p->sorting, p->sort_count) < 0) {
    rb_doc_clear(&p->kept.items[0]);
    p->kept.items[0] = doc;
    sift_down(p, 0);
    return REBATCH_OK;
  }
  rb_doc_clear(&doc);
  return REBATCH_OK;
}

/* The kept rows in order, from `first` on, as the page's DTOs. */
static int sorted_page_list(rebatch_engine *e, rb_page *p) {
  int rc = REBATCH_OK;
  sort_docs(&p->kept, p->sorting, p->sort_count);
  for (long long i = p->first; rc == REBATCH_OK && i < p->kept.count; i++)
    rc = add_dto(e, p->q, p->list, p->kept.items[i].json);
  return rc;
}

int rb_query_list(rebatch_engine *e, const rb_query *q, const cJSON *request,
                  rb_response *res) {
  return rb_query_list_from(e, q, NULL, request, res);
}

int rb_query_list_from(rebatch_engine *e, const rb_query *q, rb_query_loader load,
                       const cJSON *request, rb_response *res) {
  rb_sorting sorting[4];
  rb_page p = {q, 0, 0, sorting, 0, {NULL, 0, 0}, NULL, 0};
  int rc = paging(request, "firstResult", 0, &p.first, res);
  if (rc == REBATCH_OK) rc = paging(request, "maxResults", 0x7fffffff, &p.max, res);
  if (rc == REBATCH_OK) rc = check_max_results(e, p.max, res);
  if (rc == REBATCH_OK) rc = rb_query_check(q, request, res);
  if (rc == REBATCH_OK) rc = read_sorting(q, request, sorting, &p.sort_count, res);
  if (rc != REBATCH_OK) return rc;
  if (!(p.list = cJSON_CreateArray())) return REBATCH_NOMEM;
  /* Ascending by id alone is the order rows come in. */
  if (p.sort_count == 1 && strcmp(sorting[0].field, "id") == 0 && !sorting[0].descending) p.sort_count = 0;
  rc = query_rows(e, q, load, request, (rb_row_filter){NULL, NULL, NULL, 0, NULL, p.sort_count ? page_sorted : page_in_order, &p, res});
  if (rc == RB_PAGE_FULL) rc = REBATCH_OK;
  if (rc == REBATCH_OK && p.sort_count) rc = sorted_page_list(e, &p);
  rb_docs_clear(&p.kept);
  if (rc != REBATCH_OK) {
    cJSON_Delete(p.list);
    return rc;
  }
  return rb_ok(res, 200, p.list);
}

int rb_get_by_id(rebatch_engine *e, const char *coll, const cJSON *request,
                 rb_to_dto to_dto, const char *missing, rb_response *res) {
  const char *id = rb_str(request, "id");
  cJSON *dto = NULL;
  rb_doc doc;
  int rc = rb_load(e, coll, id, &doc);
  if (rc == REBATCH_OK && !doc.json) rc = rb_not_found(res, "InvalidRequestException", missing, id ? id : "null");
  if (rc == REBATCH_OK && !(dto = to_dto(e, doc.json))) rc = REBATCH_NOMEM;
  rb_doc_clear(&doc);
  return rc == REBATCH_OK ? rb_ok(res, 200, dto) : rc;
}

static int count_row(rebatch_engine *e, const char *id, const char *text, int rev, void *c) {
  (void)e;
  (void)id;
  (void)text;
  (void)rev;
  (*(long long *)c)++;
  return REBATCH_OK;
}

int rb_query_count(rebatch_engine *e, const rb_query *q, const cJSON *request,
                   rb_response *res) {
  return rb_query_count_from(e, q, NULL, request, res);
}

/* Counts as the rows stream by: rows a lookup decides are never parsed. */
int rb_query_count_from(rebatch_engine *e, const rb_query *q, rb_query_loader load,
                        const cJSON *request, rb_response *res) {
  long long count = 0;
  cJSON *body;
  int rc = query_rows(e, q, load, request, (rb_row_filter){NULL, NULL, NULL, 0, count_row, NULL, &count, res});
  if (rc != REBATCH_OK) return rc;
  body = cJSON_CreateObject();
  if (!body || !rb_put_num(body, "count", (double)count)) {
    cJSON_Delete(body);
    return REBATCH_NOMEM;
  }
  return rb_ok(res, 200, body);
}

/* ---- variable filters ----------------------------------------------------- */

typedef struct rb_case {
  int names;  /* variableNamesIgnoreCase */
  int values; /* variableValuesIgnoreCase: text values compare ignoring case */
} rb_case;

static int compare_values(const cJSON *stored, const char *op, const cJSON *want, int fold) {
  int c;
  if (strcmp(op, "like") == 0)
    return cJSON_IsString(stored) && cJSON_IsString(want) && like(stored->valuestring, want->valuestring, fold);
  if (strcmp(op, "notLike") == 0)
    return cJSON_IsString(stored) && cJSON_IsString(want) && !like(stored->valuestring, want->valuestring, fold);
  if (cJSON_IsNumber(stored) && cJSON_IsNumber(want))
    c = (stored->valuedouble > want->valuedouble) - (stored->valuedouble < want->valuedouble);
  else if (cJSON_IsString(stored) && cJSON_IsString(want))
    c = text_compare(stored->valuestring, want->valuestring, fold);
  else if (cJSON_IsBool(stored) && cJSON_IsBool(want))
    c = cJSON_IsTrue(stored) - cJSON_IsTrue(want);
  else if (cJSON_IsNull(stored) && cJSON_IsNull(want))
    c = 0;
  else
    return strcmp(op, "neq") == 0;
  if (strcmp(op, "eq") == 0) return c == 0;
  if (strcmp(op, "neq") == 0) return c != 0;
  if (strcmp(op, "gt") == 0) return c > 0;
  if (strcmp(op, "gteq") == 0) return c >= 0;
  if (strcmp(op, "lt") == 0) return c < 0;
  if (strcmp(op, "lteq") == 0) return c <= 0;
  return 0;
}

/* Date variables compare as instants with a date given as text, as
 * Camunda reads a query value that parses as a date into a Date. */
static int compare_dates(const cJSON *stored, const char *op, const cJSON *want, int *held) {
  double a, b;
  cJSON *x, *y;
  if (rb_parse_date(stored, &a) != 1 || rb_parse_date(want, &b) != 1) return 0;
  x = cJSON_CreateNumber(a);
  y = cJSON_CreateNumber(b);
  *held = x && y && compare_values(x, op, y, 0);
  cJSON_Delete(x);
  cJSON_Delete(y);
  return 1;
}

static int variable_holds(const cJSON *var, const char *op, const cJSON *want, int fold) {
  const cJSON *value = cJSON_GetObjectItemCaseSensitive(var, "value");
  const char *type = rb_str(var, "type");
  int held;
  if (type && strcmp(type, "Date") == 0 && cJSON_IsString(want) && strcmp(op, "like") != 0 &&
      compare_dates(value, op, want, &held))
    return held;
  return compare_values(value, op, want, fold);
}

/* Ignoring name case, any variable whose name matches may satisfy it (as
 * Camunda's UPPER(NAME_) = UPPER(?) join). */
static int condition_holds(const cJSON *variables, const char *name, const char *op,
                           const cJSON *want, rb_case how) {
  const cJSON *var;
  if (!how.names) {
    var = cJSON_GetObjectItemCaseSensitive(variables, name);
    return var && variable_holds(var, op, want, how.values);
  }
  cJSON_ArrayForEach(var, variables)
    if (var->string && text_compare(var->string, name, 1) == 0 && variable_holds(var, op, want, how.values))
      return 1;
  return 0;
}

/* URL form: name_op_value[,name_op_value...]; values are strings, or
 * numbers when they read as one (Camunda converts them the same way). */
static int url_conditions_hold(const cJSON *variables, const char *text, rb_case how) {
  char buf[512];
  char *part, *rest;
  snprintf(buf, sizeof buf, "%s", text);
  for (part = buf; part; part = rest) {
    static const char *const ops[] = {"_eq_", "_neq_", "_gteq_", "_gt_", "_lteq_", "_lt_", "_like_", "_notLike_", NULL};
    int held = 0, parsed = 0;
    if ((rest = strchr(part, ',')) != NULL) *rest++ = '\0';
    for (int i = 0; ops[i] && !parsed; i++) {
      char *at = strstr(part, ops[i]);
      char op[16], *end;
      double number;
      cJSON *want;
      if (!at) continue;
      parsed = 1;
      *at = '\0';
      snprintf(op, sizeof op, "%.*s", (int)strlen(ops[i]) - 2, ops[i] + 1);
      number = strtod(at + strlen(ops[i]), &end);
      want = *end == '\0' && end != at + strlen(ops[i]) ? cJSON_CreateNumber(number)
                                                        : cJSON_CreateString(at + strlen(ops[i]));
      held = want && condition_holds(variables, part, op, want, how);
      cJSON_Delete(want);
    }
    if (!held) return 0;
  }
  return 1;
}

int rb_variables_match(const cJSON *variables, const cJSON *conditions) {
  const cJSON *c, *inner = cJSON_GetObjectItemCaseSensitive(conditions, "rebatch:conditions");
  rb_case how = {0, 0};
  if (inner) {
    how.names = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(conditions, "rebatch:namesIgnoreCase"));
    how.values = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(conditions, "rebatch:valuesIgnoreCase"));
    conditions = inner;
  }
  if (cJSON_IsString(conditions)) return url_conditions_hold(variables, conditions->valuestring, how);
  cJSON_ArrayForEach(c, conditions) {
    const char *name = rb_str(c, "name"), *op = rb_str(c, "operator");
    if (!name || !op || !condition_holds(variables, name, op, cJSON_GetObjectItemCaseSensitive(c, "value"), how))
      return 0;
  }
  return 1;
}
