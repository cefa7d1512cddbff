// Seals the audit trail periodically (AuditTrail.seal), until stopped. Every instance of the
// server may run one: the chain head's optimistic version lets one sealer win each round.
import type { AuditTrail } from './trail.ts';

export interface SealerLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface AuditSealerOptions {
  /** Time between rounds (default 60 s). */
  intervalMs?: number;
  log?: SealerLog;
}

export class AuditSealer {
  readonly #trail: AuditTrail;
  readonly #intervalMs: number;
  readonly #log: SealerLog | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(trail: AuditTrail, options: AuditSealerOptions = {}) {
    this.#trail = trail;
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#log = options.log;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#round().finally(() => {
        this.#running = undefined;
        this.#schedule(this.#intervalMs);
      });
    }, delay);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    try {
      const { seals, entries } = await this.#trail.seal();
      if (seals > 0) this.#log?.info({ seals, entries }, 'audit trail sealed');
    } catch (error) {
      this.#log?.error({ err: error }, 'audit sealing failed');
    }
  }

  /** Stops the rounds; waits for one under way to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
