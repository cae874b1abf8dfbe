// Shared helpers for the batch tests (tests/batch-*.test.js).
import assert from 'node:assert/strict';
import { assertEngineError, camundaDate, linear } from './engine-helpers.js';

/** BatchDto fields in Camunda's declared order (reference 2.11). */
export const BATCH_FIELDS = [
  'id', 'type', 'totalJobs', 'jobsCreated', 'batchJobsPerSeed', 'invocationsPerBatchJob',
  'seedJobDefinitionId', 'monitorJobDefinitionId', 'batchJobDefinitionId', 'suspended', 'tenantId',
  'createUserId', 'startTime', 'executionStartTime',
];
export const STATISTICS_FIELDS = [...BATCH_FIELDS, 'remainingJobs', 'completedJobs', 'failedJobs'];
export const HISTORIC_BATCH_FIELDS = [
  'id', 'type', 'totalJobs', 'batchJobsPerSeed', 'invocationsPerBatchJob', 'seedJobDefinitionId',
  'monitorJobDefinitionId', 'batchJobDefinitionId', 'tenantId', 'createUserId', 'startTime', 'endTime',
  'removalTime', 'executionStartTime',
];

/** start -> svc (asyncBefore) -> end: one job per instance. */
export const ASYNC = linear('async', [{ id: 'svc', type: 'serviceTask', asyncBefore: true }]);

/**
 * Asserts a freshly created batch: every BatchDto field in order, with the
 * values Camunda's BatchBuilder gives (jobsCreated 0, not suspended, ...).
 */
export function assertNewBatch(batch, { type, totalJobs, now, tenantId = null, invocationsPerBatchJob = 1, batchJobsPerSeed = 100 }) {
  assert.deepEqual(Object.keys(batch), BATCH_FIELDS);
  assert.equal(typeof batch.id, 'string');
  assert.deepEqual(
    { ...batch, id: undefined, seedJobDefinitionId: undefined, monitorJobDefinitionId: undefined, batchJobDefinitionId: undefined },
    {
      id: undefined,
      type,
      totalJobs,
      jobsCreated: 0,
      batchJobsPerSeed,
      invocationsPerBatchJob,
      seedJobDefinitionId: undefined,
      monitorJobDefinitionId: undefined,
      batchJobDefinitionId: undefined,
      suspended: false,
      tenantId,
      createUserId: null,
      startTime: camundaDate(now),
      executionStartTime: null,
    },
  );
  const defs = [batch.seedJobDefinitionId, batch.monitorJobDefinitionId, batch.batchJobDefinitionId];
  assert.ok(defs.every((d) => typeof d === 'string'));
  assert.equal(new Set(defs).size, 3, 'three distinct job definitions');
}

/** The batch's jobs by kind (seed / monitor / execution). */
export function batchJobs(engine, batch) {
  return {
    seed: engine.getJobs({ jobDefinitionId: batch.seedJobDefinitionId }),
    monitor: engine.getJobs({ jobDefinitionId: batch.monitorJobDefinitionId }),
    execution: engine.getJobs({ jobDefinitionId: batch.batchJobDefinitionId }),
  };
}

export function statistics(engine, batch) {
  const [s] = engine.getBatchStatistics({ batchId: batch.id });
  assert.ok(s, `statistics of batch ${batch.id}`);
  return { remainingJobs: s.remainingJobs, completedJobs: s.completedJobs, failedJobs: s.failedJobs, jobsCreated: s.jobsCreated };
}

/** Whether a job (DTO) is due at ms. */
export function isDue(job, ms) {
  return job.dueDate === null || Date.parse(job.dueDate.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')) <= ms;
}

/**
 * Runs only batch jobs (seed, execution, monitor), one by one in id order
 * like the executor acquires them, until no batch is left, advancing the
 * clock by the poll time whenever none is due. Process jobs are left alone.
 * Returns the ids of the jobs run.
 */
export function runBatches(engine, clock, { maxSteps = 500 } = {}) {
  const ran = [];
  for (let i = 0; i < maxSteps && engine.getBatchesCount().count > 0; i++) {
    const next = engine
      .getJobs({ sortBy: 'jobId', sortOrder: 'asc' })
      .find((j) => j.batchId !== null && j.retries > 0 && !j.suspended && isDue(j, clock.now()));
    if (!next) {
      clock.advance(30_000);
      continue;
    }
    ran.push(next.id);
    try {
      engine.executeJob(next.id);
    } catch {
      // a failing execution job: its failure is recorded like the executor does
    }
  }
  assert.equal(engine.getBatchesCount().count, 0, 'every batch completed');
  return ran;
}

/** One executor round over the batch jobs due now (process jobs are left alone). */
export function runDueBatchJobs(engine, clock) {
  const due = engine
    .getJobs({ sortBy: 'jobId', sortOrder: 'asc' })
    .filter((j) => j.batchId !== null && j.retries > 0 && !j.suspended && isDue(j, clock.now()));
  for (const job of due) {
    try {
      engine.executeJob(job.id);
    } catch {
      // recorded as a job failure
    }
  }
  return due.map((j) => j.id);
}

/** Starts `n` instances of `key` and makes each one's job fail down to 0 retries. */
export function failedJobs(engine, failing, key, n, message = 'boom', activity = 'svc') {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push(engine.startProcessInstanceByKey(key, { businessKey: `${key}-${i}` }).id);
  failing.set(activity, message);
  for (let k = 0; k < 3; k++) engine.executeDueJobs({ maxJobs: 1000 });
  failing.delete(activity);
  return ids;
}

/** Asserts the call is rejected and the store is byte for byte unchanged. */
export function assertRejectedUnchanged(engine, fn, expected) {
  const before = engine.store.dump();
  assertEngineError(fn, expected);
  assert.equal(engine.store.dump(), before, `nothing written for: ${expected.message}`);
}

/** The stored record of a collection (from the memory store's dump). */
export function record(engine, collection, id) {
  return JSON.parse(engine.store.dump())[collection]?.[id]?.record;
}
