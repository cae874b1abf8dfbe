/*
 * definition.c - deployments, process definitions and the process model.
 *
 * A process arrives as JSON (the REST shim turns BPMN XML into it): its
 * activities and sequence flows. Deploying validates the model, versions it
 * per key and tenant, and creates the job definitions of its asynchronous
 * activities and timers, as Camunda does at deployment time.
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPLOYMENT "deployment"
#define DEFINITION "processDefinition"
#define JOB_DEFINITION "jobDefinition"

/* ---- the model ---------------------------------------------------------- */

static const cJSON *find_by_id(const cJSON *list, const char *id) {
  const cJSON *item;
  if (!id) return NULL;
  cJSON_ArrayForEach(item, list) {
    const char *item_id = rb_str(item, "id");
    if (item_id && strcmp(item_id, id) == 0) return item;
  }
  return NULL;
}

const cJSON *rb_model_activity(const cJSON *definition, const char *id) {
  return find_by_id(cJSON_GetObjectItemCaseSensitive(definition, "activities"), id);
}

const cJSON *rb_model_flow(const cJSON *definition, const char *id) {
  return find_by_id(cJSON_GetObjectItemCaseSensitive(definition, "flows"), id);
}

static int flow_has(const cJSON *flow, const char *end, const char *activity) {
  const char *value = rb_str(flow, end);
  return value && strcmp(value, activity) == 0;
}

int rb_model_outgoing(const cJSON *definition, const char *activity_id,
                      const cJSON **flows, int max) {
  const cJSON *flow;
  int n = 0;
  cJSON_ArrayForEach(flow, cJSON_GetObjectItemCaseSensitive(definition, "flows"))
    if (flow_has(flow, "source", activity_id)) {
      if (n < max) flows[n] = flow;
      n++;
    }
  return n;
}

int rb_model_incoming_count(const cJSON *definition, const char *activity_id) {
  const cJSON *flow;
  int n = 0;
  cJSON_ArrayForEach(flow, cJSON_GetObjectItemCaseSensitive(definition, "flows"))
    n += flow_has(flow, "target", activity_id);
  return n;
}

/* The none start event; a process with only a message start event starts
 * there, as upstream's single start event is its initial activity. */
const char *rb_model_start_event(const cJSON *definition) {
  const cJSON *activity;
  const char *first = NULL;
  cJSON_ArrayForEach(activity, cJSON_GetObjectItemCaseSensitive(definition, "activities")) {
    const char *type = rb_str(activity, "type");
    if (!type || strcmp(type, "startEvent") != 0) continue;
    if (!rb_str(activity, "messageName")) return rb_str(activity, "id");
    if (!first) first = rb_str(activity, "id");
  }
  return first;
}

const cJSON *rb_model_message_start(const cJSON *definition, const char *message_name) {
  const cJSON *activity;
  cJSON_ArrayForEach(activity, cJSON_GetObjectItemCaseSensitive(definition, "activities"))
    if (rb_str_eq(rb_str(activity, "type"), "startEvent") && rb_str_eq(rb_str(activity, "messageName"), message_name))
      return activity;
  return NULL;
}

/* Camunda ranks error event definitions with a code before those without
 * (which catch every error), so a specific boundary event wins. */
const cJSON *rb_model_error_boundary(const cJSON *definition, const char *activity_id,
                                     const char *error_code) {
  const cJSON *a, *catch_all = NULL;
  cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(definition, "activities")) {
    const char *type = rb_str(a, "type"), *code = rb_str(a, "errorCode");
    if (!type || strcmp(type, "boundaryEvent") != 0 || !flow_has(a, "attachedTo", activity_id)) continue;
    if (!code) {
      if (!catch_all) catch_all = a;
    } else if (error_code && strcmp(code, error_code) == 0) {
      return a;
    }
  }
  return catch_all;
}

int rb_definition_load(rebatch_engine *e, const char *id, rb_doc *doc) {
  return rb_load(e, DEFINITION, id, doc);
}

/* ---- validation ---------------------------------------------------------- */

static const char *const supported_types[] = {
    "startEvent", "endEvent", "userTask", "serviceTask", "task", "manualTask",
    "scriptTask", "sendTask", "businessRuleTask", "receiveTask",
    "parallelGateway", "exclusiveGateway", "intermediateCatchEvent",
    "intermediateThrowEvent", "boundaryEvent", NULL};

static int supported(const char *type) {
  for (int i = 0; supported_types[i]; i++)
    if (strcmp(supported_types[i], type) == 0) return 1;
  return 0;
}

static int parse_error(rb_response *res, const char *key, const char *fmt,
                       const char *arg) {
  char detail[256];
  snprintf(detail, sizeof detail, fmt, arg ? arg : "(null)");
  return rb_error(res, 400, "ParseException", 0,
                  "ENGINE-09005 Could not parse BPMN process. Errors: \n* %s | process '%s'",
                  detail, key ? key : "(null)");
}

/* ISO-8601 durations as Camunda timers use them: PnDTnHnMnS, PnW. */
static int parse_duration(const char *text, double *ms) {
  double total = 0, value;
  int in_time = 0, chars;
  if (!text || *text++ != 'P' || !*text) return 0;
  while (*text) {
    if (*text == 'T') {
      in_time = 1;
      text++;
      continue;
    }
    if (sscanf(text, "%lf%n", &value, &chars) != 1 || value < 0) return 0;
    text += chars;
    switch (*text++) {
    case 'W': total += value * 604800000.0; break;
    case 'D': total += value * 86400000.0; break;
    case 'H': if (!in_time) return 0; total += value * 3600000.0; break;
    case 'M': total += (in_time ? 60000.0 : 2592000000.0) * value; break;
    case 'S': if (!in_time) return 0; total += value * 1000.0; break;
    default: return 0;
    }
  }
  *ms = total;
  return 1;
}

int rb_duration_ms(const char *text, double *ms) { return parse_duration(text, ms); }

/* R<n>/<duration>: Camunda's failedJobRetryTimeCycle. */
int rb_retry_cycle(const char *text, int *retries, double *interval_ms) {
  int n, chars;
  if (!text || sscanf(text, "R%d/%n", &n, &chars) != 1 || n < 0) return 0;
  if (!parse_duration(text + chars, interval_ms)) return 0;
  *retries = n;
  return 1;
}

static int validate_activity(const cJSON *a, const char *key, rb_response *res) {
  const char *id = rb_str(a, "id"), *type = rb_str(a, "type");
  const char *cycle = rb_str(a, "failedJobRetryTimeCycle");
  int retries;
  double ms;
  if (!id || !*id) return parse_error(res, key, "An activity has no id%s", "");
  if (!type) return parse_error(res, key, "Activity '%s' has no type", id);
  if (!supported(type))
    return parse_error(res, key, "Unsupported BPMN element '%s'", type);
  if (rb_has(a, "messageName") && (!rb_str(a, "messageName") || !*rb_str(a, "messageName")))
    return parse_error(res, key, "Activity '%s' has an empty messageName", id);
  if (strcmp(type, "intermediateCatchEvent") == 0 && !rb_str(a, "messageName") &&
      !parse_duration(rb_str(a, "timerDuration"), &ms))
    return parse_error(res, key, "Intermediate catch event '%s' needs a timerDuration (ISO-8601 duration such as PT5M) or a messageName", id);
  if (cycle && !rb_retry_cycle(cycle, &retries, &ms))
    return parse_error(res, key, "Invalid failedJobRetryTimeCycle on '%s' (expected R<n>/<duration>)", id);
  return REBATCH_OK;
}

static int is_boundary(const cJSON *a) {
  const char *type = rb_str(a, "type");
  return type && strcmp(type, "boundaryEvent") == 0;
}

/* Deploy-time lookups by a string field of the model's activities or
 * flows: a list sorted by (value, position), searched in O(log n), so that
 * validating a model of n elements costs O(n log n) and not O(n^2) (a
 * 20,000-task chain took 11 s with one linear scan per flow). */
typedef struct {
  const char *value;
  const cJSON *item;
  int pos;
} field_entry;

typedef struct {
  field_entry *entries;
  int count;
} field_index;

static int compare_entries(const void *a, const void *b) {
  const field_entry *x = a, *y = b;
  int c = strcmp(x->value, y->value);
  return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* Items of `list` without a string `field` are left out, as find_by_id
 * never matches them. */
static int field_index_build(const cJSON *list, const char *field, field_index *ix) {
  const cJSON *item;
  int n = cJSON_GetArraySize(list), pos = 0;
  ix->count = 0;
  ix->entries = n > 0 ? rb_malloc((size_t)n * sizeof *ix->entries) : NULL;
  if (n > 0 && !ix->entries) return REBATCH_NOMEM;
  cJSON_ArrayForEach(item, list) {
    const char *value = rb_str(item, field);
    if (value) ix->entries[ix->count++] = (field_entry){value, item, pos};
    pos++;
  }
  if (ix->count > 1) qsort(ix->entries, (size_t)ix->count, sizeof *ix->entries, compare_entries);
  return REBATCH_OK;
}

static void field_index_free(field_index *ix) {
  rb_free(ix->entries);
  ix->entries = NULL;
  ix->count = 0;
}

/* The position of the first entry whose value is not below `value`. */
static int field_index_lower(const field_index *ix, const char *value) {
  int lo = 0, hi = ix->count;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (strcmp(ix->entries[mid].value, value) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* The first item (in list order) with `value`, as find_by_id finds it. */
static const cJSON *field_index_find(const field_index *ix, const char *value) {
  int at;
  if (!value) return NULL;
  at = field_index_lower(ix, value);
  return at < ix->count && strcmp(ix->entries[at].value, value) == 0 ? ix->entries[at].item : NULL;
}

static int field_index_count(const field_index *ix, const char *value) {
  int at, n = 0;
  if (!value) return 0;
  for (at = field_index_lower(ix, value); at < ix->count && strcmp(ix->entries[at].value, value) == 0; at++) n++;
  return n;
}

typedef struct {
  field_index activities; /* by id */
  field_index targets;    /* flows by target */
} model_index;

static void model_index_free(model_index *mx) {
  field_index_free(&mx->activities);
  field_index_free(&mx->targets);
}

static int model_index_build(const cJSON *model, model_index *mx) {
  int rc = field_index_build(cJSON_GetObjectItemCaseSensitive(model, "activities"), "id", &mx->activities);
  mx->targets = (field_index){NULL, 0};
  if (rc == REBATCH_OK) rc = field_index_build(cJSON_GetObjectItemCaseSensitive(model, "flows"), "target", &mx->targets);
  if (rc != REBATCH_OK) model_index_free(mx);
  return rc;
}

/* Error boundary events are the only boundary events: attached to an
 * activity of the process, entered only by a BPMN error, never by a flow. */
static int validate_boundary(const model_index *mx, const cJSON *a, const char *key,
                             rb_response *res) {
  const char *id = rb_str(a, "id"), *kind = rb_str(a, "eventDefinition");
  const cJSON *host = field_index_find(&mx->activities, rb_str(a, "attachedTo"));
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(a, "errorCode");
  if (!kind || strcmp(kind, "error") != 0)
    return parse_error(res, key, "Boundary event '%s' needs eventDefinition 'error'; only error boundary events are supported", id);
  if (!host || is_boundary(host))
    return parse_error(res, key, "Boundary event '%s' must be attached to an activity of the process (attachedTo)", id);
  if (code && !cJSON_IsNull(code) && !cJSON_IsString(code))
    return parse_error(res, key, "The errorCode of boundary event '%s' must be a string", id);
  if (field_index_count(&mx->targets, id) > 0)
    return parse_error(res, key, "Boundary event '%s' cannot have incoming sequence flows", id);
  return REBATCH_OK;
}

static int validate_flows(const cJSON *model, const model_index *mx, const char *key, rb_response *res) {
  const cJSON *flow;
  cJSON_ArrayForEach(flow, cJSON_GetObjectItemCaseSensitive(model, "flows")) {
    const char *id = rb_str(flow, "id");
    if (!id) return parse_error(res, key, "A sequence flow has no id%s", "");
    if (!field_index_find(&mx->activities, rb_str(flow, "source")) ||
        !field_index_find(&mx->activities, rb_str(flow, "target")))
      return parse_error(res, key, "Sequence flow '%s' must connect two activities of the process", id);
  }
  return REBATCH_OK;
}

/* The checks that need lookups across the model, once its shape is known. */
static int validate_elements(const cJSON *model, const model_index *mx, const char *key, rb_response *res) {
  const cJSON *activities = cJSON_GetObjectItemCaseSensitive(model, "activities");
  const cJSON *a;
  int starts = 0, message_starts = 0, rc;
  cJSON_ArrayForEach(a, activities) {
    const char *type = rb_str(a, "type");
    if ((rc = validate_activity(a, key, res)) != REBATCH_OK) return rc;
    if (field_index_find(&mx->activities, rb_str(a, "id")) != a)
      return parse_error(res, key, "Duplicate activity id '%s'", rb_str(a, "id"));
    starts += strcmp(type, "startEvent") == 0 && !rb_str(a, "messageName");
    message_starts += strcmp(type, "startEvent") == 0 && rb_str(a, "messageName");
  }
  cJSON_ArrayForEach(a, activities)
    if (is_boundary(a) && (rc = validate_boundary(mx, a, key, res)) != REBATCH_OK) return rc;
  if (starts > 1 || starts + message_starts == 0)
    return parse_error(res, key, "Process '%s' must have exactly one none start event", key);
  return validate_flows(model, mx, key, res);
}

static int validate_model(const cJSON *model, rb_response *res) {
  const char *key = rb_str(model, "key");
  model_index mx;
  int rc;
  if (!cJSON_IsObject(model)) return parse_error(res, NULL, "A process must be an object%s", "");
  if (!key || !*key) return parse_error(res, key, "A process needs an id (its key)%s", "");
  if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(model, "activities")) ||
      !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(model, "flows")))
    return parse_error(res, key, "Process '%s' needs arrays 'activities' and 'flows'", key);
  if ((rc = model_index_build(model, &mx)) != REBATCH_OK) return rc;
  rc = validate_elements(model, &mx, key, res);
  model_index_free(&mx);
  return rc;
}

/* ---- records ------------------------------------------------------------ */

static int save_definition(rebatch_engine *e, rb_doc *doc) {
  rebatch_index_entry index[] = {
      {"key", rb_str(doc->json, "key")},
      {"deploymentId", rb_str(doc->json, "deploymentId")},
  };
  return rb_save(e, DEFINITION, doc, index, 2);
}

static int save_job_definition(rebatch_engine *e, rb_doc *doc) {
  rebatch_index_entry index[] = {
      {"processDefinitionId", rb_str(doc->json, "processDefinitionId")},
      {"jobConfiguration", rb_str(doc->json, "jobConfiguration")},
  };
  return rb_save(e, JOB_DEFINITION, doc, index, 2);
}

int rb_definition_save(rebatch_engine *e, rb_doc *doc) { return save_definition(e, doc); }

int rb_job_definition_save(rebatch_engine *e, rb_doc *doc) {
  return save_job_definition(e, doc);
}

/* Finding the latest version reads only the versions and tenants of a
 * key's definitions, from their text: each definition holds its whole
 * model, and parsing every version (megabytes each for a 20,000-task
 * model) made each deploy and each latestVersion row cost all of them. */
typedef struct {
  const char *tenant;
  int version;
} version_walk;

static void note_version_of(version_walk *w, const char *tenant, double version) {
  if ((tenant == NULL) != (w->tenant == NULL) || (tenant && strcmp(tenant, w->tenant) != 0)) return;
  if (version > w->version) w->version = (int)version;
}

static int note_version(rebatch_engine *e, const char *id, const char *text, int rev, void *c) {
  rb_text_field f[] = {{"tenantId", NULL, 0}, {"version", NULL, 0}};
  char tenant[256];
  double version;
  long long v;
  cJSON *def;
  int got, rc;
  (void)id;
  (void)rev;
  if (rb_text_fields(text, f, 2) > 0 && (got = rb_field_str(&f[0], tenant, sizeof tenant)) >= 0 &&
      rb_field_num(&f[1], &version) > 0) {
    note_version_of(c, got ? tenant : NULL, version);
    return REBATCH_OK;
  }
  /* A tenant id with escapes or too long for the buffer: parse. */
  if ((rc = rb_parse_record(e, text, &def)) != REBATCH_OK) return rc;
  if (rb_int(def, "version", &v) == 1) note_version_of(c, rb_str(def, "tenantId"), (double)v);
  cJSON_Delete(def);
  return REBATCH_OK;
}

static int latest_version(rebatch_engine *e, const char *key,
                          const char *tenant, int *version) {
  version_walk w = {tenant, 0};
  int rc = key ? rb_find_all_rows(e, DEFINITION, "key", key, note_version, &w) : REBATCH_OK;
  *version = w.version;
  return rc;
}

/* Creates one job definition and notes its id on the stored activity. */
static int add_job_definition(rebatch_engine *e, const cJSON *def,
                              cJSON *activity, const char *job_type,
                              const char *configuration, const char *slot) {
  char id[REBATCH_ID_MAX + 1];
  cJSON *jd = cJSON_CreateObject(), *ids;
  rb_doc doc;
  int rc = rb_new_id(e, id);
  if (!jd) return REBATCH_NOMEM;
  if (rc != REBATCH_OK) {
    cJSON_Delete(jd);
    return rc;
  }
  rb_put_str(jd, "id", id);
  rb_put_str(jd, "processDefinitionId", rb_str(def, "id"));
  rb_put_str(jd, "processDefinitionKey", rb_str(def, "key"));
  rb_put_str(jd, "activityId", rb_str(activity, "id"));
  rb_put_str(jd, "jobType", job_type);
  rb_put_str(jd, "jobConfiguration", configuration);
  rb_put_null(jd, "overridingJobPriority");
  rb_put_bool(jd, "suspended", 0);
  rb_copy(jd, def, "tenantId");
  rb_copy(jd, def, "deploymentId");
  if ((rc = rb_doc_init(&doc, id, jd)) != REBATCH_OK) return rc;
  rc = save_job_definition(e, &doc);
  rb_doc_clear(&doc);
  if (rc != REBATCH_OK) return rc;
  ids = cJSON_GetObjectItemCaseSensitive(activity, "jobDefinitionIds");
  if (!ids && !(ids = cJSON_AddObjectToObject(activity, "jobDefinitionIds"))) return REBATCH_NOMEM;
  return rb_set_str(ids, slot, id) ? REBATCH_OK : REBATCH_NOMEM;
}

static int add_job_definitions(rebatch_engine *e, cJSON *def) {
  cJSON *a;
  int rc = REBATCH_OK;
  cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(def, "activities")) {
    const char *type = rb_str(a, "type");
    if (rc == REBATCH_OK && rb_flag(a, "asyncBefore"))
      rc = add_job_definition(e, def, a, "async-continuation", "async-before", "async-before");
    if (rc == REBATCH_OK && rb_flag(a, "asyncAfter"))
      rc = add_job_definition(e, def, a, "async-continuation", "async-after", "async-after");
    if (rc == REBATCH_OK && strcmp(type, "intermediateCatchEvent") == 0 && !rb_str(a, "messageName")) {
      char config[96];
      snprintf(config, sizeof config, "DURATION: %s", rb_str(a, "timerDuration"));
      rc = add_job_definition(e, def, a, "timer-intermediate-transition", config, "timer");
    }
  }
  return rc;
}

static cJSON *new_definition(const cJSON *model, const char *id,
                             const char *deployment_id, const char *tenant,
                             int version) {
  cJSON *def = cJSON_CreateObject();
  const char *name = rb_str(model, "name");
  if (!def) return NULL;
  rb_put_str(def, "id", id);
  rb_put_str(def, "key", rb_str(model, "key"));
  rb_put_str(def, "category", rb_str(model, "category") ? rb_str(model, "category") : "http://bpmn.io/schema/bpmn");
  rb_put_str(def, "description", NULL);
  rb_put_str(def, "name", name);
  rb_put_num(def, "version", version);
  rb_put_str(def, "resource", rb_str(model, "resource"));
  rb_put_str(def, "deploymentId", deployment_id);
  rb_put_null(def, "diagram");
  rb_put_bool(def, "suspended", 0);
  rb_put_str(def, "tenantId", tenant);
  rb_put_str(def, "versionTag", rb_str(model, "versionTag"));
  rb_copy(def, model, "historyTimeToLive");
  rb_put_bool(def, "startableInTasklist", 1);
  rb_take(def, "activities", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(model, "activities"), 1));
  rb_take(def, "flows", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(model, "flows"), 1));
  if (!rb_has(def, "activities") || !rb_has(def, "flows")) {
    cJSON_Delete(def);
    return NULL;
  }
  return def;
}

cJSON *rb_definition_to_dto(rebatch_engine *e, const cJSON *def) {
  static const char *const fields[] = {
      "id", "key", "category", "description", "name", "version", "resource",
      "deploymentId", "diagram", "suspended", "tenantId", "versionTag",
      "historyTimeToLive", "startableInTasklist", NULL};
  (void)e;
  return rb_dto(def, fields);
}

static int deploy_process(rebatch_engine *e, const cJSON *model,
                          const char *deployment_id, const char *tenant,
                          cJSON *deployed) {
  char uid[REBATCH_ID_MAX + 1], id[REBATCH_ID_MAX * 2 + 32];
  const char *key = rb_str(model, "key");
  int version, rc;
  rb_doc doc;
  cJSON *def, *dto;
  if ((rc = latest_version(e, key, tenant, &version)) != REBATCH_OK) return rc;
  if ((rc = rb_new_id(e, uid)) != REBATCH_OK) return rc;
  snprintf(id, sizeof id, "%.60s:%d:%s", key, version + 1, uid);
  if (!(def = new_definition(model, id, deployment_id, tenant, version + 1))) return REBATCH_NOMEM;
  if ((rc = rb_doc_init(&doc, id, def)) != REBATCH_OK) return rc;
  rc = add_job_definitions(e, doc.json);
  if (rc == REBATCH_OK) rc = save_definition(e, &doc);
  if (rc == REBATCH_OK) {
    dto = rb_definition_to_dto(e, doc.json);
    if (!dto || !cJSON_AddItemToObject(deployed, id, dto)) {
      cJSON_Delete(dto);
      rc = REBATCH_NOMEM;
    }
  }
  rb_doc_clear(&doc);
  return rc;
}

static cJSON *deployment_to_dto(rebatch_engine *e, const cJSON *d) {
  cJSON *dto = cJSON_CreateObject();
  (void)e;
  if (!dto) return NULL;
  rb_take(dto, "links", cJSON_CreateArray());
  rb_copy(dto, d, "id");
  rb_copy(dto, d, "name");
  rb_copy(dto, d, "source");
  rb_copy_date(dto, d, "deploymentTime");
  rb_copy(dto, d, "tenantId");
  return dto;
}

static int check_models(const cJSON *processes, const cJSON *resources, rb_response *res) {
  const cJSON *model;
  int none = !cJSON_IsArray(processes) || cJSON_GetArraySize(processes) == 0;
  /* A deployment of other resources only (forms, DMN) deploys no process, as in Camunda. */
  if (none && (!cJSON_IsArray(resources) || cJSON_GetArraySize(resources) == 0))
    return rb_invalid(res, 400, "A deployment needs at least one process in 'processes'");
  cJSON_ArrayForEach(model, processes) {
    int rc = validate_model(model, res);
    if (rc != REBATCH_OK) return rc;
  }
  return REBATCH_OK;
}

static int same_str(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

/* DeployCmd compares sources with an empty one read as "process application". */
static const char *source_of(const cJSON *deployment) {
  const char *source = rb_str(deployment, "source");
  return source && *source ? source : "process application";
}

static int same_scope(const cJSON *a, const cJSON *b) {
  return same_str(rb_str(a, "name"), rb_str(b, "name")) &&
         same_str(rb_str(a, "tenantId"), rb_str(b, "tenantId"));
}

/* The hash of the latest earlier resource called `name` among deployments
 * with the body's name, tenant and source (NULL when there is none). */
static const char *latest_hash(const rb_docs *all, const cJSON *body, const char *name) {
  const char *hash = NULL;
  double best = -1, time;
  const cJSON *r;
  int i;
  for (i = 0; i < all->count; i++) {
    const cJSON *d = all->items[i].json;
    if (!same_scope(d, body) || strcmp(source_of(d), source_of(body)) != 0) continue;
    time = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "deploymentTime"));
    if (time <= best) continue;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(d, "resources")) {
      if (!same_str(rb_str(r, "name"), name)) continue;
      hash = rb_str(r, "hash");
      best = time;
    }
  }
  return hash;
}

/* Camunda's duplicate filter (DeployCmd.resolveResourcesToDeploy): a
 * resource is changed when it is new or its hash differs from the latest
 * earlier one of its name. *changed gets the changed names (an object used
 * as a set); *duplicate the id of the latest deployment of that name, the
 * answer when nothing changed. */
static int resolve_duplicates(rebatch_engine *e, const cJSON *body, cJSON **changed,
                              char *duplicate) {
  rb_docs all = {NULL, 0, 0};
  const cJSON *r;
  double best = -1;
  int i, rc = rb_scan_all(e, DEPLOYMENT, &all);
  duplicate[0] = '\0';
  if (rc == REBATCH_OK && !(*changed = cJSON_CreateObject())) rc = REBATCH_NOMEM;
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(body, "resources")) {
    const char *name = rb_str(r, "name"), *hash = rb_str(r, "hash"), *old;
    if (rc != REBATCH_OK || !name) break;
    old = latest_hash(&all, body, name);
    if ((!old || !hash || strcmp(old, hash) != 0) && !cJSON_AddTrueToObject(*changed, name)) rc = REBATCH_NOMEM;
  }
  for (i = 0; rc == REBATCH_OK && i < all.count; i++) {
    const cJSON *d = all.items[i].json;
    double time = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "deploymentTime"));
    if (!same_scope(d, body) || time <= best) continue;
    best = time;
    snprintf(duplicate, REBATCH_ID_MAX + 1, "%s", all.items[i].id);
  }
  rb_docs_clear(&all);
  return rc;
}

/* The resources this deployment keeps: all, or with deployChangedOnly the changed ones. */
static cJSON *kept_resources(const cJSON *body, const cJSON *changed) {
  cJSON *kept = cJSON_CreateArray();
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(body, "resources")) {
    cJSON *copy;
    if (!kept) return NULL;
    if (changed && !cJSON_HasObjectItem(changed, rb_str(r, "name"))) continue;
    if (!(copy = cJSON_CreateObject()) || !rb_put_str(copy, "name", rb_str(r, "name")) ||
        !rb_put_str(copy, "hash", rb_str(r, "hash")) || !cJSON_AddItemToArray(kept, copy)) {
      cJSON_Delete(copy);
      cJSON_Delete(kept);
      return NULL;
    }
  }
  return kept;
}

static cJSON *with_no_other_definitions(cJSON *dto) {
  if (dto && (!rb_put_null(dto, "deployedCaseDefinitions") || !rb_put_null(dto, "deployedDecisionDefinitions") ||
              !rb_put_null(dto, "deployedDecisionRequirementsDefinitions"))) {
    cJSON_Delete(dto);
    return NULL;
  }
  return dto;
}

/* Nothing changed: Camunda answers the earlier deployment, which (loaded, not
 * deployed) carries no deployed definitions. */
static int answer_duplicate(rebatch_engine *e, const char *id, rb_response *res) {
  rb_doc d;
  cJSON *dto;
  int rc = rb_load(e, DEPLOYMENT, id, &d);
  if (rc != REBATCH_OK) return rc;
  dto = d.json ? deployment_to_dto(e, d.json) : NULL;
  rb_doc_clear(&d);
  if (dto && !rb_put_null(dto, "deployedProcessDefinitions")) {
    cJSON_Delete(dto);
    dto = NULL;
  }
  if (!(dto = with_no_other_definitions(dto))) return REBATCH_NOMEM;
  return rb_ok(res, 200, dto);
}

int rb_op_createDeployment(rebatch_engine *e, const cJSON *request,
                           rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const cJSON *processes = cJSON_GetObjectItemCaseSensitive(body, "processes");
  const char *tenant = rb_str(body, "tenantId");
  int changed_only = rb_flag(body, "deployChangedOnly");
  int filter = changed_only || rb_flag(body, "duplicateFiltering");
  char id[REBATCH_ID_MAX + 1], duplicate[REBATCH_ID_MAX + 1];
  cJSON *record, *dto, *deployed, *changed = NULL;
  const cJSON *model;
  rb_doc doc;
  int rc = check_models(processes, cJSON_GetObjectItemCaseSensitive(body, "resources"), res);
  if (rc != REBATCH_OK) return rc;
  if (filter && (rc = resolve_duplicates(e, body, &changed, duplicate)) != REBATCH_OK) {
    cJSON_Delete(changed);
    return rc;
  }
  if (filter && !changed->child && duplicate[0]) {
    cJSON_Delete(changed);
    return answer_duplicate(e, duplicate, res);
  }
  if (!changed_only) {
    cJSON_Delete(changed);
    changed = NULL;
  }
  if ((rc = rb_new_id(e, id)) != REBATCH_OK || !(record = cJSON_CreateObject())) {
    cJSON_Delete(changed);
    return rc != REBATCH_OK ? rc : REBATCH_NOMEM;
  }
  rb_put_str(record, "id", id);
  rb_put_str(record, "name", rb_str(body, "name"));
  rb_put_str(record, "source", rb_str(body, "source"));
  rb_put_num(record, "deploymentTime", rb_now(e));
  rb_put_str(record, "tenantId", tenant);
  rb_take(record, "resources", kept_resources(body, changed));
  if (!rb_has(record, "resources")) {
    cJSON_Delete(record);
    cJSON_Delete(changed);
    return REBATCH_NOMEM;
  }
  if ((rc = rb_doc_init(&doc, id, record)) != REBATCH_OK) {
    cJSON_Delete(changed);
    return rc;
  }
  rc = rb_save(e, DEPLOYMENT, &doc, NULL, 0);
  dto = rc == REBATCH_OK ? deployment_to_dto(e, doc.json) : NULL;
  deployed = dto ? cJSON_AddObjectToObject(dto, "deployedProcessDefinitions") : NULL;
  if (rc == REBATCH_OK && !deployed) rc = REBATCH_NOMEM;
  cJSON_ArrayForEach(model, processes) {
    if (rc != REBATCH_OK) break;
    if (changed && rb_str(model, "resource") && !cJSON_HasObjectItem(changed, rb_str(model, "resource"))) continue;
    rc = deploy_process(e, model, id, tenant, deployed);
  }
  rb_doc_clear(&doc);
  cJSON_Delete(changed);
  if (rc == REBATCH_OK && !(dto = with_no_other_definitions(dto))) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) return rb_ok(res, 200, dto);
  cJSON_Delete(dto);
  return rc;
}

static const rb_filter deployment_filters[] = {
    {"id", RB_F_EQ, "id", NULL, 0},
    {"name", RB_F_EQ, "name", NULL, 0},
    {"nameLike", RB_F_LIKE, "name", NULL, 0},
    {"source", RB_F_EQ, "source", NULL, 0},
    {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},
    {"before", RB_F_DATE_BEFORE, "deploymentTime", NULL, 0},
    {"after", RB_F_DATE_AFTER, "deploymentTime", NULL, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key deployment_sorts[] = {
    {"id", "id"}, {"name", "name"}, {"deploymentTime", "deploymentTime"},
    {"tenantId", "tenantId"}, {NULL, NULL}};

static const rb_query deployment_query = {DEPLOYMENT, deployment_filters,
                                          deployment_sorts, deployment_to_dto};

int rb_op_getDeployments(rebatch_engine *e, const cJSON *request,
                         rb_response *res) {
  return rb_query_list(e, &deployment_query, request, res);
}

/* PUT /process-definition/{id}/history-time-to-live, as
 * UpdateProcessDefinitionHistoryTimeToLiveCmd: null clears it. */
int rb_op_updateHistoryTimeToLive(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  long long days = 0;
  int got = rb_int(body, "historyTimeToLive", &days), rc;
  rb_doc def;
  /* rb_request_coerce made historyTimeToLive an integer, or refused it */
  if (got > 0 && days < 0)
    return rb_error(res, 400, "BadUserRequestException", 0, "historyTimeToLive is not greater than or equal to 0");
  if ((rc = rb_definition_load(e, rb_str(request, "id"), &def)) != REBATCH_OK) return rc;
  if (!def.json) {
    rb_doc_clear(&def);
    return rb_error(res, 404, "InvalidRequestException", 0, "No matching definition with id %s", rb_str(request, "id") ? rb_str(request, "id") : "null");
  }
  rc = rb_take(def.json, "historyTimeToLive", got > 0 ? cJSON_CreateNumber((double)days) : cJSON_CreateNull()) ? save_definition(e, &def)
                                                                                                          : REBATCH_NOMEM;
  rb_doc_clear(&def);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* A /process-definition/key/{key}/... request as its by-id twin: the
 * key's latest version without tenant, as the REST resource resolves it
 * (404 RestException when there is none). *by_id owned by the caller. */
static int by_key(rebatch_engine *e, const cJSON *request, cJSON **by_id, rb_response *res) {
  const char *key = rb_str(request, "key");
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  rb_doc def;
  int rc = rb_definition_latest_by_key(e, key, &def);
  *by_id = NULL;
  if (rc == REBATCH_OK && !def.json)
    rc = rb_not_found(res, "RestException", "No matching process definition with key: %s and no tenant-id", key ? key : "null");
  if (rc == REBATCH_OK && (!(*by_id = cJSON_CreateObject()) || !rb_put_str(*by_id, "id", def.id) ||
                           (body && !rb_add_reference(*by_id, "body", body))))
    rc = REBATCH_NOMEM;
  rb_doc_clear(&def);
  return rc;
}

int rb_op_updateHistoryTimeToLiveByKey(rebatch_engine *e, const cJSON *request, rb_response *res) {
  cJSON *by_id;
  int rc = by_key(e, request, &by_id, res);
  if (rc == REBATCH_OK) rc = rb_op_updateHistoryTimeToLive(e, by_id, res);
  cJSON_Delete(by_id);
  return rc;
}

int rb_op_setProcessDefinitionSuspendedByKey(rebatch_engine *e, const cJSON *request, rb_response *res) {
  cJSON *by_id;
  int rc = by_key(e, request, &by_id, res);
  if (rc == REBATCH_OK) rc = rb_op_setProcessDefinitionSuspended(e, by_id, res);
  cJSON_Delete(by_id);
  return rc;
}

int rb_op_getDeployment(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_get_by_id(e, DEPLOYMENT, request, deployment_to_dto, "Deployment with id '%s' does not exist", res);
}

static int delete_definition(rebatch_engine *e, rb_doc *def, int cascade,
                             rb_response *res) {
  rb_docs jds = {0};
  int exist = 0, rc = rb_instances_exist(e, def->id, &exist);
  if (rc == REBATCH_OK && exist && !cascade)
    return rb_error(res, 500, "ProcessEngineException", 0,
                    "Deletion of process definition without cascading failed.");
  if (rc == REBATCH_OK) rc = rb_instance_purge(e, def->id);
  if (rc == REBATCH_OK) rc = rb_find_all(e, JOB_DEFINITION, "processDefinitionId", def->id, &jds);
  for (int i = 0; rc == REBATCH_OK && i < jds.count; i++)
    rc = rb_delete(e, JOB_DEFINITION, &jds.items[i]);
  rb_docs_clear(&jds);
  if (rc == REBATCH_OK) rc = rb_delete(e, DEFINITION, def);
  return rc;
}

int rb_op_deleteDeployment(rebatch_engine *e, const cJSON *request,
                           rb_response *res) {
  const char *id = rb_str(request, "id");
  int cascade = rb_flag(cJSON_GetObjectItemCaseSensitive(request, "query"), "cascade");
  rb_doc deployment;
  rb_docs defs = {0};
  int rc = rb_load(e, DEPLOYMENT, id, &deployment);
  if (rc == REBATCH_OK && !deployment.json) {
    rb_doc_clear(&deployment);
    return rb_not_found(res, "InvalidRequestException", "Deployment with id '%s' do not exist", id ? id : "null");
  }
  if (rc == REBATCH_OK) rc = rb_find_all(e, DEFINITION, "deploymentId", id, &defs);
  for (int i = 0; rc == REBATCH_OK && i < defs.count; i++)
    rc = delete_definition(e, &defs.items[i], cascade, res);
  if (rc == REBATCH_OK) rc = rb_delete(e, DEPLOYMENT, &deployment);
  rb_docs_clear(&defs);
  rb_doc_clear(&deployment);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* ---- process definition queries ---------------------------------------- */

static int is_latest(rebatch_engine *e, const cJSON *def, const cJSON *arg) {
  int latest = 0;
  long long v = 0;
  (void)arg;
  if (latest_version(e, rb_str(def, "key"), rb_str(def, "tenantId"), &latest) != REBATCH_OK) return 0;
  return rb_int(def, "version", &v) == 1 && v == latest;
}

static int version_is(rebatch_engine *e, const cJSON *r, const cJSON *arg) {
  long long want, have;
  (void)e;
  if (cJSON_IsNumber(arg)) want = (long long)arg->valuedouble;
  else if (!cJSON_IsString(arg) || sscanf(arg->valuestring, "%lld", &want) != 1) return 0;
  return rb_int(r, "version", &have) == 1 && have == want;
}

static const rb_filter definition_filters[] = {
    {"processDefinitionId", RB_F_EQ, "id", NULL, 0},
    {"processDefinitionIdIn", RB_F_IN, "id", NULL, 0},
    {"key", RB_F_EQ, "key", NULL, 1},
    {"keysIn", RB_F_IN, "key", NULL, 0},
    {"keyLike", RB_F_LIKE, "key", NULL, 0},
    {"name", RB_F_EQ, "name", NULL, 0},
    {"nameLike", RB_F_LIKE, "name", NULL, 0},
    {"deploymentId", RB_F_EQ, "deploymentId", NULL, 1},
    {"resourceName", RB_F_EQ, "resource", NULL, 0},
    {"category", RB_F_EQ, "category", NULL, 0},
    {"version", RB_F_VALUE, NULL, version_is, 0},
    {"latestVersion", RB_F_FLAG, NULL, is_latest, 0},
    {"suspended", RB_F_FLAG, NULL, rb_pred_suspended, 0},
    {"active", RB_F_FLAG, NULL, rb_pred_active, 0},
    {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},
    {"withoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0},
    {"versionTag", RB_F_EQ, "versionTag", NULL, 0},
    {"versionTagLike", RB_F_LIKE, "versionTag", NULL, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key definition_sorts[] = {
    {"category", "category"}, {"key", "key"}, {"id", "id"}, {"name", "name"},
    {"version", "version"}, {"deploymentId", "deploymentId"},
    {"tenantId", "tenantId"}, {"versionTag", "versionTag"}, {NULL, NULL}};

static const rb_query definition_query = {DEFINITION, definition_filters,
                                          definition_sorts, rb_definition_to_dto};

int rb_op_getProcessDefinitions(rebatch_engine *e, const cJSON *request,
                                rb_response *res) {
  return rb_query_list(e, &definition_query, request, res);
}

int rb_op_getProcessDefinition(rebatch_engine *e, const cJSON *request,
                               rb_response *res) {
  const char *id = rb_str(request, "id");
  rb_doc doc;
  cJSON *dto;
  int rc = rb_definition_load(e, id, &doc);
  if (rc != REBATCH_OK) return rc;
  if (!doc.json) {
    rb_doc_clear(&doc);
    return rb_error(res, 404, "InvalidRequestException", 0, "No matching definition with id %s", id ? id : "null");
  }
  dto = rb_definition_to_dto(e, doc.json);
  rb_doc_clear(&doc);
  return dto ? rb_ok(res, 200, dto) : REBATCH_NOMEM;
}

/* The latest version of a key among definitions without tenant, as
 * /process-definition/key/{key} resolves it. */
int rb_definition_latest_by_key(rebatch_engine *e, const char *key,
                                rb_doc *out) {
  rb_docs docs = {0};
  int best = -1, rc;
  long long best_version = 0;
  memset(out, 0, sizeof *out);
  if (!key) return REBATCH_OK;
  rc = rb_find_all(e, DEFINITION, "key", key, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) {
    long long v;
    if (rb_str(docs.items[i].json, "tenantId")) continue;
    if (rb_int(docs.items[i].json, "version", &v) == 1 && v > best_version) {
      best_version = v;
      best = i;
    }
  }
  if (rc == REBATCH_OK && best >= 0) {
    *out = docs.items[best];
    memset(&docs.items[best], 0, sizeof docs.items[best]);
  }
  rb_docs_clear(&docs);
  return rc;
}

int rb_op_getProcessDefinitionByKey(rebatch_engine *e, const cJSON *request,
                                    rb_response *res) {
  const char *key = rb_str(request, "key");
  rb_doc doc;
  cJSON *dto;
  int rc = rb_definition_latest_by_key(e, key, &doc);
  if (rc != REBATCH_OK) return rc;
  if (!doc.json) {
    rb_doc_clear(&doc);
    return rb_not_found(res, "RestException", "No matching process definition with key: %s and no tenant-id", key ? key : "null");
  }
  dto = rb_definition_to_dto(e, doc.json);
  rb_doc_clear(&doc);
  return dto ? rb_ok(res, 200, dto) : REBATCH_NOMEM;
}
