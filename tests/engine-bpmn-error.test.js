// BPMN errors reported by external task workers: error boundary events
// catch them (specific codes before catch-all ones), an uncaught error ends
// the token as a none end event would, and bad requests change nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError } from '../bindings/index.js';
import { MIN, assertEngineError, deploy, newEngine } from './support/engine-helpers.js';

/** start -> work (external) -> end, with error boundary events on work. */
function guarded(key, boundaries) {
  const activities = [
    { id: 'start', type: 'startEvent' },
    { id: 'work', type: 'serviceTask', topic: 'work' },
    { id: 'end', type: 'endEvent' },
  ];
  const flows = [
    { id: 'f1', source: 'start', target: 'work' },
    { id: 'f2', source: 'work', target: 'end' },
  ];
  for (const b of boundaries) {
    activities.push({ type: 'boundaryEvent', eventDefinition: 'error', attachedTo: 'work', ...b.event });
    activities.push({ id: b.then, type: 'userTask' });
    flows.push({ id: `to-${b.then}`, source: b.event.id, target: b.then });
  }
  return { key, activities, flows };
}

const CAUGHT = guarded('caught', [
  { event: { id: 'onAny', errorCodeVariable: 'code', errorMessageVariable: 'why' }, then: 'anyHandler' },
  { event: { id: 'onDeclined', errorCode: 'DECLINED' }, then: 'declinedHandler' },
]);

const UNCAUGHT = {
  key: 'split',
  activities: [
    { id: 'start', type: 'startEvent' },
    { id: 'fork', type: 'parallelGateway' },
    { id: 'work', type: 'serviceTask', topic: 'work' },
    { id: 'other', type: 'userTask' },
    { id: 'end', type: 'endEvent' },
  ],
  flows: [
    { id: 'f1', source: 'start', target: 'fork' },
    { id: 'f2', source: 'fork', target: 'work' },
    { id: 'f3', source: 'fork', target: 'other' },
    { id: 'f4', source: 'work', target: 'end' },
  ],
};

function lockOne(engine, workerId = 'w') {
  const [task] = engine.fetchAndLock({ workerId, maxTasks: 1, topics: [{ topicName: 'work', lockDuration: MIN }] });
  assert.ok(task, 'a task to lock');
  return task;
}

function activities(engine, processInstanceId) {
  return engine.getHistoricActivityInstances({ processInstanceId, sortBy: 'startTime', sortOrder: 'asc' });
}

test('an error boundary event with the code catches it: the task is canceled and the boundary flow taken', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, CAUGHT);
    const pi = engine.startProcessInstanceByKey('caught', {}).id;
    const task = lockOne(engine);
    engine.handleExternalTaskBpmnError(task.id, {
      workerId: 'w',
      errorCode: 'DECLINED',
      errorMessage: 'card declined',
      variables: { amount: { value: 12, type: 'Integer' } },
    });
    assert.equal(engine.getExternalTasksCount().count, 0);
    const history = activities(engine, pi);
    const byId = Object.fromEntries(history.map((a) => [a.activityId, a]));
    assert.equal(byId.work.canceled, true);
    assert.notEqual(byId.work.endTime, null);
    assert.equal(byId.onDeclined.activityType, 'boundaryError');
    assert.notEqual(byId.onDeclined.endTime, null);
    assert.equal(byId.declinedHandler.endTime, null, 'the token waits in the handler');
    assert.ok(!byId.onAny && !byId.end);
    assert.equal(engine.getProcessInstance(pi).ended, false);
    const vars = engine.getProcessInstanceVariables(pi);
    assert.deepEqual(vars, { amount: { type: 'Integer', value: 12, valueInfo: {} } });
  } finally {
    engine.close();
  }
});

test('a catch-all error boundary event takes other codes and fills errorCodeVariable / errorMessageVariable', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, CAUGHT);
    const pi = engine.startProcessInstanceByKey('caught', {}).id;
    engine.handleExternalTaskBpmnError(lockOne(engine).id, { workerId: 'w', errorCode: 'TIMEOUT', errorMessage: 'slow' });
    const names = activities(engine, pi).map((a) => a.activityId).sort();
    assert.deepEqual(names, ['anyHandler', 'onAny', 'start', 'work']);
    assert.deepEqual(engine.getProcessInstanceVariables(pi), {
      code: { type: 'String', value: 'TIMEOUT', valueInfo: {} },
      why: { type: 'String', value: 'slow', valueInfo: {} },
    });
    // without a message the message variable is null
    const pi2 = engine.startProcessInstanceByKey('caught', {}).id;
    engine.handleExternalTaskBpmnError(lockOne(engine).id, { workerId: 'w', errorCode: 'X' });
    assert.deepEqual(engine.getProcessInstanceVariables(pi2).why, { type: 'Null', value: null, valueInfo: {} });
  } finally {
    engine.close();
  }
});

test('an uncaught BPMN error ends the token like a none end event; a parallel branch goes on', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, UNCAUGHT, guarded('lonely', []));
    // a single token: the instance completes
    const lonely = engine.startProcessInstanceByKey('lonely', {}).id;
    engine.handleExternalTaskBpmnError(lockOne(engine).id, { workerId: 'w', errorCode: 'NOPE' });
    const hist = engine.getHistoricProcessInstance(lonely);
    assert.equal(hist.state, 'COMPLETED');
    const work = activities(engine, lonely).find((a) => a.activityId === 'work');
    assert.equal(work.canceled, false);
    assert.equal(work.completeScope, true);
    assert.ok(!activities(engine, lonely).some((a) => a.activityId === 'end'));

    // two tokens: only the erring one ends
    const split = engine.startProcessInstanceByKey('split', {}).id;
    engine.handleExternalTaskBpmnError(lockOne(engine).id, { workerId: 'w', errorCode: 'NOPE' });
    assert.equal(engine.getProcessInstance(split).ended, false);
    assert.equal(engine.getHistoricProcessInstance(split).state, 'ACTIVE');
    const open = activities(engine, split).filter((a) => a.endTime === null).map((a) => a.activityId);
    assert.deepEqual(open, ['other']);
  } finally {
    engine.close();
  }
});

test('a BPMN error on a task whose retries ran out removes its incident', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, CAUGHT);
    engine.startProcessInstanceByKey('caught', {});
    const task = lockOne(engine);
    engine.handleExternalTaskFailure(task.id, { workerId: 'w', errorMessage: 'down', retries: 0, retryTimeout: 0 });
    assert.equal(engine.getIncidentsCount().count, 1);
    engine.handleExternalTaskBpmnError(task.id, { workerId: 'w', errorCode: 'DECLINED' });
    assert.equal(engine.getIncidentsCount().count, 0);
    const [incident] = engine.getHistoricIncidents();
    assert.equal(incident.deleted, true);
  } finally {
    engine.close();
  }
});

test('bpmnError rejections carry Camunda\'s status, type and message and write nothing', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, CAUGHT);
    engine.startProcessInstanceByKey('caught', {});
    engine.startProcessInstanceByKey('caught', {});
    const task = lockOne(engine, 'owner');
    const unlocked = engine.getExternalTasks({ notLocked: true })[0];
    const before = engine.store.dump();
    const cases = [
      [['nope', { workerId: 'w', errorCode: 'E' }], 404, 'RestException', 'External task with id nope does not exist'],
      [[task.id, { errorCode: 'E' }], 500, 'NullValueException', 'workerId is null'],
      [[task.id, { workerId: 'owner' }], 500, 'NullValueException', 'errorCode is null'],
      [[task.id, { workerId: 'owner', errorCode: null }], 500, 'NullValueException', 'errorCode is null'],
      // checked before the task is looked for, as upstream
      [['nope', { workerId: 'w' }], 500, 'NullValueException', 'errorCode is null'],
      [[task.id, { workerId: 'thief', errorCode: 'E' }], 400, 'RestException',
        `Bpmn error of External Task ${task.id} cannot be reported by worker 'thief'. It is locked by worker 'owner'.`],
      [[unlocked.id, { workerId: 'w', errorCode: 'E' }], 400, 'RestException',
        `Bpmn error of External Task ${unlocked.id} cannot be reported by worker 'w'. It is locked by worker 'null'.`],
      [[task.id, { workerId: 'owner', errorCode: 'E', variables: { n: { value: 'x', type: 'Integer' } } }], 400,
        'InvalidRequestException', "Cannot convert value 'x' of type 'Integer' to java type java.lang.Integer"],
    ];
    for (const [args, status, type, message] of cases) {
      let error;
      try {
        engine.handleExternalTaskBpmnError(...args);
      } catch (err) {
        error = err;
      }
      assert.ok(error instanceof EngineError, `${JSON.stringify(args)} must fail`);
      assert.equal(error.status, status, error.message);
      assert.equal(error.type, type);
      if (type !== 'InvalidRequestException') assert.equal(error.message, message);
      else assert.match(error.message, /Integer/);
    }
    assert.equal(engine.store.dump(), before);
  } finally {
    engine.close();
  }
});

test('error boundary events are validated at deployment', async () => {
  const { engine } = await newEngine();
  try {
    const bad = (event, extraFlow) => {
      const model = guarded('bad', [{ event: { id: 'b', ...event }, then: 'h' }]);
      if (extraFlow) model.flows.push({ id: 'in', source: 'start', target: 'b' });
      return model;
    };
    const parse = (detail) => ({
      status: 400,
      type: 'ParseException',
      message: `ENGINE-09005 Could not parse BPMN process. Errors: \n* ${detail} | process 'bad'`,
    });
    assertEngineError(() => deploy(engine, bad({ attachedTo: 'ghost' })),
      parse("Boundary event 'b' must be attached to an activity of the process (attachedTo)"));
    assertEngineError(() => deploy(engine, bad({ eventDefinition: 'timer' })),
      parse("Boundary event 'b' needs eventDefinition 'error'; only error boundary events are supported"));
    assertEngineError(() => deploy(engine, bad({ errorCode: 7 })),
      parse("The errorCode of boundary event 'b' must be a string"));
    assertEngineError(() => deploy(engine, bad({}, true)),
      parse("Boundary event 'b' cannot have incoming sequence flows"));
    assert.equal(engine.getProcessDefinitions().length, 0);
  } finally {
    engine.close();
  }
});

test('a storage fault anywhere in bpmnError fails it cleanly and changes nothing', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, CAUGHT, guarded('lonely', []));
    engine.startProcessInstanceByKey('caught', {});
    engine.startProcessInstanceByKey('lonely', {});
    for (const code of ['DECLINED', 'OTHER']) {
      const task = lockOne(engine);
      let n = 1;
      for (; n < 200; n++) {
        const before = engine.store.dump();
        engine.injectStoreFault(n);
        let error;
        try {
          engine.handleExternalTaskBpmnError(task.id, { workerId: 'w', errorCode: code, variables: { v: { value: n } } });
        } catch (err) {
          error = err;
        }
        engine.injectStoreFault(0);
        if (!error) break;
        assert.equal(error.message, 'storage failure: injected storage fault');
        assert.equal(engine.store.dump(), before, `fault at storage call ${n} left a trace`);
      }
      assert.ok(n > 3 && n < 200, `bpmnError used several storage calls (${n})`);
    }
    assert.equal(engine.getExternalTasksCount().count, 0);
  } finally {
    engine.close();
  }
});
