/*
 * check.h - a tiny header-only test framework for the native C tests.
 *
 *   #include "check.h"
 *
 *   TEST(adds_numbers) {
 *     CHECK(1 + 1 == 2);
 *     CHECK_EQ_INT(2 + 2, 4);
 *     CHECK_EQ_STR(rebatch_errstr(0), "ok");
 *     REQUIRE(ptr != NULL);   // like CHECK, but ends the test on failure
 *   }
 *
 * TEST() registers the function (a constructor runs before main); the main()
 * defined here runs every registered test in definition order, or only those
 * whose names contain argv[1]. A test fails if any of its checks fails. The
 * last line printed is exactly "N passed, N failed" (counting tests), and the
 * exit status is non-zero when anything failed. Define CHECK_NO_MAIN to
 * write your own main() around check_run_all().
 */
#ifndef REBATCH_CHECK_H
#define REBATCH_CHECK_H

#include <stdio.h>
#include <string.h>

#define CHECK_MAX_TESTS 1024

typedef void (*check_test_fn)(void);

static struct {
  const char *name[CHECK_MAX_TESTS];
  check_test_fn fn[CHECK_MAX_TESTS];
  int count;
  int current_failed; /* checks failed in the running test */
} check_state;

static void check_register(const char *name, check_test_fn fn) {
  if (check_state.count >= CHECK_MAX_TESTS) {
    fprintf(stderr, "check.h: more than %d tests\n", CHECK_MAX_TESTS);
    return;
  }
  check_state.name[check_state.count] = name;
  check_state.fn[check_state.count] = fn;
  check_state.count++;
}

#define TEST(name)                                                    \
  static void name(void);                                             \
  __attribute__((constructor)) static void check_register_##name(void) { \
    check_register(#name, name);                                      \
  }                                                                   \
  static void name(void)

static int check_fail_(const char *file, int line, const char *what) {
  fprintf(stderr, "%s:%d: %s\n", file, line, what);
  check_state.current_failed++;
  return 0;
}

#define CHECK(cond) \
  ((cond) ? 1 : check_fail_(__FILE__, __LINE__, "CHECK(" #cond ") failed"))

#define REQUIRE(cond)   \
  do {                  \
    if (!CHECK(cond)) { \
      return;           \
    }                   \
  } while (0)

#define CHECK_EQ_INT(actual, expected)                                   \
  do {                                                                   \
    long long check_a_ = (long long)(actual);                            \
    long long check_e_ = (long long)(expected);                          \
    if (check_a_ != check_e_) {                                          \
      fprintf(stderr, "%s:%d: CHECK_EQ_INT(%s, %s): got %lld, want %lld\n", \
              __FILE__, __LINE__, #actual, #expected, check_a_, check_e_); \
      check_state.current_failed++;                                      \
    }                                                                    \
  } while (0)

/* NULL-safe; NULL equals only NULL. */
#define CHECK_EQ_STR(actual, expected)                                    \
  do {                                                                    \
    const char *check_a_ = (actual);                                      \
    const char *check_e_ = (expected);                                    \
    if (!((check_a_ == NULL && check_e_ == NULL) ||                       \
          (check_a_ && check_e_ && strcmp(check_a_, check_e_) == 0))) {   \
      fprintf(stderr, "%s:%d: CHECK_EQ_STR(%s, %s):\n  got  %s%s%s\n  want %s%s%s\n", \
              __FILE__, __LINE__, #actual, #expected,                     \
              check_a_ ? "\"" : "", check_a_ ? check_a_ : "NULL",         \
              check_a_ ? "\"" : "", check_e_ ? "\"" : "",                 \
              check_e_ ? check_e_ : "NULL", check_e_ ? "\"" : "");        \
      check_state.current_failed++;                                       \
    }                                                                     \
  } while (0)

/* Runs the tests whose names contain `filter` (NULL: all); prints the summary
 * line; returns the number of failed tests. */
static int check_run_all(const char *filter) {
  int passed = 0, failed = 0, i;
  for (i = 0; i < check_state.count; i++) {
    if (filter && !strstr(check_state.name[i], filter)) continue;
    check_state.current_failed = 0;
    check_state.fn[i]();
    if (check_state.current_failed) {
      failed++;
      fprintf(stderr, "FAIL %s\n", check_state.name[i]);
    } else {
      passed++;
    }
  }
  fflush(stderr);
  printf("%d passed, %d failed\n", passed, failed);
  fflush(stdout);
  return failed;
}

#ifndef CHECK_NO_MAIN
int main(int argc, char **argv) {
  return check_run_all(argc > 1 ? argv[1] : NULL) ? 1 : 0;
}
#endif

#endif /* REBATCH_CHECK_H */
