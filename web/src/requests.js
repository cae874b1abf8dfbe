// requests.js - the batch operations the page's forms send, as Camunda's REST
// API takes them (method, path, body), and the two transports that carry a
// request: into the in-page engine (simulation) or over HTTP (connected).
// A request is {operation, method, path, id?, query?, body?}; a response is
// {status, body}, the way the REST shim (bindings/rest.js) answers.

/**
 * One form per operation. `path` may hold "{id}" (filled from the id field);
 * `example` is the body the form starts with.
 * @typedef {object} OperationForm
 * @property {string} key       stable id of the form (DOM ids, tests)
 * @property {string} title
 * @property {string} operation engine operation (bindings/operations.js)
 * @property {'POST' | 'PUT' | 'DELETE'} method
 * @property {string} path      under /engine-rest
 * @property {string} [idLabel] label of the {id} path parameter
 * @property {Record<string, string>} [query] fixed query parameters
 * @property {object} [example] body the form starts with (none: no body)
 */

/** @type {readonly OperationForm[]} */
export const FORMS = Object.freeze([
  {
    key: 'external-task-retries',
    title: 'External task retries',
    operation: 'setExternalTaskRetriesAsync',
    method: 'POST',
    path: '/external-task/retries-async',
    example: { retries: 3, externalTaskQuery: { noRetriesLeft: true } },
  },
  {
    key: 'external-task-retries-sync',
    title: 'External task retries (sync)',
    operation: 'setExternalTaskRetriesSync',
    method: 'PUT',
    path: '/external-task/retries',
    example: { retries: 3, externalTaskQuery: { noRetriesLeft: true } },
  },
  {
    key: 'job-retries',
    title: 'Job retries by jobs',
    operation: 'setJobRetriesAsync',
    method: 'POST',
    path: '/job/retries',
    example: { retries: 3, jobQuery: { noRetriesLeft: true } },
  },
  {
    key: 'job-retries-process',
    title: 'Job retries by process instances',
    operation: 'setJobRetriesAsyncByProcess',
    method: 'POST',
    path: '/process-instance/job-retries',
    example: { retries: 3, processInstanceQuery: { withIncident: true } },
  },
  {
    key: 'job-retries-historic',
    title: 'Job retries by historic query',
    operation: 'setJobRetriesAsyncByHistoricQuery',
    method: 'POST',
    path: '/process-instance/job-retries-historic-query-based',
    example: { retries: 3, historicProcessInstanceQuery: { withJobsRetrying: true } },
  },
  {
    key: 'restart',
    title: 'Restart process instances',
    operation: 'restartProcessInstancesAsync',
    method: 'POST',
    path: '/process-definition/{id}/restart-async',
    idLabel: 'Process definition id',
    example: {
      historicProcessInstanceQuery: { finished: true },
      instructions: [{ type: 'startBeforeActivity', activityId: 'charge' }],
      initialVariables: true,
      skipCustomListeners: true,
    },
  },
  {
    key: 'modification',
    title: 'Modify process instances',
    operation: 'executeModificationAsync',
    method: 'POST',
    path: '/modification/executeAsync',
    example: modificationExample('invoice:1', 'charge'),
  },
  {
    key: 'modify-instance',
    title: 'Modify one process instance',
    operation: 'modifyProcessInstance',
    method: 'POST',
    path: '/process-instance/{id}/modification',
    idLabel: 'Process instance id',
    example: {
      instructions: [{ type: 'startBeforeActivity', activityId: 'charge' }, { type: 'cancel', activityId: 'charge' }],
      annotation: 'retry the task',
    },
  },
  {
    key: 'message',
    title: 'Correlate a message',
    operation: 'correlateMessage',
    method: 'POST',
    path: '/message',
    example: { messageName: 'paymentReceived', businessKey: 'order-1', all: true, resultEnabled: true },
  },
  {
    key: 'message-async',
    title: 'Correlate a message (batch)',
    operation: 'correlateMessageAsync',
    method: 'POST',
    path: '/process-instance/message-async',
    example: { messageName: 'paymentReceived', processInstanceQuery: { active: true } },
  },
  {
    key: 'migration-validate',
    title: 'Validate a migration plan',
    operation: 'validateMigrationPlan',
    method: 'POST',
    path: '/migration/validate',
    example: migrationPlanExample('invoice:1', 'invoice:2', ['charge']),
  },
  {
    key: 'migration',
    title: 'Migrate process instances',
    operation: 'executeMigrationPlanAsync',
    method: 'POST',
    path: '/migration/executeAsync',
    example: migrationExample('invoice:1', 'invoice:2', ['charge']),
  },
  {
    key: 'instance-suspension',
    title: 'Suspend process instances',
    operation: 'setProcessInstancesSuspendedAsync',
    method: 'POST',
    path: '/process-instance/suspended-async',
    example: { suspended: true, processInstanceQuery: { withIncident: true } },
  },
  {
    key: 'set-variables',
    title: 'Set variables on process instances',
    operation: 'setVariablesAsync',
    method: 'POST',
    path: '/process-instance/variables-async',
    example: {
      processInstanceQuery: { withIncident: true },
      variables: { escalated: { value: true, type: 'Boolean' }, note: { value: 'card declined', type: 'String' } },
    },
  },
  {
    key: 'instance-deletion',
    title: 'Delete process instances',
    operation: 'deleteProcessInstancesAsync',
    method: 'POST',
    path: '/process-instance/delete',
    example: { processInstanceQuery: { withIncident: true }, deleteReason: 'given up', skipCustomListeners: true },
  },
  {
    key: 'historic-instance-deletion',
    title: 'Delete historic process instances',
    operation: 'deleteHistoricProcessInstancesAsync',
    method: 'POST',
    path: '/history/process-instance/delete',
    example: { historicProcessInstanceQuery: { finished: true }, deleteReason: 'retention' },
  },
  {
    key: 'removal-time',
    title: 'Set removal time of history',
    operation: 'setRemovalTimeAsync',
    method: 'POST',
    path: '/history/process-instance/set-removal-time',
    example: { historicProcessInstanceQuery: { finished: true }, absoluteRemovalTime: '2030-01-01T00:00:00.000+0000' },
  },
  {
    key: 'batch-removal-time',
    title: 'Set removal time of historic batches',
    operation: 'setBatchRemovalTimeAsync',
    method: 'POST',
    path: '/history/batch/set-removal-time',
    example: { historicBatchQuery: { completed: true }, absoluteRemovalTime: '2030-01-01T00:00:00.000+0000' },
  },
  {
    key: 'batch-suspend',
    title: 'Suspend batch',
    operation: 'setBatchSuspended',
    method: 'PUT',
    path: '/batch/{id}/suspended',
    idLabel: 'Batch id',
    example: { suspended: true },
  },
  {
    key: 'batch-activate',
    title: 'Activate batch',
    operation: 'setBatchSuspended',
    method: 'PUT',
    path: '/batch/{id}/suspended',
    idLabel: 'Batch id',
    example: { suspended: false },
  },
  {
    key: 'batch-delete',
    title: 'Delete batch',
    operation: 'deleteBatch',
    method: 'DELETE',
    path: '/batch/{id}',
    idLabel: 'Batch id',
    query: { cascade: 'true' },
  },
]);

/**
 * The restart form's body: the definition's finished instances, restarted
 * before its first task.
 * @param {string} processDefinitionId @param {string} activityId
 */
export function restartExample(processDefinitionId, activityId) {
  return {
    historicProcessInstanceQuery: { processDefinitionId, finished: true },
    instructions: [{ type: 'startBeforeActivity', activityId }],
    initialVariables: true,
    skipCustomListeners: true,
  };
}

/**
 * The modification form's body: every running instance of the definition
 * that rests in the activity gets it anew (started before it, the instances
 * there before cancelled): a stuck task starts over with fresh retries.
 * @param {string} processDefinitionId @param {string} activityId
 */
export function modificationExample(processDefinitionId, activityId) {
  return {
    processDefinitionId,
    instructions: [
      { type: 'startBeforeActivity', activityId },
      { type: 'cancel', activityId, cancelCurrentActiveActivityInstances: true },
    ],
    processInstanceQuery: { processDefinitionId, activityIdIn: [activityId] },
    skipCustomListeners: true,
  };
}

/**
 * A migration plan mapping the given activities to themselves (what
 * /migration/generate proposes for activities both versions have).
 * @param {string} source @param {string} target @param {string[]} activityIds
 */
export function migrationPlanExample(source, target, activityIds) {
  return {
    sourceProcessDefinitionId: source,
    targetProcessDefinitionId: target,
    instructions: activityIds.map((id) => ({ sourceActivityIds: [id], targetActivityIds: [id] })),
  };
}

/**
 * The migration form's body: every running instance of the source version
 * moves to the target version by that plan.
 * @param {string} source @param {string} target @param {string[]} activityIds
 */
export function migrationExample(source, target, activityIds) {
  return {
    migrationPlan: migrationPlanExample(source, target, activityIds),
    processInstanceQuery: { processDefinitionId: source },
    skipCustomListeners: true,
  };
}

/** The form with this key. @param {string} key */
export function formByKey(key) {
  const form = FORMS.find((f) => f.key === key);
  if (!form) throw new Error(`no form ${key}`);
  return form;
}

/**
 * The request line a form sends, e.g. "POST /engine-rest/batch/b1?cascade=true".
 * @param {OperationForm} form @param {string} [id]
 */
export function requestLine(form, id = '') {
  const path = form.path.replace('{id}', encodeURIComponent(id || '{id}'));
  const query = form.query ? `?${new URLSearchParams(form.query)}` : '';
  return `${form.method} /engine-rest${path}${query}`;
}

/**
 * Parses a form's body text the way the REST shim parses a request body:
 * empty means no body; malformed JSON or a non-object is Camunda's 400.
 * @param {string} text
 * @returns {{body?: object, error?: {status: number, body: object}}}
 */
export function parseBodyText(text) {
  if (text.trim() === '') return {};
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: { status: 400, body: { type: 'InvalidRequestException', message: '', code: null } } };
  }
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { error: { status: 400, body: { type: 'InvalidRequestException', message: '', code: null } } };
  }
  return { body: value };
}

/** @typedef {{user: string, password: string}} Credentials */

/**
 * The request headers for an API that may ask for HTTP Basic credentials
 * (rebatch with --auth, or Camunda with its authentication filter): none
 * are sent without a user name.
 * @param {Credentials | undefined} auth
 */
export function authHeaders(auth) {
  // X-Requested-With: a 401 then comes without a challenge, so the browser
  // opens no login dialog of its own (the page asks instead).
  const headers = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' };
  if (!auth?.user) return headers;
  const bytes = new TextEncoder().encode(`${auth.user}:${auth.password}`);
  headers.Authorization = `Basic ${btoa(String.fromCharCode(...bytes))}`;
  return headers;
}

/**
 * Sends a form's request over HTTP to a Camunda 7 REST API.
 * @param {string} baseUrl e.g. "/engine-rest" or "http://host:8080/engine-rest"
 * @param {OperationForm} form @param {string} id @param {object | undefined} body
 * @param {Credentials} [auth]
 * @returns {Promise<{status: number, body: unknown}>}
 */
export async function sendHttp(baseUrl, form, id, body, auth) {
  const path = form.path.replace('{id}', encodeURIComponent(id));
  const query = form.query ? `?${new URLSearchParams(form.query)}` : '';
  const init = { method: form.method, headers: authHeaders(auth) };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetchJson(`${trimSlash(baseUrl)}${path}${query}`, init);
}

/**
 * GETs a REST resource as JSON.
 * @param {string} baseUrl @param {string} path with query string @param {Credentials} [auth]
 */
export function getHttp(baseUrl, path, auth) {
  return fetchJson(`${trimSlash(baseUrl)}${path}`, { headers: authHeaders(auth) });
}

/** @param {string} url @param {RequestInit} init */
async function fetchJson(url, init) {
  const response = await fetch(url, init);
  const text = await response.text();
  let body = null;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: response.status, body };
}

const trimSlash = (url) => url.replace(/\/+$/, '');
