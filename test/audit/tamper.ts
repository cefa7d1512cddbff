// Plays the attacker with direct database access, behind the Store's back: rewrites, deletes
// and swaps log entries and resources, on either kind of store.
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { MongoClient } from 'mongodb';
import type { TestStoreSettings } from '../support/store.ts';

type Entry = Record<string, unknown>;

export interface Tamper {
  /** Replaces the entry at (stream, seq) with what `change` returns. */
  editLog(stream: string, seq: number, change: (entry: Entry) => Entry): Promise<void>;
  deleteLog(stream: string, seq: number): Promise<void>;
  /** Exchanges the entries at two seqs (the entries move, the seqs stay). */
  swapLog(stream: string, a: number, b: number): Promise<void>;
  /** Removes a resource and all its versions. */
  deleteResource(type: string, id: string): Promise<void>;
  /** Rewrites the body of a resource's current version. */
  editResource(type: string, id: string, change: (body: Entry) => Entry): Promise<void>;
  close(): Promise<void>;
}

export async function tamper(settings: TestStoreSettings): Promise<Tamper> {
  if (settings.mongodbUri) {
    const client = await MongoClient.connect(settings.mongodbUri);
    const db = client.db(settings.mongodbDatabase);
    const log = db.collection<{ _id: string; stream: string; seq: number; entry: Entry }>('log');
    const versions = db.collection<{ _id: string; t: string; i: string; cur: boolean; r: string | null }>('versions');
    const read = async (stream: string, seq: number) => {
      const doc = await log.findOne({ stream, seq });
      if (!doc) throw new Error(`no log entry ${stream}/${seq}`);
      return doc.entry;
    };
    return {
      async editLog(stream, seq, change) {
        await log.updateOne({ stream, seq }, { $set: { entry: change(await read(stream, seq)) } });
      },
      async deleteLog(stream, seq) {
        await log.deleteOne({ stream, seq });
      },
      async swapLog(stream, a, b) {
        const [ea, eb] = [await read(stream, a), await read(stream, b)];
        await log.updateOne({ stream, seq: a }, { $set: { entry: eb } });
        await log.updateOne({ stream, seq: b }, { $set: { entry: ea } });
      },
      async deleteResource(type, id) {
        await versions.deleteMany({ t: type, i: id });
      },
      async editResource(type, id, change) {
        const doc = await versions.findOne({ t: type, i: id, cur: true });
        if (!doc?.r) throw new Error(`no resource ${type}/${id}`);
        await versions.updateOne({ _id: doc._id }, { $set: { r: JSON.stringify(change(JSON.parse(doc.r))) } });
      },
      async close() {
        await client.close();
      },
    };
  }
  const db = new DatabaseSync(join(settings.dataDir, 'carnet.db'));
  const read = (stream: string, seq: number): string => {
    const row = db.prepare('SELECT entry FROM log WHERE stream = ? AND seq = ?').get(stream, seq) as { entry: string } | undefined;
    if (!row) throw new Error(`no log entry ${stream}/${seq}`);
    return row.entry;
  };
  return {
    async editLog(stream, seq, change) {
      db.prepare('UPDATE log SET entry = ? WHERE stream = ? AND seq = ?').run(JSON.stringify(change(JSON.parse(read(stream, seq)))), stream, seq);
    },
    async deleteLog(stream, seq) {
      db.prepare('DELETE FROM log WHERE stream = ? AND seq = ?').run(stream, seq);
    },
    async swapLog(stream, a, b) {
      const [ea, eb] = [read(stream, a), read(stream, b)];
      db.prepare('UPDATE log SET entry = ? WHERE stream = ? AND seq = ?').run(eb, stream, a);
      db.prepare('UPDATE log SET entry = ? WHERE stream = ? AND seq = ?').run(ea, stream, b);
    },
    async deleteResource(type, id) {
      for (const table of ['versions', 'current', 'search_keys']) db.prepare(`DELETE FROM ${table} WHERE type = ? AND id = ?`).run(type, id);
    },
    async editResource(type, id, change) {
      const row = db.prepare('SELECT v.vid, v.body FROM current c JOIN versions v ON v.type = c.type AND v.id = c.id AND v.vid = c.vid WHERE c.type = ? AND c.id = ?').get(type, id) as
        | { vid: number; body: string }
        | undefined;
      if (!row) throw new Error(`no resource ${type}/${id}`);
      db.prepare('UPDATE versions SET body = ? WHERE type = ? AND id = ? AND vid = ?').run(JSON.stringify(change(JSON.parse(row.body))), type, id, row.vid);
    },
    async close() {
      db.close();
    },
  };
}
