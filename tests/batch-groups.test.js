// Batch id groups (Camunda's BatchElementConfiguration): ids grouped by
// deployment, groups in deployment order, ids of no known deployment last,
// whatever order the request names them in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ASYNC, failedJobs, record, runDueBatchJobs } from './support/batch-helpers.js';
import { EXT_PROCESS, deploy, linear, newEngine } from './support/engine-helpers.js';

/** The deployment of each execution job of the batch, in creation order (one seed run per group). */
function executionDeployments(engine, batch) {
  for (let seed; (seed = engine.getJobs({ jobDefinitionId: batch.seedJobDefinitionId })[0]);) engine.executeJob(seed.id);
  return engine
    .getJobs({ jobDefinitionId: batch.batchJobDefinitionId, sortBy: 'jobId', sortOrder: 'asc' })
    .map((j) => record(engine, 'job', j.id).deploymentId);
}

/** Three deployments of the same external task process, ids in ascending order. */
function tasksOfThreeDeployments(engine) {
  const out = [];
  for (let i = 0; i < 3; i++) {
    const deployment = deploy(engine, { ...EXT_PROCESS, key: `ext${i}` });
    const pi = engine.startProcessInstanceByKey(`ext${i}`);
    out.push({ deploymentId: deployment.id, task: engine.getExternalTasks({ processInstanceId: pi.id })[0] });
  }
  out.sort((a, b) => a.deploymentId.toLowerCase().localeCompare(b.deploymentId.toLowerCase()));
  return out;
}

test('retries-async: an unknown id, then tasks of deployments A < B give three groups, A, B, unknown last', async () => {
  const { engine, clock } = await newEngine({ config: { invocationsPerBatchJob: 1 } });
  try {
    const [a, b] = tasksOfThreeDeployments(engine);
    const batch = engine.setExternalTaskRetriesAsync({ retries: 5, externalTaskIds: ['nope', a.task.id, b.task.id] });
    assert.equal(batch.totalJobs, 3);
    assert.equal(record(engine, 'job', engine.getJobs({ jobDefinitionId: batch.seedJobDefinitionId })[0].id).deploymentId,
      a.deploymentId, 'the seed job belongs to the first group');
    assert.deepEqual(executionDeployments(engine, batch), [a.deploymentId, b.deploymentId, null]);
    runDueBatchJobs(engine, clock);
    assert.deepEqual([a, b].map((x) => engine.getExternalTask(x.task.id).retries), [5, 5]);
  } finally {
    engine.close();
  }
});

test('retries-async: groups come out in deployment order whatever order the ids come in', async () => {
  const { engine } = await newEngine({ config: { invocationsPerBatchJob: 1 } });
  try {
    const [a, b, c] = tasksOfThreeDeployments(engine);
    const batch = engine.setExternalTaskRetriesAsync({
      retries: 1, externalTaskIds: [c.task.id, 'x1', a.task.id, b.task.id, 'x0', c.task.id],
    });
    assert.equal(batch.totalJobs, 5);
    assert.deepEqual(executionDeployments(engine, batch), [a.deploymentId, b.deploymentId, c.deploymentId, null, null]);
  } finally {
    engine.close();
  }
});

test('PUT /external-task/retries: the same mix of unknown and grouped ids answers 404 for the unknown one, nothing written', async () => {
  const { engine } = await newEngine();
  try {
    const [a, b] = tasksOfThreeDeployments(engine);
    const before = engine.store.dump();
    assert.throws(() => engine.setExternalTaskRetriesSync({ retries: 5, externalTaskIds: ['nope', a.task.id, b.task.id] }),
      { status: 404, message: 'Cannot find external task with id nope: externalTask is null' });
    assert.equal(engine.store.dump(), before);
    engine.setExternalTaskRetriesSync({ retries: 5, externalTaskIds: [b.task.id, a.task.id] });
    assert.deepEqual([a, b].map((x) => engine.getExternalTask(x.task.id).retries), [5, 5]);
  } finally {
    engine.close();
  }
});

test('POST /job/retries: an unknown id and jobs of deployments A < B, from jobIds and from jobQuery, give groups A, B, unknown last', async () => {
  const { engine, clock, failing } = await newEngine({ config: { invocationsPerBatchJob: 1 } });
  try {
    const jobs = [];
    for (let i = 0; i < 2; i++) {
      const deployment = deploy(engine, linear(`async${i}`, ASYNC.activities.slice(1, -1)));
      const [pi] = failedJobs(engine, failing, `async${i}`, 1);
      jobs.push({ deploymentId: deployment.id, job: engine.getJobs({ processInstanceId: pi })[0] });
    }
    jobs.sort((x, y) => x.deploymentId.toLowerCase().localeCompare(y.deploymentId.toLowerCase()));
    const [a, b] = jobs;
    for (const body of [
      { retries: 2, jobIds: ['nope', a.job.id, b.job.id] },
      { retries: 2, jobIds: ['nope'], jobQuery: { jobIds: [b.job.id, a.job.id] } },
      { retries: 2, jobIds: ['nope', b.job.id], jobQuery: { processInstanceId: a.job.processInstanceId } },
    ]) {
      const batch = engine.setJobRetriesAsync(body);
      assert.equal(batch.totalJobs, 3, JSON.stringify(body));
      assert.deepEqual(executionDeployments(engine, batch), [a.deploymentId, b.deploymentId, null], JSON.stringify(body));
      engine.deleteBatch(batch.id);
    }
    engine.setJobRetriesAsync({ retries: 2, jobIds: ['nope', a.job.id, b.job.id] });
    for (let i = 0; i < 4; i++) runDueBatchJobs(engine, clock);
    assert.deepEqual([a, b].map((x) => engine.getJob(x.job.id).retries), [2, 2]);
    assert.match(engine.getJobs({ withException: true }).map((j) => j.exceptionMessage).join(),
      /ENGINE-13053 No job found with id 'nope'/);
  } finally {
    engine.close();
  }
});
