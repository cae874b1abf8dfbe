// A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a
// temporary folder, pg_ctl start on a free loopback port, stop (and delete
// the folder) at the end, on process exit too. No system service is used.
// PostgreSQL refuses to run as root, so as root the server runs as the
// `postgres` user that Debian's package creates.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The folder of initdb and pg_ctl: PG_BIN, else Debian's newest version. */
function pgBin() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  throw new Error('PostgreSQL server binaries not found (run scripts/setup.sh, or set PG_BIN)');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a cluster; resolves to {url, port, dir, stop()}. `settings` are
 * extra server settings (-c name=value).
 * @param {{settings?: Record<string, string | number>}} [options]
 */
export async function startPgCluster({ settings = {} } = {}) {
  const bin = pgBin();
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'rebatch-pg-'));
  const data = join(dir, 'data');
  if (asRoot) {
    const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(dir, Number(ids), Number(gid));
  }
  const run = (cmd, args) => {
    const argv = asRoot ? ['-u', 'postgres', '--', join(bin, cmd), ...args] : args;
    return execFileSync(asRoot ? 'runuser' : join(bin, cmd), argv, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  };
  let started = false;
  const stop = () => {
    process.off('exit', stop);
    for (const signal of ['SIGINT', 'SIGTERM']) process.off(signal, onSignal);
    if (started) {
      started = false;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stop);
  // A signal's default action skips 'exit': stop the server, then die of it.
  const onSignal = (signal) => {
    stop();
    process.kill(process.pid, signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM']) if (process.listenerCount(signal) === 0) process.once(signal, onSignal);
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'rebatch', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
    const port = await freePort();
    const opts = [`-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1'];
    for (const [k, v] of Object.entries(settings)) opts.push(`-c ${k}=${v}`);
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', opts.join(' '), '-w', 'start']);
    started = true;
    const url = (db) => `postgres://rebatch@127.0.0.1:${port}/${db}`;
    return {
      url: url('postgres'),
      port,
      dir,
      stop,
      /** Creates an empty database `name`; returns its URL. */
      createDatabase: (name) => createDatabase(url('postgres'), name),
    };
  } catch (err) {
    stop();
    throw new Error(`could not start PostgreSQL: ${err.stderr || err.message}`);
  }
}

let databases = 0;

/**
 * Creates an empty database on the server of `url` (a URL of any database
 * there); returns the new database's URL. `name` defaults to a fresh one.
 * @param {string} url @param {string} [name]
 */
export function createDatabase(url, name = `t${process.pid}_${++databases}`) {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
  const PQ = createRequire(import.meta.url)('libpq');
  const pq = new PQ();
  pq.connectSync(url);
  try {
    pq.exec(`CREATE DATABASE ${name}`);
    if (pq.resultStatus() !== 'PGRES_COMMAND_OK') throw new Error(pq.resultErrorMessage());
  } finally {
    pq.finish();
    setImmediate(() => setImmediate(() => void pq)); // see PostgresStore#close
  }
  return url.replace(/\/[^/?]*(\?.*)?$/, `/${name}$1`);
}
