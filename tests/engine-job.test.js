// Jobs: async continuations, failures through the job handler, retries,
// failedJob incidents, the retry time cycle and timers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIN, T0, assertEngineError, camundaDate, deploy, linear, newEngine } from './support/engine-helpers.js';

const ASYNC = linear('async', [
  { id: 'svc', type: 'serviceTask', asyncBefore: true },
  { id: 'after', type: 'serviceTask', topic: 'after' },
]);

test('a failing asyncBefore job counts retries 3 -> 2 -> 1 -> 0, then a failedJob incident opens', async () => {
  const { engine, clock, failing, executed } = await newEngine();
  try {
    const [def] = Object.values(deploy(engine, ASYNC).deployedProcessDefinitions);
    const pi = engine.startProcessInstanceByKey('async', {});
    const [jd] = engine.getJobDefinitions({ processDefinitionId: def.id });
    const [job] = engine.getJobs({ processInstanceId: pi.id });
    assert.deepEqual(job, {
      id: job.id,
      jobDefinitionId: jd.id,
      processInstanceId: pi.id,
      processDefinitionId: def.id,
      processDefinitionKey: 'async',
      executionId: job.executionId,
      exceptionMessage: null,
      failedActivityId: null,
      retries: 3,
      dueDate: null,
      suspended: false,
      priority: 0,
      tenantId: null,
      createTime: camundaDate(T0),
      batchId: null,
    });
    assert.deepEqual(Object.keys(job), [
      'id', 'jobDefinitionId', 'processInstanceId', 'processDefinitionId', 'processDefinitionKey', 'executionId',
      'exceptionMessage', 'failedActivityId', 'retries', 'dueDate', 'suspended', 'priority', 'tenantId',
      'createTime', 'batchId',
    ]);
    // the instance waits before the activity: nothing ran yet
    assert.equal(engine.getExternalTasksCount().count, 0);

    failing.set('svc', 'database down');
    for (const expected of [2, 1, 0]) {
      clock.advance(1000);
      const result = engine.executeDueJobs({});
      assert.deepEqual(result, {
        executed: 1,
        succeeded: 0,
        failed: 1,
        conflicted: 0,
        jobs: [{ id: job.id, failed: true, exceptionMessage: 'database down' }],
        nextDueInMs: null,
      });
      const now = engine.getJob(job.id);
      assert.equal(now.retries, expected);
      assert.equal(now.exceptionMessage, 'database down');
      assert.equal(now.failedActivityId, 'svc');
      assert.equal(now.dueDate, null, 'without a retry cycle the due date stays');
      assert.equal(engine.getIncidentsCount().count, expected === 0 ? 1 : 0);
    }
    assert.deepEqual(executed, ['svc', 'svc', 'svc']);
    // at 0 retries the executor leaves the job alone, and waits for nothing
    assert.deepEqual(engine.executeDueJobs({}), { executed: 0, succeeded: 0, failed: 0, conflicted: 0, jobs: [], nextDueInMs: null });
    assert.equal(executed.length, 3);
    assert.equal(engine.getJobsCount({ noRetriesLeft: true }).count, 1);
    assert.equal(engine.getJobsCount({ withRetriesLeft: true }).count, 0);
    assert.equal(engine.getJobsCount({ executable: true }).count, 0);

    const [incident] = engine.getIncidents();
    assert.deepEqual(incident, {
      id: incident.id,
      processDefinitionId: def.id,
      processInstanceId: pi.id,
      executionId: job.executionId,
      incidentTimestamp: camundaDate(T0 + 3000),
      incidentType: 'failedJob',
      activityId: 'svc',
      failedActivityId: 'svc',
      causeIncidentId: incident.id,
      rootCauseIncidentId: incident.id,
      configuration: job.id,
      incidentMessage: 'database down',
      tenantId: null,
      jobDefinitionId: jd.id,
      annotation: null,
    });
    assert.equal(engine.getProcessInstancesCount({ incidentType: 'failedJob' }).count, 1);

    // raising the retries resolves the incident; the job then succeeds
    failing.delete('svc');
    clock.advance(1000);
    assert.equal(engine.setJobRetries(job.id, { retries: 1 }), null);
    assert.deepEqual(engine.getIncidents(), []);
    const [hist] = engine.getHistoricIncidents({ incidentType: 'failedJob' });
    assert.equal(hist.id, incident.id);
    assert.deepEqual([hist.open, hist.resolved, hist.deleted], [false, true, false]);
    assert.equal(hist.createTime, camundaDate(T0 + 3000));
    assert.equal(hist.endTime, camundaDate(T0 + 4000));
    const retried = engine.getJob(job.id);
    assert.equal(retried.retries, 1);
    assert.equal(retried.exceptionMessage, 'database down', 'setting retries keeps the exception');
    assert.deepEqual(engine.executeDueJobs({}), {
      executed: 1,
      succeeded: 1,
      failed: 0,
      conflicted: 0,
      jobs: [{ id: job.id, failed: false, exceptionMessage: null }],
      nextDueInMs: null,
    });
    assert.equal(engine.getJobsCount().count, 0);
    assert.deepEqual(engine.getExternalTasks().map((t) => t.activityId), ['after']);
  } finally {
    engine.close();
  }
});

test('executeJob runs one job; a failure is recorded and reported as RestException', async () => {
  const { engine, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    engine.startProcessInstanceByKey('async', {});
    const [job] = engine.getJobs();
    failing.set('svc', 'Runtime exception');
    assertEngineError(() => engine.executeJob(job.id), {
      status: 500,
      type: 'RestException',
      message: 'Runtime exception',
      code: null,
    });
    // the failure is committed although the call failed
    assert.equal(engine.getJob(job.id).retries, 2);
    assert.equal(engine.getJob(job.id).exceptionMessage, 'Runtime exception');
    failing.clear();
    assert.equal(engine.executeJob(job.id), null);
    assertEngineError(() => engine.getJob(job.id), {
      status: 404,
      type: 'InvalidRequestException',
      message: `Job with id ${job.id} does not exist`,
    });
    assert.equal(engine.getExternalTasksCount({ activityId: 'after' }).count, 1);
  } finally {
    engine.close();
  }
});

test('failedJobRetryTimeCycle R3/PT5M: each failure moves the due date 5 minutes on', async () => {
  const { engine, clock, failing, executed } = await newEngine();
  try {
    deploy(engine, linear('cycle', [{ id: 'svc', type: 'serviceTask', asyncBefore: true, failedJobRetryTimeCycle: 'R3/PT5M' }]));
    const pi = engine.startProcessInstanceByKey('cycle', {});
    const [job] = engine.getJobs();
    failing.set('svc', 'try later');
    clock.advance(1000);
    engine.executeDueJobs({});
    let now = engine.getJob(job.id);
    assert.equal(now.retries, 2);
    assert.equal(now.dueDate, camundaDate(T0 + 1000 + 5 * MIN));
    assert.equal(executed.length, 1);

    // not due yet: the executor does not touch it, and says how long it may sleep
    clock.advance(5 * MIN - 1);
    assert.deepEqual(engine.executeDueJobs({}), { executed: 0, succeeded: 0, failed: 0, conflicted: 0, jobs: [], nextDueInMs: 1 });
    clock.advance(-1000);
    assert.equal(engine.executeDueJobs({}).nextDueInMs, 1001);
    clock.advance(1000);
    assert.equal(executed.length, 1);
    assert.equal(engine.getJobsCount({ executable: true }).count, 0);

    clock.advance(1);
    assert.equal(engine.getJobsCount({ executable: true }).count, 1);
    assert.equal(engine.executeDueJobs({}).failed, 1);
    assert.equal(executed.length, 2);
    now = engine.getJob(job.id);
    assert.equal(now.retries, 1);
    assert.equal(now.dueDate, camundaDate(clock.now() + 5 * MIN));

    failing.clear();
    clock.advance(5 * MIN);
    assert.equal(engine.executeDueJobs({}).succeeded, 1);
    assert.equal(engine.getHistoricProcessInstance(pi.id).state, 'COMPLETED');
    assert.equal(engine.getHistoricProcessInstance(pi.id).endTime, camundaDate(clock.now()));
  } finally {
    engine.close();
  }
});

test('a retry cycle with 1 retry gives an incident on the first failure', async () => {
  const { engine, failing } = await newEngine();
  try {
    deploy(engine, linear('once', [{ id: 'svc', type: 'task', asyncBefore: true, failedJobRetryTimeCycle: 'R1/PT1M' }]));
    engine.startProcessInstanceByKey('once', {});
    failing.set('svc', 'no luck');
    engine.executeDueJobs({});
    assert.equal(engine.getJobs()[0].retries, 0);
    assert.equal(engine.getIncidents()[0].incidentMessage, 'no luck');
  } finally {
    engine.close();
  }
});

test('a timer catch event waits for its duration, then the instance moves on', async () => {
  const { engine, clock, executed } = await newEngine();
  try {
    deploy(engine, linear('timer', [
      { id: 'wait', type: 'intermediateCatchEvent', timerDuration: 'PT1H30M' },
      { id: 'next', type: 'serviceTask', topic: 'next' },
    ]));
    clock.advance(500);
    const pi = engine.startProcessInstanceByKey('timer', {});
    const [job] = engine.getJobs({ timers: true });
    assert.equal(job.dueDate, camundaDate(T0 + 500 + 90 * MIN));
    assert.equal(job.retries, 3);
    assert.equal(engine.getJobsCount({ messages: true }).count, 0);
    const [jd] = engine.getJobDefinitions({ jobType: 'timer-intermediate-transition' });
    assert.equal(job.jobDefinitionId, jd.id);
    assert.equal(jd.jobConfiguration, 'DURATION: PT1H30M');
    assert.equal(engine.getExternalTasksCount().count, 0);

    clock.advance(90 * MIN - 1);
    assert.equal(engine.executeDueJobs({}).executed, 0);
    assert.equal(engine.getJobsCount().count, 1);
    clock.advance(1);
    assert.equal(engine.executeDueJobs({}).succeeded, 1);
    assert.deepEqual(executed, ['wait']);
    assert.equal(engine.getJobsCount().count, 0);
    const [task] = engine.getExternalTasks({ processInstanceId: pi.id });
    assert.equal(task.activityId, 'next');
    const [timerAct] = engine.getHistoricActivityInstances({ processInstanceId: pi.id, activityId: 'wait' });
    assert.equal(timerAct.activityType, 'intermediateTimer');
    assert.equal(timerAct.startTime, camundaDate(T0 + 500));
    assert.equal(timerAct.endTime, camundaDate(T0 + 500 + 90 * MIN));
  } finally {
    engine.close();
  }
});

test('asyncAfter: the job comes after the activity ran, and continues on its outgoing flow', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, linear('after', [
      { id: 'a', type: 'task', asyncAfter: true },
      { id: 'b', type: 'userTask' },
    ]));
    const pi = engine.startProcessInstanceByKey('after', {});
    const acts = () => engine.getHistoricActivityInstances({ processInstanceId: pi.id }).map((x) => x.activityId).sort();
    assert.deepEqual(acts(), ['a', 'start']);
    const [a] = engine.getHistoricActivityInstances({ processInstanceId: pi.id, activityId: 'a' });
    assert.notEqual(a.endTime, null, 'the activity itself has ended');
    const [job] = engine.getJobs();
    assert.equal(engine.getJobDefinitions({ jobConfiguration: 'async-after' })[0].id, job.jobDefinitionId);
    engine.executeJob(job.id);
    assert.deepEqual(acts(), ['a', 'b', 'start']);
  } finally {
    engine.close();
  }
});

test('job errors: unknown job, negative and null retries', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, ASYNC);
    engine.startProcessInstanceByKey('async', {});
    const [job] = engine.getJobs();
    const before = engine.store.dump();
    assertEngineError(() => engine.getJob('nope'), {
      status: 404,
      type: 'InvalidRequestException',
      message: 'Job with id nope does not exist',
    });
    assertEngineError(() => engine.executeJob('nope'), {
      status: 404,
      type: 'InvalidRequestException',
      message: "ENGINE-14026 No job found with id 'nope'",
    });
    assertEngineError(() => engine.setJobRetries('nope', { retries: 1 }), {
      status: 500,
      type: 'InvalidRequestException',
      message: "ENGINE-13053 No job found with id 'nope'.'",
    });
    assertEngineError(() => engine.setJobRetries(job.id, { retries: -1 }), {
      status: 500,
      type: 'InvalidRequestException',
      message: "ENGINE-13054 The number of job retries must be a non-negative Integer, but '-1' has been provided.",
    });
    // Camunda answers a null retries with an unmapped NullPointerException; rebatch rejects it too
    assert.throws(() => engine.setJobRetries(job.id, {}), (err) => err.status >= 400);
    assert.throws(() => engine.setJobRetries(job.id, { retries: null }), (err) => err.status >= 400);
    assert.equal(engine.store.dump(), before);
    // setting retries with a due date
    engine.setJobRetries(job.id, { retries: 5, dueDate: '2024-02-01T10:00:00.000+0100' });
    const updated = engine.getJob(job.id);
    assert.equal(updated.retries, 5);
    assert.equal(updated.dueDate, '2024-02-01T09:00:00.000+0000');
  } finally {
    engine.close();
  }
});
