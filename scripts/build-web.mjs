#!/usr/bin/env node
// build-web.mjs - builds the simulation page into dist/web: a static folder
// any file server can serve (rebatch serve serves it at /).
//
//   index.html, style.css        copied from web/
//   app.js                       web/src/main.js and everything it imports
//                                (bindings/, bpmn-js, bpmn-moddle, ...)
//                                bundled by esbuild into one ES module
//   vendor/*.css                 bpmn-js's and diagram-js's stylesheets
//   rebatch.wasm                 the core, copied from dist/ (npm run build)
//   samples/*.bpmn               the sample processes
//
// No file is fetched from the internet at run time.
import { build } from 'esbuild';
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
const wasm = join(root, 'dist', 'rebatch.wasm');

if (!existsSync(wasm)) {
  console.error('build-web: dist/rebatch.wasm is missing; run "npm run build:wasm" first');
  process.exit(1);
}

const started = Date.now();
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'vendor'), { recursive: true });

await build({
  entryPoints: [join(root, 'web', 'src', 'main.js')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: process.env.WEB_MINIFY !== '0',
  sourcemap: true,
  // The loader reads files with node:fs only under Node; never in the page.
  external: ['node:*'],
  legalComments: 'linked',
  logLevel: 'warning',
});

copyFileSync(join(root, 'web', 'index.html'), join(out, 'index.html'));
copyFileSync(join(root, 'web', 'style.css'), join(out, 'style.css'));
cpSync(join(root, 'web', 'samples'), join(out, 'samples'), { recursive: true });
copyFileSync(wasm, join(out, 'rebatch.wasm'));
const assets = join(root, 'node_modules', 'bpmn-js', 'dist', 'assets');
copyFileSync(join(assets, 'diagram-js.css'), join(out, 'vendor', 'diagram-js.css'));
copyFileSync(join(assets, 'bpmn-js.css'), join(out, 'vendor', 'bpmn-js.css'));

const kb = (f) => Math.round(statSync(join(out, f)).size / 1024);
console.log(`build-web: dist/web (app.js ${kb('app.js')} KiB, rebatch.wasm ${kb('rebatch.wasm')} KiB) in ${Date.now() - started} ms`);
