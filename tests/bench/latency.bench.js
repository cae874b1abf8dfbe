// Batch latency benchmark (not a test): how long a small batch takes from
// its creating request to its historic endTime, through `rebatch serve`
// with default settings (SQLite file, job executor on), as a user sees it.
//
//   node tests/bench/latency.bench.js        (part of npm run bench)
//   BENCH_ITEMS=10 BENCH_ROUNDS=3            (defaults)
//
// For each of the three batch types, BENCH_ROUNDS batches of BENCH_ITEMS
// items, each on fixtures made before the clock starts. Prints
//   bench batch-latency type=<batch type> items=10 seconds=<max> median_seconds=<median> target=1
// seconds: the slowest round, from just before the POST to the batch's
// endTime (the server's clock, millisecond dates). Exits 1 when a batch
// does not end within 90 s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { deploy, externalTaskBpmn, spawnServer } from '../support/rest-helpers.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_S = 1;

const TIMER_BPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs-wait" targetNamespace="http://example.com/rebatch">
  <bpmn:process id="wait" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="timer" />
    <bpmn:intermediateCatchEvent id="timer"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="timer" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

const DONE_BPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs-done" targetNamespace="http://example.com/rebatch">
  <bpmn:process id="done" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;

/** Camunda's date (+0000 offset) as epoch ms. */
const camundaMs = (text) => Date.parse(text.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function must(api, method, path, body, status = 200) {
  const res = await api(method, path, body, { validate: false });
  if (res.status !== status) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
  return res.body;
}

async function startInstances(api, key, n) {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push((await must(api, 'POST', `/process-definition/key/${key}/start`, {})).id);
  return ids;
}

/** Fixtures for one round of each type: returns {type: () => POST body and path}. */
async function fixtures(api) {
  const waiting = await startInstances(api, 'wait', ITEMS);
  const ext = await startInstances(api, 'ext', ITEMS);
  const extTasks = (await must(api, 'GET', '/external-task?topicName=work')).filter((t) => ext.includes(t.processInstanceId));
  const done = await startInstances(api, 'done', ITEMS);
  const def = (await must(api, 'GET', '/process-definition/key/done')).id;
  return {
    'set-job-retries': ['/process-instance/job-retries', { processInstances: waiting, retries: 5 }],
    'set-external-task-retries': ['/external-task/retries-async', { externalTaskIds: extTasks.map((t) => t.id), retries: 5 }],
    'instance-restart': [`/process-definition/${def}/restart-async`,
      { processInstanceIds: done, instructions: [{ type: 'startBeforeActivity', activityId: 'end' }] }],
  };
}

async function endOf(api, batchId) {
  const end = Date.now() + 90_000;
  for (;;) {
    const hist = await must(api, 'GET', `/history/batch/${batchId}`);
    if (hist.endTime) return camundaMs(hist.endTime);
    if (Date.now() > end) throw new Error(`batch ${batchId} did not end within 90 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'rebatch-latency-'));
const srv = await spawnServer(['--db', join(dir, 'bench.db'), '--no-web']);
let failed = false;
try {
  for (const [name, xml] of [['wait.bpmn', TIMER_BPMN], ['ext.bpmn', externalTaskBpmn('ext', 'work')], ['done.bpmn', DONE_BPMN]]) {
    const res = await deploy(srv.api, { [name]: xml });
    if (res.status !== 200) throw new Error(`deploy ${name}: ${res.status} ${res.text}`);
  }
  const times = { 'set-job-retries': [], 'set-external-task-retries': [], 'instance-restart': [] };
  for (let round = 0; round < ROUNDS; round++) {
    const made = await fixtures(srv.api);
    for (const [type, [path, body]] of Object.entries(made)) {
      const t0 = Date.now();
      const batch = await must(srv.api, 'POST', path, body);
      times[type].push((await endOf(srv.api, batch.id) - t0) / 1000);
    }
  }
  for (const [type, xs] of Object.entries(times)) {
    console.log(`bench batch-latency type=${type} items=${ITEMS} seconds=${Math.max(...xs).toFixed(3)} ` +
      `median_seconds=${median(xs).toFixed(3)} rounds=${xs.length} target=${TARGET_S}`);
  }
} catch (err) {
  console.error(err);
  failed = true;
} finally {
  srv.child.kill('SIGTERM');
  await srv.exited;
  rmSync(dir, { recursive: true, force: true });
}
if (failed) process.exitCode = 1;
