/*
 * rebatch.h - the whole public C API of rebatch, a Camunda 7 compatible
 * batch-and-retry engine core.
 *
 * Every public name starts with "rebatch_" (functions, types) or "REBATCH_"
 * (macros, constants). Anything not declared here is internal.
 *
 * Shape of the API
 *   - The host owns where data lives: it hands the engine a rebatch_store
 *     (a versioned table of function pointers, in the spirit of sqlite3_vfs)
 *     and a rebatch_host (clock, id source, job handler).
 *   - Every engine operation goes through one entry point, rebatch_call(),
 *     which takes an operation name and a request JSON text and returns a
 *     response JSON text {"status": <http status>, "body": <json>}. Errors are
 *     Camunda's error bodies: {"type": ..., "message": ..., "code": ...}.
 *   - Each rebatch_call() is one storage transaction: it either happens whole
 *     or leaves the store as it was.
 *
 * Ownership
 *   Every function that returns a pointer says who owns it. Buffers the caller
 *   owns are released with rebatch_free(). Pointers passed in are borrowed for
 *   the duration of the call unless the function says otherwise.
 *
 * Threads
 *   An engine handle is not thread safe; use one per thread or serialise.
 */
#ifndef REBATCH_H
#define REBATCH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REBATCH_VERSION "0.1.0"

/* ------------------------------------------------------------------------ */
/* Result codes (stable; shared by the API and the storage callbacks).      */
/* ------------------------------------------------------------------------ */

#define REBATCH_OK 0
/* A get/remove named a record that does not exist. */
#define REBATCH_NOTFOUND 1
/* A put/remove named a revision that is not the stored one (optimistic lock),
 * or an insert (expected revision 0) met an existing record. */
#define REBATCH_CONFLICT 2
/* Any other storage failure; the store's errmsg() says what. */
#define REBATCH_ERROR 3
/* Out of memory. */
#define REBATCH_NOMEM 4
/* The caller broke the API contract (NULL argument, bad version, ...). */
#define REBATCH_MISUSE 5
/* Only from rebatch_host.execute_job: the host runs the job's code on its
 * own (asynchronously); see execute_job. */
#define REBATCH_DEFERRED 6

/* A static, human readable name of a result code. Owned by the library. */
const char *rebatch_errstr(int rc);

/* ------------------------------------------------------------------------ */
/* Memory                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Frees a buffer this library returned to the caller (rebatch_call,
 * rebatch_memory_store_dump, rebatch_alloc). NULL is a no-op.
 */
void rebatch_free(void *ptr);

/*
 * Allocates with the library's allocator. Hosts that write into the
 * library's memory (the WASM binding) use it; release with rebatch_free().
 * Returns NULL when out of memory.
 */
void *rebatch_alloc(size_t size);

/*
 * Replaces the allocator used by the library and by cJSON inside it.
 * Process wide; call it before any engine or store exists. Passing NULL for
 * all three restores malloc/realloc/free. Native tests use it to count
 * allocations and to fail the Nth one.
 */
void rebatch_set_allocator(void *(*malloc_fn)(size_t),
                           void *(*realloc_fn)(void *, size_t),
                           void (*free_fn)(void *));

/* ------------------------------------------------------------------------ */
/* Storage interface                                                        */
/* ------------------------------------------------------------------------ */

/*
 * Records live in named collections ("job", "externalTask", ...), keyed by a
 * string id, as JSON text. Every record carries a revision: a positive
 * integer the store assigns (1 on insert, +1 on every update). A put names
 * the revision it expects: 0 to insert a new record, otherwise the revision
 * the writer read. A mismatch is REBATCH_CONFLICT and changes nothing. This
 * mirrors Camunda's REV_ column and lets several engines share one store.
 *
 * The core declares, on every put, the values of the record's indexed
 * fields, so a store never parses JSON to maintain indexes. find() answers
 * equality lookups on those fields.
 *
 * Listings (get, find, scan) deliver their rows into a rebatch_rows the core
 * passes in, by calling rebatch_rows_add() once per row, in ascending id
 * order (byte-wise strcmp order), after the id given as `after_id` (NULL: from
 * the start), at most `limit` rows.
 *
 * Transactions: the core calls begin() before an operation's first access and
 * commit() or rollback() after its last. Reads inside a transaction see the
 * transaction's own writes. The core never nests transactions.
 *
 * Errors: every callback returns a REBATCH_* code. A callback must never
 * unwind through the core (no longjmp, no C++ or JS exception); a host that
 * uses exceptions catches them, keeps the message and returns REBATCH_ERROR.
 * The core then asks errmsg() for the text, rolls back, and reports the
 * failure to the caller; nothing of the operation stays written.
 *
 * Versioning: `version` is REBATCH_STORE_VERSION for this layout. Later
 * versions only append members; the core reads no member past what the
 * declared version has.
 *
 * Version 2 appends savepoints (savepoint, release, rollback_to), which let
 * the job executor run several jobs in one transaction (group commit), each
 * job inside a savepoint of its own: a job that fails is rolled back to its
 * savepoint and the others of the group still commit. A savepoint is opened
 * only inside a transaction, never nested (at most one is open), and always
 * ended by release() or rollback_to() before the transaction's commit() or
 * rollback(). With a version 1 store the executor commits each job alone.
 *
 * Version 3 appends find_ordered, a walk over one indexed field in value
 * order. With it the core writes the job executor's "acquirable" index value
 * as the job's due date (a fixed-width key) and acquisition reads the due
 * jobs first, stopping at the first that is not due: it costs what it
 * acquires. Without it (NULL, or an older version) the value is "1" and
 * acquisition walks every acquirable job. A version 3 store without
 * savepoints leaves those three members NULL (the executor then commits each
 * job alone).
 */
#define REBATCH_STORE_VERSION 3

typedef struct rebatch_rows rebatch_rows;

typedef struct rebatch_index_entry {
  const char *field; /* e.g. "processInstanceId" */
  const char *value; /* NULL: the record has no value for this field */
} rebatch_index_entry;

typedef struct rebatch_store {
  int version; /* REBATCH_STORE_VERSION */
  void *ctx;   /* passed back to every callback; owned by the host */

  int (*begin)(void *ctx);
  int (*commit)(void *ctx);
  int (*rollback)(void *ctx);

  /* Adds the record to `out` (0 or 1 row). REBATCH_OK also when absent. */
  int (*get)(void *ctx, const char *collection, const char *id,
             rebatch_rows *out);

  /* Inserts (expected_rev == 0) or replaces (expected_rev == stored revision)
   * a record, with the full set of its indexed field values (index_count may
   * be 0). On REBATCH_OK writes the new revision to *new_rev. */
  int (*put)(void *ctx, const char *collection, const char *id,
             const char *json, int expected_rev,
             const rebatch_index_entry *index, int index_count,
             int *new_rev);

  /* Removes a record whose stored revision is expected_rev.
   * REBATCH_NOTFOUND when absent, REBATCH_CONFLICT on a revision mismatch. */
  int (*remove)(void *ctx, const char *collection, const char *id,
                int expected_rev);

  /* Rows whose indexed `field` equals `value`. */
  int (*find)(void *ctx, const char *collection, const char *field,
              const char *value, const char *after_id, int limit,
              rebatch_rows *out);

  /* All rows of a collection. */
  int (*scan)(void *ctx, const char *collection, const char *after_id,
              int limit, rebatch_rows *out);

  /* The message of the last failure; owned by the store, valid until its
   * next callback. May return NULL. */
  const char *(*errmsg)(void *ctx);

  /* ---- version 2 ---- */

  /* Marks the current state of the open transaction. */
  int (*savepoint)(void *ctx);
  /* Ends the open savepoint, keeping its writes in the transaction. */
  int (*release)(void *ctx);
  /* Undoes every write since the open savepoint and ends it; the
   * transaction stays open with the writes made before the savepoint. */
  int (*rollback_to)(void *ctx);

  /* ---- version 3 ---- */

  /* Rows that have a value for the indexed `field`, in ascending (value, id)
   * byte order, strictly after the pair (after_value, after_id) (both NULL:
   * from the start), at most `limit` rows (negative: no limit). */
  int (*find_ordered)(void *ctx, const char *collection, const char *field,
                      const char *after_value, const char *after_id, int limit,
                      rebatch_rows *out);
} rebatch_store;

/*
 * Called by a store inside get/find/scan to deliver one row. Copies id and
 * json (the caller keeps ownership of both). Returns REBATCH_OK or
 * REBATCH_NOMEM; a store passes a failure code on as its own return value.
 */
int rebatch_rows_add(rebatch_rows *rows, const char *id, const char *json,
                     int rev);

/*
 * The built-in in-memory store: hash tables, per-field indexes, revisions,
 * and transactions with an undo log. Returns NULL when out of memory. The
 * caller owns the store and releases it with rebatch_memory_store_free()
 * after every engine using it is closed.
 */
rebatch_store *rebatch_memory_store_new(void);
void rebatch_memory_store_free(rebatch_store *store);

/*
 * The store's whole content as JSON text:
 * {"<collection>": {"<id>": {"rev": n, "record": <json>}, ...}, ...}, with
 * collections and ids sorted and records embedded as stored, so that two
 * deterministic runs compare byte for byte. Caller frees with rebatch_free(). NULL when out of memory.
 */
char *rebatch_memory_store_dump(const rebatch_store *store);

/* ------------------------------------------------------------------------ */
/* Host services                                                            */
/* ------------------------------------------------------------------------ */

/*
 * What the engine asks of its host besides storage. With a deterministic
 * clock and id source the engine is deterministic: the same calls produce
 * byte-identical store contents.
 */
#define REBATCH_HOST_VERSION 1

/* Longest id (without the terminating NUL) next_id may write. */
#define REBATCH_ID_MAX 63

typedef struct rebatch_host {
  int version; /* REBATCH_HOST_VERSION */
  void *ctx;   /* passed back to every callback; owned by the host */

  /* Current time, milliseconds since 1970-01-01T00:00:00Z. */
  double (*now_ms)(void *ctx);

  /* Writes a fresh, unique, NUL-terminated id of at most REBATCH_ID_MAX
   * bytes into buf. Returns REBATCH_OK or an error code. */
  int (*next_id)(void *ctx, char *buf);

  /*
   * Optional (may be NULL: every job succeeds). Called when the engine
   * executes a job that runs process code: an async continuation or a timer.
   * `job_json` is the job as GET /job/{id} shows it, plus the activity's
   * `activityId`, `jobConfiguration` ("async-before", "async-after" or
   * the timer's) and, when the model has them, `delegateExpression`,
   * `class` and `expression`. Return REBATCH_OK for success; REBATCH_DEFERRED
   * when the host runs the code on its own: the job is then locked for the
   * lock owner written into error_buf (NUL-terminated) for the executor's
   * lockTimeInMillis, not acquired again until the lock expires, and the
   * host ends it with the completeLockedJob or failLockedJob operation.
   * Anything else makes the job fail with the message written into
   * error_buf (NUL-terminated, at most error_cap bytes including the NUL),
   * which may be followed by a second NUL-terminated string: the failure's
   * stacktrace (else the engine writes one).
   * Tests and the simulation use it to produce real job failures.
   */
  int (*execute_job)(void *ctx, const char *job_json, char *error_buf,
                     int error_cap);
} rebatch_host;

/* ------------------------------------------------------------------------ */
/* Engine                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct rebatch_engine rebatch_engine;

/*
 * Opens an engine over a store and a host. Both structs are copied, so they
 * may be temporaries; their ctx pointers and everything the store holds must
 * outlive the engine. `config_json` may be NULL or a JSON object with any of:
 *   batchJobsPerSeed (100), invocationsPerBatchJob (1),
 *   invocationsPerBatchJobByBatchType ({}), batchPollTime (30, seconds),
 *   defaultNumberOfRetries (3), lockTimeInMillis (300000),
 *   maxJobsPerAcquisition (3), historyLevel ("full"; only "full" supported).
 * On success writes the engine to *out and returns REBATCH_OK; the caller
 * closes it with rebatch_close(). On failure *out is NULL and, when
 * `error_out` is not NULL, *error_out receives a message the caller frees
 * with rebatch_free().
 */
int rebatch_open(const rebatch_store *store, const rebatch_host *host,
                 const char *config_json, rebatch_engine **out,
                 char **error_out);

/* Closes an engine. NULL is a no-op. Does not touch the store's data. */
void rebatch_close(rebatch_engine *engine);

/*
 * Runs one operation. `operation` names it (see rebatch_operations());
 * `request_json` is its request object (NULL means an absent body, which
 * operations report the way Camunda does). Returns
 *   {"status": <int>, "body": <json or null>}
 * as JSON text the caller frees with rebatch_free(); NULL only when out of
 * memory. Camunda's error bodies come with status >= 400. The operation is
 * one transaction: on any error status nothing it did stays written.
 */
char *rebatch_call(rebatch_engine *engine, const char *operation,
                   const char *request_json);

/*
 * The names of every operation rebatch_call() knows, as a JSON array text.
 * The caller frees it with rebatch_free(); NULL when out of memory.
 */
char *rebatch_operations(void);

/*
 * Test seam: makes the Nth storage callback from now (1 = the next one) fail
 * with REBATCH_ERROR and the message "injected storage fault". 0 disarms.
 * begin/commit/rollback are not counted.
 */
void rebatch_inject_store_fault(rebatch_engine *engine, int nth_call);

/* ------------------------------------------------------------------------ */
/* WASM host bridge (WASM build only; defined in src/host_wasm.c)           */
/* ------------------------------------------------------------------------ */

/*
 * A store and a host whose callbacks relay to the JS binding through static
 * imports (module "env", rebatch_js_*), keyed by `handle`, an integer the JS
 * side chooses; ctx is the handle. has_find_ordered 1 makes a version 3
 * store (the JS store has findOrdered), else has_savepoints 0 makes a version
 * 1 store (the JS store has no savepoint methods); savepoints are relayed only
 * when has_savepoints is 1. has_job_handler 0 leaves execute_job
 * NULL. Returns NULL when out of memory. The caller owns the struct and
 * frees it with the matching _free (NULL is a no-op); since rebatch_open()
 * copies both structs, the binding frees them right after opening.
 */
rebatch_store *rebatch_js_store_new(int handle, int has_savepoints,
                                    int has_find_ordered);
void rebatch_js_store_free(rebatch_store *store);
rebatch_host *rebatch_js_host_new(int handle, int has_job_handler);
void rebatch_js_host_free(rebatch_host *host);

#ifdef __cplusplus
}
#endif

#endif /* REBATCH_H */
