// Front door of the store module: pick an adapter from the configuration.
import type { Store } from './types.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import { MongoStore } from './mongo/mongo-store.ts';

export type * from './types.ts';
export { StoreError, isStoreError } from './errors.ts';
export type { StoreErrorCode } from './errors.ts';
export { indexKey, sortKey } from './index-keys.ts';
export { parseJsonText, plainJson } from './json-text.ts';

export interface StoreSettings {
  /** Folder of the embedded database (carnet.db inside it). */
  dataDir: string;
  /** When set, MongoDB is used instead of the embedded store. */
  mongodbUri?: string;
  /** Database name for MongoDB (default: the URI's, else "carnet"). */
  mongodbDatabase?: string;
  /** MongoDB only: how long a commit may run before others may roll it back (ms, default 30 s). */
  commitDeadlineMs?: number;
}

/** Creates the configured store; call open() before use. */
export function createStore(settings: StoreSettings): Store {
  if (settings.mongodbUri) return new MongoStore({ uri: settings.mongodbUri, database: settings.mongodbDatabase, commitDeadlineMs: settings.commitDeadlineMs });
  return new SqliteStore({ dataDir: settings.dataDir });
}
