#!/usr/bin/env node
// rebatch command line: `rebatch serve` (the REST shim) and `rebatch demo`.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { createEngine, manualClock, sequentialIds } from '../bindings/index.js';

const USAGE = `usage: rebatch <command> [options]

commands:
  serve   Camunda 7 REST API under /engine-rest
            --port N            port (default 8080; 0 picks a free one)
            --host H            address to listen on (default 127.0.0.1)
            --db FILE           SQLite database file (default ./rebatch.db); one
                                process at a time
            --db postgres://user@host:port/db
                                PostgreSQL database (schema created on first
                                start); several processes may share it
            --memory            in-memory store instead (nothing kept)
            --no-job-executor   do not run due jobs; clients use POST /job/{id}/execute
            --body-limit BYTES  largest request body (default 10485760)
            --config JSON       engine configuration, e.g. '{"batchPollTime":5}'; job executor
                                settings under "jobExecutor": maxJobsPerStep (50), jobsPerTransaction (50), waitMs (5000,
                                after a failed step), maxWaitMs (60000, the longest sleep)
            --no-web            do not serve the simulation page (dist/web) at /
  demo    deploy a small process with an external task, start instances,
          fetch-and-lock and complete them, and fail one into an incident
`;

async function serve(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      db: { type: 'string' },
      memory: { type: 'boolean', default: false },
      'no-job-executor': { type: 'boolean', default: false },
      'no-web': { type: 'boolean', default: false },
      'body-limit': { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.memory && values.db) throw new Error('--db and --memory exclude each other');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port ${values.port}`);
  const bodyLimit = values['body-limit'] === undefined ? undefined : Number(values['body-limit']);
  if (bodyLimit !== undefined && !(Number.isInteger(bodyLimit) && bodyLimit > 0)) {
    throw new Error(`bad --body-limit ${values['body-limit']}`);
  }
  const { createRestServer } = await import('../bindings/rest.js');
  const { jobExecutorSettings } = await import('../bindings/executor.js');
  let store;
  let storeText = 'memory';
  if (values.db !== undefined && /^postgres(ql)?:\/\//.test(values.db)) {
    const { postgresStore } = await import('../bindings/postgres-store.js');
    store = postgresStore(values.db);
    storeText = `postgres ${store.url}`;
  } else if (!values.memory) {
    const { sqliteStore } = await import('../bindings/sqlite-store.js');
    const file = values.db ?? './rebatch.db';
    store = sqliteStore(file);
    storeText = `sqlite ${file}`;
  }
  let config;
  if (values.config !== undefined) {
    try {
      config = JSON.parse(values.config);
    } catch {
      throw new Error('--config must be JSON');
    }
  }
  const settings = jobExecutorSettings(config?.jobExecutor ?? {});
  const jobExecutor = values['no-job-executor'] ? false : settings;
  const engine = await createEngine({ ...(store ? { store } : {}), ...(config ? { config } : {}) });
  const log = (msg) => process.stderr.write(`${msg}\n`);
  const web = values['no-web']
    ? undefined
    : (await import('../bindings/static.js')).staticFiles(fileURLToPath(new URL('../dist/web', import.meta.url)));
  const rest = createRestServer({ engine, jobExecutor, bodyLimit, log, web });
  const addr = await rest.listen(port, values.host);
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  // The first stdout line is the address (tests and scripts read it).
  process.stdout.write(`rebatch listening on http://${host}:${addr.port}/engine-rest (store: ${storeText}, job executor: ${values['no-job-executor'] ? 'off' : 'on'})\n`);

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    log(`rebatch: ${signal}, shutting down`);
    const force = setTimeout(() => {
      log('rebatch: requests still open after 10 s; closing anyway');
      rest.server.closeAllConnections?.();
    }, 10000);
    force.unref();
    await rest.close(); // no new requests; those in flight finish (each operation is one transaction)
    engine.close();
    store?.close(); // SQLite: checkpoints the WAL
    clearTimeout(force);
    log('rebatch: stopped');
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

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
} else if (command === 'serve') {
  try {
    await serve(process.argv.slice(3));
  } catch (err) {
    process.stderr.write(`rebatch serve: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
  }
} else {
  process.stderr.write(USAGE);
  process.exitCode = command === '--help' || command === '-h' ? 0 : 2;
}
