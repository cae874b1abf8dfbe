// fetchAndLock reads the tasks it can lock from the "fetch" index (issue
// 13): these pin down that the index follows every change that makes a task
// fetchable or not, and the order it hands tasks out in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
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
