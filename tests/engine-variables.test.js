// Process variables through the binding (issue 6): Camunda's typed values,
// the process instance variable operations, their history at level FULL and
// restart reading the last or the initial values from it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { T0, assertEngineError, camundaDate, deploy, linear, newEngine } from './support/engine-helpers.js';
import { assertRejectedUnchanged } from './support/batch-helpers.js';

const WAIT = linear('vars', [{ id: 'work', type: 'serviceTask', topic: 'work' }]);
const TWO_POW_53 = 2 ** 53;

async function setup() {
  const ctx = await newEngine();
  deploy(ctx.engine, WAIT);
  return ctx;
}

test('typed values round-trip unchanged: Long exact up to 2^53, Date in Camunda format, Json as a string', async () => {
  const { engine } = await setup();
  try {
    const variables = {
      s: { type: 'String', value: 'text', valueInfo: {} },
      i: { type: 'Integer', value: -2147483648, valueInfo: {} },
      sh: { type: 'Short', value: 32767, valueInfo: {} },
      l: { type: 'Long', value: TWO_POW_53, valueInfo: {} },
      ln: { type: 'Long', value: -TWO_POW_53, valueInfo: {} },
      d: { type: 'Double', value: 0.1, valueInfo: {} },
      b: { type: 'Boolean', value: false, valueInfo: {} },
      dt: { type: 'Date', value: '2024-02-29T23:59:59.999+0000', valueInfo: {} },
      j: { type: 'Json', value: '{"a":[1,2,{"b":null}]}', valueInfo: {} },
      n: { type: 'Null', value: null, valueInfo: {} },
    };
    const pi = engine.startProcessInstanceByKey('vars', { variables });
    assert.deepEqual(engine.getProcessInstanceVariables(pi.id), variables);
    for (const [name, value] of Object.entries(variables)) {
      assert.deepEqual(engine.getProcessInstanceVariable(pi.id, name), value, name);
    }
    // Types are Camunda's names whatever the case of their first letter; a
    // Date with another offset is the same instant, written in UTC.
    engine.setProcessInstanceVariable(pi.id, 'x', { type: 'long', value: '123' });
    engine.setProcessInstanceVariable(pi.id, 'when', { type: 'Date', value: '2024-01-01T02:00:00.000+0200' });
    assert.deepEqual(engine.getProcessInstanceVariable(pi.id, 'x'), { type: 'Long', value: 123, valueInfo: {} });
    assert.deepEqual(engine.getProcessInstanceVariable(pi.id, 'when'),
      { type: 'Date', value: '2024-01-01T00:00:00.000+0000', valueInfo: {} });
    // Query filters compare dates as instants, Longs exactly.
    const count = (variables) => engine.getProcessInstancesCount({}, { variables }).count;
    assert.equal(count([{ name: 'when', operator: 'eq', value: '2024-01-01T01:00:00.000+0100' }]), 1);
    assert.equal(count([{ name: 'when', operator: 'lt', value: '2023-12-31T23:59:59.999+0000' }]), 0);
    assert.equal(count([{ name: 'l', operator: 'eq', value: TWO_POW_53 }]), 1);
    assert.equal(count([{ name: 'l', operator: 'gt', value: TWO_POW_53 - 1 }]), 1);
  } finally {
    engine.close();
  }
});

test('a type omitted is inferred as Camunda does', async () => {
  const { engine } = await setup();
  try {
    const pi = engine.startProcessInstanceByKey('vars', {
      variables: {
        s: { value: 'a' }, i: { value: 7 }, l: { value: 3000000000 }, d: { value: 2.5 }, b: { value: true },
        n: { value: null }, none: {}, o: { value: { k: [1, 'x'] } }, a: { value: [1, 2] },
      },
    });
    const vars = engine.getProcessInstanceVariables(pi.id);
    assert.deepEqual(Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v.type])), {
      s: 'String', i: 'Integer', l: 'Long', d: 'Double', b: 'Boolean', n: 'Null', none: 'Null', o: 'Object', a: 'Object',
    });
    // Objects and arrays are Object values serialized in JSON: shown parsed
    // unless deserializeValues=false.
    assert.deepEqual(vars.o, {
      type: 'Object', value: { k: [1, 'x'] },
      valueInfo: { objectTypeName: 'java.util.LinkedHashMap', serializationDataFormat: 'application/json' },
    });
    assert.equal(engine.getProcessInstanceVariables(pi.id, { deserializeValues: 'false' }).o.value, '{"k":[1,"x"]}');
    assert.equal(engine.getProcessInstanceVariable(pi.id, 'a', { deserializeValue: 'false' }).value, '[1,2]');
  } finally {
    engine.close();
  }
});

test('a value that does not fit its type is a 400 with Camunda\'s message, and changes nothing', async () => {
  const { engine } = await setup();
  try {
    const pi = engine.startProcessInstanceByKey('vars', { variables: { keep: { value: 1 } } });
    const def = pi.definitionId;
    const start = (variables) => () => engine.startProcessInstanceByKey('vars', { variables });
    const cases = [
      [{ type: 'Integer', value: 'abc' }, "Cannot convert value 'abc' of type 'Integer' to java type java.lang.Integer"],
      [{ type: 'Integer', value: 2147483648 }, "Cannot convert value '2147483648' of type 'Integer' to java type java.lang.Integer"],
      [{ type: 'Integer', value: 1.5 }, "Cannot convert value '1.5' of type 'Integer' to java type java.lang.Integer"],
      [{ type: 'Short', value: 40000 }, "Cannot convert value '40000' of type 'Short' to java type java.lang.Short"],
      [{ type: 'Boolean', value: 'yes' }, "Cannot convert value 'yes' of type 'Boolean' to java type java.lang.Boolean"],
      [{ type: 'Double', value: 'x1' }, "Cannot convert value 'x1' of type 'Double' to java type java.lang.Double"],
      [{ type: 'Date', value: '2024-01-01' }, "Cannot convert value '2024-01-01' of type 'Date' to java type java.util.Date"],
      [{ type: 'Json', value: { a: 1 } }, "Must provide 'null' or String value for value of SerializableValue type 'Json'."],
      [{ type: 'Foo', value: 1 }, "Unsupported value type 'Foo'"],
      [{ type: 'Long', value: String(TWO_POW_53 + 2) },
        "Cannot convert value '9007199254740994' of type 'Long': rebatch keeps integers exactly only up to 2^53 (9007199254740992) in magnitude"],
    ];
    for (const [value, message] of cases) {
      assertRejectedUnchanged(engine, start({ v: value }), {
        status: 400, type: 'InvalidRequestException', message: `Cannot instantiate process definition ${def}: ${message}`,
      });
      assertRejectedUnchanged(engine, () => engine.setProcessInstanceVariable(pi.id, 'keep', value), {
        status: 400, type: 'InvalidRequestException', message: `Cannot put process instance variable keep: ${message}`,
      });
      assertRejectedUnchanged(engine, () => engine.modifyProcessInstanceVariables(pi.id, {
        modifications: { ok: { value: 'fine' }, v: value }, deletions: ['keep'],
      }), { status: 400, type: 'InvalidRequestException', message: `Cannot modify variables for process instance: ${message}` });
    }
    // Unwrapped (external task complete), an unknown type stays a RestException.
    const [task] = engine.fetchAndLock({ workerId: 'w', topics: [{ topicName: 'work', lockDuration: 1000 }] });
    assertRejectedUnchanged(engine, () => engine.completeExternalTask(task.id, { workerId: 'w', variables: { v: { type: 'Foo' } } }),
      { status: 400, type: 'RestException', message: "Unsupported value type 'Foo'" });
    assertRejectedUnchanged(engine, () => engine.completeExternalTask(task.id, { workerId: 'w', variables: { v: { type: 'Integer', value: 'x' } } }),
      { status: 400, type: 'InvalidRequestException', message: "Cannot convert value 'x' of type 'Integer' to java type java.lang.Integer" });
    assert.deepEqual(engine.getProcessInstanceVariables(pi.id), { keep: { type: 'Integer', value: 1, valueInfo: {} } });
  } finally {
    engine.close();
  }
});

test('an integer beyond 2^53 in the request text is refused rather than rounded', async () => {
  const { engine } = await setup();
  try {
    const pi = engine.startProcessInstanceByKey('vars', {});
    const before = engine.store.dump();
    // 2^53 + 1 reads as 2^53 in a double: only the text tells them apart.
    assert.throws(() => engine.call('setProcessInstanceVariable', { id: pi.id, key: 'l' },
      { bodyText: '{"type":"Long","value":9007199254740993}' }), (err) => {
      assert.equal(err.status, 400);
      assert.equal(err.type, 'InvalidRequestException');
      assert.equal(err.message,
        'Cannot read the number 9007199254740993: rebatch keeps integers exactly only up to 2^53 (9007199254740992) in magnitude');
      return true;
    });
    assert.equal(engine.store.dump(), before);
    engine.call('setProcessInstanceVariable', { id: pi.id, key: 'l' }, { bodyText: '{"type":"Long","value":9007199254740992}' });
    assert.equal(engine.getProcessInstanceVariable(pi.id, 'l').value, TWO_POW_53);
  } finally {
    engine.close();
  }
});

test('variable operations: put, get, delete, modify; unknown instance and variable as Camunda answers', async () => {
  const { engine } = await setup();
  try {
    const pi = engine.startProcessInstanceByKey('vars', { variables: { a: { value: 1 }, b: { value: 'x' } } });
    engine.modifyProcessInstanceVariables(pi.id, { modifications: { a: { value: 2 }, c: { value: true } }, deletions: ['b', 'missing'] });
    assert.deepEqual(engine.getProcessInstanceVariables(pi.id), {
      a: { type: 'Integer', value: 2, valueInfo: {} }, c: { type: 'Boolean', value: true, valueInfo: {} },
    });
    engine.deleteProcessInstanceVariable(pi.id, 'c');
    engine.deleteProcessInstanceVariable(pi.id, 'never-there');
    assertEngineError(() => engine.getProcessInstanceVariable(pi.id, 'c'),
      { status: 404, type: 'InvalidRequestException', message: 'process instance variable with name c does not exist', code: null });
    const nope = 'nope';
    assertEngineError(() => engine.getProcessInstanceVariables(nope),
      { status: 500, type: 'NullValueException', message: 'execution nope doesn\'t exist: execution is null', code: 0 });
    assertEngineError(() => engine.getProcessInstanceVariable(nope, 'a'),
      { status: 500, type: 'RestException', message: 'Cannot get process instance variable a: execution nope doesn\'t exist: execution is null' });
    assertRejectedUnchanged(engine, () => engine.setProcessInstanceVariable(nope, 'a', { value: 1 }),
      { status: 500, type: 'RestException', message: 'Cannot put process instance variable a: execution nope doesn\'t exist: execution is null' });
    assertRejectedUnchanged(engine, () => engine.deleteProcessInstanceVariable(nope, 'a'),
      { status: 500, type: 'RestException', message: 'Cannot delete process instance variable a: execution nope doesn\'t exist: execution is null' });
    assertRejectedUnchanged(engine, () => engine.modifyProcessInstanceVariables(nope, { modifications: { a: { value: 1 } } }),
      { status: 500, type: 'RestException', message: 'Cannot modify variables for process instance nope: execution nope doesn\'t exist: execution is null' });
  } finally {
    engine.close();
  }
});

test('history FULL: a historic variable instance per variable and a detail per update, initial at start', async () => {
  const { engine, clock } = await setup();
  try {
    const pi = engine.startProcessInstanceByKey('vars', { variables: { a: { value: 1 }, gone: { value: 'g' } } });
    clock.advance(1000);
    engine.setProcessInstanceVariable(pi.id, 'a', { type: 'Long', value: 5 });
    engine.deleteProcessInstanceVariable(pi.id, 'gone');
    const live = engine.getHistoricVariableInstances({ processInstanceId: pi.id });
    assert.equal(live.length, 1);
    assert.deepEqual(
      { ...live[0] },
      {
        id: live[0].id, name: 'a', type: 'Long', value: 5, valueInfo: {}, processDefinitionKey: 'vars',
        processDefinitionId: pi.definitionId, processInstanceId: pi.id, executionId: pi.id, activityInstanceId: pi.id,
        caseDefinitionKey: null, caseDefinitionId: null, caseInstanceId: null, caseExecutionId: null, taskId: null,
        errorMessage: null, tenantId: null, state: 'CREATED', createTime: camundaDate(T0), removalTime: null,
        rootProcessInstanceId: pi.id,
      },
    );
    const all = engine.getHistoricVariableInstances({ processInstanceId: pi.id, includeDeleted: 'true', sortBy: 'variableName', sortOrder: 'asc' });
    assert.deepEqual(all.map((v) => [v.name, v.state]), [['a', 'CREATED'], ['gone', 'DELETED']]);
    assert.equal(engine.getHistoricVariableInstancesCount({ variableName: 'a', variableValue: '5' }).count, 1);
    assert.equal(engine.getHistoricVariableInstancesCount({ variableName: 'a', variableValue: '1' }).count, 0);

    const details = engine.getHistoricDetails({ variableInstanceId: live[0].id, sortBy: 'variableRevision', sortOrder: 'asc' });
    assert.deepEqual(details.map((d) => [d.type, d.variableType, d.value, d.initial, d.revision, d.time]), [
      ['variableUpdate', 'Integer', 1, true, 0, camundaDate(T0)],
      ['variableUpdate', 'Long', 5, false, 1, camundaDate(T0 + 1000)],
    ]);
    assert.equal(engine.getHistoricDetailsCount({ processInstanceId: pi.id }).count, 4);
    assert.equal(engine.getHistoricDetailsCount({ processInstanceId: pi.id, initial: 'true' }).count, 2);
  } finally {
    engine.close();
  }
});

test('restart after PUT .../variables/{name}: last values by default, start values with initialVariables', async () => {
  const { engine } = await setup();
  try {
    const pi = engine.startProcessInstanceByKey('vars', {
      variables: { amount: { type: 'Long', value: TWO_POW_53 }, when: { type: 'Date', value: '2024-05-01T10:00:00.000+0000' } },
    });
    engine.setProcessInstanceVariable(pi.id, 'amount', { type: 'Integer', value: 7 });
    engine.setProcessInstanceVariable(pi.id, 'extra', { type: 'Json', value: '{"x":1}' });
    engine.deleteProcessInstanceVariable(pi.id, 'when');
    engine.deleteProcessInstance(pi.id);
    const restart = (initialVariables) => {
      engine.restartProcessInstances(pi.definitionId, {
        processInstanceIds: [pi.id], initialVariables, instructions: [{ type: 'startBeforeActivity', activityId: 'work' }],
      });
      const [fresh] = engine.getProcessInstances().filter((p) => p.id !== pi.id).slice(-1);
      const vars = engine.getProcessInstanceVariables(fresh.id);
      engine.deleteProcessInstance(fresh.id);
      return vars;
    };
    assert.deepEqual(restart(false), {
      amount: { type: 'Integer', value: 7, valueInfo: {} },
      extra: { type: 'Json', value: '{"x":1}', valueInfo: {} },
    });
    assert.deepEqual(restart(true), {
      amount: { type: 'Long', value: TWO_POW_53, valueInfo: {} },
      when: { type: 'Date', value: '2024-05-01T10:00:00.000+0000', valueInfo: {} },
    });
  } finally {
    engine.close();
  }
});

test('external task complete and failure set variables; fetchAndLock returns them typed', async () => {
  const { engine } = await setup();
  try {
    const pi = engine.startProcessInstanceByKey('vars', { variables: { o: { value: { a: 1 } }, d: { type: 'Date', value: '2024-01-01T00:00:00.000+0000' } } });
    let [task] = engine.fetchAndLock({ workerId: 'w', topics: [{ topicName: 'work', lockDuration: 1000, variables: ['o', 'd'] }] });
    assert.equal(task.variables.o.value, '{"a":1}', 'serialized: topics deserialize only when asked');
    assert.deepEqual(task.variables.d, { type: 'Date', value: '2024-01-01T00:00:00.000+0000', valueInfo: {} });
    engine.handleExternalTaskFailure(task.id, { workerId: 'w', errorMessage: 'x', retries: 1, retryTimeout: 0, variables: { tries: { value: 1 } } });
    assert.equal(engine.getProcessInstanceVariable(pi.id, 'tries').value, 1);
    [task] = engine.fetchAndLock({ workerId: 'w', topics: [{ topicName: 'work', lockDuration: 1000, deserializeValues: true }] });
    assert.deepEqual(task.variables.o.value, { a: 1 });
    engine.completeExternalTask(task.id, { workerId: 'w', variables: { result: { type: 'Short', value: 3 } }, localVariables: { loc: { value: 'l' } } });
    const last = engine.getHistoricVariableInstances({ processInstanceId: pi.id, sortBy: 'variableName', sortOrder: 'asc' });
    assert.deepEqual(last.map((v) => [v.name, v.type]), [['d', 'Date'], ['loc', 'String'], ['o', 'Object'], ['result', 'Short'], ['tries', 'Integer']]);
    // The instance ended; its historic variable instances stay CREATED.
    assert.equal(engine.getHistoricProcessInstance(pi.id).state, 'COMPLETED');
    assert.equal(engine.getHistoricProcessInstancesCount({ variables: [{ name: 'result', operator: 'eq', value: 3 }] }).count, 1);
  } finally {
    engine.close();
  }
});

test('getHistoricVariableInstance / getHistoricDetail: one record by id; a storage failure is a clean 500', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, WAIT);
    const pi = engine.startProcessInstanceByKey('vars', { variables: { a: { value: 1 } } }).id;
    const [hv] = engine.getHistoricVariableInstances({ processInstanceId: pi });
    assert.deepEqual(engine.getHistoricVariableInstance(hv.id), hv);
    const [detail] = engine.getHistoricDetails({ processInstanceId: pi });
    assert.deepEqual(engine.getHistoricDetail(detail.id), detail);
    assertEngineError(() => engine.getHistoricDetail(hv.id), {
      status: 404, type: 'InvalidRequestException', message: `Historic detail with Id '${hv.id}' does not exist.`,
    });
    engine.injectStoreFault(1);
    assertEngineError(() => engine.getHistoricVariableInstance(hv.id), {
      status: 500, type: 'ProcessEngineException', message: 'storage failure: injected storage fault',
    });
    engine.injectStoreFault(0);
  } finally {
    engine.close();
  }
});
