// Requests refused before anyone is identified (no credentials, a bad certificate or assertion,
// a refused access mode) are audited as refused logins, coalesced so that a flood of them cannot
// grow the trail without bound: per client address and per window (a minute by default), the
// first refusal is recorded at once; the others are counted and recorded as one event (with
// their number and period) when the window ends. Past `maxAddresses` addresses in a window, the
// rest share one window without an address.
//
// Recording happens in the background: the refusal is answered at once, and stop() (on close)
// writes what is still counted and waits for the writes under way.
import type { AuditChannel, AuditRecord } from './event.ts';
import type { AuditTrail } from './trail.ts';

export interface RefusedRequest {
  /** The client's network address (request.ip). */
  address?: string;
  /** The identity layer's refusal code ('no-credentials', 'expired', 'revoked'…). */
  reason: string;
  channel: AuditChannel;
  requestId?: string;
}

export interface RefusalAuditOptions {
  /** Length of a coalescing window (default 60 s). */
  windowMs?: number;
  /** Addresses with a window of their own at once (default 1000). */
  maxAddresses?: number;
  now?: () => number;
  /** Told when a record could not be written (the trail's store is down…). */
  onError?: (error: unknown) => void;
}

interface Window {
  start: number;
  last: number;
  /** Refusals after the first: recorded as one event when the window ends. */
  more: number;
  reason: string;
  channel: AuditChannel;
  address?: string;
}

const OVERFLOW = '';
const MIXED = 'several-reasons';

export class RefusalAudit {
  readonly #trail: AuditTrail;
  readonly #windowMs: number;
  readonly #maxAddresses: number;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  readonly #windows = new Map<string, Window>();
  readonly #writing = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(trail: AuditTrail, options: RefusalAuditOptions = {}) {
    this.#trail = trail;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxAddresses = options.maxAddresses ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Notes a refusal; records it now, or counts it in its address's window. */
  refused(request: RefusedRequest): void {
    const now = this.#now();
    this.#endWindows(now);
    let key = request.address ?? OVERFLOW;
    if (!this.#windows.has(key) && this.#windows.size >= this.#maxAddresses) key = OVERFLOW;
    const window = this.#windows.get(key);
    if (window) {
      window.more++;
      window.last = now;
      if (window.reason !== request.reason) window.reason = MIXED;
      return;
    }
    const address = key === OVERFLOW ? undefined : request.address;
    this.#windows.set(key, { start: now, last: now, more: 0, reason: request.reason, channel: request.channel, ...(address ? { address } : {}) });
    this.#write({
      action: 'login',
      channel: request.channel,
      outcome: 'refused',
      reason: request.reason,
      recorded: now,
      ...(address ? { client: { address } } : {}),
      ...(request.requestId ? { requestId: request.requestId } : {}),
    });
    this.#timer ??= setInterval(() => this.#endWindows(this.#now()), this.#windowMs).unref();
  }

  /** Records the counted refusals of the windows that ended (all of them with `all`). */
  #endWindows(now: number, all = false): void {
    for (const [key, w] of this.#windows) {
      if (!all && now - w.start < this.#windowMs) continue;
      this.#windows.delete(key);
      if (w.more === 0) continue;
      this.#write({
        action: 'login',
        channel: w.channel,
        outcome: 'refused',
        reason: w.reason,
        recorded: w.last,
        occurrences: { count: w.more, from: w.start, to: w.last },
        ...(w.address ? { client: { address: w.address } } : {}),
      });
    }
    if (this.#windows.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #write(record: AuditRecord): void {
    const writing = this.#trail
      .recordAlone(record)
      .then(() => undefined)
      .catch((error: unknown) => this.#onError(error));
    this.#writing.add(writing);
    void writing.finally(() => this.#writing.delete(writing));
  }

  /** Waits for the records being written. */
  async settled(): Promise<void> {
    while (this.#writing.size) await Promise.all([...this.#writing]);
  }

  /** Records every counted refusal now and waits for all writes (on shutdown). */
  async stop(): Promise<void> {
    this.#endWindows(this.#now(), true);
    await this.settled();
  }
}
