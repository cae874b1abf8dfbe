// POST /external-task/{id}/lock over HTTP (each response validated by the
// client helper: the 7.15 OpenAPI lacks this 7.20 path, so its 204 is an
// override in tests/support/openapi.js) and through the real worker
// client's taskService.lock.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Client } from 'camunda-external-task-client-js';

import { deploy, externalTaskBpmn, startServer, until } from './support/rest-helpers.js';

let srv;
before(async () => {
  srv = await startServer();
  assert.equal((await deploy(srv.api, { 'lockme.bpmn': externalTaskBpmn('lockme', 'lockme') })).status, 200);
});
after(() => srv.close());

test('POST /external-task/{id}/lock: 204, then another worker gets Camunda\'s 400; 404 and 500 as upstream', async () => {
  await srv.api('POST', '/process-definition/key/lockme/start', {});
  const [task] = (await srv.api('GET', '/external-task?topicName=lockme')).body;
  let r = await srv.api('POST', `/external-task/${task.id}/lock`, { workerId: 'a', lockDuration: 60000 });
  assert.equal(r.status, 204, r.text);
  assert.equal(r.text, '');
  const locked = (await srv.api('GET', `/external-task/${task.id}`)).body;
  assert.equal(locked.workerId, 'a');
  const ahead = Date.parse(locked.lockExpirationTime.replace(/(\d\d)(\d\d)$/, '$1:$2')) - Date.now();
  assert.ok(ahead > 50000 && ahead <= 60000, `lock expires in about a minute (${ahead} ms)`);
  const cases = [
    [`/external-task/${task.id}/lock`, { workerId: 'b', lockDuration: 1000 }, 400, 'RestException',
      `External Task ${task.id} cannot be locked by worker 'b'. It is locked by worker 'a'.`],
    ['/external-task/nope/lock', { workerId: 'a', lockDuration: 1000 }, 404, 'RestException', 'External task with id nope does not exist'],
    [`/external-task/${task.id}/lock`, { lockDuration: 1000 }, 500, 'NullValueException', 'workerId is null'],
    [`/external-task/${task.id}/lock`, { workerId: 'a' }, 400, 'RestException', 'lockDuration is not greater than 0'],
  ];
  for (const [path, body, status, type, message] of cases) {
    r = await srv.api('POST', path, body);
    assert.deepEqual({ status: r.status, type: r.body.type, message: r.body.message }, { status, type, message });
  }
  assert.equal((await srv.api('GET', `/external-task/${task.id}`)).body.workerId, 'a');
  await srv.api('POST', `/external-task/${task.id}/unlock`);
});

test('camunda-external-task-client-js: taskService.lock locks a task by id for the client\'s worker', async () => {
  const { body: { id: pi } } = await srv.api('POST', '/process-definition/key/lockme/start', {});
  const [task] = (await srv.api('GET', `/external-task?processInstanceId=${pi}`)).body;
  const client = new Client({ baseUrl: srv.base, workerId: 'real', autoPoll: false });
  const errors = [];
  client.on('lock:error', (_task, e) => errors.push(e?.message ?? String(e)));
  await client.taskService.lock(task.id, 30000);
  assert.equal((await srv.api('GET', `/external-task/${task.id}`)).body.workerId, 'real');
  // a second client cannot take it; the real client reports Camunda's message
  const other = new Client({ baseUrl: srv.base, workerId: 'other', autoPoll: false });
  other.on('lock:error', (_task, e) => errors.push(e?.message ?? String(e)));
  await assert.rejects(other.taskService.lock(task.id, 30000));
  await until(async () => errors.length === 1, { what: 'the lock error' });
  assert.match(errors[0], /cannot be locked by worker 'other'\. It is locked by worker 'real'\./);
  await client.taskService.complete(task);
  assert.equal((await srv.api('GET', `/history/process-instance/${pi}`)).body.state, 'COMPLETED');
});
