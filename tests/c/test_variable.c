/*
 * test_variable.c - the subtle parts of reading and writing typed values
 * (src/variable.c, src/json.c): Camunda's conversions and messages, the
 * integer literals a double cannot hold, and printing numbers exactly.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core.h"

/* Parses {"v": <dto>}; returns the stored value (owned) or NULL, with
 * *status and msg set on a rejection. */
static cJSON *parse_one(const char *dto_json, const char *prefix, int *status, char *msg, size_t n) {
  char text[512];
  cJSON *input, *out = NULL, *v = NULL;
  rb_response res = {0, NULL};
  int rc;
  snprintf(text, sizeof text, "{\"v\":%s}", dto_json);
  input = cJSON_Parse(text);
  rc = rb_variables_parse(input, prefix, &out, &res);
  *status = res.status;
  msg[0] = '\0';
  if (res.body) snprintf(msg, n, "%s|%s", rb_str(res.body, "type"), rb_str(res.body, "message"));
  if (rc == REBATCH_OK) v = cJSON_DetachItemFromObjectCaseSensitive(out, "v");
  cJSON_Delete(res.body);
  cJSON_Delete(out);
  cJSON_Delete(input);
  return v;
}

static int accepted(const char *dto, const char *type, const char *value_json) {
  char msg[512], *got;
  int status, same;
  cJSON *v = parse_one(dto, NULL, &status, msg, sizeof msg);
  if (!v) {
    fprintf(stderr, "rejected %s: %s\n", dto, msg);
    return 0;
  }
  got = rb_print(cJSON_GetObjectItemCaseSensitive(v, "value"));
  same = strcmp(rb_str(v, "type"), type) == 0 && strcmp(got, value_json) == 0;
  if (!same) fprintf(stderr, "%s -> %s %s\n", dto, rb_str(v, "type"), got);
  rb_free(got);
  cJSON_Delete(v);
  return same;
}

static int rejected(const char *dto, const char *prefix, const char *want) {
  char msg[512];
  int status;
  cJSON *v = parse_one(dto, prefix, &status, msg, sizeof msg);
  int ok = !v && status == 400 && strcmp(msg, want) == 0;
  if (!ok) fprintf(stderr, "%s: got %d %s\n", dto, status, msg);
  cJSON_Delete(v);
  return ok;
}

TEST(integer_types_read_numbers_and_numeric_strings_in_range) {
  CHECK(accepted("{\"type\":\"Integer\",\"value\":\"+5\"}", "Integer", "5"));
  CHECK(accepted("{\"type\":\"integer\",\"value\":-2147483648}", "Integer", "-2147483648"));
  CHECK(accepted("{\"type\":\"Short\",\"value\":\"-32768\"}", "Short", "-32768"));
  CHECK(accepted("{\"type\":\"Long\",\"value\":\"-9007199254740992\"}", "Long", "-9007199254740992"));
  CHECK(rejected("{\"type\":\"Short\",\"value\":-32769}", NULL,
                 "InvalidRequestException|Cannot convert value '-32769' of type 'Short' to java type java.lang.Short"));
  CHECK(rejected("{\"type\":\"Integer\",\"value\":\"0x10\"}", NULL,
                 "InvalidRequestException|Cannot convert value '0x10' of type 'Integer' to java type java.lang.Integer"));
  CHECK(rejected("{\"type\":\"Integer\",\"value\":true}", NULL,
                 "InvalidRequestException|Cannot convert value 'true' of type 'Integer' to java type java.lang.Integer"));
  /* A string is text: no double ever rounded it, yet rebatch cannot hold it. */
  CHECK(rejected("{\"type\":\"Long\",\"value\":\"9007199254740993\"}", "P: ",
                 "InvalidRequestException|P: Cannot convert value '9007199254740993' of type 'Long': rebatch keeps "
                 "integers exactly only up to 2^53 (9007199254740992) in magnitude"));
}

TEST(other_primitives_follow_javas_parsers) {
  CHECK(accepted("{\"type\":\"Double\",\"value\":\"1e3\"}", "Double", "1000"));
  CHECK(accepted("{\"type\":\"Double\",\"value\":7}", "Double", "7"));
  CHECK(rejected("{\"type\":\"Double\",\"value\":\"NaN\"}", NULL,
                 "InvalidRequestException|Cannot convert value 'NaN' of type 'Double' to java type java.lang.Double"));
  CHECK(accepted("{\"type\":\"Boolean\",\"value\":\"TRUE\"}", "Boolean", "true"));
  CHECK(accepted("{\"type\":\"String\",\"value\":12.5}", "String", "\"12.5\""));
  CHECK(accepted("{\"type\":\"Null\",\"value\":\"ignored\"}", "Null", "null"));
  CHECK(accepted("{\"type\":\"Integer\"}", "Integer", "null"));
}

TEST(dates_need_camundas_exact_format_and_are_kept_in_utc) {
  CHECK(accepted("{\"type\":\"Date\",\"value\":\"2024-01-01T05:30:00.000+0530\"}", "Date", "\"2024-01-01T00:00:00.000+0000\""));
  CHECK(accepted("{\"type\":\"Date\",\"value\":\"1969-12-31T23:59:59.999-0000\"}", "Date", "\"1969-12-31T23:59:59.999+0000\""));
  CHECK(rejected("{\"type\":\"Date\",\"value\":\"2024-01-01T00:00:00.000Z\"}", NULL,
                 "InvalidRequestException|Cannot convert value '2024-01-01T00:00:00.000Z' of type 'Date' to java type java.util.Date"));
  CHECK(rejected("{\"type\":\"Date\",\"value\":\"2024-13-01T00:00:00.000+0000\"}", NULL,
                 "InvalidRequestException|Cannot convert value '2024-13-01T00:00:00.000+0000' of type 'Date' to java type java.util.Date"));
  CHECK(rejected("{\"type\":\"Date\",\"value\":1700000000000}", NULL,
                 "InvalidRequestException|Cannot convert value '1700000000000' of type 'Date' to java type java.util.Date"));
}

TEST(type_names_and_serialized_types) {
  CHECK(rejected("{\"type\":\"INTEGER\",\"value\":1}", NULL, "RestException|Unsupported value type 'INTEGER'"));
  CHECK(rejected("{\"type\":\"Bytes\",\"value\":\"AA==\"}", "X: ", "InvalidRequestException|X: Unsupported value type 'Bytes'"));
  CHECK(rejected("{\"type\":\"Json\",\"value\":[1]}", NULL,
                 "InvalidRequestException|Must provide 'null' or String value for value of SerializableValue type 'Json'."));
  CHECK(accepted("{\"type\":\"json\",\"value\":\"[1]\"}", "Json", "\"[1]\""));
  CHECK(accepted("{\"value\":{\"a\":1}}", "Object", "\"{\\\"a\\\":1}\""));
  CHECK(accepted("{\"value\":2147483648}", "Long", "2147483648"));
  CHECK(accepted("{\"value\":-0.5}", "Double", "-0.5"));
}

static int inexact(const char *text, const char *want) {
  char out[48] = "";
  int found = rb_json_inexact_integer(text, out, sizeof out);
  if (!want) return !found;
  return found && strcmp(out, want) == 0;
}

TEST(inexact_integers_are_found_in_the_text_outside_strings) {
  CHECK(inexact("{\"a\":9007199254740992,\"b\":-9007199254740992}", NULL));
  CHECK(inexact("{\"a\":9007199254740993}", "9007199254740993"));
  CHECK(inexact("[-9007199254740993]", "-9007199254740993"));
  CHECK(inexact("{\"a\":12345678901234567}", "12345678901234567"));
  CHECK(inexact("{\"a\":\"9007199254740993\",\"b\\\"\":\"x\\\"99999999999999999\"}", NULL));
  CHECK(inexact("{\"a\":1.9007199254740993,\"b\":9007199254740993e0}", NULL)); /* not integer literals */
  CHECK(inexact("{\"a\":true,\"b\":null,\"c\":[1,2,3]}", NULL));
}

static int prints(double v, const char *want) {
  cJSON *n = cJSON_CreateNumber(v);
  char *text = rb_print(n);
  int ok = text && strcmp(text, want) == 0;
  if (!ok) fprintf(stderr, "%.17g printed as %s\n", v, text ? text : "(null)");
  rb_free(text);
  cJSON_Delete(n);
  return ok;
}

TEST(numbers_print_so_they_read_back_exactly) {
  CHECK(prints(9007199254740992.0, "9007199254740992"));
  CHECK(prints(-9007199254740991.0, "-9007199254740991"));
  CHECK(prints(123456789.12345678, "123456789.12345678"));
  CHECK(prints(0.1, "0.1"));
  CHECK(prints(1700000000000.0, "1700000000000"));
  CHECK(prints(42, "42"));
}
