// auth.js - identity and HTTP Basic authentication for the REST shim, as
// Camunda's engine-rest does it (ProcessEngineAuthenticationFilter with
// HttpBasicAuthenticationProvider; UserRestServiceImpl, UserResourceImpl,
// IdentityRestServiceImpl). Node only.
//
// Users live in the engine's store (src/user.c). Passwords are hashed here,
// before they reach the engine, with scrypt from node:crypto and a random
// salt per password; the engine keeps the hash as opaque text and no REST
// answer carries it.
//
//   const hash = await hashPassword('secret');
//   await createUser(engine, { profile: { id: 'demo' }, credentials: { password: 'secret' } });
//   const auth = basicAuthenticator(engine);   // createRestServer({ auth: true }) does this
//   auth.check(req)  -> user id, null, or a Promise of either

import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

import { EngineError } from './errors.js';

/** The realm of the challenge: the engine's name, as upstream. */
export const REALM = 'default';

// scrypt cost: 2^15 x 8 (32 MiB, about 90 ms on a 2-core test machine). The
// parameters are kept in each hash, so raising them later keeps old hashes valid.
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keylen: 32, maxmem: 64 * 1024 * 1024 };
const PREFIX = 'scrypt';

function scryptAsync(password, salt, { N, r, p, keylen, maxmem }) {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * A salted scrypt hash of a password: "scrypt$N$r$p$<salt b64>$<key b64>".
 * @param {string} password
 * @returns {Promise<string>}
 */
export async function hashPassword(password) {
  const salt = randomBytes(16);
  const key = await scryptAsync(String(password), salt, SCRYPT);
  return [PREFIX, SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** The parts of a stored hash, or null when it is not one of ours. */
function parseHash(stored) {
  const parts = typeof stored === 'string' ? stored.split('$') : [];
  if (parts.length !== 6 || parts[0] !== PREFIX) return null;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const key = Buffer.from(parts[5], 'base64');
  // Costs are bounded: a stored hash must not be able to make a check take minutes.
  const sane = Number.isInteger(Math.log2(N)) && N >= 2 && N <= 2 ** 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16;
  if (!sane || salt.length < 8 || key.length < 16) return null;
  return { N, r, p, salt, key };
}

/** A hash of a random password, checked against when the user is unknown so
 * that an unknown name costs as much time as a wrong password. */
let decoy = null;

/**
 * Whether password matches a hash made by hashPassword (false for no hash).
 * @param {string} password
 * @param {string | null | undefined} stored
 */
export async function verifyPassword(password, stored) {
  const parsed = parseHash(stored);
  if (!parsed) {
    decoy ??= await hashPassword(randomBytes(16).toString('hex'));
    await verifyPassword(String(password), decoy);
    return false;
  }
  const { N, r, p, salt, key } = parsed;
  const got = await scryptAsync(String(password), salt, {
    N,
    r,
    p,
    keylen: key.length,
    maxmem: 128 * N * r * 2,
  });
  return timingSafeEqual(got, key);
}

/** The stored hash of a user, or null when there is no such user. */
function storedHash(engine, userId) {
  try {
    return engine.call('getUserCredentials', { id: userId }).passwordHash ?? null;
  } catch (err) {
    if (err instanceof EngineError && err.status === 404) return null;
    throw err;
  }
}

/**
 * Camunda's IdentityService.checkPassword: false for a null user or password.
 * @returns {Promise<boolean>}
 */
export function checkPassword(engine, userId, password) {
  if (typeof userId !== 'string' || typeof password !== 'string' || userId === '' || password === '') {
    return Promise.resolve(false);
  }
  return verifyPassword(password, storedHash(engine, userId));
}

/**
 * Creates a user from Camunda's UserDto ({profile, credentials}), hashing
 * credentials.password first. Errors as POST /user/create answers them.
 * @param {import('./index.js').Engine} engine
 * @param {{profile?: object, credentials?: {password?: string} | null}} dto
 */
export async function createUser(engine, dto) {
  const body = userBody(dto);
  const password = dto?.credentials?.password;
  if (password !== undefined && password !== null) body.passwordHash = await hashPassword(jsonText(password, 'password'));
  return engine.call('createUser', { body });
}

/** The engine's createUser body: the DTO without clear-text credentials. */
function userBody(dto) {
  if (dto === null || typeof dto !== 'object' || Array.isArray(dto)) return {};
  const { credentials, ...rest } = dto;
  if (credentials !== undefined && credentials !== null && (typeof credentials !== 'object' || Array.isArray(credentials))) {
    throw deserializeError('credentials');
  }
  return rest;
}

/** A String DTO field as Jackson reads it: scalars as text; objects and arrays are 400. */
function jsonText(value, field) {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw deserializeError(field);
}

function deserializeError(field) {
  return new EngineError(`Cannot deserialize value for "${field}": a JSON object or array where a String belongs`, {
    type: 'InvalidRequestException',
    status: 400,
    code: null,
  });
}

function invalid(message) {
  return new EngineError(message, { type: 'InvalidRequestException', status: 400, code: null });
}

/**
 * The REST routes of identity that need a password hashed or checked, for
 * rest.js: each takes {params, body, user} (user: the authenticated user id
 * or undefined) and resolves to {status, body}.
 * @param {import('./index.js').Engine} engine
 */
export function identityRoutes(engine) {
  return {
    /** POST /user/create */
    async '#createUser'({ body }) {
      await createUser(engine, body ?? null);
      return { status: 204 };
    },
    /** PUT /user/{id}/credentials: the authenticated user proves their own password first. */
    async '#updateUserCredentials'({ params, body, user }) {
      if (user !== undefined) {
        const given = body?.authenticatedUserPassword;
        const ok = given != null && (await checkPassword(engine, user, jsonText(given, 'authenticatedUserPassword')));
        if (!ok) throw invalid('The given authenticated user password is not valid.');
      }
      const request = { id: params.id, body: {} };
      const password = body?.password;
      if (password !== undefined && password !== null) {
        // Look the user up before the slow hash: an unknown one is a 404 either way.
        engine.call('getUserProfile', { id: params.id });
        request.body.passwordHash = await hashPassword(jsonText(password, 'password'));
      }
      engine.call('updateUserCredentials', request);
      return { status: 204 };
    },
    /** POST /identity/verify */
    async '#verifyUser'({ body }) {
      const username = body?.username;
      const password = body?.password;
      if (username === undefined || username === null || password === undefined || password === null) {
        throw invalid('Username and password are required');
      }
      const name = jsonText(username, 'username');
      const ok = await checkPassword(engine, name, jsonText(password, 'password'));
      // Jackson's order for AuthenticationResult: its fields, then the isAuthenticated() getter.
      return { status: 200, body: { authenticatedUser: name, groups: null, tenants: null, authenticated: ok } };
    },
  };
}

/** Paths under /engine-rest that need no authentication (upstream's whitelist: `^/engine/?`). */
const OPEN_PATH = /^\/engine-rest\/engine\/?$/;

/**
 * HTTP Basic authentication against the engine's users, as
 * HttpBasicAuthenticationProvider: `Authorization: Basic base64(user:password)`,
 * split at the first colon.
 *
 * A successful check is remembered for as long as the user's stored hash
 * stays the same (keyed by an HMAC of the password under a per-process
 * key), so only the first request of a client pays for scrypt; a changed
 * password or a deleted user is seen on the next request.
 * @param {import('./index.js').Engine} engine
 * @param {{cacheSize?: number}} [options]
 */
export function basicAuthenticator(engine, options = {}) {
  const cacheSize = options.cacheSize ?? 1000;
  const secret = randomBytes(32);
  /** `${user}\0${hmac(password)}` -> the stored hash it was checked against */
  const verified = new Map();

  return {
    /** Whether a request path needs a user: the REST API's, but its engine list. */
    requires(path) {
      return (path === '/engine-rest' || path.startsWith('/engine-rest/')) && !OPEN_PATH.test(path);
    },
    /**
     * The authenticated user id, or null: at once when the answer is known,
     * else a Promise (scrypt runs off the event loop).
     * @param {import('node:http').IncomingMessage} req
     * @returns {string | null | Promise<string | null>}
     */
    check(req) {
      const header = req.headers.authorization;
      if (typeof header !== 'string' || !header.startsWith('Basic ')) return null;
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return null;
      const user = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      if (user === '' || password === '') return null;
      const hash = storedHash(engine, user);
      const key = `${user}\0${createHmac('sha256', secret).update(password).digest('base64')}`;
      if (hash !== null && verified.get(key) === hash) return user;
      return verifyPassword(password, hash).then((ok) => {
        if (!ok) return null;
        if (verified.size >= cacheSize) verified.clear();
        verified.set(key, hash);
        return user;
      });
    },
  };
}

/**
 * Upstream's answer to a request without valid credentials: 401, no body,
 * the challenge. A script that says so (X-Requested-With: XMLHttpRequest,
 * as the simulation page does) asks for credentials itself and gets no
 * challenge header: with it, browsers open their own login dialog.
 */
export function sendChallenge(req, res) {
  const script = req.headers['x-requested-with'] === 'XMLHttpRequest';
  res.writeHead(401, script ? { 'Content-Length': 0 } : { 'WWW-Authenticate': `Basic realm="${REALM}"`, 'Content-Length': 0 });
  res.end();
}
