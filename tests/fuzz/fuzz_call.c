/*
 * fuzz_call.c - a libFuzzer target on rebatch_call().
 *
 * Input: byte 0 picks the operation (from rebatch_operations()), byte 1 is
 * the store call that fails (0: none; rebatch_inject_store_fault), the rest
 * is the request JSON (dto.dict shapes it). Every input runs on a fresh
 * engine over the memory store holding deployments, instances, an external
 * task (locked by worker "w"), a due job and a batch, with ids id00001...
 *
 * Besides what ASan/UBSan catch, it aborts when rebatch_call breaks its
 * contract: no answer, an answer that is not {"status":N,"body":...}, a
 * storage failure or out of memory reported with no fault injected, or a
 * refused call (4xx/5xx) that changed the store.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "rebatch.h"

typedef struct {
  double now;
  long next_id;
} host_ctx;

static double h_now(void *ctx) { return ((host_ctx *)ctx)->now; }

static int h_next_id(void *ctx, char *buf) {
  host_ctx *h = ctx;
  snprintf(buf, REBATCH_ID_MAX + 1, "id%05ld", ++h->next_id);
  return REBATCH_OK;
}

static int h_execute_job(void *ctx, const char *job_json, char *error_buf, int error_cap) {
  (void)ctx;
  if (!strstr(job_json, "fail")) return REBATCH_OK;
  snprintf(error_buf, (size_t)error_cap, "boom");
  return REBATCH_ERROR;
}

static const char *const setup[][2] = {
    {"createDeployment",
     "{\"body\":{\"name\":\"d\",\"processes\":["
     "{\"key\":\"invoice\",\"activities\":[{\"id\":\"start\",\"type\":\"startEvent\"},"
     "{\"id\":\"charge\",\"type\":\"serviceTask\",\"topic\":\"charge\"},{\"id\":\"end\",\"type\":\"endEvent\"}],"
     "\"flows\":[{\"id\":\"f1\",\"source\":\"start\",\"target\":\"charge\"},"
     "{\"id\":\"f2\",\"source\":\"charge\",\"target\":\"end\"}]},"
     "{\"key\":\"async\",\"activities\":[{\"id\":\"start\",\"type\":\"startEvent\"},"
     "{\"id\":\"work\",\"type\":\"serviceTask\",\"asyncBefore\":true,\"failedJobRetryTimeCycle\":\"R2/PT1M\"},"
     "{\"id\":\"end\",\"type\":\"endEvent\"}],"
     "\"flows\":[{\"id\":\"f1\",\"source\":\"start\",\"target\":\"work\"},"
     "{\"id\":\"f2\",\"source\":\"work\",\"target\":\"end\"}]}]}}"},
    {"startProcessInstanceByKey",
     "{\"key\":\"invoice\",\"body\":{\"businessKey\":\"a\",\"variables\":{\"x\":{\"value\":1}}}}"},
    {"startProcessInstanceByKey", "{\"key\":\"invoice\",\"body\":{\"businessKey\":\"b\"}}"},
    {"startProcessInstanceByKey", "{\"key\":\"async\",\"body\":{\"businessKey\":\"fail\"}}"},
    {"fetchAndLock",
     "{\"body\":{\"workerId\":\"w\",\"maxTasks\":1,\"topics\":[{\"topicName\":\"charge\",\"lockDuration\":60000}]}}"},
    {"setExternalTaskRetriesAsync",
     "{\"body\":{\"externalTaskQuery\":{\"topicName\":\"charge\"},\"retries\":2}}"},
};

static int open_engine(rebatch_store **store, rebatch_engine **e, host_ctx *h) {
  rebatch_host host;
  memset(&host, 0, sizeof host);
  host.version = REBATCH_HOST_VERSION;
  host.ctx = h;
  host.now_ms = h_now;
  host.next_id = h_next_id;
  host.execute_job = h_execute_job;
  h->now = 1704067200000.0;
  h->next_id = 0;
  if (!(*store = rebatch_memory_store_new())) return 0;
  if (rebatch_open(*store, &host, NULL, e, NULL) != REBATCH_OK) {
    rebatch_memory_store_free(*store);
    return 0;
  }
  for (size_t i = 0; i < sizeof setup / sizeof setup[0]; i++) rebatch_free(rebatch_call(*e, setup[i][0], setup[i][1]));
  return 1;
}

/* The operation names, read once. */
static cJSON *operation_names(void) {
  static cJSON *names;
  if (!names) {
    char *text = rebatch_operations();
    names = text ? cJSON_Parse(text) : NULL;
    rebatch_free(text);
    if (!names) abort();
  }
  return names;
}

static void check_answer(const char *op, const char *text, int faulted, const char *before,
                         const char *after) {
  cJSON *res = text ? cJSON_Parse(text) : NULL;
  const cJSON *status = cJSON_GetObjectItemCaseSensitive(res, "status");
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(res, "body");
  const cJSON *message = cJSON_GetObjectItemCaseSensitive(body, "message");
  int s = cJSON_IsNumber(status) ? status->valueint : -1;
  if (s < 200 || s > 599) {
    fprintf(stderr, "%s: no answer or not an answer: %s\n", op, text ? text : "NULL");
    abort();
  }
  if (!faulted && cJSON_IsString(message) &&
      (strncmp(message->valuestring, "storage failure", 15) == 0 ||
       strcmp(message->valuestring, "out of memory") == 0 ||
       strcmp(message->valuestring, "operation produced no response") == 0)) {
    fprintf(stderr, "%s: failure without a fault: %s\n", op, text);
    abort();
  }
  if (s >= 400 && strncmp(op, "execute", 7) != 0 && strcmp(before, after) != 0) {
    fprintf(stderr, "%s: refused (%s) yet the store changed\n", op, text);
    abort();
  }
  cJSON_Delete(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cJSON *names = operation_names();
  rebatch_store *store;
  rebatch_engine *e;
  host_ctx h;
  char *request, *before, *after, *text;
  const char *op;
  if (size < 2) return 0;
  op = cJSON_GetArrayItem(names, data[0] % cJSON_GetArraySize(names))->valuestring;
  if (!open_engine(&store, &e, &h)) abort();
  request = malloc(size - 1);
  memcpy(request, data + 2, size - 2);
  request[size - 2] = '\0';
  before = rebatch_memory_store_dump(store);
  rebatch_inject_store_fault(e, data[1]);
  text = rebatch_call(e, op, size > 2 ? request : NULL);
  after = rebatch_memory_store_dump(store);
  if (!before || !after) abort();
  check_answer(op, text, data[1] != 0, before, after);
  rebatch_free(text);
  rebatch_free(before);
  rebatch_free(after);
  free(request);
  rebatch_close(e);
  rebatch_memory_store_free(store);
  return 0;
}
