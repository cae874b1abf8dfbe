// Process variables over HTTP (issue 6). Every response is validated against
// Camunda's 7.15 OpenAPI by the client (tests/support/openapi.js; the
// historic variable endpoints the file lacks against Camunda's DTOs).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { CAMUNDA_DATE } from './support/openapi.js';
import { deploy, externalTaskBpmn, startServer } from './support/rest-helpers.js';

let srv;
let api;
let def;
before(async () => {
  srv = await startServer({ jobExecutor: false });
  api = srv.api;
  const d = await deploy(api, { 'v.bpmn': externalTaskBpmn('v', 'v') });
  assert.equal(d.status, 200, d.text);
  [def] = Object.values(d.body.deployedProcessDefinitions);
});
after(() => srv.close());

const call = async (method, path, body, status) => {
  const r = await api(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r;
};
const start = (variables) => call('POST', '/process-definition/key/v/start', { variables }, 200);
const raw = (method, path, text) =>
  api(method, path, undefined, { raw: text, headers: { 'Content-Type': 'application/json' } });

test('typed values round-trip unchanged over HTTP (Long 2^53, Date, Json); 2^53 + 1 is refused, not rounded', async () => {
  const variables = {
    l: { type: 'Long', value: 2 ** 53, valueInfo: {} },
    dt: { type: 'Date', value: '2024-03-01T12:34:56.789+0000', valueInfo: {} },
    j: { type: 'Json', value: '{"deep":{"list":[1,2.5,"x"]}}', valueInfo: {} },
    i: { type: 'Integer', value: 42, valueInfo: {} },
  };
  const pi = (await start(variables)).body;
  const all = await call('GET', `/process-instance/${pi.id}/variables`, undefined, 200);
  assert.deepEqual(all.body, variables);
  assert.match(all.text, /"value":9007199254740992[,}]/, 'the exact digits on the wire');
  assert.match(all.body.dt.value, CAMUNDA_DATE);

  const before = srv.engine.store.dump();
  const bad = await raw('PUT', `/process-instance/${pi.id}/variables/l`, '{"type":"Long","value":9007199254740993}');
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.body.type, 'InvalidRequestException');
  assert.match(bad.body.message, /9007199254740993/);
  assert.equal(srv.engine.store.dump(), before, 'a refused body changes nothing');
  const exact = await raw('PUT', `/process-instance/${pi.id}/variables/l`, '{"type":"Long","value":-9007199254740992}');
  assert.equal(exact.status, 204, exact.text);
  const one = await call('GET', `/process-instance/${pi.id}/variables/l`, undefined, 200);
  assert.match(one.text, /"value":-9007199254740992[,}]/);
});

test('PUT, GET, DELETE one variable and POST modifications; Camunda\'s errors for unknown ones', async () => {
  const pi = (await start({ a: { value: 1 } })).body;
  await call('PUT', `/process-instance/${pi.id}/variables/b`, { value: 'x', type: 'String' }, 204);
  await call('POST', `/process-instance/${pi.id}/variables`, { modifications: { c: { value: true } }, deletions: ['a'] }, 204);
  assert.deepEqual((await call('GET', `/process-instance/${pi.id}/variables?deserializeValues=false`, undefined, 200)).body, {
    b: { type: 'String', value: 'x', valueInfo: {} }, c: { type: 'Boolean', value: true, valueInfo: {} },
  });
  await call('DELETE', `/process-instance/${pi.id}/variables/b`, undefined, 204);
  const missing = await call('GET', `/process-instance/${pi.id}/variables/b`, undefined, 404);
  assert.deepEqual(missing.body, {
    type: 'InvalidRequestException', message: 'process instance variable with name b does not exist', code: null,
  });
  const unknown = await call('GET', '/process-instance/nope/variables', undefined, 500);
  assert.deepEqual(unknown.body, { type: 'NullValueException', message: "execution nope doesn't exist: execution is null", code: 0 });
  const put = await call('PUT', '/process-instance/nope/variables/x', { value: 1 }, 500);
  assert.equal(put.body.message, "Cannot put process instance variable x: execution nope doesn't exist: execution is null");

  const before = srv.engine.store.dump();
  const bad = await call('POST', `/process-instance/${pi.id}/variables`,
    { modifications: { ok: { value: 1 }, n: { type: 'Integer', value: 'abc' } }, deletions: ['c'] }, 400);
  assert.deepEqual(bad.body, {
    type: 'InvalidRequestException',
    message: "Cannot modify variables for process instance: Cannot convert value 'abc' of type 'Integer' to java type java.lang.Integer",
    code: null,
  });
  const badStart = await call('POST', '/process-definition/key/v/start', { variables: { d: { type: 'Date', value: 'today' } } }, 400);
  assert.equal(badStart.body.message,
    `Cannot instantiate process definition ${def.id}: Cannot convert value 'today' of type 'Date' to java type java.util.Date`);
  assert.equal(srv.engine.store.dump(), before, 'bad variable bodies change nothing');
});

test('history: variable instances and details over HTTP; restart restores last or initial values', async () => {
  const pi = (await start({ amount: { type: 'Integer', value: 10 }, note: { value: 'first' } })).body;
  await call('PUT', `/process-instance/${pi.id}/variables/amount`, { type: 'Integer', value: 20 }, 204);
  await call('PUT', `/process-instance/${pi.id}/variables/note`, { type: 'String', value: 'second' }, 204);
  const vars = (await call('GET', `/history/variable-instance?processInstanceId=${pi.id}&sortBy=variableName&sortOrder=asc`, undefined, 200)).body;
  assert.deepEqual(vars.map((v) => [v.name, v.value, v.state]), [['amount', 20, 'CREATED'], ['note', 'second', 'CREATED']]);
  assert.equal((await call('GET', `/history/variable-instance/count?variableName=amount&variableValue=20`, undefined, 200)).body.count, 1);
  const details = (await call('GET', `/history/detail?processInstanceId=${pi.id}&sortBy=time&sortOrder=asc`, undefined, 200)).body;
  // Sorted here by revision and name: two updates may share a millisecond.
  const rows = details.map((d) => [d.variableName, d.value, d.initial, d.revision])
    .sort((a, b) => a[3] - b[3] || a[0].localeCompare(b[0]));
  assert.deepEqual(rows,
    [['amount', 10, true, 0], ['note', 'first', true, 0], ['amount', 20, false, 1], ['note', 'second', false, 1]]);
  assert.equal((await call('GET', `/history/detail/count?processInstanceId=${pi.id}&initial=true`, undefined, 200)).body.count, 2);

  await call('DELETE', `/process-instance/${pi.id}`, undefined, 204);
  const restartAndRead = async (initialVariables) => {
    await call('POST', `/process-definition/${def.id}/restart`, {
      processInstanceIds: [pi.id], initialVariables, instructions: [{ type: 'startBeforeActivity', activityId: 'work' }],
    }, 204);
    const [fresh] = (await call('GET', `/history/process-instance?unfinished=true`, undefined, 200)).body
      .filter((h) => h.restartedProcessInstanceId === pi.id);
    const values = (await call('GET', `/process-instance/${fresh.id}/variables`, undefined, 200)).body;
    await call('DELETE', `/process-instance/${fresh.id}`, undefined, 204);
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v.value]));
  };
  assert.deepEqual(await restartAndRead(false), { amount: 20, note: 'second' });
  assert.deepEqual(await restartAndRead(true), { amount: 10, note: 'first' });
});

test('GET /history/variable-instance/{id} and /history/detail/{id}: one record, or Camunda\'s 404', async () => {
  const pi = (await start({ amount: { type: 'Integer', value: 7 }, gone: { value: 'x' } })).body;
  await call('DELETE', `/process-instance/${pi.id}/variables/gone`, undefined, 204);
  const [amount] = (await call('GET', `/history/variable-instance?processInstanceId=${pi.id}&variableName=amount`, undefined, 200)).body;
  const one = (await call('GET', `/history/variable-instance/${amount.id}`, undefined, 200)).body;
  assert.deepEqual(one, amount, 'the same DTO as the list');
  // deserializeValue (the single resource's flag) is accepted
  assert.deepEqual((await call('GET', `/history/variable-instance/${amount.id}?deserializeValue=false`, undefined, 200)).body, amount);

  const [gone] = (await call('GET', `/history/variable-instance?processInstanceId=${pi.id}&variableName=gone&includeDeleted=true`, undefined, 200)).body;
  assert.equal(gone.state, 'DELETED');
  for (const id of [gone.id, 'nope']) {
    const r = await call('GET', `/history/variable-instance/${id}`, undefined, 404);
    assert.deepEqual(r.body, { type: 'InvalidRequestException', message: `Historic variable instance with Id '${id}' does not exist.`, code: null });
  }

  const details = (await call('GET', `/history/detail?processInstanceId=${pi.id}`, undefined, 200)).body;
  assert.ok(details.length >= 3);
  for (const d of details) assert.deepEqual((await call('GET', `/history/detail/${d.id}`, undefined, 200)).body, d);
  const r = await call('GET', '/history/detail/nope', undefined, 404);
  assert.deepEqual(r.body, { type: 'InvalidRequestException', message: "Historic detail with Id 'nope' does not exist.", code: null });
});

test('variableNamesIgnoreCase / variableValuesIgnoreCase over HTTP (runtime, historic, variable instances)', async () => {
  const mark = `Case-${Date.now()}`;
  const pi = (await start({ Tag: { value: mark } })).body;
  const body = { variables: [{ name: 'tag', operator: 'eq', value: mark.toLowerCase() }], processInstanceIds: [pi.id] };
  assert.deepEqual((await call('POST', '/process-instance', body, 200)).body, []);
  const found = (await call('POST', '/process-instance', { ...body, variableNamesIgnoreCase: true, variableValuesIgnoreCase: true }, 200)).body;
  assert.deepEqual(found.map((p) => p.id), [pi.id]);
  assert.equal((await call('POST', '/process-instance/count', { ...body, variableNamesIgnoreCase: true, variableValuesIgnoreCase: true }, 200)).body.count, 1);
  const url = `variables=TAG_eq_${encodeURIComponent(mark.toUpperCase())}&processInstanceIds=${pi.id}`;
  assert.deepEqual((await call('GET', `/history/process-instance?${url}&variableNamesIgnoreCase=true`, undefined, 200)).body, []);
  const hist = (await call('GET', `/history/process-instance?${url}&variableNamesIgnoreCase=true&variableValuesIgnoreCase=true`, undefined, 200)).body;
  assert.deepEqual(hist.map((h) => h.id), [pi.id]);
  const vars = (await call('GET', `/history/variable-instance?processInstanceId=${pi.id}&variableName=TAG&variableNamesIgnoreCase=true`, undefined, 200)).body;
  assert.deepEqual(vars.map((v) => v.name), ['Tag']);
});
