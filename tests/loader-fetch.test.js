// The browser path of the loader: the module fetched over HTTP and
// instantiated from the response's bytes. (Its own file, so that this
// process's memoized module comes from fetch.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { test } from 'node:test';

import { createEngine } from '../bindings/index.js';
import { loadRebatch } from '../bindings/loader.js';

test('the module loads through fetch() from a URL', async () => {
  const bytes = readFileSync(new URL('../dist/rebatch.wasm', import.meta.url));
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (req.url !== '/rebatch.wasm') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/wasm' }).end(bytes);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address();
    await assert.rejects(loadRebatch({ wasmUrl: `http://127.0.0.1:${port}/missing.wasm` }), /HTTP 404/);
    const rt = await loadRebatch({ wasmUrl: `http://127.0.0.1:${port}/rebatch.wasm` });
    assert.equal(requests, 2, 'a failed load is not memoized');
    assert.equal(await loadRebatch(), rt);
    const engine = await createEngine();
    assert.ok(engine.operations.includes('getJobs'));
    engine.close();
  } finally {
    server.close();
  }
});
