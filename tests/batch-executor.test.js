// The job executor's step and batch jobs: a job changed by an earlier job of
// the same step runs as it is now, not as acquisition read it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEngine, manualClock } from '../bindings/index.js';
import { T0, deploy } from './support/engine-helpers.js';
import { ASYNC, batchJobs, failedJobs } from './support/batch-helpers.js';

test('an execution job whose retries an earlier job of the same step changed runs with the new retries', async () => {
  // ids with a settable prefix: the second batch's execution job is made to
  // sort (and so run) before the first batch's
  let prefix = 'm-';
  let n = 0;
  const ids = () => `${prefix}${String(++n).padStart(8, '0')}`;
  const failing = new Map();
  const engine = await createEngine({
    clock: manualClock(T0),
    ids,
    jobHandler: (job) => {
      if (failing.has(job.activityId)) throw new Error(failing.get(job.activityId));
    },
  });
  try {
    deploy(engine, ASYNC);
    const [pi] = failedJobs(engine, failing, 'async', 1);
    const failed = engine.getJobs({ processInstanceId: pi })[0];
    assert.equal(engine.getIncidentsCount({ incidentType: 'failedJob' }).count, 1);

    // batch B over the failed job: its execution job sorts last (z-)
    const b = engine.setJobRetriesAsync({ jobIds: [failed.id], retries: 2 });
    prefix = 'z-';
    engine.executeJob(batchJobs(engine, b).seed[0].id);
    const [execB] = batchJobs(engine, b).execution;
    assert.equal(execB.retries, 3);

    // batch A over B's execution job: its execution job sorts first (a-)
    prefix = 'm-';
    const a = engine.setJobRetriesAsync({ jobIds: [execB.id], retries: 7 });
    prefix = 'a-';
    engine.executeJob(batchJobs(engine, a).seed[0].id);
    const [execA] = batchJobs(engine, a).execution;
    assert.ok(execA.id < execB.id);

    // one step: A's job sets B's job's retries to 7, then B's job runs
    const step = engine.executeDueJobs({ maxJobs: 1000 });
    const ran = step.jobs.map((j) => j.id);
    assert.ok(ran.indexOf(execA.id) >= 0 && ran.indexOf(execA.id) < ran.indexOf(execB.id));
    assert.ok(step.jobs.every((j) => !j.failed));
    const success = engine.getHistoricJobLogs({ jobId: execB.id }).filter((l) => l.successLog);
    assert.equal(success.length, 1);
    assert.equal(success[0].jobRetries, 7);
    assert.equal(engine.getJobs({ processInstanceId: pi })[0].retries, 2);
    assert.equal(engine.getIncidentsCount({ incidentType: 'failedJob' }).count, 0);
    const [hist] = engine.getHistoricIncidents({ incidentType: 'failedJob' });
    assert.deepEqual([hist.open, hist.resolved, hist.deleted], [false, true, false]);
  } finally {
    engine.close();
  }
});
