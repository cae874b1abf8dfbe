// The README's curl walk-through, pasted as a user would: its shell blocks
// run in order against the server its first block starts, in an empty
// folder with the examples. Only the port (a free one), the handler's delay,
// the retry cycle's interval and the waits are shortened; the commands are
// the README's own.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { BIN } from './support/rest-helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The ```sh blocks of the README's walk-through section, in order. */
function walkthroughBlocks() {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Walk-through'), readme.indexOf('\n## ', readme.indexOf('## Walk-through') + 3));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** Runs the server block (npm start -- ARGS) with --port 0; resolves with its base URL. */
function startServer(block, cwd) {
  const lines = block.trim().split('\n');
  assert.deepEqual(lines[0], 'touch payment-down');
  const m = /^npm start -- (.*)$/.exec(lines[1]);
  assert.ok(m, `the server line: ${lines[1]}`);
  // The line's arguments as bash splits them.
  const args = JSON.parse(spawnSync('bash', ['-c', `node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- ${m[1]}`], { encoding: 'utf8' }).stdout);
  spawnSync('bash', ['-c', lines[0]], { cwd });
  const child = spawn(process.execPath, [BIN, 'serve', ...args, '--port', '0'], {
    cwd,
    env: { ...process.env, PAYMENT_DELAY_MS: '20' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const found = /listening on (http:\/\/\S+)/.exec(out);
      if (found) resolve({ child, base: found[1] });
    });
    child.on('exit', (code) => reject(new Error(`the walk-through's server exited with ${code}: ${stderr}`)));
  });
}

const haveCurl = spawnSync('bash', ['-c', 'command -v curl']).status === 0;

test('the README walk-through runs as pasted: failures, incidents, the five operations, restart', { skip: !haveCurl && 'no curl' }, async () => {
  const blocks = walkthroughBlocks();
  assert.ok(blocks.length >= 8, `walk-through blocks: ${blocks.length}`);
  const cwd = mkdtempSync(join(tmpdir(), 'rebatch-walkthrough-'));
  cpSync(join(ROOT, 'examples'), join(cwd, 'examples'), { recursive: true });
  const invoice = join(cwd, 'examples/invoice.bpmn');
  assert.match(readFileSync(invoice, 'utf8'), /R3\/PT5S/);
  writeFileSync(invoice, readFileSync(invoice, 'utf8').replace('R3/PT5S', 'R3/PT1S'));
  const { child, base } = await startServer(blocks[0], cwd);
  try {
    const client = blocks
      .slice(1, -1)
      .join('\n')
      .replaceAll('http://127.0.0.1:8080/engine-rest', base)
      // Three tries 1 s apart end by 2 s; a mended job is due a retry interval after its last failure.
      .replace(/^sleep 25$/m, 'sleep 4')
      .replace(/^sleep 8$/gm, 'sleep 3');
    assert.ok(client.includes(`B=${base}`), 'the walk-through names the server at 127.0.0.1:8080');
    const run = spawnSync('bash', ['-c', `set -eo pipefail\n${client}`], { cwd, encoding: 'utf8', timeout: 120000 });
    assert.equal(run.status, 0, run.stderr);
    const out = run.stdout;
    // The charges fail three times into incidents, with the handler's stack.
    assert.match(out, /"exceptionMessage":"payment service unavailable \(instance /);
    assert.match(out, /^Error: payment service unavailable[^\n]*\n\s+at chargeCard/m);
    const counts = [...out.matchAll(/^\{"count":(\d+)\}$/gm)].map((c) => Number(c[1]));
    // step 1: still down, three new incidents; step 2: mended; step 3/4: the external task incidents gone; restart: three instances
    assert.deepEqual(counts, [3, 0, 0, 3]);
    assert.equal((out.match(/"incidentType":"failedExternalTask"/g) ?? []).length, 3);
    assert.match(out, /^204$/m);
    const ended = JSON.parse(out.trim().split('\n').at(-1));
    assert.deepEqual(ended.sort(), ['instance-restart', 'set-external-task-retries', 'set-job-retries', 'set-job-retries']);
  } finally {
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
    // The last block starts over: it removes what the walk-through left.
    const last = spawnSync('bash', ['-c', blocks.at(-1)], { cwd });
    assert.equal(last.status, 0);
    assert.equal(existsSync(join(cwd, 'walkthrough.db')), false);
    rmSync(cwd, { recursive: true, force: true });
  }
});
