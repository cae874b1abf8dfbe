// executor.js - the job executor the REST server runs over an engine: due jobs
// in small steps between HTTP requests, an idle back-off, woken by writes.

/**
 * The job executor: runs engine.executeDueJobs in small steps while there is
 * work (yielding to HTTP requests between steps), and when idle waits,
 * Camunda-like: `waitMs` first, times `waitIncreaseFactor` on every idle
 * round up to `maxWaitMs`. A write request wakes it at once (as Camunda's
 * job executor is hinted when a job is created). Failures back off too.
 */
export class JobExecutor {
  #engine;
  #opts;
  #timer = null;
  #wait;
  #running = false;
  #log;

  /**
   * @param {import('./index.js').Engine} engine
   * @param {{maxJobsPerStep?: number, waitMs?: number, maxWaitMs?: number,
   *   waitIncreaseFactor?: number, log?: (msg: string) => void}} [options]
   */
  constructor(engine, options = {}) {
    this.#engine = engine;
    this.#opts = { maxJobsPerStep: 10, waitMs: 5000, maxWaitMs: 60000, waitIncreaseFactor: 2, ...options };
    this.#wait = this.#opts.waitMs;
    this.#log = options.log ?? (() => {});
    /** Steps run and jobs executed (for tests and monitoring). */
    this.stats = { steps: 0, executed: 0, failed: 0, errors: 0 };
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
    this.#wait = this.#opts.waitMs;
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
    let executed = 0;
    try {
      const result = this.#engine.executeDueJobs({ maxJobs: this.#opts.maxJobsPerStep });
      executed = result?.executed ?? 0;
      this.stats.steps++;
      this.stats.executed += executed;
      this.stats.failed += result?.failed ?? 0;
    } catch (err) {
      this.stats.errors++;
      this.#log(`job executor: ${err.message}`);
    }
    if (executed > 0) {
      this.#wait = this.#opts.waitMs;
      this.#schedule(0);
    } else {
      const wait = this.#wait;
      this.#wait = Math.min(this.#opts.maxWaitMs, Math.max(1, wait * this.#opts.waitIncreaseFactor));
      this.#schedule(wait);
    }
  }
}
