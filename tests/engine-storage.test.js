// Storage failures, conflicts and deterministic replay through the engine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError, StoreConflictError, jsMemoryStore, memoryStore } from '../bindings/index.js';
import { faultyStore } from './support/fixtures.js';
import { EXT_PROCESS, MIN, deploy, linear, newEngine } from './support/engine-helpers.js';

const BUSY = linear('busy', [
  { id: 'svc', type: 'serviceTask', asyncBefore: true },
  { id: 'ext', type: 'serviceTask', topic: 'ext' },
  { id: 'wait', type: 'intermediateCatchEvent', timerDuration: 'PT1M' },
]);

/** Calls fn with the Nth storage callback failing, for N = 1, 2, ... until fn succeeds. */
function everyFault(engine, fn) {
  let n = 1;
  for (; n < 500; n++) {
    const before = engine.store.dump();
    engine.injectStoreFault(n);
    let error;
    try {
      fn();
    } catch (err) {
      error = err;
    }
    engine.injectStoreFault(0);
    if (!error) return n;
    assert.ok(error instanceof EngineError);
    assert.deepEqual(
      { status: error.status, type: error.type, code: error.code, message: error.message },
      { status: 500, type: 'ProcessEngineException', code: 0, message: 'storage failure: injected storage fault' },
      `fault at storage call ${n}`,
    );
    assert.equal(engine.store.dump(), before, `fault at storage call ${n} left a trace`);
  }
  assert.fail('the operation never succeeded');
}

test('an injected storage fault at any point of an operation fails it cleanly and changes nothing', async () => {
  const { engine, failing } = await newEngine();
  try {
    const deployCalls = everyFault(engine, () => deploy(engine, BUSY, EXT_PROCESS));
    assert.ok(deployCalls > 3, `deployment uses several storage calls (${deployCalls})`);
    assert.equal(engine.getProcessDefinitions().length, 2);
    everyFault(engine, () => engine.startProcessInstanceByKey('busy', { businessKey: 'x' }));
    assert.equal(engine.getProcessInstancesCount().count, 1);
    const [job] = engine.getJobs();
    everyFault(engine, () => engine.executeJob(job.id));
    assert.equal(engine.getJobsCount().count, 0);
    const [task] = engine.fetchAndLock({ workerId: 'w', maxTasks: 1, topics: [{ topicName: 'ext', lockDuration: MIN }] });
    everyFault(engine, () => engine.handleExternalTaskFailure(task.id, { workerId: 'w', errorMessage: 'x', retries: 0 }));
    assert.equal(engine.getIncidentsCount().count, 1);
    everyFault(engine, () => engine.setExternalTaskRetries(task.id, { retries: 2 }));
    assert.equal(engine.getIncidentsCount().count, 0);
    everyFault(engine, () => engine.deleteProcessInstance(task.processInstanceId));
    assert.equal(engine.getHistoricProcessInstance(task.processInstanceId).state, 'EXTERNALLY_TERMINATED');
    assert.equal(failing.size, 0);
  } finally {
    engine.close();
  }
});

test('a JS store that throws on its Nth put fails the call with a clean EngineError and leaves the store as it was', async () => {
  const inner = jsMemoryStore();
  const store = faultyStore(inner);
  const { engine } = await newEngine({ store });
  try {
    deploy(engine, BUSY);
    const start = () => engine.startProcessInstanceByKey('busy', {});
    for (let nth = 1; ; nth++) {
      const before = inner.dump();
      store.arm({ put: nth });
      let error;
      try {
        start();
      } catch (err) {
        error = err;
      }
      store.arm({});
      if (!error) {
        assert.ok(nth > 2, 'starting writes several records');
        break;
      }
      assert.ok(error instanceof EngineError);
      assert.equal(error.status, 500);
      assert.equal(error.type, 'ProcessEngineException');
      assert.equal(error.message, 'storage failure: put: put exploded');
      assert.equal(inner.dump(), before, `put #${nth} failing left a trace`);
    }
    assert.equal(engine.getProcessInstancesCount().count, 1);
  } finally {
    engine.close();
  }
});

test('a conflicting write (StoreConflictError) is a 500 OptimisticLockingException with code 1', async () => {
  const inner = jsMemoryStore();
  const store = faultyStore(inner, {}, () => new StoreConflictError('record changed under us'));
  const { engine } = await newEngine({ store });
  try {
    deploy(engine, EXT_PROCESS);
    engine.startProcessInstanceByKey('ext', {});
    const [task] = engine.getExternalTasks();
    const before = inner.dump();
    store.arm({ put: 1 });
    let error;
    try {
      engine.fetchAndLock({ workerId: 'w', maxTasks: 1, topics: [{ topicName: 'work', lockDuration: MIN }] });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof EngineError, 'the conflict fails the call');
    assert.equal(error.status, 500);
    assert.equal(error.type, 'OptimisticLockingException');
    assert.equal(error.code, 1);
    assert.match(error.message, /^ENGINE-03005 /);
    assert.equal(inner.dump(), before);
    assert.equal(engine.getExternalTask(task.id).workerId, null);
  } finally {
    engine.close();
  }
});

test('a record changed by another writer between read and write is a real revision conflict', async () => {
  // The wrapper plays "another writer": right after the engine has read the
  // external tasks of a topic it bumps their revisions, so the engine's put
  // names a stale revision and the JS store itself throws StoreConflictError.
  const shared = jsMemoryStore();
  let meddle = false;
  const store = {
    ...Object.fromEntries(['begin', 'commit', 'rollback', 'get', 'put', 'remove', 'scan'].map((m) => [m, (...a) => shared[m](...a)])),
    find(coll, field, value, afterId, limit) {
      const rows = shared.find(coll, field, value, afterId, limit);
      if (meddle && coll === 'externalTask') {
        for (const row of rows) shared.put(coll, row.id, row.json, row.rev, [{ field, value }]);
      }
      return rows;
    },
  };
  const { engine } = await newEngine({ store });
  try {
    deploy(engine, EXT_PROCESS);
    engine.startProcessInstanceByKey('ext', {});
    const before = shared.dump();
    meddle = true;
    let error;
    try {
      engine.fetchAndLock({ workerId: 'w', maxTasks: 1, topics: [{ topicName: 'work', lockDuration: MIN }] });
    } catch (err) {
      error = err;
    }
    meddle = false;
    assert.ok(error instanceof EngineError, 'the stale write fails the call');
    assert.deepEqual([error.status, error.type, error.code], [500, 'OptimisticLockingException', 1]);
    assert.equal(shared.dump(), before, 'the meddling writes rolled back with the failed operation');
    // without interference the same call succeeds
    assert.equal(engine.fetchAndLock({ workerId: 'w', maxTasks: 1, topics: [{ topicName: 'work', lockDuration: MIN }] }).length, 1);
  } finally {
    engine.close();
  }
});

/** One scripted run touching every kind of record. */
async function scriptedRun(store) {
  const { engine, clock, failing } = await newEngine({ store });
  try {
    deploy(engine, BUSY, EXT_PROCESS);
    for (let i = 0; i < 3; i++) engine.startProcessInstanceByKey('busy', { businessKey: `b${i}`, variables: { i: { value: i } } });
    engine.startProcessInstanceByKey('ext', {});
    failing.set('svc', 'first attempt fails');
    engine.executeDueJobs({ maxJobs: 1 });
    failing.clear();
    clock.advance(1000);
    engine.executeDueJobs({});
    const tasks = engine.fetchAndLock({ workerId: 'w', maxTasks: 10, topics: [{ topicName: 'ext', lockDuration: MIN }] });
    engine.completeExternalTask(tasks[0].id, { workerId: 'w', variables: { done: { value: true } } });
    engine.handleExternalTaskFailure(tasks[1].id, { workerId: 'w', errorMessage: 'bad', retries: 0 });
    engine.setExternalTaskRetries(tasks[1].id, { retries: 1 });
    engine.deleteProcessInstance(tasks[2].processInstanceId);
    clock.advance(2 * MIN);
    engine.executeDueJobs({});
    return engine.store.dump();
  } finally {
    engine.close();
  }
}

test('deterministic replay: the same script twice gives byte-identical dumps (C and JS stores alike)', async () => {
  const c1 = memoryStore();
  const c2 = memoryStore();
  const first = await scriptedRun(c1);
  const second = await scriptedRun(c2);
  assert.ok(first.length > 1000);
  assert.equal(first, second);
  const js1 = await scriptedRun(jsMemoryStore());
  const js2 = await scriptedRun(jsMemoryStore());
  assert.equal(js1, js2);
  assert.equal(js1, first, 'the JS store ends up with the same records and revisions as the C store');
  // and the run really did something
  const dump = JSON.parse(first);
  assert.ok(dump.historicIncident, 'an incident was recorded');
  assert.ok(Object.values(dump.historicProcessInstance).some((h) => h.record.state === 'EXTERNALLY_TERMINATED'));
  c1.close();
  c2.close();
});

test('variable writes and their history fail cleanly on a storage fault at any point', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const pi = engine.startProcessInstanceByKey('ext', { variables: { a: { value: 1 } } });
    everyFault(engine, () => engine.setProcessInstanceVariable(pi.id, 'a', { type: 'Long', value: 2 }));
    everyFault(engine, () => engine.modifyProcessInstanceVariables(pi.id, { modifications: { b: { value: 'x' } }, deletions: ['a'] }));
    everyFault(engine, () => engine.deleteProcessInstanceVariable(pi.id, 'b'));
    everyFault(engine, () => engine.setProcessInstanceVariable(pi.id, 'c', { value: 3 }));
    assert.deepEqual(Object.keys(engine.getProcessInstanceVariables(pi.id)), ['c']);
    const [task] = engine.fetchAndLock({ workerId: 'w', maxTasks: 1, topics: [{ topicName: 'work', lockDuration: MIN }] });
    everyFault(engine, () => engine.completeExternalTask(task.id, { workerId: 'w', variables: { d: { value: 4 } } }));
    everyFault(engine, () => engine.restartProcessInstances(pi.definitionId, {
      processInstanceIds: [pi.id], initialVariables: true, instructions: [{ type: 'startBeforeActivity', activityId: 'work' }],
    }));
    const restarted = engine.getProcessInstances()[0];
    assert.deepEqual(engine.getProcessInstanceVariables(restarted.id), { a: { type: 'Integer', value: 1, valueInfo: {} } });
    assert.equal(engine.getHistoricVariableInstancesCount({ processInstanceId: pi.id, includeDeleted: true }).count, 4);
  } finally {
    engine.close();
  }
});
