// rest.js - the REST shim: Camunda 7's REST paths under /engine-rest over an
// engine (Node only: node:http, find-my-way for routing, busboy for
// multipart). Each route maps to ONE engine operation: path parameters
// become `id`/`key`, the query string becomes `query` (strings, first value
// of a repeated parameter), a JSON body becomes `body` (an empty body is "no
// body"). The engine does the rest, including Camunda's error bodies.
//
//   const rest = createRestServer({ engine });
//   await rest.listen(8080, '127.0.0.1');
//   ... await rest.close();   // stops the job executor; the engine stays open
//
// What this layer adds itself, as Camunda's JAX-RS layer does:
//   unknown route 404 {"type":"NotFoundException","message":"HTTP 404 Not Found","code":null}
//   wrong method  405 {"type":"NotAllowedException","message":"HTTP 405 Method Not Allowed","code":null}
//   malformed JSON or a body that is not an object: 400 {"type":"InvalidRequestException","message":"","code":null}
//   a body over the limit (default 10 MB): 413 InvalidRequestException
//   a non-JSON content type: 415 NotSupportedException
//   POST /deployment/create: multipart, BPMN parsed by ./bpmn.js
//   POST /external-task/fetchAndLock with asyncResponseTimeout: long polling

import { createHash } from 'node:crypto';
import http from 'node:http';
import FindMyWay from 'find-my-way';
import busboy from 'busboy';

import { EngineError } from './errors.js';
import { OPERATIONS } from './operations.js';
import { BpmnParseError, parseBpmn } from './bpmn.js';
import { JobExecutor } from './executor.js';
import { basicAuthenticator, identityRoutes, sendChallenge } from './auth.js';
import { httpPolicy, isLoopback, linkBase } from './http-policy.js';

export { JobExecutor };

export const BASE_PATH = '/engine-rest';
export const ENGINE_NAME = 'default';
/** The Camunda version this shim answers as (GET /version). */
export const CAMUNDA_VERSION = '7.24.0';
export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;
const MAX_ASYNC_RESPONSE_TIMEOUT = 1800000;

/**
 * Every route: [method, path (under /engine-rest), operation]. An operation
 * starting with '#' is handled here rather than by the engine.
 * @type {readonly [string, string, string][]}
 */
export const ROUTES = Object.freeze([
  ['GET', '/engine', '#engines'],
  ['GET', '/version', '#version'],
  // deployments and definitions
  ['POST', '/deployment/create', '#createDeployment'],
  ['GET', '/deployment', 'getDeployments'],
  ['GET', '/deployment/:id', 'getDeployment'],
  ['DELETE', '/deployment/:id', 'deleteDeployment'],
  ['GET', '/process-definition', 'getProcessDefinitions'],
  ['GET', '/process-definition/key/:key', 'getProcessDefinitionByKey'],
  ['POST', '/process-definition/key/:key/start', 'startProcessInstanceByKey'],
  ['POST', '/process-definition/key/:key/restart-async', 'restartProcessInstancesByKeyAsync'],
  ['POST', '/process-definition/key/:key/restart', 'restartProcessInstancesByKey'],
  ['PUT', '/process-definition/key/:key/suspended', 'setProcessDefinitionSuspendedByKey'],
  ['PUT', '/process-definition/key/:key/history-time-to-live', 'updateHistoryTimeToLiveByKey'],
  ['GET', '/process-definition/:id', 'getProcessDefinition'],
  ['POST', '/process-definition/:id/start', 'startProcessInstance'],
  ['POST', '/process-definition/:id/restart-async', 'restartProcessInstancesAsync'],
  ['POST', '/process-definition/:id/restart', 'restartProcessInstances'],
  ['POST', '/process-instance/:id/modification', 'modifyProcessInstance'],
  ['POST', '/modification/execute', 'executeModification'],
  ['POST', '/modification/executeAsync', 'executeModificationAsync'],
  ['POST', '/message', 'correlateMessage'],
  ['POST', '/process-instance/message-async', 'correlateMessageAsync'],
  ['POST', '/migration/generate', 'generateMigrationPlan'],
  ['POST', '/migration/validate', 'validateMigrationPlan'],
  ['POST', '/migration/execute', 'executeMigrationPlan'],
  ['POST', '/migration/executeAsync', 'executeMigrationPlanAsync'],
  ['PUT', '/process-definition/suspended', 'setProcessDefinitionsSuspended'],
  ['PUT', '/process-definition/:id/suspended', 'setProcessDefinitionSuspended'],
  ['PUT', '/process-definition/:id/history-time-to-live', 'updateHistoryTimeToLive'],
  // process instances
  ['GET', '/process-instance', 'getProcessInstances'],
  ['POST', '/process-instance', 'getProcessInstances'],
  ['GET', '/process-instance/count', 'getProcessInstancesCount'],
  ['POST', '/process-instance/count', 'getProcessInstancesCount'],
  ['POST', '/process-instance/job-retries', 'setJobRetriesAsyncByProcess'],
  ['POST', '/process-instance/job-retries-historic-query-based', 'setJobRetriesAsyncByHistoricQuery'],
  ['POST', '/process-instance/delete', 'deleteProcessInstancesAsync'],
  ['POST', '/process-instance/delete-historic-query-based', 'deleteProcessInstancesAsyncHistoricQueryBased'],
  ['POST', '/process-instance/suspended-async', 'setProcessInstancesSuspendedAsync'],
  ['PUT', '/process-instance/suspended', 'setProcessInstancesSuspended'],
  ['PUT', '/process-instance/:id/suspended', 'setProcessInstanceSuspended'],
  ['POST', '/process-instance/variables-async', 'setVariablesAsync'],
  ['GET', '/process-instance/:id', 'getProcessInstance'],
  ['DELETE', '/process-instance/:id', 'deleteProcessInstance'],
  // history
  ['GET', '/history/process-instance', 'getHistoricProcessInstances'],
  ['POST', '/history/process-instance', 'getHistoricProcessInstances'],
  ['GET', '/history/process-instance/count', 'getHistoricProcessInstancesCount'],
  ['POST', '/history/process-instance/count', 'getHistoricProcessInstancesCount'],
  ['GET', '/history/process-instance/:id', 'getHistoricProcessInstance'],
  ['POST', '/history/process-instance/delete', 'deleteHistoricProcessInstancesAsync'],
  ['POST', '/history/process-instance/set-removal-time', 'setRemovalTimeAsync'],
  ['POST', '/history/cleanup', 'cleanupHistory'],
  ['GET', '/history/cleanup/job', 'getHistoryCleanupJob'],
  ['GET', '/history/cleanup/jobs', 'getHistoryCleanupJobs'],
  ['GET', '/history/cleanup/configuration', 'getHistoryCleanupConfiguration'],
  ['DELETE', '/history/process-instance/:id', 'deleteHistoricProcessInstance'],
  // process variables (issue 6)
  ['GET', '/process-instance/:id/variables', 'getProcessInstanceVariables'],
  ['POST', '/process-instance/:id/variables', 'modifyProcessInstanceVariables'],
  ['GET', '/process-instance/:id/variables/:key', 'getProcessInstanceVariable'],
  ['PUT', '/process-instance/:id/variables/:key', 'setProcessInstanceVariable'],
  ['DELETE', '/process-instance/:id/variables/:key', 'deleteProcessInstanceVariable'],
  ['GET', '/history/variable-instance', 'getHistoricVariableInstances'],
  ['GET', '/history/variable-instance/count', 'getHistoricVariableInstancesCount'],
  ['GET', '/history/variable-instance/:id', 'getHistoricVariableInstance'],
  ['GET', '/history/detail', 'getHistoricDetails'],
  ['GET', '/history/detail/count', 'getHistoricDetailsCount'],
  ['GET', '/history/detail/:id', 'getHistoricDetail'],
  ['GET', '/history/batch', 'getHistoricBatches'],
  ['GET', '/history/batch/count', 'getHistoricBatchesCount'],
  ['GET', '/history/batch/:id', 'getHistoricBatch'],
  ['DELETE', '/history/batch/:id', 'deleteHistoricBatch'],
  ['POST', '/history/batch/set-removal-time', 'setBatchRemovalTimeAsync'],
  // jobs
  ['GET', '/job', 'getJobs'],
  ['POST', '/job', 'getJobs'],
  ['GET', '/job/count', 'getJobsCount'],
  ['POST', '/job/count', 'getJobsCount'],
  ['POST', '/job/retries', 'setJobRetriesAsync'],
  ['GET', '/job/:id', 'getJob'],
  ['PUT', '/job/:id/retries', 'setJobRetries'],
  ['DELETE', '/job/:id', 'deleteJob'],
  ['PUT', '/job/suspended', 'setJobsSuspended'],
  ['PUT', '/job/:id/suspended', 'setJobSuspended'],
  ['POST', '/job/:id/execute', 'executeJob'],
  ['GET', '/job-definition', 'getJobDefinitions'],
  ['PUT', '/job-definition/suspended', 'setJobDefinitionsSuspended'],
  ['PUT', '/job-definition/:id/suspended', 'setJobDefinitionSuspended'],
  ['PUT', '/job-definition/:id/retries', 'setJobDefinitionRetries'],
  // external tasks
  ['GET', '/external-task', 'getExternalTasks'],
  ['POST', '/external-task', 'getExternalTasks'],
  ['GET', '/external-task/count', 'getExternalTasksCount'],
  ['POST', '/external-task/count', 'getExternalTasksCount'],
  ['POST', '/external-task/fetchAndLock', '#fetchAndLock'],
  ['POST', '/external-task/retries-async', 'setExternalTaskRetriesAsync'],
  ['PUT', '/external-task/retries', 'setExternalTaskRetriesSync'],
  ['GET', '/external-task/:id', 'getExternalTask'],
  ['POST', '/external-task/:id/complete', 'completeExternalTask'],
  ['POST', '/external-task/:id/failure', 'handleExternalTaskFailure'],
  ['POST', '/external-task/:id/bpmnError', 'handleExternalTaskBpmnError'],
  ['POST', '/external-task/:id/unlock', 'unlockExternalTask'],
  ['POST', '/external-task/:id/lock', 'lockExternalTask'],
  ['POST', '/external-task/:id/extendLock', 'extendExternalTaskLock'],
  ['PUT', '/external-task/:id/retries', 'setExternalTaskRetries'],
  // incidents
  ['GET', '/incident', 'getIncidents'],
  ['GET', '/incident/count', 'getIncidentsCount'],
  ['GET', '/event-subscription', 'getEventSubscriptions'],
  ['GET', '/event-subscription/count', 'getEventSubscriptionsCount'],
  // batches
  ['GET', '/batch', 'getBatches'],
  ['GET', '/batch/count', 'getBatchesCount'],
  ['GET', '/batch/statistics', 'getBatchStatistics'],
  ['GET', '/batch/statistics/count', 'getBatchStatisticsCount'],
  ['GET', '/batch/:id', 'getBatch'],
  ['DELETE', '/batch/:id', 'deleteBatch'],
  ['PUT', '/batch/:id/suspended', 'setBatchSuspended'],
  // observing instances: activity instances, incidents and the job log
  ['GET', '/process-instance/:id/activity-instances', 'getActivityInstanceTree'],
  ['GET', '/history/activity-instance', 'getHistoricActivityInstances'],
  ['POST', '/history/activity-instance', 'getHistoricActivityInstances'],
  ['GET', '/history/activity-instance/count', 'getHistoricActivityInstancesCount'],
  ['POST', '/history/activity-instance/count', 'getHistoricActivityInstancesCount'],
  ['GET', '/history/activity-instance/:id', 'getHistoricActivityInstance'],
  ['GET', '/history/incident', 'getHistoricIncidents'],
  ['GET', '/history/incident/count', 'getHistoricIncidentsCount'],
  ['GET', '/history/job-log', 'getHistoricJobLogs'],
  ['POST', '/history/job-log', 'getHistoricJobLogs'],
  ['GET', '/history/job-log/count', 'getHistoricJobLogsCount'],
  ['POST', '/history/job-log/count', 'getHistoricJobLogsCount'],
  ['GET', '/history/job-log/:id', 'getHistoricJobLog'],
  ['GET', '/history/job-log/:id/stacktrace', 'getHistoricJobLogStacktrace'],
  ['GET', '/job/:id/stacktrace', 'getJobStacktrace'],
  ['GET', '/external-task/:id/errorDetails', 'getExternalTaskErrorDetails'],
  // identity (auth.js hashes and checks passwords)
  ['POST', '/user/create', '#createUser'],
  ['GET', '/user', 'getUsers'],
  ['GET', '/user/count', 'getUsersCount'],
  ['GET', '/user/:id/profile', 'getUserProfile'],
  ['DELETE', '/user/:id', 'deleteUser'],
  ['PUT', '/user/:id/credentials', '#updateUserCredentials'],
  ['POST', '/identity/verify', '#verifyUser'],
]);

/** Operations whose answer is text/plain (Camunda's stacktraces and error details). */
const TEXT_PLAIN = new Set(['getHistoricJobLogStacktrace', 'getJobStacktrace', 'getExternalTaskErrorDetails']);
/** Operations whose answer the shim reads rather than passes on as printed:
 * starts (their links name this server) and the text/plain answers. */
const PARSED_ANSWER = new Set(['startProcessInstance', 'startProcessInstanceByKey', ...TEXT_PLAIN]);

/** An error this layer answers itself, in Camunda's error format. */
class HttpError extends Error {
  constructor(status, type, message, extra) {
    super(message);
    this.status = status;
    this.type = type;
    this.extra = extra;
  }
}

const notFound = () => new HttpError(404, 'NotFoundException', 'HTTP 404 Not Found');
const notAllowed = () => new HttpError(405, 'NotAllowedException', 'HTTP 405 Method Not Allowed');
const unsupportedMedia = () => new HttpError(415, 'NotSupportedException', 'HTTP 415 Unsupported Media Type');
const badJson = () => new HttpError(400, 'InvalidRequestException', '');
const tooLarge = (limit) =>
  new HttpError(413, 'InvalidRequestException', `Request body exceeds the limit of ${limit} bytes`);

/** Operations that write: a hint for the job executor to look for new jobs. */
const READ_ONLY = /^(get|#engines|#version)/;

/**
 * What the shim needs to know of a route's operation, worked out once when
 * the route is registered rather than on every request.
 * @typedef {{operation: string, fields: readonly string[], takesBody: boolean,
 *   parsedAnswer: boolean, textPlain: boolean}} RouteFacts
 * @returns {RouteFacts}
 */
function routeFacts(operation) {
  const fields = operation.startsWith('#') ? [] : OPERATIONS[operation];
  return {
    operation,
    fields,
    takesBody: fields.includes('body'),
    parsedAnswer: PARSED_ANSWER.has(operation),
    textPlain: TEXT_PLAIN.has(operation),
  };
}

/** Sends JSON text as it is (an engine answer, already printed by the engine). */
function sendText(res, status, text) {
  if (text === undefined) {
    res.writeHead(204);
    res.end();
    return;
  }
  res.writeHead(status, ['Content-Type', 'application/json', 'Content-Length', Buffer.byteLength(text)]);
  res.end(text);
}

function sendJson(res, status, body, headers = {}, contentType = 'application/json') {
  if (status === 204 || body === undefined || body === null) {
    res.writeHead(204, headers);
    res.end();
    return;
  }
  const text = contentType === 'application/json' ? JSON.stringify(body) : String(body);
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Camunda's error body for any thrown value. */
function errorResponse(err) {
  if (err instanceof HttpError) {
    return { status: err.status, body: { type: err.type, message: err.message, code: null, ...err.extra } };
  }
  if (err instanceof BpmnParseError) {
    return {
      status: 400,
      body: {
        type: 'ParseException',
        message: err.message,
        code: 0,
        details: err.resource
          ? {
              [err.resource]: {
                errors: [{ message: err.message, line: 0, column: 0, mainElementId: null, elementIds: [] }],
                warnings: [],
              },
            }
          : {},
      },
    };
  }
  if (err instanceof EngineError && err.status >= 400) {
    return { status: err.status, body: { type: err.type, message: err.message, code: err.code ?? null, ...err.extra } };
  }
  return {
    status: 500,
    body: { type: err?.type ?? err?.name ?? 'Exception', message: String(err?.message ?? err), code: null },
  };
}

const EMPTY = Buffer.alloc(0);

/** A mounted handler's request whose body a middleware in front read but kept nothing of. */
const bodyTakenError = () =>
  new HttpError(
    500,
    'RestException',
    "The request body was read before the REST handler: mount it before body parsers other than express.json(), express.raw() and express.text()",
  );

/**
 * The body of a request that a parser in front of a mounted handler already
 * read (Express's express.json(), express.raw(), express.text() leave it in
 * req.body and the stream ended): its bytes again. A parsed JSON body is
 * printed back, so its numbers are as that parser read them.
 */
function bodyReadBefore(req) {
  const { body } = req;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body !== undefined && body !== null) return Buffer.from(JSON.stringify(body), 'utf8');
  throw bodyTakenError();
}

/** A request without a body (a GET, mostly): nothing to read or drain. */
const bodiless = (req) =>
  req.headers['transfer-encoding'] === undefined && !(Number(req.headers['content-length']) > 0);

/**
 * Reads the whole body into a Buffer and calls done(null, buffer) once; over
 * `limit` bytes it drains the rest and calls done(413). A callback rather than
 * a Promise: a write request answers from the body's 'end' event directly.
 */
function readBody(req, limit, done) {
  const declared = Number(req.headers['content-length']);
  let first = null;
  let chunks = null;
  let size = 0;
  let over = Number.isFinite(declared) && declared > limit;
  let called = false;
  const finish = (err, buffer) => {
    if (called) return;
    called = true;
    done(err, buffer);
  };
  if (over) {
    finish(tooLarge(limit));
    return;
  }
  req.on('data', (chunk) => {
    size += chunk.length;
    if (called) return;
    if (size > limit) {
      // Answered at once (the rest is drained by the error reply), not kept.
      first = chunks = null;
      finish(tooLarge(limit));
      return;
    }
    if (first === null) first = chunk;
    else (chunks ??= [first]).push(chunk);
  });
  req.on('end', () => finish(null, chunks ? Buffer.concat(chunks, size) : (first ?? EMPTY)));
  req.on('error', (err) => finish(err));
  req.on('close', () => finish(new HttpError(400, 'InvalidRequestException', 'The request body was cut off')));
}

/**
 * After an error answered before the body was read whole: the rest of the
 * body is read and dropped (so the client, still sending, reads the answer
 * rather than a reset), up to `limit` more bytes or a few seconds, then the
 * connection is closed.
 */
function discardRest(req, res, limit) {
  let dropped = 0;
  const cut = () => req.socket?.destroy();
  res.on('finish', () => {
    if (req.complete) return;
    const timer = setTimeout(cut, 2000);
    timer.unref?.();
    req.on('data', (chunk) => {
      dropped += chunk.length;
      if (dropped > limit) cut();
    });
    req.on('end', () => clearTimeout(timer));
    req.on('close', () => clearTimeout(timer));
    req.resume();
  });
}

/** A body must say it is JSON: a browser's no-cors post (a Blob with no
 * type, text/plain, a form) must not be read as a request. */
function isJsonType(contentType) {
  if (contentType === 'application/json') return true;
  const mime = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return mime === 'application/json' || mime.endsWith('+json');
}

/**
 * The JSON body and its text: undefined when empty; 400 when malformed or
 * not an object. The engine gets the text (its numbers exactly as sent).
 * @returns {{value: object, text: string} | undefined}
 */
function parseJsonBody(buffer, contentType) {
  if (buffer.length === 0) return undefined;
  const text = buffer.toString('utf8');
  if (text.trim() === '') return undefined;
  if (!isJsonType(contentType)) throw unsupportedMedia();
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw badJson();
  }
  if (value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badJson();
  return { value, text };
}

/** The engine call options that hand it request.body as the text it came in. */
function bodyOptions(request, bodyText) {
  return request.body === undefined || bodyText === undefined ? undefined : { bodyText };
}

function parseQuery(search) {
  const query = {};
  if (!search) return query;
  for (const [name, value] of new URLSearchParams(search)) {
    if (!(name in query)) query[name] = value; // JAX-RS @QueryParam: the first value
  }
  return query;
}

/** A path segment percent-decoded, or null when its escapes are malformed. */
function decodeOrNull(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/**
 * The request handler for an engine: (req, res) of node:http. It answers
 * under `basePath` (default /engine-rest) of the request's full path
 * (Express's req.originalUrl when mounted there), and reads the body itself.
 * @param {import('./index.js').Engine} engine
 * @param {{bodyLimit?: number, onWrite?: () => void, pollIntervalMs?: number, basePath?: string,
 *   linkBase?: (req: any) => string}} [options]  linkBase: scheme://host:port of `links` hrefs
 *   (default: the address the request came in on, never its Host header)
 */
export function createRestHandler(engine, options = {}) {
  const basePath = options.basePath ?? BASE_PATH;
  const basePathSlash = `${basePath}/`;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  // links name the server as configured, never as a request's Host header says
  const linkRoot = options.linkBase ?? ((req) => linkBase(undefined, { host: req.socket.localAddress, port: req.socket.localPort }));
  const selfLink = (req, resource, id) => [{ method: 'GET', href: `${linkRoot(req)}${basePath}/${resource}/${id}`, rel: 'self' }];
  const identity = identityRoutes(engine);
  const onWrite = options.onWrite ?? (() => {});
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  /** Long-polling fetchAndLock requests waiting: resolved with [] on close. */
  const waiting = new Set();
  let closing = false;

  const router = FindMyWay({ ignoreTrailingSlash: true, caseSensitive: true });
  for (const [method, path, operation] of ROUTES) {
    if (!operation.startsWith('#') && !OPERATIONS[operation]) {
      throw new Error(`rest.js: route ${method} ${path} names unknown operation ${operation}`);
    }
    router.on(method, path, () => {}, routeFacts(operation));
  }
  const allMethods = [...new Set(ROUTES.map((r) => r[0]))];

  /** Runs one operation on the engine: {status, text}, the body as the engine printed it. bodyText: the raw JSON of request.body. */
  function callEngineText(operation, request, bodyText) {
    const text = engine.callText(operation, request, bodyOptions(request, bodyText));
    if (!READ_ONLY.test(operation)) onWrite();
    return { status: text === undefined ? 204 : 200, text };
  }

  /** Runs one operation on the engine: {status, body}. bodyText: the raw JSON of request.body. */
  function callEngine(operation, request, bodyText) {
    const body = engine.call(operation, request, bodyOptions(request, bodyText));
    if (!READ_ONLY.test(operation)) onWrite();
    return { status: body === undefined || body === null ? 204 : 200, body };
  }

  /** @param {RouteFacts} facts */
  function buildRequest(facts, params, query, body) {
    const request = {};
    for (const field of facts.fields) {
      if (field === 'id' && params.id !== undefined) request.id = params.id;
      else if (field === 'key' && params.key !== undefined) request.key = params.key;
      else if (field === 'query') request.query = query;
      else if (field === 'body' && body !== undefined) request.body = body;
    }
    return request;
  }

  async function createDeployment(req) {
    const contentType = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data/i.test(contentType)) throw unsupportedMedia();
    if (req.readableEnded) throw bodyTakenError(); // a multipart parser (multer) in front
    const form = await readMultipart(req, bodyLimit);
    const reserved = new Set([
      'deployment-name',
      'deployment-source',
      'tenant-id',
      'enable-duplicate-filtering',
      'deploy-changed-only',
      'deployment-activation-time',
    ]);
    const resources = form.parts.filter((p) => !reserved.has(p.field));
    if (resources.length === 0) {
      throw new HttpError(400, 'InvalidRequestException', 'No deployment resources contained in the form upload.');
    }
    const processes = [];
    for (const part of resources) {
      if (!/\.bpmn(20\.xml)?$/i.test(part.name)) continue; // other resources: kept by name and hash only
      try {
        const { processes: found } = await parseBpmn(part.data.toString('utf8'), { resource: part.name });
        processes.push(...found);
      } catch (err) {
        if (err instanceof BpmnParseError) err.resource = part.name;
        throw err;
      }
    }
    // Every resource is recorded by name and content hash: the duplicate filter compares them.
    const body = {
      processes,
      resources: resources.map((p) => ({ name: p.name, hash: createHash('sha256').update(p.data).digest('hex') })),
    };
    const field = (name) => form.parts.find((p) => p.field === name && p.isField)?.data.toString('utf8');
    // DeploymentRestServiceImpl: Boolean.parseBoolean of each; deploy-changed-only implies filtering.
    if (field('enable-duplicate-filtering')?.toLowerCase() === 'true') body.duplicateFiltering = true;
    if (field('deploy-changed-only')?.toLowerCase() === 'true') body.deployChangedOnly = true;
    if (field('deployment-name') !== undefined) body.name = field('deployment-name');
    if (field('deployment-source') !== undefined) body.source = field('deployment-source');
    if (field('tenant-id') !== undefined && field('tenant-id') !== '') body.tenantId = field('tenant-id');
    const result = callEngine('createDeployment', { body });
    if (result.body && Array.isArray(result.body.links)) {
      result.body.links = selfLink(req, 'deployment', result.body.id);
    }
    return result;
  }

  async function fetchAndLock(parsed) {
    const body = parsed?.value;
    const timeout = body?.asyncResponseTimeout;
    if (timeout !== undefined && timeout !== null) {
      const n = Number(timeout);
      if (!Number.isFinite(n) || n < 0) throw badJson();
      if (n > MAX_ASYNC_RESPONSE_TIMEOUT) {
        throw new HttpError(
          400,
          'InvalidRequestException',
          `The asynchronous response timeout cannot be set to a value greater than ${MAX_ASYNC_RESPONSE_TIMEOUT} milliseconds`,
        );
      }
    }
    const request = body === undefined ? {} : { body };
    let result = callEngine('fetchAndLock', request, parsed?.text);
    const deadline = Date.now() + Number(timeout ?? 0);
    while (Array.isArray(result.body) && result.body.length === 0 && Date.now() < deadline && !closing) {
      await new Promise((resolve) => {
        const entry = { resolve };
        waiting.add(entry);
        const t = setTimeout(() => {
          waiting.delete(entry);
          resolve();
        }, Math.min(pollIntervalMs, Math.max(0, deadline - Date.now())));
        entry.timer = t;
      });
      if (closing || engine.closed) break;
      result = callEngine('fetchAndLock', request, parsed?.text);
    }
    return result;
  }

  /**
   * The answer to one routed request once its body is read: {status, body}
   * or {status, text}; a Promise for the routes that wait (long polling).
   * @param {RouteFacts} facts
   */
  function answer(req, facts, params, query, buffer) {
    const { operation } = facts;
    if (operation === '#fetchAndLock') return fetchAndLock(parseJsonBody(buffer, req.headers['content-type']));
    if (identity[operation]) {
      const body = parseJsonBody(buffer, req.headers['content-type'])?.value;
      return identity[operation]({ params, body, user: req.authenticatedUser });
    }
    const parsed = facts.takesBody ? parseJsonBody(buffer, req.headers['content-type']) : undefined;
    const request = buildRequest(facts, params, query, parsed?.value);
    if (!facts.parsedAnswer) return callEngineText(operation, request, parsed?.text);
    const result = callEngine(operation, request, parsed?.text);
    if (result.body && Array.isArray(result.body.links)) {
      result.body.links = selfLink(req, 'process-instance', result.body.id);
    }
    return result;
  }

  /** Route lookups by `METHOD path`, bounded: most traffic repeats a few paths. */
  const routes = new Map();
  function route(method, path) {
    const key = `${method} ${path}`;
    let found = routes.get(key);
    if (found === undefined) {
      found = router.find(method, path);
      if (routes.size >= 1024) routes.clear();
      routes.set(key, found);
    }
    return found;
  }

  /** The route of a request: the router's match ({store: RouteFacts, params}); throws 404, 405 or 503. */
  function routeOf(req) {
    const url = req.originalUrl ?? req.url ?? '/';
    const q = url.indexOf('?');
    let path = q < 0 ? url : url.slice(0, q);
    if (path !== basePath && !path.startsWith(basePathSlash)) throw notFound();
    path = path.slice(basePath.length) || '/';
    // Named-engine paths: /engine/default/job = /job.
    const named = path.startsWith('/engine/') ? /^\/engine\/([^/]+)(\/.*)$/.exec(path) : null;
    if (named) {
      if (decodeOrNull(named[1]) !== ENGINE_NAME) {
        throw new HttpError(404, 'RestException', `No process engine available with name ${named[1]}`);
      }
      path = named[2];
    }
    // HEAD is GET without the body (node:http leaves the body out).
    const found = route(req.method === 'HEAD' ? 'GET' : req.method, path);
    if (!found) {
      const other = allMethods.some((m) => m !== req.method && router.find(m, path));
      throw other ? notAllowed() : notFound();
    }
    if (engine.closed || closing) {
      throw new HttpError(503, 'RestException', 'The server is shutting down');
    }
    return found;
  }

  /**
   * Answers one request. Synchronous up to the engine call: a GET answers in
   * the tick that parsed it, a write in its body's 'end' event; only
   * deployments and long polls go through Promises.
   */
  function handle(req, res) {
    try {
      start(req, res);
    } catch (bug) {
      unhandled(res, bug);
    }
  }

  function start(req, res) {
    let found;
    try {
      found = routeOf(req);
    } catch (err) {
      fail(req, res, err);
      return;
    }
    const facts = found.store;
    const { operation } = facts;
    if (operation === '#engines') return reply(res, facts, { status: 200, body: [{ name: ENGINE_NAME }] });
    if (operation === '#version') return reply(res, facts, { status: 200, body: { version: CAMUNDA_VERSION } });
    if (operation === '#createDeployment') return settle(req, res, facts, createDeployment(req));
    if (bodiless(req)) return respond(req, res, facts, found.params, EMPTY);
    if (req.readableEnded) {
      let buffer;
      try {
        buffer = bodyReadBefore(req);
      } catch (err) {
        fail(req, res, err);
        return;
      }
      return respond(req, res, facts, found.params, buffer);
    }
    readBody(req, bodyLimit, (err, buffer) => {
      try {
        if (err) fail(req, res, err);
        else respond(req, res, facts, found.params, buffer);
      } catch (bug) {
        unhandled(res, bug);
      }
    });
  }

  /** Runs the route on the read body and sends the answer (or the error). */
  function respond(req, res, facts, params, buffer) {
    let result;
    try {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      result = answer(req, facts, params, parseQuery(q < 0 ? '' : url.slice(q + 1)), buffer);
    } catch (err) {
      fail(req, res, err);
      return;
    }
    if (result instanceof Promise) settle(req, res, facts, result);
    else reply(res, facts, result);
  }

  /** Sends the answer a Promise settles to. */
  function settle(req, res, facts, promise) {
    promise
      .then(
        (result) => reply(res, facts, result),
        (err) => fail(req, res, err),
      )
      .catch((bug) => unhandled(res, bug));
  }

  /** A bug in this layer: logged, answered 500 if nothing was sent yet. */
  function unhandled(res, err) {
    options.log?.(`rest: unhandled ${err?.stack ?? err}`);
    if (!res.headersSent && !res.destroyed) {
      sendJson(res, 500, { type: 'Exception', message: String(err?.message), code: null });
    }
  }

  /** Sends a route's answer: {status, text} as printed by the engine, or {status, body}. */
  function reply(res, facts, { status, body, text }) {
    if (res.headersSent || res.destroyed) return;
    // A long poll answered by close(): the host's server.close() waits for this connection.
    if (closing) res.setHeader('Connection', 'close');
    if (text !== undefined || (body === undefined && status < 400)) sendText(res, status, text);
    else sendJson(res, status, body, {}, facts.textPlain ? 'text/plain' : 'application/json');
  }

  /** Sends Camunda's error body for err. */
  function fail(req, res, err) {
    const { status, body } = errorResponse(err);
    if (status >= 500 && !(err instanceof EngineError) && !(err instanceof HttpError)) {
      options.log?.(`rest: ${req.method} ${req.url}: ${err?.stack ?? err}`);
    }
    if (res.headersSent || res.destroyed) return;
    // A request whose body was not read (or cut off): do not reuse the connection.
    if (!req.complete && !bodiless(req)) {
      res.setHeader('Connection', 'close');
      discardRest(req, res, bodyLimit);
    }
    sendJson(res, status, body);
  }

  handle.close = () => {
    closing = true;
    for (const entry of waiting) {
      clearTimeout(entry.timer);
      entry.resolve();
    }
    waiting.clear();
  };
  return handle;
}

/**
 * Reads a multipart/form-data request: [{field, name, isField, data}]. The
 * limit is on the whole body: past it the read stops and the Promise rejects
 * at once (413). Every stream error (a truncated or malformed form, a client
 * that goes away) rejects with a 400; none is left unhandled.
 */
function readMultipart(req, limit) {
  const malformed = () => new HttpError(400, 'InvalidRequestException', 'Malformed multipart/form-data request');
  return new Promise((resolve, reject) => {
    let bb;
    try {
      bb = busboy({
        headers: req.headers,
        limits: { fileSize: limit, fieldSize: 1024 * 1024, files: 100, fields: 100, parts: 200 },
      });
    } catch {
      reject(malformed());
      return;
    }
    const parts = [];
    let size = 0;
    let settled = false;
    const stop = (err) => {
      if (settled) return;
      settled = true;
      req.unpipe(bb);
      bb.removeAllListeners('close');
      bb.on('error', () => {}); // busboy may still report the cut-off form
      bb.destroy();
      reject(err);
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      stop(tooLarge(limit));
      return;
    }
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) stop(tooLarge(limit));
    });
    req.on('error', () => stop(malformed()));
    req.on('close', () => {
      if (!req.complete) stop(malformed());
    });
    bb.on('file', (field, stream, info) => {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('error', () => stop(malformed()));
      stream.on('limit', () => stop(tooLarge(limit)));
      stream.on('end', () =>
        parts.push({ field, name: info.filename ?? field, isField: false, data: Buffer.concat(chunks) }),
      );
    });
    bb.on('field', (field, value, info) => {
      if (info.valueTruncated) stop(tooLarge(limit));
      else parts.push({ field, name: field, isField: true, data: Buffer.from(value, 'utf8') });
    });
    bb.on('partsLimit', () => stop(new HttpError(400, 'InvalidRequestException', 'Too many parts')));
    bb.on('filesLimit', () => stop(new HttpError(400, 'InvalidRequestException', 'Too many files')));
    bb.on('fieldsLimit', () => stop(new HttpError(400, 'InvalidRequestException', 'Too many fields')));
    bb.on('error', () => stop(malformed()));
    bb.on('close', () => {
      if (settled) return;
      settled = true;
      resolve({ parts });
    });
    req.pipe(bb);
  });
}

/**
 * The answer to a request node:http could not parse or that timed out, as a
 * Camunda error body (Tomcat would answer these itself; a client of this API
 * reads JSON).
 */
function clientErrorResponse(err) {
  const [status, reason, message] =
    err?.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'The request headers are too large']
      : err?.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err?.code === 'ERR_HTTP_HEADERS_TIMEOUT'
        ? [408, 'Request Timeout', 'The request was not received in time']
        : [400, 'Bad Request', 'Malformed HTTP request'];
  const body = JSON.stringify({ type: 'InvalidRequestException', message, code: null });
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * An HTTP server for an engine, with its job executor.
 * @param {{engine: import('./index.js').Engine, bodyLimit?: number,
 *   jobExecutor?: boolean | object, log?: (msg: string) => void, pollIntervalMs?: number,
 *   web?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean,
 *   auth?: boolean, publicUrl?: string, corsOrigins?: string[], allowedHosts?: string[],
 *   headersTimeoutMs?: number, requestTimeoutMs?: number, maxConnections?: number,
 *   maxConnectionsPerIp?: number}} options
 *   jobExecutor: false to turn it off; an object for JobExecutor options.
 *   web: answers requests outside /engine-rest (true when it did; see static.js).
 *   auth: HTTP Basic against the engine's users (auth.js); default: on unless
 *   listening on loopback. The rest: see http-policy.js.
 */
export function createRestServer(options) {
  const { engine, jobExecutor = true, log } = options;
  const executor =
    jobExecutor === false ? null : new JobExecutor(engine, { log, ...(typeof jobExecutor === 'object' ? jobExecutor : {}) });
  let address = null;
  const handle = createRestHandler(engine, {
    bodyLimit: options.bodyLimit,
    pollIntervalMs: options.pollIntervalMs,
    log,
    onWrite: () => executor?.wake(),
    linkBase: () => linkBase(options.publicUrl, address),
  });
  let policy = httpPolicy(options);
  let auth = null;
  const server = http.createServer({ keepAliveTimeout: 5000, ...policy.serverOptions }, (req, res) => {
    if (policy.admit(req, res)) return;
    // Outside /engine-rest the host may serve files (the simulation page).
    const url = req.url ?? '';
    if (options.web && !url.startsWith(BASE_PATH) && options.web(req, res)) return;
    if (auth && !engine.closed && auth.requires(url.split('?', 1)[0])) authenticated(req, res);
    else handle(req, res);
  });
  policy.limit(server);

  /** Runs the request as its user, or answers upstream's 401 challenge. */
  function authenticated(req, res) {
    const admit = (user) => {
      if (user === null) return sendChallenge(req, res);
      req.authenticatedUser = user;
      handle(req, res);
    };
    let user;
    try {
      user = auth.check(req);
    } catch {
      user = null; // the store failed: no one is let in on a failure
    }
    if (user instanceof Promise) user.then(admit, () => sendChallenge(req, res));
    else admit(user);
  }
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end(clientErrorResponse(err));
    else socket.destroy();
  });
  let closed = null;
  return {
    server,
    executor,
    /** @returns {Promise<{port: number, host: string}>} */
    listen(port = 8080, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        // The policy's Host check and the default of auth depend on the address.
        policy = httpPolicy({ ...options, host });
        auth = (options.auth ?? !isLoopback(host)) ? basicAuthenticator(engine) : null;
        server.listen(port, host, () => {
          server.off('error', reject);
          executor?.start();
          const addr = server.address();
          address = { port: addr.port, host: addr.address };
          resolve({ port: addr.port, host: addr.address });
        });
      });
    },
    /** Stops accepting, finishes requests in flight, stops the executor. The engine stays open. */
    close() {
      if (!closed) {
        closed = new Promise((resolve) => {
          executor?.stop();
          handle.close();
          server.close(() => resolve());
          server.closeIdleConnections?.();
        });
      }
      return closed;
    },
  };
}
