// Opens the store a test pass runs on: CARNET_TEST_STORE=sqlite (default) or mongo (with
// MONGODB_URI, set by scripts/test.ts). Each call gets its own empty database.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { createStore, type Store } from '../../src/store/index.ts';

export type TestStoreKind = 'sqlite' | 'mongo';

export function testStoreKind(): TestStoreKind {
  const kind = process.env.CARNET_TEST_STORE ?? 'sqlite';
  if (kind !== 'sqlite' && kind !== 'mongo') throw new Error(`CARNET_TEST_STORE must be sqlite or mongo, got ${kind}`);
  if (kind === 'mongo' && !process.env.MONGODB_URI) throw new Error('CARNET_TEST_STORE=mongo needs MONGODB_URI');
  return kind;
}

export interface TestStoreSettings {
  dataDir: string;
  mongodbUri?: string;
  mongodbDatabase?: string;
  /** Removes the data folder and drops the database. */
  cleanup(): Promise<void>;
}

/** Settings for a fresh, empty store of the pass's kind (for a store, or a server child process). */
export function testStoreSettings(): TestStoreSettings {
  const dataDir = mkdtempSync(join(tmpdir(), 'carnet-test-'));
  const kind = testStoreKind();
  const mongodbDatabase = kind === 'mongo' ? `t_${randomUUID().replaceAll('-', '').slice(0, 16)}` : undefined;
  const mongodbUri = kind === 'mongo' ? process.env.MONGODB_URI : undefined;
  return {
    dataDir,
    mongodbUri,
    mongodbDatabase,
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      if (mongodbUri && mongodbDatabase) {
        const client = await MongoClient.connect(mongodbUri);
        await client.db(mongodbDatabase).dropDatabase().catch(() => undefined);
        await client.close();
      }
    },
  };
}

/** An open store on a fresh database; close it with the returned cleanup. */
export async function openTestStore(): Promise<{ store: Store; settings: TestStoreSettings; cleanup: () => Promise<void> }> {
  const settings = testStoreSettings();
  const store = createStore(settings);
  await store.open();
  return {
    store,
    settings,
    async cleanup() {
      await store.close();
      await settings.cleanup();
    },
  };
}
