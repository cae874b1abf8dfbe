// Deployments, process definitions, job definitions and starting instances.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { T0, assertEngineError, camundaDate, deploy, linear, newEngine } from './support/engine-helpers.js';

const ASYNC_PROCESS = linear('async', [
  { id: 'before', type: 'serviceTask', asyncBefore: true },
  { id: 'after', type: 'task', asyncAfter: true },
  { id: 'both', type: 'task', asyncBefore: true, asyncAfter: true },
  { id: 'timer', type: 'intermediateCatchEvent', timerDuration: 'PT5M' },
  { id: 'plain', type: 'task' },
]);

test('deploying a key again creates the next version; other keys count on their own', async () => {
  const { engine } = await newEngine();
  try {
    const d1 = deploy(engine, linear('a', []), linear('b', []));
    const d2 = deploy(engine, linear('a', []));
    const d3 = deploy(engine, linear('a', []));
    assert.notEqual(d1.id, d2.id);
    const defs1 = Object.values(d1.deployedProcessDefinitions);
    assert.deepEqual(defs1.map((d) => [d.key, d.version]).sort(), [['a', 1], ['b', 1]]);
    const [a2] = Object.values(d2.deployedProcessDefinitions);
    const [a3] = Object.values(d3.deployedProcessDefinitions);
    assert.equal(a2.version, 2);
    assert.equal(a3.version, 3);
    assert.equal(a3.deploymentId, d3.id);
    assert.match(a3.id, /^a:3:/);
    assert.deepEqual(
      engine.getProcessDefinitions({ key: 'a', sortBy: 'version', sortOrder: 'asc' }).map((d) => d.version),
      [1, 2, 3],
    );
    assert.deepEqual(engine.getProcessDefinitions({ latestVersion: true, sortBy: 'key', sortOrder: 'asc' }).map((d) => [d.key, d.version]), [
      ['a', 3],
      ['b', 1],
    ]);
    const latest = engine.getProcessDefinitionByKey('a');
    assert.equal(latest.id, a3.id);
    assert.deepEqual(engine.getProcessDefinition(a2.id), a2);
    // the deployment DTO in Camunda's shape
    assert.deepEqual(Object.keys(d1), [
      'links', 'id', 'name', 'source', 'deploymentTime', 'tenantId', 'deployedProcessDefinitions',
      'deployedCaseDefinitions', 'deployedDecisionDefinitions', 'deployedDecisionRequirementsDefinitions',
    ]);
    assert.equal(d1.deploymentTime, camundaDate(T0));
    assert.deepEqual(Object.keys(a2), [
      'id', 'key', 'category', 'description', 'name', 'version', 'resource', 'deploymentId', 'diagram',
      'suspended', 'tenantId', 'versionTag', 'historyTimeToLive', 'startableInTasklist',
    ]);
  } finally {
    engine.close();
  }
});

test('deployment creates job definitions for async and timer activities, per definition version', async () => {
  const { engine } = await newEngine();
  try {
    const [def] = Object.values(deploy(engine, ASYNC_PROCESS).deployedProcessDefinitions);
    const jds = engine.getJobDefinitions({ processDefinitionId: def.id });
    const summary = jds.map((j) => [j.activityId, j.jobType, j.jobConfiguration]).sort();
    assert.deepEqual(summary, [
      ['after', 'async-continuation', 'async-after'],
      ['before', 'async-continuation', 'async-before'],
      ['both', 'async-continuation', 'async-after'],
      ['both', 'async-continuation', 'async-before'],
      ['timer', 'timer-intermediate-transition', 'DURATION: PT5M'],
    ]);
    for (const jd of jds) {
      assert.equal(jd.processDefinitionKey, 'async');
      assert.equal(jd.suspended, false);
      assert.equal(jd.overridingJobPriority, null);
      assert.equal(jd.tenantId, null);
    }
    assert.deepEqual(Object.keys(jds[0]), [
      'id', 'processDefinitionId', 'processDefinitionKey', 'jobType', 'jobConfiguration', 'activityId',
      'suspended', 'overridingJobPriority', 'tenantId', 'deploymentId',
    ]);
    // a second version gets job definitions of its own
    const [def2] = Object.values(deploy(engine, ASYNC_PROCESS).deployedProcessDefinitions);
    const jds2 = engine.getJobDefinitions({ processDefinitionId: def2.id });
    assert.equal(jds2.length, 5);
    assert.equal(jds2.filter((j) => jds.some((k) => k.id === j.id)).length, 0);
    assert.equal(engine.getJobDefinitions({ jobType: 'timer-intermediate-transition' }).length, 2);
    assert.deepEqual(
      engine.getJobDefinitions({ activityIdIn: 'before,timer', processDefinitionId: def.id }).map((j) => j.activityId).sort(),
      ['before', 'timer'],
    );
  } finally {
    engine.close();
  }
});

test('a model without a timerDuration on a catch event is rejected as a ParseException and nothing is stored', async () => {
  const { engine } = await newEngine();
  try {
    const before = engine.store.dump();
    const bad = linear('bad', [{ id: 'wait', type: 'intermediateCatchEvent' }]);
    const err = assertEngineError(() => deploy(engine, linear('good', []), bad), {
      status: 400,
      type: 'ParseException',
      message:
        "ENGINE-09005 Could not parse BPMN process. Errors: \n* Intermediate catch event 'wait' needs a timerDuration (ISO-8601 duration such as PT5M) or a messageName | process 'bad'",
    });
    assert.equal(err.code, 0);
    assert.equal(engine.store.dump(), before);
    assert.deepEqual(engine.getProcessDefinitions(), []);
    assertEngineError(() => engine.createDeployment({ name: 'empty', processes: [] }), {
      status: 400,
      type: 'InvalidRequestException',
      message: "A deployment needs at least one process in 'processes'",
    });
  } finally {
    engine.close();
  }
});

test('a large model is validated element by element: duplicates, dangling flows and boundary flows are found anywhere', async () => {
  // Deploy validation looks activities up through a sorted index (it was one
  // scan per flow); these cases pin the answers it must keep giving.
  const { engine } = await newEngine();
  const tasks = Array.from({ length: 2000 }, (_, i) => ({ id: `t${String(i).padStart(4, '0')}`, type: 'task' }));
  const parse = (detail, key) => ({
    status: 400,
    type: 'ParseException',
    message: `ENGINE-09005 Could not parse BPMN process. Errors: \n* ${detail} | process '${key}'`,
  });
  try {
    const dup = linear('dup', [...tasks, { id: 't1000', type: 'task' }, { id: 't0007', type: 'task' }]);
    assertEngineError(() => deploy(engine, dup), parse("Duplicate activity id 't1000'", 'dup'));
    const dangling = linear('dangling', tasks);
    dangling.flows.push({ id: 'late', source: 't1999', target: 't2000' });
    assertEngineError(() => deploy(engine, dangling), parse("Sequence flow 'late' must connect two activities of the process", 'dangling'));
    const boundary = linear('boundary', tasks);
    boundary.activities.push({ id: 'b', type: 'boundaryEvent', attachedTo: 't1500', eventDefinition: 'error' });
    boundary.flows.push({ id: 'intoB', source: 't0003', target: 'b' });
    assertEngineError(() => deploy(engine, boundary), parse("Boundary event 'b' cannot have incoming sequence flows", 'boundary'));
    boundary.flows.pop();
    boundary.activities.at(-1).attachedTo = 't2000';
    assertEngineError(
      () => deploy(engine, boundary),
      parse("Boundary event 'b' must be attached to an activity of the process (attachedTo)", 'boundary'),
    );
    assert.deepEqual(engine.getProcessDefinitions(), []);
    boundary.activities.at(-1).attachedTo = 't1999';
    const [def] = Object.values(deploy(engine, boundary).deployedProcessDefinitions);
    const started = engine.startProcessInstance(def.id, {});
    assert.equal(started.ended, true);
  } finally {
    engine.close();
  }
});

test('start by id and by key (latest version) with a business key and typed variables', async () => {
  const { engine, clock } = await newEngine();
  try {
    const wait = linear('wait', [{ id: 'ut', type: 'userTask' }]);
    const [v1] = Object.values(deploy(engine, wait).deployedProcessDefinitions);
    const [v2] = Object.values(deploy(engine, wait).deployedProcessDefinitions);
    clock.advance(1000);
    const byId = engine.startProcessInstance(v1.id, { businessKey: 'order-1' });
    assert.deepEqual(byId, {
      links: [],
      id: byId.id,
      definitionId: v1.id,
      businessKey: 'order-1',
      caseInstanceId: null,
      ended: false,
      suspended: false,
      tenantId: null,
      definitionKey: 'wait',
    });
    assert.deepEqual(Object.keys(byId), [
      'links', 'id', 'definitionId', 'businessKey', 'caseInstanceId', 'ended', 'suspended', 'tenantId', 'definitionKey',
    ]);
    const byKey = engine.startProcessInstanceByKey('wait', {
      businessKey: 'order-2',
      variables: {
        amount: { value: 42 },
        price: { value: 9.5 },
        big: { value: 3000000000 },
        name: { value: 'Ann' },
        flag: { value: true },
        typed: { value: '7', type: 'String', valueInfo: { transient: false } },
      },
      withVariablesInReturn: true,
    });
    assert.equal(byKey.definitionId, v2.id);
    assert.equal(byKey.businessKey, 'order-2');
    assert.deepEqual(byKey.variables, {
      amount: { type: 'Integer', value: 42, valueInfo: {} },
      price: { type: 'Double', value: 9.5, valueInfo: {} },
      big: { type: 'Long', value: 3000000000, valueInfo: {} },
      name: { type: 'String', value: 'Ann', valueInfo: {} },
      flag: { type: 'Boolean', value: true, valueInfo: {} },
      typed: { type: 'String', value: '7', valueInfo: {} }, // Camunda writes transient only when true
    });
    const { variables: _vars, ...withoutVariables } = byKey;
    assert.deepEqual(engine.getProcessInstance(byKey.id), withoutVariables);
    assert.equal(engine.getProcessInstancesCount().count, 2);
    const hist = engine.getHistoricProcessInstance(byKey.id);
    assert.equal(hist.state, 'ACTIVE');
    assert.equal(hist.startTime, camundaDate(T0 + 1000));
    assert.equal(hist.endTime, null);
    assert.equal(hist.processDefinitionVersion, 2);
    assert.equal(hist.businessKey, 'order-2');
    assert.equal(hist.startActivityId, 'start');
  } finally {
    engine.close();
  }
});

test('an instance without wait states ends at once: ended=true, history COMPLETED with endTime', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, linear('quick', [{ id: 'noop', type: 'task' }]));
    const pi = engine.startProcessInstanceByKey('quick', {});
    assert.equal(pi.ended, true);
    assert.equal(engine.getProcessInstancesCount().count, 0);
    assertEngineError(() => engine.getProcessInstance(pi.id), {
      status: 404,
      type: 'InvalidRequestException',
      message: `Process instance with id ${pi.id} does not exist`,
    });
    const hist = engine.getHistoricProcessInstance(pi.id);
    assert.equal(hist.state, 'COMPLETED');
    assert.equal(hist.endTime, camundaDate(T0));
    assert.equal(hist.durationInMillis, 0);
    const acts = engine.getHistoricActivityInstances({ processInstanceId: pi.id, sortBy: 'activityId', sortOrder: 'asc' });
    assert.deepEqual(acts.map((a) => [a.activityId, a.activityType, a.endTime !== null]), [
      ['end', 'noneEndEvent', true],
      ['noop', 'task', true],
      ['start', 'startEvent', true],
    ]);
  } finally {
    engine.close();
  }
});

test('starting unknown definitions fails with Camunda\'s errors and writes nothing', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, linear('known', []));
    const before = engine.store.dump();
    assertEngineError(() => engine.startProcessInstance('nope:1:x', {}), {
      status: 500,
      type: 'RestException',
      code: 0,
      message:
        "Cannot instantiate process definition nope:1:x: no deployed process definition found with id 'nope:1:x': processDefinition is null",
    });
    assertEngineError(() => engine.startProcessInstanceByKey('nope', {}), {
      status: 404,
      type: 'RestException',
      message: 'No matching process definition with key: nope and no tenant-id',
    });
    assertEngineError(() => engine.getProcessDefinitionByKey('nope'), {
      status: 404,
      type: 'RestException',
      message: 'No matching process definition with key: nope and no tenant-id',
    });
    assertEngineError(() => engine.getProcessDefinition('nope:1:x'), {
      status: 404,
      type: 'InvalidRequestException',
      message: 'No matching definition with id nope:1:x',
    });
    assertEngineError(() => engine.getHistoricProcessInstance('nope'), {
      status: 404,
      type: 'InvalidRequestException',
      message: 'Historic process instance with id nope does not exist',
    });
    assert.equal(engine.store.dump(), before);
  } finally {
    engine.close();
  }
});
