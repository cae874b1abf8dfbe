// The REST shim's own error answers (Camunda's format), batch management
// routes, deployments that fail to parse, and the store underneath.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { deploy, externalTaskBpmn, startServer } from './support/rest-helpers.js';

let srv;
before(async () => {
  srv = await startServer({ bodyLimit: 64 * 1024 });
});
after(() => srv.close());

test('malformed JSON, non-object JSON: 400 InvalidRequestException with an empty message', async () => {
  for (const raw of ['{bad', '[1,2]', '42', '"x"']) {
    const r = await srv.api('POST', '/job/retries', undefined, { raw, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, raw);
    assert.deepEqual(r.body, { type: 'InvalidRequestException', message: '', code: null });
  }
  assert.equal((await srv.api('GET', '/job')).status, 200, 'the server lives on');
});

test('unknown routes 404, wrong methods 405, wrong content type 415', async () => {
  for (const path of ['/nothing', '/job/a/b/c', '/../etc/passwd']) {
    const r = await srv.api('GET', path);
    assert.equal(r.status, 404, path);
    assert.deepEqual(r.body, { type: 'NotFoundException', message: 'HTTP 404 Not Found', code: null });
  }
  const outside = await fetch(srv.base.replace('/engine-rest', '/other'));
  assert.equal(outside.status, 404);
  const head = await fetch(`${srv.base}/job`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  const r405 = await srv.api('DELETE', '/job');
  assert.equal(r405.status, 405);
  assert.deepEqual(r405.body, { type: 'NotAllowedException', message: 'HTTP 405 Method Not Allowed', code: null });
  const r415 = await srv.api('PUT', '/external-task/retries', undefined, {
    raw: 'retries=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(r415.status, 415);
  assert.equal(r415.body.type, 'NotSupportedException');
  const notMultipart = await srv.api('POST', '/deployment/create', { x: 1 });
  assert.equal(notMultipart.status, 415);
});

test('an oversized body is a 413 in Camunda format, nothing written', async () => {
  const big = { externalTaskIds: Array.from({ length: 10000 }, (_, i) => `id-${i}`), retries: 1 };
  const r = await srv.api('POST', '/external-task/retries-async', big);
  assert.equal(r.status, 413);
  assert.equal(r.body.type, 'InvalidRequestException');
  assert.match(r.body.message, /exceeds the limit of 65536 bytes/);
  assert.equal(r.body.code, null);
  assert.equal((await srv.api('GET', '/batch/count')).body.count, 0);
  const form = new FormData();
  form.append('f.bpmn', new Blob(['x'.repeat(100 * 1024)]), 'f.bpmn');
  const d = await srv.api('POST', '/deployment/create', undefined, { raw: form });
  assert.equal(d.status, 413);
  assert.equal((await srv.api('GET', '/engine')).status, 200);
});

test('engine errors come through with Camunda type, message, code and status', async () => {
  const job = await srv.api('GET', '/job/missing');
  assert.equal(job.status, 404);
  assert.equal(job.body.type, 'InvalidRequestException');
  assert.ok('code' in job.body);
  const retries = await srv.api('PUT', '/external-task/retries', undefined);
  assert.equal(retries.status, 400, retries.text);
  const key = await srv.api('GET', '/process-definition/key/nope');
  assert.equal(key.status, 404);
  assert.equal(key.body.type, 'RestException');
  assert.equal(key.body.message, 'No matching process definition with key: nope and no tenant-id');
});

test('deployments: no resources, unparsable XML and unsupported elements are 400s', async () => {
  const form = new FormData();
  form.append('deployment-name', 'empty');
  const none = await srv.api('POST', '/deployment/create', undefined, { raw: form });
  assert.equal(none.status, 400);
  assert.deepEqual(none.body, {
    type: 'InvalidRequestException',
    message: 'No deployment resources contained in the form upload.',
    code: null,
  });
  const junk = await deploy(srv.api, { 'junk.bpmn': 'this is not xml' });
  assert.equal(junk.status, 400);
  assert.equal(junk.body.type, 'ParseException');
  assert.ok(junk.body.details['junk.bpmn'].errors.length > 0);
  const sub = externalTaskBpmn('withsub', 't', { extra: '\n    <bpmn:subProcess id="sub1" />' });
  const unsupported = await deploy(srv.api, { 'sub.bpmn': sub });
  assert.equal(unsupported.status, 400, unsupported.text);
  assert.equal(unsupported.body.type, 'ParseException');
  assert.match(unsupported.body.message, /subProcess/);
  const message = externalTaskBpmn('withmsg', 't').replace(
    '<bpmn:startEvent id="start" />',
    '<bpmn:startEvent id="start"><bpmn:messageEventDefinition /></bpmn:startEvent>',
  );
  const msg = await deploy(srv.api, { 'msg.bpmn': message });
  assert.equal(msg.status, 400, msg.text);
  assert.match(msg.body.message, /messageEventDefinition/);
  assert.equal((await srv.api('GET', '/process-definition')).body.length, 0, 'nothing deployed');
});

test('batches: statistics with a trailing slash, suspend, cascade delete removes the history too', async () => {
  await deploy(srv.api, { 'b.bpmn': externalTaskBpmn('b', 'b') });
  const ids = [];
  for (let i = 0; i < 3; i++) {
    await srv.api('POST', '/process-definition/key/b/start', {});
  }
  for (const t of (await srv.api('GET', '/external-task?topicName=b')).body) ids.push(t.id);
  assert.equal(ids.length, 3);
  const batch = await srv.api('POST', '/external-task/retries-async', { externalTaskIds: ids, retries: 5 });
  assert.equal(batch.status, 200, batch.text);
  const id = batch.body.id;
  for (const path of ['/batch/statistics', '/batch/statistics/']) {
    const s = await srv.api('GET', path);
    assert.equal(s.status, 200, path);
    assert.equal(s.body.length, 1);
    assert.equal(s.body[0].id, id);
  }
  assert.equal((await srv.api('GET', '/batch/statistics/count')).body.count, 1);
  assert.equal((await srv.api('GET', `/batch/${id}`)).body.id, id);
  assert.equal((await srv.api('GET', '/history/batch')).body.length >= 1, true);
  assert.equal((await srv.api('GET', '/history/batch/count')).body.count >= 1, true);
  assert.equal((await srv.api('PUT', `/batch/${id}/suspended`, { suspended: true })).status, 204);
  assert.equal((await srv.api('GET', `/batch/${id}`)).body.suspended, true);
  assert.equal((await srv.api('GET', '/job?suspended=true')).body.length >= 1, true);
  const del = await srv.api('DELETE', `/batch/${id}?cascade=true`);
  assert.equal(del.status, 204, del.text);
  assert.equal((await srv.api('GET', `/batch/${id}`)).status, 404);
  assert.equal((await srv.api('GET', `/history/batch/${id}`)).status, 404);
  assert.equal((await srv.api('GET', '/job/count')).body.count, 0);
});

test('jobs: POST /job/retries makes a batch; PUT /job/{id}/retries and /execute drive one job', async () => {
  const xml = externalTaskBpmn('j', 'j', { asyncBefore: true });
  await deploy(srv.api, { 'j.bpmn': xml });
  const pi = (await srv.api('POST', '/process-definition/key/j/start', {})).body;
  const [job] = (await srv.api('GET', `/job?processInstanceId=${pi.id}`)).body;
  assert.ok(job, 'the asyncBefore job waits (no job executor here)');
  assert.equal((await srv.api('GET', `/job/${job.id}`)).body.id, job.id);
  assert.equal((await srv.api('GET', '/job-definition')).status, 200);
  assert.equal((await srv.api('PUT', `/job/${job.id}/retries`, { retries: 7 })).status, 204);
  assert.equal((await srv.api('GET', `/job/${job.id}`)).body.retries, 7);
  const b = await srv.api('POST', '/job/retries', { jobIds: [job.id], retries: 4 });
  assert.equal(b.status, 200, b.text);
  assert.equal(b.body.type, 'set-job-retries');
  assert.equal((await srv.api('POST', `/job/${job.id}/execute`)).status, 204);
  assert.equal((await srv.api('GET', `/external-task/count?processInstanceId=${pi.id}`)).body.count, 1);
  const q = await srv.api('POST', '/process-instance?firstResult=0&maxResults=1', { processInstanceIds: [pi.id] });
  assert.equal(q.status, 200, q.text);
  assert.equal(q.body.length, 1);
  assert.equal((await srv.api('GET', '/engine-rest-does-not-matter')).status, 404);
  assert.equal((await srv.api('GET', `/engine/default/process-instance/${pi.id}`)).body.id, pi.id);
  assert.equal((await srv.api('DELETE', `/batch/${b.body.id}?cascade=true`)).status, 204);
});

/** Sends `pieces` of a body as separate writes (chunked), a tick apart; resolves {status, text}. */
function sendInPieces(base, method, path, pieces, { abortAfter } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', (err) => (abortAfter === undefined ? reject(err) : resolve({ status: 0, text: '' })));
    let i = 0;
    const next = () => {
      if (abortAfter !== undefined && i === abortAfter) {
        req.destroy();
        setTimeout(() => resolve({ status: 0, text: '' }), 50);
        return;
      }
      if (i === pieces.length) {
        req.end();
        return;
      }
      req.write(pieces[i++]);
      setTimeout(next, 5);
    };
    next();
  });
}

test('a body in several pieces is read whole; a client gone mid-body changes nothing', async () => {
  const d = await deploy(srv.api, { 'pieces.bpmn': externalTaskBpmn('pieces', 'pieces') });
  assert.equal(d.status, 200);
  await srv.api('POST', '/process-definition/key/pieces/start', {});
  const [task] = (await srv.api('GET', '/external-task?processDefinitionKey=pieces')).body;
  const body = JSON.stringify({ retries: 7, externalTaskIds: [task.id] });
  const cut = [body.slice(0, 3), body.slice(3, 20), body.slice(20)];
  const r = await sendInPieces(srv.base, 'PUT', '/external-task/retries', cut);
  assert.equal(r.status, 204, r.text);
  assert.equal((await srv.api('GET', `/external-task/${task.id}`)).body.retries, 7);

  const gone = JSON.stringify({ retries: 2, externalTaskIds: [task.id] });
  await sendInPieces(srv.base, 'PUT', '/external-task/retries', [gone.slice(0, 10), gone.slice(10)], { abortAfter: 1 });
  assert.equal((await srv.api('GET', `/external-task/${task.id}`)).body.retries, 7, 'half a body runs nothing');
  const bad = await sendInPieces(srv.base, 'PUT', '/external-task/retries', ['{"retries": 1,', ' "externalTaskIds": [']);
  assert.equal(bad.status, 400);
  assert.deepEqual(JSON.parse(bad.text), { type: 'InvalidRequestException', message: '', code: null });
});
