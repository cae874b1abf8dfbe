// pg.bench.js - a set-external-task-retries batch on the PostgreSQL store,
// side by side with the same batch on the SQLite store.
//
//   node tests/bench/pg.bench.js          (part of npm run bench)
//   BENCH_PG_N=20000 node tests/bench/pg.bench.js
//
// Not a test: it prints numbers and checks only that the batch did its work.
// A throwaway cluster (tests/support/pg-cluster.js) with the server's
// default settings (fsync on, synchronous_commit on), the SQLite store with
// its default synchronous=FULL: both durable at every commit, as `rebatch
// serve` runs them.
//
// Fixture (not timed): N process instances waiting in an external task,
// made once by the engine on a JS memory store, whose records (with the
// index entries the core declared) are then loaded into each store.
// Timed: the batch's whole life, the creating call and then the job
// executor (executeDueJobs) running seed, execution and monitor jobs until
// no batch is left, by one engine (nodes=1), then by three engines on one
// database, each in a process of its own (the libpq addon does not load
// in worker threads) with its own connection and lock owner (nodes=3): every step acquires (locks) its jobs first, so the
// three never run the same job.
//
// Where the time goes: round_trips_per_item counts the store's round trips
// to the server, db_wait_share is the part of the time spent waiting on
// them (the server's work, its WAL flush at commit, loopback); the rest is
// the engine (WASM) and the store's JS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

import { createEngine, jsMemoryStore, manualClock, sequentialIds } from '../../bindings/index.js';
import { postgresStore } from '../../bindings/postgres-store.js';
import { sqliteStore } from '../../bindings/sqlite-store.js';
import { startPgCluster } from '../support/pg-cluster.js';

const N = Number(process.env.BENCH_PG_N ?? 100_000);
const NODES = Number(process.env.BENCH_PG_NODES ?? 3);
// Jobs a node's step acquires: a seed job makes 100 execution jobs at a
// time, and one node taking all of them leaves the others idle, so each
// takes its share (Camunda's own default is 3 per acquisition).
const NODE_MAX_JOBS = Number(process.env.BENCH_PG_NODE_MAX_JOBS ?? Math.ceil(101 / NODES));
const T0 = Date.UTC(2024, 0, 1);
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
const log = (...a) => console.error(...a);

/** The records N instances leave, as [coll, id, json, index] (index: the core's declared entries). */
async function fixture() {
  const inner = jsMemoryStore();
  const records = new Map();
  const store = {
    begin: () => inner.begin(),
    commit: () => inner.commit(),
    rollback: () => inner.rollback(),
    get: (c, id) => inner.get(c, id),
    find: (...a) => inner.find(...a),
    scan: (...a) => inner.scan(...a),
    put(coll, id, json, rev, index) {
      const next = inner.put(coll, id, json, rev, index);
      records.set(`${coll}\u0000${id}`, [coll, id, json, index.map(({ field, value }) => ({ field, value }))]);
      return next;
    },
    remove(coll, id, rev) {
      records.delete(`${coll}\u0000${id}`);
      return inner.remove(coll, id, rev);
    },
  };
  const engine = await createEngine({ store, clock: manualClock(T0), ids: sequentialIds('f') });
  engine.createDeployment({ name: 'bench', processes: [EXT] });
  for (let i = 0; i < N; i++) engine.startProcessInstanceByKey('ext', {});
  engine.close();
  return [...records.values()];
}

function load(store, records) {
  for (let i = 0; i < records.length; i += 5000) {
    store.begin();
    for (const [coll, id, json, index] of records.slice(i, i + 5000)) store.put(coll, id, json, 0, index);
    store.commit();
  }
}

/** Runs the batch to its end on `store`; returns seconds. */
async function runBatch(store) {
  const clock = manualClock(T0 + 1000);
  const engine = await createEngine({ store, clock, ids: sequentialIds('b') });
  try {
    const t = performance.now();
    const batch = engine.setExternalTaskRetriesAsync({ retries: 5, externalTaskQuery: { topicName: 'work' } });
    while (engine.getBatchesCount().count > 0) {
      const r = engine.executeDueJobs({ maxJobs: 101 });
      if (r.failed) throw new Error(`batch jobs failed: ${JSON.stringify(r.jobs.find((j) => j.failed))}`);
      if (r.executed === 0) clock.advance(30_000);
    }
    const s = seconds(t);
    if (batch.totalJobs !== N || engine.getExternalTasksCount({ withRetriesLeft: true }).count !== N) {
      throw new Error('external task batch incomplete');
    }
    return s;
  } finally {
    engine.close();
  }
}

/**
 * One node of the multi-node run: a process with its own engine and
 * connection, stepping until no batch is left. Prints its round trips and
 * wait time as JSON, then ends.
 */
const NODE = `
const [url, index, pg, maxJobs] = process.argv.slice(1);
(async () => {
  const { createEngine } = await import(index);
  const { postgresStore } = await import(pg);
  const store = postgresStore(url);
  const engine = await createEngine({ store, config: { batchPollTime: 1 } });
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let executed = 0, conflicted = 0, idle = 0;
  while (engine.getBatchesCount().count > 0) {
    const r = engine.executeDueJobs({ maxJobs: Number(maxJobs) });
    if (r.failed) throw new Error('batch jobs failed: ' + JSON.stringify(r.jobs.find((j) => j.failed)));
    executed += r.executed;
    conflicted += r.conflicted;
    if (r.executed === 0) {
      idle++;
      Atomics.wait(nap, 0, 0, 5);
    }
  }
  engine.close();
  process.stdout.write(JSON.stringify({ ...store.stats, executed, conflicted, idle }));
  store.close();
})();
`;

/** Runs the batch to its end with `nodes` worker-thread engines on `url`; returns seconds and the nodes' stats. */
async function runNodes(url, nodes) {
  const store = postgresStore(url);
  const engine = await createEngine({ store });
  const t = performance.now();
  engine.setExternalTaskRetriesAsync({ retries: 5, externalTaskQuery: { topicName: 'work' } });
  engine.close();
  store.close();
  const argv = [
    '-e', NODE, url,
    new URL('../../bindings/index.js', import.meta.url).href,
    new URL('../../bindings/postgres-store.js', import.meta.url).href,
    String(NODE_MAX_JOBS),
  ];
  const stats = await Promise.all(Array.from({ length: nodes }, () => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`node exited with ${code}`))));
  })));
  const s = seconds(t);
  const check = postgresStore(url);
  const done = (await createEngine({ store: check })).getExternalTasksCount({ withRetriesLeft: true }).count;
  check.close();
  if (done !== N) throw new Error(`external task batch incomplete: ${done} of ${N}`);
  return { seconds: s, stats };
}

let t = performance.now();
const records = await fixture();
log(`fixture: ${N} instances, ${records.length} records in ${seconds(t).toFixed(1)} s`);

const dir = mkdtempSync(join(tmpdir(), 'rebatch-bench-'));
const cluster = await startPgCluster({ settings: JSON.parse(process.env.BENCH_PG_SETTINGS ?? '{}') });
try {
  const pg = postgresStore(cluster.url);
  t = performance.now();
  load(pg, records);
  log(`  loaded into PostgreSQL in ${seconds(t).toFixed(1)} s`);
  const before = { ...pg.stats };
  const pgSeconds = await runBatch(pg);
  const trips = pg.stats.roundTrips - before.roundTrips;
  const wait = (pg.stats.waitMs - before.waitMs) / 1000;
  pg.close();

  const url = cluster.createDatabase('nodes');
  const pgNodes = postgresStore(url);
  load(pgNodes, records);
  pgNodes.close();
  const multi = await runNodes(url, NODES);
  const multiTrips = multi.stats.reduce((n, x) => n + x.roundTrips, 0);
  const multiWait = multi.stats.reduce((n, x) => n + x.waitMs, 0) / 1000;

  const sqlite = sqliteStore(join(dir, 'bench.db'));
  t = performance.now();
  load(sqlite, records);
  log(`  loaded into SQLite in ${seconds(t).toFixed(1)} s`);
  const sqliteSeconds = await runBatch(sqlite);
  sqlite.close();

  console.log(
    `bench pg-set-external-task-retries nodes=1 items=${N} seconds=${pgSeconds.toFixed(3)} ` +
      `items_per_s=${Math.round(N / pgSeconds)} round_trips_per_item=${(trips / N).toFixed(2)} ` +
      `db_wait_share=${(wait / pgSeconds).toFixed(2)}`,
  );
  console.log(
    `bench pg-set-external-task-retries nodes=${NODES} items=${N} seconds=${multi.seconds.toFixed(3)} ` +
      `items_per_s=${Math.round(N / multi.seconds)} round_trips_per_item=${(multiTrips / N).toFixed(2)} ` +
      `db_wait_share=${(multiWait / NODES / multi.seconds).toFixed(2)} ` +
      `max_jobs_per_step=${NODE_MAX_JOBS} jobs_per_node=${multi.stats.map((x) => x.executed).join('/')} ` +
      `idle_steps=${multi.stats.map((x) => x.idle).join('/')} conflicted=${multi.stats.reduce((n, x) => n + x.conflicted, 0)} ` +
      `speedup_over_1_node=${(pgSeconds / multi.seconds).toFixed(2)}`,
  );
  console.log(
    `bench sqlite-set-external-task-retries nodes=1 items=${N} seconds=${sqliteSeconds.toFixed(3)} ` +
      `items_per_s=${Math.round(N / sqliteSeconds)} pg_over_sqlite_seconds=${(pgSeconds / sqliteSeconds).toFixed(2)}`,
  );
} finally {
  cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
