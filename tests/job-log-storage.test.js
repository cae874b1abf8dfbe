// The job log is most of what a retries batch leaves behind (its execution
// jobs' creation and success entries), so its records are stored compactly
// (src/job_log.c): short keys, the kind as one letter, no configuration
// when it is the batch id. GET /history/job-log must answer as before.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EXT_PROCESS, T0, camundaDate, deploy, linear, newEngine } from './support/engine-helpers.js';
import { runBatches } from './support/batch-helpers.js';

const JOB_LOG_FIELDS = [
  'id', 'timestamp', 'removalTime', 'jobId', 'jobDueDate', 'jobRetries', 'jobPriority', 'jobExceptionMessage',
  'jobDefinitionId', 'jobDefinitionType', 'jobDefinitionConfiguration', 'activityId', 'failedActivityId',
  'executionId', 'processInstanceId', 'processDefinitionId', 'processDefinitionKey', 'deploymentId', 'tenantId',
  'hostname', 'rootProcessInstanceId', 'batchId', 'creationLog', 'failureLog', 'successLog', 'deletionLog',
];

async function batchRan(n) {
  const { engine, clock } = await newEngine();
  deploy(engine, EXT_PROCESS);
  for (let i = 0; i < n; i++) engine.startProcessInstanceByKey('ext', {});
  const batch = engine.setExternalTaskRetriesAsync({ retries: 2, externalTaskQuery: { topicName: 'work' } });
  runBatches(engine, clock);
  return { engine, clock, batch };
}

test('a batch job entry answers every DTO field, its configuration being the batch id', async () => {
  const { engine, batch } = await batchRan(3);
  const logs = engine.getHistoricJobLogs({ jobDefinitionType: 'set-external-task-retries', sortBy: 'timestamp', sortOrder: 'asc' });
  assert.equal(logs.length, 6, 'creation and success of three execution jobs');
  for (const log of logs) {
    assert.deepEqual(Object.keys(log), JOB_LOG_FIELDS);
    assert.equal(log.jobDefinitionConfiguration, batch.id);
    assert.equal(log.batchId, batch.id);
    assert.equal(log.jobDefinitionId, batch.batchJobDefinitionId);
    assert.equal(log.timestamp, camundaDate(T0));
    assert.equal(log.jobRetries, 3);
    assert.equal(log.jobPriority, 0);
    assert.equal(log.processInstanceId, null);
    assert.equal(log.rootProcessInstanceId, null);
    assert.deepEqual([log.creationLog, log.failureLog, log.successLog, log.deletionLog],
      log.id.endsWith(':c') ? [true, false, false, false] : [false, false, true, false]);
  }
  const count = (query) => engine.getHistoricJobLogsCount(query).count;
  assert.equal(count({ jobDefinitionConfiguration: batch.id }), count({}), 'every entry of the batch, seed and monitor too');
  assert.equal(count({ jobDefinitionConfiguration: 'other' }), 0);
  assert.equal(count({ jobDefinitionType: 'set-external-task-retries', successLog: true }), 3);
  assert.equal(count({ jobDefinitionType: 'set-external-task-retries', creationLog: true }), 3);
  assert.equal(count({ jobPriorityLowerThanOrEquals: 0 }), count({}));
  assert.equal(count({ jobPriorityHigherThanOrEquals: 1 }), 0);
  engine.close();
});

test("a process job entry keeps its own configuration, activity, instance and failure", async () => {
  const { engine, failing } = await newEngine();
  deploy(engine, linear('async', [{ id: 'svc', type: 'serviceTask', asyncBefore: true }]));
  const pi = engine.startProcessInstanceByKey('async', {});
  failing.set('svc', 'database down');
  engine.executeDueJobs({});
  const [created, failed] = engine.getHistoricJobLogs({ processInstanceId: pi.id, sortBy: 'timestamp', sortOrder: 'asc' });
  for (const log of [created, failed]) {
    assert.deepEqual(Object.keys(log), JOB_LOG_FIELDS);
    assert.equal(log.jobDefinitionType, 'async-continuation');
    assert.equal(log.jobDefinitionConfiguration, 'async-before');
    assert.equal(log.activityId, 'svc');
    assert.equal(log.processInstanceId, pi.id);
    assert.equal(log.rootProcessInstanceId, pi.id);
    assert.equal(log.processDefinitionKey, 'async');
    assert.equal(log.batchId, null);
  }
  assert.equal(created.creationLog, true);
  assert.equal(failed.failureLog, true);
  assert.equal(failed.jobExceptionMessage, 'database down');
  assert.equal(failed.failedActivityId, 'svc');
  const count = (query) => engine.getHistoricJobLogsCount(query).count;
  assert.equal(count({ jobDefinitionConfiguration: 'async-before' }), 2);
  assert.equal(count({ jobExceptionMessage: 'database down' }), 1);
  assert.equal(count({ activityIdIn: 'svc', executionIdIn: failed.executionId }), 2);
  assert.deepEqual(engine.getHistoricJobLogs({ sortBy: 'jobRetries', sortOrder: 'desc' }).map((l) => l.jobRetries),
    [created.jobRetries, failed.jobRetries].sort((a, b) => b - a));
  engine.close();
});

test('a batch job entry is stored in its values plus a bounded overhead', async () => {
  // The bound: an execution job's entry holds its id, timestamp, retries,
  // job id, job definition id, priority, batch id, type, deployment id and
  // kind. Stored under Camunda's DTO names with four flags (and the batch id
  // twice, as the configuration), keys and punctuation cost 170 bytes; the
  // compact keys cost 72. 90 leaves room without letting the long names
  // come back.
  const { engine } = await batchRan(2);
  const dump = JSON.parse(engine.store.dump()).historicJobLog;
  const entries = Object.values(dump).map((r) => r.record).filter((r) => Object.values(r).includes('set-external-task-retries'));
  assert.equal(entries.length, 4);
  for (const record of entries) {
    const text = JSON.stringify(record);
    const values = Object.values(record).reduce((n, v) => n + JSON.stringify(v).length, 0);
    assert.ok(text.length - values <= 90, `${text.length - values} bytes of keys and punctuation in ${text}`);
  }
  engine.close();
});
