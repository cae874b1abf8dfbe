// External tasks: fetch and lock, complete, failure, retries and incidents.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXT_PROCESS, MIN, T0, assertEngineError, camundaDate, deploy, linear, newEngine } from './support/engine-helpers.js';

const TWO_TOPICS = linear('two', [
  { id: 'first', type: 'serviceTask', topic: 'first' },
  { id: 'second', type: 'serviceTask', topic: 'second' },
]);

function fetch(engine, workerId, topics, maxTasks = 10) {
  return engine.fetchAndLock({ workerId, maxTasks, topics });
}

test('fetchAndLock locks tasks of the asked topics, at most maxTasks, until the lock expires', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS, TWO_TOPICS);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(engine.startProcessInstanceByKey('ext', { businessKey: `bk${i}` }).id);
    engine.startProcessInstanceByKey('two', {});
    assert.equal(engine.getExternalTasksCount().count, 4);

    const got = fetch(engine, 'w1', [{ topicName: 'work', lockDuration: 10_000 }], 2);
    assert.equal(got.length, 2);
    for (const t of got) {
      assert.equal(t.topicName, 'work');
      assert.equal(t.workerId, 'w1');
      assert.equal(t.lockExpirationTime, camundaDate(T0 + 10_000));
      assert.equal(t.retries, null);
      assert.equal(t.activityId, 'work');
      assert.ok(ids.includes(t.processInstanceId));
    }
    assert.deepEqual(Object.keys(got[0]), [
      'activityId', 'activityInstanceId', 'errorMessage', 'errorDetails', 'executionId', 'id', 'lockExpirationTime',
      'createTime', 'processDefinitionId', 'processDefinitionKey', 'processDefinitionVersionTag', 'processInstanceId',
      'retries', 'suspended', 'workerId', 'topicName', 'tenantId', 'variables', 'priority', 'businessKey',
      'extensionProperties',
    ]);
    // the third 'work' task is the only one left; locked ones are not handed out again
    const rest = fetch(engine, 'w2', [{ topicName: 'work', lockDuration: 10_000 }]);
    assert.equal(rest.length, 1);
    assert.ok(!got.some((t) => t.id === rest[0].id));
    assert.deepEqual(fetch(engine, 'w3', [{ topicName: 'work', lockDuration: 10_000 }]), []);
    assert.equal(engine.getExternalTasksCount({ locked: true }).count, 3);
    assert.equal(engine.getExternalTask(got[0].id).workerId, 'w1');

    // just before expiry still locked, at expiry free again
    clock.advance(9_999);
    assert.deepEqual(fetch(engine, 'w3', [{ topicName: 'work', lockDuration: 1000 }]), []);
    clock.advance(1);
    const again = fetch(engine, 'w3', [{ topicName: 'work', lockDuration: 1000 }]);
    assert.deepEqual(again.map((t) => t.id).sort(), [...got, ...rest].map((t) => t.id).sort());
    assert.ok(again.every((t) => t.workerId === 'w3' && t.lockExpirationTime === camundaDate(T0 + 11_000)));

    // several topics in one call; maxTasks counts across topics
    const mixed = fetch(engine, 'w4', [
      { topicName: 'first', lockDuration: 1000 },
      { topicName: 'nothing-here', lockDuration: 1000 },
    ]);
    assert.deepEqual(mixed.map((t) => t.topicName), ['first']);
    assert.deepEqual(fetch(engine, 'w4', [{ topicName: 'second', lockDuration: 1000 }]), []);
  } finally {
    engine.close();
  }
});

test('fetchAndLock hands out the instance variables, or only those asked for', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    engine.startProcessInstanceByKey('ext', { businessKey: 'b', variables: { a: { value: 1 }, b: { value: 'x' } } });
    const [all] = fetch(engine, 'w', [{ topicName: 'work', lockDuration: 1000 }]);
    assert.deepEqual(all.variables, {
      a: { type: 'Integer', value: 1, valueInfo: {} },
      b: { type: 'String', value: 'x', valueInfo: {} },
    });
    assert.equal(all.businessKey, 'b');
    engine.unlockExternalTask(all.id);
    const [some] = fetch(engine, 'w', [{ topicName: 'work', lockDuration: 1000, variables: ['b'] }]);
    assert.deepEqual(some.variables, { b: { type: 'String', value: 'x', valueInfo: {} } });
  } finally {
    engine.close();
  }
});

test('complete moves the instance to the next task with the variables, then ends it (COMPLETED, endTime)', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, TWO_TOPICS);
    const pi = engine.startProcessInstanceByKey('two', {});
    const [first] = fetch(engine, 'w', [{ topicName: 'first', lockDuration: MIN }]);
    clock.advance(1000);
    assert.equal(engine.completeExternalTask(first.id, { workerId: 'w', variables: { result: { value: 'ok' } } }), null);
    assertEngineError(() => engine.getExternalTask(first.id), {
      status: 404,
      type: 'RestException',
      message: `External task with id ${first.id} does not exist`,
    });
    const [second] = fetch(engine, 'w', [{ topicName: 'second', lockDuration: MIN }]);
    assert.equal(second.processInstanceId, pi.id);
    assert.equal(second.activityId, 'second');
    assert.deepEqual(second.variables, { result: { type: 'String', value: 'ok', valueInfo: {} } });
    assert.equal(engine.getHistoricProcessInstance(pi.id).state, 'ACTIVE');

    clock.advance(2000);
    engine.completeExternalTask(second.id, { workerId: 'w' });
    assert.equal(engine.getProcessInstancesCount().count, 0);
    assert.equal(engine.getExternalTasksCount().count, 0);
    const hist = engine.getHistoricProcessInstance(pi.id);
    assert.equal(hist.state, 'COMPLETED');
    assert.equal(hist.endTime, camundaDate(T0 + 3000));
    assert.equal(hist.durationInMillis, 3000);
    assert.equal(hist.deleteReason, null);
    const first_act = engine.getHistoricActivityInstances({ processInstanceId: pi.id, activityId: 'first' });
    assert.equal(first_act.length, 1);
    assert.equal(first_act[0].activityType, 'serviceTask');
    assert.equal(first_act[0].startTime, camundaDate(T0));
    assert.equal(first_act[0].endTime, camundaDate(T0 + 1000));
    assert.equal(first_act[0].durationInMillis, 1000);
  } finally {
    engine.close();
  }
});

test('failures count retries down; at 0 a failedExternalTask incident opens; raising retries resolves it', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const pi = engine.startProcessInstanceByKey('ext', {});
    const lock = { topicName: 'work', lockDuration: MIN };
    let [task] = fetch(engine, 'w', [lock]);

    engine.handleExternalTaskFailure(task.id, { workerId: 'w', errorMessage: 'flaky', errorDetails: 'trace', retries: 2, retryTimeout: 5000 });
    let stored = engine.getExternalTask(task.id);
    assert.equal(stored.retries, 2);
    assert.equal(stored.errorMessage, 'flaky');
    assert.equal(stored.lockExpirationTime, camundaDate(T0 + 5000));
    assert.deepEqual(engine.getIncidents(), []);
    // not fetchable during the retry timeout
    assert.deepEqual(fetch(engine, 'w', [lock]), []);
    clock.advance(5000);
    [task] = fetch(engine, 'w', [lock]);
    assert.equal(task.retries, 2);
    assert.equal(task.errorMessage, 'flaky');
    assert.equal(task.errorDetails, 'trace');

    clock.advance(1000);
    engine.handleExternalTaskFailure(task.id, { workerId: 'w', errorMessage: 'gave up', retries: 0, retryTimeout: 0 });
    stored = engine.getExternalTask(task.id);
    assert.equal(stored.retries, 0);
    const incidents = engine.getIncidents();
    assert.equal(incidents.length, 1);
    const incident = incidents[0];
    assert.deepEqual(incident, {
      id: incident.id,
      processDefinitionId: task.processDefinitionId,
      processInstanceId: pi.id,
      executionId: task.executionId,
      incidentTimestamp: camundaDate(T0 + 6000),
      incidentType: 'failedExternalTask',
      activityId: 'work',
      failedActivityId: 'work',
      causeIncidentId: incident.id,
      rootCauseIncidentId: incident.id,
      configuration: task.id,
      incidentMessage: 'gave up',
      tenantId: null,
      jobDefinitionId: null,
      annotation: null,
    });
    assert.deepEqual(Object.keys(incident), Object.keys({
      id: 0, processDefinitionId: 0, processInstanceId: 0, executionId: 0, incidentTimestamp: 0, incidentType: 0,
      activityId: 0, failedActivityId: 0, causeIncidentId: 0, rootCauseIncidentId: 0, configuration: 0,
      incidentMessage: 0, tenantId: 0, jobDefinitionId: 0, annotation: 0,
    }));
    assert.equal(engine.getIncidentsCount({ incidentType: 'failedExternalTask', configuration: task.id }).count, 1);
    // retries 0: never fetched, lock or not
    clock.advance(10 * MIN);
    assert.deepEqual(fetch(engine, 'w', [lock]), []);
    assert.equal(engine.getExternalTasksCount({ noRetriesLeft: true }).count, 1);
    let [hist] = engine.getHistoricIncidents({ configuration: task.id });
    assert.equal(hist.open, true);
    assert.equal(hist.resolved, false);
    assert.equal(hist.endTime, null);
    assert.equal(engine.getProcessInstancesCount({ withIncident: true }).count, 1);

    // 0 -> 0 opens no second incident
    engine.setExternalTaskRetries(task.id, { retries: 0 });
    assert.equal(engine.getIncidentsCount().count, 1);

    engine.setExternalTaskRetries(task.id, { retries: 1 });
    assert.deepEqual(engine.getIncidents(), []);
    [hist] = engine.getHistoricIncidents({ configuration: task.id });
    assert.equal(hist.id, incident.id);
    assert.deepEqual([hist.open, hist.resolved, hist.deleted], [false, true, false]);
    assert.equal(hist.endTime, camundaDate(clock.now()));
    assert.equal(hist.incidentMessage, 'gave up');
    // setting retries keeps the error message
    assert.equal(engine.getExternalTask(task.id).errorMessage, 'gave up');
    const [refetched] = fetch(engine, 'w2', [lock]);
    assert.equal(refetched.id, task.id);
    assert.equal(refetched.retries, 1);
    engine.completeExternalTask(refetched.id, { workerId: 'w2' });
    assert.equal(engine.getHistoricProcessInstance(pi.id).state, 'COMPLETED');
  } finally {
    engine.close();
  }
});

test('a failure without retries in the body means 0 retries and an incident', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    engine.startProcessInstanceByKey('ext', {});
    const [task] = fetch(engine, 'w', [{ topicName: 'work', lockDuration: MIN }]);
    engine.handleExternalTaskFailure(task.id, { workerId: 'w', errorMessage: 'no retries given' });
    assert.equal(engine.getExternalTask(task.id).retries, 0);
    assert.deepEqual(engine.getIncidents().map((i) => [i.incidentType, i.incidentMessage, i.configuration]), [
      ['failedExternalTask', 'no retries given', task.id],
    ]);
  } finally {
    engine.close();
  }
});

test('external task errors carry Camunda\'s status, type and message and change nothing', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    engine.startProcessInstanceByKey('ext', {});
    const unlocked = engine.getExternalTasks()[0];
    const before = engine.store.dump();
    for (const [op, args] of [
      ['getExternalTask', ['nope']],
      ['completeExternalTask', ['nope', { workerId: 'w' }]],
      ['handleExternalTaskFailure', ['nope', { workerId: 'w', retries: 1 }]],
      ['unlockExternalTask', ['nope']],
      ['extendExternalTaskLock', ['nope', { workerId: 'w', newDuration: 1000 }]],
      ['setExternalTaskRetries', ['nope', { retries: 1 }]],
    ]) {
      assertEngineError(() => engine[op](...args), {
        status: 404,
        type: 'RestException',
        message: 'External task with id nope does not exist',
      });
    }
    // not locked: the owner is 'null'
    assertEngineError(() => engine.completeExternalTask(unlocked.id, { workerId: 'w' }), {
      status: 400,
      type: 'RestException',
      message: `External Task ${unlocked.id} cannot be completed by worker 'w'. It is locked by worker 'null'.`,
    });
    assert.equal(engine.store.dump(), before);

    const [task] = fetch(engine, 'owner', [{ topicName: 'work', lockDuration: MIN }]);
    const locked = engine.store.dump();
    assertEngineError(() => engine.completeExternalTask(task.id, { workerId: 'thief' }), {
      status: 400,
      type: 'RestException',
      message: `External Task ${task.id} cannot be completed by worker 'thief'. It is locked by worker 'owner'.`,
    });
    assertEngineError(() => engine.handleExternalTaskFailure(task.id, { workerId: 'thief', retries: 0 }), {
      status: 400,
      type: 'RestException',
      message: `Failure of External Task ${task.id} cannot be reported by worker 'thief'. It is locked by worker 'owner'.`,
    });
    assertEngineError(() => engine.extendExternalTaskLock(task.id, { workerId: 'thief', newDuration: 1000 }), {
      status: 400,
      type: 'RestException',
      message: `The lock of the External Task ${task.id} cannot be extended by worker 'thief''. It is locked by worker 'owner'.`,
    });
    assertEngineError(() => engine.completeExternalTask(task.id, {}), {
      status: 500,
      type: 'NullValueException',
      message: 'workerId is null',
    });
    assertEngineError(() => engine.setExternalTaskRetries(task.id, {}), {
      status: 400,
      type: 'InvalidRequestException',
      message: 'The number of retries cannot be null.',
    });
    assertEngineError(() => engine.setExternalTaskRetries(task.id, { retries: null }), {
      status: 400,
      type: 'InvalidRequestException',
      message: 'The number of retries cannot be null.',
    });
    assertEngineError(() => engine.setExternalTaskRetries(task.id, { retries: -1 }), {
      status: 400,
      type: 'BadUserRequestException',
      message: 'The number of retries cannot be negative: retries is not greater than or equal to 0',
    });
    assertEngineError(() => engine.handleExternalTaskFailure(task.id, { workerId: 'owner', retries: -1 }), {
      status: 500,
      type: 'ProcessEngineException',
      message: 'retries is not greater than or equal to 0',
    });
    assertEngineError(() => engine.handleExternalTaskFailure(task.id, { workerId: 'owner', retries: 1, retryTimeout: -1 }), {
      status: 500,
      type: 'ProcessEngineException',
      message: 'retryDuration is not greater than or equal to 0',
    });
    assertEngineError(() => engine.fetchAndLock({ maxTasks: 1, topics: [{ topicName: 'work', lockDuration: 1 }] }), {
      status: 500,
      type: 'NullValueException',
      message: 'workerId is null',
    });
    assertEngineError(() => engine.extendExternalTaskLock(task.id, { workerId: 'owner', newDuration: 0 }), {
      status: 400,
      type: 'RestException',
      message: 'lockTime is not greater than 0',
    });
    assert.equal(engine.store.dump(), locked);

    // the owner may extend its lock while it holds
    clock.advance(1000);
    engine.extendExternalTaskLock(task.id, { workerId: 'owner', newDuration: 5 * MIN });
    assert.equal(engine.getExternalTask(task.id).lockExpirationTime, camundaDate(T0 + 1000 + 5 * MIN));
    clock.advance(5 * MIN);
    assertEngineError(() => engine.extendExternalTaskLock(task.id, { workerId: 'owner', newDuration: 1000 }), {
      status: 400,
      type: 'RestException',
      message: `Cannot extend a lock that expired: lockExpirationTime is not greater than or equal to ${clock.now()}`,
    });
    // unlock frees the task at once, for anyone
    engine.unlockExternalTask(task.id);
    const t = engine.getExternalTask(task.id);
    assert.equal(t.workerId, null);
    assert.equal(t.lockExpirationTime, null);
  } finally {
    engine.close();
  }
});

test('completing a task whose retries ran out resolves its incident (the worker still held the lock)', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const pi = engine.startProcessInstanceByKey('ext', {}).id;
    const [task] = fetch(engine, 'w', [{ topicName: 'work', lockDuration: MIN }]);
    engine.handleExternalTaskFailure(task.id, { workerId: 'w', errorMessage: 'down', retries: 0, retryTimeout: MIN });
    assert.equal(engine.getIncidentsCount().count, 1);
    engine.completeExternalTask(task.id, { workerId: 'w' });
    assert.equal(engine.getHistoricProcessInstance(pi).state, 'COMPLETED');
    assert.equal(engine.getIncidentsCount().count, 0);
    const [incident] = engine.getHistoricIncidents();
    assert.deepEqual([incident.open, incident.resolved, incident.deleted], [false, true, false]);
  } finally {
    engine.close();
  }
});
