// fetchAndLock reads the tasks it can lock from the "fetch" index (issue
// 13): these pin down that the index follows every change that makes a task
// fetchable or not, and the order it hands tasks out in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsMemoryStore } from '../bindings/index.js';
import { MIN, deploy, linear, newEngine } from './support/engine-helpers.js';

const fetch = (engine, max, usePriority = true) =>
  engine.fetchAndLock({ workerId: 'w', maxTasks: max, usePriority, topics: [{ topicName: 'work', lockDuration: MIN }] });

test('higher priority first, then priority 0, then negative; locked tasks only once their lock expires', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(
      engine,
      linear('zero', [{ id: 'work', type: 'serviceTask', topic: 'work' }]),
      linear('high', [{ id: 'work', type: 'serviceTask', topic: 'work', priority: 10 }]),
      linear('higher', [{ id: 'work', type: 'serviceTask', topic: 'work', priority: 20 }]),
      linear('low', [{ id: 'work', type: 'serviceTask', topic: 'work', priority: -5 }]),
    );
    for (const key of ['low', 'zero', 'high', 'higher']) engine.startProcessInstanceByKey(key, {});
    const first = fetch(engine, 3);
    assert.deepEqual(first.map((t) => t.priority), [20, 10, 0]);
    assert.deepEqual(fetch(engine, 3).map((t) => t.priority), [-5]);
    assert.deepEqual(fetch(engine, 3), [], 'everything locked');
    clock.advance(MIN + 1);
    assert.equal(fetch(engine, 10).length, 4, 'expired locks are fetchable again');
  } finally {
    engine.close();
  }
});

test('a task without retries is not fetched until its retries are set again; an unlocked one is', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, linear('p', [{ id: 'work', type: 'serviceTask', topic: 'work' }]));
    engine.startProcessInstanceByKey('p', {});
    engine.startProcessInstanceByKey('p', {});
    const [a, b] = fetch(engine, 2, false);
    engine.handleExternalTaskFailure(a.id, { workerId: 'w', errorMessage: 'x', retries: 0, retryTimeout: 0 });
    engine.unlockExternalTask(b.id);
    assert.deepEqual(fetch(engine, 5).map((t) => t.id), [b.id]);
    engine.setExternalTaskRetriesSync({ externalTaskIds: [a.id], retries: 2 });
    engine.unlockExternalTask(a.id);
    assert.deepEqual(fetch(engine, 5).map((t) => t.id), [a.id]);
  } finally {
    engine.close();
  }
});

test('maxTasks is honoured across pages of the index', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, linear('p', [{ id: 'work', type: 'serviceTask', topic: 'work' }]));
    for (let i = 0; i < 300; i++) engine.startProcessInstanceByKey('p', {});
    assert.equal(fetch(engine, 150, false).length, 150);
    assert.equal(fetch(engine, 200, false).length, 150);
    assert.equal(fetch(engine, 1, false).length, 0);
  } finally {
    engine.close();
  }
});

/** A JS store that counts the external task rows its finds hand out. */
function countingStore() {
  const inner = jsMemoryStore();
  const counted = { rows: 0 };
  const store = {
    ...Object.fromEntries(['begin', 'commit', 'rollback', 'get', 'put', 'remove', 'scan'].map((m) => [m, (...a) => inner[m](...a)])),
    find(coll, field, value, afterId, limit) {
      const rows = inner.find(coll, field, value, afterId, limit);
      if (coll === 'externalTask') counted.rows += rows.length;
      return rows;
    },
  };
  return { store, counted };
}

test('with every task locked, a fetch reads no locked task until a lock may have expired', async () => {
  const { store, counted } = countingStore();
  const { engine, clock } = await newEngine({ store });
  try {
    deploy(engine, linear('p', [{ id: 'work', type: 'serviceTask', topic: 'work' }]));
    for (let i = 0; i < 200; i++) engine.startProcessInstanceByKey('p', {});
    assert.equal(fetch(engine, 200, false).length, 200);
    assert.deepEqual(fetch(engine, 1), [], 'the first fetch that finds nothing unlocked reads the locked tasks once');
    counted.rows = 0;
    for (let i = 0; i < 20; i++) assert.deepEqual(fetch(engine, 1), []);
    assert.equal(counted.rows, 0, 'fetches while every lock holds read no locked task');
    clock.advance(MIN + 1);
    assert.equal(fetch(engine, 300).length, 200, 'once the locks expire every task is fetched again');
  } finally {
    engine.close();
  }
});

test('a lock shorter than the others, by id, by a failure or by retries set again, is still found when it expires', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, linear('p', [{ id: 'work', type: 'serviceTask', topic: 'work' }]));
    for (let i = 0; i < 4; i++) engine.startProcessInstanceByKey('p', {});
    const [a, b, c] = fetch(engine, 4, false);
    assert.deepEqual(fetch(engine, 1), [], 'all locked for a minute');
    // by id, for one second
    engine.unlockExternalTask(a.id);
    engine.lockExternalTask(a.id, { workerId: 'w', lockDuration: 1000 });
    // a failure whose retry comes after two seconds
    engine.handleExternalTaskFailure(b.id, { workerId: 'w', errorMessage: 'x', retries: 1, retryTimeout: 2000 });
    // no retries left (out of the fetch index), then retries again: back with its 3-second retry lock
    engine.handleExternalTaskFailure(c.id, { workerId: 'w', errorMessage: 'x', retries: 0, retryTimeout: 3000 });
    assert.deepEqual(fetch(engine, 1), [], 'nothing expired yet');
    engine.setExternalTaskRetriesSync({ externalTaskIds: [c.id], retries: 1 });
    clock.advance(1001);
    assert.deepEqual(fetch(engine, 5).map((t) => t.id), [a.id]);
    clock.advance(1000);
    assert.deepEqual(fetch(engine, 5).map((t) => t.id), [b.id]);
    clock.advance(1000);
    assert.deepEqual(fetch(engine, 5).map((t) => t.id), [c.id]);
    assert.deepEqual(fetch(engine, 5), []);
  } finally {
    engine.close();
  }
});

test('a fetch that locks its last task mid-page still learns the expirations of the rest of the page', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, linear('p', [{ id: 'work', type: 'serviceTask', topic: 'work' }]));
    for (let i = 0; i < 4; i++) engine.startProcessInstanceByKey('p', {});
    const [a, , , d] = fetch(engine, 4, false);
    assert.deepEqual(fetch(engine, 1), []);
    for (const [task, ms] of [[a, 1000], [d, 2000]]) {
      engine.unlockExternalTask(task.id);
      engine.lockExternalTask(task.id, { workerId: 'w', lockDuration: ms });
    }
    clock.advance(1001);
    assert.deepEqual(fetch(engine, 1).map((t) => t.id), [a.id], 'the first task of the page, locked again for a minute');
    clock.advance(1000);
    assert.deepEqual(fetch(engine, 1).map((t) => t.id), [d.id], 'the last one, read after the fetch had its task');
  } finally {
    engine.close();
  }
});
