// Migration over REST: generate, validate, execute, executeAsync, with the
// validation reports in the error bodies, responses checked against the
// OpenAPI (support/openapi.js).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { deploy, startServer } from './support/rest-helpers.js';

const xml = (tasks) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://example.com/rebatch">
  <bpmn:process id="mig" isExecutable="true">
    <bpmn:startEvent id="start" />
    ${tasks.map((t, i) => `<bpmn:sequenceFlow id="f${i}" sourceRef="${i ? tasks[i - 1] : 'start'}" targetRef="${t}" /><bpmn:userTask id="${t}" />`).join('\n    ')}
    <bpmn:sequenceFlow id="fe" sourceRef="${tasks.at(-1)}" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

let srv;
let v1;
let v2;
before(async () => {
  srv = await startServer({ jobExecutor: false, config: { batchPollTime: 0 } });
  [v1] = Object.values((await deploy(srv.api, { 'mig.bpmn': xml(['a', 'x']) })).body.deployedProcessDefinitions);
  [v2] = Object.values((await deploy(srv.api, { 'mig.bpmn': xml(['a', 'b']) })).body.deployedProcessDefinitions);
});
after(() => srv.close());

const ok = async (method, path, body, status = 200) => {
  const r = await srv.api(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r.body;
};

test('generate, validate, execute and executeAsync', async () => {
  const plan = await ok('POST', '/migration/generate', { sourceProcessDefinitionId: v1.id, targetProcessDefinitionId: v2.id });
  assert.deepEqual(plan.instructions, [{ sourceActivityIds: ['a'], targetActivityIds: ['a'], updateEventTrigger: false }]);
  const report = await ok('POST', '/migration/validate', { ...plan, instructions: [...plan.instructions, { sourceActivityIds: ['x'], targetActivityIds: ['nope'] }] });
  assert.deepEqual(report.instructionReports[0].failures, ["Target activity 'nope' does not exist"]);

  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await ok('POST', `/process-definition/${v1.id}/start`, {})).id);
  await ok('POST', '/migration/execute', { migrationPlan: plan, processInstanceIds: [ids[0]] }, 204);
  assert.equal((await ok('GET', `/process-instance/${ids[0]}`)).definitionId, v2.id);

  const bad = await srv.api('POST', '/migration/execute', {
    migrationPlan: { ...plan, instructions: [{ sourceActivityIds: ['x'], targetActivityIds: ['b'] }] }, processInstanceIds: [ids[1]] });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.type, 'MigratingProcessInstanceValidationException');
  assert.equal(bad.body.validationReport.processInstanceId, ids[1]);
  assert.deepEqual(bad.body.validationReport.activityInstanceValidationReports.map((r) => [r.sourceScopeId, r.failures]),
    [['a', ["There is no migration instruction for this instance's activity"]]]);
  const invalid = await srv.api('POST', '/migration/executeAsync', {
    migrationPlan: { ...plan, instructions: [{ sourceActivityIds: ['a'], targetActivityIds: ['zz'] }] }, processInstanceIds: ids });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.body.type, 'MigrationPlanValidationException');
  assert.deepEqual(invalid.body.validationReport.instructionReports[0].failures, ["Target activity 'zz' does not exist"]);

  const batch = await ok('POST', '/migration/executeAsync', { migrationPlan: plan, processInstanceQuery: { processDefinitionId: v1.id } });
  assert.equal(batch.type, 'instance-migration');
  assert.equal(batch.totalJobs, 2);
  for (let i = 0; i < 20; i++) {
    const jobs = await ok('GET', '/job?executable=true');
    if (!jobs.length) break;
    for (const j of jobs) await ok('POST', `/job/${j.id}/execute`, undefined, 204);
  }
  assert.equal((await ok('GET', `/process-instance/count?processDefinitionId=${v2.id}`)).count, 3);
});

const timerXml = (duration) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://example.com/rebatch">
  <bpmn:process id="migtimer" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>${duration}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

test('a timer moved with updateEventTrigger gets the target\'s due date; without it keeps its own', async () => {
  const [t1] = Object.values((await deploy(srv.api, { 'migtimer.bpmn': timerXml('PT1H') })).body.deployedProcessDefinitions);
  const [t2] = Object.values((await deploy(srv.api, { 'migtimer.bpmn': timerXml('P10D') })).body.deployedProcessDefinitions);
  const generated = await ok('POST', '/migration/generate', { sourceProcessDefinitionId: t1.id, targetProcessDefinitionId: t2.id, updateEventTriggers: true });
  assert.deepEqual(generated.instructions, [{ sourceActivityIds: ['wait'], targetActivityIds: ['wait'], updateEventTrigger: true }]);
  const kept = { ...generated, instructions: [{ ...generated.instructions[0], updateEventTrigger: false }] };
  const start = async () => (await ok('POST', `/process-definition/${t1.id}/start`, {})).id;
  const jobOf = async (id) => (await ok('GET', `/job?processInstanceId=${id}`))[0];
  const [updated, unchanged] = [await start(), await start()];
  const before = { updated: await jobOf(updated), unchanged: await jobOf(unchanged) };
  const hour = Date.parse(before.updated.dueDate);

  await ok('POST', '/migration/execute', { migrationPlan: generated, processInstanceIds: [updated] }, 204);
  await ok('POST', '/migration/execute', { migrationPlan: kept, processInstanceIds: [unchanged] }, 204);
  const after = { updated: await jobOf(updated), unchanged: await jobOf(unchanged) };
  assert.equal(after.updated.id, before.updated.id, 'the job itself moves');
  assert.equal(after.updated.processDefinitionId, t2.id);
  const days = (Date.parse(after.updated.dueDate) - hour) / 86400000;
  assert.ok(days > 9.9 && days < 10, `due in ten days from now, not an hour: ${after.updated.dueDate}`);
  assert.equal(after.unchanged.dueDate, before.unchanged.dueDate);
  assert.equal(after.unchanged.processDefinitionId, t2.id);
});

test('variableReports: a plan variable in Java serialization is reported (validate) and refused (generate, execute); others pass', async () => {
  const serialized = { type: 'Object', value: 'rO0ABXNy', valueInfo: { objectTypeName: 'java.util.ArrayList', serializationDataFormat: 'application/x-java-serialized-object' } };
  const variables = { list: serialized, amount: { value: 5, type: 'Integer' } };
  const failure = 'Cannot set variable with name list. Java serialization format is prohibited';
  const plan = { sourceProcessDefinitionId: v1.id, targetProcessDefinitionId: v2.id, instructions: [{ sourceActivityIds: ['a'], targetActivityIds: ['a'] }] };
  const report = await ok('POST', '/migration/validate', { ...plan, variables });
  assert.deepEqual(report, { instructionReports: [], variableReports: { list: { ...serialized, failures: [failure] } } });
  assert.deepEqual((await ok('POST', '/migration/validate', { ...plan, variables: { amount: variables.amount } })).variableReports, {});

  const id = (await ok('POST', `/process-definition/${v1.id}/start`, {})).id;
  for (const [path, body] of [['/migration/generate', { ...plan, variables }], ['/migration/execute', { migrationPlan: { ...plan, variables }, processInstanceIds: [id] }]]) {
    const r = await srv.api('POST', path, body);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.type, 'MigrationPlanValidationException');
    assert.ok(r.body.message.endsWith(`is not valid:\n\t Migration variable list is not valid:\n\t\t${failure}\n`), r.body.message);
    assert.deepEqual(r.body.validationReport.variableReports.list.failures, [failure]);
  }
  assert.equal((await ok('GET', `/process-instance/${id}`)).definitionId, v1.id);
});

test('an unknown or missing definition: the engine\'s BadUserRequestException wrapped with its cause (code 0)', async () => {
  const wrapped = (message) => ({ type: 'InvalidRequestException', message, code: 0 });
  for (const path of ['/migration/generate', '/migration/validate']) {
    const unknown = await srv.api('POST', path, { sourceProcessDefinitionId: v1.id, targetProcessDefinitionId: 'nope', instructions: [] });
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.body, wrapped("ENGINE-23008 Target process definition with id 'nope' does not exist"));
    const missing = await srv.api('POST', path, { targetProcessDefinitionId: v2.id, instructions: [] });
    assert.deepEqual(missing.body, wrapped('Source process definition id is null'));
  }
  const execute = await srv.api('POST', '/migration/execute', {
    migrationPlan: { sourceProcessDefinitionId: 'nope', targetProcessDefinitionId: v2.id, instructions: [] }, processInstanceIds: ['x'] });
  assert.deepEqual(execute.body, wrapped("ENGINE-23008 Source process definition with id 'nope' does not exist"));
});
