// historic-instance-deletion batches (POST /history/process-instance/delete)
// and DELETE /history/process-instance/{id}: a finished instance's whole
// history goes (DeleteHistoricProcessInstances(Batch)Cmd).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { T0, deploy, newEngine } from './support/engine-helpers.js';
import { ASYNC, assertNewBatch, assertRejectedUnchanged, failedJobs, record, runBatches } from './support/batch-helpers.js';

/** Instances of ASYNC that failed into incidents, then were finished by deleting them (history with incidents, job log, variables). */
function finishedWithHistory(engine, failing, n) {
  const ids = failedJobs(engine, failing, 'async', n);
  for (const id of ids) engine.setProcessInstanceVariable(id, 'note', { value: 'x' });
  for (const id of ids) engine.deleteProcessInstance(id, {});
  return ids;
}

const historyOf = (engine, id) => {
  const dump = JSON.parse(engine.store.dump());
  const mine = (coll) => Object.values(dump[coll] ?? {}).filter((r) => r.record.processInstanceId === id || r.record.id === id).length;
  return {
    instance: mine('historicProcessInstance'),
    activities: mine('historicActivityInstance'),
    variables: mine('historicVariableInstance'),
    details: mine('historicDetail'),
    incidents: mine('historicIncident'),
    jobLog: mine('historicJobLog'),
  };
};

test('POST /history/process-instance/delete: ids and a query; each instance\'s whole history goes, others stay', async () => {
  const { engine, clock, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const ids = finishedWithHistory(engine, failing, 3);
    const before = historyOf(engine, ids[0]);
    assert.ok(Object.values(before).every((n) => n > 0), `a full history to delete: ${JSON.stringify(before)}`);
    const batch = engine.deleteHistoricProcessInstancesAsync({
      historicProcessInstanceIds: [ids[0], 'gone'],
      historicProcessInstanceQuery: { processInstanceBusinessKey: 'async-1' },
      deleteReason: 'retention',
    });
    assertNewBatch(batch, { type: 'historic-instance-deletion', totalJobs: 3, now: T0 });
    runBatches(engine, clock);
    for (const id of ids.slice(0, 2)) {
      assert.deepEqual(historyOf(engine, id), { instance: 0, activities: 0, variables: 0, details: 0, incidents: 0, jobLog: 0 });
    }
    assert.deepEqual(historyOf(engine, ids[2]), before);
    assert.equal(engine.getJobs({ withException: true }).length, 0, 'the unknown id was skipped');
  } finally {
    engine.close();
  }
});

test('historic-instance-deletion: a running instance fails its execution job; nothing selected is 400', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const running = engine.startProcessInstanceByKey('async').id;
    const batch = engine.deleteHistoricProcessInstancesAsync({ historicProcessInstanceIds: [running] });
    for (let i = 0; i < 6; i++) {
      for (const job of engine.getJobs().filter((j) => j.batchId === batch.id && j.retries > 0)) {
        try { engine.executeJob(job.id); } catch { /* a job failure */ }
      }
      clock.advance(60_000);
    }
    const [failed] = engine.getJobs({ withException: true });
    assert.equal(failed.exceptionMessage,
      `Process instance is still running, cannot delete historic process instance: HistoricProcessInstanceEntity[id=${running}]: instance.getEndTime() is null`);
    assert.ok(record(engine, 'historicProcessInstance', running));
    const invalid = (message) => ({ status: 400, type: 'InvalidRequestException', message });
    assertRejectedUnchanged(engine, () => engine.deleteHistoricProcessInstancesAsync({}), invalid('historicProcessInstanceIds is empty'));
    assertRejectedUnchanged(engine, () => engine.deleteHistoricProcessInstancesAsync({ historicProcessInstanceQuery: { processDefinitionKey: 'none' } }),
      invalid('historicProcessInstanceIds is empty'));
  } finally {
    engine.close();
  }
});

test('DELETE /history/process-instance/{id}: 204, 404 for unknown or running, failIfNotExists=false tolerates unknown', async () => {
  const { engine, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const [id] = finishedWithHistory(engine, failing, 1);
    assert.equal(engine.deleteHistoricProcessInstance(id, {}), null);
    assert.equal(historyOf(engine, id).instance, 0);
    const notFound = (x) => ({ status: 404, type: 'InvalidRequestException', message: `Historic process instance with id ${x} does not exist` });
    assertRejectedUnchanged(engine, () => engine.deleteHistoricProcessInstance(id, {}), notFound(id));
    assert.equal(engine.deleteHistoricProcessInstance(id, { failIfNotExists: 'false' }), null);
    const running = engine.startProcessInstanceByKey('async').id;
    assertRejectedUnchanged(engine, () => engine.deleteHistoricProcessInstance(running, { failIfNotExists: 'false' }), notFound(running));
  } finally {
    engine.close();
  }
});
