// Who is told about a dossier: its holders — the patient, where they chose to be told
// (preferences.ts) or else at the address they sign in with, and, for a minor, the legal
// representatives at the address each signs in with (their one-time-code channel). The
// notification worker calls this when it sends (RecipientResolver in src/notify), so a closed
// dossier still reaches its holders; a purged one reaches nobody.
import type { Store } from '../store/index.ts';
import type { DossierCredentials } from './credentials.ts';
import { patientAddresses, readPreferences } from './preferences.ts';
import { readDossier } from './records.ts';

export interface DossierRecipient {
  channel: 'email' | 'sms';
  to: string;
}

/** The addresses of a dossier's holders, one per login that still has one. */
export async function dossierRecipients(store: Store, credentials: Pick<DossierCredentials, 'otpOf'>, patientId: string): Promise<DossierRecipient[]> {
  const found = await readDossier(store, patientId);
  if (!found) return [];
  const recipients: DossierRecipient[] = [];
  // The patient, where they chose to be told (preferences.ts), else at their sign-in address.
  const patientLogin = found.value.logins.patient;
  if (patientLogin !== undefined) {
    const otp = await credentials.otpOf(patientLogin);
    const chosen = await readPreferences(store, patientId);
    recipients.push(...patientAddresses(chosen?.value, otp ? { channel: otp.channel, to: otp.to } : undefined));
  }
  for (const login of found.value.logins.representatives.map((r) => r.login)) {
    const otp = await credentials.otpOf(login);
    if (otp) recipients.push({ channel: otp.channel, to: otp.to });
  }
  return recipients;
}
