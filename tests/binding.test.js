// bindings/index.js mechanics: error mapping, lifetimes, the operation
// table, host services. (What operations do is tested elsewhere.)
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  EngineError,
  MemoryStore,
  OPERATIONS,
  RC,
  createEngine,
  jsMemoryStore,
  manualClock,
  memoryStore,
  sequentialIds,
} from '../bindings/index.js';
import { deploymentBody } from './support/fixtures.js';

const deterministic = () => ({ clock: manualClock(Date.UTC(2024, 0, 1)), ids: sequentialIds('t-') });

test('an error status becomes an EngineError carrying Camunda\'s body', async () => {
  const engine = await createEngine(deterministic());
  try {
    assert.throws(
      () => engine.call('noSuchOperation', {}),
      (err) =>
        err instanceof EngineError &&
        err instanceof Error &&
        err.status === 404 &&
        err.type === 'RestException' &&
        /noSuchOperation/.test(err.message),
    );
    assert.throws(
      () => engine.createDeployment({ name: 'empty' }),
      (err) => err instanceof EngineError && err.status === 400 && err.type === 'InvalidRequestException',
    );
    assert.throws(
      () => engine.getJob('missing'),
      (err) => err instanceof EngineError && err.status === 404 && typeof err.message === 'string',
    );
  } finally {
    engine.close();
  }
});

test('a success returns the body', async () => {
  const engine = await createEngine(deterministic());
  try {
    const deployment = engine.createDeployment(deploymentBody());
    assert.equal(deployment.id, 't-00000001');
    assert.deepEqual(
      engine.getDeployments().map((d) => d.id),
      ['t-00000001'],
    );
  } finally {
    engine.close();
  }
});

test('convenience methods send the table\'s request shape', async () => {
  const engine = await createEngine(deterministic());
  const sent = [];
  engine.call = (operation, request) => sent.push([operation, request]);
  try {
    engine.getJob('j1');
    engine.setJobRetries('j1', { retries: 3 });
    engine.getJobs({ retries: 0 });
    engine.getJobs();
    engine.fetchAndLock({ workerId: 'w', maxTasks: 1 });
    engine.getProcessDefinitionByKey('k');
    engine.startProcessInstanceByKey('k', { businessKey: 'b' });
    engine.deleteProcessInstance('p1', { skipCustomListeners: true });
    engine.createDeployment(); // no body: left out, not null
    assert.deepEqual(sent, [
      ['getJob', { id: 'j1' }],
      ['setJobRetries', { id: 'j1', body: { retries: 3 } }],
      ['getJobs', { query: { retries: 0 } }],
      ['getJobs', {}],
      ['fetchAndLock', { body: { workerId: 'w', maxTasks: 1 } }],
      ['getProcessDefinitionByKey', { key: 'k' }],
      ['startProcessInstanceByKey', { key: 'k', body: { businessKey: 'b' } }],
      ['deleteProcessInstance', { id: 'p1', query: { skipCustomListeners: true } }],
      ['createDeployment', {}],
    ]);
  } finally {
    delete engine.call;
    engine.close();
  }
});

test('every operation the C core knows has an entry in bindings/operations.js, and back', async () => {
  const engine = await createEngine();
  try {
    const known = engine.operations;
    assert.ok(known.length > 0);
    const missing = known.filter((name) => !(name in OPERATIONS));
    assert.deepEqual(missing, [], 'operations without an argument shape');
    const stale = Object.keys(OPERATIONS).filter((name) => !known.includes(name));
    assert.deepEqual(stale, [], 'table entries the C core does not know');
    for (const name of known) assert.equal(typeof engine[name], 'function', name);
  } finally {
    engine.close();
  }
});

test('use after close throws; close is idempotent', async () => {
  const engine = await createEngine();
  engine.close();
  engine.close();
  assert.equal(engine.closed, true);
  assert.throws(
    () => engine.getJobs(),
    (err) => err instanceof EngineError && err.code === RC.MISUSE && err.status === undefined && /closed/.test(err.message),
  );
  assert.throws(() => engine.injectStoreFault(1), EngineError);
});

test('an engine without a store owns its memory store and frees it on close', async () => {
  const engine = await createEngine(deterministic());
  const store = engine.store;
  assert.ok(store instanceof MemoryStore);
  engine.createDeployment(deploymentBody());
  assert.match(store.dump(), /"deployment":\{"t-00000001":\{"rev":1,/);
  engine.close();
  assert.equal(store.closed, true);
  assert.throws(() => store.dump(), EngineError);
});

test('a memoryStore() is the caller\'s: shared by engines, closed after them', async () => {
  const store = memoryStore();
  assert.equal(store.dump(), '{}');
  const a = await createEngine({ store, ...deterministic() });
  const b = await createEngine({ store, clock: manualClock(0), ids: sequentialIds('u-') });
  try {
    a.createDeployment(deploymentBody('one'));
    assert.equal(b.getDeployments().length, 1, 'b sees what a wrote');
    assert.throws(() => store.close(), (err) => err instanceof EngineError && err.code === RC.MISUSE);
  } finally {
    a.close();
    b.close();
  }
  assert.equal(store.closed, false);
  assert.match(store.dump(), /"deployment"/, 'the data outlives the engines');
  const c = await createEngine({ store });
  assert.equal(c.getDeployments().length, 1);
  c.close();
  store.close();
  store.close();
  await assert.rejects(createEngine({ store }), (err) => err instanceof EngineError && /closed/.test(err.message));
});

test('bad options are rejected before anything is allocated', async () => {
  await assert.rejects(createEngine({ store: { get() {} } }), /store lacks method\(s\) begin, commit/);
  await assert.rejects(createEngine({ clock: 5 }), TypeError);
  await assert.rejects(createEngine({ ids: 'x' }), TypeError);
  await assert.rejects(createEngine({ jobHandler: {} }), TypeError);
});

test('an invalid configuration fails createEngine with the C message', async () => {
  await assert.rejects(
    createEngine({ config: { maxJobsPerAcquisition: 0 } }),
    (err) => err instanceof EngineError && err.code === RC.MISUSE && /maxJobsPerAcquisition/.test(err.message),
  );
  await assert.rejects(createEngine({ config: '{not json' }), (err) => err instanceof EngineError);
  const engine = await createEngine({ config: { maxJobsPerAcquisition: 5, historyLevel: 'full' } });
  engine.close();
});

test('an id source that fails makes the call fail and write nothing', async () => {
  const store = jsMemoryStore();
  let next = 'ok-1';
  const engine = await createEngine({ store, ids: () => next, clock: manualClock(0) });
  try {
    next = 'x'.repeat(64); // REBATCH_ID_MAX is 63
    assert.throws(
      () => engine.createDeployment(deploymentBody()),
      (err) => err instanceof EngineError && err.type === 'HostError' && /longer than 63/.test(err.message),
    );
    assert.equal(store.dump(), '{}');
    next = 'ok-2';
    assert.equal(engine.createDeployment(deploymentBody()).id, 'ok-2');
  } finally {
    engine.close();
  }
});

test('a clock that throws is reported as a HostError', async () => {
  let broken = false;
  const engine = await createEngine({
    clock: () => {
      if (broken) throw new Error('clock broke');
      return 0;
    },
  });
  try {
    broken = true;
    assert.throws(
      () => engine.createDeployment(deploymentBody()),
      (err) => err instanceof EngineError && err.type === 'HostError' && /clock broke/.test(err.message),
    );
    broken = false;
    engine.getDeployments(); // the error does not stick
  } finally {
    engine.close();
  }
});

test('manualClock and sequentialIds', () => {
  const clock = manualClock(1000);
  assert.equal(clock(), 1000);
  clock.advance(500);
  assert.equal(clock.now(), 1500);
  clock.set(10);
  assert.equal(clock(), 10);
  const ids = sequentialIds('p-');
  assert.deepEqual([ids(), ids()], ['p-00000001', 'p-00000002']);
  assert.ok(ids() < ids(), 'id order is creation order');
});

test('EngineError fields', () => {
  const err = new EngineError('m', { type: 'T', status: 409, code: 7 });
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'EngineError');
  assert.deepEqual([err.message, err.type, err.status, err.code], ['m', 'T', 409, 7]);
  const plain = new EngineError('x');
  assert.equal(plain.type, 'RebatchError');
  assert.equal(plain.status, undefined);
});
