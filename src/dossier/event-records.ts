// What each dossier event adds to the commit of its change: an AuditEvent (every change of
// state is audited) and the patient's notifications (created, closed, reactivated, credentials
// reset), so that the change, its record and its message are written all or nothing.
//
// auditRecordOf and notificationsOf are pure; dossierEvents() joins them to the audit trail and
// to the address a reset login signs in with.
import type { AuditRecord, AuditTrail } from '../audit/index.ts';
import { notificationOutbox, type Recipient } from '../notify/index.ts';
import type { OutboxAppend } from '../store/index.ts';
import type { DossierCredentials } from './credentials.ts';
import type { DossierEvent, DossierEvents, EventChanges } from './types.ts';

/** The audit activity of each event kind (DOSSIER_ACTIVITIES in src/audit gives their CRUDE action). */
export const AUDIT_ACTIVITIES: Readonly<Record<Exclude<DossierEvent['kind'], 'content-added'>, string>> = {
  'dossier-created': 'dossier-create',
  'dossier-closed': 'dossier-close',
  'dossier-reactivated': 'dossier-reactivate',
  'dossier-purged': 'dossier-purge',
  'credentials-reset': 'credentials-reset',
  'sign-in-unblocked': 'credentials-unblock',
  'password-changed': 'password-change',
  'notification-preferences-changed': 'notification-preferences-change',
  'activation-code-issued': 'activation-code-issue',
  'device-registered': 'device-register',
  'device-token-revoked': 'device-token-revoke',
  'statistics-exported': 'statistics-export',
};

/** The resource an event is about, for the AuditEvent's entity (the dossier itself is the patient entity). */
function resourceOf(event: DossierEvent): AuditRecord['resource'] {
  switch (event.kind) {
    case 'dossier-created':
    case 'dossier-reactivated':
      return { type: 'Consent', id: event.consentId };
    case 'device-registered':
    case 'device-token-revoked':
      return { type: 'Device', id: event.deviceId };
    default:
      return undefined;
  }
}

function reference(ref: string): { type: string; id: string } | undefined {
  const match = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(ref);
  return match ? { type: match[1], id: match[2] } : undefined;
}

/**
 * The AuditEvents of an event: one per resource the patient (or their device) added, else one
 * activity. Only ids and codes: never a login, a reason text or an address.
 */
export function auditRecordsOf(event: DossierEvent): AuditRecord[] {
  const base = { recorded: event.at, actor: event.actor, channel: 'api' as const, outcome: 'success' as const, ...('patientId' in event ? { patientId: event.patientId } : {}) };
  if (event.kind === 'content-added') {
    return event.resources.map(reference).filter((r) => r !== undefined).map((resource) => ({ ...base, action: 'create' as const, resource }));
  }
  const resource = resourceOf(event);
  return [{ ...base, action: 'activity', name: AUDIT_ACTIVITIES[event.kind], ...(resource ? { resource } : {}) }];
}

/**
 * The patient's notifications of an event. A new dossier is announced to the addresses given at
 * its creation (nobody has chosen channels yet); a reset to the address of the login reset
 * (`resetRecipient`); a closing or reactivation to the dossier's holders, whom the worker
 * resolves when it sends. Other events notify nobody.
 */
export function notificationsOf(event: DossierEvent, resetRecipient?: Recipient): OutboxAppend[] {
  switch (event.kind) {
    case 'dossier-created': {
      const seen = new Set<string>();
      return event.contacts
        .filter((c) => !seen.has(`${c.channel}:${c.to}`) && seen.add(`${c.channel}:${c.to}`))
        .map((c) => notificationOutbox({ kind: 'dossier-created', patientId: event.patientId, at: event.at }, c));
    }
    case 'dossier-closed':
    case 'dossier-reactivated':
      return [notificationOutbox({ kind: event.kind, patientId: event.patientId, at: event.at })];
    case 'credentials-reset':
      return resetRecipient ? [notificationOutbox({ kind: 'credentials-reset', patientId: event.patientId, at: event.at }, resetRecipient)] : [];
    default:
      return [];
  }
}

export interface DossierEventsOptions {
  trail: AuditTrail;
  /** Where a reset login's holder is told; without it a reset is audited but not notified. */
  credentials?: Pick<DossierCredentials, 'otpOf'>;
}

/** The lifecycle's events as audit records and outbox messages in the commit of each change. */
export function dossierEvents(options: DossierEventsOptions): DossierEvents {
  return {
    async emit(event): Promise<EventChanges> {
      const audits = auditRecordsOf(event).map((r) => options.trail.record(r));
      const resetRecipient = event.kind === 'credentials-reset' ? await options.credentials?.otpOf(event.login) : undefined;
      return {
        writes: audits.flatMap((a) => a.writes),
        log: audits.flatMap((a) => a.log),
        outbox: notificationsOf(event, resetRecipient),
      };
    },
  };
}
