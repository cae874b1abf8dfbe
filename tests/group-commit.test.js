// Group commit: executeDueJobs({jobsPerTransaction}) runs several jobs in one
// store transaction, each in a savepoint (store version 2). A failing job is
// rolled back to its savepoint and its failure recorded; the others commit.
// The outcome is the same as one transaction per job, on every store kind,
// and a store without savepoints (version 1) keeps one job per transaction.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { jsMemoryStore, memoryStore } from '../bindings/index.js';
import { sqliteStore } from '../bindings/sqlite-store.js';
import { deploy, linear, newEngine } from './support/engine-helpers.js';

const OK = linear('ok', [{ id: 'good', type: 'serviceTask', asyncBefore: true }, { id: 'after', type: 'serviceTask', topic: 't' }]);
const BAD = linear('bad', [{ id: 'bad', type: 'serviceTask', asyncBefore: true }]);

/** A store without savepoints (version 1) that counts its transactions. */
function versionOne(inner) {
  const counts = { begin: 0 };
  const store = {
    counts,
    begin: () => (counts.begin++, inner.begin()),
    commit: () => inner.commit(),
    rollback: () => inner.rollback(),
    get: (...a) => inner.get(...a),
    put: (...a) => inner.put(...a),
    remove: (...a) => inner.remove(...a),
    find: (...a) => inner.find(...a),
    scan: (...a) => inner.scan(...a),
  };
  return store;
}

/** Counts a version 2 store's transactions and savepoints. */
function counting(inner) {
  const store = versionOne(inner);
  store.counts.savepoint = 0;
  store.savepoint = () => (store.counts.savepoint++, inner.savepoint());
  store.release = () => inner.release();
  store.rollbackTo = () => inner.rollbackTo();
  return store;
}

/** Five jobs (two fail), one step; what the engine shows afterwards. */
async function scenario(store, jobsPerTransaction) {
  const { engine, failing } = await newEngine({ store });
  try {
    deploy(engine, OK, BAD);
    for (const key of ['ok', 'bad', 'ok', 'bad', 'ok']) engine.startProcessInstanceByKey(key, {});
    failing.set('bad', 'no luck');
    const step = engine.executeDueJobs({ maxJobs: 10, jobsPerTransaction });
    return {
      step,
      jobs: engine.getJobs().map((j) => [j.id, j.retries, j.exceptionMessage]),
      tasks: engine.getExternalTasksCount().count,
      log: engine.getHistoricJobLogs({ sortBy: 'timestamp', sortOrder: 'asc' }).map((l) => [l.jobId, l.creationLog, l.failureLog, l.successLog, l.jobRetries]),
    };
  } finally {
    engine.close();
  }
}

const KINDS = {
  'C memory store': () => memoryStore(),
  'JS memory store': () => jsMemoryStore(),
  'SQLite store': () => sqliteStore(':memory:'),
};

for (const [kind, make] of Object.entries(KINDS)) {
  test(`${kind}: a group of five jobs with two failures ends as five transactions do`, async () => {
    const single = await scenario(make(), 1);
    const grouped = await scenario(make(), 10);
    assert.equal(grouped.step.succeeded, 3);
    assert.equal(grouped.step.failed, 2);
    assert.equal(grouped.tasks, 3, 'the good jobs committed');
    assert.deepEqual(grouped.jobs.map((j) => j.slice(1)), [[2, 'no luck'], [2, 'no luck']]);
    assert.deepEqual(grouped, single);
  });
}

test('a version 2 store runs a group in one transaction, a job in a savepoint; a version 1 store one job per transaction', async () => {
  const v2 = counting(jsMemoryStore());
  const grouped = await scenario(v2, 10);
  const v1 = versionOne(jsMemoryStore());
  const plain = await scenario(v1, 10);
  assert.deepEqual(plain, grouped);
  // per step: acquisition, then the group (5 jobs, 2 failure records in savepoints of their own)
  assert.equal(v2.counts.savepoint, 7);
  const setup = v1.counts.begin - (1 + 5 + 2); // deploy and starts: the same calls on both
  assert.equal(v2.counts.begin - setup, 2);
  assert.equal(v1.counts.begin - setup, 8);
});

test('jobsPerTransaction must be a positive integer', async () => {
  const { engine } = await newEngine();
  try {
    assert.throws(() => engine.executeDueJobs({ jobsPerTransaction: 0 }), /jobsPerTransaction must be a positive integer/);
  } finally {
    engine.close();
  }
});
