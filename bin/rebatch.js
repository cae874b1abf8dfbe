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
            --auth, --no-auth   HTTP Basic auth against the engine's users (default:
                                on unless --host is loopback); see 'rebatch user'
            --cors-origin URL   let pages of this origin call the API (repeatable; '*': any)
            --public-url URL    scheme://host:port that 'links' name (default: the address)
            --allowed-host H    a Host header to accept besides loopback names while
                                listening on loopback (repeatable)
            --max-connections N         open connections in all (default 1024)
            --max-connections-per-ip N  from one address (default 256)
            --headers-timeout MS        to receive a request's headers (default 10000)
            --request-timeout MS        to receive a whole request (default 60000)
  user    users of the engine's identity store (the same --db / --memory as serve)
            user create ID [--first-name F] [--last-name L] [--email E]
                        the password is the first line of standard input
            user list
            user delete ID
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
      auth: { type: 'boolean' },
      'no-auth': { type: 'boolean', default: false },
      'cors-origin': { type: 'string', multiple: true },
      'public-url': { type: 'string' },
      'allowed-host': { type: 'string', multiple: true },
      'max-connections': { type: 'string' },
      'max-connections-per-ip': { type: 'string' },
      'headers-timeout': { type: 'string' },
      'request-timeout': { type: 'string' },
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
  if (values.auth && values['no-auth']) throw new Error('--auth and --no-auth exclude each other');
  const policy = serverPolicy(values);
  const { createRestServer } = await import('../bindings/rest.js');
  const { jobExecutorSettings } = await import('../bindings/executor.js');
  const { store, storeText } = await openStore(values);
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
  const rest = createRestServer({ engine, jobExecutor, bodyLimit, log, web, ...policy });
  const addr = await rest.listen(port, values.host);
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  const auth = policy.auth ?? !(await import('../bindings/http-policy.js')).isLoopback(values.host);
  // The first stdout line is the address (tests and scripts read it).
  process.stdout.write(`rebatch listening on http://${host}:${addr.port}/engine-rest (store: ${storeText}, job executor: ${values['no-job-executor'] ? 'off' : 'on'}, auth: ${auth ? 'on' : 'off'})\n`);
  if (auth && engine.getUsersCount().count === 0) {
    log("rebatch: auth is on and there are no users yet: create one with 'rebatch user create ID' (password on stdin)");
  }

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

/** The store of --db / --memory: {store, storeText}; store undefined for memory. */
async function openStore(values) {
  if (values.db !== undefined && /^postgres(ql)?:\/\//.test(values.db)) {
    const { postgresStore } = await import('../bindings/postgres-store.js');
    const store = postgresStore(values.db);
    return { store, storeText: `postgres ${store.url}` };
  }
  if (values.memory) return { store: undefined, storeText: 'memory' };
  const { sqliteStore } = await import('../bindings/sqlite-store.js');
  const file = values.db ?? './rebatch.db';
  return { store: sqliteStore(file), storeText: `sqlite ${file}` };
}

/** A positive integer option, or undefined when not given. */
function positive(values, name) {
  if (values[name] === undefined) return undefined;
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`bad --${name} ${values[name]}`);
  return n;
}

/** createRestServer's security and limit options from the serve flags. */
function serverPolicy(values) {
  const policy = {
    auth: values.auth ? true : values['no-auth'] ? false : undefined,
    corsOrigins: values['cors-origin'],
    publicUrl: values['public-url'],
    allowedHosts: values['allowed-host'],
    maxConnections: positive(values, 'max-connections'),
    maxConnectionsPerIp: positive(values, 'max-connections-per-ip'),
    headersTimeoutMs: positive(values, 'headers-timeout'),
    requestTimeoutMs: positive(values, 'request-timeout'),
  };
  if (policy.publicUrl !== undefined && !/^https?:\/\/[^/]+\/?$/.test(policy.publicUrl)) {
    throw new Error(`bad --public-url ${policy.publicUrl}: scheme://host[:port]`);
  }
  return Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined));
}

/** The first line of standard input (a password piped in). */
async function readLine() {
  let text = '';
  for await (const chunk of process.stdin) {
    text += chunk;
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/, 1)[0];
}

/** `rebatch user create|list|delete`: the identity store, without a server. */
async function user(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string' },
      memory: { type: 'boolean', default: false },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
      email: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [action, id] = positionals;
  if (!['create', 'list', 'delete'].includes(action) || (action !== 'list' && !id)) {
    throw new Error('usage: rebatch user create ID | list | delete ID');
  }
  const { store } = await openStore(values);
  const engine = await createEngine(store ? { store } : {});
  try {
    if (action === 'list') {
      for (const u of engine.getUsers({ sortBy: 'userId', sortOrder: 'asc' })) process.stdout.write(`${JSON.stringify(u)}\n`);
    } else if (action === 'delete') {
      engine.deleteUser(id);
    } else {
      const password = await readLine();
      if (password === '') throw new Error('no password: pipe it in on standard input');
      const { createUser } = await import('../bindings/auth.js');
      const profile = { id, firstName: values['first-name'], lastName: values['last-name'], email: values.email };
      await createUser(engine, { profile, credentials: { password } });
      process.stdout.write(`rebatch: user ${id} created\n`);
    }
  } finally {
    engine.close();
    store?.close();
  }
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
} else if (command === 'user') {
  try {
    await user(process.argv.slice(3));
  } catch (err) {
    process.stderr.write(`rebatch user: ${err.message}\n`);
    process.exitCode = 2;
  }
} else {
  process.stderr.write(USAGE);
  process.exitCode = command === '--help' || command === '-h' ? 0 : 2;
}
