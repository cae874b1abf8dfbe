// The REST shim end to end on the memory store: deploy BPMN over multipart,
// start, fetch and fail external tasks into incidents, bring them back with
// PUT /external-task/retries and a retries-async batch, complete them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { deploy, externalTaskBpmn, startServer, until } from './support/rest-helpers.js';

let srv;
before(async () => {
  srv = await startServer({ jobExecutor: { waitMs: 10, maxWaitMs: 50 }, config: { batchPollTime: 0 } });
});
after(() => srv.close());

const count = async (path) => (await srv.api('GET', path)).body.count;

test('GET /engine and /version', async () => {
  assert.deepEqual((await srv.api('GET', '/engine')).body, [{ name: 'default' }]);
  const v = await srv.api('GET', '/version');
  assert.equal(v.status, 200);
  assert.match(v.body.version, /^7\.\d+\.\d+$/);
});

test('deploy, fail to 0 retries, incidents, bring back by PUT and by a batch, complete', async () => {
  const xml = externalTaskBpmn('charge', 'charge', { asyncBefore: true });
  const d = await deploy(srv.api, { 'charge.bpmn': xml }, { name: 'charging', source: 'rest-test' });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.name, 'charging');
  assert.equal(d.body.source, 'rest-test');
  assert.equal(d.body.links[0].rel, 'self');
  assert.match(d.body.links[0].href, new RegExp(`/engine-rest/deployment/${d.body.id}$`));
  const [def] = Object.values(d.body.deployedProcessDefinitions);
  assert.equal(def.key, 'charge');
  assert.equal(def.resource, 'charge.bpmn');

  const byId = await srv.api('GET', `/process-definition/${encodeURIComponent(def.id)}`);
  assert.equal(byId.body.id, def.id);
  assert.equal((await srv.api('GET', '/process-definition/key/charge')).body.id, def.id);
  assert.equal((await srv.api('GET', '/deployment')).body.some((x) => x.id === d.body.id), true);

  const started = [];
  for (let i = 0; i < 3; i++) {
    const r = await srv.api('POST', '/process-definition/key/charge/start', { businessKey: `order-${i}` });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.links[0].href.endsWith(`/process-instance/${r.body.id}`), true);
    started.push(r.body.id);
  }
  const byDefId = await srv.api('POST', `/process-definition/${encodeURIComponent(def.id)}/start`, {});
  assert.equal(byDefId.status, 200, byDefId.text);
  await srv.api('DELETE', `/process-instance/${byDefId.body.id}`);
  assert.equal((await srv.api('GET', `/process-instance/${byDefId.body.id}`)).status, 404);

  // The job executor runs the asyncBefore jobs: three external tasks appear.
  await until(async () => (await count('/external-task/count?topicName=charge')) === 3, { what: 'external tasks' });
  assert.equal(await count('/job/count'), 0);
  assert.equal(srv.rest.executor.stats.executed >= 3, true);

  const locked = await srv.api('POST', '/external-task/fetchAndLock', {
    workerId: 'w1',
    maxTasks: 10,
    topics: [{ topicName: 'charge', lockDuration: 60000 }],
  });
  assert.equal(locked.status, 200, locked.text);
  assert.equal(locked.body.length, 3);
  const ids = locked.body.map((t) => t.id);

  const extend = await srv.api('POST', `/external-task/${ids[0]}/extendLock`, { workerId: 'w1', newDuration: 120000 });
  assert.equal(extend.status, 204, extend.text);

  for (const id of ids) {
    const f = await srv.api('POST', `/external-task/${id}/failure`, {
      workerId: 'w1',
      errorMessage: 'card declined',
      retries: 0,
      retryTimeout: 0,
    });
    assert.equal(f.status, 204, f.text);
  }
  const incidents = await srv.api('GET', '/incident');
  assert.equal(incidents.body.length, 3);
  assert.equal(incidents.body[0].incidentType, 'failedExternalTask');
  assert.equal(await count('/incident/count'), 3);

  // One back by the synchronous endpoint, two by a batch.
  const put = await srv.api('PUT', '/external-task/retries', { externalTaskIds: [ids[0]], retries: 2 });
  assert.equal(put.status, 204, put.text);
  assert.equal(await count('/incident/count'), 2);

  const batch = await srv.api('POST', '/external-task/retries-async', { externalTaskIds: ids.slice(1), retries: 1 });
  assert.equal(batch.status, 200, batch.text);
  assert.equal(batch.body.type, 'set-external-task-retries');
  assert.equal(batch.body.totalJobs, 2);

  const stats = await srv.api('GET', '/batch/statistics/');
  assert.equal(stats.status, 200, stats.text);
  assert.ok(Array.isArray(stats.body));

  await until(async () => (await count('/incident/count')) === 0, { what: 'the batch to clear the incidents' });
  await until(async () => (await count('/batch/count')) === 0, { what: 'the batch to finish' });
  const hist = await srv.api('GET', `/history/batch/${batch.body.id}`);
  assert.equal(hist.status, 200, hist.text);
  assert.notEqual(hist.body.endTime, null);

  // The worker completes them all; the instances end.
  const again = await srv.api('POST', '/external-task/fetchAndLock', {
    workerId: 'w2',
    maxTasks: 10,
    topics: [{ topicName: 'charge', lockDuration: 60000 }],
  });
  assert.equal(again.body.length, 3, again.text);
  for (const t of again.body) {
    const c = await srv.api('POST', `/external-task/${t.id}/complete`, { workerId: 'w2' });
    assert.equal(c.status, 204, c.text);
  }
  assert.equal(await count('/process-instance/count'), 0);
  const history = await srv.api('POST', '/history/process-instance', { finished: true });
  assert.equal(history.status, 200, history.text);
  assert.equal(history.body.filter((h) => started.includes(h.id)).length, 3);
});

test('fetchAndLock long-polls with asyncResponseTimeout until a task appears', async () => {
  await deploy(srv.api, { 'poll.bpmn': externalTaskBpmn('poll', 'poll') });
  const t0 = Date.now();
  const empty = await srv.api('POST', '/external-task/fetchAndLock', {
    workerId: 'w',
    maxTasks: 1,
    asyncResponseTimeout: 150,
    topics: [{ topicName: 'poll', lockDuration: 1000 }],
  });
  assert.deepEqual(empty.body, []);
  assert.ok(Date.now() - t0 >= 140);
  const pending = srv.api('POST', '/external-task/fetchAndLock', {
    workerId: 'w',
    maxTasks: 1,
    asyncResponseTimeout: 5000,
    topics: [{ topicName: 'poll', lockDuration: 1000 }],
  });
  await new Promise((r) => setTimeout(r, 50));
  await srv.api('POST', '/process-definition/key/poll/start', {});
  const got = await pending;
  assert.equal(got.body.length, 1, got.text);
  const tooLong = await srv.api('POST', '/external-task/fetchAndLock', {
    workerId: 'w',
    maxTasks: 1,
    asyncResponseTimeout: 1800001,
    topics: [{ topicName: 'poll', lockDuration: 1000 }],
  });
  assert.equal(tooLong.status, 400);
  assert.equal(tooLong.body.type, 'InvalidRequestException');
});
