// Migration: POST /migration/generate, /migration/validate, /migration/execute
// and the instance-migration batch (/migration/executeAsync), through the JS
// engine API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { T0, deploy, linear, newEngine } from './support/engine-helpers.js';
import { assertNewBatch, assertRejectedUnchanged, runBatches } from './support/batch-helpers.js';

const V1 = linear('mig', [
  { id: 'a', type: 'userTask', name: 'A' },
  { id: 'c', type: 'serviceTask', topic: 'c' },
  { id: 'w', type: 'intermediateCatchEvent', messageName: 'm' },
]);
const V2 = linear('mig', [
  { id: 'a', type: 'userTask', name: 'A2' },
  { id: 'b', type: 'userTask' },
  { id: 'c', type: 'serviceTask', topic: 'c' },
  { id: 'w', type: 'receiveTask', messageName: 'm' },
]);
const OTHER = linear('other', [{ id: 'a', type: 'userTask' }]);

async function setup() {
  const { engine, clock } = await newEngine();
  const [v1] = Object.values(deploy(engine, V1, OTHER).deployedProcessDefinitions).filter((d) => d.key === 'mig');
  const [v2] = Object.values(deploy(engine, V2).deployedProcessDefinitions);
  return { engine, clock, v1, v2 };
}
const plan = (v1, v2, pairs) => ({
  sourceProcessDefinitionId: v1.id, targetProcessDefinitionId: v2.id,
  instructions: pairs.map(([s, t, u]) => ({ sourceActivityIds: [s], targetActivityIds: [t], ...(u ? { updateEventTrigger: true } : {}) })),
});
const ins = (s, t, u = false) => ({ sourceActivityIds: [s], targetActivityIds: [t], updateEventTrigger: u });

test('generate maps activities with equal ids and compatible types; validate reports what upstream refuses', async () => {
  const { engine, v1, v2 } = await setup();
  try {
    const generated = engine.generateMigrationPlan({ sourceProcessDefinitionId: v1.id, targetProcessDefinitionId: v2.id, updateEventTriggers: true });
    assert.deepEqual(generated, {
      sourceProcessDefinitionId: v1.id, targetProcessDefinitionId: v2.id,
      instructions: [ins('a', 'a'), ins('c', 'c')], variables: null,
    }, 'w changes type (catch event -> receive task): not generated');
    assert.deepEqual(engine.validateMigrationPlan(generated), { instructionReports: [], variableReports: {} });

    const report = engine.validateMigrationPlan(plan(v1, v2, [['w', 'w'], ['zz', 'a'], ['a', 'a'], ['a', 'b'], ['c', 'c', true]]));
    assert.deepEqual(report.variableReports, {});
    assert.deepEqual(report.instructionReports.map((r) => [r.instruction.sourceActivityIds[0], r.failures]), [
      ['w', ['Activities have incompatible types (IntermediateCatchEventActivityBehavior is not compatible with ReceiveTaskActivityBehavior)']],
      ['zz', ["Source activity 'zz' does not exist"]],
      ['a', ["There are multiple mappings for source activity id 'a': ValidatingMigrationInstructionImpl{sourceActivity=Activity(a), targetActivity=Activity(a)}, ValidatingMigrationInstructionImpl{sourceActivity=Activity(a), targetActivity=Activity(b)}"]],
      ['a', ["There are multiple mappings for source activity id 'a': ValidatingMigrationInstructionImpl{sourceActivity=Activity(a), targetActivity=Activity(a)}, ValidatingMigrationInstructionImpl{sourceActivity=Activity(a), targetActivity=Activity(b)}"]],
      ['c', ['Cannot update event trigger because the activity does not define a persistent event trigger']],
    ]);
    const bad = (fn, message) => assertRejectedUnchanged(engine, fn, { status: 400, type: 'InvalidRequestException', message });
    bad(() => engine.generateMigrationPlan({ targetProcessDefinitionId: v2.id }), 'Source process definition id is null');
    bad(() => engine.validateMigrationPlan({ sourceProcessDefinitionId: v1.id, targetProcessDefinitionId: 'nope' }),
      "ENGINE-23008 Target process definition with id 'nope' does not exist");
  } finally {
    engine.close();
  }
});

test('execute moves the instance, its external task, incident and history to the target; unmapped activities are refused whole', async () => {
  const { engine, v1, v2 } = await setup();
  try {
    const atA = engine.startProcessInstance(v1.id, { businessKey: 'a' }).id;
    const atC = engine.startProcessInstance(v1.id, { businessKey: 'c' }).id;
    engine.modifyProcessInstance(atC, { instructions: [{ type: 'startBeforeActivity', activityId: 'c' }, { type: 'cancel', activityId: 'a' }] });
    const [task] = engine.fetchAndLock({ workerId: 'w', topics: [{ topicName: 'c', lockDuration: 1000 }] });
    engine.handleExternalTaskFailure(task.id, { workerId: 'w', errorMessage: 'down', retries: 0 });
    const atW = engine.startProcessInstance(v1.id, { businessKey: 'w' }).id;
    engine.modifyProcessInstance(atW, { instructions: [{ type: 'startBeforeActivity', activityId: 'w' }, { type: 'cancel', activityId: 'a' }] });
    const migrationPlan = { ...plan(v1, v2, [['a', 'a'], ['c', 'c']]), variables: { migrated: { value: true } } };

    assertRejectedUnchanged(engine, () => engine.executeMigrationPlan({ migrationPlan, processInstanceIds: [atA, atW] }), {
      status: 400, type: 'MigratingProcessInstanceValidationException', code: 0,
      message: `ENGINE-23004 Cannot migrate process instance '${atW}':\n\tCannot migrate activity instance '${engine.getActivityInstanceTree(atW).childActivityInstances[0].id}':\n\t\tThere is no migration instruction for this instance's activity\n`,
    });

    engine.executeMigrationPlan({ migrationPlan, processInstanceIds: [atA, atC] });
    const tree = engine.getActivityInstanceTree(atA);
    assert.equal(tree.processDefinitionId, v2.id);
    assert.equal(tree.childActivityInstances[0].activityName, 'A2');
    assert.equal(engine.getProcessInstance(atA).definitionId, v2.id);
    assert.equal(engine.getHistoricProcessInstance(atA).processDefinitionId, v2.id);
    assert.equal(engine.getHistoricProcessInstance(atA).processDefinitionVersion, 2);
    assert.equal(engine.getHistoricActivityInstances({ processInstanceId: atA, unfinished: true })[0].processDefinitionId, v2.id);
    assert.equal(engine.getProcessInstanceVariable(atA, 'migrated').value, true);
    assert.equal(engine.getExternalTask(task.id).processDefinitionId, v2.id);
    const [incident] = engine.getIncidents({ processInstanceId: atC });
    assert.equal(incident.processDefinitionId, v2.id);
    // the migrated instance goes on in the target's model: a -> b (new in v2)
    assert.equal(engine.getProcessInstancesCount({ processDefinitionId: v2.id }).count, 2);

    const errors = [
      [{ migrationPlan, processInstanceIds: [] }, 400, 'BadUserRequestException', 'Process instance ids cannot empty: process instance ids is empty'],
      [{ migrationPlan, processInstanceIds: [atA, null] }, 400, 'BadUserRequestException', 'Process instance ids cannot be null: process instance ids contains null value'],
      [{ migrationPlan, processInstanceIds: ['zz'] }, 500, 'ProcessEngineException', "ENGINE-23003 Process instance 'zz' cannot be migrated. The process instance does not exist"],
      [{ migrationPlan, processInstanceIds: [atA] }, 500, 'ProcessEngineException',
        `ENGINE-23002 Process instance '${atA}' cannot be migrated. Its process definition '${v2.id}' does not match the source process definition of the migration plan '${v1.id}'`],
      [{ processInstanceIds: [atA] }, 400, 'InvalidRequestException', 'Migration plan cannot be null: migration plan is null'],
    ];
    for (const [body, status, type, message] of errors) assertRejectedUnchanged(engine, () => engine.executeMigrationPlan(body), { status, type, message });
    assertRejectedUnchanged(engine, () => engine.executeMigrationPlan({ migrationPlan: plan(v1, v2, [['zz', 'a']]), processInstanceIds: [atW] }), {
      status: 400, type: 'MigrationPlanValidationException',
      message: `ENGINE-23001 Migration plan for process definition '${v1.id}' to '${v2.id}' is not valid:\n\t Migration instruction MigrationInstructionImpl{sourceActivityId='zz', targetActivityId='a', updateEventTrigger='false'} is not valid:\n\t\tSource activity 'zz' does not exist\n`,
    });
  } finally {
    engine.close();
  }
});

test('executeAsync: an instance-migration batch over a query; one job per instance', async () => {
  const { engine, clock, v1, v2 } = await setup();
  try {
    for (let i = 0; i < 3; i++) engine.startProcessInstance(v1.id, {});
    clock.advance(1000);
    const batch = engine.executeMigrationPlanAsync({
      migrationPlan: plan(v1, v2, [['a', 'a']]), processInstanceQuery: { processDefinitionId: v1.id }, skipCustomListeners: true,
    });
    assertNewBatch(batch, { type: 'instance-migration', totalJobs: 3, now: T0 + 1000 });
    assert.equal(engine.getProcessInstancesCount({ processDefinitionId: v2.id }).count, 0);
    runBatches(engine, clock);
    assert.equal(engine.getProcessInstancesCount({ processDefinitionId: v2.id }).count, 3);
  } finally {
    engine.close();
  }
});

test('a job waiting before an activity migrates only to an activity that is asynchronous before too', async () => {
  const { engine } = await newEngine();
  try {
    const [s] = Object.values(deploy(engine, linear('async', [{ id: 'j', type: 'serviceTask', asyncBefore: true }])).deployedProcessDefinitions);
    const [t] = Object.values(deploy(engine, linear('async', [{ id: 'j', type: 'serviceTask', asyncAfter: true }])).deployedProcessDefinitions);
    const [u] = Object.values(deploy(engine, linear('async', [{ id: 'j', type: 'serviceTask', asyncBefore: true }])).deployedProcessDefinitions);
    const pi = engine.startProcessInstance(s.id, {}).id;
    const [tree] = engine.getActivityInstanceTree(pi).childTransitionInstances;
    assertRejectedUnchanged(engine, () => engine.executeMigrationPlan({ migrationPlan: plan(s, t, [['j', 'j']]), processInstanceIds: [pi] }), {
      status: 400, type: 'MigratingProcessInstanceValidationException',
      message: `ENGINE-23004 Cannot migrate process instance '${pi}':\n\tCannot migrate transition instance '${tree.id}':\n\t\tTarget activity is not asyncBefore\n`,
    });
    engine.executeMigrationPlan({ migrationPlan: plan(s, u, [['j', 'j']]), processInstanceIds: [pi] });
    const [job] = engine.getJobs({ processInstanceId: pi });
    assert.equal(job.processDefinitionId, u.id);
    const [definition] = engine.getJobDefinitions({ processDefinitionId: u.id });
    assert.equal(job.jobDefinitionId, definition.id, 'the job belongs to the target\'s job definition');
    engine.executeJob(job.id);
    assert.equal(engine.getHistoricProcessInstance(pi).state, 'COMPLETED');
  } finally {
    engine.close();
  }
});
