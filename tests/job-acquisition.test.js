// Job acquisition (Camunda's AcquireJobsCmd) through the JS API: two
// engines on one store stand for two nodes. executeDueJobs locks the jobs it
// takes under its lock owner for lockTimeInMillis, a job another node holds
// is skipped until its lock expires, a process instance's exclusive jobs go
// to one node together, and a job whose transaction meets another writer is
// released to run again without using a retry.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { StoreConflictError, createEngine, jsMemoryStore, manualClock, sequentialIds } from '../bindings/index.js';
import { sqliteStore } from '../bindings/sqlite-store.js';
import { MIN, T0, camundaDate, deploy, linear } from './support/engine-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rebatch-acquire-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ASYNC = linear('async', [
  { id: 'svc', type: 'serviceTask', asyncBefore: true },
  { id: 'after', type: 'serviceTask', topic: 'after' },
]);

/** Two async service tasks in parallel branches: two exclusive jobs of one instance. */
const TWO = {
  key: 'two',
  activities: [
    { id: 'start', type: 'startEvent' },
    { id: 'fork', type: 'parallelGateway' },
    { id: 'svc', type: 'serviceTask', asyncBefore: true },
    { id: 'other', type: 'serviceTask', asyncBefore: true },
    { id: 'join', type: 'parallelGateway' },
    { id: 'end', type: 'endEvent' },
  ],
  flows: [
    { id: 'f1', source: 'start', target: 'fork' },
    { id: 'f2', source: 'fork', target: 'svc' },
    { id: 'f3', source: 'fork', target: 'other' },
    { id: 'f4', source: 'svc', target: 'join' },
    { id: 'f5', source: 'other', target: 'join' },
    { id: 'f6', source: 'join', target: 'end' },
  ],
};

/** An async service task in parallel with a one-minute timer. */
const WITH_TIMER = {
  key: 'timed',
  activities: [
    { id: 'start', type: 'startEvent' },
    { id: 'fork', type: 'parallelGateway' },
    { id: 'svc', type: 'serviceTask', asyncBefore: true },
    { id: 'wait', type: 'intermediateCatchEvent', timerDuration: 'PT1M' },
    { id: 'done', type: 'serviceTask', topic: 'done' },
    { id: 'end', type: 'endEvent' },
  ],
  flows: [
    { id: 'f1', source: 'start', target: 'fork' },
    { id: 'f2', source: 'fork', target: 'svc' },
    { id: 'f3', source: 'fork', target: 'wait' },
    { id: 'f4', source: 'svc', target: 'done' },
    { id: 'f5', source: 'wait', target: 'done' },
  ],
};

const STORES = {
  'JS memory store': () => jsMemoryStore(),
  'SQLite store': () => sqliteStore(join(dir, `${globalThis.crypto.randomUUID()}.db`), { synchronous: 'OFF' }),
};

/**
 * Node A, whose `svc` handler runs on its own until the test settles it (its
 * job stays locked meanwhile), and node B, whose handlers return at once,
 * on one store and one clock.
 */
async function twoNodes(store) {
  const clock = manualClock(T0);
  const pending = [];
  const ranOn = [];
  const later = (node) => (job) => {
    ranOn.push([node, job.activityId]);
    return new Promise((resolve, reject) => pending.push({ job, resolve, reject }));
  };
  const now = (node) => (job) => void ranOn.push([node, job.activityId]);
  const a = await createEngine({
    store, clock, ids: sequentialIds('a-'), lockOwner: 'node-a', handlers: { svc: later('a'), other: now('a') },
  });
  const b = await createEngine({
    store, clock, ids: sequentialIds('b-'), lockOwner: 'node-b', handlers: { svc: now('b'), other: now('b') },
  });
  return {
    a, b, clock, pending, ranOn,
    close() {
      a.close();
      b.close();
      store.close?.();
    },
  };
}

for (const [name, makeStore] of Object.entries(STORES)) {
  test(`${name}: a job one node holds shows its lock in GET /job, the other node skips it, and takes it once the lock expired`, async () => {
    const n = await twoNodes(makeStore());
    try {
      deploy(n.a, ASYNC);
      const pi = n.a.startProcessInstanceByKey('async', {});
      const [job] = n.b.getJobs({ processInstanceId: pi.id });
      assert.equal(job.lockOwner, undefined, 'not locked before it is acquired');

      const first = n.a.executeDueJobs({ lockTimeInMillis: MIN });
      assert.equal(first.executed, 1);
      assert.equal(n.pending.length, 1, 'node A runs the handler');
      assert.equal(n.pending[0].job.lockOwner, 'node-a', 'the handler sees the acquisition lock');
      for (const node of [n.a, n.b]) {
        const seen = node.getJob(job.id);
        assert.equal(seen.lockOwner, 'node-a');
        assert.equal(seen.lockExpirationTime, camundaDate(T0 + MIN));
        assert.deepEqual(node.getJobs({ processInstanceId: pi.id }).map((j) => j.lockOwner), ['node-a']);
      }

      assert.throws(() => n.b.deleteJob(job.id), (err) => err.status === 500 && err.type === 'RestException' &&
        err.code === null && err.message === 'Cannot delete job when the job is being executed. Try again later.');

      n.clock.advance(MIN - 1);
      const held = n.b.executeDueJobs({});
      assert.deepEqual([held.executed, held.failed, held.nextDueInMs], [0, 0, 1], 'skipped, not failed; due when the lock ends');
      assert.equal(n.b.getJob(job.id).retries, 3);

      n.clock.advance(1); // the lock expires at its expiration instant
      const taken = n.b.executeDueJobs({});
      assert.deepEqual([taken.executed, taken.succeeded], [1, 1]);
      assert.deepEqual(n.ranOn, [['a', 'svc'], ['b', 'svc']]);
      assert.equal(n.b.getJobsCount({ processInstanceId: pi.id }).count, 0);
      assert.equal(n.b.getExternalTasksCount({ processInstanceId: pi.id }).count, 1, 'the instance moved on once');

      // node A's handler ends late: its lock is gone, nothing changes
      n.pending[0].resolve();
      await n.a.jobHandlers.idle();
      assert.equal(n.b.getExternalTasksCount({ processInstanceId: pi.id }).count, 1);
    } finally {
      n.close();
    }
  });

  test(`${name}: a process instance's exclusive jobs go to one node together; an instance with a locked job is skipped`, async () => {
    const n = await twoNodes(makeStore());
    try {
      deploy(n.a, TWO, WITH_TIMER);
      const one = n.a.startProcessInstanceByKey('two', {});
      const two = n.a.startProcessInstanceByKey('two', {});
      const jobsOfOne = n.a.getJobs({ processInstanceId: one.id }).map((j) => j.id).sort();
      assert.equal(jobsOfOne.length, 2);

      // maxJobs 1, yet both jobs of the first instance: they are one group
      const first = n.a.executeDueJobs({ maxJobs: 1 });
      assert.deepEqual(first.jobs.map((j) => j.id).sort(), jobsOfOne);
      assert.deepEqual(n.a.getJobs({ processInstanceId: one.id }).map((j) => j.lockOwner), ['node-a'], 'svc still runs on node A');
      assert.equal(n.a.getJobsCount({ processInstanceId: two.id }).count, 2, 'the other instance was left alone');

      const second = n.b.executeDueJobs({});
      assert.equal(second.executed, 2, 'node B takes the second instance only');
      assert.equal(n.b.getJobsCount({ processInstanceId: two.id }).count, 0);
      assert.deepEqual(n.b.getJobs({ processInstanceId: one.id }).map((j) => j.lockOwner), ['node-a']);

      // a due timer of an instance whose other job node A holds waits for it
      const timed = n.a.startProcessInstanceByKey('timed', {});
      n.a.executeDueJobs({}); // svc of `timed`: held by node A
      assert.equal(n.pending.length, 2);
      n.clock.advance(2 * MIN);
      const skipped = n.b.executeDueJobs({});
      assert.equal(skipped.executed, 0, 'the timer is due, but its instance has a job node A holds');
      assert.equal(n.b.getJobsCount({ processInstanceId: timed.id, timers: true }).count, 1);

      for (const p of n.pending) p.resolve();
      await n.a.jobHandlers.idle();
      const after = n.b.executeDueJobs({});
      assert.equal(after.executed, 1, 'the timer runs once the instance is free');
      assert.equal(n.b.getJobsCount({}).count, 0);
      assert.equal(n.b.getProcessInstancesCount({}).count, 1, 'only `timed` waits, in its external task');
      assert.deepEqual(n.ranOn.filter(([, act]) => act === 'svc').map(([node]) => node), ['a', 'b', 'a']);
    } finally {
      n.close();
    }
  });
}

test('a job whose transaction meets another writer is released and runs again without using a retry', async () => {
  const inner = jsMemoryStore();
  let conflicts = 0;
  // The store reports the next removal of a job as another writer's change.
  const store = {};
  for (const m of ['begin', 'commit', 'rollback', 'get', 'put', 'find', 'scan', 'savepoint', 'release', 'rollbackTo']) {
    store[m] = inner[m].bind(inner);
  }
  store.remove = (coll, id, rev) => {
    if (coll === 'job' && conflicts > 0) {
      conflicts--;
      throw new StoreConflictError(`job ${id} has another revision`);
    }
    return inner.remove(coll, id, rev);
  };
  const ran = [];
  const engine = await createEngine({ store, clock: manualClock(T0), ids: sequentialIds('c-'), jobHandler: (job) => void ran.push(job.id) });
  try {
    deploy(engine, ASYNC);
    const pi = engine.startProcessInstanceByKey('async', {});
    const [job] = engine.getJobs({ processInstanceId: pi.id });
    conflicts = 1;
    const first = engine.executeDueJobs({});
    assert.deepEqual([first.executed, first.failed, first.conflicted, first.jobs], [0, 0, 1, []]);
    const released = engine.getJob(job.id);
    assert.equal(released.retries, 3, 'no retry used');
    assert.equal(released.exceptionMessage, null, 'not a failure');
    assert.equal(released.lockOwner, undefined, 'the lock is released');
    assert.equal(engine.getHistoricJobLogsCount({ jobId: job.id, failureLog: true }).count, 0);
    assert.equal(engine.getExternalTasksCount({ processInstanceId: pi.id }).count, 0, 'nothing of the run stayed');

    const second = engine.executeDueJobs({});
    assert.deepEqual([second.executed, second.succeeded, second.conflicted], [1, 1, 0]);
    assert.deepEqual(ran, [job.id, job.id]);
    assert.equal(engine.getExternalTasksCount({ processInstanceId: pi.id }).count, 1);
  } finally {
    engine.close();
  }
});

test('the C memory store: the acquisition lock under the engine\'s own lock owner, cleared when the job fails', async () => {
  const seen = [];
  const engine = await createEngine({
    clock: manualClock(T0),
    ids: sequentialIds('m-'),
    jobHandler: (job) => {
      seen.push([job.lockOwner, job.lockExpirationTime]);
      throw new Error('down');
    },
  });
  try {
    assert.match(engine.lockOwner, /^rebatch-\d+-[0-9a-f]{8}$/);
    deploy(engine, ASYNC);
    const pi = engine.startProcessInstanceByKey('async', {});
    const result = engine.executeDueJobs({});
    assert.deepEqual([result.executed, result.failed], [1, 1]);
    assert.deepEqual(seen, [[engine.lockOwner, camundaDate(T0 + 300000)]], 'Camunda\'s default lockTimeInMillis');
    const [job] = engine.getJobs({ processInstanceId: pi.id });
    assert.equal(job.retries, 2);
    assert.equal(job.lockOwner, undefined);
    assert.equal(job.lockExpirationTime, undefined);
    assert.throws(() => engine.executeDueJobs({ lockOwner: '' }), /lockOwner must be a non-empty string/);
    assert.throws(() => engine.executeDueJobs({ lockTimeInMillis: -1 }), /lockTimeInMillis must be a non-negative integer/);
  } finally {
    engine.close();
  }
});
