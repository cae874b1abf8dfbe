// The job executor (bindings/executor.js) over a real clock: it sleeps until
// the next due job instead of polling, a batch ends with its last item, and
// its settings are checked like the engine's configuration.
import assert from 'node:assert/strict';
import test from 'node:test';

import { createEngine, memoryStore } from '../bindings/index.js';
import { JobExecutor } from '../bindings/executor.js';
import { deploy, linear } from './support/engine-helpers.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(fn, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('an unknown configuration key is an error, for the engine and for the executor', async () => {
  await assert.rejects(createEngine({ store: memoryStore(), config: { batchPolTime: 1 } }), /config: unknown key 'batchPolTime'/);
  await assert.rejects(createEngine({ store: memoryStore(), config: [1] }), /config must be a JSON object/);
  const engine = await createEngine({ store: memoryStore(), config: { jobExecutor: { maxWaitMs: 100 } } });
  try {
    assert.throws(() => new JobExecutor(engine, { waitMS: 10 }), /unknown job executor setting 'waitMS'/);
    assert.throws(() => new JobExecutor(engine, { maxJobsPerStep: 0 }), /'maxJobsPerStep' must be a positive integer/);
    assert.throws(() => new JobExecutor(engine, { maxWaitMs: '5' }), /'maxWaitMs' must be a positive integer/);
    assert.throws(() => new JobExecutor(engine, { lockTimeInMillis: 0 }), /'lockTimeInMillis' must be a positive integer/);
    assert.throws(() => new JobExecutor(engine, { lockOwner: '' }), /'lockOwner' must be a non-empty string/);
  } finally {
    engine.close();
  }
});

test('the executor acquires under the engine\'s lock owner, or its own lockOwner, for lockTimeInMillis', async () => {
  const seen = [];
  const engine = await createEngine({ store: memoryStore(), lockOwner: 'node-7', jobHandler: (job) => void seen.push(job) });
  const executors = [new JobExecutor(engine), new JobExecutor(engine, { lockOwner: 'other', lockTimeInMillis: 1000 })];
  try {
    deploy(engine, linear('async', [{ id: 'svc', type: 'serviceTask', asyncBefore: true }]));
    assert.deepEqual(executors.map((x) => x.lockOwner), ['node-7', 'other']);
    for (const executor of executors) {
      const before = Date.now();
      engine.startProcessInstanceByKey('async', {});
      executor.start();
      await until(() => seen.length === executors.indexOf(executor) + 1, 5000, 'the job');
      executor.stop();
      const job = seen.at(-1);
      assert.equal(job.lockOwner, executor.lockOwner);
      const expires = Date.parse(job.lockExpirationTime.replace('+0000', 'Z'));
      const lockMs = executor === executors[0] ? 300000 : 1000;
      assert.ok(expires >= before + lockMs && expires <= Date.now() + lockMs, `locked for ${lockMs} ms`);
    }
  } finally {
    for (const executor of executors) executor.stop();
    engine.close();
  }
});

test('a timer fires when due: the executor sleeps until then instead of backing off', async () => {
  const engine = await createEngine({ store: memoryStore() });
  const executor = new JobExecutor(engine, { maxWaitMs: 60_000 });
  try {
    deploy(engine, linear('wait', [{ id: 'timer', type: 'intermediateCatchEvent', timerDuration: 'PT0.4S' }]));
    executor.start();
    await sleep(20);
    const idleSteps = executor.stats.steps;
    const started = Date.now();
    const pi = engine.startProcessInstanceByKey('wait', {});
    executor.wake(); // as a write request does
    await until(() => engine.getHistoricProcessInstance(pi.id).state === 'COMPLETED', 5000, 'the timer');
    const late = Date.now() - started - 400;
    assert.ok(late >= 0, 'not before its due date');
    assert.ok(late < 1000, `fired ${late} ms after its due date`);
    // woken: one step that sees the timer waiting, one when it is due, one after it ran
    assert.ok(executor.stats.steps - idleSteps <= 4, `${executor.stats.steps - idleSteps} steps`);
  } finally {
    executor.stop();
    engine.close();
  }
});

test('a batch ends with its last item, not a batchPollTime later', async () => {
  // Ids counting down: the monitor job, created last, sorts (and runs) before
  // the execution jobs, so it polls while they remain.
  let n = 1e8;
  const ids = () => `id-${--n}`;
  const engine = await createEngine({ store: memoryStore(), ids, config: { batchPollTime: 3600 } });
  const executor = new JobExecutor(engine);
  try {
    deploy(engine, linear('ext', [{ id: 'task', type: 'serviceTask', topic: 't' }]));
    for (let i = 0; i < 10; i++) engine.startProcessInstanceByKey('ext', {});
    const taskIds = engine.getExternalTasks().map((t) => t.id);
    const batch = engine.setExternalTaskRetriesAsync({ retries: 4, externalTaskIds: taskIds });
    executor.start();
    await until(() => engine.getHistoricBatch(batch.id).endTime !== null, 5000, 'the batch to end');
    assert.equal(engine.getBatchesCount().count, 0);
    assert.ok(engine.getExternalTasks().every((t) => t.retries === 4));
  } finally {
    executor.stop();
    engine.close();
  }
});
