// batch.bench.js - end-to-end batch throughput on the C in-memory store.
//
//   npm run bench                 (= node tests/bench/batch.bench.js)
//   BENCH_N=20000 BENCH_RUNS=3 npm run bench
//
// Not a test (no .test.js suffix, so `node --test tests/` skips it): it
// prints numbers and checks only that each batch did its work.
//
// Scenarios (each on a fresh memoryStore()):
//   set-job-retries          N process instances with one failed job each
//                            (retries 0); one batch sets retries 3 on all.
//   set-external-task-retries  N external tasks; one batch sets retries 5.
// The measured time is the batch's whole life: the creating call, then the
// job executor (executeDueJobs) running seed, execution and monitor jobs
// until no batch is left. Fixtures are built before the clock starts.
//
// The floor (issue 11's definition): the store calls the batch really
// makes, recorded and replayed raw against a fresh store of the same kind,
// with no engine. One child builds the scenario's fixture on a C memory
// store and runs the batch on it through a recording proxy (a JS store that
// forwards every call to the C store's vtable and logs it with its
// arguments and result) into files; another child builds the same fixture
// (same ids, same clock: identical records) on a fresh C memory store,
// loads the log into WASM memory (strings in one block, untimed) and
// replays it through the vtable (the module's function table): the same
// calls with the same arguments in the same order, delivered rows freed as
// the engine frees them, and nothing else. Each replayed call must return
// what it returned when recorded. floor_ratio = batch seconds / replay
// seconds; the replay child has one fixture in its memory, as the timed one.
//
// wasm_peak_mb: the WASM memory size after the timed run (linear memory
// only grows, so its final size is its peak). batch_bytes_per_item: the
// WASM heap the batch leaves held (history, job log), per item: what can
// still be allocated under the 4 GB maximum, probed before and after the
// batch in a third child (probing grows memory to the maximum, which would
// flatter a timed run) over BENCH_BYTES_N items (default 20,000).
// Every child is a process of its own, so one run's memory does not count
// in the next. With BENCH_RUNS > 1 seconds and floor_ratio are medians,
// wasm_peak_mb the largest.
//
// BENCH_BIG (default 1,000,000): one more external-task line at that size,
// without a floor (its log would be gigabytes); BENCH_BIG=0 skips it.
import { createEngine, manualClock, memoryStore, sequentialIds } from '../../bindings/index.js';
import { loadRebatch } from '../../bindings/loader.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const N = Number(process.env.BENCH_N ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const T0 = Date.UTC(2024, 0, 1);

const ASYNC = {
  key: 'async',
  activities: [
    { id: 'start', type: 'startEvent' },
    { id: 'svc', type: 'serviceTask', asyncBefore: true },
    { id: 'end', type: 'endEvent' },
  ],
  flows: [
    { id: 'f1', source: 'start', target: 'svc' },
    { id: 'f2', source: 'svc', target: 'end' },
  ],
};
const EXT = {
  key: 'ext',
  activities: [
    { id: 'start', type: 'startEvent' },
    { id: 'work', type: 'serviceTask', topic: 'work' },
    { id: 'end', type: 'endEvent' },
  ],
  flows: [
    { id: 'f1', source: 'start', target: 'work' },
    { id: 'f2', source: 'work', target: 'end' },
  ],
};

const seconds = (t) => (performance.now() - t) / 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (...a) => console.error(...a);

/** Runs batch jobs until no batch is left; returns {seconds, executed}. */
function runToCompletion(engine, clock) {
  let executed = 0;
  const t = performance.now();
  while (engine.getBatchesCount().count > 0) {
    // one step takes one seed run's output: 100 execution jobs + the next
    // seed (or the monitor).
    const r = engine.executeDueJobs({ maxJobs: 101 });
    executed += r.executed;
    if (r.failed) throw new Error(`batch jobs failed: ${JSON.stringify(r.jobs.find((j) => j.failed))}`);
    if (r.executed === 0) clock.advance(30_000);
  }
  return { seconds: seconds(t), executed };
}

/**
 * The two scenarios. fixture(store, clock, n) fills a store; batch(engine)
 * creates the batch; done(engine, batch, n) checks it did its work.
 */
const scenarios = {
  'set-job-retries': {
    async fixture(store, clock, n) {
      // every job fails once with defaultNumberOfRetries 1 -> retries 0
      const fixture = await createEngine({
        store, clock, ids: sequentialIds('f'),
        config: { defaultNumberOfRetries: 1 },
        jobHandler: () => { throw new Error('boom'); },
      });
      fixture.createDeployment({ name: 'bench', processes: [ASYNC] });
      for (let i = 0; i < n; i++) fixture.startProcessInstanceByKey('async', {});
      let failed = 0;
      for (let r; (r = fixture.executeDueJobs({ maxJobs: 10_000 })).executed > 0; ) failed += r.failed;
      fixture.close();
      if (failed !== n) throw new Error(`fixture: ${failed} failed jobs, expected ${n}`);
    },
    // the due date keeps the executor from running the retried process jobs
    // themselves (that would be work outside the batch)
    batch: (engine) => engine.setJobRetriesAsyncByProcess({
      retries: 3, dueDate: '2100-01-01T00:00:00.000+0000', processInstanceQuery: { processDefinitionKey: 'async' },
    }),
    done: (engine, batch, n) => batch.totalJobs === n && engine.getJobsCount({ noRetriesLeft: true }).count === 0,
  },
  'set-external-task-retries': {
    async fixture(store, clock, n) {
      const fixture = await createEngine({ store, clock, ids: sequentialIds('f') });
      fixture.createDeployment({ name: 'bench', processes: [EXT] });
      for (let i = 0; i < n; i++) fixture.startProcessInstanceByKey('ext', {});
      fixture.close();
    },
    batch: (engine) => engine.setExternalTaskRetriesAsync({ retries: 5, externalTaskQuery: { topicName: 'work' } }),
    done: (engine, batch, n) => batch.totalJobs === n && engine.getExternalTasksCount({ withRetriesLeft: true }).count === n,
  },
};

/** The batch's whole life on `store`: {seconds, executed}. */
async function timedBatch(sc, store, clock, n) {
  const engine = await createEngine({ store, clock, ids: sequentialIds('b') });
  const t = performance.now();
  const batch = sc.batch(engine);
  const created = seconds(t);
  const run = runToCompletion(engine, clock);
  if (!sc.done(engine, batch, n)) throw new Error('batch incomplete');
  engine.close();
  log(`  batch: create ${created.toFixed(2)} s, run ${run.seconds.toFixed(2)} s (${run.executed} jobs)`);
  return created + run.seconds;
}

/** One timed run: {seconds, peak}. */
async function runChild(sc, n) {
  const store = memoryStore();
  const clock = manualClock(T0);
  const t = performance.now();
  await sc.fixture(store, clock, n);
  log(`  fixture: ${n} items in ${seconds(t).toFixed(1)} s`);
  const s = await timedBatch(sc, store, clock, n);
  const rt = await loadRebatch();
  return { seconds: s, peak: rt.memoryBytes / 2 ** 20 };
}

/** Bytes still allocatable under the maximum (allocates and frees it all). */
function heapFree(rt) {
  const got = [];
  let free = 0;
  for (const size of [64 << 20, 1 << 20, 1 << 16, 1 << 12]) {
    for (let p; (p = rt.exports.rebatch_alloc(size)); ) {
      got.push(p);
      free += size;
    }
  }
  for (const p of got) rt.exports.rebatch_free(p);
  return free;
}

/** The WASM heap the batch leaves held, per item. */
async function bytesChild(sc, n) {
  const rt = await loadRebatch();
  const store = memoryStore();
  const clock = manualClock(T0);
  await sc.fixture(store, clock, n);
  const before = heapFree(rt);
  await timedBatch(sc, store, clock, n);
  return { bytes: (before - heapFree(rt)) / n };
}

/**
 * A memory store's C pointer: memoryStore() creates its C store when the
 * first engine opens on it, through rt.exports.rebatch_memory_store_new,
 * which is watched for the duration of `open`.
 */
async function cStorePointer(rt, open) {
  const original = rt.exports;
  let ptr = 0;
  rt.exports = { ...original, rebatch_memory_store_new: () => (ptr = original.rebatch_memory_store_new()) };
  try {
    await open();
  } finally {
    rt.exports = original;
  }
  if (!ptr) throw new Error('no C store was created');
  return ptr;
}

/** The vtable of a C store (struct rebatch_store, wasm32 layout). */
function vtableOf(rt, sp) {
  const table = rt.exports.__indirect_function_table;
  const word = (off) => rt.u32[(sp + off) >>> 2];
  const fn = (off) => table.get(word(off));
  return {
    ctx: word(4), begin: fn(8), commit: fn(12), rollback: fn(16), get: fn(20), put: fn(24), remove: fn(28),
    find: fn(32), scan: fn(36), savepoint: fn(44), release: fn(48), rollbackTo: fn(52),
  };
}

const OP = { begin: 0, commit: 1, rollback: 2, savepoint: 3, release: 4, rollbackTo: 5, get: 6, put: 7, remove: 8, find: 9, scan: 10 };
const SLOTS = 8; // op, rc, then up to six arguments
const NUL = -1; // a null string argument

/** A growable Int32Array. */
class Ints {
  constructor() {
    this.a = new Int32Array(1 << 16);
    this.length = 0;
  }

  push(...xs) {
    if (this.length + xs.length > this.a.length) {
      const bigger = new Int32Array(Math.max(this.a.length * 2, this.length + xs.length));
      bigger.set(this.a);
      this.a = bigger;
    }
    for (const x of xs) this.a[this.length++] = x;
  }

  get view() {
    return this.a.subarray(0, this.length);
  }
}

/**
 * A JS store over a C store's vtable that logs every call: the log holds
 * op, result and arguments, strings as offsets into one block of
 * NUL-terminated UTF-8 (the replay copies it into WASM memory whole), index
 * entries as an offset and a count into a list of (field, value) offsets.
 */
class Recorder {
  constructor(rt, vt) {
    this.rt = rt;
    this.vt = vt;
    this.log = new Ints();
    this.entries = new Ints();
    this.text = Buffer.alloc(1 << 20);
    this.textLength = 0;
    this.names = new Map(); // collection and field names, stored once
    this.rows = rt.alloc(12); // struct rebatch_rows {items, count, cap}
    this.newRev = rt.alloc(4);
    this.temp = [];
    rt.u32.fill(0, this.rows >>> 2, (this.rows >>> 2) + 3);
  }

  /** Logs a string; returns its offset in the block. */
  keep(text) {
    if (text === null || text === undefined) return NUL;
    const room = Buffer.byteLength(text) + 1;
    if (this.textLength + room > this.text.length) {
      const bigger = Buffer.alloc(Math.max(this.text.length * 2, this.textLength + room));
      this.text.copy(bigger, 0, 0, this.textLength);
      this.text = bigger;
    }
    const at = this.textLength;
    this.textLength += this.text.write(text, at);
    this.text[this.textLength++] = 0;
    return at;
  }

  name(text) {
    if (text === null || text === undefined) return NUL;
    let at = this.names.get(text);
    if (at === undefined) this.names.set(text, (at = this.keep(text)));
    return at;
  }

  /** A string for the call being recorded (freed after it). */
  ptr(text) {
    if (text === null || text === undefined) return 0;
    const p = this.rt.allocString(text);
    this.temp.push(p);
    return p;
  }

  push(op, rc, ...args) {
    for (const p of this.temp) this.rt.free(p);
    this.temp.length = 0;
    this.log.push(op, rc, ...args, ...new Array(SLOTS - 2 - args.length).fill(0));
    if (rc !== 0 && !(op === OP.remove && rc === 1)) throw new Error(`recorded store call ${op} failed: ${rc}`);
    return rc;
  }

  /** Takes the delivered rows as JS rows and empties the struct. */
  takeRows() {
    const rt = this.rt;
    const count = rt.u32[(this.rows + 4) >>> 2];
    const items = rt.u32[this.rows >>> 2];
    const out = [];
    for (let i = 0; i < count; i++) {
      const row = items + 12 * i;
      const id = rt.u32[row >>> 2];
      const json = rt.u32[(row + 4) >>> 2];
      out.push({ id: rt.readString(id), json: rt.readString(json), rev: rt.i32[(row + 8) >>> 2] });
      rt.exports.rebatch_free(id);
      rt.exports.rebatch_free(json);
    }
    rt.u32[(this.rows + 4) >>> 2] = 0;
    return out;
  }

  begin() { this.push(OP.begin, this.vt.begin(this.vt.ctx)); }
  commit() { this.push(OP.commit, this.vt.commit(this.vt.ctx)); }
  rollback() { this.push(OP.rollback, this.vt.rollback(this.vt.ctx)); }
  savepoint() { this.push(OP.savepoint, this.vt.savepoint(this.vt.ctx)); }
  release() { this.push(OP.release, this.vt.release(this.vt.ctx)); }
  rollbackTo() { this.push(OP.rollbackTo, this.vt.rollbackTo(this.vt.ctx)); }

  get(coll, id) {
    const rc = this.vt.get(this.vt.ctx, this.ptr(coll), this.ptr(id), this.rows);
    this.push(OP.get, rc, this.name(coll), this.keep(id));
    const rows = this.takeRows();
    return rows.length ? rows[0] : null;
  }

  put(coll, id, json, expectedRev, index) {
    const rt = this.rt;
    const entries = index.length ? rt.alloc(8 * index.length) : 0;
    if (entries) this.temp.push(entries);
    const first = this.entries.length / 2;
    index.forEach(({ field, value }, k) => {
      rt.u32[(entries >>> 2) + 2 * k] = this.ptr(field);
      rt.u32[(entries >>> 2) + 2 * k + 1] = this.ptr(value);
      this.entries.push(this.name(field), this.keep(value));
    });
    const rc = this.vt.put(this.vt.ctx, this.ptr(coll), this.ptr(id), this.ptr(json), expectedRev, entries, index.length, this.newRev);
    this.push(OP.put, rc, this.name(coll), this.keep(id), this.keep(json), expectedRev, first, index.length);
    return rt.i32[this.newRev >>> 2];
  }

  remove(coll, id, expectedRev) {
    const rc = this.vt.remove(this.vt.ctx, this.ptr(coll), this.ptr(id), expectedRev);
    return this.push(OP.remove, rc, this.name(coll), this.keep(id), expectedRev) === 0;
  }

  find(coll, field, value, afterId, limit) {
    const rc = this.vt.find(this.vt.ctx, this.ptr(coll), this.ptr(field), this.ptr(value), this.ptr(afterId), limit, this.rows);
    this.push(OP.find, rc, this.name(coll), this.name(field), this.keep(value), this.keep(afterId), limit);
    return this.takeRows();
  }

  scan(coll, afterId, limit) {
    const rc = this.vt.scan(this.vt.ctx, this.ptr(coll), this.ptr(afterId), limit, this.rows);
    this.push(OP.scan, rc, this.name(coll), this.keep(afterId), limit);
    return this.takeRows();
  }

  /** Writes the log to files under `dir`. */
  save(dir) {
    writeFileSync(`${dir}/log`, this.log.view);
    writeFileSync(`${dir}/entries`, this.entries.view);
    writeFileSync(`${dir}/text`, this.text.subarray(0, this.textLength));
  }
}

const readInts = (path) => {
  const b = readFileSync(path);
  return new Int32Array(b.buffer, b.byteOffset, b.length / 4);
};

/**
 * Loads a saved log into WASM memory, untimed: the strings in one block,
 * the index entries as rebatch_index_entry arrays, every string argument of
 * the log turned into its pointer. Returns the log.
 */
function loadLog(rt, dir) {
  const text = readFileSync(`${dir}/text`);
  const base = rt.alloc(text.length);
  rt.u8.set(text, base);
  const at = (offset) => (offset === NUL ? 0 : base + offset);
  const saved = readInts(`${dir}/entries`);
  const entries = saved.length ? rt.alloc(saved.length * 4) : 0;
  for (let i = 0; i < saved.length; i++) rt.u32[(entries >>> 2) + i] = at(saved[i]);
  const L = readInts(`${dir}/log`).slice();
  for (let i = 0; i < L.length; i += SLOTS) {
    const strings = { [OP.get]: [2, 3], [OP.put]: [2, 3, 4], [OP.remove]: [2, 3], [OP.find]: [2, 3, 4, 5], [OP.scan]: [2, 3] }[L[i]] ?? [];
    for (const k of strings) L[i + k] = at(L[i + k]);
    if (L[i] === OP.put) L[i + 6] = L[i + 7] ? entries + 8 * L[i + 6] : 0;
  }
  return L;
}

/** Replays a loaded log on `vt`; returns the seconds it took. */
function replay(rt, vt, L) {
  const { ctx } = vt;
  const rows = rt.alloc(12);
  const newRev = rt.alloc(4);
  const free = rt.exports.rebatch_free;
  rt.u32.fill(0, rows >>> 2, (rows >>> 2) + 3);
  let mismatches = 0;
  const t = performance.now();
  for (let at = 0; at < L.length; at += SLOTS) {
    let rc;
    let delivers = false;
    switch (L[at]) {
      case OP.begin: rc = vt.begin(ctx); break;
      case OP.commit: rc = vt.commit(ctx); break;
      case OP.rollback: rc = vt.rollback(ctx); break;
      case OP.savepoint: rc = vt.savepoint(ctx); break;
      case OP.release: rc = vt.release(ctx); break;
      case OP.rollbackTo: rc = vt.rollbackTo(ctx); break;
      case OP.get: rc = vt.get(ctx, L[at + 2], L[at + 3], rows); delivers = true; break;
      case OP.put: rc = vt.put(ctx, L[at + 2], L[at + 3], L[at + 4], L[at + 5], L[at + 6], L[at + 7], newRev); break;
      case OP.remove: rc = vt.remove(ctx, L[at + 2], L[at + 3], L[at + 4]); break;
      case OP.find: rc = vt.find(ctx, L[at + 2], L[at + 3], L[at + 4], L[at + 5], L[at + 6], rows); delivers = true; break;
      case OP.scan: rc = vt.scan(ctx, L[at + 2], L[at + 3], L[at + 4], rows); delivers = true; break;
      default: throw new Error(`unknown op ${L[at]}`);
    }
    if (rc !== L[at + 1]) mismatches++;
    if (delivers) {
      // free the delivered rows as the engine does, keep the items array
      const u32 = rt.u32;
      const items = u32[rows >>> 2];
      const count = u32[(rows + 4) >>> 2];
      for (let i = 0; i < count; i++) {
        free(u32[(items + 12 * i) >>> 2]);
        free(u32[(items + 12 * i + 4) >>> 2]);
      }
      u32[(rows + 4) >>> 2] = 0;
    }
  }
  const s = seconds(t);
  if (mismatches) throw new Error(`replay: ${mismatches} calls returned otherwise than when recorded`);
  return s;
}

/** A fixture on a C memory store: {store, ptr}. */
async function cFixture(rt, sc, n) {
  const store = memoryStore();
  const ptr = await cStorePointer(rt, () => sc.fixture(store, manualClock(T0), n));
  return { store, ptr };
}

/** Records the batch's store calls on a fixture into BENCH_LOG_DIR. */
async function recordChild(sc, n) {
  const rt = await loadRebatch();
  const { ptr } = await cFixture(rt, sc, n);
  // no fixture moves its clock: the batch starts at T0 as in runChild
  const rec = new Recorder(rt, vtableOf(rt, ptr));
  await timedBatch(sc, rec, manualClock(T0), n);
  rec.save(process.env.BENCH_LOG_DIR);
  return { calls: rec.log.length / SLOTS };
}

/** Replays BENCH_LOG_DIR's log on a fresh fixture: {floor}. */
async function replayChild(sc, n) {
  const rt = await loadRebatch();
  const { ptr } = await cFixture(rt, sc, n);
  const L = loadLog(rt, process.env.BENCH_LOG_DIR);
  const s = replay(rt, vtableOf(rt, ptr), L);
  log(`  floor: ${L.length / SLOTS} store calls (${(L.length / SLOTS / n).toFixed(1)} an item) replayed in ${s.toFixed(2)} s`);
  return { floor: s };
}

const CHILD = { run: runChild, record: recordChild, replay: replayChild, bytes: bytesChild };

if (process.env.BENCH_CHILD) {
  // one child's work; the parent reads the JSON line
  const [kind, name, n] = process.env.BENCH_CHILD.split(':');
  const result = await CHILD[kind](scenarios[name], Number(n));
  console.log(JSON.stringify(result));
} else {
  const { execFileSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const self = fileURLToPath(import.meta.url);
  const child = (kind, name, n) => {
    log(`${name}: ${kind}, ${n} items`);
    const out = execFileSync(process.execPath, [self], {
      env: { ...process.env, BENCH_CHILD: `${kind}:${name}:${n}` }, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    return JSON.parse(out.trim().split('\n').pop());
  };
  const BYTES_N = Number(process.env.BENCH_BYTES_N ?? 20_000);
  const BIG = Number(process.env.BENCH_BIG ?? 1_000_000);
  const lines = [];
  for (const name of Object.keys(scenarios)) {
    const runs = [];
    for (let r = 0; r < RUNS; r++) {
      const dir = mkdtempSync(`${tmpdir()}/rebatch-floor-`);
      try {
        process.env.BENCH_LOG_DIR = dir;
        runs.push({ ...child('run', name, N), ...child('record', name, N), ...child('replay', name, N) });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const s = median(runs.map((r) => r.seconds));
    const ratio = median(runs.map((r) => r.seconds / r.floor));
    const peak = Math.max(...runs.map((r) => r.peak));
    const { bytes } = child('bytes', name, BYTES_N);
    lines.push(
      `bench ${name} items=${N} seconds=${s.toFixed(3)} items_per_s=${Math.round(N / s)} ` +
        `floor_ratio=${ratio.toFixed(2)} floor_calls_per_item=${(runs[0].calls / N).toFixed(1)} ` +
        `wasm_peak_mb=${peak.toFixed(1)} batch_bytes_per_item=${Math.round(bytes)}`,
    );
  }
  if (BIG > 0) {
    const name = 'set-external-task-retries';
    const r = child('run', name, BIG);
    lines.push(
      `bench ${name} items=${BIG} seconds=${r.seconds.toFixed(3)} items_per_s=${Math.round(BIG / r.seconds)} ` +
        `floor_ratio=n/a wasm_peak_mb=${r.peak.toFixed(1)}`,
    );
  }
  for (const line of lines) console.log(line);
}
