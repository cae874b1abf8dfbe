// js-memory-store.js - a pure-JS, Map-based store: the reference for the
// storage contract that JS stores implement (later: SQLite, PostgreSQL).
//
// The contract (mirrors rebatch_store in src/rebatch.h; all synchronous):
//   begin() / commit() / rollback()
//       One transaction per engine operation, never nested. Reads inside a
//       transaction see its own writes; rollback undoes them all.
//   savepoint() / release() / rollbackTo()   (optional, all three or none)
//       One savepoint inside the open transaction, never nested: release
//       keeps its writes, rollbackTo undoes them and ends it. With them the
//       job executor commits several jobs per transaction (store version 2).
//   get(collection, id) -> {json, rev} | null
//   put(collection, id, json, expectedRev, index) -> newRev
//       expectedRev 0 inserts (conflict if the id exists); otherwise it must
//       equal the stored revision (conflict if absent or different). The new
//       revision is 1 on insert, stored + 1 on update. `index` is the full
//       list [{field, value}] of the record's indexed values (value null:
//       the record has no value for that field); it replaces the previous.
//   remove(collection, id, expectedRev) -> boolean
//       false when absent; conflict when the revision differs.
//   find(collection, field, value, afterId, limit) -> [{id, json, rev}]
//       Records whose indexed `field` equals `value`.
//   scan(collection, afterId, limit) -> [{id, json, rev}]
//       All records of the collection.
//   findOrdered(collection, field, afterValue, afterId, limit)   (optional)
//       Records that have a value for the indexed `field`, in (value, id)
//       order, strictly after (afterValue, afterId) (null: from the start).
//       With it the engine indexes jobs by due date and acquisition reads
//       only due jobs (store version 3; sqlite-store.js has it).
//   Listings are in ascending id order by UTF-8 bytes (code point order),
//   strictly after `afterId` (null: from the start), at most `limit` rows.
//   A conflict is reported by throwing StoreConflictError; any other throw
//   is a storage error that fails (and rolls back) the engine operation.

import { StoreConflictError } from './errors.js';

/**
 * Compares two strings in UTF-8 byte order (= code point order), which is
 * the order of C's strcmp over UTF-8 and the order the engine pages in.
 * JS's `<` compares UTF-16 code units; the two differ only when a surrogate
 * (a character above U+FFFF) meets U+E000..U+FFFF.
 * @param {string} a @param {string} b
 */
export function compareIds(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      return x - y;
    }
  }
  return a.length - b.length;
}

/** First position in sorted `ids` whose id is > `id` (upper bound). */
function after(ids, id) {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareIds(ids[mid], id) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Position of `id` in sorted `ids`, or where it would go (lower bound). */
function lowerBound(ids, id) {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareIds(ids[mid], id) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sortedInsert(ids, id) {
  const at = lowerBound(ids, id);
  if (ids[at] !== id) ids.splice(at, 0, id);
}

function sortedRemove(ids, id) {
  const at = lowerBound(ids, id);
  if (ids[at] === id) ids.splice(at, 1);
}

/**
 * @typedef {{json: string, rev: number, index: {field: string, value: string | null}[]}} StoredRecord
 * @typedef {{records: Map<string, StoredRecord>, ids: string[],
 *   indexes: Map<string, Map<string, string[]>>}} Collection
 */

/** The pure-JS in-memory store. Create with `jsMemoryStore()`. */
export class JsMemoryStore {
  /** @type {Map<string, Collection>} */
  #collections = new Map();
  /** @type {{coll: string, id: string, prev: StoredRecord | undefined}[] | null} */
  #undo = null;
  /** The undo log's length when the open savepoint began, or null. */
  #savepoint = null;

  begin() {
    if (this.#undo) throw new Error('begin: a transaction is already open');
    this.#undo = [];
  }

  commit() {
    if (!this.#undo) throw new Error('commit: no open transaction');
    this.#undo = null;
    this.#savepoint = null;
  }

  rollback() {
    if (!this.#undo) throw new Error('rollback: no open transaction');
    const undo = this.#undo;
    this.#undo = null;
    this.#savepoint = null;
    this.#undoTo(undo, 0);
  }

  savepoint() {
    if (!this.#undo || this.#savepoint !== null) throw new Error('savepoint: no open transaction, or a savepoint is open');
    this.#savepoint = this.#undo.length;
  }

  release() {
    if (this.#savepoint === null) throw new Error('release: no open savepoint');
    this.#savepoint = null;
  }

  rollbackTo() {
    if (this.#savepoint === null) throw new Error('rollbackTo: no open savepoint');
    this.#undoTo(this.#undo, this.#savepoint);
    this.#undo.length = this.#savepoint;
    this.#savepoint = null;
  }

  /** Undoes the log's entries from its end down to `mark`, newest first. */
  #undoTo(undo, mark) {
    for (let i = undo.length - 1; i >= mark; i--) {
      const { coll, id, prev } = undo[i];
      const c = this.#collection(coll);
      this.#set(c, id, c.records.get(id), prev);
    }
  }

  /** @param {string} coll @param {string} id */
  get(coll, id) {
    const rec = this.#collections.get(coll)?.records.get(id);
    return rec ? { json: rec.json, rev: rec.rev } : null;
  }

  /**
   * @param {string} coll @param {string} id @param {string} json
   * @param {number} expectedRev @param {{field: string, value: string | null}[]} [index]
   */
  put(coll, id, json, expectedRev, index = []) {
    if (typeof json !== 'string') throw new TypeError('put: json must be a string');
    const c = this.#collection(coll);
    const prev = c.records.get(id);
    if (expectedRev === 0) {
      if (prev) throw new StoreConflictError(`${coll} ${id} already exists`);
    } else if (!prev) {
      throw new StoreConflictError(`${coll} ${id} does not exist (expected revision ${expectedRev})`);
    } else if (prev.rev !== expectedRev) {
      throw new StoreConflictError(
        `${coll} ${id} has revision ${prev.rev}, not the expected ${expectedRev}`,
      );
    }
    const rec = {
      json,
      rev: prev ? prev.rev + 1 : 1,
      index: index.map(({ field, value }) => ({ field, value: value ?? null })),
    };
    this.#log(coll, id, prev);
    this.#set(c, id, prev, rec);
    return rec.rev;
  }

  /** @param {string} coll @param {string} id @param {number} expectedRev */
  remove(coll, id, expectedRev) {
    const c = this.#collections.get(coll);
    const prev = c?.records.get(id);
    if (!c || !prev) return false;
    if (prev.rev !== expectedRev) {
      throw new StoreConflictError(
        `${coll} ${id} has revision ${prev.rev}, not the expected ${expectedRev}`,
      );
    }
    this.#log(coll, id, prev);
    this.#set(c, id, prev, undefined);
    return true;
  }

  /**
   * @param {string} coll @param {string} field @param {string} value
   * @param {string | null} afterId @param {number} limit
   */
  find(coll, field, value, afterId, limit) {
    const c = this.#collections.get(coll);
    const ids = c?.indexes.get(field)?.get(value);
    return c && ids ? this.#page(c, ids, afterId, limit) : [];
  }

  /** @param {string} coll @param {string | null} afterId @param {number} limit */
  scan(coll, afterId, limit) {
    const c = this.#collections.get(coll);
    return c ? this.#page(c, c.ids, afterId, limit) : [];
  }

  /**
   * The whole content as canonical JSON text, the same shape as the C
   * store's rebatch_memory_store_dump():
   * {"<collection>": {"<id>": {"rev": n, "record": <json>}, ...}, ...}
   * with collections and ids sorted (UTF-8 byte order) and records embedded
   * as stored. Collections without records are left out.
   */
  dump() {
    const names = [...this.#collections.keys()].sort(compareIds);
    const parts = [];
    for (const name of names) {
      const c = this.#collections.get(name);
      if (c.ids.length === 0) continue;
      const recs = c.ids.map((id) => {
        const rec = c.records.get(id);
        return `${JSON.stringify(id)}:{"rev":${rec.rev},"record":${rec.json}}`;
      });
      parts.push(`${JSON.stringify(name)}:{${recs.join(',')}}`);
    }
    return `{${parts.join(',')}}`;
  }

  // ---- internals ----------------------------------------------------------

  #collection(name) {
    let c = this.#collections.get(name);
    if (!c) {
      c = { records: new Map(), ids: [], indexes: new Map() };
      this.#collections.set(name, c);
    }
    return c;
  }

  #log(coll, id, prev) {
    if (this.#undo) this.#undo.push({ coll, id, prev });
  }

  /** Replaces record `prev` (or none) of `id` by `next` (or none). */
  #set(c, id, prev, next) {
    if (prev) {
      for (const { field, value } of prev.index) {
        if (value === null) continue;
        const ids = c.indexes.get(field)?.get(value);
        if (ids) {
          sortedRemove(ids, id);
          if (ids.length === 0) c.indexes.get(field).delete(value);
        }
      }
    }
    if (next) {
      if (!prev) sortedInsert(c.ids, id);
      c.records.set(id, next);
      for (const { field, value } of next.index) {
        if (value === null) continue;
        let byValue = c.indexes.get(field);
        if (!byValue) c.indexes.set(field, (byValue = new Map()));
        let ids = byValue.get(value);
        if (!ids) byValue.set(value, (ids = []));
        sortedInsert(ids, id);
      }
    } else if (prev) {
      c.records.delete(id);
      sortedRemove(c.ids, id);
    }
  }

  #page(c, ids, afterId, limit) {
    const start = afterId === null || afterId === undefined ? 0 : after(ids, afterId);
    const end = limit >= 0 ? Math.min(ids.length, start + limit) : ids.length;
    const rows = new Array(Math.max(0, end - start));
    for (let i = start; i < end; i++) {
      const id = ids[i];
      const rec = c.records.get(id);
      rows[i - start] = { id, json: rec.json, rev: rec.rev };
    }
    return rows;
  }
}

/** A new, empty pure-JS in-memory store. */
export function jsMemoryStore() {
  return new JsMemoryStore();
}
