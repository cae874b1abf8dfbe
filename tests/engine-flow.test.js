// Gateways and cancelling instances.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIN, T0, assertEngineError, camundaDate, deploy, newEngine } from './support/engine-helpers.js';

const PARALLEL = {
  key: 'parallel',
  activities: [
    { id: 'start', type: 'startEvent' },
    { id: 'fork', type: 'parallelGateway' },
    { id: 'a', type: 'serviceTask', topic: 'a' },
    { id: 'b', type: 'serviceTask', topic: 'b' },
    { id: 'c', type: 'serviceTask', asyncBefore: true },
    { id: 'join', type: 'parallelGateway' },
    { id: 'after', type: 'userTask' },
    { id: 'end', type: 'endEvent' },
  ],
  flows: [
    { id: 's', source: 'start', target: 'fork' },
    { id: 'fa', source: 'fork', target: 'a' },
    { id: 'fb', source: 'fork', target: 'b' },
    { id: 'fc', source: 'fork', target: 'c' },
    { id: 'ja', source: 'a', target: 'join' },
    { id: 'jb', source: 'b', target: 'join' },
    { id: 'jc', source: 'c', target: 'join' },
    { id: 'j', source: 'join', target: 'after' },
    { id: 'e', source: 'after', target: 'end' },
  ],
};

function completeTopic(engine, topic) {
  const [task] = engine.fetchAndLock({ workerId: 'w', maxTasks: 1, topics: [{ topicName: topic, lockDuration: MIN }] });
  assert.ok(task, `a task on topic ${topic}`);
  engine.completeExternalTask(task.id, { workerId: 'w' });
  return task;
}

test('a parallel gateway forks into every branch and joins when all arrived', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, PARALLEL);
    const pi = engine.startProcessInstanceByKey('parallel', {});
    assert.deepEqual(engine.getExternalTasks({ processInstanceId: pi.id }).map((t) => t.activityId).sort(), ['a', 'b']);
    assert.equal(engine.getJobsCount({ processInstanceId: pi.id }).count, 1);
    const executions = new Set([
      ...engine.getExternalTasks().map((t) => t.executionId),
      engine.getJobs()[0].executionId,
    ]);
    assert.equal(executions.size, 3, 'each branch has its own execution');

    completeTopic(engine, 'b');
    assert.deepEqual(engine.getProcessInstances({ activityIdIn: 'after' }), []);
    engine.executeDueJobs({});
    assert.deepEqual(engine.getProcessInstances({ activityIdIn: 'after' }), []);
    assert.equal(engine.getProcessInstancesCount({ activityIdIn: 'join' }).count, 1);
    completeTopic(engine, 'a');
    assert.deepEqual(engine.getProcessInstances({ activityIdIn: 'after' }).map((p) => p.id), [pi.id]);
    assert.equal(engine.getProcessInstancesCount({ activityIdIn: 'join' }).count, 0);
    const afterActs = engine.getHistoricActivityInstances({ processInstanceId: pi.id, activityId: 'after' });
    assert.equal(afterActs.length, 1, 'the join continues once');
    assert.equal(engine.getHistoricProcessInstance(pi.id).state, 'ACTIVE');
  } finally {
    engine.close();
  }
});

test('an exclusive gateway takes its default flow', async () => {
  const { engine } = await newEngine();
  try {
    const model = (dflt) => ({
      key: `xor-${dflt}`,
      activities: [
        { id: 'start', type: 'startEvent' },
        { id: 'gw', type: 'exclusiveGateway', default: dflt },
        { id: 'a', type: 'serviceTask', topic: 'a' },
        { id: 'b', type: 'serviceTask', topic: 'b' },
        { id: 'end', type: 'endEvent' },
      ],
      flows: [
        { id: 's', source: 'start', target: 'gw' },
        { id: 'toA', source: 'gw', target: 'a' },
        { id: 'toB', source: 'gw', target: 'b' },
        { id: 'ea', source: 'a', target: 'end' },
        { id: 'eb', source: 'b', target: 'end' },
      ],
    });
    deploy(engine, model('toB'), model('toA'));
    const viaB = engine.startProcessInstanceByKey('xor-toB', {});
    const viaA = engine.startProcessInstanceByKey('xor-toA', {});
    assert.deepEqual(engine.getExternalTasks({ processInstanceId: viaB.id }).map((t) => t.activityId), ['b']);
    assert.deepEqual(engine.getExternalTasks({ processInstanceId: viaA.id }).map((t) => t.activityId), ['a']);
    assert.equal(engine.getExternalTasksCount().count, 2, 'an exclusive gateway never forks');
  } finally {
    engine.close();
  }
});

test('deleteProcessInstance: EXTERNALLY_TERMINATED, its jobs, tasks and incidents gone, historic incidents deleted', async () => {
  const { engine, clock, failing } = await newEngine();
  try {
    deploy(engine, PARALLEL);
    const pi = engine.startProcessInstanceByKey('parallel', {});
    const other = engine.startProcessInstanceByKey('parallel', {});
    // incidents of both kinds: the job of branch c and the task of branch a
    failing.set('c', 'broken');
    for (let i = 0; i < 3; i++) engine.executeDueJobs({});
    for (const p of [pi, other]) {
      const [task] = engine.fetchAndLock({
        workerId: 'w',
        maxTasks: 1,
        topics: [{ topicName: 'a', lockDuration: MIN }],
      });
      engine.handleExternalTaskFailure(task.id, { workerId: 'w', errorMessage: `task failed ${p.id}`, retries: 0 });
    }
    assert.equal(engine.getIncidentsCount({ processInstanceId: pi.id }).count, 2);
    assert.equal(engine.getIncidentsCount({ processInstanceId: other.id }).count, 2);
    const incidentIds = engine.getIncidents({ processInstanceId: pi.id }).map((i) => i.id).sort();

    clock.advance(MIN);
    assert.equal(engine.deleteProcessInstance(pi.id), null);
    assertEngineError(() => engine.getProcessInstance(pi.id), {
      status: 404,
      type: 'InvalidRequestException',
      message: `Process instance with id ${pi.id} does not exist`,
    });
    const hist = engine.getHistoricProcessInstance(pi.id);
    assert.equal(hist.state, 'EXTERNALLY_TERMINATED');
    assert.equal(hist.endTime, camundaDate(T0 + MIN));
    assert.equal(hist.durationInMillis, MIN);
    assert.equal(hist.deleteReason, null);
    assert.equal(engine.getJobsCount({ processInstanceId: pi.id }).count, 0);
    assert.equal(engine.getExternalTasksCount({ processInstanceId: pi.id }).count, 0);
    assert.equal(engine.getIncidentsCount({ processInstanceId: pi.id }).count, 0);
    const histIncidents = engine.getHistoricIncidents({ processInstanceId: pi.id, sortBy: 'incidentId', sortOrder: 'asc' });
    assert.deepEqual(histIncidents.map((i) => i.id), incidentIds);
    for (const i of histIncidents) {
      assert.deepEqual([i.open, i.resolved, i.deleted], [false, false, true]);
      assert.equal(i.endTime, camundaDate(T0 + MIN));
    }
    const open = engine.getHistoricActivityInstances({ processInstanceId: pi.id, unfinished: true });
    assert.deepEqual(open, [], 'every activity instance ended');
    // a and b were waiting in their activities; c had not started (async before)
    assert.deepEqual(
      engine.getHistoricActivityInstances({ processInstanceId: pi.id, canceled: true }).map((a) => a.activityId).sort(),
      ['a', 'b'],
    );
    assert.equal(engine.getHistoricProcessInstancesCount({ externallyTerminated: true }).count, 1);

    // the other instance is untouched
    assert.equal(engine.getIncidentsCount({ processInstanceId: other.id }).count, 2);
    assert.equal(engine.getJobsCount({ processInstanceId: other.id }).count, 1);
    assert.equal(engine.getExternalTasksCount({ processInstanceId: other.id }).count, 2);
    assert.equal(engine.getHistoricProcessInstance(other.id).state, 'ACTIVE');

    // unknown instances
    const before = engine.store.dump();
    assertEngineError(() => engine.deleteProcessInstance(pi.id), {
      status: 404,
      type: 'InvalidRequestException',
      message: `No process instance found for id '${pi.id}': processInstance is null`,
    });
    assert.equal(engine.deleteProcessInstance('nope', { failIfNotExists: 'false' }), null);
    assert.equal(engine.store.dump(), before);
  } finally {
    engine.close();
  }
});
