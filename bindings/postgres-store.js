// postgres-store.js - a store on a PostgreSQL database (Node only), for
// several rebatch nodes on one database. Implements the JS storage contract
// of js-memory-store.js: revisions, declared indexes, ascending-id paging,
// one transaction per engine operation.
//
//   const store = postgresStore('postgres://user@host:5432/db');
//   const engine = await createEngine({ store });
//   ... engine.close(); store.close();
//
// The engine calls the store synchronously, so the store talks to the
// server through libpq's blocking calls (the `libpq` addon). Measured on
// this project's machines (tests/bench/pg-sync.bench.js): a round trip costs
// ~0.1 ms through libpq and ~0.2 ms through the pure-JS `pg` client in a
// worker thread behind Atomics.wait. Round trips are what costs, so the
// store sends few of them:
//   - Reads outside any write go out on their own, in autocommit: READ
//     COMMITTED like Camunda; the revision checks on write are what keeps
//     concurrent writers apart.
//   - Writes whose outcome the store can predict (inserts, and updates and
//     removes of a record this transaction read at the revision named) wait
//     in a buffer and go out as one statement with the next statement the
//     transaction must send anyway (a find, a scan, an unpredictable write,
//     the commit); their revisions are checked there, and a mismatch fails
//     that statement as a conflict (Camunda's optimistic locking flush).
//     Reads see the buffer, so a transaction reads its own writes.
//   - A write whose outcome the store cannot predict (a record not read in
//     this transaction) goes out at once and reports a conflict at once: the
//     core reacts to those (a job whose acquisition row went stale).
//   - BEGIN rides with the first statement that needs a transaction; a
//     transaction that only read, or whose writes fit in one statement,
//     sends no BEGIN at all.
// Ids and index values are TEXT in the "C" collation: byte order of UTF-8,
// the code point order the engine pages in.

import { createRequire } from 'node:module';

import { StoreConflictError } from './errors.js';

const require = createRequire(import.meta.url);

const SCHEMA_VERSION = '1';
// One advisory lock key for schema creation: nodes starting together wait
// for each other instead of racing on CREATE TABLE.
const SCHEMA_LOCK = 0x7265_6261; // 'reba'
// The SQLSTATE a failed revision check raises (class RB: rebatch's own).
const CONFLICT_STATE = 'RB409';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rebatch_records (
  coll TEXT COLLATE "C" NOT NULL,
  id   TEXT COLLATE "C" NOT NULL,
  json TEXT NOT NULL,
  rev  INTEGER NOT NULL,
  PRIMARY KEY (coll, id)
);
CREATE TABLE IF NOT EXISTS rebatch_record_index (
  coll  TEXT COLLATE "C" NOT NULL,
  field TEXT COLLATE "C" NOT NULL,
  value TEXT COLLATE "C" NOT NULL,
  id    TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (coll, field, value, id)
);
CREATE INDEX IF NOT EXISTS rebatch_record_index_by_record ON rebatch_record_index (coll, id);
CREATE TABLE IF NOT EXISTS rebatch_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO rebatch_meta (key, value) VALUES ('schema', '${SCHEMA_VERSION}') ON CONFLICT (key) DO NOTHING;
CREATE OR REPLACE FUNCTION rebatch_conflict(what TEXT) RETURNS INTEGER LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', what USING ERRCODE = '${CONFLICT_STATE}';
END $$;
`;

// Buffered writes this many at most: one statement stays a few hundred KB.
const MAX_PENDING = 500;

const keyOf = (coll, id) => `${coll}\u0000${id}`;

/** The PostgreSQL store. Create with `postgresStore(url)`. */
export class PostgresStore {
  #pq;
  #url;
  /** A transaction's state, or null outside one. */
  #tx = null;

  /** @param {string} url a libpq connection string or postgres:// URI */
  constructor(url) {
    if (typeof url !== 'string' || url === '') throw new TypeError('postgresStore: a connection URL is required');
    let PQ;
    try {
      PQ = require('libpq');
    } catch (err) {
      throw new Error(`postgresStore needs the libpq addon (npm install libpq; Debian: libpq-dev): ${err.message}`);
    }
    this.#url = url;
    const pq = new PQ();
    try {
      pq.connectSync(url);
    } catch (err) {
      // connectSync has closed the connection already
      throw new Error(`cannot connect to PostgreSQL at ${redact(url)}: ${err.message.trim()}`);
    }
    this.#pq = pq;
    this.#exec(`SET client_min_messages = warning; BEGIN; SELECT pg_advisory_xact_lock(${SCHEMA_LOCK}); ${SCHEMA} COMMIT`);
    const version = this.#exec("SELECT value FROM rebatch_meta WHERE key = 'schema'")[0]?.[0];
    if (version !== SCHEMA_VERSION) {
      this.close();
      throw new Error(`the database at ${redact(url)} has rebatch schema ${version}, this rebatch needs ${SCHEMA_VERSION}`);
    }
  }

  /** The connection URL without its password. */
  get url() {
    return redact(this.#url);
  }

  get open() {
    return this.#pq !== null;
  }

  begin() {
    if (this.#tx) throw new Error('begin: a transaction is already open');
    this.#live();
    this.#tx = { begun: false, pending: new Map(), seen: new Map() };
  }

  commit() {
    const tx = this.#inTx('commit');
    const sql = [];
    if (tx.pending.size > 0) sql.push(this.#flushSql(tx));
    if (tx.begun) sql.push('COMMIT');
    try {
      if (sql.length > 0) this.#exec(sql.join(';\n'));
    } catch (err) {
      // A failed COMMIT (or flush) leaves nothing written; close the
      // server's transaction and report.
      if (tx.begun) this.#quietRollback();
      this.#tx = null;
      throw err;
    }
    this.#tx = null;
  }

  rollback() {
    const tx = this.#inTx('rollback');
    this.#tx = null;
    if (tx.begun) this.#exec('ROLLBACK');
  }

  /** @param {string} coll @param {string} id */
  get(coll, id) {
    const tx = this.#tx;
    const key = keyOf(coll, id);
    const p = tx?.pending.get(key);
    if (p) return p.kind === 'd' ? null : { json: p.json, rev: p.rev };
    const rows = this.#exec(`SELECT json, rev FROM rebatch_records WHERE coll = ${this.#lit(coll)} AND id = ${this.#lit(id)}`);
    if (rows.length === 0) {
      tx?.seen.set(key, 0);
      return null;
    }
    const row = { json: rows[0][0], rev: Number(rows[0][1]) };
    tx?.seen.set(key, row.rev);
    return row;
  }

  /**
   * @param {string} coll @param {string} id @param {string} json
   * @param {number} expectedRev @param {{field: string, value: string | null}[]} [index]
   */
  put(coll, id, json, expectedRev, index = []) {
    if (typeof json !== 'string') throw new TypeError('put: json must be a string');
    const tx = this.#tx;
    const entries = index.filter((e) => e.value !== null && e.value !== undefined);
    const key = keyOf(coll, id);
    if (tx) {
      const p = tx.pending.get(key);
      if (p && p.kind !== 'd') {
        if (p.rev !== expectedRev) {
          throw new StoreConflictError(`${coll} ${id} has revision ${p.rev}, not the expected ${expectedRev}`);
        }
        Object.assign(p, { json, rev: expectedRev + 1, index: entries });
        return p.rev;
      }
      if (!p && (expectedRev === 0 || tx.seen.get(key) === expectedRev)) {
        const kind = expectedRev === 0 ? 'i' : 'u';
        tx.pending.set(key, { kind, coll, id, json, base: expectedRev, rev: expectedRev + 1, index: entries });
        if (tx.pending.size >= MAX_PENDING) this.#send(tx, []);
        return expectedRev + 1;
      }
    }
    const op = { kind: expectedRev === 0 ? 'i' : 'u', coll, id, json, base: expectedRev, rev: expectedRev + 1, index: entries };
    const [[done, stored]] = this.#now(op);
    if (Number(done) !== 1) throw conflict(coll, id, expectedRev, stored);
    tx?.seen.set(key, op.rev);
    return op.rev;
  }

  /** @param {string} coll @param {string} id @param {number} expectedRev */
  remove(coll, id, expectedRev) {
    const tx = this.#tx;
    const key = keyOf(coll, id);
    if (tx) {
      const p = tx.pending.get(key);
      if (p?.kind === 'd') return false;
      if (p?.kind === 'i') {
        if (p.rev !== expectedRev) throw conflict(coll, id, expectedRev, p.rev);
        // Inserted and removed in one transaction: nothing reaches the server.
        tx.pending.delete(key);
        return true;
      }
      if (p) {
        if (p.rev !== expectedRev) throw conflict(coll, id, expectedRev, p.rev);
        Object.assign(p, { kind: 'd', json: null, index: [] });
        return true;
      }
      if (tx.seen.get(key) === 0) return false;
      if (tx.seen.get(key) === expectedRev) {
        tx.pending.set(key, { kind: 'd', coll, id, json: null, base: expectedRev, rev: 0, index: [] });
        if (tx.pending.size >= MAX_PENDING) this.#send(tx, []);
        return true;
      }
    }
    const [[done, stored]] = this.#now({ kind: 'd', coll, id, json: null, base: expectedRev, rev: 0, index: [] });
    if (Number(done) === 1) {
      tx?.seen.set(key, 0);
      return true;
    }
    if (stored === null) return false;
    throw conflict(coll, id, expectedRev, stored);
  }

  /**
   * @param {string} coll @param {string} field @param {string} value
   * @param {string | null} afterId @param {number} limit
   */
  find(coll, field, value, afterId, limit) {
    const after = afterId === null || afterId === undefined ? '' : ` AND i.id > ${this.#lit(afterId)}`;
    return this.#list(
      `SELECT r.id, r.json, r.rev FROM rebatch_record_index i
       JOIN rebatch_records r ON r.coll = i.coll AND r.id = i.id
       WHERE i.coll = ${this.#lit(coll)} AND i.field = ${this.#lit(field)} AND i.value = ${this.#lit(value)}${after}
       ORDER BY i.id${limitSql(limit)}`,
      coll,
    );
  }

  /** @param {string} coll @param {string | null} afterId @param {number} limit */
  scan(coll, afterId, limit) {
    const after = afterId === null || afterId === undefined ? '' : ` AND id > ${this.#lit(afterId)}`;
    return this.#list(
      `SELECT id, json, rev FROM rebatch_records WHERE coll = ${this.#lit(coll)}${after} ORDER BY id${limitSql(limit)}`,
      coll,
    );
  }

  /**
   * The whole content as canonical JSON text, the same shape as
   * JsMemoryStore#dump() and the C store's dump.
   */
  dump() {
    const parts = [];
    let coll = null;
    let recs = [];
    for (const [c, id, json, rev] of this.#exec('SELECT coll, id, json, rev FROM rebatch_records ORDER BY coll, id')) {
      if (c !== coll) {
        if (coll !== null) parts.push(`${JSON.stringify(coll)}:{${recs.join(',')}}`);
        coll = c;
        recs = [];
      }
      recs.push(`${JSON.stringify(id)}:{"rev":${rev},"record":${json}}`);
    }
    if (coll !== null) parts.push(`${JSON.stringify(coll)}:{${recs.join(',')}}`);
    return `{${parts.join(',')}}`;
  }

  /** Closes the connection (an open transaction is rolled back). Idempotent. */
  close() {
    if (!this.#pq) return;
    if (this.#tx?.begun) this.#quietRollback();
    this.#tx = null;
    const pq = this.#pq;
    this.#pq = null;
    pq.finish();
    // finish() closes the addon's socket watcher asynchronously; a garbage
    // collection before libuv's close phase would free the watcher under
    // it (an assertion failure at exit). Keep the object until then.
    setImmediate(() => setImmediate(() => void pq));
  }

  // ---- internals ----------------------------------------------------------

  #live() {
    if (!this.#pq) throw new Error('the PostgreSQL store is closed');
  }

  #inTx(what) {
    if (!this.#tx) throw new Error(`${what}: no open transaction`);
    return this.#tx;
  }

  #lit(text) {
    // libpq's binding hands '' back unquoted
    return text === '' ? "''" : this.#pq.escapeLiteral(text);
  }

  /** A listing, after the buffered writes (it must see them). */
  #list(select, coll) {
    const tx = this.#tx;
    const rows = tx && tx.pending.size > 0 ? this.#send(tx, [select]) : this.#exec(select);
    const out = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [id, json, rev] = rows[i];
      out[i] = { id, json, rev: Number(rev) };
      tx?.seen.set(keyOf(coll, id), out[i].rev);
    }
    return out;
  }

  /** One write now, after the buffered ones; rows [[done, storedRev]]. */
  #now(op) {
    const statement = this.#writeSql([op], false);
    return this.#tx ? this.#send(this.#tx, [statement]) : this.#exec(statement);
  }

  /**
   * Sends the buffered writes (BEGIN first if the server has none open)
   * and then `statements`, in one round trip; returns the last one's rows.
   */
  #send(tx, statements) {
    const sql = [];
    if (!tx.begun) sql.push('BEGIN');
    if (tx.pending.size > 0) sql.push(this.#flushSql(tx));
    sql.push(...statements);
    tx.begun = true;
    return this.#exec(sql.join(';\n'));
  }

  /** The buffered writes as one statement that raises on any conflict. */
  #flushSql(tx) {
    const ops = [...tx.pending.values()];
    tx.pending.clear();
    return this.#writeSql(ops, true);
  }

  /**
   * One statement applying `ops` (inserts 'i', updates 'u', removes 'd',
   * each with the revision it expects) and their index entries. Strict: a
   * conflict raises CONFLICT_STATE (the statement, hence the transaction,
   * fails). Otherwise it answers [done, stored revision] for its one op.
   */
  #writeSql(ops, strict) {
    const lit = (v) => (v === null ? 'NULL' : this.#lit(v));
    const rows = ops.map((o) => `(${lit(o.coll)},${lit(o.id)},${lit(o.json)},${o.base},${o.rev},'${o.kind}')`);
    const ix = [];
    for (const o of ops) for (const e of o.index) ix.push(`(${lit(o.coll)},${lit(o.id)},${lit(e.field)},${lit(e.value)})`);
    const ixValues = ix.length > 0 ? `VALUES ${ix.join(',')}` : 'SELECT NULL::text, NULL::text, NULL::text, NULL::text WHERE false';
    const answer = strict
      ? `SELECT CASE WHEN (SELECT count(*) FROM done) = ${ops.length} THEN 0 ELSE rebatch_conflict(
           (SELECT 'another writer changed ' || d.coll || ' ' || d.id || ' first (expected revision ' || d.base || ')'
              FROM d WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.coll = d.coll AND done.id = d.id) LIMIT 1)) END`
      : `SELECT (SELECT count(*) FROM done),
                (SELECT r.rev FROM rebatch_records r JOIN d ON r.coll = d.coll AND r.id = d.id)`;
    return `WITH d(coll, id, json, base, rev, kind) AS (VALUES ${rows.join(',')}),
  ins AS (INSERT INTO rebatch_records (coll, id, json, rev)
          SELECT coll, id, json, rev FROM d WHERE kind = 'i' ON CONFLICT DO NOTHING RETURNING coll, id),
  upd AS (UPDATE rebatch_records r SET json = d.json, rev = d.rev FROM d
          WHERE d.kind = 'u' AND r.coll = d.coll AND r.id = d.id AND r.rev = d.base RETURNING r.coll, r.id),
  del AS (DELETE FROM rebatch_records r USING d
          WHERE d.kind = 'd' AND r.coll = d.coll AND r.id = d.id AND r.rev = d.base RETURNING r.coll, r.id),
  done AS (SELECT coll, id FROM ins UNION ALL SELECT coll, id FROM upd UNION ALL SELECT coll, id FROM del),
  x(coll, id, field, value) AS (${ixValues}),
  ixdel AS (DELETE FROM rebatch_record_index i USING (SELECT coll, id FROM upd UNION ALL SELECT coll, id FROM del) c
            WHERE i.coll = c.coll AND i.id = c.id AND NOT EXISTS (
              SELECT 1 FROM x WHERE x.coll = i.coll AND x.id = i.id AND x.field = i.field AND x.value = i.value)),
  ixins AS (INSERT INTO rebatch_record_index (coll, field, value, id)
            SELECT x.coll, x.field, x.value, x.id FROM x JOIN (SELECT coll, id FROM ins UNION ALL SELECT coll, id FROM upd) c
              ON c.coll = x.coll AND c.id = x.id
            ON CONFLICT DO NOTHING)
${answer}`;
  }

  /** Runs SQL text (one or more statements); the last one's rows, as arrays of text. */
  #exec(sql) {
    this.#live();
    const pq = this.#pq;
    pq.exec(sql);
    const status = pq.resultStatus();
    if (status !== 'PGRES_TUPLES_OK' && status !== 'PGRES_COMMAND_OK') {
      const fields = pq.resultErrorFields() ?? {};
      const message = (pq.resultErrorMessage() || pq.errorMessage()).trim();
      if (fields.sqlState === CONFLICT_STATE) throw new StoreConflictError(fields.messagePrimary ?? message);
      // 40001/40P01: the server's own serialization failure or deadlock is a
      // concurrent writer too; Camunda reports both as optimistic locking.
      if (fields.sqlState === '40001' || fields.sqlState === '40P01') throw new StoreConflictError(message);
      throw new Error(`PostgreSQL: ${message}`);
    }
    const n = pq.ntuples();
    const m = pq.nfields();
    const rows = new Array(n);
    for (let i = 0; i < n; i++) {
      const row = new Array(m);
      for (let j = 0; j < m; j++) row[j] = pq.getisnull(i, j) ? null : pq.getvalue(i, j);
      rows[i] = row;
    }
    return rows;
  }

  #quietRollback() {
    try {
      this.#exec('ROLLBACK');
    } catch {
      // the connection is gone; the server rolls back on its own
    }
  }
}

function limitSql(limit) {
  return limit >= 0 ? ` LIMIT ${Math.trunc(limit)}` : '';
}

function conflict(coll, id, expectedRev, stored) {
  return new StoreConflictError(
    stored === null || stored === undefined
      ? `${coll} ${id} does not exist (expected revision ${expectedRev})`
      : `${coll} ${id} has revision ${stored}, not the expected ${expectedRev}`,
  );
}

/** The URL with any password replaced, for messages. */
function redact(url) {
  return url.replace(/(\/\/[^:/@]*):[^@/]*@/, '$1:***@').replace(/(password=)\S+/, '$1***');
}

/**
 * A store on a PostgreSQL database; the schema is created on first use.
 * @param {string} url e.g. 'postgres://user@127.0.0.1:5432/db'
 */
export function postgresStore(url) {
  return new PostgresStore(url);
}
