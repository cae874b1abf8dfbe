// POST /deployment/create: duplicate filtering (enable-duplicate-filtering,
// deploy-changed-only) as Camunda's DeployCmd does it, and resources that
// are not BPMN. Responses are validated against the 7.15 OpenAPI by the
// fetch helper.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { deploy, externalTaskBpmn, startServer } from './support/rest-helpers.js';

let srv;
let api;
before(async () => {
  srv = await startServer({ jobExecutor: false });
  api = srv.api;
});
after(() => srv.close());

const FILTER = { 'enable-duplicate-filtering': 'true' };
const CHANGED_ONLY = { 'deploy-changed-only': 'true' };
const definitions = async (key) => (await api('GET', `/process-definition?key=${key}&sortBy=version&sortOrder=asc`)).body;
const deployments = async (name) => (await api('GET', `/deployment?name=${name}`)).body;

test('enable-duplicate-filtering: unchanged resources answer the earlier deployment, one change deploys all', async () => {
  const files = { 'a.bpmn': externalTaskBpmn('dupA', 'a'), 'b.bpmn': externalTaskBpmn('dupB', 'b') };
  const first = await deploy(api, files, { name: 'dup', fields: FILTER });
  assert.equal(first.status, 200, first.text);
  assert.equal(Object.keys(first.body.deployedProcessDefinitions).length, 2);

  const again = await deploy(api, files, { name: 'dup', fields: FILTER });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.id, first.body.id, 'the earlier deployment is the answer');
  assert.equal(again.body.deployedProcessDefinitions, null, 'a loaded deployment deploys nothing');
  assert.equal(again.body.links[0].href.endsWith(`/deployment/${first.body.id}`), true);
  assert.equal((await deployments('dup')).length, 1);
  assert.equal((await definitions('dupA')).length, 1);

  // Without the flag the same resources make a new deployment and new versions.
  const plain = await deploy(api, files, { name: 'dup' });
  assert.notEqual(plain.body.id, first.body.id);
  assert.equal((await definitions('dupA')).length, 2);

  // One resource changed: without deploy-changed-only every resource is deployed again.
  const changed = { ...files, 'b.bpmn': externalTaskBpmn('dupB', 'b2') };
  const third = await deploy(api, changed, { name: 'dup', fields: FILTER });
  assert.notEqual(third.body.id, plain.body.id);
  assert.deepEqual(Object.values(third.body.deployedProcessDefinitions).map((d) => [d.key, d.version]).sort(),
    [['dupA', 3], ['dupB', 3]]);

  // Another deployment name, source or tenant is not a duplicate.
  const other = await deploy(api, changed, { name: 'dup-other', fields: FILTER });
  assert.equal(Object.keys(other.body.deployedProcessDefinitions).length, 2);
  const sourced = await deploy(api, changed, { name: 'dup', source: 'modeler', fields: FILTER });
  assert.equal(Object.keys(sourced.body.deployedProcessDefinitions).length, 2);
});

test('deploy-changed-only: only new and changed resources are deployed (and implies filtering)', async () => {
  const files = { 'x.bpmn': externalTaskBpmn('chgX', 'x'), 'y.bpmn': externalTaskBpmn('chgY', 'y') };
  const first = await deploy(api, files, { name: 'chg', fields: CHANGED_ONLY });
  assert.equal(Object.keys(first.body.deployedProcessDefinitions).length, 2);
  const same = await deploy(api, files, { name: 'chg', fields: CHANGED_ONLY });
  assert.equal(same.body.id, first.body.id);

  const next = await deploy(api, { ...files, 'y.bpmn': externalTaskBpmn('chgY', 'y2'), 'z.bpmn': externalTaskBpmn('chgZ', 'z') },
    { name: 'chg', fields: CHANGED_ONLY });
  assert.notEqual(next.body.id, first.body.id);
  assert.deepEqual(Object.values(next.body.deployedProcessDefinitions).map((d) => [d.key, d.version]).sort(),
    [['chgY', 2], ['chgZ', 1]]);
  assert.equal((await definitions('chgX')).length, 1, 'the unchanged resource stays where it was');

  // The latest version of each resource is what a later deployment is compared with.
  const back = await deploy(api, { 'y.bpmn': externalTaskBpmn('chgY', 'y2') }, { name: 'chg', fields: CHANGED_ONLY });
  assert.equal(back.body.id, next.body.id);
});

test('resources that are not BPMN are accepted and take part in duplicate filtering', async () => {
  const form = '{"components":[]}';
  const only = await deploy(api, { 'invoice.form': form }, { name: 'forms', fields: FILTER });
  assert.equal(only.status, 200, only.text);
  assert.deepEqual(only.body.deployedProcessDefinitions, {});
  assert.equal((await deployments('forms')).length, 1);
  const same = await deploy(api, { 'invoice.form': form }, { name: 'forms', fields: FILTER });
  assert.equal(same.body.id, only.body.id);
  const edited = await deploy(api, { 'invoice.form': '{"components":[1]}' }, { name: 'forms', fields: FILTER });
  assert.notEqual(edited.body.id, only.body.id);

  const mixed = await deploy(api, { 'm.bpmn': externalTaskBpmn('mixed', 'm'), 'notes.txt': 'hello' }, { name: 'mixed' });
  assert.equal(mixed.status, 200, mixed.text);
  assert.deepEqual(Object.values(mixed.body.deployedProcessDefinitions).map((d) => d.resource), ['m.bpmn']);
});
