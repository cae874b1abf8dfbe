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
// The floor: the raw store work the same effect needs, measured in the same
// process on the same WASM module: for every item one get and one put of
// the target record (same JSON bytes, same index entries) through the C
// memory store's own vtable (rebatch_store.get/put, called through the
// module's function table, i.e. without the engine and without JSON
// crossing to JS), in transactions of 100 items (one seed chunk). The
// floor store holds only the target records (a copy of them taken from the
// engine's store after the run), so its lookups are, if anything, a little
// cheaper than in the full store. floor_ratio = batch seconds / floor seconds.
//
// wasm_peak_mb: the WASM memory size after the scenario (linear memory only
// grows, so its final size is its peak), measured before the floor copy.
// Every run of every scenario runs in a child process of its own, so one
// run's memory does not count in the next. With BENCH_RUNS > 1 seconds and
// floor_ratio are medians, wasm_peak_mb the largest.
import { createEngine, manualClock, memoryStore, sequentialIds } from '../../bindings/index.js';
import { loadRebatch } from '../../bindings/loader.js';

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
    // seed (or the monitor). A step that finds fewer due jobs than maxJobs
    // walks every acquirable job (acquisition has no due-date order), which
    // with the retried-but-not-due process jobs of the first scenario costs
    // O(N) per step; see the note in the job retries scenario.
    const r = engine.executeDueJobs({ maxJobs: 101 });
    executed += r.executed;
    if (r.failed) throw new Error(`batch jobs failed: ${JSON.stringify(r.jobs.find((j) => j.failed))}`);
    if (r.executed === 0) clock.advance(30_000);
  }
  return { seconds: seconds(t), executed };
}

async function jobRetriesScenario() {
  const store = memoryStore();
  const clock = manualClock(T0);
  // fixture: every job fails once with defaultNumberOfRetries 1 -> retries 0
  const fixture = await createEngine({
    store, clock, ids: sequentialIds('f'),
    config: { defaultNumberOfRetries: 1 },
    jobHandler: () => { throw new Error('boom'); },
  });
  let t = performance.now();
  fixture.createDeployment({ name: 'bench', processes: [ASYNC] });
  for (let i = 0; i < N; i++) fixture.startProcessInstanceByKey('async', {});
  let failed = 0;
  for (let r; (r = fixture.executeDueJobs({ maxJobs: 10_000 })).executed > 0; ) failed += r.failed;
  fixture.close();
  if (failed !== N) throw new Error(`fixture: ${failed} failed jobs, expected ${N}`);
  log(`  fixture: ${N} instances with a failed job in ${seconds(t).toFixed(1)} s`);

  const engine = await createEngine({ store, clock, ids: sequentialIds('b') });
  t = performance.now();
  // the due date keeps the executor from running the retried process jobs
  // themselves (that would be work outside the batch). Note: acquisition
  // walks the 'acquirable' index in id order and skips jobs not due; the
  // batch's ids ('b...') sort before the fixture's ('f...'), so a step that
  // fills its maxJobs stops before reaching them; only steps that find fewer
  // due jobs (the first seed, the final monitor) walk all N of them.
  const batch = engine.setJobRetriesAsyncByProcess({
    retries: 3, dueDate: '2100-01-01T00:00:00.000+0000', processInstanceQuery: { processDefinitionKey: 'async' },
  });
  const created = seconds(t);
  const run = runToCompletion(engine, clock);
  const total = created + run.seconds;
  if (batch.totalJobs !== N || engine.getJobsCount({ noRetriesLeft: true }).count !== 0) throw new Error('job retries batch incomplete');
  log(`  batch: create ${created.toFixed(2)} s, run ${run.seconds.toFixed(2)} s (${run.executed} jobs)`);
  const peak = await wasmMb();
  const floor = await storeFloor(store, 'job', (r) => [
    ['processInstanceId', r.processInstanceId],
    ['jobDefinitionId', r.jobDefinitionId],
    ['acquirable', r.retries > 0 && !r.suspended ? '1' : null],
  ]);
  engine.close();
  store.close();
  return { seconds: total, floor, peak };
}

async function externalTaskScenario() {
  const store = memoryStore();
  const clock = manualClock(T0);
  const fixture = await createEngine({ store, clock, ids: sequentialIds('f') });
  let t = performance.now();
  fixture.createDeployment({ name: 'bench', processes: [EXT] });
  for (let i = 0; i < N; i++) fixture.startProcessInstanceByKey('ext', {});
  fixture.close();
  log(`  fixture: ${N} external tasks in ${seconds(t).toFixed(1)} s`);

  const engine = await createEngine({ store, clock, ids: sequentialIds('b') });
  t = performance.now();
  const batch = engine.setExternalTaskRetriesAsync({ retries: 5, externalTaskQuery: { topicName: 'work' } });
  const created = seconds(t);
  const run = runToCompletion(engine, clock);
  const total = created + run.seconds;
  if (batch.totalJobs !== N || engine.getExternalTasksCount({ withRetriesLeft: true }).count !== N) throw new Error('external task batch incomplete');
  log(`  batch: create ${created.toFixed(2)} s, run ${run.seconds.toFixed(2)} s (${run.executed} jobs)`);
  const peak = await wasmMb();
  const floor = await storeFloor(store, 'externalTask', (r) => [
    ['processInstanceId', r.processInstanceId],
    ['topicName', r.topicName],
  ]);
  engine.close();
  store.close();
  return { seconds: total, floor, peak };
}

async function wasmMb() {
  const rt = await loadRebatch();
  return rt.memory.buffer.byteLength / (1024 * 1024);
}

/**
 * Seconds for get + put of every record of `collection` (copied from
 * `store`) on a fresh C memory store, through its vtable. See the header.
 */
async function storeFloor(store, collection, indexOf) {
  const records = Object.entries(JSON.parse(store.dump())[collection] ?? {});
  const rt = await loadRebatch();
  const x = rt.exports;
  const table = x.__indirect_function_table;
  const sp = x.rebatch_memory_store_new();
  const word = (p) => new Uint32Array(rt.memory.buffer)[p >>> 2];
  const i32 = (p) => new Int32Array(rt.memory.buffer)[p >>> 2];
  const setWord = (p, v) => (new Uint32Array(rt.memory.buffer)[p >>> 2] = v);
  const ctx = word(sp + 4);
  const [begin, commit, get, put] = [8, 12, 20, 24].map((off) => table.get(word(sp + off)));
  const coll = rt.allocString(collection);
  const newRev = rt.alloc(4);
  const rows = rt.alloc(12); // struct rebatch_rows {items, count, cap}
  setWord(rows, 0); setWord(rows + 4, 0); setWord(rows + 8, 0);
  // untimed: load the records and prepare ids and index entries in WASM memory
  const items = [];
  begin(ctx);
  for (const [id, { record }] of records) {
    const idPtr = rt.allocString(id);
    const entries = indexOf(record);
    const index = rt.alloc(8 * entries.length);
    entries.forEach(([field, value], k) => {
      setWord(index + 8 * k, rt.allocString(field));
      setWord(index + 8 * k + 4, value === null ? 0 : rt.allocString(value));
    });
    const json = rt.allocString(JSON.stringify(record));
    if (put(ctx, coll, idPtr, json, 0, index, entries.length, newRev) !== 0) throw new Error('floor: load failed');
    rt.free(json);
    items.push([idPtr, index, entries.length]);
  }
  commit(ctx);
  // timed: get + put per item, 100 items per transaction
  const t = performance.now();
  for (let i = 0; i < items.length; i++) {
    if (i % 100 === 0) begin(ctx);
    const [idPtr, index, count] = items[i];
    get(ctx, coll, idPtr, rows);
    const row = word(rows); // items[0]: {id, json, rev}
    if (put(ctx, coll, idPtr, word(row + 4), i32(row + 8), index, count, newRev) !== 0) throw new Error('floor: put failed');
    x.rebatch_free(word(row));
    x.rebatch_free(word(row + 4));
    setWord(rows + 4, 0); // count = 0, keep the items array
    if (i % 100 === 99 || i === items.length - 1) commit(ctx);
  }
  const floor = seconds(t);
  x.rebatch_free(word(rows));
  x.rebatch_memory_store_free(sp);
  return floor;
}

const scenarios = {
  'set-job-retries': jobRetriesScenario,
  'set-external-task-retries': externalTaskScenario,
};

if (process.env.BENCH_CHILD) {
  // one run of one scenario; the parent reads the JSON line
  const result = await scenarios[process.env.BENCH_CHILD]();
  console.log(JSON.stringify(result));
} else {
  const { execFileSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const self = fileURLToPath(import.meta.url);
  const lines = [];
  for (const name of Object.keys(scenarios)) {
    const results = [];
    for (let run = 0; run < RUNS; run++) {
      log(`${name}: run ${run + 1}/${RUNS}, ${N} items`);
      const out = execFileSync(process.execPath, [self], {
        env: { ...process.env, BENCH_CHILD: name }, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8',
      });
      results.push(JSON.parse(out.trim().split('\n').pop()));
    }
    const s = median(results.map((r) => r.seconds));
    const ratio = median(results.map((r) => r.seconds / r.floor));
    const peak = Math.max(...results.map((r) => r.peak));
    lines.push(
      `bench ${name} items=${N} seconds=${s.toFixed(3)} items_per_s=${Math.round(N / s)} ` +
        `floor_ratio=${ratio.toFixed(1)} wasm_peak_mb=${peak.toFixed(1)}`,
    );
  }
  for (const line of lines) console.log(line);
}
