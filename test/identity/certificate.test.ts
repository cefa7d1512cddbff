import t from 'tap';
import {
  createCertificateAuthority, createCrl, createTestPki, establishmentFromCertificate, identityFromCertificate,
  issueProfessionalCertificate, loadTrust, professionalFromCertificate,
} from '../../src/identity/index.ts';

const pki = await createTestPki();
const now = new Date();
const DAY = 24 * 3600 * 1000;

t.test('a general practitioner certificate gives RPPS, profession 10 and specialty SM26', async (t) => {
  const result = professionalFromCertificate(pki.professionals.generalPractitioner.certPem, pki.trust, now);
  t.same(result.ok && result.identity, { kind: 'professional', rpps: '99700000001', profession: '10', specialty: 'SM26' });
});

t.test('a cardiologist certificate gives specialty SM04', async (t) => {
  const result = professionalFromCertificate(pki.professionals.cardiologist.certPem, pki.trust, now);
  t.equal(result.ok && result.identity.specialty, 'SM04');
});

t.test('a pharmacist certificate gives profession 21 and the CNOP section, not a specialty', async (t) => {
  const result = professionalFromCertificate(pki.professionals.biologist.certPem, pki.trust, now);
  t.same(result.ok && result.identity, { kind: 'professional', rpps: '99700000004', profession: '21', pharmacistSection: 'G' });
});

t.test('nurse, physiotherapist, midwife and dentist certificates give their G15 codes', async (t) => {
  const codes = (['nurse', 'physiotherapist', 'midwife', 'dentist'] as const).map((name) => {
    const result = professionalFromCertificate(pki.professionals[name].certPem, pki.trust, now);
    return result.ok ? result.identity.profession : result.reason;
  });
  t.same(codes, ['60', '70', '50', '40']);
});

t.test('an occupational-health sector makes the physician an occupational physician', async (t) => {
  const result = professionalFromCertificate(pki.professionals.occupationalPhysician.certPem, pki.trust, now);
  t.equal(result.ok && result.identity.activity, 'occupational-medicine');
});

t.test("a social-security sector makes the physician an insurer's medical adviser", async (t) => {
  const result = professionalFromCertificate(pki.professionals.insurerAdviser.certPem, pki.trust, now);
  t.equal(result.ok && result.identity.activity, 'insurer-medical-adviser');
});

t.test('the structure in the subject becomes the organization', async (t) => {
  const issued = await issueProfessionalCertificate(pki.ca, {
    profession: '60', rpps: '99700000077', organization: { id: '1990000012', name: 'Hôpital de test' }, key: pki.ca.key,
  });
  const result = professionalFromCertificate(issued.certPem, pki.trust, now);
  t.same(result.ok && result.identity.organization, { id: '1990000012', name: 'Hôpital de test' });
});

t.test('an expired certificate is refused as expired', async (t) => {
  t.same(identityFromCertificate(pki.expired.certPem, pki.trust, now), { ok: false, reason: 'expired', message: 'The certificate has expired' });
});

t.test('a certificate is refused as not yet valid before its start date', async (t) => {
  const result = identityFromCertificate(pki.professionals.nurse.certPem, pki.trust, new Date(now.getTime() - 10 * DAY));
  t.equal(!result.ok && result.reason, 'not-yet-valid');
});

t.test('a valid certificate is refused once the injected clock passes its end date', async (t) => {
  const result = identityFromCertificate(pki.professionals.nurse.certPem, pki.trust, new Date(now.getTime() + 400 * DAY));
  t.equal(!result.ok && result.reason, 'expired');
});

t.test('a revoked certificate is refused as revoked', async (t) => {
  const result = identityFromCertificate(pki.revoked.certPem, pki.trust, now);
  t.equal(!result.ok && result.reason, 'revoked');
});

t.test('a certificate from another CA with the same CA name is refused as untrusted', async (t) => {
  const result = identityFromCertificate(pki.foreign.certPem, pki.trust, now);
  t.equal(!result.ok && result.reason, 'untrusted-issuer');
});

t.test('a server-only certificate is refused as not a client certificate', async (t) => {
  const result = identityFromCertificate(pki.server.certPem, pki.trust, now);
  t.equal(!result.ok && result.reason, 'not-a-client-certificate');
});

t.test('the CA certificate itself is refused as a client certificate', async (t) => {
  const result = identityFromCertificate(pki.ca.certPem, pki.trust, now);
  t.equal(!result.ok && result.reason, 'not-a-client-certificate');
});

t.test('no certificate is refused as no credentials', async (t) => {
  t.equal((identityFromCertificate(undefined, pki.trust, now) as { reason: string }).reason, 'no-credentials');
  t.equal((identityFromCertificate(Buffer.alloc(0), pki.trust, now) as { reason: string }).reason, 'no-credentials');
});

t.test('bytes that are not a certificate are refused as malformed', async (t) => {
  const result = identityFromCertificate(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]), pki.trust, now);
  t.equal(!result.ok && result.reason, 'malformed-certificate');
});

t.test('with a stale CRL the revocation status is unknown and the certificate refused', async (t) => {
  const staleCrl = createCrl(pki.ca, { revoked: [], thisUpdate: new Date(now.getTime() - 40 * DAY), nextUpdate: new Date(now.getTime() - DAY) });
  const trust = loadTrust({ ca: pki.ca.certPem, crl: staleCrl });
  const result = identityFromCertificate(pki.professionals.nurse.certPem, trust, now);
  t.equal(!result.ok && result.reason, 'revocation-unknown');
});

t.test('without any CRL a certificate is accepted unless a CRL is required', async (t) => {
  t.ok(identityFromCertificate(pki.professionals.nurse.certPem, loadTrust({ ca: pki.ca.certPem }), now).ok);
  const strict = loadTrust({ ca: pki.ca.certPem, requireCrl: true });
  const result = identityFromCertificate(pki.professionals.nurse.certPem, strict, now);
  t.equal(!result.ok && result.reason, 'revocation-unknown');
});

t.test('a certificate from an intermediate CA is accepted when the client presents the intermediate', async (t) => {
  const intermediate = await createCertificateAuthority({ commonName: 'Carnet test intermediate', issuer: pki.ca, key: pki.foreignCa.key });
  const leaf = await issueProfessionalCertificate(intermediate, { profession: '10', specialty: 'SM26', rpps: '99700000055' });
  const rootCrl = createCrl(pki.ca, { revoked: [] });
  const intermediateCrl = createCrl(intermediate, { revoked: [] });
  const trust = loadTrust({ ca: pki.ca.certPem, crl: rootCrl + intermediateCrl });
  t.ok(identityFromCertificate(leaf.certPem + intermediate.certPem, trust, now).ok, 'with the intermediate');
  const alone = identityFromCertificate(leaf.certPem, trust, now);
  t.equal(!alone.ok && alone.reason, 'untrusted-issuer', 'without it');
});

t.test('a revoked intermediate CA makes its certificates refused', async (t) => {
  const intermediate = await createCertificateAuthority({ commonName: 'Carnet revoked intermediate', issuer: pki.ca, key: pki.foreignCa.key });
  const leaf = await issueProfessionalCertificate(intermediate, { profession: '10', rpps: '99700000056' });
  const rootCrl = createCrl(pki.ca, { revoked: [{ serial: intermediate.serial, revokedAt: now }] });
  const trust = loadTrust({ ca: pki.ca.certPem, crl: rootCrl + createCrl(intermediate, { revoked: [] }) });
  const result = identityFromCertificate(leaf.certPem + intermediate.certPem, trust, now);
  t.equal(!result.ok && result.reason, 'revoked');
});

t.test('a certificate naming a profession outside TRE_G15 is refused as unknown profession', async (t) => {
  const issued = await issueProfessionalCertificate(pki.ca, { profession: '99', rpps: '99700000078', key: pki.ca.key });
  const result = identityFromCertificate(issued.certPem, pki.trust, now);
  t.equal(!result.ok && result.reason, 'unknown-profession');
});

t.test('a common name that is not 8 + RPPS (e.g. an ADELI-based id) is refused as unknown identifier', async (t) => {
  const { readSubject } = await import('../../src/identity/subject.ts');
  const reading = readSubject([{ oid: '2.5.4.12', value: 'G15_60' }, { oid: '2.5.4.3', value: '0691234567' }]);
  t.equal(reading.kind === 'invalid' && reading.reason, 'unknown-identifier');
});

t.test('the care-history feed and operator certificates give system identities', async (t) => {
  const feed = identityFromCertificate(pki.careHistoryFeed.certPem, pki.trust, now);
  const operator = identityFromCertificate(pki.operator.certPem, pki.trust, now);
  t.same(feed.ok && feed.identity, { kind: 'care-history-feed', id: 'assurance-maladie-feed' });
  t.same(operator.ok && operator.identity, { kind: 'operator', id: 'ops-1' });
});

t.test('an establishment certificate alone identifies nobody', async (t) => {
  const result = identityFromCertificate(pki.establishment.certPem, pki.trust, now);
  t.equal(!result.ok && result.reason, 'unknown-role');
});

t.test('an establishment certificate gives the establishment for assertions', async (t) => {
  const result = establishmentFromCertificate(pki.establishment.certPem, pki.trust, now);
  t.same(result.ok && result.organization, { id: '1990000012', name: 'Hôpital de test' });
  const professional = establishmentFromCertificate(pki.professionals.nurse.certPem, pki.trust, now);
  t.equal(!professional.ok && professional.reason, 'not-an-establishment');
});

t.test('a Node detailed peer certificate is read with its chain', async (t) => {
  const peer = {
    raw: pki.professionals.nurse.certificate.raw,
    issuerCertificate: { raw: pki.ca.certificate.raw, issuerCertificate: undefined as unknown },
  };
  peer.issuerCertificate.issuerCertificate = peer.issuerCertificate; // Node links the root to itself
  const result = identityFromCertificate(peer as never, pki.trust, now);
  t.equal(result.ok && result.identity.kind, 'professional');
});
