// The notification events, as producers write them into the outbox (in the commit of the change
// they tell about) and as the worker reads them back. The outbox topic is the event kind; the
// payload holds ids and codes only. A recipient is either given (channel + to) or resolved from
// the patient's chosen channels by the worker.
import type { OutboxAppend } from '../store/index.ts';

export const NOTIFICATION_TOPICS = [
  'document-added',
  'first-access',
  'break-the-glass',
  'emergency-call',
  'dossier-created',
  'dossier-closed',
  'dossier-reactivated',
  'credentials-reset',
  'otp',
] as const;
export type NotificationTopic = (typeof NOTIFICATION_TOPICS)[number];

export type Channel = 'email' | 'sms';
export const CHANNELS: readonly Channel[] = ['email', 'sms'];

export interface Recipient {
  channel: Channel;
  /** An e-mail address or a phone number (E.164, e.g. +33612345678). */
  to: string;
}

/** Events about a dossier: the patient (or whoever the resolver names for them) is told. */
export interface DossierEvent {
  kind: Exclude<NotificationTopic, 'otp' | 'first-access' | 'break-the-glass' | 'emergency-call'>;
  patientId: string;
  /** When it happened (ISO instant). */
  at: string;
}

/** Someone accessed the dossier. Only the profession (a G15 code) is carried, never a name. */
export interface AccessEvent {
  kind: 'first-access' | 'break-the-glass' | 'emergency-call';
  patientId: string;
  at: string;
  profession?: string;
}

/** A one-time sign-in code (written by the identity module: otpOutboxMessage). */
export interface OtpEvent {
  kind: 'otp';
  channel: Channel;
  to: string;
  code: string;
  /** How long the code is valid, if the producer says. */
  expiresInMinutes?: number;
}

export type NotificationEvent = DossierEvent | AccessEvent | OtpEvent;

/** Why a payload cannot be turned into a message: the message is given up at once. */
export class BadNotification extends Error {
  readonly reason: 'unknown-topic' | 'bad-payload';
  constructor(reason: 'unknown-topic' | 'bad-payload', message: string) {
    super(message);
    this.name = 'BadNotification';
    this.reason = reason;
  }
}

/**
 * The outbox message for an event, to put in the commit of the change it tells about. Give
 * `recipient` to send to a known address rather than to the patient's chosen channels (the
 * address handed over at dossier creation, before the patient chose any).
 */
export function notificationOutbox(event: NotificationEvent, recipient?: Recipient): OutboxAppend {
  const { kind, ...rest } = event;
  const payload: Record<string, unknown> = { ...rest };
  if (recipient) {
    payload.channel = recipient.channel;
    payload.to = recipient.to;
  }
  parseNotification(kind, payload);
  return { topic: kind, payload };
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const CODE = /^[A-Za-z0-9]{1,16}$/;

function isTopic(topic: string): topic is NotificationTopic {
  return (NOTIFICATION_TOPICS as readonly string[]).includes(topic);
}

function isChannel(value: unknown): value is Channel {
  return value === 'email' || value === 'sms';
}

function instant(value: unknown): string {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new BadNotification('bad-payload', 'at must be an instant');
  return value;
}

/** An explicit recipient in a payload, if any. */
export function payloadRecipient(payload: Record<string, unknown>): Recipient | undefined {
  if (payload.channel === undefined && payload.to === undefined) return undefined;
  if (!isChannel(payload.channel) || typeof payload.to !== 'string' || payload.to === '') throw new BadNotification('bad-payload', 'channel and to must go together');
  return { channel: payload.channel, to: payload.to };
}

/**
 * Reads an outbox message back into an event; only the known fields are kept, so whatever
 * else a producer put in the payload (a title…) never reaches a message.
 */
export function parseNotification(topic: string, payload: Record<string, unknown>): NotificationEvent {
  if (!isTopic(topic)) throw new BadNotification('unknown-topic', `no notification for topic ${topic}`);
  if (topic === 'otp') {
    const recipient = payloadRecipient(payload);
    if (!recipient) throw new BadNotification('bad-payload', 'an otp needs channel and to');
    if (typeof payload.code !== 'string' || !CODE.test(payload.code)) throw new BadNotification('bad-payload', 'an otp needs a code');
    const event: OtpEvent = { kind: 'otp', ...recipient, code: payload.code };
    if (typeof payload.expiresInMinutes === 'number' && payload.expiresInMinutes > 0) event.expiresInMinutes = payload.expiresInMinutes;
    return event;
  }
  if (typeof payload.patientId !== 'string' || !ID.test(payload.patientId)) throw new BadNotification('bad-payload', 'patientId missing');
  payloadRecipient(payload);
  const at = instant(payload.at);
  if (topic === 'first-access' || topic === 'break-the-glass' || topic === 'emergency-call') {
    const event: AccessEvent = { kind: topic, patientId: payload.patientId, at };
    if (typeof payload.profession === 'string' && /^[0-9]{2}$/.test(payload.profession)) event.profession = payload.profession;
    return event;
  }
  return { kind: topic, patientId: payload.patientId, at };
}
