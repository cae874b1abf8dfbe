// POST /external-task/{id}/lock (Camunda 7.20+): a worker locks one task by
// id unless another worker holds an unexpired lock on it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXT_PROCESS, MIN, T0, assertEngineError, camundaDate, deploy, newEngine } from './support/engine-helpers.js';

test('lock takes a free task, renews its own lock, and takes over an expired one', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    engine.startProcessInstanceByKey('ext', {});
    const [free] = engine.getExternalTasks();
    assert.equal(engine.lockExternalTask(free.id, { workerId: 'a', lockDuration: MIN }), null, '204: no content');
    let task = engine.getExternalTask(free.id);
    assert.equal(task.workerId, 'a');
    assert.equal(task.lockExpirationTime, camundaDate(T0 + MIN));
    // fetchAndLock no longer hands it out
    assert.deepEqual(engine.fetchAndLock({ workerId: 'b', topics: [{ topicName: 'work', lockDuration: MIN }] }), []);

    // the holder sets a new expiration, shorter or longer
    clock.advance(1000);
    engine.lockExternalTask(free.id, { workerId: 'a', lockDuration: 10 });
    assert.equal(engine.getExternalTask(free.id).lockExpirationTime, camundaDate(T0 + 1010));

    // another worker: refused up to and including the expiration instant
    clock.advance(10);
    assertEngineError(() => engine.lockExternalTask(free.id, { workerId: 'b', lockDuration: MIN }), {
      status: 400,
      type: 'RestException',
      message: `External Task ${free.id} cannot be locked by worker 'b'. It is locked by worker 'a'.`,
    });
    clock.advance(1);
    engine.lockExternalTask(free.id, { workerId: 'b', lockDuration: MIN });
    task = engine.getExternalTask(free.id);
    assert.equal(task.workerId, 'b');
    assert.equal(task.lockExpirationTime, camundaDate(T0 + 1011 + MIN));
    // and b, holding the lock, may complete it
    engine.completeExternalTask(free.id, { workerId: 'b' });
    assert.equal(engine.getProcessInstancesCount().count, 0);
  } finally {
    engine.close();
  }
});

test('an unlocked task keeps its last worker: anyone may lock it', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    engine.startProcessInstanceByKey('ext', {});
    const [task] = engine.fetchAndLock({ workerId: 'a', topics: [{ topicName: 'work', lockDuration: MIN }] });
    engine.unlockExternalTask(task.id);
    engine.lockExternalTask(task.id, { workerId: 'b', lockDuration: MIN });
    assert.equal(engine.getExternalTask(task.id).workerId, 'b');
  } finally {
    engine.close();
  }
});

test('lock rejections carry Camunda\'s status, type and message and write nothing', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    engine.startProcessInstanceByKey('ext', {});
    const [task] = engine.getExternalTasks();
    engine.lockExternalTask(task.id, { workerId: 'a', lockDuration: MIN });
    const before = engine.store.dump();
    const cases = [
      [['nope', { workerId: 'a', lockDuration: 1 }], 404, 'RestException', 'External task with id nope does not exist'],
      [[task.id, { lockDuration: 1 }], 500, 'NullValueException', 'workerId is null'],
      // workerId is checked before lockDuration, both before the task is looked for
      [['nope', { lockDuration: 0 }], 500, 'NullValueException', 'workerId is null'],
      [['nope', { workerId: 'a' }], 400, 'RestException', 'lockDuration is not greater than 0'],
      [[task.id, { workerId: 'a', lockDuration: 0 }], 400, 'RestException', 'lockDuration is not greater than 0'],
      [[task.id, { workerId: 'a', lockDuration: -5 }], 400, 'RestException', 'lockDuration is not greater than 0'],
      // Jackson cannot read a long from it: its mapping error, with an empty message
      [[task.id, { workerId: 'a', lockDuration: 'soon' }], 400, 'InvalidRequestException', ''],
      [[task.id, { workerId: 'b', lockDuration: 1 }], 400, 'RestException',
        `External Task ${task.id} cannot be locked by worker 'b'. It is locked by worker 'a'.`],
    ];
    for (const [args, status, type, message] of cases) {
      assertEngineError(() => engine.lockExternalTask(...args), { status, type, message });
    }
    assert.equal(engine.store.dump(), before);
  } finally {
    engine.close();
  }
});

test('a storage fault anywhere in lock fails it cleanly and changes nothing', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    engine.startProcessInstanceByKey('ext', {});
    const [task] = engine.getExternalTasks();
    let n = 1;
    for (; n < 50; n++) {
      const before = engine.store.dump();
      engine.injectStoreFault(n);
      let error;
      try {
        engine.lockExternalTask(task.id, { workerId: 'a', lockDuration: MIN });
      } catch (err) {
        error = err;
      }
      engine.injectStoreFault(0);
      if (!error) break;
      assert.equal(error.message, 'storage failure: injected storage fault');
      assert.equal(engine.store.dump(), before, `fault at storage call ${n} left a trace`);
    }
    assert.ok(n > 1 && n < 50, `lock used storage calls (${n})`);
    assert.equal(engine.getExternalTask(task.id).workerId, 'a');
  } finally {
    engine.close();
  }
});
