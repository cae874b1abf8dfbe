/*
 * core.h - internal declarations shared by the engine's source files.
 * Internal names start with "rb_"; nothing here is public API.
 */
#ifndef REBATCH_CORE_H
#define REBATCH_CORE_H

#include <stdarg.h>

#include "alloc.h"
#include "cJSON.h"
#include "rebatch.h"

/* A handler's verdict when it already wrote an error response. */
#define RB_REJECTED (-1)
/* Error bodies whose cause is not an engine exception carry "code": null. */
#define RB_CODE_NULL (-1)
/* Fields holding no date are stored as JSON null; in C they read as this. */
#define RB_NO_DATE (-1.0)

/* ---- engine.c ---------------------------------------------------------- */

typedef struct rb_config {
  int batch_jobs_per_seed;
  int invocations_per_batch_job;
  cJSON *invocations_by_batch_type; /* owned; object type -> int */
  int batch_poll_time_s;
  int default_retries;
  double lock_time_ms;
  int max_jobs_per_acquisition;
  int query_max_results_limit; /* 0: none (Camunda's Integer.MAX_VALUE) */
} rb_config;

struct rebatch_engine {
  rebatch_store store;
  rebatch_host host;
  rb_config config;
  int fault_countdown;  /* see rebatch_inject_store_fault */
  int in_tx;
  int in_group; /* a group commit's transaction is open: rb_tx_* work on savepoints */
  char store_error[256]; /* last storage failure, for the error body */
  struct rb_text_cache *batch_cache; /* set during executeDueJobs, else NULL */
  char *save_text;      /* rb_save's print buffer, reused by every save */
  size_t save_text_cap;
};

typedef struct rb_response {
  int status;
  cJSON *body; /* owned; NULL for no content */
} rb_response;

/* Sets an error response; always returns RB_REJECTED so handlers can
 * `return rb_error(...)`. `code` is RB_CODE_NULL or an engine error code. */
int rb_error(rb_response *res, int status, const char *type, int code,
             const char *fmt, ...);
/* Shorthands for Camunda's most common error bodies. */
int rb_invalid(rb_response *res, int status, const char *fmt, ...);
int rb_not_found(rb_response *res, const char *type, const char *fmt, ...);
/* Sets a success response that takes ownership of body (NULL: no content). */
int rb_ok(rb_response *res, int status, cJSON *body);

double rb_now(rebatch_engine *e);
/* Writes a fresh id into buf (REBATCH_ID_MAX + 1 bytes). */
int rb_new_id(rebatch_engine *e, char *buf);

/* ---- store.c: the only path from the core to the storage vtable --------- */

typedef struct rb_doc {
  char *id;
  cJSON *json; /* NULL when the record does not exist */
  int rev;     /* 0 until stored */
} rb_doc;

typedef struct rb_docs {
  rb_doc *items;
  int count;
  int cap;
} rb_docs;

int rb_tx_begin(rebatch_engine *e);
int rb_tx_commit(rebatch_engine *e);
void rb_tx_rollback(rebatch_engine *e);
/* Group commit: while a group is open, rb_tx_begin/commit/rollback open,
 * release and roll back to a savepoint of the group's one transaction.
 * rb_group_possible says whether the store has savepoints (version 2). */
int rb_group_possible(const rebatch_engine *e);
int rb_group_begin(rebatch_engine *e);
int rb_group_commit(rebatch_engine *e);
void rb_group_rollback(rebatch_engine *e);

/* Loads a record; *doc is cleared first, doc->json stays NULL if absent. */
int rb_load(rebatch_engine *e, const char *coll, const char *id, rb_doc *doc);
/* Inserts (doc->rev == 0) or updates the record, declaring its index. */
int rb_save(rebatch_engine *e, const char *coll, rb_doc *doc,
            const rebatch_index_entry *index, int index_count);
/* rb_save of a record already printed: *rev is the expected revision,
 * then the new one. */
int rb_save_text(rebatch_engine *e, const char *coll, const char *id, const char *text,
                 int *rev, const rebatch_index_entry *index, int index_count);
int rb_delete(rebatch_engine *e, const char *coll, rb_doc *doc);
/* Appends every matching row (find by indexed field / whole collection). */
int rb_find_all(rebatch_engine *e, const char *coll, const char *field,
                const char *value, rb_docs *out);
int rb_scan_all(rebatch_engine *e, const char *coll, rb_docs *out);
/* One page of matching rows after `after_id` (NULL: from the start). */
int rb_find_page(rebatch_engine *e, const char *coll, const char *field,
                 const char *value, const char *after_id, int limit,
                 rb_docs *out);
/* A row handed to a visitor as its id and JSON text (borrowed) instead of
 * being parsed; visit returns REBATCH_OK to go on. */
typedef int (*rb_row_visit)(rebatch_engine *e, const char *id, const char *json,
                            int rev, void *ctx);
/* The same page as rb_find_page, each row handed to visit, which may keep
 * it instead of copying it: it takes the id or text by setting *id or *json
 * to NULL, and then owns it (rb_free). *count is the number of rows the
 * page had. */
typedef int (*rb_row_take)(rebatch_engine *e, char **id, char **json, int rev, void *ctx);
int rb_find_page_take(rebatch_engine *e, const char *coll, const char *field,
                      const char *value, const char *after_id, int limit,
                      rb_row_take visit, void *ctx, int *count);
/* Whether the store walks an index in value order (find_ordered, version 3). */
int rb_ordered_possible(const rebatch_engine *e);
/* One page of find_ordered, each row handed to visit as rb_find_page_take
 * does: rows with a value for `field`, after (after_value, after_id). */
int rb_find_ordered_page_take(rebatch_engine *e, const char *coll, const char *field,
                              const char *after_value, const char *after_id, int limit,
                              rb_row_take visit, void *ctx, int *count);
/* Every row whose indexed field equals value, the same way, a page at a
 * time; visit may write to the store (each page is a copy). */
int rb_find_all_rows(rebatch_engine *e, const char *coll, const char *field,
                     const char *value, rb_row_visit visit, void *ctx);
/* Every row of a collection, the same way. */
int rb_scan_all_rows(rebatch_engine *e, const char *coll, rb_row_visit visit, void *ctx);

/* A record's text as the store holds it (*text owned; NULL when absent). */
int rb_load_text(rebatch_engine *e, const char *coll, const char *id,
                 char **text, int *rev);
/* One parsed record kept with the text it was parsed from: valid for as
 * long as the store still holds that same text. */
typedef struct rb_text_cache {
  char *id;
  char *text;
  cJSON *json;
} rb_text_cache;
void rb_text_cache_clear(rb_text_cache *cache);

/* Takes ownership of a new document (json may not be NULL). */
int rb_doc_init(rb_doc *doc, const char *id, cJSON *json);
void rb_doc_clear(rb_doc *doc);
void rb_docs_clear(rb_docs *docs);
/* Moves doc into docs (doc is left empty). */
int rb_docs_push(rb_docs *docs, rb_doc *doc);

/* ---- json.c ------------------------------------------------------------ */

const char *rb_str(const cJSON *obj, const char *key);
/* Two strings, both present and equal. */
int rb_str_eq(const char *a, const char *b);
/* 1 if present and numeric (number or numeric string), 0 if absent or null,
 * -1 if present with another type. */
int rb_int(const cJSON *obj, const char *key, long long *out);
/* Camunda flags: true / "true" are true; absent, null, false are false. */
int rb_flag(const cJSON *obj, const char *key);
int rb_has(const cJSON *obj, const char *key); /* present, even if null */
double rb_date(const cJSON *obj, const char *key); /* stored ms or RB_NO_DATE */
/* rb_date of a record's JSON text without building it: 1 with *ms set when
 * the text is a well-formed object (strict JSON, no \u escapes) whose first
 * top-level `key` is read; -1 when it cannot tell (parse the text then). */
int rb_text_date(const char *text, const char *key, double *ms);
/* A string member of a record's JSON text, the same way: 1 with the value
 * copied into buf (cap bytes with the NUL), 0 when absent or null, -1 when
 * it cannot tell (malformed text, another type, escapes, too long). */
int rb_text_str(const char *text, const char *key, char *buf, size_t cap);
/* Several members of a record's text in one walk: each field's value is
 * the member's JSON text (NULL when absent); 1, or -1 when the text is not
 * a strict JSON object. Read them with rb_field_*, which answer as
 * rb_text_str (1/0/-1), rb_text_date and (1 for true, else 0) flags. */
typedef struct rb_text_field {
  const char *key;
  const char *value;
  size_t len;
} rb_text_field;
int rb_text_fields(const char *text, rb_text_field *fields, int count);
/* A stored record's text parsed into *out (caller deletes): REBATCH_OK;
 * REBATCH_NOMEM when the text is JSON but memory ran out; REBATCH_ERROR
 * (store_error set) when the store handed back text that is not JSON. */
int rb_parse_record(rebatch_engine *e, const char *text, cJSON **out);
/* A request's text parsed into *out: REBATCH_OK, REBATCH_NOMEM (valid JSON,
 * no memory) or REBATCH_ERROR (not JSON). */
int rb_parse_request(const char *text, cJSON **out);
/* Reads a parsed request as Camunda's Jackson reads DTOs (request_types.c):
 * scalars where strings belong become strings, duplicate keys keep the
 * last. 1 ok; 0 when a member has a type Jackson refuses (res set to
 * Camunda's 400); -1 out of memory. */
int rb_request_coerce(cJSON *request, rb_response *res);
int rb_field_str(const rb_text_field *f, char *buf, size_t cap);
int rb_field_num(const rb_text_field *f, double *out);
int rb_field_flag(const rb_text_field *f);
/* A member to write into a record's text: key and its value as JSON text. */
typedef struct rb_member {
  const char *key;
  const char *json;
} rb_member;
/* The record's text with each member's value replaced (first occurrence)
 * or appended when absent, as rb_set does, in one pass and without
 * parsing: 1 with *out rb_malloc'd, 0 when the text is not a strict JSON
 * object (parse it then), -1 on NOMEM. At most 16 members. */
int rb_text_patch(const char *text, const rb_member *members, int count, char **out);
/* rb_text_patch for a text rb_text_fields has just walked: members[i]
 * replaces the value found[i] holds, where the walk found it, without
 * walking the text again. found must come from a walk that asked for no key
 * twice (each then holds its first occurrence, the one rb_text_patch would
 * replace). A member not found falls back to rb_text_patch. Same returns. */
int rb_text_replace(const char *text, const rb_text_field *found, const rb_member *members,
                    int count, char **out);
/* A number as rb_print writes it, into buf[32]. */
void rb_format_number(double value, char *buf);
/* Parses a Camunda date (yyyy-MM-dd'T'HH:mm:ss[.SSS][Z|+hhmm|+hh:mm]) or
 * epoch millis. Returns 1 ok, 0 null/absent, -1 malformed. */
int rb_parse_date(const cJSON *item, double *ms);
/* Finds an integer literal in JSON text beyond 2^53 in magnitude, which a
 * double (cJSON's number) cannot hold exactly: 1 with the literal copied
 * into out (truncated to n), 0 when there is none. */
int rb_json_inexact_integer(const char *text, char *out, size_t n);
/* yyyy-MM-dd'T'HH:mm:ss.SSS+0000 into buf[32]. */
void rb_format_date(double ms, char *buf);

/* Adders that turn NULL into JSON null; they return 0 on NOMEM and then
 * mark the object RB_JSON_INCOMPLETE (a cJSON type flag bit above cJSON's
 * own), which makes rb_print fail on it and on anything holding it. */
#define RB_JSON_INCOMPLETE (1 << 12)
int rb_put_str(cJSON *obj, const char *key, const char *value);
int rb_put_num(cJSON *obj, const char *key, double value);
int rb_put_bool(cJSON *obj, const char *key, int value);
int rb_put_null(cJSON *obj, const char *key);
int rb_put_date(cJSON *obj, const char *key, double ms);
/* Sets or replaces a member (takes ownership of item). 0 on failure. */
int rb_set(cJSON *obj, const char *key, cJSON *item);
/* rb_set that owns item in every case: deleted when it cannot be set (also
 * accepts NULL, a failed create, and returns 0), so
 * rb_take(obj, key, cJSON_CreateX()) never leaks. */
int rb_take(cJSON *obj, const char *key, cJSON *item);
int rb_set_str(cJSON *obj, const char *key, const char *value);
int rb_set_num(cJSON *obj, const char *key, double value);
int rb_set_bool(cJSON *obj, const char *key, int value);
/* Adds a reference to item (an object or array: not copied, not owned;
 * other values are copied) as obj[key]; 0 on NOMEM, leaking nothing (cJSON_AddItemReferenceToObject leaks its
 * reference when adding the key fails). */
int rb_add_reference(cJSON *obj, const char *key, const cJSON *item);
/* Copies record[key] into dto[key] (null when absent). */
int rb_copy(cJSON *dto, const cJSON *record, const char *key);
/* Copies a stored ms date as a formatted Camunda date. */
int rb_copy_date(cJSON *dto, const cJSON *record, const char *key);
/* A DTO with the record's fields in the given order (NULL-terminated),
 * date fields formatted. NULL when out of memory. */
cJSON *rb_dto(const cJSON *record, const char *const *fields);
/* The text cJSON_PrintUnformatted gives, except that every number reads
 * back exactly (cJSON rounds some to 15 digits), built without printf for
 * integral numbers: rb_malloc'd (caller frees), NULL on NOMEM. */
char *rb_print(const cJSON *item);
/* head, item as rb_print writes it, and tail in one rb_malloc'd text (a
 * large body is not copied again into its envelope); NULL when out of
 * memory or when rb_print would fail. */
char *rb_print_framed(const char *head, const cJSON *item, const char *tail);
/* rb_print into *buf (rb_malloc'd, *cap bytes, grown as needed and kept by
 * the caller, also on failure): the text, or NULL on NOMEM. */
char *rb_print_into(const cJSON *item, char **buf, size_t *cap);
/* rb_print_into for a stored record: its null members are left out. Every
 * reader takes an absent member for null (rb_str, rb_dto, the filters), and
 * a record's nulls were a third of its bytes: history records hold mostly
 * fields that stay null. */
char *rb_print_record_into(const cJSON *record, char **buf, size_t *cap);
/* A record's JSON text written member by member, without building a cJSON
 * tree, in the same form rb_print gives. The buffer (rb_malloc'd, grown as
 * needed) stays the caller's in w->p also on failure, as rb_print_into's:
 * open with the buffer to reuse (NULL, 0 for a fresh one). */
typedef struct rb_writer {
  char *p;
  size_t len, cap;
  int failed;
} rb_writer;
void rb_writer_open(rb_writer *w, char *buf, size_t cap);
void rb_writer_item(rb_writer *w, const char *key, const cJSON *value);
void rb_writer_str(rb_writer *w, const char *key, const char *value); /* NULL: null */
void rb_writer_num(rb_writer *w, const char *key, double value);
/* A value already in JSON text (len bytes), copied as it is. */
void rb_writer_raw(rb_writer *w, const char *key, const char *json, size_t len);
void rb_writer_bool(rb_writer *w, const char *key, int value);
/* Closes the object: the text (w->p), or NULL on NOMEM. */
char *rb_writer_close(rb_writer *w);
/* printf into a fresh rb_malloc'd string. */
char *rb_sprintf(const char *fmt, ...);
char *rb_vsprintf(const char *fmt, va_list ap);

/* ---- query.c ------------------------------------------------------------ */

typedef int (*rb_predicate)(rebatch_engine *e, const cJSON *record,
                            const cJSON *arg);

typedef enum rb_filter_kind {
  RB_F_EQ,          /* record[field] equals the string */
  RB_F_IN,          /* record[field] in a list (array or comma separated) */
  RB_F_LIKE,        /* SQL LIKE with % wildcards */
  RB_F_FLAG,        /* predicate applies when the parameter is true */
  RB_F_VALUE,       /* predicate with the parameter value */
  RB_F_DATE_BEFORE, /* record[field] <= date */
  RB_F_DATE_AFTER,  /* record[field] >= date */
  RB_F_VARIABLES,   /* predicate with variable conditions for
                       rb_variables_match, the query's
                       variableNamesIgnoreCase / variableValuesIgnoreCase
                       folded in (at most one such filter per query) */
  RB_F_UNSUPPORTED  /* a Camunda parameter rebatch does not implement */
} rb_filter_kind;

typedef struct rb_filter {
  const char *param;
  rb_filter_kind kind;
  const char *field;     /* record field, for the generic kinds */
  rb_predicate predicate; /* for RB_F_FLAG / RB_F_VALUE */
  int indexed;           /* RB_F_EQ on an indexed field: narrows the scan */
} rb_filter;

typedef struct rb_sort_key {
  const char *name;  /* Camunda's sortBy value */
  const char *field; /* record field */
} rb_sort_key;

typedef cJSON *(*rb_to_dto)(rebatch_engine *e, const cJSON *record);

typedef struct rb_query {
  const char *collection;
  const rb_filter *filters; /* terminated by a NULL param */
  const rb_sort_key *sort_keys;
  rb_to_dto to_dto;
} rb_query;

/* Camunda's checks of a query request before it runs (query_params.c):
 * URL parameters converted by their DTO's Java types, sortBy/sortOrder,
 * empty id sets, variable comparators. REBATCH_OK or RB_REJECTED. */
int rb_query_check(const rb_query *q, const cJSON *request, rb_response *res);

/* Calls visit for each matching record as its id and JSON text (borrowed,
 * see rb_row_visit), in ascending id order (the stores' order; an id list
 * is sorted), holding one page of rows at a time; records are parsed only
 * when a filter needs more than the text. */
int rb_query_each(rebatch_engine *e, const rb_query *q, const cJSON *request,
                  rb_row_visit visit, void *ctx, rb_response *res);
/* Whole handler for a get-by-id endpoint: the record of request.id in
 * coll as to_dto shows it, or 404 InvalidRequestException with `missing`
 * (a format taking the id). */
int rb_get_by_id(rebatch_engine *e, const char *coll, const cJSON *request,
                 rb_to_dto to_dto, const char *missing, rb_response *res);
/* Whole handlers for list and count endpoints. */
int rb_query_list(rebatch_engine *e, const rb_query *q, const cJSON *request,
                  rb_response *res);
int rb_query_count(rebatch_engine *e, const rb_query *q, const cJSON *request,
                   rb_response *res);
/* The same over records a loader builds rather than a stored collection
 * (q->collection only names them): it fills out with every candidate
 * (a narrower set is fine when the request's filters allow it). */
typedef int (*rb_query_loader)(rebatch_engine *e, const cJSON *request, rb_docs *out);
int rb_query_list_from(rebatch_engine *e, const rb_query *q, rb_query_loader load,
                       const cJSON *request, rb_response *res);
int rb_query_count_from(rebatch_engine *e, const rb_query *q, rb_query_loader load,
                        const cJSON *request, rb_response *res);
/* Parameter lookup: the body wins over the URL parameters. */
const cJSON *rb_param(const cJSON *request, const char *name);
int rb_like(const char *value, const char *pattern);
/* rb_like / strcmp that ignore (ASCII) case when fold is set, as Camunda's
 * UPPER(...) comparisons for the *IgnoreCase query options. */
int rb_like_fold(const char *value, const char *pattern, int fold);
int rb_text_compare(const char *a, const char *b, int fold);
int rb_pred_suspended(rebatch_engine *e, const cJSON *r, const cJSON *arg);
int rb_pred_active(rebatch_engine *e, const cJSON *r, const cJSON *arg);
int rb_pred_without_tenant(rebatch_engine *e, const cJSON *r, const cJSON *arg);
/* Is record[field] at least (at_least) or at most the bound, given as a
 * JSON number or URL text? No bound of either kind matches nothing. */
int rb_number_bounded(const cJSON *r, const char *field, const cJSON *bound, int at_least);
/* priorityHigherThanOrEquals / priorityLowerThanOrEquals. */
int rb_pred_priority_at_least(rebatch_engine *e, const cJSON *r, const cJSON *arg);
int rb_pred_priority_at_most(rebatch_engine *e, const cJSON *r, const cJSON *arg);
int rb_pred_nothing(rebatch_engine *e, const cJSON *r, const cJSON *arg);
int rb_pred_everything(rebatch_engine *e, const cJSON *r, const cJSON *arg);
/* Does list (array or comma separated string) contain value? */
int rb_list_contains(const cJSON *list, const char *value);

/* ---- definition.c: deployments and process definitions ----------------- */

int rb_definition_load(rebatch_engine *e, const char *id, rb_doc *doc);
const cJSON *rb_model_activity(const cJSON *definition, const char *id);
const cJSON *rb_model_flow(const cJSON *definition, const char *id);
/* Outgoing sequence flows of an activity, in model order. */
int rb_model_outgoing(const cJSON *definition, const char *activity_id,
                      const cJSON **flows, int max);
int rb_model_incoming_count(const cJSON *definition, const char *activity_id);
/* The error boundary event on an activity that catches error_code, or NULL. */
const cJSON *rb_model_error_boundary(const cJSON *definition, const char *activity_id,
                                     const char *error_code);
const char *rb_model_start_event(const cJSON *definition);
/* The message start event of that message name, or NULL. */
const cJSON *rb_model_message_start(const cJSON *definition, const char *message_name);
/* Whether def is the latest version of its key (per tenant) among defs:
 * the one upstream subscribes to its message start events. */
int rb_definition_is_latest(const rb_docs *defs, const cJSON *def);
/* The message a token at a message catch event or receive task waits
 * for: its activity's, or the one a migration without updateEventTrigger
 * kept on it; NULL at any other activity. */
const char *rb_token_message_name(const cJSON *def, const cJSON *token);
cJSON *rb_definition_to_dto(rebatch_engine *e, const cJSON *definition);
/* Latest version of a key without tenant; doc->json NULL when none. */
int rb_definition_latest_by_key(rebatch_engine *e, const char *key, rb_doc *out);
int rb_job_definition_save(rebatch_engine *e, rb_doc *doc);
int rb_definition_save(rebatch_engine *e, rb_doc *doc);
/* ISO-8601 duration (PT5M) in ms; 1 ok, 0 malformed. */
int rb_duration_ms(const char *text, double *ms);
/* failedJobRetryTimeCycle R<n>/<duration>; 1 ok, 0 malformed. */
int rb_retry_cycle(const char *text, int *retries, double *interval_ms);

/* ---- instance.c: process instances and the token engine ---------------- */

typedef struct rb_start {
  const char *business_key;
  const cJSON *variables; /* read by rb_variables_parse, or NULL */
  const char *tenant_id;  /* overrides the definition's tenant when set */
  const char *restarted_from;
} rb_start;

/* Token continuations triggered by jobs and external tasks. */
typedef enum rb_resume {
  RB_RESUME_EXECUTE, /* async-before passed: run the activity */
  RB_RESUME_LEAVE,   /* wait state done: leave the activity */
  RB_RESUME_TAKE     /* async-after passed: take the outgoing flows */
} rb_resume;

/* Starts an instance at its start event, or as the instructions say
 * ({type: startBeforeActivity|startAfterActivity|startTransition, ...}).
 * Writes the new id into id_out (REBATCH_ID_MAX + 1 bytes) when not NULL. */
int rb_instance_start(rebatch_engine *e, const cJSON *definition,
                      const rb_start *start, const cJSON *instructions,
                      char *id_out, rb_response *res);
/* The ProcessInstanceDto of an instance just started from the definition,
 * also when it already ended (then from its history); *out owned. */
int rb_instance_dto(rebatch_engine *e, const char *id, const cJSON *definition, cJSON **out);
/* A copy of an instance's stored variables; empty when it is gone. */
int rb_instance_variables(rebatch_engine *e, const char *instance_id, cJSON **out);
/* Writes a runtime instance record back with its index. */
int rb_instance_save(rebatch_engine *e, rb_doc *doc);
/* The same for a historic process instance and a historic activity
 * instance (migration rewrites them). */
int rb_history_save(rebatch_engine *e, rb_doc *doc);
int rb_history_activity_save(rebatch_engine *e, rb_doc *doc);
int rb_instances_exist(rebatch_engine *e, const char *definition_id, int *exist);
/* Cancels a definition's instances and deletes their history. */
int rb_instance_purge(rebatch_engine *e, const char *definition_id);
/* Incident lookups behind the instance query filters. */
int rb_incident_matches_instance(rebatch_engine *e, const char *instance_id,
                                 const char *field, const cJSON *arg, int like);
int rb_history_incident_matches(rebatch_engine *e, const char *instance_id,
                                const char *field, const cJSON *arg, int like);
/* Deletes a running instance as upstream's deleteProcessInstance does
 * (externally terminated, history ended with `reason`); *found 0 when
 * there is none (nothing happens then). */
int rb_instance_delete(rebatch_engine *e, const char *id, const char *reason, int *found);
/* Suspends or activates a running instance with its jobs and external
 * tasks; *found 0 when there is none (nothing happens then). */
int rb_instance_set_suspended(rebatch_engine *e, const char *id, int suspended, int *found);
/* Deletes a finished instance's whole history; a running one (still
 * without endTime) and an unknown id are left alone, as *outcome says. */
typedef enum rb_history_deletion { RB_HISTORY_DELETED, RB_HISTORY_NOT_FOUND, RB_HISTORY_RUNNING } rb_history_deletion;
int rb_history_instance_delete(rebatch_engine *e, const char *id, rb_history_deletion *outcome);
extern const rb_query rb_instance_query;
extern const rb_query rb_history_query;

/* variables: read by rb_variables_parse, or NULL. */
int rb_instance_resume(rebatch_engine *e, const char *instance_id,
                       const char *execution_id, rb_resume how,
                       const cJSON *variables, rb_response *res);
/* A BPMN error thrown at the token's activity (variables set first): an
 * error boundary event that catches it interrupts the activity and takes
 * its flows; uncaught, the token ends there as at a none end event. */
int rb_instance_throw_error(rebatch_engine *e, const char *instance_id,
                            const char *execution_id, const char *error_code,
                            const char *error_message, const cJSON *variables,
                            rb_response *res);

/* Modification's steps on a loaded runtime record (src/modification.c).
 * Cancels one token: its activity instance ends canceled, its jobs,
 * external tasks and incidents go, the token leaves the record. */
int rb_instance_cancel_token(rebatch_engine *e, cJSON *inst, cJSON *token);
/* Adds a token at an activity in state "arrive" (before it) or "take"
 * (after it) and runs the instance's tokens to their wait states. */
int rb_instance_start_at(rebatch_engine *e, const cJSON *def, cJSON *inst, const char *activity_id,
                         const char *state, rb_response *res);
/* Writes a modified record back; with no token left it ends as
 * terminated_state when that is set (cancellation emptied it), else
 * COMPLETED. */
int rb_instance_store_modified(rebatch_engine *e, rb_doc *inst, const char *terminated_state);

/* Camunda's activityType of a model activity (noneEndEvent, ...). */
const char *rb_activity_type(const cJSON *activity);

/* Variable filters: [{name, operator, value}] or "name_op_value,...", as
 * given or as an RB_F_VARIABLES filter hands them over. */
int rb_variables_match(const cJSON *variables, const cJSON *conditions);

/* ---- variable.c: typed values, instance variables and their history ---- */

/* Reads a request's {name: {value, type, valueInfo}} into *out (owned by the
 * caller, also on failure), stored form: canonical type names, Dates as UTC
 * Camunda dates, untyped values typed as Camunda infers them. A bad value
 * is a 400 whose message starts with `prefix` (NULL: Camunda's unwrapped
 * errors). */
int rb_variables_parse(const cJSON *input, const char *prefix, cJSON **out,
                       rb_response *res);
/* {type, value, valueInfo} of a stored variable; `deserialize` shows JSON
 * serialized Object values parsed. NULL when out of memory. */
cJSON *rb_value_to_dto(const cJSON *stored, int deserialize);
cJSON *rb_variables_to_dto(const cJSON *variables, int deserialize);
/* Sets parsed variables on an instance record (saved by the caller) and
 * writes their history; `initial` flags the details as start values. */
int rb_variables_set(rebatch_engine *e, cJSON *inst, const cJSON *typed,
                     int initial);
/* Loads, sets and saves; a missing instance is left alone. */
int rb_instance_set_variables(rebatch_engine *e, const char *instance_id,
                              const cJSON *typed);
/* A historic instance's last (initial = 0) or start (initial = 1)
 * variables as {name: {type, value, valueInfo}}; *out owned by the caller. */
int rb_history_variables(rebatch_engine *e, const char *instance_id,
                         int initial, cJSON **out);
int rb_history_variables_delete(rebatch_engine *e, const char *instance_id);

/* ---- job.c --------------------------------------------------------------- */

typedef struct rb_job_spec {
  const char *job_definition_id;
  const char *job_type;      /* "async-continuation", "timer-...", batch */
  const char *configuration; /* handler configuration */
  const cJSON *instance;     /* runtime instance record, or NULL */
  const char *execution_id;
  const char *activity_id;
  const char *deployment_id;
  const char *batch_id;
  const char *tenant_id;
  double due_date;           /* RB_NO_DATE for none */
  int retries;
  int suspended;
  double priority;
  cJSON *batch_items;        /* execution job's ids (taken over), or NULL */
} rb_job_spec;

int rb_job_create(rebatch_engine *e, const rb_job_spec *spec, char *id_out);
int rb_job_save(rebatch_engine *e, rb_doc *job);
/* Suspends or activates every job of an instance. */
int rb_jobs_set_suspended_for_instance(rebatch_engine *e, const char *instance_id, int suspended);
/* A job for a token at an activity; slot is async-before, async-after or
 * timer. */
int rb_job_create_for_token(rebatch_engine *e, const cJSON *inst,
                            const cJSON *def, const cJSON *activity,
                            const cJSON *token, const char *slot,
                            double due_date);
cJSON *rb_job_to_dto(rebatch_engine *e, const cJSON *job);
/* Deletes every job of an execution (instance cancel / token leaves). */
int rb_jobs_delete_for_instance(rebatch_engine *e, const char *instance_id);
/* Migration: the instance's jobs whose activity the mapping ({source
 * activity id: target activity id}) names move to the target definition
 * (its ids, activity, job definition). Likewise external tasks and
 * incidents (open ones, and their history). */
/* updating: {source activity id: true} for the instructions with
 * updateEventTrigger; their timer jobs get the target's due date. */
int rb_jobs_migrate(rebatch_engine *e, const char *instance_id, const cJSON *target, const cJSON *mapping,
                    const cJSON *updating);
int rb_external_tasks_migrate(rebatch_engine *e, const char *instance_id, const cJSON *target, const cJSON *mapping);
int rb_incidents_migrate(rebatch_engine *e, const char *instance_id, const cJSON *target, const cJSON *mapping);
/* The same for one execution (NULL: every execution of the instance). */
int rb_jobs_delete_for_execution(rebatch_engine *e, const char *instance_id, const char *execution_id);
/* Sets retries, creating or resolving the failedJob incident. */
int rb_job_set_retries(rebatch_engine *e, rb_doc *job, int retries);
/* rb_job_set_retries on the stored job's text (plus `extra` members, such
 * as a due date), without parsing it, for the cases that need no incident
 * created. *done 0: nothing was written; load the job and use
 * rb_job_set_retries (also when the job is gone). */
int rb_job_set_retries_text(rebatch_engine *e, const char *id, int retries,
                            const rb_member *extra, int extra_count, int *done);

/* ---- job_log.c ------------------------------------------------------------ */

typedef enum rb_job_log_kind {
  RB_JOB_LOG_CREATION,
  RB_JOB_LOG_FAILURE, /* the job's exception fields are the failure's */
  RB_JOB_LOG_SUCCESS,
  RB_JOB_LOG_DELETION /* deleted without being executed */
} rb_job_log_kind;

/* Writes one historic job log entry: the job record as it is, with
 * `retries` as the entry's jobRetries. One store put. The entry's id goes
 * to id_out (REBATCH_ID_MAX + 1 bytes) when not NULL. */
int rb_job_log(rebatch_engine *e, const cJSON *job, rb_job_log_kind kind, int retries,
               char *id_out);
/* rb_job_log from the job's JSON text (not a failure) without parsing it:
 * fields are the job's member values as rb_text_fields finds them, for the
 * keys rb_job_log_keys sets (others are ignored; best in the job's order).
 * job_text is parsed only if they do not do, e.g. a job id too long to name
 * the entry after. It must not be the engine's save buffer. */
int rb_job_log_fields(rebatch_engine *e, const char *job_text, const rb_text_field *fields,
                      int count, rb_job_log_kind kind, int retries);
/* Sets the keys of the job fields a log entry copies (RB_JOB_LOG_KEYS of
 * them), in the job's order, and returns how many: for a caller that walks
 * the job's text anyway to find them in the same walk. */
#define RB_JOB_LOG_KEYS 14
int rb_job_log_keys(rb_text_field *fields);
/* Deletes the entries of the jobs of the given job definitions. */
int rb_job_log_delete_for_definitions(rebatch_engine *e, const char *const *definition_ids, int count);
/* 1 when a job of the instance ran (succeeded or failed) at or before
 * (before = 1) or at or after the date (a Camunda date value). */
int rb_job_log_executed(rebatch_engine *e, const char *instance_id, const cJSON *date, int before);

/* ---- external_task.c ---------------------------------------------------- */

int rb_external_task_create(rebatch_engine *e, const cJSON *instance,
                            const cJSON *definition, const cJSON *activity,
                            const char *execution_id,
                            const char *activity_instance_id);
int rb_external_tasks_delete_for_instance(rebatch_engine *e,
                                          const char *instance_id);
int rb_external_tasks_delete_for_execution(rebatch_engine *e, const char *instance_id,
                                           const char *execution_id);
/* Suspends or activates every external task of an instance. */
int rb_external_tasks_set_suspended_for_instance(rebatch_engine *e, const char *instance_id, int suspended);
/* Sets retries, creating or resolving the failedExternalTask incident. */
int rb_external_task_set_retries(rebatch_engine *e, rb_doc *task, int retries);
/* The same on the stored task's text, without parsing it, for the cases
 * that create no incident. *done 0: nothing was written; load the task and
 * use rb_external_task_set_retries (also when the task is gone). */
int rb_external_task_set_retries_text(rebatch_engine *e, const char *id, int retries, int *done);
extern const rb_query rb_external_task_query;

/* ---- incident.c --------------------------------------------------------- */

typedef struct rb_incident_spec {
  const char *type; /* "failedJob" / "failedExternalTask" */
  const char *configuration;
  const char *message;
  const char *process_instance_id;
  const char *process_definition_id;
  const char *process_definition_key;
  const char *execution_id;
  const char *activity_id;
  const char *failed_activity_id;
  const char *job_definition_id;
  const char *tenant_id;
  const char *history_configuration;
} rb_incident_spec;

int rb_incident_create(rebatch_engine *e, const rb_incident_spec *spec);
/* Ends every open incident of `type` with `configuration`: resolved (1) or
 * deleted (0) in history. */
int rb_incident_end(rebatch_engine *e, const char *type,
                    const char *configuration, int resolved);
int rb_incidents_delete_for_instance(rebatch_engine *e,
                                     const char *instance_id);
int rb_incidents_delete_for_execution(rebatch_engine *e, const char *instance_id,
                                      const char *execution_id);

/* ---- batch.c: the batch framework ------------------------------------------ */

/* Batch items grouped per deployment: a JSON array the creators fill with
 * rb_batch_add_item (REBATCH_OK or REBATCH_NOMEM) and hand to
 * rb_batch_create. */
int rb_batch_add_item(cJSON *groups, const char *deployment_id, const char *id);
/* The last definition whose deployment a grouping looked up: items of one
 * definition come in runs, and loading the definition for each of 100,000
 * items would dominate batch creation. Zeroed before first use. */
typedef struct rb_deployment_memo {
  char definition_id[160];
  char deployment_id[REBATCH_ID_MAX + 1];
  int known;
} rb_deployment_memo;
/* rb_batch_add_item under the deployment of `definition`: the unknown
 * deployment's group when it is NULL or not deployed. */
int rb_batch_add_by_definition(rebatch_engine *e, rb_deployment_memo *memo, cJSON *groups,
                               const char *definition, const char *id);
/* Puts the groups in deployment order (unknown deployment last) and sorts
 * and deduplicates each; the item count, or -1 on NOMEM. */
int rb_batch_item_count(cJSON *groups);

/* What a creation request selects: the items by deployment, the
 * operation's parameters (stored with the batch, read by every item) and
 * the batch's tenant. Each member owned (rb_batch_selection_clear). */
typedef struct rb_batch_selection {
  cJSON *groups;
  cJSON *params;
  char *tenant_id;
} rb_batch_selection;
void rb_batch_selection_clear(rb_batch_selection *sel);

/* A creation request's source: which of the type's endpoints (a small
 * number of the type's own) and, with RB_BATCH_NOW, its synchronous twin,
 * which applies every item at once instead of creating a batch. */
#define RB_BATCH_NOW 0x100

/* A batch type, as Camunda's BatchJobHandler: one file in src/batch/ fills
 * one and src/batch.c runs every batch through it. */
typedef struct rb_batch_type {
  /* The batch's `type`, also its execution jobs' jobType. */
  const char *name;
  /* How its items are selected and grouped: reads a creation request in
   * upstream's order of checks into *sel (cleared by the caller). */
  int (*select)(rebatch_engine *e, int source, const cJSON *request, rb_batch_selection *sel,
                rb_response *res);
  /* How one item is applied, inside its execution job's transaction. */
  int (*apply)(rebatch_engine *e, const char *item, const cJSON *params, rb_response *res);
  /* Items per execution job for these parameters (NULL: the engine's
   * invocationsPerBatchJob, per type or global; rb_batch_invocations). */
  int (*invocations)(rebatch_engine *e, const cJSON *params);
  /* What its execution jobs carry besides their items, as upstream's
   * postProcessJob: the deployment of a job of a group's ids, written to
   * buf (REBATCH_ID_MAX + 1 bytes; "" for none). NULL: the group's own. */
  int (*job_deployment)(rebatch_engine *e, const cJSON *params, const char *group_deployment,
                        char *buf);
} rb_batch_type;

/* The engine's invocationsPerBatchJob for a type name. */
int rb_batch_invocations(rebatch_engine *e, const char *type);
/* A creation endpoint: selects, creates the batch, answers its BatchDto. */
int rb_batch_start(rebatch_engine *e, const rb_batch_type *type, int source,
                   const cJSON *request, rb_response *res);
/* A synchronous twin: selects (source | RB_BATCH_NOW) and applies every
 * item in this transaction, in group order; answers 204. */
int rb_batch_run_now(rebatch_engine *e, const rb_batch_type *type, int source,
                     const cJSON *request, rb_response *res);
/* Creates a batch (takes over groups and params); *dto is its BatchDto. */
int rb_batch_create(rebatch_engine *e, const rb_batch_type *type, const char *tenant,
                    cJSON *groups, cJSON *params, cJSON **dto);
cJSON *rb_batch_to_dto(rebatch_engine *e, const cJSON *batch);
/* A batch's job as running it needs it (the strings and items borrowed). */
typedef struct rb_batch_job {
  const char *id;
  int rev;
  const char *batch_id;
  const char *type;       /* seed, monitor or the batch's type */
  const cJSON *items;     /* an execution job's ids, else NULL */
} rb_batch_job;
/* Runs (and deletes) a seed, monitor or execution job. */
int rb_batch_job_execute(rebatch_engine *e, const rb_batch_job *job, rb_response *res);
/* Sets (ms) or clears (RB_NO_DATE) a historic batch's removal time; an
 * unknown id is left alone. */
int rb_historic_batch_set_removal_time(rebatch_engine *e, const char *id, double ms);
/* Deletes a historic batch with its jobs' log and historic incidents. */
int rb_historic_batch_delete(rebatch_engine *e, rb_doc *hist);
/* The historic batch query (GET /history/batch), for selections. */
extern const rb_query rb_historic_batch_query;

/* The batch types (src/batch/, one file each). */
extern const rb_batch_type rb_batch_set_job_retries;
extern const rb_batch_type rb_batch_set_external_task_retries;
extern const rb_batch_type rb_batch_instance_restart;
extern const rb_batch_type rb_batch_instance_modification;
extern const rb_batch_type rb_batch_correlate_message;
extern const rb_batch_type rb_batch_instance_migration;
extern const rb_batch_type rb_batch_instance_deletion;
extern const rb_batch_type rb_batch_instance_suspension_state;
extern const rb_batch_type rb_batch_set_variables;
extern const rb_batch_type rb_batch_historic_instance_deletion;
extern const rb_batch_type rb_batch_process_set_removal_time;
extern const rb_batch_type rb_batch_batch_set_removal_time;

/* ---- batch/select.c: selections every batch type can use ------------------ */

/* Ids selected by a runtime or historic instance query DTO. */
int rb_select_instance_ids(rebatch_engine *e, const rb_query *query,
                           const cJSON *q, cJSON *ids_out, rb_response *res);
/* The same selection, each instance's row handed to visit. */
int rb_each_instance(rebatch_engine *e, const rb_query *query, const cJSON *q,
                     rb_row_visit visit, void *ctx, rb_response *res);
/* Where a request body names process instances: the members holding the
 * explicit ids, the runtime query and the historic query (NULL: none);
 * whether the explicit ids name historic instances; whether explicit ids
 * not found are left out (else kept, in the unknown deployment's group);
 * whether the historic query selects unfinished instances only. */
typedef struct rb_instance_sources {
  const char *ids;
  const char *runtime;
  const char *historic;
  int historic_ids;
  int known_only;
  int unfinished_only;
} rb_instance_sources;
/* The union of the instances a request body names, added to groups by
 * their deployment and sealed (sorted, deduplicated). */
int rb_select_instances(rebatch_engine *e, const cJSON *body, const rb_instance_sources *from,
                        cJSON *groups, rb_response *res);
extern const rb_query rb_job_query;
/* rb_query_body_each over a query DTO taken from a request body. */
int rb_query_body_each(rebatch_engine *e, const rb_query *query, const cJSON *q,
                       rb_row_visit visit, void *ctx, rb_response *res);
/* Checks a query DTO from a request body without running it. */
int rb_query_body_check(const rb_query *query, const cJSON *q, rb_response *res);

/* ---- modification.c: process instance modification ---------------------- */

/* Reads a request's instructions in the REST DTOs' order of checks into
 * *out (owned by the caller): for one instance (multiple = 0, cancel by
 * activity, activity instance or transition instance, variables kept
 * parsed) or for many (multiple = 1, as ModificationBuilder: cancel by
 * activity only, with cancelCurrentActiveActivityInstances; no variables). */
int rb_modification_read(const cJSON *body, int multiple, cJSON **out, rb_response *res);
/* A start after the activity takes its one outgoing flow: else 500. */
int rb_check_start_after(const cJSON *def, const char *activity_id, rb_response *res);
/* Applies read instructions in order to a loaded instance and stores it;
 * cancellations that leave no token end it as terminated_state. wrap: the
 * endpoint answers NotValidExceptions as InvalidRequestExceptions. */
int rb_modification_apply(rebatch_engine *e, rb_doc *inst, const cJSON *def, const cJSON *instructions,
                          const char *terminated_state, int wrap, rb_response *res);

/* ---- message.c: message correlation ---------------------------------------- */

/* What a message correlates with (strings borrowed): a NULL message name
 * matches any message a token waits for (the correlate-message batch). */
typedef struct rb_correlation {
  const char *message_name;
  const char *business_key;
  const char *process_instance_id;
  const char *tenant_id;
  int tenant_set;            /* tenantId or withoutTenantId given */
  const cJSON *correlation_keys; /* parsed {name: typed value}, or NULL */
  const cJSON *variables;        /* parsed payload, or NULL */
  int all;                   /* correlate every match (else exactly one) */
  int executions_only;       /* no message start events */
  int variables_in_result;
} rb_correlation;
/* Correlates and triggers; with results (a JSON array) set, appends a
 * MessageCorrelationResultDto per match. */
int rb_correlate(rebatch_engine *e, const rb_correlation *c, cJSON *results, rb_response *res);

/* ---- migration.c: migration plans ------------------------------------------ */

/* A MigrationPlanDto read and validated into its kept form (*plan owned by
 * the caller): 400 InvalidRequestException for missing definitions, 400
 * MigrationPlanValidationException (with its validationReport) for an
 * invalid plan. */
int rb_migration_plan_read(rebatch_engine *e, const cJSON *dto, cJSON **plan, rb_response *res);
/* Migrates one running instance by a kept plan, in this transaction. */
int rb_migration_migrate(rebatch_engine *e, const char *instance_id, const cJSON *plan, rb_response *res);
/* ---- suspension.c --------------------------------------------------------- */

/* PUT /process-instance/suspended by processDefinitionId or -Key (with
 * processDefinitionTenantId / processDefinitionWithoutTenantId): every
 * instance of those definitions; answers 204. */
int rb_instances_of_definitions_set_suspended(rebatch_engine *e, const cJSON *body, rb_response *res);
/* A timer job that suspends or activates process or job definitions
 * later (its jobType tells): scheduling one from a request's selection,
 * and running one. */
int rb_definition_state_job(const char *job_type);
int rb_state_job_schedule(rebatch_engine *e, const char *job_type, const cJSON *selection, double due);
int rb_definition_state_job_run(rebatch_engine *e, const char *job_type, const char *configuration,
                                rb_response *res);

/* ---- history_retention.c ------------------------------------------------- */

/* Sets (ms) or clears (RB_NO_DATE) the removal time of a historic
 * instance (loaded; saved here) and of every history record of it. */
int rb_history_set_removal_time(rebatch_engine *e, rb_doc *hist, double ms);
/* The same on the job log and historic incidents of the jobs of the given
 * job definitions (a batch's). */
int rb_job_history_set_removal_time(rebatch_engine *e, const char *const *definition_ids, int count, double ms);
/* The history cleanup job: its type, and running it. */
int rb_history_cleanup_job(const char *job_type);
int rb_history_cleanup_run(rebatch_engine *e);

/* ---- job_management.c ---------------------------------------------------- */

/* Suspends or activates the job definitions a selection names
 * (jobDefinitionId, processDefinitionId, or processDefinitionKey with its
 * tenant members), with their jobs when include_jobs. */
int rb_job_definitions_set_suspended(rebatch_engine *e, const cJSON *selector, int suspended, int include_jobs);

/* ---- operation handlers (one line per operation, defined in their files) */

typedef int (*rb_handler)(rebatch_engine *e, const cJSON *request,
                          rb_response *res);

#define RB_OPERATIONS(X)                                      \
  X(createDeployment, definition, 0)                          \
  X(getDeployments, definition, 0)                            \
  X(getDeployment, definition, 0)                             \
  X(deleteDeployment, definition, 0)                          \
  X(getProcessDefinitions, definition, 0)                     \
  X(getProcessDefinition, definition, 0)                      \
  X(getProcessDefinitionByKey, definition, 0)                 \
  X(startProcessInstance, instance, 0)                        \
  X(startProcessInstanceByKey, instance, 0)                   \
  X(getProcessInstances, instance, 0)                         \
  X(getProcessInstancesCount, instance, 0)                    \
  X(getProcessInstance, instance, 0)                          \
  X(deleteProcessInstance, instance, 0)                       \
  X(getHistoricProcessInstances, instance, 0)                 \
  X(getHistoricProcessInstancesCount, instance, 0)            \
  X(getHistoricProcessInstance, instance, 0)                  \
  X(getHistoricActivityInstances, instance, 0)                \
  X(getProcessInstanceVariables, variable, 0)                 \
  X(modifyProcessInstanceVariables, variable, 0)              \
  X(getProcessInstanceVariable, variable, 0)                  \
  X(setProcessInstanceVariable, variable, 0)                  \
  X(deleteProcessInstanceVariable, variable, 0)               \
  X(getHistoricVariableInstances, variable, 0)                \
  X(getHistoricVariableInstancesCount, variable, 0)           \
  X(getHistoricVariableInstance, variable, 0)                 \
  X(getHistoricDetails, variable, 0)                          \
  X(getHistoricDetailsCount, variable, 0)                     \
  X(getHistoricDetail, variable, 0)                           \
  X(getJobs, job, 0)                                          \
  X(getJobsCount, job, 0)                                     \
  X(getJob, job, 0)                                           \
  X(executeJob, job, 1)                                       \
  X(setJobRetries, job, 0)                                    \
  X(executeDueJobs, job, 1)                                   \
  X(completeLockedJob, job, 1)                                \
  X(failLockedJob, job, 0)                                    \
  X(getJobDefinitions, job, 0)                                \
  X(getJobStacktrace, job_log, 0)                             \
  X(getExternalTasks, external_task, 0)                       \
  X(getExternalTasksCount, external_task, 0)                  \
  X(getExternalTask, external_task, 0)                        \
  X(fetchAndLock, external_task, 0)                           \
  X(completeExternalTask, external_task, 0)                   \
  X(handleExternalTaskFailure, external_task, 0)              \
  X(handleExternalTaskBpmnError, external_task, 0)            \
  X(unlockExternalTask, external_task, 0)                     \
  X(lockExternalTask, external_task, 0)                       \
  X(extendExternalTaskLock, external_task, 0)                 \
  X(setExternalTaskRetries, external_task, 0)                 \
  X(getIncidents, incident, 0)                                \
  X(getIncidentsCount, incident, 0)                           \
  X(getHistoricIncidents, incident, 0)                        \
  X(getHistoricIncidentsCount, incident, 0)                   \
  X(getEventSubscriptions, event_subscription, 0)             \
  X(getEventSubscriptionsCount, event_subscription, 0)        \
  X(getActivityInstanceTree, activity_tree, 0)                \
  X(getHistoricActivityInstancesCount, instance, 0)           \
  X(getHistoricActivityInstance, instance, 0)                 \
  X(getHistoricJobLogs, job_log, 0)                           \
  X(getHistoricJobLogsCount, job_log, 0)                      \
  X(getHistoricJobLog, job_log, 0)                            \
  X(getHistoricJobLogStacktrace, job_log, 0)                  \
  X(getExternalTaskErrorDetails, external_task, 0)            \
  X(setJobRetriesAsyncByProcess, job_retries, 0)              \
  X(setJobRetriesAsyncByHistoricQuery, job_retries, 0)        \
  X(setJobRetriesAsync, job_retries, 0)                       \
  X(setExternalTaskRetriesAsync, external_task_retries, 0)    \
  X(setExternalTaskRetriesSync, external_task_retries, 0)     \
  X(restartProcessInstancesAsync, restart, 0)                 \
  X(restartProcessInstances, restart, 0)                      \
  X(modifyProcessInstance, modification, 0)                   \
  X(executeModification, modification, 0)                     \
  X(executeModificationAsync, modification, 0)                \
  X(correlateMessage, message, 0)                             \
  X(correlateMessageAsync, message, 0)                        \
  X(generateMigrationPlan, migration, 0)                      \
  X(validateMigrationPlan, migration, 0)                      \
  X(executeMigrationPlan, migration, 0)                       \
  X(executeMigrationPlanAsync, migration, 0)                  \
  X(restartProcessInstancesByKeyAsync, restart, 0)            \
  X(restartProcessInstancesByKey, restart, 0)                 \
  X(deleteProcessInstancesAsync, instance_deletion, 0)        \
  X(deleteProcessInstancesAsyncHistoricQueryBased, instance_deletion, 0) \
  X(setProcessInstancesSuspendedAsync, suspension_state, 0)  \
  X(setProcessInstancesSuspended, suspension_state, 0)       \
  X(setProcessInstanceSuspended, suspension, 0)              \
  X(setProcessDefinitionSuspended, suspension, 0)            \
  X(setProcessDefinitionsSuspended, suspension, 0)           \
  X(setVariablesAsync, set_variables, 0)                      \
  X(deleteHistoricProcessInstancesAsync, historic_deletion, 0) \
  X(deleteHistoricProcessInstance, historic_deletion, 0)      \
  X(deleteJob, job_management, 0)                            \
  X(setRemovalTimeAsync, removal_time, 0)                    \
  X(setBatchRemovalTimeAsync, batch_removal_time, 0)          \
  X(updateHistoryTimeToLive, definition, 0)                   \
  X(updateHistoryTimeToLiveByKey, definition, 0)              \
  X(setProcessDefinitionSuspendedByKey, definition, 0)        \
  X(cleanupHistory, history_retention, 0)                    \
  X(getHistoryCleanupJob, history_retention, 0)              \
  X(getHistoryCleanupJobs, history_retention, 0)             \
  X(getHistoryCleanupConfiguration, history_retention, 0)    \
  X(setJobDefinitionRetries, job_management, 0)              \
  X(setJobsSuspended, job_management, 0)                     \
  X(setJobSuspended, job_management, 0)                      \
  X(setJobDefinitionsSuspended, job_management, 0)           \
  X(setJobDefinitionSuspended, job_management, 0)            \
  X(getBatches, batch, 0)                                     \
  X(getBatchesCount, batch, 0)                                \
  X(getBatch, batch, 0)                                       \
  X(deleteBatch, batch, 0)                                    \
  X(setBatchSuspended, batch, 0)                              \
  X(getBatchStatistics, batch, 0)                             \
  X(getBatchStatisticsCount, batch, 0)                        \
  X(getHistoricBatches, batch, 0)                             \
  X(getHistoricBatchesCount, batch, 0)                        \
  X(getHistoricBatch, batch, 0)                               \
  X(deleteHistoricBatch, batch, 0)                            \
  X(createUser, user, 0)                                      \
  X(getUsers, user, 0)                                        \
  X(getUsersCount, user, 0)                                   \
  X(getUserProfile, user, 0)                                  \
  X(deleteUser, user, 0)                                      \
  X(updateUserCredentials, user, 0)                           \
  X(getUserCredentials, user, 0)

#define RB_DECLARE_HANDLER(name, file, own_tx)                \
  int rb_op_##name(rebatch_engine *e, const cJSON *request,   \
                   rb_response *res);
RB_OPERATIONS(RB_DECLARE_HANDLER)
#undef RB_DECLARE_HANDLER

#endif
