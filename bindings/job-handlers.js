// job-handlers.js - runs the process code of jobs with the user's handlers:
// the exports of a module (`rebatch serve --handlers ./handlers.mjs`) or any
// object of functions (`createEngine({ handlers })`).
//
// Which handler runs a job: the job's activity names it, checked in this
// order, the first that names one wins:
//   camunda:delegateExpression="${chargeCard}"        -> export chargeCard
//   camunda:class="com.acme.ChargeCard"               -> export ChargeCard
//   camunda:expression="${payments.charge(execution)}"-> export payments
//   none of them                                      -> export named as the activity id
// An activity that names a handler the module does not export fails its job
// (as Camunda fails on an unresolvable expression or class); an activity
// that names none and whose id is not exported just continues.
// Handlers run the async-before job of an activity (the activity's work);
// async-after jobs and timers continue without one.
//
// A handler gets the job (as GET /job/{id} shows it, plus activityId).
// Returning (or a Promise resolving) completes the job; throwing (or
// rejecting) fails it with the error's message and stack, with Camunda's
// failure handling (retries, failedJobRetryTimeCycle, an incident at 0).
// A synchronous handler runs inside the executor's transaction: it must not
// call the engine. A Promise leaves the job locked (lockOwner: the engine's,
// which the job executor acquires under too; lockExpirationTime: the
// executor's lockTimeInMillis, 5 minutes by default) while it runs; it then
// completes or fails in a transaction of its own.

/**
 * The export a job's activity names, and what names it.
 * @param {{activityId?: string, delegateExpression?: string, class?: string, expression?: string}} job
 * @returns {{name: string, by: 'delegateExpression' | 'class' | 'expression' | 'activityId', source: string} | null}
 */
export function handlerNameOf(job) {
  const expression = (text) => /^\s*[$#]\{\s*([A-Za-z_$][\w$]*)/.exec(text ?? '')?.[1];
  if (job.delegateExpression) {
    return { name: expression(job.delegateExpression) ?? job.delegateExpression, by: 'delegateExpression', source: job.delegateExpression };
  }
  if (job.class) return { name: job.class.split('.').pop(), by: 'class', source: job.class };
  if (job.expression) {
    return { name: expression(job.expression) ?? job.expression, by: 'expression', source: job.expression };
  }
  return job.activityId ? { name: job.activityId, by: 'activityId', source: job.activityId } : null;
}

/** Camunda's message for a name nothing resolves. */
function unresolved(found) {
  if (found.by === 'class') return `ENGINE-09008 Exception while instantiating class '${found.source}': no handler exported as '${found.name}'`;
  return `Unknown property used in expression: ${found.source}. Cause: Cannot resolve identifier '${found.name}'`;
}

/** A node's lock owner when none is given: its process id and a random part. */
export function defaultLockOwner() {
  const pid = globalThis.process?.pid;
  return `rebatch-${pid ?? 'web'}-${globalThis.crypto.randomUUID().slice(0, 8)}`;
}

/**
 * The job handlers of one engine: createEngine({ handlers }) builds it, and
 * it is `engine.jobHandlers` then.
 */
export class JobHandlers {
  #handlers;
  #engine = null;
  #running = new Set();
  #idle = [];
  #settled = new Set();
  #log;

  /**
   * @param {Record<string, unknown>} handlers a module namespace or an object of functions
   * @param {{lockOwner?: string, log?: (msg: string) => void}} [options]
   */
  constructor(handlers, options = {}) {
    if (handlers === null || (typeof handlers !== 'object' && typeof handlers !== 'function')) {
      throw new TypeError('createEngine: handlers must be an object of functions (a module\'s exports)');
    }
    this.#handlers = handlers;
    /** The lock owner of the jobs these handlers run. */
    this.lockOwner = options.lockOwner ?? defaultLockOwner();
    this.#log = options.log ?? ((msg) => globalThis.console?.error(msg));
    this.jobHandler = this.jobHandler.bind(this);
    this.onDeferred = this.onDeferred.bind(this);
  }

  /** @internal the engine the deferred jobs are ended on */
  bind(engine) {
    this.#engine = engine;
  }

  /** How many handlers are running (their jobs locked). */
  get running() {
    return this.#running.size;
  }

  /** Resolves once no handler is running. */
  idle() {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Calls fn after every deferred job ended (the server wakes its job
   * executor: the job's continuation may have made new jobs).
   * @param {() => void} fn
   * @returns {() => void} removes it again
   */
  onSettled(fn) {
    this.#settled.add(fn);
    return () => this.#settled.delete(fn);
  }

  /** @internal the engine host's jobHandler: runs the handler the job names */
  jobHandler(job) {
    if (job.jobConfiguration !== 'async-before') return undefined;
    const found = handlerNameOf(job);
    if (!found) return undefined;
    const handler = Object.hasOwn(this.#handlers, found.name) ? this.#handlers[found.name] : undefined;
    if (typeof handler !== 'function') {
      if (found.by === 'activityId') return undefined;
      throw new Error(unresolved(found));
    }
    return handler(job);
  }

  /** @internal a handler returned a Promise: the engine locked its job */
  onDeferred(job, promise) {
    const entry = { id: job.id };
    this.#running.add(entry);
    Promise.resolve(promise).then(
      () => this.#end(entry, 'completeLockedJob', { lockOwner: this.lockOwner }),
      (err) => this.#end(entry, 'failLockedJob', failure(err, this.lockOwner)),
    );
  }

  #end(entry, operation, body) {
    try {
      if (!this.#engine || this.#engine.closed) {
        this.#log(`job ${entry.id}: the engine closed while its handler ran; the job's lock expires and it runs again`);
      } else {
        this.#engine.call(operation, { id: entry.id, body });
      }
    } catch (err) {
      this.#log(`job ${entry.id}: ${operation}: ${err.message}`);
    }
    this.#running.delete(entry);
    for (const fn of this.#settled) fn();
    if (this.#running.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }
}

/** failLockedJob's body for what a handler threw. */
function failure(err, lockOwner) {
  const message = err instanceof Error ? err.message || err.name : String(err);
  const body = { lockOwner, errorMessage: message };
  if (err instanceof Error && typeof err.stack === 'string') body.errorDetails = err.stack;
  return body;
}
