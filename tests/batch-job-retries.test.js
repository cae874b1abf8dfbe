// Set-job-retries batches: POST /process-instance/job-retries,
// POST /process-instance/job-retries-historic-query-based and POST /job/retries
// (reference sections 2, 3 and 7.3; seed pages 000 and 001).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { T0, assertEngineError, camundaDate, deploy, linear, newEngine } from './support/engine-helpers.js';
import {
  ASYNC, assertNewBatch, assertRejectedUnchanged, batchJobs, failedJobs, runBatches, runDueBatchJobs, statistics,
} from './support/batch-helpers.js';

const OTHER = linear('other', [{ id: 'svc', type: 'serviceTask', asyncBefore: true }]);

test('POST /process-instance/job-retries: the seed example gives a set-job-retries BatchDto; the batch sets retries on the union of ids and query, nothing else', async () => {
  const { engine, clock, failing } = await newEngine();
  try {
    // two deployments: the batch has two deployment groups
    const [defA] = Object.values(deploy(engine, ASYNC).deployedProcessDefinitions);
    deploy(engine, OTHER);
    const a = failedJobs(engine, failing, 'async', 2);
    const b = failedJobs(engine, failing, 'other', 2);
    const jobOf = (pi) => engine.getJobs({ processInstanceId: pi })[0];
    assert.ok([...a, ...b].every((pi) => jobOf(pi).retries === 0));
    assert.equal(engine.getIncidentsCount({ incidentType: 'failedJob' }).count, 4);
    clock.advance(5000);

    // the seed page's example: ids and a query; a[0] is in both (no duplicate)
    const batch = engine.setJobRetriesAsyncByProcess({
      retries: 5,
      processInstances: [a[0], b[0], a[0]],
      processInstanceQuery: { processDefinitionId: defA.id },
    });
    assertNewBatch(batch, { type: 'set-job-retries', totalJobs: 3, now: T0 + 5000 });
    assert.deepEqual(engine.getBatch(batch.id), batch);
    assert.deepEqual(engine.getBatches().map((x) => x.id), [batch.id]);
    const [hist] = engine.getHistoricBatches();
    assert.equal(hist.id, batch.id);
    assert.equal(hist.startTime, camundaDate(T0 + 5000));
    assert.equal(hist.endTime, null);
    assert.equal(hist.executionStartTime, null);

    // the three job definitions and the first seed job
    const defs = engine.getJobDefinitions({ jobConfiguration: batch.id });
    assert.deepEqual(
      defs.map((d) => [d.id, d.jobType]).sort(),
      [
        [batch.seedJobDefinitionId, 'batch-seed-job'],
        [batch.monitorJobDefinitionId, 'batch-monitor-job'],
        [batch.batchJobDefinitionId, 'set-job-retries'],
      ].sort(),
    );
    let jobs = batchJobs(engine, batch);
    assert.equal(jobs.seed.length, 1);
    assert.equal(jobs.seed[0].batchId, batch.id);
    assert.equal(jobs.seed[0].processInstanceId, null);
    assert.equal(jobs.seed[0].dueDate, null);
    assert.deepEqual([jobs.monitor.length, jobs.execution.length], [0, 0]);
    assert.deepEqual(statistics(engine, batch), { remainingJobs: 3, completedJobs: 0, failedJobs: 0, jobsCreated: 0 });

    // first seed run: only the first deployment's jobs, then another seed job
    engine.executeJob(jobs.seed[0].id);
    jobs = batchJobs(engine, batch);
    assert.equal(jobs.execution.length, 2);
    assert.equal(jobs.seed.length, 1, 'a new seed job for the second deployment');
    assert.equal(jobs.monitor.length, 0);
    assert.ok(jobs.execution.every((j) => j.retries === 3 && j.batchId === batch.id && j.processInstanceId === null));
    assert.equal(engine.getBatch(batch.id).jobsCreated, 2);
    engine.executeJob(jobs.seed[0].id);
    jobs = batchJobs(engine, batch);
    assert.deepEqual([jobs.seed.length, jobs.execution.length, jobs.monitor.length], [0, 3, 1]);
    assert.equal(jobs.monitor[0].dueDate, null, 'the first monitor job has no due date');
    assert.equal(engine.getBatch(batch.id).jobsCreated, 3);
    assert.deepEqual(statistics(engine, batch), { remainingJobs: 3, completedJobs: 0, failedJobs: 0, jobsCreated: 3 });

    clock.advance(1000);
    runBatches(engine, clock);
    // exactly the three selected jobs have 5 retries; their incidents are resolved
    for (const pi of [a[0], a[1], b[0]]) {
      const job = jobOf(pi);
      assert.equal(job.retries, 5, `job of ${pi}`);
      assert.equal(job.exceptionMessage, 'boom', 'setting retries keeps the exception message');
    }
    assert.equal(jobOf(b[1]).retries, 0, 'the unselected job is untouched');
    const open = engine.getIncidents();
    assert.deepEqual(open.map((i) => i.processInstanceId), [b[1]]);
    const resolved = engine.getHistoricIncidents({ incidentType: 'failedJob' }).filter((i) => i.resolved);
    assert.deepEqual(resolved.map((i) => i.processInstanceId).sort(), [a[0], a[1], b[0]].sort());
    // the batch is history now; no job or job definition of it is left
    assertEngineError(() => engine.getBatch(batch.id), {
      status: 404, type: 'InvalidRequestException', message: `Batch with id '${batch.id}' does not exist`,
    });
    assert.equal(engine.getJobDefinitions({ jobConfiguration: batch.id }).length, 0);
    assert.equal(engine.getJobsCount().count, 4);
    const done = engine.getHistoricBatch(batch.id);
    assert.equal(done.endTime, camundaDate(clock.now()));
    assert.equal(done.executionStartTime, camundaDate(T0 + 6000));
    assert.deepEqual(engine.getHistoricBatches({ completed: true }).map((h) => h.id), [batch.id]);
    assert.deepEqual(engine.getHistoricBatches({ completed: false }), []);

    // the retried jobs run again (and now succeed)
    assert.equal(engine.executeDueJobs({ maxJobs: 10 }).succeeded, 3);
    assert.deepEqual(engine.getJobs().map((j) => j.processInstanceId), [b[1]]);
  } finally {
    engine.close();
  }
});

test('POST /process-instance/job-retries-historic-query-based: the seed example (startedBefore and ids) selects the union', async () => {
  const { engine, clock, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const early = failedJobs(engine, failing, 'async', 2); // started at T0
    clock.advance(60_000);
    const late = failedJobs(engine, failing, 'async', 2); // started at T0 + 1 min
    clock.advance(1000);
    const batch = engine.setJobRetriesAsyncByHistoricQuery({
      historicProcessInstanceQuery: { startedBefore: '2024-01-01T01:00:30.000+0100' },
      processInstances: [late[0], early[0]],
      retries: 2,
    });
    assertNewBatch(batch, { type: 'set-job-retries', totalJobs: 3, now: T0 + 61_000 });
    runBatches(engine, clock);
    const retries = (pi) => engine.getJobs({ processInstanceId: pi })[0].retries;
    assert.deepEqual([...early, ...late].map(retries), [2, 2, 2, 0]);
    assert.equal(engine.getIncidentsCount().count, 1);
  } finally {
    engine.close();
  }
});

test('job retries batches: the historic query reaches finished instances only through their jobs (none), and each endpoint ignores the other query', async () => {
  const { engine, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const [pi] = failedJobs(engine, failing, 'async', 1);
    // endpoint 1 ignores processInstanceQuery, endpoint 2 ignores historicProcessInstanceQuery
    assertRejectedUnchanged(engine, () => engine.setJobRetriesAsyncByHistoricQuery({ retries: 1, processInstanceQuery: {} }), {
      status: 500, type: 'ProcessEngineException', code: 0,
      message: 'ENGINE-13051 You must specify at least one of or one of processInstanceIds, processInstanceQuery, or historicProcessInstanceQuery.',
    });
    assertRejectedUnchanged(engine, () => engine.setJobRetriesAsyncByProcess({ retries: 1, historicProcessInstanceQuery: {} }), {
      status: 500, type: 'ProcessEngineException', code: 0,
      message: 'ENGINE-13051 You must specify at least one of or one of processInstanceIds, processInstanceQuery, or historicProcessInstanceQuery.',
    });
    // a finished instance has no jobs: nothing to do
    engine.deleteProcessInstance(pi);
    assertRejectedUnchanged(engine, () => engine.setJobRetriesAsyncByHistoricQuery({ retries: 1, historicProcessInstanceQuery: { finished: true } }), {
      status: 400, type: 'InvalidRequestException', message: 'jobIds is empty', code: null,
    });
  } finally {
    engine.close();
  }
});

for (const [name, call] of [
  ['job-retries', (engine, body) => engine.setJobRetriesAsyncByProcess(body)],
  ['job-retries-historic-query-based', (engine, body) => engine.setJobRetriesAsyncByHistoricQuery(body)],
]) {
  test(`POST /process-instance/${name}: every validation rule, its status and message, and nothing written`, async () => {
    const { engine, failing } = await newEngine();
    try {
      deploy(engine, ASYNC);
      const [pi] = failedJobs(engine, failing, 'async', 1);
      const query = name === 'job-retries' ? 'processInstanceQuery' : 'historicProcessInstanceQuery';
      const reject = (body, expected) => assertRejectedUnchanged(engine, () => call(engine, body), expected);
      const invalid = (message) => ({ status: 400, type: 'InvalidRequestException', message, code: null });
      const engine13051 = {
        status: 500, type: 'ProcessEngineException', code: 0,
        message: 'ENGINE-13051 You must specify at least one of or one of processInstanceIds, processInstanceQuery, or historicProcessInstanceQuery.',
      };
      // no body / no retries: 400 on purpose (upstream endpoint 1 throws a 500 NullPointerException)
      reject(undefined, invalid('setJobRetriesDto is null'));
      reject(null, invalid('setJobRetriesDto is null'));
      reject({ processInstances: [pi] }, invalid('retries is null'));
      reject({ processInstances: [pi], retries: null }, invalid('retries is null'));
      // neither ids nor a query
      reject({ retries: 1 }, engine13051);
      reject({ retries: 1, processInstances: [] }, engine13051);
      reject({ retries: 1, processInstances: null, [query]: null }, engine13051);
      // nothing found
      reject({ retries: 1, processInstances: ['unknown'] }, invalid('jobIds is empty'));
      reject({ retries: 1, [query]: { processDefinitionKey: 'nothing' } }, invalid('jobIds is empty'));
      reject({ retries: -1, processInstances: ['unknown'] }, invalid('jobIds is empty'));
      // negative retries, checked once jobs were found
      reject({ retries: -1, processInstances: [pi] }, {
        status: 500, type: 'ProcessEngineException', code: 0, message: 'Retries count is not greater than or equal to 0',
      });
      // an explicitly empty id set inside the query
      reject({ retries: 1, [query]: { processInstanceIds: [] } }, {
        status: 500, type: 'ProcessEngineException', code: 0, message: 'Set of process instance ids is empty',
      });
      // a null id in the list matches nothing and is no error
      const batch = call(engine, { retries: 1, processInstances: [null, pi] });
      assert.equal(batch.totalJobs, 1);
      // retries given as a numeric string are accepted (Jackson)
      assert.equal(call(engine, { retries: '4', processInstances: [pi] }).totalJobs, 1);
    } finally {
      engine.close();
    }
  });
}

test('POST /job/retries: ids and query; an unknown id fails its execution job (retries count down, incident at 0, batch stays until deleted)', async () => {
  const { engine, clock, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const pis = failedJobs(engine, failing, 'async', 3);
    const jobs = pis.map((pi) => engine.getJobs({ processInstanceId: pi })[0]);
    const batch = engine.setJobRetriesAsync({ jobIds: [jobs[0].id, 'gone', jobs[0].id], jobQuery: { processInstanceId: pis[1] }, retries: 7 });
    assertNewBatch(batch, { type: 'set-job-retries', totalJobs: 3, now: T0 });
    // two seed runs: the known jobs' deployment, then the unknown id's (null) group, sorted last
    engine.executeJob(batchJobs(engine, batch).seed[0].id);
    assert.equal(batchJobs(engine, batch).execution.length, 2);
    engine.executeJob(batchJobs(engine, batch).seed[0].id);
    assert.equal(batchJobs(engine, batch).execution.length, 3);
    // run everything due, three rounds: the 'gone' item's job fails 3 times
    for (let round = 0; round < 3; round++) {
      runDueBatchJobs(engine, clock);
      clock.advance(30_000);
    }
    assert.deepEqual(pis.map((pi) => engine.getJobs({ processInstanceId: pi })[0].retries), [7, 7, 0]);
    const [failed] = batchJobs(engine, batch).execution;
    assert.equal(failed.retries, 0);
    assert.equal(failed.exceptionMessage, "ENGINE-13053 No job found with id 'gone'.'");
    const [incident] = engine.getIncidents({ jobDefinitionIdIn: batch.batchJobDefinitionId });
    assert.equal(incident.incidentType, 'failedJob');
    assert.equal(incident.configuration, failed.id);
    assert.equal(incident.incidentMessage, "ENGINE-13053 No job found with id 'gone'.'");
    assert.deepEqual(statistics(engine, batch), { remainingJobs: 1, completedJobs: 2, failedJobs: 1, jobsCreated: 3 });
    assert.deepEqual(engine.getBatchStatistics({ withFailures: true }).map((s) => s.id), [batch.id]);
    assert.deepEqual(engine.getBatchStatistics({ withoutFailures: true }), []);
    // the monitor keeps polling: the batch does not complete
    for (let i = 0; i < 3; i++) {
      clock.advance(30_000);
      runDueBatchJobs(engine, clock);
    }
    assert.equal(engine.getBatchesCount().count, 1);
    assert.equal(batchJobs(engine, batch).monitor.length, 1);
    // new retries for the failed job: it fails again (the job is still gone)
    engine.setJobRetries(failed.id, { retries: 1 });
    assert.equal(engine.getIncidents({ jobDefinitionIdIn: batch.batchJobDefinitionId }).length, 0);
    // an engine exception from a job: JobResourceImpl answers 404 InvalidRequestException, no code
    assertEngineError(() => engine.executeJob(failed.id), {
      status: 404, type: 'InvalidRequestException', message: "ENGINE-13053 No job found with id 'gone'.'", code: null,
    });
    assert.equal(engine.getJob(failed.id).retries, 0);
    assert.equal(engine.getIncidents({ jobDefinitionIdIn: batch.batchJobDefinitionId }).length, 1);
    assert.equal(engine.getBatchesCount().count, 1);
    engine.deleteBatch(batch.id);
    assert.equal(engine.getBatchesCount().count, 0);
    assert.equal(engine.getHistoricBatch(batch.id).endTime, camundaDate(clock.now()));
  } finally {
    engine.close();
  }
});

test('POST /job/retries: validation rules (400 / 500 as upstream) write nothing', async () => {
  const { engine, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const [pi] = failedJobs(engine, failing, 'async', 1);
    const [job] = engine.getJobs({ processInstanceId: pi });
    const reject = (body, expected) => assertRejectedUnchanged(engine, () => engine.setJobRetriesAsync(body), expected);
    reject(undefined, { status: 400, type: 'InvalidRequestException', message: 'setJobRetriesDto is null' });
    reject({ jobIds: [job.id] }, { status: 400, type: 'InvalidRequestException', message: 'retries is null' });
    reject({ retries: 1 }, {
      status: 500, type: 'ProcessEngineException', message: 'ENGINE-13050 You must specify at least one of jobIds or jobQuery.', code: 0,
    });
    reject({ retries: 1, jobQuery: { processInstanceId: 'nothing' } }, { status: 400, type: 'InvalidRequestException', message: 'jobIds is empty' });
    reject({ retries: -3, jobIds: [job.id] }, {
      status: 500, type: 'ProcessEngineException', message: 'Retries count is not greater than or equal to 0', code: 0,
    });
  } finally {
    engine.close();
  }
});

test('job retries batches: dueDate is set when given, cleared when null, untouched when absent', async () => {
  const { engine, clock, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    const pis = failedJobs(engine, failing, 'async', 2);
    const due = (pi) => engine.getJobs({ processInstanceId: pi })[0].dueDate;
    engine.setJobRetriesAsyncByProcess({ retries: 1, processInstances: [pis[0]], dueDate: '2024-03-01T12:00:00.000+0100' });
    runBatches(engine, clock);
    assert.deepEqual(pis.map(due), ['2024-03-01T11:00:00.000+0000', null]);
    engine.setJobRetriesAsyncByProcess({ retries: 2, processInstances: pis });
    runBatches(engine, clock);
    assert.deepEqual(pis.map(due), ['2024-03-01T11:00:00.000+0000', null]);
    engine.setJobRetriesAsync({ retries: 2, jobQuery: {}, dueDate: null });
    runBatches(engine, clock);
    assert.deepEqual(pis.map(due), [null, null]);
  } finally {
    engine.close();
  }
});

test('job retries batch to 0 creates failedJob incidents (message = the exception), raising them again resolves them', async () => {
  const { engine, clock, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    // one job failed once (retries 2, exception kept), one never ran (retries 3)
    const [failedOnce] = [engine.startProcessInstanceByKey('async', {}).id];
    failing.set('svc', 'flaky');
    engine.executeDueJobs({});
    failing.delete('svc');
    const fresh = engine.startProcessInstanceByKey('async', {}).id;
    const other = engine.startProcessInstanceByKey('async', {}).id;
    assert.equal(engine.getIncidentsCount().count, 0);
    engine.setJobRetriesAsyncByProcess({ retries: 0, processInstances: [failedOnce, fresh] });
    runBatches(engine, clock); // batch jobs only: the process jobs have retries left
    const incidents = engine.getIncidents({ incidentType: 'failedJob' });
    assert.deepEqual(
      incidents.map((i) => [i.processInstanceId, i.incidentMessage, i.activityId]).sort(),
      [[failedOnce, 'flaky', 'svc'], [fresh, null, 'svc']].sort(),
    );
    assert.equal(engine.getJobs({ processInstanceId: other })[0].retries, 3);
    engine.setJobRetriesAsyncByProcess({ retries: 1, processInstanceQuery: { processInstanceIds: [failedOnce, fresh] } });
    runBatches(engine, clock);
    assert.equal(engine.getIncidentsCount().count, 0);
    const hist = engine.getHistoricIncidents({ incidentType: 'failedJob' });
    assert.equal(hist.length, 2);
    assert.ok(hist.every((h) => h.resolved && !h.open));
  } finally {
    engine.close();
  }
});
