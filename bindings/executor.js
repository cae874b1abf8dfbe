// executor.js - the job executor the REST server runs over an engine: due jobs
// in small steps between HTTP requests, sleeping until the next due job,
// woken by writes.

/** The settings and their defaults (also the keys of `jobExecutor` in --config). */
export const JOB_EXECUTOR_DEFAULTS = Object.freeze({
  /** Jobs one step acquires and runs before yielding to HTTP requests. */
  maxJobsPerStep: 50,
  /** The sleep after a step that failed (a storage error), doubled per failure up to maxWaitMs. */
  waitMs: 5000,
  /** The longest sleep: with nothing waiting, or a job due later than this. */
  maxWaitMs: 60000,
  /** Jobs of a step that share one store transaction, each in a savepoint (stores of version 2; else 1). */
  jobsPerTransaction: 50,
});

/**
 * Settings without a default here: lockTimeInMillis (how long an acquired
 * job stays locked; default the engine's lockTimeInMillis, 300000, as
 * Camunda's) and lockOwner (the node's name on the jobs it holds; default
 * the engine's lockOwner, random per engine).
 */
const LOCK_SETTINGS = ['lockTimeInMillis', 'lockOwner'];

/**
 * Checks job executor settings: every key known, every value a positive
 * integer (lockOwner: a non-empty string). Throws an Error naming the
 * first bad one.
 * @param {object} options
 * @returns {{maxJobsPerStep: number, waitMs: number, maxWaitMs: number, jobsPerTransaction: number,
 *   lockTimeInMillis?: number, lockOwner?: string}}
 */
export function jobExecutorSettings(options = {}) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error('job executor settings must be an object');
  }
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(JOB_EXECUTOR_DEFAULTS, key) && !LOCK_SETTINGS.includes(key)) {
      const known = [...Object.keys(JOB_EXECUTOR_DEFAULTS), ...LOCK_SETTINGS];
      throw new Error(`unknown job executor setting '${key}' (known: ${known.join(', ')})`);
    }
    if (key === 'lockOwner') {
      if (typeof value !== 'string' || value === '') throw new Error("job executor setting 'lockOwner' must be a non-empty string");
    } else if (!Number.isSafeInteger(value) || value < 1) {
      throw new Error(`job executor setting '${key}' must be a positive integer`);
    }
  }
  return { ...JOB_EXECUTOR_DEFAULTS, ...options };
}

/**
 * The job executor: runs engine.executeDueJobs in small steps while there is
 * work (yielding to HTTP requests between steps). Each step first locks the
 * jobs it takes under the node's lockOwner for lockTimeInMillis, so that
 * several nodes on one store never run the same job (Camunda's job
 * acquisition). A step that found nothing
 * due says when the earliest waiting job is due (nextDueInMs); the executor
 * sleeps until then, at most `maxWaitMs`. A write request wakes it at once
 * (as Camunda's job executor is hinted when a job is created). A failed
 * step backs off from `waitMs`.
 */
export class JobExecutor {
  #engine;
  #opts;
  #timer = null;
  #errorWait;
  #running = false;
  #log;

  /**
   * @param {import('./index.js').Engine} engine
   * @param {{maxJobsPerStep?: number, waitMs?: number, maxWaitMs?: number,
   *   jobsPerTransaction?: number, lockTimeInMillis?: number, lockOwner?: string,
   *   log?: (msg: string) => void}} [options]
   */
  constructor(engine, options = {}) {
    const { log, ...settings } = options;
    this.#engine = engine;
    this.#opts = jobExecutorSettings(settings);
    /** The lock owner of the jobs this executor acquires. */
    this.lockOwner = this.#opts.lockOwner ?? engine.lockOwner;
    this.#errorWait = this.#opts.waitMs;
    this.#log = log ?? (() => {});
    /** Steps run and jobs executed (for tests and monitoring). */
    this.stats = { steps: 0, executed: 0, failed: 0, conflicted: 0, errors: 0 };
  }

  get running() {
    return this.#running;
  }

  start() {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  stop() {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** New work may be there: run a step soon. */
  wake() {
    if (!this.#running) return;
    this.#schedule(0);
  }

  #schedule(ms) {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#step(), ms);
    if (ms > 0) this.#timer.unref?.();
  }

  #step() {
    this.#timer = null;
    if (!this.#running || this.#engine.closed) return;
    let result;
    try {
      const { maxJobsPerStep: maxJobs, jobsPerTransaction, lockTimeInMillis } = this.#opts;
      result = this.#engine.executeDueJobs({ maxJobs, jobsPerTransaction, lockOwner: this.lockOwner, lockTimeInMillis });
    } catch (err) {
      this.stats.errors++;
      this.#log(`job executor: ${err.message}`);
      const wait = this.#errorWait;
      this.#errorWait = Math.min(this.#opts.maxWaitMs, wait * 2);
      this.#schedule(wait);
      return;
    }
    this.#errorWait = this.#opts.waitMs;
    this.stats.steps++;
    this.stats.executed += result.executed;
    this.stats.failed += result.failed;
    this.stats.conflicted += result.conflicted;
    // Jobs that ran may have made new ones, and jobs released after a
    // conflict are due again: look again at once.
    if (result.executed > 0 || result.conflicted > 0) return this.#schedule(0);
    const next = result.nextDueInMs;
    // +1: the clock has millisecond steps, and a job is due at its due date, not before.
    this.#schedule(next === null || next === undefined ? this.#opts.maxWaitMs : Math.min(this.#opts.maxWaitMs, Math.ceil(next) + 1));
  }
}
