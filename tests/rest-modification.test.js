// Modification over REST: POST /process-instance/{id}/modification,
// /modification/execute and /modification/executeAsync, every response
// validated against Camunda's OpenAPI document (support/openapi.js).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { deploy, startServer } from './support/rest-helpers.js';

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs-mod" targetNamespace="http://example.com/rebatch">
  <bpmn:process id="mod" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a" />
    <bpmn:userTask id="a" name="A" />
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b" />
    <bpmn:userTask id="b" />
    <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

let srv;
let def;
before(async () => {
  srv = await startServer({ jobExecutor: false, config: { batchPollTime: 0 } });
  const d = await deploy(srv.api, { 'mod.bpmn': XML });
  [def] = Object.values(d.body.deployedProcessDefinitions);
});
after(() => srv.close());

const ok = async (method, path, body, status = 200) => {
  const r = await srv.api(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r.body;
};
const fails = async (method, path, body, status, type, message) => {
  const r = await srv.api(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  assert.deepEqual({ type: r.body.type, message: r.body.message }, { type, message });
  return r.body;
};
const start = async (businessKey) => (await ok('POST', '/process-definition/key/mod/start', { businessKey })).id;
const activities = async (id) => {
  const t = await ok('GET', `/process-instance/${id}/activity-instances`);
  return t.childActivityInstances.map((c) => c.activityId).sort();
};

test('POST /process-instance/{id}/modification: start, cancel, history, errors', async () => {
  const pi = await start('r1');
  await ok('POST', `/process-instance/${pi}/modification`, {
    skipCustomListeners: false, skipIoMappings: false, annotation: 'move on',
    instructions: [{ type: 'startBeforeActivity', activityId: 'b', variables: { v: { value: 'x', type: 'String', local: true } } }],
  }, 204);
  assert.deepEqual(await activities(pi), ['a', 'b']);
  assert.equal((await ok('GET', `/process-instance/${pi}/variables/v`)).value, 'x');
  await ok('POST', `/process-instance/${pi}/modification`, { instructions: [{ type: 'cancel', activityId: 'a' }] }, 204);
  assert.deepEqual(await activities(pi), ['b']);
  const [canceled] = await ok('GET', `/history/activity-instance?processInstanceId=${pi}&activityId=a`);
  assert.equal(canceled.canceled, true);
  await fails('POST', `/process-instance/${pi}/modification`, { instructions: [{ type: 'cancel' }] }, 400, 'InvalidRequestException',
    "For instruction type 'cancel': exactly one, 'activityId', 'activityInstanceId', or 'transitionInstanceId', is required");
  await fails('POST', `/process-instance/${pi}/modification`, { instructions: [{ type: 'startBeforeActivity', activityId: 'zz' }] }, 400,
    'NotValidException', `Cannot perform instruction: Start before activity 'zz'; Element 'zz' does not exist in process '${def.id}': element is null`);
  await fails('POST', '/process-instance/nope/modification', { instructions: [{ type: 'cancel', activityId: 'a' }] }, 500,
    'ProcessEngineException', "ENGINE-13036 Process instance 'nope' cannot be modified. The process instance does not exist");
  await ok('POST', `/process-instance/${pi}/modification`, { instructions: [{ type: 'cancel', activityId: 'b' }] }, 204);
  assert.equal((await ok('GET', `/history/process-instance/${pi}`)).state, 'EXTERNALLY_TERMINATED');
});

test('POST /modification/execute and /modification/executeAsync', async () => {
  const ids = [await start('s1'), await start('s2'), await start('s3')];
  const instructions = [{ type: 'startAfterActivity', activityId: 'a' }, { type: 'cancel', activityId: 'a' }];
  await ok('POST', '/modification/execute', { processDefinitionId: def.id, instructions, processInstanceIds: [ids[0]] }, 204);
  assert.deepEqual(await activities(ids[0]), ['b']);
  await fails('POST', '/modification/execute', { processDefinitionId: def.id, instructions: [], processInstanceIds: ids }, 400,
    'InvalidRequestException', 'Modification instructions cannot be empty is empty');
  await fails('POST', '/modification/executeAsync', { instructions, processInstanceIds: ids }, 400,
    'InvalidRequestException', 'processDefinitionId is null');

  const batch = await ok('POST', '/modification/executeAsync', {
    processDefinitionId: def.id, instructions,
    processInstanceQuery: { businessKeyLike: 's%', activityIdIn: ['a'] },
  });
  assert.equal(batch.type, 'instance-modification');
  assert.equal(batch.totalJobs, 2);
  for (let i = 0; i < 20; i++) {
    const jobs = await ok('GET', '/job?executable=true');
    if (!jobs.length) break;
    for (const j of jobs) await ok('POST', `/job/${j.id}/execute`, undefined, 204);
  }
  for (const id of ids) assert.deepEqual(await activities(id), ['b']);
  assert.ok((await ok('GET', `/history/batch/${batch.id}`)).endTime);
});
