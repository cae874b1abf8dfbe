// SQLite layout benchmark (not a test): how the SQLite store's page size and
// table layout were chosen. Raw better-sqlite3, the store's settings (WAL,
// synchronous=FULL), a write pattern shaped like a batch's: per item one
// record inserted (~1 KB, 3 index rows), one updated (~2 KB, its index rows
// unchanged), one log record inserted (~0.8 KB, 2 index rows) and one record
// removed; 50 items per transaction (the executor's jobsPerTransaction),
// over a file that already holds N records. Ids are time-ordered, as the
// engine's default ids.
//
//   node tests/bench/sqlite-layout.bench.js     BENCH_N=20000 (default)
//
// Prints one line per layout, the median of 3 interleaved rounds: seconds,
// items_per_s, wal_mb (bytes written to the WAL, checkpointed every 20
// transactions), db_mb (file size after the last checkpoint).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const N = Number(process.env.BENCH_N ?? 20_000);
const PER_TX = 50;
const dir = mkdtempSync(join(tmpdir(), 'rebatch-sqlite-layout-'));

const INDEX = 'CREATE TABLE record_index (coll TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (coll, field, value, id)) WITHOUT ROWID;';
const LAYOUTS = {
  'without-rowid': `CREATE TABLE records (coll TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, rev INTEGER NOT NULL, idx TEXT, PRIMARY KEY (coll, id)) WITHOUT ROWID; ${INDEX}`,
  rowid: `CREATE TABLE records (coll TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, rev INTEGER NOT NULL, idx TEXT, UNIQUE (coll, id)); ${INDEX}`,
};

let seq = 0;
const nextId = () => `${(1_700_000_000_000 + seq++).toString(16).padStart(12, '0')}-7000-8000-${Math.random().toString(16).slice(2, 14)}`;
const text = (bytes) => JSON.stringify({ pad: 'x'.repeat(bytes) });

function run(layout, pageSize) {
  const file = join(dir, `${layout}-${pageSize}.db`);
  const db = new Database(file);
  db.pragma(`page_size = ${pageSize}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('wal_autocheckpoint = 0'); // checkpoints below, every 20 transactions, counting the WAL's frames
  db.exec(LAYOUTS[layout]);
  const ins = db.prepare('INSERT INTO records (coll, id, json, rev, idx) VALUES (?, ?, ?, 1, ?)');
  const upd = db.prepare('UPDATE records SET json = ?, rev = rev + 1 WHERE coll = ? AND id = ?');
  const del = db.prepare('DELETE FROM records WHERE coll = ? AND id = ?');
  const addIdx = db.prepare('INSERT INTO record_index (coll, field, value, id) VALUES (?, ?, ?, ?)');
  const delIdx = db.prepare('DELETE FROM record_index WHERE coll = ? AND field = ? AND value = ? AND id = ?');
  const existing = [];
  db.transaction(() => {
    for (let i = 0; i < N; i++) {
      const id = nextId();
      existing.push(id);
      ins.run('task', id, text(1800), null);
      addIdx.run('task', 'topicName', 'work', id);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  let frames = 0;
  const checkpoint = () => {
    frames += db.pragma('wal_checkpoint(PASSIVE)')[0].log; // TRUNCATE reports 0 frames
    db.pragma('wal_checkpoint(TRUNCATE)');
  };
  const t = performance.now();
  for (let i = 0, tx = 0; i < N; i += PER_TX, tx++) {
    if (tx % 20 === 19) checkpoint();
    db.exec('BEGIN');
    const pending = [];
    for (let j = i; j < Math.min(N, i + PER_TX); j++) {
      const job = nextId();
      ins.run('job', job, text(1000), null);
      addIdx.run('job', 'processInstanceId', job, job);
      addIdx.run('job', 'jobDefinitionId', 'def', job);
      addIdx.run('job', 'acquirable', '0000000000000000', job);
      pending.push(job);
      upd.run(text(2000), 'task', existing[j]);
      const log = nextId();
      ins.run('jobLog', log, text(800), null);
      addIdx.run('jobLog', 'jobId', job, log);
      addIdx.run('jobLog', 'processInstanceId', job, log);
    }
    for (const job of pending) {
      del.run('job', job);
      delIdx.run('job', 'processInstanceId', job, job);
      delIdx.run('job', 'jobDefinitionId', 'def', job);
      delIdx.run('job', 'acquirable', '0000000000000000', job);
    }
    db.exec('COMMIT');
  }
  checkpoint();
  const seconds = (performance.now() - t) / 1000;
  db.close();
  const dbMb = statSync(file).size / 1e6;
  rmSync(file);
  return { seconds, walMb: (frames * (pageSize + 24)) / 1e6, dbMb };
}

const ROUNDS = 3;
try {
  const configs = [];
  for (const layout of Object.keys(LAYOUTS)) for (const pageSize of [4096, 8192, 16384]) configs.push({ layout, pageSize, runs: [] });
  // rounds interleave the layouts, so the machine's other load falls on all of them alike
  for (let r = 0; r < ROUNDS; r++) for (const c of configs) c.runs.push(run(c.layout, c.pageSize));
  for (const { layout, pageSize, runs } of configs) {
    const mid = runs.sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
    console.log(`bench sqlite-layout layout=${layout} page_size=${pageSize} items=${N} median_seconds=${mid.seconds.toFixed(2)} ` +
      `items_per_s=${Math.round(N / mid.seconds)} wal_mb=${mid.walMb.toFixed(1)} db_mb=${mid.dbMb.toFixed(1)} rounds=${ROUNDS}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
