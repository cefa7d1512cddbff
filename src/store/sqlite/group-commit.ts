// Group commit for the embedded store. With synchronous=FULL every SQLite commit waits for an
// fsync, and every audited read is a commit (its AuditEvent): one fsync per request capped the
// server at a few hundred requests per second. Writes are therefore queued and, once per turn
// of the event loop, written together in one transaction: each in its own SAVEPOINT, so a
// write that fails (a version conflict, say) is rolled back alone and its caller alone gets the
// error. Durability is unchanged: every caller is answered only after the COMMIT (and its
// fsync) that holds its write; if that COMMIT fails, every caller of the batch gets the error.
import type { DatabaseSync } from 'node:sqlite';

interface Job {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  readonly #db: DatabaseSync;
  #queue: Job[] = [];
  #scheduled = false;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Runs `work` (synchronous SQL on the connection) inside the next group transaction. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // After the I/O callbacks of this turn: the writes of every request that arrived
        // meanwhile (while the previous fsync blocked the thread) join the same transaction.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Writes what is queued now (also called on close, so queued writes are not lost). */
  flush(): void {
    this.#scheduled = false;
    const jobs = this.#queue;
    this.#queue = [];
    if (jobs.length === 0) return;
    const db = this.#db;
    let outcomes: Outcome[];
    try {
      db.exec('BEGIN IMMEDIATE');
      outcomes = jobs.map((job) => this.#inSavepoint(job));
      db.exec('COMMIT');
    } catch (error) {
      // BEGIN or COMMIT failed (disk full, I/O error…): nothing of the batch is written.
      if (db.isTransaction) db.exec('ROLLBACK');
      for (const job of jobs) job.reject(error);
      return;
    }
    outcomes.forEach((o, i) => (o.ok ? jobs[i].resolve(o.value) : jobs[i].reject(o.error)));
  }

  #inSavepoint(job: Job): Outcome {
    const db = this.#db;
    db.exec('SAVEPOINT w');
    try {
      const value = job.work();
      db.exec('RELEASE w');
      return { ok: true, value };
    } catch (error) {
      db.exec('ROLLBACK TO w');
      db.exec('RELEASE w');
      return { ok: false, error };
    }
  }
}
