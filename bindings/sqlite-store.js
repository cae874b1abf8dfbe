// sqlite-store.js - a durable store on an SQLite file (better-sqlite3, Node
// only), implementing the JS storage contract of js-memory-store.js:
// revisions, declared indexes, ascending-id paging, one transaction per
// engine operation. Single-node: the store locks the file while open, and a
// second process opening it is refused. WAL journal; synchronous=FULL by
// default, so a commit is on disk before the engine operation (and the HTTP
// response) returns.
//
//   const store = sqliteStore('./rebatch.db');
//   const engine = await createEngine({ store });
//   ... engine.close(); store.close();
//
// Ids and index values are TEXT compared with SQLite's BINARY collation
// (memcmp over UTF-8), which is the code point order the engine pages in.

import { createRequire } from 'node:module';
import { StoreConflictError } from './errors.js';

/** better-sqlite3, an optional dependency: loaded on first use only. */
let Database = null;
function loadDriver() {
  if (Database) return Database;
  try {
    Database = createRequire(import.meta.url)('better-sqlite3');
  } catch (err) {
    if (err?.code !== 'MODULE_NOT_FOUND' && !/bindings file|better_sqlite3\.node/.test(String(err?.message))) throw err;
    throw new Error(
      'rebatch/sqlite needs the optional dependency better-sqlite3, which is not installed or not built: ' +
        "run 'npm install better-sqlite3' (it compiles with node-gyp), or use the in-memory store",
      { cause: err },
    );
  }
  return Database;
}

// Schema 2. records.idx keeps the record's index values (JSON [[field,
// value], ...]), so an update writes only the index rows whose values
// changed and a removal deletes its rows by key, with no second index on
// record_index. Layout and page size chosen by tests/bench/sqlite-layout.bench.js
// (figures in docs/sqlite-store.md).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (
  coll TEXT NOT NULL,
  id   TEXT NOT NULL,
  json TEXT NOT NULL,
  rev  INTEGER NOT NULL,
  idx  TEXT,
  PRIMARY KEY (coll, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS record_index (
  coll  TEXT NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  id    TEXT NOT NULL,
  PRIMARY KEY (coll, field, value, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '2');
`;

const SCHEMA_VERSION = 2;
const PAGE_SIZE = 4096;

/**
 * Brings a schema 1 file (rebatch before the index diff) to schema 2, in one
 * transaction: records gain idx, filled from record_index; the index by
 * record goes. Jobs' "acquirable" values become their due dates, as the
 * engine writes them for a store with findOrdered (due_key in src/job.c:
 * 16 digits of milliseconds, zero when there is none).
 */
function migrateFrom1(db) {
  db.transaction(() => {
    db.exec(`
      ALTER TABLE records ADD COLUMN idx TEXT;
      UPDATE record_index SET value = (
        SELECT printf('%016d', max(0, min(9999999999999999, CAST(coalesce(json_extract(r.json, '$.dueDate'), 0) AS INTEGER))))
        FROM records r WHERE r.coll = record_index.coll AND r.id = record_index.id)
      WHERE coll = 'job' AND field = 'acquirable';
      UPDATE records SET idx = (
        SELECT json_group_array(json_array(i.field, i.value)) FROM record_index i
        WHERE i.coll = records.coll AND i.id = records.id);
      DROP INDEX IF EXISTS record_index_by_record;
      UPDATE meta SET value = '2' WHERE key = 'schema';
    `);
  })();
}

/** The file's schema version (0: a new, empty file). */
function schemaVersion(db) {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (!hasMeta) return 0;
  return Number(db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() ?? 0);
}

/** The index entries with a value, as stored in records.idx. */
function indexText(index) {
  const present = [];
  for (const { field, value } of index) if (value !== null && value !== undefined) present.push([field, value]);
  return JSON.stringify(present);
}

const entryKey = (e) => `${e[0]}\u0000${e[1]}`;

/**
 * Releases the job locks an earlier process left: the store serves one
 * process at a time, so the executor and handlers that acquired them are
 * gone. A node of a cluster must wait for such locks to expire
 * (lockTimeInMillis, 5 minutes by default); a single node need not.
 * External task locks belong to workers, which outlive the server, and stay.
 */
function releaseDeadJobLocks(db) {
  db.prepare(
    `UPDATE records SET json = json_remove(json, '$.lockOwner', '$.lockExpirationTime'), rev = rev + 1
     WHERE coll = 'job' AND json_extract(json, '$.lockOwner') IS NOT NULL`,
  ).run();
}

/** Creates the schema in a new file, migrates an older one, refuses a newer one. */
function openSchema(db) {
  const version = schemaVersion(db);
  if (version > SCHEMA_VERSION) {
    throw new Error(`its schema version ${version} is newer than this rebatch's (${SCHEMA_VERSION})`);
  }
  if (version === 1) migrateFrom1(db);
  db.exec(SCHEMA);
}

/** The SQLite store. Create with `sqliteStore(path)`. */
export class SqliteStore {
  #db;
  #s;
  #inTx = false;

  /**
   * @param {string} path a file name, or ':memory:'
   * @param {{synchronous?: 'FULL' | 'NORMAL' | 'OFF'}} [options]
   */
  constructor(path, { synchronous = 'FULL' } = {}) {
    if (!/^(FULL|NORMAL|OFF|EXTRA)$/.test(synchronous)) throw new TypeError(`bad synchronous mode ${synchronous}`);
    const Driver = loadDriver();
    const cannotOpen = (err) => new Error(`cannot open the SQLite database ${path}: ${err.message}`, { cause: err });
    let db;
    try {
      db = new Driver(path, { timeout: 0 });
    } catch (err) {
      throw cannotOpen(err);
    }
    this.#db = db;
    try {
      // One process at a time: the store holds the file's exclusive lock
      // from open to close (set before WAL is first used, so the WAL index
      // lives in this process's memory). Two processes serving one file
      // would each run a job executor over the other's writes.
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma(`page_size = ${PAGE_SIZE}`); // a new file's; an existing file keeps its own
      db.pragma('journal_mode = WAL');
      db.exec('BEGIN EXCLUSIVE; COMMIT');
      db.pragma(`synchronous = ${synchronous}`);
      db.pragma('foreign_keys = OFF');
      // The executor's savepoints journal every page a job touches; on a
      // temp file that was 26 write calls and 54 KB an item, in memory 4.6
      // and 11 KB (tests/bench/sqlite.bench.js, written_kb_per_item).
      db.pragma('temp_store = MEMORY');
      openSchema(db);
      releaseDeadJobLocks(db);
    } catch (err) {
      db.close();
      if (err.code !== 'SQLITE_BUSY') throw cannotOpen(err);
      throw new Error(
        `the SQLite file ${path} is in use by another rebatch process (or store): an SQLite store serves ` +
          'one process at a time (several nodes share a PostgreSQL database: --db postgres://user@host:port/db)',
      );
    }
    const p = (sql) => db.prepare(sql);
    const listing = 'SELECT r.id, r.json, r.rev FROM record_index i JOIN records r ON r.coll = i.coll AND r.id = i.id';
    this.#s = {
      // Deferred: a read-only operation takes no write lock; SQLite takes it
      // at the first write (one process per file, so none can come between).
      begin: p('BEGIN'),
      commit: p('COMMIT'),
      rollback: p('ROLLBACK'),
      savepoint: p('SAVEPOINT job'),
      release: p('RELEASE job'),
      rollbackTo: p('ROLLBACK TO job'),
      get: p('SELECT json, rev FROM records WHERE coll = ? AND id = ?'),
      head: p('SELECT rev, idx FROM records WHERE coll = ? AND id = ?'),
      insert: p('INSERT INTO records (coll, id, json, rev, idx) VALUES (?, ?, ?, 1, ?)'),
      update: p('UPDATE records SET json = ?, rev = ?, idx = ? WHERE coll = ? AND id = ?'),
      delete: p('DELETE FROM records WHERE coll = ? AND id = ?'),
      insertIndex: p('INSERT OR IGNORE INTO record_index (coll, field, value, id) VALUES (?, ?, ?, ?)'),
      deleteIndex: p('DELETE FROM record_index WHERE coll = ? AND field = ? AND value = ? AND id = ?'),
      findFirst: p(`${listing} WHERE i.coll = ? AND i.field = ? AND i.value = ? ORDER BY i.id LIMIT ?`),
      findAfter: p(`${listing} WHERE i.coll = ? AND i.field = ? AND i.value = ? AND i.id > ? ORDER BY i.id LIMIT ?`),
      orderedFirst: p(`${listing} WHERE i.coll = ? AND i.field = ? ORDER BY i.value, i.id LIMIT ?`),
      orderedAfter: p(
        `${listing} WHERE i.coll = ? AND i.field = ? AND (i.value, i.id) > (?, ?) ORDER BY i.value, i.id LIMIT ?`,
      ),
      scanFirst: p('SELECT id, json, rev FROM records WHERE coll = ? ORDER BY id LIMIT ?'),
      scanAfter: p('SELECT id, json, rev FROM records WHERE coll = ? AND id > ? ORDER BY id LIMIT ?'),
    };
  }

  /** The better-sqlite3 database (for checks and tests). */
  get db() {
    return this.#db;
  }

  get open() {
    return this.#db.open;
  }

  begin() {
    if (this.#inTx) throw new Error('begin: a transaction is already open');
    this.#s.begin.run();
    this.#inTx = true;
  }

  commit() {
    if (!this.#inTx) throw new Error('commit: no open transaction');
    this.#s.commit.run();
    this.#inTx = false;
  }

  rollback() {
    if (!this.#inTx) throw new Error('rollback: no open transaction');
    this.#inTx = false;
    if (this.#db.inTransaction) this.#s.rollback.run();
  }

  /** A job's savepoint inside the executor's group transaction (store version 2). */
  savepoint() {
    if (!this.#inTx) throw new Error('savepoint: no open transaction');
    this.#s.savepoint.run();
  }

  release() {
    this.#s.release.run();
  }

  /** ROLLBACK TO keeps the savepoint open; RELEASE then ends it with nothing in it. */
  rollbackTo() {
    this.#s.rollbackTo.run();
    this.#s.release.run();
  }

  /** @param {string} coll @param {string} id */
  get(coll, id) {
    return this.#s.get.get(coll, id) ?? null;
  }

  /**
   * @param {string} coll @param {string} id @param {string} json
   * @param {number} expectedRev @param {{field: string, value: string | null}[]} [index]
   */
  put(coll, id, json, expectedRev, index = []) {
    if (typeof json !== 'string') throw new TypeError('put: json must be a string');
    const s = this.#s;
    const idx = indexText(index);
    if (expectedRev === 0) {
      try {
        s.insert.run(coll, id, json, idx);
      } catch (err) {
        if (err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new StoreConflictError(`${coll} ${id} already exists`);
        throw err;
      }
      for (const { field, value } of index) if (value !== null && value !== undefined) s.insertIndex.run(coll, field, value, id);
      return 1;
    }
    const stored = s.head.get(coll, id);
    if (stored?.rev !== expectedRev) {
      throw new StoreConflictError(
        stored === undefined
          ? `${coll} ${id} does not exist (expected revision ${expectedRev})`
          : `${coll} ${id} has revision ${stored.rev}, not the expected ${expectedRev}`,
      );
    }
    s.update.run(json, expectedRev + 1, idx, coll, id);
    this.#writeIndex(coll, id, stored.idx ?? '[]', idx);
    return expectedRev + 1;
  }

  /** Deletes the index rows only in `before` and inserts those only in `after` (records.idx texts). */
  #writeIndex(coll, id, before, after) {
    if (before === after) return;
    const old = JSON.parse(before);
    const now = JSON.parse(after);
    if (old.length === 0 || now.length === 0) { // an insert or a removal: no sets to compare
      for (const e of old) this.#s.deleteIndex.run(coll, e[0], e[1], id);
      for (const e of now) this.#s.insertIndex.run(coll, e[0], e[1], id);
      return;
    }
    const kept = new Set(now.map(entryKey));
    const had = new Set(old.map(entryKey));
    for (const e of old) if (!kept.has(entryKey(e))) this.#s.deleteIndex.run(coll, e[0], e[1], id);
    for (const e of now) if (!had.has(entryKey(e))) this.#s.insertIndex.run(coll, e[0], e[1], id);
  }

  /** @param {string} coll @param {string} id @param {number} expectedRev */
  remove(coll, id, expectedRev) {
    const s = this.#s;
    const stored = s.head.get(coll, id);
    if (stored === undefined) return false;
    if (stored.rev !== expectedRev) {
      throw new StoreConflictError(`${coll} ${id} has revision ${stored.rev}, not the expected ${expectedRev}`);
    }
    s.delete.run(coll, id);
    this.#writeIndex(coll, id, stored.idx ?? '[]', '[]');
    return true;
  }

  /**
   * @param {string} coll @param {string} field @param {string} value
   * @param {string | null} afterId @param {number} limit
   */
  find(coll, field, value, afterId, limit) {
    const n = limit >= 0 ? limit : -1;
    return afterId === null || afterId === undefined
      ? this.#s.findFirst.all(coll, field, value, n)
      : this.#s.findAfter.all(coll, field, value, afterId, n);
  }

  /**
   * Records that have a value for the indexed `field`, in (value, id) order,
   * after (afterValue, afterId) (both null: from the start). With it the
   * engine indexes jobs by due date (store version 3).
   * @param {string} coll @param {string} field @param {string | null} afterValue
   * @param {string | null} afterId @param {number} limit
   */
  findOrdered(coll, field, afterValue, afterId, limit) {
    const n = limit >= 0 ? limit : -1;
    return afterValue === null || afterValue === undefined
      ? this.#s.orderedFirst.all(coll, field, n)
      : this.#s.orderedAfter.all(coll, field, afterValue, afterId ?? '', n);
  }

  /** @param {string} coll @param {string | null} afterId @param {number} limit */
  scan(coll, afterId, limit) {
    const n = limit >= 0 ? limit : -1;
    return afterId === null || afterId === undefined
      ? this.#s.scanFirst.all(coll, n)
      : this.#s.scanAfter.all(coll, afterId, n);
  }

  /**
   * The whole content as canonical JSON text, the same shape as
   * JsMemoryStore#dump() and the C store's dump.
   */
  dump() {
    const parts = [];
    let coll = null;
    let recs = [];
    for (const r of this.#db.prepare('SELECT coll, id, json, rev FROM records ORDER BY coll, id').iterate()) {
      if (r.coll !== coll) {
        if (coll !== null) parts.push(`${JSON.stringify(coll)}:{${recs.join(',')}}`);
        coll = r.coll;
        recs = [];
      }
      recs.push(`${JSON.stringify(r.id)}:{"rev":${r.rev},"record":${r.json}}`);
    }
    if (coll !== null) parts.push(`${JSON.stringify(coll)}:{${recs.join(',')}}`);
    return `{${parts.join(',')}}`;
  }

  /** Closes the database (rolls back an open transaction). Idempotent. */
  close() {
    if (!this.#db.open) return;
    if (this.#db.inTransaction) this.#s.rollback.run();
    this.#inTx = false;
    this.#db.close();
  }
}

/**
 * A store on an SQLite file (created when absent).
 * @param {string} path
 * @param {{synchronous?: 'FULL' | 'NORMAL' | 'OFF'}} [options]
 */
export function sqliteStore(path, options) {
  return new SqliteStore(path, options);
}
