// index.d.ts - types of `rebatch` (bindings/index.js). Hand-written; the
// operation methods follow bindings/operations.js (tests/package.test.js
// checks that every operation is declared here).

/** Any JSON value (a request or response body). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };
/** URL query parameters of an operation (strings, as the REST layer passes them). */
export type Query = Record<string, string | number | boolean | undefined>;

/** Result codes of the C API (src/rebatch.h). */
export declare const RC: Readonly<{
  OK: 0;
  NOTFOUND: 1;
  CONFLICT: 2;
  ERROR: 3;
  NOMEM: 4;
  MISUSE: 5;
  DEFERRED: 6;
}>;

/** Every failure the engine reports, with Camunda's error body. */
export declare class EngineError extends Error {
  constructor(message: string, details?: { type?: string; status?: number; code?: number; cause?: unknown });
  /** Camunda's exception type, e.g. "InvalidRequestException"; "RebatchError" for the binding's own. */
  type: string;
  /** The HTTP status (>= 400); undefined for the binding's own failures. */
  status: number | undefined;
  /** Camunda's error code, or the C result code for the binding's own failures. */
  code: number | undefined;
}

/** Thrown by a store for an optimistic-locking conflict. */
export declare class StoreConflictError extends Error {
  constructor(message?: string);
}

/** One stored record as a store returns it. */
export interface StoredRow {
  json: string;
  rev: number;
}
/** A page row of find/scan. */
export interface StoredPageRow extends StoredRow {
  id: string;
}
export interface IndexEntry {
  field: string;
  value: string | null;
}

/** The storage contract a JS store implements (see js-memory-store.js). */
export interface Store {
  begin(): void;
  commit(): void;
  rollback(): void;
  get(coll: string, id: string): StoredRow | null;
  /** Returns the new revision; throws StoreConflictError when expectedRev is not the stored one (0: insert). */
  put(coll: string, id: string, json: string, expectedRev: number, index?: IndexEntry[]): number;
  /** Returns false when there was no such record. */
  remove(coll: string, id: string, expectedRev: number): boolean;
  find(coll: string, field: string, value: string, afterId: string | null, limit: number): StoredPageRow[];
  scan(coll: string, afterId: string | null, limit: number): StoredPageRow[];
  /** Optional (store version 3): records with a value for the indexed field, in (value, id) order after (afterValue, afterId). */
  findOrdered?(coll: string, field: string, afterValue: string | null, afterId: string | null, limit: number): StoredPageRow[];
}

/** The pure-JS in-memory store (the reference implementation of Store). */
export declare class JsMemoryStore implements Store {
  begin(): void;
  commit(): void;
  rollback(): void;
  get(coll: string, id: string): StoredRow | null;
  put(coll: string, id: string, json: string, expectedRev: number, index?: IndexEntry[]): number;
  remove(coll: string, id: string, expectedRev: number): boolean;
  find(coll: string, field: string, value: string, afterId: string | null, limit: number): StoredPageRow[];
  scan(coll: string, afterId: string | null, limit: number): StoredPageRow[];
  /** The whole content as canonical JSON text. */
  dump(): string;
}
export declare function jsMemoryStore(): JsMemoryStore;
/** The id order the engine pages in (code point order). */
export declare function compareIds(a: string, b: string): number;

/** The C in-memory store inside the WASM module. */
export declare class MemoryStore {
  readonly closed: boolean;
  dump(): string;
  close(): void;
}
export declare function memoryStore(): MemoryStore;

/** A clock that moves only when told to. */
export interface ManualClock {
  (): number;
  now(): number;
  set(ms: number): number;
  advance(ms: number): number;
}
export declare function manualClock(startMs?: number): ManualClock;
export declare function sequentialIds(prefix?: string): () => string;
/** UUIDs (version 7 layout) that sort by creation time; the default ids. */
export declare function timeOrderedIds(now?: () => number): () => string;

/** The argument shape of each operation: the request fields its method takes, in order. */
export declare const OPERATIONS: Readonly<Record<string, readonly ('id' | 'key' | 'query' | 'body')[]>>;

/** A job as a job handler gets it: GET /job/{id}'s shape plus what names its code. */
export interface HandlerJob {
  id: string;
  jobDefinitionId: string | null;
  processInstanceId: string | null;
  processDefinitionId: string | null;
  processDefinitionKey: string | null;
  executionId: string | null;
  exceptionMessage: string | null;
  failedActivityId: string | null;
  retries: number;
  dueDate: string | null;
  suspended: boolean;
  priority: number;
  tenantId: string | null;
  createTime: string | null;
  batchId: string | null;
  activityId: string | null;
  /** "async-before" for the jobs handlers run. */
  jobConfiguration: string | null;
  delegateExpression?: string;
  class?: string;
  expression?: string;
}

/** A job handler: return (or resolve) to complete the job; throw (or reject) to fail it. */
export type JobHandler = (job: HandlerJob) => unknown;
/** Job handlers by name: a module's exports, or any object of functions. */
export type Handlers = Record<string, unknown>;

/** Which export a job's activity names (delegateExpression, class, expression, activity id). */
export declare function handlerNameOf(job: Partial<HandlerJob>): {
  name: string;
  by: 'delegateExpression' | 'class' | 'expression' | 'activityId';
  source: string;
} | null;

/** The job handlers of an engine created with `handlers` (engine.jobHandlers). */
export declare class JobHandlers {
  constructor(handlers: Handlers, options?: { lockOwner?: string; log?: (msg: string) => void });
  /** The lock owner of the jobs whose handler runs asynchronously. */
  readonly lockOwner: string;
  /** How many asynchronous handlers are running (their jobs locked). */
  readonly running: number;
  /** Resolves once no handler is running. */
  idle(): Promise<void>;
  /** Calls fn after each asynchronous handler's job ended; returns a function that removes it. */
  onSettled(fn: () => void): () => void;
}

/** A request to one operation. */
export interface EngineRequest {
  id?: string;
  key?: string;
  query?: Query;
  body?: Json;
}

export interface EngineOptions {
  /** A memoryStore(), any JS Store (jsMemoryStore(), sqliteStore() of rebatch/sqlite); default: a fresh memoryStore(). */
  store?: MemoryStore | Store;
  /** Milliseconds since the epoch (default Date.now). */
  clock?: () => number;
  /** Fresh unique ids of at most 63 UTF-8 bytes (default timeOrderedIds(): UUIDs that sort by creation time). */
  ids?: () => string;
  /** Runs a job's process code synchronously; throwing fails the job. Not with `handlers`. */
  jobHandler?: (job: HandlerJob) => unknown;
  /** Job handlers matched by delegateExpression, class, expression or activity id. */
  handlers?: Handlers;
  /** The node's lock owner: of the jobs executeDueJobs acquires and of jobs whose handler runs asynchronously (default rebatch-<pid>-<random>). */
  lockOwner?: string;
  /** Engine configuration, e.g. {batchPollTime: 5, invocationsPerBatchJob: 1}. */
  config?: Record<string, Json> | string;
}

/** An open engine. Every operation is synchronous and one transaction. */
export declare class Engine {
  private constructor();
  readonly store: MemoryStore | Store;
  readonly closed: boolean;
  /** The names of every operation the engine knows. */
  readonly operations: readonly string[];
  /** The job handlers given as `handlers`, or null. */
  readonly jobHandlers: JobHandlers | null;
  /** The node's lock owner: executeDueJobs acquires under it unless its body names one. */
  readonly lockOwner: string;
  /** Runs one operation; returns its response body, throws EngineError for a status >= 400. */
  call(operation: string, request?: EngineRequest, options?: { bodyText?: string }): any;
  /** As call(), returning the body as JSON text (undefined when there is none). */
  callText(operation: string, request?: EngineRequest, options?: { bodyText?: string }): string | undefined;
  injectStoreFault(nth: number): void;
  close(): void;

  createDeployment(body?: Json): any;
  getDeployments(query?: Query): any;
  deleteDeployment(id: string, query?: Query): any;
  getProcessDefinitions(query?: Query): any;
  getProcessDefinition(id: string): any;
  getProcessDefinitionByKey(key: string): any;
  startProcessInstance(id: string, body?: Json): any;
  startProcessInstanceByKey(key: string, body?: Json): any;
  getProcessInstances(query?: Query, body?: Json): any;
  getProcessInstancesCount(query?: Query, body?: Json): any;
  getProcessInstance(id: string): any;
  deleteProcessInstance(id: string, query?: Query): any;
  getHistoricProcessInstances(query?: Query, body?: Json): any;
  getHistoricProcessInstancesCount(query?: Query, body?: Json): any;
  getHistoricProcessInstance(id: string): any;
  getProcessInstanceVariables(id: string, query?: Query): any;
  modifyProcessInstanceVariables(id: string, body?: Json): any;
  getProcessInstanceVariable(id: string, key: string, query?: Query): any;
  setProcessInstanceVariable(id: string, key: string, body?: Json): any;
  deleteProcessInstanceVariable(id: string, key: string): any;
  getHistoricVariableInstances(query?: Query): any;
  getHistoricVariableInstancesCount(query?: Query): any;
  getHistoricVariableInstance(id: string, query?: Query): any;
  getHistoricDetails(query?: Query): any;
  getHistoricDetailsCount(query?: Query): any;
  getHistoricDetail(id: string, query?: Query): any;
  getHistoricActivityInstances(query?: Query, body?: Json): any;
  getActivityInstanceTree(id: string): any;
  getHistoricActivityInstancesCount(query?: Query, body?: Json): any;
  getHistoricActivityInstance(id: string): any;
  getHistoricIncidentsCount(query?: Query): any;
  getHistoricJobLogs(query?: Query, body?: Json): any;
  getHistoricJobLogsCount(query?: Query, body?: Json): any;
  getHistoricJobLog(id: string): any;
  getHistoricJobLogStacktrace(id: string): any;
  getJobStacktrace(id: string): any;
  getExternalTaskErrorDetails(id: string): any;
  getJobs(query?: Query, body?: Json): any;
  getJobsCount(query?: Query, body?: Json): any;
  getJob(id: string): any;
  executeJob(id: string): any;
  setJobRetries(id: string, body?: Json): any;
  executeDueJobs(body?: Json): any;
  completeLockedJob(id: string, body?: Json): any;
  failLockedJob(id: string, body?: Json): any;
  getJobDefinitions(query?: Query): any;
  getExternalTasks(query?: Query, body?: Json): any;
  getExternalTasksCount(query?: Query, body?: Json): any;
  getExternalTask(id: string): any;
  fetchAndLock(body?: Json): any;
  completeExternalTask(id: string, body?: Json): any;
  handleExternalTaskFailure(id: string, body?: Json): any;
  handleExternalTaskBpmnError(id: string, body?: Json): any;
  unlockExternalTask(id: string): any;
  lockExternalTask(id: string, body?: Json): any;
  extendExternalTaskLock(id: string, body?: Json): any;
  setExternalTaskRetries(id: string, body?: Json): any;
  getIncidents(query?: Query): any;
  getIncidentsCount(query?: Query): any;
  getEventSubscriptions(query?: Query): any;
  getEventSubscriptionsCount(query?: Query): any;
  getHistoricIncidents(query?: Query): any;
  setJobRetriesAsyncByProcess(body?: Json): any;
  setJobRetriesAsyncByHistoricQuery(body?: Json): any;
  setJobRetriesAsync(body?: Json): any;
  setExternalTaskRetriesAsync(body?: Json): any;
  setExternalTaskRetriesSync(body?: Json): any;
  restartProcessInstancesAsync(id: string, body?: Json): any;
  restartProcessInstances(id: string, body?: Json): any;
  getBatches(query?: Query): any;
  getBatchesCount(query?: Query): any;
  getBatch(id: string): any;
  deleteBatch(id: string, query?: Query): any;
  setBatchSuspended(id: string, body?: Json): any;
  getBatchStatistics(query?: Query): any;
  // batch family, modification, migration, messages, identity
  getDeployment(id: string): any;
  modifyProcessInstance(id: string, body?: Json): any;
  executeModification(body?: Json): any;
  executeModificationAsync(body?: Json): any;
  correlateMessage(body?: Json): any;
  correlateMessageAsync(body?: Json): any;
  generateMigrationPlan(body?: Json): any;
  validateMigrationPlan(body?: Json): any;
  executeMigrationPlan(body?: Json): any;
  executeMigrationPlanAsync(body?: Json): any;
  restartProcessInstancesByKeyAsync(key: string, body?: Json): any;
  restartProcessInstancesByKey(key: string, body?: Json): any;
  deleteProcessInstancesAsync(body?: Json): any;
  deleteProcessInstancesAsyncHistoricQueryBased(body?: Json): any;
  setProcessInstancesSuspendedAsync(body?: Json): any;
  setProcessInstancesSuspended(body?: Json): any;
  setProcessInstanceSuspended(id: string, body?: Json): any;
  setProcessDefinitionSuspended(id: string, body?: Json): any;
  setProcessDefinitionsSuspended(body?: Json): any;
  setVariablesAsync(body?: Json): any;
  deleteHistoricProcessInstancesAsync(body?: Json): any;
  deleteHistoricProcessInstance(id: string, query?: Query): any;
  deleteJob(id: string): any;
  setRemovalTimeAsync(body?: Json): any;
  setBatchRemovalTimeAsync(body?: Json): any;
  updateHistoryTimeToLive(id: string, body?: Json): any;
  updateHistoryTimeToLiveByKey(key: string, body?: Json): any;
  setProcessDefinitionSuspendedByKey(key: string, body?: Json): any;
  cleanupHistory(query?: Query): any;
  getHistoryCleanupJob(): any;
  getHistoryCleanupJobs(): any;
  getHistoryCleanupConfiguration(): any;
  setJobDefinitionRetries(id: string, body?: Json): any;
  setJobsSuspended(body?: Json): any;
  setJobSuspended(id: string, body?: Json): any;
  setJobDefinitionsSuspended(body?: Json): any;
  setJobDefinitionSuspended(id: string, body?: Json): any;
  createUser(body?: Json): any;
  getUsers(query?: Query): any;
  getUsersCount(query?: Query): any;
  getUserProfile(id: string): any;
  deleteUser(id: string): any;
  updateUserCredentials(id: string, body?: Json): any;
  getUserCredentials(id: string): any;
  getBatchStatisticsCount(query?: Query): any;
  getHistoricBatches(query?: Query): any;
  getHistoricBatchesCount(query?: Query): any;
  getHistoricBatch(id: string): any;
  deleteHistoricBatch(id: string): any;
}

/** Loads the WASM module ahead of time (createEngine does it on demand). */
export declare function init(options?: { wasmBinary?: ArrayBuffer | Uint8Array; wasmUrl?: string | URL }): Promise<void>;
/** Opens an engine. */
export declare function createEngine(options?: EngineOptions): Promise<Engine>;
