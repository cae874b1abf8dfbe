// External task retries: POST /external-task/retries-async (a batch) and
// PUT /external-task/retries (at once) (reference section 4; seed pages 002, 003).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXT_PROCESS, T0, assertEngineError, deploy, newEngine } from './support/engine-helpers.js';
import {
  assertNewBatch, assertRejectedUnchanged, batchJobs, runBatches, runDueBatchJobs, statistics,
} from './support/batch-helpers.js';

/** Six instances of 'ext' (business keys bk0..bk5), each with one external task. */
function sixTasks(engine) {
  deploy(engine, EXT_PROCESS);
  const pis = [];
  for (let i = 0; i < 6; i++) pis.push(engine.startProcessInstanceByKey('ext', { businessKey: `bk${i}` }).id);
  const tasks = pis.map((pi) => engine.getExternalTasks({ processInstanceId: pi })[0]);
  return { pis, tasks };
}

const retriesOf = (engine, tasks) => tasks.map((t) => engine.getExternalTask(t.id).retries);

test('POST /external-task/retries-async: the seed example gives a set-external-task-retries batch that sets exactly those tasks', async () => {
  const { engine, clock } = await newEngine();
  try {
    const { tasks } = sixTasks(engine);
    clock.advance(2000);
    const batch = engine.setExternalTaskRetriesAsync({ retries: 123, externalTaskIds: [tasks[0].id, tasks[1].id] });
    assertNewBatch(batch, { type: 'set-external-task-retries', totalJobs: 2, now: T0 + 2000 });
    assert.deepEqual(engine.getBatch(batch.id), batch);
    assert.equal(batchJobs(engine, batch).seed.length, 1);
    runBatches(engine, clock);
    assert.deepEqual(retriesOf(engine, tasks), [123, 123, null, null, null, null]);
    assert.equal(engine.getIncidentsCount().count, 0);
    assert.ok(engine.getHistoricBatch(batch.id).endTime);
  } finally {
    engine.close();
  }
});

test('retries-async: the union of every source, without duplicates, and nothing else', async () => {
  const { engine, clock } = await newEngine();
  try {
    const { pis, tasks } = sixTasks(engine);
    const batch = engine.setExternalTaskRetriesAsync({
      retries: 4,
      externalTaskIds: [tasks[0].id, tasks[1].id],
      processInstanceIds: [pis[1], pis[2]],
      externalTaskQuery: { processInstanceId: pis[3] },
      processInstanceQuery: { businessKey: 'bk4' },
      historicProcessInstanceQuery: { processInstanceBusinessKey: 'bk0' },
    });
    assert.equal(batch.totalJobs, 5);
    runBatches(engine, clock);
    assert.deepEqual(retriesOf(engine, tasks), [4, 4, 4, 4, 4, null]);
  } finally {
    engine.close();
  }
});

test('PUT /external-task/retries: the seed example returns no content; retries 0 opens failedExternalTask incidents, raising them resolves', async () => {
  const { engine, clock } = await newEngine();
  try {
    const { pis, tasks } = sixTasks(engine);
    // one task has an error message from a failure
    const [locked] = engine.fetchAndLock({ workerId: 'w', maxTasks: 1, topics: [{ topicName: 'work', lockDuration: 1000 }] });
    engine.handleExternalTaskFailure(locked.id, { workerId: 'w', errorMessage: 'no connection', retries: 2, retryTimeout: 0 });
    assert.equal(engine.setExternalTaskRetriesSync({ retries: 123, externalTaskIds: [tasks[4].id, tasks[5].id] }), null);
    assert.deepEqual(retriesOf(engine, tasks).slice(4), [123, 123]);

    clock.advance(1000);
    assert.equal(engine.setExternalTaskRetriesSync({ retries: 0, processInstanceIds: [pis[0], locked.processInstanceId, pis[1]] }), null);
    const incidents = engine.getIncidents({ incidentType: 'failedExternalTask' });
    const expectIds = [...new Set([tasks[0].id, locked.id, tasks[1].id])].sort();
    assert.deepEqual(incidents.map((i) => i.configuration).sort(), expectIds);
    const withMessage = incidents.find((i) => i.configuration === locked.id);
    assert.equal(withMessage.incidentMessage, 'no connection');
    assert.equal(withMessage.activityId, 'work');
    assert.equal(withMessage.processInstanceId, locked.processInstanceId);
    // 0 -> 0 opens no second incident; no retries left means no fetch
    engine.setExternalTaskRetriesSync({ retries: 0, externalTaskIds: [tasks[0].id] });
    assert.equal(engine.getIncidentsCount().count, expectIds.length);
    assert.equal(engine.getExternalTasksCount({ noRetriesLeft: true }).count, expectIds.length);
    // the error message and lock are kept
    assert.equal(engine.getExternalTask(locked.id).errorMessage, 'no connection');

    // raise them through a batch: the incidents are resolved
    engine.setExternalTaskRetriesAsync({ retries: 1, externalTaskQuery: { noRetriesLeft: true } });
    runBatches(engine, clock);
    assert.equal(engine.getIncidentsCount().count, 0);
    const hist = engine.getHistoricIncidents({ incidentType: 'failedExternalTask' });
    assert.equal(hist.length, expectIds.length);
    assert.ok(hist.every((h) => h.resolved && !h.open));
    assert.equal(engine.getExternalTasksCount({ noRetriesLeft: true }).count, 0);

    // and a batch to 0 opens them again
    engine.setExternalTaskRetriesAsync({ retries: 0, externalTaskIds: [tasks[5].id] });
    runBatches(engine, clock);
    assert.deepEqual(engine.getIncidents().map((i) => i.configuration), [tasks[5].id]);
  } finally {
    engine.close();
  }
});

for (const [name, call] of [
  ['retries-async', (engine, body) => engine.setExternalTaskRetriesAsync(body)],
  ['retries (sync)', (engine, body) => engine.setExternalTaskRetriesSync(body)],
]) {
  test(`external-task ${name}: every validation rule, its status and message, and nothing written`, async () => {
    const { engine } = await newEngine();
    try {
      const { pis, tasks } = sixTasks(engine);
      const reject = (body, expected) => assertRejectedUnchanged(engine, () => call(engine, body), expected);
      const invalid = (message) => ({ status: 400, type: 'InvalidRequestException', message, code: null });
      // no body: 400 on purpose (upstream: 500 NullPointerException)
      reject(undefined, invalid('Request body is null: the retries and a selection of external tasks are required'));
      reject({ externalTaskIds: [tasks[0].id] }, invalid('The number of retries cannot be null.'));
      reject({ externalTaskIds: [tasks[0].id], retries: null }, invalid('The number of retries cannot be null.'));
      reject({ externalTaskIds: [tasks[0].id, null], retries: 1 }, invalid('External task id cannot be null: externalTaskIds contains null value'));
      reject({ processInstanceIds: [pis[0], null], retries: 1 }, {
        status: 500, type: 'NullValueException', message: 'processInstanceIdIn contains null value', code: 0,
      });
      reject({ retries: 1 }, invalid('externalTaskIds is empty'));
      reject({ retries: 1, externalTaskIds: [], processInstanceIds: [] }, invalid('externalTaskIds is empty'));
      reject({ retries: 1, externalTaskQuery: { topicName: 'nothing' } }, invalid('externalTaskIds is empty'));
      reject({ retries: 1, processInstanceQuery: { processInstanceIds: [] } }, {
        status: 500, type: 'ProcessEngineException', message: 'Set of process instance ids is empty', code: 0,
      });
      // the query is converted before retries are checked
      reject({ historicProcessInstanceQuery: { processInstanceIds: [] } }, {
        status: 500, type: 'ProcessEngineException', message: 'Set of process instance ids is empty', code: 0,
      });
      if (name === 'retries (sync)') {
        reject({ retries: -1, externalTaskIds: [tasks[0].id] },
          invalid('The number of retries cannot be negative: retries is not greater than or equal to 0'));
        // all or nothing: the known task is not changed either
        reject({ retries: 3, externalTaskIds: [tasks[0].id, 'nope'] }, {
          status: 404, type: 'InvalidRequestException', message: 'Cannot find external task with id nope: externalTask is null', code: null,
        });
      }
    } finally {
      engine.close();
    }
  });
}

test('retries-async: negative retries and unknown ids make a batch whose execution jobs fail (upstream), counted in statistics', async () => {
  const { engine, clock } = await newEngine();
  try {
    const { tasks } = sixTasks(engine);
    const negative = engine.setExternalTaskRetriesAsync({ retries: -1, externalTaskIds: [tasks[0].id] });
    assert.equal(negative.totalJobs, 1);
    const unknown = engine.setExternalTaskRetriesAsync({ retries: 2, externalTaskIds: ['nope', tasks[1].id] });
    assert.equal(unknown.totalJobs, 2);
    for (let i = 0; i < 8; i++) {
      runDueBatchJobs(engine, clock);
      clock.advance(30_000);
    }
    const [neg] = batchJobs(engine, negative).execution;
    assert.deepEqual([neg.retries, neg.exceptionMessage],
      [0, 'The number of retries cannot be negative: retries is not greater than or equal to 0']);
    const [unk] = batchJobs(engine, unknown).execution;
    assert.deepEqual([unk.retries, unk.exceptionMessage], [0, 'Cannot find external task with id nope: externalTask is null']);
    assert.deepEqual(statistics(engine, negative), { remainingJobs: 1, completedJobs: 0, failedJobs: 1, jobsCreated: 1 });
    assert.deepEqual(statistics(engine, unknown), { remainingJobs: 1, completedJobs: 1, failedJobs: 1, jobsCreated: 2 });
    assert.deepEqual(retriesOf(engine, tasks).slice(0, 2), [null, 2]);
    assert.equal(engine.getIncidentsCount({ incidentType: 'failedJob' }).count, 2);
    assert.equal(engine.getBatchesCount().count, 2, 'failed execution jobs keep their batches');
  } finally {
    engine.close();
  }
});

test('retries-async selections: a query with filters beyond its indexed lookup applies them all; an id list is read once per id', async () => {
  const { engine } = await newEngine();
  try {
    const { pis, tasks } = sixTasks(engine);
    const sizeOf = (body) => engine.setExternalTaskRetriesAsync({ retries: 2, ...body }).totalJobs;
    // the lookup alone (topicName, indexed) decides: every task
    assert.equal(sizeOf({ externalTaskQuery: { topicName: tasks[0].topicName } }), 6);
    // indexed topicName plus a filter the index does not answer
    assert.equal(sizeOf({ externalTaskQuery: { topicName: tasks[0].topicName, processInstanceIdIn: [pis[2], pis[5]] } }), 2);
    // an id list, repeated ids once, with and without another filter
    const ids = [tasks[4].id, tasks[1].id, tasks[4].id];
    assert.equal(sizeOf({ externalTaskQuery: { externalTaskIdIn: ids } }), 2);
    assert.equal(sizeOf({ externalTaskQuery: { externalTaskIdIn: ids, processInstanceId: pis[1] } }), 1);
    assert.equal(sizeOf({ processInstanceQuery: { processInstanceIds: [pis[3], pis[0], pis[3]] } }), 2);
    assert.equal(sizeOf({ processInstanceQuery: { processInstanceIds: [pis[3], pis[0]], businessKey: 'bk0' } }), 1);
    assert.equal(sizeOf({ processInstanceQuery: { processDefinitionKey: 'ext', businessKeyLike: 'bk%' } }), 6);
    assert.equal(sizeOf({ processInstanceQuery: { processDefinitionKey: 'ext', businessKey: 'bk5' } }), 1);
  } finally {
    engine.close();
  }
});
