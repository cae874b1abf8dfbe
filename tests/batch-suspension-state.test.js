// instance-update-suspension-state batches (POST /process-instance/suspended-async),
// their synchronous twin (PUT /process-instance/suspended), single instances
// and process definitions (PUT /process-definition/{id}/suspended): what a
// suspension reaches, and that fetchAndLock and the job executor honour it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXT_PROCESS, MIN, T0, assertEngineError, deploy, newEngine } from './support/engine-helpers.js';
import { ASYNC, assertNewBatch, assertRejectedUnchanged, runBatches } from './support/batch-helpers.js';

const fetchAll = (engine) =>
  engine.fetchAndLock({ workerId: 'w', maxTasks: 100, topics: [{ topicName: 'work', lockDuration: 1000 }] });

test('suspended-async: ids and a query; the instances, their external tasks and history are suspended, fetchAndLock skips them', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const pis = [0, 1, 2].map((i) => engine.startProcessInstanceByKey('ext', { businessKey: `bk${i}` }).id);
    const batch = engine.setProcessInstancesSuspendedAsync({ suspended: true, processInstanceIds: [pis[0]], processInstanceQuery: { businessKey: 'bk1' } });
    assertNewBatch(batch, { type: 'instance-update-suspension-state', totalJobs: 2, now: T0 });
    assert.equal(engine.getProcessInstance(pis[0]).suspended, false, 'nothing before the batch runs');
    runBatches(engine, clock);
    assert.deepEqual(pis.map((id) => engine.getProcessInstance(id).suspended), [true, true, false]);
    assert.deepEqual(pis.map((id) => engine.getExternalTasks({ processInstanceId: id })[0].suspended), [true, true, false]);
    assert.deepEqual(pis.map((id) => engine.getHistoricProcessInstance(id).state), ['SUSPENDED', 'SUSPENDED', 'ACTIVE']);
    assert.deepEqual(fetchAll(engine).map((t) => t.processInstanceId), [pis[2]]);
    const activate = engine.setProcessInstancesSuspendedAsync({ suspended: false, historicProcessInstanceQuery: { processInstanceBusinessKeyIn: ['bk0', 'bk1'] } });
    runBatches(engine, clock);
    assert.ok(activate.id);
    assert.deepEqual(pis.map((id) => engine.getHistoricProcessInstance(id).state), ['ACTIVE', 'ACTIVE', 'ACTIVE']);
    clock.advance(2000);
    assert.equal(fetchAll(engine).length, 3);
  } finally {
    engine.close();
  }
});

test('the job executor skips the jobs of suspended instances until they are activated', async () => {
  const { engine, executed } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const [a, b] = [0, 1].map(() => engine.startProcessInstanceByKey('async').id);
    assert.equal(engine.setProcessInstancesSuspended({ suspended: true, processInstanceIds: [a, 'unknown'] }), null);
    assert.equal(engine.getJobs({ processInstanceId: a })[0].suspended, true);
    engine.executeDueJobs({ maxJobs: 10 });
    assert.deepEqual(executed, ['svc'], 'only the active instance\'s job ran');
    assert.equal(engine.getProcessInstance(a).suspended, true);
    assert.equal(engine.getHistoricProcessInstance(b).state, 'COMPLETED');
    assert.equal(engine.setProcessInstanceSuspended(a, { suspended: false }), null);
    engine.executeDueJobs({ maxJobs: 10 });
    assert.equal(engine.getHistoricProcessInstance(a).state, 'COMPLETED');
    assert.equal(engine.setProcessInstanceSuspended('unknown', { suspended: true }), null, 'an unknown id changes nothing');
  } finally {
    engine.close();
  }
});

test('suspension: upstream\'s checks and messages, async and sync', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    engine.startProcessInstanceByKey('ext');
    const invalid = (message) => ({ status: 400, type: 'InvalidRequestException', message });
    assertRejectedUnchanged(engine, () => engine.setProcessInstancesSuspendedAsync({ suspended: true }),
      invalid('Either processInstanceIds, processInstanceQuery or historicProcessInstanceQuery should be set to update the suspension state.'));
    assertRejectedUnchanged(engine, () => engine.setProcessInstancesSuspendedAsync({ suspended: true, processInstanceIds: [] }),
      invalid('No process instance ids given: process Instance Ids is empty'));
    assertRejectedUnchanged(engine, () => engine.setProcessInstancesSuspendedAsync({ suspended: true, processInstanceIds: ['a', null] }),
      invalid('Cannot be null.: Process Instance ids contains null value'));
    assertRejectedUnchanged(engine, () => engine.setProcessInstancesSuspended({ suspended: true, processInstanceQuery: { businessKey: 'none' } }),
      { status: 400, type: 'BadUserRequestException', message: 'No process instance ids given: Process Instance ids is empty' });
    assertRejectedUnchanged(engine, () => engine.setProcessInstancesSuspended({ suspended: true }),
      invalid('Either processDefinitionId or processDefinitionKey should be set to update the suspension state.'));
    assertRejectedUnchanged(engine, () => engine.setProcessInstancesSuspended({ suspended: true, processDefinitionId: 'x', processDefinitionKey: 'ext' }),
      invalid('Only one of processDefinitionId or processDefinitionKey should be set to update the suspension state.'));
    assertRejectedUnchanged(engine, () => engine.setProcessInstancesSuspended({ suspended: true, processDefinitionKey: 'ext', processInstanceIds: ['a'] }),
      invalid('Choose either a single processInstance with processDefinitionId or processDefinitionKey or a group of processInstances with processInstanceIds, procesInstanceQuery or historicProcessInstanceQuery.'));
  } finally {
    engine.close();
  }
});

test('PUT /process-instance/suspended by definition key suspends every instance of its versions', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const a = engine.startProcessInstanceByKey('ext').id;
    deploy(engine, { ...EXT_PROCESS, name: 'v2' });
    const b = engine.startProcessInstanceByKey('ext').id;
    assert.equal(engine.setProcessInstancesSuspended({ suspended: true, processDefinitionKey: 'ext' }), null);
    assert.deepEqual([a, b].map((id) => engine.getProcessInstance(id).suspended), [true, true]);
    assert.equal(engine.getProcessDefinitions({ key: 'ext' }).every((d) => !d.suspended), true, 'the definitions stay active');
    const [v1] = engine.getProcessDefinitions({ key: 'ext', version: 1 });
    engine.setProcessInstancesSuspended({ suspended: false, processDefinitionId: v1.id });
    assert.deepEqual([a, b].map((id) => engine.getProcessInstance(id).suspended), [false, true]);
  } finally {
    engine.close();
  }
});

test('PUT /process-definition/{id}/suspended: the definition and its job definitions; with includeProcessInstances its instances and jobs too', async () => {
  const { engine, executed } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const [def] = engine.getProcessDefinitions({ key: 'async' });
    const a = engine.startProcessInstanceByKey('async').id;
    assert.equal(engine.setProcessDefinitionSuspended(def.id, { suspended: true }), null);
    assert.equal(engine.getProcessDefinition(def.id).suspended, true);
    assert.ok(engine.getJobDefinitions({ processDefinitionId: def.id }).every((jd) => jd.suspended));
    assert.equal(engine.getProcessInstance(a).suspended, false, 'instances only with includeProcessInstances');
    assertEngineError(() => engine.startProcessInstanceByKey('async'), {
      status: 500, type: 'RestException',
      message: `Cannot instantiate process definition ${def.id}: Process definition with id '${def.id}' is suspended`,
    });
    engine.setProcessDefinitionSuspended(def.id, { suspended: true, includeProcessInstances: true });
    assert.equal(engine.getProcessInstance(a).suspended, true);
    assert.equal(engine.getJobs({ processInstanceId: a })[0].suspended, true);
    engine.executeDueJobs({ maxJobs: 10 });
    assert.deepEqual(executed, []);
    engine.setProcessDefinitionSuspended(def.id, { suspended: false, includeProcessInstances: true });
    engine.executeDueJobs({ maxJobs: 10 });
    assert.deepEqual(executed, ['svc']);
    assert.equal(engine.setProcessDefinitionSuspended('unknown', { suspended: true }), null, 'an unknown id changes nothing');
  } finally {
    engine.close();
  }
});

test('PUT /process-definition/suspended with an executionDate: a timer job changes the state at that date', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const a = engine.startProcessInstanceByKey('ext').id;
    const at = new Date(T0 + 10 * MIN).toISOString().replace('Z', '+0000');
    assert.equal(engine.setProcessDefinitionsSuspended({ processDefinitionKey: 'ext', suspended: true, includeProcessInstances: true, executionDate: at }), null);
    assert.equal(engine.getProcessInstance(a).suspended, false);
    const [timer] = engine.getJobs({ processInstanceId: undefined }).filter((j) => j.processInstanceId === null);
    assert.equal(timer.dueDate, at);
    engine.executeDueJobs({ maxJobs: 10 });
    assert.equal(engine.getProcessInstance(a).suspended, false, 'not due yet');
    clock.advance(10 * MIN);
    engine.executeDueJobs({ maxJobs: 10 });
    assert.equal(engine.getProcessInstance(a).suspended, true);
    assert.equal(engine.getProcessDefinitions({ key: 'ext' })[0].suspended, true);
    assert.equal(engine.getJobsCount().count, 0, 'the timer job is done');
    assertRejectedUnchanged(engine, () => engine.setProcessDefinitionsSuspended({ suspended: true }), {
      status: 400, type: 'InvalidRequestException',
      message: 'Either processDefinitionId or processDefinitionKey should be set to update the suspension state.',
    });
  } finally {
    engine.close();
  }
});

test('a locked external task of a suspended instance cannot be completed, failed or extended (ENGINE-03043)', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const id = engine.startProcessInstanceByKey('ext').id;
    const [task] = fetchAll(engine);
    engine.setProcessInstanceSuspended(id, { suspended: true });
    const suspended = { status: 500, type: 'SuspendedEntityInteractionException', message: `ENGINE-03043 ExternalTask with id '${task.id}' is suspended.` };
    assertRejectedUnchanged(engine, () => engine.completeExternalTask(task.id, { workerId: 'w' }), suspended);
    assertRejectedUnchanged(engine, () => engine.handleExternalTaskFailure(task.id, { workerId: 'w', errorMessage: 'x', retries: 1 }), suspended);
    assertRejectedUnchanged(engine, () => engine.extendExternalTaskLock(task.id, { workerId: 'w', newDuration: 1000 }), suspended);
    assertRejectedUnchanged(engine, () => engine.completeExternalTask(task.id, { workerId: 'other' }), {
      status: 400, type: 'RestException', message: `External Task ${task.id} cannot be completed by worker 'other'. It is locked by worker 'w'.`,
    });
    engine.setProcessInstanceSuspended(id, { suspended: false });
    assert.equal(engine.completeExternalTask(task.id, { workerId: 'w' }), null);
    assert.equal(engine.getHistoricProcessInstance(id).state, 'COMPLETED');
  } finally {
    engine.close();
  }
});
