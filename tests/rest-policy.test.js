// What the server lets in before any route runs (issue 13, security 2 and 4):
// JSON bodies must say so (415), CORS only for named origins, no writes from
// other origins, the Host header checked on loopback, links not built from
// it; connection limits and header/body timeouts under slowloris.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { deploy, externalTaskBpmn, spawnServer, startServer } from './support/rest-helpers.js';

/** A raw HTTP/1.1 request with exactly these headers: {status, headers, body}. */
function rawRequest(port, { method = 'GET', path = '/engine-rest/engine', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, setHost: !('host' in headers) }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('cross-origin and Host policy', () => {
  let srv;
  let port;
  const FRIEND = 'http://localhost:3000';
  before(async () => {
    srv = await startServer({ corsOrigins: [FRIEND], publicUrl: 'http://rebatch.example:9000' });
    port = new URL(srv.base).port;
  });
  after(() => srv.close());

  test('a JSON endpoint reads a body only when it says application/json: a no-cors Blob or text post is 415', async () => {
    const body = JSON.stringify({ retries: 1, jobIds: ['x'] });
    for (const headers of [{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': '*/*' }]) {
      const r = await rawRequest(port, { method: 'POST', path: '/engine-rest/job/retries', headers, body });
      assert.equal(r.status, 415, JSON.stringify(headers));
      assert.deepEqual(r.body, { type: 'NotSupportedException', message: 'HTTP 415 Unsupported Media Type', code: null });
    }
    const ok = await rawRequest(port, {
      method: 'POST',
      path: '/engine-rest/job/retries',
      headers: { 'content-type': 'application/json; charset=UTF-8' },
      body,
    });
    assert.notEqual(ok.status, 415);
    assert.equal((await srv.api('GET', '/batch/count')).body.count, 1, 'only the JSON request made a batch');
  });

  test('another origin may not write, even a simple form post; the own origin and named origins may', async () => {
    const form = new FormData();
    form.append('data', new Blob([externalTaskBpmn('evil', 't')]), 'evil.bpmn');
    const evil = await fetch(`${srv.base}/deployment/create`, { method: 'POST', body: form, headers: { origin: 'http://evil.test' } });
    assert.equal(evil.status, 403);
    assert.equal((await evil.json()).type, 'ForbiddenException');
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    assert.equal((await srv.api('GET', '/deployment')).body.length, 0, 'nothing deployed');
    const exec = await rawRequest(port, { method: 'POST', path: '/engine-rest/job/x/execute', headers: { origin: 'http://evil.test' } });
    assert.equal(exec.status, 403, 'a bodiless write too');
    const read = await rawRequest(port, { path: '/engine-rest/batch', headers: { origin: 'http://evil.test' } });
    assert.equal(read.status, 200, 'reads stay (a no-cors read is opaque to the page)');
    assert.equal(read.headers['access-control-allow-origin'], undefined);

    const own = await rawRequest(port, {
      method: 'POST', path: '/engine-rest/job/retries', body: '{}',
      headers: { origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' },
    });
    assert.equal(own.status, 400, 'the own page passes the policy (and gets the engine\'s answer)');
    const friend = await rawRequest(port, {
      method: 'PUT', path: '/engine-rest/external-task/retries', body: '{"retries":1,"externalTaskIds":[]}',
      headers: { origin: FRIEND, 'content-type': 'application/json' },
    });
    assert.equal(friend.headers['access-control-allow-origin'], FRIEND);
    assert.equal(friend.headers.vary, 'Origin');
    assert.notEqual(friend.status, 403);
  });

  test('CORS preflight: 204 with the allowed methods and headers for a named origin, 403 otherwise', async () => {
    const ask = (origin, method = 'POST', headers = 'content-type, authorization') =>
      rawRequest(port, {
        method: 'OPTIONS',
        path: '/engine-rest/external-task/retries-async',
        headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
      });
    const ok = await ask(FRIEND);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers['access-control-allow-origin'], FRIEND);
    assert.match(ok.headers['access-control-allow-methods'], /POST/);
    assert.match(ok.headers['access-control-allow-headers'], /authorization/);
    assert.match(ok.headers['access-control-allow-headers'], /content-type/);
    assert.ok(Number(ok.headers['access-control-max-age']) > 0);
    for (const [origin, method, headers] of [['http://evil.test', 'POST', ''], [FRIEND, 'PATCH', ''], [FRIEND, 'POST', 'x-custom']]) {
      const r = await ask(origin, method, headers);
      assert.equal(r.status, 403, `${origin} ${method} ${headers}`);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
  });

  test('CORS is off by default: no preflight passes, no Access-Control headers', async () => {
    const plain = await startServer();
    try {
      const p = new URL(plain.base).port;
      const pre = await rawRequest(p, {
        method: 'OPTIONS', path: '/engine-rest/batch',
        headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'GET' },
      });
      assert.equal(pre.status, 403);
      const get = await rawRequest(p, { path: '/engine-rest/batch', headers: { origin: 'http://localhost:3000' } });
      assert.equal(get.headers['access-control-allow-origin'], undefined);
    } finally {
      await plain.close();
    }
  });

  test('on loopback only loopback names (and the public URL\'s host) pass the Host check: DNS rebinding', async () => {
    for (const host of ['evil.test', `evil.test:${port}`, '10.0.0.1', '']) {
      const r = await rawRequest(port, { headers: { host } });
      assert.equal(r.status, 403, host);
      assert.equal(r.body.type, 'ForbiddenException');
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'rebatch.example:9000', 'LOCALHOST']) {
      assert.equal((await rawRequest(port, { headers: { host } })).status, 200, host);
    }
  });

  test('links name the configured public URL, never the Host header', async () => {
    await deploy(srv.api, { 'p.bpmn': externalTaskBpmn('linked', 't') });
    const r = await rawRequest(port, {
      method: 'POST', path: '/engine-rest/process-definition/key/linked/start', body: '{}',
      headers: { host: `localhost:${port}`, 'content-type': 'application/json' },
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.links, [
      { method: 'GET', href: `http://rebatch.example:9000/engine-rest/process-instance/${r.body.id}`, rel: 'self' },
    ]);
    const plain = await startServer();
    try {
      const p = new URL(plain.base).port;
      await deploy(plain.api, { 'p.bpmn': externalTaskBpmn('linked', 't') });
      const s = await rawRequest(p, {
        method: 'POST', path: '/engine-rest/process-definition/key/linked/start', body: '{}',
        headers: { host: `localhost:${p}`, 'content-type': 'application/json' },
      });
      assert.equal(s.body.links[0].href, `http://127.0.0.1:${p}/engine-rest/process-instance/${s.body.id}`, 'the listen address');
    } finally {
      await plain.close();
    }
  });
});

/** Opens a connection that sends a request head a byte at a time, never finishing it. */
function slowClient(port, intervalMs) {
  const socket = net.connect(port, '127.0.0.1');
  const head = 'GET /engine-rest/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';
  let i = 0;
  const timer = setInterval(() => {
    if (!socket.writable) return;
    socket.write(i < head.length ? head[i++] : 'a');
  }, intervalMs);
  socket.on('error', () => {});
  socket.on('close', () => clearInterval(timer));
  // It never reads what the server sends, as a slowloris client.
  return { socket, stop: () => (clearInterval(timer), socket.destroy()) };
}

const connections = (server) => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

/** Waits until the server holds at most `n` connections: the milliseconds it took. */
async function drainedTo(server, n, withinMs) {
  const t0 = Date.now();
  while ((await connections(server)) > n) {
    if (Date.now() - t0 > withinMs) assert.fail(`still ${await connections(server)} connections after ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - t0;
}

describe('connection limits and timeouts (slowloris)', () => {
  test('slow header senders are cut at the headers timeout; a normal request answers meanwhile', async () => {
    const srv = await startServer({ headersTimeoutMs: 1500, requestTimeoutMs: 3000, maxConnectionsPerIp: 500 });
    const port = Number(new URL(srv.base).port);
    const slow = Array.from({ length: 100 }, () => slowClient(port, 200));
    try {
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await srv.api('GET', '/batch')).status, 200);
      assert.ok((await connections(srv.rest.server)) >= 100, 'answered while the slow ones are still held');
      // headers timeout 1.5 s, checked every second, then 1 s to read the 408 answer
      await drainedTo(srv.rest.server, 1, 5000);
    } finally {
      slow.forEach((s) => s.stop());
      await srv.close();
    }
  });

  test('a body sent too slowly is cut at the request timeout; a long poll is not', async () => {
    const srv = await startServer({ headersTimeoutMs: 1000, requestTimeoutMs: 1500 });
    const port = Number(new URL(srv.base).port);
    try {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('PUT /engine-rest/external-task/retries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
      const trickle = setInterval(() => socket.writable && socket.write(' '), 200);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await connections(srv.rest.server), 1);
      const cut = 300 + (await drainedTo(srv.rest.server, 0, 5000));
      clearInterval(trickle);
      assert.ok(cut >= 1000, `cut after ${cut} ms, not before the request timeout`);

      const poll = await srv.api('POST', '/external-task/fetchAndLock', {
        workerId: 'w', maxTasks: 1, asyncResponseTimeout: 2500, topics: [{ topicName: 'none', lockDuration: 1000 }],
      });
      assert.equal(poll.status, 200);
      assert.deepEqual(poll.body, []);
    } finally {
      await srv.close();
    }
  });

  test('connections over the per-address limit are refused; the server answers once they go', async () => {
    const srv = await startServer({ headersTimeoutMs: 1000, maxConnectionsPerIp: 5 });
    const port = Number(new URL(srv.base).port);
    const slow = Array.from({ length: 5 }, () => slowClient(port, 100));
    try {
      await new Promise((r) => setTimeout(r, 300));
      const refused = await fetch(`${srv.base}/batch`).then(
        (r) => r.status,
        () => 'refused',
      );
      assert.equal(refused, 'refused', 'the sixth connection is closed');
      await drainedTo(srv.rest.server, 0, 5000);
      assert.equal((await srv.api('GET', '/batch')).status, 200);
    } finally {
      slow.forEach((s) => s.stop());
      await srv.close();
    }
  });
});

test('rebatch serve: the policy flags reach the server', async () => {
  const srv = await spawnServer([
    '--memory', '--no-web', '--no-job-executor', '--cors-origin', 'http://localhost:3000',
    '--public-url', 'http://api.example:1234', '--allowed-host', 'dev.test', '--headers-timeout', '1000',
  ]);
  try {
    const port = new URL(srv.base).port;
    const pre = await rawRequest(port, {
      method: 'OPTIONS', path: '/engine-rest/batch',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'GET' },
    });
    assert.equal(pre.status, 204);
    assert.equal((await rawRequest(port, { headers: { host: 'dev.test' } })).status, 200);
    assert.equal((await rawRequest(port, { headers: { host: 'api.example:1234' } })).status, 200);
    assert.equal((await rawRequest(port, { headers: { host: 'other.test' } })).status, 403);
    const slow = slowClient(Number(port), 200);
    const closed = new Promise((resolve) => slow.socket.on('close', resolve));
    slow.socket.resume(); // reads the 408 and sees the close
    const t0 = Date.now();
    await closed;
    assert.ok(Date.now() - t0 < 4000, 'cut by the 1 s headers timeout');
  } finally {
    srv.child.kill('SIGTERM');
    await srv.exited;
  }
});
