// The SQLite store writes what changed, once: index rows touched only when
// their values change, jobs acquired through a due-date index (store
// version 3: findOrdered), ids that sort by creation time, and files of the
// earlier schema (1) migrated on open.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { createEngine, manualClock, sequentialIds, timeOrderedIds } from '../bindings/index.js';
import { sqliteStore } from '../bindings/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'rebatch-sqlite-index-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2024, 0, 1);
const ix = (field, value) => ({ field, value });
const linear = (key, middle) => ({
  key,
  activities: [{ id: 'start', type: 'startEvent' }, middle, { id: 'end', type: 'endEvent' }],
  flows: [{ id: 'f1', source: 'start', target: middle.id }, { id: 'f2', source: middle.id, target: 'end' }],
});
const TIMER = linear('wait', { id: 'timer', type: 'intermediateCatchEvent', timerDuration: 'PT1H' });
const ASYNC = linear('async', { id: 'work', type: 'serviceTask', asyncBefore: true, class: 'com.example.Work' });

/** Rows SQLite changed (inserted, updated, deleted) while fn ran. */
function changedRows(store, fn) {
  const total = () => store.db.prepare('SELECT total_changes()').pluck().get();
  const before = total();
  fn();
  return total() - before;
}

test('sqlite store: an update writes only the index rows whose values changed', () => {
  const s = sqliteStore(join(dir, 'diff.db'));
  try {
    s.begin();
    s.put('job', 'a', '{"n":1}', 0, [ix('pi', 'p1'), ix('def', 'd1'), ix('acquirable', '1')]);
    const index = () => s.db.prepare("SELECT field, value FROM record_index WHERE id = 'a' ORDER BY field").raw().all();
    assert.equal(changedRows(s, () => s.put('job', 'a', '{"n":2}', 1, [ix('pi', 'p1'), ix('def', 'd1'), ix('acquirable', '1')])), 1,
      'the record alone: no index row rewritten');
    assert.equal(changedRows(s, () => s.put('job', 'a', '{"n":3}', 2, [ix('pi', 'p1'), ix('def', 'd1'), ix('acquirable', '2')])), 3,
      'the record, the old index row out, the new one in');
    assert.deepEqual(index(), [['acquirable', '2'], ['def', 'd1'], ['pi', 'p1']]);
    assert.equal(changedRows(s, () => s.put('job', 'a', '{"n":4}', 3, [ix('pi', 'p1'), ix('def', null), ix('acquirable', '2')])), 2);
    assert.deepEqual(index(), [['acquirable', '2'], ['pi', 'p1']]);
    assert.deepEqual(s.find('job', 'def', 'd1', null, 10), []);
    assert.equal(changedRows(s, () => s.remove('job', 'a', 4)), 3, 'the record and its two index rows');
    assert.deepEqual(index(), []);
    s.commit();
  } finally {
    s.close();
  }
});

test('sqlite store: findOrdered walks an index in (value, id) order, page by page', () => {
  const s = sqliteStore(join(dir, 'ordered.db'));
  try {
    s.begin();
    const rows = [['e', '3'], ['a', '2'], ['c', '1'], ['b', '2'], ['d', null]];
    for (const [id, due] of rows) s.put('job', id, `{"id":"${id}"}`, 0, [ix('due', due), ix('other', 'x')]);
    s.commit();
    const ids = (page) => page.map((r) => r.id);
    assert.deepEqual(ids(s.findOrdered('job', 'due', null, null, -1)), ['c', 'a', 'b', 'e']);
    assert.deepEqual(ids(s.findOrdered('job', 'due', null, null, 2)), ['c', 'a']);
    assert.deepEqual(ids(s.findOrdered('job', 'due', '2', 'a', 2)), ['b', 'e']);
    assert.deepEqual(ids(s.findOrdered('job', 'due', '3', 'e', 2)), []);
    assert.deepEqual(s.findOrdered('job', 'due', null, null, 1)[0], { id: 'c', json: '{"id":"c"}', rev: 1 });
  } finally {
    s.close();
  }
});

/** The store with a count of the rows its listings handed to the engine. */
function counting(store) {
  const counts = { rows: 0 };
  const listing = (name) => (...a) => {
    const rows = store[name](...a);
    counts.rows += rows.length;
    return rows;
  };
  return {
    counts,
    begin: () => store.begin(),
    commit: () => store.commit(),
    rollback: () => store.rollback(),
    savepoint: () => store.savepoint(),
    release: () => store.release(),
    rollbackTo: () => store.rollbackTo(),
    get: (...a) => store.get(...a),
    put: (...a) => store.put(...a),
    remove: (...a) => store.remove(...a),
    find: listing('find'),
    scan: listing('scan'),
    findOrdered: listing('findOrdered'),
  };
}

test('job acquisition reads the due jobs, not every waiting one (SQLite store)', async () => {
  const inner = sqliteStore(join(dir, 'acquire.db'));
  const store = counting(inner);
  const clock = manualClock(T0);
  const engine = await createEngine({ store, clock, ids: sequentialIds('j-'), jobHandler: () => {} });
  try {
    engine.createDeployment({ name: 'd', processes: [TIMER, ASYNC] });
    for (let i = 0; i < 100; i++) engine.startProcessInstanceByKey('wait', {});
    clock.advance(1000);
    engine.startProcessInstanceByKey('async', {});
    engine.startProcessInstanceByKey('async', {});
    store.counts.rows = 0;
    const step = engine.executeDueJobs({ maxJobs: 10 });
    assert.equal(step.executed, 2, 'the two async jobs, created after the timers');
    // a page of at most maxJobs + 1 rows, not the 100 waiting timers
    assert.ok(store.counts.rows <= 30, `the step read ${store.counts.rows} rows for 2 due jobs among 102`);
    store.counts.rows = 0;
    const idle = engine.executeDueJobs({ maxJobs: 10 });
    assert.equal(idle.executed, 0);
    assert.equal(idle.nextDueInMs, 3_600_000 - 1000, 'the first timer');
    assert.ok(store.counts.rows <= 11, `an idle step read ${store.counts.rows} rows`);
    clock.advance(3_600_000);
    let fired = 0;
    for (let r; (r = engine.executeDueJobs({ maxJobs: 15 })).executed > 0; ) fired += r.executed;
    assert.equal(fired, 100, 'every timer fires once it is due, in pages');
    assert.equal(engine.getJobsCount({}).count, 0);
  } finally {
    engine.close();
    inner.close();
  }
});

test('a job whose due date or retries change moves in the due index', async () => {
  const store = sqliteStore(join(dir, 'move.db'));
  const clock = manualClock(T0);
  const engine = await createEngine({ store, clock, ids: sequentialIds('m-'), config: { defaultNumberOfRetries: 1 }, jobHandler: () => { throw new Error('down'); } });
  try {
    engine.createDeployment({ name: 'd', processes: [ASYNC] });
    engine.startProcessInstanceByKey('async', {});
    assert.equal(engine.executeDueJobs({ maxJobs: 5 }).failed, 1);
    const [job] = engine.getJobs({});
    assert.equal(job.retries, 0);
    assert.equal(engine.executeDueJobs({ maxJobs: 5 }).executed, 0, 'no retries left: out of the index');
    engine.setJobRetries(job.id, { retries: 1, dueDate: '2024-01-01T02:00:00.000+0000' });
    const step = engine.executeDueJobs({ maxJobs: 5 });
    assert.equal(step.executed, 0, 'back in the index, but not due');
    assert.equal(step.nextDueInMs, 2 * 3_600_000);
    clock.set(Date.UTC(2024, 0, 1, 2));
    assert.equal(engine.executeDueJobs({ maxJobs: 5 }).executed, 1, 'due at its new date');
  } finally {
    engine.close();
    store.close();
  }
});

/** Rewrites a schema 2 file as rebatch wrote files before the index diff (schema 1). */
function downgradeToSchema1(file) {
  const s = sqliteStore(file);
  const db = s.db;
  db.exec(`
    BEGIN;
    CREATE TABLE records1 (coll TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, rev INTEGER NOT NULL,
      PRIMARY KEY (coll, id)) WITHOUT ROWID;
    INSERT INTO records1 SELECT coll, id, json, rev FROM records;
    DROP TABLE records;
    ALTER TABLE records1 RENAME TO records;
    UPDATE record_index SET value = '1' WHERE field = 'acquirable';
    CREATE INDEX record_index_by_record ON record_index (coll, id);
    UPDATE meta SET value = '1' WHERE key = 'schema';
    COMMIT;
  `);
  s.close();
}

test('an SQLite file of the earlier schema opens, migrated: its jobs run when due', async () => {
  const file = join(dir, 'old.db');
  const clock = manualClock(T0);
  let store = sqliteStore(file);
  let engine = await createEngine({ store, clock, ids: sequentialIds('o-'), jobHandler: () => {} });
  engine.createDeployment({ name: 'd', processes: [TIMER, ASYNC] });
  engine.startProcessInstanceByKey('wait', {});
  engine.startProcessInstanceByKey('async', {});
  engine.close();
  store.close();
  downgradeToSchema1(file);

  store = sqliteStore(file);
  try {
    const db = store.db;
    assert.equal(db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get(), '2');
    assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'record_index_by_record'").pluck().get(), 0);
    assert.deepEqual(
      db.prepare("SELECT count(*) FROM records WHERE idx IS NULL").pluck().get(), 0, 'every record has its index text');
    engine = await createEngine({ store, clock, ids: sequentialIds('n-'), jobHandler: () => {} });
    const first = engine.executeDueJobs({ maxJobs: 5 });
    assert.equal(first.executed, 1, 'the async job');
    assert.equal(first.nextDueInMs, 3_600_000, 'the timer, from its migrated due date');
    clock.advance(3_600_000);
    assert.equal(engine.executeDueJobs({ maxJobs: 5 }).executed, 1, 'the timer');
    assert.equal(engine.getProcessInstancesCount({}).count, 0);
    assert.equal(db.prepare('SELECT count(*) FROM record_index').pluck().get(),
      db.prepare("SELECT count(*) FROM records r, json_each(r.idx)").pluck().get(), 'index rows and index texts agree');
    engine.close();
  } finally {
    store.close();
  }
});

test('an SQLite file of a newer schema is refused with a clear error', () => {
  const file = join(dir, 'newer.db');
  const s = sqliteStore(file);
  s.db.exec("UPDATE meta SET value = '99' WHERE key = 'schema'");
  s.close();
  assert.throws(() => sqliteStore(file), /cannot open the SQLite database .*newer\.db: its schema version 99 is newer than this rebatch's \(2\)/);
});

test('timeOrderedIds: UUIDs in creation order, even within a millisecond and when the clock steps back', () => {
  const clock = manualClock(T0);
  const next = timeOrderedIds(clock);
  const ids = [];
  for (let i = 0; i < 5000; i++) ids.push(next()); // more than the 4096 a millisecond's counter holds
  clock.set(T0 - 60_000);
  ids.push(next());
  clock.set(T0 + 1);
  ids.push(next());
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i], `${ids[i - 1]} before ${ids[i]}`);
  assert.equal(ids[0].slice(0, 13).replace('-', ''), T0.toString(16).padStart(12, '0'), 'the time leads');
});

test('an engine with default ids creates records whose ids sort by creation', async () => {
  const store = sqliteStore(join(dir, 'ids.db'));
  const engine = await createEngine({ store });
  try {
    engine.createDeployment({ name: 'd', processes: [ASYNC] });
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(engine.startProcessInstanceByKey('async', {}).id);
    assert.deepEqual([...ids].sort(), ids);
  } finally {
    engine.close();
    store.close();
  }
});
