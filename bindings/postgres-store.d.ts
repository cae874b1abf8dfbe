// postgres-store.d.ts - types of `rebatch/postgres` (bindings/postgres-store.js).
// Needs the optional dependency libpq (loaded on first use; Debian: libpq-dev).

import type { IndexEntry, Store, StoredPageRow, StoredRow } from './index.js';

/** A store on a PostgreSQL database shared by several rebatch nodes (optimistic locking by revision). */
export declare class PostgresStore implements Store {
  constructor(url: string);
  /** The connection URL, without its password. */
  readonly url: string;
  readonly open: boolean;
  /** Round trips to the server and the time spent waiting on them. */
  readonly stats: { roundTrips: number; waitMs: number };
  begin(): void;
  commit(): void;
  rollback(): void;
  get(coll: string, id: string): StoredRow | null;
  put(coll: string, id: string, json: string, expectedRev: number, index?: IndexEntry[]): number;
  remove(coll: string, id: string, expectedRev: number): boolean;
  find(coll: string, field: string, value: string, afterId: string | null, limit: number): StoredPageRow[];
  scan(coll: string, afterId: string | null, limit: number): StoredPageRow[];
  dump(): string;
  close(): void;
}

/** Connects to the database at url (e.g. 'postgres://user@127.0.0.1:5432/db'), creating the schema on first use. */
export declare function postgresStore(url: string): PostgresStore;
