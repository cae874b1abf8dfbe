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
//     in a buffer and go out as one call of the rebatch_apply() function
//     with the next statement the transaction must send anyway (a find, a
//     scan, an unpredictable write, the commit); their revisions are checked
//     there, and a mismatch fails that statement as a conflict (Camunda's
//     optimistic locking flush). A PL/pgSQL function because its statements
//     are planned once per connection: the same writes as one statement of
//     data-modifying CTEs took ~0.9 ms to plan and run, the function ~0.2 ms.
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
// PQtransactionStatus: the connection is bad.
const PQTRANS_UNKNOWN = 4;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rebatch_records (
  coll TEXT COLLATE "C" NOT NULL,
  id   TEXT COLLATE "C" NOT NULL,
  json TEXT NOT NULL,
  rev  INTEGER NOT NULL,
  PRIMARY KEY (coll, id)
) WITH (fillfactor = 80); -- room on each page for HOT updates
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
-- Applies buffered writes in order: kinds 'i' insert, 'u' update, 'd'
-- remove, each with the revision it expects (bases) and its index entries
-- (ixn[i] of them in ixf/ixv). A function, so that its statements are
-- planned once per connection rather than once per call. strict: a failed
-- revision check raises ${CONFLICT_STATE} (the transaction fails). Not strict
-- (one write): answers -1 when done, else the stored revision (NULL: none).
CREATE OR REPLACE FUNCTION rebatch_apply(kinds TEXT[], colls TEXT[], ids TEXT[], jsons TEXT[], bases INTEGER[],
    revs INTEGER[], ixn INTEGER[], ixf TEXT[], ixv TEXT[], strict BOOLEAN) RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
  k INTEGER := 0;
  n INTEGER;
  stored INTEGER;
BEGIN
  FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
    IF kinds[i] = 'i' THEN
      INSERT INTO rebatch_records (coll, id, json, rev) VALUES (colls[i], ids[i], jsons[i], revs[i]) ON CONFLICT DO NOTHING;
    ELSIF kinds[i] = 'u' THEN
      UPDATE rebatch_records SET json = jsons[i], rev = revs[i] WHERE coll = colls[i] AND id = ids[i] AND rev = bases[i];
    ELSE
      DELETE FROM rebatch_records WHERE coll = colls[i] AND id = ids[i] AND rev = bases[i];
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
      SELECT rev INTO stored FROM rebatch_records WHERE coll = colls[i] AND id = ids[i];
      IF strict THEN
        RAISE EXCEPTION USING ERRCODE = '${CONFLICT_STATE}', MESSAGE = format(
          'another writer changed %s %s first (expected revision %s, stored %s)',
          colls[i], ids[i], bases[i], coalesce(stored::TEXT, 'none'));
      END IF;
      RETURN stored;
    END IF;
    IF kinds[i] <> 'i' THEN
      -- only the entries that changed: most updates keep their index values
      DELETE FROM rebatch_record_index WHERE coll = colls[i] AND id = ids[i] AND (field, value) NOT IN (
        SELECT f, v FROM unnest(ixf[k + 1 : k + ixn[i]], ixv[k + 1 : k + ixn[i]]) AS t(f, v));
    END IF;
    IF ixn[i] > 0 THEN
      INSERT INTO rebatch_record_index (coll, field, value, id)
        SELECT colls[i], f, v, ids[i] FROM unnest(ixf[k + 1 : k + ixn[i]], ixv[k + 1 : k + ixn[i]]) AS t(f, v)
        ON CONFLICT DO NOTHING;
    END IF;
    k := k + ixn[i];
  END LOOP;
  RETURN -1;
END $$;
`;

// Buffered writes this many at most: one statement stays a few hundred KB.
const MAX_PENDING = 500;

const keyOf = (coll, id) => `${coll}\u0000${id}`;

/** The PostgreSQL store. Create with `postgresStore(url)`. */
export class PostgresStore {
  #PQ;
  #pq = null;
  #url;
  /** A transaction's state, or null outside one. */
  #tx = null;
  /** Round trips to the server and the time spent waiting on them (benchmarks, monitoring). */
  stats = { roundTrips: 0, waitMs: 0 };

  /** @param {string} url a libpq connection string or postgres:// URI */
  constructor(url) {
    if (typeof url !== 'string' || url === '') throw new TypeError('postgresStore: a connection URL is required');
    let PQ;
    try {
      PQ = require('libpq');
    } catch (err) {
      throw new Error(`postgresStore needs the libpq addon (npm install libpq; Debian: libpq-dev): ${err.message}`);
    }
    this.#PQ = PQ;
    this.#url = url;
    this.#connect();
    try {
      this.#exec(`BEGIN; SELECT pg_advisory_xact_lock(${SCHEMA_LOCK}); ${SCHEMA} COMMIT`);
      const version = this.#exec("SELECT value FROM rebatch_meta WHERE key = 'schema'")[0]?.[0];
      if (version !== SCHEMA_VERSION) {
        throw new Error(`the database at ${redact(url)} has rebatch schema ${version}, this rebatch needs ${SCHEMA_VERSION}`);
      }
    } catch (err) {
      this.close();
      throw err;
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
    // A connection the server dropped (restart, terminated backend) failed
    // the operation that met it; the next one connects again.
    if (this.#pq.transactionStatus() === PQTRANS_UNKNOWN) this.#reconnect();
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
    const stored = this.#now(op);
    if (stored !== -1) throw conflict(coll, id, expectedRev, stored);
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
    const stored = this.#now({ kind: 'd', coll, id, json: null, base: expectedRev, rev: 0, index: [] });
    if (stored === -1) {
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
    finish(this.#pq);
    this.#pq = null;
  }

  // ---- internals ----------------------------------------------------------

  #connect() {
    const pq = new this.#PQ();
    try {
      pq.connectSync(this.#url);
    } catch (err) {
      // connectSync has closed the connection already
      throw new Error(`cannot connect to PostgreSQL at ${redact(this.#url)}: ${err.message.trim()}`);
    }
    this.#pq = pq;
    this.#exec('SET client_min_messages = warning');
  }

  #reconnect() {
    finish(this.#pq);
    this.#pq = null;
    try {
      this.#connect();
    } catch (err) {
      // stay usable: the next begin() tries again
      this.#pq = new this.#PQ();
      throw err;
    }
  }

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

  /** One write now, after the buffered ones: -1 when done, else the stored revision or null. */
  #now(op) {
    const statement = this.#writeSql([op], false);
    const [[answer]] = this.#tx ? this.#send(this.#tx, [statement]) : this.#exec(statement);
    return answer === null ? null : Number(answer);
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
   * fails). Otherwise it answers, for its one op, -1 when done or the
   * stored revision (NULL when there is none).
   */
  #writeSql(ops, strict) {
    const text = (values) => `ARRAY[${values.map((v) => (v === null ? 'NULL' : this.#lit(v))).join(',')}]::TEXT[]`;
    const ints = (values) => `ARRAY[${values.join(',')}]::INTEGER[]`;
    const fields = [];
    const values = [];
    for (const o of ops) {
      for (const e of o.index) {
        fields.push(e.field);
        values.push(e.value);
      }
    }
    return `SELECT rebatch_apply(${text(ops.map((o) => o.kind))}, ${text(ops.map((o) => o.coll))}, ${text(ops.map((o) => o.id))}, ` +
      `${text(ops.map((o) => o.json))}, ${ints(ops.map((o) => o.base))}, ${ints(ops.map((o) => o.rev))}, ` +
      `${ints(ops.map((o) => o.index.length))}, ${text(fields)}, ${text(values)}, ${strict})`;
  }

  /** Runs SQL text (one or more statements); the last one's rows, as arrays of text. */
  #exec(sql) {
    this.#live();
    const pq = this.#pq;
    const t0 = performance.now();
    pq.exec(sql);
    this.stats.roundTrips++;
    this.stats.waitMs += performance.now() - t0;
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

/** Closes a libpq connection. */
function finish(pq) {
  pq.finish();
  // finish() closes the addon's socket watcher asynchronously; a garbage
  // collection before libuv's close phase would free the watcher under it
  // (an assertion failure at exit). Keep the object until then.
  setImmediate(() => setImmediate(() => void pq));
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
