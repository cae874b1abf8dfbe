// index.js - the JS API of rebatch (ESM; Node 20 and the browser).
//
//   import { createEngine, jsMemoryStore, manualClock, sequentialIds } from 'rebatch';
//   const engine = await createEngine({ clock: manualClock(0), ids: sequentialIds('id-') });
//   const jobs = engine.getJobs({ retries: 0 });      // = engine.call('getJobs', { query: {...} })
//   engine.close();
//
// Every operation is synchronous once the engine exists; only loading the
// WASM module (the first createEngine) is asynchronous.
//
// Memory: the binding owns every WASM allocation it makes and frees it
// before the call returns, on every path. An engine holds C memory until
// engine.close(); a FinalizationRegistry frees forgotten engines and stores
// as a safety net only.

import { EngineError, RC, StoreConflictError } from './errors.js';
import { JsMemoryStore, compareIds, jsMemoryStore } from './js-memory-store.js';
import { JobHandlers, defaultLockOwner, handlerNameOf } from './job-handlers.js';
import { loadRebatch } from './loader.js';
import { OPERATIONS } from './operations.js';

export { EngineError, StoreConflictError, RC, JsMemoryStore, jsMemoryStore, compareIds, OPERATIONS };
export { JobHandlers, handlerNameOf };

/**
 * Loads the WASM module ahead of time (createEngine does it on demand).
 * Options only matter on the first call: `wasmBinary` (bytes) or `wasmUrl`
 * (default: ../dist/rebatch.wasm next to this file).
 * @param {{wasmBinary?: ArrayBuffer | Uint8Array, wasmUrl?: string | URL}} [options]
 */
export async function init(options) {
  await loadRebatch(options);
}

const INTERNAL = Symbol('rebatch.internal');
const ACQUIRE = Symbol('rebatch.acquire');
const RELEASE = Symbol('rebatch.release');

const STORE_METHODS = ['begin', 'commit', 'rollback', 'get', 'put', 'remove', 'find', 'scan'];
/** Optional, all three or none: a store with them runs the job executor's groups (store version 2). */
const SAVEPOINT_METHODS = ['savepoint', 'release', 'rollbackTo'];

function misuse(message) {
  return new EngineError(message, { code: RC.MISUSE });
}

function outOfMemory(cause) {
  return new EngineError('out of WASM memory', { code: RC.NOMEM, cause });
}

/** The loader's out-of-memory RangeError as an EngineError; any other error as it is. */
function memoryError(err) {
  return err instanceof RangeError && /out of WASM memory/.test(err.message) ? outOfMemory(err) : err;
}

/** Runs fn, turning the loader's out-of-memory RangeError into an EngineError. */
function guardMemory(fn) {
  try {
    return fn();
  } catch (err) {
    throw memoryError(err);
  }
}

// ---------------------------------------------------------------------------
// The C in-memory store

const storeRegistry = new FinalizationRegistry(({ rt, ptr }) => {
  rt.exports.rebatch_memory_store_free(ptr);
});

/**
 * The built-in C in-memory store, living inside the WASM module (the fast
 * path: no JSON crosses the boundary for storage). Created with
 * `memoryStore()`.
 *
 * Ownership: a store you create with memoryStore() and pass to
 * createEngine() is yours: it may be shared by several engines, outlives
 * them, and is freed by `store.close()` once every engine using it is closed.
 * When createEngine() gets no store it creates one of its own, which
 * `engine.close()` frees (engine.store.dump() works until then).
 */

/** The head of the engine's response text: {"status":N,"body":...}. */
const ENVELOPE = /^\{"status":(\d+),"body":/;

/** A parsed {"status","body"} response: its body, or the EngineError it stands for. */
function settle(response, hostError) {
  if (hostError !== undefined) {
    throw new EngineError(
      `host service failed: ${hostError instanceof Error ? hostError.message : String(hostError)}`,
      { type: 'HostError', status: response.status >= 400 ? response.status : 500, cause: hostError },
    );
  }
  if (response.status >= 400) {
    const body = response.body && typeof response.body === 'object' ? response.body : {};
    const { type, message, code, ...extra } = body;
    throw new EngineError(typeof message === 'string' ? message : `status ${response.status}`, {
      type: typeof type === 'string' ? type : 'RebatchError',
      status: response.status,
      code,
      extra: Object.keys(extra).length ? extra : undefined,
    });
  }
  return response.body;
}

export class MemoryStore {
  #rt = null;
  #ptr = 0;
  #users = 0;
  #closed = false;

  /** Whether close() has been called. */
  get closed() {
    return this.#closed;
  }

  /** @internal the C store for an engine about to open on it */
  [ACQUIRE](rt) {
    if (this.#closed) throw misuse('this memory store is closed');
    if (!this.#ptr) {
      const ptr = rt.exports.rebatch_memory_store_new();
      if (!ptr) throw outOfMemory();
      this.#rt = rt;
      this.#ptr = ptr;
      storeRegistry.register(this, { rt, ptr }, this);
    }
    this.#users++;
    return this.#ptr;
  }

  /** @internal an engine using the store closed */
  [RELEASE]() {
    this.#users--;
  }

  /**
   * The whole content as canonical JSON text (collections and ids sorted):
   * {"<collection>": {"<id>": {"rev": n, "record": <json>}, ...}, ...}.
   * Two deterministic runs compare byte for byte.
   * @returns {string}
   */
  dump() {
    if (this.#closed) throw misuse('this memory store is closed');
    if (!this.#ptr) return '{}'; // no engine has used it yet: nothing stored
    const rt = this.#rt;
    const textPtr = rt.exports.rebatch_memory_store_dump(this.#ptr);
    if (!textPtr) throw outOfMemory();
    try {
      return rt.readString(textPtr);
    } finally {
      rt.free(textPtr);
    }
  }

  /** Frees the store. Close every engine using it first. Idempotent. */
  close() {
    if (this.#closed) return;
    if (this.#users > 0) {
      throw misuse(`close the ${this.#users} engine(s) using this memory store first`);
    }
    this.#closed = true;
    if (this.#ptr) {
      storeRegistry.unregister(this);
      this.#rt.exports.rebatch_memory_store_free(this.#ptr);
      this.#ptr = 0;
    }
  }
}

/** A new C in-memory store (see MemoryStore for who frees it). */
export function memoryStore() {
  return new MemoryStore();
}

// ---------------------------------------------------------------------------
// Host services helpers

/**
 * A clock that only moves when told to; for deterministic runs.
 *   const clock = manualClock(Date.UTC(2024, 0, 1));
 *   clock.advance(60_000); clock.set(ms); clock.now();
 * @param {number} [startMs] milliseconds since the epoch (default 0)
 */
export function manualClock(startMs = 0) {
  if (typeof startMs !== 'number' || !Number.isFinite(startMs)) {
    throw new TypeError('manualClock(startMs): startMs must be a finite number');
  }
  let now = startMs;
  const clock = () => now;
  clock.now = () => now;
  /** @param {number} ms */
  clock.set = (ms) => (now = ms);
  /** @param {number} ms */
  clock.advance = (ms) => (now += ms);
  return clock;
}

/**
 * Deterministic ids: prefix + a counter zero-padded to 8 digits
 * ("id-00000001", "id-00000002", ...), so that id order (the order the
 * engine pages in) is creation order.
 * @param {string} [prefix]
 */
export function sequentialIds(prefix = '') {
  let n = 0;
  return () => `${prefix}${String(++n).padStart(8, '0')}`;
}

/**
 * Ids that sort by creation time, in the UUID format Camunda clients take
 * (version 7 layout: 48 bits of milliseconds, a 12-bit counter within the
 * millisecond, 62 random bits), so a store's inserts append to its id order
 * instead of landing on random pages. Strictly increasing per generator,
 * even when the clock steps back. The default ids of createEngine.
 * @param {() => number} [now] milliseconds since the epoch (Date.now)
 */
export function timeOrderedIds(now = Date.now) {
  let lastMs = -1;
  let counter = 0;
  // random bytes drawn 4 KB at a time: one getRandomValues call per id costs more than the rest of it
  const pool = new Uint8Array(4096);
  let used = pool.length;
  const hex = (from, to) => Array.from(pool.subarray(from, to), (b) => b.toString(16).padStart(2, '0')).join('');
  return () => {
    let ms = Math.max(0, Math.floor(now()));
    if (ms <= lastMs) {
      ms = lastMs;
      if (++counter > 0xfff) {
        ms++;
        counter = 0;
      }
    } else {
      counter = 0;
    }
    lastMs = ms;
    if (used === pool.length) {
      globalThis.crypto.getRandomValues(pool);
      used = 0;
    }
    const at = used;
    used += 8;
    const variant = (0x80 | (pool[at] & 0x3f)).toString(16); // the RFC 4122 variant
    const t = ms.toString(16).padStart(12, '0');
    return `${t.slice(0, 8)}-${t.slice(8)}-7${counter.toString(16).padStart(3, '0')}-${variant}${hex(at + 1, at + 2)}-${hex(at + 2, at + 8)}`;
  };
}

// ---------------------------------------------------------------------------
// Engine

const engineRegistry = new FinalizationRegistry(({ rt, ptr, handle, store, ownsStore }) => {
  rt.exports.rebatch_close(ptr);
  rt.unregister(handle);
  if (store instanceof MemoryStore) {
    store[RELEASE]();
    if (ownsStore) store.close();
  }
});

/**
 * @typedef {object} EngineRequest
 * @property {string} [id]     path parameter {id}
 * @property {string} [key]    path parameter {key}
 * @property {Record<string, unknown>} [query]  URL query parameters
 * @property {unknown} [body]  JSON body; leave it out for "no body"
 */

/** An open engine. Create with createEngine(); close with close(). */
export class Engine {
  #rt;
  #ptr;
  #handle;
  #store;
  #ownsStore;
  #operations = null;
  /** @type {Error | null} a WebAssembly trap that made the engine unusable */
  #trap = null;

  /** @internal use createEngine() */
  constructor(token, rt, ptr, handle, store, ownsStore) {
    if (token !== INTERNAL) throw new TypeError('use createEngine() to create an engine');
    this.#rt = rt;
    this.#ptr = ptr;
    this.#handle = handle;
    this.#store = store;
    this.#ownsStore = ownsStore;
    engineRegistry.register(this, { rt, ptr, handle, store, ownsStore }, this);
  }

  /** The store this engine uses (a MemoryStore or your JS store). */
  get store() {
    return this.#store;
  }

  /** Whether close() has been called. */
  get closed() {
    return this.#ptr === 0;
  }

  /** The names of every operation the engine knows (rebatch_operations()). */
  get operations() {
    if (!this.#operations) {
      const rt = this.#rt;
      const ptr = rt.exports.rebatch_operations();
      if (!ptr) throw outOfMemory();
      try {
        this.#operations = Object.freeze(JSON.parse(rt.readString(ptr)));
      } finally {
        rt.free(ptr);
      }
    }
    return this.#operations;
  }

  #alive() {
    if (!this.#ptr) throw misuse('the engine is closed');
    if (this.#trap) {
      throw new EngineError(`the engine is unusable after a WebAssembly trap (${this.#trap.message}); close it`, {
        code: RC.MISUSE,
        cause: this.#trap,
      });
    }
    return this.#ptr;
  }

  /**
   * rebatch_call, which may trap (a C bug: unreachable, stack overflow,
   * out-of-bounds access). A trap leaves the engine mid-operation, so it is
   * marked unusable; the WASM stack pointer is restored so the module (and
   * other engines) can go on.
   */
  #callGuarded(operation, enginePtr, opPtr, reqPtr) {
    const x = this.#rt.exports;
    const stack = x.stackSave();
    try {
      return x.rebatch_call(enginePtr, opPtr, reqPtr);
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError)) throw err;
      x.stackRestore(stack);
      this.#trap = err;
      throw new EngineError(`WebAssembly trap in ${operation}: ${err.message}`, { code: RC.ERROR, cause: err });
    }
  }

  /**
   * Runs one operation: one storage transaction, all or nothing.
   * Returns the response body; throws EngineError for a status >= 400.
   * @param {string} operation e.g. "getJobs" (see engine.operations)
   * @param {EngineRequest} [request]
   * @param {{bodyText?: string}} [options] bodyText: the body as the JSON
   *   text it arrived in (already known to be valid JSON), sent in place of
   *   request.body so that the engine sees its numbers exactly as written
   *   (JSON.parse would round an integer beyond 2^53 unnoticed)
   * @returns {any}
   */
  call(operation, request = {}, options = undefined) {
    const [text, hostError] = this.#invoke(operation, request, options);
    return settle(JSON.parse(text), hostError);
  }

  /**
   * As call(), but returns the response body as JSON text (undefined when
   * there is none), straight from the engine without parsing it and
   * printing it again: for hosts that send it on (the REST shim).
   * @param {string} operation
   * @param {EngineRequest} [request]
   * @param {{bodyText?: string}} [options] as for call()
   * @returns {string | undefined}
   */
  callText(operation, request = {}, options = undefined) {
    const [text, hostError] = this.#invoke(operation, request, options);
    const head = ENVELOPE.exec(text);
    if (!head || hostError !== undefined || Number(head[1]) >= 400) {
      const body = settle(JSON.parse(text), hostError);
      return body === undefined || body === null ? undefined : JSON.stringify(body);
    }
    const body = text.slice(head[0].length, -1);
    return body === 'null' ? undefined : body;
  }

  /** One rebatch_call: the engine's {"status","body"} text and any host service failure. */
  #invoke(operation, request, options) {
    const enginePtr = this.#alive();
    if (typeof operation !== 'string') throw new TypeError('call(operation): operation must be a string');
    const requestText = requestJson(request, options?.bodyText);
    const rt = this.#rt;
    // The operation and the request in one allocation: the call borrows both.
    let pair;
    try {
      pair = rt.allocStringPair(operation, requestText);
    } catch (err) {
      throw memoryError(err);
    }
    let resPtr = 0;
    let text;
    try {
      resPtr = this.#callGuarded(operation, enginePtr, pair.ptr, pair.second);
      if (!resPtr) throw outOfMemory();
      text = rt.readString(resPtr);
    } finally {
      rt.free(resPtr);
      rt.free(pair.ptr);
    }
    return [text, rt.takeHostError(this.#handle)];
  }

  /**
   * Test seam: the Nth storage callback from now fails with "injected
   * storage fault" (begin/commit/rollback not counted); 0 disarms.
   * @param {number} nth
   */
  injectStoreFault(nth) {
    this.#rt.exports.rebatch_inject_store_fault(this.#alive(), nth);
  }

  /** Closes the engine and frees its C memory. Idempotent. */
  close() {
    if (!this.#ptr) return;
    const rt = this.#rt;
    engineRegistry.unregister(this);
    rt.exports.rebatch_close(this.#ptr);
    this.#ptr = 0;
    rt.unregister(this.#handle);
    if (this.#store instanceof MemoryStore) {
      this.#store[RELEASE]();
      if (this.#ownsStore) this.#store.close();
    }
  }
}

/** The request as JSON text, with the body's own text spliced in when given. */
function requestJson(request, bodyText) {
  if (typeof bodyText !== 'string') return JSON.stringify(request ?? {});
  if (onlyBody(request)) return `{"body":${bodyText}}`;
  const { body: _ignored, ...rest } = request ?? {};
  const others = JSON.stringify(rest);
  return others === '{}' ? `{"body":${bodyText}}` : `{"body":${bodyText},${others.slice(1)}`;
}

/** Whether request has no own enumerable key but `body` (a REST write's usual request). */
function onlyBody(request) {
  for (const key in request) {
    if (key !== 'body' && Object.hasOwn(request, key)) return false;
  }
  return true;
}

// One convenience method per operation, from the argument-shape table:
// engine.setJobRetries(id, body) === engine.call('setJobRetries', {id, body}).
for (const [name, fields] of Object.entries(OPERATIONS)) {
  Object.defineProperty(Engine.prototype, name, {
    configurable: true,
    writable: true,
    value: {
      [name](...args) {
        /** @type {Record<string, unknown>} */
        const request = {};
        for (let i = 0; i < fields.length; i++) {
          if (args[i] !== undefined) request[fields[i]] = args[i];
        }
        return this.call(name, request);
      },
    }[name],
  });
}

// The job executor's step acquires under the engine's lock owner unless the
// request names one: two engines on one store never share a lock owner by
// accident.
Object.defineProperty(Engine.prototype, 'executeDueJobs', {
  configurable: true,
  writable: true,
  value: function executeDueJobs(body = {}) {
    const object = body !== null && typeof body === 'object' && !Array.isArray(body);
    return this.call('executeDueJobs', { body: object && body.lockOwner === undefined ? { ...body, lockOwner: this.lockOwner } : body });
  },
});

/**
 * @typedef {object} EngineOptions
 * @property {MemoryStore | object} [store] a memoryStore() (C, inside WASM)
 *   or any JS object implementing the storage contract (see
 *   js-memory-store.js). Default: a fresh memoryStore() the engine owns.
 * @property {() => number} [clock] milliseconds since the epoch (Date.now)
 * @property {() => string} [ids] fresh unique ids, at most 63 UTF-8 bytes
 *   (timeOrderedIds(): UUIDs that sort by creation time)
 * @property {(job: object) => unknown} [jobHandler] runs a job's process
 *   code; throwing fails the job with the error's message. Synchronous.
 * @property {Record<string, unknown>} [handlers] the job handlers (a
 *   module's exports; see job-handlers.js), in place of jobHandler; then
 *   engine.jobHandlers
 * @property {string} [lockOwner] the node's lock owner: of the jobs its
 *   executor acquires (executeDueJobs without a lockOwner) and of jobs whose
 *   handler runs asynchronously (default: rebatch-<pid>-<random>)
 * @property {object | string} [config] engine configuration (see
 *   rebatch_open in src/rebatch.h)
 */

/**
 * Opens an engine.
 * @param {EngineOptions} [options]
 * @returns {Promise<Engine>}
 */
export async function createEngine(options = {}) {
  const {
    store: givenStore,
    clock = Date.now,
    ids = timeOrderedIds(),
    handlers,
    lockOwner,
    config,
  } = options;
  let { jobHandler } = options;
  if (typeof clock !== 'function') throw new TypeError('createEngine: clock must be a function');
  if (typeof ids !== 'function') throw new TypeError('createEngine: ids must be a function');
  if (jobHandler !== undefined && typeof jobHandler !== 'function') {
    throw new TypeError('createEngine: jobHandler must be a function');
  }
  if (jobHandler !== undefined && handlers !== undefined) {
    throw new TypeError('createEngine: give handlers or jobHandler, not both');
  }
  if (lockOwner !== undefined && (typeof lockOwner !== 'string' || lockOwner === '')) {
    throw new TypeError('createEngine: lockOwner must be a non-empty string');
  }
  const nodeLockOwner = lockOwner ?? defaultLockOwner();
  const jobHandlers = handlers === undefined ? null : new JobHandlers(handlers, { lockOwner: nodeLockOwner });
  if (jobHandlers) jobHandler = jobHandlers.jobHandler;
  const ownsStore = givenStore === undefined;
  const store = ownsStore ? new MemoryStore() : givenStore;
  const isCStore = store instanceof MemoryStore;
  if (!isCStore) {
    const missing = STORE_METHODS.filter((m) => typeof store?.[m] !== 'function');
    if (missing.length) {
      throw new TypeError(`createEngine: store lacks method(s) ${missing.join(', ')}`);
    }
  }
  const configText =
    config === undefined || config === null ? null : typeof config === 'string' ? config : JSON.stringify(config);

  const rt = await loadRebatch();
  const x = rt.exports;
  const handle = rt.register({
    store: isCStore ? null : store,
    clock,
    ids,
    jobHandler,
    lockOwner: jobHandlers?.lockOwner,
    onDeferred: jobHandlers?.onDeferred,
  });
  let storePtr = 0;
  let jsStorePtr = 0;
  let hostPtr = 0;
  let configPtr = 0;
  let outPtr = 0;
  let acquired = false;
  let enginePtr = 0;
  try {
    guardMemory(() => {
      if (isCStore) {
        storePtr = store[ACQUIRE](rt);
        acquired = true;
      } else {
        const savepoints = SAVEPOINT_METHODS.every((m) => typeof store[m] === 'function');
        const ordered = typeof store.findOrdered === 'function';
        storePtr = jsStorePtr = x.rebatch_js_store_new(handle, savepoints ? 1 : 0, ordered ? 1 : 0);
        if (!storePtr) throw outOfMemory();
      }
      hostPtr = x.rebatch_js_host_new(handle, jobHandler ? 1 : 0);
      if (!hostPtr) throw outOfMemory();
      if (configText !== null) configPtr = rt.allocString(configText);
      outPtr = rt.alloc(8); // rebatch_engine *out; char *error_out
      rt.u32[outPtr >>> 2] = 0;
      rt.u32[(outPtr >>> 2) + 1] = 0;
    });
    // rebatch_open copies both structs: they are freed below either way.
    const rc = x.rebatch_open(storePtr, hostPtr, configPtr, outPtr, outPtr + 4);
    enginePtr = rt.u32[outPtr >>> 2];
    const errPtr = rt.u32[(outPtr >>> 2) + 1];
    const message = rt.readString(errPtr);
    rt.free(errPtr);
    if (rc !== RC.OK || !enginePtr) {
      const text = message ?? rt.readString(x.rebatch_errstr(rc));
      throw new EngineError(`cannot open engine: ${text}`, { code: rc });
    }
  } catch (err) {
    if (acquired) {
      store[RELEASE]();
      if (ownsStore) store.close();
    }
    rt.unregister(handle);
    throw err;
  } finally {
    if (jsStorePtr) x.rebatch_js_store_free(jsStorePtr);
    if (hostPtr) x.rebatch_js_host_free(hostPtr);
    rt.free(configPtr);
    rt.free(outPtr);
  }
  const engine = new Engine(INTERNAL, rt, enginePtr, handle, store, ownsStore);
  jobHandlers?.bind(engine);
  /** The job handlers given as `handlers` (null without). */
  Object.defineProperty(engine, 'jobHandlers', { value: jobHandlers, enumerable: true });
  /** The node's lock owner (see EngineOptions.lockOwner). */
  Object.defineProperty(engine, 'lockOwner', { value: nodeLockOwner, enumerable: true });
  return engine;
}
