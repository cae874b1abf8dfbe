// SQLite batch benchmark (not a test): a batch over N items on the store
// users run by default, measured as they run it.
//
//   node tests/bench/sqlite.bench.js          (part of npm run bench)
//   BENCH_N=100000                            (default)
//   BENCH_JOBS_PER_TX=.. BENCH_JOBS_PER_STEP=.. (default: the executor's defaults)
//
// Scenarios (each on a fresh SQLite file with the server's settings: WAL,
// synchronous=FULL):
//   sqlite-set-job-retries            N instances waiting at a timer, one
//                                     job each; a batch sets retries 5.
//   sqlite-set-external-task-retries  N external tasks; a batch sets retries 5.
// Fixtures are made through the engine (synchronous=OFF) before the clock
// starts. The batch is created through the engine and run by the server's
// JobExecutor class with its default settings (or BENCH_JOBS_PER_TX).
// seconds: from the creating call to the batch's historic endTime.
// disk_kb_per_item, written_kb_per_item, write_calls_per_item: the
// process's writes to storage, bytes passed to write calls (WAL frames,
// checkpoints) and write calls in that time, per item (/proc/self/io);
// steadier than seconds on a loaded machine.
//
// The floor: every write the batch made (put/remove with their index
// values), recorded with its transaction boundaries while the batch ran,
// replayed with raw better-sqlite3 statements on a fresh file with the same
// schema, page size and settings, in the same transactions, with no engine
// and no reads: each record written once and only the index rows whose
// values changed. floor_ratio = seconds / floor seconds.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

import { createEngine } from '../../bindings/index.js';
import { JobExecutor } from '../../bindings/executor.js';
import { sqliteStore } from '../../bindings/sqlite-store.js';

const N = Number(process.env.BENCH_N ?? 100_000);
const SETTINGS = {
  ...(process.env.BENCH_JOBS_PER_TX ? { jobsPerTransaction: Number(process.env.BENCH_JOBS_PER_TX) } : {}),
  ...(process.env.BENCH_JOBS_PER_STEP ? { maxJobsPerStep: Number(process.env.BENCH_JOBS_PER_STEP) } : {}),
};
const TARGET_S = 15;
const TARGET_RATIO = 3;
const dir = mkdtempSync(join(tmpdir(), 'rebatch-sqlite-bench-'));

const linear = (key, middle) => {
  const activities = [{ id: 'start', type: 'startEvent' }, middle, { id: 'end', type: 'endEvent' }];
  return { key, activities, flows: [{ id: 'f1', source: 'start', target: middle.id }, { id: 'f2', source: middle.id, target: 'end' }] };
};
const WAIT = linear('wait', { id: 'timer', type: 'intermediateCatchEvent', timerDuration: 'PT10H' });
const EXT = linear('ext', { id: 'work', type: 'serviceTask', topic: 'work' });
const camundaMs = (text) => Date.parse(text.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));

/** This process's I/O counters (Linux /proc/self/io), or null elsewhere. */
function processIo() {
  try {
    return Object.fromEntries(readFileSync('/proc/self/io', 'utf8').trim().split('\n').map((l) => {
      const [k, v] = l.split(': ');
      return [k, Number(v)];
    }));
  } catch {
    return null;
  }
}

/** A store that records its writes, grouped by transaction (savepoints are inside them). */
function recording(store) {
  const txs = [];
  let tx = null;
  const wrap = {
    txs,
    recording: false,
    begin: () => { store.begin(); tx = []; },
    commit: () => { store.commit(); if (wrap.recording && tx.length) txs.push(tx); tx = null; },
    rollback: () => { store.rollback(); tx = null; },
    savepoint: () => store.savepoint(),
    release: () => store.release(),
    rollbackTo: () => store.rollbackTo(), // a job that failed: its writes stay recorded (none fail here)
    get: (...a) => store.get(...a),
    find: (...a) => store.find(...a),
    scan: (...a) => store.scan(...a),
    findOrdered: (...a) => store.findOrdered(...a),
    put(coll, id, json, rev, index = []) {
      const r = store.put(coll, id, json, rev, index);
      tx?.push(['put', coll, id, json, rev, index.filter((e) => e.value !== null).map((e) => [e.field, e.value])]);
      return r;
    },
    remove(coll, id, rev) {
      const r = store.remove(coll, id, rev);
      tx?.push(['remove', coll, id]);
      return r;
    },
  };
  return wrap;
}

/**
 * The recorded writes as raw statements: a record's upsert or delete and the
 * index rows that changed (fixture: coll\0id -> the idx text before the run).
 */
function rawStatements(txs, fixture) {
  const stored = new Map(); // coll\0id -> [[field, value], ...]
  const indexOf = (coll, id) => {
    const key = `${coll}\0${id}`;
    if (!stored.has(key)) stored.set(key, JSON.parse(fixture.get(key) ?? '[]'));
    return stored.get(key);
  };
  const entry = (e) => `${e[0]}\0${e[1]}`;
  return txs.map((tx) => tx.flatMap((w) => {
    const [op, coll, id] = w;
    const before = op === 'put' && w[4] === 0 ? [] : indexOf(coll, id);
    const after = op === 'remove' ? [] : w[5];
    stored.set(`${coll}\0${id}`, after);
    const had = new Set(before.map(entry));
    const has = new Set(after.map(entry));
    const out = [op === 'remove' ? ['del', coll, id] : ['upsert', coll, id, w[3], w[4] + 1, JSON.stringify(after)]];
    for (const e of before) if (!has.has(entry(e))) out.push(['delIndex', coll, e[0], e[1], id]);
    for (const e of after) if (!had.has(entry(e))) out.push(['addIndex', coll, e[0], e[1], id]);
    return out;
  }));
}

/** The recorded writes, replayed raw on a fresh file; returns seconds. */
function floor(txs, schemaFrom, fixture) {
  const file = join(dir, `floor-${Math.random().toString(36).slice(2)}.db`);
  const db = new Database(file);
  db.pragma(`page_size = ${schemaFrom.pragma('page_size', { simple: true })}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  for (const { sql } of schemaFrom.prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL").all()) db.exec(sql);
  const run = {
    upsert: db.prepare('INSERT INTO records (coll, id, json, rev, idx) VALUES (?, ?, ?, ?, ?) ON CONFLICT (coll, id) DO UPDATE SET json = excluded.json, rev = excluded.rev, idx = excluded.idx'),
    del: db.prepare('DELETE FROM records WHERE coll = ? AND id = ?'),
    delIndex: db.prepare('DELETE FROM record_index WHERE coll = ? AND field = ? AND value = ? AND id = ?'),
    addIndex: db.prepare('INSERT OR IGNORE INTO record_index (coll, field, value, id) VALUES (?, ?, ?, ?)'),
  };
  const statements = rawStatements(txs, fixture);
  const begin = db.prepare('BEGIN');
  const commit = db.prepare('COMMIT');
  const t = performance.now();
  for (const tx of statements) {
    begin.run();
    for (const [op, ...args] of tx) run[op].run(...args);
    commit.run();
  }
  const s = (performance.now() - t) / 1000;
  db.close();
  return s;
}

async function scenario(name, setup, create) {
  const file = join(dir, `${name}.db`);
  const fast = sqliteStore(file, { synchronous: 'OFF' });
  let engine = await createEngine({ store: fast });
  const t0 = performance.now();
  setup(engine);
  engine.close();
  fast.close();
  console.error(`${name}: fixtures ${N} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const inner = sqliteStore(file);
  const fixture = new Map(inner.db.prepare("SELECT coll || char(0) || id AS key, idx FROM records").raw().all());
  const store = recording(inner);
  engine = await createEngine({ store });
  const executor = new JobExecutor(engine, SETTINGS);
  store.recording = true;
  const io0 = processIo();
  const start = Date.now();
  const batch = create(engine);
  executor.start();
  let end;
  while (!(end = engine.getHistoricBatch(batch.id).endTime)) await new Promise((r) => setTimeout(r, 20));
  executor.stop();
  store.recording = false;
  const seconds = (camundaMs(end) - start) / 1000;
  const io1 = processIo();
  const writes = store.txs.reduce((n, tx) => n + tx.length, 0);
  const floorSeconds = floor(store.txs, inner.db, fixture);
  engine.close();
  inner.close();
  console.log(`bench ${name} items=${N} seconds=${seconds.toFixed(2)} items_per_s=${Math.round(N / seconds)} ` +
    `floor_seconds=${floorSeconds.toFixed(2)} floor_ratio=${(seconds / floorSeconds).toFixed(2)} transactions=${store.txs.length} ` +
    `writes=${writes} disk_kb_per_item=${io0 ? ((io1.write_bytes - io0.write_bytes) / 1024 / N).toFixed(1) : 'n/a'} ` +
    `written_kb_per_item=${io0 ? ((io1.wchar - io0.wchar) / 1024 / N).toFixed(1) : 'n/a'} ` +
    `write_calls_per_item=${io0 ? ((io1.syscw - io0.syscw) / N).toFixed(2) : 'n/a'} target_seconds=${TARGET_S} target_floor_ratio=${TARGET_RATIO}`);
}

try {
  await scenario('sqlite-set-job-retries', (engine) => {
    engine.createDeployment({ name: 'bench', processes: [WAIT] });
    for (let i = 0; i < N; i++) engine.startProcessInstanceByKey('wait', {});
  }, (engine) => engine.setJobRetriesAsync({ retries: 5, jobQuery: { processDefinitionKey: 'wait' } }));
  await scenario('sqlite-set-external-task-retries', (engine) => {
    engine.createDeployment({ name: 'bench', processes: [EXT] });
    for (let i = 0; i < N; i++) engine.startProcessInstanceByKey('ext', {});
  }, (engine) => engine.setExternalTaskRetriesAsync({ retries: 5, externalTaskQuery: { topicName: 'work' } }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
