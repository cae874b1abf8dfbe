/*
 * test_batch_groups.c - batch id groups (src/batch.c): rb_batch_add_item
 * and rb_batch_item_count put ids in deployment groups ordered as
 * Camunda's BatchElementConfiguration (case-insensitive deployment order,
 * the unknown deployment last), whatever order the ids arrive in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core.h"

/* The groups as text: "dep:id,id|dep:id" with "-" for the unknown deployment. */
static void describe(const cJSON *groups, char *buf, size_t cap) {
  const cJSON *group, *id;
  size_t n = 0;
  buf[0] = '\0';
  cJSON_ArrayForEach(group, groups) {
    const char *dep = rb_str(group, "deploymentId");
    const char *sep = "";
    n += (size_t)snprintf(buf + n, cap - n, "%s%s:", n ? "|" : "", dep ? dep : "-");
    cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(group, "ids")) {
      n += (size_t)snprintf(buf + n, cap - n, "%s%s", sep, id->valuestring);
      sep = ",";
    }
  }
}

/* Adds (deployment, id) pairs, "-" naming the unknown deployment; returns
 * the item count rb_batch_item_count gives. */
static int add_all(cJSON *groups, const char *const *pairs) {
  for (int i = 0; pairs[i]; i += 2)
    if (rb_batch_add_item(groups, strcmp(pairs[i], "-") == 0 ? NULL : pairs[i], pairs[i + 1]) != REBATCH_OK) return -2;
  return rb_batch_item_count(groups);
}

TEST(unknown_first_then_a_then_b_gives_a_b_unknown) {
  static const char *const pairs[] = {"-", "x", "depA", "t1", "depB", "t2", NULL};
  cJSON *groups = cJSON_CreateArray();
  char text[256];
  REQUIRE(groups != NULL);
  CHECK_EQ_INT(add_all(groups, pairs), 3);
  describe(groups, text, sizeof text);
  CHECK_EQ_STR(text, "depA:t1|depB:t2|-:x");
  cJSON_Delete(groups);
}

TEST(groups_sort_ignoring_case_and_ids_sort_without_duplicates) {
  static const char *const pairs[] = {"c", "9", "-", "u2", "B", "5", "a", "3", "-", "u1", "b", "4",
                                      "C", "8", "a", "3", "B", "6", NULL};
  cJSON *groups = cJSON_CreateArray();
  char text[256];
  REQUIRE(groups != NULL);
  CHECK_EQ_INT(add_all(groups, pairs), 8);
  describe(groups, text, sizeof text);
  CHECK_EQ_STR(text, "a:3|B:4,5,6|c:8,9|-:u1,u2");
  cJSON_Delete(groups);
}
