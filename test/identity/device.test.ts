// Connected devices as callers (issue 6: a device the patient registered posts Observations with
// a token the patient can revoke): identityFromRequest recognises a device token through the
// deviceAuth the server wires to the dossier module, and the access engine then lets the device
// add Observations it authored to its patient's dossier, and read nothing.
import type { Resource } from '@medplum/fhirtypes';
import t from 'tap';
import { actorOfIdentity, decideAccess, defaultHabilitations, dossierRefusal, resourceFacts, searchConstraint } from '../../src/access/index.ts';
import type { DossierFacts } from '../../src/access/index.ts';
import { createTestPki, identityFromRequest } from '../../src/identity/index.ts';
import type { DeviceIdentity, IdentityContext, RequestLike } from '../../src/identity/index.ts';

const pki = await createTestPki();
const DEVICE_TOKEN = `cdt_${'d'.repeat(43)}`;
const PATIENT_TOKEN = 'p'.repeat(43);
const scale: DeviceIdentity = { kind: 'device', patientId: 'patient-1', deviceId: 'scale-1' };
let deviceLookups = 0;

const context: IdentityContext = {
  trust: pki.trust,
  audience: 'urn:carnet',
  deviceAuth: async (token) => {
    deviceLookups += 1;
    return token === DEVICE_TOKEN ? scale : undefined;
  },
  patientAuth: {
    authenticate: async (token) => token === PATIENT_TOKEN
      ? { ok: true, identity: { kind: 'patient', patientId: 'patient-1' }, expiresAt: Date.now() + 1000 }
      : { ok: false, reason: 'invalid-token', message: 'Unknown or revoked token' },
  },
};

const req = (headers: RequestLike['headers']): RequestLike => ({ headers, raw: { socket: {} } });

t.test("a device's bearer token gives the device and its patient", async (t) => {
  const result = await identityFromRequest(req({ authorization: `Bearer ${DEVICE_TOKEN}` }), context);
  t.same(result.ok && [result.identity, result.via, result.mode], [scale, 'bearer', { kind: 'normal' }]);
});

t.test("a patient's token is still the patient's when devices are wired", async (t) => {
  const result = await identityFromRequest(req({ authorization: `Bearer ${PATIENT_TOKEN}` }), context);
  t.same(result.ok && result.identity, { kind: 'patient', patientId: 'patient-1' });
});

t.test('an unknown or revoked device token is refused like any unknown token', async (t) => {
  const result = await identityFromRequest(req({ authorization: `Bearer cdt_${'x'.repeat(43)}` }), context);
  t.same(!result.ok && [result.reason, result.message], ['invalid-token', 'Unknown or revoked token']);
});

t.test('a device cannot declare an emergency access mode, and its token is not even looked up', async (t) => {
  const before = deviceLookups;
  const result = await identityFromRequest(req({ authorization: `Bearer ${DEVICE_TOKEN}`, 'x-carnet-access-mode': 'break-the-glass', 'x-carnet-access-reason': 'x' }), context);
  t.same([!result.ok && result.reason, deviceLookups], ['mode-not-allowed', before]);
});

t.test('without deviceAuth a device token is only a patient token, and refused as such', async (t) => {
  const { deviceAuth: _unused, ...patientsOnly } = context;
  const result = await identityFromRequest(req({ authorization: `Bearer ${DEVICE_TOKEN}` }), patientsOnly);
  t.equal(!result.ok && result.reason, 'invalid-token');
});

// ---- what the access engine lets the device do ---------------------------------------------------

const matrix = defaultHabilitations();
const actor = actorOfIdentity(scale);
const dossier: DossierFacts = { patientId: 'patient-1', status: 'active', authorized: [], blocked: [], opposedBreakTheGlass: false, opposedEmergencyCall: false };
const weight = (extra: Record<string, unknown> = {}) =>
  resourceFacts({ resourceType: 'Observation', status: 'final', subject: { reference: 'Patient/patient-1' }, device: { reference: 'Device/scale-1' }, code: { text: 'poids' }, ...extra } as unknown as Resource, matrix);

t.test('the device identity becomes the access engine’s device actor', async (t) => {
  t.same(actor, { kind: 'device', patientId: 'patient-1', deviceId: 'scale-1' });
});

t.test("the device may add an Observation to its patient's dossier", async (t) => {
  t.same(decideAccess({ actor, dossier, resource: weight(), action: 'create', mode: 'normal', matrix }), { allowed: true, reason: 'may-create' });
});

t.test('the device may not pass its Observation off as a professional’s', async (t) => {
  const decision = decideAccess({ actor, dossier, resource: weight({ performer: [{ reference: 'Practitioner/99700000001' }] }), action: 'create', mode: 'normal', matrix });
  t.equal(decision.reason, 'create-not-permitted');
});

t.test("the device may not write into another patient's dossier", async (t) => {
  const other = { ...dossier, patientId: 'patient-2' };
  const facts = { ...weight(), dossier: 'patient-2' };
  t.equal(decideAccess({ actor, dossier: other, resource: facts, action: 'create', mode: 'normal', matrix }).reason, 'not-own-dossier');
});

t.test('the device reads nothing, not even what it wrote, and its searches are refused', async (t) => {
  t.equal(dossierRefusal({ actor, dossier, mode: 'normal', matrix })?.reason, 'no-read-rights');
  t.equal(searchConstraint({ actor, dossiers: [dossier], mode: 'normal', matrix }), 'deny');
});
