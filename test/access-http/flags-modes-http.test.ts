// Visibility flags × access modes × actor kinds, end to end over real mutual TLS (professionals)
// and bearer tokens (patients), through FHIR search, FHIR read and XDS ITI-18. matrix-http.test.ts
// checks the matrix's cells; this file checks what is layered on them:
// - classes: a document of every class of the matrix, with each flag (on the test FerretDB, two);
// - flags: none, masked (MASQUE_PS), invisible to the patient, invisible to legal representatives;
// - modes: normal (authorised or treating), break-the-glass, emergency-call (SAMU regulator);
// - dossiers: a minor's that opposes nothing, and an adult's that opposes both emergency accesses;
// - actors: authorised, treating and authoring doctors, a pharmacist (normal and break-the-glass),
//   an unauthorised doctor (normal and break-the-glass), the regulator, each patient, a legal
//   representative of the minor (also named for the adult, who has none).
// The expectations come from the rules as the issue states them, written out below (expected())
// independently of src/access, over the raw matrix files.
import t from 'tap';
import { loadConfig } from '../../src/config.ts';
import { issueProfessionalCertificate, type Issued } from '../../src/identity/index.ts';
import { patientSignIn } from '../../src/security.ts';
import { dossierControl, secureApp, signIn, type SecureApp } from '../dossier/support.ts';
import { ACTIONS, cxOf, INS_TEST_AUTHORITY, iti41Inline, newIns, pdf, REPOSITORY, submission } from '../ihe-http/builders.ts';
import { answerOf, createPatient, errorsOf, extrinsicObjects, post, QUERY, retrievedDocuments, retrieveRequest, SOAP_CONTENT_TYPE, statusOf, storedQuery } from '../ihe-http/support.ts';
import { testStoreKind } from '../support/store.ts';
import { cellOpens, classOfType, documentClasses, professionCells, raw, typeScheme, typesOfClass, type RawCells } from './raw-matrix.ts';

t.setTimeout(900_000);

const PASSWORD = 'correct horse battery staple';
const LETTER = '11490-0';
const IMAGING = '18748-4';
const FLAG_CODES = { none: [], masked: ['MASQUE_PS'], 'invisible-patient': ['INVISIBLE_PATIENT'], 'invisible-representatives': ['INVISIBLE_REPRESENTANTS_LEGAUX'] } as const;
type Flag = keyof typeof FLAG_CODES;
/**
 * A type of each document class (one XDS knows the code system of), the letter and the imaging
 * report. On the test FerretDB, which scans every query and answers an audited request in
 * seconds, the letter and the imaging report only (two classes, the pharmacist seeing one): the
 * whole set takes over a quarter of an hour there, and the classes are the matrix test's subject.
 */
const ALL_CLASSES = testStoreKind() !== 'mongo';
const DOCUMENT_TYPES = [...new Set([
  ...(ALL_CLASSES ? documentClasses.map((c) => typesOfClass(c).find((type) => /^[\d.]+$/.test(typeScheme.get(type) ?? '')) as string) : []),
  LETTER,
  IMAGING,
])];
type Mode = 'normal' | 'break-the-glass' | 'emergency-call';

const RPPS = { gp: '99700000001', cardiologist: '99700000002', pharmacist: '99700000003', treating: '99712000001', author: '99712000002', regulator: '99712000003' };

interface Doc {
  id: string;
  uniqueId: string;
  typeCode: string;
  classCode: string;
  flag: Flag;
  author?: string;
}

interface Dossier {
  label: 'minor' | 'adult';
  ins: string;
  patientId: string;
  minor: boolean;
  opposes: { breakTheGlass: boolean; emergencyCall: boolean };
  authorised: string[];
  treating: string;
  docs: Doc[];
}

type Asker =
  | { label: string; kind: 'professional' | 'regulator'; rpps: string; cells: RawCells; mode: Mode; cert: Issued; headers: Record<string, string> }
  | { label: string; kind: 'patient'; patientOf: 'minor' | 'adult'; token: string }
  | { label: string; kind: 'representative'; of: ('minor' | 'adult')[]; token: string };

// ---- the rules, as the issue states them --------------------------------------------------------

/** Whether the asker may enter the dossier at all (refused: 403 on searches, Failure on ITI-18). */
function entersDossier(asker: Asker, dossier: Dossier): boolean {
  switch (asker.kind) {
    case 'patient':
      return asker.patientOf === dossier.label;
    case 'representative':
      return asker.of.includes(dossier.label) && dossier.minor;
    case 'regulator':
      return !dossier.opposes.emergencyCall;
    case 'professional':
      if (asker.mode === 'break-the-glass') return !dossier.opposes.breakTheGlass;
      return dossier.authorised.includes(asker.rpps) || dossier.treating === asker.rpps;
  }
}

/** Whether the asker, once in the dossier, sees the document. */
function seesDocument(asker: Asker, dossier: Dossier, doc: Doc): boolean {
  if (asker.kind === 'patient') return doc.flag !== 'invisible-patient';
  if (asker.kind === 'representative') return doc.flag !== 'invisible-representatives';
  // A professional always sees what they wrote; otherwise the matrix, and the mask unless they
  // are the treating doctor or broke the glass (the regulator does not see masked documents).
  if (doc.author === asker.rpps) return true;
  if (!cellOpens(asker.cells, doc.classCode, doc.typeCode)) return false;
  return doc.flag !== 'masked' || dossier.treating === asker.rpps || (asker.kind === 'professional' && asker.mode === 'break-the-glass');
}

function expected(asker: Asker, dossier: Dossier): Doc[] | 'refused' {
  return entersDossier(asker, dossier) ? dossier.docs.filter((d) => seesDocument(asker, dossier, d)) : 'refused';
}

// ---- the server, the dossiers and who asks ------------------------------------------------------

let api: SecureApp;
const dossiers: Dossier[] = [];
let askers: Asker[] = [];

async function seedDossier(label: Dossier['label'], opposes: Dossier['opposes']): Promise<Dossier> {
  const ins = newIns();
  const minor = label === 'minor';
  const birthDate = minor ? `${new Date().getUTCFullYear() - 8}-01-01` : '1970-06-01';
  const patientId = await createPatient(api.open.app, INS_TEST_AUTHORITY, ins, { birthDate });
  const dossier: Dossier = { label, ins, patientId, minor, opposes, authorised: [RPPS.gp, RPPS.author, RPPS.pharmacist], treating: RPPS.treating, docs: [] };
  const controls = [
    ...dossier.authorised.map((rpps) => dossierControl(patientId, 'authorise', rpps)),
    dossierControl(patientId, 'treating-doctor', dossier.treating),
    ...(opposes.breakTheGlass ? [dossierControl(patientId, 'oppose-break-the-glass')] : []),
    ...(opposes.emergencyCall ? [dossierControl(patientId, 'oppose-emergency-call')] : []),
  ];
  for (const consent of controls) {
    const r = await api.open.call('POST', '/fhir/Consent', consent);
    if (r.status !== 201) throw new Error(`consent: ${r.status} ${r.raw}`);
  }
  // Each flag on a document of every class (and on a letter and an imaging report, which type-
  // limited cells name), plus a masked letter by the authoring doctor.
  const kinds: Omit<Doc, 'id' | 'uniqueId' | 'classCode'>[] = [
    ...DOCUMENT_TYPES.flatMap((typeCode) => (Object.keys(FLAG_CODES) as Flag[]).map((flag) => ({ typeCode, flag }))),
    { typeCode: LETTER, flag: 'masked', author: RPPS.author },
  ];
  const files = kinds.map(() => pdf());
  const objects = submission(cxOf(ins), kinds.map((k, i) => ({
    bytes: files[i],
    options: { typeCode: k.typeCode, classCode: classOfType(k.typeCode), confidentiality: [...FLAG_CODES[k.flag]], ...(k.author ? { authorRpps: k.author } : {}) },
  })));
  for (const { typeCode } of objects.documentEntries) if (typeCode) typeCode.codingScheme = typeScheme.get(typeCode.code) ?? typeCode.codingScheme;
  const { body, contentType } = iti41Inline(objects, new Map(objects.documentEntries.map((e, i) => [e.entryUuid, files[i]])));
  const answer = await answerOf(await post(api.open.app, 'repository', body, contentType));
  if (statusOf(answer.body) !== 'Success') throw new Error(`ITI-41: ${JSON.stringify(errorsOf(answer.body))}`);
  const stored = (await api.open.call('GET', `/fhir/DocumentReference?patient=${patientId}&_count=200`)).body as { entry?: { resource: { id: string; masterIdentifier?: { value?: string } } }[] };
  for (const [i, entry] of objects.documentEntries.entries()) {
    const uniqueId = entry.uniqueId as string;
    const found = stored.entry?.find((e) => e.resource.masterIdentifier?.value?.replace(/^urn:oid:/, '') === uniqueId);
    if (!found) throw new Error(`document ${uniqueId} not found over FHIR`);
    dossier.docs.push({ id: found.resource.id, uniqueId, classCode: classOfType(kinds[i].typeCode) as string, ...kinds[i] });
  }
  return dossier;
}

async function patientToken(login: string, subject: { kind: 'patient'; patientId: string } | { kind: 'representative'; patientIds: string[] }): Promise<string> {
  const auth = await patientSignIn(loadConfig({ DATA_DIR: api.dataDir, LOG_LEVEL: 'silent' }), api.store);
  await auth.setCredential({ login, password: PASSWORD, subject, otp: { channel: 'email', to: login } });
  const signed = await signIn(api, login, PASSWORD);
  if (!signed.token) throw new Error(`sign-in of ${login}: ${signed.status}`);
  return signed.token;
}

const BREAK_THE_GLASS = { 'x-carnet-access-mode': 'break-the-glass', 'x-carnet-access-reason': 'patient%20unconscious' };
const EMERGENCY_CALL = { 'x-carnet-access-mode': 'emergency-call' };

t.before(async () => {
  api = await secureApp({ env: { XDS_REPOSITORY_UNIQUE_ID: REPOSITORY } });
  const { pki } = api;
  dossiers.push(await seedDossier('minor', { breakTheGlass: false, emergencyCall: false }));
  dossiers.push(await seedDossier('adult', { breakTheGlass: true, emergencyCall: true }));
  const [minor, adult] = dossiers;
  const doctor = async (rpps: string) => issueProfessionalCertificate(pki.ca, { profession: '10', specialty: 'SM26', rpps, key: pki.professionals.generalPractitioner.key });
  const doctorCells = professionCells('10');
  const pharmacistCells = professionCells('21', 'A');
  askers = [
    { label: 'authorised doctor', kind: 'professional', rpps: RPPS.gp, cells: doctorCells, mode: 'normal', cert: pki.professionals.generalPractitioner, headers: {} },
    { label: 'treating doctor', kind: 'professional', rpps: RPPS.treating, cells: doctorCells, mode: 'normal', cert: await doctor(RPPS.treating), headers: {} },
    { label: 'authoring doctor', kind: 'professional', rpps: RPPS.author, cells: doctorCells, mode: 'normal', cert: await doctor(RPPS.author), headers: {} },
    { label: 'authorised pharmacist', kind: 'professional', rpps: RPPS.pharmacist, cells: pharmacistCells, mode: 'normal', cert: pki.professionals.pharmacist, headers: {} },
    { label: 'pharmacist breaking the glass', kind: 'professional', rpps: RPPS.pharmacist, cells: pharmacistCells, mode: 'break-the-glass', cert: pki.professionals.pharmacist, headers: BREAK_THE_GLASS },
    { label: 'unauthorised doctor', kind: 'professional', rpps: RPPS.cardiologist, cells: doctorCells, mode: 'normal', cert: pki.professionals.cardiologist, headers: {} },
    { label: 'unauthorised doctor breaking the glass', kind: 'professional', rpps: RPPS.cardiologist, cells: doctorCells, mode: 'break-the-glass', cert: pki.professionals.cardiologist, headers: BREAK_THE_GLASS },
    { label: 'SAMU regulator', kind: 'regulator', rpps: RPPS.regulator, cells: raw.actors.regulator.read as RawCells, mode: 'emergency-call', cert: await doctor(RPPS.regulator), headers: EMERGENCY_CALL },
    { label: 'the minor', kind: 'patient', patientOf: 'minor', token: await patientToken('kid@example.org', { kind: 'patient', patientId: minor.patientId }) },
    { label: 'the adult', kind: 'patient', patientOf: 'adult', token: await patientToken('adult@example.org', { kind: 'patient', patientId: adult.patientId }) },
    { label: 'legal representative', kind: 'representative', of: ['minor', 'adult'], token: await patientToken('mum@example.org', { kind: 'representative', patientIds: [minor.patientId, adult.patientId] }) },
  ];
});
t.teardown(() => api?.close());

function ask(asker: Asker, method: 'GET' | 'POST', path: string, options: { body?: string; contentType?: string } = {}) {
  return 'cert' in asker
    ? api.call(method, path, { cert: asker.cert, headers: asker.headers, ...options })
    : api.call(method, path, { token: asker.token, ...options });
}

const label = (asker: Asker, dossier: Dossier) => `${asker.label}, ${dossier.label}'s dossier`;
const describe = (docs: Doc[]) => docs.map((d) => `${d.typeCode}/${d.flag}${d.author ? '/own' : ''}`).sort();

/**
 * Reads per asker and dossier: one in three, a different slice each, so that every document is
 * read by several askers. Searches, ITI-18 and ITI-43 cover every document for every asker.
 */
const READ_EVERY = 3;

// ---- the tests -------------------------------------------------------------------------------------

t.test('the expectations cover every flag and mode, and both outcomes of each', async (t) => {
  const outcomes = askers.flatMap((a) => dossiers.map((d) => ({ dossier: d, want: expected(a, d) })));
  t.ok(outcomes.some((o) => o.want === 'refused'), 'some askers are refused a dossier');
  if (ALL_CLASSES) t.same([...new Set(dossiers[0].docs.map((d) => d.classCode))].sort(), [...documentClasses].sort(), 'every document class has documents');
  const letIn = outcomes.filter((o): o is { dossier: Dossier; want: Doc[] } => o.want !== 'refused');
  for (const flag of Object.keys(FLAG_CODES) as Flag[]) {
    t.ok(letIn.some((o) => o.want.some((d) => d.flag === flag)), `a document flagged ${flag} is seen by someone`);
    t.ok(letIn.some((o) => o.dossier.docs.some((d) => d.flag === flag && !o.want.includes(d))), `and hidden from someone let in`);
  }
});

t.test('FHIR search returns exactly the documents each actor may see in each mode, and counts only those', async (t) => {
  for (const asker of askers) {
    for (const dossier of dossiers) {
      const want = expected(asker, dossier);
      const r = await ask(asker, 'GET', `/fhir/DocumentReference?patient=${dossier.patientId}&_count=200&_total=accurate`);
      if (want === 'refused') {
        t.same([r.status, r.body.resourceType], [403, 'OperationOutcome'], `${label(asker, dossier)}: refused`);
        continue;
      }
      const got = dossier.docs.filter((d) => (r.body.entry ?? []).some((e: any) => e.resource.id === d.id));
      t.same([r.status, describe(got), r.body.total], [200, describe(want), want.length], label(asker, dossier));
    }
  }
});

t.test('XDS FindDocuments returns exactly the documents each actor may see in each mode', async (t) => {
  for (const asker of askers) {
    for (const dossier of dossiers) {
      const want = expected(asker, dossier);
      const query = storedQuery(QUERY.FindDocuments, {
        $XDSDocumentEntryPatientId: [`'${cxOf(dossier.ins)}'`],
        $XDSDocumentEntryStatus: ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
      });
      const r = await ask(asker, 'POST', '/xds/registry', { body: query, contentType: SOAP_CONTENT_TYPE('urn:ihe:iti:2007:RegistryStoredQuery') });
      const answer = await answerOf({ status: r.status, contentType: String(r.headers['content-type'] ?? ''), body: Buffer.from(r.raw) });
      const found = extrinsicObjects(answer).map((e) => e.uniqueId);
      if (want === 'refused') {
        t.same(found, [], `${label(asker, dossier)}: nothing returned`);
        // A professional is told the access is denied; for a patient the other dossier's patient
        // id is one no dossier of theirs carries, answered like an unknown one (no oracle).
        if ('cert' in asker) t.equal(statusOf(answer.body), 'Failure', `${label(asker, dossier)}: refused`);
        continue;
      }
      t.same(describe(dossier.docs.filter((d) => found.includes(d.uniqueId))), describe(want), label(asker, dossier));
      t.equal(found.length, want.length, `${label(asker, dossier)}: nothing else`);
    }
  }
});

/**
 * Documents asked in one ITI-43: all on SQLite; on the test FerretDB, where each document
 * retrieved costs seconds (its lookup scans, its audit record commits), one in three, a
 * different slice per asker.
 */
const RETRIEVE_EVERY = testStoreKind() === 'mongo' ? 3 : 1;

t.test('XDS Retrieve hands out the bytes of exactly those documents', async (t) => {
  for (const [n, asker] of askers.entries()) {
    for (const dossier of dossiers) {
      const want = expected(asker, dossier);
      const asked = dossier.docs.filter((_, k) => (k + n) % RETRIEVE_EVERY === 0);
      const r = await ask(asker, 'POST', '/xds/repository', { body: retrieveRequest(REPOSITORY, asked.map((d) => d.uniqueId)), contentType: SOAP_CONTENT_TYPE(ACTIONS.iti43) });
      const answer = await answerOf({ status: r.status, contentType: String(r.headers['content-type'] ?? ''), body: Buffer.from(r.raw) });
      const got = retrievedDocuments(answer).map((d) => d.uniqueId);
      const visible = want === 'refused' ? [] : asked.filter((d) => want.includes(d));
      t.same(describe(asked.filter((d) => got.includes(d.uniqueId))), describe(visible), label(asker, dossier));
      t.equal(got.length, visible.length, `${label(asker, dossier)}: nothing else`);
    }
  }
});

t.test('FHIR read answers 200 exactly for those documents, and 404 like an unknown id otherwise', async (t) => {
  for (const [n, asker] of askers.entries()) {
    for (const dossier of dossiers) {
      const want = expected(asker, dossier);
      const wrong: string[] = [];
      for (const doc of dossier.docs.filter((_, k) => (k + n) % READ_EVERY === 0)) {
        const r = await ask(asker, 'GET', `/fhir/DocumentReference/${doc.id}`);
        const status = want !== 'refused' && want.includes(doc) ? 200 : 404;
        if (r.status !== status) wrong.push(`${describe([doc])[0]}: ${r.status} instead of ${status}`);
      }
      t.same(wrong, [], label(asker, dossier));
    }
  }
});
