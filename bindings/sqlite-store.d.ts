// sqlite-store.d.ts - types of `rebatch/sqlite` (bindings/sqlite-store.js).
// Needs the optional dependency better-sqlite3 (loaded on first use).

import type { IndexEntry, Store, StoredPageRow, StoredRow } from './index.js';

export interface SqliteStoreOptions {
  /** SQLite's synchronous pragma (default FULL: every commit on disk before the operation returns). */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF' | 'EXTRA';
}

/** A durable store on an SQLite file (WAL). */
export declare class SqliteStore implements Store {
  constructor(path: string, options?: SqliteStoreOptions);
  /** The better-sqlite3 database. */
  readonly db: unknown;
  readonly open: boolean;
  begin(): void;
  commit(): void;
  rollback(): void;
  get(coll: string, id: string): StoredRow | null;
  put(coll: string, id: string, json: string, expectedRev: number, index?: IndexEntry[]): number;
  remove(coll: string, id: string, expectedRev: number): boolean;
  find(coll: string, field: string, value: string, afterId: string | null, limit: number): StoredPageRow[];
  scan(coll: string, afterId: string | null, limit: number): StoredPageRow[];
  findOrdered(coll: string, field: string, afterValue: string | null, afterId: string | null, limit: number): StoredPageRow[];
  dump(): string;
  /** Checkpoints the WAL and closes the file. */
  close(): void;
}

/** Opens (creating if needed) the database file at path, or ':memory:'. */
export declare function sqliteStore(path: string, options?: SqliteStoreOptions): SqliteStore;
