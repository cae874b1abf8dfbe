// Helpers for the REST tests: a server on an ephemeral loopback port, a
// small fetch wrapper, BPMN fixtures, polling.
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { createEngine } from '../../bindings/index.js';
import { createRestServer } from '../../bindings/rest.js';
import { validatePath } from './openapi.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/rebatch.js', import.meta.url));

/** BPMN text of tests/fixtures/<name>. */
export const bpmn = (name) => readFileSync(`${FIXTURES}${name}`, 'utf8');

/** A process: start -> external task `topic` -> end, optionally asyncBefore. */
export function externalTaskBpmn(key, topic, { asyncBefore = false, extra = '' } = {}) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs-${key}" targetNamespace="http://example.com/rebatch">
  <bpmn:process id="${key}" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:serviceTask id="work" camunda:type="external" camunda:topic="${topic}"${asyncBefore ? ' camunda:asyncBefore="true"' : ''} />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />${extra}
  </bpmn:process>
</bpmn:definitions>`;
}

/**
 * A REST server over a fresh engine (memory store unless `store` is given).
 * With REBATCH_TEST_PG set to a PostgreSQL URL (tests/rest-postgres.test.js
 * sets it), the default store is a PostgreSQL store on a new database there.
 */
export async function startServer({ store, jobExecutor = false, bodyLimit, config } = {}) {
  if (!store && process.env.REBATCH_TEST_PG) {
    const [{ postgresStore }, { createDatabase }] = await Promise.all([
      import('../../bindings/postgres-store.js'),
      import('./pg-cluster.js'),
    ]);
    store = postgresStore(createDatabase(process.env.REBATCH_TEST_PG));
  }
  const engine = await createEngine({ ...(store ? { store } : {}), ...(config ? { config } : {}) });
  const rest = createRestServer({ engine, jobExecutor, bodyLimit });
  const { port } = await rest.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}/engine-rest`;
  return {
    engine,
    rest,
    base,
    api: client(base),
    async close() {
      await rest.close();
      engine.close();
      store?.close?.();
    },
  };
}

/**
 * api(method, path, body?, {headers, raw, validate}) -> {status, body, text, headers}
 * Every response is validated against Camunda's 7.15 OpenAPI (see
 * support/openapi.js: exemptions there, with reasons); `validate: false`
 * skips that for a call that sends deliberately odd requests.
 */
export function client(base) {
  return async (method, path, body, { headers = {}, raw, validate = true } = {}) => {
    const init = { method, headers: { ...headers } };
    if (raw !== undefined) init.body = raw;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${base}${path}`, init);
    const text = await res.text();
    let json;
    if (/^text\/plain/.test(res.headers.get('content-type') ?? '')) json = text;
    else {
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
    }
    if (validate && method !== 'HEAD') validatePath(method, path, res.status, json, { text });
    return { status: res.status, body: json, text, headers: res.headers };
  };
}

/** POST /deployment/create with resource files {name: text} and extra form `fields`. */
export async function deploy(api, files, { name = 'test', source, tenantId, fields = {} } = {}) {
  const form = new FormData();
  form.append('deployment-name', name);
  if (source) form.append('deployment-source', source);
  if (tenantId) form.append('tenant-id', tenantId);
  for (const [field, value] of Object.entries(fields)) form.append(field, value);
  for (const [file, xml] of Object.entries(files)) {
    form.append(file, new Blob([xml], { type: 'application/octet-stream' }), file);
  }
  return api('POST', '/deployment/create', undefined, { raw: form });
}

/** Polls fn until it returns a truthy value (or times out). */
export async function until(fn, { timeoutMs = 5000, intervalMs = 20, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Spawns `rebatch serve --port 0 ...args`; resolves once it listens. */
export function spawnServer(args) {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, base: m[1], api: client(m[1]), exited, stderr: () => stderr });
    });
    child.on('exit', (code) => reject(new Error(`rebatch serve exited with ${code}: ${stderr}`)));
  });
}
