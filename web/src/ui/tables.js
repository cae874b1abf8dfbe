// tables.js - the filterable tables of instances, jobs, external tasks and
// incidents. A table keeps its filter text between renders; rows are plain
// objects, columns say what to show of them.

import { clockTime, h } from './dom.js';

/** Rows shown at most; the count always says how many match. */
const MAX_ROWS = 200;

/**
 * @typedef {object} Column
 * @property {string} label
 * @property {(row: any) => unknown} value
 */

/**
 * What a job is for: a batch's seed, monitor or execution job, or the job
 * type of a process job (async-continuation, timer-...).
 * @param {{batchId?: string | null, jobType: string}} job
 */
export function jobKind(job) {
  if (!job.batchId) return job.jobType;
  if (job.jobType === 'batch-seed-job') return 'batch seed';
  if (job.jobType === 'batch-monitor-job') return 'batch monitor';
  return 'batch execution';
}

/** @type {Record<string, Column[]>} */
export const COLUMNS = {
  instances: [
    { label: 'id', value: (r) => r.id },
    { label: 'business key', value: (r) => r.businessKey },
    { label: 'process', value: (r) => r.processDefinitionKey },
    { label: 'state', value: (r) => r.state },
    { label: 'started', value: (r) => clockTime(r.startTime) },
    { label: 'ended', value: (r) => clockTime(r.endTime) },
  ],
  jobs: [
    { label: 'id', value: (r) => r.id },
    { label: 'kind', value: jobKind },
    { label: 'activity', value: (r) => r.activityId ?? '' },
    { label: 'retries', value: (r) => r.retries },
    { label: 'due', value: (r) => clockTime(r.dueDate) },
    { label: 'exception', value: (r) => r.exceptionMessage ?? '' },
  ],
  externalTasks: [
    { label: 'id', value: (r) => r.id },
    { label: 'topic', value: (r) => r.topicName },
    { label: 'activity', value: (r) => r.activityId },
    { label: 'retries', value: (r) => (r.retries === null ? '–' : r.retries) },
    { label: 'locked by', value: (r) => r.workerId ?? '' },
    { label: 'error', value: (r) => r.errorMessage ?? '' },
  ],
  incidents: [
    { label: 'id', value: (r) => r.id },
    { label: 'type', value: (r) => r.incidentType },
    { label: 'activity', value: (r) => r.activityId },
    { label: 'instance', value: (r) => r.processInstanceId },
    { label: 'since', value: (r) => clockTime(r.incidentTimestamp) },
    { label: 'message', value: (r) => r.incidentMessage ?? '' },
  ],
};

/**
 * Rows whose shown values contain every word of the filter (case-insensitive).
 * @param {any[]} rows @param {Column[]} columns @param {string} filter
 */
export function filterRows(rows, columns, filter) {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return rows;
  return rows.filter((row) => {
    const text = columns.map((c) => String(c.value(row) ?? '')).join(' ').toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/**
 * Renders one table into its section (made by tableSection) and its count.
 * @param {HTMLElement} section
 * @param {string} name key of COLUMNS
 * @param {any[]} rows
 * @param {HTMLElement} count shows "n" or "shown of n"
 */
export function renderTable(section, name, rows, count) {
  const columns = COLUMNS[name];
  const input = /** @type {HTMLInputElement} */ (section.querySelector('input.filter'));
  const shown = filterRows(rows, columns, input.value);
  count.textContent = shown.length === rows.length ? `${rows.length}` : `${shown.length} of ${rows.length}`;
  count.dataset.total = String(rows.length);
  count.dataset.shown = String(shown.length);
  const thead = section.querySelector('thead');
  if (thead && thead.childElementCount === 0) {
    thead.append(h('tr', null, ...columns.map((c) => h('th', { scope: 'col' }, c.label))));
  }
  const body = /** @type {HTMLElement} */ (section.querySelector('tbody'));
  const trs = shown.slice(0, MAX_ROWS).map((row) => h('tr', null, ...columns.map((c) => h('td', null, String(c.value(row) ?? '')))));
  if (shown.length > MAX_ROWS) {
    trs.push(h('tr', null, h('td', { colspan: columns.length, class: 'more' }, `… ${shown.length - MAX_ROWS} more (filter to narrow)`)));
  }
  body.replaceChildren(...trs);
}

/**
 * Fills an empty section with a filter field and an empty table.
 * @param {HTMLElement} section @param {string} name @param {() => void} onFilter
 */
export function tableSection(section, name, onFilter) {
  const input = h('input', { class: 'filter', type: 'search', placeholder: 'filter: words in any column', 'aria-label': `Filter ${name}` });
  input.addEventListener('input', onFilter);
  section.append(input, h('div', { class: 'scroll' }, h('table', null, h('thead'), h('tbody'))));
}
