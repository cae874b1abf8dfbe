// Observing instances through the binding: the activity instance tree,
// historic activity instances, historic incidents, the historic job log and
// stacktraces (issue 6, "Observing instances").
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MIN, T0, assertEngineError, camundaDate, deploy, newEngine } from './support/engine-helpers.js';

/* fork -> a (async before job) | b (user task) | c (external task, async after) -> join -> end */
const PARALLEL = {
  key: 'par',
  name: 'Parallel work',
  activities: [
    { id: 'start', type: 'startEvent' },
    { id: 'fork', type: 'parallelGateway' },
    { id: 'a', type: 'serviceTask', name: 'Charge', asyncBefore: true },
    { id: 'b', type: 'userTask', name: 'Approve' },
    { id: 'c', type: 'serviceTask', name: 'Ship', topic: 'ship', asyncAfter: true },
    { id: 'join', type: 'parallelGateway' },
    { id: 'end', type: 'endEvent' },
  ],
  flows: [
    { id: 'f0', source: 'start', target: 'fork' },
    { id: 'fa', source: 'fork', target: 'a' },
    { id: 'fb', source: 'fork', target: 'b' },
    { id: 'fc', source: 'fork', target: 'c' },
    { id: 'ja', source: 'a', target: 'join' },
    { id: 'jb', source: 'b', target: 'join' },
    { id: 'jc', source: 'c', target: 'join' },
    { id: 'fe', source: 'join', target: 'end' },
  ],
};

const ASYNC = {
  key: 'async',
  activities: [
    { id: 'start', type: 'startEvent' },
    { id: 'svc', type: 'serviceTask', asyncBefore: true },
    { id: 'end', type: 'endEvent' },
  ],
  flows: [
    { id: 'f1', source: 'start', target: 'svc' },
    { id: 'f2', source: 'svc', target: 'end' },
  ],
};

const ACTIVITY_KEYS = ['id', 'parentActivityInstanceId', 'activityId', 'activityType', 'processInstanceId',
  'processDefinitionId', 'childActivityInstances', 'childTransitionInstances', 'executionIds', 'activityName',
  'incidentIds', 'incidents', 'name'];
const TRANSITION_KEYS = ['id', 'parentActivityInstanceId', 'processInstanceId', 'processDefinitionId', 'activityId',
  'activityName', 'activityType', 'executionId', 'incidentIds', 'incidents', 'targetActivityId'];

const byActivity = (list) => Object.fromEntries(list.map((n) => [n.activityId, n]));

test('the activity instance tree shows parallel tokens, async continuations, a join and incidents', async () => {
  const { engine, clock, failing } = await newEngine();
  try {
    const [def] = Object.values(deploy(engine, PARALLEL).deployedProcessDefinitions);
    const pi = engine.startProcessInstanceByKey('par', {});
    let tree = engine.getActivityInstanceTree(pi.id);
    assert.deepEqual(Object.keys(tree), ACTIVITY_KEYS);
    assert.equal(tree.id, pi.id);
    assert.equal(tree.parentActivityInstanceId, null);
    assert.equal(tree.activityId, def.id);
    assert.equal(tree.activityType, 'processDefinition');
    assert.equal(tree.activityName, 'Parallel work');
    assert.equal(tree.name, 'Parallel work');
    assert.deepEqual(tree.executionIds, [pi.id]);
    assert.deepEqual([tree.incidentIds, tree.incidents], [[], []]);

    // b and c rest in their activities; a waits on its async-before job.
    const open = engine.getHistoricActivityInstances({ processInstanceId: pi.id, unfinished: true });
    const children = byActivity(tree.childActivityInstances);
    assert.deepEqual(Object.keys(children).sort(), ['b', 'c']);
    for (const id of ['b', 'c']) {
      const node = children[id];
      assert.deepEqual(Object.keys(node), ACTIVITY_KEYS);
      const hist = open.find((h) => h.activityId === id);
      assert.equal(node.id, hist.id, 'the node is the open historic activity instance');
      assert.equal(node.parentActivityInstanceId, pi.id);
      assert.deepEqual(node.executionIds, [hist.executionId]);
      assert.deepEqual([node.childActivityInstances, node.childTransitionInstances], [[], []]);
    }
    assert.equal(children.b.activityType, 'userTask');
    assert.equal(children.b.activityName, 'Approve');
    assert.equal(children.c.activityType, 'serviceTask');
    assert.equal(tree.childTransitionInstances.length, 1);
    const [ta] = tree.childTransitionInstances;
    assert.deepEqual(Object.keys(ta), TRANSITION_KEYS);
    const [job] = engine.getJobs({ processInstanceId: pi.id });
    assert.deepEqual(ta, {
      id: job.executionId,
      parentActivityInstanceId: pi.id,
      processInstanceId: pi.id,
      processDefinitionId: def.id,
      activityId: 'a',
      activityName: 'Charge',
      activityType: 'serviceTask',
      executionId: job.executionId,
      incidentIds: [],
      incidents: [],
      targetActivityId: 'a',
    });

    // a's job fails down to 0 retries: its incident hangs on a's transition instance.
    failing.set('a', 'card declined');
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      engine.executeDueJobs({});
    }
    const [incident] = engine.getIncidents({ processInstanceId: pi.id });
    tree = engine.getActivityInstanceTree(pi.id);
    assert.deepEqual(tree.childTransitionInstances[0].incidentIds, [incident.id]);
    assert.deepEqual(tree.childTransitionInstances[0].incidents, [{ id: incident.id, activityId: 'a' }]);
    assert.deepEqual(tree.incidentIds, [], 'the process instance node has none of its own');

    // c completes: its token waits on the async-after job, another transition instance.
    const [task] = engine.fetchAndLock({ workerId: 'w', topics: [{ topicName: 'ship', lockDuration: MIN }] });
    engine.completeExternalTask(task.id, { workerId: 'w' });
    tree = engine.getActivityInstanceTree(pi.id);
    assert.deepEqual(tree.childActivityInstances.map((n) => n.activityId), ['b']);
    const transitions = byActivity(tree.childTransitionInstances);
    assert.deepEqual(Object.keys(transitions).sort(), ['a', 'c']);
    assert.equal(transitions.c.targetActivityId, 'c');
    assert.equal(transitions.c.id, transitions.c.executionId);

    // c's async-after job runs: the token waits in the join gateway.
    const cJob = engine.getJobs({ processInstanceId: pi.id, activityId: 'c' })[0];
    engine.executeJob(cJob.id);
    tree = engine.getActivityInstanceTree(pi.id);
    const join = tree.childActivityInstances.find((n) => n.activityId === 'join');
    assert.equal(join.activityType, 'parallelGateway');
    assert.equal(tree.childTransitionInstances.length, 1);

    // Unknown instance, and an instance that has ended: Camunda's 404.
    assertEngineError(() => engine.getActivityInstanceTree('nope'), {
      status: 404, type: 'InvalidRequestException', message: 'Process instance with id nope does not exist',
    });
    engine.deleteProcessInstance(pi.id);
    assertEngineError(() => engine.getActivityInstanceTree(pi.id), {
      status: 404, type: 'InvalidRequestException', message: `Process instance with id ${pi.id} does not exist`,
    });
  } finally {
    engine.close();
  }
});

test('historic activity instances: filters, counts, sorting, one by id', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, PARALLEL);
    const pi = engine.startProcessInstanceByKey('par', {});
    clock.advance(MIN);
    const pi2 = engine.startProcessInstanceByKey('par', {});
    engine.deleteProcessInstance(pi2.id);
    const all = engine.getHistoricActivityInstances({ processInstanceId: pi.id, sortBy: 'activityId', sortOrder: 'asc' });
    assert.deepEqual(all.map((a) => a.activityId), ['b', 'c', 'fork', 'start']);
    assert.deepEqual(Object.keys(all[0]), [
      'id', 'parentActivityInstanceId', 'activityId', 'activityName', 'activityType', 'processDefinitionKey',
      'processDefinitionId', 'processInstanceId', 'executionId', 'taskId', 'calledProcessInstanceId',
      'calledCaseInstanceId', 'assignee', 'startTime', 'endTime', 'durationInMillis', 'canceled', 'completeScope',
      'tenantId', 'removalTime', 'rootProcessInstanceId',
    ]);
    const count = (query) => engine.getHistoricActivityInstancesCount(query).count;
    assert.equal(count({ processInstanceId: pi.id }), 4);
    assert.equal(count({ processInstanceId: pi.id, finished: true }), 2);
    assert.equal(count({ processInstanceId: pi.id, unfinished: true }), 2);
    assert.equal(count({ activityType: 'userTask' }), 2);
    assert.equal(count({ activityId: 'b', canceled: true }), 1, 'the deleted instance canceled its user task');
    assert.equal(count({ processInstanceId: pi2.id, canceled: true }), 2);
    assert.equal(count({ completeScope: true }), 0);
    assert.equal(count({ startedAfter: camundaDate(T0 + MIN) }), 4);
    assert.equal(count({ startedBefore: camundaDate(T0) }), 4);
    assert.equal(count({ finishedAfter: camundaDate(T0 + MIN) }), 4, 'pi2: start, fork, and b, c canceled');
    assert.equal(count({ withoutTenantId: true }), 8);
    const newest = engine.getHistoricActivityInstances({ sortBy: 'startTime', sortOrder: 'desc', maxResults: 1 });
    assert.equal(newest[0].processInstanceId, pi2.id);
    assert.deepEqual(engine.getHistoricActivityInstance(all[0].id), all[0]);
    assertEngineError(() => engine.getHistoricActivityInstance('nope'), {
      status: 404, type: 'InvalidRequestException', message: "Historic activity instance with id 'nope' does not exist",
    });
    assertEngineError(() => engine.getHistoricActivityInstances({ sortBy: 'nope', sortOrder: 'asc' }), {
      status: 400, type: 'InvalidRequestException', message: "Cannot set query parameter 'sortBy' to value 'nope'",
    });
    // A finished instance's end event completed its scope.
    deploy(engine, { key: 'quick', activities: [{ id: 's', type: 'startEvent' }, { id: 'e', type: 'endEvent' }],
      flows: [{ id: 'f', source: 's', target: 'e' }] });
    const quick = engine.startProcessInstanceByKey('quick', {});
    const [end] = engine.getHistoricActivityInstances({ processInstanceId: quick.id, completeScope: true });
    assert.equal(end.activityType, 'noneEndEvent');
  } finally {
    engine.close();
  }
});

test('job log: a job failing down to 0 retries, reset and succeeding; a deleted job; stacktraces', async () => {
  const { engine, clock, failing } = await newEngine();
  try {
    const [def] = Object.values(deploy(engine, ASYNC).deployedProcessDefinitions);
    const pi = engine.startProcessInstanceByKey('async', {});
    const [job] = engine.getJobs({ processInstanceId: pi.id });
    assert.equal(engine.getJobStacktrace(job.id), null, 'a job that never failed has no stacktrace (204)');
    failing.set('svc', 'database down');
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      engine.executeDueJobs({});
    }
    const trace = engine.getJobStacktrace(job.id);
    assert.match(trace, /database down/);
    engine.setJobRetries(job.id, { retries: 1 });
    failing.clear();
    clock.advance(1000);
    engine.executeDueJobs({});

    const log = engine.getHistoricJobLogs({ jobId: job.id, sortBy: 'timestamp', sortOrder: 'asc' });
    const summary = log.map((l) => [
      l.creationLog ? 'created' : l.failureLog ? 'failed' : l.successLog ? 'succeeded' : 'deleted',
      l.jobRetries, l.jobExceptionMessage, l.timestamp,
    ]);
    assert.deepEqual(summary, [
      ['created', 3, null, camundaDate(T0)],
      ['failed', 3, 'database down', camundaDate(T0 + 1000)],
      ['failed', 2, 'database down', camundaDate(T0 + 2000)],
      ['failed', 1, 'database down', camundaDate(T0 + 3000)],
      ['succeeded', 1, null, camundaDate(T0 + 4000)],
    ]);
    const [jd] = engine.getJobDefinitions({ processDefinitionId: def.id });
    assert.deepEqual(log[1], {
      id: log[1].id,
      timestamp: camundaDate(T0 + 1000),
      removalTime: null,
      jobId: job.id,
      jobDueDate: null,
      jobRetries: 3,
      jobPriority: 0,
      jobExceptionMessage: 'database down',
      jobDefinitionId: jd.id,
      jobDefinitionType: 'async-continuation',
      jobDefinitionConfiguration: 'async-before',
      activityId: 'svc',
      failedActivityId: 'svc',
      executionId: job.executionId,
      processInstanceId: pi.id,
      processDefinitionId: def.id,
      processDefinitionKey: 'async',
      deploymentId: def.deploymentId,
      tenantId: null,
      hostname: null,
      rootProcessInstanceId: pi.id,
      batchId: null,
      creationLog: false,
      failureLog: true,
      successLog: false,
      deletionLog: false,
    });
    assert.equal(log[0].failedActivityId, null);
    assert.match(engine.getHistoricJobLogStacktrace(log[3].id), /database down/);
    assert.equal(engine.getHistoricJobLogStacktrace(log[0].id), null);

    // Deleting an instance deletes its job unexecuted: a deletion entry.
    const pi2 = engine.startProcessInstanceByKey('async', {});
    engine.deleteProcessInstance(pi2.id);
    const gone = engine.getHistoricJobLogs({ processInstanceId: pi2.id, deletionLog: true });
    assert.equal(gone.length, 1);
    assert.equal(gone[0].jobRetries, 3);

    const count = (query) => engine.getHistoricJobLogsCount(query).count;
    assert.equal(count({}), 7);
    assert.equal(count({ failureLog: true }), 3);
    assert.equal(count({ successLog: true }), 1);
    assert.equal(count({ creationLog: true }), 2);
    assert.equal(count({ jobExceptionMessage: 'database down' }), 3);
    assert.equal(count({ failedActivityIdIn: 'svc' }), 3);
    assert.equal(count({ activityIdIn: ['svc'], processDefinitionKey: 'async' }), 7);
    assert.equal(count({ executionIdIn: job.executionId }), 5);
    assert.equal(count({ jobDefinitionType: 'async-continuation', deploymentId: def.deploymentId }), 7);
    assert.equal(count({ jobPriorityHigherThanOrEquals: 1 }), 0);
    assert.deepEqual(engine.getHistoricJobLog(log[4].id), log[4]);
    // The historic instance query's executedJob filters read the log's runs (not creations).
    const instances = (query) => engine.getHistoricProcessInstances(query).map((h) => h.id);
    assert.deepEqual(instances({ executedJobBefore: camundaDate(T0 + 1000) }), [pi.id]);
    assert.deepEqual(instances({ executedJobBefore: camundaDate(T0 + 999) }), []);
    assert.deepEqual(instances({ executedJobAfter: camundaDate(T0 + 4000) }), [pi.id]);
    assert.deepEqual(instances({ executedJobAfter: camundaDate(T0 + 4001) }), []);

    assertEngineError(() => engine.getHistoricJobLog('nope'), {
      status: 404, type: 'InvalidRequestException', message: 'Historic job log with id nope does not exist',
    });
    assertEngineError(() => engine.getHistoricJobLogStacktrace('nope'), {
      status: 404, type: 'InvalidRequestException', message: 'No historic job log found with id nope: historicJobLog is null',
    });
    assertEngineError(() => engine.getJobStacktrace('nope'), {
      status: 404, type: 'InvalidRequestException', message: 'No job found with id nope: job is null',
    });
  } finally {
    engine.close();
  }
});

test('batch jobs are logged too: seed, execution and monitor jobs created and succeeded', async () => {
  const { engine, clock, failing } = await newEngine({ config: { batchPollTime: 0 } });
  try {
    deploy(engine, ASYNC);
    failing.set('svc', 'down');
    const pis = [0, 1].map(() => engine.startProcessInstanceByKey('async', {}).id);
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      engine.executeDueJobs({});
    }
    const jobIds = pis.map((id) => engine.getJobs({ processInstanceId: id })[0].id);
    const batch = engine.setJobRetriesAsync({ jobIds, retries: 2 });
    for (let i = 0; i < 5 && engine.getBatches({ batchId: batch.id }).length; i++) engine.executeDueJobs({});
    const logs = engine.getHistoricJobLogs({ jobDefinitionConfiguration: batch.id });
    const types = new Set(logs.map((l) => l.jobDefinitionType));
    assert.deepEqual([...types].sort(), ['batch-monitor-job', 'batch-seed-job', 'set-job-retries']);
    assert.ok(logs.every((l) => l.batchId === batch.id));
    assert.equal(logs.filter((l) => l.creationLog).length, logs.filter((l) => l.successLog).length);
    // a success entry copies the job as its creation entry did
    const copied = ({ id, timestamp, creationLog, successLog, ...rest }) => rest;
    for (const done of logs.filter((l) => l.successLog)) {
      const created = logs.find((l) => l.creationLog && l.jobId === done.jobId);
      assert.deepEqual(copied(done), copied(created));
    }
    // A batch deleted with cascade takes its jobs' log entries along; one without keeps them.
    const second = engine.setJobRetriesAsync({ jobIds, retries: 1 });
    const third = engine.setJobRetriesAsync({ jobIds, retries: 1 });
    engine.deleteBatch(second.id, { cascade: true });
    engine.deleteBatch(third.id, { cascade: false });
    assert.equal(engine.getHistoricJobLogsCount({ jobDefinitionConfiguration: second.id }).count, 0);
    assert.deepEqual(engine.getHistoricJobLogs({ jobDefinitionConfiguration: third.id }).map((l) => [l.creationLog, l.deletionLog]),
      [[true, false], [false, true]], 'the seed job: created, then deleted unexecuted');
    assert.ok(engine.getHistoricJobLogsCount({ jobDefinitionConfiguration: batch.id }).count > 0);
    // Deleting a historic batch takes its jobs' log entries along too (HistoricBatchEntity.delete()).
    engine.deleteHistoricBatch(third.id);
    assert.equal(engine.getHistoricJobLogsCount({ jobDefinitionConfiguration: third.id }).count, 0);
    assert.ok(engine.getHistoricJobLogsCount({ jobDefinitionConfiguration: batch.id }).count > 0, 'other batches keep theirs');
  } finally {
    engine.close();
  }
});

test('historic incidents: open, resolved and deleted, with counts', async () => {
  const { engine, clock, failing } = await newEngine();
  try {
    deploy(engine, ASYNC);
    failing.set('svc', 'down');
    const [p1, p2] = [0, 1].map(() => engine.startProcessInstanceByKey('async', {}).id);
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      engine.executeDueJobs({});
    }
    const [job1] = engine.getJobs({ processInstanceId: p1 });
    engine.setJobRetries(job1.id, { retries: 1 });
    engine.deleteProcessInstance(p2);
    const count = (query) => engine.getHistoricIncidentsCount(query).count;
    assert.equal(count({}), 2);
    assert.equal(count({ resolved: true }), 1);
    assert.equal(count({ deleted: true }), 1);
    assert.equal(count({ open: true }), 0);
    assert.equal(count({ incidentType: 'failedJob', processInstanceId: p1 }), 1);
    const [resolved] = engine.getHistoricIncidents({ processInstanceId: p1 });
    assert.equal(resolved.configuration, job1.id);
    assert.equal(resolved.incidentMessage, 'down');
    assert.equal(resolved.createTime, camundaDate(T0 + 3000));
    assert.equal(resolved.endTime, camundaDate(T0 + 3000));
    assert.deepEqual([resolved.open, resolved.resolved, resolved.deleted], [false, true, false]);
    // historyConfiguration names the job log entry of the failure that opened the incident.
    const [lastFailure] = engine.getHistoricJobLogs({ jobId: job1.id, failureLog: true, jobRetries: 1 })
      .filter((l) => l.jobRetries === 1);
    assert.equal(resolved.historyConfiguration, lastFailure.id);
    assert.equal(count({ historyConfiguration: lastFailure.id }), 1);
    const states = engine.getHistoricIncidents({ sortBy: 'incidentState', sortOrder: 'desc' });
    assert.deepEqual(states.map((i) => [i.resolved, i.deleted]), [[false, true], [true, false]]);
  } finally {
    engine.close();
  }
});

test('external task error details: the last failure\'s details, 204 without, 500 for an unknown task', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, { key: 'ext', activities: [{ id: 's', type: 'startEvent' }, { id: 'w', type: 'serviceTask', topic: 't' },
      { id: 'e', type: 'endEvent' }], flows: [{ id: 'f1', source: 's', target: 'w' }, { id: 'f2', source: 'w', target: 'e' }] });
    engine.startProcessInstanceByKey('ext', {});
    const [task] = engine.fetchAndLock({ workerId: 'w', topics: [{ topicName: 't', lockDuration: MIN }] });
    assert.equal(engine.getExternalTaskErrorDetails(task.id), null);
    engine.handleExternalTaskFailure(task.id, { workerId: 'w', errorMessage: 'boom', errorDetails: 'at line 3', retries: 1 });
    assert.equal(engine.getExternalTaskErrorDetails(task.id), 'at line 3');
    assertEngineError(() => engine.getExternalTaskErrorDetails('nope'), {
      status: 500, type: 'NullValueException', message: 'No external task found with id nope: externalTask is null',
    });
  } finally {
    engine.close();
  }
});
