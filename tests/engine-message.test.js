// Message correlation: message start events, intermediate message catch
// events and receive tasks; POST /message and the correlate-message batch
// (POST /process-instance/message-async), through the JS engine API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { T0, deploy, linear, newEngine } from './support/engine-helpers.js';
import { assertNewBatch, assertRejectedUnchanged, runBatches } from './support/batch-helpers.js';

// start -> wait (message catch "go") -> recv (receive task "done") -> end
const WAITS = linear('waits', [
  { id: 'wait', type: 'intermediateCatchEvent', messageName: 'go' },
  { id: 'recv', type: 'receiveTask', messageName: 'done' },
]);
// started by the message "order" (or at its none start event)
const ORDERS = {
  key: 'orders',
  activities: [
    { id: 'none', type: 'startEvent' },
    { id: 'byMessage', type: 'startEvent', messageName: 'order' },
    { id: 'task', type: 'userTask' },
    { id: 'end', type: 'endEvent' },
  ],
  flows: [
    { id: 'f1', source: 'none', target: 'task' },
    { id: 'f2', source: 'byMessage', target: 'task' },
    { id: 'f3', source: 'task', target: 'end' },
  ],
};

async function setup() {
  const { engine, clock } = await newEngine();
  deploy(engine, WAITS, ORDERS);
  return { engine, clock };
}
const at = (engine, id) => engine.getActivityInstanceTree(id).childActivityInstances.map((c) => c.activityId);
const start = (engine, businessKey, x) =>
  engine.startProcessInstanceByKey('waits', { businessKey, variables: x === undefined ? {} : { x: { value: x } } }).id;

test('a message reaches the one waiting token: by business key, correlation keys, process instance id; variables set; result', async () => {
  const { engine } = await setup();
  try {
    const p1 = start(engine, 'b1', 1);
    const p2 = start(engine, 'b2', 2);
    assert.deepEqual(at(engine, p1), ['wait']);
    assert.equal(engine.getHistoricActivityInstances({ activityId: 'wait' })[0].activityType, 'intermediateMessageCatch');
    assert.equal(engine.getJobs().length, 0, 'a message catch event has no job');

    assert.equal(engine.correlateMessage({ messageName: 'go', businessKey: 'b1' }), null, '204 without resultEnabled');
    assert.deepEqual(at(engine, p1), ['recv']);
    assert.deepEqual(at(engine, p2), ['wait']);

    const [r] = engine.correlateMessage({
      messageName: 'go', correlationKeys: { x: { value: 2, type: 'Integer' } },
      processVariables: { y: { value: 'hi' } }, resultEnabled: true, variablesInResultEnabled: true,
    });
    assert.deepEqual(Object.keys(r), ['resultType', 'execution', 'processInstance', 'variables']);
    assert.equal(r.resultType, 'Execution');
    assert.deepEqual(r.execution, { id: p2, processInstanceId: p2, ended: false, tenantId: null });
    assert.equal(r.processInstance, null);
    assert.equal(r.variables.y.value, 'hi');
    assert.equal(engine.getProcessInstanceVariable(p2, 'y').value, 'hi');

    engine.correlateMessage({ messageName: 'done', processInstanceId: p1 });
    assert.equal(engine.getHistoricProcessInstance(p1).state, 'COMPLETED');
  } finally {
    engine.close();
  }
});

test('no match, several matches: upstream\'s MismatchingMessageCorrelationException as a 400 RestException; nothing written', async () => {
  const { engine } = await setup();
  try {
    start(engine, 'b1', 1);
    start(engine, 'b1', 1);
    assertRejectedUnchanged(engine, () => engine.correlateMessage({ messageName: 'nobody' }), {
      status: 400, type: 'RestException',
      message: "org.camunda.bpm.engine.MismatchingMessageCorrelationException: Cannot correlate message 'nobody': No process definition or execution matches the parameters",
    });
    assertRejectedUnchanged(engine, () => engine.correlateMessage({ messageName: 'go', businessKey: 'b1', correlationKeys: { x: { value: 1 } } }), {
      status: 400, type: 'RestException',
      message: "org.camunda.bpm.engine.MismatchingMessageCorrelationException: ENGINE-13031 Cannot correlate a message with name 'go' to a single execution. 2 executions match the correlation keys: CorrelationSet [businessKey=b1, processInstanceId=null, processDefinitionId=null, correlationKeys={x=1}, localCorrelationKeys=null, tenantId=null, isTenantIdSet=false, isExecutionsOnly=false]",
    });
    const bad = (body, message) => assertRejectedUnchanged(engine, () => engine.correlateMessage(body), { status: 400, type: 'InvalidRequestException', message });
    bad({ businessKey: 'b1' }, 'No message name supplied');
    bad({ messageName: 'go', tenantId: 't', withoutTenantId: true }, "Parameter 'tenantId' cannot be used together with parameter 'withoutTenantId'.");
    bad({ messageName: 'go', variablesInResultEnabled: true }, "Parameter 'variablesInResultEnabled' cannot be used without 'resultEnabled' set to true.");
    // all: every waiting token, no error for none
    const rs = engine.correlateMessage({ messageName: 'go', all: true, resultEnabled: true });
    assert.equal(rs.length, 2);
    assert.deepEqual(engine.correlateMessage({ messageName: 'nobody', all: true, resultEnabled: true }), []);
  } finally {
    engine.close();
  }
});

test('a message start event starts the latest version with the business key and variables', async () => {
  const { engine } = await setup();
  try {
    deploy(engine, ORDERS); // version 2 of orders
    const [r] = engine.correlateMessage({ messageName: 'order', businessKey: 'o1', processVariables: { n: { value: 3 } }, resultEnabled: true });
    assert.equal(r.resultType, 'ProcessDefinition');
    assert.equal(r.execution, null);
    assert.equal(r.processInstance.businessKey, 'o1');
    assert.equal(r.processInstance.ended, false);
    const inst = engine.getProcessInstance(r.processInstance.id);
    const def = engine.getProcessDefinition(inst.definitionId);
    assert.equal(def.version, 2);
    assert.equal(engine.getHistoricProcessInstance(inst.id).startActivityId, 'byMessage');
    assert.equal(engine.getHistoricActivityInstances({ processInstanceId: inst.id, activityId: 'byMessage' })[0].activityType, 'messageStartEvent');
    assert.equal(engine.getProcessInstanceVariable(inst.id, 'n').value, 3);
    // the none start event stays the one a plain start uses
    const plain = engine.startProcessInstanceByKey('orders', {});
    assert.equal(engine.getHistoricProcessInstance(plain.id).startActivityId, 'none');
  } finally {
    engine.close();
  }
});

test('message-async: a correlate-message batch over ids and a query; each instance\'s waiting tokens get the message and the variables', async () => {
  const { engine, clock } = await setup();
  try {
    const ids = [start(engine, 'a'), start(engine, 'b'), start(engine, 'c')];
    clock.advance(1000);
    const batch = engine.correlateMessageAsync({
      messageName: 'go', processInstanceIds: [ids[0], 'unknown'], processInstanceQuery: { businessKey: 'b' },
      variables: { v: { value: true } },
    });
    // the unknown id is an item too (the unknown deployment's group), whose job finds nothing
    assertNewBatch(batch, { type: 'correlate-message', totalJobs: 3, now: T0 + 1000 });
    runBatches(engine, clock);
    assert.equal(engine.getIncidentsCount().count, 0);
    assert.equal(engine.getHistoricBatch(batch.id).endTime !== null, true);
    assert.deepEqual(at(engine, ids[0]), ['recv']);
    assert.deepEqual(at(engine, ids[1]), ['recv']);
    assert.deepEqual(at(engine, ids[2]), ['wait']);
    assert.equal(engine.getProcessInstanceVariable(ids[0], 'v').value, true);
    assertRejectedUnchanged(engine, () => engine.correlateMessageAsync({ messageName: 'go' }),
      { status: 400, type: 'InvalidRequestException', message: 'No process instances found.' });
    assertRejectedUnchanged(engine, () => engine.correlateMessageAsync({ messageName: 'go', processInstanceIds: [] }),
      { status: 400, type: 'BadUserRequestException', message: 'Process instance ids cannot be empty: process instance ids is empty' });
  } finally {
    engine.close();
  }
});

test('modification cancels a waiting message catch event; the message then finds nothing', async () => {
  const { engine } = await setup();
  try {
    const pi = start(engine, 'm');
    engine.modifyProcessInstance(pi, { instructions: [{ type: 'startBeforeActivity', activityId: 'recv' }, { type: 'cancel', activityId: 'wait' }] });
    assert.deepEqual(at(engine, pi), ['recv']);
    assert.throws(() => engine.correlateMessage({ messageName: 'go', processInstanceId: pi }), /No process definition or execution matches/);
  } finally {
    engine.close();
  }
});
