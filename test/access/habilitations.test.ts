// Loading and checking the habilitation matrix and the type-class table.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import { DEFAULT_HABILITATIONS_PATH, HabilitationsError, habilitationsFromJson, loadHabilitations } from '../../src/access/index.ts';
import { sharedMissingReason, sharedPath } from '../support/shared.ts';

const PROFILES = resolve(import.meta.dirname, '..', '..', 'profiles');
type Json = Record<string, unknown> & { professions: Record<string, unknown>[]; actors: Record<string, Record<string, unknown>> };
const rawMatrix = () => JSON.parse(readFileSync(join(PROFILES, 'habilitations.json'), 'utf8')) as Json;
const rawTypes = () => JSON.parse(readFileSync(join(PROFILES, 'type-class.json'), 'utf8')) as { kinds: { kind: string; class: string; types: string[] }[] };

function problemsOf(matrix: unknown, types: unknown = rawTypes()): string {
  try {
    habilitationsFromJson(matrix, types);
  } catch (error) {
    if (error instanceof HabilitationsError) return error.message;
    throw error;
  }
  return 'no error';
}

t.test('the shipped matrix loads from profiles/habilitations.json by default', async (t) => {
  const matrix = loadHabilitations();
  // The 11 J57 classes and Carnet's own class of lists.
  t.same([DEFAULT_HABILITATIONS_PATH, matrix.classes.length], [join(PROFILES, 'habilitations.json'), 12]);
});

t.test("the shipped matrix says it is Carnet's default, not the official annex", async (t) => {
  t.match(loadHabilitations().source, /Carnet's default.*habilitations\.md.*NOT the official/);
});

t.test('the loaded matrix is frozen, so no caller can change the rules at run time', async (t) => {
  t.equal(Object.isFrozen(loadHabilitations().professions[0].read), true);
});

t.test('a row without a cell for every class is refused, naming the row and the class', async (t) => {
  const m = rawMatrix();
  delete (m.professions[3].read as Record<string, unknown>)['52'];
  t.match(problemsOf(m), /\/professions\/3\/read: no cell for class 52/);
});

t.test('a cell for a class the matrix does not list is refused', async (t) => {
  const m = rawMatrix();
  (m.professions[0].read as Record<string, unknown>)['77'] = 'all';
  t.match(problemsOf(m), /\/professions\/0\/read\/77: unknown class 77/);
});

t.test('a cell that is neither all, none nor a list of types is refused', async (t) => {
  const m = rawMatrix();
  (m.professions[0].read as Record<string, unknown>)['10'] = 'yes';
  t.match(problemsOf(m), /\/professions\/0\/read\/10 must be one of "all", "none"/);
});

t.test('a type named in a cell of another class is refused', async (t) => {
  const m = rawMatrix();
  (m.professions[3].read as Record<string, unknown>)['10'] = { types: ['57833-6'] };
  t.match(problemsOf(m), /\/professions\/3\/read\/10: type 57833-6 is in class 42/);
});

t.test('two rows that could both apply to the same professional are refused', async (t) => {
  const m = rawMatrix();
  m.professions.push({ label: 'duplicate', professions: ['10'], read: m.professions[0].read });
  t.match(problemsOf(m), /overlaps \/professions\/0 for profession 10/);
});

t.test("a misspelt field in an actor's rules is refused, naming the field", async (t) => {
  const m = rawMatrix();
  m.actors.patient.reads = 'dossier';
  t.match(problemsOf(m), /\/actors\/patient has an unknown field "reads"/);
});

t.test('only the patient and representatives may manage resources whoever wrote them', async (t) => {
  const m = rawMatrix();
  m.actors.professional.manage = ['Consent'];
  t.match(problemsOf(m), /\/actors\/professional has an unknown field "manage"/);
});

t.test('the care-history feed cannot be given read rights', async (t) => {
  const m = rawMatrix();
  m.actors['care-history-feed'].read = 'dossier';
  t.match(problemsOf(m), /\/actors\/care-history-feed\/read must be "none"/);
});

t.test('a type mapped to two classes in the type-class table is refused', async (t) => {
  const types = rawTypes();
  types.kinds[1].types.push('11490-0');
  t.match(problemsOf(rawMatrix(), types), /type-class\.json:\n.*11490-0 is already mapped to class 10/);
});

t.test('a missing matrix file is reported with its path', async (t) => {
  t.throws(() => loadHabilitations('/nonexistent/matrix.json'), { name: 'HabilitationsError', message: /cannot read habilitation data \/nonexistent\/matrix\.json: ENOENT/ });
});

t.test('an operator may point at another matrix file, which names its type-class table relative to itself', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-matrix-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const m = rawMatrix();
  m.typeClass = join(PROFILES, 'type-class.json');
  m.version = 'hospital-2025';
  writeFileSync(join(dir, 'matrix.json'), JSON.stringify(m));
  t.equal(loadHabilitations(join(dir, 'matrix.json')).version, 'hospital-2025');
});

t.test('a matrix file that is not JSON is reported as such', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-matrix-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'matrix.json'), '{ "source": ');
  t.throws(() => loadHabilitations(join(dir, 'matrix.json')), { message: /is not JSON/ });
});

const j07File = sharedPath('reference', 'valuesets', 'JDV_J07_XdsTypeCode_CISIS.json');

t.test('the type-class table maps every J07 typeCode, and only those', { skip: j07File ? false : sharedMissingReason }, async (t) => {
  const j07 = JSON.parse(readFileSync(j07File as string, 'utf8')) as { concepts: { code: string }[] };
  const mapped = rawTypes().kinds.flatMap((k) => k.types);
  t.same(mapped.slice().sort(), j07.concepts.map((c) => c.code).sort());
});

t.test('the type-class table follows the expected kinds: reports 10, prescriptions 42, patient documents 90, reimbursement 60', async (t) => {
  const table = loadHabilitations().typeClass;
  t.same(
    ['11490-0', '11502-2', '57833-6', 'PRESC-KINE', 'DOCPAT01', 'EXPPAT_3', 'REMB', 'IMG-KOS', '60593-1', '87273-9', 'CERT_DECL'].map((type) => table[type]),
    ['10', '10', '42', '42', '90', '90', '60', '31', '43', '45', '52'],
  );
});

t.test('a create rule may only restrict authorship to the actor itself', async (t) => {
  const m = rawMatrix();
  (m.actors.patient.create as Record<string, unknown>[])[0].authoredBy = 'anyone';
  t.match(problemsOf(m), /\/actors\/patient\/create\/0\/authoredBy must be "self"/);
});
