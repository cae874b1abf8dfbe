// bindings/loader.js: one memoized instance, strings across the boundary,
// memory views that survive growth.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadRebatch } from '../bindings/loader.js';

test('loadRebatch is memoized', async () => {
  const a = loadRebatch();
  const b = loadRebatch();
  assert.equal(a, b);
  const rt = await a;
  assert.equal(typeof rt.exports.rebatch_call, 'function');
  assert.ok(rt.memoryBytes > 0);
});

test('strings round-trip as UTF-8', async () => {
  const rt = await loadRebatch();
  for (const text of ['', 'plain', 'Grüße €', 'astral 😀 𝄞', 'quote " backslash \\ newline \n']) {
    const ptr = rt.allocString(text);
    try {
      assert.equal(rt.readString(ptr), text);
    } finally {
      rt.free(ptr);
    }
  }
  assert.equal(rt.readString(0), null);
});

test('long strings, multi-byte and lone surrogates round-trip like TextEncoder writes them', async () => {
  const rt = await loadRebatch();
  // Past 65536 UTF-16 units the room is measured rather than assumed (3 bytes a unit).
  const long = `${'a'.repeat(70000)}é€😀${'z'.repeat(10)}`;
  for (const text of [long, 'é'.repeat(70000), 'lone \ud800 high, lone \udc00 low', `\ud83d${'x'.repeat(70000)}`]) {
    const ptr = rt.allocString(text);
    try {
      assert.equal(rt.readString(ptr), new TextDecoder().decode(new TextEncoder().encode(text)));
    } finally {
      rt.free(ptr);
    }
  }
  const { ptr, second } = rt.allocStringPair(long, 'Grüße');
  try {
    assert.equal(rt.readString(ptr), long);
    assert.equal(rt.readString(second), 'Grüße');
  } finally {
    rt.free(ptr);
  }
});

test('a string pair shares one allocation', async () => {
  const rt = await loadRebatch();
  const { ptr, second } = rt.allocStringPair('id-é', '{"a":1}');
  try {
    assert.equal(rt.readString(ptr), 'id-é');
    assert.equal(rt.readString(second), '{"a":1}');
  } finally {
    rt.free(ptr);
  }
});

test('writeString cuts at a character boundary and always terminates', async () => {
  const rt = await loadRebatch();
  const buf = rt.alloc(16);
  try {
    assert.equal(rt.writeString(buf, 16, 'fits'), true);
    assert.equal(rt.readString(buf), 'fits');
    // a (1 byte) é (2) € (3): 5 bytes of room keeps "aé", not half a €.
    assert.equal(rt.writeString(buf, 6, 'aé€'), false);
    assert.equal(rt.readString(buf), 'aé');
    assert.equal(rt.writeString(buf, 1, 'x'), false);
    assert.equal(rt.readString(buf), '');
  } finally {
    rt.free(buf);
  }
});

test('views follow memory growth', async () => {
  const rt = await loadRebatch();
  const before = rt.memoryBytes;
  const keep = rt.allocString('survives growth');
  const big = rt.alloc(before * 2); // forces memory.grow
  try {
    assert.ok(rt.memoryBytes > before, 'memory grew');
    assert.equal(rt.u8.length, rt.memoryBytes);
    assert.equal(rt.i32.length * 4, rt.memoryBytes);
    rt.u8[big + before * 2 - 1] = 7; // the end of the new block is addressable
    assert.equal(rt.readString(keep), 'survives growth');
  } finally {
    rt.free(big);
    rt.free(keep);
  }
});

test('an impossible allocation is a RangeError, not a crash', async () => {
  const rt = await loadRebatch();
  assert.throws(() => rt.alloc(0xffff0000), /out of WASM memory/);
});
