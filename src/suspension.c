/*
 * suspension.c - suspending and activating process definitions and the
 * process instances of one (PUT /process-definition/{id}/suspended,
 * PUT /process-definition/suspended, PUT /process-instance/{id}/suspended,
 * PUT /process-instance/suspended by definition), now or, with an
 * executionDate, by a timer job at that date, as AbstractSetStateCmd.
 */
#include "core.h"

#include <string.h>

#define DEFINITION "processDefinition"
#define JOB_DEFINITION "jobDefinition"
#define INSTANCE "processInstance"
#define JOB "job"

/* Which definitions a request names: an id, or a key with an optional
 * tenant condition (tenant set: `tenant` or, when NULL, no tenant). */
typedef struct definition_selector {
  const char *id;
  const char *key;
  int tenant_set;
  const char *tenant;
} definition_selector;

static int selected(const definition_selector *s, const cJSON *def) {
  const char *tenant = rb_str(def, "tenantId");
  if (!s->tenant_set) return 1;
  if (!s->tenant) return tenant == NULL;
  return tenant && strcmp(tenant, s->tenant) == 0;
}

static int definitions_of(rebatch_engine *e, const definition_selector *s, rb_docs *out) {
  rb_doc def;
  int rc;
  if (s->key) return rb_find_all(e, DEFINITION, "key", s->key, out);
  if ((rc = rb_definition_load(e, s->id, &def)) == REBATCH_OK && def.json) rc = rb_docs_push(out, &def);
  rb_doc_clear(&def); /* not moved: absent, or the push failed */
  return rc;
}

static int instances_set_suspended(rebatch_engine *e, const char *definition_id, int suspended) {
  rb_docs docs = {0};
  int rc = rb_find_all(e, INSTANCE, "processDefinitionId", definition_id, &docs), found;
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++)
    rc = rb_instance_set_suspended(e, docs.items[i].id, suspended, &found);
  rb_docs_clear(&docs);
  return rc;
}

/* A definition's job definitions follow it; their jobs only with its
 * instances (upstream's includeJobs is includeProcessInstances). */
static int job_definitions_set_suspended(rebatch_engine *e, const char *definition_id, int suspended, int jobs) {
  rb_docs defs = {0}, found = {0};
  int rc = rb_find_all(e, JOB_DEFINITION, "processDefinitionId", definition_id, &defs);
  for (int i = 0; rc == REBATCH_OK && i < defs.count; i++) {
    rc = rb_set_bool(defs.items[i].json, "suspended", suspended) ? rb_job_definition_save(e, &defs.items[i]) : REBATCH_NOMEM;
    if (rc == REBATCH_OK && jobs) rc = rb_find_all(e, JOB, "jobDefinitionId", defs.items[i].id, &found);
    for (int j = 0; rc == REBATCH_OK && j < found.count; j++)
      rc = rb_set_bool(found.items[j].json, "suspended", suspended) ? rb_job_save(e, &found.items[j]) : REBATCH_NOMEM;
    rb_docs_clear(&found);
  }
  rb_docs_clear(&defs);
  return rc;
}

static int definitions_set_suspended(rebatch_engine *e, const definition_selector *s, int suspended,
                                     int include_instances) {
  rb_docs docs = {0};
  int rc = definitions_of(e, s, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) {
    if (!selected(s, docs.items[i].json)) continue;
    rc = rb_set_bool(docs.items[i].json, "suspended", suspended) ? rb_definition_save(e, &docs.items[i]) : REBATCH_NOMEM;
    if (rc == REBATCH_OK) rc = job_definitions_set_suspended(e, docs.items[i].id, suspended, include_instances);
    if (rc == REBATCH_OK && include_instances) rc = instances_set_suspended(e, docs.items[i].id, suspended);
  }
  rb_docs_clear(&docs);
  return rc;
}

int rb_instances_of_definitions_set_suspended(rebatch_engine *e, const cJSON *body, rb_response *res) {
  definition_selector s = {rb_str(body, "processDefinitionId"), rb_str(body, "processDefinitionKey"), 0, NULL};
  rb_docs docs = {0};
  int suspended = rb_flag(body, "suspended"), rc;
  if (!s.id) {
    s.tenant = rb_str(body, "processDefinitionTenantId");
    s.tenant_set = s.tenant || rb_flag(body, "processDefinitionWithoutTenantId");
  }
  rc = definitions_of(e, &s, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++)
    if (selected(&s, docs.items[i].json)) rc = instances_set_suspended(e, docs.items[i].id, suspended);
  rb_docs_clear(&docs);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* PUT /process-instance/{id}/suspended: an unknown id changes nothing, as
 * upstream's update by id (204). */
int rb_op_setProcessInstanceSuspended(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  int found, rc = rb_instance_set_suspended(e, rb_str(request, "id"), rb_flag(body, "suspended"), &found);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* ---- process definitions ---------------------------------------------------- */

/* A change at a later date is a timer job whose configuration is the
 * request's selection (upstream's Timer{Suspend,Activate}{ProcessDefinition,
 * JobDefinition}Handler); the types name what it changes. */
static const char *const state_jobs[] = {"suspend-processdefinition", "activate-processdefinition",
                                         "suspend-job-definition", "activate-job-definition", NULL};
static const char *const state_job_members[] = {
    "processDefinitionId", "processDefinitionKey", "processDefinitionTenantId", "processDefinitionWithoutTenantId",
    "jobDefinitionId", "includeProcessInstances", "includeJobs", NULL};

int rb_definition_state_job(const char *job_type) {
  for (int i = 0; job_type && state_jobs[i]; i++)
    if (strcmp(job_type, state_jobs[i]) == 0) return 1;
  return 0;
}

int rb_state_job_schedule(rebatch_engine *e, const char *job_type, const cJSON *selection, double due) {
  cJSON *config = cJSON_CreateObject();
  rb_job_spec spec;
  char *text = NULL;
  int rc;
  for (int i = 0; config && state_job_members[i]; i++) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(selection, state_job_members[i]);
    if (m && !cJSON_IsNull(m) && !rb_set(config, state_job_members[i], cJSON_Duplicate(m, 1))) {
      cJSON_Delete(config);
      config = NULL;
    }
  }
  if (!config || !(text = rb_print(config))) {
    cJSON_Delete(config);
    return REBATCH_NOMEM;
  }
  cJSON_Delete(config);
  memset(&spec, 0, sizeof spec);
  spec.job_type = job_type;
  spec.configuration = text;
  spec.due_date = due;
  spec.retries = e->config.default_retries;
  rc = rb_job_create(e, &spec, NULL);
  rb_free(text);
  return rc;
}

static void selector_of(const cJSON *selection, definition_selector *s) {
  s->id = rb_str(selection, "processDefinitionId");
  s->key = s->id ? NULL : rb_str(selection, "processDefinitionKey");
  s->tenant = rb_str(selection, "processDefinitionTenantId");
  s->tenant_set = s->key && (s->tenant || rb_flag(selection, "processDefinitionWithoutTenantId"));
}

int rb_definition_state_job_run(rebatch_engine *e, const char *job_type, const char *configuration,
                                rb_response *res) {
  cJSON *config = NULL;
  int suspend = strncmp(job_type, "suspend-", 8) == 0, rc;
  definition_selector s;
  if (configuration && (rc = rb_parse_request(configuration, &config)) == REBATCH_NOMEM) return rc;
  if (!config) return rb_error(res, 500, "ProcessEngineException", 0, "Job configuration '%s' is not valid", configuration ? configuration : "null");
  if (strstr(job_type, "job-definition")) {
    rc = rb_job_definitions_set_suspended(e, config, suspend, rb_flag(config, "includeJobs"));
  } else {
    selector_of(config, &s);
    rc = definitions_set_suspended(e, &s, suspend, rb_flag(config, "includeProcessInstances"));
  }
  cJSON_Delete(config);
  return rc;
}

/* ProcessDefinitionSuspensionStateDto: an id (path or body) or a key, an
 * optional executionDate ("" is none). */
static int set_definitions(rebatch_engine *e, const cJSON *body, const char *path_id, rb_response *res) {
  const cJSON *date = cJSON_GetObjectItemCaseSensitive(body, "executionDate");
  definition_selector s = {path_id ? path_id : rb_str(body, "processDefinitionId"), rb_str(body, "processDefinitionKey"), 0, NULL};
  int suspended = rb_flag(body, "suspended"), include = rb_flag(body, "includeProcessInstances"), rc;
  double due = RB_NO_DATE;
  if (s.id && s.key)
    return rb_invalid(res, 400, "Only one of processDefinitionId or processDefinitionKey should be set to update the suspension state.");
  /* Joda's message, in each resource's wrapping. */
  if (cJSON_IsString(date) && date->valuestring[0] && rb_parse_date(date, &due) < 0) {
    if (path_id)
      return rb_invalid(res, 400, "The suspension state of Process Definition with id %s could not be updated due to: Invalid format: \"%s\"",
                        path_id, date->valuestring);
    return rb_invalid(res, 400, "Could not update the suspension state of Process Definitions due to: Invalid format: \"%s\"",
                      date->valuestring);
  }
  if (!s.id && !s.key)
    return rb_invalid(res, 400, "Either processDefinitionId or processDefinitionKey should be set to update the suspension state.");
  if (s.key) {
    s.tenant = rb_str(body, "processDefinitionTenantId");
    s.tenant_set = s.tenant || rb_flag(body, "processDefinitionWithoutTenantId");
  }
  if (due == RB_NO_DATE) rc = definitions_set_suspended(e, &s, suspended, include);
  else if (!path_id) rc = rb_state_job_schedule(e, state_jobs[suspended ? 0 : 1], body, due);
  else {
    cJSON *selection = cJSON_Duplicate(body, 1);
    rc = selection && rb_set_str(selection, "processDefinitionId", path_id) ? rb_state_job_schedule(e, state_jobs[suspended ? 0 : 1], selection, due)
                                                                            : REBATCH_NOMEM;
    cJSON_Delete(selection);
  }
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

int rb_op_setProcessDefinitionSuspended(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "Request body is null: suspended is required");
  return set_definitions(e, body, rb_str(request, "id"), res);
}

int rb_op_setProcessDefinitionsSuspended(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "Request body is null: suspended is required");
  if (rb_str(body, "processDefinitionId"))
    return rb_invalid(res, 400, "Only processDefinitionKey can be set to update the suspension state.");
  return set_definitions(e, body, NULL, res);
}
