// Patient/{id}/$summary: the sections an emergency doctor reads, composed within what the actor
// may see (each section is a gated search): a GP sees them all, a physiotherapist not the
// vaccinations, treatments or advance directives, a professional in break-the-glass mode what
// their row allows; data the patient declared says so.
import t from 'tap';
import { createParams, out, PDF, secureApp, type SecureApp } from './support.ts';

let api: SecureApp;
let patientId: string;
let latestSummaryId: string;

const GP = '99700000001';
const PHYSIO = '99700000006';
const coding = (system: string, code: string, display?: string) => ({ coding: [{ system, code, ...(display ? { display } : {}) }] });
const ALLERGY_CLINICAL = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical';
const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';

function authorise(rpps: string): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: coding('http://terminology.hl7.org/CodeSystem/consentscope', 'patient-privacy'),
    category: [coding('urn:carnet:fhir:CodeSystem:dossier-control', 'authorise')],
    patient: { reference: `Patient/${patientId}` },
    policyRule: coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'OPTIN'),
    provision: { type: 'permit', actor: [{ role: coding('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'PRCP'), reference: { identifier: { system: 'https://rpps.esante.gouv.fr', value: rpps } } }] },
  };
}

function summaryDocument(date: string, title: string): Record<string, unknown> {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    type: coding('urn:oid:1.2.250.1.213.1.1.4.12', 'SYNTH', 'Synthèse'),
    category: [coding('urn:oid:1.2.250.1.213.1.1.4.1', '11')],
    subject: { reference: `Patient/${patientId}` },
    date,
    description: title,
    content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/not-here' } }],
  };
}

t.before(async () => {
  api = await secureApp();
  const created = await api.open.call('POST', '/fhir/Patient/$create-dossier', createParams());
  patientId = String(out(created.body, 'patient').reference).replace('Patient/', '');
  const subject = { reference: `Patient/${patientId}` };
  const seed = async (path: string, body: unknown, headers?: Record<string, string>) => {
    const r = await api.open.call('POST', path, body, headers);
    if (r.status !== 201) throw new Error(`seed ${path}: ${r.status} ${r.raw}`);
    return r.body;
  };
  await seed('/fhir/Consent', authorise(GP));
  await seed('/fhir/Consent', authorise(PHYSIO));
  await seed('/fhir/AllergyIntolerance', { resourceType: 'AllergyIntolerance', clinicalStatus: coding(ALLERGY_CLINICAL, 'active'), criticality: 'high', code: { text: 'Pénicilline' }, patient: subject });
  await seed(`/fhir/Patient/${patientId}/$declare`, { resourceType: 'AllergyIntolerance', clinicalStatus: coding(ALLERGY_CLINICAL, 'active'), code: { text: 'Arachide' } });
  await seed('/fhir/AllergyIntolerance', { resourceType: 'AllergyIntolerance', clinicalStatus: coding(ALLERGY_CLINICAL, 'resolved'), code: { text: 'Lait (enfance)' }, patient: subject });
  await seed('/fhir/Condition', { resourceType: 'Condition', clinicalStatus: coding(CONDITION_CLINICAL, 'active'), code: { text: 'Diabète de type 2' }, subject });
  await seed('/fhir/Condition', { resourceType: 'Condition', clinicalStatus: coding(CONDITION_CLINICAL, 'resolved'), code: { text: 'Appendicectomie' }, subject });
  await seed('/fhir/MedicationStatement', { resourceType: 'MedicationStatement', status: 'active', medicationCodeableConcept: { text: 'Metformine 850' }, subject });
  await seed('/fhir/MedicationStatement', { resourceType: 'MedicationStatement', status: 'stopped', medicationCodeableConcept: { text: 'Amoxicilline' }, subject });
  await seed('/fhir/Immunization', {
    resourceType: 'Immunization', status: 'completed', patient: subject, vaccineCode: { text: 'DTPolio' }, occurrenceDateTime: '2024-05-02', lotNumber: 'LOT-42',
    performer: [{ actor: { display: 'Emma INFIRMIER' } }],
    extension: [{ url: 'https://carnet.example/fhir/StructureDefinition/immunization-next-dose-date', valueDate: '2044-05-02' }],
  });
  await seed('/fhir/Observation', { resourceType: 'Observation', status: 'final', code: coding('http://loinc.org', '882-1', 'ABO and Rh group'), valueCodeableConcept: { text: 'O-' }, subject, effectiveDateTime: '2020-01-01' });
  await seed(`/fhir/Patient/${patientId}/$upload?type=EXPPAT_3&title=Mes%20directives%20anticip%C3%A9es`, PDF, { 'content-type': 'application/pdf' });
  await seed('/fhir/DocumentReference', summaryDocument('2023-01-01T00:00:00Z', 'Synthèse 2023'));
  latestSummaryId = (await seed('/fhir/DocumentReference', summaryDocument('2024-06-01T00:00:00Z', 'Synthèse 2024'))).id;
});
t.teardown(() => api.close());

type Section = { title: string; entry?: { reference: string }[]; text: { div: string }; emptyReason?: unknown };

function sections(bundle: Record<string, any>): Record<string, Section> {
  const composition = bundle.entry[0].resource;
  return Object.fromEntries(composition.section.map((s: Section) => [s.title, s]));
}

const count = (s: Section | undefined) => s?.entry?.length ?? 0;

t.test('the summary is a document Bundle opened by a Composition about the patient', async (t) => {
  const r = await api.open.call('GET', `/fhir/Patient/${patientId}/$summary`);
  t.equal(r.status, 200);
  t.equal(r.body.type, 'document');
  const composition = r.body.entry[0].resource;
  t.equal(composition.resourceType, 'Composition');
  t.match(composition.subject.reference, new RegExp(`/Patient/${patientId}$`));
  const fullUrls = new Set(r.body.entry.map((e: any) => e.fullUrl));
  for (const s of composition.section) for (const e of s.entry ?? []) t.ok(fullUrls.has(e.reference), `${e.reference} is in the Bundle`);
});

t.test('each section holds what is current: active allergies and problems, past illness, ongoing treatments', async (t) => {
  const s = sections((await api.open.call('GET', `/fhir/Patient/${patientId}/$summary`)).body);
  t.equal(count(s['Allergies and intolerances']), 2);
  t.equal(count(s['Active problems']), 1);
  t.equal(count(s['History of past illness']), 1);
  t.equal(count(s['Current treatments']), 1);
  t.match(s['Current treatments'].text.div, /Metformine/);
  t.notMatch(s['Current treatments'].text.div, /Amoxicilline/);
  t.equal(count(s['Blood group']), 1);
  t.equal(count(s['Advance directives']), 1);
});

t.test('vaccinations show vaccine, date, lot, professional and next dose', async (t) => {
  const s = sections((await api.open.call('GET', `/fhir/Patient/${patientId}/$summary`)).body);
  t.match(s.Vaccinations.text.div, /DTPolio, lot LOT-42, by Emma INFIRMIER, next dose 2044-05-02, 2024-05-02/);
});

t.test('the latest medical summary document is the only one listed', async (t) => {
  const s = sections((await api.open.call('GET', `/fhir/Patient/${patientId}/$summary`)).body);
  t.equal(count(s['Latest medical summary']), 1);
  t.match(s['Latest medical summary'].entry?.[0].reference, new RegExp(`/DocumentReference/${latestSummaryId}$`));
});

t.test('what the patient declared says so', async (t) => {
  const s = sections((await api.open.call('GET', `/fhir/Patient/${patientId}/$summary`)).body);
  t.match(s['Allergies and intolerances'].text.div, /Arachide.*\(declared by the patient\)/);
  t.notMatch(s['Allergies and intolerances'].text.div, /Pénicilline[^<]*declared/);
});

t.test('an authorised GP sees every section', async (t) => {
  const r = await api.call('GET', `/fhir/Patient/${patientId}/$summary`, { cert: api.pki.professionals.generalPractitioner });
  t.equal(r.status, 200);
  const s = sections(r.body);
  t.equal(count(s.Vaccinations), 1);
  t.equal(count(s['Current treatments']), 1);
  t.equal(count(s['Advance directives']), 1);
});

t.test("a physiotherapist's summary leaves out what the matrix hides from them", async (t) => {
  const r = await api.call('GET', `/fhir/Patient/${patientId}/$summary`, { cert: api.pki.professionals.physiotherapist });
  t.equal(r.status, 200);
  const s = sections(r.body);
  t.equal(count(s['Allergies and intolerances']), 2, 'summaries (class 11) are open to them');
  t.equal(count(s.Vaccinations), 0, 'administered treatments (class 45) are not');
  t.ok(s.Vaccinations.emptyReason);
  t.equal(count(s['Current treatments']), 0);
  t.equal(count(s['Advance directives']), 0, "the patient's documents (class 90) are not");
  t.notMatch(r.raw, /DTPolio|Metformine|Mes directives/);
});

t.test('a professional the patient has not authorised gets no summary', async (t) => {
  const r = await api.call('GET', `/fhir/Patient/${patientId}/$summary`, { cert: api.pki.professionals.cardiologist });
  t.equal(r.status, 404);
});

t.test('in break-the-glass mode an emergency doctor gets the summary, advance directives included', async (t) => {
  const r = await api.call('GET', `/fhir/Patient/${patientId}/$summary`, {
    cert: api.pki.professionals.cardiologist,
    headers: { 'x-carnet-access-mode': 'break-the-glass', 'x-carnet-access-reason': 'unconscious patient in the emergency room' },
  });
  t.equal(r.status, 200);
  const s = sections(r.body);
  t.equal(count(s['Advance directives']), 1);
  t.equal(count(s['Blood group']), 1);
});

t.test('the insurer feed and the desk get no summary', async (t) => {
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}/$summary`, { cert: api.pki.careHistoryFeed })).status, 404);
  t.equal((await api.call('GET', `/fhir/Patient/${patientId}/$summary`, { cert: api.pki.operator })).status, 404);
});
