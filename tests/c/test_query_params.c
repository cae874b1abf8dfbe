/*
 * test_query_params.c - rb_query_check (src/query_params.c): Camunda's
 * query DTO checks applied before a query reads anything: URL values
 * converted by Java type, VariableListConverter's triples (String.split
 * semantics), variable comparators, empty JSON id sets.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core.h"

/* rb_query_check of a request text; the error message ("" when accepted). */
static const char *checked(const rb_query *q, const char *request, char *buf, size_t cap) {
  cJSON *req = cJSON_Parse(request);
  rb_response res = {0, NULL};
  int rc = rb_query_check(q, req, &res);
  const char *message = rb_str(res.body, "message");
  snprintf(buf, cap, "%s", rc == REBATCH_OK ? "" : message ? message : "?");
  cJSON_Delete(res.body);
  cJSON_Delete(req);
  return buf;
}

TEST(url_values_convert_by_java_type) {
  char b[512];
  CHECK(strcmp(checked(&rb_instance_query, "{\"query\":{\"suspended\":\"true\"}}", b, sizeof b), "") == 0);
  CHECK_EQ_STR(checked(&rb_instance_query, "{\"query\":{\"suspended\":\" false \"}}", b, sizeof b), "");
  CHECK_EQ_STR(checked(&rb_instance_query, "{\"query\":{\"suspended\":true}}", b, sizeof b), "");
  CHECK_EQ_STR(checked(&rb_instance_query, "{\"query\":{\"suspended\":\"True\"}}", b, sizeof b),
               "Cannot set query parameter 'suspended' to value 'True': Cannot convert value True to java type java.lang.Boolean");
  CHECK_EQ_STR(checked(&rb_job_query, "{\"query\":{\"priorityLowerThanOrEquals\":\"9223372036854775807\"}}", b, sizeof b), "");
  CHECK_EQ_STR(checked(&rb_job_query, "{\"query\":{\"priorityLowerThanOrEquals\":\"9223372036854775808\"}}", b, sizeof b),
               "Cannot set query parameter 'priorityLowerThanOrEquals' to value '9223372036854775808': "
               "Cannot convert value 9223372036854775808 to java type java.lang.Long");
  CHECK_EQ_STR(checked(&rb_history_query, "{\"query\":{\"startedBefore\":\"2024-01-01T00:00:00.000+0000\"}}", b, sizeof b), "");
  CHECK_EQ_STR(checked(&rb_history_query, "{\"query\":{\"startedBefore\":\"\"}}", b, sizeof b),
               "Cannot set query parameter 'startedBefore' to value '': Cannot convert value  to java type java.util.Date");
}

TEST(variable_triples_follow_java_split) {
  char b[512];
  static const char *const ok[] = {"a_eq_1", "a_eq_1,", "a_eq_1,b_like_x%,,", "_eq_1", NULL};
  static const char *const bad[] = {"", "a", "a_eq", "a_eq_", "a__", "a_eq_1_2", ",a_eq_1", "a_eq_1,,b_eq_2", NULL};
  for (int i = 0; ok[i]; i++) {
    char req[128];
    snprintf(req, sizeof req, "{\"query\":{\"variables\":\"%s\"}}", ok[i]);
    CHECK_EQ_STR(checked(&rb_instance_query, req, b, sizeof b), "");
  }
  for (int i = 0; bad[i]; i++) {
    char req[128], want[256];
    snprintf(req, sizeof req, "{\"query\":{\"variables\":\"%s\"}}", bad[i]);
    snprintf(want, sizeof want, "Cannot set query parameter 'variables' to value '%s': "
             "variable query parameter has to have format KEY_OPERATOR_VALUE.", bad[i]);
    CHECK_EQ_STR(checked(&rb_instance_query, req, b, sizeof b), want);
  }
}

TEST(comparators_and_empty_id_sets) {
  char b[512];
  CHECK_EQ_STR(checked(&rb_instance_query, "{\"query\":{\"variables\":\"a_eq_1,b_Eq_2\"}}", b, sizeof b),
               "Invalid variable comparator specified: Eq");
  CHECK_EQ_STR(checked(&rb_history_query, "{\"body\":{\"variables\":[{\"name\":\"a\",\"operator\":\"notLike\",\"value\":1}]}}", b, sizeof b),
               "Invalid variable comparator specified: notLike");
  CHECK_EQ_STR(checked(&rb_external_task_query, "{\"body\":{\"processVariables\":[{\"name\":\"a\",\"operator\":\"notLike\",\"value\":\"x\"}]}}", b, sizeof b), "");
  /* JobQueryDto and ExternalTaskQueryDto skip empty lists; the process
   * instance DTOs pass them on to a query that refuses them */
  CHECK_EQ_STR(checked(&rb_job_query, "{\"body\":{\"jobIds\":[],\"processInstanceIds\":[]}}", b, sizeof b), "");
  CHECK_EQ_STR(checked(&rb_external_task_query, "{\"body\":{\"externalTaskIdIn\":[]}}", b, sizeof b), "");
  CHECK_EQ_STR(checked(&rb_instance_query, "{\"body\":{\"processInstanceIds\":[]}}", b, sizeof b),
               "Set of process instance ids is empty");
  CHECK_EQ_STR(checked(&rb_history_query, "{\"body\":{\"processInstanceIds\":[]}}", b, sizeof b),
               "Set of process instance ids is empty");
}
