// Restart of finished process instances: POST /process-definition/{id}/restart-async
// and the synchronous POST .../restart (reference section 5; seed page 004).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { T0, assertEngineError, deploy, linear, newEngine } from './support/engine-helpers.js';
import {
  assertNewBatch, assertRejectedUnchanged, batchJobs, record, runBatches, runDueBatchJobs, statistics,
} from './support/batch-helpers.js';

// start -f1-> work (external, topic work) -f2-> aUserTask -f3-> last (external, topic last) -f4-> end
const RS = linear('rs', [
  { id: 'work', type: 'serviceTask', topic: 'work' },
  { id: 'aUserTask', type: 'userTask' },
  { id: 'last', type: 'serviceTask', topic: 'last' },
]);

/**
 * Instances started with x=1 and business key bk<i>; the external task
 * completes with x=2 (the last value) and y; then the instance is deleted
 * (externally terminated) while waiting in aUserTask.
 */
function finishedInstances(engine, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const pi = engine.startProcessInstanceByKey('rs', { businessKey: `bk${i}`, variables: { x: { value: 1 } } });
    const [task] = engine.getExternalTasks({ processInstanceId: pi.id });
    engine.fetchAndLock({ workerId: 'w', maxTasks: 100, topics: [{ topicName: 'work', lockDuration: 1000 }] });
    engine.completeExternalTask(task.id, { workerId: 'w', variables: { x: { value: 2 }, y: { value: 's' } } });
    engine.deleteProcessInstance(pi.id);
    ids.push(pi.id);
  }
  return ids;
}

/** The new instances restarted from `old` ids, as {restartedFrom: runtime record}. */
function restarted(engine, skip = new Set()) {
  const dump = JSON.parse(engine.store.dump());
  const out = {};
  for (const { record: h } of Object.values(dump.historicProcessInstance ?? {})) {
    if (h.restartedProcessInstanceId && !skip.has(h.id)) {
      assert.ok(!out[h.restartedProcessInstanceId], `one new instance per restarted instance (${h.restartedProcessInstanceId})`);
      out[h.restartedProcessInstanceId] = { hist: h, inst: dump.processInstance?.[h.id]?.record };
    }
  }
  return out;
}

const where = (inst) => inst.tokens.map((t) => t.activityId);
const values = (vars) => Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v.value]));

test('restart-async: the seed example (startAfterActivity, initialVariables, skipCustomListeners, withoutBusinessKey, historic query) gives an instance-restart batch', async () => {
  const { engine, clock } = await newEngine();
  try {
    const [def] = Object.values(deploy(engine, RS).deployedProcessDefinitions);
    const old = finishedInstances(engine, 3);
    clock.advance(1000);
    const batch = engine.restartProcessInstancesAsync(def.id, {
      instructions: [{ type: 'startAfterActivity', activityId: 'aUserTask' }],
      initialVariables: true,
      skipCustomListeners: true,
      withoutBusinessKey: true,
      historicProcessInstanceQuery: { processDefinitionId: def.id, processInstanceBusinessKey: 'bk1' },
    });
    assertNewBatch(batch, { type: 'instance-restart', totalJobs: 1, now: T0 + 1000 });
    // the batch's jobs carry the definition's deployment
    assert.equal(batchJobs(engine, batch).seed.length, 1);
    runBatches(engine, clock);
    const made = restarted(engine);
    assert.deepEqual(Object.keys(made), [old[1]]);
    const { hist, inst } = made[old[1]];
    assert.notEqual(hist.id, old[1], 'a new instance');
    assert.deepEqual(where(inst), ['last'], 'started after aUserTask');
    assert.equal(engine.getProcessInstance(hist.id).businessKey, null);
    assert.deepEqual(values(inst.variables), { x: 1 }, 'the initial variables');
    assert.equal(engine.getExternalTasks({ processInstanceId: hist.id })[0].activityId, 'last');
    // the old historic instance is not modified
    assert.equal(engine.getHistoricProcessInstance(old[1]).state, 'EXTERNALLY_TERMINATED');
    assert.ok(engine.getHistoricBatch(batch.id).endTime);
  } finally {
    engine.close();
  }
});

test('restart: each instruction type, last-set variables and the business key by default; union of ids and query without duplicates', async () => {
  const { engine, clock } = await newEngine();
  try {
    const [def] = Object.values(deploy(engine, RS).deployedProcessDefinitions);
    const old = finishedInstances(engine, 3);
    const seenIds = new Set();
    const cases = [
      [[{ type: 'startBeforeActivity', activityId: 'work' }], ['work']],
      [[{ type: 'startAfterActivity', activityId: 'work' }], ['aUserTask']],
      [[{ type: 'startTransition', transitionId: 'f3' }], ['last']],
      // several instructions run in order; cancel is ignored
      [[{ type: 'cancel', activityId: 'work' }, { type: 'startBeforeActivity', activityId: 'aUserTask' }, { type: 'startTransition', transitionId: 'f1' }], ['aUserTask', 'work']],
    ];
    for (const [instructions, expected] of cases) {
      const batch = engine.restartProcessInstancesAsync(def.id, {
        processInstanceIds: [old[0], old[2]],
        historicProcessInstanceQuery: { processInstanceBusinessKey: 'bk0', finished: true },
        instructions,
      });
      assert.equal(batch.totalJobs, 2, 'old[0] from the list and the query counts once');
      runBatches(engine, clock);
      const made = restarted(engine, seenIds);
      assert.deepEqual(Object.keys(made).sort(), [old[0], old[2]].sort());
      for (const o of [old[0], old[2]]) {
        const { hist, inst } = made[o];
        assert.deepEqual(where(inst).sort(), expected.slice().sort(), JSON.stringify(instructions));
        assert.equal(inst.businessKey, o === old[0] ? 'bk0' : 'bk2');
        assert.deepEqual(values(inst.variables), { x: 2, y: 's' }, 'the last variables');
        seenIds.add(hist.id);
      }
    }
    // the synchronous twin: 204 and the new instance at once
    assert.equal(engine.restartProcessInstances(def.id, {
      processInstanceIds: [old[1]], instructions: [{ type: 'startBeforeActivity', activityId: 'last' }], withoutBusinessKey: true,
    }), null);
    const made = restarted(engine, seenIds)[old[1]];
    assert.deepEqual(where(made.inst), ['last']);
    assert.equal(engine.getProcessInstance(made.hist.id).businessKey, null);
    assert.equal(engine.getBatchesCount().count, 0);
  } finally {
    engine.close();
  }
});

test('restart: validation rules, in upstream order, with their status and message; nothing written', async () => {
  const { engine } = await newEngine();
  try {
    const [def] = Object.values(deploy(engine, RS).deployedProcessDefinitions);
    const [old] = finishedInstances(engine, 1);
    const invalid = (message) => ({ status: 400, type: 'InvalidRequestException', message, code: null });
    const start = [{ type: 'startBeforeActivity', activityId: 'work' }];
    for (const [name, call] of [
      ['async', (id, body) => engine.restartProcessInstancesAsync(id, body)],
      ['sync', (id, body) => engine.restartProcessInstances(id, body)],
    ]) {
      const reject = (body, expected, id = def.id) => assertRejectedUnchanged(engine, () => call(id, body), expected);
      // 400 on purpose where upstream throws a 500 NullPointerException
      reject(undefined, invalid('Request body is null: restart needs processInstanceIds or a historicProcessInstanceQuery, and instructions'));
      reject({ processInstanceIds: [old] }, invalid('instructions is null: restart needs at least one instruction'));
      reject({ processInstanceIds: [old], instructions: null }, invalid('instructions is null: restart needs at least one instruction'));
      reject({ processInstanceIds: [old], instructions: [{ type: 'startBeforeActivity' }] },
        invalid("For instruction type 'startBeforeActivity': 'activityId' must be set"));
      reject({ processInstanceIds: [old], instructions: [{ type: 'startAfterActivity' }] },
        invalid("For instruction type 'startAfterActivity': 'activityId' must be set"));
      reject({ processInstanceIds: [old], instructions: [{ type: 'startTransition', activityId: 'work' }] },
        invalid("For instruction type 'startTransition': 'transitionId' must be set"));
      // an unknown instruction type is Jackson's mapping error: empty message
      reject({ processInstanceIds: [old], instructions: [{ type: 'jump', activityId: 'work' }] }, invalid(''));
      // RestartProcessInstancesBatchCmd and RestartProcessInstancesCmd name the ids differently
      reject({ processInstanceIds: [old, null], instructions: start }, invalid(
        `Process instance ids cannot be null: ${name === 'async' ? 'processInstanceIds' : 'Process instance ids'} contains null value`));
      reject({ processInstanceIds: [null], instructions: start }, invalid(
        `Process instance ids cannot be null: ${name === 'async' ? 'processInstanceIds' : 'Process instance ids'} contains null value`));
      // both check the instructions' emptiness before the null ids
      reject({ processInstanceIds: [null], instructions: [] }, invalid('Restart instructions cannot be empty: instructions is empty'));
      // and the null ids before the definition
      reject({ processInstanceIds: [null], instructions: start }, invalid(
        `Process instance ids cannot be null: ${name === 'async' ? 'processInstanceIds' : 'Process instance ids'} contains null value`), 'unknown-definition');
      reject({ processInstanceIds: [old], instructions: [] }, invalid('Restart instructions cannot be empty: instructions is empty'));
      reject({ processInstanceIds: [old], instructions: [{ type: 'cancel', activityId: 'work' }] },
        invalid('Restart instructions cannot be empty: instructions is empty'));
      reject({ historicProcessInstanceQuery: { processInstanceBusinessKey: 'none' }, instructions: start }, invalid('processInstanceIds is empty'));
      // ids are checked before the definition exists
      reject({ instructions: start }, invalid('processInstanceIds is empty'), 'unknown-definition');
      reject({ processInstanceIds: [old], instructions: start },
        invalid("no deployed process definition found with id 'unknown-definition': processDefinition is null"), 'unknown-definition');
      // async checks the ids before the instructions' emptiness, sync the other way round
      reject({ instructions: [] }, invalid(name === 'async' ? 'processInstanceIds is empty' : 'Restart instructions cannot be empty: instructions is empty'));
    }
  } finally {
    engine.close();
  }
});

test('restart sync: instances that are running, of another definition or unknown, and unknown elements are rejected with upstream messages', async () => {
  const { engine } = await newEngine();
  try {
    const [def] = Object.values(deploy(engine, RS).deployedProcessDefinitions);
    const [def2] = Object.values(deploy(engine, linear('other', [{ id: 'work', type: 'userTask' }])).deployedProcessDefinitions);
    const [old] = finishedInstances(engine, 1);
    const running = engine.startProcessInstanceByKey('rs', {}).id;
    const foreign = engine.startProcessInstanceByKey('other', {}).id;
    engine.deleteProcessInstance(foreign);
    const reject = (ids, instructions, expected) =>
      assertRejectedUnchanged(engine, () => engine.restartProcessInstances(def.id, { processInstanceIds: ids, instructions }), expected);
    const start = [{ type: 'startBeforeActivity', activityId: 'work' }];
    reject([old, running], start, {
      status: 500, type: 'ProcessEngineException', code: 0,
      message: `ENGINE-13040 Historic process instance '${running}' cannot be restarted. It is not completed or terminated.`,
    });
    reject([foreign], start, {
      status: 500, type: 'ProcessEngineException', code: 0,
      message: `ENGINE-13039 Historic process instance '${foreign}' cannot be restarted. Its process definition '${def2.id}' does not match given process definition '${def.id}'`,
    });
    // ProcessDefinitionResourceImpl rethrows BadUserRequestException (NotValidException too) as
    // InvalidRequestException without a cause: no code
    const invalid = (message) => ({ status: 400, type: 'InvalidRequestException', message, code: null });
    reject(['nope'], start, invalid('Historic process instance cannot be found: historicProcessInstanceId is null'));
    reject([old], [{ type: 'startBeforeActivity', activityId: 'ghost' }],
      invalid(`Element 'ghost' does not exist in process ${def.id}: targetElement is null`));
    reject([old], [{ type: 'startTransition', transitionId: 'ghost' }],
      invalid(`Element 'ghost' does not exist in process ${def.id}: targetElement is null`));
    // a start after an activity looks the activity up itself (ActivityAfterInstantiationCmd)
    reject([old], [{ type: 'startAfterActivity', activityId: 'ghost' }],
      invalid("Cannot perform instruction: Start after activity 'ghost'; Activity 'ghost' does not exist: activity is null"));
    reject([old], [...start, { type: 'startAfterActivity', activityId: 'ghost' }],
      invalid("Cannot perform instruction: Start after activity 'ghost'; Activity 'ghost' does not exist: activity is null"));
    // instructions after the first run as their own commands (AbstractInstantiationCmd)
    reject([old], [...start, { type: 'startBeforeActivity', activityId: 'ghost' }],
      invalid(`Cannot perform instruction: Start before activity 'ghost'; Element 'ghost' does not exist in process '${def.id}': element is null`));
    reject([old], [...start, { type: 'startTransition', transitionId: 'ghost' }],
      invalid(`Cannot perform instruction: Start transition 'ghost'; Element 'ghost' does not exist in process '${def.id}': element is null`));
    reject([old], [{ type: 'startAfterActivity', activityId: 'end' }], {
      status: 500, type: 'ProcessEngineException', code: 0,
      message: 'Cannot start after activity end; activity has no outgoing sequence flow to take',
    });
  } finally {
    engine.close();
  }
});

test('restart-async: an instance still running fails its execution job (ENGINE-13040, incident at 0); once it ended and the job has retries, the batch completes', async () => {
  const { engine, clock } = await newEngine();
  try {
    const [def] = Object.values(deploy(engine, RS).deployedProcessDefinitions);
    const [old] = finishedInstances(engine, 1);
    const running = engine.startProcessInstanceByKey('rs', { businessKey: 'late' }).id;
    const batch = engine.restartProcessInstancesAsync(def.id, {
      processInstanceIds: [old, running], instructions: [{ type: 'startBeforeActivity', activityId: 'aUserTask' }],
    });
    assert.equal(batch.totalJobs, 2, 'nothing is checked about the instances at creation');
    for (let i = 0; i < 6; i++) {
      runDueBatchJobs(engine, clock);
      clock.advance(30_000);
    }
    const [failed] = batchJobs(engine, batch).execution;
    const message = `ENGINE-13040 Historic process instance '${running}' cannot be restarted. It is not completed or terminated.`;
    assert.deepEqual([failed.retries, failed.exceptionMessage], [0, message]);
    const incidents = engine.getIncidents({ jobDefinitionIdIn: batch.batchJobDefinitionId });
    assert.deepEqual(incidents.map((i) => [i.incidentType, i.configuration, i.incidentMessage]), [['failedJob', failed.id, message]]);
    assert.deepEqual(statistics(engine, batch), { remainingJobs: 1, completedJobs: 1, failedJobs: 1, jobsCreated: 2 });
    assert.deepEqual(Object.keys(restarted(engine)), [old], 'the other item was restarted');
    assert.equal(engine.getBatchesCount().count, 1);
    assert.equal(engine.getHistoricBatch(batch.id).endTime, null);

    engine.deleteProcessInstance(running);
    engine.setJobRetries(failed.id, { retries: 1 });
    runBatches(engine, clock);
    assert.deepEqual(Object.keys(restarted(engine)).sort(), [old, running].sort());
    assert.equal(restarted(engine)[running].inst.businessKey, 'late');
    assert.equal(engine.getIncidentsCount().count, 0);
    assert.ok(engine.getHistoricBatch(batch.id).endTime);
  } finally {
    engine.close();
  }
});
