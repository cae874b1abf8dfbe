// The JS storage contract: jsMemoryStore() as its reference, and the
// adapter that lets C call any JS store (errors, conflicts, rollback).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  EngineError,
  StoreConflictError,
  compareIds,
  createEngine,
  jsMemoryStore,
  manualClock,
  memoryStore,
  sequentialIds,
} from '../bindings/index.js';
import { deploymentBody, faultyStore } from './support/fixtures.js';

const ix = (field, value) => ({ field, value });

test('revisions: insert is 1, update increments, mismatches conflict and change nothing', () => {
  const s = jsMemoryStore();
  assert.equal(s.put('job', 'a', '{"n":1}', 0, []), 1);
  assert.throws(() => s.put('job', 'a', '{"n":9}', 0, []), StoreConflictError);
  assert.equal(s.put('job', 'a', '{"n":2}', 1, []), 2);
  assert.throws(() => s.put('job', 'a', '{"n":9}', 1, []), StoreConflictError);
  assert.throws(() => s.put('job', 'missing', '{}', 3, []), StoreConflictError);
  assert.deepEqual(s.get('job', 'a'), { json: '{"n":2}', rev: 2 });
  assert.equal(s.get('job', 'missing'), null);
  assert.equal(s.get('nocollection', 'a'), null);
  assert.throws(() => s.remove('job', 'a', 1), StoreConflictError);
  assert.equal(s.remove('job', 'missing', 1), false);
  assert.equal(s.remove('job', 'a', 2), true);
  assert.equal(s.get('job', 'a'), null);
  assert.equal(s.dump(), '{}');
});

test('find and scan page in ascending id order after afterId', () => {
  const s = jsMemoryStore();
  for (const id of ['c', 'a', 'e', 'b', 'd']) {
    s.put('job', id, `{"id":"${id}"}`, 0, [ix('pi', id < 'c' ? 'p1' : 'p2'), ix('none', null)]);
  }
  const ids = (rows) => rows.map((r) => r.id);
  assert.deepEqual(ids(s.scan('job', null, 100)), ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(ids(s.scan('job', null, 2)), ['a', 'b']);
  assert.deepEqual(ids(s.scan('job', 'b', 2)), ['c', 'd']);
  assert.deepEqual(ids(s.scan('job', 'bb', 100)), ['c', 'd', 'e'], 'afterId need not exist');
  assert.deepEqual(ids(s.scan('job', 'e', 100)), []);
  assert.deepEqual(ids(s.find('job', 'pi', 'p2', null, 100)), ['c', 'd', 'e']);
  assert.deepEqual(ids(s.find('job', 'pi', 'p2', 'c', 1)), ['d']);
  assert.deepEqual(s.find('job', 'none', 'null', null, 100), [], 'null values are not indexed');
  assert.deepEqual(s.find('job', 'other', 'x', null, 100), []);
  assert.deepEqual(s.scan('other', null, 100), []);
  assert.deepEqual(s.find('job', 'pi', 'p1', null, 100)[0], { id: 'a', json: '{"id":"a"}', rev: 1 });
});

test('a put replaces the index; a remove drops it', () => {
  const s = jsMemoryStore();
  s.put('job', 'a', '{}', 0, [ix('state', 'open')]);
  s.put('job', 'a', '{}', 1, [ix('state', 'done')]);
  assert.deepEqual(s.find('job', 'state', 'open', null, 10), []);
  assert.equal(s.find('job', 'state', 'done', null, 10).length, 1);
  s.remove('job', 'a', 2);
  assert.deepEqual(s.find('job', 'state', 'done', null, 10), []);
});

test('rollback undoes every write of the transaction; reads see own writes', () => {
  const s = jsMemoryStore();
  s.put('job', 'keep', '{"v":1}', 0, [ix('f', 'x')]);
  s.put('job', 'gone', '{"v":1}', 0, [ix('f', 'x')]);
  const before = s.dump();
  s.begin();
  s.put('job', 'keep', '{"v":2}', 1, [ix('f', 'y')]);
  s.put('job', 'keep', '{"v":3}', 2, [ix('f', 'z')]);
  s.remove('job', 'gone', 1);
  s.put('job', 'new', '{}', 0, [ix('f', 'x')]);
  s.put('other', 'o', '{}', 0, []);
  assert.deepEqual(s.get('job', 'keep'), { json: '{"v":3}', rev: 3 });
  assert.equal(s.get('job', 'gone'), null);
  s.rollback();
  assert.equal(s.dump(), before);
  assert.deepEqual(s.find('job', 'f', 'x', null, 10).map((r) => r.id), ['gone', 'keep']);
  assert.deepEqual(s.find('job', 'f', 'z', null, 10), []);
  s.begin();
  s.put('job', 'new', '{}', 0, []);
  s.commit();
  assert.equal(s.get('job', 'new').rev, 1);
  assert.throws(() => s.commit(), /no open transaction/);
  s.begin();
  assert.throws(() => s.begin(), /already open/);
  s.rollback();
});

test('dump is canonical: sorted collections and ids, records verbatim', () => {
  const s = jsMemoryStore();
  s.put('zeta', 'b', '{"x":[1,2]}', 0, []);
  s.put('zeta', 'a', '{}', 0, []);
  s.put('alpha', 'q"uote', 'null', 0, []);
  assert.equal(
    s.dump(),
    '{"alpha":{"q\\"uote":{"rev":1,"record":null}},"zeta":{"a":{"rev":1,"record":{}},"b":{"rev":1,"record":{"x":[1,2]}}}}',
  );
  JSON.parse(s.dump());
});

test('ids compare in UTF-8 byte order, like C strcmp', () => {
  const sortedBytes = (list) =>
    [...list].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  const ids = ['b', 'a', 'ab', '', 'é', '\uffff', '😀', 'z\ue000', 'z😀', 'Z'];
  assert.deepEqual([...ids].sort(compareIds), sortedBytes(ids));
  const s = jsMemoryStore();
  for (const id of ids) s.put('c', id, '{}', 0, []);
  assert.deepEqual(s.scan('c', null, 100).map((r) => r.id), sortedBytes(ids));
});

test('the C memory store and the JS store end up byte-identical', async () => {
  async function run(store) {
    const engine = await createEngine({ store, clock: manualClock(Date.UTC(2024, 0, 1)), ids: sequentialIds('d-') });
    try {
      engine.createDeployment(deploymentBody('first'));
      engine.createDeployment(deploymentBody('second'));
      engine.createDeployment(deploymentBody('first'));
      engine.getProcessDefinitions({ latestVersion: true });
      assert.throws(() => engine.createDeployment({ processes: [] }), EngineError);
      return store.dump();
    } finally {
      engine.close();
    }
  }
  const c = memoryStore();
  const fromC = await run(c);
  c.close();
  const fromJs = await run(jsMemoryStore());
  assert.ok(fromC.length > 100);
  assert.equal(fromJs, fromC);
});

test('a store that throws mid-operation fails the call cleanly and keeps the store as it was', async () => {
  const inner = jsMemoryStore();
  const store = faultyStore(inner);
  const engine = await createEngine({ store, clock: manualClock(0), ids: sequentialIds('f-') });
  try {
    engine.createDeployment(deploymentBody('before'));
    let failures = 0;
    for (const method of ['put', 'get', 'find', 'scan', 'begin']) {
      const before = inner.dump();
      store.arm({ [method]: method === 'put' ? 2 : 1 });
      try {
        engine.createDeployment(deploymentBody(`after-${method}`));
        // createDeployment may not call this method at all; then nothing failed
        assert.notEqual(method, 'put', 'the second put must have failed');
        continue;
      } catch (err) {
        assert.ok(err instanceof EngineError, `${method}: ${err}`);
        assert.equal(err.status, 500);
        assert.equal(err.type, 'ProcessEngineException');
        assert.match(err.message, new RegExp(`${method} exploded`));
        failures++;
      }
      assert.equal(inner.dump(), before, `${method}: store unchanged`);
    }
    assert.ok(failures >= 2, 'at least put and begin failed');
    const before = inner.dump();
    store.arm({});
    engine.createDeployment(deploymentBody('after'));
    assert.notEqual(inner.dump(), before, 'the engine works on afterwards');
  } finally {
    engine.close();
  }
});

test('a StoreConflictError maps to an optimistic locking failure', async () => {
  const inner = jsMemoryStore();
  const store = faultyStore(inner, {}, () => new StoreConflictError('someone else wrote it'));
  const engine = await createEngine({ store, clock: manualClock(0), ids: sequentialIds('c-') });
  try {
    store.arm({ put: 1 });
    assert.throws(
      () => engine.createDeployment(deploymentBody()),
      (err) =>
        err instanceof EngineError && err.status === 500 && err.type === 'OptimisticLockingException' && err.code === 1,
    );
    assert.equal(inner.dump(), '{}');
  } finally {
    engine.close();
  }
});

test('a store method returning a Promise is an error, not a hang', async () => {
  const inner = jsMemoryStore();
  const store = { ...faultyStore(inner), get: async () => null, find: async () => [], scan: async () => [] };
  const engine = await createEngine({ store, clock: manualClock(0), ids: sequentialIds('p-') });
  try {
    assert.throws(() => engine.getDeployments(), (err) => err instanceof EngineError && /synchronous/.test(err.message));
  } finally {
    engine.close();
  }
});

test('a store returning malformed rows fails the call', async () => {
  const inner = jsMemoryStore();
  const store = { ...faultyStore(inner), scan: () => [{ id: 'x', json: '{}', rev: 0 }] };
  const engine = await createEngine({ store });
  try {
    assert.throws(() => engine.getDeployments(), (err) => err instanceof EngineError && /positive integer rev/.test(err.message));
  } finally {
    engine.close();
  }
});

test('injected store faults work over a JS store', async () => {
  const store = jsMemoryStore();
  const engine = await createEngine({ store, clock: manualClock(0), ids: sequentialIds('i-') });
  try {
    engine.injectStoreFault(1);
    assert.throws(() => engine.createDeployment(deploymentBody()), /injected storage fault/);
    assert.equal(store.dump(), '{}');
    engine.createDeployment(deploymentBody());
  } finally {
    engine.close();
  }
});
