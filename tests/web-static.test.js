// `rebatch serve` serves the built simulation page (dist/web) outside
// /engine-rest: files only, GET and HEAD, nothing outside the folder; and the
// build is plain static files that work under any path of any file server.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { staticFiles } from '../bindings/static.js';
import { spawnServer } from './support/rest-helpers.js';

/** A raw request (no URL normalisation, unlike fetch). */
function raw(base, method, path) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('rebatch serve: the page at /, its files, the REST API beside it', { skip: !existsSync('dist/web/index.html') && 'run npm run build:web' }, async () => {
  const server = await spawnServer(['--memory', '--no-job-executor']);
  try {
    const origin = new URL(server.base).origin;
    const index = await raw(origin, 'GET', '/');
    assert.equal(index.status, 200);
    assert.match(index.type, /^text\/html/);
    assert.match(index.body, /<script type="module" src="app.js">/);
    for (const [path, type] of [['/app.js', /javascript/], ['/rebatch.wasm', /application\/wasm/], ['/samples/invoice.bpmn', /xml/], ['/vendor/bpmn-js.css', /css/]]) {
      const res = await raw(origin, 'GET', path);
      assert.equal(res.status, 200, path);
      assert.match(res.type, type, path);
    }
    assert.equal((await raw(origin, 'HEAD', '/index.html')).body, '');
    assert.equal((await raw(origin, 'POST', '/index.html')).status, 405);
    // Outside the folder or unknown: the REST layer's 404, in Camunda's format.
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/nope.js']) {
      const res = await raw(origin, 'GET', path);
      assert.equal(res.status, 404, path);
      assert.equal(JSON.parse(res.body).type, 'NotFoundException', path);
    }
    const engines = await raw(origin, 'GET', '/engine-rest/engine');
    assert.deepEqual(JSON.parse(engines.body), [{ name: 'default' }]);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

test('--no-web leaves / to the REST layer', async () => {
  const server = await spawnServer(['--memory', '--no-job-executor', '--no-web']);
  try {
    const res = await raw(new URL(server.base).origin, 'GET', '/');
    assert.equal(res.status, 404);
    assert.equal(JSON.parse(res.body).type, 'NotFoundException');
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

test('staticFiles: / without a build says how to build; other paths fall through', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rebatch-web-'));
  try {
    const handle = staticFiles(dir);
    const answered = [];
    const res = { writeHead: (s) => answered.push(s), end: (b) => answered.push(String(b ?? '')) };
    assert.equal(handle({ url: '/', method: 'GET' }, res), true);
    assert.equal(answered[0], 404);
    assert.match(answered[1], /npm run build:web/);
    assert.equal(handle({ url: '/x.js', method: 'GET' }, res), false);
    writeFileSync(join(dir, 'x.txt'), 'hello');
    assert.equal(handle({ url: '/x.txt/../../etc/passwd', method: 'GET' }, res), false);
    assert.equal(readFileSync(join(dir, 'x.txt'), 'utf8'), 'hello');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
