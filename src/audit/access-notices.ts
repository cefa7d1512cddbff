// Which accesses the patient is told about (issue #6): the first access to their dossier by a
// given professional, and every break-the-glass or emergency-call access. The outbox message goes
// in the commit of the access's AuditEvent (AuditTrail.recordAlone), so an access is told exactly
// when it is recorded.
//
// "First access" needs to know who already came: one small internal record per (dossier,
// professional), CarnetAccessMarker/<sha256(patient|rpps)>, read by id (the store's primary key,
// the cheapest lookup there is) and remembered in memory once seen, so a professional's later
// reads cost nothing. It is created with ifVersion 0 in the access's commit: two first reads at
// once cannot both write it, and the one that loses is recorded again without a message.
// An emergency access writes the marker as well: the patient was told of that professional then.
import { createHash } from 'node:crypto';
import type { AccessMode, Actor } from '../access/index.ts';
import { notificationOutbox } from '../notify/index.ts';
import { indexKey, isStoreError, type OutboxAppend, type ResourceWrite, type Store } from '../store/index.ts';

export type AccessNoticeTopic = 'first-access' | 'break-the-glass' | 'emergency-call';

/** Per access mode: the message, and whether every access sends it or only a professional's first. */
export const ACCESS_NOTICES: Readonly<Record<AccessMode, { topic: AccessNoticeTopic; every: boolean }>> = {
  normal: { topic: 'first-access', every: false },
  'break-the-glass': { topic: 'break-the-glass', every: true },
  'emergency-call': { topic: 'emergency-call', every: true },
};

export interface AccessNotice {
  topic: AccessNoticeTopic;
  every: boolean;
  rpps: string;
  /** A G15 profession code (two digits), never a role of an establishment's staff. */
  profession?: string;
}

/** What a successful access to a dossier may be told as; undefined for anyone but professionals. Pure. */
export function accessNotice(actor: Actor | undefined, mode: AccessMode): AccessNotice | undefined {
  if (!actor || (actor.kind !== 'professional' && actor.kind !== 'regulator')) return undefined;
  const notice = ACCESS_NOTICES[mode];
  if (!notice) return undefined;
  const staff = actor.kind === 'professional' && actor.role === 'administrative-staff';
  const profession = !staff && /^[0-9]{2}$/.test(actor.profession) ? actor.profession : undefined;
  return { ...notice, rpps: actor.rpps, ...(profession ? { profession } : {}) };
}

export const ACCESS_MARKER_TYPE = 'CarnetAccessMarker';

function markerId(patientId: string, rpps: string): string {
  return createHash('sha256').update(`${patientId}|${rpps}`).digest('hex');
}

export interface AccessMarkersOptions {
  /** How many (dossier, professional) pairs are remembered in memory (default 100 000). */
  memory?: number;
}

/** The durable "already accessed" markers, with an in-memory set in front of them. */
export class AccessMarkers {
  readonly #store: Store;
  readonly #seen = new Set<string>();
  readonly #memory: number;

  constructor(store: Store, options: AccessMarkersOptions = {}) {
    this.#store = store;
    this.#memory = options.memory ?? 100_000;
  }

  async has(patientId: string, rpps: string): Promise<boolean> {
    const id = markerId(patientId, rpps);
    if (this.#seen.has(id)) return true;
    const found = await this.#store.read(ACCESS_MARKER_TYPE, id);
    if (!found || found.deleted) return false;
    this.remember(patientId, rpps);
    return true;
  }

  remember(patientId: string, rpps: string): void {
    // A full set starts again: the store still has every marker, at one read each.
    if (this.#seen.size >= this.#memory) this.#seen.clear();
    this.#seen.add(markerId(patientId, rpps));
  }

  /** The marker's creation, for the commit of the first access (fails if it already exists). */
  write(patientId: string, rpps: string, at: string): ResourceWrite {
    return {
      op: 'update',
      type: ACCESS_MARKER_TYPE,
      id: markerId(patientId, rpps),
      ifVersion: 0,
      resource: { resourceType: ACCESS_MARKER_TYPE, record: { patientId, firstAccessAt: at } },
      // By dossier, so purging a dossier finds its markers.
      index: [{ param: 'patient', value: indexKey('exact', patientId) }],
    };
  }
}

/** What the access's commit adds: the marker if it is new, the message if one is due. */
export interface NoticeChanges {
  writes: ResourceWrite[];
  outbox: OutboxAppend[];
}

/**
 * Commits an access's record with its notice: `commit(changes)` writes the AuditEvent with the
 * given additions. When another request wrote the marker first, the record is committed again
 * without the marker, and without the message unless every access sends one.
 */
export async function commitWithNotice(
  markers: AccessMarkers,
  notice: AccessNotice | undefined,
  access: { patientId: string | undefined; at: string },
  commit: (changes: NoticeChanges) => Promise<unknown>,
): Promise<void> {
  const { patientId, at } = access;
  if (!notice || !patientId) {
    await commit({ writes: [], outbox: [] });
    return;
  }
  const known = await markers.has(patientId, notice.rpps);
  const message = notificationOutbox({ kind: notice.topic, patientId, at, ...(notice.profession ? { profession: notice.profession } : {}) });
  const outbox = notice.every || !known ? [message] : [];
  if (known) {
    await commit({ writes: [], outbox });
    return;
  }
  try {
    await commit({ writes: [markers.write(patientId, notice.rpps, at)], outbox });
  } catch (error) {
    if (!isStoreError(error, 'already-exists') && !isStoreError(error, 'version-conflict')) throw error;
    await commit({ writes: [], outbox: notice.every ? outbox : [] });
  }
  markers.remember(patientId, notice.rpps);
}
