// process-set-removal-time batches (POST /history/process-instance/set-removal-time)
// and the history cleanup job (POST /history/cleanup) that removes history
// whose removal time has passed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXT_PROCESS, T0, camundaDate, deploy, newEngine } from './support/engine-helpers.js';
import { assertNewBatch, assertRejectedUnchanged, runBatches } from './support/batch-helpers.js';

const DAY = 86_400_000;

/** n instances of 'ext' (historyTimeToLive 5 days) ended by deletion, each with a variable. */
function ended(engine, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const id = engine.startProcessInstanceByKey('ext', { businessKey: `bk${i}`, variables: { v: { value: i } } }).id;
    engine.deleteProcessInstance(id, {});
    ids.push(id);
  }
  return ids;
}

const removalTimes = (engine, id) => {
  const dump = JSON.parse(engine.store.dump());
  const out = {};
  for (const coll of ['historicProcessInstance', 'historicActivityInstance', 'historicVariableInstance', 'historicDetail']) {
    out[coll] = [...new Set(Object.values(dump[coll] ?? {}).filter((r) => r.record.processInstanceId === id || r.record.id === id).map((r) => r.record.removalTime ?? null))]; // records leave nulls out
  }
  return out;
};

test('set-removal-time: absolute on every record of the history; cleared; calculated from historyTimeToLive', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, { ...EXT_PROCESS, historyTimeToLive: 5 });
    const ids = ended(engine, 3);
    const at = T0 + 2 * DAY;
    const batch = engine.setRemovalTimeAsync({ historicProcessInstanceIds: [ids[0], 'unknown'], historicProcessInstanceQuery: { processInstanceBusinessKey: 'bk1' }, absoluteRemovalTime: camundaDate(at) });
    assertNewBatch(batch, { type: 'process-set-removal-time', totalJobs: 2, now: T0 });
    runBatches(engine, clock);
    for (const id of ids.slice(0, 2)) {
      for (const [coll, values] of Object.entries(removalTimes(engine, id))) assert.deepEqual(values, [at], `${coll} of ${id}`);
    }
    assert.equal(engine.getHistoricProcessInstance(ids[0]).removalTime, camundaDate(at));
    const endOf = (id) => Date.parse(engine.getHistoricProcessInstance(id).endTime.replace('+0000', 'Z'));
    assert.equal(engine.getHistoricProcessInstance(ids[2]).removalTime, camundaDate(endOf(ids[2]) + 5 * DAY), 'written at its end');
    engine.setRemovalTimeAsync({ historicProcessInstanceIds: [ids[1]], clearedRemovalTime: true });
    runBatches(engine, clock);
    assert.deepEqual(removalTimes(engine, ids[1]).historicVariableInstance, [null]);
    const running = engine.startProcessInstanceByKey('ext').id;
    engine.setRemovalTimeAsync({ historicProcessInstanceIds: [ids[2]], clearedRemovalTime: true });
    runBatches(engine, clock);
    assert.equal(engine.getHistoricProcessInstance(ids[2]).removalTime, null);
    engine.setRemovalTimeAsync({ historicProcessInstanceIds: [ids[2], running], calculatedRemovalTime: true, updateInChunks: true });
    runBatches(engine, clock);
    const end = Date.parse(engine.getHistoricProcessInstance(ids[2]).endTime.replace('+0000', 'Z'));
    assert.equal(engine.getHistoricProcessInstance(ids[2]).removalTime, camundaDate(end + 5 * DAY));
    assert.equal(engine.getHistoricProcessInstance(running).removalTime, null, 'no base time for a running instance (end strategy)');
  } finally {
    engine.close();
  }
});

test('set-removal-time: upstream\'s checks and messages', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const [id] = ended(engine, 1);
    const badUser = (message) => ({ status: 400, type: 'BadUserRequestException', message });
    assertRejectedUnchanged(engine, () => engine.setRemovalTimeAsync({ historicProcessInstanceIds: [id], calculatedRemovalTime: true, clearedRemovalTime: true }),
      badUser('The removal time modes are mutually exclusive: mode is not null'));
    assertRejectedUnchanged(engine, () => engine.setRemovalTimeAsync({ calculatedRemovalTime: true }), badUser('Neither query nor ids provided.'));
    assertRejectedUnchanged(engine, () => engine.setRemovalTimeAsync({ historicProcessInstanceIds: [id] }), badUser('removalTime is null'));
    assertRejectedUnchanged(engine, () => engine.setRemovalTimeAsync({ historicProcessInstanceIds: ['x'], clearedRemovalTime: true }),
      badUser('historicProcessInstances is empty'));
    assertRejectedUnchanged(engine, () => engine.setRemovalTimeAsync({ historicProcessInstanceIds: [id], clearedRemovalTime: true, updateChunkSize: 501 }),
      badUser('The value for chunk size should be between 1 and 500'));
  } finally {
    engine.close();
  }
});

test('POST /history/cleanup: one cleanup job; running it removes the history whose removal time has passed', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const ids = ended(engine, 3);
    engine.setRemovalTimeAsync({ historicProcessInstanceIds: [ids[0]], absoluteRemovalTime: camundaDate(T0 + DAY) });
    engine.setRemovalTimeAsync({ historicProcessInstanceIds: [ids[1]], absoluteRemovalTime: camundaDate(T0 + 3 * DAY) });
    runBatches(engine, clock);
    clock.advance(2 * DAY);
    const job = engine.cleanupHistory({});
    assert.equal(job.dueDate, camundaDate(clock.now()));
    assert.equal(engine.cleanupHistory({}).id, job.id, 'the same job');
    engine.executeJob(job.id);
    assert.equal(engine.getHistoricProcessInstancesCount().count, 2);
    assert.equal(engine.getHistoricVariableInstances({ processInstanceId: ids[0] }).length, 0);
    assert.deepEqual(engine.getHistoricProcessInstances().map((h) => h.id).sort(), ids.slice(1).sort());
    assert.equal(engine.getJobsCount().count, 0);
  } finally {
    engine.close();
  }
});

test('batch-set-removal-time on historic batches; the cleanup removes them with their jobs\' log', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const [id] = ended(engine, 1);
    const old = engine.setRemovalTimeAsync({ historicProcessInstanceIds: [id], clearedRemovalTime: true });
    runBatches(engine, clock);
    assert.ok(engine.getHistoricJobLogs().some((l) => l.jobDefinitionId === old.batchJobDefinitionId));
    const batch = engine.setBatchRemovalTimeAsync({ historicBatchIds: [old.id, 'unknown'], absoluteRemovalTime: camundaDate(T0 + DAY) });
    assertNewBatch(batch, { type: 'batch-set-removal-time', totalJobs: 1, now: clock.now() });
    runBatches(engine, clock);
    assert.equal(engine.getHistoricBatch(old.id).removalTime, camundaDate(T0 + DAY));
    const logs = engine.getHistoricJobLogs().filter((l) => l.batchId === old.id);
    assert.ok(logs.length > 0 && logs.every((l) => l.removalTime === camundaDate(T0 + DAY)), 'its jobs\' log too');
    const query = engine.setBatchRemovalTimeAsync({ historicBatchQuery: { type: 'batch-set-removal-time' }, clearedRemovalTime: true });
    runBatches(engine, clock);
    assert.equal(engine.getHistoricBatch(batch.id).removalTime, null);
    assert.ok(query.id);
    clock.advance(2 * DAY);
    engine.executeJob(engine.cleanupHistory({}).id);
    assert.deepEqual(engine.getHistoricBatches({ batchId: old.id }), []);
    assert.equal(engine.getHistoricJobLogs().filter((l) => l.jobDefinitionId === old.batchJobDefinitionId).length, 0);
    assert.ok(engine.getHistoricBatch(batch.id), 'a batch without removal time stays');
    assertRejectedUnchanged(engine, () => engine.setBatchRemovalTimeAsync({ historicBatchIds: ['nope'], clearedRemovalTime: true }),
      { status: 400, type: 'BadUserRequestException', message: 'historicBatches is empty' });
    assertRejectedUnchanged(engine, () => engine.setBatchRemovalTimeAsync({ clearedRemovalTime: true }),
      { status: 400, type: 'BadUserRequestException', message: 'Neither query nor ids provided.' });
  } finally {
    engine.close();
  }
});

test('PUT /process-definition/{id}/history-time-to-live sets what calculated removal times use', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const [def] = engine.getProcessDefinitions();
    assert.equal(def.historyTimeToLive, null);
    assert.equal(engine.updateHistoryTimeToLive(def.id, { historyTimeToLive: 2 }), null);
    assert.equal(engine.getProcessDefinition(def.id).historyTimeToLive, 2);
    const [id] = ended(engine, 1);
    engine.setRemovalTimeAsync({ historicProcessInstanceIds: [id], calculatedRemovalTime: true });
    runBatches(engine, clock);
    const end = Date.parse(engine.getHistoricProcessInstance(id).endTime.replace('+0000', 'Z'));
    assert.equal(engine.getHistoricProcessInstance(id).removalTime, camundaDate(end + 2 * DAY));
    assertRejectedUnchanged(engine, () => engine.updateHistoryTimeToLive(def.id, { historyTimeToLive: -1 }),
      { status: 400, type: 'BadUserRequestException', message: 'historyTimeToLive is not greater than or equal to 0' });
    engine.updateHistoryTimeToLive(def.id, { historyTimeToLive: null });
    assert.equal(engine.getProcessDefinition(def.id).historyTimeToLive, null);
  } finally {
    engine.close();
  }
});

test('an instance of a definition with historyTimeToLive ends with a removal time on its whole history; the cleanup then removes it', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, { ...EXT_PROCESS, historyTimeToLive: 1 });
    const [id] = ended(engine, 1);
    const end = Date.parse(engine.getHistoricProcessInstance(id).endTime.replace('+0000', 'Z'));
    for (const [coll, values] of Object.entries(removalTimes(engine, id))) assert.deepEqual(values, [end + DAY], coll);
    engine.executeJob(engine.cleanupHistory({}).id);
    assert.equal(engine.getHistoricProcessInstancesCount().count, 1, 'not yet');
    clock.advance(DAY);
    engine.executeJob(engine.cleanupHistory({}).id);
    assert.equal(engine.getHistoricProcessInstancesCount().count, 0);
  } finally {
    engine.close();
  }
});

test('invocationsPerBatchJob: the per-type setting applies, updateInChunks makes it one instance per job', async () => {
  const { engine, clock } = await newEngine({ config: { invocationsPerBatchJobByBatchType: { 'process-set-removal-time': 5 } } });
  try {
    deploy(engine, EXT_PROCESS);
    const ids = ended(engine, 3);
    const grouped = engine.setRemovalTimeAsync({ historicProcessInstanceIds: ids, clearedRemovalTime: true });
    assert.deepEqual([grouped.invocationsPerBatchJob, grouped.totalJobs], [5, 1]);
    const chunked = engine.setRemovalTimeAsync({ historicProcessInstanceIds: ids, clearedRemovalTime: true, updateInChunks: true });
    assert.deepEqual([chunked.invocationsPerBatchJob, chunked.totalJobs], [1, 3]);
    runBatches(engine, clock);
  } finally {
    engine.close();
  }
});
