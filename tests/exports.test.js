// The WASM module's interface is pinned down by checked-in data:
// src/rebatch.h declares the C API, src/exports.txt lists what the module
// exports, src/host_wasm.c lists what it imports, bindings/loader.js provides
// those imports. This test proves the four agree, on the built module.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { Runtime } from '../bindings/loader.js';

const root = new URL('../', import.meta.url);
const read = (path) => readFileSync(new URL(path, root), 'utf8');

/** Function names declared in a C header (not function-pointer members). */
export function declaredFunctions(header) {
  const code = header
    .replace(/\/\*[\s\S]*?\*\//g, ' ') // block comments
    .replace(/\/\/.*$/gm, ' ') // line comments
    .replace(/^\s*#.*$/gm, ' ') // preprocessor lines
    .replace(/extern\s+"C"\s*\{/g, ' ');
  let flat = code;
  // Drop struct/union bodies (the only braces left, besides extern "C"'s }).
  for (let prev; prev !== flat; ) {
    prev = flat;
    flat = flat.replace(/\{[^{}]*\}/g, ' ');
  }
  const names = [];
  for (const statement of flat.split(';')) {
    const s = statement.trim();
    if (!s || s.startsWith('typedef') || s === '}') continue;
    const match = /([A-Za-z_]\w*)\s*\(/.exec(s);
    if (match) names.push(match[1]);
  }
  return names;
}

function exportList() {
  return read('src/exports.txt')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/** env imports declared in src/host_wasm.c with RB_IMPORT(name). */
function bridgeImports() {
  return [...read('src/host_wasm.c').matchAll(/RB_IMPORT\((rebatch_js_\w+)\)/g)].map((m) => m[1]);
}

const sorted = (list) => [...list].sort();

// Exports emcc adds besides ours, each with the reason it is there.
const RUNTIME_EXPORTS = {
  memory: 'the linear memory the loader reads and writes',
  _initialize: 'reactor start: runs C constructors; the loader calls it once',
  __indirect_function_table: 'the table behind C function pointers (store vtables)',
  __errno_location: 'emitted by emcc 3.1.6 for its JS glue; unused',
  stackSave: 'the binding restores the stack pointer after a trap',
  stackRestore: 'the binding restores the stack pointer after a trap',
  stackAlloc: 'emitted by emcc 3.1.6 for its JS glue; unused',
};

// Imports besides the bridge's, each with the reason.
const RUNTIME_IMPORTS = {
  'env.emscripten_notify_memory_growth': 'memory grew: the loader refreshes its views',
};

function module() {
  return new WebAssembly.Module(readFileSync(new URL('dist/rebatch.wasm', root)));
}

test('the header parser finds declarations, not function-pointer members', () => {
  const names = declaredFunctions(`
    /* int commented_out(void); */
    typedef struct s { int (*member)(void *ctx); } s;
    const char *rebatch_a(int rc);
    void rebatch_b(void *(*malloc_fn)(size_t),
                   void (*free_fn)(void *));
    #define REBATCH_X 1
  `);
  assert.deepEqual(names, ['rebatch_a', 'rebatch_b']);
});

test('src/exports.txt lists exactly the functions src/rebatch.h declares', () => {
  const declared = declaredFunctions(read('src/rebatch.h'));
  assert.ok(declared.includes('rebatch_call'), 'parser found rebatch_call');
  assert.ok(declared.every((name) => name.startsWith('rebatch_')), `all prefixed: ${declared}`);
  const listed = exportList();
  assert.equal(new Set(listed).size, listed.length, 'no duplicates in src/exports.txt');
  assert.deepEqual(sorted(listed), sorted(declared));
});

test('src/host_wasm.c defines the bridge functions the header declares', () => {
  const declared = declaredFunctions(read('src/rebatch.h')).filter((n) => n.startsWith('rebatch_js_'));
  const source = read('src/host_wasm.c');
  const defined = [...source.matchAll(/^(?!static)[A-Za-z_][\w \t*]*?\b(rebatch_js_\w+)\s*\([^;{]*\)\s*\{/gm)].map(
    (m) => m[1],
  );
  assert.deepEqual(sorted(defined), sorted(declared));
});

test('dist/rebatch.wasm exports exactly src/exports.txt plus the runtime exports', () => {
  const exported = WebAssembly.Module.exports(module()).map((e) => e.name);
  const expected = [...exportList(), ...Object.keys(RUNTIME_EXPORTS)];
  assert.deepEqual(sorted(exported), sorted(expected));
});

test('dist/rebatch.wasm imports exactly the bridge imports, all provided by the loader', () => {
  const imported = WebAssembly.Module.imports(module()).map((i) => `${i.module}.${i.name}`);
  const expected = [...bridgeImports().map((n) => `env.${n}`), ...Object.keys(RUNTIME_IMPORTS)];
  assert.deepEqual(sorted(imported), sorted(expected));
  const provided = new Runtime().imports();
  for (const name of imported) {
    const [mod, field] = name.split('.');
    assert.equal(typeof provided[mod]?.[field], 'function', `loader provides ${name}`);
  }
  // ...and the loader provides no bridge function the C side lacks.
  const loaderBridge = Object.keys(provided.env).filter((n) => n.startsWith('rebatch_js_'));
  assert.deepEqual(sorted(loaderBridge), sorted(bridgeImports()));
});
