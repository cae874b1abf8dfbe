// The batch types of issue 14 and the endpoints next to them, over REST:
// each on success and on a typical error, every response validated against
// Camunda's 7.15 OpenAPI by the fetch helper (tests/support/openapi.js).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { deploy, externalTaskBpmn, startServer } from './support/rest-helpers.js';

let srv;
let api;
before(async () => {
  srv = await startServer({ jobExecutor: false, config: { batchPollTime: 0 } });
  api = srv.api;
  const r = await deploy(api, { 'fam.bpmn': externalTaskBpmn('fam', 'fam') });
  assert.equal(r.status, 200, r.text);
});
after(() => srv.close());

const ok = async (method, path, body, status = 200) => {
  const r = await api(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r.body;
};
const fails = async (method, path, body, status, type, message) => {
  const r = await api(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  assert.equal(r.body.type, type, `${method} ${path}: ${r.text}`);
  if (message !== undefined) assert.equal(r.body.message, message);
  return r.body;
};
/** Runs a batch to its end by executing its own seed, execution and monitor jobs. */
async function runBatch(batch) {
  const own = new Set([batch.seedJobDefinitionId, batch.batchJobDefinitionId, batch.monitorJobDefinitionId]);
  for (let i = 0; i < 50; i++) {
    const jobs = (await ok('GET', '/job')).filter((j) => own.has(j.jobDefinitionId));
    if (!jobs.length) break;
    for (const j of jobs) await ok('POST', `/job/${j.id}/execute`, undefined, 204);
  }
  await fails('GET', `/batch/${batch.id}`, undefined, 404, 'InvalidRequestException', `Batch with id '${batch.id}' does not exist`);
}
async function start(n, prefix) {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push((await ok('POST', '/process-definition/key/fam/start', { businessKey: `${prefix}${i}` })).id);
  return ids;
}

test('POST /process-instance/delete and delete-historic-query-based: instance-deletion batches', async () => {
  const pis = await start(3, 'del');
  const batch = await ok('POST', '/process-instance/delete', { processInstanceIds: [pis[0]], processInstanceQuery: { businessKey: 'del1' }, deleteReason: 'r' });
  assert.equal(batch.type, 'instance-deletion');
  assert.equal(batch.totalJobs, 2);
  await runBatch(batch);
  const hist = await ok('GET', `/history/process-instance/${pis[0]}`);
  assert.deepEqual([hist.state, hist.deleteReason], ['EXTERNALLY_TERMINATED', 'r']);
  const byHistory = await ok('POST', '/process-instance/delete-historic-query-based', { historicProcessInstanceQuery: { processInstanceBusinessKey: 'del2' } });
  await runBatch(byHistory);
  assert.equal((await ok('GET', '/process-instance/count?businessKeyLike=del%25')).count, 0);
  await fails('POST', '/process-instance/delete', { processInstanceIds: [] }, 400, 'InvalidRequestException', 'processInstanceIds is empty');
  await fails('POST', '/process-instance/delete-historic-query-based', {}, 400, 'InvalidRequestException', 'processInstanceIds is empty');
});

test('suspension over REST: suspended-async, PUT /process-instance/suspended and /{id}/suspended, PUT /process-definition/{id}/suspended', async () => {
  const pis = await start(3, 'sus');
  const batch = await ok('POST', '/process-instance/suspended-async', { suspended: true, processInstanceQuery: { businessKeyLike: 'sus%' } });
  assert.equal(batch.type, 'instance-update-suspension-state');
  assert.equal(batch.totalJobs, 3);
  await runBatch(batch);
  assert.ok((await ok('GET', `/process-instance/${pis[0]}`)).suspended);
  await ok('PUT', '/process-instance/suspended', { suspended: false, processInstanceIds: [pis[0]] }, 204);
  await ok('PUT', `/process-instance/${pis[1]}/suspended`, { suspended: false }, 204);
  assert.equal((await ok('GET', '/process-instance?suspended=true&businessKeyLike=sus%25')).length, 1);
  await fails('POST', '/process-instance/suspended-async', { suspended: true }, 400, 'InvalidRequestException',
    'Either processInstanceIds, processInstanceQuery or historicProcessInstanceQuery should be set to update the suspension state.');
  await fails('PUT', '/process-instance/suspended', { suspended: true, processInstanceIds: [] }, 400, 'BadUserRequestException',
    'No process instance ids given: Process Instance ids is empty');
  const [def] = await ok('GET', '/process-definition?key=fam');
  await ok('PUT', `/process-definition/${def.id}/suspended`, { suspended: true, includeProcessInstances: true }, 204);
  assert.ok((await ok('GET', `/process-definition/${def.id}`)).suspended);
  await ok('PUT', '/process-definition/suspended', { processDefinitionKey: 'fam', suspended: false, includeProcessInstances: true }, 204);
  assert.equal((await ok('GET', '/process-instance?suspended=true')).length, 0);
  await fails('PUT', `/process-definition/${def.id}/suspended`, { suspended: true, executionDate: 'soon' }, 400, 'InvalidRequestException',
    `The suspension state of Process Definition with id ${def.id} could not be updated due to: Invalid format: "soon"`);
  await fails('PUT', '/process-definition/suspended', { processDefinitionId: def.id, suspended: true }, 400, 'InvalidRequestException',
    'Only processDefinitionKey can be set to update the suspension state.');
});

test('POST /process-instance/variables-async: a set-variables batch', async () => {
  const pis = await start(2, 'var');
  const batch = await ok('POST', '/process-instance/variables-async', {
    processInstanceQuery: { businessKeyLike: 'var%' },
    variables: { approved: { value: true, type: 'Boolean' } },
  });
  assert.equal(batch.type, 'set-variables');
  assert.equal(batch.totalJobs, 2);
  await runBatch(batch);
  for (const id of pis) assert.deepEqual(await ok('GET', `/process-instance/${id}/variables/approved`), { type: 'Boolean', value: true, valueInfo: {} });
  await fails('POST', '/process-instance/variables-async', { processInstanceIds: pis }, 400, 'InvalidRequestException', 'variables is null');
  await fails('POST', '/process-instance/variables-async', { processInstanceIds: ['nope'], variables: { a: { value: 1 } } }, 400,
    'BadUserRequestException', 'processInstanceIds is empty');
});

test('POST /history/process-instance/delete and DELETE /history/process-instance/{id}', async () => {
  const pis = await start(3, 'hist');
  for (const id of pis) await ok('DELETE', `/process-instance/${id}`, undefined, 204);
  const batch = await ok('POST', '/history/process-instance/delete', { historicProcessInstanceIds: [pis[0], pis[1]], deleteReason: 'old' });
  assert.equal(batch.type, 'historic-instance-deletion');
  await runBatch(batch);
  await fails('GET', `/history/process-instance/${pis[0]}`, undefined, 404, 'InvalidRequestException');
  await ok('DELETE', `/history/process-instance/${pis[2]}`, undefined, 204);
  await fails('DELETE', `/history/process-instance/${pis[2]}`, undefined, 404, 'InvalidRequestException',
    `Historic process instance with id ${pis[2]} does not exist`);
  await ok('DELETE', `/history/process-instance/${pis[2]}?failIfNotExists=false`, undefined, 204);
  await fails('POST', '/history/process-instance/delete', {}, 400, 'InvalidRequestException', 'historicProcessInstanceIds is empty');
});

test('the endpoints next to the batches: restart by key, DELETE /job/{id}, job definition retries and suspension, GET /deployment/{id}', async () => {
  const [def] = await ok('GET', '/process-definition?key=fam&latestVersion=true');
  const pis = await start(2, 'key');
  for (const id of pis) await ok('DELETE', `/process-instance/${id}`, undefined, 204);
  const instructions = [{ type: 'startBeforeActivity', activityId: 'work' }];
  await ok('POST', '/process-definition/key/fam/restart', { processInstanceIds: [pis[0]], instructions }, 204);
  const batch = await ok('POST', '/process-definition/key/fam/restart-async', { processInstanceIds: [pis[1]], instructions });
  assert.equal(batch.type, 'instance-restart');
  await runBatch(batch);
  assert.equal((await ok('GET', '/history/process-instance?processInstanceBusinessKeyLike=key%25&unfinished=true')).length, 2, 'both restarted');
  await fails('POST', '/process-definition/key/nope/restart-async', { processInstanceIds: [pis[1]], instructions }, 404, 'RestException',
    'No matching process definition with key: nope and no tenant-id');

  // a seed job to delete, job definitions to suspend and retry
  const other = await ok('POST', '/process-instance/suspended-async', { suspended: false, processInstanceIds: [pis[0]] });
  const [seed] = (await ok('GET', '/job')).filter((j) => j.jobDefinitionId === other.seedJobDefinitionId);
  await ok('DELETE', `/job/${seed.id}`, undefined, 204);
  await fails('DELETE', `/job/${seed.id}`, undefined, 404, 'InvalidRequestException', `No job found with id '${seed.id}': job is null`);
  await ok('PUT', `/job-definition/${other.monitorJobDefinitionId}/retries`, { retries: 2 }, 204);
  await ok('PUT', `/job-definition/${other.seedJobDefinitionId}/suspended`, { suspended: true, includeJobs: true }, 204);
  const [jd] = (await ok('GET', `/job-definition?jobDefinitionId=${other.seedJobDefinitionId}`));
  assert.equal(jd.suspended, true);
  await ok('PUT', '/job-definition/suspended', { processDefinitionId: def.id, suspended: false }, 204);
  await ok('PUT', '/job/suspended', { processDefinitionKey: 'fam', suspended: false }, 204);
  await fails('PUT', '/job-definition/suspended', { suspended: true }, 400, 'InvalidRequestException',
    'Either jobDefinitionId, processDefinitionId or processDefinitionKey should be set to update the suspension state.');
  await ok('DELETE', `/batch/${other.id}`, undefined, 204);

  const deployment = await ok('GET', `/deployment/${def.deploymentId}`);
  assert.equal(deployment.id, def.deploymentId);
  await fails('GET', '/deployment/nope', undefined, 404, 'InvalidRequestException', "Deployment with id 'nope' does not exist");
});

test('POST /history/process-instance/set-removal-time and POST /history/cleanup', async () => {
  const pis = await start(2, 'rt');
  for (const id of pis) await ok('DELETE', `/process-instance/${id}`, undefined, 204);
  const batch = await ok('POST', '/history/process-instance/set-removal-time', {
    historicProcessInstanceQuery: { processInstanceBusinessKeyLike: 'rt%' },
    absoluteRemovalTime: '2000-01-01T00:00:00.000+0000',
  });
  assert.equal(batch.type, 'process-set-removal-time');
  await runBatch(batch);
  assert.equal((await ok('GET', `/history/process-instance/${pis[0]}`)).removalTime, '2000-01-01T00:00:00.000+0000');
  await fails('GET', '/history/cleanup/job', undefined, 404, 'RestException', 'History cleanup job does not exist');
  const job = await ok('POST', '/history/cleanup');
  assert.equal((await ok('GET', '/history/cleanup/job')).id, job.id);
  assert.deepEqual((await ok('GET', '/history/cleanup/jobs')).map((j) => j.id), [job.id]);
  assert.deepEqual(await ok('GET', '/history/cleanup/configuration'), { batchWindowStartTime: null, batchWindowEndTime: null, enabled: true });
  await ok('POST', `/job/${job.id}/execute`, undefined, 204);
  assert.equal((await ok('GET', '/history/process-instance?processInstanceBusinessKeyLike=rt%25')).length, 0);
  await fails('POST', '/history/process-instance/set-removal-time', { historicProcessInstanceIds: pis }, 400, 'BadUserRequestException',
    'removalTime is null');
});

test('POST /history/batch/set-removal-time and PUT /process-definition/{id}/history-time-to-live', async () => {
  const [def] = await ok('GET', '/process-definition?key=fam&latestVersion=true');
  await ok('PUT', `/process-definition/${def.id}/history-time-to-live`, { historyTimeToLive: 7 }, 204);
  assert.equal((await ok('GET', `/process-definition/${def.id}`)).historyTimeToLive, 7);
  await fails('PUT', `/process-definition/${def.id}/history-time-to-live`, { historyTimeToLive: -1 }, 400, 'BadUserRequestException',
    'historyTimeToLive is not greater than or equal to 0');
  const [done] = await ok('GET', '/history/batch?completed=true');
  const batch = await ok('POST', '/history/batch/set-removal-time', { historicBatchIds: [done.id], absoluteRemovalTime: '2100-01-01T00:00:00.000+0000' });
  assert.equal(batch.type, 'batch-set-removal-time');
  await runBatch(batch);
  assert.equal((await ok('GET', `/history/batch/${done.id}`)).removalTime, '2100-01-01T00:00:00.000+0000');
  await fails('POST', '/history/batch/set-removal-time', { historicBatchIds: [done.id] }, 400, 'BadUserRequestException', 'removalTime is null');
});

test('by key: PUT /process-definition/key/{key}/suspended and /history-time-to-live', async () => {
  await ok('PUT', '/process-definition/key/fam/suspended', { suspended: true }, 204);
  assert.equal((await ok('GET', '/process-definition/key/fam')).suspended, true);
  await ok('PUT', '/process-definition/key/fam/suspended', { suspended: false }, 204);
  await ok('PUT', '/process-definition/key/fam/history-time-to-live', { historyTimeToLive: 4 }, 204);
  assert.equal((await ok('GET', '/process-definition/key/fam')).historyTimeToLive, 4);
  await ok('PUT', '/process-definition/key/fam/history-time-to-live', { historyTimeToLive: null }, 204);
  await fails('PUT', '/process-definition/key/nope/suspended', { suspended: true }, 404, 'RestException',
    'No matching process definition with key: nope and no tenant-id');
});
