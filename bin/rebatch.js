#!/usr/bin/env node
// rebatch command line: `rebatch serve` (the REST shim) and `rebatch demo`.
// Usage errors and runtime errors are one line on stderr (exit 2 and 1);
// --help is the usage on stdout (exit 0).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { EngineError, createEngine, manualClock, sequentialIds } from '../bindings/index.js';

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
                                after a failed step), maxWaitMs (60000, the longest sleep), lockTimeInMillis
                                (300000, how long an acquired job stays locked), lockOwner (this node's name
                                on the jobs it holds; default rebatch-<pid>-<random>)
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
            --handlers FILE     a module whose exports run service-task jobs
                                (matched by delegateExpression \${name}, class,
                                expression or activity id; see the README)
  user    users of the engine's identity store (the same --db / --memory as serve)
            user create ID [--first-name F] [--last-name L] [--email E]
                        the password is the first line of standard input
            user list
            user delete ID
  demo    a scripted tour of the JS API: jobs whose handler fails into
          incidents, a set-job-retries batch, a restart of finished instances

  rebatch --help | rebatch <command> --help   this text
`;

/** A mistake in the command line: one line, then a hint (exit 2). */
class UsageError extends Error {}

/** A failure while running: one line naming what failed (exit 1). */
class RuntimeError extends Error {}

/** The error of listen() as one line naming the address. */
function listenError(err, host, port) {
  const where = `${host}:${port}`;
  if (err.code === 'EADDRINUSE') return new RuntimeError(`port ${port} on ${host} is already in use (EADDRINUSE); choose another with --port`);
  if (err.code === 'EACCES') return new RuntimeError(`no permission to listen on ${where} (EACCES); choose a port above 1023 with --port`);
  if (err.code === 'EADDRNOTAVAIL') return new RuntimeError(`address ${host} is not available on this machine (EADDRNOTAVAIL); choose another with --host`);
  return new RuntimeError(`cannot listen on ${where}: ${err.message}`);
}

/** The job handlers module's exports. */
async function loadHandlers(file) {
  let mod;
  try {
    mod = await import(pathToFileURL(resolve(file)).href);
  } catch (err) {
    throw new RuntimeError(`cannot load --handlers ${file}: ${err.message.split('\n')[0]}`);
  }
  const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
  if (names.length === 0) throw new RuntimeError(`--handlers ${file} exports no function`);
  return { handlers: mod, names };
}

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
      handlers: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.memory && values.db) throw new UsageError('--db and --memory exclude each other');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`bad --port ${values.port}`);
  const bodyLimit = values['body-limit'] === undefined ? undefined : Number(values['body-limit']);
  if (bodyLimit !== undefined && !(Number.isInteger(bodyLimit) && bodyLimit > 0)) {
    throw new UsageError(`bad --body-limit ${values['body-limit']}`);
  }
  let config;
  if (values.config !== undefined) {
    try {
      config = JSON.parse(values.config);
    } catch {
      throw new UsageError('--config must be JSON');
    }
  }
  if (values.auth && values['no-auth']) throw new UsageError('--auth and --no-auth exclude each other');
  const policy = serverPolicy(values);
  const { jobExecutorSettings } = await import('../bindings/executor.js');
  let jobExecutor;
  try {
    jobExecutor = values['no-job-executor'] ? false : jobExecutorSettings(config?.jobExecutor ?? {});
  } catch (err) {
    throw new UsageError(err.message);
  }
  const loaded = values.handlers === undefined ? null : await loadHandlers(values.handlers);
  const { createServer } = await import('../bindings/server.js');
  let opened;
  try {
    opened = await openStore(values);
  } catch (err) {
    throw new RuntimeError(err.message); // names the file, or says how to get better-sqlite3
  }
  const { store, storeText } = opened;
  let engine;
  try {
    engine = await createEngine({
      ...(store ? { store } : {}),
      ...(config ? { config } : {}),
      ...(loaded ? { handlers: loaded.handlers } : {}),
      // one lock owner per node: its executor's and its handlers'
      ...(jobExecutor?.lockOwner ? { lockOwner: jobExecutor.lockOwner } : {}),
    });
  } catch (err) {
    store?.close();
    throw new RuntimeError(err.message);
  }
  const log = (msg) => process.stderr.write(`${msg}\n`);
  const rest = createServer({ engine, jobExecutor, bodyLimit, log, web: !values['no-web'], ...policy });
  let addr;
  try {
    addr = await rest.listen(port, values.host);
  } catch (err) {
    engine.close();
    store?.close();
    throw listenError(err, values.host, port);
  }
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  const origin = `http://${host}:${addr.port}`;
  const auth = policy.auth ?? !(await import('../bindings/http-policy.js')).isLoopback(values.host);
  // The first stdout line is the address (tests and scripts read it).
  const parts = [
    values['no-web'] ? null : `page: ${origin}/`,
    `store: ${storeText}`,
    `job executor: ${values['no-job-executor'] ? 'off' : 'on'}`,
    `auth: ${auth ? 'on' : 'off'}`,
    loaded ? `handlers: ${loaded.names.join(', ')}` : null,
  ].filter(Boolean);
  process.stdout.write(`rebatch listening on ${origin}/engine-rest (${parts.join(', ')})\n`);
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
    await engine.jobHandlers?.idle(); // running handlers end their jobs (else their locks expire)
    engine.close();
    store?.close(); // checkpoints the WAL
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
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`bad --${name} ${values[name]}`);
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
    throw new UsageError(`bad --public-url ${policy.publicUrl}: scheme://host[:port]`);
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
    throw new UsageError('usage: rebatch user create ID | list | delete ID');
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
      if (password === '') throw new UsageError('no password: pipe it in on standard input');
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

/** An invoice: an async service task whose handler charges the card (JSON model). */
const PROCESS = {
  key: 'invoice',
  name: 'Invoice',
  activities: [
    { id: 'start', type: 'startEvent' },
    { id: 'charge', type: 'serviceTask', asyncBefore: true, delegateExpression: '${chargeCard}' },
    { id: 'end', type: 'endEvent' },
  ],
  flows: [
    { id: 'f1', source: 'start', target: 'charge' },
    { id: 'f2', source: 'charge', target: 'end' },
  ],
};

/** Runs due jobs until none is left (the server's job executor does this by itself). */
async function runJobs(engine) {
  for (;;) {
    const { executed } = engine.executeDueJobs({ maxJobs: 100 });
    await engine.jobHandlers.idle();
    if (executed === 0) return;
  }
}

async function demo() {
  let paymentServiceDown = true;
  const handlers = {
    async chargeCard(job) {
      if (paymentServiceDown) throw new Error(`payment service unavailable (instance ${job.processInstanceId})`);
    },
  };
  const engine = await createEngine({ clock: manualClock(Date.UTC(2024, 0, 1)), ids: sequentialIds('demo-'), handlers });
  const show = (label, value) => console.log(`${label}:`, JSON.stringify(value, null, 2));
  try {
    const deployment = engine.createDeployment({ name: 'demo', processes: [PROCESS] });
    const [definitionId] = Object.keys(deployment.deployedProcessDefinitions ?? {});
    show('deployed', definitionId);
    for (let i = 1; i <= 3; i++) engine.startProcessInstanceByKey('invoice', { businessKey: `order-${i}` });

    console.log('\n1. The payment service is down: every charge fails until its retries run out.');
    await runJobs(engine);
    show('incidents', engine.getIncidents().map((i) => ({ type: i.incidentType, message: i.incidentMessage })));

    console.log('\n2. The service is back: one set-job-retries batch gives every failed job 1 retry.');
    paymentServiceDown = false;
    const failed = engine.getJobs({ noRetriesLeft: 'true' }).map((j) => j.id);
    const batch = engine.setJobRetriesAsync({ jobIds: failed, retries: 1 });
    show('batch', { id: batch.id, type: batch.type, totalJobs: batch.totalJobs });
    await runJobs(engine); // the batch's seed, execution and monitor jobs, then the charges
    show('batch history', engine.getHistoricBatch(batch.id).endTime ? 'ended' : 'running');
    show('incidents left', engine.getIncidents().length);
    show('instances still running', engine.getProcessInstancesCount().count);

    console.log('\n3. A restart batch starts the three finished invoices again before the charge.');
    const finished = engine.getHistoricProcessInstances({ finished: 'true' }).map((p) => p.id);
    const restart = engine.restartProcessInstancesAsync(definitionId, {
      processInstanceIds: finished,
      instructions: [{ type: 'startBeforeActivity', activityId: 'charge' }],
    });
    show('batch', { id: restart.id, type: restart.type, totalJobs: restart.totalJobs });
    await runJobs(engine); // the restart batch's jobs, then the new instances' charges
    show('finished instances (3 first runs, 3 restarts)', engine.getHistoricProcessInstancesCount({ finished: 'true' }).count);
    show('instances still running', engine.getProcessInstancesCount().count);
  } finally {
    engine.close();
  }
}

/** One line for a failure; a usage hint after a usage error. */
function failed(err, command) {
  if (err instanceof UsageError || err?.code?.startsWith?.('ERR_PARSE_ARGS')) {
    process.stderr.write(`rebatch ${command}: ${err.message}\nrun 'rebatch ${command} --help' for the options\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`rebatch ${command}: ${err instanceof RuntimeError || err instanceof EngineError ? err.message : err?.stack ?? err}\n`);
  process.exitCode = 1;
}

const [command, ...rest] = process.argv.slice(2);
if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(USAGE);
} else if (command === 'demo' || command === 'serve' || command === 'user') {
  if (rest.includes('--help') || rest.includes('-h')) process.stdout.write(USAGE);
  else await (command === 'demo' ? demo() : command === 'serve' ? serve(rest) : user(rest)).catch((err) => failed(err, command));
} else {
  process.stderr.write(`rebatch: unknown command '${command}'\nrun 'rebatch --help' for the commands\n`);
  process.exitCode = 2;
}
