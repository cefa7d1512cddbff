import t from 'tap';
import { createTestPki, generateKeyPair, signAssertion, verifyAssertion } from '../../src/identity/index.ts';
import type { AssertionClaims, AssertionContext } from '../../src/identity/index.ts';

const pki = await createTestPki();
const otherKey = await generateKeyPair();
const now = new Date('2026-03-01T10:00:00Z');
const seconds = Math.floor(now.getTime() / 1000);

const context: AssertionContext = {
  certificate: pki.establishment.certificate,
  establishment: { id: '1990000012', name: 'Hôpital de test' },
  audience: 'urn:carnet',
  now,
};

function claims(overrides: Partial<AssertionClaims> = {}): AssertionClaims {
  return {
    iss: '1990000012',
    aud: 'urn:carnet',
    iat: seconds - 10,
    exp: seconds + 300,
    sub: '899700000001',
    role: '10',
    specialty: 'SM26',
    sector: 'SA01',
    purpose_of_use: 'normal',
    resource_id: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH',
    ...overrides,
  };
}

const signed = (c: AssertionClaims) => signAssertion(c, pki.establishment.key.privateKey);
const reasonOf = (token: string, ctx: AssertionContext = context) => {
  const result = verifyAssertion(token, ctx);
  return result.ok ? 'ok' : result.reason;
};

t.test('a valid assertion gives the professional, the normal mode and the patient INS', async (t) => {
  const result = verifyAssertion(signed(claims()), context);
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(result.identity, {
    kind: 'professional', rpps: '99700000001', profession: '10', specialty: 'SM26',
    organization: { id: '1990000012', name: 'Hôpital de test' },
  });
  t.same(result.mode, { kind: 'normal' });
  t.same(result.patient, { ins: '279035121518989', authority: '1.2.250.1.213.1.4.10' });
});

t.test('an assertion signed with another key is refused as a bad signature', async (t) => {
  t.equal(reasonOf(signAssertion(claims(), otherKey.privateKey)), 'bad-signature');
});

t.test('an assertion whose claims were changed after signing is refused as a bad signature', async (t) => {
  const [header, , signature] = signed(claims()).split('.');
  const tampered = Buffer.from(JSON.stringify(claims({ role: '10', sub: '899700000002' }))).toString('base64url');
  t.equal(reasonOf(`${header}.${tampered}.${signature}`), 'bad-signature');
});

t.test('an assertion for another audience is refused as wrong audience', async (t) => {
  t.equal(reasonOf(signed(claims({ aud: 'urn:dmp' }))), 'wrong-audience');
  t.equal(reasonOf(signed(claims({ aud: ['urn:dmp', 'urn:carnet'] }))), 'ok', 'a list naming Carnet is fine');
});

t.test('an expired assertion is refused as expired', async (t) => {
  t.equal(reasonOf(signed(claims({ iat: seconds - 1000, exp: seconds - 120 }))), 'assertion-expired');
});

t.test('an assertion that expired less than the clock skew ago is still accepted', async (t) => {
  t.equal(reasonOf(signed(claims({ iat: seconds - 1000, exp: seconds - 30 }))), 'ok');
});

t.test('an assertion issued in the future is refused as not yet valid', async (t) => {
  t.equal(reasonOf(signed(claims({ iat: seconds + 600, exp: seconds + 900 }))), 'assertion-not-yet-valid');
});

t.test('an assertion living longer than an hour is refused', async (t) => {
  t.equal(reasonOf(signed(claims({ exp: seconds + 86_400 }))), 'assertion-lifetime-too-long');
});

t.test('an assertion issued in the name of another establishment is refused as wrong issuer', async (t) => {
  t.equal(reasonOf(signed(claims({ iss: '1990000099' }))), 'wrong-issuer');
});

t.test('an unsigned assertion (alg none) is refused', async (t) => {
  const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims())).toString('base64url');
  t.equal(reasonOf(`${header}.${payload}.`), 'malformed-assertion');
  t.equal(reasonOf(`${header}.${payload}.AAAA`), 'unsupported-algorithm');
});

t.test('an HMAC assertion keyed with the public certificate is refused (algorithm confusion)', async (t) => {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims())).toString('base64url');
  t.equal(reasonOf(`${header}.${payload}.AAAA`), 'unsupported-algorithm');
});

t.test('a PS256 assertion is accepted', async (t) => {
  t.equal(reasonOf(signAssertion(claims(), pki.establishment.key.privateKey, 'PS256')), 'ok');
});

t.test('text that is not a JWS is refused as malformed', async (t) => {
  t.equal(reasonOf('not-a-token'), 'malformed-assertion');
  t.equal(reasonOf('a.b.c'), 'malformed-assertion');
});

t.test('an assertion without a subject is refused as malformed', async (t) => {
  const { sub: _sub, ...withoutSubject } = claims();
  t.equal(reasonOf(signed(withoutSubject as AssertionClaims)), 'malformed-assertion');
});

t.test('break-the-glass with a reason gives the break-the-glass mode', async (t) => {
  const result = verifyAssertion(signed(claims({ purpose_of_use: 'bris_de_glace', purpose_reason: 'Patient inconscient aux urgences' })), context);
  t.same(result.ok && result.mode, { kind: 'break-the-glass', reason: 'Patient inconscient aux urgences' });
  t.equal(result.ok && result.identity.kind, 'professional');
});

t.test('break-the-glass without a reason is refused', async (t) => {
  t.equal(reasonOf(signed(claims({ purpose_of_use: 'bris_de_glace' }))), 'missing-reason');
});

t.test('an emergency-call assertion makes the physician a regulator', async (t) => {
  const result = verifyAssertion(signed(claims({ purpose_of_use: 'centre_15' })), context);
  t.same(result.ok && result.identity, {
    kind: 'regulator', rpps: '99700000001', profession: '10', specialty: 'SM26',
    organization: { id: '1990000012', name: 'Hôpital de test' },
  });
  t.same(result.ok && result.mode, { kind: 'emergency-call' });
});

t.test('an emergency-call assertion for a nurse is refused', async (t) => {
  t.equal(reasonOf(signed(claims({ role: '60', specialty: undefined, purpose_of_use: 'centre_15' }))), 'mode-not-allowed');
});

t.test('an unknown access mode is refused', async (t) => {
  t.equal(reasonOf(signed(claims({ purpose_of_use: 'curiosity' }))), 'bad-access-mode');
});

t.test('medical secretaries come through as administrative staff with their local id', async (t) => {
  const result = verifyAssertion(signed(claims({ sub: 'SEC-0042', role: 'SECRETARIAT_MEDICAL', specialty: undefined })), context);
  t.same(result.ok && result.identity, {
    kind: 'professional', rpps: 'SEC-0042', profession: 'SECRETARIAT_MEDICAL', role: 'administrative-staff',
    organization: { id: '1990000012', name: 'Hôpital de test' },
  });
});

t.test('administrative staff cannot declare break-the-glass', async (t) => {
  t.equal(reasonOf(signed(claims({ sub: 'SEC-0042', role: 'SECRETARIAT_MEDICAL', purpose_of_use: 'bris_de_glace', purpose_reason: 'x' }))), 'mode-not-allowed');
});

t.test('a pharmacist assertion carries the CNOP section', async (t) => {
  const result = verifyAssertion(signed(claims({ sub: '899700000003', role: '21', specialty: undefined, pharmacist_section: 'H' })), context);
  t.equal(result.ok && result.identity.kind === 'professional' && result.identity.pharmacistSection, 'H');
});

t.test('the combined code G15_10/SM04 is accepted as role', async (t) => {
  const result = verifyAssertion(signed(claims({ role: 'G15_10/SM04', specialty: undefined })), context);
  t.equal(result.ok && result.identity.kind === 'professional' && result.identity.specialty, 'SM04');
});

t.test('an unknown role is refused', async (t) => {
  t.equal(reasonOf(signed(claims({ role: 'AUTOMATE' }))), 'unknown-role');
});

t.test('a subject that is not an RPPS-based id is refused', async (t) => {
  t.equal(reasonOf(signed(claims({ sub: '012345678' }))), 'unknown-identifier');
});

t.test('an insurer sector makes the assertion subject an insurer medical adviser', async (t) => {
  const result = verifyAssertion(signed(claims({ sector: 'SA24' })), context);
  t.equal(result.ok && result.identity.kind === 'professional' && result.identity.activity, 'insurer-medical-adviser');
});

t.test('a patient id that is not an INS is refused', async (t) => {
  t.equal(reasonOf(signed(claims({ resource_id: 'DROP TABLE' }))), 'malformed-assertion');
});
