/*
 * engine.c - engine lifetime, configuration, and rebatch_call(): the one
 * entry point that wraps every operation in a transaction and turns its
 * outcome into {"status", "body"}.
 */
#include "core.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct rb_operation {
  const char *name;
  rb_handler handler;
  int own_transactions; /* runs several transactions itself (job execution) */
} rb_operation;

#define RB_OPERATION_ENTRY(name, file, own_tx) {#name, rb_op_##name, own_tx},
static const rb_operation operations[] = {RB_OPERATIONS(RB_OPERATION_ENTRY)};
#undef RB_OPERATION_ENTRY

char *rebatch_operations(void) {
  cJSON *names = cJSON_CreateArray();
  char *text = NULL;
  size_t i;
  if (!names) return NULL;
  for (i = 0; i < sizeof operations / sizeof operations[0]; i++) {
    cJSON *name = cJSON_CreateString(operations[i].name);
    if (!name || !cJSON_AddItemToArray(names, name)) {
      cJSON_Delete(name);
      break;
    }
  }
  if (i == sizeof operations / sizeof operations[0])
    text = cJSON_PrintUnformatted(names);
  cJSON_Delete(names);
  return text;
}

const char *rebatch_errstr(int rc) {
  switch (rc) {
  case REBATCH_OK: return "ok";
  case REBATCH_NOTFOUND: return "not found";
  case REBATCH_CONFLICT: return "conflict";
  case REBATCH_ERROR: return "storage error";
  case REBATCH_NOMEM: return "out of memory";
  case REBATCH_MISUSE: return "misuse";
  default: return "unknown error";
  }
}

static int config_int(const cJSON *cfg, const char *key, int dflt, int min,
                      int *out, char **error_out) {
  long long v;
  int got = rb_int(cfg, key, &v);
  if (got == 0) {
    *out = dflt;
    return 1;
  }
  if (got < 0 || v < min || v > 1000000000) {
    if (error_out) *error_out = rb_sprintf("config: %s must be an integer >= %d", key, min);
    return 0;
  }
  *out = (int)v;
  return 1;
}

/* The keys rebatch_open() knows; "jobExecutor" holds the host's executor
 * settings (the JS binding checks them), so one configuration object serves
 * both. Anything else is a mistake worth reporting, not ignoring. */
static const char *const config_keys[] = {
    "batchJobsPerSeed", "invocationsPerBatchJob", "invocationsPerBatchJobByBatchType",
    "batchPollTime", "defaultNumberOfRetries", "lockTimeInMillis", "maxJobsPerAcquisition",
    "historyLevel", "queryMaxResultsLimit", "jobExecutor", NULL};

static int known_keys(const cJSON *cfg, char **error_out) {
  const cJSON *item;
  if (cfg && !cJSON_IsObject(cfg) && !cJSON_IsNull(cfg)) {
    if (error_out) *error_out = rb_sprintf("config must be a JSON object");
    return 0;
  }
  cJSON_ArrayForEach(item, cfg) {
    int known = 0;
    for (int i = 0; !known && config_keys[i]; i++) known = strcmp(item->string, config_keys[i]) == 0;
    if (!known) {
      if (error_out) *error_out = rb_sprintf("config: unknown key '%s'", item->string);
      return 0;
    }
  }
  return 1;
}

static int read_config(rb_config *c, const cJSON *cfg, char **error_out) {
  const cJSON *by_type = cJSON_GetObjectItemCaseSensitive(cfg, "invocationsPerBatchJobByBatchType");
  const char *level = rb_str(cfg, "historyLevel");
  int lock_ms;
  if (!known_keys(cfg, error_out) ||
      !config_int(cfg, "batchJobsPerSeed", 100, 1, &c->batch_jobs_per_seed, error_out) ||
      !config_int(cfg, "invocationsPerBatchJob", 1, 0, &c->invocations_per_batch_job, error_out) ||
      !config_int(cfg, "batchPollTime", 30, 0, &c->batch_poll_time_s, error_out) ||
      !config_int(cfg, "defaultNumberOfRetries", 3, 0, &c->default_retries, error_out) ||
      !config_int(cfg, "lockTimeInMillis", 300000, 0, &lock_ms, error_out) ||
      !config_int(cfg, "maxJobsPerAcquisition", 3, 1, &c->max_jobs_per_acquisition, error_out) ||
      !config_int(cfg, "queryMaxResultsLimit", 0, 1, &c->query_max_results_limit, error_out))
    return 0;
  c->lock_time_ms = lock_ms;
  if (level && strcmp(level, "full") != 0) {
    if (error_out) *error_out = rb_sprintf("config: historyLevel '%s' is not supported; rebatch keeps full history", level);
    return 0;
  }
  if (by_type && !cJSON_IsNull(by_type)) {
    if (!cJSON_IsObject(by_type)) {
      if (error_out) *error_out = rb_sprintf("config: invocationsPerBatchJobByBatchType must be an object");
      return 0;
    }
    c->invocations_by_batch_type = cJSON_Duplicate(by_type, 1);
    if (!c->invocations_by_batch_type) return 0;
  }
  return 1;
}

static int valid_store(const rebatch_store *s) {
  return s && s->version >= 1 && s->begin && s->commit && s->rollback &&
         s->get && s->put && s->remove && s->find && s->scan;
}

static int valid_host(const rebatch_host *h) {
  return h && h->version >= 1 && h->now_ms && h->next_id;
}

/* Copies the members the store's version declares (a host built against an
 * older header passes a shorter struct); the engine's are zeroed. */
static void copy_store(rebatch_store *to, const rebatch_store *from) {
  size_t size = from->version >= 3   ? sizeof *from
                : from->version == 2 ? offsetof(rebatch_store, find_ordered)
                                     : offsetof(rebatch_store, savepoint);
  memcpy(to, from, size);
}

int rebatch_open(const rebatch_store *store, const rebatch_host *host,
                 const char *config_json, rebatch_engine **out,
                 char **error_out) {
  rebatch_engine *e;
  cJSON *cfg = NULL;
  int rc;
  if (error_out) *error_out = NULL;
  if (!out) return REBATCH_MISUSE;
  *out = NULL;
  if (!valid_store(store) || !valid_host(host)) {
    if (error_out) *error_out = rb_sprintf("store or host is incomplete or of an unknown version");
    return REBATCH_MISUSE;
  }
  if (config_json && (rc = rb_parse_request(config_json, &cfg)) != REBATCH_OK) {
    if (rc == REBATCH_NOMEM) return REBATCH_NOMEM;
    if (error_out) *error_out = rb_sprintf("config is not valid JSON");
    return REBATCH_MISUSE;
  }
  e = rb_calloc(1, sizeof *e);
  if (!e) {
    cJSON_Delete(cfg);
    return REBATCH_NOMEM;
  }
  copy_store(&e->store, store);
  e->host = *host;
  if (!read_config(&e->config, cfg, error_out)) {
    cJSON_Delete(cfg);
    rebatch_close(e);
    return REBATCH_MISUSE;
  }
  cJSON_Delete(cfg);
  *out = e;
  return REBATCH_OK;
}

void rebatch_close(rebatch_engine *e) {
  if (!e) return;
  cJSON_Delete(e->config.invocations_by_batch_type);
  rb_free(e->save_text);
  rb_free(e);
}

void rebatch_inject_store_fault(rebatch_engine *e, int nth_call) {
  if (e) e->fault_countdown = nth_call > 0 ? nth_call : 0;
}

double rb_now(rebatch_engine *e) { return e->host.now_ms(e->host.ctx); }

int rb_new_id(rebatch_engine *e, char *buf) {
  int rc;
  buf[0] = '\0';
  rc = e->host.next_id(e->host.ctx, buf);
  buf[REBATCH_ID_MAX] = '\0';
  if (rc == REBATCH_OK && !buf[0]) rc = REBATCH_ERROR;
  if (rc != REBATCH_OK) strcpy(e->store_error, "the host's id source failed");
  return rc;
}

static int set_error(rb_response *res, int status, const char *type, int code,
                     const char *fmt, va_list ap) {
  char *message = rb_vsprintf(fmt, ap);
  cJSON *body = cJSON_CreateObject();
  cJSON_Delete(res->body);
  res->status = status;
  res->body = body;
  if (body) {
    rb_put_str(body, "type", type);
    rb_put_str(body, "message", message ? message : "");
    if (code == RB_CODE_NULL) rb_put_null(body, "code");
    else rb_put_num(body, "code", code);
  }
  rb_free(message);
  return RB_REJECTED;
}

int rb_error(rb_response *res, int status, const char *type, int code,
             const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_error(res, status, type, code, fmt, ap);
  va_end(ap);
  return RB_REJECTED;
}

int rb_invalid(rb_response *res, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_error(res, status, "InvalidRequestException", RB_CODE_NULL, fmt, ap);
  va_end(ap);
  return RB_REJECTED;
}

int rb_not_found(rb_response *res, const char *type, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_error(res, 404, type, RB_CODE_NULL, fmt, ap);
  va_end(ap);
  return RB_REJECTED;
}

int rb_ok(rb_response *res, int status, cJSON *body) {
  cJSON_Delete(res->body);
  res->status = status;
  res->body = body;
  return REBATCH_OK;
}

/* A storage or memory failure becomes Camunda's engine exception body. */
static void storage_failure(rebatch_engine *e, int rc, rb_response *res) {
  if (rc == REBATCH_CONFLICT)
    rb_error(res, 500, "OptimisticLockingException", 1,
             "ENGINE-03005 Execution of an operation failed: another writer changed the same record first (%s)",
             e->store_error[0] ? e->store_error : "conflict");
  else if (rc == REBATCH_NOMEM)
    rb_error(res, 500, "ProcessEngineException", 0, "out of memory");
  else
    rb_error(res, 500, "ProcessEngineException", 0, "storage failure: %s",
             e->store_error[0] ? e->store_error : rebatch_errstr(rc));
}

static const rb_operation *find_operation(const char *name) {
  for (size_t i = 0; i < sizeof operations / sizeof operations[0]; i++)
    if (strcmp(operations[i].name, name) == 0) return &operations[i];
  return NULL;
}

/* {"status":N,"body":...}, printed around the body rather than from a copy
 * of it in an envelope: bodies can be large. Owned by the caller (rb_free). */
static char *render(const rb_response *res) {
  char head[48];
  if (!res->body) return rb_sprintf("{\"status\":%d,\"body\":null}", res->status);
  snprintf(head, sizeof head, "{\"status\":%d,\"body\":", res->status);
  return rb_print_framed(head, res->body, "}");
}

/* Runs a handler inside one transaction: commit on success, roll back on
 * any error response or failure code. A success is rendered before the
 * commit, so running out of memory on the response (a NULL return) never
 * leaves the operation written; returns that text, or NULL with res set
 * to the error. */
static char *run_in_transaction(rebatch_engine *e, const rb_operation *op,
                                const cJSON *request, rb_response *res) {
  char *text = NULL;
  int rc = rb_tx_begin(e);
  if (rc == REBATCH_OK) rc = op->handler(e, request, res);
  if (rc == REBATCH_OK && res->status < 400) {
    text = render(res);
    rc = text ? rb_tx_commit(e) : REBATCH_NOMEM;
    if (rc == REBATCH_OK) return text;
    rb_free(text);
  }
  rb_tx_rollback(e);
  if (rc != REBATCH_OK && rc != RB_REJECTED) storage_failure(e, rc, res);
  return NULL;
}

char *rebatch_call(rebatch_engine *e, const char *operation,
                   const char *request_json) {
  rb_response res = {0, NULL};
  cJSON *request = NULL;
  char number[48];
  const rb_operation *op = operation ? find_operation(operation) : NULL;
  char *text = NULL;
  int parsed = request_json ? rb_parse_request(request_json, &request) : REBATCH_OK;
  int coerced = 1;
  if (!e || !op) {
    rb_error(&res, 404, "RestException", RB_CODE_NULL, "Unknown operation '%s'",
             operation ? operation : "(null)");
  } else if (parsed == REBATCH_NOMEM) {
    storage_failure(e, REBATCH_NOMEM, &res);
  } else if (parsed != REBATCH_OK) {
    rb_invalid(&res, 400, "The request is not valid JSON");
  } else if (request && !cJSON_IsObject(request) && !cJSON_IsNull(request)) {
    rb_invalid(&res, 400, "The request must be a JSON object");
  } else if (request && (coerced = rb_request_coerce(request, &res)) != 1) {
    if (coerced < 0) storage_failure(e, REBATCH_NOMEM, &res);
  } else if (request_json && rb_json_inexact_integer(request_json, number, sizeof number)) {
    /* Refused rather than silently rounded (a Long variable, mostly). */
    rb_invalid(&res, 400, "Cannot read the number %s: rebatch keeps integers exactly only up to 2^53 "
               "(9007199254740992) in magnitude", number);
  } else if (op->own_transactions) {
    int rc = op->handler(e, request, &res);
    rb_tx_rollback(e);
    if (rc != REBATCH_OK && rc != RB_REJECTED) storage_failure(e, rc, &res);
  } else {
    text = run_in_transaction(e, op, request, &res);
  }
  if (res.status == 0) rb_error(&res, 500, "ProcessEngineException", 0, "operation produced no response");
  if (!text) text = render(&res);
  cJSON_Delete(res.body);
  cJSON_Delete(request);
  return text;
}
