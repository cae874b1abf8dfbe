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
