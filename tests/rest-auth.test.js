// Identity and HTTP Basic authentication (issue 13, security 1): Camunda's
// user and identity endpoints, the 401 challenge, passwords hashed before
// they reach the store, users kept in the SQLite file, the CLI's first user.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { once } from 'node:events';

import { createEngine } from '../bindings/index.js';
import { createUser, hashPassword, verifyPassword } from '../bindings/auth.js';
import { createRestServer } from '../bindings/rest.js';
import { sqliteStore } from '../bindings/sqlite-store.js';
import { BIN, client, startServer } from './support/rest-helpers.js';

const basic = (user, password) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const raw = { validate: false };

test('hashPassword: salted scrypt, checked by verifyPassword; no clear text in it', async () => {
  const a = await hashPassword('s3cret');
  const b = await hashPassword('s3cret');
  assert.match(a, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.notEqual(a, b, 'a fresh salt each time');
  assert.equal(await verifyPassword('s3cret', a), true);
  assert.equal(await verifyPassword('s3cret ', a), false);
  assert.equal(await verifyPassword('s3cret', null), false, 'no hash: no match');
  assert.equal(await verifyPassword('s3cret', 's3cret'), false, 'a stored clear text never matches');
  assert.equal(await verifyPassword('x', 'scrypt$1099511627776$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA=='), false, 'absurd costs are refused');
});

test('the engine refuses a clear-text password: the host must hash it', async () => {
  const engine = await createEngine();
  try {
    assert.throws(() => engine.createUser({ profile: { id: 'a' }, credentials: { password: 'p' } }), {
      status: 400,
      message: /must be hashed by the host/,
    });
    assert.equal(engine.getUsersCount().count, 0);
  } finally {
    engine.close();
  }
});

test('user operations happen whole or not at all when the store fails', async () => {
  const engine = await createEngine();
  try {
    engine.createUser({ profile: { id: 'keep' }, passwordHash: 'h0' });
    const ops = [
      () => engine.createUser({ profile: { id: 'fresh', firstName: 'F' }, passwordHash: 'h1' }),
      () => engine.updateUserCredentials('keep', { passwordHash: 'h2' }),
      () => engine.deleteUser('keep'),
    ];
    for (const op of ops) {
      let n = 1;
      for (; n < 20; n++) {
        const before = engine.store.dump();
        engine.injectStoreFault(n);
        let error;
        try {
          op();
        } catch (err) {
          error = err;
        }
        engine.injectStoreFault(0);
        if (!error) break;
        assert.equal(error.message, 'storage failure: injected storage fault');
        assert.equal(engine.store.dump(), before, `fault at storage call ${n} left a trace`);
      }
      assert.ok(n > 1 && n < 20, `${op} used the store (${n})`);
    }
    assert.equal(engine.getUserCredentials('fresh').passwordHash, 'h1');
    assert.equal(engine.getUsersCount().count, 1, 'keep was deleted, fresh made');
  } finally {
    engine.close();
  }
});

describe('identity endpoints, auth off', () => {
  let srv;
  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  test('POST /user/create, GET /user, /user/count, /user/{id}/profile; the hash never answers', async () => {
    const created = await srv.api('POST', '/user/create', {
      profile: { id: 'jonny1', firstName: 'John', lastName: 'Doe', email: 'aNewEmailAddress' },
      credentials: { password: 's3cret' },
    });
    assert.equal(created.status, 204, created.text);
    await srv.api('POST', '/user/create', { profile: { id: 'anna', firstName: 'Anna' } });
    const list = await srv.api('GET', '/user?sortBy=userId&sortOrder=asc');
    assert.deepEqual(list.body, [
      { id: 'anna', firstName: 'Anna', lastName: null, email: null },
      { id: 'jonny1', firstName: 'John', lastName: 'Doe', email: 'aNewEmailAddress' },
    ]);
    assert.doesNotMatch(list.text, /scrypt|s3cret|password/i);
    assert.deepEqual((await srv.api('GET', '/user?firstNameLike=Jo%25')).body.map((u) => u.id), ['jonny1']);
    assert.deepEqual((await srv.api('GET', '/user?idIn=anna,nobody')).body.map((u) => u.id), ['anna']);
    assert.deepEqual((await srv.api('GET', '/user?memberOfGroup=sales')).body, [], 'no groups: nobody is a member');
    assert.deepEqual((await srv.api('GET', '/user/count')).body, { count: 2 });
    const profile = await srv.api('GET', '/user/jonny1/profile');
    assert.deepEqual(profile.body, { id: 'jonny1', firstName: 'John', lastName: 'Doe', email: 'aNewEmailAddress' });
    const missing = await srv.api('GET', '/user/nobody/profile');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { type: 'InvalidRequestException', message: 'User with id nobody does not exist', code: null });
  });

  test('POST /user/create errors as upstream: no profile or id 400, bad id 500, a taken id 500', async () => {
    for (const body of [{}, { profile: { firstName: 'x' } }, { profile: null }]) {
      const r = await srv.api('POST', '/user/create', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.deepEqual(r.body, {
        type: 'InvalidRequestException',
        message: 'request object must provide profile information with valid id.',
        code: null,
      });
    }
    const bad = await srv.api('POST', '/user/create', { profile: { id: 'not ok' }, credentials: { password: 'p' } });
    assert.equal(bad.status, 500);
    assert.deepEqual(bad.body, {
      type: 'ProcessEngineException',
      message: "User has an invalid id: 'not ok' is not a valid resource identifier.",
      code: 0,
    });
    await srv.api('POST', '/user/create', { profile: { id: 'twice' } });
    const taken = await srv.api('POST', '/user/create', { profile: { id: 'twice', firstName: 'Other' } });
    assert.equal(taken.status, 500);
    assert.equal(taken.body.type, 'ProcessEngineException');
    assert.equal((await srv.api('GET', '/user/twice/profile')).body.firstName, null, 'the first user stays');
    const wrongType = await srv.api('POST', '/user/create', { profile: { id: 'typed', firstName: { a: 1 } } });
    assert.equal(wrongType.status, 400);
    const text = await srv.api('POST', '/user/create', undefined, {
      raw: JSON.stringify({ profile: { id: 'viaText' } }),
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(text.status, 415, 'not JSON by its content type: not read');
    assert.equal((await srv.api('GET', '/user/viaText/profile')).status, 404);
  });

  test('POST /identity/verify, PUT /user/{id}/credentials, DELETE /user/{id}', async () => {
    await srv.api('POST', '/user/create', { profile: { id: 'vera' }, credentials: { password: 'one' } });
    const verify = (password) => srv.api('POST', '/identity/verify', { username: 'vera', password });
    assert.deepEqual((await verify('one')).body, { authenticatedUser: 'vera', groups: null, tenants: null, authenticated: true });
    assert.equal((await verify('two')).body.authenticated, false);
    const required = await srv.api('POST', '/identity/verify', { username: 'vera' });
    assert.equal(required.status, 400);
    assert.equal(required.body.message, 'Username and password are required');
    // no authenticated user: no authenticatedUserPassword needed, as upstream
    assert.equal((await srv.api('PUT', '/user/vera/credentials', { password: 'two' })).status, 204);
    assert.equal((await verify('one')).body.authenticated, false);
    assert.equal((await verify('two')).body.authenticated, true);
    assert.equal((await srv.api('PUT', '/user/vera/credentials', {})).status, 204, 'a null password changes nothing');
    assert.equal((await verify('two')).body.authenticated, true);
    const unknown = await srv.api('PUT', '/user/nobody/credentials', { password: 'x' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.message, 'User with id nobody does not exist');
    assert.equal((await srv.api('DELETE', '/user/vera')).status, 204);
    assert.equal((await srv.api('DELETE', '/user/vera')).status, 204, 'deleting a missing user is no error');
    assert.equal((await verify('two')).body.authenticated, false);
  });
});

describe('HTTP Basic auth on', () => {
  let srv;
  let anon;
  before(async () => {
    srv = await startServer({ auth: true });
    await createUser(srv.engine, { profile: { id: 'admin' }, credentials: { password: 'pw:with:colons' } });
    await createUser(srv.engine, { profile: { id: 'other' }, credentials: { password: 'other-pw' } });
    anon = srv.api;
    srv.api = (method, path, body, opts = {}) =>
      anon(method, path, body, { ...opts, headers: { ...basic('admin', 'pw:with:colons'), ...opts.headers } });
  });
  after(() => srv.close());

  test('no, malformed or wrong credentials: 401, WWW-Authenticate: Basic realm="default", no body', async () => {
    const attempts = [
      {},
      { authorization: 'Bearer x' },
      { authorization: 'Basic !!!' },
      { authorization: `Basic ${Buffer.from('admin').toString('base64')}` },
      basic('admin', 'wrong'),
      basic('nobody', 'pw:with:colons'),
      basic('admin', ''),
    ];
    for (const headers of attempts) {
      const r = await anon('GET', '/job', undefined, { headers, ...raw });
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal(r.headers.get('www-authenticate'), 'Basic realm="default"');
      assert.equal(r.text, '');
    }
    const script = await anon('GET', '/job', undefined, { headers: { 'x-requested-with': 'XMLHttpRequest' }, ...raw });
    assert.equal(script.status, 401);
    assert.equal(script.headers.get('www-authenticate'), null, 'a script asks for credentials itself: no browser dialog');
    const write = await anon('POST', '/user/create', { profile: { id: 'intruder' } }, raw);
    assert.equal(write.status, 401);
    assert.equal((await srv.api('GET', '/user/count')).body.count, 2, 'nothing written');
    assert.equal((await anon('GET', '/nothing/here', undefined, raw)).status, 401, 'before routing, as the servlet filter');
  });

  test('GET /engine needs no user (upstream whitelist); everything else runs as the user', async () => {
    assert.equal((await anon('GET', '/engine')).status, 200);
    assert.equal((await anon('GET', '/version', undefined, raw)).status, 401);
    assert.equal((await srv.api('GET', '/version')).status, 200);
    assert.equal((await srv.api('GET', '/job')).status, 200);
    assert.equal((await srv.api('GET', '/job')).status, 200, 'a remembered check');
  });

  test('PUT /user/{id}/credentials checks the authenticated user password; a change takes effect at once', async () => {
    const wrong = await srv.api('PUT', '/user/other/credentials', { password: 'new', authenticatedUserPassword: 'nope' });
    assert.equal(wrong.status, 400);
    assert.deepEqual(wrong.body, {
      type: 'InvalidRequestException',
      message: 'The given authenticated user password is not valid.',
      code: null,
    });
    const missing = await srv.api('PUT', '/user/other/credentials', { password: 'new' });
    assert.equal(missing.status, 400);
    const ok = await srv.api('PUT', '/user/other/credentials', { password: 'new', authenticatedUserPassword: 'pw:with:colons' });
    assert.equal(ok.status, 204);
    assert.equal((await anon('GET', '/job', undefined, { headers: basic('other', 'other-pw'), ...raw })).status, 401);
    assert.equal((await anon('GET', '/job', undefined, { headers: basic('other', 'new') })).status, 200);
    assert.equal((await srv.api('DELETE', '/user/other')).status, 204);
    assert.equal((await anon('GET', '/job', undefined, { headers: basic('other', 'new'), ...raw })).status, 401, 'deleted: out');
  });
});

test('auth is on by default when the host is not loopback, off on loopback', async () => {
  const engine = await createEngine();
  try {
    for (const [host, expected] of [['127.0.0.1', 200], ['0.0.0.0', 401]]) {
      const rest = createRestServer({ engine, jobExecutor: false });
      const { port } = await rest.listen(0, host);
      const api = client(`http://127.0.0.1:${port}/engine-rest`);
      assert.equal((await api('GET', '/job', undefined, raw)).status, expected, host);
      await rest.close();
    }
  } finally {
    engine.close();
  }
});

test('users live in the SQLite file, hashed; `rebatch user create` makes the first one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rebatch-auth-'));
  const db = join(dir, 'r.db');
  try {
    const run = (args, input) =>
      new Promise((resolve) => {
        const child = execFile(process.execPath, [BIN, ...args], (err, stdout, stderr) =>
          resolve({ code: err ? err.code : 0, stdout, stderr }),
        );
        child.stdin.end(input);
      });
    const made = await run(['user', 'create', 'admin', '--db', db, '--first-name', 'Ada'], 'first-pw\n');
    assert.equal(made.code, 0, made.stderr);
    const again = await run(['user', 'create', 'admin', '--db', db], 'x\n');
    assert.equal(again.code, 1); // a runtime error, in one line
    assert.match(again.stderr, /^rebatch user: .*already exists[^\n]*\n$/);
    const noPassword = await run(['user', 'create', 'bob', '--db', db], '');
    assert.equal(noPassword.code, 2);
    const listed = await run(['user', 'list', '--db', db]);
    assert.deepEqual(JSON.parse(listed.stdout), { id: 'admin', firstName: 'Ada', lastName: null, email: null });
    const bytes = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1')).join('');
    assert.doesNotMatch(bytes, /first-pw/, 'no clear text on disk');
    assert.match(bytes, /scrypt\$32768/);

    const child = spawn(process.execPath, [BIN, 'serve', '--db', db, '--port', '0', '--auth', '--no-web', '--no-job-executor']);
    try {
      const [line] = await once(child.stdout, 'data');
      const base = /(http:\/\/\S+)/.exec(String(line))[1];
      assert.match(String(line), /auth: on/);
      const api = client(base);
      assert.equal((await api('GET', '/user', undefined, raw)).status, 401);
      const r = await api('GET', '/user', undefined, { headers: basic('admin', 'first-pw') });
      assert.equal(r.status, 200);
      assert.equal(r.body[0].id, 'admin');
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    const store = sqliteStore(db);
    const engine = await createEngine({ store });
    assert.equal(engine.getUsersCount().count, 1);
    engine.close();
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
