// The real Camunda worker client (camunda-external-task-client-js) against
// `rebatch serve`'s REST shim: it fails tasks down to 0 retries (incidents),
// PUT /external-task/retries and a retries-async batch bring them back, the
// worker completes them and the instances end.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Client } from 'camunda-external-task-client-js';

import { deploy, externalTaskBpmn, startServer, until } from './support/rest-helpers.js';

let srv;
before(async () => {
  srv = await startServer({ jobExecutor: { waitMs: 10, maxWaitMs: 50 }, config: { batchPollTime: 0 } });
});
after(() => srv.close());

test('camunda-external-task-client-js: failures to incidents, retries back, completion', async () => {
  assert.equal((await deploy(srv.api, { 'pay.bpmn': externalTaskBpmn('pay', 'pay') })).status, 200);
  for (let i = 0; i < 3; i++) {
    assert.equal((await srv.api('POST', '/process-definition/key/pay/start', { businessKey: `p${i}` })).status, 200);
  }
  let failing = true;
  const seen = { failed: 0, completed: 0 };
  const client = new Client({
    baseUrl: srv.base,
    workerId: 'real-client',
    interval: 20,
    asyncResponseTimeout: 200,
    lockDuration: 10000,
    autoPoll: false,
  });
  const errors = [];
  for (const event of ['poll:error', 'handleFailure:error', 'complete:error']) {
    client.on(event, (...args) => errors.push(`${event}: ${args.map((a) => a?.message ?? JSON.stringify(a)).join(' ')}`));
  }
  client.subscribe('pay', async ({ task, taskService }) => {
    if (failing) {
      await taskService.handleFailure(task, { errorMessage: 'bank down', errorDetails: 'stack', retries: 0, retryTimeout: 0 });
      seen.failed++;
    } else {
      await taskService.complete(task);
      seen.completed++;
    }
  });
  client.start();
  try {
    const count = async (path) => (await srv.api('GET', path)).body.count;
    await until(async () => (await count('/incident/count')) === 3, { what: 'three incidents' });
    assert.equal(seen.failed, 3);
    failing = false;
    const tasks = (await srv.api('GET', '/external-task?topicName=pay')).body;
    assert.equal(tasks.length, 3);
    assert.ok(tasks.every((t) => t.retries === 0 && t.errorMessage === 'bank down'));
    const put = await srv.api('PUT', '/external-task/retries', { externalTaskIds: [tasks[0].id], retries: 1 });
    assert.equal(put.status, 204, put.text);
    const batch = await srv.api('POST', '/external-task/retries-async', {
      externalTaskIds: tasks.slice(1).map((t) => t.id),
      retries: 2,
    });
    assert.equal(batch.status, 200, batch.text);
    await until(async () => (await count('/process-instance/count')) === 0, { what: 'the instances to end' });
    assert.equal(seen.completed, 3);
    const left = (await srv.api('GET', '/incident')).body;
    assert.deepEqual(left, []);
    assert.deepEqual(errors, []);
  } finally {
    client.stop();
  }
});
