// The outbox worker against a real local SMTP server and an HTTP SMS gateway, on the pass's
// store: every event kind read back, retries with back-off, give-up, no double send, restarts.
import t, { type Test } from 'tap';
import { createStore, type Store } from '../../src/store/index.ts';
import { otpOutboxMessage } from '../../src/identity/index.ts';
import {
  NOTIFY_STREAM,
  NotificationWorker,
  SmsGatewaySender,
  SmtpSender,
  backoffDelay,
  notificationOutbox,
  renderMessage,
} from '../../src/notify/index.ts';
import type { NotificationEvent, NotificationWorkerOptions, OutgoingMessage, Recipient, Sender } from '../../src/notify/index.ts';
import { openTestStore, type TestStoreSettings } from '../support/store.ts';
import { startSmsGateway, startSmtp, type SmsPeer, type SmtpPeer } from './peers.ts';

const TOKEN = 'gateway-token-for-tests';
const EMAIL = 'patient@example.org';
const PHONE = '+33612345678';
const at = '2025-03-03T13:05:00Z';

interface Setup {
  store: Store;
  settings: TestStoreSettings;
  smtp: SmtpPeer;
  sms: SmsPeer;
  email: SmtpSender;
  phone: SmsGatewaySender;
  /** The workers' clock runs this far ahead of real time: tests move it instead of sleeping. */
  clock: { offset: number };
  /** The patient's chosen channels, by patient id. */
  preferences: Map<string, Recipient[]>;
  worker(options?: Partial<NotificationWorkerOptions>): NotificationWorker;
}

async function setup(t: Test): Promise<Setup> {
  const { store, settings, cleanup } = await openTestStore();
  const smtp = await startSmtp();
  const sms = await startSmsGateway(TOKEN);
  const email = new SmtpSender({ host: '127.0.0.1', port: smtp.port, security: 'none', from: 'Carnet <ne-pas-repondre@carnet.example>', timeoutMs: 5000 });
  const phone = new SmsGatewaySender({ url: sms.url, token: TOKEN, sender: 'CARNET', timeoutMs: 5000 });
  const clock = { offset: 0 };
  const preferences = new Map<string, Recipient[]>([['p1', [{ channel: 'email', to: EMAIL }]]]);
  t.teardown(async () => {
    await email.close();
    await smtp.close();
    await sms.close();
    await cleanup();
  });
  return {
    store,
    settings,
    smtp,
    sms,
    email,
    phone,
    clock,
    preferences,
    worker: (options = {}) =>
      new NotificationWorker({
        store,
        senders: { email, sms: phone },
        resolveRecipients: async (patientId) => preferences.get(patientId) ?? [],
        backoffBaseMs: 1000,
        jitter: 0,
        pollMs: 20,
        now: () => Date.now() + clock.offset,
        ...options,
      }),
  };
}

async function enqueue(store: Store, ...events: NotificationEvent[]): Promise<void> {
  await store.commit({ writes: [], outbox: events.map((e) => notificationOutbox(e)) });
}

/** A sender that holds each send until told, to stand for a slow or frozen process. */
function gated(inner: Sender, release: Promise<void>): Sender & { started: number } {
  const s = {
    started: 0,
    async send(message: OutgoingMessage) {
      s.started++;
      await release;
      await inner.send(message);
    },
  };
  return s;
}

/** The store, with completeOutbox replaced (delegating everything else). */
function withComplete(store: Store, complete: (id: string) => Promise<void>): Store {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'completeOutbox') return complete;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const DOSSIER_EVENTS: NotificationEvent[] = [
  { kind: 'document-added', patientId: 'p1', at },
  { kind: 'first-access', patientId: 'p1', at, profession: '10' },
  { kind: 'break-the-glass', patientId: 'p1', at, profession: '60' },
  { kind: 'emergency-call', patientId: 'p1', at, profession: '10' },
  { kind: 'dossier-created', patientId: 'p1', at },
  { kind: 'dossier-closed', patientId: 'p1', at },
  { kind: 'dossier-reactivated', patientId: 'p1', at },
  { kind: 'credentials-reset', patientId: 'p1', at },
];

for (const event of DOSSIER_EVENTS) {
  t.test(`a ${event.kind} notification reaches the patient by e-mail`, async (t) => {
    const s = await setup(t);
    await enqueue(s.store, event);
    t.same(await s.worker().runOnce().then((r) => r.map((x) => x.outcome)), ['sent']);
    const [mail] = await s.smtp.waitFor(1);
    const expected = renderMessage(event, 'email');
    t.equal(mail.to, EMAIL);
    t.equal(mail.subject, expected.subject);
    t.equal(mail.text.trim(), expected.text.trim());
  });

  t.test(`a ${event.kind} notification reaches the patient by SMS`, async (t) => {
    const s = await setup(t);
    s.preferences.set('p1', [{ channel: 'sms', to: PHONE }]);
    await enqueue(s.store, event);
    await s.worker().runOnce();
    const [sms] = await s.sms.waitFor(1);
    t.equal(sms.to, PHONE);
    t.equal(sms.text, renderMessage(event, 'sms').text);
  });
}

t.test('a one-time code written by the identity module arrives by SMS', async (t) => {
  const s = await setup(t);
  await s.store.commit({ writes: [], outbox: [otpOutboxMessage({ channel: 'sms', to: PHONE, code: '482913' })] });
  await s.worker().runOnce();
  const [sms] = await s.sms.waitFor(1);
  t.equal(sms.to, PHONE);
  t.match(sms.text, '482913');
});

t.test('a one-time code written by the identity module arrives by e-mail', async (t) => {
  const s = await setup(t);
  await s.store.commit({ writes: [], outbox: [otpOutboxMessage({ channel: 'email', to: EMAIL, code: '771204' })] });
  await s.worker().runOnce();
  const [mail] = await s.smtp.waitFor(1);
  t.equal(mail.to, EMAIL);
  t.match(mail.text, '771204');
});

t.test('the SMS gateway receives the token, the sender and an idempotency key', async (t) => {
  const s = await setup(t);
  s.preferences.set('p1', [{ channel: 'sms', to: PHONE }]);
  await enqueue(s.store, DOSSIER_EVENTS[0]);
  await s.worker().runOnce();
  const [sms] = await s.sms.waitFor(1);
  t.equal(sms.headers.authorization, `Bearer ${TOKEN}`);
  t.equal(sms.sender, 'CARNET');
  t.equal(sms.headers['idempotency-key'], sms.id);
  t.ok(sms.id.length > 10);
});

t.test('every channel the patient chose gets the notification', async (t) => {
  const s = await setup(t);
  s.preferences.set('p1', [
    { channel: 'email', to: EMAIL },
    { channel: 'sms', to: PHONE },
  ]);
  await enqueue(s.store, DOSSIER_EVENTS[0]);
  await s.worker().runOnce();
  t.equal((await s.smtp.waitFor(1)).length, 1);
  t.equal((await s.sms.waitFor(1)).length, 1);
});

t.test('a patient who chose no channel is sent nothing and the message is done', async (t) => {
  const s = await setup(t);
  await enqueue(s.store, { kind: 'document-added', patientId: 'p-quiet', at });
  const worker = s.worker();
  t.same((await worker.runOnce()).map((r) => r.outcome), ['skipped']);
  s.clock.offset += 3_600_000;
  t.same(await worker.runOnce(), []);
  t.equal(s.smtp.mails.length, 0);
  const [entry] = await s.store.readLog(NOTIFY_STREAM, { limit: 10 });
  t.match(entry.entry, { topic: 'document-added', outcome: 'skipped', reason: 'no-recipient', patientId: 'p-quiet' });
});

t.test('a message the SMTP server refused for now is sent on a later attempt', async (t) => {
  const s = await setup(t);
  s.smtp.refuse(1, 451);
  await enqueue(s.store, DOSSIER_EVENTS[0]);
  const worker = s.worker();
  t.same((await worker.runOnce()).map((r) => r.outcome), ['retry']);
  t.same(await worker.runOnce(), [], 'not before its back-off');
  s.clock.offset += 1000;
  t.same((await worker.runOnce()).map((r) => r.outcome), ['sent']);
  t.equal((await s.smtp.waitFor(1)).length, 1);
  s.clock.offset += 3_600_000;
  t.same(await worker.runOnce(), [], 'nothing left');
  t.equal(s.smtp.mails.length, 1);
});

t.test('an SMTP server that is down is retried', async (t) => {
  const s = await setup(t);
  const down = new SmtpSender({ host: '127.0.0.1', port: 1, security: 'none', from: 'Carnet <ne-pas-repondre@carnet.example>', timeoutMs: 2000 });
  t.teardown(() => down.close());
  await enqueue(s.store, DOSSIER_EVENTS[0]);
  t.same((await s.worker({ senders: { email: down } }).runOnce()).map((r) => r.outcome), ['retry']);
  s.clock.offset += 1000;
  t.same((await s.worker().runOnce()).map((r) => r.outcome), ['sent']);
});

t.test('the back-off doubles after each failure up to its cap', async (t) => {
  const options = { baseMs: 1000, maxMs: 10_000, jitter: 0 };
  t.same([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, options)), [1000, 2000, 4000, 8000, 10_000, 10_000]);
  const spread = { ...options, jitter: 0.2 };
  t.equal(backoffDelay(1, { ...spread, random: () => 0 }), 800);
  t.equal(backoffDelay(1, { ...spread, random: () => 1 }), 1200);
});

t.test('a message past its last attempt is given up and recorded as failed', async (t) => {
  const s = await setup(t);
  s.smtp.refuse(100, 451);
  await enqueue(s.store, DOSSIER_EVENTS[0]);
  const worker = s.worker({ maxAttempts: 3 });
  const outcomes: string[] = [];
  for (let i = 0; i < 3; i++) {
    outcomes.push(...(await worker.runOnce()).map((r) => r.outcome));
    s.clock.offset += 10_000;
  }
  t.same(outcomes, ['retry', 'retry', 'failed']);
  s.clock.offset += 3_600_000;
  t.same(await worker.runOnce(), [], 'never handed out again');
  const [entry] = await s.store.readLog(NOTIFY_STREAM, { limit: 10 });
  t.match(entry.entry, { topic: 'document-added', outcome: 'failed', reason: 'smtp-451', attempts: 3, channel: 'email' });
  t.notMatch(JSON.stringify(entry.entry), EMAIL, 'no address in the failure log');
});

t.test('an address the mail server rejects for good is not retried', async (t) => {
  const s = await setup(t);
  s.smtp.reject(EMAIL);
  await enqueue(s.store, DOSSIER_EVENTS[0]);
  t.same((await s.worker().runOnce()).map((r) => r.outcome), ['failed']);
  const [entry] = await s.store.readLog(NOTIFY_STREAM, { limit: 10 });
  t.match(entry.entry, { outcome: 'failed', reason: 'smtp-550', attempts: 1 });
});

t.test('when one channel fails, only that one is tried again', async (t) => {
  const s = await setup(t);
  s.preferences.set('p1', [
    { channel: 'email', to: EMAIL },
    { channel: 'sms', to: PHONE },
  ]);
  s.sms.fail(1, 503);
  await enqueue(s.store, DOSSIER_EVENTS[0]);
  const worker = s.worker();
  t.same((await worker.runOnce()).map((r) => r.outcome), ['partial']);
  s.clock.offset += 1000;
  t.same((await worker.runOnce()).map((r) => r.outcome), ['sent']);
  t.equal((await s.sms.waitFor(1)).length, 1);
  t.equal(s.smtp.mails.length, 1, 'the e-mail was not sent again');
  t.equal(s.sms.keys[0], s.sms.keys[1], 'the retried SMS keeps its idempotency key');
});

t.test('a worker restarted mid-batch sends what was left, and nothing twice', async (t) => {
  const s = await setup(t);
  s.preferences.set('p2', [{ channel: 'email', to: 'p2@example.org' }]);
  s.preferences.set('p3', [{ channel: 'email', to: 'p3@example.org' }]);
  await enqueue(s.store, { kind: 'document-added', patientId: 'p1', at }, { kind: 'document-added', patientId: 'p2', at }, { kind: 'document-added', patientId: 'p3', at });
  // The first worker sends one message, completes it, then freezes with the other two in hand.
  let completed!: () => void;
  const firstDone = new Promise<void>((resolve) => (completed = resolve));
  let sends = 0;
  const freezing: Sender = {
    async send(message) {
      if (++sends > 1) return new Promise<void>(() => undefined);
      await s.email.send(message);
    },
  };
  const crashed = new NotificationWorker({
    store: withComplete(s.store, async (id) => {
      await s.store.completeOutbox(id);
      completed();
    }),
    senders: { email: freezing },
    resolveRecipients: async (patientId) => s.preferences.get(patientId) ?? [],
    leaseMs: 60_000,
    now: () => Date.now() + s.clock.offset,
  });
  void crashed.runOnce();
  await firstDone;
  t.equal(s.smtp.mails.length, 1);
  // A new process, after the frozen one's lease ran out.
  s.clock.offset += 60_001;
  const restarted = s.worker();
  t.same((await restarted.runOnce()).map((r) => r.outcome), ['sent', 'sent']);
  const mails = await s.smtp.waitFor(3);
  t.same(mails.map((m) => m.to).sort(), [EMAIL, 'p2@example.org', 'p3@example.org'].sort());
  s.clock.offset += 3_600_000;
  t.same(await restarted.runOnce(), []);
  t.equal(s.smtp.mails.length, 3);
});

t.test('a send repeated after a crash before completion carries the same Message-ID', async (t) => {
  const s = await setup(t);
  await enqueue(s.store, DOSSIER_EVENTS[0]);
  const crashing = s.worker({
    store: withComplete(s.store, async () => {
      throw new Error('process killed');
    }),
    leaseMs: 60_000,
  });
  t.same((await crashing.runOnce()).map((r) => r.outcome), ['retry']);
  s.clock.offset += 60_001;
  t.same((await s.worker().runOnce()).map((r) => r.outcome), ['sent']);
  const mails = await s.smtp.waitFor(2);
  t.equal(mails[0].messageId, mails[1].messageId, 'the repeat can be recognised');
  t.match(mails[0].messageId, /@carnet\.example>$/);
});

t.test('pending messages survive a restart of the server', async (t) => {
  const s = await setup(t);
  await enqueue(s.store, DOSSIER_EVENTS[0]);
  await s.store.close();
  const reopened = createStore(s.settings);
  await reopened.open();
  t.teardown(async () => {
    await reopened.close();
    // setup's cleanup closes the first store again: give it an open one.
    await s.store.open();
  });
  t.same((await s.worker({ store: reopened }).runOnce()).map((r) => r.outcome), ['sent']);
  t.equal((await s.smtp.waitFor(1)).length, 1);
});

t.test('a started worker sends what is committed, and stop waits for the sends under way', async (t) => {
  const s = await setup(t);
  let release!: () => void;
  const slow = gated(s.email, new Promise<void>((resolve) => (release = resolve)));
  const worker = s.worker({ senders: { email: slow }, now: Date.now });
  worker.start();
  await enqueue(s.store, DOSSIER_EVENTS[0]);
  worker.nudge();
  while (slow.started === 0) await new Promise((r) => setTimeout(r, 10));
  const stopped = worker.stop();
  setTimeout(release, 100);
  await stopped;
  t.equal(s.smtp.mails.length, 1, 'the send under way finished before stop returned');
  t.same(await s.worker({ now: () => Date.now() + 3_600_000 }).runOnce(), [], 'and its message was completed');
});

t.test('no medical content reaches the e-mail or the SMS', async (t) => {
  const s = await setup(t);
  s.preferences.set('p1', [
    { channel: 'email', to: EMAIL },
    { channel: 'sms', to: PHONE },
  ]);
  const titles = ['Compte rendu de consultation en oncologie', 'Lymphome folliculaire', 'Sérologie VIH'];
  await s.store.commit({
    writes: [],
    outbox: [{ topic: 'document-added', payload: { patientId: 'p1', at, title: titles[0], diagnosis: titles[1], description: titles[2], typeCode: '11488-4' } }],
  });
  await s.worker().runOnce();
  const [mail] = await s.smtp.waitFor(1);
  const [sms] = await s.sms.waitFor(1);
  const everything = [mail.subject, mail.text, mail.raw.html || '', sms.text].join('\n');
  for (const title of [...titles, '11488-4']) t.notMatch(everything, title);
});

t.test('an unknown topic is given up at once', async (t) => {
  const s = await setup(t);
  await s.store.commit({ writes: [], outbox: [{ topic: 'document-deleted', payload: { patientId: 'p1', at } }] });
  t.same((await s.worker().runOnce()).map((r) => r.outcome), ['failed']);
  const [entry] = await s.store.readLog(NOTIFY_STREAM, { limit: 10 });
  t.match(entry.entry, { outcome: 'failed', reason: 'unknown-topic' });
});
