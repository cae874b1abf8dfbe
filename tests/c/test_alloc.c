/*
 * test_alloc.c - rebatch_alloc / rebatch_free / rebatch_set_allocator:
 * everything the library and cJSON allocate goes through the hooks, and a
 * failing allocator is reported as NULL rather than a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cJSON.h"
#include "rebatch.h"

static int mallocs, frees, reallocs, fail_from = -1;

static void *counting_malloc(size_t n) {
  if (fail_from >= 0 && mallocs >= fail_from) return NULL;
  mallocs++;
  return malloc(n);
}

static void *counting_realloc(void *p, size_t n) {
  reallocs++;
  return realloc(p, n);
}

static void counting_free(void *p) {
  if (p) frees++;
  free(p);
}

static void install(void) {
  mallocs = frees = reallocs = 0;
  fail_from = -1;
  rebatch_set_allocator(counting_malloc, counting_realloc, counting_free);
}

static void restore(void) { rebatch_set_allocator(NULL, NULL, NULL); }

TEST(alloc_and_free_go_through_the_hooks) {
  void *p;
  install();
  p = rebatch_alloc(16);
  CHECK(p != NULL);
  CHECK_EQ_INT(mallocs, 1);
  memset(p, 0xab, 16);
  rebatch_free(p);
  CHECK_EQ_INT(frees, 1);
  restore();
}

TEST(alloc_of_zero_bytes_is_a_real_pointer) {
  void *p;
  install();
  p = rebatch_alloc(0);
  CHECK(p != NULL);
  rebatch_free(p);
  CHECK_EQ_INT(mallocs, 1);
  CHECK_EQ_INT(frees, 1);
  restore();
}

TEST(free_of_null_is_a_no_op) {
  install();
  rebatch_free(NULL);
  CHECK_EQ_INT(frees, 0);
  restore();
}

TEST(cjson_uses_the_same_allocator) {
  cJSON *doc;
  char *text;
  install();
  doc = cJSON_Parse("{\"a\":[1,2,{\"b\":\"c\"}]}");
  REQUIRE(doc != NULL);
  CHECK(mallocs > 0);
  text = cJSON_PrintUnformatted(doc);
  CHECK_EQ_STR(text, "{\"a\":[1,2,{\"b\":\"c\"}]}");
  cJSON_free(text);
  cJSON_Delete(doc);
  CHECK_EQ_INT(frees, mallocs);
  CHECK_EQ_INT(reallocs, 0); /* cJSON avoids realloc with custom hooks */
  restore();
}

TEST(a_failing_allocator_yields_null) {
  install();
  fail_from = 0;
  CHECK(rebatch_alloc(8) == NULL);
  CHECK(cJSON_Parse("[1]") == NULL);
  CHECK_EQ_INT(frees, 0);
  restore();
}

TEST(restoring_defaults_stops_counting) {
  void *p;
  install();
  restore();
  p = rebatch_alloc(8);
  CHECK(p != NULL);
  rebatch_free(p);
  CHECK_EQ_INT(mallocs, 0);
  CHECK_EQ_INT(frees, 0);
}
