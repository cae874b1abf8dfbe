// What a batch user does to jobs and job definitions directly: DELETE /job/{id},
// PUT /job-definition/{id}/retries, PUT /job/suspended and /job/{id}/suspended,
// PUT /job-definition/suspended and /job-definition/{id}/suspended.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIN, T0, deploy, newEngine } from './support/engine-helpers.js';
import { ASYNC, assertRejectedUnchanged, failedJobs } from './support/batch-helpers.js';

const invalid = (message) => ({ status: 400, type: 'InvalidRequestException', message });

test('DELETE /job/{id}: the job goes, its incident is deleted in history, the job log records a deletion', async () => {
  const { engine, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const [pi] = failedJobs(engine, failing, 'async', 1);
    const [job] = engine.getJobs({ processInstanceId: pi });
    assert.equal(engine.getIncidentsCount().count, 1);
    assert.equal(engine.deleteJob(job.id), null);
    assert.equal(engine.getJobsCount().count, 0);
    assert.equal(engine.getIncidentsCount().count, 0);
    const [hist] = engine.getHistoricIncidents();
    assert.deepEqual([hist.open, hist.deleted], [false, true]);
    assert.equal(engine.getHistoricJobLogs({ jobId: job.id, deletionLog: true }).length, 1);
    assertRejectedUnchanged(engine, () => engine.deleteJob(job.id), {
      status: 404, type: 'InvalidRequestException', message: `No job found with id '${job.id}': job is null`,
    });
  } finally {
    engine.close();
  }
});

test('PUT /job-definition/{id}/retries: only the failed jobs get retries; their incidents stay open and a new failure opens none', async () => {
  const { engine, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    failedJobs(engine, failing, 'async', 2);
    const fresh = engine.startProcessInstanceByKey('async').id;
    const [jd] = engine.getJobDefinitions({ processDefinitionId: engine.getProcessDefinitions()[0].id });
    const due = new Date(T0 + 5 * MIN).toISOString().replace('Z', '+0000');
    assert.equal(engine.setJobDefinitionRetries(jd.id, { retries: 1, dueDate: due }), null);
    const jobs = engine.getJobs({ jobDefinitionId: jd.id });
    const failed = jobs.filter((j) => j.processInstanceId !== fresh);
    assert.deepEqual(failed.map((j) => [j.retries, j.dueDate]), [[1, due], [1, due]]);
    assert.equal(jobs.find((j) => j.processInstanceId === fresh).retries, 3, 'a job with retries left is untouched');
    assert.equal(engine.getIncidentsCount().count, 2, 'the incidents stay open');
    failing.set('svc', 'again');
    for (const j of failed) {
      try { engine.executeJob(j.id); } catch { /* fails again */ }
    }
    assert.equal(engine.getIncidentsCount().count, 2, 'no second incident');
    assertRejectedUnchanged(engine, () => engine.setJobDefinitionRetries(jd.id, { retries: -1 }), {
      status: 500, type: 'InvalidRequestException',
      message: "ENGINE-13054 The number of job retries must be a non-negative Integer, but '-1' has been provided.",
    });
    assertRejectedUnchanged(engine, () => engine.setJobDefinitionRetries(jd.id, {}), invalid('retries is null'));
    assert.equal(engine.setJobDefinitionRetries('unknown', { retries: 2 }), null, 'an unknown definition changes nothing');
  } finally {
    engine.close();
  }
});

test('PUT /job/suspended and /job/{id}/suspended: by job, job definition, instance, process definition id or key', async () => {
  const { engine, executed } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const [a, b, c] = [0, 1, 2].map(() => engine.startProcessInstanceByKey('async').id);
    const jobOf = (pi) => engine.getJobs({ processInstanceId: pi })[0];
    assert.equal(engine.setJobSuspended(jobOf(a).id, { suspended: true }), null);
    assert.equal(jobOf(a).suspended, true);
    engine.setJobsSuspended({ processInstanceId: b, suspended: true });
    assert.deepEqual([a, b, c].map((p) => jobOf(p).suspended), [true, true, false]);
    engine.executeDueJobs({ maxJobs: 10 });
    assert.deepEqual(executed, ['svc'], 'only the active job ran');
    engine.setJobsSuspended({ processDefinitionKey: 'async', suspended: false });
    assert.deepEqual([a, b].map((p) => jobOf(p).suspended), [false, false]);
    engine.setJobsSuspended({ jobDefinitionId: jobOf(a).jobDefinitionId, suspended: true });
    assert.deepEqual([a, b].map((p) => jobOf(p).suspended), [true, true]);
    engine.setJobsSuspended({ processDefinitionId: engine.getProcessDefinitions()[0].id, suspended: false });
    assert.deepEqual([a, b].map((p) => jobOf(p).suspended), [false, false]);
    assertRejectedUnchanged(engine, () => engine.setJobsSuspended({ suspended: true, jobId: jobOf(a).id }),
      invalid('Either jobDefinitionId, processInstanceId, processDefinitionId or processDefinitionKey can be set to update the suspension state.'));
    assertRejectedUnchanged(engine, () => engine.setJobsSuspended({ suspended: true }),
      invalid('Either jobId, jobDefinitionId, processInstanceId, processDefinitionId or processDefinitionKey should be set to update the suspension state.'));
    assertRejectedUnchanged(engine, () => engine.setJobsSuspended({ suspended: true, processInstanceId: a, processDefinitionKey: 'async' }),
      invalid('Only one of jobId, jobDefinitionId, processInstanceId, processDefinitionId or processDefinitionKey should be set to update the suspension state.'));
  } finally {
    engine.close();
  }
});

test('PUT /job-definition/suspended and /{id}/suspended: the definitions, their jobs with includeJobs, later with an executionDate', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const pi = engine.startProcessInstanceByKey('async').id;
    const [jd] = engine.getJobDefinitions({ processDefinitionId: engine.getProcessDefinitions()[0].id });
    assert.equal(engine.setJobDefinitionSuspended(jd.id, { suspended: true }), null);
    assert.equal(engine.getJobDefinitions({ jobDefinitionId: jd.id })[0].suspended, true);
    assert.equal(engine.getJobs({ processInstanceId: pi })[0].suspended, false, 'jobs only with includeJobs');
    engine.setJobDefinitionsSuspended({ processDefinitionKey: 'async', suspended: true, includeJobs: true });
    assert.equal(engine.getJobs({ processInstanceId: pi })[0].suspended, true);
    const at = new Date(T0 + 10 * MIN).toISOString().replace('Z', '+0000');
    engine.setJobDefinitionSuspended(jd.id, { suspended: false, includeJobs: true, executionDate: at });
    assert.equal(engine.getJobs({ processInstanceId: pi })[0].suspended, true, 'not before the date');
    clock.advance(10 * MIN);
    engine.executeDueJobs({ maxJobs: 10 }); // the timer job activates; the process job then runs in a later round
    assert.equal(engine.getJobDefinitions({ jobDefinitionId: jd.id })[0].suspended, false);
    engine.executeDueJobs({ maxJobs: 10 });
    assert.equal(engine.getHistoricProcessInstance(pi).state, 'COMPLETED');
    assertRejectedUnchanged(engine, () => engine.setJobDefinitionsSuspended({ suspended: true, jobDefinitionId: jd.id }),
      invalid('Either processDefinitionId or processDefinitionKey can be set to update the suspension state.'));
    assertRejectedUnchanged(engine, () => engine.setJobDefinitionSuspended(jd.id, { suspended: true, executionDate: 'x' }),
      invalid(`The suspension state of Job Definition with id ${jd.id} could not be updated due to: Invalid format: "x"`));
  } finally {
    engine.close();
  }
});

test('a job created from a suspended job definition is created suspended; PUT /process-definition/key/{key}/suspended', async () => {
  const { engine, executed } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const [jd] = engine.getJobDefinitions({ processDefinitionId: engine.getProcessDefinitions()[0].id });
    engine.setJobDefinitionSuspended(jd.id, { suspended: true });
    const pi = engine.startProcessInstanceByKey('async').id;
    assert.equal(engine.getJobs({ processInstanceId: pi })[0].suspended, true);
    engine.executeDueJobs({ maxJobs: 10 });
    assert.deepEqual(executed, []);
    assert.equal(engine.setProcessDefinitionSuspendedByKey('async', { suspended: true }), null);
    assert.equal(engine.getProcessDefinitions()[0].suspended, true);
    assertRejectedUnchanged(engine, () => engine.setProcessDefinitionSuspendedByKey('nope', { suspended: true }), {
      status: 404, type: 'RestException', message: 'No matching process definition with key: nope and no tenant-id',
    });
    assert.equal(engine.updateHistoryTimeToLiveByKey('async', { historyTimeToLive: 3 }), null);
    assert.equal(engine.getProcessDefinitions()[0].historyTimeToLive, 3);
  } finally {
    engine.close();
  }
});
