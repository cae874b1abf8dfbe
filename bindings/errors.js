// errors.js - the error classes of the binding.

/** Result codes of the C API (src/rebatch.h). Stable. */
export const RC = Object.freeze({
  OK: 0,
  NOTFOUND: 1,
  CONFLICT: 2,
  ERROR: 3,
  NOMEM: 4,
  MISUSE: 5,
  /** only a job handler's: its code runs on (see rebatch_host.execute_job) */
  DEFERRED: 6,
});

/**
 * Every failure the engine reports. Operation errors carry Camunda's error
 * body: `type` (e.g. "InvalidRequestException"), `message`, `code` (Camunda's
 * error code, when the body has one) and the HTTP `status` (>= 400).
 * Failures of the binding itself (engine closed, out of WASM memory, an
 * engine that could not open) have `status` undefined, a `type` of
 * "RebatchError" and `code` set to the C result code (see RC).
 */
export class EngineError extends Error {
  /**
   * @param {string} message
   * @param {{type?: string, status?: number, code?: number, cause?: unknown, extra?: object}} [details]
   *   extra: members of the error body besides type, message and code
   *   (a migration failure's validationReport)
   */
  constructor(message, { type = 'RebatchError', status, code, cause, extra } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'EngineError';
    /** @type {string} */
    this.type = type;
    /** @type {number | undefined} */
    this.status = status;
    /** @type {number | undefined} */
    this.code = code;
    /** @type {object | undefined} */
    this.extra = extra;
  }
}

/**
 * Thrown by a store method to report an optimistic-locking conflict: a put or
 * remove named a revision that is not the stored one, or an insert
 * (expectedRev 0) met an existing record. Any other exception a store throws
 * is a storage error.
 */
export class StoreConflictError extends Error {
  /** @param {string} [message] */
  constructor(message = 'revision conflict') {
    super(message);
    this.name = 'StoreConflictError';
  }
}
