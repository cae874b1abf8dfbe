// Drives every issue-4 endpoint at least once, on success and on a typical
// error; the fetch helper validates each response against Camunda's 7.15
// OpenAPI (tests/support/openapi.js). What the 7.15 spec lacks (GET
// /history/batch, GET /job-definition, batch startTime/executionStartTime,
// job retries dueDate, the error `code`) is asserted explicitly here, per
// ../shared/reference/camunda-semantics.md.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { CAMUNDA_DATE, EXEMPT, OVERRIDES, seen, validateResponse } from './support/openapi.js';
import { deploy, externalTaskBpmn, startServer } from './support/rest-helpers.js';

let srv;
let api;
before(async () => {
  srv = await startServer({ jobExecutor: false, config: { batchPollTime: 0 } });
  api = srv.api;
});
after(() => srv.close());
const ok = async (method, path, body, status = 200) => {
  const r = await api(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r.body;
};
/**
 * An expected error: the exact status and `type` Camunda answers (the
 * fetch helper validates the body as an ExceptionDto), and the message when
 * given (a string for equality, a RegExp to match).
 */
const fails = async (method, path, body, status, type, message) => {
  const r = await api(method, path, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  assert.equal(r.body.type, type, `${method} ${path}: ${r.text}`);
  if (typeof message === 'string') assert.equal(r.body.message, message);
  else if (message) assert.match(r.body.message, message);
  assert.ok('code' in r.body, 'the error body carries `code` (7.18+, camunda-semantics.md §1.1)');
  assert.ok(r.body.code === null || Number.isInteger(r.body.code));
  return r.body;
};
/** Executes due jobs (all, or those `pick` accepts) until none is left; there is no job executor in this server. */
async function drain(pick = () => true) {
  for (let i = 0; i < 50; i++) {
    const jobs = (await ok('GET', '/job?executable=true')).filter(pick);
    if (!jobs.length) return;
    for (const j of jobs) await ok('POST', `/job/${j.id}/execute`, undefined, 204);
  }
  throw new Error('jobs did not drain');
}
/**
 * Runs a batch to its end by executing only its own seed, execution and
 * monitor jobs (batchPollTime is 0: a monitor job is due at once), so other
 * due jobs cannot change what its execution jobs find.
 */
async function runBatch(batch) {
  const own = new Set([batch.seedJobDefinitionId, batch.batchJobDefinitionId, batch.monitorJobDefinitionId]);
  await drain((j) => own.has(j.jobDefinitionId));
  await fails('GET', `/batch/${batch.id}`, undefined, 404, 'InvalidRequestException', `Batch with id '${batch.id}' does not exist`);
}
/** Starts n instances of `oa`: each waits in its asyncBefore job. */
async function startOa(n) {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push((await ok('POST', '/process-definition/key/oa/start', { businessKey: `b${i}` })).id);
  return ids;
}

let def;
let pis;
test('engine, version, deployments and process definitions', async () => {
  assert.deepEqual(await ok('GET', '/engine'), [{ name: 'default' }]);
  await ok('GET', '/version');
  const d = await deploy(api, { 'oa.bpmn': externalTaskBpmn('oa', 'oa', { asyncBefore: true }) }, { name: 'oa' });
  assert.equal(d.status, 200, d.text);
  assert.match(d.body.deploymentTime, CAMUNDA_DATE);
  [def] = Object.values(d.body.deployedProcessDefinitions);
  const empty = await deploy(api, {});
  assert.equal(empty.status, 400);
  assert.equal(empty.body.type, 'InvalidRequestException');
  const bad = await deploy(api, { 'bad.bpmn': '<not-bpmn' });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.body.type, 'ParseException');
  await ok('GET', '/deployment');
  await fails('DELETE', '/deployment/nope', undefined, 404, 'InvalidRequestException', "Deployment with id 'nope' do not exist");
  await ok('GET', '/process-definition');
  await ok('GET', `/process-definition/${def.id}`);
  await fails('GET', '/process-definition/nope', undefined, 404, 'InvalidRequestException', 'No matching definition with id nope');
  await ok('GET', '/process-definition/key/oa');
  await fails('GET', '/process-definition/key/nope', undefined, 404, 'RestException',
    'No matching process definition with key: nope and no tenant-id');
  await fails('POST', '/process-definition/key/nope/start', {}, 404, 'RestException',
    'No matching process definition with key: nope and no tenant-id');
  await fails('POST', '/process-definition/nope/start', {}, 500, 'RestException', /^Cannot instantiate process definition nope: /);
  pis = await startOa(3);
  const withVars = await ok('POST', `/process-definition/${def.id}/start`, {
    variables: { a: { value: 1, type: 'Integer' } },
    withVariablesInReturn: true,
  });
  assert.equal(withVars.variables.a.value, 1);
  await ok('DELETE', `/process-instance/${withVars.id}`, undefined, 204);
  const scratch = await deploy(api, { 'scratch.bpmn': externalTaskBpmn('scratch', 'scratch') });
  await ok('DELETE', `/deployment/${scratch.body.id}`, undefined, 204);
});

test('process instances and their history', async () => {
  await ok('GET', '/process-instance');
  assert.equal((await ok('POST', '/process-instance', { processInstanceIds: pis })).length, 3);
  assert.equal((await ok('GET', '/process-instance/count')).count, 3);
  await ok('POST', '/process-instance/count', {});
  await ok('GET', `/process-instance/${pis[0]}`);
  await fails('GET', '/process-instance/nope', undefined, 404, 'InvalidRequestException',
    'Process instance with id nope does not exist');
  await fails('DELETE', '/process-instance/nope', undefined, 404, 'InvalidRequestException',
    "No process instance found for id 'nope': processInstance is null");
  await fails('POST', '/process-instance', { sortBy: 'nope', sortOrder: 'asc' }, 400, 'InvalidRequestException');
  const h = await ok('GET', '/history/process-instance');
  assert.match(h[0].startTime, CAMUNDA_DATE);
  await ok('POST', '/history/process-instance', { processInstanceIds: pis });
  await ok('GET', '/history/process-instance/count');
  await ok('POST', '/history/process-instance/count', {});
  await fails('GET', '/history/process-instance?sortBy=nope&sortOrder=asc', undefined, 400, 'InvalidRequestException');
});

test('jobs and job definitions (GET /job-definition is not in 7.15: checked here); dueDate', async () => {
  const jobs = await ok('GET', `/job?processInstanceId=${pis[0]}`);
  assert.equal(jobs.length, 1);
  assert.equal((await ok('POST', '/job', { processInstanceId: pis[0] })).length, 1);
  assert.equal((await ok('GET', '/job/count')).count, 3);
  assert.equal((await ok('POST', '/job/count', { processInstanceId: pis[0] })).count, 1);
  await ok('GET', `/job/${jobs[0].id}`);
  await fails('GET', '/job/nope', undefined, 404, 'InvalidRequestException', 'Job with id nope does not exist');
  await fails('PUT', '/job/nope/retries', { retries: 1 }, 500, 'InvalidRequestException',
    "ENGINE-13053 No job found with id 'nope'.'");
  await fails('POST', '/job/nope/execute', undefined, 404, 'InvalidRequestException', /nope/);
  await fails('GET', '/job?sortBy=nope&sortOrder=asc', undefined, 400, 'InvalidRequestException');

  const defs = await ok('GET', '/job-definition');
  const jd = defs.find((x) => x.id === jobs[0].jobDefinitionId);
  assert.ok(jd, 'the job definition of the asyncBefore job');
  assert.deepEqual(Object.keys(jd).slice(0, 9), ['id', 'processDefinitionId', 'processDefinitionKey', 'jobType',
    'jobConfiguration', 'activityId', 'suspended', 'overridingJobPriority', 'tenantId']);
  assert.equal(jd.jobType, 'async-continuation');
  assert.equal(jd.jobConfiguration, 'async-before');
  assert.equal(jd.processDefinitionKey, 'oa');

  // dueDate (REST 7.19+, camunda-semantics.md §2.12): a date is set, null clears, absent leaves it.
  const due = '2031-01-02T03:04:05.000+0000';
  await ok('PUT', `/job/${jobs[0].id}/retries`, { retries: 4, dueDate: due }, 204);
  let job = await ok('GET', `/job/${jobs[0].id}`);
  assert.equal(job.retries, 4);
  assert.equal(Date.parse(job.dueDate.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')), Date.parse('2031-01-02T03:04:05Z'));
  await ok('PUT', `/job/${jobs[0].id}/retries`, { retries: 5 }, 204);
  job = await ok('GET', `/job/${jobs[0].id}`);
  assert.match(job.dueDate, CAMUNDA_DATE, 'absent dueDate leaves it untouched');
  await ok('PUT', `/job/${jobs[0].id}/retries`, { retries: 5, dueDate: null }, 204);
  assert.equal((await ok('GET', `/job/${jobs[0].id}`)).dueDate, null, 'null clears the due date');

  // POST /job/retries: by ids, and by a jobQuery (operaton/web-apps retries failed batch jobs that way).
  const b = await ok('POST', '/job/retries', { jobIds: [jobs[0].id], retries: 3 });
  assert.equal(b.type, 'set-job-retries');
  assert.equal(b.totalJobs, 1);
  await runBatch(b);
  assert.equal((await ok('GET', `/job/${jobs[0].id}`)).retries, 3);
  const q = await ok('POST', '/job/retries', { jobQuery: { processInstanceId: pis[1] }, retries: 7 });
  assert.equal(q.totalJobs, 1);
  await runBatch(q);
  assert.equal((await ok('GET', `/job?processInstanceId=${pis[1]}`))[0].retries, 7);
  await fails('POST', '/job/retries', { retries: 3 }, 500, 'ProcessEngineException',
    'ENGINE-13050 You must specify at least one of jobIds or jobQuery.');
  await fails('POST', '/job/retries', { jobIds: [jobs[0].id] }, 400, 'InvalidRequestException', 'retries is null');
  await fails('POST', '/job/retries', { jobQuery: { processInstanceId: 'nope' }, retries: 1 }, 400,
    'InvalidRequestException', 'jobIds is empty');
  // Explicit unknown ids are kept and fail at execution: POST /job/{id}/execute answers the engine's
  // exception as JobResourceImpl does, 404 InvalidRequestException.
  const gone = await ok('POST', '/job/retries', { jobIds: ['gone'], retries: 1 });
  const seed = (await ok('GET', `/job?jobDefinitionId=${gone.seedJobDefinitionId}`))[0];
  await ok('POST', `/job/${seed.id}/execute`, undefined, 204);
  const [exec] = await ok('GET', `/job?jobDefinitionId=${gone.batchJobDefinitionId}`);
  await fails('POST', `/job/${exec.id}/execute`, undefined, 404, 'InvalidRequestException',
    "ENGINE-13053 No job found with id 'gone'.'");
  assert.equal((await ok('GET', `/job/${exec.id}`)).retries, 2, 'the failure is recorded');
  await ok('DELETE', `/batch/${gone.id}`, undefined, 204);
  await drain();
  assert.equal((await ok('GET', '/job/count')).count, 0, 'asyncBefore jobs and the batches ran');
  assert.equal((await ok('GET', '/external-task/count')).count, 3, 'each instance waits in its external task');
});

let t0;
let t1;
let t2;
test('external tasks: query, fetchAndLock, failure, retries (sync and async), unlock, extendLock, complete', async () => {
  const all = await ok('GET', '/external-task?topicName=oa');
  assert.equal(all.length, 3);
  await ok('POST', '/external-task', { topicName: 'oa' });
  await ok('GET', '/external-task/count');
  await ok('POST', '/external-task/count', {});
  await ok('GET', `/external-task/${all[0].id}`);
  await fails('GET', '/external-task/nope', undefined, 404, 'RestException', 'External task with id nope does not exist');
  const locked = await ok('POST', '/external-task/fetchAndLock', {
    workerId: 'w', maxTasks: 3, topics: [{ topicName: 'oa', lockDuration: 60000 }],
  });
  assert.equal(locked.length, 3);
  assert.match(locked[0].lockExpirationTime, CAMUNDA_DATE);
  // FetchAndLockHandlerImpl resumes the engine's exception as it is: 500 NullValueException.
  await fails('POST', '/external-task/fetchAndLock', { maxTasks: 1 }, 500, 'NullValueException', 'workerId is null');
  [t0, t1, t2] = locked.map((t) => t.id);
  await ok('POST', `/external-task/${t0}/extendLock`, { workerId: 'w', newDuration: 60000 }, 204);
  // ExternalTaskResourceImpl: a wrong worker is a 400 RestException, an unknown task a 404 RestException.
  await fails('POST', `/external-task/${t0}/extendLock`, { workerId: 'other', newDuration: 1000 }, 400,
    'RestException', `The lock of the External Task ${t0} cannot be extended by worker 'other''. It is locked by worker 'w'.`);
  await fails('POST', '/external-task/nope/extendLock', { workerId: 'w', newDuration: 1 }, 404,
    'RestException', 'External task with id nope does not exist');
  await ok('POST', `/external-task/${t0}/failure`, { workerId: 'w', errorMessage: 'x', retries: 0, retryTimeout: 0 }, 204);
  await fails('POST', `/external-task/${t1}/failure`, { workerId: 'other', retries: 0 }, 400, 'RestException',
    /locked by worker 'w'/);
  await fails('POST', '/external-task/nope/failure', { workerId: 'w', retries: 0 }, 404, 'RestException',
    'External task with id nope does not exist');
  const inc = await ok('GET', '/incident');
  assert.equal(inc.length, 1);
  assert.equal(inc[0].incidentType, 'failedExternalTask');
  assert.equal(inc[0].configuration, t0);
  assert.match(inc[0].incidentTimestamp, CAMUNDA_DATE);
  assert.equal((await ok('GET', '/incident/count')).count, 1);
  await fails('GET', '/incident?sortBy=nope&sortOrder=asc', undefined, 400, 'InvalidRequestException');

  await ok('PUT', `/external-task/${t0}/retries`, { retries: 1 }, 204);
  assert.equal((await ok('GET', '/incident/count')).count, 0, 'retries above 0 resolve the incident');
  await fails('PUT', '/external-task/nope/retries', { retries: 1 }, 404, 'RestException',
    'External task with id nope does not exist');
  await ok('PUT', '/external-task/retries', { externalTaskIds: [t0], retries: 2 }, 204);
  assert.equal((await ok('GET', `/external-task/${t0}`)).retries, 2);
  await fails('PUT', '/external-task/retries', { externalTaskIds: [t0] }, 400, 'InvalidRequestException',
    'The number of retries cannot be null.');
  await fails('PUT', '/external-task/retries', { externalTaskIds: ['nope'], retries: 1 }, 404, 'InvalidRequestException',
    'Cannot find external task with id nope: externalTask is null');
  const batch = await ok('POST', '/external-task/retries-async', { externalTaskIds: [t0, t1], retries: 3 });
  assert.equal(batch.type, 'set-external-task-retries');
  assert.equal(batch.totalJobs, 2);
  await fails('POST', '/external-task/retries-async', { retries: 3 }, 400, 'InvalidRequestException', 'externalTaskIds is empty');
  await runBatch(batch);
  assert.equal((await ok('GET', `/external-task/${t1}`)).retries, 3);
  assert.equal((await ok('GET', `/external-task/${t0}`)).retries, 3);

  await ok('POST', `/external-task/${t2}/unlock`, undefined, 204);
  assert.equal((await ok('GET', `/external-task/${t2}`)).workerId, null);
  await fails('POST', '/external-task/nope/unlock', undefined, 404, 'RestException', 'External task with id nope does not exist');
  await ok('POST', `/external-task/${t1}/complete`, { workerId: 'w' }, 204);
  await fails('POST', `/external-task/${t2}/complete`, { workerId: 'w' }, 400, 'RestException', /locked by worker 'null'/);
  await fails('POST', '/external-task/nope/complete', { workerId: 'w' }, 404, 'RestException',
    'External task with id nope does not exist');
  assert.equal((await ok('GET', `/history/process-instance?processInstanceId=${locked[1].processInstanceId}`))[0].state,
    'COMPLETED', 'the completed task moved its instance to the end');
});

test('the seed batches, batch resources and historic batches (not in 7.15: checked here)', async () => {
  const [p1, p2] = await startOa(2);
  const jb = await ok('POST', '/process-instance/job-retries', { processInstances: [p1], retries: 2 });
  // BatchDto, camunda-semantics.md §2.11: startTime a date, executionStartTime null until the seed runs.
  assert.match(jb.startTime, CAMUNDA_DATE);
  assert.equal(jb.executionStartTime, null);
  assert.equal(jb.jobsCreated, 0);
  assert.equal(jb.suspended, false);
  assert.equal(jb.totalJobs, 1);
  await fails('POST', '/process-instance/job-retries', { retries: 2 }, 500, 'ProcessEngineException',
    'ENGINE-13051 You must specify at least one of or one of processInstanceIds, processInstanceQuery, or historicProcessInstanceQuery.');
  await fails('POST', '/process-instance/job-retries', { processInstances: [p1] }, 400, 'InvalidRequestException', 'retries is null');
  await fails('POST', '/process-instance/job-retries', { processInstances: ['nope'], retries: 1 }, 400,
    'InvalidRequestException', 'jobIds is empty');
  const hb = await ok('POST', '/process-instance/job-retries-historic-query-based', { processInstances: [p2], retries: 4 });
  assert.equal(hb.totalJobs, 1);
  await fails('POST', '/process-instance/job-retries-historic-query-based', { processInstances: [p2] }, 400,
    'InvalidRequestException', 'retries is null'); // 500 NullPointerException upstream: docs/compatibility.md

  assert.ok((await ok('GET', '/batch')).some((x) => x.id === jb.id));
  assert.equal((await ok('GET', '/batch/count')).count, 2);
  const one = await ok('GET', `/batch/${jb.id}`);
  assert.match(one.startTime, CAMUNDA_DATE);
  assert.equal(one.executionStartTime, null);
  await fails('GET', '/batch/nope', undefined, 404, 'InvalidRequestException', "Batch with id 'nope' does not exist");
  // camunda-bpm-sdk-js asks for the statistics with a trailing slash.
  const stats = await ok('GET', '/batch/statistics/');
  assert.equal(stats.length, 2);
  assert.ok(stats.every((s) => CAMUNDA_DATE.test(s.startTime) && s.executionStartTime === null && s.remainingJobs === 1));
  assert.deepEqual(await ok('GET', '/batch/statistics'), stats);
  assert.equal((await ok('GET', '/batch/statistics/count')).count, 2);
  await fails('GET', '/batch/statistics?sortBy=nope&sortOrder=asc', undefined, 400, 'InvalidRequestException');
  await ok('PUT', `/batch/${hb.id}/suspended`, { suspended: true }, 204);
  assert.equal((await ok('GET', `/batch/${hb.id}`)).suspended, true);
  await fails('PUT', '/batch/nope/suspended', { suspended: true }, 400, 'InvalidRequestException',
    "Unable to suspend batch with id 'nope'");
  await fails('PUT', '/batch/nope/suspended', { suspended: false }, 400, 'InvalidRequestException',
    "Unable to activate batch with id 'nope'");
  await ok('PUT', `/batch/${hb.id}/suspended`, { suspended: false }, 204);

  // HistoricBatchDto (camunda-semantics.md §2.11): no jobsCreated/suspended; startTime/endTime/removalTime/executionStartTime.
  const hist = await ok('GET', '/history/batch');
  const h = hist.find((x) => x.id === jb.id);
  assert.deepEqual(Object.keys(h).slice(0, 14), ['id', 'type', 'totalJobs', 'batchJobsPerSeed', 'invocationsPerBatchJob',
    'seedJobDefinitionId', 'monitorJobDefinitionId', 'batchJobDefinitionId', 'tenantId', 'createUserId', 'startTime',
    'endTime', 'removalTime', 'executionStartTime']);
  assert.equal(h.endTime, null);
  assert.ok(!('jobsCreated' in h) && !('suspended' in h));
  assert.equal((await ok('GET', '/history/batch/count')).count >= 2, true);
  await ok('GET', `/history/batch/${hb.id}`);
  await fails('GET', '/history/batch/nope', undefined, 404, 'InvalidRequestException',
    "Historic batch with id 'nope' does not exist");
  await fails('DELETE', '/history/batch/nope', undefined, 400, 'InvalidRequestException',
    "Unable to delete historic batch with id 'nope'");

  await runBatch(jb);
  await runBatch(hb);
  const byPi = async (pi) => (await ok('GET', `/job?processInstanceId=${pi}`))[0].retries;
  assert.deepEqual([await byPi(p1), await byPi(p2)], [2, 4]);
  const done = await ok('GET', `/history/batch/${jb.id}`);
  assert.match(done.endTime, CAMUNDA_DATE);
  assert.match(done.executionStartTime, CAMUNDA_DATE);
  assert.equal((await ok('GET', '/history/batch?completed=true')).some((x) => x.id === jb.id), true);
  await ok('DELETE', `/history/batch/${jb.id}`, undefined, 204);
  await fails('GET', `/history/batch/${jb.id}`, undefined, 404, 'InvalidRequestException');

  // DELETE /batch/{id}?cascade=true (operaton/web-apps): the batch, its jobs and its history go.
  const ids = (await ok('GET', '/external-task')).map((t) => t.id);
  const running = await ok('POST', '/external-task/retries-async', { externalTaskIds: ids, retries: 1 });
  await ok('DELETE', `/batch/${running.id}?cascade=true`, undefined, 204);
  await fails('GET', `/batch/${running.id}`, undefined, 404, 'InvalidRequestException');
  await fails('GET', `/history/batch/${running.id}`, undefined, 404, 'InvalidRequestException');
  assert.equal((await ok('GET', `/job?jobDefinitionId=${running.seedJobDefinitionId}`)).length, 0);
  // Without cascade the historic batch stays, ended.
  const kept = await ok('POST', '/external-task/retries-async', { externalTaskIds: ids, retries: 1 });
  await ok('DELETE', `/batch/${kept.id}`, undefined, 204);
  assert.match((await ok('GET', `/history/batch/${kept.id}`)).endTime, CAMUNDA_DATE);
  await fails('DELETE', '/batch/nope', undefined, 400, 'InvalidRequestException', "Unable to delete batch with id 'nope'");
  await drain();
});

test('restart: sync and async over finished instances', async () => {
  for (const t of await ok('POST', '/external-task/fetchAndLock', { workerId: 'w', maxTasks: 10, topics: [{ topicName: 'oa', lockDuration: 60000 }] })) {
    await ok('POST', `/external-task/${t.id}/complete`, { workerId: 'w' }, 204);
  }
  assert.equal((await ok('GET', '/process-instance/count')).count, 0, 'every instance finished');
  const ended = (await ok('GET', `/history/process-instance?processDefinitionId=${def.id}&finished=true&sortBy=startTime&sortOrder=asc`)).map((h) => h.id);
  assert.ok(ended.length >= 2, 'finished instances to restart');
  const instructions = [{ type: 'startBeforeActivity', activityId: 'work' }];
  await ok('POST', `/process-definition/${def.id}/restart`, { processInstanceIds: [ended[0]], instructions }, 204);
  assert.equal((await ok('GET', '/process-instance/count')).count, 1, 'the sync restart started one instance');
  await fails('POST', `/process-definition/${def.id}/restart`, { processInstanceIds: [ended[0]] }, 400,
    'InvalidRequestException', 'instructions is null: restart needs at least one instruction');
  await fails('POST', '/process-definition/nope/restart', { processInstanceIds: [ended[0]], instructions }, 400,
    'InvalidRequestException', "no deployed process definition found with id 'nope': processDefinition is null");
  const rb = await ok('POST', `/process-definition/${def.id}/restart-async`, { processInstanceIds: [ended[1]], instructions });
  assert.equal(rb.type, 'instance-restart');
  assert.equal(rb.totalJobs, 1);
  await fails('POST', `/process-definition/${def.id}/restart-async`, { instructions }, 400, 'InvalidRequestException',
    'processInstanceIds is empty');
  await fails('POST', `/process-definition/${def.id}/restart-async`, { processInstanceIds: [ended[1]], instructions: [] }, 400,
    'InvalidRequestException', 'Restart instructions cannot be empty: instructions is empty');
  await runBatch(rb);
  assert.equal((await ok('GET', '/process-instance/count')).count, 2, 'the async restart started another');
  await drain();
});

test('bad input: unknown route, wrong method, malformed JSON are ExceptionDtos with `code`', async () => {
  const unknown = await fails('GET', '/no-such-route', undefined, 404, 'NotFoundException', 'HTTP 404 Not Found');
  assert.equal(unknown.code, null);
  const r = await api('POST', '/external-task/retries-async', undefined, {
    raw: '{not json',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(r.status, 400);
  assert.equal(r.body.type, 'InvalidRequestException');
  assert.equal(r.body.code, null);
  assert.ok([404, 405].includes((await api('DELETE', '/engine')).status));
  // A ProcessEngineException that escapes: 500 with code 0 (camunda-semantics.md §1.1).
  const d = await deploy(api, { 'busy.bpmn': externalTaskBpmn('busy', 'busy') });
  await ok('POST', '/process-definition/key/busy/start', {});
  const e = await fails('DELETE', `/deployment/${d.body.id}`, undefined, 500, 'ProcessEngineException');
  assert.equal(e.code, 0);
});

test('every issue-4 operation was validated at least once on success', () => {
  const required = [
    'POST /process-instance/job-retries 200', 'POST /process-instance/job-retries-historic-query-based 200',
    'POST /external-task/retries-async 200', 'PUT /external-task/retries 204',
    'POST /process-definition/{id}/restart-async 200', 'POST /process-definition/{id}/restart 204',
    'POST /deployment/create 200', 'GET /deployment 200', 'DELETE /deployment/{id} 204',
    'GET /process-definition 200', 'GET /process-definition/{id} 200', 'GET /process-definition/key/{key} 200',
    'POST /process-definition/{id}/start 200', 'POST /process-definition/key/{key}/start 200',
    'GET /process-instance 200', 'POST /process-instance 200', 'GET /process-instance/count 200',
    'POST /process-instance/count 200', 'GET /process-instance/{id} 200', 'DELETE /process-instance/{id} 204',
    'GET /history/process-instance 200', 'POST /history/process-instance 200',
    'GET /job 200', 'POST /job 200', 'GET /job/count 200', 'POST /job/count 200', 'GET /job/{id} 200',
    'PUT /job/{id}/retries 204', 'POST /job/{id}/execute 204', 'POST /job/retries 200', 'GET /job-definition 200',
    'GET /external-task 200', 'POST /external-task 200', 'GET /external-task/count 200', 'POST /external-task/count 200',
    'GET /external-task/{id} 200', 'POST /external-task/fetchAndLock 200', 'POST /external-task/{id}/complete 204',
    'POST /external-task/{id}/failure 204', 'POST /external-task/{id}/unlock 204', 'PUT /external-task/{id}/retries 204',
    'POST /external-task/{id}/extendLock 204', 'GET /incident 200', 'GET /batch 200', 'GET /batch/count 200',
    'GET /batch/{id} 200', 'DELETE /batch/{id} 204', 'PUT /batch/{id}/suspended 204', 'GET /batch/statistics 200',
    'GET /history/batch 200', 'GET /history/batch/{id} 200', 'DELETE /history/batch/{id} 204', 'GET /engine 200',
    'GET /version 200',
  ];
  const missing = required.filter((k) => !seen.has(k));
  assert.deepEqual(missing, [], 'operations never validated');
  // No success response of these was exempted: each has a schema (spec or OVERRIDES).
  for (const k of required) assert.ok(!EXEMPT.has(k) || OVERRIDES.has(k), k);
});

test('the validator fails clearly on a status the spec does not list, and on a wrong shape', () => {
  assert.throws(() => validateResponse('GET', '/batch/{id}', 418, { type: 'X', message: 'm', code: null }),
    /no status 418 for GET \/batch\/\{id\} \(it lists 200, 404\)/);
  assert.throws(() => validateResponse('GET', '/batch/{id}', 200, { id: 'b' }), /must have required property 'totalJobs'/);
  assert.throws(() => validateResponse('GET', '/job/{id}', 200, { id: 1 }), /must be string/);
  assert.throws(() => validateResponse('GET', '/job/{id}', 404, { type: 'X', message: 'm' }), /required property 'code'/);
});
