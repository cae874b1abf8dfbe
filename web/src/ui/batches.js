// batches.js - the batch panel: a card per running batch with progress bars
// (execution jobs created of total, completed, failed, remaining), its seed
// and monitor jobs, and the history of batches with their end times.

import { clockTime, h } from './dom.js';

/** Whole percent of part in total (0 when total is 0). */
export const percent = (part, total) => (total > 0 ? Math.round((part / total) * 100) : 0);

/**
 * A labelled progress bar; the <progress> element carries value and max so
 * assistive technology and tests read the same numbers.
 * @param {string} name @param {number} value @param {number} max
 */
function bar(name, value, max) {
  return h(
    'div',
    { class: `bar bar-${name}` },
    h('span', { class: 'bar-label' }, name),
    h('progress', { value, max: Math.max(max, 1), 'aria-label': `${name} ${value} of ${max}`, dataset: { percent: percent(value, max) } }),
    h('span', { class: 'bar-value' }, `${value}/${max} (${percent(value, max)} %)`),
  );
}

/** @param {object[]} jobs */
function jobList(jobs) {
  if (jobs.length === 0) return 'none';
  return jobs.map((j) => `${j.id} (due ${clockTime(j.dueDate) || 'now'}${j.retries === 0 ? ', no retries' : ''})`).join(', ');
}

/**
 * @param {import('../snapshot.js').BatchView} b
 * @param {(id: string) => void} onPick puts the batch id into the forms
 */
function batchCard(b, onPick) {
  const s = b.stats;
  return h(
    'article',
    { class: `batch${s.suspended ? ' suspended' : ''}`, dataset: { batchId: s.id } },
    h(
      'header',
      null,
      h('strong', null, s.type),
      ' ',
      h('button', { type: 'button', class: 'link', onclick: () => onPick(s.id), title: 'Use this batch id in the forms' }, s.id),
      s.suspended ? h('span', { class: 'badge' }, 'suspended') : null,
    ),
    bar('created', b.created, b.total),
    bar('completed', b.completed, b.total),
    bar('failed', b.failed, b.total),
    bar('remaining', b.remaining, b.total),
    h('p', { class: 'batch-jobs' }, 'seed job: ', jobList(b.seedJobs)),
    h('p', { class: 'batch-jobs' }, 'monitor job: ', jobList(b.monitorJobs)),
  );
}

/**
 * @param {HTMLElement} running container of the batch cards
 * @param {HTMLElement} historyBody tbody of the history table
 * @param {{batches: import('../snapshot.js').BatchView[], history: object[]}} data
 * @param {(id: string) => void} onPick
 */
export function renderBatches(running, historyBody, data, onPick) {
  running.replaceChildren(
    ...(data.batches.length ? data.batches.map((b) => batchCard(b, onPick)) : [h('p', { class: 'empty' }, 'No running batches.')]),
  );
  historyBody.replaceChildren(
    ...data.history.map((hb) =>
      h(
        'tr',
        { dataset: { batchId: hb.id, ended: hb.endTime ? 'true' : 'false' } },
        h('td', null, hb.id, h('small', null, hb.type)),
        h('td', null, String(hb.totalJobs)),
        h('td', null, clockTime(hb.startTime)),
        h('td', { class: 'end-time' }, hb.endTime ? clockTime(hb.endTime) : 'running'),
      ),
    ),
  );
}
