/*
 * incident.c - failedJob and failedExternalTask incidents: created when
 * retries reach 0, resolved when they rise again, deleted with their
 * instance; every incident also lives on in history.
 */
#include "core.h"

#include <string.h>

#define INCIDENT "incident"
#define HISTORIC_INCIDENT "historicIncident"

static int save(rebatch_engine *e, const char *coll, rb_doc *doc) {
  rebatch_index_entry index[] = {
      {"configuration", rb_str(doc->json, "configuration")},
      {"processInstanceId", rb_str(doc->json, "processInstanceId")},
  };
  return rb_save(e, coll, doc, index, 2);
}

static cJSON *new_incident(rebatch_engine *e, const rb_incident_spec *s,
                           const char *id) {
  cJSON *r = cJSON_CreateObject();
  if (!r) return NULL;
  rb_put_str(r, "id", id);
  rb_put_str(r, "processDefinitionId", s->process_definition_id);
  rb_put_str(r, "processDefinitionKey", s->process_definition_key);
  rb_put_str(r, "processInstanceId", s->process_instance_id);
  rb_put_str(r, "executionId", s->execution_id);
  rb_put_str(r, "rootProcessInstanceId", s->process_instance_id);
  rb_put_num(r, "incidentTimestamp", rb_now(e));
  rb_put_str(r, "incidentType", s->type);
  rb_put_str(r, "activityId", s->activity_id);
  rb_put_str(r, "failedActivityId", s->failed_activity_id);
  rb_put_str(r, "causeIncidentId", id);
  rb_put_str(r, "rootCauseIncidentId", id);
  rb_put_str(r, "configuration", s->configuration);
  rb_put_str(r, "historyConfiguration", s->history_configuration);
  rb_put_str(r, "tenantId", s->tenant_id);
  rb_put_str(r, "incidentMessage", s->message);
  rb_put_str(r, "jobDefinitionId", s->job_definition_id);
  rb_put_null(r, "annotation");
  if (!rb_has(r, "annotation")) {
    cJSON_Delete(r);
    return NULL;
  }
  return r;
}

static int insert(rebatch_engine *e, const char *coll, const char *id, cJSON *json, int *rev) {
  rb_doc doc;
  int rc;
  if (!json) return REBATCH_NOMEM;
  if ((rc = rb_doc_init(&doc, id, json)) != REBATCH_OK) return rc;
  rc = save(e, coll, &doc);
  if (rev) *rev = doc.rev;
  rb_doc_clear(&doc);
  return rc;
}

/* The history is written first: the runtime incident keeps its revision
 * (historyRevision), so ending the incident can write the history's last
 * state from the runtime record without reading it back. */
int rb_incident_create(rebatch_engine *e, const rb_incident_spec *spec) {
  char id[REBATCH_ID_MAX + 1];
  cJSON *runtime, *history;
  int hist_rev = 0, rc = rb_new_id(e, id);
  if (rc != REBATCH_OK) return rc;
  if (!(runtime = new_incident(e, spec, id))) return REBATCH_NOMEM;
  history = cJSON_Duplicate(runtime, 1);
  if (history) {
    rb_take(history, "createTime", cJSON_DetachItemFromObjectCaseSensitive(history, "incidentTimestamp"));
    rb_put_null(history, "endTime");
    rb_put_null(history, "removalTime");
    rb_put_bool(history, "open", 1);
    rb_put_bool(history, "deleted", 0);
    rb_put_bool(history, "resolved", 0);
    rb_put_num(history, "incidentState", 0); /* Camunda's state: open 0, resolved 1, deleted 2 */
  }
  rc = insert(e, HISTORIC_INCIDENT, id, history, &hist_rev);
  if (rc == REBATCH_OK && !rb_put_num(runtime, "historyRevision", hist_rev)) rc = REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = insert(e, INCIDENT, id, runtime, NULL);
  else cJSON_Delete(runtime);
  return rc;
}

/* The five members ending an incident, written into the historic record's
 * text without parsing it; *done is 0 when that text cannot be patched
 * that way (end_history then parses it). */
static int end_history_text(rebatch_engine *e, const char *id, int resolved, int *done) {
  char *text, *patched = NULL, now[32], config[REBATCH_ID_MAX + 1], instance[REBATCH_ID_MAX + 1];
  int rev, rc = rb_load_text(e, HISTORIC_INCIDENT, id, &text, &rev), got = 0;
  rb_member end[5] = {{"endTime", now}, {"open", "false"},
                      {"resolved", resolved ? "true" : "false"}, {"deleted", resolved ? "false" : "true"},
                      {"incidentState", resolved ? "1" : "2"}};
  rb_text_field f[] = {{"configuration", NULL, 0}, {"processInstanceId", NULL, 0}};
  int c = -1, i = -1;
  *done = rc != REBATCH_OK || !text;
  if (*done) return rc;
  rb_format_number(rb_now(e), now);
  /* the patch leaves the indexed members as they were */
  if (rb_text_fields(text, f, 2) > 0) {
    c = rb_field_str(&f[0], config, sizeof config);
    i = rb_field_str(&f[1], instance, sizeof instance);
  }
  if (c >= 0 && i >= 0) got = rb_text_patch(text, end, 5, &patched);
  rb_free(text);
  if (got < 0) rc = REBATCH_NOMEM;
  if (got > 0) {
    rebatch_index_entry index[] = {{"configuration", c > 0 ? config : NULL},
                                   {"processInstanceId", i > 0 ? instance : NULL}};
    *done = 1;
    rc = rb_save_text(e, HISTORIC_INCIDENT, id, patched, &rev, index, 2);
  }
  *done = *done || rc != REBATCH_OK;
  rb_free(patched);
  return rc;
}

static int end_history(rebatch_engine *e, const char *id, int resolved) {
  rb_doc h;
  int done, rc = end_history_text(e, id, resolved, &done);
  if (done) return rc;
  rc = rb_load(e, HISTORIC_INCIDENT, id, &h);
  if (rc == REBATCH_OK && h.json) {
    if (!rb_set_num(h.json, "endTime", rb_now(e)) || !rb_set_bool(h.json, "open", 0) ||
        !rb_set_bool(h.json, "resolved", resolved) || !rb_set_bool(h.json, "deleted", !resolved) ||
        !rb_set_num(h.json, "incidentState", resolved ? 1 : 2))
      rc = REBATCH_NOMEM;
    if (rc == REBATCH_OK) rc = save(e, HISTORIC_INCIDENT, &h);
  }
  rb_doc_clear(&h);
  return rc;
}

static int end_incident(rebatch_engine *e, rb_doc *incident, int resolved) {
  int rc = end_history(e, incident->id, resolved);
  return rc == REBATCH_OK ? rb_delete(e, INCIDENT, incident) : rc;
}

typedef struct incident_end {
  const char *type;
  int resolved;
} incident_end;

/* What ending an incident reads from the runtime record's text. */
static const char *const end_keys[] = {"incidentType", "configuration", "processInstanceId",
                                       "incidentTimestamp", "historyRevision"};
enum { K_TYPE, K_CONFIGURATION, K_INSTANCE, K_TIMESTAMP, K_REVISION, END_KEYS };

/* Where a member found by rb_text_fields starts and ends in compact text,
 * with the comma that joins it to its neighbour: 0 when the text is not
 * laid out that way. */
static int member_span(const char *text, const rb_text_field *f, size_t *from, size_t *to) {
  size_t key = strlen(f->key), at, end;
  if (!f->value || (size_t)(f->value - text) < key + 4) return 0;
  at = (size_t)(f->value - text) - key - 3;
  end = (size_t)(f->value - text) + f->len;
  if (text[at] != '"' || memcmp(text + at + 1, f->key, key) != 0 || text[at + key + 1] != '"' ||
      text[at + key + 2] != ':')
    return 0;
  if (text[at - 1] == ',') at--;
  else if (text[at - 1] == '{' && text[end] == ',') end++;
  else return 0;
  *from = at;
  *to = end;
  return 1;
}

static int put(char *to, const char *from, size_t n) {
  memcpy(to, from, n);
  return (int)n;
}

/* The ended history written from the runtime record's text: the history
 * holds the runtime's members (rb_incident_create duplicated them) without
 * incidentTimestamp and historyRevision, then createTime and the state
 * members, so the text is the runtime's with those two cut out and the
 * rest appended. It goes into the engine's save buffer and is saved with
 * the revision the history was written with. *done is 0 when the text is
 * not laid out that way: end_history reads the history then. */
static int end_history_from(rebatch_engine *e, const char *id, const char *json,
                            const rb_text_field *f, int resolved, int *done) {
  char now[32], config[REBATCH_ID_MAX + 1], instance[REBATCH_ID_MAX + 1], tail[160];
  size_t cut[2][2], len = strlen(json), need, n = 0, from = 0;
  double rev;
  int c = rb_field_str(&f[K_CONFIGURATION], config, sizeof config);
  int i = rb_field_str(&f[K_INSTANCE], instance, sizeof instance), hist_rev, rc, tail_len;
  *done = 0;
  if (c < 0 || i < 0 || rb_field_num(&f[K_REVISION], &rev) <= 0 || rev < 1 || rev > 2147483647 ||
      rev != (int)rev || !f[K_TIMESTAMP].value || f[K_TIMESTAMP].len > 40 ||
      !member_span(json, &f[K_TIMESTAMP], &cut[0][0], &cut[0][1]) ||
      !member_span(json, &f[K_REVISION], &cut[1][0], &cut[1][1]) || json[len - 1] != '}')
    return REBATCH_OK;
  if (cut[0][0] > cut[1][0]) { /* in text order */
    size_t t0 = cut[0][0], t1 = cut[0][1];
    cut[0][0] = cut[1][0], cut[0][1] = cut[1][1], cut[1][0] = t0, cut[1][1] = t1;
  }
  if (cut[0][1] > cut[1][0]) return REBATCH_OK;
  hist_rev = (int)rev;
  rb_format_number(rb_now(e), now);
  tail_len = 0; /* pieces of known length: no printf per incident */
  tail_len += put(tail + tail_len, "\"createTime\":", 13);
  tail_len += put(tail + tail_len, f[K_TIMESTAMP].value, f[K_TIMESTAMP].len);
  tail_len += put(tail + tail_len, ",\"endTime\":", 11);
  tail_len += put(tail + tail_len, now, strlen(now));
  tail_len += put(tail + tail_len, ",\"removalTime\":null,\"open\":false,\"deleted\":", 43);
  tail_len += resolved ? put(tail + tail_len, "false,\"resolved\":true,\"incidentState\":1}", 40)
                       : put(tail + tail_len, "true,\"resolved\":false,\"incidentState\":2}", 40);
  tail[tail_len] = '\0';
  need = len + (size_t)tail_len + 2;
  if (e->save_text_cap < need) {
    char *grown = rb_realloc(e->save_text, need);
    if (!grown) return REBATCH_NOMEM;
    e->save_text = grown;
    e->save_text_cap = need;
  }
  for (int k = 0; k < 2; k++) {
    memcpy(e->save_text + n, json + from, cut[k][0] - from);
    n += cut[k][0] - from;
    from = cut[k][1];
  }
  memcpy(e->save_text + n, json + from, len - 1 - from); /* without the closing brace */
  n += len - 1 - from;
  if (e->save_text[n - 1] != '{') e->save_text[n++] = ',';
  memcpy(e->save_text + n, tail, (size_t)tail_len + 1);
  {
    rebatch_index_entry index[] = {{"configuration", c > 0 ? config : NULL},
                                   {"processInstanceId", i > 0 ? instance : NULL}};
    rc = rb_save_text(e, HISTORIC_INCIDENT, id, e->save_text, &hist_rev, index, 2);
  }
  /* a conflict: the history was deleted (or changed) meanwhile */
  *done = rc != REBATCH_CONFLICT;
  return *done ? rc : REBATCH_OK;
}

/* Ending needs the incident's id, revision and type; the history's ended
 * state is written from the row's text when it is laid out as this engine
 * writes it, else the row is parsed for its type and the history read. */
static int end_row(rebatch_engine *e, const char *id, const char *json, int rev, void *ctx) {
  const incident_end *end = ctx;
  rb_text_field f[END_KEYS];
  char type[64];
  int got = -1, rc, done = 0, walked = 0;
  rb_doc doc = {(char *)id, NULL, rev};
  for (int k = 0; k < END_KEYS; k++) f[k].key = end_keys[k];
  if (rb_text_fields(json, f, END_KEYS) > 0) {
    walked = 1;
    got = rb_field_str(&f[K_TYPE], type, sizeof type);
  }
  if (got < 0) {
    cJSON *parsed;
    int parsed_rc = rb_parse_record(e, json, &parsed);
    if (parsed_rc != REBATCH_OK) return parsed_rc;
    got = rb_str(parsed, "incidentType") && strlen(rb_str(parsed, "incidentType")) < sizeof type;
    if (got) strcpy(type, rb_str(parsed, "incidentType"));
    cJSON_Delete(parsed);
    walked = 0;
  }
  if (!got || strcmp(type, end->type) != 0) return REBATCH_OK;
  rc = walked ? end_history_from(e, id, json, f, end->resolved, &done) : REBATCH_OK;
  if (rc == REBATCH_OK && !done) rc = end_history(e, id, end->resolved);
  return rc == REBATCH_OK ? rb_delete(e, INCIDENT, &doc) : rc;
}

int rb_incident_end(rebatch_engine *e, const char *type,
                    const char *configuration, int resolved) {
  incident_end end = {type, resolved};
  return rb_find_all_rows(e, INCIDENT, "configuration", configuration, end_row, &end);
}

/* Open incidents and their history follow a migrated instance. */
int rb_incidents_migrate(rebatch_engine *e, const char *instance_id, const cJSON *target, const cJSON *mapping) {
  static const char *const colls[] = {INCIDENT, HISTORIC_INCIDENT};
  int rc = REBATCH_OK;
  for (int c = 0; rc == REBATCH_OK && c < 2; c++) {
    rb_docs docs = {0};
    rc = rb_find_all(e, colls[c], "processInstanceId", instance_id, &docs);
    for (int i = 0; rc == REBATCH_OK && i < docs.count; i++) {
      cJSON *r = docs.items[i].json;
      const char *to = rb_str(mapping, rb_str(r, "activityId"));
      const char *failed = rb_str(mapping, rb_str(r, "failedActivityId"));
      if (!to || (c == 1 && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "open")))) continue;
      if (!rb_set_str(r, "processDefinitionId", rb_str(target, "id")) || !rb_set_str(r, "activityId", to) ||
          (failed && !rb_set_str(r, "failedActivityId", failed)) ||
          (rb_has(r, "processDefinitionKey") && !rb_set_str(r, "processDefinitionKey", rb_str(target, "key"))))
        rc = REBATCH_NOMEM;
      if (rc == REBATCH_OK) rc = save(e, colls[c], &docs.items[i]);
    }
    rb_docs_clear(&docs);
  }
  return rc;
}

int rb_incidents_delete_for_instance(rebatch_engine *e, const char *instance_id) {
  return rb_incidents_delete_for_execution(e, instance_id, NULL);
}

int rb_incidents_delete_for_execution(rebatch_engine *e, const char *instance_id,
                                      const char *execution_id) {
  rb_docs docs = {0};
  int rc = rb_find_all(e, INCIDENT, "processInstanceId", instance_id, &docs);
  for (int i = 0; rc == REBATCH_OK && i < docs.count; i++)
    if (!execution_id || rb_str_eq(rb_str(docs.items[i].json, "executionId"), execution_id))
      rc = end_incident(e, &docs.items[i], 0);
  rb_docs_clear(&docs);
  return rc;
}

/* Does a field of any incident of the instance match? field NULL: any
 * incident at all. Used by the process instance query filters. */
static int matches(rebatch_engine *e, const char *coll, const char *instance_id,
                   const char *field, const cJSON *arg, int like) {
  rb_docs docs = {0};
  int found = 0;
  if (rb_find_all(e, coll, "processInstanceId", instance_id, &docs) == REBATCH_OK) {
    for (int i = 0; !found && i < docs.count; i++) {
      const cJSON *r = docs.items[i].json;
      const char *value;
      if (!field) {
        found = 1;
        continue;
      }
      if (strcmp(field, "incidentStatus") == 0) {
        int open = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "open"));
        value = open ? "open" : "resolved";
      } else {
        value = rb_str(r, field);
      }
      if (cJSON_IsArray(arg)) found = rb_list_contains(arg, value);
      else if (value && cJSON_IsString(arg))
        found = like ? rb_like(value, arg->valuestring) : strcmp(value, arg->valuestring) == 0;
    }
  }
  rb_docs_clear(&docs);
  return found;
}

int rb_incident_matches_instance(rebatch_engine *e, const char *instance_id,
                                 const char *field, const cJSON *arg, int like) {
  return matches(e, INCIDENT, instance_id, field, arg, like);
}

int rb_history_incident_matches(rebatch_engine *e, const char *instance_id,
                                const char *field, const cJSON *arg, int like) {
  return matches(e, HISTORIC_INCIDENT, instance_id, field, arg, like);
}

/* ---- queries ------------------------------------------------------------ */

static cJSON *incident_to_dto(rebatch_engine *e, const cJSON *r) {
  static const char *const fields[] = {
      "id", "processDefinitionId", "processInstanceId", "executionId",
      "incidentTimestamp", "incidentType", "activityId", "failedActivityId",
      "causeIncidentId", "rootCauseIncidentId", "configuration",
      "incidentMessage", "tenantId", "jobDefinitionId", "annotation", NULL};
  (void)e;
  return rb_dto(r, fields);
}

static cJSON *historic_incident_to_dto(rebatch_engine *e, const cJSON *r) {
  static const char *const fields[] = {
      "id", "processDefinitionKey", "processDefinitionId", "processInstanceId",
      "executionId", "rootProcessInstanceId", "createTime", "endTime",
      "removalTime", "incidentType", "activityId", "failedActivityId",
      "causeIncidentId", "rootCauseIncidentId", "configuration",
      "historyConfiguration", "incidentMessage", "tenantId", "jobDefinitionId",
      "open", "deleted", "resolved", "annotation", NULL};
  (void)e;
  return rb_dto(r, fields);
}

static int flag_set(const cJSON *r, const char *key) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, key));
}
static int is_open(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return flag_set(r, "open");
}
static int is_resolved(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return flag_set(r, "resolved");
}
static int is_deleted(rebatch_engine *e, const cJSON *r, const cJSON *a) {
  (void)e; (void)a;
  return flag_set(r, "deleted");
}

#define COMMON_INCIDENT_FILTERS                                             \
  {"incidentId", RB_F_EQ, "id", NULL, 0},                                   \
  {"incidentType", RB_F_EQ, "incidentType", NULL, 0},                       \
  {"incidentMessage", RB_F_EQ, "incidentMessage", NULL, 0},                 \
  {"incidentMessageLike", RB_F_LIKE, "incidentMessage", NULL, 0},           \
  {"processDefinitionId", RB_F_EQ, "processDefinitionId", NULL, 0},         \
  {"processDefinitionKeyIn", RB_F_IN, "processDefinitionKey", NULL, 0},     \
  {"processInstanceId", RB_F_EQ, "processInstanceId", NULL, 1},             \
  {"executionId", RB_F_EQ, "executionId", NULL, 0},                         \
  {"activityId", RB_F_EQ, "activityId", NULL, 0},                           \
  {"failedActivityId", RB_F_EQ, "failedActivityId", NULL, 0},               \
  {"causeIncidentId", RB_F_EQ, "causeIncidentId", NULL, 0},                 \
  {"rootCauseIncidentId", RB_F_EQ, "rootCauseIncidentId", NULL, 0},         \
  {"configuration", RB_F_EQ, "configuration", NULL, 1},                     \
  {"tenantIdIn", RB_F_IN, "tenantId", NULL, 0},                             \
  {"jobDefinitionIdIn", RB_F_IN, "jobDefinitionId", NULL, 0}

static const rb_filter incident_filters[] = {
    COMMON_INCIDENT_FILTERS,
    {"incidentTimestampBefore", RB_F_DATE_BEFORE, "incidentTimestamp", NULL, 0},
    {"incidentTimestampAfter", RB_F_DATE_AFTER, "incidentTimestamp", NULL, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_filter historic_incident_filters[] = {
    COMMON_INCIDENT_FILTERS,
    {"processDefinitionKey", RB_F_EQ, "processDefinitionKey", NULL, 0},
    {"open", RB_F_FLAG, NULL, is_open, 0},
    {"resolved", RB_F_FLAG, NULL, is_resolved, 0},
    {"deleted", RB_F_FLAG, NULL, is_deleted, 0},
    {"createTimeBefore", RB_F_DATE_BEFORE, "createTime", NULL, 0},
    {"createTimeAfter", RB_F_DATE_AFTER, "createTime", NULL, 0},
    {"endTimeBefore", RB_F_DATE_BEFORE, "endTime", NULL, 0},
    {"endTimeAfter", RB_F_DATE_AFTER, "endTime", NULL, 0},
    {"historyConfiguration", RB_F_EQ, "historyConfiguration", NULL, 0},
    {"withoutTenantId", RB_F_FLAG, NULL, rb_pred_without_tenant, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key incident_sorts[] = {
    {"incidentId", "id"}, {"incidentMessage", "incidentMessage"},
    {"incidentTimestamp", "incidentTimestamp"}, {"createTime", "createTime"},
    {"endTime", "endTime"}, {"incidentType", "incidentType"},
    {"executionId", "executionId"}, {"activityId", "activityId"},
    {"processInstanceId", "processInstanceId"}, {"processDefinitionId", "processDefinitionId"},
    {"causeIncidentId", "causeIncidentId"}, {"rootCauseIncidentId", "rootCauseIncidentId"},
    {"configuration", "configuration"}, {"tenantId", "tenantId"}, {NULL, NULL}};

/* incidentState orders open (0), then resolved (1), then deleted (2). */
static const rb_sort_key historic_incident_sorts[] = {
    {"incidentId", "id"}, {"incidentMessage", "incidentMessage"},
    {"createTime", "createTime"}, {"endTime", "endTime"}, {"incidentType", "incidentType"},
    {"executionId", "executionId"}, {"activityId", "activityId"},
    {"processInstanceId", "processInstanceId"}, {"processDefinitionId", "processDefinitionId"},
    {"processDefinitionKey", "processDefinitionKey"}, {"causeIncidentId", "causeIncidentId"},
    {"rootCauseIncidentId", "rootCauseIncidentId"}, {"configuration", "configuration"},
    {"historyConfiguration", "historyConfiguration"}, {"tenantId", "tenantId"},
    {"incidentState", "incidentState"}, {NULL, NULL}};

static const rb_query incident_query = {INCIDENT, incident_filters, incident_sorts,
                                        incident_to_dto};
static const rb_query historic_incident_query = {HISTORIC_INCIDENT, historic_incident_filters,
                                                 historic_incident_sorts, historic_incident_to_dto};

int rb_op_getIncidents(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_list(e, &incident_query, request, res);
}

int rb_op_getIncidentsCount(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_count(e, &incident_query, request, res);
}

int rb_op_getHistoricIncidents(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_list(e, &historic_incident_query, request, res);
}

int rb_op_getHistoricIncidentsCount(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_count(e, &historic_incident_query, request, res);
}
