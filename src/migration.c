/*
 * migration.c - migration plans between two process definitions
 * (POST /migration/generate, /migration/validate) and moving one running
 * instance by a plan, as CreateMigrationPlanCmd and
 * MigrateProcessInstanceCmd; src/batch/migration.c runs plans over many
 * instances (/migration/execute, /migration/executeAsync).
 *
 * A plan in its kept form: {sourceProcessDefinitionId,
 * targetProcessDefinitionId, instructions: [{source, target,
 * updateEventTrigger}], variables (parsed, or absent)}.
 */
#include "core.h"

#include <stdio.h>
#include <string.h>

#define INSTANCE "processInstance"
#define HISTORIC_INSTANCE "historicProcessInstance"
#define HISTORIC_ACTIVITY "historicActivityInstance"

static int is(const char *a, const char *b) { return rb_str_eq(a, b); }

/* ---- activities --------------------------------------------------------- */

/* Upstream's ActivityBehavior class, which its validators compare and
 * name in their messages. */
static const char *behavior(const cJSON *a) {
  static const char *const names[][2] = {
      {"userTask", "UserTaskActivityBehavior"}, {"receiveTask", "ReceiveTaskActivityBehavior"},
      {"intermediateCatchEvent", "IntermediateCatchEventActivityBehavior"},
      {"parallelGateway", "ParallelGatewayActivityBehavior"}, {"exclusiveGateway", "ExclusiveGatewayActivityBehavior"},
      {"boundaryEvent", "BoundaryEventActivityBehavior"}, {"endEvent", "NoneEndEventActivityBehavior"},
      {"intermediateThrowEvent", "IntermediateThrowNoneEventActivityBehavior"},
      {"scriptTask", "ScriptTaskActivityBehavior"}, {"task", "TaskActivityBehavior"},
      {"manualTask", "TaskActivityBehavior"}};
  const char *type = rb_str(a, "type");
  if (is(type, "serviceTask") || is(type, "sendTask") || is(type, "businessRuleTask"))
    return rb_str(a, "topic") ? "ExternalTaskActivityBehavior" : "ClassDelegateActivityBehavior";
  if (is(type, "startEvent"))
    return rb_str(a, "messageName") ? "EventSubProcessStartEventActivityBehavior" : "NoneStartEventActivityBehavior";
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (is(type, names[i][0])) return names[i][1];
  return type;
}

/* SupportedActivityValidator: activities that can hold an instance, or
 * any asynchronous one. */
static int supported(const cJSON *a) {
  const char *b = behavior(a);
  if (rb_flag(a, "asyncBefore") || rb_flag(a, "asyncAfter")) return 1;
  return is(b, "UserTaskActivityBehavior") || is(b, "ReceiveTaskActivityBehavior") ||
         is(b, "IntermediateCatchEventActivityBehavior") || is(b, "ParallelGatewayActivityBehavior") ||
         is(b, "BoundaryEventActivityBehavior") || is(b, "ExternalTaskActivityBehavior");
}

static int is_event(const cJSON *a) {
  const char *type = rb_str(a, "type");
  return is(type, "intermediateCatchEvent") || is(type, "boundaryEvent") || is(type, "startEvent");
}

/* UpdateEventTriggersValidator.definesPersistentEventTrigger: a timer or
 * message subscription declared for the activity itself (catch events,
 * receive tasks with a message). */
static int persistent_trigger(const cJSON *a) {
  return is(rb_str(a, "type"), "intermediateCatchEvent") ||
         (is(rb_str(a, "type"), "receiveTask") && rb_str(a, "messageName"));
}

/* ---- instructions and their reports ----------------------------------------- */

static cJSON *instruction(const char *source, const char *target, int update) {
  cJSON *i = cJSON_CreateObject();
  if (!i || !rb_put_str(i, "source", source) || !rb_put_str(i, "target", target) ||
      !rb_put_bool(i, "updateEventTrigger", update)) {
    cJSON_Delete(i);
    return NULL;
  }
  return i;
}

static cJSON *one_id(const char *id) {
  cJSON *list = cJSON_CreateArray();
  if (list && !cJSON_AddItemToArray(list, id ? cJSON_CreateString(id) : cJSON_CreateNull())) {
    cJSON_Delete(list);
    return NULL;
  }
  return list;
}

/* MigrationInstructionDto. */
static cJSON *instruction_dto(const cJSON *ins) {
  cJSON *d = cJSON_CreateObject();
  if (!d || !rb_take(d, "sourceActivityIds", one_id(rb_str(ins, "source"))) ||
      !rb_take(d, "targetActivityIds", one_id(rb_str(ins, "target"))) ||
      !rb_put_bool(d, "updateEventTrigger", rb_flag(ins, "updateEventTrigger"))) {
    cJSON_Delete(d);
    return NULL;
  }
  return d;
}

static int fail(cJSON *failures, const char *fmt, const char *a, const char *b) {
  char msg[512];
  snprintf(msg, sizeof msg, fmt, a, b);
  return cJSON_AddItemToArray(failures, cJSON_CreateString(msg)) ? REBATCH_OK : REBATCH_NOMEM;
}

static int count_source(const cJSON *instructions, const char *source) {
  const cJSON *ins;
  int n = 0;
  cJSON_ArrayForEach(ins, instructions) n += is(rb_str(ins, "source"), source);
  return n;
}

/* ValidatingMigrationInstructionImpl.toString, as the multiple-mappings
 * failure lists the instructions. */
static void describe(const cJSON *ins, char *buf, size_t cap) {
  snprintf(buf, cap, "ValidatingMigrationInstructionImpl{sourceActivity=Activity(%s), targetActivity=Activity(%s)}",
           rb_str(ins, "source"), rb_str(ins, "target"));
}

static int fail_multiple(cJSON *failures, const cJSON *instructions, const char *source) {
  char text[2048], one[300];
  const cJSON *ins;
  int first = 1;
  snprintf(text, sizeof text, "There are multiple mappings for source activity id '%s': ", source);
  cJSON_ArrayForEach(ins, instructions) {
    size_t len = strlen(text);
    if (!is(rb_str(ins, "source"), source)) continue;
    describe(ins, one, sizeof one);
    snprintf(text + len, sizeof text - len, "%s%s", first ? "" : ", ", one);
    first = 0;
  }
  return fail(failures, "%s%s", text, "");
}

/* The failures of one instruction, in the order of upstream's validators. */
static int check_instruction(const cJSON *plan, const cJSON *source_def, const cJSON *target_def, const cJSON *ins,
                             cJSON *failures) {
  const char *s = rb_str(ins, "source"), *t = rb_str(ins, "target");
  const cJSON *sa = rb_model_activity(source_def, s), *ta = rb_model_activity(target_def, t);
  int rc = REBATCH_OK;
  if (!s) rc = fail(failures, "Source activity id is null%s%s", "", "");
  if (rc == REBATCH_OK && !t) rc = fail(failures, "Target activity id is null%s%s", "", "");
  if (!s || !t) return rc;
  if (!sa) rc = fail(failures, "Source activity '%s' does not exist%s", s, "");
  if (rc == REBATCH_OK && !ta) rc = fail(failures, "Target activity '%s' does not exist%s", t, "");
  if (!sa || !ta || rc != REBATCH_OK) return rc;
  if (!supported(sa)) rc = fail(failures, "The source activity is not supported%s%s", "", "");
  if (rc == REBATCH_OK && !supported(ta)) rc = fail(failures, "The target activity is not supported%s%s", "", "");
  if (rc == REBATCH_OK && !is(behavior(sa), behavior(ta)))
    rc = fail(failures, "Activities have incompatible types (%s is not compatible with %s)", behavior(sa), behavior(ta));
  if (rc == REBATCH_OK && is_event(sa) && is_event(ta) && !is(rb_activity_type(sa), rb_activity_type(ta)))
    rc = fail(failures, "Events are not of the same type (%s != %s)", rb_activity_type(sa), rb_activity_type(ta));
  if (rc == REBATCH_OK && count_source(cJSON_GetObjectItemCaseSensitive(plan, "instructions"), s) > 1)
    rc = fail_multiple(failures, cJSON_GetObjectItemCaseSensitive(plan, "instructions"), s);
  if (rc == REBATCH_OK && rb_flag(ins, "updateEventTrigger") && !persistent_trigger(sa))
    rc = fail(failures, "Cannot update event trigger because the activity does not define a persistent event trigger%s%s", "", "");
  return rc;
}

/* VariableUtil.isJavaSerializationProhibited, with Camunda's default
 * javaSerializationFormatEnabled false: a serialized Object value in the
 * Java format. */
static int java_serialized(const cJSON *var) {
  const cJSON *info = cJSON_GetObjectItemCaseSensitive(var, "valueInfo");
  return is(rb_str(var, "type"), "Object") &&
         is(rb_str(info, "serializationDataFormat"), "application/x-java-serialized-object");
}

/* CreateMigrationPlanCmd.validateVariables: a MigrationVariableValidationReportDto
 * (the value as a VariableValueDto, and failures) for each plan variable
 * Java serialization is prohibited for, in the plan's order. */
static int variable_reports(const cJSON *plan, cJSON *reports) {
  const cJSON *var;
  cJSON_ArrayForEach(var, cJSON_GetObjectItemCaseSensitive(plan, "variables")) {
    char msg[512];
    cJSON *entry, *failures;
    if (!java_serialized(var)) continue;
    snprintf(msg, sizeof msg, "Cannot set variable with name %s. Java serialization format is prohibited", var->string);
    entry = rb_value_to_dto(var, 0);
    if (!entry || !(failures = cJSON_AddArrayToObject(entry, "failures")) ||
        !cJSON_AddItemToArray(failures, cJSON_CreateString(msg))) {
      cJSON_Delete(entry);
      return REBATCH_NOMEM;
    }
    if (!rb_take(reports, var->string, entry)) return REBATCH_NOMEM;
  }
  return REBATCH_OK;
}

static int has_reports(const cJSON *report) {
  return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "instructionReports")) > 0 ||
         cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "variableReports")) > 0;
}

/* MigrationPlanReportDto: instructionReports for the instructions that
 * fail, variableReports for the variables that do. */
static int plan_report(const cJSON *plan, const cJSON *source_def, const cJSON *target_def, cJSON **out) {
  cJSON *report = cJSON_CreateObject(), *reports = report ? cJSON_AddArrayToObject(report, "instructionReports") : NULL;
  cJSON *vars = reports ? cJSON_AddObjectToObject(report, "variableReports") : NULL;
  const cJSON *ins;
  int rc = vars ? variable_reports(plan, vars) : REBATCH_NOMEM;
  cJSON_ArrayForEach(ins, cJSON_GetObjectItemCaseSensitive(plan, "instructions")) {
    cJSON *entry = cJSON_CreateObject(), *failures = cJSON_CreateArray();
    if (rc == REBATCH_OK && (!entry || !failures)) rc = REBATCH_NOMEM;
    if (rc == REBATCH_OK) rc = check_instruction(plan, source_def, target_def, ins, failures);
    if (rc == REBATCH_OK && cJSON_GetArraySize(failures) > 0) {
      if (!rb_take(entry, "instruction", instruction_dto(ins)) || !cJSON_AddItemToObject(entry, "failures", failures)) {
        rc = REBATCH_NOMEM;
      } else {
        failures = NULL;
        if (cJSON_AddItemToArray(reports, entry)) continue;
        rc = REBATCH_NOMEM;
      }
    }
    cJSON_Delete(failures);
    cJSON_Delete(entry);
    if (rc != REBATCH_OK) break;
  }
  if (rc != REBATCH_OK) {
    cJSON_Delete(report);
    report = NULL;
  }
  *out = report;
  return rc;
}

/* MigrationPlanValidationReportImpl.writeTo. */
static int plan_invalid(const cJSON *plan, cJSON *report, rb_response *res) {
  char text[4096];
  const cJSON *r, *f;
  snprintf(text, sizeof text, "ENGINE-23001 Migration plan for process definition '%s' to '%s' is not valid:\n",
           rb_str(plan, "sourceProcessDefinitionId"), rb_str(plan, "targetProcessDefinitionId"));
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(report, "instructionReports")) {
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(r, "instruction");
    const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ins, "sourceActivityIds"), 0);
    const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ins, "targetActivityIds"), 0);
    char one[300];
    size_t len = strlen(text);
    snprintf(one, sizeof one, "MigrationInstructionImpl{sourceActivityId='%s', targetActivityId='%s', updateEventTrigger='%s'}",
             cJSON_IsString(s) ? s->valuestring : "null", cJSON_IsString(t) ? t->valuestring : "null",
             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ins, "updateEventTrigger")) ? "true" : "false");
    snprintf(text + len, sizeof text - len, "\t Migration instruction %s is not valid:\n", one);
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(r, "failures")) {
      len = strlen(text);
      snprintf(text + len, sizeof text - len, "\t\t%s\n", f->valuestring);
    }
  }
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(report, "variableReports")) {
    size_t len = strlen(text);
    snprintf(text + len, sizeof text - len, "\t Migration variable %s is not valid:\n", r->string);
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(r, "failures")) {
      len = strlen(text);
      snprintf(text + len, sizeof text - len, "\t\t%s\n", f->valuestring);
    }
  }
  rb_error(res, 400, "MigrationPlanValidationException", 0, "%s", text);
  return rb_take(res->body, "validationReport", report) ? RB_REJECTED : REBATCH_NOMEM;
}

/* ---- reading a plan ------------------------------------------------------------ */

/* CreateMigrationPlanCmd.getProcessDefinition: "Source" or "Target". Its
 * BadUserRequestException reaches the client wrapped by
 * MigrationRestServiceImpl as its cause, so with the cause's code 0. */
static int load_definition(rebatch_engine *e, const char *id, const char *which, rb_doc *def, rb_response *res) {
  int rc;
  memset(def, 0, sizeof *def);
  if (!id) return rb_error(res, 400, "InvalidRequestException", 0, "%s process definition id is null", which);
  rc = rb_definition_load(e, id, def);
  if (rc == REBATCH_OK && !def->json)
    rc = rb_error(res, 400, "InvalidRequestException", 0, "ENGINE-23008 %s process definition with id '%s' does not exist",
                  which, id);
  return rc;
}

static int read_instructions(const cJSON *dto, cJSON *out, rb_response *res) {
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(dto, "instructions"), *ins;
  if (list && !cJSON_IsNull(list) && !cJSON_IsArray(list)) return rb_invalid(res, 400, "%s", "");
  cJSON_ArrayForEach(ins, list) {
    const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ins, "sourceActivityIds"), 0);
    const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ins, "targetActivityIds"), 0);
    cJSON *kept;
    /* Upstream takes the lists' first ids; missing lists are a
     * NullPointerException there. */
    if (!cJSON_IsObject(ins) || !s || !t) return rb_invalid(res, 400, "A migration instruction needs sourceActivityIds and targetActivityIds");
    kept = instruction(cJSON_IsString(s) ? s->valuestring : NULL, cJSON_IsString(t) ? t->valuestring : NULL,
                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ins, "updateEventTrigger")));
    if (!kept || !cJSON_AddItemToArray(out, kept)) {
      cJSON_Delete(kept);
      return REBATCH_NOMEM;
    }
  }
  return REBATCH_OK;
}

/* Equal ids, supported on both sides, passing the instruction checks:
 * MigrationInstructionGenerator then filterWith(validators). */
static int generate(const cJSON *source_def, const cJSON *target_def, int update, cJSON *plan) {
  cJSON *out = cJSON_GetObjectItemCaseSensitive(plan, "instructions");
  const cJSON *a;
  cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(source_def, "activities")) {
    const char *id = rb_str(a, "id");
    cJSON *ins, *failures;
    int rc;
    if (!rb_model_activity(target_def, id) || !supported(a)) continue;
    ins = instruction(id, id, update && persistent_trigger(a));
    failures = cJSON_CreateArray();
    rc = ins && failures ? check_instruction(plan, source_def, target_def, ins, failures) : REBATCH_NOMEM;
    if (rc == REBATCH_OK && cJSON_GetArraySize(failures) == 0 && cJSON_AddItemToArray(out, ins)) ins = NULL;
    cJSON_Delete(ins);
    cJSON_Delete(failures);
    if (rc != REBATCH_OK) return rc;
  }
  return REBATCH_OK;
}

static cJSON *new_plan(const char *source, const char *target) {
  cJSON *p = cJSON_CreateObject();
  if (!p || !rb_put_str(p, "sourceProcessDefinitionId", source) || !rb_put_str(p, "targetProcessDefinitionId", target) ||
      !cJSON_AddArrayToObject(p, "instructions")) {
    cJSON_Delete(p);
    return NULL;
  }
  return p;
}

/* The plan's variables (7.16+), read before anything is looked up, as the
 * REST DTO converts them first; *out NULL when none are given. */
static int read_variables(const cJSON *dto, cJSON **out, rb_response *res) {
  const cJSON *input = cJSON_GetObjectItemCaseSensitive(dto, "variables");
  int rc;
  *out = NULL;
  if (!input || cJSON_IsNull(input)) return REBATCH_OK;
  rc = rb_variables_parse(input, NULL, out, res);
  if (rc != REBATCH_OK) {
    cJSON_Delete(*out);
    *out = NULL;
  }
  return rc;
}

/* A plan from a MigrationPlanDto (generation: a MigrationPlanGenerationDto,
 * instructions generated), validated: an invalid plan is 400
 * MigrationPlanValidationException with its report, unless report_only,
 * which hands the report back in *report instead. */
static int build_plan(rebatch_engine *e, const cJSON *dto, int generating, int report_only, cJSON **plan_out,
                      cJSON **report_out, rb_response *res) {
  const char *source = rb_str(dto, "sourceProcessDefinitionId"), *target = rb_str(dto, "targetProcessDefinitionId");
  cJSON *plan = NULL, *report = NULL, *vars = NULL;
  rb_doc sdef, tdef;
  int rc;
  memset(&sdef, 0, sizeof sdef);
  memset(&tdef, 0, sizeof tdef);
  *plan_out = NULL;
  if (report_out) *report_out = NULL;
  if (!cJSON_IsObject(dto)) return rb_invalid(res, 400, "%s", "");
  rc = read_variables(dto, &vars, res);
  if (rc == REBATCH_OK) rc = load_definition(e, source, "Source", &sdef, res);
  if (rc == REBATCH_OK) rc = load_definition(e, target, "Target", &tdef, res);
  if (rc == REBATCH_OK) rc = (plan = new_plan(source, target)) ? REBATCH_OK : REBATCH_NOMEM;
  if (rc == REBATCH_OK && vars) {
    rc = rb_take(plan, "variables", vars) ? REBATCH_OK : REBATCH_NOMEM;
    vars = NULL;
  }
  cJSON_Delete(vars);
  if (rc == REBATCH_OK && generating) rc = generate(sdef.json, tdef.json, rb_flag(dto, "updateEventTriggers"), plan);
  if (rc == REBATCH_OK && !generating) rc = read_instructions(dto, cJSON_GetObjectItemCaseSensitive(plan, "instructions"), res);
  if (rc == REBATCH_OK) rc = plan_report(plan, sdef.json, tdef.json, &report);
  if (rc == REBATCH_OK && !report_only && has_reports(report)) {
    rc = plan_invalid(plan, report, res);
    report = NULL;
  }
  rb_doc_clear(&sdef);
  rb_doc_clear(&tdef);
  if (rc == REBATCH_OK) {
    *plan_out = plan;
    if (report_out) *report_out = report;
    else cJSON_Delete(report);
    return REBATCH_OK;
  }
  cJSON_Delete(plan);
  cJSON_Delete(report);
  return rc;
}

int rb_migration_plan_read(rebatch_engine *e, const cJSON *dto, cJSON **plan, rb_response *res) {
  return build_plan(e, dto, 0, 0, plan, NULL, res);
}

/* MigrationPlanDto of a plan. */
static cJSON *plan_dto(const cJSON *plan) {
  cJSON *d = cJSON_CreateObject(), *list = cJSON_CreateArray();
  const cJSON *ins, *vars = cJSON_GetObjectItemCaseSensitive(plan, "variables");
  int ok = d && list;
  cJSON_ArrayForEach(ins, cJSON_GetObjectItemCaseSensitive(plan, "instructions"))
    if (ok) {
      cJSON *item = instruction_dto(ins);
      if (!item || !cJSON_AddItemToArray(list, item)) {
        cJSON_Delete(item);
        ok = 0;
      }
    }
  if (ok && (!rb_put_str(d, "sourceProcessDefinitionId", rb_str(plan, "sourceProcessDefinitionId")) ||
             !rb_put_str(d, "targetProcessDefinitionId", rb_str(plan, "targetProcessDefinitionId")) ||
             !cJSON_AddItemToObject(d, "instructions", list)))
    ok = 0;
  else if (ok)
    list = NULL;
  if (ok && !rb_take(d, "variables", vars ? rb_variables_to_dto(vars, 1) : cJSON_CreateNull())) ok = 0;
  cJSON_Delete(list);
  if (!ok) {
    cJSON_Delete(d);
    return NULL;
  }
  return d;
}

int rb_op_generateMigrationPlan(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  cJSON *plan = NULL, *dto;
  int rc;
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "Request body is null: a migration plan needs its source and target definitions");
  rc = build_plan(e, body, 1, 0, &plan, NULL, res);
  if (rc != REBATCH_OK) return rc;
  dto = plan_dto(plan);
  cJSON_Delete(plan);
  return dto ? rb_ok(res, 200, dto) : REBATCH_NOMEM;
}

int rb_op_validateMigrationPlan(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  cJSON *plan = NULL, *report = NULL;
  int rc;
  if (!body || cJSON_IsNull(body)) return rb_invalid(res, 400, "Request body is null: a migration plan needs its source and target definitions");
  rc = build_plan(e, body, 0, 1, &plan, &report, res);
  cJSON_Delete(plan);
  return rc == REBATCH_OK ? rb_ok(res, 200, report) : rc;
}

/* ---- migrating one instance -------------------------------------------------- */

/* {source activity id: target activity id} of a plan. */
static cJSON *mapping_of(const cJSON *plan) {
  cJSON *m = cJSON_CreateObject();
  const cJSON *ins;
  cJSON_ArrayForEach(ins, cJSON_GetObjectItemCaseSensitive(plan, "instructions"))
    if (m && !rb_put_str(m, rb_str(ins, "source"), rb_str(ins, "target"))) {
      cJSON_Delete(m);
      return NULL;
    }
  return m;
}

/* {source activity id: true} of the instructions that update the event
 * trigger. */
static cJSON *updating_of(const cJSON *plan) {
  cJSON *u = cJSON_CreateObject();
  const cJSON *ins;
  cJSON_ArrayForEach(ins, cJSON_GetObjectItemCaseSensitive(plan, "instructions"))
    if (u && rb_flag(ins, "updateEventTrigger") && !rb_put_bool(u, rb_str(ins, "source"), 1)) {
      cJSON_Delete(u);
      return NULL;
    }
  return u;
}

static int is_transition(const cJSON *token) {
  return is(rb_str(token, "state"), "asyncBefore") || is(rb_str(token, "state"), "asyncAfter");
}

/* One instance's report entry; instruction: the one that maps it, or NULL. */
static int add_failure(cJSON *list, const char *key, const char *id, const char *scope, const cJSON *instruction,
                       const char *failure) {
  cJSON *r = cJSON_CreateObject(), *failures;
  if (!r || !rb_take(r, "migrationInstruction", instruction ? instruction_dto(instruction) : cJSON_CreateNull()) ||
      !rb_put_str(r, key, id) || !rb_put_str(r, "sourceScopeId", scope) ||
      !(failures = cJSON_AddArrayToObject(r, "failures")) ||
      !cJSON_AddItemToArray(failures, cJSON_CreateString(failure)) || !cJSON_AddItemToArray(list, r)) {
    cJSON_Delete(r);
    return REBATCH_NOMEM;
  }
  return REBATCH_OK;
}

static const cJSON *instruction_for(const cJSON *plan, const char *source) {
  const cJSON *ins;
  cJSON_ArrayForEach(ins, cJSON_GetObjectItemCaseSensitive(plan, "instructions"))
    if (is(rb_str(ins, "source"), source)) return ins;
  return NULL;
}

/* A transition instance's failure (AsyncMigrationValidator), or NULL. */
static const char *transition_failure(const cJSON *token, const cJSON *target) {
  if (is(rb_str(token, "state"), "asyncAfter")) return rb_flag(target, "asyncAfter") ? NULL : "Target activity is not asyncAfter";
  return rb_flag(target, "asyncBefore") ? NULL : "Target activity is not asyncBefore";
}

/* NoUnmappedLeafInstanceValidator and AsyncMigrationValidator over the
 * instance's resting tokens: the MigratingProcessInstanceValidationReportDto,
 * or *out NULL when valid. */
static int instance_report(const cJSON *inst, const cJSON *plan, const cJSON *mapping, const cJSON *target, cJSON **out) {
  cJSON *r = cJSON_CreateObject(), *acts, *trans;
  const cJSON *token;
  int rc = REBATCH_OK, bad = 0;
  *out = NULL;
  if (!r || !rb_put_str(r, "processInstanceId", rb_str(inst, "id")) || !cJSON_AddArrayToObject(r, "failures") ||
      !(acts = cJSON_AddArrayToObject(r, "activityInstanceValidationReports")) ||
      !(trans = cJSON_AddArrayToObject(r, "transitionInstanceValidationReports"))) {
    cJSON_Delete(r);
    return REBATCH_NOMEM;
  }
  cJSON_ArrayForEach(token, cJSON_GetObjectItemCaseSensitive(inst, "tokens")) {
    const char *activity = rb_str(token, "activityId"), *to = rb_str(mapping, activity);
    const char *unmapped = "There is no migration instruction for this instance's activity";
    const char *async = to && is_transition(token) ? transition_failure(token, rb_model_activity(target, to)) : NULL;
    if (rc != REBATCH_OK) break;
    if (to && !async) continue;
    bad = 1;
    if (is_transition(token))
      rc = add_failure(trans, "transitionInstanceId", rb_str(token, "id"), activity, instruction_for(plan, activity),
                       to ? async : unmapped);
    else
      rc = add_failure(acts, "activityInstanceId", rb_str(token, "activityInstanceId"), activity, NULL, unmapped);
  }
  if (rc == REBATCH_OK && bad) *out = r;
  else cJSON_Delete(r);
  return rc;
}

/* MigratingProcessInstanceValidationReportImpl.writeTo. */
static int instance_invalid(cJSON *report, rb_response *res) {
  char text[4096];
  static const char *const lists[][2] = {{"activityInstanceValidationReports", "activity instance"},
                                         {"transitionInstanceValidationReports", "transition instance"}};
  snprintf(text, sizeof text, "ENGINE-23004 Cannot migrate process instance '%s':\n", rb_str(report, "processInstanceId"));
  for (int l = 0; l < 2; l++) {
    const cJSON *r, *f;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(report, lists[l][0])) {
      size_t len = strlen(text);
      snprintf(text + len, sizeof text - len, "\tCannot migrate %s '%s':\n", lists[l][1],
               rb_str(r, l ? "transitionInstanceId" : "activityInstanceId"));
      cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(r, "failures")) {
        len = strlen(text);
        snprintf(text + len, sizeof text - len, "\t\t%s\n", f->valuestring);
      }
    }
  }
  rb_error(res, 400, "MigratingProcessInstanceValidationException", 0, "%s", text);
  return rb_take(res->body, "validationReport", report) ? RB_REJECTED : REBATCH_NOMEM;
}

static int set_definition(cJSON *record, const cJSON *target, int with_deployment) {
  return rb_set_str(record, "processDefinitionId", rb_str(target, "id")) &&
         rb_set_str(record, "processDefinitionKey", rb_str(target, "key")) &&
         (!with_deployment || rb_set_str(record, "deploymentId", rb_str(target, "deploymentId")));
}

/* MigratingEventSubscriptionInstance: without updateEventTrigger a
 * waiting token's message subscription keeps the source's message name
 * (held on the token until it moves on); with it the target's counts. */
static int keep_message_name(cJSON *token, const cJSON *source, const cJSON *to, const cJSON *updating) {
  const char *from = rb_str(token, "activityId");
  const char *kept = rb_str(token, "messageName") ? rb_str(token, "messageName") : rb_str(rb_model_activity(source, from), "messageName");
  if (!kept || !rb_str_eq(rb_str(token, "state"), "wait")) return 1;
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(updating, from)) ||
      rb_str_eq(kept, rb_str(to, "messageName"))) {
    cJSON_DeleteItemFromObjectCaseSensitive(token, "messageName");
    return 1;
  }
  return rb_set_str(token, "messageName", kept);
}

/* The runtime record: its definition and each token's activity. */
static int move_instance(rebatch_engine *e, rb_doc *inst, const cJSON *source, const cJSON *target,
                         const cJSON *mapping, const cJSON *updating) {
  cJSON *token;
  if (!set_definition(inst->json, target, 1)) return REBATCH_NOMEM;
  cJSON_ArrayForEach(token, cJSON_GetObjectItemCaseSensitive(inst->json, "tokens")) {
    const char *to = rb_str(mapping, rb_str(token, "activityId"));
    if (!keep_message_name(token, source, rb_model_activity(target, to), updating) || !rb_set_str(token, "activityId", to))
      return REBATCH_NOMEM;
  }
  return rb_instance_save(e, inst);
}

/* History follows: the historic instance and its open activity instances. */
static int move_history(rebatch_engine *e, const char *id, const cJSON *target, const cJSON *mapping) {
  rb_docs acts = {0};
  rb_doc h;
  int rc = rb_load(e, HISTORIC_INSTANCE, id, &h);
  if (rc == REBATCH_OK && h.json) {
    if (!set_definition(h.json, target, 0) || !rb_set_str(h.json, "processDefinitionName", rb_str(target, "name")) ||
        !rb_take(h.json, "processDefinitionVersion", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(target, "version"), 1)))
      rc = REBATCH_NOMEM;
    if (rc == REBATCH_OK) rc = rb_history_save(e, &h);
  }
  rb_doc_clear(&h);
  if (rc == REBATCH_OK) rc = rb_find_all(e, HISTORIC_ACTIVITY, "processInstanceId", id, &acts);
  for (int i = 0; rc == REBATCH_OK && i < acts.count; i++) {
    cJSON *a = acts.items[i].json;
    const char *to = rb_str(mapping, rb_str(a, "activityId"));
    const cJSON *activity = rb_model_activity(target, to);
    if (!to || rb_date(a, "endTime") >= 0) continue;
    if (!set_definition(a, target, 0) || !rb_set_str(a, "activityId", to) ||
        !rb_set_str(a, "activityName", rb_str(activity, "name")) ||
        !rb_set_str(a, "activityType", rb_activity_type(activity)))
      rc = REBATCH_NOMEM;
    if (rc == REBATCH_OK) rc = rb_history_activity_save(e, &acts.items[i]);
  }
  rb_docs_clear(&acts);
  return rc;
}

int rb_migration_migrate(rebatch_engine *e, const char *instance_id, const cJSON *plan, rb_response *res) {
  const char *source_id = rb_str(plan, "sourceProcessDefinitionId");
  const cJSON *vars = cJSON_GetObjectItemCaseSensitive(plan, "variables");
  cJSON *mapping = mapping_of(plan), *report = NULL, *updating = NULL;
  rb_doc inst, source, target;
  int rc = mapping ? rb_load(e, INSTANCE, instance_id, &inst) : REBATCH_NOMEM;
  memset(&source, 0, sizeof source);
  memset(&target, 0, sizeof target);
  if (!mapping) memset(&inst, 0, sizeof inst);
  if (rc == REBATCH_OK && !inst.json)
    rc = rb_error(res, 500, "ProcessEngineException", 0,
                  "ENGINE-23003 Process instance '%s' cannot be migrated. The process instance does not exist", instance_id);
  if (rc == REBATCH_OK && !is(rb_str(inst.json, "processDefinitionId"), source_id))
    rc = rb_error(res, 500, "ProcessEngineException", 0,
                  "ENGINE-23002 Process instance '%s' cannot be migrated. Its process definition '%s' does not match the source process definition of the migration plan '%s'",
                  instance_id, rb_str(inst.json, "processDefinitionId"), source_id);
  if (rc == REBATCH_OK) rc = load_definition(e, rb_str(plan, "targetProcessDefinitionId"), "Target", &target, res);
  if (rc == REBATCH_OK) rc = instance_report(inst.json, plan, mapping, target.json, &report);
  if (rc == REBATCH_OK && report) rc = instance_invalid(report, res);
  if (rc == REBATCH_OK) rc = load_definition(e, source_id, "Source", &source, res);
  if (rc == REBATCH_OK) rc = (updating = updating_of(plan)) ? REBATCH_OK : REBATCH_NOMEM;
  if (rc == REBATCH_OK) rc = move_instance(e, &inst, source.json, target.json, mapping, updating);
  if (rc == REBATCH_OK) rc = move_history(e, instance_id, target.json, mapping);
  if (rc == REBATCH_OK) rc = rb_jobs_migrate(e, instance_id, target.json, mapping, updating);
  if (rc == REBATCH_OK) rc = rb_external_tasks_migrate(e, instance_id, target.json, mapping);
  if (rc == REBATCH_OK) rc = rb_incidents_migrate(e, instance_id, target.json, mapping);
  if (rc == REBATCH_OK && vars && vars->child) rc = rb_instance_set_variables(e, instance_id, vars);
  cJSON_Delete(mapping);
  cJSON_Delete(updating);
  rb_doc_clear(&inst);
  rb_doc_clear(&source);
  rb_doc_clear(&target);
  return rc;
}
