// How the patient wants to be told: the channels (e-mail, SMS) and their addresses, chosen by
// the patient for their dossier. Without a choice, the patient is told at the address they sign
// in with (their one-time-code channel). A choice names at least one channel, so the patient can
// never silence the notices of who accessed their dossier by accident; each chosen channel needs
// an address, given here or known from sign-in.
import type { ResourceWrite, Store } from '../store/index.ts';
import { readRecord, recordWrite, type Versioned } from './records.ts';

export const PREFERENCES_TYPE = 'CarnetNotificationPreferences';

export type NotifyChannel = 'email' | 'sms';

export interface NotificationPreferences {
  channels: NotifyChannel[];
  email?: string;
  /** E.164, e.g. +33612345678. */
  phone?: string;
}

const EMAIL = /^[^\s@<>()[\]\\,;:"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,}$/;
const PHONE = /^\+[1-9]\d{6,14}$/;

export class BadPreferences extends Error {
  override name = 'BadPreferences';
}

/** Checks a choice; `signIn` is the address the patient signs in with (its channel may be chosen without an address). */
export function checkPreferences(input: { channels: string[]; email?: string; phone?: string }, signIn?: { channel: NotifyChannel; to: string }): NotificationPreferences {
  const channels = [...new Set(input.channels)];
  if (channels.length === 0) throw new BadPreferences('choose at least one channel (email or sms)');
  for (const c of channels) if (c !== 'email' && c !== 'sms') throw new BadPreferences(`unknown channel ${c}: email or sms`);
  if (input.email !== undefined && !EMAIL.test(input.email)) throw new BadPreferences('email is not an e-mail address');
  if (input.phone !== undefined && !PHONE.test(input.phone)) throw new BadPreferences('phone must be an international number (E.164), e.g. +33612345678');
  for (const c of channels as NotifyChannel[]) {
    const address = c === 'email' ? input.email : input.phone;
    if (!address && signIn?.channel !== c) throw new BadPreferences(`the ${c} channel needs ${c === 'email' ? 'an e-mail address' : 'a phone number'}`);
  }
  return { channels: channels as NotifyChannel[], ...(input.email ? { email: input.email } : {}), ...(input.phone ? { phone: input.phone } : {}) };
}

/** Where the patient is told, given their choice (if any) and their sign-in address. */
export function patientAddresses(preferences: NotificationPreferences | undefined, signIn: { channel: NotifyChannel; to: string } | undefined): { channel: NotifyChannel; to: string }[] {
  if (!preferences) return signIn ? [signIn] : [];
  const out: { channel: NotifyChannel; to: string }[] = [];
  for (const channel of preferences.channels) {
    const to = (channel === 'email' ? preferences.email : preferences.phone) ?? (signIn?.channel === channel ? signIn.to : undefined);
    if (to) out.push({ channel, to });
  }
  // A choice whose addresses are all gone (sign-in changed) still reaches the patient.
  return out.length ? out : signIn ? [signIn] : [];
}

export function readPreferences(store: Store, patientId: string): Promise<Versioned<NotificationPreferences> | undefined> {
  return readRecord<NotificationPreferences>(store, PREFERENCES_TYPE, patientId);
}

export function preferencesWrite(patientId: string, preferences: NotificationPreferences, ifVersion: number): ResourceWrite {
  return recordWrite(PREFERENCES_TYPE, patientId, preferences, ifVersion);
}
