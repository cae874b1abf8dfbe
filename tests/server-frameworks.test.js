// createRequestHandler (rebatch/server) mounted in a real Express app and a
// real Fastify app, the ways README shows: REST calls go through each
// framework (deploy, start, GET /job, a set-job-retries batch) while the
// app's own routes and its own body parsing keep working.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import express from 'express';
import Fastify from 'fastify';

import { createEngine } from '../bindings/index.js';
import { createRequestHandler } from '../bindings/server.js';
import { client, deploy, until } from './support/rest-helpers.js';

// The README's invoice process; one retry, so the first failure opens the incident.
const INVOICE = readFileSync(fileURLToPath(new URL('../examples/invoice.bpmn', import.meta.url)), 'utf8').replace(
  'R3/PT5S',
  'R1/PT0S',
);

/** An engine whose chargeCard fails while `payment.down` is true. */
async function invoiceEngine() {
  const payment = { down: true };
  const engine = await createEngine({
    handlers: {
      chargeCard: () => {
        if (payment.down) throw new Error('payment service unavailable');
      },
      SendReceipt: () => {},
    },
  });
  return { engine, payment };
}

/** Deploy, start, watch the job fail into an incident, mend it with a retries batch: all through `base`. */
async function invoiceRoundTrip(base, payment) {
  const api = client(base);
  const deployed = await deploy(api, { 'invoice.bpmn': INVOICE });
  assert.equal(deployed.status, 200);
  assert.equal(deployed.body.links[0].href, `${base}/deployment/${deployed.body.id}`);

  const started = await api('POST', '/process-definition/key/invoice/start', { businessKey: 'order-7' });
  assert.equal(started.status, 200);
  assert.equal(started.body.businessKey, 'order-7');
  assert.equal(started.body.links[0].href, `${base}/process-instance/${started.body.id}`);

  const job = await until(async () => (await api('GET', '/job?withException=true')).body[0], { what: 'the failed job' });
  assert.equal(job.processInstanceId, started.body.id);
  assert.equal(job.retries, 0);
  assert.equal(job.exceptionMessage, 'payment service unavailable');
  const incidents = await api('GET', `/incident?jobId=${job.id}`);
  assert.equal(incidents.body.length, 1);
  assert.equal(incidents.body[0].incidentType, 'failedJob');

  // Camunda's answer to negative retries: the body really reached the engine.
  const bad = await api('POST', '/job/retries', { jobIds: [job.id], retries: -1 });
  assert.equal(bad.status, 500);
  assert.equal(bad.body.message, 'Retries count is not greater than or equal to 0');

  payment.down = false;
  const batch = await api('POST', '/job/retries', { jobIds: [job.id], retries: 1 });
  assert.equal(batch.status, 200);
  assert.equal(batch.body.type, 'set-job-retries');
  assert.equal(batch.body.totalJobs, 1);
  const ship = await until(async () => (await api('GET', '/external-task?topicName=ship')).body[0], { what: 'the ship task' });
  assert.equal(ship.processInstanceId, started.body.id);
  assert.equal((await api('GET', '/incident/count')).body.count, 0);
  assert.deepEqual((await api('GET', '/history/batch/count')).body, { count: 1 });
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

test('Express: app.use(mount, handler) after express.json(); the app keeps its own routes and 404s', async () => {
  const { engine, payment } = await invoiceEngine();
  const rest = createRequestHandler({ engine, basePath: '/camunda/engine-rest' });
  const app = express();
  app.use(express.json()); // app-wide, before the handler: the handler takes the parsed body
  app.use('/camunda', rest);
  app.post('/echo', (req, res) => res.json({ echoed: req.body }));
  app.use((req, res) => res.status(404).type('text/plain').send(`express 404 ${req.originalUrl}`));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  try {
    await invoiceRoundTrip(`${origin}/camunda/engine-rest`, payment);
    const echo = await fetch(`${origin}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.deepEqual(await echo.json(), { echoed: { a: 1 } });
    // Under the mount but outside the base path: Express's own next handler answers.
    assert.equal(await (await fetch(`${origin}/camunda/other`)).text(), 'express 404 /camunda/other');
    // Inside the base path: Camunda's answers, errors included.
    const missing = await fetch(`${origin}/camunda/engine-rest/job/nope`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).type, 'InvalidRequestException');
    const malformed = await fetch(`${origin}/camunda/engine-rest/process-instance/count`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"businessKey": ',
    });
    // express.json() answers malformed JSON itself (its error handler), before the mount is reached.
    assert.equal(malformed.status, 400);
  } finally {
    rest.close();
    await new Promise((resolve) => server.close(resolve));
    engine.close();
  }
});

test('Express: the handler mounted at its base path, no body parser: the body is read by the handler', { timeout: 60000 }, async () => {
  const { engine, payment } = await invoiceEngine();
  const rest = createRequestHandler({ engine, basePath: '/api/engine-rest' });
  const app = express();
  let pollArrived;
  const polling = new Promise((resolve) => (pollArrived = resolve));
  app.post('/api/engine-rest/external-task/fetchAndLock', (req, res, next) => {
    pollArrived();
    next();
  });
  app.use('/api/engine-rest', rest);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  try {
    await invoiceRoundTrip(`${origin}/api/engine-rest`, payment);
    const malformed = await fetch(`${origin}/api/engine-rest/process-instance/count`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"businessKey": ',
    });
    assert.equal(malformed.status, 400);
    assert.equal((await malformed.json()).type, 'InvalidRequestException');
  } finally {
    // server.close() waits for a worker's half-hour long poll until rest.close() answers it.
    const poll = fetch(`${origin}/api/engine-rest/external-task/fetchAndLock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workerId: 'w', maxTasks: 1, asyncResponseTimeout: 1800000, topics: [{ topicName: 'none', lockDuration: 1000 }] }),
    });
    await polling;
    const closed = new Promise((resolve) => server.close(resolve));
    rest.close();
    await closed;
    assert.deepEqual(await (await poll).json(), []);
    engine.close();
  }
});

test('Fastify: a plugin under a prefix with a pass-through body parser and reply.hijack()', { timeout: 60000 }, async () => {
  const { engine, payment } = await invoiceEngine();
  const rest = createRequestHandler({ engine, basePath: '/camunda/engine-rest' });
  const app = Fastify();
  let pollArrived;
  const polling = new Promise((resolve) => (pollArrived = resolve));
  app.post('/echo', async (request) => ({ echoed: request.body }));
  // README's way: inside the plugin only, bodies are left unread for the handler.
  await app.register(
    async (api) => {
      api.removeAllContentTypeParsers();
      api.addContentTypeParser('*', (request, payload, done) => done(null));
      api.all('/*', (request, reply) => {
        if (request.url.endsWith('/fetchAndLock')) pollArrived();
        reply.hijack();
        rest(request.raw, reply.raw);
      });
    },
    { prefix: '/camunda/engine-rest' },
  );
  app.addHook('preClose', async () => rest.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const origin = `http://127.0.0.1:${app.server.address().port}`;
  try {
    await invoiceRoundTrip(`${origin}/camunda/engine-rest`, payment);
    const echo = await fetch(`${origin}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.deepEqual(await echo.json(), { echoed: { a: 1 } });
    assert.equal((await fetch(`${origin}/camunda/other`)).status, 404);
    const version = await fetch(`${origin}/camunda/engine-rest/version`);
    assert.deepEqual(await version.json(), { version: '7.24.0' });
    const head = await fetch(`${origin}/camunda/engine-rest/job/count`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    const noType = await fetch(`${origin}/camunda/engine-rest/process-instance/count`, { method: 'POST', body: '{}' });
    assert.equal(noType.status, 415);
  } finally {
    // A worker's long poll (half an hour) is answered when the app closes, through the preClose hook.
    const poll = fetch(`${origin}/camunda/engine-rest/external-task/fetchAndLock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workerId: 'w', maxTasks: 1, asyncResponseTimeout: 1800000, topics: [{ topicName: 'none', lockDuration: 1000 }] }),
    });
    await polling;
    await app.close();
    assert.deepEqual(await (await poll).json(), []);
    engine.close();
  }
});

test('a handler called after the app awaited something reads the body that arrived meanwhile; a body eaten in front is a 500, not a hang', async () => {
  const engine = await createEngine();
  const late = createRequestHandler({ engine, basePath: '/late/engine-rest', jobExecutor: false });
  const eaten = createRequestHandler({ engine, basePath: '/eaten/engine-rest', jobExecutor: false });
  const app = express();
  // An app's async check (a session lookup, say): the body is in by the time the handler runs.
  app.use('/late', (req, res, next) => setTimeout(next, 50), late);
  // A middleware that reads the body and keeps nothing.
  app.use(
    '/eaten',
    (req, res, next) => {
      req.on('end', next);
      req.resume();
    },
    eaten,
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  try {
    const api = client(`${origin}/late/engine-rest`);
    assert.equal((await deploy(api, { 'invoice.bpmn': INVOICE })).status, 200);
    const started = await api('POST', '/process-definition/key/invoice/start', { businessKey: 'late-1' });
    assert.equal(started.body.businessKey, 'late-1');

    const other = client(`${origin}/eaten/engine-rest`);
    const json = await other('POST', '/process-instance/count', { businessKey: 'late-1' }, { validate: false });
    assert.equal(json.status, 500);
    assert.equal(json.body.type, 'RestException');
    assert.match(json.body.message, /^The request body was read before the REST handler/);
    const form = await deploy(other, { 'invoice.bpmn': INVOICE });
    assert.equal(form.status, 500);
    assert.equal(form.body.type, 'RestException');
  } finally {
    late.close();
    eaten.close();
    await new Promise((resolve) => server.close(resolve));
    engine.close();
  }
});
