// Operator statistics, without health data: dossiers opened per channel, period and department
// (from the dossier records), documents per class (counted on the access index, never read),
// and accesses per mode (from the audit trail, through AccessStatistics).
import { ACCESS_PARAMS, type AccessMode } from '../access/index.ts';
import { ACCESS_MODE_SYSTEM, MODE_CODES } from '../audit/index.ts';
import { indexKey, type IndexValue, type ResourceBody, type Store } from '../store/index.ts';
import { RECORD_TYPES } from './records.ts';
import type { AccessStatistics, DossierRecord } from './types.ts';

export type Period = 'day' | 'month' | 'year';
export const PERIODS: readonly Period[] = ['day', 'month', 'year'];

export interface StatisticsRequest {
  from: number;
  to: number;
  period: Period;
}

export interface Statistics {
  /** One row per channel × period × department, sorted. */
  dossiers: { channel: string; period: string; department: string; count: number }[];
  /** Current documents per class code. */
  documents: { classCode: string; count: number }[];
  /** Absent when no AccessStatistics is connected. */
  accesses?: { mode: string; count: number }[];
}

/** The bucket an instant falls in: 2025-03-14, 2025-03 or 2025 (UTC). */
export function periodOf(at: string, period: Period): string {
  const length = { day: 10, month: 7, year: 4 }[period];
  return at.slice(0, length);
}

/** Counts records into channel × period × department rows (pure). */
export function dossierRows(records: Pick<DossierRecord, 'channel' | 'createdAt' | 'department'>[], period: Period): Statistics['dossiers'] {
  const counts = new Map<string, number>();
  for (const r of records) {
    const key = JSON.stringify([r.channel, periodOf(r.createdAt, period), r.department ?? 'unknown']);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .map(([key, count]) => {
      const [channel, p, department] = JSON.parse(key) as string[];
      return { channel, period: p, department, count };
    })
    .sort((a, b) => a.period.localeCompare(b.period) || a.channel.localeCompare(b.channel) || a.department.localeCompare(b.department));
}

export async function statistics(store: Store, classes: readonly string[], access: AccessStatistics | undefined, request: StatisticsRequest): Promise<Statistics> {
  const records: DossierRecord[] = [];
  let cursor: string | undefined;
  const where = { and: [{ param: 'created', bound: 'low' as const, cmp: 'ge' as const, value: request.from }, { param: 'created', bound: 'high' as const, cmp: 'le' as const, value: request.to }] };
  do {
    const page = await store.search({ types: [RECORD_TYPES.dossier], where, count: 1000, cursor });
    records.push(...page.entries.map((e) => e.resource?.record as DossierRecord));
    cursor = page.next;
  } while (cursor);
  const documents: Statistics['documents'] = [];
  for (const classCode of classes) {
    const page = await store.search({ types: ['DocumentReference'], where: { param: ACCESS_PARAMS.class, in: [indexKey('code', classCode)] }, count: 0, total: true });
    documents.push({ classCode, count: page.total ?? 0 });
  }
  const result: Statistics = { dossiers: dossierRows(records, request.period), documents };
  if (access) {
    const perMode = await access.accessesPerMode({ from: request.from, to: request.to });
    result.accesses = Object.entries(perMode).map(([mode, count]) => ({ mode, count: count ?? 0 }));
  }
  return result;
}

// ---- accesses per mode, off the audit trail's index ----------------------------------------------

/**
 * The index parameter of an AuditEvent's access mode (its purposeOfEvent in the DMP's mode
 * codes). FHIR defines no search parameter on purposeOfEvent, so the audit trail adds this one
 * with its extraIndex; accesses are then counted per mode without reading a single event.
 */
export const ACCESS_MODE_PARAM = '_access_mode';
const ACCESS_MODES = Object.keys(MODE_CODES) as AccessMode[];
/** AuditEvent types of accesses to a dossier: a FHIR interaction, an IHE query or retrieve (not a sign-in or a lifecycle activity). */
const ACCESS_EVENT_TYPES = ['rest', '110112', '110106'];

/** The access-mode index values of a resource (none unless it is an AuditEvent with a mode). Pure. */
export function accessModeIndex(resource: ResourceBody): IndexValue[] {
  if (resource.resourceType !== 'AuditEvent') return [];
  const purposes = (resource.purposeOfEvent as { coding?: { system?: string; code?: string }[] }[] | undefined) ?? [];
  const codes = new Set(purposes.flatMap((p) => p.coding ?? []).filter((c) => c.system === ACCESS_MODE_SYSTEM && typeof c.code === 'string').map((c) => c.code as string));
  return [...codes].map((code) => ({ param: ACCESS_MODE_PARAM, value: indexKey('code', code) }));
}

/**
 * Accesses per mode in a period: successful reads and searches (AuditEvent.action R or E) over
 * FHIR, MHD or XDS the trail recorded in that mode, counted on the index.
 */
export function auditAccessStatistics(store: Store): AccessStatistics {
  return {
    async accessesPerMode(range) {
      const counts: Partial<Record<AccessMode, number>> = {};
      for (const mode of ACCESS_MODES) {
        const where = {
          and: [
            { param: ACCESS_MODE_PARAM, in: [indexKey('code', MODE_CODES[mode].code)] },
            { param: 'date', bound: 'high' as const, cmp: 'ge' as const, value: range.from },
            { param: 'date', bound: 'low' as const, cmp: 'le' as const, value: range.to },
            { param: 'outcome', in: [indexKey('code', '0')] },
            { param: 'action', in: [indexKey('code', 'R'), indexKey('code', 'E')] },
            { param: 'type', in: ACCESS_EVENT_TYPES.map((code) => indexKey('code', code)) },
          ],
        };
        const page = await store.search({ types: ['AuditEvent'], where, count: 0, total: true });
        counts[mode] = page.total ?? 0;
      }
      return counts;
    },
  };
}
