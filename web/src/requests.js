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

/**
 * Sends a form's request over HTTP to a Camunda 7 REST API.
 * @param {string} baseUrl e.g. "/engine-rest" or "http://host:8080/engine-rest"
 * @param {OperationForm} form @param {string} id @param {object | undefined} body
 * @returns {Promise<{status: number, body: unknown}>}
 */
export async function sendHttp(baseUrl, form, id, body) {
  const path = form.path.replace('{id}', encodeURIComponent(id));
  const query = form.query ? `?${new URLSearchParams(form.query)}` : '';
  const init = { method: form.method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetchJson(`${trimSlash(baseUrl)}${path}${query}`, init);
}

/**
 * GETs a REST resource as JSON.
 * @param {string} baseUrl @param {string} path with query string
 */
export function getHttp(baseUrl, path) {
  return fetchJson(`${trimSlash(baseUrl)}${path}`, { headers: { Accept: 'application/json' } });
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
