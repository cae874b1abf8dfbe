// Process instance modification: POST /process-instance/{id}/modification,
// POST /modification/execute and the instance-modification batch
// (POST /modification/executeAsync), through the JS engine API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { T0, deploy, linear, newEngine } from './support/engine-helpers.js';
import { assertNewBatch, assertRejectedUnchanged, runBatches } from './support/batch-helpers.js';

// start -f1-> a (user task) -f2-> b (user task) -f3-> c (external, asyncBefore) -f4-> end
const MOD = linear('mod', [
  { id: 'a', type: 'userTask', name: 'A' },
  { id: 'b', type: 'userTask' },
  { id: 'c', type: 'serviceTask', topic: 'c', asyncBefore: true },
]);

async function setup(n = 1) {
  const { engine, clock } = await newEngine();
  const [def] = Object.values(deploy(engine, MOD).deployedProcessDefinitions);
  const ids = [];
  for (let i = 0; i < n; i++) ids.push(engine.startProcessInstanceByKey('mod', { businessKey: `k${i}` }).id);
  return { engine, clock, def, ids };
}

const tree = (engine, id) => engine.getActivityInstanceTree(id);
const children = (t) => [
  ...t.childActivityInstances.map((c) => `${c.activityId}`),
  ...t.childTransitionInstances.map((c) => `~${c.activityId}`),
].sort();
const acts = (engine, id, extra = {}) =>
  engine.getHistoricActivityInstances({ processInstanceId: id, sortBy: 'startTime', sortOrder: 'asc', ...extra });

test('startBeforeActivity with variables adds a concurrent activity instance; cancel by activity instance ends it canceled in history', async () => {
  const { engine, clock, ids: [pi] } = await setup();
  try {
    clock.advance(1000);
    engine.modifyProcessInstance(pi, {
      skipCustomListeners: true, skipIoMappings: true, annotation: 'why',
      instructions: [{ type: 'startBeforeActivity', activityId: 'b', variables: { v: { value: 7, type: 'Integer', local: false } } }],
    });
    const t = tree(engine, pi);
    assert.deepEqual(children(t), ['a', 'b']);
    assert.equal(engine.getProcessInstanceVariable(pi, 'v').value, 7);
    const a = t.childActivityInstances.find((c) => c.activityId === 'a');
    const b = t.childActivityInstances.find((c) => c.activityId === 'b');
    assert.notEqual(a.executionIds[0], b.executionIds[0], 'a new execution');

    clock.advance(1000);
    engine.modifyProcessInstance(pi, { instructions: [{ type: 'cancel', activityInstanceId: a.id }] });
    assert.deepEqual(children(tree(engine, pi)), ['b']);
    const hist = acts(engine, pi, { activityId: 'a' });
    assert.equal(hist.length, 1);
    assert.equal(hist[0].canceled, true);
    assert.ok(hist[0].endTime);
    assert.equal(engine.getProcessInstance(pi).id, pi, 'still running');
  } finally {
    engine.close();
  }
});

test('cancel by activityId of the only activity ends the instance EXTERNALLY_TERMINATED; start instructions first keep it running', async () => {
  const { engine, ids: [p1, p2] } = await setup(2);
  try {
    engine.modifyProcessInstance(p1, { instructions: [{ type: 'cancel', activityId: 'a' }] });
    assert.equal(engine.getProcessInstancesCount().count, 1);
    const h = engine.getHistoricProcessInstance(p1);
    assert.equal(h.state, 'EXTERNALLY_TERMINATED');
    assert.ok(h.endTime);
    assert.equal(acts(engine, p1, { activityId: 'a' })[0].canceled, true);

    // cancel, then start: the instance lives on at the new activity (upstream's order of instructions)
    engine.modifyProcessInstance(p2, {
      instructions: [{ type: 'cancel', activityId: 'a' }, { type: 'startAfterActivity', activityId: 'a' }],
    });
    assert.deepEqual(children(tree(engine, p2)), ['b']);
    assert.equal(tree(engine, p2).childActivityInstances[0].executionIds[0], p2, 'the instance execution carries on');
    assert.equal(engine.getHistoricProcessInstance(p2).state, 'ACTIVE');
  } finally {
    engine.close();
  }
});

test('startTransition and asyncBefore: a transition instance with its job, cancelled by transitionInstanceId', async () => {
  const { engine, ids: [pi] } = await setup();
  try {
    engine.modifyProcessInstance(pi, { instructions: [{ type: 'startTransition', transitionId: 'f3' }] });
    const t = tree(engine, pi);
    assert.deepEqual(children(t), ['a', '~c']);
    const [job] = engine.getJobs({ processInstanceId: pi });
    assert.equal(job.executionId, t.childTransitionInstances[0].executionId);
    engine.modifyProcessInstance(pi, { instructions: [{ type: 'cancel', transitionInstanceId: t.childTransitionInstances[0].id }] });
    assert.deepEqual(children(tree(engine, pi)), ['a']);
    assert.equal(engine.getJobs({ processInstanceId: pi }).length, 0, 'its job is gone');
    // the external task of a cancelled activity goes too
    engine.modifyProcessInstance(pi, { instructions: [{ type: 'startAfterActivity', activityId: 'b' }] });
    for (const j of engine.getJobs({ processInstanceId: pi })) engine.executeJob(j.id);
    assert.equal(engine.getExternalTasks({ processInstanceId: pi }).length, 1);
    engine.modifyProcessInstance(pi, { instructions: [{ type: 'cancel', activityId: 'c' }] });
    assert.equal(engine.getExternalTasks({ processInstanceId: pi }).length, 0);
    assert.deepEqual(children(tree(engine, pi)), ['a']);
  } finally {
    engine.close();
  }
});

test('cancelling the process instance activity instance ends every token; starting before the end event completes it', async () => {
  const { engine, ids: [p1, p2] } = await setup(2);
  try {
    engine.modifyProcessInstance(p1, { instructions: [{ type: 'startBeforeActivity', activityId: 'b' }, { type: 'cancel', activityInstanceId: p1 }] });
    assert.equal(engine.getHistoricProcessInstance(p1).state, 'EXTERNALLY_TERMINATED');
    assert.equal(acts(engine, p1, { canceled: true }).length, 2);
    engine.modifyProcessInstance(p2, { instructions: [{ type: 'cancel', activityId: 'a' }, { type: 'startBeforeActivity', activityId: 'end' }] });
    assert.equal(engine.getHistoricProcessInstance(p2).state, 'COMPLETED');
  } finally {
    engine.close();
  }
});

test('modification: validation in upstream order and messages, nothing written', async () => {
  const { engine, def, ids: [pi] } = await setup();
  try {
    const bad = (body, status, type, message) => assertRejectedUnchanged(engine, () => engine.modifyProcessInstance(pi, body), { status, type, message });
    bad({ instructions: [{ type: 'nope' }] }, 400, 'InvalidRequestException', '');
    bad({ instructions: [{ activityId: 'a' }] }, 400, 'InvalidRequestException', '');
    bad({ instructions: [{ type: 'startBeforeActivity' }] }, 400, 'InvalidRequestException', "For instruction type 'startBeforeActivity': 'activityId' must be set");
    bad({ instructions: [{ type: 'startAfterActivity' }] }, 400, 'InvalidRequestException', "For instruction type 'startAfterActivity': 'activityId' must be set");
    bad({ instructions: [{ type: 'startTransition' }] }, 400, 'InvalidRequestException', "For instruction type 'startTransition': 'transitionId' must be set");
    const one = "For instruction type 'cancel': exactly one, 'activityId', 'activityInstanceId', or 'transitionInstanceId', is required";
    bad({ instructions: [{ type: 'cancel' }] }, 400, 'InvalidRequestException', one);
    bad({ instructions: [{ type: 'cancel', activityId: 'a', activityInstanceId: 'x' }] }, 400, 'InvalidRequestException', one);
    // a later instruction's failure undoes the earlier ones
    bad({ instructions: [{ type: 'startBeforeActivity', activityId: 'b' }, { type: 'startBeforeActivity', activityId: 'zz' }] }, 400, 'NotValidException',
      `Cannot perform instruction: Start before activity 'zz'; Element 'zz' does not exist in process '${def.id}': element is null`);
    bad({ instructions: [{ type: 'startAfterActivity', activityId: 'zz' }] }, 400, 'NotValidException',
      "Cannot perform instruction: Start after activity 'zz'; Activity 'zz' does not exist: activity is null");
    bad({ instructions: [{ type: 'startAfterActivity', activityId: 'end' }] }, 500, 'ProcessEngineException',
      'Cannot start after activity end; activity has no outgoing sequence flow to take');
    bad({ instructions: [{ type: 'startTransition', transitionId: 'zz' }] }, 400, 'NotValidException',
      `Cannot perform instruction: Start transition 'zz'; Element 'zz' does not exist in process '${def.id}': element is null`);
    bad({ instructions: [{ type: 'cancel', activityInstanceId: 'zz' }] }, 400, 'NotValidException',
      "Cannot perform instruction: Cancel activity instance 'zz'; Activity instance 'zz' does not exist: activityInstance is null");
    bad({ instructions: [{ type: 'cancel', transitionInstanceId: 'zz' }] }, 400, 'NotValidException',
      "Cannot perform instruction: Cancel transition instance 'zz'; Transition instance 'zz' does not exist: transitionInstance is null");
    assertRejectedUnchanged(engine, () => engine.modifyProcessInstance('zz', { instructions: [{ type: 'cancel', activityId: 'a' }] }),
      { status: 500, type: 'ProcessEngineException', message: "ENGINE-13036 Process instance 'zz' cannot be modified. The process instance does not exist" });
    // no instructions: nothing to do, not even the instance check
    engine.modifyProcessInstance('zz', { instructions: [] });
    engine.modifyProcessInstance(pi, {});
    // cancelling an activity with no instances is no error
    engine.modifyProcessInstance(pi, { instructions: [{ type: 'cancel', activityId: 'b' }] });
    assert.deepEqual(children(tree(engine, pi)), ['a']);
  } finally {
    engine.close();
  }
});

test('POST /modification/execute: many instances, one definition; INTERNALLY_TERMINATED; upstream checks in order', async () => {
  const { engine, def, ids } = await setup(3);
  try {
    const bad = (body, status, type, message) => assertRejectedUnchanged(engine, () => engine.executeModification(body), { status, type, message });
    const instructions = [{ type: 'startBeforeActivity', activityId: 'b' }];
    bad({ instructions, processInstanceIds: ids }, 400, 'InvalidRequestException', 'processDefinitionId is null');
    bad({ processDefinitionId: def.id, instructions: [{ type: 'cancel', activityInstanceId: 'x' }], processInstanceIds: ids }, 400,
      'InvalidRequestException', "For instruction type 'cancel': 'activityId' must be set");
    bad({ processDefinitionId: def.id, processInstanceIds: ids }, 400, 'InvalidRequestException', 'Modification instructions cannot be empty is empty');
    bad({ processDefinitionId: def.id, instructions }, 400, 'InvalidRequestException', 'Process instance ids cannot be empty: Process instance ids is empty');
    bad({ processDefinitionId: def.id, instructions, processInstanceIds: [ids[0], null] }, 400, 'InvalidRequestException',
      'Process instance ids cannot be null: Process instance ids contains null value');
    bad({ processDefinitionId: 'nope', instructions, processInstanceIds: ids }, 400, 'InvalidRequestException',
      "no deployed process definition found with id 'nope': processDefinition is null");
    bad({ processDefinitionId: def.id, instructions, processInstanceIds: [ids[0], 'zz'] }, 500, 'ProcessEngineException',
      "ENGINE-13036 Process instance 'zz' cannot be modified. The process instance does not exist");

    engine.executeModification({
      processDefinitionId: def.id,
      instructions: [{ type: 'startBeforeActivity', activityId: 'b', variables: { ignored: { value: 1 } } }, { type: 'cancel', activityId: 'a' }],
      processInstanceIds: [ids[0]],
      processInstanceQuery: { businessKey: 'k1' },
    });
    for (const id of ids.slice(0, 2)) assert.deepEqual(children(tree(engine, id)), ['b']);
    assert.deepEqual(children(tree(engine, ids[2])), ['a'], 'not selected');
    assert.equal(engine.getProcessInstanceVariables(ids[0]).ignored, undefined, 'ModificationBuilder takes no variables');

    engine.executeModification({ processDefinitionId: def.id, instructions: [{ type: 'cancel', activityId: 'a' }], processInstanceIds: [ids[2]] });
    assert.equal(engine.getHistoricProcessInstance(ids[2]).state, 'INTERNALLY_TERMINATED');
  } finally {
    engine.close();
  }
});

test('cancelCurrentActiveActivityInstances cancels only the instances that were there before the first instruction', async () => {
  const { engine, def, ids: [pi] } = await setup();
  try {
    engine.executeModification({
      processDefinitionId: def.id, processInstanceIds: [pi],
      instructions: [{ type: 'startBeforeActivity', activityId: 'a' }, { type: 'cancel', activityId: 'a', cancelCurrentActiveActivityInstances: true }],
    });
    assert.deepEqual(children(tree(engine, pi)), ['a']);
    assert.equal(acts(engine, pi, { activityId: 'a', canceled: true }).length, 1);
    assert.equal(acts(engine, pi, { activityId: 'a', unfinished: true }).length, 1);
  } finally {
    engine.close();
  }
});

test('executeAsync: an instance-modification batch over ids and the historic query; a job per instance applies the instructions', async () => {
  const { engine, clock, def, ids } = await setup(3);
  try {
    clock.advance(1000);
    const batch = engine.executeModificationAsync({
      processDefinitionId: def.id,
      instructions: [{ type: 'startAfterActivity', activityId: 'a' }, { type: 'cancel', activityId: 'a' }],
      processInstanceIds: [ids[0]],
      historicProcessInstanceQuery: { processInstanceBusinessKey: 'k2' },
      skipCustomListeners: true,
    });
    assertNewBatch(batch, { type: 'instance-modification', totalJobs: 2, now: T0 + 1000 });
    assert.deepEqual(children(tree(engine, ids[0])), ['a'], 'nothing happens before the jobs run');
    runBatches(engine, clock);
    assert.deepEqual(children(tree(engine, ids[0])), ['b']);
    assert.deepEqual(children(tree(engine, ids[1])), ['a']);
    assert.deepEqual(children(tree(engine, ids[2])), ['b']);
    assert.ok(engine.getHistoricBatch(batch.id).endTime);
    assertRejectedUnchanged(engine, () => engine.executeModificationAsync({ processDefinitionId: def.id, instructions: [] , processInstanceIds: ids }),
      { status: 400, type: 'InvalidRequestException', message: 'Modification instructions cannot be empty is empty' });
  } finally {
    engine.close();
  }
});
