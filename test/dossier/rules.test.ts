// The dossier's pure decisions and data: channels and who opens by them, minors, departments,
// the creation consent, magic bytes, statistics rows.
import t from 'tap';
import type { Actor } from '../../src/access/index.ts';
import { creationConsentProblems } from '../../src/dossier/consent.ts';
import { creationChannel, departmentOfIns, departmentOfPostalCode, departmentOf, dossierRows, isMinor, sniff } from '../../src/dossier/index.ts';
import { creationProblems, mayChangeStatus, purgeDue, reactivationRefusal } from '../../src/dossier/rules.ts';
import type { DossierRecord } from '../../src/dossier/index.ts';
import { creationConsent, JPEG, PDF, PNG } from './support.ts';

const pharmacist: Actor = { kind: 'professional', rpps: '1', profession: '21', pharmacistSection: 'A' };
const doctor: Actor = { kind: 'professional', rpps: '2', profession: '10', specialty: 'SM26' };
const hospitalDoctor: Actor = { kind: 'professional', rpps: '3', profession: '10', organization: { id: '1990000012' } };
const secretary: Actor = { kind: 'professional', rpps: 'x', profession: 'SECRETARIAT_MEDICAL', role: 'administrative-staff', organization: { id: '1990000012' } };
const occupational: Actor = { kind: 'professional', rpps: '4', profession: '10', activity: 'occupational-medicine' };
const operator: Actor = { kind: 'operator' };
const feed: Actor = { kind: 'care-history-feed' };

t.test("an identified actor's channel follows from who they are", async (t) => {
  t.equal(creationChannel(pharmacist, undefined, false), 'pharmacy');
  t.equal(creationChannel(doctor, undefined, false), 'professional');
  t.equal(creationChannel(secretary, undefined, false), 'establishment');
  t.equal(creationChannel(operator, undefined, false), 'insurer-desk');
  t.equal(creationChannel(undefined, undefined, false), 'online');
});

t.test('a declared channel is accepted only from those who open by it', async (t) => {
  t.equal(creationChannel(hospitalDoctor, 'establishment', false), 'establishment');
  t.match(creationChannel(doctor, 'establishment', false), { status: 403 });
  t.match(creationChannel(doctor, 'pharmacy', false), { status: 403 });
  t.equal(creationChannel(pharmacist, 'professional', false), 'professional');
  t.match(creationChannel(feed, undefined, false), { status: 403 });
  t.match(creationChannel(doctor, 'telepathy', false), { status: 400 });
});

t.test('occupational physicians never open a dossier', async (t) => {
  t.match(creationChannel(occupational, 'professional', false), { status: 403 });
});

t.test('with access control off the declared channel is taken as said', async (t) => {
  t.equal(creationChannel(undefined, 'insurer-desk', true), 'insurer-desk');
  t.equal(creationChannel(undefined, undefined, true), 'professional');
});

t.test('minors are opened by professionals and the desk, with representatives, never online', async (t) => {
  const base = { minor: true, representatives: 1, hasActivationCode: false, hasPassword: false };
  t.equal(creationProblems({ ...base, channel: 'professional' }), undefined);
  t.equal(creationProblems({ ...base, channel: 'insurer-desk' }), undefined);
  t.match(creationProblems({ ...base, channel: 'online', hasActivationCode: true }), { status: 403 });
  t.match(creationProblems({ ...base, channel: 'professional', representatives: 0 }), { status: 422 });
  t.match(creationProblems({ ...base, minor: false, channel: 'professional' }), { status: 422 });
});

t.test('online opening needs an activation code and a chosen password; others hand one over', async (t) => {
  const base = { minor: false, representatives: 0 };
  t.match(creationProblems({ ...base, channel: 'online', hasActivationCode: false, hasPassword: true }), { status: 422 });
  t.match(creationProblems({ ...base, channel: 'online', hasActivationCode: true, hasPassword: false }), { status: 422 });
  t.equal(creationProblems({ ...base, channel: 'online', hasActivationCode: true, hasPassword: true }), undefined);
  t.match(creationProblems({ ...base, channel: 'pharmacy', hasActivationCode: false, hasPassword: true }), { status: 400 });
});

t.test('a minor is under the age of majority on the day', async (t) => {
  const now = Date.parse('2025-06-15T12:00:00Z');
  t.equal(isMinor('2007-06-16', now, 18), true);
  t.equal(isMinor('2007-06-15', now, 18), false);
  t.equal(isMinor('2007', now, 18), true, 'a year alone counts from its last day');
  t.equal(isMinor(undefined, now, 18), undefined);
});

t.test('the department comes from the postal code, else from the INS-NIR', async (t) => {
  t.equal(departmentOfPostalCode('75012'), '75');
  t.equal(departmentOfPostalCode('20090'), '2A');
  t.equal(departmentOfPostalCode('20200'), '2B');
  t.equal(departmentOfPostalCode('97400'), '974');
  t.equal(departmentOfPostalCode('7501'), undefined);
  t.equal(departmentOfIns({ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '2790351215189' }), '51');
  t.equal(departmentOfIns({ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '18012971234567' }), '971');
  t.equal(departmentOfIns({ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '1801299123456' }), undefined, 'born abroad');
  t.equal(departmentOfIns({ system: 'urn:oid:1.2.250.1.213.1.4.9', value: '2790351215189' }), undefined, 'an INS-NIA tells nothing');
  t.equal(departmentOf({ address: [{ use: 'home', postalCode: '69003' }] }, { system: 'urn:oid:1.2.250.1.213.1.4.8', value: '2790351215189' }), '69');
});

t.test('the creation consent must be active, in the privacy scope, for dossier creation, permitted and dated', async (t) => {
  const now = Date.parse('2025-01-15T10:00:00Z');
  t.same(creationConsentProblems(creationConsent(), 'p1', now), []);
  t.same(creationConsentProblems({ ...creationConsent(), patient: { reference: 'Patient/p1' } }, 'p1', now), []);
  t.equal(creationConsentProblems({ ...creationConsent(), patient: { reference: 'Patient/p2' } }, 'p1', now).length, 1);
  t.equal(creationConsentProblems({ ...creationConsent(), dateTime: '2030-01-01' }, 'p1', now).length, 1);
  t.equal(creationConsentProblems({ ...creationConsent(), category: [] }, 'p1', now).length, 1);
  t.same(creationConsentProblems({ resourceType: 'Patient' }, 'p1', now), ['the consent must be a Consent resource']);
});

t.test('uploads are recognised by their first bytes', async (t) => {
  t.equal(sniff(PDF), 'application/pdf');
  t.equal(sniff(JPEG), 'image/jpeg');
  t.equal(sniff(PNG), 'image/png');
  t.equal(sniff(Buffer.from('GIF89a')), undefined);
  t.equal(sniff(Buffer.from('%PD')), undefined);
});

const record = (over: Partial<DossierRecord>): DossierRecord => ({
  patientId: 'p1', ins: { system: 's', value: 'v' }, status: 'active', channel: 'online', createdAt: '2025-01-01T00:00:00Z', createdBy: { kind: 'anonymous' },
  consentId: 'c', logins: { representatives: [] }, handedOverPasswords: [], ...over,
});

t.test('a closed dossier is due for purging once its retention is over, and no longer reactivated', async (t) => {
  const closed = record({ status: 'closed', purgeAt: 1000 });
  t.equal(purgeDue(closed, 999), false);
  t.equal(purgeDue(closed, 1000), true);
  t.equal(purgeDue(record({}), 10 ** 15), false);
  t.equal(reactivationRefusal(closed, 999), undefined);
  t.match(reactivationRefusal(closed, 1000), { status: 410 });
  t.match(reactivationRefusal(record({}), 0), { status: 409 });
});

t.test('representatives change the status of a minor’s dossier only', async (t) => {
  const rep: Actor = { kind: 'representative', patientIds: ['p1'] };
  t.equal(mayChangeStatus(rep, record({}), true, false), undefined);
  t.match(mayChangeStatus(rep, record({}), false, false), { status: 403 });
  t.match(mayChangeStatus(feed, record({}), false, false), { status: 403 });
  t.equal(mayChangeStatus(operator, record({}), false, false), undefined);
});

t.test('statistics rows count dossiers per channel, period and department', async (t) => {
  const rows = dossierRows(
    [
      { channel: 'pharmacy', createdAt: '2025-01-03T10:00:00Z', department: '75' },
      { channel: 'pharmacy', createdAt: '2025-01-20T10:00:00Z', department: '75' },
      { channel: 'online', createdAt: '2025-02-01T10:00:00Z' },
    ],
    'month',
  );
  t.same(rows, [
    { channel: 'pharmacy', period: '2025-01', department: '75', count: 2 },
    { channel: 'online', period: '2025-02', department: 'unknown', count: 1 },
  ]);
});
