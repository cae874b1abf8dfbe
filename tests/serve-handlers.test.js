// Jobs that really fail on the server: `rebatch serve --handlers` with the
// README's example handlers (examples/handlers.mjs, examples/invoice.bpmn),
// and the REST handler mounted under a path of a node:http app.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createEngine } from '../bindings/index.js';
import { createRequestHandler } from '../bindings/server.js';
import { BIN, client, deploy, until } from './support/rest-helpers.js';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));

/** `rebatch serve --memory --handlers examples/handlers.mjs` with env; resolves once it listens. */
function serveWithHandlers(env, args = []) {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--memory', '--handlers', join(EXAMPLES, 'handlers.mjs'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+) \(([^)]*)\)/.exec(out);
      if (m) resolve({ child, base: m[1], facts: m[2] });
    });
    child.on('exit', (code) => reject(new Error(`rebatch serve exited with ${code}: ${stderr}`)));
  });
}

test('serve --handlers: a failing handler uses retries, the retry cycle and ends in an incident; retries batch mends it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rebatch-handlers-'));
  const flag = join(dir, 'payment-down');
  writeFileSync(flag, '');
  // the node's lock owner and lock time: the executor's and the handlers' alike
  const config = JSON.stringify({ jobExecutor: { lockOwner: 'node-1', lockTimeInMillis: 120000 } });
  const { child, base, facts } = await serveWithHandlers({ PAYMENT_DOWN_FILE: flag, PAYMENT_DELAY_MS: '700' }, ['--config', config]);
  const api = client(base);
  const raw = (method, path, body) => api(method, path, body, { validate: false });
  try {
    assert.equal(facts, `page: ${base.replace(/engine-rest$/, '')}, store: memory, job executor: on, auth: off, handlers: SendReceipt, chargeCard`);
    // R3/PT5S in the example; a second here keeps the test short.
    const xml = readFileSync(join(EXAMPLES, 'invoice.bpmn'), 'utf8').replace('R3/PT5S', 'R3/PT1S');
    assert.equal((await deploy(api, { 'invoice.bpmn': xml })).status, 200);
    const started = await api('POST', '/process-definition/key/invoice/start', {});
    assert.equal(started.status, 200);

    // While the async handler runs its job is locked, and GET /job says by whom and until when.
    const locked = await until(async () => (await raw('GET', '/job')).body.find((j) => j.lockOwner), { what: 'a locked job' });
    assert.equal(locked.lockOwner, 'node-1');
    const expires = Date.parse(locked.lockExpirationTime.replace(/\+0000$/, 'Z'));
    assert.ok(expires > Date.now() + 60000 && expires <= Date.now() + 120000, 'locked for lockTimeInMillis');

    // The first failure: the retry cycle's 3 retries, less one; the message and the handler's stack.
    const failed = await until(async () => (await api('GET', `/job/${locked.id}`)).body.exceptionMessage && (await api('GET', `/job/${locked.id}`)).body, { what: 'the first failure' });
    assert.match(failed.exceptionMessage, /^payment service unavailable \(instance /);
    assert.equal(failed.retries, 2);
    assert.equal(failed.lockOwner, undefined);
    const trace = await api('GET', `/job/${locked.id}/stacktrace`);
    assert.match(trace.text, /^Error: payment service unavailable[^\n]*\n\s+at chargeCard \(.*handlers\.mjs/);

    // Retries run out: an incident, as Camunda's failed job handling opens at 0.
    const incident = await until(async () => (await api('GET', '/incident')).body[0], { timeoutMs: 15000, what: 'an incident' });
    assert.equal(incident.incidentType, 'failedJob');
    assert.equal(incident.configuration, locked.id);
    assert.equal((await api('GET', `/job/${locked.id}`)).body.retries, 0);

    // The service is back; a set-job-retries batch retries the job, which now passes the charge.
    rmSync(flag);
    const batch = await api('POST', '/job/retries', { jobIds: [locked.id], retries: 1 });
    assert.equal(batch.status, 200);
    assert.equal(batch.body.type, 'set-job-retries');
    const ship = await until(async () => (await api('GET', '/external-task?topicName=ship')).body[0], { timeoutMs: 15000, what: 'the ship task' });
    assert.equal(ship.processInstanceId, started.body.id);
    assert.equal((await api('GET', '/incident/count')).body.count, 0);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a handler named by the model but not exported fails the job with an expression error', async () => {
  const engine = await createEngine({ handlers: {} });
  try {
    engine.createDeployment({ name: 'x', processes: [{ key: 'p', activities: [
      { id: 's', type: 'startEvent' },
      { id: 'pay', type: 'serviceTask', asyncBefore: true, delegateExpression: '${payment}' },
      { id: 'e', type: 'endEvent' }],
    flows: [{ id: 'f1', source: 's', target: 'pay' }, { id: 'f2', source: 'pay', target: 'e' }] }] });
    engine.startProcessInstanceByKey('p', {});
    const result = engine.executeDueJobs({});
    assert.equal(result.failed, 1);
    assert.equal(result.jobs[0].exceptionMessage, "Unknown property used in expression: ${payment}. Cause: Cannot resolve identifier 'payment'");
  } finally {
    engine.close();
  }
});

test('createRequestHandler answers under its base path in a node:http app and as Express mounts it', async () => {
  const engine = await createEngine();
  const rest = createRequestHandler({ engine, basePath: '/camunda/engine-rest', jobExecutor: false });
  const app = http.createServer((req, res) => {
    if (req.url.startsWith('/camunda/')) return rest(req, res);
    if (req.url.startsWith('/express/')) {
      // What app.use('/express/engine-rest', handler) hands over: the path below the mount in req.url.
      req.originalUrl = req.url.replace('/express/', '/camunda/');
      req.url = req.url.slice('/express/engine-rest'.length) || '/';
      return rest(req, res);
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('mine');
  });
  await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${app.address().port}`;
  try {
    assert.deepEqual(await (await fetch(`${origin}/camunda/engine-rest/version`)).json(), { version: '7.24.0' });
    assert.equal(await (await fetch(`${origin}/other`)).text(), 'mine');
    assert.equal((await fetch(`${origin}/camunda/engine-rest/nope`)).status, 404);
    const api = client(`${origin}/camunda/engine-rest`);
    await deploy(api, { 'invoice.bpmn': readFileSync(join(EXAMPLES, 'invoice.bpmn'), 'utf8') });
    const started = await api('POST', '/process-definition/key/invoice/start', {});
    assert.equal(started.body.links[0].href, `http://127.0.0.1:${app.address().port}/camunda/engine-rest/process-instance/${started.body.id}`);
    const viaExpress = await fetch(`${origin}/express/engine-rest/process-instance/count`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.deepEqual(await viaExpress.json(), { count: 1 });
  } finally {
    rest.close();
    await new Promise((resolve) => app.close(resolve));
    engine.close();
  }
});
