// The PostgreSQL store against a throwaway cluster (tests/support/pg-cluster.js):
// the storage contract, the same records as the reference JS store, the
// buffered writes' conflict checks, and two stores (two nodes) on one
// database meeting Camunda's optimistic locking.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { EngineError, StoreConflictError, createEngine, jsMemoryStore, manualClock, sequentialIds } from '../bindings/index.js';
import { postgresStore } from '../bindings/postgres-store.js';
import { deploymentBody } from './support/fixtures.js';
import { startPgCluster } from './support/pg-cluster.js';

let cluster;
before(async () => {
  cluster = await startPgCluster();
});
after(() => cluster?.stop());

const ix = (field, value) => ({ field, value });

test('postgres store: revisions, index paging in id order, rollback', () => {
  const s = postgresStore(cluster.createDatabase('contract'));
  try {
    s.begin();
    assert.equal(s.put('job', 'a', '{"n":1}', 0, [ix('pi', 'p1')]), 1);
    assert.throws(() => s.put('job', 'a', '{}', 0, []), StoreConflictError);
    assert.equal(s.put('job', 'a', '{"n":2}', 1, [ix('pi', 'p2'), ix('none', null)]), 2);
    assert.throws(() => s.put('job', 'a', '{}', 1, []), StoreConflictError);
    assert.throws(() => s.put('job', 'zz', '{}', 3, []), StoreConflictError);
    for (const id of ['c', 'b', 'é', 'd', '😀', '\uffff']) s.put('job', id, `{"id":"${id}"}`, 0, [ix('pi', 'p2')]);
    s.put('job', '', '{"empty":"it\'s \\\\ fine"}', 0, [ix('pi', '')]);
    s.commit();
    assert.deepEqual(s.find('job', 'pi', 'p1', null, 10), []);
    // code point order: U+FFFF before U+1F600 (UTF-16 order would swap them)
    assert.deepEqual(s.find('job', 'pi', 'p2', null, 10).map((r) => r.id), ['a', 'b', 'c', 'd', 'é', '\uffff', '😀']);
    assert.deepEqual(s.find('job', 'pi', 'p2', 'b', 2).map((r) => r.id), ['c', 'd']);
    assert.deepEqual(s.find('job', 'pi', '', null, -1), [{ id: '', json: '{"empty":"it\'s \\\\ fine"}', rev: 1 }]);
    assert.deepEqual(s.scan('job', 'c', -1).map((r) => r.id), ['d', 'é', '\uffff', '😀']);
    s.begin();
    assert.equal(s.remove('job', 'a', 2), true);
    assert.equal(s.remove('job', 'a', 2), false);
    assert.equal(s.get('job', 'a'), null, 'a transaction reads its own remove');
    s.put('job', 'new', '{}', 0, []);
    assert.deepEqual(s.get('job', 'new'), { json: '{}', rev: 1 }, 'and its own insert');
    assert.deepEqual(s.scan('job', 'm', 1).map((r) => r.id), ['new'], 'listings see buffered writes');
    s.rollback();
    assert.deepEqual(s.get('job', 'a'), { json: '{"n":2}', rev: 2 });
    assert.equal(s.get('job', 'new'), null);
    assert.throws(() => s.remove('job', 'a', 1), StoreConflictError);
    assert.equal(s.remove('job', 'nothing', 1), false);
  } finally {
    s.close();
  }
});

test('postgres store: index entries follow every update and remove', () => {
  const s = postgresStore(cluster.createDatabase('indexes'));
  try {
    s.begin();
    s.put('t', 'x', '{}', 0, [ix('a', '1'), ix('b', '1')]);
    s.commit();
    s.begin();
    const { rev } = s.get('t', 'x');
    s.put('t', 'x', '{"v":2}', rev, [ix('a', '1'), ix('b', '2')]); // buffered: read at this revision
    s.commit();
    assert.deepEqual(s.find('t', 'b', '1', null, -1), []);
    assert.deepEqual(s.find('t', 'b', '2', null, -1).map((r) => r.rev), [2]);
    assert.deepEqual(s.find('t', 'a', '1', null, -1).map((r) => r.json), ['{"v":2}']);
    s.begin();
    s.put('t', 'x', '{"v":3}', 2, [ix('c', '3')]); // not read in this transaction: sent at once
    s.rollback();
    assert.equal(s.find('t', 'c', '3', null, -1).length, 0);
    s.begin();
    assert.equal(s.remove('t', 'x', 2), true);
    s.commit();
    assert.deepEqual(s.find('t', 'a', '1', null, -1), []);
    assert.equal(s.dump(), '{}');
    // removes of records this transaction wrote never reach the server
    s.begin();
    s.put('t', 'gone', '{}', 0, [ix('a', 'g')]);
    assert.throws(() => s.remove('t', 'gone', 2), StoreConflictError);
    assert.equal(s.remove('t', 'gone', 1), true);
    s.put('t', 'kept', '{}', 0, [ix('a', 'k')]);
    s.commit();
    s.begin();
    s.put('t', 'kept', '{"v":2}', s.get('t', 'kept').rev, [ix('a', 'k2')]);
    assert.throws(() => s.remove('t', 'kept', 1), StoreConflictError);
    assert.equal(s.remove('t', 'kept', 2), true);
    assert.equal(s.get('t', 'kept'), null);
    assert.deepEqual(s.find('t', 'a', 'k', null, -1), [], 'the listing flushed the remove first');
    s.commit();
    assert.equal(s.dump(), '{}');
    // outside a transaction every write goes out at once
    assert.equal(s.put('t', 'solo', '{}', 0, [ix('a', 's')]), 1);
    assert.throws(() => s.put('t', 'solo', '{}', 0, []), /has revision 1, not the expected 0/);
    assert.throws(() => s.remove('t', 'solo', 3), /has revision 1, not the expected 3/);
    assert.equal(s.remove('t', 'solo', 1), true);
    assert.equal(s.remove('t', 'solo', 1), false);
  } finally {
    s.close();
  }
});

test('postgres store: an engine run leaves the same records as the JS memory store', async () => {
  async function run(store) {
    const engine = await createEngine({ store, clock: manualClock(Date.UTC(2024, 0, 1)), ids: sequentialIds('d-') });
    try {
      engine.createDeployment(deploymentBody('first'));
      engine.createDeployment(deploymentBody('second'));
      engine.createDeployment(deploymentBody('first'));
      engine.startProcessInstanceByKey('first', {});
      assert.throws(() => engine.createDeployment({ processes: [] }), EngineError);
      return store.dump();
    } finally {
      engine.close();
    }
  }
  const pg = postgresStore(cluster.createDatabase('same'));
  const fromPg = await run(pg);
  pg.close();
  const fromJs = await run(jsMemoryStore());
  assert.ok(fromJs.length > 100);
  assert.equal(fromPg, fromJs);
});

test('two stores on one database: a buffered write that lost the race fails the commit and changes nothing', () => {
  const url = cluster.createDatabase('race');
  const [a, b] = [postgresStore(url), postgresStore(url)];
  try {
    a.begin();
    a.put('r', 'x', '{"v":0}', 0, [ix('k', '0')]);
    a.commit();
    a.begin();
    b.begin();
    const ra = a.get('r', 'x');
    const rb = b.get('r', 'x');
    a.put('r', 'x', '{"v":"a"}', ra.rev, [ix('k', 'a')]);
    a.put('r', 'side', '{}', 0, []);
    b.put('r', 'x', '{"v":"b"}', rb.rev, [ix('k', 'b')]);
    b.commit();
    assert.throws(() => a.commit(), (err) => err instanceof StoreConflictError && /r x/.test(err.message));
    assert.deepEqual(a.get('r', 'x'), { json: '{"v":"b"}', rev: 2 });
    assert.equal(a.get('r', 'side'), null, 'the losing transaction wrote nothing');
    assert.deepEqual(a.find('r', 'k', 'b', null, -1).map((r) => r.id), ['x']);
    assert.deepEqual(a.find('r', 'k', 'a', null, -1), []);
    // a store opened on an existing schema keeps it
    const c = postgresStore(url);
    assert.equal(c.get('r', 'x').rev, 2);
    c.close();
  } finally {
    a.close();
    b.close();
  }
});

test('two engines on one database: the slower writer gets Camunda\'s OptimisticLockingException and nothing is lost', async () => {
  const url = cluster.createDatabase('engines');
  const storeA = postgresStore(url);
  const storeB = postgresStore(url);
  const a = await createEngine({ store: storeA });
  const b = await createEngine({ store: storeB });
  try {
    a.createDeployment({ name: 'x', processes: [{
      key: 'ext',
      activities: [{ id: 's', type: 'startEvent' }, { id: 'w', type: 'serviceTask', topic: 't' }, { id: 'e', type: 'endEvent' }],
      flows: [{ id: 'f1', source: 's', target: 'w' }, { id: 'f2', source: 'w', target: 'e' }],
    }] });
    a.startProcessInstanceByKey('ext', {});
    const [task] = b.getExternalTasks({});
    // B reads the task, then A changes it before B writes: B's get runs
    // through the store, A's whole operation commits in between.
    const get = storeB.get.bind(storeB);
    let raced = false;
    storeB.get = (coll, id) => {
      const row = get(coll, id);
      if (coll === 'externalTask' && !raced) {
        raced = true;
        a.setExternalTaskRetries(task.id, { retries: 7 });
      }
      return row;
    };
    assert.throws(
      () => b.setExternalTaskRetries(task.id, { retries: 3 }),
      (err) => err instanceof EngineError && err.status === 500 && err.type === 'OptimisticLockingException' && err.code === 1,
    );
    assert.ok(raced);
    storeB.get = get;
    assert.equal(b.getExternalTask(task.id).retries, 7, 'the first writer\'s change stays');
    b.setExternalTaskRetries(task.id, { retries: 3 });
    assert.equal(a.getExternalTask(task.id).retries, 3, 'a retry on fresh data succeeds');
  } finally {
    a.close();
    b.close();
    storeA.close();
    storeB.close();
  }
});

/** Two async service tasks in parallel branches: two exclusive jobs per instance. */
const TWO_JOBS = {
  key: 'two',
  activities: [
    { id: 'start', type: 'startEvent' }, { id: 'fork', type: 'parallelGateway' },
    { id: 'x', type: 'serviceTask', asyncBefore: true }, { id: 'y', type: 'serviceTask', asyncBefore: true },
    { id: 'join', type: 'parallelGateway' }, { id: 'end', type: 'endEvent' },
  ],
  flows: [
    { id: 'f1', source: 'start', target: 'fork' }, { id: 'f2', source: 'fork', target: 'x' },
    { id: 'f3', source: 'fork', target: 'y' }, { id: 'f4', source: 'x', target: 'join' },
    { id: 'f5', source: 'y', target: 'join' }, { id: 'f6', source: 'join', target: 'end' },
  ],
};

test('two nodes acquire at the same moment: each job runs on one node once, a process instance\'s jobs on the same node', async () => {
  const url = cluster.createDatabase('acquire_race');
  const storeA = postgresStore(url);
  const storeB = postgresStore(url);
  const ran = [];
  const handler = (node) => (job) => void ran.push({ node, instance: job.processInstanceId, id: job.id, owner: job.lockOwner });
  const a = await createEngine({ store: storeA, lockOwner: 'node-a', jobHandler: handler('node-a') });
  const b = await createEngine({ store: storeB, lockOwner: 'node-b', jobHandler: handler('node-b') });
  try {
    a.createDeployment({ name: 'two', processes: [TWO_JOBS] });
    for (let i = 0; i < 3; i++) a.startProcessInstanceByKey('two', {});
    assert.equal(a.getJobsCount({}).count, 6);
    // Node A's acquisition has read the six jobs and written its locks,
    // which PostgreSQL has not seen yet; node B runs a whole step first.
    const commit = storeA.commit.bind(storeA);
    let stepB = null;
    storeA.commit = () => {
      stepB ??= b.executeDueJobs({ maxJobs: 3 });
      commit();
    };
    const stepA = a.executeDueJobs({ maxJobs: 10 });
    storeA.commit = commit;
    assert.equal(stepB.executed, 4, 'node B took two instances (maxJobs 3, whole groups)');
    assert.equal(stepA.executed, 2, 'node A lost those at its commit and kept the third instance');
    assert.equal(ran.length, 6);
    assert.equal(new Set(ran.map((r) => r.id)).size, 6, 'no job ran twice');
    for (const r of ran) assert.equal(r.owner, r.node, 'each ran under its node\'s lock');
    const nodeOf = new Map();
    for (const r of ran) {
      assert.equal(nodeOf.get(r.instance) ?? r.node, r.node, 'an instance\'s jobs ran on one node');
      nodeOf.set(r.instance, r.node);
    }
    assert.equal(a.getJobsCount({}).count, 0);
    assert.equal(a.getHistoricProcessInstancesCount({ finished: true }).count, 3);
  } finally {
    a.close();
    b.close();
    storeA.close();
    storeB.close();
  }
});

test('two nodes on PostgreSQL: a job one node holds is not run by the other until its lock expires', async () => {
  const url = cluster.createDatabase('acquire_held');
  const stores = [postgresStore(url), postgresStore(url)];
  const clock = manualClock(Date.UTC(2024, 0, 1));
  let finish;
  const a = await createEngine({ store: stores[0], clock, lockOwner: 'node-a', handlers: { x: () => new Promise((resolve) => (finish = resolve)), y: () => {} } });
  const ran = [];
  const b = await createEngine({ store: stores[1], clock, lockOwner: 'node-b', handlers: { x: (job) => void ran.push(job.id), y: () => {} } });
  try {
    a.createDeployment({ name: 'two', processes: [TWO_JOBS] });
    const pi = a.startProcessInstanceByKey('two', {});
    assert.equal(a.executeDueJobs({ lockTimeInMillis: 1000 }).executed, 2);
    const [held] = b.getJobs({ processInstanceId: pi.id });
    assert.equal(held.lockOwner, 'node-a');
    assert.equal(b.executeDueJobs({}).executed, 0, 'held by node A');
    clock.advance(1000);
    assert.equal(b.executeDueJobs({}).executed, 1, 'node A\'s lock expired');
    assert.deepEqual(ran, [held.id]);
    finish();
    await a.jobHandlers.idle();
    assert.equal(b.getHistoricProcessInstancesCount({ finished: true }).count, 1);
  } finally {
    a.close();
    b.close();
    for (const s of stores) s.close();
  }
});

test('postgres store: a bad URL is a clear error', () => {
  assert.throws(() => postgresStore(`postgres://rebatch@127.0.0.1:${cluster.port}/missing_db`), /cannot connect to PostgreSQL at postgres:\/\/rebatch@127\.0\.0\.1:\d+\/missing_db: .*missing_db/);
  assert.throws(() => postgresStore(''), TypeError);
});

test('postgres store: a dropped connection fails the operation that meets it, and the next one connects again', async () => {
  const url = cluster.createDatabase('reconnect');
  const store = postgresStore(url);
  const engine = await createEngine({ store });
  try {
    engine.createDeployment(deploymentBody('first'));
    const { createRequire } = await import('node:module');
    const PQ = createRequire(import.meta.url)('libpq');
    const pq = new PQ();
    pq.connectSync(url);
    pq.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'reconnect' AND pid <> pg_backend_pid()");
    assert.equal(pq.resultStatus(), 'PGRES_TUPLES_OK');
    pq.finish();
    setImmediate(() => setImmediate(() => void pq)); // see PostgresStore's finish()
    assert.throws(() => engine.startProcessInstanceByKey('first', {}), (err) => err.status === 500 && /storage failure/.test(err.message));
    engine.startProcessInstanceByKey('first', {});
    assert.equal(store.scan('historicProcessInstance', null, -1).length, 1, 'the failed start left nothing, the next one went through');
  } finally {
    engine.close();
    store.close();
  }
});
