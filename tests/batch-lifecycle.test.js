// The batch framework: seed job slicing, monitor polling, statistics,
// history, suspension and deletion (reference sections 2.2-2.12, 7.1, 7.2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXT_PROCESS, T0, assertEngineError, camundaDate, deploy, newEngine } from './support/engine-helpers.js';
import {
  ASYNC, HISTORIC_BATCH_FIELDS, STATISTICS_FIELDS, batchJobs, failedJobs, runBatches, runDueBatchJobs, statistics,
} from './support/batch-helpers.js';

function tasks(engine, n) {
  deploy(engine, EXT_PROCESS);
  const out = [];
  for (let i = 0; i < n; i++) {
    const pi = engine.startProcessInstanceByKey('ext', {}).id;
    out.push(engine.getExternalTasks({ processInstanceId: pi })[0].id);
  }
  return out;
}

test('seed job slicing: batchJobsPerSeed jobs per run, invocationsPerBatchJob items per job (config), and statistics at each step', async () => {
  const { engine, clock } = await newEngine({ config: { batchJobsPerSeed: 2, invocationsPerBatchJob: 2 } });
  try {
    const ids = tasks(engine, 7);
    const batch = engine.setExternalTaskRetriesAsync({ retries: 9, externalTaskIds: ids });
    assert.deepEqual([batch.totalJobs, batch.batchJobsPerSeed, batch.invocationsPerBatchJob], [4, 2, 2]);
    assert.deepEqual(statistics(engine, batch), { remainingJobs: 4, completedJobs: 0, failedJobs: 0, jobsCreated: 0 });
    const [s] = engine.getBatchStatistics();
    assert.deepEqual(Object.keys(s), STATISTICS_FIELDS);

    engine.executeJob(batchJobs(engine, batch).seed[0].id);
    let jobs = batchJobs(engine, batch);
    assert.deepEqual([jobs.seed.length, jobs.execution.length, jobs.monitor.length], [1, 2, 0]);
    assert.deepEqual(statistics(engine, batch), { remainingJobs: 4, completedJobs: 0, failedJobs: 0, jobsCreated: 2 });
    // one execution job handles two tasks
    engine.executeJob(jobs.execution[0].id);
    assert.deepEqual(ids.map((id) => engine.getExternalTask(id).retries), [9, 9, null, null, null, null, null]);
    assert.deepEqual(statistics(engine, batch), { remainingJobs: 3, completedJobs: 1, failedJobs: 0, jobsCreated: 2 });
    assert.equal(engine.getBatch(batch.id).executionStartTime, camundaDate(T0));
    assert.equal(engine.getHistoricBatch(batch.id).executionStartTime, camundaDate(T0));

    engine.executeJob(jobs.seed[0].id);
    jobs = batchJobs(engine, batch);
    assert.deepEqual([jobs.seed.length, jobs.execution.length, jobs.monitor.length], [0, 3, 1]);
    assert.deepEqual(statistics(engine, batch), { remainingJobs: 3, completedJobs: 1, failedJobs: 0, jobsCreated: 4 });
    runBatches(engine, clock);
    assert.ok(ids.every((id) => engine.getExternalTask(id).retries === 9));
  } finally {
    engine.close();
  }
});

test('invocationsPerBatchJobByBatchType wins for its type only', async () => {
  const { engine, failing } = await newEngine({
    config: { invocationsPerBatchJob: 2, invocationsPerBatchJobByBatchType: { 'set-external-task-retries': 3 } },
  });
  try {
    const ids = tasks(engine, 7);
    const ext = engine.setExternalTaskRetriesAsync({ retries: 1, externalTaskIds: ids });
    assert.deepEqual([ext.invocationsPerBatchJob, ext.totalJobs], [3, 3]);
    deploy(engine, ASYNC);
    const pis = failedJobs(engine, failing, 'async', 5);
    const job = engine.setJobRetriesAsyncByProcess({ retries: 1, processInstances: pis });
    assert.deepEqual([job.invocationsPerBatchJob, job.totalJobs], [2, 3]);
  } finally {
    engine.close();
  }
});

test('monitor job: no due date at first, then polls every batchPollTime (30 s) while execution jobs remain, due at once when the last one is done; the batch ends in history', async () => {
  const { engine, clock } = await newEngine();
  try {
    const ids = tasks(engine, 2);
    const batch = engine.setExternalTaskRetriesAsync({ retries: 1, externalTaskIds: ids });
    engine.executeJob(batchJobs(engine, batch).seed[0].id);
    let { monitor, execution } = batchJobs(engine, batch);
    assert.equal(monitor[0].dueDate, null);
    clock.advance(5000);
    engine.executeJob(monitor[0].id);
    ({ monitor } = batchJobs(engine, batch));
    assert.equal(monitor.length, 1);
    assert.equal(monitor[0].dueDate, camundaDate(T0 + 5000 + 30_000));
    // while an execution job remains, the monitor keeps its poll time
    engine.executeJob(execution[0].id);
    assert.equal(batchJobs(engine, batch).monitor[0].dueDate, camundaDate(T0 + 35_000));
    clock.advance(10_000);
    // the last execution job done: the monitor is due at once (beyond Camunda)
    engine.executeJob(execution[1].id);
    assert.equal(batchJobs(engine, batch).monitor[0].dueDate, camundaDate(T0 + 15_000));
    assert.deepEqual(engine.executeDueJobs({}).jobs.map((j) => j.id), [monitor[0].id]);
    assert.equal(engine.getBatchesCount().count, 0);
    assert.equal(engine.getJobsCount().count, 0);
    const hist = engine.getHistoricBatch(batch.id);
    assert.deepEqual(Object.keys(hist), HISTORIC_BATCH_FIELDS);
    assert.deepEqual(
      [hist.startTime, hist.executionStartTime, hist.endTime],
      [camundaDate(T0), camundaDate(T0 + 5000), camundaDate(T0 + 15_000)],
    );
    assert.equal(engine.getHistoricBatchesCount({ completed: true }).count, 1);
    // historic batch: get, delete, errors
    engine.deleteHistoricBatch(batch.id);
    assertEngineError(() => engine.getHistoricBatch(batch.id), {
      status: 404, type: 'InvalidRequestException', message: `Historic batch with id '${batch.id}' does not exist`,
    });
    assertEngineError(() => engine.deleteHistoricBatch(batch.id), {
      status: 400, type: 'InvalidRequestException', message: `Unable to delete historic batch with id '${batch.id}'`,
    });
  } finally {
    engine.close();
  }
});

test('suspend and activate a running batch: its job definitions and jobs, and jobs it creates later', async () => {
  const { engine, clock } = await newEngine({ config: { batchJobsPerSeed: 1 } });
  try {
    const ids = tasks(engine, 3);
    const batch = engine.setExternalTaskRetriesAsync({ retries: 5, externalTaskIds: ids });
    engine.executeJob(batchJobs(engine, batch).seed[0].id); // 1 execution job + next seed
    assert.equal(engine.setBatchSuspended(batch.id, { suspended: true }), null);
    assert.equal(engine.getBatch(batch.id).suspended, true);
    assert.deepEqual(engine.getBatches({ suspended: true }).map((b) => b.id), [batch.id]);
    assert.deepEqual(engine.getBatches({ suspended: false }), []);
    const defs = engine.getJobDefinitions({ jobConfiguration: batch.id });
    assert.equal(defs.length, 3);
    assert.ok(defs.every((d) => d.suspended));
    let jobs = batchJobs(engine, batch);
    assert.ok([...jobs.seed, ...jobs.execution].every((j) => j.suspended));
    // the executor does not touch suspended jobs
    clock.advance(60_000);
    assert.equal(engine.executeDueJobs({}).executed, 0);
    // a job run by id still creates its successors suspended
    engine.executeJob(jobs.seed[0].id);
    jobs = batchJobs(engine, batch);
    assert.equal(jobs.execution.length, 2);
    assert.ok(jobs.execution.every((j) => j.suspended) && jobs.seed.every((j) => j.suspended));
    assert.deepEqual(ids.map((id) => engine.getExternalTask(id).retries), [null, null, null]);

    assert.equal(engine.setBatchSuspended(batch.id, { suspended: false }), null);
    assert.equal(engine.getBatch(batch.id).suspended, false);
    assert.ok(engine.getJobDefinitions({ jobConfiguration: batch.id }).every((d) => !d.suspended));
    assert.ok(engine.getJobs().every((j) => !j.suspended));
    runBatches(engine, clock);
    assert.deepEqual(ids.map((id) => engine.getExternalTask(id).retries), [5, 5, 5]);

    for (const suspended of [true, false]) {
      assertEngineError(() => engine.setBatchSuspended('nope', { suspended }), {
        status: 400, type: 'InvalidRequestException', message: `Unable to ${suspended ? 'suspend' : 'activate'} batch with id 'nope'`,
      });
    }
  } finally {
    engine.close();
  }
});

for (const cascade of [false, true]) {
  test(`delete a running batch ${cascade ? 'with' : 'without'} cascade: jobs and definitions go, done work stays, history ${cascade ? 'goes' : 'ends'}`, async () => {
    const { engine, clock } = await newEngine();
    try {
      const ids = tasks(engine, 3);
      const bad = engine.setExternalTaskRetriesAsync({ retries: -1, externalTaskIds: [ids[2]] });
      const batch = engine.setExternalTaskRetriesAsync({ retries: 5, externalTaskIds: ids.slice(0, 2) });
      // run seeds, one execution job of `batch`, and let `bad` fail to 0 (incident)
      for (let i = 0; i < 4; i++) {
        runDueBatchJobs(engine, clock);
        clock.advance(30_000);
        if (i === 0) engine.setBatchSuspended(batch.id, { suspended: true });
      }
      engine.setBatchSuspended(batch.id, { suspended: false });
      const [one] = batchJobs(engine, batch).execution;
      engine.executeJob(one.id);
      assert.equal(engine.getIncidentsCount({ jobDefinitionIdIn: bad.batchJobDefinitionId }).count, 1);
      const done = ids.filter((id) => engine.getExternalTask(id).retries === 5);
      assert.equal(done.length, 1);

      clock.advance(1000);
      for (const b of [bad, batch]) assert.equal(engine.deleteBatch(b.id, cascade ? { cascade: true } : undefined), null);
      assert.equal(engine.getBatchesCount().count, 0);
      assert.equal(engine.getJobsCount().count, 0);
      assert.equal(engine.getJobDefinitions({ jobConfiguration: batch.id }).length, 0);
      assert.equal(engine.getIncidentsCount().count, 0);
      assert.deepEqual(ids.map((id) => engine.getExternalTask(id).retries === 5), ids.map((id) => done.includes(id)));
      if (cascade) {
        assert.equal(engine.getHistoricBatchesCount().count, 0);
        assert.equal(engine.getHistoricIncidents().length, 0, 'the batch jobs\' historic incidents go too');
      } else {
        assert.equal(engine.getHistoricBatch(batch.id).endTime, camundaDate(clock.now()));
        assert.equal(engine.getHistoricBatch(bad.id).endTime, camundaDate(clock.now()));
        const [hist] = engine.getHistoricIncidents();
        assert.equal(hist.open, false);
      }
      assertEngineError(() => engine.deleteBatch(batch.id), {
        status: 400, type: 'InvalidRequestException', message: `Unable to delete batch with id '${batch.id}'`, code: 0,
      });
    } finally {
      engine.close();
    }
  });
}

test('getBatches / counts filter by type and id; statistics for several batches', async () => {
  const { engine, failing } = await newEngine();
  try {
    const ids = tasks(engine, 2);
    deploy(engine, ASYNC);
    const pis = failedJobs(engine, failing, 'async', 1);
    const a = engine.setExternalTaskRetriesAsync({ retries: 1, externalTaskIds: ids });
    const b = engine.setJobRetriesAsyncByProcess({ retries: 1, processInstances: pis });
    assert.deepEqual(engine.getBatches({ type: 'set-external-task-retries' }).map((x) => x.id), [a.id]);
    assert.deepEqual(engine.getBatches({ type: 'set-job-retries' }).map((x) => x.id), [b.id]);
    assert.equal(engine.getBatchesCount().count, 2);
    assert.equal(engine.getBatchesCount({ batchId: b.id }).count, 1);
    assert.equal(engine.getBatchStatisticsCount().count, 2);
    assert.deepEqual(engine.getBatchStatistics({ batchId: a.id }).map((s) => [s.remainingJobs, s.completedJobs, s.failedJobs]), [[2, 0, 0]]);
    assert.equal(engine.getHistoricBatchesCount({ completed: false }).count, 2);
  } finally {
    engine.close();
  }
});
