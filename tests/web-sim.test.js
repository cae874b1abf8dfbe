// The browser simulation's core (web/src/sim.js) without a browser: the same
// seed and actions give the same run, and an export replays to the same state.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { Simulation } from '../web/src/sim.js';

const sample = (name) => readFileSync(new URL(`../web/samples/${name}`, import.meta.url), 'utf8');

/** Deploys the invoice sample, starts 20 instances and runs 40 ticks with failures. */
async function scriptedRun(seed) {
  const sim = await Simulation.create({ seed, settings: { taskFailureRate: 0.5 } });
  await sim.deploy('invoice.bpmn', sample('invoice.bpmn'));
  sim.start('invoice', 20);
  sim.run(10);
  sim.set('taskFailureRate', 0);
  const batch = sim.request('setExternalTaskRetriesAsync', { body: { retries: 2, externalTaskQuery: { noRetriesLeft: true } } });
  sim.run(30);
  return { sim, batch };
}

test('same seed and actions give a byte-identical store; another seed gives another run', async () => {
  const a = await scriptedRun('42');
  const b = await scriptedRun('42');
  const c = await scriptedRun('43');
  try {
    assert.equal(a.batch.status, 200);
    assert.equal(a.sim.dump(), b.sim.dump());
    assert.deepEqual(a.sim.timeline, b.sim.timeline);
    assert.notEqual(a.sim.dump(), c.sim.dump());
    assert.ok(a.sim.timeline.some((s) => s.incidents > 0), 'failures at rate 0.5 with 2 retries open incidents');
  } finally {
    a.sim.close();
    b.sim.close();
    c.sim.close();
  }
});

test('the retries batch resolves every incident and the workers then finish every instance', async () => {
  const { sim, batch } = await scriptedRun('7');
  try {
    assert.equal(sim.engine.getIncidentsCount().count, 0);
    assert.equal(sim.engine.getBatchesCount().count, 0, 'the batch ended');
    assert.ok(sim.engine.getHistoricBatch(batch.body.id).endTime);
    assert.equal(sim.engine.getProcessInstancesCount().count, 0);
    assert.equal(sim.engine.getHistoricProcessInstancesCount({ completed: 'true' }).count, 20);
  } finally {
    sim.close();
  }
});

test('an export, through JSON text, imports to the identical state', async () => {
  const { sim } = await scriptedRun('99');
  try {
    const text = JSON.stringify(sim.export());
    const { sim: copy, identical } = await Simulation.import(JSON.parse(text));
    try {
      assert.equal(identical, true);
      assert.equal(copy.dump(), sim.dump());
      assert.equal(copy.tick, sim.tick);
      assert.deepEqual(copy.actions, sim.actions);
    } finally {
      copy.close();
    }
  } finally {
    sim.close();
  }
});

test('a rejected request is answered as REST would and is not logged', async () => {
  const sim = await Simulation.create({ seed: '1' });
  try {
    const res = sim.request('setExternalTaskRetriesAsync', { body: { externalTaskIds: ['x'] } });
    assert.ok(res.status >= 400);
    assert.equal(typeof res.body.type, 'string');
    assert.equal(typeof res.body.message, 'string');
    assert.equal(sim.actions.length, 0);
    await assert.rejects(Simulation.import({ format: 'other' }), /not a rebatch-simulation export/);
    const base = { format: 'rebatch-simulation', version: 1, seed: '1', tick: 3, actions: [] };
    await assert.rejects(Simulation.import({ ...base, tick: 1e9 }), /replays at most 20000 ticks/);
    await assert.rejects(Simulation.import({ ...base, actions: [{ tick: 4, type: 'start' }] }), /ascending ticks/);
    await assert.rejects(Simulation.import({ ...base, actions: [{ tick: 1, type: 'explode' }] }), /unknown action type "explode"/);
    const { sim: empty, identical } = await Simulation.import(base);
    assert.equal(identical, null, 'no state to compare');
    assert.equal(empty.tick, 3);
    empty.close();
  } finally {
    sim.close();
  }
});

test('every sample deploys with the REST shim parser and runs to its end', async () => {
  const sim = await Simulation.create({ seed: 's', settings: { taskFailureRate: 0, jobFailureRate: 0 } });
  try {
    for (const [file, key] of [['invoice.bpmn', 'invoice'], ['order-fulfilment.bpmn', 'orderFulfilment'], ['reminder.bpmn', 'paymentReminder']]) {
      await sim.deploy(file, sample(file));
      sim.start(key, 3);
    }
    sim.run(40);
    assert.equal(sim.engine.getProcessInstancesCount().count, 0);
    assert.equal(sim.engine.getHistoricProcessInstancesCount({ completed: 'true' }).count, 9);
  } finally {
    sim.close();
  }
});

test('the modification form body the page offers starts a stuck task over, as a batch', async () => {
  const { modificationExample } = await import('../web/src/requests.js');
  const sim = await Simulation.create({ seed: 'm', settings: { taskFailureRate: 1 } });
  try {
    await sim.deploy('invoice.bpmn', sample('invoice.bpmn'));
    sim.start('invoice', 3);
    sim.run(20);
    assert.equal(sim.engine.getProcessInstancesCount().count, 3);
    assert.ok(sim.engine.getIncidents().length > 0, 'failing tasks raised incidents');
    const before = new Set(sim.engine.getExternalTasks({}).map((t) => t.id));
    const [definition] = sim.engine.getProcessDefinitions({ key: 'invoice' });
    const res = sim.request('executeModificationAsync', { body: modificationExample(definition.id, 'charge') });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.type, 'instance-modification');
    assert.equal(res.body.totalJobs, 3);
    sim.set('taskFailureRate', 0);
    sim.run(20);
    assert.equal(sim.engine.getBatchesCount().count, 0);
    const canceled = sim.engine.getHistoricActivityInstances({ activityId: 'charge', canceled: 'true' });
    assert.equal(canceled.length, 3, 'each stuck task was cancelled once');
    assert.ok(sim.engine.getExternalTasks({}).every((t) => !before.has(t.id)), 'the old tasks are gone');
  } finally {
    sim.close();
  }
});

test('the two-version sample: the migration form body moves the first version\'s instances to the second', async () => {
  const { FORMS, formByKey, migrationExample } = await import('../web/src/requests.js');
  const form = formByKey('migration');
  assert.ok(FORMS.includes(form), 'the page has a migration form');
  assert.deepEqual([form.method, form.path], ['POST', '/migration/executeAsync']);
  // The worker keeps failing (with retries left) until the instances moved.
  const sim = await Simulation.create({ seed: 'g', settings: { taskFailureRate: 1, workerRetries: 100 } });
  try {
    await sim.deploy('invoice.bpmn', sample('invoice.bpmn'));
    sim.start('invoice', 2);
    await sim.deploy('invoice-v2.bpmn', sample('invoice-v2.bpmn'));
    const [v1, v2] = sim.engine.getProcessDefinitions({ key: 'invoice', sortBy: 'version', sortOrder: 'asc' });
    const plan = sim.engine.generateMigrationPlan({ sourceProcessDefinitionId: v1.id, targetProcessDefinitionId: v2.id });
    assert.deepEqual(plan.instructions.map((i) => i.sourceActivityIds[0]), ['charge']);
    const res = sim.request(form.operation, { body: migrationExample(v1.id, v2.id, ['charge']) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.type, 'instance-migration');
    for (let i = 0; i < 20 && sim.engine.getBatchesCount().count > 0; i++) sim.run(1);
    assert.equal(sim.engine.getBatchesCount().count, 0);
    sim.set('taskFailureRate', 0);
    sim.run(10);
    assert.equal(sim.engine.getProcessInstancesCount({ processDefinitionId: v1.id }).count, 0);
    assert.ok(sim.engine.getHistoricActivityInstances({ activityId: 'receipt' }).length > 0, 'migrated instances go on through the new task');
  } finally {
    sim.close();
  }
});

test('the restart form body the page offers restarts the finished instances as a batch', async () => {
  const { restartExample } = await import('../web/src/requests.js');
  const sim = await Simulation.create({ seed: 'r', settings: { taskFailureRate: 0 } });
  try {
    await sim.deploy('invoice.bpmn', sample('invoice.bpmn'));
    sim.start('invoice', 4);
    sim.run(3);
    assert.equal(sim.engine.getProcessInstancesCount().count, 0);
    const [definition] = sim.engine.getProcessDefinitions({ key: 'invoice' });
    const res = sim.request('restartProcessInstancesAsync', { id: definition.id, body: restartExample(definition.id, 'charge') });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.type, 'instance-restart');
    sim.set('taskFailureRate', 1);
    sim.run(10);
    assert.equal(sim.engine.getBatchesCount().count, 0);
    assert.equal(sim.engine.getProcessInstancesCount().count, 4, 'restarted, and waiting at charge');
  } finally {
    sim.close();
  }
});

test('the forms of the issue-14 batch types create their batches in the simulation, which run to their end', async () => {
  const { FORMS, formByKey } = await import('../web/src/requests.js');
  const sim = await Simulation.create({ seed: 'family', settings: { taskFailureRate: 1 } });
  try {
    await sim.deploy('invoice.bpmn', sample('invoice.bpmn'));
    sim.start('invoice', 6);
    sim.run(20); // every charge fails into an incident
    assert.ok(sim.engine.getIncidentsCount().count > 0);
    const expected = {
      'set-variables': 'set-variables',
      'instance-suspension': 'instance-update-suspension-state',
      'instance-deletion': 'instance-deletion',
      'removal-time': 'process-set-removal-time',
      'batch-removal-time': 'batch-set-removal-time',
      'historic-instance-deletion': 'historic-instance-deletion',
    };
    for (const [key, type] of Object.entries(expected)) {
      const form = formByKey(key);
      assert.ok(FORMS.includes(form));
      const res = sim.request(form.operation, { body: form.example });
      assert.equal(res.status, 200, `${key}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.type, type);
      sim.run(5);
      assert.equal(sim.engine.getBatchesCount().count, 0, `${key}: the batch ran to its end`);
      if (key === 'removal-time') {
        const [finished] = sim.engine.getHistoricProcessInstances({ finished: true });
        assert.equal(finished.removalTime, '2030-01-01T00:00:00.000+0000');
      }
      if (key === 'instance-suspension') assert.ok(sim.engine.getProcessInstancesCount({ suspended: true }).count > 0);
      if (key === 'set-variables') {
        const [withIncident] = sim.engine.getProcessInstances({ withIncident: true });
        assert.equal(sim.engine.getProcessInstanceVariables(withIncident.id).escalated.value, true);
      }
    }
    assert.equal(sim.engine.getProcessInstancesCount({ withIncident: true }).count, 0, 'the instances with incidents were deleted');
    assert.equal(sim.engine.getHistoricProcessInstancesCount({ finished: true }).count, 0, 'and then their history');
  } finally {
    sim.close();
  }
});

test('every form of the page is one REST route: unique key, the route\'s method, path and operation', async () => {
  const { FORMS } = await import('../web/src/requests.js');
  const { ROUTES } = await import('../bindings/rest.js');
  const keys = FORMS.map((f) => f.key);
  assert.deepEqual(keys, [...new Set(keys)]);
  for (const key of ['migration-generate', 'migration-validate', 'migration', 'modification', 'modification-sync', 'message', 'modify-instance']) {
    assert.ok(keys.includes(key), key);
  }
  const routePath = (path) => path.replace(/\{id\}/g, ':id');
  for (const form of FORMS) {
    const route = ROUTES.find(([method, path, operation]) => method === form.method && operation === form.operation &&
      path.replace(/:[A-Za-z]+/g, ':id') === routePath(form.path));
    assert.ok(route, `${form.key}: ${form.method} ${form.path} ${form.operation}`);
  }
});
