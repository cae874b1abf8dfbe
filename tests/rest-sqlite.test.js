// The SQLite store (better-sqlite3) under the engine and the REST server:
// the same records as the reference JS store, and data that survives a
// restart of `rebatch serve` on the same file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { EngineError, StoreConflictError, createEngine, jsMemoryStore, manualClock, sequentialIds } from '../bindings/index.js';
import { sqliteStore } from '../bindings/sqlite-store.js';
import { deploy, externalTaskBpmn, spawnServer, startServer } from './support/rest-helpers.js';
import { deploymentBody } from './support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'rebatch-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ix = (field, value) => ({ field, value });

test('sqlite store: revisions, index paging in id order, rollback', () => {
  const s = sqliteStore(join(dir, 'contract.db'));
  try {
    s.begin();
    assert.equal(s.put('job', 'a', '{"n":1}', 0, [ix('pi', 'p1')]), 1);
    assert.throws(() => s.put('job', 'a', '{}', 0, []), StoreConflictError);
    assert.equal(s.put('job', 'a', '{"n":2}', 1, [ix('pi', 'p2'), ix('none', null)]), 2);
    assert.throws(() => s.put('job', 'a', '{}', 1, []), StoreConflictError);
    assert.throws(() => s.put('job', 'zz', '{}', 3, []), StoreConflictError);
    for (const id of ['c', 'b', 'é', 'd']) s.put('job', id, `{"id":"${id}"}`, 0, [ix('pi', 'p2')]);
    s.commit();
    assert.deepEqual(s.find('job', 'pi', 'p1', null, 10), []);
    assert.deepEqual(s.find('job', 'pi', 'p2', null, 10).map((r) => r.id), ['a', 'b', 'c', 'd', 'é']);
    assert.deepEqual(s.find('job', 'pi', 'p2', 'b', 2).map((r) => r.id), ['c', 'd']);
    assert.deepEqual(s.scan('job', 'c', -1).map((r) => r.id), ['d', 'é']);
    s.begin();
    assert.equal(s.remove('job', 'a', 2), true);
    assert.equal(s.remove('job', 'a', 2), false);
    s.put('job', 'new', '{}', 0, []);
    s.rollback();
    assert.deepEqual(s.get('job', 'a'), { json: '{"n":2}', rev: 2 });
    assert.equal(s.get('job', 'new'), null);
    assert.throws(() => s.remove('job', 'a', 1), StoreConflictError);
  } finally {
    s.close();
  }
});

test('sqlite store: an engine run leaves the same records as the JS memory store', async () => {
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
  const sqlite = sqliteStore(join(dir, 'same.db'));
  const fromSqlite = await run(sqlite);
  sqlite.close();
  const fromJs = await run(jsMemoryStore());
  assert.ok(fromJs.length > 100);
  assert.equal(fromSqlite, fromJs);
});

test('REST on a SQLite store in process: deploy and start', async () => {
  const srv = await startServer({ store: sqliteStore(join(dir, 'inproc.db')) });
  try {
    assert.equal((await deploy(srv.api, { 's.bpmn': externalTaskBpmn('s', 's') })).status, 200);
    assert.equal((await srv.api('POST', '/process-definition/key/s/start', {})).status, 200);
    assert.equal((await srv.api('GET', '/external-task/count')).body.count, 1);
  } finally {
    await srv.close();
  }
});

test('rebatch serve --db: SIGTERM stops cleanly and a restart on the same file keeps the data', async () => {
  const db = join(dir, 'serve.db');
  const first = await spawnServer(['--db', db, '--no-job-executor']);
  let pi;
  try {
    const d = await deploy(first.api, { 'keep.bpmn': externalTaskBpmn('keep', 'keep', { asyncBefore: true }) });
    assert.equal(d.status, 200, d.text);
    pi = (await first.api('POST', '/process-definition/key/keep/start', { businessKey: 'k1' })).body;
    assert.equal((await first.api('GET', '/job/count')).body.count, 1, 'no job executor: the job waits');
  } finally {
    first.child.kill('SIGTERM');
  }
  const stopped = await first.exited;
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /stopped/);

  const second = await spawnServer(['--db', db]);
  try {
    const again = await second.api('GET', `/process-instance/${pi.id}`);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.businessKey, 'k1');
    assert.equal((await second.api('GET', '/process-definition/key/keep')).status, 200);
    // The job executor is on now: the waiting job runs.
    const end = Date.now() + 5000;
    while ((await second.api('GET', '/external-task/count')).body.count !== 1) {
      assert.ok(Date.now() < end, 'the job executor ran the job');
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    second.child.kill('SIGINT');
  }
  assert.equal((await second.exited).code, 0);
});

test('SQLite is single-node: a second rebatch serve on the same file is refused, naming the file', async () => {
  const db = join(dir, 'single.db');
  const first = await spawnServer(['--db', db, '--no-job-executor']);
  try {
    assert.equal((await deploy(first.api, { 'one.bpmn': externalTaskBpmn('one', 'one') })).status, 200);
    await assert.rejects(spawnServer(['--db', db]), (err) => {
      assert.match(err.message, /exited with 1/);
      assert.ok(err.message.includes(`the SQLite file ${db} is in use by another rebatch process`), err.message);
      assert.match(err.message, /--db postgres:\/\//);
      return true;
    });
    assert.throws(() => sqliteStore(db), /is in use by another rebatch process/, 'a store in another process too');
    assert.equal((await first.api('GET', '/process-definition/key/one')).status, 200, 'the first server goes on');
  } finally {
    first.child.kill('SIGTERM');
  }
  assert.equal((await first.exited).code, 0);
  // once the first has stopped, the file opens again
  const s = sqliteStore(db);
  try {
    assert.equal(s.scan('processDefinition', null, -1).length, 1);
  } finally {
    s.close();
  }
});
