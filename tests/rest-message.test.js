// Messages over REST: BPMN message start events, intermediate message catch
// events and receive tasks (bpmn-moddle), POST /message and
// POST /process-instance/message-async, responses checked against the OpenAPI.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { parseBpmn } from '../bindings/bpmn.js';
import { deploy, startServer } from './support/rest-helpers.js';

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs-msg" targetNamespace="http://example.com/rebatch">
  <bpmn:message id="m-go" name="go" />
  <bpmn:message id="m-done" name="done" />
  <bpmn:message id="m-order" name="order" />
  <bpmn:process id="shipping" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:startEvent id="byOrder"><bpmn:messageEventDefinition messageRef="m-order" /></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:sequenceFlow id="f0" sourceRef="byOrder" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="m-go" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="recv" />
    <bpmn:receiveTask id="recv" messageRef="m-done" />
    <bpmn:sequenceFlow id="f3" sourceRef="recv" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

let srv;
before(async () => {
  srv = await startServer({ jobExecutor: false, config: { batchPollTime: 0 } });
  const d = await deploy(srv.api, { 'shipping.bpmn': XML });
  assert.equal(d.status, 200, d.text);
});
after(() => srv.close());

const ok = async (method, path, body, status = 200) => {
  const r = await srv.api(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r.body;
};
const at = async (id) => (await ok('GET', `/process-instance/${id}/activity-instances`)).childActivityInstances.map((c) => c.activityId);

test('bpmn.js reads message names of start events, catch events and receive tasks', async () => {
  const { processes: [p] } = await parseBpmn(XML);
  const byId = Object.fromEntries(p.activities.map((a) => [a.id, a]));
  assert.equal(byId.byOrder.messageName, 'order');
  assert.equal(byId.wait.messageName, 'go');
  assert.equal(byId.recv.messageName, 'done');
  await assert.rejects(parseBpmn(XML.replace('<bpmn:message id="m-go" name="go" />', '<bpmn:message id="m-go" />')),
    /intermediateCatchEvent 'wait' with a messageEventDefinition without a message name/);
});

test('POST /message: start by message, then the waiting tokens; errors', async () => {
  const [started] = await ok('POST', '/message', { messageName: 'order', businessKey: 'o1', resultEnabled: true });
  assert.equal(started.resultType, 'ProcessDefinition');
  const pi = started.processInstance.id;
  assert.deepEqual(await at(pi), ['wait']);
  await ok('POST', '/message', { messageName: 'go', businessKey: 'o1' }, 204);
  assert.deepEqual(await at(pi), ['recv']);
  const [r] = await ok('POST', '/message', { messageName: 'done', processInstanceId: pi, resultEnabled: true, variablesInResultEnabled: true,
    processVariables: { ok: { value: true, type: 'Boolean' } } });
  assert.equal(r.execution.processInstanceId, pi);
  assert.equal(r.variables.ok.value, true);
  assert.equal((await ok('GET', `/history/process-instance/${pi}`)).state, 'COMPLETED');

  const nobody = await srv.api('POST', '/message', { messageName: 'nobody' });
  assert.equal(nobody.status, 400);
  assert.deepEqual(nobody.body, { type: 'RestException', code: 0,
    message: "org.camunda.bpm.engine.MismatchingMessageCorrelationException: Cannot correlate message 'nobody': No process definition or execution matches the parameters" });
  const noName = await srv.api('POST', '/message', { businessKey: 'x' });
  assert.deepEqual([noName.status, noName.body.type, noName.body.message], [400, 'InvalidRequestException', 'No message name supplied']);
});

test('POST /process-instance/message-async', async () => {
  const ids = [];
  for (let i = 0; i < 2; i++) ids.push((await ok('POST', '/process-definition/key/shipping/start', { businessKey: `a${i}` })).id);
  const batch = await ok('POST', '/process-instance/message-async', {
    messageName: 'go', processInstanceQuery: { businessKeyLike: 'a%' }, variables: { seen: { value: 1 } },
  });
  assert.equal(batch.type, 'correlate-message');
  assert.equal(batch.totalJobs, 2);
  for (let i = 0; i < 20; i++) {
    const jobs = await ok('GET', '/job?executable=true');
    if (!jobs.length) break;
    for (const j of jobs) await ok('POST', `/job/${j.id}/execute`, undefined, 204);
  }
  for (const id of ids) assert.deepEqual(await at(id), ['recv']);
  assert.equal((await ok('GET', `/process-instance/${ids[0]}/variables/seen`)).value, 1);
});
