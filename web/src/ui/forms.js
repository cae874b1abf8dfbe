// forms.js - the operation forms: pick one of the five seed operations or
// batch suspend/activate/delete, edit the body as the REST API takes it,
// see the exact request line and JSON, send it, see the answer as JSON.

import { FORMS, formByKey, parseBodyText, requestLine } from '../requests.js';
import { byId, h, pretty } from './dom.js';

/**
 * @typedef {(form: import('../requests.js').OperationForm, id: string, body: object | undefined)
 *   => Promise<{status: number, body: unknown}>} Sender
 */

export class OperationForms {
  /**
   * @param {HTMLElement} root the forms section (holds the elements by id)
   * @param {Sender} send
   */
  constructor(root, send) {
    this.send = send;
    this.select = /** @type {HTMLSelectElement} */ (byId('op-select'));
    this.idInput = /** @type {HTMLInputElement} */ (byId('op-id'));
    this.idLabel = byId('op-id-label');
    this.idRow = byId('op-id-row');
    this.body = /** @type {HTMLTextAreaElement} */ (byId('op-body'));
    this.line = byId('op-line');
    this.response = byId('op-response');
    this.status = byId('op-status');
    /** Last id per label, so switching forms keeps what was typed. */
    this.ids = new Map();
    /** @type {Map<string, object>} starting bodies that differ from the form's example */
    this.examples = new Map();
    this.select.replaceChildren(...FORMS.map((f) => h('option', { value: f.key }, f.title)));
    this.select.addEventListener('change', () => this.load(this.select.value));
    this.idInput.addEventListener('input', () => {
      this.ids.set(this.form.idLabel, this.idInput.value);
      this.updateLine();
    });
    root.querySelector('form')?.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.load(FORMS[0].key);
  }

  /** @param {string} key */
  load(key) {
    this.form = formByKey(key);
    this.select.value = key;
    this.idRow.hidden = !this.form.idLabel;
    this.idLabel.textContent = this.form.idLabel ?? '';
    this.idInput.value = this.ids.get(this.form.idLabel) ?? '';
    const example = this.examples.get(key) ?? this.form.example;
    this.body.value = example ? pretty(example) : '';
    this.body.disabled = !example;
    this.updateLine();
  }

  /**
   * Replaces a form's starting body (e.g. the restart form's activity for the
   * process shown); the form on screen keeps what was typed.
   * @param {string} key @param {object} body
   */
  setExample(key, body) {
    this.examples.set(key, body);
  }

  /** Puts an id (a batch's, a definition's) into the forms that take one. @param {string} label @param {string} id */
  setId(label, id) {
    this.ids.set(label, id);
    if (this.form.idLabel === label) {
      this.idInput.value = id;
      this.updateLine();
    }
  }

  updateLine() {
    this.line.textContent = requestLine(this.form, this.idInput.value.trim());
  }

  /** Forgets the last answer (another engine answers from now on). */
  clearResponse() {
    this.status.textContent = '';
    this.status.className = 'http-status';
    this.response.textContent = '';
  }

  async submit() {
    this.status.textContent = '…';
    this.status.className = 'http-status';
    this.response.textContent = '';
    const parsed = parseBodyText(this.body.value);
    let result;
    if (parsed.error) {
      result = parsed.error;
    } else {
      try {
        result = await this.send(this.form, this.idInput.value.trim(), parsed.body);
      } catch (err) {
        result = { status: 0, body: { type: 'NetworkError', message: String(err?.message ?? err), code: null } };
      }
    }
    this.status.textContent = `${result.status || 'no answer'}`;
    this.status.className = `http-status ${result.status >= 200 && result.status < 300 ? 'ok' : 'error'}`;
    this.response.textContent = result.body === null || result.body === undefined ? '(no content)' : pretty(result.body);
    this.response.dataset.answers = String(Number(this.response.dataset.answers ?? 0) + 1);
    return result;
  }
}
