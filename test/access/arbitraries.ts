// Random actors, dossiers, resources and modes for the access property tests. Small pools of
// patients and professionals, biased towards one of each, so that actor, dossier and resource
// often meet (authorised, treating doctor, author) and the rare rule combinations get tried.
import fc from 'fast-check';
import type { AccessMode, Actor, DossierFacts, ResourceFacts } from '../../src/access/index.ts';
import { matrix } from './support.ts';

export const RPPS = ['10000000001', '10000000002', '10000000003'];
export const PATIENTS = ['p1', 'p2', 'p3'];
export const patient = fc.constantFrom('p1', 'p1', 'p1', 'p2', 'p3');
export const rpps = fc.constantFrom(RPPS[0], RPPS[0], RPPS[1], RPPS[2]);
const professions = [...new Set(matrix.professions.flatMap((r) => r.professions)), '86', 'SECRETARIAT_MEDICAL'];
const cellTypes = [matrix.professions, [matrix.otherProfessions]].flat().flatMap((r) => Object.values(r.read).flatMap((c) => (typeof c === 'object' ? c.types : [])));
const types = [...new Set([...cellTypes, '11488-4', '34874-8', 'REMB', 'IMG-KOS', 'ZZZ'])];

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const professional = fc.record({
  kind: fc.constant('professional' as const),
  rpps,
  profession: fc.constantFrom(...professions),
  specialty: opt(fc.constantFrom('SM26', 'SM03')),
  pharmacistSection: opt(fc.constantFrom('A', 'G')),
  activity: fc.option(fc.constantFrom('occupational-medicine' as const, 'insurer-medical-adviser' as const), { nil: undefined, freq: 8 }),
  role: fc.option(fc.constant('administrative-staff' as const), { nil: undefined, freq: 5 }),
});

export const actor: fc.Arbitrary<Actor> = fc.oneof(
  { arbitrary: professional, weight: 6 },
  fc.record({ kind: fc.constant('regulator' as const), rpps, profession: fc.constant('10') }),
  fc.record({ kind: fc.constant('patient' as const), patientId: patient }),
  fc.record({ kind: fc.constant('representative' as const), patientIds: fc.subarray(PATIENTS) }),
  fc.constant({ kind: 'care-history-feed' as const }),
  fc.constant({ kind: 'operator' as const }),
  fc.record({ kind: fc.constant('device' as const), patientId: patient, deviceId: fc.constantFrom('d1', 'd2') }),
);

export function dossierFor(patientId: fc.Arbitrary<string>): fc.Arbitrary<DossierFacts> {
  return fc.record({
    patientId,
    status: fc.constantFrom('active' as const, 'active' as const, 'active' as const, 'closed' as const),
    authorized: fc.subarray(RPPS),
    blocked: fc.subarray(RPPS, { maxLength: 1 }),
    treatingDoctor: opt(rpps),
    opposedBreakTheGlass: fc.boolean(),
    opposedEmergencyCall: fc.boolean(),
    minor: opt(fc.boolean()),
  });
}

export const resource: fc.Arbitrary<ResourceFacts> = fc.record({
  type: fc.constantFrom('DocumentReference', 'Observation', 'Consent', 'Patient', 'List'),
  dossier: opt(patient),
  classCode: opt(fc.constantFrom(...matrix.classes, 'XX')),
  typeCode: opt(fc.constantFrom(...types)),
  authors: fc.subarray([...RPPS, 'Patient/p1', 'Patient/p2', 'Device/d1']),
  masked: fc.boolean(),
  invisibleToPatient: fc.boolean(),
  invisibleToRepresentatives: fc.boolean(),
});

export const mode = fc.constantFrom<AccessMode>('normal', 'break-the-glass', 'emergency-call');
