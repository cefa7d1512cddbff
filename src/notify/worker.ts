// The outbox worker: claims due messages from the store with a lease, sends them, completes
// them. All its state is in the store (the outbox and its attempts), so it survives a restart,
// and several instances may run at once (the lease hands a message to one of them).
//
// Delivery is at least once, made as close to exactly once as the channels allow:
// - a message is completed only after its sends succeeded, and handed out again only after its
//   lease expired (the lease, 5 minutes by default, is far longer than the send timeouts);
// - a crash (or a lost database connection) after a send and before completeOutbox leaves the
//   message to be sent again once the lease expires: that second send carries the same
//   idempotency key (Message-ID, Idempotency-Key), derived from the outbox id and recipient;
// - when an event goes to several recipients and only some sends fail, the failed ones become
//   outbox messages of their own (same key) and the event is completed, so a retry never
//   repeats a send that succeeded. A crash between the two repeats the whole event once.
// Failures are retried with exponential back-off; a permanent refusal of a recipient, an
// unreadable message, or the last allowed attempt ends the message with an entry in the
// `notify` log stream (ids and codes only).
import { createHash } from 'node:crypto';
import type { OutboxAppend, OutboxMessage, Store } from '../store/index.ts';
import { BadNotification, parseNotification, payloadRecipient } from './events.ts';
import type { Channel, NotificationEvent, NotificationTopic, Recipient } from './events.ts';
import { renderMessage } from './messages.ts';
import type { MessageOptions } from './messages.ts';
import { SendError } from './senders.ts';
import type { Sender } from './senders.ts';

export const NOTIFY_STREAM = 'notify';

/**
 * Where the patient wants to be told about `topic`: the channels they chose (for a minor, their
 * legal representatives' as well). An empty list sends nothing. Throwing retries the message.
 */
export type RecipientResolver = (patientId: string, topic: NotificationTopic) => Promise<Recipient[]>;

export interface WorkerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface NotificationWorkerOptions {
  store: Store;
  senders: Partial<Record<Channel, Sender>>;
  /** Recipients of events that name a patient and no address. */
  resolveRecipients?: RecipientResolver;
  messages?: MessageOptions;
  /** Attempts before a message is given up (default 8). */
  maxAttempts?: number;
  /** Delay after the first failure, doubled after each (default 30 s), up to backoffMaxMs (default 1 h). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Random spread of each delay, as a fraction (default 0.2): instances do not retry in step. */
  jitter?: number;
  /** How long a claimed message is reserved for this worker (default 5 min). */
  leaseMs?: number;
  /** Messages claimed and sent at once (default 8). */
  concurrency?: number;
  /** Pause between polls when the outbox is empty (default 1 s). */
  pollMs?: number;
  log?: WorkerLog;
  now?: () => number;
}

/** What happened to one outbox message (runOnce's report, for tests and metrics). */
export type Outcome = 'sent' | 'retry' | 'partial' | 'failed' | 'skipped';

interface Delivery {
  recipient: Recipient;
  error?: SendError;
}

function deliveryKey(outboxId: string, recipient: Recipient): string {
  const who = createHash('sha256').update(`${recipient.channel}:${recipient.to}`).digest('hex').slice(0, 12);
  return `${outboxId}.${who}`;
}

/** Exponential back-off: base × 2^(attempts−1), capped, with ± jitter. */
export function backoffDelay(attempts: number, options: { baseMs: number; maxMs: number; jitter: number; random?: () => number }): number {
  const raw = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempts - 1));
  const spread = raw * options.jitter * ((options.random ?? Math.random)() * 2 - 1);
  return Math.max(0, Math.round(raw + spread));
}

export class NotificationWorker {
  readonly #store: Store;
  readonly #senders: Partial<Record<Channel, Sender>>;
  readonly #resolve: RecipientResolver | undefined;
  readonly #messages: MessageOptions;
  readonly #maxAttempts: number;
  readonly #backoff: { baseMs: number; maxMs: number; jitter: number };
  readonly #leaseMs: number;
  readonly #concurrency: number;
  readonly #pollMs: number;
  readonly #log: WorkerLog | undefined;
  readonly #now: () => number;

  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: NotificationWorkerOptions) {
    this.#store = options.store;
    this.#senders = options.senders;
    this.#resolve = options.resolveRecipients;
    this.#messages = options.messages ?? {};
    this.#maxAttempts = options.maxAttempts ?? 8;
    this.#backoff = { baseMs: options.backoffBaseMs ?? 30_000, maxMs: options.backoffMaxMs ?? 3_600_000, jitter: options.jitter ?? 0.2 };
    this.#leaseMs = options.leaseMs ?? 300_000;
    this.#concurrency = options.concurrency ?? 8;
    this.#pollMs = options.pollMs ?? 1000;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /** Starts polling the outbox. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops claiming; waits for the sends under way to finish and their messages to be settled. */
  async stop(): Promise<void> {
    this.#running = false;
    this.nudge();
    await this.#loop;
    this.#loop = undefined;
  }

  /** Polls now rather than at the next tick (call after committing outbox messages). */
  nudge(): void {
    clearTimeout(this.#timer);
    this.#wake?.();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let handled = 0;
      try {
        handled = (await this.runOnce()).length;
      } catch (error) {
        this.#log?.error({ err: error }, 'notification outbox unavailable');
      }
      if (!this.#running) break;
      // A full batch suggests more are due: go on at once; otherwise wait for the next poll.
      if (handled < this.#concurrency) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, this.#pollMs);
          this.#timer.unref();
        });
        this.#wake = undefined;
      }
    }
  }

  /** Claims one batch of due messages and settles each. */
  async runOnce(): Promise<{ id: string; outcome: Outcome }[]> {
    const claimed = await this.#store.claimOutbox({ limit: this.#concurrency, leaseMs: this.#leaseMs, now: this.#now() });
    return Promise.all(claimed.map(async (m) => ({ id: m.id, outcome: await this.#settle(m) })));
  }

  async #settle(m: OutboxMessage): Promise<Outcome> {
    const started = this.#now();
    try {
      return await this.#process(m);
    } catch (error) {
      // The store failed while settling: the lease expires and the message comes back.
      this.#log?.error({ err: error, outboxId: m.id, topic: m.topic }, 'notification not settled');
      return 'retry';
    } finally {
      if (this.#now() - started > this.#leaseMs) this.#log?.warn({ outboxId: m.id, topic: m.topic }, 'notification took longer than its lease: it may be sent twice');
    }
  }

  async #process(m: OutboxMessage): Promise<Outcome> {
    const attempts = m.attempts + (typeof m.payload.priorAttempts === 'number' ? m.payload.priorAttempts : 0);
    let event: NotificationEvent;
    let recipients: Recipient[];
    try {
      event = parseNotification(m.topic, m.payload);
      recipients = this.#explicit(m) ?? (await this.#recipientsOf(event));
    } catch (error) {
      if (error instanceof BadNotification) return this.#giveUp(m, attempts, error.reason);
      // The resolver failed: try again later.
      return this.#retry(m, attempts, 'resolver-failed', error);
    }
    if (recipients.length === 0) {
      await this.#store.commit({ writes: [], log: [this.#logEntry(m, attempts, 'skipped', 'no-recipient')] });
      await this.#store.completeOutbox(m.id);
      return 'skipped';
    }

    const deliveries: Delivery[] = [];
    for (const recipient of recipients) deliveries.push(await this.#deliver(m, event, recipient));
    const sent = deliveries.filter((d) => !d.error);
    const permanent = deliveries.filter((d) => d.error?.permanent);
    const transient = deliveries.filter((d) => d.error && !d.error.permanent);

    if (transient.length === 0) {
      if (permanent.length) await this.#store.commit({ writes: [], log: permanent.map((d) => this.#logEntry(m, attempts, 'failed', d.error?.code, d.recipient.channel)) });
      await this.#store.completeOutbox(m.id);
      if (permanent.length) this.#log?.warn({ outboxId: m.id, topic: m.topic, codes: permanent.map((d) => d.error?.code) }, 'notification refused for good');
      return sent.length ? 'sent' : 'failed';
    }
    if (attempts >= this.#maxAttempts) {
      return this.#giveUp(m, attempts, transient[0].error?.code ?? 'failed', transient.map((d) => d.recipient.channel));
    }
    if (sent.length === 0 && permanent.length === 0) {
      return this.#retry(m, attempts, transient[0].error?.code ?? 'failed');
    }
    // Some recipients have it: only the others are tried again, each as a message of its own.
    const notBefore = this.#now() + this.#delay(attempts);
    const children: OutboxAppend[] = transient.map((d) => ({
      topic: m.topic,
      payload: { ...m.payload, channel: d.recipient.channel, to: d.recipient.to, key: this.#key(m, d.recipient), priorAttempts: attempts },
      notBefore,
    }));
    await this.#store.commit({ writes: [], outbox: children, log: permanent.map((d) => this.#logEntry(m, attempts, 'failed', d.error?.code, d.recipient.channel)) });
    await this.#store.completeOutbox(m.id);
    this.#log?.info({ outboxId: m.id, topic: m.topic, retried: children.length }, 'notification partly sent');
    return 'partial';
  }

  #explicit(m: OutboxMessage): Recipient[] | undefined {
    const recipient = payloadRecipient(m.payload);
    return recipient && [recipient];
  }

  async #recipientsOf(event: NotificationEvent): Promise<Recipient[]> {
    if (event.kind === 'otp') return [{ channel: event.channel, to: event.to }];
    if (!this.#resolve) return [];
    const found = await this.#resolve(event.patientId, event.kind);
    // One send per distinct address.
    const seen = new Set<string>();
    return found.filter((r) => {
      const k = `${r.channel}:${r.to}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  #key(m: OutboxMessage, recipient: Recipient): string {
    return typeof m.payload.key === 'string' ? m.payload.key : deliveryKey(m.id, recipient);
  }

  async #deliver(m: OutboxMessage, event: NotificationEvent, recipient: Recipient): Promise<Delivery> {
    const sender = this.#senders[recipient.channel];
    if (!sender) return { recipient, error: new SendError(`no-${recipient.channel}-sender`, true, `no sender for ${recipient.channel}`) };
    const { subject, text } = renderMessage(event, recipient.channel, this.#messages);
    try {
      await sender.send({ key: this.#key(m, recipient), channel: recipient.channel, to: recipient.to, subject, text });
      return { recipient };
    } catch (error) {
      const e = error instanceof SendError ? error : new SendError('send-failed', false, 'send failed', { cause: error });
      return { recipient, error: e };
    }
  }

  #delay(attempts: number): number {
    return backoffDelay(attempts, this.#backoff);
  }

  async #retry(m: OutboxMessage, attempts: number, code: string, error?: unknown): Promise<Outcome> {
    if (attempts >= this.#maxAttempts) return this.#giveUp(m, attempts, code);
    const delay = this.#delay(attempts);
    await this.#store.retryOutbox(m.id, this.#now() + delay);
    this.#log?.warn({ outboxId: m.id, topic: m.topic, attempts, code, retryInMs: delay, ...(error ? { err: error } : {}) }, 'notification not sent: will retry');
    return 'retry';
  }

  async #giveUp(m: OutboxMessage, attempts: number, code: string, channels: Channel[] = []): Promise<Outcome> {
    const entries = channels.length ? channels.map((c) => this.#logEntry(m, attempts, 'failed', code, c)) : [this.#logEntry(m, attempts, 'failed', code)];
    await this.#store.commit({ writes: [], log: entries });
    await this.#store.completeOutbox(m.id);
    this.#log?.error({ outboxId: m.id, topic: m.topic, attempts, code }, 'notification given up');
    return 'failed';
  }

  /** A failure-log entry: ids and codes only (never the address, the text or a one-time code). */
  #logEntry(m: OutboxMessage, attempts: number, outcome: 'failed' | 'skipped', code: string | undefined, channel?: Channel) {
    const entry: Record<string, unknown> = { outboxId: m.id, topic: m.topic, outcome, reason: code ?? 'failed', attempts, at: new Date(this.#now()).toISOString() };
    if (typeof m.payload.patientId === 'string') entry.patientId = m.payload.patientId;
    if (channel) entry.channel = channel;
    return { stream: NOTIFY_STREAM, entry };
  }
}
