/*
 * request_types.c - a request's JSON read as Camunda's Jackson reads a DTO,
 * once, before any operation looks at it: where a string belongs a scalar
 * is its text, an array or object is a 400; an int out of Java's int range
 * is a 400; of duplicate keys the last one counts (as Jackson and
 * JSON.parse do). Operations then read members with rb_str/rb_int as before.
 */
#include "core.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* DTO members that are Java Strings. */
static const char *const string_fields[] = {
    "activityId", "activityInstanceId", "businessKey", "deploymentId", "errorCode",
    "errorDetails", "errorMessage", "executionId", "incidentType", "jobDefinitionId",
    "jobType", "processDefinitionId", "processDefinitionKey", "processInstanceId",
    "sortBy", "sortOrder", "tenantId", "topicName", "type", "workerId", "variableName",
    "cancelActivityId", "startActivityId", "startBeforeActivityId", "startAfterActivityId",
    "startTransitionId", "ancestorActivityInstanceId", "operator", "name", "source",
};

/* DTO members that are java.util.Date: Jackson parses them with the REST
 * date format while it reads the body, so a bad one fails the request
 * before any operation runs, whatever rows there are. */
static const char *const date_fields[] = {
    "startedBefore", "startedAfter", "finishedBefore", "finishedAfter",
    "executedActivityBefore", "executedActivityAfter", "executedJobBefore", "executedJobAfter",
    "createTimeBefore", "createTimeAfter", "endTimeBefore", "endTimeAfter",
    "lockExpirationBefore", "lockExpirationAfter", "incidentTimestampBefore", "incidentTimestampAfter",
    "occurredBefore", "occurredAfter", "dueDate", "absoluteRemovalTime",
};

/* DTO members that are Java Booleans (or booleans). */
static const char *const boolean_fields[] = {
    "active", "suspended", "completed", "canceled", "completeScope", "creationLog", "deleted",
    "deletionLog", "executable", "externallyTerminated", "failureLog", "finished", "includeDeleted",
    "initial", "internallyTerminated", "latestVersion", "leafProcessInstances", "locked", "messages",
    "noRetriesLeft", "notLocked", "open", "processDefinitionWithoutTenantId", "resolved",
    "rootProcessInstances", "successLog", "timers", "unfinished", "withException", "withFailures",
    "withIncident", "withIncidents", "withJobsRetrying", "withOverridingJobPriority", "withRetriesLeft",
    "withRootIncidents", "withoutFailures", "withoutTenantId", "variableNamesIgnoreCase",
    "variableValuesIgnoreCase", "skipCustomListeners", "skipIoMappings", "skipSubprocesses",
    "includeProcessInstances", "includeJobs", "all", "resultEnabled", "variablesInResultEnabled",
    "updateEventTriggers", "updateEventTrigger", "calculatedRemovalTime", "clearedRemovalTime",
    "hierarchical", "updateInChunks", "initialVariables", "withoutBusinessKey",
    "cancelCurrentActiveActivityInstances", "usePriority", "withVariablesInReturn",
};

/* DTO members that are Java ints (Integer): out of range is a 400. */
static const char *const int_fields[] = {"retries", "maxTasks", "firstResult", "maxResults", "historyTimeToLive",
                                         "updateChunkSize"};

/* DTO members that are Java longs (Long). */
static const char *const long_fields[] = {"lockDuration", "newDuration", "retryTimeout", "asyncResponseTimeout"};

/* Members whose children are named by the user or hold any JSON (variable
 * maps, variable values), or are not read from a client's JSON (a
 * deployment's processes come from the BPMN parser, which checks their
 * types itself): their members are not DTO members. */
static const char *const opaque_fields[] = {
    "variables", "localVariables", "processVariables", "modifications",
    "correlationKeys", "value", "processes", "resources",
};

static int named(const char *key, const char *const *names, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(key, names[i]) == 0) return 1;
  return 0;
}
#define NAMED(key, list) named(key, list, sizeof list / sizeof list[0])

typedef struct {
  cJSON *member;
  int pos;
} keyed;

static int by_key(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  int c = strcmp(x->member->string, y->member->string);
  return c ? c : x->pos - y->pos;
}

/* Deletes every member of obj that a later member of the same key
 * replaces. Sorted rather than compared pairwise: a variables map may have
 * many members. Returns 0 when out of memory. */
static int keep_last(cJSON *obj) {
  keyed *members;
  cJSON *m;
  int n = 0, i;
  for (m = obj->child; m; m = m->next) n++;
  if (n < 2) return 1;
  if (!(members = rb_malloc((size_t)n * sizeof *members))) return 0;
  for (i = 0, m = obj->child; m; m = m->next, i++) members[i] = (keyed){m, i};
  qsort(members, (size_t)n, sizeof *members, by_key);
  for (i = 0; i + 1 < n; i++)
    if (strcmp(members[i].member->string, members[i + 1].member->string) == 0)
      cJSON_Delete(cJSON_DetachItemViaPointer(obj, members[i].member));
  rb_free(members);
  return 1;
}

/* A scalar where a String belongs becomes its text. */
static int as_string(cJSON *item) {
  char buf[64];
  char *text;
  if (cJSON_IsNumber(item)) rb_format_number(item->valuedouble, buf);
  else if (cJSON_IsBool(item)) strcpy(buf, cJSON_IsTrue(item) ? "true" : "false");
  else return 1;
  if (!(text = rb_strdup(buf))) return 0;
  item->type = cJSON_String;
  item->valuestring = text;
  item->valueint = 0;
  item->valuedouble = 0;
  return 1;
}

/* Whether a number (or integer text, which Jackson also reads) fits a
 * Java int; other values are left to the operation's own checks. */
static int fits_int(const cJSON *item) {
  double v;
  char *end;
  if (cJSON_IsNumber(item)) v = item->valuedouble;
  else if (cJSON_IsString(item)) {
    /* Text that is no integer is left to the paging check (URL parameters). */
    errno = 0;
    v = (double)strtoll(item->valuestring, &end, 10);
    if (end == item->valuestring || *end || errno == ERANGE) return 1;
  } else
    return 1;
  return v >= -2147483648.0 && v <= 2147483647.0;
}

/* Jackson's mapping error: JsonMappingExceptionHandler answers 400
 * InvalidRequestException with an empty message (the Jackson text is only
 * the cause), code null. */
static int mapping_error(rb_response *res) {
  rb_invalid(res, 400, "%s", "");
  return 0;
}

static void set_null(cJSON *item) {
  if (cJSON_IsString(item)) rb_free(item->valuestring);
  item->valuestring = NULL;
  item->type = cJSON_NULL;
}

static void set_bool(cJSON *item, int value) {
  if (cJSON_IsString(item)) rb_free(item->valuestring);
  item->valuestring = NULL;
  item->type = value ? cJSON_True : cJSON_False;
  item->valueint = value;
}

/* Jackson trims scalar text; blank text and "null" are no value. */
static int blank_or_null(const char *text, size_t *start, size_t *len) {
  size_t n = strlen(text), i = 0;
  while (i < n && strchr(" \t\r\n", text[i])) i++;
  while (n > i && strchr(" \t\r\n", text[n - 1])) n--;
  *start = i;
  *len = n - i;
  return *len == 0 || (*len == 4 && strncmp(text + i, "null", 4) == 0);
}

/* A Date member: text in the date format (made canonical: trimmed), epoch
 * milliseconds, or null; anything else fails the request. */
static int as_date(cJSON *item, rb_response *res) {
  size_t start, len;
  double ms;
  if (cJSON_IsNull(item) || cJSON_IsNumber(item)) return 1;
  if (!cJSON_IsString(item)) return mapping_error(res);
  if (blank_or_null(item->valuestring, &start, &len)) {
    set_null(item);
    return 1;
  }
  memmove(item->valuestring, item->valuestring + start, len);
  item->valuestring[len] = '\0';
  return rb_parse_date(item, &ms) == 1 ? 1 : mapping_error(res);
}

static int text_is(const char *text, size_t len, const char *const *words) {
  for (; *words; words++)
    if (strlen(*words) == len && strncmp(text, *words, len) == 0) return 1;
  return 0;
}

/* A Boolean member: JSON booleans, an integer (0 is false), the texts
 * Jackson reads ("true", "True", "TRUE", the same for false), or null;
 * anything else fails the request. Texts and numbers become booleans. */
static int as_boolean(cJSON *item, rb_response *res) {
  static const char *const yes[] = {"true", "True", "TRUE", NULL};
  static const char *const no[] = {"false", "False", "FALSE", NULL};
  size_t start, len;
  if (cJSON_IsNull(item) || cJSON_IsBool(item)) return 1;
  if (cJSON_IsNumber(item) && item->valuedouble == (double)(long long)item->valuedouble) {
    set_bool(item, item->valuedouble != 0);
    return 1;
  }
  if (!cJSON_IsString(item)) return mapping_error(res);
  if (blank_or_null(item->valuestring, &start, &len)) set_null(item);
  else if (text_is(item->valuestring + start, len, yes)) set_bool(item, 1);
  else if (text_is(item->valuestring + start, len, no)) set_bool(item, 0);
  else return mapping_error(res);
  return 1;
}

static void set_number(cJSON *item, double value) {
  if (cJSON_IsString(item)) rb_free(item->valuestring);
  item->valuestring = NULL;
  item->type = cJSON_Number;
  cJSON_SetNumberValue(item, value);
}

/* An integer literal (an optional sign, digits) between min and max. */
static int integer_text(const char *text, size_t len, double min, double max, double *out) {
  char buf[32], *end;
  double v;
  if (len == 0 || len >= sizeof buf) return 0;
  memcpy(buf, text, len);
  buf[len] = '\0';
  for (size_t i = buf[0] == '-' || buf[0] == '+'; i < len; i++)
    if (buf[i] < '0' || buf[i] > '9') return 0;
  errno = 0;
  v = (double)strtoll(buf, &end, 10);
  if (errno == ERANGE || *end || end == buf || v < min || v > max) return 0;
  *out = v;
  return 1;
}

/* An Integer or Long member of a body, as Jackson reads one: a number
 * (a fraction truncated), integer text (made a number), blank text or
 * "null" (no value), or null; anything else, or a value beyond the type,
 * fails the request. */
static int as_integer(cJSON *item, int is_long, rb_response *res) {
  double min = is_long ? -9223372036854775808.0 : -2147483648.0, max = is_long ? 9223372036854775807.0 : 2147483647.0;
  size_t start, len;
  double v;
  if (cJSON_IsNull(item)) return 1;
  if (cJSON_IsNumber(item)) {
    v = trunc(item->valuedouble);
    if (v < min || v > max) return mapping_error(res);
    set_number(item, v);
    return 1;
  }
  if (!cJSON_IsString(item)) return mapping_error(res);
  if (blank_or_null(item->valuestring, &start, &len)) set_null(item);
  else if (integer_text(item->valuestring + start, len, min, max, &v)) set_number(item, v);
  else return mapping_error(res);
  return 1;
}

static int coerce(cJSON *item, int typed, int in_body, int depth, rb_response *res);

static int coerce_member(cJSON *m, int in_body, int depth, rb_response *res) {
  if (NAMED(m->string, string_fields) || (!in_body && NAMED(m->string, int_fields))) {
    if (cJSON_IsArray(m) || cJSON_IsObject(m)) return mapping_error(res);
    if (NAMED(m->string, int_fields)) return fits_int(m) ? 1 : mapping_error(res);
    return as_string(m) ? 1 : -1;
  }
  /* URL parameters are converted by the query DTO, with its own messages. */
  if (in_body && NAMED(m->string, int_fields)) return as_integer(m, 0, res);
  if (in_body && NAMED(m->string, long_fields)) return as_integer(m, 1, res);
  if (in_body && NAMED(m->string, date_fields)) return as_date(m, res);
  if (in_body && NAMED(m->string, boolean_fields)) return as_boolean(m, res);
  return coerce(m, !NAMED(m->string, opaque_fields), in_body || (depth == 0 && strcmp(m->string, "body") == 0),
                depth + 1, res);
}

/* 1 when item reads as a DTO; 0 with res set (400); -1 out of memory. */
static int coerce(cJSON *item, int typed, int in_body, int depth, rb_response *res) {
  cJSON *m;
  int rc;
  if (depth > 64) return 1; /* cJSON bounds nesting; no DTO goes this deep */
  if (cJSON_IsObject(item) && !keep_last(item)) return -1;
  for (m = item->child; m; m = m->next) {
    if (cJSON_IsObject(item) && typed) rc = coerce_member(m, in_body, depth, res);
    else rc = coerce(m, typed, in_body, depth + 1, res);
    if (rc != 1) return rc;
  }
  return 1;
}

int rb_request_coerce(cJSON *request, rb_response *res) {
  return coerce(request, 1, 0, 0, res);
}
