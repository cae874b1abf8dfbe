// The package as a user gets it: the hand-written .d.ts checked by tsc on a
// typed consumer, and the packed tarball installed into a blank project
// (from npm's local cache where it can) running an ESM and a TypeScript
// consumer of `rebatch`, `rebatch/sqlite` and `rebatch/server`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { OPERATIONS } from '../bindings/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('index.d.ts declares a method for every engine operation', () => {
  const dts = readFileSync(join(ROOT, 'bindings/index.d.ts'), 'utf8');
  const missing = Object.keys(OPERATIONS).filter((name) => !new RegExp(`^  ${name}\\(`, 'm').test(dts));
  assert.deepEqual(missing, []);
});

test('tsc --noEmit accepts the typed consumer of the three entry points', () => {
  // Inside the repository 'rebatch' resolves to this package itself (self-reference through exports).
  run(process.execPath, [TSC, '-p', join(ROOT, 'tests/types/tsconfig.json')], ROOT);
});

let project;
let tarball;

before(() => {
  project = mkdtempSync(join(tmpdir(), 'rebatch-consumer-'));
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', project], ROOT));
  tarball = join(project, packed[0].filename);
  assert.ok(packed[0].files.some((f) => f.path === 'dist/web/index.html'), 'the page is in the package');
  assert.ok(packed[0].files.some((f) => f.path === 'bindings/server.d.ts'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // Without the optional better-sqlite3: the in-memory store needs no compiler.
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=optional', tarball], project);
});

after(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

test('an ESM consumer of the installed tarball runs the engine, handlers, the server and the page', () => {
  writeFileSync(
    join(project, 'consumer.mjs'),
    `
import { createEngine } from 'rebatch';
import { createServer } from 'rebatch/server';
import { sqliteStore } from 'rebatch/sqlite';

const engine = await createEngine({ handlers: { charge: async () => { throw new Error('declined'); } } });
engine.createDeployment({ name: 'esm', processes: [{ key: 'p', activities: [
  { id: 's', type: 'startEvent' }, { id: 'charge', type: 'serviceTask', asyncBefore: true }, { id: 'e', type: 'endEvent' }],
  flows: [{ id: 'f1', source: 's', target: 'charge' }, { id: 'f2', source: 'charge', target: 'e' }] }] });
engine.startProcessInstanceByKey('p', {});
const server = createServer({ engine });
const { port } = await server.listen(0, '127.0.0.1');
const base = 'http://127.0.0.1:' + port;
const deadline = Date.now() + 10000;
let incidents = [];
while (Date.now() < deadline && incidents.length === 0) {
  incidents = await (await fetch(base + '/engine-rest/incident')).json();
  await new Promise((r) => setTimeout(r, 50));
}
const page = await fetch(base + '/');
const html = await page.text();
await server.close();
engine.close();
let sqlite;
try { sqliteStore(':memory:'); sqlite = 'opened'; } catch (err) { sqlite = err.message; }
console.log(JSON.stringify({ message: incidents[0]?.incidentMessage, page: page.status, title: /<title>([^<]*)/.exec(html)?.[1], sqlite }));
`,
  );
  const out = JSON.parse(run(process.execPath, ['consumer.mjs'], project).trim());
  assert.equal(out.message, 'declined');
  assert.equal(out.page, 200);
  assert.match(out.title, /rebatch/i);
  assert.match(out.sqlite, /needs the optional dependency better-sqlite3.*npm install better-sqlite3/);
});

test('a TypeScript consumer of the installed tarball compiles against its .d.ts and runs', () => {
  cpSync(join(ROOT, 'tests/types/consumer.ts'), join(project, 'consumer.ts'));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        outDir: 'out',
        typeRoots: [join(ROOT, 'node_modules/@types')],
        types: ['node'],
      },
      files: ['consumer.ts'],
    }),
  );
  run(process.execPath, [TSC, '-p', 'tsconfig.json'], project);
  const out = run(process.execPath, ['--input-type=module', '-e', "console.log(await (await import('./out/consumer.js')).main())"], project);
  assert.equal(out.trim(), 'card declined for ts-00000004 7.24.0 1');
});
