// static.js - serves a folder of static files (the simulation page's build,
// dist/web) over node:http for `rebatch serve`: GET and HEAD only, no
// directory listings, nothing outside the folder. Node only.
//
//   const serveWeb = staticFiles('dist/web');
//   http.createServer((req, res) => serveWeb(req, res) || other(req, res));

import { createReadStream, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';

import { PAGE_HEADERS } from './http-policy.js';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.bpmn': 'application/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * A request handler for the files under `dir`. Returns true when it answered
 * (a file, or a 404/405 for a path it owns), false to let the caller go on.
 * `/` is `index.html`. When `dir` has no index.html, every request falls
 * through except `/`, which says how to build the page.
 * @param {string} dir
 * @returns {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => boolean}
 */
export function staticFiles(dir) {
  const base = resolve(dir);
  return (req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return false;
    }
    const file = resolve(join(base, path === '/' ? 'index.html' : path));
    if (file !== base && !file.startsWith(base + sep)) return false;
    const stat = statOf(file);
    if (!stat?.isFile()) {
      if (path !== '/') return false;
      res.writeHead(404, { ...PAGE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('The simulation page is not built: run "npm run build:web".\n');
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...PAGE_HEADERS, Allow: 'GET, HEAD' });
      res.end();
      return true;
    }
    res.writeHead(200, {
      ...PAGE_HEADERS,
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': stat.size,
      'Cache-Control': 'no-cache',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
    return true;
  };
}

/** @param {string} file */
function statOf(file) {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}
