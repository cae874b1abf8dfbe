// instance-deletion batches: POST /process-instance/delete and
// .../delete-historic-query-based (DeleteProcessInstanceBatchCmd, its job
// handler with failIfNotExists false), and the synchronous
// DELETE /process-instance/{id}.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXT_PROCESS, T0, deploy, newEngine } from './support/engine-helpers.js';
import { ASYNC, assertNewBatch, assertRejectedUnchanged, batchJobs, failedJobs, record, runBatches } from './support/batch-helpers.js';

test('POST /process-instance/delete: ids and a runtime query, deleted as externally terminated with the reason', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const pis = [0, 1, 2, 3].map((i) => engine.startProcessInstanceByKey('ext', { businessKey: `bk${i}` }).id);
    const [task] = engine.fetchAndLock({ workerId: 'w', maxTasks: 1, topics: [{ topicName: 'work', lockDuration: 1000 }] });
    engine.handleExternalTaskFailure(task.id, { workerId: 'w', errorMessage: 'down', retries: 0 });
    assert.equal(engine.getIncidentsCount().count, 1);
    clock.advance(1000);
    const batch = engine.deleteProcessInstancesAsync({
      processInstanceIds: [pis[0], task.processInstanceId, 'unknown'],
      processInstanceQuery: { businessKey: 'bk2' },
      deleteReason: 'cleanup',
    });
    assertNewBatch(batch, { type: 'instance-deletion', totalJobs: 3 + (task.processInstanceId === pis[0] ? 0 : 1), now: T0 + 1000 });
    const deleted = [...new Set([pis[0], task.processInstanceId, pis[2]])];
    assert.equal(engine.getProcessInstancesCount().count, 4, 'nothing happens before the batch runs');
    runBatches(engine, clock);
    assert.deepEqual(engine.getProcessInstances().map((p) => p.id).sort(), pis.filter((p) => !deleted.includes(p)).sort());
    for (const id of deleted) {
      const hist = engine.getHistoricProcessInstance(id);
      assert.equal(hist.state, 'EXTERNALLY_TERMINATED');
      assert.equal(hist.deleteReason, 'cleanup');
      assert.ok(hist.endTime);
      assert.equal(engine.getExternalTasks({ processInstanceId: id }).length, 0);
      const [work] = engine.getHistoricActivityInstances({ processInstanceId: id, activityId: 'work' });
      assert.equal(work.canceled, true);
      assert.ok(work.endTime);
    }
    assert.equal(engine.getIncidentsCount().count, 0, 'the open incident goes with its instance');
    const [incident] = engine.getHistoricIncidents();
    assert.equal(incident.deleted, true);
    // the unknown id was skipped: no execution job failed
    assert.equal(engine.getJobs({ withException: true }).length, 0);
    assert.ok(engine.getHistoricBatch(batch.id).endTime);
  } finally {
    engine.close();
  }
});

test('delete-historic-query-based: the historic query selects; finished instances in it are skipped', async () => {
  const { engine, clock, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const pis = failedJobs(engine, failing, 'async', 3);
    const done = engine.startProcessInstanceByKey('async', { businessKey: 'done' }).id;
    engine.executeDueJobs({ maxJobs: 10 }); // completes `done` (its job is the only one with retries)
    assert.equal(engine.getHistoricProcessInstance(done).state, 'COMPLETED');
    const batch = engine.deleteProcessInstancesAsyncHistoricQueryBased({
      historicProcessInstanceQuery: { processDefinitionKey: 'async' },
      // ignored by this endpoint, as upstream's resource ignores it
      processInstanceQuery: { businessKey: 'nothing matches' },
    });
    assert.equal(batch.totalJobs, 4);
    assert.equal(record(engine, 'job', batchJobs(engine, batch).seed[0].id).deploymentId, engine.getProcessDefinitions()[0].deploymentId);
    runBatches(engine, clock);
    assert.equal(engine.getProcessInstancesCount().count, 0);
    assert.equal(engine.getJobsCount().count, 0, 'the failed jobs went with their instances');
    assert.equal(engine.getHistoricProcessInstance(done).state, 'COMPLETED');
    for (const id of pis) assert.equal(engine.getHistoricProcessInstance(id).deleteReason, null);
  } finally {
    engine.close();
  }
});

test('instance-deletion: nothing selected is 400 "processInstanceIds is empty"; bad queries fail before anything is written', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    engine.startProcessInstanceByKey('ext');
    const invalid = (message) => ({ status: 400, type: 'InvalidRequestException', message });
    assertRejectedUnchanged(engine, () => engine.deleteProcessInstancesAsync({}), invalid('processInstanceIds is empty'));
    assertRejectedUnchanged(engine, () => engine.deleteProcessInstancesAsync({ processInstanceIds: [] }), invalid('processInstanceIds is empty'));
    assertRejectedUnchanged(
      engine,
      () => engine.deleteProcessInstancesAsync({ processInstanceQuery: { businessKey: 'none' } }),
      invalid('processInstanceIds is empty'),
    );
    assertRejectedUnchanged(
      engine,
      () => engine.deleteProcessInstancesAsyncHistoricQueryBased({ processInstanceQuery: { processDefinitionKey: 'ext' } }),
      invalid('processInstanceIds is empty'),
    );
    assertRejectedUnchanged(
      engine,
      () => engine.deleteProcessInstancesAsync({ processInstanceQuery: { processInstanceIds: [] } }),
      { status: 500, type: 'ProcessEngineException', message: 'Set of process instance ids is empty' },
    );
    assertRejectedUnchanged(engine, () => engine.deleteProcessInstancesAsync(), invalid('Request body is null: processInstanceIds or a query is required'));
  } finally {
    engine.close();
  }
});

test('instance-deletion jobs group by deployment: one execution job per deployment, each carrying it', async () => {
  const { engine, clock } = await newEngine({ config: { invocationsPerBatchJob: 10 } });
  try {
    const d1 = deploy(engine, EXT_PROCESS);
    const a = engine.startProcessInstanceByKey('ext').id;
    const d2 = deploy(engine, { ...EXT_PROCESS, name: 'v2' });
    const b = engine.startProcessInstanceByKey('ext').id;
    const batch = engine.deleteProcessInstancesAsync({ processInstanceIds: [b, a, 'gone'] });
    assert.equal(batch.invocationsPerBatchJob, 10);
    engine.executeJob(batchJobs(engine, batch).seed[0].id);
    engine.executeJob(batchJobs(engine, batch).seed[0].id);
    engine.executeJob(batchJobs(engine, batch).seed[0].id);
    const jobs = batchJobs(engine, batch).execution;
    assert.deepEqual(jobs.map((j) => record(engine, 'job', j.id).deploymentId).sort(), [d1.id, d2.id, null].sort());
    runBatches(engine, clock);
    assert.equal(engine.getProcessInstancesCount().count, 0);
  } finally {
    engine.close();
  }
});

test('DELETE /process-instance/{id}: the reason is null, failIfNotExists=false answers 204 for an unknown id', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const id = engine.startProcessInstanceByKey('ext').id;
    assert.equal(engine.deleteProcessInstance(id, { skipCustomListeners: 'true', skipIoMappings: 'true', skipSubprocesses: 'true' }), null);
    assert.equal(engine.getHistoricProcessInstance(id).state, 'EXTERNALLY_TERMINATED');
    assert.equal(engine.deleteProcessInstance('nope', { failIfNotExists: 'false' }), null);
    assertRejectedUnchanged(engine, () => engine.deleteProcessInstance('nope', {}), {
      status: 404, type: 'InvalidRequestException', message: "No process instance found for id 'nope': processInstance is null",
    });
  } finally {
    engine.close();
  }
});
