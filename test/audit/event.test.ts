// AuditEvent construction (pure): the BALP shapes, the French access-mode codes, outcomes, and
// nothing but ids and codes.
import t from 'tap';
import type { AuditEvent, AuditEventAgent, Coding } from '@medplum/fhirtypes';
import { auditEvent } from '../../src/audit/index.ts';
import type { AuditRecord } from '../../src/audit/index.ts';
import type { ProfessionalActor } from '../../src/access/index.ts';

const doctor: ProfessionalActor = { kind: 'professional', rpps: '10001234567', profession: '10', specialty: 'SM26', organization: { id: '1750000001', name: 'Clinique des Lilas' } };

function read(extra: Partial<AuditRecord> = {}): AuditRecord {
  return { actor: doctor, action: 'read', channel: 'fhir', patientId: 'p1', resource: { type: 'DocumentReference', id: 'd1', versionId: 2 }, outcome: 'success', ...extra };
}

const codes = (cc: { coding?: Coding[] } | undefined) => (cc?.coding ?? []).map((c) => `${c.system}|${c.code}`);
const user = (e: AuditEvent): AuditEventAgent => e.agent.find((a) => a.requestor) as AuditEventAgent;

t.test("a professional's read is a RESTful read with the RPPS as user, the profession as role and the patient and document as entities", async (t) => {
  const e = auditEvent(read());
  t.equal(e.resourceType, 'AuditEvent');
  t.same(codes({ coding: [e.type] }), ['http://terminology.hl7.org/CodeSystem/audit-event-type|rest']);
  t.same(codes({ coding: e.subtype }), ['http://hl7.org/fhir/restful-interaction|read']);
  t.equal(e.action, 'R');
  t.equal(e.outcome, '0');
  const u = user(e);
  t.same(u.who?.identifier, { system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810001234567' });
  t.ok(u.role?.some((r) => codes(r).includes('urn:oid:1.2.250.1.71.1.2.7|10')), 'profession G15 10');
  t.ok(u.role?.some((r) => codes(r).includes('urn:oid:1.2.250.1.71.4.2.5|SM26')), 'specialty');
  t.same(codes(u.type), ['http://terminology.hl7.org/CodeSystem/v3-ParticipationType|IRCP']);
  t.same(e.entity?.map((x) => x.what?.reference), ['Patient/p1', 'DocumentReference/d1/_history/2']);
  t.same(e.source.observer, { display: 'Carnet' });
});

t.test('the organization is a separate agent with its national structure id and no name', async (t) => {
  const e = auditEvent(read());
  const org = e.agent.find((a) => codes(a.type).includes('http://terminology.hl7.org/CodeSystem/v3-RoleClass|PROV'));
  t.same(org?.who?.identifier, { system: 'urn:oid:1.2.250.1.71.4.2.2', value: '1750000001' });
  t.equal(org?.requestor, false);
  t.notMatch(JSON.stringify(e), /Lilas/);
});

t.test('the access mode is the purpose of use, in TRE_R248 codes', async (t) => {
  const system = 'urn:oid:1.2.250.1.213.1.1.4.248';
  t.same(codes(user(auditEvent(read())).purposeOfUse?.[0]), [`${system}|normal`]);
  t.same(codes(user(auditEvent(read({ mode: 'break-the-glass' }))).purposeOfUse?.[0]), [`${system}|bris_de_glace`]);
  const regulator = auditEvent(read({ actor: { kind: 'regulator', rpps: '10009999999', profession: '10' }, mode: { kind: 'emergency-call' } }));
  t.same(codes(user(regulator).purposeOfUse?.[0]), [`${system}|centre_15`]);
  t.same(codes(regulator.purposeOfEvent?.[0]), [`${system}|centre_15`]);
});

t.test('a refused access is a minor failure carrying the refusal code', async (t) => {
  const e = auditEvent(read({ outcome: 'refused', reason: 'opposed-break-the-glass', mode: 'break-the-glass' }));
  t.equal(e.outcome, '4');
  t.equal(e.outcomeDesc, 'opposed-break-the-glass');
});

t.test('a server failure is a serious failure', async (t) => {
  t.equal(auditEvent(read({ outcome: 'error', reason: 'store-unavailable' })).outcome, '8');
});

t.test('a search records the type and parameter names but no search values', async (t) => {
  const e = auditEvent({ actor: doctor, action: 'search', channel: 'fhir', patientId: 'p1', resource: { type: 'DocumentReference' }, searchParams: ['patient', 'type', '_content'], outcome: 'success' });
  t.same(codes({ coding: e.subtype }), ['http://hl7.org/fhir/restful-interaction|search-type']);
  t.equal(e.action, 'E');
  const query = e.entity?.find((x) => x.role?.code === '24');
  t.same(query?.detail, [
    { type: 'resourceType', valueString: 'DocumentReference' },
    { type: 'parameters', valueString: '_content,patient,type' },
  ]);
});

t.test('an XDS stored query is a DICOM Query with the ITI-18 transaction as subtype', async (t) => {
  const e = auditEvent({ actor: doctor, action: 'search', channel: 'xds', transaction: 'ITI-18', patientId: 'p1', outcome: 'success' });
  t.same(codes({ coding: [e.type] }), ['http://dicom.nema.org/resources/ontology/DCM|110112']);
  t.same(codes({ coding: e.subtype }), ['urn:ihe:event-type-code|ITI-18']);
  t.equal(e.action, 'E');
});

t.test('an MHD document retrieve is a DICOM Export keeping the RESTful interaction', async (t) => {
  const e = auditEvent(read({ channel: 'mhd', transaction: 'ITI-68', resource: { type: 'Binary', id: 'b1' } }));
  t.same(codes({ coding: [e.type] }), ['http://dicom.nema.org/resources/ontology/DCM|110106']);
  t.same(codes({ coding: e.subtype }), ['urn:ihe:event-type-code|ITI-68', 'http://hl7.org/fhir/restful-interaction|read']);
});

t.test('a create is action C with the user as agent rather than recipient', async (t) => {
  const e = auditEvent(read({ action: 'create' }));
  t.equal(e.action, 'C');
  t.same(codes(user(e).type), ['http://terminology.hl7.org/CodeSystem/v3-RoleClass|AGNT']);
});

t.test("a patient reading their own dossier is the user, as a Patient reference", async (t) => {
  const e = auditEvent(read({ actor: { kind: 'patient', patientId: 'p1' } }));
  t.equal(user(e).who?.reference, 'Patient/p1');
  t.same(codes(user(e).type), ['http://terminology.hl7.org/CodeSystem/v3-RoleClass|PAT']);
});

t.test('closing a dossier is an application activity with its Carnet code and action U', async (t) => {
  const e = auditEvent({ actor: { kind: 'patient', patientId: 'p1' }, action: 'activity', name: 'dossier-close', channel: 'api', patientId: 'p1', outcome: 'success' });
  t.same(codes({ coding: [e.type] }), ['http://dicom.nema.org/resources/ontology/DCM|110100']);
  t.same(codes({ coding: e.subtype }), ['https://carnet.example/fhir/CodeSystem/audit-activity|dossier-close']);
  t.equal(e.action, 'U');
});

t.test('the client and the request id are recorded when given', async (t) => {
  const e = auditEvent(read({ client: { address: '192.0.2.7', id: 'LPS-123' }, requestId: 'req-42' }));
  const client = e.agent.find((a) => codes(a.type).includes('http://dicom.nema.org/resources/ontology/DCM|110153'));
  t.same(client?.network, { address: '192.0.2.7', type: '2' });
  t.equal(e.entity?.find((x) => x.type?.code === 'XrequestId')?.what?.identifier?.value, 'req-42');
});

t.test('free text is refused where a code is expected', async (t) => {
  t.throws(() => auditEvent(read({ reason: 'patient inconscient, suspicion AVC' })), /code/);
  t.throws(() => auditEvent(read({ action: 'search', searchParams: ['name=Dupont'] })), /code/);
  t.throws(() => auditEvent(read({ client: { id: 'CN=Jean Dupont' } })), /code/);
});

t.test('an unidentified caller is recorded as such', async (t) => {
  const e = auditEvent({ action: 'login', channel: 'api', outcome: 'refused', reason: 'invalid-credentials' });
  t.same(user(e).who, { display: 'unidentified' });
  t.same(codes({ coding: e.subtype }), ['http://dicom.nema.org/resources/ontology/DCM|110122']);
});
