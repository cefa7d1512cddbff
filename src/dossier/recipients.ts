// Who is told about a dossier: its holders — the patient and, for a minor, the legal
// representatives — at the address each signs in with (their one-time-code channel). The
// notification worker calls this when it sends (RecipientResolver in src/notify), so a closed
// dossier still reaches its holders; a purged one reaches nobody.
import type { Store } from '../store/index.ts';
import type { DossierCredentials } from './credentials.ts';
import { readDossier } from './records.ts';

export interface DossierRecipient {
  channel: 'email' | 'sms';
  to: string;
}

/** The addresses of a dossier's holders, one per login that still has one. */
export async function dossierRecipients(store: Store, credentials: Pick<DossierCredentials, 'otpOf'>, patientId: string): Promise<DossierRecipient[]> {
  const found = await readDossier(store, patientId);
  if (!found) return [];
  const logins = [found.value.logins.patient, ...found.value.logins.representatives.map((r) => r.login)].filter((l): l is string => l !== undefined);
  const recipients: DossierRecipient[] = [];
  for (const login of logins) {
    const otp = await credentials.otpOf(login);
    if (otp) recipients.push({ channel: otp.channel, to: otp.to });
  }
  return recipients;
}
