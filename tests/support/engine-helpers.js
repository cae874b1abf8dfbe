// Shared helpers for the engine behaviour tests (tests/engine-*.test.js).
import assert from 'node:assert/strict';
import { EngineError, createEngine, manualClock, sequentialIds } from '../../bindings/index.js';

export const T0 = Date.UTC(2024, 0, 1);
export const MIN = 60_000;

/** Camunda's date format for a ms timestamp (UTC engine). */
export function camundaDate(ms) {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/**
 * An engine with a manual clock, sequential ids and a job handler that
 * throws for the activities in `failing` (a Set the test can change).
 */
export async function newEngine({ store, config, prefix = 'id-', start = T0 } = {}) {
  const clock = manualClock(start);
  const failing = new Map(); // activityId -> message
  const executed = [];
  const engine = await createEngine({
    store,
    config,
    clock,
    ids: sequentialIds(prefix),
    jobHandler: (job) => {
      executed.push(job.activityId);
      if (failing.has(job.activityId)) throw new Error(failing.get(job.activityId));
    },
  });
  return { engine, clock, failing, executed };
}

/** start -> [activities...] -> end, chained with flows f1, f2, ... */
export function linear(key, middle, extra = {}) {
  const activities = [{ id: 'start', type: 'startEvent' }, ...middle, { id: 'end', type: 'endEvent' }];
  const flows = [];
  for (let i = 0; i + 1 < activities.length; i++) {
    flows.push({ id: `f${i + 1}`, source: activities[i].id, target: activities[i + 1].id });
  }
  return { key, name: `Process ${key}`, activities, flows, ...extra };
}

export function deploy(engine, ...processes) {
  return engine.createDeployment({ name: 'test', processes });
}

/** Asserts fn throws an EngineError with exactly this status, type, message (and code if given). */
export function assertEngineError(fn, { status, type, message, code }) {
  let error;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  assert.ok(error, `expected an EngineError (${status} ${type}: ${message}), but the call succeeded`);
  assert.ok(error instanceof EngineError, `expected EngineError, got ${error}`);
  const got = { status: error.status, type: error.type, message: error.message };
  const want = { status, type, message };
  if (code !== undefined) {
    got.code = error.code;
    want.code = code;
  }
  assert.deepEqual(got, want);
  return error;
}

export const EXT_PROCESS = linear('ext', [{ id: 'work', type: 'serviceTask', topic: 'work' }]);
