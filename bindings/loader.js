// loader.js - instantiates dist/rebatch.wasm (a standalone module, no
// Emscripten glue) and provides its imports.
//
// The module imports, from "env":
//   rebatch_js_* (src/host_wasm.c)   storage callbacks and host services,
//                                    dispatched by an integer handle to a
//                                    host registered with `register()`
//   emscripten_notify_memory_growth  memory grew: refresh the views
// and, should a libc call that writes or exits ever be linked in, a few
// wasi_snapshot_preview1 functions (see WASI below). tests/exports.test.js
// checks that the built module needs nothing this file does not provide.
//
// Pointers: the module may use all 4 GB of wasm32 memory (wasm-build.sh), so
// a pointer past 2 GB arrives from WASM as a negative i32. Every helper that
// indexes memory with one takes it as unsigned (ptr >>> 0) first; passing one
// back to WASM needs nothing (ToInt32 wraps it again).
//
// Contract with the C side: an import never throws into WASM (a JS exception
// unwinding through WASM frames leaks the WASM stack). Every callback catches,
// keeps the message for rebatch_js_errmsg and returns a result code.

import { RC, StoreConflictError } from './errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');
/** Node's Buffer, where there is one (not in the browser). */
const NodeBuffer = globalThis.Buffer?.from ? globalThis.Buffer : null;

/**
 * Strings up to this many UTF-16 units get room for the worst case (3 bytes
 * a unit); longer ones are measured, so that a large body does not allocate
 * three times its size.
 */
const DIRECT_MAX = 1 << 16;

/** Bytes to set aside for `text` as UTF-8 (without the NUL). */
function utf8Room(text) {
  return text.length > DIRECT_MAX ? utf8Length(text) : text.length * 3;
}

/** The exact UTF-8 length of `text` (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(text) {
  if (NodeBuffer) return NodeBuffer.byteLength(text, 'utf8');
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: 2 units, 4 bytes
      i++;
    } else n += 2;
  }
  return n;
}

/** Longest id next_id may write, without the NUL (REBATCH_ID_MAX). */
const ID_MAX = 63;

let initPromise = null;

/**
 * Loads and instantiates the module once; later calls return the same
 * promise. Options only matter for the first call.
 * @param {{wasmBinary?: ArrayBuffer | Uint8Array, wasmUrl?: string | URL}} [options]
 * @returns {Promise<Runtime>}
 */
export function loadRebatch(options = {}) {
  if (!initPromise) {
    initPromise = instantiate(options).catch((err) => {
      initPromise = null; // a later call may retry (e.g. after a build)
      throw err;
    });
  }
  return initPromise;
}

const isNode =
  typeof process !== 'undefined' && !!process.versions && !!process.versions.node;

async function readWasmBytes(options) {
  if (options.wasmBinary) return options.wasmBinary;
  const url = new URL(options.wasmUrl ?? '../dist/rebatch.wasm', import.meta.url);
  if (isNode && url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    try {
      return await readFile(url);
    } catch (err) {
      throw new Error(`rebatch: cannot read ${url.pathname} (run "npm run build" first)`, {
        cause: err,
      });
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`rebatch: fetching ${url} failed: HTTP ${response.status}`);
  return response.arrayBuffer();
}

async function instantiate(options) {
  const bytes = await readWasmBytes(options);
  const runtime = new Runtime();
  const { instance } = await WebAssembly.instantiate(bytes, runtime.imports());
  runtime.attach(instance);
  return runtime;
}

/** @param {unknown} err */
function messageOf(err) {
  if (err instanceof Error) return err.message || err.name;
  try {
    return String(err);
  } catch {
    return 'unprintable exception';
  }
}

/** @param {unknown} value */
function isThenable(value) {
  return value !== null && typeof value === 'object' && typeof value.then === 'function';
}

/**
 * What a handle stands for on the JS side: a store (may be null when the
 * engine uses the C memory store) and the host services.
 * @typedef {object} HostEntry
 * @property {object | null} store
 * @property {() => number} clock
 * @property {() => string} ids
 * @property {((job: object) => unknown) | undefined} jobHandler
 * @property {number} errPtr    errmsg string in WASM memory, or 0
 * @property {string | null} errText
 * @property {unknown} hostError a clock/id failure to report after the call
 */

/** The instantiated module with its helpers. One per process (memoized). */
export class Runtime {
  constructor() {
    /** @type {any} */
    this.exports = null;
    /** @type {WebAssembly.Memory | null} */
    this.memory = null;
    this._u8 = new Uint8Array(0);
    this._i32 = new Int32Array(0);
    this._u32 = new Uint32Array(0);
    /** Node's Buffer over the same memory (null elsewhere): its indexOf and toString are the fast ones. */
    this._buf = null;
    /** @type {Map<number, HostEntry>} */
    this.hosts = new Map();
    this.nextHandle = 1;
  }

  /** @param {WebAssembly.Instance} instance */
  attach(instance) {
    this.exports = instance.exports;
    this.memory = /** @type {WebAssembly.Memory} */ (instance.exports.memory);
    this.refresh();
    // A reactor module: runs static constructors and sets up libc.
    if (typeof this.exports._initialize === 'function') this.exports._initialize();
  }

  /**
   * C's sbrk (standalone Emscripten) grows memory by just the pages it needs,
   * so a heap that grows by 100 MB grows thousands of times, each time with a
   * new ArrayBuffer for V8 to account for: that cost more than the engine's
   * work. Growing an eighth ahead makes growth geometric.
   */
  grown() {
    const pages = this.memory.buffer.byteLength / 65536;
    try {
      this.memory.grow(Math.min(Math.ceil(pages / 8), 1024));
    } catch {
      // At the maximum: sbrk goes on growing by what it needs, and fails when it must.
    }
    this.refresh();
  }

  refresh() {
    const buffer = this.memory.buffer;
    this._u8 = new Uint8Array(buffer);
    this._i32 = new Int32Array(buffer);
    this._u32 = new Uint32Array(buffer);
    this._buf = NodeBuffer ? NodeBuffer.from(buffer) : null;
  }

  /** Views over WASM memory, refreshed after growth. */
  get u8() {
    if (this._u8.buffer !== this.memory.buffer) this.refresh();
    return this._u8;
  }

  get i32() {
    if (this._i32.buffer !== this.memory.buffer) this.refresh();
    return this._i32;
  }

  get u32() {
    if (this._u32.buffer !== this.memory.buffer) this.refresh();
    return this._u32;
  }

  /** Size of WASM memory in bytes. */
  get memoryBytes() {
    return this.memory.buffer.byteLength;
  }

  // ---- memory and strings -----------------------------------------------

  /** @param {number} size @returns {number} never 0 */
  alloc(size) {
    const ptr = this.exports.rebatch_alloc(size) >>> 0;
    if (!ptr) throw new RangeError('rebatch: out of WASM memory');
    return ptr;
  }

  /** @param {number} ptr */
  free(ptr) {
    if (ptr) this.exports.rebatch_free(ptr);
  }

  /**
   * Copies a JS string into WASM memory as NUL-terminated UTF-8. The caller
   * frees the pointer with `free()`.
   * @param {string} text
   */
  allocString(text) {
    const room = utf8Room(text);
    const ptr = this.alloc(room + 1);
    this.putString(ptr, room, text);
    return ptr;
  }

  /**
   * Two strings in one allocation (a row's id and json; an operation and its
   * request): returns the pointer of the first; the second starts at the
   * returned `second`.
   * @param {string} a @param {string} b
   */
  allocStringPair(a, b) {
    const roomA = utf8Room(a);
    const roomB = utf8Room(b);
    const ptr = this.alloc(roomA + roomB + 2);
    const second = this.putString(ptr, roomA, a);
    this.putString(second, roomB, b);
    return { ptr, second };
  }

  /**
   * Writes `text` at `ptr` as NUL-terminated UTF-8 straight into WASM memory
   * (encoding to an array first costs an ArrayBuffer per string), in `room`
   * bytes (from utf8Room) plus one for the NUL. Returns the address just
   * past the NUL.
   * @param {number} ptr @param {number} room @param {string} text
   */
  putString(ptr, room, text) {
    ptr >>>= 0;
    const u8 = this.u8;
    const { written } = encoder.encodeInto(text, u8.subarray(ptr, ptr + room));
    u8[ptr + written] = 0;
    return ptr + written + 1;
  }

  /** @param {number} ptr NUL-terminated UTF-8, or 0 (gives null) */
  readString(ptr) {
    if (!ptr) return null;
    ptr >>>= 0;
    const u8 = this.u8; // refreshes _buf too
    const buf = this._buf;
    // Buffer#indexOf takes and returns int32 offsets (Node 20): past 2 GB it
    // clamps the start and wraps the answer, so it only serves below 2 GB
    // (a negative answer, wrapped or not found, goes the typed array's way).
    let end = buf && ptr <= 0x7fffffff ? buf.indexOf(0, ptr) : -1;
    if (end < 0) end = u8.indexOf(0, ptr);
    if (end < 0) end = u8.length;
    if (buf) return buf.toString('utf8', ptr, end);
    return decoder.decode(u8.subarray(ptr, end));
  }

  /**
   * Writes `text` as NUL-terminated UTF-8 into a buffer of `cap` bytes,
   * cutting at a character boundary if it does not fit. Returns whether it
   * fitted whole.
   * @param {number} ptr @param {number} cap @param {string} text
   */
  writeString(ptr, cap, text) {
    if (cap <= 0) return false;
    ptr >>>= 0;
    const u8 = this.u8;
    const { read, written } = encoder.encodeInto(text, u8.subarray(ptr, ptr + cap - 1));
    u8[ptr + written] = 0;
    return read === text.length;
  }

  // ---- host registry ------------------------------------------------------

  /**
   * Registers the JS side of one engine; the returned handle is the ctx the
   * C structs carry.
   * @param {{store: object | null, clock: () => number, ids: () => string,
   *   jobHandler?: (job: object) => unknown, lockOwner?: string,
   *   onDeferred?: (job: object, promise: PromiseLike<unknown>) => void}} host
   *   onDeferred: takes a job whose handler returned a Promise (the engine
   *   locks the job for lockOwner); without it such a handler fails the job.
   */
  register(host) {
    const handle = this.nextHandle++;
    this.hosts.set(handle, {
      store: host.store,
      clock: host.clock,
      ids: host.ids,
      jobHandler: host.jobHandler,
      lockOwner: host.lockOwner,
      onDeferred: host.onDeferred,
      errPtr: 0,
      errText: null,
      hostError: undefined,
    });
    return handle;
  }

  /** @param {number} handle */
  unregister(handle) {
    const entry = this.hosts.get(handle);
    if (!entry) return;
    this.free(entry.errPtr);
    entry.errPtr = 0;
    this.hosts.delete(handle);
  }

  /**
   * Takes (and clears) a clock or id-source failure recorded during the
   * last call on `handle`.
   * @param {number} handle
   */
  takeHostError(handle) {
    const entry = this.hosts.get(handle);
    if (!entry || entry.hostError === undefined) return undefined;
    const err = entry.hostError;
    entry.hostError = undefined;
    return err;
  }

  // ---- imports ------------------------------------------------------------

  imports() {
    const rt = this;

    /** Runs one store method for handle h with the never-throw contract. */
    const storeCall = (h, name, fn) => {
      const entry = rt.hosts.get(h);
      if (!entry || !entry.store) return RC.MISUSE;
      // errmsg is valid until the next callback: release the previous one.
      if (entry.errPtr) {
        rt.free(entry.errPtr);
        entry.errPtr = 0;
      }
      entry.errText = null;
      try {
        const rc = fn(entry.store);
        return rc === undefined ? RC.OK : rc;
      } catch (err) {
        entry.errText = `${name}: ${messageOf(err)}`;
        if (err instanceof StoreConflictError) {
          entry.errText = messageOf(err);
          return RC.CONFLICT;
        }
        if (err instanceof RangeError && /out of WASM memory/.test(err.message)) return RC.NOMEM;
        return RC.ERROR;
      }
    };

    const noThenable = (value, name) => {
      if (isThenable(value)) {
        // Swallow its eventual rejection; the call already failed.
        Promise.resolve(value).catch(() => {});
        throw new Error(`store.${name} returned a Promise; store methods must be synchronous`);
      }
      return value;
    };

    /** Delivers rows [{id, json, rev}] to a rebatch_rows. */
    const addRows = (rowsPtr, rows, name) => {
      if (!Array.isArray(rows)) throw new TypeError(`store.${name} must return an array of rows`);
      for (const row of rows) {
        const rc = addRow(rowsPtr, row, name);
        if (rc !== RC.OK) return rc;
      }
      return RC.OK;
    };

    const checkRow = (row, name) => {
      if (!row || typeof row.json !== 'string' || !Number.isInteger(row.rev) || row.rev < 1) {
        throw new TypeError(`store.${name} returned a row without string json and positive integer rev`);
      }
    };

    const addRow = (rowsPtr, row, name) => {
      checkRow(row, name);
      if (typeof row.id !== 'string') throw new TypeError(`store.${name} returned a row without a string id`);
      const { ptr, second } = rt.allocStringPair(row.id, row.json);
      try {
        return rt.exports.rebatch_rows_add(rowsPtr, ptr, second, row.rev);
      } finally {
        rt.free(ptr);
      }
    };

    const env = {
      emscripten_notify_memory_growth() {
        rt.grown();
      },

      rebatch_js_begin: (h) => storeCall(h, 'begin', (s) => void noThenable(s.begin(), 'begin')),
      rebatch_js_commit: (h) => storeCall(h, 'commit', (s) => void noThenable(s.commit(), 'commit')),
      rebatch_js_rollback: (h) =>
        storeCall(h, 'rollback', (s) => void noThenable(s.rollback(), 'rollback')),
      rebatch_js_savepoint: (h) => storeCall(h, 'savepoint', (s) => void noThenable(s.savepoint(), 'savepoint')),
      rebatch_js_release: (h) => storeCall(h, 'release', (s) => void noThenable(s.release(), 'release')),
      rebatch_js_rollback_to: (h) =>
        storeCall(h, 'rollbackTo', (s) => void noThenable(s.rollbackTo(), 'rollbackTo')),

      rebatch_js_get: (h, collPtr, idPtr, rowsPtr) =>
        storeCall(h, 'get', (s) => {
          const row = noThenable(s.get(rt.readString(collPtr), rt.readString(idPtr)), 'get');
          if (row === null || row === undefined) return RC.OK;
          checkRow(row, 'get');
          const jsonPtr = rt.allocString(row.json);
          try {
            // The id pointer C passed in is still valid: reuse it.
            return rt.exports.rebatch_rows_add(rowsPtr, idPtr, jsonPtr, row.rev);
          } finally {
            rt.free(jsonPtr);
          }
        }),

      rebatch_js_put: (h, collPtr, idPtr, jsonPtr, expectedRev, indexPtr, indexCount, newRevPtr) =>
        storeCall(h, 'put', (s) => {
          const index = new Array(indexCount);
          for (let i = 0; i < indexCount; i++) {
            const u32 = rt.u32;
            const at = (indexPtr >>> 2) + i * 2; // {const char *field; const char *value;}
            index[i] = { field: rt.readString(u32[at]), value: rt.readString(u32[at + 1]) };
          }
          const rev = noThenable(
            s.put(rt.readString(collPtr), rt.readString(idPtr), rt.readString(jsonPtr), expectedRev, index),
            'put',
          );
          if (!Number.isInteger(rev) || rev < 1 || rev > 0x7fffffff) {
            throw new TypeError(`store.put must return the new revision (a positive integer), got ${rev}`);
          }
          rt.i32[newRevPtr >>> 2] = rev;
          return RC.OK;
        }),

      rebatch_js_remove: (h, collPtr, idPtr, expectedRev) =>
        storeCall(h, 'remove', (s) => {
          const removed = noThenable(
            s.remove(rt.readString(collPtr), rt.readString(idPtr), expectedRev),
            'remove',
          );
          return removed === false ? RC.NOTFOUND : RC.OK;
        }),

      rebatch_js_find: (h, collPtr, fieldPtr, valuePtr, afterPtr, limit, rowsPtr) =>
        storeCall(h, 'find', (s) =>
          addRows(
            rowsPtr,
            noThenable(
              s.find(
                rt.readString(collPtr),
                rt.readString(fieldPtr),
                rt.readString(valuePtr),
                rt.readString(afterPtr),
                limit,
              ),
              'find',
            ),
            'find',
          ),
        ),

      rebatch_js_scan: (h, collPtr, afterPtr, limit, rowsPtr) =>
        storeCall(h, 'scan', (s) =>
          addRows(
            rowsPtr,
            noThenable(s.scan(rt.readString(collPtr), rt.readString(afterPtr), limit), 'scan'),
            'scan',
          ),
        ),

      rebatch_js_find_ordered: (h, collPtr, fieldPtr, afterValuePtr, afterPtr, limit, rowsPtr) =>
        storeCall(h, 'findOrdered', (s) =>
          addRows(
            rowsPtr,
            noThenable(
              s.findOrdered(
                rt.readString(collPtr),
                rt.readString(fieldPtr),
                rt.readString(afterValuePtr),
                rt.readString(afterPtr),
                limit,
              ),
              'findOrdered',
            ),
            'findOrdered',
          ),
        ),

      rebatch_js_errmsg: (h) => {
        const entry = rt.hosts.get(h);
        if (!entry || entry.errText === null) return 0;
        if (!entry.errPtr) {
          try {
            entry.errPtr = rt.allocString(entry.errText);
          } catch {
            return 0;
          }
        }
        return entry.errPtr;
      },

      rebatch_js_now: (h) => {
        const entry = rt.hosts.get(h);
        if (!entry) return NaN;
        try {
          const ms = entry.clock();
          if (typeof ms !== 'number' || !Number.isFinite(ms)) {
            throw new TypeError(`clock() must return a finite number of milliseconds, got ${ms}`);
          }
          return ms;
        } catch (err) {
          if (entry.hostError === undefined) entry.hostError = err;
          return NaN;
        }
      },

      rebatch_js_next_id: (h, bufPtr) => {
        const entry = rt.hosts.get(h);
        if (!entry) return RC.MISUSE;
        try {
          const id = entry.ids();
          if (typeof id !== 'string' || id.length === 0) {
            throw new TypeError(`ids() must return a non-empty string, got ${typeof id}`);
          }
          if (!rt.writeString(bufPtr, ID_MAX + 1, id)) {
            throw new RangeError(`ids() returned an id longer than ${ID_MAX} UTF-8 bytes`);
          }
          return RC.OK;
        } catch (err) {
          if (entry.hostError === undefined) entry.hostError = err;
          return RC.ERROR;
        }
      },

      rebatch_js_execute_job: (h, jobPtr, bufPtr, cap) => {
        const entry = rt.hosts.get(h);
        if (!entry) return RC.MISUSE;
        if (!entry.jobHandler) return RC.OK;
        try {
          const job = JSON.parse(rt.readString(jobPtr));
          const result = entry.jobHandler(job);
          if (isThenable(result) && entry.onDeferred) {
            rt.writeString(bufPtr, cap, entry.lockOwner || 'rebatch');
            entry.onDeferred(job, result);
            return RC.DEFERRED;
          }
          if (isThenable(result)) {
            Promise.resolve(result).catch(() => {});
            throw new Error('jobHandler returned a Promise; job handlers must be synchronous');
          }
          return RC.OK;
        } catch (err) {
          // The message, then (after a NUL) the stacktrace the job keeps.
          const stack = err instanceof Error && typeof err.stack === 'string' ? err.stack : '';
          rt.writeString(bufPtr, cap, stack ? `${messageOf(err)}\0${stack}` : messageOf(err));
          return RC.ERROR;
        }
      },
    };

    return { env, wasi_snapshot_preview1: WASI };
  }
}

// Minimal WASI for a reactor that should never need it: rebatch does no I/O.
// Present so that a stray libc call linked into the module (e.g. abort's
// message) instantiates and fails loudly instead of at load time.
const ENOSYS = 52;
const WASI = {
  fd_write: () => ENOSYS,
  fd_close: () => ENOSYS,
  fd_seek: () => ENOSYS,
  proc_exit: (code) => {
    throw new Error(`rebatch: WASM module exited (code ${code})`);
  },
};
