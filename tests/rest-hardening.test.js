// Issue 13: requests that must not crash, stall or reset the server. Each
// answers in Camunda's error format and the server serves the next request.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';

import { deploy, externalTaskBpmn, startServer } from './support/rest-helpers.js';

const LIMIT = 64 * 1024;
let srv;
before(async () => {
  srv = await startServer({ bodyLimit: LIMIT });
});
after(() => srv.close());

/** Sends raw bytes on a fresh connection; resolves with everything read until the server closes. */
function rawExchange(bytes, { endAfterWrite = true } = {}) {
  const { port } = new URL(srv.base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    const got = [];
    socket.on('data', (c) => got.push(c));
    socket.on('error', (err) => (got.length ? resolve(Buffer.concat(got).toString()) : reject(err)));
    socket.on('close', () => resolve(Buffer.concat(got).toString()));
    socket.on('connect', () => {
      if (endAfterWrite) socket.end(bytes);
      else socket.write(bytes);
    });
    setTimeout(() => socket.destroy(), 5000).unref();
  });
}

/** The status and JSON body of a raw HTTP answer. */
function parseAnswer(text) {
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return { status, body: body ? JSON.parse(body) : undefined };
}

const alive = async () => assert.equal((await srv.api('GET', '/engine')).status, 200, 'the server lives on');

test('a truncated multipart upload answers 400 and the server lives on', async () => {
  const form = '--abc\r\nContent-Disposition: form-data; name="a"; filename="a.bpmn"\r\n\r\n<xml';
  for (let i = 0; i < 3; i++) {
    const r = await srv.api('POST', '/deployment/create', undefined, {
      raw: form,
      headers: { 'content-type': 'multipart/form-data; boundary=abc' },
    });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, {
      type: 'InvalidRequestException',
      message: 'Malformed multipart/form-data request',
      code: null,
    });
  }
  await alive();
});

test('a multipart upload cut off mid-body (client gone) leaves the server serving', async () => {
  const part = '--abc\r\nContent-Disposition: form-data; name="a"; filename="a.bpmn"\r\n\r\n<xml';
  const head =
    'POST /engine-rest/deployment/create HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
    `Content-Type: multipart/form-data; boundary=abc\r\nContent-Length: 10000\r\n\r\n`;
  await rawExchange(head + part); // half-closes with 9,9xx bytes missing
  await alive();
  assert.equal((await srv.api('GET', '/deployment')).body.length, 0);
});

test('the multipart limit is on the total of many files: 413 before the body is read', async () => {
  // 40 files of 16 KiB: each under the limit, together ten times over it.
  const file = 'x'.repeat(16 * 1024);
  let body = '';
  for (let i = 0; i < 40; i++) {
    body += `--abc\r\nContent-Disposition: form-data; name="f${i}"; filename="f${i}.txt"\r\n\r\n${file}\r\n`;
  }
  body += '--abc--\r\n';
  const head =
    'POST /engine-rest/deployment/create HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n' +
    'Content-Type: multipart/form-data; boundary=abc\r\n\r\n';
  const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const answer = parseAnswer(await rawExchange(head + chunked));
  assert.equal(answer.status, 413);
  assert.equal(answer.body.type, 'InvalidRequestException');
  assert.match(answer.body.message, /exceeds the limit of 65536 bytes/);
  assert.equal((await srv.api('GET', '/deployment')).body.length, 0);
  await alive();
});

test('a JSON body far over the limit gets a 413 JSON answer, not a reset', async () => {
  const size = LIMIT * 20;
  const head =
    'POST /engine-rest/job/retries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${size}\r\n\r\n`;
  const answer = parseAnswer(await rawExchange(head + ' '.repeat(size)));
  assert.equal(answer.status, 413);
  assert.equal(answer.body.type, 'InvalidRequestException');
  // Chunked, so no Content-Length warns the server: the limit is counted as it reads.
  const chunkedHead =
    'POST /engine-rest/job/retries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    'Transfer-Encoding: chunked\r\n\r\n';
  const piece = ' '.repeat(LIMIT);
  const chunk = `${piece.length.toString(16)}\r\n${piece}\r\n`;
  const chunked = parseAnswer(await rawExchange(chunkedHead + chunk.repeat(20) + '0\r\n\r\n'));
  assert.equal(chunked.status, 413);
  await alive();
});

test('malformed percent-escapes in the path answer 404 in Camunda format, never 500', async () => {
  const r = await srv.api('GET', '/engine/%ZZ/job');
  assert.equal(r.status, 404);
  assert.deepEqual(r.body, { type: 'RestException', message: 'No process engine available with name %ZZ', code: null });
  for (const path of ['/job/%ZZ', '/job/%E0%A4%A', '/external-task/%/errorDetails', '/jo%ZZb']) {
    const s = await srv.api('GET', path);
    assert.equal(s.status, 404, path);
    assert.equal(s.body.type, 'NotFoundException', path);
  }
  const q = await srv.api('GET', '/job?processInstanceId=%ZZ&maxResults=%');
  assert.ok(q.status < 500, `query escapes: ${q.status}`);
  await alive();
});

test('protocol errors answer a Camunda JSON body', async () => {
  const bad = parseAnswer(await rawExchange('GARBAGE\r\n\r\n'));
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body, { type: 'InvalidRequestException', message: 'Malformed HTTP request', code: null });
  const headers = `GET /engine-rest/job HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`;
  const big = parseAnswer(await rawExchange(headers));
  assert.equal(big.status, 431);
  assert.equal(big.body.type, 'InvalidRequestException');
  await alive();
});

test('a request whose head or body does not arrive in time answers 408 in Camunda format', async () => {
  const slow = await startServer({ headersTimeoutMs: 300, requestTimeoutMs: 800 });
  const { port } = new URL(slow.base);
  /** Writes bytes and keeps the connection open; resolves with what the server sends before it closes. */
  const stall = (bytes) =>
    new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(bytes));
      const got = [];
      socket.on('data', (c) => got.push(c));
      socket.on('error', (err) => (got.length ? resolve(Buffer.concat(got).toString()) : reject(err)));
      socket.on('close', () => resolve(Buffer.concat(got).toString()));
      setTimeout(() => socket.destroy(), 5000).unref();
    });
  try {
    const timeout = { type: 'InvalidRequestException', message: 'The request was not received in time', code: null };
    const head = parseAnswer(await stall('GET /engine-rest/job HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
    assert.deepEqual([head.status, head.body], [408, timeout]);
    const body = parseAnswer(
      await stall(
        'POST /engine-rest/job/retries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          'Content-Length: 100\r\n\r\n{"retries":',
      ),
    );
    assert.deepEqual([body.status, body.body], [408, timeout]);
    assert.equal((await slow.api('GET', '/engine')).status, 200, 'the server lives on');
  } finally {
    await slow.close();
  }
});

/** A fresh external task of topic `topic` (its id). */
async function newTask(topic) {
  const key = `p${topic.replace(/\W/g, '')}`;
  assert.equal((await deploy(srv.api, { [`${key}.bpmn`]: externalTaskBpmn(key, topic) })).status, 200);
  const started = await srv.api('POST', `/process-definition/key/${key}/start`, {});
  const tasks = await srv.api('GET', `/external-task?processInstanceId=${started.body.id}`);
  return tasks.body[0].id;
}

const json = (raw) => ({ raw, headers: { 'content-type': 'application/json' } });

test('scalars where a DTO string belongs are read as their text (Jackson coercion)', async () => {
  const id = await newTask('coerce');
  const lock = await srv.api('POST', `/external-task/${id}/lock`, { workerId: 0, lockDuration: 60000 });
  assert.equal(lock.status, 204);
  assert.equal((await srv.api('GET', `/external-task/${id}`)).body.workerId, '0');
  const bool = await srv.api('POST', `/external-task/${id}/extendLock`, { workerId: false, newDuration: 1 });
  assert.equal(bool.status, 400, 'false is the text "false", another worker than "0"');
  assert.match(bool.body.message, /cannot be extended by worker 'false'/);
  const err = await srv.api('POST', `/external-task/${id}/bpmnError`, { workerId: 0, errorCode: 0 });
  assert.equal(err.status, 204);
});

test('arrays and objects where a DTO scalar belongs answer 400, not 500', async () => {
  const id = await newTask('shape');
  for (const body of [{ workerId: [], lockDuration: 1 }, { workerId: { a: 1 }, lockDuration: 1 }]) {
    const r = await srv.api('POST', `/external-task/${id}/lock`, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.deepEqual(r.body, { type: 'InvalidRequestException', message: '', code: null });
  }
  const f = await srv.api('POST', `/external-task/${id}/bpmnError`, { workerId: 'w', errorCode: ['x'] });
  assert.equal(f.status, 400);
  const fetched = await srv.api('POST', '/external-task/fetchAndLock', {
    workerId: 'w',
    maxTasks: 1,
    topics: [{ topicName: { x: 1 }, lockDuration: 1 }],
  });
  assert.equal(fetched.status, 400, 'nested DTOs too');
});

test('retries beyond a Java int answer 400 instead of being clamped', async () => {
  const id = await newTask('range');
  for (const retries of [2147483648, 2 ** 53, -2147483649]) {
    const r = await srv.api('PUT', `/external-task/${id}/retries`, { retries });
    assert.equal(r.status, 400, String(retries));
    assert.equal(r.body.type, 'InvalidRequestException');
  }
  assert.equal((await srv.api('PUT', `/external-task/${id}/retries`, { retries: 2147483647 })).status, 204);
  assert.equal((await srv.api('GET', `/external-task/${id}`)).body.retries, 2147483647);
});

test('duplicate keys in a JSON body: the last one counts', async () => {
  const id = await newTask('dup');
  const r = await srv.api('PUT', `/external-task/${id}/retries`, undefined, json('{"retries":1,"retries":7}'));
  assert.equal(r.status, 204);
  assert.equal((await srv.api('GET', `/external-task/${id}`)).body.retries, 7);
  const bad = await srv.api('PUT', `/external-task/${id}/retries`, undefined, json('{"retries":3,"retries":-1}'));
  assert.equal(bad.status, 400, 'the last value is the one checked');
});

test('queryMaxResultsLimit: unpaged and over-limit lists answer 400 as Camunda 7.14+ does', async () => {
  const limited = await startServer({ config: { queryMaxResultsLimit: 2 } });
  try {
    for (const path of ['/external-task', '/job', '/history/job-log', '/process-instance', '/incident']) {
      const unbound = await limited.api('GET', path);
      assert.equal(unbound.status, 400, path);
      assert.deepEqual(unbound.body, {
        type: 'InvalidRequestException',
        message: 'An unbound number of results is forbidden!',
        code: null,
      });
      const over = await limited.api('GET', `${path}?maxResults=3`);
      assert.equal(over.status, 400, path);
      assert.equal(over.body.message, 'Max results limit of 2 exceeded!');
      assert.equal((await limited.api('GET', `${path}?firstResult=5&maxResults=2`)).status, 200, path);
    }
    assert.equal((await limited.api('GET', '/external-task/count')).status, 200, 'counts are not limited');
  } finally {
    await limited.close();
  }
  assert.equal((await srv.api('GET', '/external-task')).status, 200, 'no limit unless configured');
});
