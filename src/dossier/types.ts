// The dossier module's vocabulary: channels, the dossier record, the events every change of
// state emits, and the small ports the lead connects (events → audit and notifications,
// access statistics → audit trail, hard delete → store).
import type { Actor } from '../access/index.ts';
import type { LogAppend, OutboxAppend, ResourceWrite } from '../store/index.ts';

/** Where a dossier was opened (the DMP's roll-out statistics count these). */
export type Channel = 'online' | 'pharmacy' | 'professional' | 'insurer-desk' | 'establishment';
export const CHANNELS: readonly Channel[] = ['online', 'pharmacy', 'professional', 'insurer-desk', 'establishment'];

export type DossierStatus = 'active' | 'closed';

/** Who acted, without names: kind and national id where there is one. */
export interface ActorSummary {
  kind: Actor['kind'] | 'anonymous';
  /** RPPS of a professional or regulator. */
  id?: string;
  profession?: string;
  organization?: string;
}

/** One dossier, kept as an internal record (type CarnetDossier, id = the Patient id). */
export interface DossierRecord {
  patientId: string;
  ins: { system: string; value: string };
  /** 'purging' while the purge job removes it (resumed after a crash). */
  status: DossierStatus | 'purging';
  channel: Channel;
  createdAt: string;
  createdBy: ActorSummary;
  /** Department (INSEE code: 75, 2A, 971…) from the address, else from the INS; for statistics. */
  department?: string;
  /** The Consent recording the patient's agreement to the dossier (the latest one). */
  consentId: string;
  logins: {
    patient?: string;
    representatives: { login: string; relationship: string }[];
  };
  /** Logins whose password is one handed over by someone else (to be changed by the patient). */
  handedOverPasswords: string[];
  closedAt?: string;
  closeReason?: string;
  /** Epoch ms after which the closed dossier is purged. */
  purgeAt?: number;
  reactivatedAt?: string;
}

// ---- events -----------------------------------------------------------------------------------

interface EventBase {
  patientId: string;
  /** ISO instant. */
  at: string;
  /** Undefined: no identity (access control off, or a patient creating online). */
  actor?: Actor;
}

export type DossierEvent =
  /** `contacts`: the addresses given at creation (the patient has chosen no channel yet). */
  | (EventBase & { kind: 'dossier-created'; channel: Channel; minor: boolean; consentId: string; logins: string[]; contacts: { channel: 'email' | 'sms'; to: string }[] })
  | (EventBase & { kind: 'dossier-closed'; reason: string })
  | (EventBase & { kind: 'dossier-reactivated'; consentId: string })
  | (EventBase & { kind: 'dossier-purged'; resources: number; blobs: number })
  | (EventBase & { kind: 'credentials-reset'; login: string; identityCheck: string })
  | (EventBase & { kind: 'sign-in-unblocked'; login: string; identityCheck: string })
  | (EventBase & { kind: 'password-changed'; login: string })
  | (EventBase & { kind: 'notification-preferences-changed' })
  | { kind: 'activation-code-issued'; at: string; actor?: Actor; insSystem: string }
  | (EventBase & { kind: 'content-added'; content: 'upload' | 'declaration' | 'device-observation'; resources: string[] })
  | (EventBase & { kind: 'device-registered'; deviceId: string })
  | (EventBase & { kind: 'device-token-revoked'; deviceId: string })
  | { kind: 'statistics-exported'; at: string; actor?: Actor };

/** What an event adds to the commit of the change it tells about (audit records, outbox messages). */
export interface EventChanges {
  writes?: ResourceWrite[];
  log?: LogAppend[];
  outbox?: OutboxAppend[];
}

/**
 * Every change of state calls this once, before committing, and commits what it returns with
 * the change: the audit record and the notification are then written all or nothing with it.
 */
export interface DossierEvents {
  emit(event: DossierEvent): EventChanges | Promise<EventChanges>;
}

/** The default until the lead connects audit and notifications. */
export const NO_DOSSIER_EVENTS: DossierEvents = { emit: () => ({}) };

/** Accesses per mode, read off the audit trail (the audit module provides it). */
export interface AccessStatistics {
  accessesPerMode(range: { from: number; to: number }): Promise<Partial<Record<'normal' | 'break-the-glass' | 'emergency-call', number>>>;
}

/**
 * Hard deletion, which the Store port lacks (see the report): removes every version of each
 * resource, its search keys and its current pointer, and each blob with its chunks. Idempotent:
 * what is already gone is skipped, so a purge cut short is finished by running it again.
 */
export interface HardDelete {
  purge(target: { resources: { type: string; id: string }[]; blobs: string[] }): Promise<void>;
}
