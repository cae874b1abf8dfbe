// The module may use all 4 GB of wasm32 memory. Past 2 GB a pointer is a
// negative i32 on the JS side: every string and row that crosses the
// boundary there must still arrive whole. The heap is first pushed past
// 2 GB with allocations the test never touches (the pages stay virtual), so
// everything the engine allocates afterwards lives above it.
// One runtime per process (node --test runs each file in its own), so the
// ballast does not weigh on other test files.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createEngine, jsMemoryStore, manualClock, sequentialIds } from '../bindings/index.js';
import { loadRebatch } from '../bindings/loader.js';
import { EXT_PROCESS, T0 } from './support/engine-helpers.js';

const TWO_GB = 2 ** 31;
const CHUNK = 64 * 2 ** 20;

/** Allocates until the next allocation lands past 2 GB; returns the ballast. */
function pushHeapPast2Gb(rt) {
  const ballast = [];
  for (;;) {
    const probe = rt.alloc(16);
    rt.free(probe);
    if (probe >= TWO_GB) return ballast;
    ballast.push(rt.alloc(CHUNK));
  }
}

/** Deploys, starts `n` external tasks, runs a retries batch, reads them back. */
async function retriesBatchRoundTrip(store, n) {
  const clock = manualClock(T0);
  const engine = await createEngine({ store, clock, ids: sequentialIds('hi-') });
  try {
    engine.createDeployment({ name: 'high', processes: [EXT_PROCESS] });
    for (let i = 0; i < n; i++) engine.startProcessInstanceByKey('ext', { businessKey: `bk-ü-${i}` });
    const batch = engine.setExternalTaskRetriesAsync({ retries: 4, externalTaskQuery: { topicName: 'work' } });
    assert.equal(batch.totalJobs, n);
    for (let step = 0; engine.getBatchesCount().count > 0; step++) {
      assert.ok(step < 50, 'the batch ends');
      if (engine.executeDueJobs({ maxJobs: 100 }).executed === 0) clock.advance(30_000);
    }
    const tasks = engine.getExternalTasks({ topicName: 'work' });
    assert.equal(tasks.length, n);
    assert.deepEqual(new Set(tasks.map((t) => t.retries)), new Set([4]));
    const instances = engine.getProcessInstances({});
    assert.deepEqual(
      instances.map((p) => p.businessKey).sort(),
      Array.from({ length: n }, (_, i) => `bk-ü-${i}`).sort(),
    );
  } finally {
    engine.close();
  }
}

test('engines on the C and the JS store work with every pointer past 2 GB', async () => {
  const rt = await loadRebatch();
  const ballast = pushHeapPast2Gb(rt);
  try {
    assert.ok(rt.memoryBytes > TWO_GB, `memory is ${rt.memoryBytes} bytes`);
    await retriesBatchRoundTrip(undefined, 30);
    await retriesBatchRoundTrip(jsMemoryStore(), 30);
    const text = 'x'.repeat(100_000) + 'é';
    const ptr = rt.allocString(text);
    assert.ok(ptr >= TWO_GB);
    assert.equal(rt.readString(ptr), text);
    rt.free(ptr);
  } finally {
    for (const p of ballast) rt.free(p);
  }
});
