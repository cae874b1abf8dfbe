// GET /event-subscription and its count: the message subscriptions of
// waiting tokens (intermediate message catch events, receive tasks) and of
// the latest versions' message start events, as EventSubscriptionDto,
// checked against the OpenAPI; they follow correlation, deletion,
// migration and redeployment.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { deploy, startServer } from './support/rest-helpers.js';

const xml = (goName) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs-sub" targetNamespace="http://example.com/rebatch">
  <bpmn:message id="m-go" name="${goName}" />
  <bpmn:message id="m-done" name="done" />
  <bpmn:message id="m-order" name="order" />
  <bpmn:process id="subs" isExecutable="true">
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
let v1;
before(async () => {
  srv = await startServer({ jobExecutor: false });
  [v1] = Object.values((await deploy(srv.api, { 'subs.bpmn': xml('go') })).body.deployedProcessDefinitions);
});
after(() => srv.close());

const ok = async (path, status = 200, method = 'GET', body = undefined) => {
  const r = await srv.api(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r.body;
};
const start = async () => (await ok(`/process-definition/${v1.id}/start`, 200, 'POST', {})).id;

test('a waiting token is a message subscription of its instance; the start event one has no instance', async () => {
  const before = Date.now();
  const pi = await start();
  const [sub] = await ok(`/event-subscription?processInstanceId=${pi}`);
  const tree = await ok(`/process-instance/${pi}/activity-instances`);
  const waiting = tree.childActivityInstances[0];
  assert.deepEqual({ ...sub, createdDate: undefined }, {
    id: waiting.id, eventType: 'message', eventName: 'go', executionId: waiting.executionIds[0],
    processInstanceId: pi, activityId: 'wait', createdDate: undefined, tenantId: null,
  });
  assert.ok(Date.parse(sub.createdDate) >= before - 1000, sub.createdDate);
  const [startSub] = await ok('/event-subscription?eventName=order');
  assert.equal(startSub.activityId, 'byOrder');
  assert.equal(startSub.processInstanceId, null);
  assert.equal(startSub.executionId, null);
  assert.equal(startSub.eventType, 'message');
  assert.deepEqual(await ok(`/event-subscription?eventSubscriptionId=${encodeURIComponent(sub.id)}`), [sub]);
  assert.equal((await ok(`/event-subscription/count?activityId=wait&processInstanceId=${pi}`)).count, 1);
  assert.equal((await ok('/event-subscription/count?eventType=signal')).count, 0);
});

test('subscriptions follow the token: correlation moves it to the receive task, deletion removes it', async () => {
  const pi = await start();
  await ok('/message', 204, 'POST', { messageName: 'go', processInstanceId: pi });
  assert.deepEqual((await ok(`/event-subscription?processInstanceId=${pi}`)).map((s) => [s.activityId, s.eventName]), [['recv', 'done']]);
  await ok(`/process-instance/${pi}`, 204, 'DELETE');
  assert.equal((await ok(`/event-subscription/count?processInstanceId=${pi}`)).count, 0);
});

test('a new version takes the start event subscription over; migrated tokens wait on the target\'s message', async () => {
  const pi = await start();
  const [v2] = Object.values((await deploy(srv.api, { 'subs.bpmn': xml('go2') })).body.deployedProcessDefinitions);
  const starts = await ok('/event-subscription?eventName=order');
  assert.equal(starts.length, 1);
  assert.ok(starts[0].id.startsWith(v2.id), starts[0].id);
  const plan = await ok('/migration/generate', 200, 'POST', { sourceProcessDefinitionId: v1.id, targetProcessDefinitionId: v2.id, updateEventTriggers: true });
  // both the catch event and the receive task declare a message subscription of their own
  assert.deepEqual(plan.instructions.map((i) => [i.sourceActivityIds[0], i.updateEventTrigger]), [['wait', true], ['recv', true]]);
  await ok('/migration/execute', 204, 'POST', { migrationPlan: plan, processInstanceIds: [pi] });
  assert.deepEqual((await ok(`/event-subscription?processInstanceId=${pi}`)).map((s) => s.eventName), ['go2']);
});

test('sorting, paging and the query checks', async () => {
  const all = await ok('/event-subscription?sortBy=created&sortOrder=asc');
  const dates = all.map((s) => Date.parse(s.createdDate));
  assert.deepEqual(dates, [...dates].sort((a, b) => a - b));
  assert.equal((await ok('/event-subscription?firstResult=1&maxResults=1')).length, Math.min(1, all.length - 1));
  assert.equal((await ok('/event-subscription/count')).count, all.length);
  assert.deepEqual(await ok('/event-subscription?withoutTenantId=true&eventName=nothing'), []);
  for (const [query, message] of [
    ['sortBy=nope&sortOrder=asc', "Cannot set query parameter 'sortBy' to value 'nope'"],
    ['withoutTenantId=maybe', "Cannot set query parameter 'withoutTenantId' to value 'maybe': Cannot convert value maybe to java type java.lang.Boolean"],
    ['includeEventSubscriptionsWithoutTenantId=true', "Query parameter 'includeEventSubscriptionsWithoutTenantId' is not supported by rebatch"],
  ]) {
    const r = await srv.api('GET', `/event-subscription?${query}`);
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.body, { type: 'InvalidRequestException', message, code: null });
  }
});

test('migrated without updateEventTrigger, a waiting token keeps the source\'s message name until it moves on', async () => {
  const [source] = Object.values((await deploy(srv.api, { 'subs.bpmn': xml('ping') })).body.deployedProcessDefinitions);
  const [target] = Object.values((await deploy(srv.api, { 'subs.bpmn': xml('pong') })).body.deployedProcessDefinitions);
  const pi = (await ok(`/process-definition/${source.id}/start`, 200, 'POST', {})).id;
  const plan = await ok('/migration/generate', 200, 'POST', { sourceProcessDefinitionId: source.id, targetProcessDefinitionId: target.id });
  assert.equal(plan.instructions.find((i) => i.sourceActivityIds[0] === 'wait').updateEventTrigger, false);
  await ok('/migration/execute', 204, 'POST', { migrationPlan: plan, processInstanceIds: [pi] });
  assert.deepEqual((await ok(`/event-subscription?processInstanceId=${pi}`)).map((s) => [s.activityId, s.eventName]), [['wait', 'ping']]);
  const mismatch = await srv.api('POST', '/message', { messageName: 'pong', processInstanceId: pi });
  assert.equal(mismatch.status, 400, mismatch.text);
  await ok('/message', 204, 'POST', { messageName: 'ping', processInstanceId: pi });
  assert.deepEqual((await ok(`/event-subscription?processInstanceId=${pi}`)).map((s) => [s.activityId, s.eventName]), [['recv', 'done']]);
});
