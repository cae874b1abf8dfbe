// Observing instances over HTTP: every response validated against Camunda's
// OpenAPI (tests/support/openapi.js; the paths the 7.15 file lacks have
// reference schemas there). Jobs fail through the engine's job handler.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createEngine, manualClock, sequentialIds } from '../bindings/index.js';
import { createRestServer } from '../bindings/rest.js';
import { client, deploy } from './support/rest-helpers.js';

const PROCESS = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs-obs" targetNamespace="http://example.com/rebatch">
  <bpmn:process id="obs" name="Observed" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork" />
    <bpmn:parallelGateway id="fork" />
    <bpmn:sequenceFlow id="fa" sourceRef="fork" targetRef="a" />
    <bpmn:sequenceFlow id="fb" sourceRef="fork" targetRef="b" />
    <bpmn:serviceTask id="a" name="Charge" camunda:asyncBefore="true" camunda:expression="\${true}" />
    <bpmn:serviceTask id="b" name="Ship" camunda:type="external" camunda:topic="ship" />
    <bpmn:sequenceFlow id="ja" sourceRef="a" targetRef="join" />
    <bpmn:sequenceFlow id="jb" sourceRef="b" targetRef="join" />
    <bpmn:parallelGateway id="join" />
    <bpmn:sequenceFlow id="fe" sourceRef="join" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

let engine;
let rest;
let api;
const failing = new Map();
const clock = manualClock(Date.UTC(2024, 0, 1));
before(async () => {
  engine = await createEngine({
    clock,
    ids: sequentialIds('r-'),
    jobHandler: (job) => {
      if (failing.has(job.activityId)) throw new Error(failing.get(job.activityId));
    },
  });
  rest = createRestServer({ engine, jobExecutor: false });
  const { port } = await rest.listen(0, '127.0.0.1');
  api = client(`http://127.0.0.1:${port}/engine-rest`);
});
after(async () => {
  await rest.close();
  engine.close();
});

const ok = async (method, path, body, status = 200) => {
  const r = await api(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r;
};
const error = async (method, path, status, type, message) => {
  const r = await api(method, path);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  assert.deepEqual({ type: r.body.type, message: r.body.message }, { type, message });
};

test('activity instances, historic activity instances, incidents, the job log and stacktraces over HTTP', async () => {
  const d = await deploy(api, { 'obs.bpmn': PROCESS });
  assert.equal(d.status, 200, d.text);
  const pi = (await ok('POST', '/process-definition/key/obs/start', {})).body;

  // The tree: b rests in its external task, a waits on its async-before job.
  let tree = (await ok('GET', `/process-instance/${pi.id}/activity-instances`)).body;
  assert.equal(tree.id, pi.id);
  assert.equal(tree.activityType, 'processDefinition');
  assert.equal(tree.activityName, 'Observed');
  assert.deepEqual(tree.childActivityInstances.map((n) => [n.activityId, n.activityType]), [['b', 'serviceTask']]);
  assert.deepEqual(tree.childTransitionInstances.map((n) => n.activityId), ['a']);
  await error('GET', '/process-instance/nope/activity-instances', 404, 'InvalidRequestException',
    'Process instance with id nope does not exist');

  // a's job fails three times: an incident on a's transition instance.
  const job = (await ok('GET', `/job?processInstanceId=${pi.id}`)).body[0];
  assert.equal((await ok('GET', `/job/${job.id}/stacktrace`, undefined, 204)).text, '');
  failing.set('a', 'card declined');
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    assert.equal((await api('POST', `/job/${job.id}/execute`)).status, 500);
  }
  const stack = await ok('GET', `/job/${job.id}/stacktrace`);
  assert.match(stack.headers.get('content-type'), /^text\/plain/);
  assert.match(stack.text, /card declined/);
  await error('GET', '/job/nope/stacktrace', 404, 'InvalidRequestException', 'No job found with id nope: job is null');
  const [incident] = (await ok('GET', `/incident?processInstanceId=${pi.id}`)).body;
  tree = (await ok('GET', `/process-instance/${pi.id}/activity-instances`)).body;
  assert.deepEqual(tree.childTransitionInstances[0].incidents, [{ id: incident.id, activityId: 'a' }]);
  assert.deepEqual((await ok('GET', '/history/incident?open=true')).body.map((i) => i.id), [incident.id]);
  assert.deepEqual((await ok('GET', '/history/incident/count?incidentType=failedJob')).body, { count: 1 });

  // Reset and succeed; b completes: the instance ends.
  failing.clear();
  await ok('PUT', `/job/${job.id}/retries`, { retries: 1 }, 204);
  clock.advance(1000);
  await ok('POST', `/job/${job.id}/execute`, undefined, 204);
  assert.deepEqual((await ok('GET', '/history/incident/count?resolved=true')).body, { count: 1 });
  const [task] = (await ok('POST', '/external-task/fetchAndLock', {
    workerId: 'w', maxTasks: 1, topics: [{ topicName: 'ship', lockDuration: 10000 }],
  })).body;
  await ok('POST', `/external-task/${task.id}/failure`, { workerId: 'w', errorMessage: 'no truck', errorDetails: 'truck.js:1', retries: 1 }, 204);
  const details = await ok('GET', `/external-task/${task.id}/errorDetails`);
  assert.equal(details.text, 'truck.js:1');
  const missing = await api('GET', '/external-task/nope/errorDetails');
  assert.equal(missing.status, 500);
  assert.equal(missing.body.message, 'No external task found with id nope: externalTask is null');
  await ok('POST', '/external-task/fetchAndLock', { workerId: 'w', maxTasks: 1, topics: [{ topicName: 'ship', lockDuration: 10000 }] });
  await ok('POST', `/external-task/${task.id}/complete`, { workerId: 'w' }, 204);
  await error('GET', `/process-instance/${pi.id}/activity-instances`, 404, 'InvalidRequestException',
    `Process instance with id ${pi.id} does not exist`);

  // Historic activity instances: GET and POST queries, counts, one by id.
  const acts = (await ok('GET', `/history/activity-instance?processInstanceId=${pi.id}&sortBy=startTime&sortOrder=asc`)).body;
  assert.deepEqual(acts.map((a) => a.activityId).sort(), ['a', 'b', 'end', 'fork', 'join', 'join', 'start']);
  const posted = (await ok('POST', '/history/activity-instance', {
    processInstanceId: pi.id, activityType: 'parallelGateway', sorting: [{ sortBy: 'activityId', sortOrder: 'desc' }],
  })).body;
  assert.deepEqual(posted.map((a) => a.activityId), ['join', 'join', 'fork']);
  assert.deepEqual((await ok('GET', `/history/activity-instance/count?processInstanceId=${pi.id}&finished=true`)).body, { count: 7 });
  assert.deepEqual((await ok('POST', '/history/activity-instance/count', { completeScope: true })).body, { count: 1 });
  assert.deepEqual((await ok('GET', `/history/activity-instance/${acts[0].id}`)).body, acts[0]);
  await error('GET', '/history/activity-instance/nope', 404, 'InvalidRequestException',
    "Historic activity instance with id 'nope' does not exist");
  const badSort = await api('GET', '/history/activity-instance?sortBy=nope&sortOrder=asc');
  assert.equal(badSort.status, 400);

  // The job log: created, three failures with their retries, success.
  const log = (await ok('GET', `/history/job-log?jobId=${job.id}&sortBy=timestamp&sortOrder=asc`)).body;
  assert.deepEqual(log.map((l) => [l.creationLog, l.failureLog, l.successLog, l.jobRetries, l.jobExceptionMessage]), [
    [true, false, false, 3, null],
    [false, true, false, 3, 'card declined'],
    [false, true, false, 2, 'card declined'],
    [false, true, false, 1, 'card declined'],
    [false, false, true, 1, null],
  ]);
  const failures = (await ok('POST', '/history/job-log', { jobId: job.id, failureLog: true })).body;
  assert.equal(failures.length, 3);
  assert.deepEqual((await ok('GET', `/history/job-log/count?processInstanceId=${pi.id}`)).body, { count: 5 });
  assert.deepEqual((await ok('POST', '/history/job-log/count', { successLog: true })).body, { count: 1 });
  assert.deepEqual((await ok('GET', `/history/job-log/${log[1].id}`)).body, log[1]);
  assert.match((await ok('GET', `/history/job-log/${log[1].id}/stacktrace`)).text, /card declined/);
  await ok('GET', `/history/job-log/${log[0].id}/stacktrace`, undefined, 204);
  await error('GET', '/history/job-log/nope', 404, 'InvalidRequestException', 'Historic job log with id nope does not exist');
  await error('GET', '/history/job-log/nope/stacktrace', 404, 'InvalidRequestException',
    'No historic job log found with id nope: historicJobLog is null');
});
