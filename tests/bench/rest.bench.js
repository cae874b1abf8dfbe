// REST load benchmark (not a test): autocannon on 127.0.0.1 against
// `rebatch serve --memory` and against a bare node:http server answering the
// same bytes, both child processes, measured in the same run (alternating
// one-second rounds).
//
//   node tests/bench/rest.bench.js            (npm run bench:rest)
//   BENCH_SECONDS=5 BENCH_CONNECTIONS=10      (defaults)
//
// Scenarios: GET /engine-rest/batch, PUT /engine-rest/external-task/retries
// (one id), then a mixed read/write load on rebatch alone that must have
// zero errors. Ends with one line per scenario:
//   bench rest-get-batch rps=... bare_rps=... ratio=... errors=0 round_ratio=... cpu_us=... bare_cpu_us=... cpu_ratio=...
// ratio is the target (total requests over total); round_ratio the median of
// the per-round ratios; cpu_* each server's CPU time per request (Linux).
// Exits 1 on any error or non-2xx answer.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

import { deploy, externalTaskBpmn, spawnServer } from '../support/rest-helpers.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const TARGET_RATIO = 0.5;

/** A bare node:http server answering each `METHOD path` with fixed bytes; prints its port. */
const BARE_SERVER = `
const http = require('node:http');
const answers = new Map(JSON.parse(process.argv[1]).map((a) => [a.method + ' ' + a.path, a]));
const server = http.createServer((req, res) => {
  const a = answers.get(req.method + ' ' + req.url);
  req.on('data', () => {});
  req.on('end', () => {
    if (!a) { res.writeHead(404); res.end(); return; }
    res.writeHead(a.status, a.headers);
    res.end(a.body);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
`;

function spawnBare(answers) {
  const child = spawn(process.execPath, ['-e', BARE_SERVER, JSON.stringify(answers)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}` });
    });
    child.on('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
}

function cannon(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, duration: SECONDS, ...opts }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/** CPU milliseconds a process has used so far (Linux /proc), or undefined elsewhere. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = 100; // USER_HZ, 100 on every Linux Node runs on

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const errorsOf = (r) => r.errors + r.timeouts + r.non2xx;
const rps = (r) => r.requests.average;

/** The exact bytes rebatch answers (status, content type, body), for the bare server. */
async function capture(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  const headers = {};
  if (res.headers.get('content-type')) headers['Content-Type'] = res.headers.get('content-type');
  if (res.status !== 204) headers['Content-Length'] = String(Buffer.byteLength(text));
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return { method, path: new URL(`${base}${path}`).pathname, status: res.status, headers, body: text };
}

async function main() {
  // No job executor: the batch stays, GET /batch answers the same all along.
  const srv = await spawnServer(['--memory', '--no-job-executor']);
  const origin = new URL(srv.base).origin;
  let bare;
  try {
    const d = await deploy(srv.api, { 'bench.bpmn': externalTaskBpmn('bench', 'bench') });
    if (d.status !== 200) throw new Error(d.text);
    for (let i = 0; i < 20; i++) await srv.api('POST', '/process-definition/key/bench/start', { businessKey: `b${i}` });
    const tasks = (await srv.api('GET', '/external-task?processDefinitionKey=bench')).body;
    const b = await srv.api('POST', '/external-task/retries-async', { retries: 3, externalTaskIds: tasks.slice(0, 5).map((t) => t.id) });
    if (b.status !== 200) throw new Error(b.text);

    const putBody = JSON.stringify({ retries: 3, externalTaskIds: [tasks[0].id] });
    const getBatch = await capture(srv.base, 'GET', '/batch');
    const putRetries = await capture(srv.base, 'PUT', '/external-task/retries', putBody);
    bare = await spawnBare([getBatch, putRetries]);

    const json = { 'content-type': 'application/json' };
    const scenarios = [
      { name: 'rest-get-batch', path: '/engine-rest/batch', opts: { method: 'GET' } },
      { name: 'rest-put-retries', path: '/engine-rest/external-task/retries', opts: { method: 'PUT', headers: json, body: putBody } },
    ];
    const lines = [];
    let failed = false;
    for (const s of scenarios) {
      // Warm up both briefly, then measure rebatch and bare back to back.
      await cannon({ url: origin + s.path, ...s.opts, duration: 1 });
      await cannon({ url: bare.url + s.path, ...s.opts, duration: 1 });
      // SECONDS one-second rounds, alternating, so that other load on the
      // machine hits both alike.
      const r = { errors: 0, timeouts: 0, non2xx: 0, total: 0, p99: 0, rounds: [], cpu: 0, pid: srv.child.pid };
      const rb = { errors: 0, timeouts: 0, non2xx: 0, total: 0, p99: 0, rounds: [], cpu: 0, pid: bare.child.pid };
      for (let i = 0; i < SECONDS; i++) {
        for (const [acc, url] of [[r, origin], [rb, bare.url]]) {
          const cpu0 = cpuMs(acc.pid);
          const x = await cannon({ url: url + s.path, ...s.opts, duration: 1 });
          acc.cpu += cpuMs(acc.pid) - cpu0;
          acc.rounds.push(x.requests.total);
          acc.errors += x.errors;
          acc.timeouts += x.timeouts;
          acc.non2xx += x.non2xx;
          acc.total += x.requests.total;
          acc.p99 = Math.max(acc.p99, x.latency.p99);
          acc.statusCodeStats = x.statusCodeStats;
        }
      }
      r.requests = { average: r.total / SECONDS };
      r.latency = { p99: r.p99 };
      rb.requests = { average: rb.total / SECONDS };
      rb.latency = { p99: rb.p99 };
      const errors = errorsOf(r) + errorsOf(rb);
      if (process.env.BENCH_DEBUG) console.log(JSON.stringify({ r: [r.errors, r.timeouts, r.non2xx, r.statusCodeStats, r.errorsList ?? null], rb: [rb.errors, rb.timeouts, rb.non2xx, rb.statusCodeStats] }));
      const ratio = rps(r) / rps(rb);
      // Also: the median of the per-round ratios (one slow round moves it
      // less than the sum), and each server's own CPU time per request (what
      // the other load on the machine moves least; bare/rebatch).
      const roundRatio = median(r.rounds.map((n, i) => n / rb.rounds[i]));
      const cpuUs = (acc) => (1000 * acc.cpu) / acc.total;
      const cpu = Number.isFinite(cpuUs(r)) && Number.isFinite(cpuUs(rb))
        ? ` cpu_us=${cpuUs(r).toFixed(1)} bare_cpu_us=${cpuUs(rb).toFixed(1)} cpu_ratio=${(cpuUs(rb) / cpuUs(r)).toFixed(3)}`
        : '';
      if (errors > 0) failed = true;
      console.log(`${s.name}: rebatch ${rps(r).toFixed(0)} req/s (p99 ${r.latency.p99} ms), bare ${rps(rb).toFixed(0)} req/s (p99 ${rb.latency.p99} ms), ratio ${ratio.toFixed(2)}${ratio < TARGET_RATIO ? ` BELOW TARGET ${TARGET_RATIO}` : ''} (per-round median ${roundRatio.toFixed(2)})`);
      lines.push(`bench ${s.name} rps=${rps(r).toFixed(0)} bare_rps=${rps(rb).toFixed(0)} ratio=${ratio.toFixed(3)} errors=${errors} round_ratio=${roundRatio.toFixed(3)}${cpu}`);
    }

    // Mixed read/write: reads, retries writes, failures and fetch-and-lock.
    const ids = tasks.map((t) => t.id);
    let n = 0;
    const mixed = await cannon({
      url: origin,
      requests: [
        { method: 'GET', path: '/engine-rest/batch' },
        { method: 'GET', path: '/engine-rest/batch/statistics' },
        {
          method: 'PUT',
          path: '/engine-rest/external-task/retries',
          headers: json,
          setupRequest: (req) => ({ ...req, body: JSON.stringify({ retries: 1 + (n++ % 5), externalTaskIds: [ids[n % ids.length]] }) }),
        },
        { method: 'GET', path: '/engine-rest/external-task/count' },
        { method: 'POST', path: '/engine-rest/external-task/fetchAndLock', headers: json, body: JSON.stringify({ workerId: 'bench', maxTasks: 1, topics: [{ topicName: 'bench', lockDuration: 1 }] }) },
        { method: 'GET', path: '/engine-rest/incident/count' },
      ],
    });
    const mixedErrors = errorsOf(mixed);
    if (mixedErrors > 0) failed = true;
    console.log(`rest-mixed: ${rps(mixed).toFixed(0)} req/s, ${mixed.requests.total} requests, p99 ${mixed.latency.p99} ms, ${mixedErrors} errors`);
    lines.push(`bench rest-mixed rps=${rps(mixed).toFixed(0)} requests=${mixed.requests.total} errors=${mixedErrors}`);

    for (const l of lines) console.log(l);
    if (failed) process.exitCode = 1;
  } finally {
    bare?.child.kill('SIGTERM');
    srv.child.kill('SIGTERM');
    await srv.exited;
  }
}

await main();
