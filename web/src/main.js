// main.js - the page's controller: wires the DOM to a Simulation (sim.js) or
// to a REST API (connected mode), runs the play loop and renders snapshots
// (snapshot.js) through the renderers in ui/. The simulation never reads the
// DOM; everything it does is an action the export can replay.

import { Simulation } from './sim.js';
import { READ_PATHS, activityCounts, readBatches, readRuntime } from './snapshot.js';
import {
  getHttp, migrationExample, migrationOf, migrationPlanExample, modificationExample, restartExample, sendHttp,
} from './requests.js';
import { SAMPLES } from './samples.js';
import { renderBatches } from './ui/batches.js';
import { DiagramView } from './ui/diagram.js';
import { byId, clockTime, h } from './ui/dom.js';
import { OperationForms } from './ui/forms.js';
import { MigrationPicker } from './ui/migration.js';
import { renderTable, tableSection } from './ui/tables.js';
import { renderTimeline } from './ui/timeline.js';

const TABLES = ['instances', 'jobs', 'externalTasks', 'incidents'];
const SETTING_NAMES = ['taskFailureRate', 'jobFailureRate', 'workerRetries', 'retryTimeoutMs', 'workerMaxTasks', 'jobsPerTick', 'tickMs'];
/** Interval of the play loop and of connected-mode polling. */
const LOOP_MS = 100;
const POLL_MS = 2000;
/** Extra refreshes after a connected-mode request, so its effect shows without waiting for the poll. */
const REFRESH_AFTER_REQUEST_MS = [250, 1000];

/** The wasm module next to the page (dist/web/rebatch.wasm). */
const WASM_URL = new URL('rebatch.wasm', document.baseURI);

const ui = {
  /** @type {Simulation | null} */
  sim: null,
  mode: /** @type {'sim' | 'remote'} */ ('sim'),
  playing: false,
  /** Fractional ticks owed by the play loop. */
  owed: 0,
  /** Process definition key the diagram shows. */
  shown: /** @type {string | null} */ (null),
  renderQueued: false,
  rendering: false,
  /** @type {DiagramView} */
  diagram: /** @type {any} */ (null),
  /** @type {OperationForms} */
  forms: /** @type {any} */ (null),
  /** @type {MigrationPicker} */
  migration: /** @type {any} */ (null),
};

/** @param {string} text @param {'info' | 'error'} [kind] */
function say(text, kind = 'info') {
  const el = byId('status');
  el.textContent = text;
  el.className = `status ${kind}`;
}

// ---- simulation lifecycle ---------------------------------------------------

/** Starts a fresh run with the seed field's value. */
async function newRun() {
  pause();
  ui.sim?.close();
  ui.sim = await Simulation.create({ seed: seedField().value || '1', wasmUrl: WASM_URL });
  ui.shown = null;
  syncSettings();
  refreshProcesses();
  say(`New run, seed ${ui.sim.seed}.`);
  queueRender();
}

const seedField = () => /** @type {HTMLInputElement} */ (byId('seed'));

function syncSettings() {
  for (const name of SETTING_NAMES) {
    const input = /** @type {HTMLInputElement} */ (byId(`set-${name}`));
    input.value = String(ui.sim.settings[name]);
    showSettingValue(input);
  }
}

/** @param {HTMLInputElement} input */
function showSettingValue(input) {
  const out = input.parentElement?.querySelector('output');
  if (out) out.textContent = `${Math.round(Number(input.value) * 100)} %`;
}

/** Deploys a BPMN document and shows it. @param {string} resource @param {string} xml */
async function deploy(resource, xml) {
  try {
    const deployment = await ui.sim.deploy(resource, xml);
    const keys = Object.values(deployment.deployedProcessDefinitions ?? {}).map((d) => d.key);
    ui.shown = keys[0] ?? ui.shown;
    refreshProcesses();
    say(`Deployed ${resource}: ${keys.join(', ') || 'no executable process'}.`);
  } catch (err) {
    say(`${resource}: ${err.type ?? err.name}: ${err.message}`, 'error');
  }
  queueRender();
}

/** The process select lists every deployed definition key. */
function refreshProcesses() {
  const select = /** @type {HTMLSelectElement} */ (byId('process'));
  const keys = [...ui.sim.diagrams.keys()];
  select.replaceChildren(...keys.map((k) => h('option', { value: k }, k)));
  if (ui.shown) select.value = ui.shown;
  if (!ui.shown) return;
  const [latest] = ui.sim.engine.getProcessDefinitions({ key: ui.shown, latestVersion: 'true' });
  if (latest) ui.forms.setId('Process definition id', latest.id);
  const firstTask = ui.sim.models.get(ui.shown)?.activities.find((a) => /Task$/.test(a.type));
  if (latest && firstTask) ui.forms.setExample('restart', restartExample(latest.id, firstTask.id));
  if (latest && firstTask) ui.forms.setExample('modification', modificationExample(latest.id, firstTask.id));
  if (latest && firstTask) ui.forms.setExample('modification-sync', modificationExample(latest.id, firstTask.id));
  ui.migration.list(ui.sim.engine.getProcessDefinitions(), ui.shown);
  // Two versions: the migration forms move the previous one's instances to the latest.
  const previous = latest && ui.sim.engine.getProcessDefinitions({ key: ui.shown, version: String(latest.version - 1) })[0];
  if (previous) {
    const plan = ui.sim.engine.generateMigrationPlan({ sourceProcessDefinitionId: previous.id, targetProcessDefinitionId: latest.id });
    const mapped = plan.instructions.map((i) => i.sourceActivityIds[0]);
    ui.forms.setExample('migration-generate', { sourceProcessDefinitionId: previous.id, targetProcessDefinitionId: latest.id, updateEventTriggers: true });
    ui.forms.setExample('migration-validate', migrationPlanExample(previous.id, latest.id, mapped));
    ui.forms.setExample('migration', migrationExample(previous.id, latest.id, mapped));
  }
}

/** A plan the pickers validated: the migration forms take it, and the batch form shows. @param {any} plan */
function usePlan(plan) {
  ui.forms.setExample('migration-validate', plan);
  ui.forms.setExample('migration', migrationOf(plan));
  ui.forms.load('migration');
}

// ---- clock ------------------------------------------------------------------

function play() {
  if (ui.mode !== 'sim') return;
  ui.playing = true;
  const button = byId('play');
  button.setAttribute('aria-pressed', 'true');
  button.textContent = '❚❚ Pause';
}

function pause() {
  ui.playing = false;
  ui.owed = 0;
  const button = byId('play');
  button.setAttribute('aria-pressed', 'false');
  button.textContent = '▶ Play';
}

function step() {
  if (!ui.sim || ui.mode !== 'sim') return;
  ui.sim.step();
  queueRender();
}

/** The play loop: runs the ticks the speed owes, then renders once. */
function loop() {
  if (ui.playing && ui.sim) {
    ui.owed += (Number(/** @type {HTMLSelectElement} */ (byId('speed')).value) * LOOP_MS) / 1000;
    const n = Math.floor(ui.owed);
    ui.owed -= n;
    if (n > 0) {
      try {
        ui.sim.run(n);
      } catch (err) {
        pause();
        say(`Simulation stopped: ${err.message}`, 'error');
      }
      queueRender();
    }
  }
  setTimeout(loop, LOOP_MS);
}

// ---- rendering ----------------------------------------------------------------

function queueRender() {
  if (ui.renderQueued) return;
  ui.renderQueued = true;
  requestAnimationFrame(() => {
    ui.renderQueued = false;
    render().catch((err) => say(`Rendering failed: ${err.message}`, 'error'));
  });
}

async function render() {
  if (ui.rendering) {
    queueRender();
    return;
  }
  ui.rendering = true;
  try {
    if (ui.mode === 'sim') await renderSimulation();
    else await renderRemote();
  } finally {
    ui.rendering = false;
  }
}

async function renderSimulation() {
  const sim = ui.sim;
  if (!sim) return;
  byId('clock').textContent = `${clockTime(sim.now)} · tick ${sim.tick}`;
  const runtime = readRuntime(sim.engine);
  for (const name of TABLES) renderTable(byId(`table-${name}`), name, runtime[name], byId(`count-${name}`));
  if (ui.shown && sim.diagrams.has(ui.shown)) {
    await ui.diagram.show(/** @type {string} */ (sim.diagrams.get(ui.shown)));
    byId('canvas').querySelector('.hint')?.remove();
    ui.diagram.setCounts(activityCounts(runtime, ui.shown));
  }
  renderTimeline(/** @type {any} */ (byId('timeline')), sim.timeline);
  const local = async (operation, query) => sim.engine.call(operation, { query });
  renderBatches(byId('batches'), byId('history'), await readBatches(local), pickBatch);
  document.body.dataset.tick = String(sim.tick); // rendered up to this tick (tests wait on it)
}

async function renderRemote() {
  const base = baseUrl();
  const remote = async (operation, query) => {
    const qs = new URLSearchParams(query ?? {}).toString();
    const res = await getHttp(base, `${READ_PATHS[operation]}${qs ? `?${qs}` : ''}`, credentials());
    if (res.status === 401) throw new Error('the server asks for a user name and password (401): fill them in above');
    if (res.status !== 200) throw new Error(`GET ${READ_PATHS[operation]}: ${res.status} ${res.body?.message ?? ''}`);
    return res.body;
  };
  try {
    renderBatches(byId('batches'), byId('history'), await readBatches(remote), pickBatch);
    const definitions = await getHttp(base, '/process-definition', credentials());
    if (definitions.status === 200) ui.migration.list(/** @type {any} */ (definitions.body));
    say(`Connected to ${base}.`);
  } catch (err) {
    say(`Cannot read batches from ${base}: ${err.message}`, 'error');
  }
}

/** @param {string} id */
function pickBatch(id) {
  ui.forms.setId('Batch id', id);
  byId('op-select').focus();
}

// ---- requests ---------------------------------------------------------------

/** @type {import('./ui/forms.js').Sender} */
async function send(form, id, body) {
  if (ui.mode === 'remote') {
    const res = await sendHttp(baseUrl(), form, id, body, credentials());
    // At once, and again while the server's job executor runs the batch's first jobs.
    queueRender();
    for (const ms of REFRESH_AFTER_REQUEST_MS) setTimeout(queueRender, ms);
    return res;
  }
  const request = {};
  if (form.path.includes('{id}')) request.id = id;
  if (form.query) request.query = form.query;
  if (body !== undefined) request.body = body;
  const res = ui.sim.request(form.operation, request);
  queueRender();
  return res;
}

function baseUrl() {
  return /** @type {HTMLInputElement} */ (byId('base-url')).value.trim();
}

/** The connected mode's user and password (kept in the form only, never stored). */
function credentials() {
  const field = (id) => /** @type {HTMLInputElement} */ (byId(id)).value;
  return { user: field('remote-user').trim(), password: field('remote-password') };
}

/** @param {'sim' | 'remote'} mode */
function setMode(mode) {
  ui.mode = mode;
  pause();
  document.body.classList.toggle('mode-sim', mode === 'sim');
  document.body.classList.toggle('mode-remote', mode === 'remote');
  say(mode === 'sim' ? 'Simulation: the engine runs in this page.' : `Connected mode: requests go to ${baseUrl()}.`);
  ui.forms.clearResponse();
  if (mode === 'sim' && ui.sim) ui.migration.list(ui.sim.engine.getProcessDefinitions(), ui.shown);
  byId('footer-engine').textContent =
    mode === 'sim'
      ? "The engine is rebatch's WebAssembly core, running in this page."
      : `The engine is the REST API at ${baseUrl()}; this page only sends requests and reads batches.`;
  queueRender();
}

// ---- export / import ----------------------------------------------------------

function exportRun() {
  const data = ui.sim.export();
  const blob = new Blob([JSON.stringify(data, null, 1)], { type: 'application/json' });
  const a = h('a', { href: URL.createObjectURL(blob), download: `rebatch-run-seed-${data.seed}-tick-${data.tick}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(/** @type {HTMLAnchorElement} */ (a).href), 1000);
  say(`Exported seed ${data.seed}, ${data.actions.length} actions, tick ${data.tick}.`);
}

/** @param {File} file */
async function importRun(file) {
  pause();
  try {
    const data = JSON.parse(await file.text());
    const { sim, identical } = await Simulation.import(data, { wasmUrl: WASM_URL });
    ui.sim?.close();
    ui.sim = sim;
    seedField().value = sim.seed;
    ui.shown = [...sim.diagrams.keys()][0] ?? null;
    syncSettings();
    refreshProcesses();
    const check = identical === null ? 'no state to compare' : identical ? 'state identical to the export' : 'state DIFFERS from the export';
    say(`Imported ${file.name}: replayed ${data.actions.length} actions to tick ${sim.tick}; ${check}.`, identical === false ? 'error' : 'info');
  } catch (err) {
    say(`Import failed: ${err.message}`, 'error');
  }
  queueRender();
}

// ---- wiring -------------------------------------------------------------------

/** @param {string} id @param {string} type @param {(e: any) => void} fn */
const on = (id, type, fn) => byId(id).addEventListener(type, fn);

function wire() {
  on('reset', 'click', () => newRun());
  on('play', 'click', () => (ui.playing ? pause() : play()));
  on('step', 'click', step);
  on('export', 'click', exportRun);
  on('import', 'change', (e) => e.target.files[0] && importRun(e.target.files[0]).finally(() => (e.target.value = '')));
  on('deploy', 'click', async () => {
    const sample = SAMPLES[Number(/** @type {HTMLSelectElement} */ (byId('sample')).value)];
    const res = await fetch(new URL(sample.file, document.baseURI));
    if (!res.ok) return say(`Cannot load ${sample.file}: HTTP ${res.status}`, 'error');
    await deploy(sample.file.split('/').pop(), await res.text());
  });
  on('bpmn-file', 'change', async (e) => {
    const file = e.target.files[0];
    if (file) await deploy(file.name, await file.text());
    e.target.value = '';
  });
  on('process', 'change', (e) => {
    ui.shown = e.target.value;
    refreshProcesses();
    queueRender();
  });
  on('start', 'click', () => {
    if (!ui.shown) return say('Deploy a process first.', 'error');
    try {
      const count = Number(/** @type {HTMLInputElement} */ (byId('start-count')).value);
      const ids = ui.sim.start(ui.shown, count);
      say(`Started ${ids.length} instances of ${ui.shown}.`);
    } catch (err) {
      say(`${err.type ?? err.name}: ${err.message}`, 'error');
    }
    queueRender();
  });
  for (const name of SETTING_NAMES) {
    on(`set-${name}`, 'change', (e) => {
      ui.sim.set(/** @type {any} */ (name), Number(e.target.value));
      e.target.value = String(ui.sim.settings[name]);
      showSettingValue(e.target);
    });
    on(`set-${name}`, 'input', (e) => showSettingValue(e.target));
  }
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener('change', (e) => setMode(/** @type {any} */ (e.target).value));
  }
  on('connect', 'click', () => queueRender());
  wireTabs();
  wireDrop();
  document.addEventListener('keydown', shortcut);
  window.addEventListener('resize', () => ui.diagram.fit());
}

/** Space: play/pause, n: step, unless typing in a field. @param {KeyboardEvent} e */
function shortcut(e) {
  const t = /** @type {HTMLElement} */ (e.target);
  if (e.ctrlKey || e.metaKey || e.altKey || t.closest('input, textarea, select, button, [contenteditable]')) return;
  if (e.key === ' ') {
    e.preventDefault();
    ui.playing ? pause() : play();
  } else if (e.key === 'n') {
    step();
  }
}

/** Tabs with arrow-key navigation (WAI-ARIA tabs pattern). */
function wireTabs() {
  const tabs = /** @type {HTMLElement[]} */ ([...document.querySelectorAll('[role="tab"]')]);
  const select = (tab) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      byId(/** @type {string} */ (t.getAttribute('aria-controls'))).hidden = !on;
    }
    tab.focus();
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => select(tab));
    tab.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowRight') select(tabs[(i + 1) % tabs.length]);
      if (e.key === 'ArrowLeft') select(tabs[(i + tabs.length - 1) % tabs.length]);
    });
  });
}

function wireDrop() {
  const canvas = byId('canvas');
  canvas.addEventListener('dragover', (e) => {
    e.preventDefault();
    canvas.classList.add('dropping');
  });
  canvas.addEventListener('dragleave', () => canvas.classList.remove('dropping'));
  canvas.addEventListener('drop', async (e) => {
    e.preventDefault();
    canvas.classList.remove('dropping');
    const file = e.dataTransfer?.files[0];
    if (file) await deploy(file.name, await file.text());
  });
}

async function main() {
  ui.diagram = new DiagramView(byId('canvas'));
  ui.forms = new OperationForms(byId('forms'), send);
  ui.migration = new MigrationPicker(send, usePlan);
  byId('sample').replaceChildren(...SAMPLES.map((s, i) => h('option', { value: i }, s.label)));
  const here = location.protocol.startsWith('http') ? `${location.origin}/engine-rest` : 'http://127.0.0.1:8080/engine-rest';
  /** @type {HTMLInputElement} */ (byId('base-url')).value = here;
  for (const name of TABLES) tableSection(byId(`table-${name}`), name, queueRender);
  wire();
  await newRun();
  loop();
  setInterval(() => ui.mode === 'remote' && queueRender(), POLL_MS);
  document.body.dataset.readyMs = String(Math.round(performance.now())); // since navigation start
  document.body.dataset.ready = 'true';
}

main().catch((err) => say(`The page failed to start: ${err.message}`, 'error'));
