// sim.js - the simulation: a rebatch engine (the WASM core, in-memory store)
// driven by a simulated clock, simulated external task workers and a job
// handler that fails at set rates. No DOM: the page renders snapshots of it,
// and tests drive it directly in Node.
//
// Reproducibility: everything random comes from one PRNG seeded with the
// run's seed; the clock and ids are deterministic; every action that changes
// the run (deploy, start, a setting, a request) is logged with the tick it
// happened before. Replaying the log over a fresh engine with the same seed
// gives the same store, byte for byte. That log is what export/import carry:
// the engine's stores compute their indexes on write, so a dump alone cannot
// be loaded back, but it is kept in the export to verify the replay.

import { EngineError, createEngine, init, manualClock, memoryStore, sequentialIds } from '../../bindings/index.js';
import { parseBpmn } from '../../bindings/bpmn.js';
import { seededRandom } from './prng.js';

/** Simulated time of the first tick: a fixed instant, so runs compare. */
export const SIM_EPOCH = Date.UTC(2024, 0, 1, 8, 0, 0);

export const EXPORT_FORMAT = 'rebatch-simulation';
export const EXPORT_VERSION = 1;

/**
 * What the simulated world does each tick. Changing one is an action.
 * @typedef {object} Settings
 * @property {number} tickMs           simulated milliseconds per tick
 * @property {number} taskFailureRate  0..1: share of fetched external tasks a worker fails
 * @property {number} jobFailureRate   0..1: share of process jobs (async, timers) that fail
 * @property {number} workerMaxTasks   tasks one worker fetches per topic and tick
 * @property {number} workerRetries    retries a worker reports on a task's first failure
 * @property {number} retryTimeoutMs   retryTimeout a worker reports with a failure
 * @property {number} jobsPerTick      maxJobs of the job executor's step each tick
 */

/** @type {Readonly<Settings>} */
export const DEFAULT_SETTINGS = Object.freeze({
  tickMs: 5000,
  taskFailureRate: 0.3,
  jobFailureRate: 0.1,
  workerMaxTasks: 10,
  workerRetries: 2,
  retryTimeoutMs: 10000,
  jobsPerTick: 50,
});

/** Bounds of each setting (inclusive); values are clamped into them. */
const SETTING_RANGES = {
  tickMs: [100, 3600000],
  taskFailureRate: [0, 1],
  jobFailureRate: [0, 1],
  workerMaxTasks: [1, 1000],
  workerRetries: [0, 100],
  retryTimeoutMs: [0, 86400000],
  jobsPerTick: [1, 10000],
};

/** Engine configuration of the simulation: batches move every few ticks. */
const ENGINE_CONFIG = { batchPollTime: 10, batchJobsPerSeed: 10 };

/** Most ticks an import replays: a file cannot make the page spin for hours. */
export const MAX_IMPORT_TICKS = 20000;

/** Samples of the timeline kept (one per tick; older ones are dropped). */
const TIMELINE_LIMIT = 2000;

/**
 * @typedef {object} Action
 * @property {number} tick   the tick count when it happened (before that tick ran)
 * @property {'deploy' | 'start' | 'setting' | 'request'} type
 */

/**
 * One sample of the timeline, taken after each tick.
 * @typedef {object} Sample
 * @property {number} tick
 * @property {number} time      simulated ms since the epoch
 * @property {number} incidents open incidents
 * @property {number} failures  failures reported this tick (task failures + failed jobs)
 * @property {number} retrying  tasks and jobs with a failure behind them and retries left
 * @property {number} completed external tasks completed this tick
 */

export class Simulation {
  /** @type {import('../../bindings/index.js').Engine} */
  engine;
  /** @type {ReturnType<typeof manualClock>} */
  clock;
  /** @type {Settings} */
  settings;
  /** @type {Action[]} */
  actions = [];
  /** @type {Sample[]} */
  timeline = [];
  tick = 0;
  /** Topics of every deployed external task, sorted (the workers fetch these). */
  topics = [];
  /** BPMN XML by process definition key, latest deployment wins. */
  diagrams = new Map();
  /** Parsed process models (bindings/bpmn.js) by key, latest deployment wins. */
  models = new Map();

  #random;
  #store;
  #seed;
  #initialSettings;
  #failures = 0;

  /** @internal use Simulation.create() */
  constructor(seed, engine, store, clock, random, settings) {
    this.#seed = seed;
    this.engine = engine;
    this.#store = store;
    this.clock = clock;
    this.#random = random;
    this.settings = settings;
    this.#initialSettings = { ...settings };
  }

  /**
   * A fresh simulation.
   * @param {{seed?: string, settings?: Partial<Settings>, wasmUrl?: string | URL}} [options]
   */
  static async create({ seed = '1', settings = {}, wasmUrl } = {}) {
    if (wasmUrl) await init({ wasmUrl }); // only the first load reads it
    const clock = manualClock(SIM_EPOCH);
    const random = seededRandom(seed);
    const store = memoryStore();
    /** @type {Simulation | null} */
    let sim = null;
    const engine = await createEngine({
      store,
      clock,
      ids: sequentialIds('sim-'),
      config: ENGINE_CONFIG,
      jobHandler: (job) => sim?.runJob(job),
    });
    sim = new Simulation(String(seed), engine, store, clock, random, clampSettings({ ...DEFAULT_SETTINGS, ...settings }));
    return sim;
  }

  get seed() {
    return this.#seed;
  }

  /** Simulated now, ms since the epoch. */
  get now() {
    return this.clock.now();
  }

  /**
   * Parses and deploys BPMN XML (bindings/bpmn.js, the parser the REST shim
   * uses). Returns the deployment; throws BpmnParseError or EngineError.
   * @param {string} resource file name @param {string} xml
   */
  async deploy(resource, xml) {
    const { processes } = await parseBpmn(xml, { resource });
    const deployment = this.engine.createDeployment({ name: resource.replace(/\.bpmn(20\.xml)?$/i, ''), processes });
    this.#log({ type: 'deploy', resource, xml });
    for (const p of processes) {
      this.diagrams.set(p.key, xml);
      this.models.set(p.key, p);
      for (const a of p.activities) if (a.topic && !this.topics.includes(a.topic)) this.topics.push(a.topic);
    }
    this.topics.sort();
    return deployment;
  }

  /**
   * Starts `count` instances of the latest definition of `key`, with business
   * keys "<prefix>-<n>" numbered on from what already exists.
   * @param {string} key @param {number} count
   */
  start(key, count) {
    const n = Math.max(0, Math.min(10000, Math.floor(count)));
    const first = this.engine.getHistoricProcessInstancesCount({ processDefinitionKey: key }).count;
    const ids = [];
    for (let i = 1; i <= n; i++) {
      ids.push(this.engine.startProcessInstanceByKey(key, { businessKey: `${key}-${first + i}` }).id);
    }
    this.#log({ type: 'start', key, count: n });
    return ids;
  }

  /**
   * Changes one setting (clamped to its range).
   * @param {keyof Settings} name @param {number} value
   */
  set(name, value) {
    if (!(name in SETTING_RANGES)) throw new Error(`unknown setting ${name}`);
    const next = clampSettings({ ...this.settings, [name]: Number(value) });
    if (next[name] === this.settings[name]) return;
    this.settings = next;
    this.#log({ type: 'setting', name, value: next[name] });
  }

  /**
   * Runs one engine operation the way the REST shim would answer it:
   * {status, body}, Camunda's error body on failure. Logged when it changed
   * something (reads and rejected requests leave the run as it was).
   * @param {string} operation
   * @param {{id?: string, query?: Record<string, string>, body?: unknown}} [request]
   * @returns {{status: number, body: unknown}}
   */
  request(operation, request = {}) {
    const clean = {};
    for (const k of ['id', 'query', 'body']) if (request[k] !== undefined) clean[k] = request[k];
    const response = callAsRest(this.engine, operation, clean);
    if (response.status < 400 && !READS.test(operation)) this.#log({ type: 'request', operation, request: clean });
    return response;
  }

  /**
   * One tick: the clock moves on by tickMs, every topic's worker fetches and
   * completes or fails its tasks, the job executor runs due jobs (process
   * jobs through runJob, batch seed/execution/monitor jobs in the core).
   * @returns {Sample}
   */
  step() {
    this.tick++;
    this.clock.advance(this.settings.tickMs);
    this.#failures = 0;
    let completed = 0;
    for (const topic of this.topics) completed += this.#work(topic);
    const result = this.engine.executeDueJobs({ maxJobs: this.settings.jobsPerTick });
    this.#failures += result.failed;
    return this.#sample(completed);
  }

  /** @param {number} n ticks to run */
  run(n) {
    for (let i = 0; i < n; i++) this.step();
  }

  /**
   * The host's job handler: process jobs (async continuations, timers) fail
   * at jobFailureRate. Throwing fails the job with the message.
   * @param {object} job
   */
  runJob(job) {
    if (this.#random() < this.settings.jobFailureRate) {
      throw new Error(`simulated failure of job ${job.id}`);
    }
  }

  /** The whole store as canonical JSON text (byte-identical across equal runs). */
  dump() {
    return this.#store.dump();
  }

  /** Everything needed to reproduce this run, and its state for checking. */
  export() {
    return {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      seed: this.#seed,
      initialSettings: { ...this.#initialSettings },
      tick: this.tick,
      time: new Date(this.now).toISOString(),
      actions: this.actions,
      state: JSON.parse(this.dump()),
    };
  }

  /**
   * Rebuilds a run from an export: a fresh engine with its seed, its actions
   * replayed at their ticks, then ticks up to the exported one. `identical`
   * says whether the store came out as the export recorded it.
   * @param {any} data a value export() returned (parsed from JSON)
   * @param {{wasmUrl?: string | URL}} [options]
   * @returns {Promise<{sim: Simulation, identical: boolean | null}>}
   */
  static async import(data, options = {}) {
    validateExport(data);
    const sim = await Simulation.create({ seed: data.seed, settings: data.initialSettings, wasmUrl: options.wasmUrl });
    try {
      for (const action of data.actions) {
        while (sim.tick < action.tick) sim.step();
        await sim.apply(action);
      }
      while (sim.tick < data.tick) sim.step();
    } catch (err) {
      sim.close();
      throw err;
    }
    const identical = data.state === undefined ? null : JSON.stringify(JSON.parse(sim.dump())) === JSON.stringify(data.state);
    return { sim, identical };
  }

  /**
   * Applies one logged action (import, replay).
   * @param {any} action
   */
  async apply(action) {
    switch (action.type) {
      case 'deploy':
        return this.deploy(String(action.resource), String(action.xml));
      case 'start':
        return this.start(String(action.key), Number(action.count));
      case 'setting':
        return this.set(action.name, Number(action.value));
      case 'request':
        return this.request(String(action.operation), action.request ?? {});
      default:
        throw new Error(`unknown action type ${JSON.stringify(action.type)}`);
    }
  }

  /** Frees the engine and its store. */
  close() {
    this.engine.close();
    this.#store.close();
  }

  /** One worker round on a topic: returns how many tasks it completed. */
  #work(topic) {
    const s = this.settings;
    const tasks = this.engine.fetchAndLock({
      workerId: `worker-${topic}`,
      maxTasks: s.workerMaxTasks,
      topics: [{ topicName: topic, lockDuration: 60000 }],
    });
    let completed = 0;
    for (const task of tasks) {
      if (this.#random() < s.taskFailureRate) {
        const retries = task.retries === null ? s.workerRetries : Math.max(0, task.retries - 1);
        this.engine.handleExternalTaskFailure(task.id, {
          workerId: `worker-${topic}`,
          errorMessage: `simulated failure in ${topic}`,
          retries,
          retryTimeout: s.retryTimeoutMs,
        });
        this.#failures++;
      } else {
        this.engine.completeExternalTask(task.id, { workerId: `worker-${topic}` });
        completed++;
      }
    }
    return completed;
  }

  #sample(completed) {
    const e = this.engine;
    const sample = {
      tick: this.tick,
      time: this.now,
      incidents: e.getIncidentsCount().count,
      failures: this.#failures,
      retrying: countRetryingJobs(e) + countRetryingTasks(e),
      completed,
    };
    this.timeline.push(sample);
    if (this.timeline.length > TIMELINE_LIMIT) this.timeline.splice(0, this.timeline.length - TIMELINE_LIMIT);
    return sample;
  }

  #log(action) {
    this.actions.push({ tick: this.tick, ...action });
  }
}

/** Jobs that failed at least once and still have retries (exceptionMessage set). */
function countRetryingJobs(engine) {
  return engine.getJobs({ withRetriesLeft: 'true' }).filter((j) => j.exceptionMessage).length;
}

/** External tasks that failed at least once and still have retries. */
function countRetryingTasks(engine) {
  return engine.getExternalTasks({ withRetriesLeft: 'true' }).filter((t) => t.retries !== null && t.errorMessage).length;
}

/** Operations that change nothing: reads, and migration plans (generated or validated). */
const READS = /^(get|generateMigrationPlan$|validateMigrationPlan$)/;

/**
 * Runs one operation and answers as the REST shim does: 200 with a body,
 * 204 without, Camunda's {type, message, code} with the error status.
 * @param {import('../../bindings/index.js').Engine} engine
 * @param {string} operation @param {object} request
 */
export function callAsRest(engine, operation, request) {
  try {
    const body = engine.call(operation, request);
    return body === undefined || body === null ? { status: 204, body: null } : { status: 200, body };
  } catch (err) {
    if (err instanceof EngineError && err.status >= 400) {
      return { status: err.status, body: { type: err.type, message: err.message, code: err.code ?? null } };
    }
    return { status: 500, body: { type: err?.type ?? err?.name ?? 'Exception', message: String(err?.message ?? err), code: null } };
  }
}

/** @param {Partial<Settings>} s @returns {Settings} */
function clampSettings(s) {
  const out = { ...DEFAULT_SETTINGS };
  for (const [name, [lo, hi]] of Object.entries(SETTING_RANGES)) {
    const v = Number(s[name]);
    if (Number.isFinite(v)) out[name] = Math.min(hi, Math.max(lo, v));
  }
  return out;
}

/** @param {any} data */
function validateExport(data) {
  if (!data || typeof data !== 'object' || data.format !== EXPORT_FORMAT) {
    throw new Error(`not a ${EXPORT_FORMAT} export (format field missing or different)`);
  }
  if (data.version !== EXPORT_VERSION) throw new Error(`unsupported export version ${data.version}`);
  if (!Array.isArray(data.actions)) throw new Error('export has no actions list');
  if (!Number.isInteger(data.tick) || data.tick < 0) throw new Error('export has no valid tick');
  if (data.tick > MAX_IMPORT_TICKS) throw new Error(`export is at tick ${data.tick}; an import replays at most ${MAX_IMPORT_TICKS} ticks`);
  let last = 0;
  for (const a of data.actions) {
    if (!a || !Number.isInteger(a.tick) || a.tick < last || a.tick > data.tick) {
      throw new Error('export actions must have ascending ticks up to the exported tick');
    }
    last = a.tick;
  }
}
