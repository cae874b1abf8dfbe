// set-variables batches: POST /process-instance/variables-async
// (SetVariablesToProcessInstancesBatchCmd, BatchSetVariablesHandler).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXT_PROCESS, T0, deploy, newEngine } from './support/engine-helpers.js';
import { assertNewBatch, assertRejectedUnchanged, runBatches } from './support/batch-helpers.js';

test('variables-async: typed values on every selected running instance, with their history', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const pis = [0, 1, 2, 3].map((i) => engine.startProcessInstanceByKey('ext', { businessKey: `bk${i}`, variables: { amount: { value: 1, type: 'Integer' } } }).id);
    // a finished instance named explicitly and matched by the historic query is left out
    const [task] = engine.fetchAndLock({ workerId: 'w', maxTasks: 1, topics: [{ topicName: 'work', lockDuration: 1000 }] });
    engine.completeExternalTask(task.id, { workerId: 'w' });
    const done = task.processInstanceId;
    const running = pis.filter((p) => p !== done);
    const batch = engine.setVariablesAsync({
      processInstanceIds: [done, running[0], 'unknown'],
      processInstanceQuery: { businessKey: engine.getProcessInstance(running[1]).businessKey },
      historicProcessInstanceQuery: { processDefinitionKey: 'ext', processInstanceBusinessKeyIn: [`bk${pis.indexOf(done)}`, engine.getProcessInstance(running[2]).businessKey] },
      variables: { amount: { value: '42', type: 'Long' }, note: { value: 'checked' }, when: { value: '2024-01-02T03:04:05.000+0100', type: 'Date' } },
    });
    assertNewBatch(batch, { type: 'set-variables', totalJobs: 3, now: T0 });
    runBatches(engine, clock);
    for (const id of running) {
      const vars = engine.getProcessInstanceVariables(id);
      assert.deepEqual(vars.amount, { type: 'Long', value: 42, valueInfo: {} });
      assert.deepEqual(vars.note, { type: 'String', value: 'checked', valueInfo: {} });
      assert.equal(vars.when.value, '2024-01-02T02:04:05.000+0000');
      const details = engine.getHistoricDetails({ processInstanceId: id }).filter((d) => d.variableName === 'amount');
      assert.deepEqual(details.map((d) => d.value).sort(), [1, 42]);
    }
    assert.equal(engine.getHistoricVariableInstances({ processInstanceId: done, variableName: 'note' }).length, 0);
    assert.equal(engine.getJobs({ withException: true }).length, 0);
  } finally {
    engine.close();
  }
});

test('variables-async: upstream\'s order of checks and messages', async () => {
  const { engine } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const id = engine.startProcessInstanceByKey('ext').id;
    const invalid = (message) => ({ status: 400, type: 'InvalidRequestException', message });
    const badUser = (message) => ({ status: 400, type: 'BadUserRequestException', message });
    assertRejectedUnchanged(engine, () => engine.setVariablesAsync({ processInstanceIds: [id], variables: { n: { value: 'x', type: 'Integer' } } }),
      invalid("Cannot set variables: Cannot convert value 'x' of type 'Integer' to java type java.lang.Integer"));
    assertRejectedUnchanged(engine, () => engine.setVariablesAsync({ processInstanceIds: [id] }), invalid('variables is null'));
    assertRejectedUnchanged(engine, () => engine.setVariablesAsync({ processInstanceIds: [id], variables: {} }), badUser('variables is empty'));
    assertRejectedUnchanged(engine, () => engine.setVariablesAsync({ variables: { a: { value: 1 } } }), invalid('No process instances found.'));
    assertRejectedUnchanged(engine, () => engine.setVariablesAsync({ processInstanceIds: ['unknown'], variables: { a: { value: 1 } } }),
      badUser('processInstanceIds is empty'));
    assertRejectedUnchanged(engine, () => engine.setVariablesAsync({ processInstanceIds: [], variables: { a: { value: 1 } } }),
      badUser('processInstanceIds is empty'));
  } finally {
    engine.close();
  }
});

test('variables-async: an instance that ended before its job ran is skipped', async () => {
  const { engine, clock } = await newEngine();
  try {
    deploy(engine, EXT_PROCESS);
    const [a, b] = [0, 1].map(() => engine.startProcessInstanceByKey('ext').id);
    const batch = engine.setVariablesAsync({ processInstanceIds: [a, b], variables: { x: { value: true } } });
    engine.deleteProcessInstance(a, {});
    runBatches(engine, clock);
    assert.ok(batch.id);
    assert.equal(engine.getProcessInstanceVariables(b).x.value, true);
    assert.equal(engine.getJobs({ withException: true }).length, 0);
  } finally {
    engine.close();
  }
});
