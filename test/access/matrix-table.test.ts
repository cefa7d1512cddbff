// Table-driven test generated from the matrix data: every profession row × every class (and
// the types its cells name) × masked or not × every mode × author or not × treating doctor or
// not, then every non-profession actor × class × flags × mode. The expectation is computed by a
// tiny independent reading of the raw JSON files and the rules of habilitations.md, not by the
// engine: if either drifts, the test names the cases that disagree.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import t from 'tap';
import { decideAccess } from '../../src/access/index.ts';
import type { AccessMode, Actor, ResourceFacts } from '../../src/access/index.ts';
import { dossier, matrix, resource } from './support.ts';

type RawCell = 'all' | 'none' | { types: string[] };
interface RawRow {
  label: string;
  professions: string[];
  specialties?: string[];
  pharmacistSections?: string[];
  read: Record<string, RawCell>;
}
interface RawMatrix {
  classes: string[];
  professions: RawRow[];
  otherProfessions: RawRow;
  actors: Record<string, { modes: AccessMode[]; read: string | Record<string, RawCell>; seesMaskedIn?: AccessMode[] }>;
}

const PROFILES = resolve(import.meta.dirname, '..', '..', 'profiles');
const raw = JSON.parse(readFileSync(resolve(PROFILES, 'habilitations.json'), 'utf8')) as RawMatrix;
const rawTypes = JSON.parse(readFileSync(resolve(PROFILES, 'type-class.json'), 'utf8')) as { kinds: { class: string; types: string[] }[] };

const MODES: AccessMode[] = ['normal', 'break-the-glass', 'emergency-call'];
const ME = '10000000001';
const SOMEONE_ELSE = '10000000002';

/** Types of one class in the type-class table. */
function typesOfClass(c: string): string[] {
  return rawTypes.kinds.filter((k) => k.class === c).flatMap((k) => k.types);
}

/** For each class: the typeCodes worth trying (those the cell names, one it does not, none). */
function typeCases(c: string, cell: RawCell): (string | undefined)[] {
  const named = typeof cell === 'object' ? cell.types : [];
  const unnamed = typesOfClass(c).find((type) => !named.includes(type));
  return [...named, unnamed, undefined];
}

function cellOpens(cell: RawCell | undefined, type: string | undefined): boolean {
  return cell === 'all' || (typeof cell === 'object' && type !== undefined && cell.types.includes(type));
}

interface Case {
  label: string;
  resource: ResourceFacts;
  mode: AccessMode;
  treating: boolean;
}

/** Every class × type × masked × mode × author × treating-doctor combination for one row. */
function* rowCases(read: Record<string, RawCell>): Generator<Case & { author: boolean; type: string | undefined; cell: RawCell | undefined }> {
  for (const c of raw.classes) {
    for (const type of typeCases(c, read[c])) {
      for (const masked of [false, true]) {
        for (const mode of MODES) {
          for (const author of [false, true]) {
            for (const treating of [false, true]) {
              const res = resource({ classCode: c, typeCode: type, masked, authors: [author ? ME : SOMEONE_ELSE] });
              yield { label: `class ${c} type ${type ?? '-'} masked=${masked} ${mode} author=${author} treating=${treating}`, resource: res, mode, treating, author, type, cell: read[c] };
            }
          }
        }
      }
    }
  }
}

/** Runs the cases for an actor reading through a row and returns the ones the engine decides otherwise. */
function rowMismatches(actor: Actor, read: Record<string, RawCell>, rules: RawMatrix['actors'][string]): string[] {
  const mismatches: string[] = [];
  let cases = 0;
  for (const k of rowCases(read)) {
    cases++;
    // habilitations.md: in the modes the actor may use, authors always see their documents;
    // otherwise the cell decides, and a masked document needs the treating doctor or break-the-glass.
    const maskedOk = !k.resource.masked || k.treating || (rules.seesMaskedIn ?? []).includes(k.mode);
    const expected = rules.modes.includes(k.mode) && (k.author || (cellOpens(k.cell, k.type) && maskedOk));
    const d = dossier({ authorized: [ME], treatingDoctor: k.treating ? ME : undefined });
    const decision = decideAccess({ actor, dossier: d, resource: k.resource, action: 'read', mode: k.mode, matrix });
    if (decision.allowed !== expected) mismatches.push(`${k.label}: expected ${expected}, got ${JSON.stringify(decision)}`);
  }
  return cases ? mismatches : ['no case generated'];
}

for (const row of [...raw.professions, { ...raw.otherProfessions, professions: ['86'] }]) {
  for (const profession of row.professions) {
    t.test(`a professional of profession ${profession} (${row.label}) reads exactly what the row allows`, async (t) => {
      const actor: Actor = { kind: 'professional', rpps: ME, profession, specialty: row.specialties?.[0], pharmacistSection: row.pharmacistSections?.[0] };
      t.same(rowMismatches(actor, row.read, raw.actors.professional), []);
    });
  }
}

t.test('establishment administrative staff read exactly what their row allows', async (t) => {
  const actor: Actor = { kind: 'professional', rpps: ME, profession: 'SECRETARIAT_MEDICAL', role: 'administrative-staff' };
  const rules = raw.actors['administrative-staff'];
  t.same(rowMismatches(actor, rules.read as Record<string, RawCell>, rules), []);
});

t.test('the SAMU-Centre 15 regulator reads exactly what their row allows, in emergency-call mode only', async (t) => {
  const actor: Actor = { kind: 'regulator', rpps: ME, profession: '10' };
  const rules = raw.actors.regulator;
  t.same(rowMismatches(actor, rules.read as Record<string, RawCell>, rules), []);
});

/** Every class × the three flags × mode, for actors that do not read through a row. */
function* flagCases(): Generator<{ label: string; resource: ResourceFacts; mode: AccessMode }> {
  for (const c of [...raw.classes, undefined]) {
    for (const flags of [0, 1, 2, 3, 4, 5, 6, 7]) {
      for (const mode of MODES) {
        const res = resource({ classCode: c, typeCode: c ? typesOfClass(c)[0] : undefined, masked: (flags & 1) > 0, invisibleToPatient: (flags & 2) > 0, invisibleToRepresentatives: (flags & 4) > 0 });
        yield { label: `class ${c ?? '-'} flags=${flags} ${mode}`, resource: res, mode };
      }
    }
  }
}

function flagMismatches(actor: Actor, expect: (r: ResourceFacts, mode: AccessMode) => boolean, minor?: boolean): string[] {
  const mismatches: string[] = [];
  for (const k of flagCases()) {
    const decision = decideAccess({ actor, dossier: dossier({ authorized: [ME], minor }), resource: k.resource, action: 'read', mode: k.mode, matrix });
    const expected = expect(k.resource, k.mode);
    if (decision.allowed !== expected) mismatches.push(`${k.label}: expected ${expected}, got ${JSON.stringify(decision)}`);
  }
  return mismatches;
}

t.test('the patient reads every class of their own dossier except what is invisible to the patient', async (t) => {
  t.same(
    flagMismatches({ kind: 'patient', patientId: 'p1' }, (r, mode) => mode === 'normal' && !r.invisibleToPatient),
    [],
  );
});

t.test("a legal representative reads every class of the minor's dossier except what is invisible to representatives", async (t) => {
  t.same(
    flagMismatches({ kind: 'representative', patientIds: ['p1'] }, (r, mode) => mode === 'normal' && !r.invisibleToRepresentatives, true),
    [],
  );
});

const nothing = () => false;

t.test('the care-history feed, operators and devices read nothing in any class, flag or mode', async (t) => {
  const actors: Actor[] = [{ kind: 'care-history-feed' }, { kind: 'operator' }, { kind: 'device', patientId: 'p1', deviceId: 'd1' }];
  t.same(
    actors.flatMap((a) => flagMismatches(a, nothing).map((m) => `${a.kind}: ${m}`)),
    [],
  );
});

t.test("occupational physicians and insurers' medical advisers read nothing, whatever their profession", async (t) => {
  const professions = [...new Set(raw.professions.flatMap((r) => r.professions))];
  const mismatches = professions.flatMap((profession) =>
    (['occupational-medicine', 'insurer-medical-adviser'] as const).flatMap((activity) =>
      flagMismatches({ kind: 'professional', rpps: ME, profession, activity }, nothing).map((m) => `${profession} ${activity}: ${m}`),
    ),
  );
  t.same(mismatches, []);
});
