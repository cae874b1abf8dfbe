// Error type, code and order of checks as upstream's resources and commands
// give them: an exception the resource rethrows without its cause has no
// code (ExceptionHandlerHelper.provideExceptionCode), one it wraps keeps
// the engine exception's code, and commands validate input before lookup.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { deploy, externalTaskBpmn, startServer } from './support/rest-helpers.js';

let srv;
before(async () => {
  srv = await startServer();
});
after(() => srv.close());

async function expectError(method, path, body, status, expected) {
  const r = await srv.api(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  assert.deepEqual(r.body, expected, `${method} ${path}`);
}

async function oneTask() {
  const key = `ec${Math.random().toString(36).slice(2, 8)}`;
  assert.equal((await deploy(srv.api, { 'ec.bpmn': externalTaskBpmn(key, key) })).status, 200);
  const pi = (await srv.api('POST', `/process-definition/key/${key}/start`, {})).body;
  return (await srv.api('GET', `/external-task?processInstanceId=${pi.id}`)).body[0];
}

test('PUT /job/{id}/retries: ENGINE-13054 and ENGINE-13053 are rethrown without their cause, so code is null', async () => {
  await expectError('PUT', '/job/nope/retries', { retries: -1 }, 500, {
    type: 'InvalidRequestException', code: null,
    message: "ENGINE-13054 The number of job retries must be a non-negative Integer, but '-1' has been provided.",
  });
  await expectError('PUT', '/job/nope/retries', { retries: 1 }, 500, {
    type: 'InvalidRequestException', code: null, message: "ENGINE-13053 No job found with id 'nope'.'",
  });
});

test('GET /external-task/{id}: the resource\'s own 404 has no code; the task commands\' 404 wraps NotFoundException (code 0)', async () => {
  await expectError('GET', '/external-task/nope', undefined, 404,
    { type: 'RestException', message: 'External task with id nope does not exist', code: null });
  await expectError('PUT', '/external-task/nope/retries', { retries: 1 }, 404,
    { type: 'RestException', message: 'External task with id nope does not exist', code: 0 });
  await expectError('POST', '/external-task/nope/unlock', undefined, 404,
    { type: 'RestException', message: 'External task with id nope does not exist', code: 0 });
});

test('PUT /external-task/{id}/retries: negative retries are refused before the task is looked up', async () => {
  const negative = {
    type: 'BadUserRequestException', code: 0,
    message: 'The number of retries cannot be negative: retries is not greater than or equal to 0',
  };
  await expectError('PUT', '/external-task/nope/retries', { retries: -1 }, 400, negative);
  const task = await oneTask();
  await expectError('PUT', `/external-task/${task.id}/retries`, { retries: -1 }, 400, negative);
  assert.equal((await srv.api('GET', `/external-task/${task.id}`)).body.retries, null, 'nothing written');
  await expectError('PUT', '/external-task/nope/retries', {}, 400,
    { type: 'InvalidRequestException', message: 'The number of retries cannot be null.', code: null });
});
