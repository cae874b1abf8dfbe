// http-policy.js - what the REST server lets in, before any route runs:
// the Host header while bound to loopback (DNS rebinding), cross-origin
// requests (CORS for named origins only; other origins may not write), the
// static page's security headers, and connection limits and timeouts
// (slowloris). Node only; rest.js calls it from its request listener.
//
//   const policy = httpPolicy({ host: '127.0.0.1', corsOrigins: ['http://localhost:3000'] });
//   http.createServer(policy.serverOptions, (req, res) => policy.admit(req, res) || handle(req, res));
//   policy.limit(server);

import { hostname } from 'node:os';

/** Defaults that keep the server answering under slowloris (see limit()). */
export const DEFAULT_LIMITS = Object.freeze({
  /** whole request head (request line and headers) must arrive within this */
  headersTimeoutMs: 10000,
  /** whole request, body included, must arrive within this */
  requestTimeoutMs: 60000,
  /** open connections, in all */
  maxConnections: 1024,
  /** open connections from one client address */
  maxConnectionsPerIp: 256,
});

/** How often Node looks for connections past their timeouts (its default is 30 s). */
const CHECK_INTERVAL_MS = 1000;
/** How long a connection cut for a protocol error or timeout may take to read its answer. */
const CLOSE_GRACE_MS = 1000;

/** The static page's headers. The page runs one bundled module and
 * rebatch.wasm, draws with bpmn-js (inline styles) and, in connected mode,
 * talks to any REST base URL the user types in. */
export const PAGE_HEADERS = Object.freeze({
  'Content-Security-Policy': [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self' http: https:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
});

const CORS_METHODS = 'GET, HEAD, POST, PUT, DELETE';
const CORS_HEADERS = ['authorization', 'content-type', 'accept', 'x-requested-with'];
const CORS_MAX_AGE = '600';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether an address or name (as given to listen, or a Host header's name) is loopback. */
export function isLoopback(host) {
  const name = String(host ?? '').toLowerCase().replace(/^\[|\]$/g, '');
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === '::1' ||
    /^127(\.\d{1,3}){3}$/.test(name) ||
    /^::ffff:127(\.\d{1,3}){3}$/.test(name)
  );
}

/** The host name of a Host header ("a:8080" -> "a", "[::1]:8080" -> "::1"), lower case. */
function hostName(header) {
  const text = String(header ?? '').trim().toLowerCase();
  if (text.startsWith('[')) return text.slice(1, text.indexOf(']') < 0 ? undefined : text.indexOf(']'));
  const colon = text.indexOf(':');
  return colon < 0 ? text : text.slice(0, colon);
}

/** An origin as browsers send it: scheme://host[:port], lower case, no path. */
function normalOrigin(origin) {
  try {
    const url = new URL(origin);
    return `${url.protocol}//${url.host}`;
  } catch {
    return null;
  }
}

/** Camunda's error body for a request this policy refuses. */
function refuse(res, status, type, message) {
  const text = JSON.stringify({ type, message, code: null });
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    Connection: 'close',
  });
  res.end(text);
  return true;
}

/**
 * The base URL `links` hrefs are built from: publicUrl when given, else the
 * address the server listens on (a wildcard address as this machine's name),
 * never a request's Host header.
 */
export function linkBase(publicUrl, address) {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  if (!address) return 'http://localhost';
  const wildcard = address.host === '0.0.0.0' || address.host === '::';
  const host = wildcard ? hostname() : address.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/**
 * @param {{host?: string, corsOrigins?: string[], allowedHosts?: string[], publicUrl?: string,
 *   headersTimeoutMs?: number, requestTimeoutMs?: number, maxConnections?: number,
 *   maxConnectionsPerIp?: number}} [options]
 *   host: the address listened on; while it is loopback, Host headers must name
 *   a loopback host, one of allowedHosts or publicUrl's host.
 *   corsOrigins: origins allowed to call the API from a browser ('*': any).
 */
export function httpPolicy(options = {}) {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS)) {
    if (options[key] !== undefined) limits[key] = options[key];
  }
  const origins = new Set((options.corsOrigins ?? []).map((o) => (o === '*' ? '*' : normalOrigin(o) ?? o)));
  const hosts = new Set((options.allowedHosts ?? []).map((h) => h.toLowerCase()));
  if (options.publicUrl) hosts.add(hostName(new URL(options.publicUrl).host));
  const checkHost = options.host === undefined || isLoopback(options.host);

  const allowed = (origin) => origins.has('*') || origins.has(origin);

  /** The CORS headers of an answer to an allowed origin. */
  function corsHeaders(res, origin) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate, Content-Length');
  }

  /** A CORS preflight: 204 with what may follow, or 403 for an origin or request not allowed. */
  function preflight(req, res, origin) {
    const method = String(req.headers['access-control-request-method']).toUpperCase();
    const wanted = String(req.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    if (!allowed(origin) || !CORS_METHODS.split(', ').includes(method) || wanted.some((h) => !CORS_HEADERS.includes(h))) {
      return refuse(res, 403, 'ForbiddenException', `CORS preflight from origin ${origin} refused`);
    }
    corsHeaders(res, origin);
    res.writeHead(204, {
      'Access-Control-Allow-Methods': CORS_METHODS,
      'Access-Control-Allow-Headers': CORS_HEADERS.join(', '),
      'Access-Control-Max-Age': CORS_MAX_AGE,
      'Content-Length': 0,
    });
    res.end();
    return true;
  }

  return {
    limits,
    /** Options for http.createServer. */
    serverOptions: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, limits.headersTimeoutMs),
    },

    /**
     * Answers a request the policy refuses, or a CORS preflight, and returns
     * true; false lets it go on (with CORS headers set for an allowed origin).
     */
    admit(req, res) {
      if (checkHost) {
        const name = hostName(req.headers.host);
        if (!isLoopback(name) && !hosts.has(name)) {
          return refuse(res, 403, 'ForbiddenException', `Host '${name}' is not allowed: the server listens on loopback only`);
        }
      }
      const header = req.headers.origin;
      if (header === undefined) return false;
      const origin = normalOrigin(header) ?? String(header);
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        return preflight(req, res, origin);
      }
      if (allowed(origin)) {
        corsHeaders(res, origin);
        return false;
      }
      // A page of another origin may not write, whatever it sends (a no-cors
      // form post carries no preflight): only this server's own pages may.
      const host = String(req.headers.host ?? '').toLowerCase();
      const own = origin === `http://${host}` || origin === `https://${host}`;
      if (!own && !SAFE_METHODS.has(req.method)) {
        return refuse(res, 403, 'ForbiddenException', `Cross-origin request from ${origin} refused`);
      }
      return false;
    },

    /** Connection limits on a server: in all and per client address. */
    limit(server) {
      server.maxConnections = limits.maxConnections;
      // After a protocol error or a timeout the server answers and half-closes;
      // a client that never reads (slowloris) would keep the socket open, so
      // it is destroyed shortly after, whatever the error answer was.
      server.on('clientError', (err, socket) => {
        setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
      });
      const perIp = new Map();
      server.on('connection', (socket) => {
        const ip = socket.remoteAddress ?? '';
        const open = (perIp.get(ip) ?? 0) + 1;
        if (open > limits.maxConnectionsPerIp) {
          socket.destroy();
          return;
        }
        perIp.set(ip, open);
        socket.once('close', () => {
          const left = (perIp.get(ip) ?? 1) - 1;
          if (left > 0) perIp.set(ip, left);
          else perIp.delete(ip);
        });
      });
    },
  };
}
