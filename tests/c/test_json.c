/*
 * test_json.c - unit tests of the lenient request readers and the date
 * format (src/json.c) and of the query helpers (src/query.c), through the
 * internal functions declared in src/core.h.
 *
 * Covered: rb_parse_date / rb_format_date (offsets Z, +hhmm, +hh:mm, +hh,
 * negative ones, optional millis, epochs before 1970, malformed text),
 * rb_int (numbers, numeric strings, fractions, garbage, overflow), rb_flag,
 * rb_like, rb_list_contains (arrays and comma separated strings), and
 * rb_variables_match in both the array form and the URL form.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* rb_parse_date of a JSON text (e.g. "\"2024-01-01T00:00:00Z\"" or "12"). */
static int parse_json_date(const char *json, double *ms) {
  cJSON *item = cJSON_Parse(json);
  int rc;
  *ms = -12345.0;
  rc = rb_parse_date(item, ms);
  cJSON_Delete(item);
  return rc;
}

/* rb_parse_date of a string value. */
static int parse_text(const char *text, double *ms) {
  cJSON *item = cJSON_CreateString(text);
  int rc;
  *ms = -12345.0;
  rc = rb_parse_date(item, ms);
  cJSON_Delete(item);
  return rc;
}

static const char *fmt(double ms, char *buf) {
  rb_format_date(ms, buf);
  return buf;
}

#define CHECK_DATE(text, want_ms)                        \
  do {                                                   \
    double got_ms_;                                      \
    CHECK_EQ_INT(parse_text(text, &got_ms_), 1);         \
    CHECK_EQ_INT((long long)got_ms_, (long long)(want_ms)); \
  } while (0)

#define CHECK_BAD_DATE(text)                  \
  do {                                        \
    double got_ms_;                           \
    CHECK_EQ_INT(parse_text(text, &got_ms_), -1); \
  } while (0)

/* 2024-01-02T03:04:05.678Z in ms since the epoch. */
#define T0 1704164645678.0

/* ------------------------------------------------------------------------ */
/* Dates                                                                    */
/* ------------------------------------------------------------------------ */

TEST(format_date_epoch_and_known_instants) {
  char buf[32];
  CHECK_EQ_STR(fmt(0, buf), "1970-01-01T00:00:00.000+0000");
  CHECK_EQ_STR(fmt(T0, buf), "2024-01-02T03:04:05.678+0000");
  CHECK_EQ_STR(fmt(951782400000.0, buf), "2000-02-29T00:00:00.000+0000");
  CHECK_EQ_STR(fmt(253402300799999.0, buf), "9999-12-31T23:59:59.999+0000");
  CHECK_EQ_INT(strlen(fmt(T0, buf)), 28);
}

TEST(format_date_negative_epochs) {
  char buf[32];
  CHECK_EQ_STR(fmt(-1, buf), "1969-12-31T23:59:59.999+0000");
  CHECK_EQ_STR(fmt(-1000, buf), "1969-12-31T23:59:59.000+0000");
  CHECK_EQ_STR(fmt(-86400000.0, buf), "1969-12-31T00:00:00.000+0000");
  CHECK_EQ_STR(fmt(-86400001.0, buf), "1969-12-30T23:59:59.999+0000");
  CHECK_EQ_STR(fmt(-2208988800000.0, buf), "1900-01-01T00:00:00.000+0000");
  /* Fractions of a millisecond round down (towards the past). */
  CHECK_EQ_STR(fmt(-0.5, buf), "1969-12-31T23:59:59.999+0000");
  CHECK_EQ_STR(fmt(1.9, buf), "1970-01-01T00:00:00.001+0000");
}

TEST(parse_date_offsets) {
  CHECK_DATE("2024-01-02T03:04:05.678Z", T0);
  CHECK_DATE("2024-01-02T03:04:05.678+0000", T0);
  CHECK_DATE("2024-01-02T03:04:05.678", T0); /* no offset reads as UTC */
  CHECK_DATE("2024-01-02T05:04:05.678+0200", T0);
  CHECK_DATE("2024-01-02T05:04:05.678+02:00", T0);
  CHECK_DATE("2024-01-02T05:04:05.678+02", T0);
  CHECK_DATE("2024-01-02T01:04:05.678-0200", T0);
  CHECK_DATE("2024-01-01T23:34:05.678-03:30", T0);
  CHECK_DATE("2024-01-02T08:49:05.678+05:45", T0);
  CHECK_DATE("2024-01-02T03:04:05.678-00:00", T0);
}

TEST(parse_date_without_or_with_more_millis) {
  CHECK_DATE("2024-01-02T03:04:05Z", T0 - 678);
  CHECK_DATE("2024-01-02T05:04:05+0200", T0 - 678);
  CHECK_DATE("2024-01-02T03:04:05", T0 - 678);
  CHECK_DATE("2024-01-02T03:04:05.678123Z", T0); /* micros are dropped */
  CHECK_DATE("2024-01-02T03:04:05.000Z", T0 - 678);
}

TEST(parse_date_before_1970) {
  CHECK_DATE("1969-12-31T23:59:59.999Z", -1);
  CHECK_DATE("1970-01-01T01:59:59.999+0200", -1);
  CHECK_DATE("1900-01-01T00:00:00.000+0000", -2208988800000.0);
  CHECK_DATE("0001-01-01T00:00:00Z", -62135596800000.0);
}

TEST(parse_date_epoch_numbers) {
  double ms;
  CHECK_EQ_INT(parse_json_date("0", &ms), 1);
  CHECK_EQ_INT((long long)ms, 0);
  CHECK_EQ_INT(parse_json_date("1704164645678", &ms), 1);
  CHECK_EQ_INT((long long)ms, (long long)T0);
  CHECK_EQ_INT(parse_json_date("-1", &ms), 1);
  CHECK_EQ_INT((long long)ms, -1);
  CHECK_EQ_INT(parse_json_date("-86400000", &ms), 1);
  CHECK_EQ_INT((long long)ms, -86400000);
  CHECK_EQ_INT(parse_json_date("12.9", &ms), 1);
  CHECK_EQ_INT((long long)ms, 12);
}

TEST(parse_date_absent_or_null_is_0_and_leaves_out_alone) {
  double ms = 42;
  cJSON *null = cJSON_CreateNull();
  CHECK_EQ_INT(rb_parse_date(NULL, &ms), 0);
  CHECK(ms == 42);
  CHECK_EQ_INT(rb_parse_date(null, &ms), 0);
  CHECK(ms == 42);
  cJSON_Delete(null);
}

TEST(parse_date_rejects_other_json_types) {
  double ms;
  CHECK_EQ_INT(parse_json_date("true", &ms), -1);
  CHECK_EQ_INT(parse_json_date("false", &ms), -1);
  CHECK_EQ_INT(parse_json_date("[1]", &ms), -1);
  CHECK_EQ_INT(parse_json_date("{\"a\":1}", &ms), -1);
}

TEST(parse_date_rejects_malformed_text) {
  CHECK_BAD_DATE("");
  CHECK_BAD_DATE("now");
  CHECK_BAD_DATE("1704164645678"); /* epoch as a string is not a date */
  CHECK_BAD_DATE("2024-01-02");
  CHECK_BAD_DATE("2024-01-02T03:04");
  CHECK_BAD_DATE("2024-01-02 03:04:05Z");
  CHECK_BAD_DATE("2024/01/02T03:04:05Z");
  CHECK_BAD_DATE("24-01-02T03:04:05Z");
  CHECK_BAD_DATE("2024-1-02T03:04:05Z");
  CHECK_BAD_DATE("2024-01-02T3:04:05Z");
  CHECK_BAD_DATE("2024-13-02T03:04:05Z");
  CHECK_BAD_DATE("2024-00-02T03:04:05Z");
  CHECK_BAD_DATE("2024-01-00T03:04:05Z");
  CHECK_BAD_DATE("2024-01-32T03:04:05Z");
  CHECK_BAD_DATE("2024-01-02T24:00:00Z");
  CHECK_BAD_DATE("2024-01-02T03:60:05Z");
  CHECK_BAD_DATE("2024-01-02T03:04:61Z");
  CHECK_BAD_DATE("2024-01-02T03:04:05.Z");
  CHECK_BAD_DATE("2024-01-02T03:04:05.6Z");
  CHECK_BAD_DATE("2024-01-02T03:04:05.678X");
  CHECK_BAD_DATE("2024-01-02T03:04:05.678ZZ");
  CHECK_BAD_DATE("2024-01-02T03:04:05.678 ");
  CHECK_BAD_DATE(" 2024-01-02T03:04:05.678Z");
  CHECK_BAD_DATE("2024-01-02T03:04:05.678+2");
  CHECK_BAD_DATE("2024-01-02T03:04:05.678+020");
  CHECK_BAD_DATE("2024-01-02T03:04:05.678+02:0");
  CHECK_BAD_DATE("2024-01-02T03:04:05.678+02:");
  CHECK_BAD_DATE("2024-01-02T03:04:05.678+02:000");
  CHECK_BAD_DATE("2024-01-02T03:04:05.678+2400");
  CHECK_BAD_DATE("2024-01-02T03:04:05.678+0260");
  CHECK_BAD_DATE("2024-01-02T03:04:05.678+");
  CHECK_BAD_DATE("2024-01-02T03:04:05.678+ab:cd");
}

TEST(format_then_parse_round_trips) {
  static const double instants[] = {
      0, 1, 999, 1000, T0, -1, -999, -1000, -1001, -86400000.0,
      -2208988800000.0, 951782400000.0, 4102444800000.0, 253402300799999.0,
      -62135596800000.0};
  for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
    char buf[32];
    double back = -12345;
    rb_format_date(instants[i], buf);
    CHECK_EQ_INT(parse_text(buf, &back), 1);
    CHECK_EQ_INT((long long)back, (long long)instants[i]);
  }
}

TEST(parse_then_format_normalises_to_utc) {
  static const char *const in[][2] = {
      {"2024-01-02T05:04:05.678+0200", "2024-01-02T03:04:05.678+0000"},
      {"2024-01-02T05:04:05.678+02:00", "2024-01-02T03:04:05.678+0000"},
      {"2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000+0000"},
      {"2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00.000+0000"},
      {"2023-12-31T23:30:00-01:00", "2024-01-01T00:30:00.000+0000"},
      {"2024-02-28T23:00:00-0100", "2024-02-29T00:00:00.000+0000"},
      {"1970-01-01T00:59:59.999+01:00", "1969-12-31T23:59:59.999+0000"},
  };
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
    char buf[32];
    double ms;
    CHECK_EQ_INT(parse_text(in[i][0], &ms), 1);
    CHECK_EQ_STR(fmt(ms, buf), in[i][1]);
  }
}

TEST(put_date_writes_null_for_no_date) {
  cJSON *obj = cJSON_CreateObject();
  REQUIRE(obj != NULL);
  CHECK(rb_put_date(obj, "a", T0));
  CHECK(rb_put_date(obj, "b", RB_NO_DATE));
  CHECK_EQ_STR(rb_str(obj, "a"), "2024-01-02T03:04:05.678+0000");
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, "b")));
  CHECK(rb_date(obj, "a") == RB_NO_DATE); /* a formatted string is no ms */
  CHECK(rb_set_num(obj, "c", T0));
  CHECK(rb_date(obj, "c") == T0);
  CHECK(rb_date(obj, "missing") == RB_NO_DATE);
  cJSON_Delete(obj);
}

/* ------------------------------------------------------------------------ */
/* rb_int / rb_flag                                                         */
/* ------------------------------------------------------------------------ */

/* rb_int of the "v" member of a JSON object text. */
static int int_of(const char *json, long long *out) {
  cJSON *obj = cJSON_Parse(json);
  int rc;
  *out = -777;
  rc = rb_int(obj, "v", out);
  cJSON_Delete(obj);
  return rc;
}

#define CHECK_INT(json, want)             \
  do {                                    \
    long long got_;                       \
    CHECK_EQ_INT(int_of(json, &got_), 1); \
    CHECK_EQ_INT(got_, want);             \
  } while (0)

#define CHECK_NOT_INT(json)                \
  do {                                     \
    long long got_;                        \
    CHECK_EQ_INT(int_of(json, &got_), -1); \
  } while (0)

TEST(int_accepts_integral_numbers) {
  CHECK_INT("{\"v\":0}", 0);
  CHECK_INT("{\"v\":42}", 42);
  CHECK_INT("{\"v\":-7}", -7);
  CHECK_INT("{\"v\":3.0}", 3);
  CHECK_INT("{\"v\":1e3}", 1000);
  CHECK_INT("{\"v\":9007199254740992}", 9007199254740992LL);
  CHECK_INT("{\"v\":-9007199254740992}", -9007199254740992LL);
}

TEST(int_accepts_numeric_strings) {
  CHECK_INT("{\"v\":\"0\"}", 0);
  CHECK_INT("{\"v\":\"42\"}", 42);
  CHECK_INT("{\"v\":\"-7\"}", -7);
  CHECK_INT("{\"v\":\"+5\"}", 5);
  CHECK_INT("{\"v\":\" 12 \"}", 12);
  CHECK_INT("{\"v\":\"007\"}", 7);
  CHECK_INT("{\"v\":\"9223372036854775807\"}", 9223372036854775807LL);
}

TEST(int_rejects_fractions) {
  CHECK_NOT_INT("{\"v\":1.5}");
  CHECK_NOT_INT("{\"v\":-0.25}");
  CHECK_NOT_INT("{\"v\":\"1.5\"}");
  CHECK_NOT_INT("{\"v\":\"3.0\"}");
  CHECK_NOT_INT("{\"v\":\"1e3\"}");
}

TEST(int_rejects_garbage_and_other_types) {
  CHECK_NOT_INT("{\"v\":\"\"}");
  CHECK_NOT_INT("{\"v\":\"   \"}");
  CHECK_NOT_INT("{\"v\":\"abc\"}");
  CHECK_NOT_INT("{\"v\":\"12abc\"}");
  CHECK_NOT_INT("{\"v\":\"1 2\"}");
  CHECK_NOT_INT("{\"v\":\"0x10\"}");
  CHECK_NOT_INT("{\"v\":\"-\"}");
  CHECK_NOT_INT("{\"v\":true}");
  CHECK_NOT_INT("{\"v\":false}");
  CHECK_NOT_INT("{\"v\":[1]}");
  CHECK_NOT_INT("{\"v\":{\"n\":1}}");
  CHECK_NOT_INT("{\"v\":1e300}");
  CHECK_NOT_INT("{\"v\":-1e300}");
}

TEST(int_rejects_out_of_range_strings) {
  CHECK_NOT_INT("{\"v\":\"9223372036854775808\"}");
  CHECK_NOT_INT("{\"v\":\"-9223372036854775809\"}");
  CHECK_NOT_INT("{\"v\":\"99999999999999999999999\"}");
}

TEST(int_absent_or_null_is_0_and_leaves_out_alone) {
  long long v;
  CHECK_EQ_INT(int_of("{}", &v), 0);
  CHECK_EQ_INT(v, -777);
  CHECK_EQ_INT(int_of("{\"v\":null}", &v), 0);
  CHECK_EQ_INT(v, -777);
  CHECK_EQ_INT(int_of("{\"V\":1}", &v), 0); /* keys are case sensitive */
  v = 5;
  CHECK_EQ_INT(rb_int(NULL, "v", &v), 0);
  CHECK_EQ_INT(v, 5);
}

static int flag_of(const char *json) {
  cJSON *obj = cJSON_Parse(json);
  int rc = rb_flag(obj, "f");
  cJSON_Delete(obj);
  return rc;
}

TEST(flag_true_forms) {
  CHECK_EQ_INT(flag_of("{\"f\":true}"), 1);
  CHECK_EQ_INT(flag_of("{\"f\":\"true\"}"), 1);
}

TEST(flag_everything_else_is_false) {
  CHECK_EQ_INT(flag_of("{}"), 0);
  CHECK_EQ_INT(flag_of("{\"f\":null}"), 0);
  CHECK_EQ_INT(flag_of("{\"f\":false}"), 0);
  CHECK_EQ_INT(flag_of("{\"f\":\"false\"}"), 0);
  CHECK_EQ_INT(flag_of("{\"f\":\"\"}"), 0);
  CHECK_EQ_INT(flag_of("{\"f\":\"yes\"}"), 0);
  CHECK_EQ_INT(flag_of("{\"f\":\"truex\"}"), 0);
  CHECK_EQ_INT(flag_of("{\"f\":1}"), 0);
  CHECK_EQ_INT(flag_of("{\"f\":[true]}"), 0);
  CHECK_EQ_INT(rb_flag(NULL, "f"), 0);
}

TEST(str_and_has) {
  cJSON *obj = cJSON_Parse("{\"s\":\"x\",\"n\":1,\"z\":null}");
  REQUIRE(obj != NULL);
  CHECK_EQ_STR(rb_str(obj, "s"), "x");
  CHECK_EQ_STR(rb_str(obj, "n"), NULL);
  CHECK_EQ_STR(rb_str(obj, "z"), NULL);
  CHECK_EQ_STR(rb_str(obj, "missing"), NULL);
  CHECK_EQ_STR(rb_str(NULL, "s"), NULL);
  CHECK(rb_has(obj, "z"));
  CHECK(!rb_has(obj, "missing"));
  cJSON_Delete(obj);
}

TEST(set_replaces_members_and_put_adds_nulls) {
  cJSON *obj = cJSON_CreateObject();
  char *text;
  REQUIRE(obj != NULL);
  CHECK(rb_put_str(obj, "a", NULL));
  CHECK(rb_set_str(obj, "a", "x"));
  CHECK(rb_set_str(obj, "a", "y"));
  CHECK(rb_set_num(obj, "n", 1));
  CHECK(rb_set_num(obj, "n", RB_NO_DATE));
  CHECK(rb_set_bool(obj, "b", 1));
  CHECK(rb_set_bool(obj, "b", 0));
  text = cJSON_PrintUnformatted(obj);
  CHECK_EQ_STR(text, "{\"a\":\"y\",\"n\":null,\"b\":false}");
  rb_free(text);
  cJSON_Delete(obj);
}

/* Replacing the values one walk found gives rb_text_patch's text, in any
 * order of the members; a member the walk did not find is appended. */
TEST(text_replace_matches_text_patch) {
  const char *text = "{\"a\":1,\"retries\":0,\"s\":\"x,\\\"y\\\"\",\"dueDate\":null,\"z\":[1,{\"retries\":9}]}";
  rb_member members[] = {{"dueDate", "5"}, {"retries", "3"}};
  rb_text_field found[] = {{"dueDate", NULL, 0}, {"retries", NULL, 0}};
  char *replaced = NULL, *patched = NULL;
  CHECK_EQ_INT(rb_text_fields(text, found, 2), 1);
  CHECK_EQ_INT(rb_text_replace(text, found, members, 2, &replaced), 1);
  CHECK_EQ_INT(rb_text_patch(text, members, 2, &patched), 1);
  CHECK_EQ_STR(replaced, "{\"a\":1,\"retries\":3,\"s\":\"x,\\\"y\\\"\",\"dueDate\":5,\"z\":[1,{\"retries\":9}]}");
  CHECK_EQ_STR(replaced, patched);
  rb_free(replaced);
  rb_free(patched);
  {
    rb_member more[] = {{"retries", "4"}, {"absent", "true"}};
    rb_text_field look[] = {{"retries", NULL, 0}, {"absent", NULL, 0}};
    CHECK_EQ_INT(rb_text_fields(text, look, 2), 1);
    CHECK_EQ_INT(rb_text_replace(text, look, more, 2, &replaced), 1);
    CHECK_EQ_STR(replaced, "{\"a\":1,\"retries\":4,\"s\":\"x,\\\"y\\\"\",\"dueDate\":null,\"z\":[1,{\"retries\":9}],\"absent\":true}");
    rb_free(replaced);
  }
}

TEST(sprintf_formats) {
  char *s = rb_sprintf("%s-%d-%.1f", "a", 7, 1.5);
  CHECK_EQ_STR(s, "a-7-1.5");
  rb_free(s);
  s = rb_sprintf("%s", "");
  CHECK_EQ_STR(s, "");
  rb_free(s);
}

/* ------------------------------------------------------------------------ */
/* rb_like                                                                  */
/* ------------------------------------------------------------------------ */

TEST(like_literal_and_wildcards) {
  CHECK(rb_like("abc", "abc"));
  CHECK(!rb_like("abc", "ab"));
  CHECK(!rb_like("ab", "abc"));
  CHECK(!rb_like("abc", "ABC")); /* case sensitive, like Camunda's SQL */
  CHECK(rb_like("", ""));
  CHECK(!rb_like("a", ""));
  CHECK(rb_like("", "%"));
  CHECK(rb_like("anything", "%"));
  CHECK(rb_like("anything", "%%"));
  CHECK(rb_like("invoice-42", "invoice%"));
  CHECK(rb_like("invoice-42", "%42"));
  CHECK(rb_like("invoice-42", "%ice%"));
  CHECK(rb_like("invoice-42", "i%e%2"));
  CHECK(!rb_like("invoice-42", "%43"));
  CHECK(!rb_like("invoice-42", "order%"));
  CHECK(rb_like("aaa", "%a"));
  CHECK(rb_like("abab", "%ab"));
  CHECK(!rb_like("abac", "%ab"));
}

TEST(like_underscore_is_one_character) {
  CHECK(rb_like("abc", "a_c"));
  CHECK(rb_like("abc", "___"));
  CHECK(!rb_like("abc", "__"));
  CHECK(!rb_like("abc", "____"));
  CHECK(!rb_like("ac", "a_c"));
  CHECK(rb_like("abc", "_%"));
  CHECK(!rb_like("", "_%"));
  CHECK(rb_like("abcd", "%_d"));
}

TEST(like_null_value_never_matches) {
  CHECK(!rb_like(NULL, "%"));
  CHECK(!rb_like(NULL, ""));
}

/* ------------------------------------------------------------------------ */
/* rb_list_contains                                                         */
/* ------------------------------------------------------------------------ */

static int contains(const char *json, const char *value) {
  cJSON *list = cJSON_Parse(json);
  int rc = rb_list_contains(list, value);
  cJSON_Delete(list);
  return rc;
}

TEST(list_contains_arrays) {
  CHECK(contains("[\"a\",\"b\",\"c\"]", "a"));
  CHECK(contains("[\"a\",\"b\",\"c\"]", "c"));
  CHECK(!contains("[\"a\",\"b\",\"c\"]", "d"));
  CHECK(!contains("[\"a\",\"b\",\"c\"]", "ab"));
  CHECK(!contains("[]", "a"));
  CHECK(!contains("[1,2]", "1")); /* only strings count */
  CHECK(contains("[null,1,\"x\"]", "x"));
  CHECK(contains("[\"a,b\"]", "a,b"));
  CHECK(!contains("[\"a,b\"]", "a"));
  CHECK(!contains("[\"a\"]", NULL));
}

TEST(list_contains_comma_strings) {
  CHECK(contains("\"a,b,c\"", "a"));
  CHECK(contains("\"a,b,c\"", "b"));
  CHECK(contains("\"a,b,c\"", "c"));
  CHECK(contains("\"single\"", "single"));
  CHECK(!contains("\"a,b,c\"", "d"));
  CHECK(!contains("\"abc,def\"", "ab"));
  CHECK(!contains("\"abc,def\"", "bc"));
  CHECK(!contains("\"abc,def\"", "abc,def"));
  CHECK(!contains("\"a,bc\"", "b"));
  CHECK(!contains("\"\"", "a"));
  CHECK(!contains("\"a,b\"", NULL));
}

TEST(list_contains_other_types_contain_nothing) {
  CHECK(!contains("1", "1"));
  CHECK(!contains("true", "true"));
  CHECK(!contains("null", "null"));
  CHECK(!contains("{\"a\":\"a\"}", "a"));
  CHECK(!rb_list_contains(NULL, "a"));
}

/* ------------------------------------------------------------------------ */
/* rb_variables_match                                                       */
/* ------------------------------------------------------------------------ */

static const char *const VARS =
    "{\"amount\":{\"type\":\"Integer\",\"value\":5,\"valueInfo\":{}},"
    "\"price\":{\"type\":\"Double\",\"value\":2.5,\"valueInfo\":{}},"
    "\"name\":{\"type\":\"String\",\"value\":\"bob\",\"valueInfo\":{}},"
    "\"my_var\":{\"type\":\"String\",\"value\":\"x_y\",\"valueInfo\":{}},"
    "\"flag\":{\"type\":\"Boolean\",\"value\":true,\"valueInfo\":{}},"
    "\"nothing\":{\"type\":\"Null\",\"value\":null,\"valueInfo\":{}}}";

/* Array form: the conditions are a JSON array text. */
static int match_json(const char *conditions) {
  cJSON *vars = cJSON_Parse(VARS), *cond = cJSON_Parse(conditions);
  int rc = -1;
  if (vars && cond) rc = rb_variables_match(vars, cond);
  cJSON_Delete(vars);
  cJSON_Delete(cond);
  return rc;
}

/* One condition in array form. */
static int match1(const char *name, const char *op, const char *value_json) {
  char buf[256];
  snprintf(buf, sizeof buf, "[{\"name\":\"%s\",\"operator\":\"%s\",\"value\":%s}]",
           name, op, value_json);
  return match_json(buf);
}

/* URL form: name_op_value[,...] as a string. */
static int match_url(const char *text) {
  cJSON *vars = cJSON_Parse(VARS), *cond = cJSON_CreateString(text);
  int rc = -1;
  if (vars && cond) rc = rb_variables_match(vars, cond);
  cJSON_Delete(vars);
  cJSON_Delete(cond);
  return rc;
}

TEST(variables_array_eq_neq) {
  CHECK_EQ_INT(match1("amount", "eq", "5"), 1);
  CHECK_EQ_INT(match1("amount", "eq", "6"), 0);
  CHECK_EQ_INT(match1("amount", "neq", "6"), 1);
  CHECK_EQ_INT(match1("amount", "neq", "5"), 0);
  CHECK_EQ_INT(match1("name", "eq", "\"bob\""), 1);
  CHECK_EQ_INT(match1("name", "eq", "\"Bob\""), 0);
  CHECK_EQ_INT(match1("name", "neq", "\"alice\""), 1);
  CHECK_EQ_INT(match1("flag", "eq", "true"), 1);
  CHECK_EQ_INT(match1("flag", "eq", "false"), 0);
  CHECK_EQ_INT(match1("flag", "neq", "false"), 1);
  CHECK_EQ_INT(match1("nothing", "eq", "null"), 1);
  CHECK_EQ_INT(match1("nothing", "neq", "null"), 0);
  CHECK_EQ_INT(match1("price", "eq", "2.5"), 1);
}

TEST(variables_array_type_mismatch_is_only_neq) {
  CHECK_EQ_INT(match1("amount", "eq", "\"5\""), 0);
  CHECK_EQ_INT(match1("amount", "neq", "\"5\""), 1);
  CHECK_EQ_INT(match1("name", "gt", "1"), 0);
  CHECK_EQ_INT(match1("flag", "eq", "\"true\""), 0);
}

TEST(variables_array_ordering_operators) {
  CHECK_EQ_INT(match1("amount", "gt", "4"), 1);
  CHECK_EQ_INT(match1("amount", "gt", "5"), 0);
  CHECK_EQ_INT(match1("amount", "gteq", "5"), 1);
  CHECK_EQ_INT(match1("amount", "gteq", "6"), 0);
  CHECK_EQ_INT(match1("amount", "lt", "6"), 1);
  CHECK_EQ_INT(match1("amount", "lt", "5"), 0);
  CHECK_EQ_INT(match1("amount", "lteq", "5"), 1);
  CHECK_EQ_INT(match1("amount", "lteq", "4"), 0);
  CHECK_EQ_INT(match1("price", "gt", "2.4"), 1);
  CHECK_EQ_INT(match1("price", "lt", "2.4"), 0);
  CHECK_EQ_INT(match1("name", "gt", "\"alice\""), 1);
  CHECK_EQ_INT(match1("name", "lt", "\"carol\""), 1);
  CHECK_EQ_INT(match1("name", "lteq", "\"bob\""), 1);
  CHECK_EQ_INT(match1("name", "gteq", "\"bobby\""), 0);
}

TEST(variables_array_like) {
  CHECK_EQ_INT(match1("name", "like", "\"b%\""), 1);
  CHECK_EQ_INT(match1("name", "like", "\"%o%\""), 1);
  CHECK_EQ_INT(match1("name", "like", "\"b_b\""), 1);
  CHECK_EQ_INT(match1("name", "like", "\"a%\""), 0);
  CHECK_EQ_INT(match1("amount", "like", "\"5\""), 0); /* like is for strings */
}

TEST(variables_array_unknown_variable_or_operator_fails) {
  CHECK_EQ_INT(match1("missing", "eq", "1"), 0);
  CHECK_EQ_INT(match1("missing", "neq", "1"), 0);
  CHECK_EQ_INT(match1("amount", "equals", "5"), 0);
  CHECK_EQ_INT(match_json("[{\"operator\":\"eq\",\"value\":5}]"), 0);
  CHECK_EQ_INT(match_json("[{\"name\":\"amount\",\"value\":5}]"), 0);
}

TEST(variables_array_conditions_all_must_hold) {
  CHECK_EQ_INT(match_json("[]"), 1);
  CHECK_EQ_INT(match_json("[{\"name\":\"amount\",\"operator\":\"gt\",\"value\":1},"
                          "{\"name\":\"name\",\"operator\":\"eq\",\"value\":\"bob\"}]"),
               1);
  CHECK_EQ_INT(match_json("[{\"name\":\"amount\",\"operator\":\"gt\",\"value\":1},"
                          "{\"name\":\"name\",\"operator\":\"eq\",\"value\":\"eve\"}]"),
               0);
}

TEST(variables_url_form_operators) {
  CHECK_EQ_INT(match_url("amount_eq_5"), 1);
  CHECK_EQ_INT(match_url("amount_eq_6"), 0);
  CHECK_EQ_INT(match_url("amount_neq_6"), 1);
  CHECK_EQ_INT(match_url("amount_neq_5"), 0);
  CHECK_EQ_INT(match_url("amount_gt_4"), 1);
  CHECK_EQ_INT(match_url("amount_gt_5"), 0);
  CHECK_EQ_INT(match_url("amount_gteq_5"), 1);
  CHECK_EQ_INT(match_url("amount_gteq_6"), 0);
  CHECK_EQ_INT(match_url("amount_lt_6"), 1);
  CHECK_EQ_INT(match_url("amount_lt_5"), 0);
  CHECK_EQ_INT(match_url("amount_lteq_5"), 1);
  CHECK_EQ_INT(match_url("amount_lteq_4"), 0);
  CHECK_EQ_INT(match_url("price_gt_2.25"), 1);
  CHECK_EQ_INT(match_url("price_lt_-1"), 0);
  CHECK_EQ_INT(match_url("name_eq_bob"), 1);
  CHECK_EQ_INT(match_url("name_neq_bob"), 0);
  CHECK_EQ_INT(match_url("name_like_b%"), 1);
  CHECK_EQ_INT(match_url("name_like_%ob"), 1);
  CHECK_EQ_INT(match_url("name_like_x%"), 0);
  CHECK_EQ_INT(match_url("name_gt_alice"), 1);
}

TEST(variables_url_form_lists_and_odd_names) {
  CHECK_EQ_INT(match_url("amount_gt_1,name_eq_bob"), 1);
  CHECK_EQ_INT(match_url("amount_gt_1,name_eq_eve"), 0);
  CHECK_EQ_INT(match_url("name_eq_eve,amount_gt_1"), 0);
  CHECK_EQ_INT(match_url("my_var_eq_x_y"), 1); /* underscores in name and value */
  CHECK_EQ_INT(match_url("missing_eq_1"), 0);
  CHECK_EQ_INT(match_url("amount"), 0);       /* no operator */
  CHECK_EQ_INT(match_url("amount_is_5"), 0);  /* unknown operator */
  CHECK_EQ_INT(match_url("amount_eq_5x"), 0); /* "5x" is a string */
}

/* ---- rb_print --------------------------------------------------------- */

/* rb_print gives cJSON_PrintUnformatted's bytes wherever cJSON's text reads
 * back exactly (test_variable.c covers the numbers where it does not). */
static void check_prints_like_cjson(const char *json) {
  cJSON *item = cJSON_Parse(json);
  char *ours, *theirs;
  REQUIRE(item != NULL);
  ours = rb_print(item);
  theirs = cJSON_PrintUnformatted(item);
  REQUIRE(ours != NULL && theirs != NULL);
  CHECK_EQ_STR(ours, theirs);
  rb_free(ours);
  rb_free(theirs);
  cJSON_Delete(item);
}

TEST(print_matches_cjson_on_numbers) {
  check_prints_like_cjson("[0,-0,1,-1,2147483647,2147483648,-2147483649,1704067200000,"
                          "999999999999999,1000000000000000,-999999999999999,12345678901234567,"
                          "1e300,-1e-300,0.1,0.5,3.14159,123456.789,1e15,1e21]");
}

TEST(print_matches_cjson_on_strings_and_escapes) {
  check_prints_like_cjson("{\"a\":\"plain\",\"q\\\"k\":\"say \\\"hi\\\" \\\\ /\","
                          "\"c\":\"\\b\\f\\n\\r\\t\\u0001\\u001f\",\"u\":\"\\u00e9\\u20ac\",\"e\":\"\"}");
}

TEST(print_matches_cjson_on_nesting_and_literals) {
  check_prints_like_cjson("{\"n\":null,\"t\":true,\"f\":false,\"o\":{},\"a\":[],"
                          "\"deep\":[[1,[2,{\"x\":[null]}]],{\"y\":{\"z\":\"w\"}}]}");
  check_prints_like_cjson("\"top\"");
  check_prints_like_cjson("42");
}

TEST(print_of_nonfinite_numbers_and_raw_is_cjsons) {
  cJSON *arr = cJSON_CreateArray();
  char *ours, *theirs;
  REQUIRE(arr != NULL);
  cJSON_AddItemToArray(arr, cJSON_CreateNumber(NAN));
  cJSON_AddItemToArray(arr, cJSON_CreateNumber(INFINITY));
  cJSON_AddItemToArray(arr, cJSON_CreateRaw("{\"raw\":1}"));
  ours = rb_print(arr);
  theirs = cJSON_PrintUnformatted(arr);
  REQUIRE(ours != NULL && theirs != NULL);
  CHECK_EQ_STR(ours, theirs);
  rb_free(ours);
  rb_free(theirs);
  cJSON_Delete(arr);
}

/* ---- reading members from record text ------------------------------------ */

TEST(text_str_reads_plain_top_level_strings) {
  char buf[16];
  CHECK_EQ_INT(rb_text_str("{\"a\":{\"k\":\"inner\"},\"k\":\"dep-1\",\"k\":\"x\"}", "k", buf, sizeof buf), 1);
  CHECK_EQ_STR(buf, "dep-1");
  CHECK_EQ_INT(rb_text_str(" { \"k\" : \"\" } ", "k", buf, sizeof buf), 1);
  CHECK_EQ_STR(buf, "");
}

TEST(text_str_absent_or_null_is_0) {
  char buf[16];
  CHECK_EQ_INT(rb_text_str("{\"a\":\"k\"}", "k", buf, sizeof buf), 0);
  CHECK_EQ_INT(rb_text_str("{\"k\":null}", "k", buf, sizeof buf), 0);
  CHECK_EQ_INT(rb_text_str("{}", "k", buf, sizeof buf), 0);
}

TEST(text_str_cannot_tell_is_minus_1) {
  char buf[8];
  CHECK_EQ_INT(rb_text_str("{\"k\":\"a\\\"b\"}", "k", buf, sizeof buf), -1); /* escape */
  CHECK_EQ_INT(rb_text_str("{\"k\":\"12345678\"}", "k", buf, sizeof buf), -1); /* too long */
  CHECK_EQ_INT(rb_text_str("{\"k\":5}", "k", buf, sizeof buf), -1);
  CHECK_EQ_INT(rb_text_str("{\"k\":\"a\"", "k", buf, sizeof buf), -1);
  CHECK_EQ_INT(rb_text_str("[\"k\"]", "k", buf, sizeof buf), -1);
  CHECK_EQ_INT(rb_text_str("{\"k\":\"a\"} x", "k", buf, sizeof buf), -1);
}

TEST(text_date_reads_numbers_and_nulls) {
  double ms;
  CHECK_EQ_INT(rb_text_date("{\"d\":1704067200000}", "d", &ms), 1);
  CHECK(ms == 1704067200000.0);
  CHECK_EQ_INT(rb_text_date("{\"d\":null}", "d", &ms), 1);
  CHECK(ms == RB_NO_DATE);
  CHECK_EQ_INT(rb_text_date("{\"d\":", "d", &ms), -1);
}

/* rb_text_patch gives what parse + rb_set + rb_print give. */
TEST(text_patch_matches_parse_set_print) {
  const char *text = "{\"id\":\"i1\",\"endTime\":null,\"open\":true,\"s\":\"a\\\"b\",\"n\":[1,{\"open\":1}]}";
  rb_member m[] = {{"open", "false"}, {"endTime", "1704067200000"}, {"added", "\"x\""}};
  cJSON *json = cJSON_Parse(text);
  char *patched = NULL, *expected;
  REQUIRE(json != NULL);
  rb_set(json, "open", cJSON_CreateFalse());
  rb_set(json, "endTime", cJSON_CreateNumber(1704067200000.0));
  rb_set(json, "added", cJSON_CreateString("x"));
  expected = rb_print(json);
  CHECK_EQ_INT(rb_text_patch(text, m, 3, &patched), 1);
  REQUIRE(patched != NULL && expected != NULL);
  CHECK_EQ_STR(patched, expected);
  rb_free(patched);
  rb_free(expected);
  cJSON_Delete(json);
}

TEST(text_patch_refuses_what_is_not_a_strict_object) {
  rb_member m[] = {{"k", "1"}};
  char *out = NULL;
  CHECK_EQ_INT(rb_text_patch("{\"a\":\"}", m, 1, &out), 0);
  CHECK_EQ_INT(rb_text_patch("{\"a\":1", m, 1, &out), 0);
  CHECK_EQ_INT(rb_text_patch("[1]", m, 1, &out), 0);
  CHECK_EQ_INT(rb_text_patch("{\"a\":1} 2", m, 1, &out), 0);
  CHECK(out == NULL);
  CHECK_EQ_INT(rb_text_patch("{}", m, 1, &out), 1);
  REQUIRE(out != NULL);
  CHECK_EQ_STR(out, "{\"k\":1}");
  rb_free(out);
}

/* rb_writer writes what building the tree and rb_print give, into the
 * buffer it was opened with (grown as needed). */
TEST(writer_matches_build_and_print) {
  cJSON *json = cJSON_CreateObject(), *nested = cJSON_Parse("[1,{\"a\":\"q\\\"\"},null,2.5]");
  char *expected, *text;
  rb_writer w;
  REQUIRE(json != NULL && nested != NULL);
  rb_put_str(json, "id", "x\n\"1");
  rb_put_null(json, "none");
  rb_put_num(json, "at", 1704067200000.0);
  rb_put_num(json, "neg", -0.1);
  rb_put_bool(json, "on", 1);
  rb_put_bool(json, "off", 0);
  rb_take(json, "list", cJSON_Duplicate(nested, 1));
  expected = rb_print(json);
  REQUIRE(expected != NULL);
  rb_writer_open(&w, rb_malloc(4), 4);
  rb_writer_str(&w, "id", "x\n\"1");
  rb_writer_str(&w, "none", NULL);
  rb_writer_num(&w, "at", 1704067200000.0);
  rb_writer_num(&w, "neg", -0.1);
  rb_writer_bool(&w, "on", 1);
  rb_writer_bool(&w, "off", 0);
  rb_writer_item(&w, "list", nested);
  text = rb_writer_close(&w);
  REQUIRE(text != NULL);
  CHECK_EQ_STR(text, expected);
  rb_free(w.p);
  rb_free(expected);
  cJSON_Delete(nested);
  cJSON_Delete(json);
}

TEST(writer_closes_an_empty_object) {
  rb_writer w;
  rb_writer_open(&w, NULL, 0);
  REQUIRE(rb_writer_close(&w) != NULL);
  CHECK_EQ_STR(w.p, "{}");
  rb_free(w.p);
}

TEST(text_fields_reads_several_members_in_one_walk) {
  rb_text_field f[] = {{"b", NULL, 0}, {"s", NULL, 0}, {"n", NULL, 0}, {"x", NULL, 0}, {"f", NULL, 0}};
  char buf[8];
  double n;
  CHECK_EQ_INT(rb_text_fields("{\"s\":\"v\",\"n\":3,\"b\":true,\"f\":false,\"s\":\"w\"}", f, 5), 1);
  CHECK_EQ_INT(rb_field_flag(&f[0]), 1);
  CHECK_EQ_INT(rb_field_str(&f[1], buf, sizeof buf), 1);
  CHECK_EQ_STR(buf, "v");
  CHECK_EQ_INT(rb_field_num(&f[2], &n), 1);
  CHECK(n == 3.0);
  CHECK(f[3].value == NULL);
  CHECK_EQ_INT(rb_field_flag(&f[4]), 0);
  CHECK_EQ_INT(rb_text_fields("{\"s\":", f, 5), -1);
}

/* ---- one failed add, later ones succeeding --------------------------------- */

static int allocations, fail_at = -1;

static void *fail_once_malloc(size_t n) {
  return allocations++ == fail_at ? NULL : malloc(n);
}

static void *fail_once_realloc(void *p, size_t n) {
  return allocations++ == fail_at ? NULL : realloc(p, n);
}

/* A builder that ignores the adders' results, like the record builders do
 * between their checks. */
static char *build_and_print(void) {
  cJSON *obj = cJSON_CreateObject(), *inner;
  char *text;
  if (!obj) return NULL;
  rb_put_str(obj, "id", "i-1");
  rb_put_num(obj, "retries", 3);
  inner = cJSON_CreateObject();
  rb_put_bool(inner, "open", 1);
  rb_take(obj, "state", inner);
  rb_set_str(obj, "id", "i-2");
  rb_put_null(obj, "tenantId");
  text = rb_print(obj);
  cJSON_Delete(obj);
  return text;
}

TEST(an_object_missing_a_member_after_one_failed_allocation_never_prints) {
  const char *whole = "{\"id\":\"i-2\",\"retries\":3,\"state\":{\"open\":true},\"tenantId\":null}";
  int printed = 0, refused = 0;
  for (int k = 0; k < 64; k++) {
    char *text;
    allocations = 0;
    fail_at = k;
    rebatch_set_allocator(fail_once_malloc, fail_once_realloc, free);
    text = build_and_print();
    rebatch_set_allocator(NULL, NULL, NULL);
    if (text) {
      CHECK_EQ_STR(text, whole);
      printed++;
    } else {
      refused++;
    }
    rb_free(text);
    if (k > allocations) break; /* past the last allocation: nothing failed */
  }
  CHECK(refused > 0);
  CHECK(printed > 0);
}
