// server.d.ts - types of `rebatch/server` (bindings/server.js).

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Engine } from './index.js';

/** The job executor's settings (Camunda-like idle back-off). */
export interface JobExecutorOptions {
  maxJobsPerStep?: number;
  waitMs?: number;
  maxWaitMs?: number;
  waitIncreaseFactor?: number;
  /** Jobs of a step that share one store transaction (stores with savepoints). */
  jobsPerTransaction?: number;
  /** How long an acquired job stays locked (default: the engine's lockTimeInMillis, 300000). */
  lockTimeInMillis?: number;
  /** The lock owner the executor acquires under (default: engine.lockOwner). */
  lockOwner?: string;
  log?: (msg: string) => void;
}

/** Runs the engine's due jobs in small steps; woken by writes. */
export declare class JobExecutor {
  constructor(engine: Engine, options?: JobExecutorOptions);
  readonly running: boolean;
  /** The lock owner of the jobs this executor acquires. */
  readonly lockOwner: string;
  readonly stats: { steps: number; executed: number; failed: number; conflicted: number; errors: number };
  start(): void;
  stop(): void;
  wake(): void;
}

export interface RequestHandlerOptions {
  engine: Engine;
  /** The path the API answers under, in the request's full path (default /engine-rest). */
  basePath?: string;
  /** Largest request body in bytes (default 10 MB). */
  bodyLimit?: number;
  /** false: no job executor; an object: its settings. */
  jobExecutor?: boolean | JobExecutorOptions;
  log?: (msg: string) => void;
  /** scheme://host[:port] that `links` hrefs name (default: the address a request came in on). */
  publicUrl?: string;
}

/**
 * A node:http style handler. It answers requests whose full path (Express's
 * `req.originalUrl`, else `req.url`) is under `basePath`, and reads the body itself.
 *
 * Express (tested with 5): `app.use('/camunda', rest)`. Called with `next`, it passes
 * requests outside `basePath` on. A body that `express.json()`, `express.raw()`
 * or `express.text()` read first is taken from `req.body`; any other parser in
 * front that reads the body leaves it nothing (500 RestException).
 *
 * Fastify (tested with 5): a plugin that leaves bodies unread and hijacks the reply:
 * ```js
 * await fastify.register(async (api) => {
 *   api.removeAllContentTypeParsers();
 *   api.addContentTypeParser('*', (request, payload, done) => done(null));
 *   api.all('/*', (request, reply) => {
 *     reply.hijack();
 *     rest(request.raw, reply.raw);
 *   });
 * }, { prefix: '/camunda/engine-rest' });
 * fastify.addHook('preClose', async () => rest.close());
 * ```
 */
export interface RequestHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  readonly executor: JobExecutor | null;
  /** Stops the job executor and answers waiting long polls (call it before closing the server,
   * which waits for them). The engine stays open. */
  close(): void;
}

export interface ServerOptions {
  engine: Engine;
  bodyLimit?: number;
  jobExecutor?: boolean | JobExecutorOptions;
  log?: (msg: string) => void;
  /** The simulation page at /: true (this package's dist/web, the default), a folder, or false. */
  web?: boolean | string;
}

export interface RebatchServer {
  readonly server: Server;
  readonly executor: JobExecutor | null;
  listen(port?: number, host?: string): Promise<{ port: number; host: string }>;
  /** Stops accepting, finishes requests in flight, stops the executor. The engine stays open. */
  close(): Promise<void>;
}

export declare const BASE_PATH: '/engine-rest';
/** The Camunda version the API answers as (GET /version). */
export declare const CAMUNDA_VERSION: string;
/** Every route: [method, path under the base path, operation]. */
export declare const ROUTES: readonly (readonly [string, string, string])[];
/** This package's build of the simulation page. */
export declare const WEB_DIR: string;

export declare function createRequestHandler(options: RequestHandlerOptions): RequestHandler;
export declare function createServer(options: ServerOptions): RebatchServer;
