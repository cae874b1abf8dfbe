// POST /external-task/{id}/bpmnError over HTTP: BPMN XML with error
// boundary events (errorRef -> bpmn:error errorCode), Camunda's statuses and
// messages (each response validated against the 7.15 OpenAPI by the client
// helper), and the real worker client's taskService.handleBpmnError.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Client, Variables } from 'camunda-external-task-client-js';

import { deploy, externalTaskBpmn, startServer, until } from './support/rest-helpers.js';

const GUARDED = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs-guarded" targetNamespace="http://example.com/rebatch">
  <bpmn:error id="declined" name="Declined" errorCode="DECLINED" />
  <bpmn:error id="uncoded" name="No code" />
  <bpmn:process id="guarded" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge" />
    <bpmn:serviceTask id="charge" camunda:type="external" camunda:topic="charge" />
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="end" />
    <bpmn:endEvent id="end" />
    <bpmn:boundaryEvent id="onDeclined" attachedToRef="charge">
      <bpmn:errorEventDefinition errorRef="declined" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="onDeclined" targetRef="apologize" />
    <bpmn:serviceTask id="apologize" camunda:type="external" camunda:topic="apologize" />
    <bpmn:sequenceFlow id="f4" sourceRef="apologize" targetRef="declinedEnd" />
    <bpmn:endEvent id="declinedEnd" />
    <bpmn:boundaryEvent id="onAnything" attachedToRef="charge">
      <bpmn:errorEventDefinition errorRef="uncoded" camunda:errorCodeVariable="code" camunda:errorMessageVariable="why" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="onAnything" targetRef="review" />
    <bpmn:userTask id="review" />
  </bpmn:process>
</bpmn:definitions>`;

let srv;
before(async () => {
  srv = await startServer({ jobExecutor: { waitMs: 10, maxWaitMs: 50 } });
  assert.equal((await deploy(srv.api, { 'guarded.bpmn': GUARDED, 'plain.bpmn': externalTaskBpmn('plain', 'plain') })).status, 200);
});
after(() => srv.close());

async function lock(topicName, workerId = 'w') {
  const r = await srv.api('POST', '/external-task/fetchAndLock', { workerId, maxTasks: 1, topics: [{ topicName, lockDuration: 60000 }] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.length, 1, `a ${topicName} task`);
  return r.body[0];
}

const activityIds = async (pi) =>
  (await srv.api('GET', `/history/activity-instance?processInstanceId=${pi}`)).body.map((a) => a.activityId).sort();

test('BPMN XML error boundary events: the coded one, the catch-all with its variables, and none', async () => {
  const { body: { id: pi } } = await srv.api('POST', '/process-definition/key/guarded/start', {});
  let task = await lock('charge');
  let r = await srv.api('POST', `/external-task/${task.id}/bpmnError`, {
    workerId: 'w',
    errorCode: 'DECLINED',
    errorMessage: 'card declined',
    variables: { reason: { value: 'limit', type: 'String' } },
  });
  assert.equal(r.status, 204, r.text);
  assert.equal(r.text, '');
  const apologize = await lock('apologize');
  assert.equal(apologize.processInstanceId, pi);
  assert.deepEqual(apologize.variables.reason, { type: 'String', value: 'limit', valueInfo: {} });
  assert.deepEqual(await activityIds(pi), ['apologize', 'charge', 'onDeclined', 'start']);

  const { body: { id: pi2 } } = await srv.api('POST', '/process-definition/key/guarded/start', {});
  task = await lock('charge');
  r = await srv.api('POST', `/external-task/${task.id}/bpmnError`, { workerId: 'w', errorCode: 'OTHER', errorMessage: 'odd' });
  assert.equal(r.status, 204, r.text);
  assert.deepEqual(await activityIds(pi2), ['charge', 'onAnything', 'review', 'start']);
  const vars = (await srv.api('GET', `/process-instance/${pi2}/variables`)).body;
  assert.deepEqual(vars, {
    code: { type: 'String', value: 'OTHER', valueInfo: {} },
    why: { type: 'String', value: 'odd', valueInfo: {} },
  });

  // no boundary event: the instance ends (COMPLETED), as Camunda does by default
  const { body: { id: pi3 } } = await srv.api('POST', '/process-definition/key/plain/start', {});
  task = await lock('plain');
  r = await srv.api('POST', `/external-task/${task.id}/bpmnError`, { workerId: 'w', errorCode: 'ANY' });
  assert.equal(r.status, 204, r.text);
  assert.equal((await srv.api('GET', `/history/process-instance/${pi3}`)).body.state, 'COMPLETED');
});

test('bpmnError errors: unknown task 404, wrong worker 400, missing workerId / errorCode 500', async () => {
  await srv.api('POST', '/process-definition/key/plain/start', {});
  const task = await lock('plain', 'owner');
  const cases = [
    ['/external-task/nope/bpmnError', { workerId: 'w', errorCode: 'E' }, 404, 'RestException', 'External task with id nope does not exist'],
    [`/external-task/${task.id}/bpmnError`, { workerId: 'thief', errorCode: 'E' }, 400, 'RestException',
      `Bpmn error of External Task ${task.id} cannot be reported by worker 'thief'. It is locked by worker 'owner'.`],
    [`/external-task/${task.id}/bpmnError`, { errorCode: 'E' }, 500, 'NullValueException', 'workerId is null'],
    [`/external-task/${task.id}/bpmnError`, { workerId: 'owner' }, 500, 'NullValueException', 'errorCode is null'],
  ];
  for (const [path, body, status, type, message] of cases) {
    const r = await srv.api('POST', path, body);
    assert.deepEqual({ status: r.status, type: r.body.type, message: r.body.message }, { status, type, message });
  }
  // nothing changed: the task is still there, locked by its owner
  const still = (await srv.api('GET', `/external-task/${task.id}`)).body;
  assert.equal(still.workerId, 'owner');
});

test('camunda-external-task-client-js: taskService.handleBpmnError reaches the boundary event', async () => {
  const starts = [];
  for (let i = 0; i < 2; i++) starts.push((await srv.api('POST', '/process-definition/key/guarded/start', { businessKey: `c${i}` })).body.id);
  const client = new Client({ baseUrl: srv.base, workerId: 'real', interval: 20, asyncResponseTimeout: 200, lockDuration: 10000, autoPoll: false });
  const errors = [];
  for (const event of ['poll:error', 'handleBpmnError:error', 'complete:error']) {
    client.on(event, (...args) => errors.push(`${event}: ${args.map((a) => a?.message ?? JSON.stringify(a)).join(' ')}`));
  }
  let reported = 0;
  client.subscribe('charge', async ({ task, taskService }) => {
    if (!starts.includes(task.processInstanceId)) return;
    const variables = new Variables().set('attempt', 1);
    await taskService.handleBpmnError(task, 'DECLINED', 'card declined', variables);
    reported++;
  });
  client.subscribe('apologize', async ({ task, taskService }) => {
    if (starts.includes(task.processInstanceId)) await taskService.complete(task);
  });
  client.start();
  try {
    const state = async (id) => (await srv.api('GET', `/history/process-instance/${id}`)).body.state;
    await until(async () => (await state(starts[0])) === 'COMPLETED' && (await state(starts[1])) === 'COMPLETED', {
      what: 'both instances to end through the boundary path',
    });
    assert.equal(reported, 2);
    for (const pi of starts) assert.deepEqual(await activityIds(pi), ['apologize', 'charge', 'declinedEnd', 'onDeclined', 'start']);
    const attempt = (await srv.api('GET', `/history/variable-instance?processInstanceId=${starts[0]}&variableName=attempt`)).body;
    assert.equal(attempt[0].value, 1);
    assert.deepEqual(errors, []);
  } finally {
    client.stop();
  }
});
