// Operator statistics, without health data: dossiers opened per channel, period and department
// (from the dossier records), documents per class (counted on the access index, never read),
// and accesses per mode (from the audit trail, through AccessStatistics).
import { ACCESS_PARAMS } from '../access/index.ts';
import { indexKey, type Store } from '../store/index.ts';
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
