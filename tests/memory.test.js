// The binding owns every WASM allocation it makes: a long run neither
// leaks binding allocations nor grows WASM memory without bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EngineError, createEngine, jsMemoryStore, manualClock, sequentialIds } from '../bindings/index.js';
import { loadRebatch } from '../bindings/loader.js';
import { deploymentBody, faultyStore } from './support/fixtures.js';

const CALLS = 20_000;

/**
 * Counts the binding's own allocations: every pointer rt.alloc() hands out
 * must come back through rt.free(). (Pointers C returns, like responses,
 * are freed too but were not allocated here; they are not counted.)
 */
function trackAllocations(rt) {
  const original = rt.exports;
  const live = new Set();
  rt.exports = {
    ...original,
    rebatch_alloc(size) {
      const ptr = original.rebatch_alloc(size);
      if (ptr) live.add(ptr);
      return ptr;
    },
    rebatch_free(ptr) {
      live.delete(ptr);
      return original.rebatch_free(ptr);
    },
  };
  return { live, restore: () => (rt.exports = original) };
}

/** One round of calls covering every allocation path of the binding. */
function round(engines, i) {
  const [cStore, jsStore, faulty] = engines;
  cStore.getDeployments({ maxResults: 10 });
  jsStore.getProcessDefinitions({ latestVersion: true });
  try {
    jsStore.getJob(`missing-${i}`); // error response
  } catch (err) {
    assert.ok(err instanceof EngineError);
  }
  try {
    faulty.getDeployments(); // the store throws: errmsg string in WASM memory
  } catch (err) {
    assert.ok(err instanceof EngineError);
  }
}

test(`${CALLS} calls keep WASM memory bounded and free every binding allocation`, async () => {
  const rt = await loadRebatch();
  const tracker = trackAllocations(rt);
  const clock = manualClock(0);
  const ids = sequentialIds('m-');
  const faultyInner = jsMemoryStore();
  const engines = [
    await createEngine({ clock, ids }),
    await createEngine({ store: jsMemoryStore(), clock, ids }),
    await createEngine({ store: faultyStore(faultyInner, { scan: 1 }), clock, ids }),
  ];
  try {
    engines[0].createDeployment(deploymentBody('c'));
    engines[1].createDeployment(deploymentBody('js'));
    const faulty = engines[2].store;
    const rounds = CALLS / 4;
    const warmUp = Math.min(500, rounds / 10);
    for (let i = 0; i < warmUp; i++) {
      faulty.arm({ scan: 1 });
      round(engines, i);
    }
    const settled = rt.memoryBytes;
    for (let i = warmUp; i < rounds; i++) {
      faulty.arm({ scan: 1 });
      round(engines, i);
    }
    assert.equal(rt.memoryBytes, settled, `memory grew from ${settled} to ${rt.memoryBytes} bytes`);
  } finally {
    for (const engine of engines) engine.close();
    tracker.restore();
  }
  assert.deepEqual([...tracker.live], [], 'binding allocations never freed');
});
