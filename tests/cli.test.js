// The command line as a new user meets it: help, a bare command, mistakes
// and runtime errors as one line, the startup line, the demo.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { BIN, spawnServer } from './support/rest-helpers.js';

const cli = (...args) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30000 });

test('--help and a bare rebatch print the usage on stdout and exit 0', () => {
  for (const args of [['--help'], [], ['serve', '--help']]) {
    const r = cli(...args);
    assert.equal(r.status, 0, args.join(' '));
    assert.match(r.stdout, /^usage: rebatch <command>/);
    assert.equal(r.stderr, '');
  }
  // Every store serve opens is in the usage (a merge once dropped the PostgreSQL one).
  const usage = cli('--help').stdout;
  for (const store of ['--db FILE', '--db postgres://user@host:port/db', '--memory']) assert.ok(usage.includes(store), store);
});

test('an unknown command or option says so in one line and a hint, exit 2', () => {
  const r = cli('serv');
  assert.equal(r.status, 2);
  assert.equal(r.stderr, "rebatch: unknown command 'serv'\nrun 'rebatch --help' for the commands\n");
  const o = cli('serve', '--prot', '1');
  assert.equal(o.status, 2);
  assert.match(o.stderr, /^rebatch serve: Unknown option '--prot'.*\nrun 'rebatch serve --help' for the options\n$/);
});

test('runtime errors are one line naming the port or the path, exit 1', async () => {
  const busy = net.createServer();
  await new Promise((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const { port } = busy.address();
  try {
    const r = cli('serve', '--memory', '--port', String(port));
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `rebatch serve: port ${port} on 127.0.0.1 is already in use (EADDRINUSE); choose another with --port\n`);
  } finally {
    busy.close();
  }
  const dir = mkdtempSync(join(tmpdir(), 'rebatch-cli-'));
  try {
    const db = join(dir, 'missing', 'x.db');
    const r = cli('serve', '--port', '0', '--db', db);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `rebatch serve: cannot open the SQLite database ${db}: Cannot open database because the directory does not exist\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the startup line names the REST base and the page', async () => {
  const server = await spawnServer(['--memory']);
  try {
    const origin = server.base.replace(/\/engine-rest$/, '');
    assert.equal((await fetch(`${origin}/`)).status, 200);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

test('the demo shows handler failures, a set-job-retries batch and a restart batch', () => {
  const r = cli('demo');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /"type": "failedJob"/);
  assert.match(r.stdout, /"type": "set-job-retries"/);
  assert.match(r.stdout, /incidents left: 0/);
  assert.match(r.stdout, /"type": "instance-restart"/);
  assert.match(r.stdout, /finished instances \(3 first runs, 3 restarts\): 6/);
});
