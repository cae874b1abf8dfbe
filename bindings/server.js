// server.js - `rebatch/server`: Camunda 7's REST API over an engine, as a
// server of its own or as a request handler mounted in an existing app.
// Node only.
//
//   import { createEngine } from 'rebatch';
//   import { createServer, createRequestHandler } from 'rebatch/server';
//   const engine = await createEngine({ handlers: await import('./handlers.mjs') });
//
//   const server = createServer({ engine });           // REST under /engine-rest, the page at /
//   await server.listen(8080, '127.0.0.1');
//   ... await server.close(); engine.close();
//
//   const rest = createRequestHandler({ engine, basePath: '/camunda/engine-rest' });
//   http.createServer((req, res) => req.url.startsWith('/camunda/') ? rest(req, res) : mine(req, res));
//   expressApp.use('/camunda', rest);     // basePath is of the full path (req.originalUrl)
//   fastify.register(async (api) => {     // bodies left unread inside this plugin only
//     api.removeAllContentTypeParsers();
//     api.addContentTypeParser('*', (request, payload, done) => done(null));
//     api.all('/*', (request, reply) => { reply.hijack(); rest(request.raw, reply.raw); });
//   }, { prefix: '/camunda/engine-rest' });
//   fastify.addHook('preClose', async () => rest.close());  // long polls end before the server closes
//
// Either way a job executor runs the engine's due jobs until close().

import { fileURLToPath } from 'node:url';

import { JobExecutor } from './executor.js';
import { BASE_PATH, CAMUNDA_VERSION, ROUTES, createRestHandler, createRestServer } from './rest.js';
import { linkBase } from './http-policy.js';
import { staticFiles } from './static.js';

export { BASE_PATH, CAMUNDA_VERSION, ROUTES, JobExecutor };

/** The simulation page's build inside this package. */
export const WEB_DIR = fileURLToPath(new URL('../dist/web', import.meta.url));

/** Wakes the executor whenever a deferred job's handler ended: its continuation may have made jobs. */
function wakeOnSettled(engine, executor) {
  return engine.jobHandlers && executor ? engine.jobHandlers.onSettled(() => executor.wake()) : () => {};
}

function executorOf(engine, jobExecutor, log) {
  if (jobExecutor === false) return null;
  return new JobExecutor(engine, { log, ...(typeof jobExecutor === 'object' ? jobExecutor : {}) });
}

/** Whether a request's full path (Express's req.originalUrl when mounted there) is basePath or below. */
function underBasePath(basePath) {
  const below = `${basePath}/`;
  return (req) => {
    const url = req.originalUrl ?? req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    return path === basePath || path.startsWith(below);
  };
}

/**
 * A request handler answering Camunda's REST paths under `basePath` of the
 * request's full path (default /engine-rest), with a job executor started
 * at once. Called as Express middleware (with next), it passes requests
 * outside basePath on. It reads the request body itself; a body that
 * express.json(), express.raw() or express.text() read first is taken from
 * req.body. Any other body parser must come after it.
 * @param {{engine: import('./index.js').Engine, basePath?: string, bodyLimit?: number,
 *   jobExecutor?: boolean | object, log?: (msg: string) => void, publicUrl?: string}} options
 */
export function createRequestHandler(options) {
  const { engine, log } = options ?? {};
  if (!engine || typeof engine.callText !== 'function') throw new TypeError('createRequestHandler: options.engine must be an engine');
  const basePath = (options.basePath ?? BASE_PATH).replace(/\/+$/, '');
  if (!basePath.startsWith('/')) throw new TypeError(`createRequestHandler: basePath must start with '/', got '${options.basePath}'`);
  const executor = executorOf(engine, options.jobExecutor ?? true, log);
  const handle = createRestHandler(engine, {
    basePath,
    bodyLimit: options.bodyLimit,
    log,
    ...(options.publicUrl ? { linkBase: () => linkBase(options.publicUrl) } : {}),
    onWrite: () => executor?.wake(),
  });
  const unwake = wakeOnSettled(engine, executor);
  executor?.start();
  const under = underBasePath(basePath);
  /** @type {((req: any, res: any, next?: Function) => void) & {executor: JobExecutor | null, close(): void}} */
  const handler = (req, res, next) => (typeof next === 'function' && !under(req) ? next() : handle(req, res));
  handler.executor = executor;
  handler.close = () => {
    executor?.stop();
    unwake();
    handle.close();
  };
  return handler;
}

/**
 * An HTTP server: the REST API under /engine-rest, the simulation page at /
 * (web: true for this package's dist/web, a folder, or false), a job executor.
 * @param {{engine: import('./index.js').Engine, bodyLimit?: number, jobExecutor?: boolean | object,
 *   log?: (msg: string) => void, web?: boolean | string}} options
 */
export function createServer(options) {
  const { engine, web = true } = options ?? {};
  if (!engine || typeof engine.callText !== 'function') throw new TypeError('createServer: options.engine must be an engine');
  const files = web === false ? undefined : staticFiles(typeof web === 'string' ? web : WEB_DIR);
  const rest = createRestServer({ ...options, web: files });
  const unwake = wakeOnSettled(engine, rest.executor);
  const close = rest.close;
  rest.close = () => {
    unwake();
    return close();
  };
  return rest;
}
