// Shared fixtures for the binding tests (not a test file itself).

/** The smallest deployable process: start -> end. */
export const TINY_PROCESS = Object.freeze({
  key: 'tiny',
  activities: [
    { id: 'start', type: 'startEvent' },
    { id: 'end', type: 'endEvent' },
  ],
  flows: [{ id: 'flow', source: 'start', target: 'end' }],
});

/** A deployment body with the tiny process under another key. */
export function deploymentBody(key = 'tiny') {
  return { name: `deployment of ${key}`, processes: [{ ...TINY_PROCESS, key }] };
}

/**
 * Wraps a store so that selected methods throw: `faults.put = 2` makes the
 * 2nd put from now throw `error` (a function producing the exception).
 */
export function faultyStore(inner, faults = {}, error = (method) => new Error(`${method} exploded`)) {
  const counts = {};
  const wrapped = {};
  for (const method of ['begin', 'commit', 'rollback', 'get', 'put', 'remove', 'find', 'scan']) {
    wrapped[method] = (...args) => {
      counts[method] = (counts[method] ?? 0) + 1;
      if (faults[method] !== undefined && counts[method] === faults[method]) throw error(method);
      return inner[method](...args);
    };
  }
  wrapped.dump = () => inner.dump();
  wrapped.arm = (newFaults) => {
    for (const k of Object.keys(counts)) delete counts[k];
    for (const k of Object.keys(faults)) delete faults[k];
    Object.assign(faults, newFaults);
  };
  return wrapped;
}
