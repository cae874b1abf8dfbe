// pg-sync.bench.js - the two ways a synchronous store can talk to
// PostgreSQL, measured side by side (why bindings/postgres-store.js uses the
// first):
//   libpq    pg-native's querySync (libpq's blocking PQexec, in this thread)
//   worker   the pure-JS `pg` client in a worker thread; this thread posts
//            the query and blocks in Atomics.wait until the worker answers
// Each: a point SELECT by primary key, an UPDATE inside an open transaction,
// and BEGIN + UPDATE + COMMIT as three calls. Median of 5 rounds of
// BENCH_PG_SYNC_CALLS calls, on a throwaway cluster (loopback).
//
//   node tests/bench/pg-sync.bench.js          (part of npm run bench)
import { createRequire } from 'node:module';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';

import { startPgCluster } from '../support/pg-cluster.js';

const require = createRequire(import.meta.url);
const CALLS = Number(process.env.BENCH_PG_SYNC_CALLS ?? 2000);
const ROWS = 10_000;

/** Microseconds a call, median of 5 rounds. */
function measure(fn) {
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < CALLS; i++) fn(`k${(i % ROWS) + 1}`);
    rounds.push(((performance.now() - t) * 1000) / CALLS);
  }
  return rounds.sort((a, b) => a - b)[2];
}

function libpqClient(url) {
  const Native = require('pg-native');
  const client = new Native();
  client.connectSync(url);
  return { query: (sql, params) => client.querySync(sql, params), close: () => client.end() };
}

// The worker answers through a MessagePort read with receiveMessageOnPort
// (no event loop turn needed here) and wakes this thread with Atomics.notify.
const WORKER = `
const { workerData } = require('node:worker_threads');
const { Client } = require(workerData.pg);
const flag = new Int32Array(workerData.flag);
const port = workerData.port;
const wake = () => { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); };
const client = new Client({ connectionString: workerData.url });
client.connect().then(() => {
  port.on('message', async ({ sql, params }) => {
    let answer;
    try { answer = { rows: (await client.query(sql, params)).rows }; } catch (err) { answer = { error: err.message }; }
    port.postMessage(answer);
    wake();
  });
  port.postMessage({ ready: true });
  wake();
}, (err) => { port.postMessage({ error: err.message }); wake(); });
`;

function workerClient(url) {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { pg: require.resolve('pg'), url, flag: flag.buffer, port: port2 },
    transferList: [port2],
  });
  const wait = () => {
    Atomics.wait(flag, 0, 0);
    Atomics.store(flag, 0, 0);
    const { message } = receiveMessageOnPort(port1);
    if (message.error) throw new Error(message.error);
    return message;
  };
  wait();
  return {
    query(sql, params) {
      port1.postMessage({ sql, params });
      return wait().rows;
    },
    close: () => worker.terminate(),
  };
}

const cluster = await startPgCluster();
try {
  const setup = libpqClient(cluster.url);
  setup.query('CREATE TABLE t (id TEXT PRIMARY KEY, json TEXT, rev INTEGER)');
  setup.query(`INSERT INTO t SELECT 'k' || g, '{}', 1 FROM generate_series(1, ${ROWS}) g`);
  setup.close();
  for (const [name, open] of [['libpq', libpqClient], ['worker', workerClient]]) {
    const c = open(cluster.url);
    const select = measure((id) => c.query('SELECT json, rev FROM t WHERE id = $1', [id]));
    c.query('BEGIN');
    const update = measure((id) => c.query('UPDATE t SET rev = rev + 1 WHERE id = $1', [id]));
    c.query('COMMIT');
    const tx = measure((id) => {
      c.query('BEGIN');
      c.query('UPDATE t SET rev = rev + 1 WHERE id = $1', [id]);
      c.query('COMMIT');
    });
    await c.close();
    console.log(
      `bench pg-sync client=${name} select_us=${select.toFixed(0)} update_in_tx_us=${update.toFixed(0)} ` +
        `begin_update_commit_us=${tx.toFixed(0)}`,
    );
  }
} finally {
  cluster.stop();
}
