// The registry state a submission's checks need (registry-checks.ts lookupsFor), read from the
// store: which patients the FHIR identity feed knows, which uniqueIds are in use (by anyone: the
// registry's own view), which objects the associations point at and the latest version of each
// updated object (as the caller sees them: a hidden object is one the registry does not have).
import type { ExistingObject, RegistryFacts } from '../registry-checks.ts';
import { lookupsFor, patientKey } from '../registry-checks.ts';
import type { RegistryObjects } from '../model.ts';
import { STATUS } from '../vocabulary.ts';
import type { Call, XdsService } from './context.ts';
import type { Converted, Item, View } from './view.ts';
import { systemView } from './view.ts';

export function existingOf(c: Converted): ExistingObject {
  const o = c.object;
  return {
    kind: c.kind,
    entryUuid: o.entryUuid,
    ...(o.uniqueId ? { uniqueId: o.uniqueId } : {}),
    ...(o.patientId ? { patientId: o.patientId } : {}),
    ...(o.availabilityStatus ? { availabilityStatus: o.availabilityStatus } : {}),
    ...(c.kind === 'DocumentEntry' && c.object.hash ? { hash: c.object.hash } : {}),
    ...(c.kind === 'DocumentEntry' && c.object.size ? { size: c.object.size } : {}),
    ...(c.kind !== 'SubmissionSet' && c.object.logicalId ? { logicalId: c.object.logicalId } : {}),
    ...(c.kind !== 'SubmissionSet' && c.object.version ? { version: c.object.version } : {}),
  };
}

/** The newest version among items of one logical object (highest version, else the Approved one). */
export function latest(view: View, items: readonly Item[]): Item | undefined {
  const rank = (i: Item) => {
    const c = view.convert(i);
    const version = c.kind === 'SubmissionSet' ? NaN : Number(c.object.version);
    return [Number.isFinite(version) ? version : 0, c.object.availabilityStatus === STATUS.approved ? 1 : 0];
  };
  return [...items].sort((a, b) => {
    const [va, sa] = rank(a);
    const [vb, sb] = rank(b);
    return vb - va || sb - sa;
  })[0];
}

export interface GatheredFacts {
  readonly facts: RegistryFacts;
  /** Existing objects the submission refers to, as the caller sees them, by entryUUID. */
  readonly byUuid: ReadonlyMap<string, Item>;
  /** The latest version of each updated object, by logicalId. */
  readonly byLogicalId: ReadonlyMap<string, Item>;
  /** Patient resource ids by patientKey(). */
  readonly patients: ReadonlyMap<string, string>;
}

export async function gatherFacts(svc: XdsService, call: Call, view: View, objects: RegistryObjects): Promise<GatheredFacts> {
  const lookups = lookupsFor(objects);
  const patients = new Map<string, string>();
  for (const cx of lookups.patientIds) {
    const id = await view.patient(cx);
    if (id) patients.set(patientKey(cx), id);
  }
  const registry = systemView(svc, call);
  const byUniqueId = new Map<string, ExistingObject>();
  for (const type of ['DocumentReference', 'List'] as const) {
    for (const item of await registry.byUniqueIds(lookups.uniqueIds, type)) {
      const c = registry.convert(item);
      if (c.object.uniqueId && !byUniqueId.has(c.object.uniqueId)) byUniqueId.set(c.object.uniqueId, existingOf(c));
    }
  }
  const ends = await view.byUuids(lookups.entryUuids);
  // Keyed as the submission spells each entryUUID (the checks look them up so).
  const byUuid = new Map<string, Item>();
  for (const uuid of lookups.entryUuids) {
    const found = ends.find((e) => e.uuid.toLowerCase() === uuid.toLowerCase());
    if (found) byUuid.set(uuid, found);
  }
  const byLogicalId = new Map<string, Item>();
  for (const type of ['DocumentReference', 'List'] as const) {
    const versions = await view.byLogicalIds(lookups.logicalIds, type);
    for (const lid of lookups.logicalIds) {
      const newest = latest(view, versions.filter((v) => {
        const c = view.convert(v);
        return c.kind !== 'SubmissionSet' && c.object.logicalId === lid;
      }));
      if (newest) byLogicalId.set(lid, newest);
    }
  }
  const facts: RegistryFacts = {
    knownPatients: new Set(patients.keys()),
    byUniqueId,
    byEntryUuid: new Map([...byUuid].map(([uuid, i]) => [uuid, existingOf(view.convert(i))])),
    byLogicalId: new Map([...byLogicalId].map(([lid, i]) => [lid, existingOf(view.convert(i))])),
  };
  return { facts, byUuid, byLogicalId, patients };
}
