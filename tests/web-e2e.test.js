// The simulation page end to end, in headless Chromium (Debian's package,
// driven by playwright-core): `rebatch serve` serves the built page at /;
// the scenario deploys a sample, starts 50 instances, lets every worker
// fail into incidents, creates an external-task-retries batch from the
// form, steps the clock until the batch ends, and checks what the page
// shows. Screenshots of the final state go to test-artifacts/ (ignored).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { BIN, spawnServer } from './support/rest-helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const BUILT = existsSync(new URL('../dist/web/index.html', import.meta.url));

let server;
let browser;
let origin;

before(async () => {
  if (!BUILT) throw new Error('dist/web is missing: run "npm run build:web" (npm test does)');
  // A short batchPollTime: the monitor job of a batch created in connected mode ends it within a second.
  server = await spawnServer(['--memory', '--config', '{"batchPollTime":1}']);
  origin = new URL(server.base).origin;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      // playwright-core gives every launch a fresh temporary profile (--user-data-dir).
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.child.kill('SIGTERM');
  await server?.exited;
});

/**
 * A page with every console error, page error and failed request collected.
 * @param {{width: number, height: number}} viewport
 */
async function openPage(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  // The page's Content-Security-Policy must hold: every violation is a problem.
  await page.exposeFunction('reportCspViolation', (v) => problems.push(`CSP violation: ${v}`));
  await page.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) =>
      window.reportCspViolation(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`),
    ),
  );
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message} ${e.stack}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) {
      problems.push(`request outside the server: ${r.url()}`);
    }
  });
  const started = Date.now();
  const response = await page.goto(`${origin}/`);
  const headers = response.headers();
  assert.match(headers['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  await page.waitForSelector('body[data-ready="true"]');
  const readyMs = Number(await page.getAttribute('body', 'data-ready-ms'));
  return { page, context, problems, loadMs: Date.now() - started, readyMs };
}

/** Sends the request form and waits for its answer: {status, body}. @param {import('playwright-core').Page} page */
async function sendForm(page) {
  const before = Number((await page.getAttribute('#op-response', 'data-answers')) ?? 0);
  await page.click('#op-send');
  await page.waitForSelector(`#op-response[data-answers="${before + 1}"]`);
  const text = await page.textContent('#op-response');
  return { status: Number(await page.textContent('#op-status')), body: text === '(no content)' ? null : JSON.parse(text) };
}

/** The numbers a table's tab shows. @param {import('playwright-core').Page} page @param {string} name */
const tableTotal = async (page, name) => Number(await page.getAttribute(`#count-${name}`, 'data-total'));

/** Progress bars of the running batches: [{name, value, max}]. */
const bars = (page) =>
  page.$$eval('#batches progress', (els) =>
    els.map((p) => ({ name: p.closest('.bar').querySelector('.bar-label').textContent, value: p.value, max: p.max })),
  );

test('the page runs the retries scenario: 50 failed instances, a retries batch from the form, incidents gone', async () => {
  const t0 = Date.now();
  const { page, context, problems, loadMs, readyMs } = await openPage();
  try {
    // Deploy the invoice sample and make every worker fail (keyboard: End on the range).
    await page.selectOption('#sample', { index: 0 });
    await page.click('#deploy');
    await page.waitForFunction(() => /^Deployed/.test(document.querySelector('#status')?.textContent ?? ''));
    await page.waitForSelector('#canvas .djs-container svg .djs-element');
    await page.focus('#set-taskFailureRate');
    await page.keyboard.press('End');
    assert.equal(await page.inputValue('#set-taskFailureRate'), '1');

    await page.fill('#start-count', '50');
    await page.click('#start');
    await page.waitForFunction(() => document.querySelector('#count-instances')?.dataset.total === '50');
    assert.equal(await page.textContent('.overlay-badges[data-activity-id="charge"] .tasks'), '50');

    // Run the clock until every task has failed its retries away.
    await page.selectOption('#speed', '50');
    await page.click('#play');
    await page.waitForFunction(() => document.querySelector('#count-incidents')?.dataset.total === '50', null, { timeout: 30000 });
    await page.click('#play');
    assert.equal(await page.getAttribute('#play', 'aria-pressed'), 'false');
    assert.equal(await page.textContent('.overlay-badges[data-activity-id="charge"] .incidents'), '50');
    const timeline = await page.$$eval('#timeline polyline', (ls) => ls.length);
    assert.equal(timeline, 3);

    // Workers recover; the retries batch comes from the form, with the REST body shown.
    await page.focus('#set-taskFailureRate');
    await page.keyboard.press('Home');
    // A slow job executor (5 jobs a tick), so the monitor job meets a finished batch a tick later.
    await page.fill('#set-jobsPerTick', '5');
    await page.keyboard.press('Tab');
    await page.selectOption('#op-select', 'external-task-retries');
    assert.equal(await page.textContent('#op-line'), 'POST /engine-rest/external-task/retries-async');
    assert.deepEqual(JSON.parse(await page.inputValue('#op-body')), { retries: 3, externalTaskQuery: { noRetriesLeft: true } });
    const { status: created, body: batch } = await sendForm(page);
    assert.equal(created, 200);
    assert.equal(batch.type, 'set-external-task-retries');
    assert.equal(batch.totalJobs, 50);

    // Step the clock until the batch is in the history with an end time, watching the bars.
    let seenFull = false;
    let midShot = null;
    let steps = 0;
    for (; steps < 200; steps++) {
      const ended = await page.$(`#history tr[data-batch-id="${batch.id}"][data-ended="true"]`);
      if (ended) break;
      const b = await bars(page);
      const completed = b.find((x) => x.name === 'completed')?.value ?? 0;
      if (!midShot && completed >= 20 && completed < 40) {
        midShot = join(ARTIFACTS, 'web-e2e-batch-running.png');
        await page.screenshot({ path: midShot });
      }
      if (b.length && b.find((x) => x.name === 'completed').value === 50) {
        assert.deepEqual(b.map((x) => [x.name, x.value, x.max]), [['created', 50, 50], ['completed', 50, 50], ['failed', 0, 50], ['remaining', 0, 50]]);
        assert.deepEqual(
          await page.$$eval('#batches .bar-value', (els) => els.map((e) => e.textContent)),
          ['50/50 (100 %)', '50/50 (100 %)', '0/50 (0 %)', '0/50 (0 %)'],
        );
        seenFull = true;
      }
      const next = Number(await page.getAttribute('body', 'data-tick')) + 1;
      await page.click('#step');
      await page.waitForSelector(`body[data-tick="${next}"]`);
    }
    assert.ok(seenFull, 'the progress bars reached 100 % before the monitor job ended the batch');
    assert.ok(steps < 200, 'the batch ended');
    assert.match(await page.textContent(`#history tr[data-batch-id="${batch.id}"] .end-time`), /^\d\d:\d\d:\d\d$/);
    assert.equal(await page.textContent('#batches'), 'No running batches.');
    assert.equal(await tableTotal(page, 'incidents'), 0);

    // The workers now finish every instance.
    await page.click('#play');
    await page.waitForFunction(() => document.querySelector('#count-externalTasks')?.dataset.total === '0');
    await page.click('#play');
    await page.click('#tab-instances');
    await page.fill('#table-instances input.filter', 'completed invoice');
    await page.waitForFunction(() => document.querySelector('#count-instances')?.dataset.shown === '50');
    assert.equal(await page.$$eval('#table-instances tbody tr', (rows) => rows.length), 50);
    assert.equal(await page.$('.overlay-badges[data-activity-id="charge"]'), null, 'no badges left on the activity');

    // Export, then import the file: the replay reaches the identical state.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const exported = join(ARTIFACTS, 'web-e2e-run.json');
    await download.saveAs(exported);
    await page.setInputFiles('#import', exported);
    await page.waitForFunction(() => /^Imported/.test(document.querySelector('#status')?.textContent ?? ''));
    assert.match(await page.textContent('#status'), /state identical to the export/);
    assert.equal(await tableTotal(page, 'instances'), 50);

    await page.fill('#table-instances input.filter', '');
    await page.screenshot({ path: join(ARTIFACTS, 'web-e2e-final.png'), fullPage: true });
    assert.deepEqual(problems, []);
    writeFileSync(join(ARTIFACTS, 'web-e2e-timing.json'), JSON.stringify({ loadMs, readyMs, scenarioMs: Date.now() - t0, steps }, null, 2));
  } finally {
    await context.close();
  }
});

test('rejected input shows Camunda error JSON; connected mode talks to the serving rebatch', async () => {
  const { page, context, problems } = await openPage();
  try {
    await page.selectOption('#op-select', 'external-task-retries');
    await page.fill('#op-body', '{"externalTaskIds": ["x"]}');
    assert.deepEqual(await sendForm(page), {
      status: 400,
      body: { type: 'InvalidRequestException', message: 'The number of retries cannot be null.', code: null },
    });
    await page.fill('#op-body', '{"retries": 1,');
    assert.deepEqual(await sendForm(page), { status: 400, body: { type: 'InvalidRequestException', message: '', code: null } });

    // Connected: the same form, sent to the serving rebatch; its answers are the server's own.
    // The simulation's last answer and its footer go.
    await page.check('input[name="mode"][value="remote"]');
    assert.equal(await page.inputValue('#base-url'), `${origin}/engine-rest`);
    await page.waitForFunction(() => /^Connected to/.test(document.querySelector('#status')?.textContent ?? ''));
    assert.equal(await page.textContent('#op-response'), '');
    assert.equal(await page.textContent('#op-status'), '');
    assert.equal(await page.textContent('#footer-engine'), `The engine is the REST API at ${origin}/engine-rest; this page only sends requests and reads batches.`);
    assert.equal(await page.isVisible('#canvas'), false, 'simulation panels are hidden');
    for (const body of ['{"externalTaskIds": ["x"]}', '{"retries": 2, "externalTaskIds": ["no-such-task"]}']) {
      await page.fill('#op-body', body);
      const shown = await sendForm(page);
      const direct = await fetch(`${origin}/engine-rest/external-task/retries-async`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body,
      });
      const directBody = await direct.json();
      assert.equal(shown.status, direct.status);
      if (direct.status !== 200) assert.deepEqual(shown.body, directBody);
    }
    // A real batch on the server: its instances come over REST, the batch from the page's form.
    const form = new FormData();
    form.append('deployment-name', 'invoice');
    form.append('data', new Blob([readFileSync(new URL('../web/samples/invoice.bpmn', import.meta.url))]), 'invoice.bpmn');
    assert.equal((await fetch(`${origin}/engine-rest/deployment/create`, { method: 'POST', body: form })).status, 200);
    for (let i = 0; i < 3; i++) {
      const started = await fetch(`${origin}/engine-rest/process-definition/key/invoice/start`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}',
      });
      assert.equal(started.status, 200);
    }
    await page.fill('#op-body', '{"retries": 5, "externalTaskQuery": {"topicName": "charge"}}');
    const created = await sendForm(page);
    assert.equal(created.status, 200);
    assert.equal(created.body.totalJobs, 3);
    // The server's job executor runs it; the panel polls /batch/statistics and /history/batch.
    await page.waitForSelector(`#history tr[data-batch-id="${created.body.id}"][data-ended="true"]`, { timeout: 60000 });
    const tasks = await (await fetch(`${origin}/engine-rest/external-task?topicName=charge`)).json();
    assert.deepEqual(tasks.map((t) => t.retries), [5, 5, 5]);
    // The synchronous external task retries form: PUT /external-task/retries.
    await page.selectOption('#op-select', 'external-task-retries-sync');
    assert.equal(await page.textContent('#op-line'), 'PUT /engine-rest/external-task/retries');
    await page.fill('#op-body', JSON.stringify({ retries: 7, externalTaskIds: tasks.map((t) => t.id) }));
    assert.deepEqual(await sendForm(page), { status: 204, body: null });
    const synced = await (await fetch(`${origin}/engine-rest/external-task?topicName=charge`)).json();
    assert.deepEqual(synced.map((t) => t.retries), [7, 7, 7]);

    // A request's batch shows at once, not at the next 2 s poll: a batch suspended from the
    // form is in the panel well within the poll interval.
    await page.selectOption('#op-select', 'external-task-retries');
    await page.fill('#op-body', JSON.stringify({ retries: 5, externalTaskIds: tasks.map((t) => t.id) }));
    const quick = await sendForm(page);
    assert.equal(quick.status, 200);
    await page.waitForSelector(`#history tr[data-batch-id="${quick.body.id}"], #batches [data-batch-id="${quick.body.id}"]`, { timeout: 1500 });

    // Suspend, activate and delete from the forms: a restart batch over the still running
    // instances stays (its execution job fails, ENGINE-13040), so it is there to act on.
    const definition = (await (await fetch(`${origin}/engine-rest/process-definition/key/invoice`)).json()).id;
    const running = (await (await fetch(`${origin}/engine-rest/process-instance`)).json()).map((p) => p.id);
    await page.selectOption('#op-select', 'restart');
    await page.fill('#op-id', definition);
    await page.fill('#op-body', JSON.stringify({ processInstanceIds: running, instructions: [{ type: 'startBeforeActivity', activityId: 'charge' }] }));
    const restart = await sendForm(page);
    assert.equal(restart.status, 200);
    const batchUrl = `${origin}/engine-rest/batch/${restart.body.id}`;
    for (const [op, suspended] of [['batch-suspend', true], ['batch-activate', false]]) {
      await page.selectOption('#op-select', op);
      await page.fill('#op-id', restart.body.id);
      assert.deepEqual(await sendForm(page), { status: 204, body: null });
      assert.equal((await (await fetch(batchUrl)).json()).suspended, suspended);
    }
    await page.selectOption('#op-select', 'batch-delete');
    await page.fill('#op-id', restart.body.id);
    assert.deepEqual(await sendForm(page), { status: 204, body: null });
    assert.equal((await fetch(batchUrl)).status, 404);
    assert.equal((await fetch(`${origin}/engine-rest/history/batch/${restart.body.id}`)).status, 404, 'cascade=true');

    // Chromium logs every 4xx answer to fetch() as a console error; those are the answers shown above.
    const unexpected = problems.filter((p) => !/status of 4\d\d \(/.test(p));
    assert.deepEqual(unexpected, []);
  } finally {
    await context.close();
  }
});

test('connected mode against a server with --auth: 401 until the user and password are filled in', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rebatch-e2e-auth-'));
  const db = join(dir, 'auth.db');
  const made = spawnSync(process.execPath, [BIN, 'user', 'create', 'demo', '--db', db], { input: 'pass: word\n' });
  assert.equal(made.status, 0, String(made.stderr));
  const secured = await spawnServer(['--db', db, '--auth', '--no-job-executor']);
  const securedOrigin = new URL(secured.base).origin;
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = [];
  page.on('console', (m) => /Content Security Policy/.test(m.text()) && violations.push(m.text()));
  try {
    // The page itself needs no user; the API does.
    await page.goto(`${securedOrigin}/`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.check('input[name="mode"][value="remote"]');
    await page.waitForFunction(() => /401/.test(document.querySelector('#status')?.textContent ?? ''));
    await page.selectOption('#op-select', 'external-task-retries');
    await page.fill('#op-body', '{"retries": 1, "externalTaskIds": []}');
    assert.equal((await sendForm(page)).status, 401);

    await page.fill('#remote-user', 'demo');
    await page.fill('#remote-password', 'pass: word');
    await page.click('#connect');
    await page.waitForFunction(() => /^Connected to/.test(document.querySelector('#status')?.textContent ?? ''));
    const sent = await sendForm(page);
    assert.equal(sent.status, 400, 'past the authentication: the engine\'s own answer');
    assert.equal(sent.body.message, 'externalTaskIds is empty');
    assert.deepEqual(violations, []);
  } finally {
    await context.close();
    secured.child.kill('SIGTERM');
    await secured.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('narrow window: one column, nothing wider than the window; keyboard shortcuts', async () => {
  const { page, context, problems } = await openPage({ width: 390, height: 800 });
  try {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the window`);
    const columns = await page.$eval('.layout', (el) => getComputedStyle(el).gridTemplateColumns.split(' ').length);
    assert.equal(columns, 1);
    // Keyboard: n steps, space plays and pauses (focus outside form fields).
    await page.click('h1');
    await page.keyboard.press('n');
    await page.waitForSelector('body[data-tick="1"]');
    await page.keyboard.press(' ');
    assert.equal(await page.getAttribute('#play', 'aria-pressed'), 'true');
    await page.keyboard.press(' ');
    assert.equal(await page.getAttribute('#play', 'aria-pressed'), 'false');
    await page.screenshot({ path: join(ARTIFACTS, 'web-e2e-narrow.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the build is static: served under a sub-path by a plain file server, the page runs', async () => {
  const dist = fileURLToPath(new URL('../dist/web/', import.meta.url));
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const files = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (!path.startsWith('/some/sub/')) return res.writeHead(404).end();
    try {
      const rel = path.slice('/some/sub/'.length) || 'index.html';
      const data = await readFile(join(dist, rel));
      res.writeHead(200, { 'Content-Type': types[extname(rel)] ?? 'application/octet-stream' }).end(data);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => files.listen(0, '127.0.0.1', resolve));
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  try {
    await page.goto(`http://127.0.0.1:${files.address().port}/some/sub/`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.selectOption('#sample', { index: 1 });
    await page.click('#deploy');
    await page.waitForFunction(() => /^Deployed/.test(document.querySelector('#status')?.textContent ?? ''));
    await page.waitForSelector('#canvas .djs-container svg .djs-element');
    await page.fill('#start-count', '5');
    await page.click('#start');
    await page.waitForFunction(() => document.querySelector('#count-jobs')?.dataset.total === '5');
    assert.equal(await page.textContent('.overlay-badges[data-activity-id="validate"] .jobs'), '5');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    files.close();
  }
});

test('on a narrow window the diagram is refitted: every element of the sample is inside the canvas', async () => {
  const { page, context, problems } = await openPage();
  try {
    await page.selectOption('#sample', { index: 0 });
    await page.click('#deploy');
    await page.waitForSelector('#canvas .djs-container svg .djs-element.djs-shape');
    // The window narrows to one column while the canvas is hidden (connected mode), so no
    // resize can be measured then; back in the simulation the diagram must still fit.
    await page.check('input[name="mode"][value="remote"]');
    await page.setViewportSize({ width: 420, height: 900 });
    await page.waitForTimeout(200);
    await page.check('input[name="mode"][value="sim"]');
    await page.waitForTimeout(500);
    const boxes = await page.$$eval('#canvas .djs-element.djs-shape', (els) => {
      const canvas = document.querySelector('#canvas').getBoundingClientRect();
      return els.map((el) => {
        const b = el.getBoundingClientRect();
        return { id: el.dataset.elementId, inside: b.left >= canvas.left - 1 && b.right <= canvas.right + 1 && b.top >= canvas.top - 1 && b.bottom <= canvas.bottom + 1 };
      });
    });
    await page.screenshot({ path: join(ARTIFACTS, 'web-narrow-420.png') });
    assert.ok(boxes.length >= 3);
    assert.deepEqual(boxes.filter((b) => !b.inside), []);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('migration pickers: two versions picked, the generated plan validated and shown, the batch form filled; the sync forms exist', async () => {
  const { page, context, problems } = await openPage();
  try {
    const deploySample = async (index) => {
      await page.selectOption('#sample', { index });
      await page.click('#deploy');
      await page.waitForFunction(() => /^Deployed/.test(document.querySelector('#status')?.textContent ?? ''));
    };
    await deploySample(0);
    await page.fill('#start-count', '3');
    await page.click('#start');
    await page.waitForFunction(() => document.querySelector('#count-instances')?.dataset.total === '3');
    await deploySample(3);
    const picked = async (id) => page.$eval(id, (s) => s.selectedOptions[0]?.textContent);
    assert.equal(await picked('#mig-source'), 'invoice v1');
    assert.equal(await picked('#mig-target'), 'invoice v2');

    await page.click('#mig-check');
    await page.waitForSelector('#mig-report[data-state]');
    assert.equal(await page.getAttribute('#mig-report', 'data-state'), 'valid');
    assert.deepEqual(await page.$$eval('#mig-report li', (li) => li.map((l) => l.textContent)), ['charge → charge']);
    assert.equal(await page.inputValue('#op-select'), 'migration');
    const body = JSON.parse(await page.inputValue('#op-body'));
    const source = await page.inputValue('#mig-source');
    assert.equal(body.migrationPlan.sourceProcessDefinitionId, source);
    assert.equal(body.processInstanceQuery.processDefinitionId, source);
    const { status, body: batch } = await sendForm(page);
    assert.equal(status, 200);
    assert.equal(batch.type, 'instance-migration');
    assert.equal(batch.totalJobs, 3);

    // Picking the same version both ways round is valid too; an unknown target is the engine's error.
    await page.selectOption('#mig-source', await page.inputValue('#mig-target'));
    await page.$eval('#mig-target', (s) => s.append(new Option('gone', 'invoice:99:none', true, true)));
    await page.click('#mig-check');
    await page.waitForSelector('#mig-report[data-state="error"]');
    assert.match(await page.textContent('#mig-report'), /400 InvalidRequestException: ENGINE-23008 Target process definition with id 'invoice:99:none' does not exist/);

    for (const [key, line] of [['migration-generate', 'POST /engine-rest/migration/generate'], ['modification-sync', 'POST /engine-rest/modification/execute']]) {
      await page.selectOption('#op-select', key);
      assert.equal(await page.textContent('#op-line'), line);
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
