// migration.js - the migration pickers: a source and a target version, the
// plan /migration/generate proposes between them and the report
// /migration/validate gives for it, each asked through the page's transport
// (the in-page engine or the connected REST API).

import { formByKey } from '../requests.js';
import { byId, fill, h } from './dom.js';

/**
 * @typedef {{id: string, key: string, version: number}} Definition
 * @typedef {import('./forms.js').Sender} Sender
 */

/** "invoice v2" for a definition. @param {Definition} d */
const label = (d) => `${d.key} v${d.version}`;

export class MigrationPicker {
  /**
   * @param {Sender} send
   * @param {(plan: object) => void} onPlan called with a valid plan (fills the forms)
   */
  constructor(send, onPlan) {
    this.send = send;
    this.onPlan = onPlan;
    this.source = /** @type {HTMLSelectElement} */ (byId('mig-source'));
    this.target = /** @type {HTMLSelectElement} */ (byId('mig-target'));
    this.update = /** @type {HTMLInputElement} */ (byId('mig-update'));
    this.report = byId('mig-report');
    byId('mig-check').addEventListener('click', () => this.check());
  }

  /**
   * Lists the definitions; by default the previous version of `key` to its
   * latest (else what was picked before, when still listed).
   * @param {Definition[]} definitions @param {string | null} [key]
   */
  list(definitions, key = null) {
    const sorted = [...definitions].sort((a, b) => a.key.localeCompare(b.key) || a.version - b.version);
    const kept = [this.source.value, this.target.value];
    for (const select of [this.source, this.target]) {
      fill(select, ...sorted.map((d) => h('option', { value: d.id }, label(d))));
    }
    const versions = sorted.filter((d) => d.key === key);
    if (versions.length >= 2) {
      this.source.value = versions.at(-2).id;
      this.target.value = versions.at(-1).id;
    } else if (kept.every((id) => sorted.some((d) => d.id === id))) {
      [this.source.value, this.target.value] = kept;
    }
  }

  /** Generates the plan, validates it and shows the report. */
  async check() {
    const generated = await this.send(formByKey('migration-generate'), '', {
      sourceProcessDefinitionId: this.source.value,
      targetProcessDefinitionId: this.target.value,
      updateEventTriggers: this.update.checked,
    });
    if (generated.status !== 200) return this.show(generated);
    const validated = await this.send(formByKey('migration-validate'), '', generated.body);
    this.show(validated, /** @type {any} */ (generated.body));
    if (validated.status === 200 && isValid(validated.body)) this.onPlan(/** @type {object} */ (generated.body));
  }

  /**
   * The report as a list: one line per mapped activity when valid, the
   * failures of each instruction and variable otherwise.
   * @param {{status: number, body: any}} res @param {any} [plan]
   */
  show(res, plan) {
    this.report.dataset.state = res.status !== 200 ? 'error' : isValid(res.body) ? 'valid' : 'invalid';
    if (res.status !== 200) {
      fill(this.report, h('p', null, `${res.status} ${res.body?.type ?? ''}: ${res.body?.message ?? ''}`));
      return;
    }
    const body = res.body;
    if (isValid(body)) {
      const lines = plan.instructions.map((i) => h('li', null, `${i.sourceActivityIds[0]} → ${i.targetActivityIds[0]}${i.updateEventTrigger ? ' (trigger updated)' : ''}`));
      fill(this.report, h('p', null, `Valid plan, ${plan.instructions.length} instruction(s):`), h('ul', null, ...lines));
      return;
    }
    const lines = [
      ...body.instructionReports.map((r) => h('li', null, `${r.instruction.sourceActivityIds[0]} → ${r.instruction.targetActivityIds[0]}: ${r.failures.join('; ')}`)),
      ...Object.entries(body.variableReports ?? {}).map(([name, r]) => h('li', null, `variable ${name}: ${r.failures.join('; ')}`)),
    ];
    fill(this.report, h('p', null, 'Not valid:'), h('ul', null, ...lines));
  }
}

/** @param {any} report */
const isValid = (report) => report.instructionReports.length === 0 && Object.keys(report.variableReports ?? {}).length === 0;
