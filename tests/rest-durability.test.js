// Durability of `rebatch serve` on the SQLite store: a retries-async batch
// over 10,000 external tasks, the server killed with SIGKILL while the
// batch's execution jobs run, started again on the same file: the batch
// finishes, every task is updated exactly once, no job is lost or left over,
// and the database passes PRAGMA integrity_check.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';

import { createEngine } from '../bindings/index.js';
import { sqliteStore } from '../bindings/sqlite-store.js';
import { parseBpmn } from '../bindings/bpmn.js';
import { externalTaskBpmn, spawnServer, until } from './support/rest-helpers.js';

const N = Number(process.env.REBATCH_DURABILITY_N ?? 10000);
const RETRIES = 7;
const dir = mkdtempSync(join(tmpdir(), 'rebatch-durability-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stderr.write(`durability: ${msg}\n`);

/** N instances of 'dur', each with one external task failed to 0 retries (an incident each). */
async function fixtures(file) {
  // Fixtures through the JS API on the same file, before the server starts
  // (synchronous OFF: 10,000 fsyncs would only slow the setup down).
  const store = sqliteStore(file, { synchronous: 'OFF' });
  const engine = await createEngine({ store });
  try {
    const { processes } = await parseBpmn(externalTaskBpmn('dur', 'dur'), { resource: 'dur.bpmn' });
    engine.createDeployment({ processes, name: 'durability' });
    for (let i = 0; i < N; i++) engine.startProcessInstanceByKey('dur', { businessKey: `b${i}` });
    engine.setExternalTaskRetriesSync({ retries: 0, externalTaskQuery: { topicName: 'dur' } });
    assert.equal(engine.getIncidentsCount().count, N);
  } finally {
    engine.close();
    store.close();
  }
  // The revision of every task record before the batch: one update each afterwards.
  const db = new Database(file, { readonly: true });
  try {
    return new Map(db.prepare("SELECT id, rev FROM records WHERE coll = 'externalTask'").all().map((r) => [r.id, r.rev]));
  } finally {
    db.close();
  }
}

test(`rebatch serve --db: kill -9 during a retries-async batch over ${N} tasks, restart: every task done exactly once`, { timeout: 120000 }, async () => {
  const file = join(dir, 'durability.db');
  const t0 = Date.now();
  const revBefore = await fixtures(file);
  assert.equal(revBefore.size, N);
  log(`fixtures ${N} tasks: ${Date.now() - t0} ms`);

  // The killed process's acquired jobs are locked for 5 minutes (Camunda's
  // lockTimeInMillis); the SQLite store, one process at a time, releases
  // them when the restarted server opens it, so the batch ends in time.
  const args = ['--db', file, '--config', '{"batchPollTime":1}'];
  const first = await spawnServer(args);
  let batch;
  let killedAt;
  try {
    const res = await first.api('POST', '/external-task/retries-async', {
      retries: RETRIES,
      externalTaskQuery: { topicName: 'dur' },
    });
    assert.equal(res.status, 200, res.text);
    batch = res.body;
    assert.equal(batch.totalJobs, N);
    // Kill once some, but not all, execution jobs have run.
    const want = Math.min(Math.max(1, Math.floor(N / 5)), N - 1);
    killedAt = await until(
      async () => {
        const [s] = (await first.api('GET', '/batch/statistics')).body;
        assert.ok(s, 'the batch is still there before the kill');
        return s.completedJobs >= want ? s : null;
      },
      { timeoutMs: 60000, intervalMs: 100, what: `${want} completed batch jobs` },
    );
    first.child.kill('SIGKILL');
  } catch (err) {
    first.child.kill('SIGKILL');
    throw err;
  }
  const killed = await first.exited;
  assert.equal(killed.signal, 'SIGKILL');
  assert.ok(killedAt.remainingJobs > 0, 'killed while the batch runs');
  log(`killed at completedJobs=${killedAt.completedJobs} jobsCreated=${killedAt.jobsCreated} remaining=${killedAt.remainingJobs}: ${Date.now() - t0} ms`);

  const second = await spawnServer(args);
  try {
    const api = second.api;
    const [s] = (await api('GET', '/batch/statistics')).body;
    assert.ok(s && s.id === batch.id, 'the batch survives the kill');
    // Nothing acknowledged before the kill is lost (synchronous FULL).
    assert.ok(s.completedJobs >= killedAt.completedJobs, `completed ${s.completedJobs} >= ${killedAt.completedJobs}`);
    assert.ok(s.jobsCreated >= killedAt.jobsCreated);
    const hist = await until(
      async () => {
        if ((await api('GET', '/batch/count')).body.count !== 0) return null;
        const h = await api('GET', `/history/batch/${batch.id}`);
        return h.status === 200 && h.body.endTime ? h.body : null;
      },
      { timeoutMs: 90000, intervalMs: 200, what: 'the batch to end after the restart' },
    );
    log(`batch ended after restart: ${Date.now() - t0} ms`);
    assert.equal(hist.totalJobs, N);
    assert.equal(hist.batchJobsPerSeed, batch.batchJobsPerSeed);
    assert.equal((await api('GET', '/history/batch/count')).body.count, 1);
    assert.equal((await api('GET', '/incident/count')).body.count, 0, 'no incident left');
    assert.equal((await api('GET', '/external-task/count')).body.count, N);
    for (const jd of [batch.seedJobDefinitionId, batch.batchJobDefinitionId, batch.monitorJobDefinitionId]) {
      assert.equal((await api('GET', `/job/count?jobDefinitionId=${jd}`)).body.count, 0, `no job left of ${jd}`);
    }
    assert.equal((await api('GET', '/job/count')).body.count, 0, 'no job left at all');
    assert.equal((await api('GET', '/job-definition')).body.length, 0, 'the batch job definitions are gone');
  } finally {
    second.child.kill('SIGTERM');
  }
  const stopped = await second.exited;
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.doesNotMatch(stopped.stderr, /job executor:/, 'no job executor errors');

  const db = new Database(file, { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const tasks = db.prepare("SELECT id, json, rev FROM records WHERE coll = 'externalTask'").all();
    assert.equal(tasks.length, N);
    let wrongRetries = 0;
    const wrongRev = [];
    for (const t of tasks) {
      if (JSON.parse(t.json).retries !== RETRIES) wrongRetries++;
      if (t.rev !== revBefore.get(t.id) + 1) wrongRev.push(`${t.id}: rev ${revBefore.get(t.id)} -> ${t.rev}`);
    }
    assert.equal(wrongRetries, 0, 'every task has the new retries');
    assert.deepEqual(wrongRev.slice(0, 10), [], `every task written exactly once (${wrongRev.length} not)`);
    const count = (coll) => db.prepare('SELECT count(*) FROM records WHERE coll = ?').pluck().get(coll);
    assert.equal(count('job'), 0);
    assert.equal(count('incident'), 0);
    assert.equal(count('batch'), 0);
    const incidents = db.prepare("SELECT json FROM records WHERE coll = 'historicIncident'").all().map((r) => JSON.parse(r.json));
    assert.equal(incidents.length, N, 'one incident per task, none reopened');
    assert.ok(incidents.every((i) => i.resolved && i.endTime), 'every incident resolved');
    // No index row without its record, none missing for a record.
    assert.equal(
      db.prepare('SELECT count(*) FROM record_index i LEFT JOIN records r ON r.coll = i.coll AND r.id = i.id WHERE r.id IS NULL').pluck().get(),
      0,
    );
  } finally {
    db.close();
  }
  log(`total ${Date.now() - t0} ms`);
});
