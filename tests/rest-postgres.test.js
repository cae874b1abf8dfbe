// The REST server on PostgreSQL (a throwaway cluster, tests/support/pg-cluster.js):
// REST suites rerun on the PostgreSQL store, and two `rebatch serve`
// processes on one database.
//
// The suites rerun here were chosen for what they reach in the store
// (checked with --experimental-test-coverage): gets in and out of
// transactions and of buffered records; inserts, updates and removes
// buffered until the commit, and those sent at once because the
// transaction never read the record (the job executor's acquired jobs);
// finds and scans that flush buffered writes first; transactions big enough
// to flush in several statements (deployments); rollbacks of operations that
// failed halfway (errors, variables). What they do not reach, conflicts,
// failed commits and removes of records written in the same transaction,
// postgres-store.test.js and the two-node test below cover.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';

import { deploy, externalTaskBpmn, spawnServer, until } from './support/rest-helpers.js';
import { startPgCluster } from './support/pg-cluster.js';

const SUITES = [
  'rest-flow', 'rest-external-task-lock', 'rest-errors', 'rest-variables',
  'rest-bpmn-error', 'rest-deployment', 'rest-openapi', 'rest-client',
].map((name) => new URL(`./${name}.test.js`, import.meta.url).pathname);

let cluster;
before(async () => {
  cluster = await startPgCluster();
});
after(() => cluster?.stop());

/** A libpq connection for SQL the test runs itself. */
function connect(url) {
  const PQ = createRequire(import.meta.url)('libpq');
  const pq = new PQ();
  pq.connectSync(url);
  const sql = (text) => {
    pq.exec(text);
    const status = pq.resultStatus();
    if (status !== 'PGRES_TUPLES_OK' && status !== 'PGRES_COMMAND_OK') throw new Error(pq.resultErrorMessage());
    const rows = [];
    for (let i = 0; i < pq.ntuples(); i++) rows.push(pq.getvalue(i, 0));
    return rows;
  };
  return {
    sql,
    close() {
      pq.finish();
      setImmediate(() => setImmediate(() => void pq)); // see PostgresStore#close
    },
  };
}

function withoutTestContext(env) {
  const copy = { ...env };
  delete copy.NODE_TEST_CONTEXT;
  return copy;
}

test('REST suites pass on the PostgreSQL store', async () => {
  const admin = connect(cluster.url);
  const before = Number(admin.sql('SELECT count(*) FROM pg_database')[0]);
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=dot', ...SUITES], {
    // NODE_TEST_CONTEXT (set for this file by the outer runner) would make
    // the inner runner report to us instead of running the suites
    env: { ...withoutTestContext(process.env), REBATCH_TEST_PG: cluster.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  const created = Number(admin.sql('SELECT count(*) FROM pg_database')[0]) - before;
  admin.close();
  assert.equal(code, 0, out);
  assert.ok(created >= SUITES.length, `every suite ran on a database of its own (${created} created)`);
});

test('two rebatch serve processes on one database: the second writer of a record gets the optimistic-locking error, nothing is lost', async () => {
  const url = cluster.createDatabase('two_nodes');
  const a = await spawnServer(['--db', url, '--no-job-executor']);
  const b = await spawnServer(['--db', url, '--no-job-executor']);
  const lock = connect(url);
  try {
    assert.equal((await deploy(a.api, { 'x.bpmn': externalTaskBpmn('x', 'x') })).status, 200);
    const pi = (await b.api('POST', '/process-definition/key/x/start', {})).body;
    const [task] = (await a.api('GET', `/external-task?processInstanceId=${pi.id}`)).body;
    assert.ok(task, 'node A sees what node B started');

    // Both nodes read the task, then wait to write it: a third session
    // holds its row. Released, one write lands, the other's revision check
    // fails.
    const where = `coll = 'externalTask' AND id = '${task.id}'`;
    const [rev] = lock.sql(`SELECT rev FROM rebatch_records WHERE ${where}`);
    lock.sql(`BEGIN; SELECT 1 FROM rebatch_records WHERE ${where} FOR UPDATE`);
    const puts = [a, b].map((node, i) => node.api('PUT', `/external-task/${task.id}/retries`, { retries: 10 + i }));
    await until(() => Number(lock.sql(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'`)[0]) === 2, {
      what: 'both nodes waiting on the row',
    });
    lock.sql('COMMIT');
    const answers = await Promise.all(puts);
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [204, 500], answers.map((r) => r.text).join(' '));
    const lost = answers.find((r) => r.status === 500);
    assert.equal(lost.body.type, 'OptimisticLockingException');
    assert.equal(lost.body.code, 1);
    assert.match(lost.body.message, new RegExp(`externalTask ${task.id}`));
    const won = answers.findIndex((r) => r.status === 204);
    assert.equal(Number(lock.sql(`SELECT rev FROM rebatch_records WHERE ${where}`)[0]), Number(rev) + 1);
    for (const node of [a, b]) {
      assert.equal((await node.api('GET', `/external-task/${task.id}`)).body.retries, 10 + won);
    }
    // the loser tries again on fresh data
    const loser = [a, b][1 - won];
    assert.equal((await loser.api('PUT', `/external-task/${task.id}/retries`, { retries: 20 })).status, 204);
    assert.equal((await [a, b][won].api('GET', `/external-task/${task.id}`)).body.retries, 20);
  } finally {
    lock.close();
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
  }
  for (const node of [a, b]) assert.equal((await node.exited).code, 0);
});

test('rebatch serve --db postgres://: the job executor runs a batch, and a restart keeps the data', async () => {
  const url = cluster.createDatabase('serve_batch');
  const first = await spawnServer(['--db', url, '--config', '{"batchPollTime":0}']);
  let batchId;
  try {
    assert.equal((await deploy(first.api, { 'b.bpmn': externalTaskBpmn('b', 'b') })).status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await first.api('POST', '/process-definition/key/b/start', {})).status, 200);
    const batch = await first.api('POST', '/external-task/retries-async', { retries: 4, externalTaskQuery: { topicName: 'b' } });
    assert.equal(batch.status, 200, batch.text);
    batchId = batch.body.id;
    await until(async () => (await first.api('GET', '/batch/count')).body.count === 0, { timeoutMs: 20000, what: 'the batch to end' });
  } finally {
    first.child.kill('SIGTERM');
  }
  assert.equal((await first.exited).code, 0);
  const second = await spawnServer(['--db', url, '--no-job-executor']);
  try {
    const tasks = (await second.api('GET', '/external-task?topicName=b')).body;
    assert.deepEqual(tasks.map((t) => t.retries), [4, 4, 4, 4, 4]);
    const hist = await second.api('GET', `/history/batch/${batchId}`);
    assert.equal(hist.status, 200);
    assert.ok(hist.body.endTime, 'the batch ended');
  } finally {
    second.child.kill('SIGTERM');
  }
  assert.equal((await second.exited).code, 0);
});

test('three rebatch serve processes on one database run one retries batch, one killed -9 halfway: every item applied exactly once', { timeout: 180000 }, async () => {
  const N = Number(process.env.REBATCH_PG_NODES_N ?? 2000);
  const url = cluster.createDatabase('three_nodes');
  // fixtures through the JS API, before the servers start
  const { createEngine } = await import('../bindings/index.js');
  const { postgresStore } = await import('../bindings/postgres-store.js');
  const { parseBpmn } = await import('../bindings/bpmn.js');
  const store = postgresStore(url);
  const engine = await createEngine({ store });
  const { processes } = await parseBpmn(externalTaskBpmn('many', 'many'), { resource: 'many.bpmn' });
  engine.createDeployment({ processes, name: 'many' });
  for (let i = 0; i < N; i++) engine.startProcessInstanceByKey('many', {});
  engine.close();
  store.close();
  const db = connect(url);
  const revs = () => new Map(db.sql(
    "SELECT concat_ws(' ', id, rev, coalesce(json::json->>'retries', 'null')) FROM rebatch_records WHERE coll = 'externalTask'",
  ).map((line) => {
    const [id, rev, retries] = line.split(' ');
    return [id, { rev: Number(rev), retries }];
  }));
  const before = revs();
  assert.equal(before.size, N);

  // The killed node's jobs stay locked for lockTimeInMillis: 5 s here.
  const args = ['--db', url, '--config', '{"batchPollTime":0,"jobExecutor":{"lockTimeInMillis":5000}}'];
  const nodes = [];
  try {
    for (let i = 0; i < 3; i++) nodes.push(await spawnServer(args));
    const batch = await nodes[0].api('POST', '/external-task/retries-async', { retries: 9, externalTaskQuery: { topicName: 'many' } });
    assert.equal(batch.status, 200, batch.text);
    // a write request wakes a node's idle job executor: all three work at once
    for (const [i, node] of nodes.entries()) {
      assert.equal((await deploy(node.api, { [`wake${i}.bpmn`]: externalTaskBpmn(`wake${i}`, 'wake') })).status, 200);
    }
    // kill -9 one node while the batch runs: the others finish it
    await until(async () => {
      const [s] = (await nodes[1].api('GET', '/batch/statistics')).body;
      return s && s.completedJobs > N / 4;
    }, { timeoutMs: 60000, intervalMs: 50, what: 'a quarter of the batch' });
    nodes[2].child.kill('SIGKILL');
    const killed = await nodes[2].exited;
    assert.equal(killed.signal, 'SIGKILL');
    const [mid] = (await nodes[1].api('GET', '/batch/statistics')).body;
    assert.ok(mid && mid.remainingJobs > 0, 'killed while the batch runs');
    await until(async () => (await nodes[1].api('GET', '/batch/count')).body.count === 0, {
      timeoutMs: 150000, intervalMs: 250, what: 'the batch to end',
    });
    const after = revs();
    for (const [id, { rev }] of before) {
      assert.deepEqual(after.get(id), { rev: rev + 1, retries: '9' }, `task ${id} updated exactly once`);
    }
    assert.equal((await nodes[0].api('GET', '/job/count')).body.count, 0, 'no job left over');
    const logs = db.sql(`SELECT json::json->>'jobId' FROM rebatch_records WHERE coll = 'historicJobLog' AND json::json->>'k' = 's' AND json::json->>'dt' = 'set-external-task-retries'`); // success entries (src/job_log.c's compact keys)
    assert.equal(logs.length, N, 'one execution job succeeded per item');
    assert.equal(new Set(logs).size, N, 'and each once');
  } finally {
    db.close();
    for (const node of nodes) node.child.kill('SIGTERM');
  }
  for (const node of nodes.slice(0, 2)) {
    const { code, stderr } = await node.exited;
    assert.equal(code, 0, stderr);
  }
});
