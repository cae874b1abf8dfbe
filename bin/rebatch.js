#!/usr/bin/env node
// rebatch command line. For now only `rebatch demo`; the REST shim's
// `rebatch serve` will come here.
import { createEngine, manualClock, sequentialIds } from '../bindings/index.js';

const USAGE = `usage: rebatch <command>

commands:
  demo    deploy a small process with an external task, start instances,
          fetch-and-lock and complete them, and fail one into an incident
`;

/** A process with one external task between start and end (JSON model). */
const PROCESS = {
  key: 'invoice',
  name: 'Invoice',
  activities: [
    { id: 'start', type: 'startEvent' },
    { id: 'charge', type: 'serviceTask', topic: 'charge' },
    { id: 'end', type: 'endEvent' },
  ],
  flows: [
    { id: 'f1', source: 'start', target: 'charge' },
    { id: 'f2', source: 'charge', target: 'end' },
  ],
};

async function demo() {
  const clock = manualClock(Date.UTC(2024, 0, 1));
  const engine = await createEngine({ clock, ids: sequentialIds('demo-') });
  const show = (label, value) => console.log(`${label}:`, JSON.stringify(value, null, 2));
  try {
    const deployment = engine.createDeployment({ name: 'demo', processes: [PROCESS] });
    show('deployed', Object.keys(deployment.deployedProcessDefinitions ?? {}));
    for (let i = 1; i <= 3; i++) {
      engine.startProcessInstanceByKey('invoice', { businessKey: `order-${i}` });
    }
    show('process instances', engine.getProcessInstancesCount());
    const locked = engine.fetchAndLock({
      workerId: 'demo-worker',
      maxTasks: 10,
      topics: [{ topicName: 'charge', lockDuration: 60000 }],
    });
    show('locked external tasks', locked.map((t) => t.id));
    if (locked.length > 0) {
      engine.completeExternalTask(locked[0].id, { workerId: 'demo-worker' });
      for (const task of locked.slice(1)) {
        engine.handleExternalTaskFailure(task.id, {
          workerId: 'demo-worker',
          errorMessage: 'card declined',
          retries: 0,
          retryTimeout: 0,
        });
      }
    }
    show('incidents', engine.getIncidents().map((i) => ({ type: i.incidentType, message: i.incidentMessage })));
    show('process instances left', engine.getProcessInstancesCount());
  } finally {
    engine.close();
  }
}

const command = process.argv[2] ?? 'demo';
if (command === 'demo') {
  await demo();
} else {
  process.stderr.write(USAGE);
  process.exitCode = command === '--help' || command === '-h' ? 0 : 2;
}
