// Durability of group commit on the SQLite store: a job executor running
// jobs in groups (one transaction, a savepoint per job) is killed with
// SIGKILL inside a group, after some of its jobs released their savepoints
// and before the group commits. Nothing of that group is on disk (its jobs
// are still there), nothing committed before is lost, and `rebatch serve`
// on the same file then applies every item exactly once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';

import { createEngine } from '../bindings/index.js';
import { sqliteStore } from '../bindings/sqlite-store.js';
import { parseBpmn } from '../bindings/bpmn.js';
import { externalTaskBpmn, spawnServer, until } from './support/rest-helpers.js';

const N = 300;
const RETRIES = 6;
const KILL_AT_SAVEPOINT = 25;
const dir = mkdtempSync(join(tmpdir(), 'rebatch-group-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A process that runs the job executor over the file and SIGKILLs itself at a savepoint. */
const KILLER = `
const [file, killAt] = process.argv.slice(1);
const { createEngine } = await import(${JSON.stringify(new URL('../bindings/index.js', import.meta.url).href)});
const { sqliteStore } = await import(${JSON.stringify(new URL('../bindings/sqlite-store.js', import.meta.url).href)});
const { JobExecutor } = await import(${JSON.stringify(new URL('../bindings/executor.js', import.meta.url).href)});
const store = sqliteStore(file);
let savepoints = 0;
const savepoint = store.savepoint.bind(store);
store.savepoint = () => {
  if (++savepoints === Number(killAt)) process.kill(process.pid, 'SIGKILL');
  savepoint();
};
const engine = await createEngine({ store });
// the jobs it acquired stay locked for a second after it died
new JobExecutor(engine, { maxJobsPerStep: 100, jobsPerTransaction: 10, lockTimeInMillis: 1000 }).start();
`;

function stateOf(file) {
  const db = new Database(file, { readonly: true });
  try {
    const rows = (coll) => db.prepare('SELECT id, json, rev FROM records WHERE coll = ?').all(coll);
    const tasks = rows('externalTask');
    const jobs = rows('job').map((r) => JSON.parse(r.json));
    const chunks = rows('batchChunk').map((r) => JSON.parse(r.json));
    return {
      tasks: new Map(tasks.map((t) => [t.id, { rev: t.rev, retries: JSON.parse(t.json).retries }])),
      pendingItems: jobs.reduce((n, j) => n + (j.batchItems?.length ?? 0), 0) + chunks.reduce((n, c) => n + c.ids.length, 0),
    };
  } finally {
    db.close();
  }
}

test('SIGKILL inside a group commit: the group is lost whole and runs again; every item applied exactly once', { timeout: 60000 }, async () => {
  const file = join(dir, 'group.db');
  const store = sqliteStore(file, { synchronous: 'OFF' });
  const engine = await createEngine({ store });
  let batch;
  try {
    const { processes } = await parseBpmn(externalTaskBpmn('grp', 'grp'), { resource: 'grp.bpmn' });
    engine.createDeployment({ processes, name: 'group' });
    for (let i = 0; i < N; i++) engine.startProcessInstanceByKey('grp', {});
    batch = engine.setExternalTaskRetriesAsync({ retries: RETRIES, externalTaskQuery: { topicName: 'grp' } });
  } finally {
    engine.close();
    store.close();
  }
  const before = stateOf(file);
  assert.equal(before.pendingItems, N);

  const child = spawn(process.execPath, ['--input-type=module', '-e', KILLER, file, String(KILL_AT_SAVEPOINT)], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exit = await new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  assert.equal(exit.signal, 'SIGKILL', 'killed at its savepoint');

  const killed = stateOf(file);
  const done = [...killed.tasks.values()].filter((t) => t.retries === RETRIES).length;
  // Savepoint 1 is the seed job's (a step with one due job); the next step
  // runs execution jobs in groups of ten (savepoints 2-11, 12-21): two
  // groups committed, the third, killed at its fourth job, is not on disk.
  assert.equal(done, 20);
  assert.equal(done + killed.pendingItems, N, 'every item either applied or still pending, never both');
  for (const [id, t] of killed.tasks) assert.equal(t.rev, before.tasks.get(id).rev + (t.retries === RETRIES ? 1 : 0));

  const srv = await spawnServer(['--db', file, '--config', '{"batchPollTime":1}', '--no-web']);
  try {
    await until(async () => (await srv.api('GET', `/history/batch/${batch.id}`)).body?.endTime, { timeoutMs: 30000, what: 'the batch to end' });
  } finally {
    srv.child.kill('SIGTERM');
  }
  assert.equal((await srv.exited).code, 0);
  const end = stateOf(file);
  assert.equal(end.pendingItems, 0);
  for (const [id, t] of end.tasks) {
    assert.equal(t.retries, RETRIES);
    assert.equal(t.rev, before.tasks.get(id).rev + 1, `task ${id} written exactly once`);
  }
});
