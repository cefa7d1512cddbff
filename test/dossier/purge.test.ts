// The purge of dossiers closed longer ago than the retention period (10 years), with the clock
// moved by the test. The Store port has no hard delete yet: the purge hands what to delete to a
// HardDelete port, recorded here (and carried out with delete markers so that reads can be
// checked); the real adapters' hard delete is the lead's addition to the store.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultHabilitations } from '../../src/access/index.ts';
import { ACCESS_MARKER_TYPE, AccessMarkers } from '../../src/audit/index.ts';
import { loadConfig } from '../../src/config.ts';
import { PREFERENCES_TYPE } from '../../src/dossier/preferences.ts';
import { credentialsOver, dossierServices, dossierStatus, RECORD_TYPES, type Dossier, type HardDelete } from '../../src/dossier/index.ts';
import { FhirRepository, OPEN_GATE } from '../../src/fhir/index.ts';
import { searchRegistry } from '../../src/fhir/search/registry.ts';
import { StoreCredentialStore } from '../../src/identity/store-credential-store.ts';
import { patientSignIn } from '../../src/security.ts';
import { createParams, newIns, openApp, out, outAll, PDF, testClock, YEAR_MS, type OpenApp } from './support.ts';

const DAY_MS = 86_400_000;
const clock = testClock();
let api: OpenApp;

class RecordingHardDelete implements HardDelete {
  calls: { resources: { type: string; id: string }[]; blobs: string[] }[] = [];
  failNext = false;
  readonly api: () => OpenApp;
  constructor(app: () => OpenApp) {
    this.api = app;
  }
  async purge(target: { resources: { type: string; id: string }[]; blobs: string[] }): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('the database went away');
    }
    this.calls.push(target);
    const store = this.api().store;
    for (const r of target.resources) {
      const current = await store.read(r.type, r.id);
      if (current && !current.deleted) await store.commit({ writes: [{ op: 'delete', type: r.type, id: r.id }] });
    }
  }
  get all() {
    return { resources: this.calls.flatMap((c) => c.resources), blobs: this.calls.flatMap((c) => c.blobs) };
  }
}

t.before(async () => {
  api = await openApp({ dossier: { clock: clock.read } });
});
t.teardown(() => api.close());

async function services(hardDelete?: HardDelete): Promise<Dossier> {
  const store = api.store;
  const repository = new FhirRepository({ store, registry: searchRegistry(), gate: OPEN_GATE });
  const config = loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'carnet-purge-')), LOG_LEVEL: 'silent', ACCESS_CONTROL: 'off' });
  return dossierServices({
    store,
    repository,
    matrix: defaultHabilitations(),
    credentials: async () => credentialsOver(await patientSignIn(config, store), new StoreCredentialStore(store)),
    clock: clock.read,
    ...(hardDelete ? { hardDelete } : {}),
  });
}

/** A dossier with a document (and its bytes), a declaration and a device; returns its ids. */
async function fullDossier(ins = newIns()) {
  const created = await api.call('POST', '/fhir/Patient/$create-dossier', createParams({ ins, login: `p-${ins}` }));
  const patientId = String(out(created.body, 'patient').reference).replace('Patient/', '');
  const doc = await api.call('POST', `/fhir/Patient/${patientId}/$upload?title=Bilan`, PDF, { 'content-type': 'application/pdf' });
  const allergy = await api.call('POST', `/fhir/Patient/${patientId}/$declare`, {
    resourceType: 'AllergyIntolerance',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
    code: { text: 'Arachide' },
  });
  const device = await api.call('POST', `/fhir/Patient/${patientId}/$register-device`, { resourceType: 'Device' });
  await api.call('GET', `/fhir/Patient/${patientId}/$search-text?q=bilan`);
  if (doc.status !== 201 || allergy.status !== 201 || device.status !== 201) throw new Error(`seed: ${doc.status} ${allergy.status} ${device.status}`);
  return {
    ins,
    patientId,
    login: outAll(created.body, 'credentials')[0].login as string,
    documentId: doc.body.id as string,
    binaryId: String(doc.body.content[0].attachment.url).replace('Binary/', ''),
    allergyId: allergy.body.id as string,
    deviceId: out(device.body, 'device').id as string,
  };
}

async function close(patientId: string): Promise<void> {
  const r = await api.call('POST', `/fhir/Patient/${patientId}/$close`);
  if (r.status !== 200) throw new Error(`close: ${r.status} ${r.raw}`);
}

t.test('a dossier closed less than ten years ago is not purged', async (t) => {
  const { patientId } = await fullDossier();
  await close(patientId);
  const hard = new RecordingHardDelete(() => api);
  const dossier = await services(hard);
  t.same(await dossier.purge.run(clock.now + 10 * YEAR_MS - DAY_MS), []);
  t.equal(await dossierStatus(api.store, patientId), 'closed');
  t.equal(hard.calls.length, 0);
});

t.test('an active dossier is never purged', async (t) => {
  const { patientId } = await fullDossier();
  const dossier = await services(new RecordingHardDelete(() => api));
  t.notOk((await dossier.purge.run(clock.now + 50 * YEAR_MS)).includes(patientId));
  t.equal(await dossierStatus(api.store, patientId), 'active');
});

t.test('a dossier closed more than ten years ago is purged with its resources, Binaries and blobs', async (t) => {
  const other = await fullDossier();
  const mine = await fullDossier();
  await close(mine.patientId);
  const hard = new RecordingHardDelete(() => api);
  const dossier = await services(hard);
  const purged = await dossier.purge.run(clock.now + 10 * YEAR_MS + DAY_MS);
  t.same(purged, [mine.patientId]);
  const targets = hard.all.resources.map((r) => `${r.type}/${r.id}`);
  for (const expected of [
    `Patient/${mine.patientId}`,
    `DocumentReference/${mine.documentId}`,
    `Binary/${mine.binaryId}`,
    `AllergyIntolerance/${mine.allergyId}`,
    `Device/${mine.deviceId}`,
    `${RECORD_TYPES.dossier}/${mine.patientId}`,
  ]) {
    t.ok(targets.includes(expected), `${expected} is purged`);
  }
  t.ok(targets.some((r) => r.startsWith('Consent/')), 'the consent is purged');
  t.ok(targets.some((r) => r.startsWith(`${RECORD_TYPES.deviceToken}/`)), 'the device token is purged');
  t.ok(targets.some((r) => r.startsWith('CarnetDocumentText/')), 'the keyword cache is purged');
  t.ok(targets.some((r) => r.startsWith(`${RECORD_TYPES.insClaim}/`)), 'the INS claim is released');
  t.equal(hard.all.blobs.length, 1, "the document's blob is purged");
  for (const id of [other.patientId, other.documentId, other.binaryId, other.allergyId, other.deviceId]) {
    t.notOk(targets.some((r) => r.endsWith(`/${id}`)), 'nothing of another dossier');
  }
  t.equal(await dossierStatus(api.store, mine.patientId), undefined);
});

t.test("a purged dossier takes its first-access markers and notification choices with it", async (t) => {
  const mine = await fullDossier();
  const markers = new AccessMarkers(api.store);
  await api.store.commit({ writes: [markers.write(mine.patientId, '99700000001', new Date(clock.now).toISOString())] });
  t.equal((await api.call('POST', `/fhir/Patient/${mine.patientId}/$notification-preferences`, { resourceType: 'Parameters', parameter: [{ name: 'channel', valueCode: 'sms' }, { name: 'phone', valueString: '+33600000011' }] })).status, 200);
  await close(mine.patientId);
  const hard = new RecordingHardDelete(() => api);
  await (await services(hard)).purge.run(clock.now + 10 * YEAR_MS + DAY_MS);
  t.ok(hard.all.resources.some((r) => r.type === ACCESS_MARKER_TYPE), 'the marker is purged');
  t.ok(hard.all.resources.some((r) => r.type === PREFERENCES_TYPE && r.id === mine.patientId), 'the choice of channels (with its phone number) is purged');
  t.notOk(await new AccessMarkers(api.store).has(mine.patientId, '99700000001'), 'and no longer found');
});

t.test('after the purge the patient can no longer sign in, and the INS and login may open a new dossier', async (t) => {
  const { ins, patientId, login } = await fullDossier();
  await close(patientId);
  const dossier = await services(new RecordingHardDelete(() => api));
  await dossier.purge.run(clock.now + 11 * YEAR_MS);
  const signIn = await api.call('POST', '/auth/patient/sign-in', { login, password: 'anything' }, { 'content-type': 'application/json' });
  t.not(signIn.status, 200);
  const again = await api.call('POST', '/fhir/Patient/$create-dossier', createParams({ ins, login }));
  t.equal(again.status, 201);
});

t.test('a dossier reactivated before its retention ended is not purged', async (t) => {
  const { patientId } = await fullDossier();
  await close(patientId);
  await api.call('POST', `/fhir/Patient/${patientId}/$reactivate`);
  const dossier = await services(new RecordingHardDelete(() => api));
  t.notOk((await dossier.purge.run(clock.now + 20 * YEAR_MS)).includes(patientId));
  t.equal(await dossierStatus(api.store, patientId), 'active');
});

t.test('a purge cut short is finished by the next run, and the dossier cannot be reactivated meanwhile', async (t) => {
  const { patientId } = await fullDossier();
  await close(patientId);
  const hard = new RecordingHardDelete(() => api);
  hard.failNext = true;
  const dossier = await services(hard);
  const later = clock.now + 10 * YEAR_MS + DAY_MS;
  await t.rejects(dossier.purge.run(later));
  t.equal(await dossierStatus(api.store, patientId), 'closed', 'still there, being purged');
  clock.advance(10 * YEAR_MS + DAY_MS);
  try {
    t.equal((await api.call('POST', `/fhir/Patient/${patientId}/$reactivate`)).status, 410);
  } finally {
    clock.advance(-(10 * YEAR_MS + DAY_MS));
  }
  t.ok((await dossier.purge.run(later)).includes(patientId));
  t.equal(await dossierStatus(api.store, patientId), undefined);
});

t.test('without a hard delete the dossier is erased with delete markers', async (t) => {
  const { patientId, documentId } = await fullDossier();
  await close(patientId);
  const dossier = await services();
  t.ok((await dossier.purge.run(clock.now + 11 * YEAR_MS)).includes(patientId));
  t.equal((await api.call('GET', `/fhir/DocumentReference/${documentId}`)).status, 410);
  t.equal(await dossierStatus(api.store, patientId), undefined);
});

t.test('the scheduled job purges on its own', async (t) => {
  const scheduled = await openApp({ dossier: { clock: () => clock.now + 11 * YEAR_MS, purgeIntervalMs: 50, retentionMs: 10 * YEAR_MS } });
  try {
    const created = await scheduled.call('POST', '/fhir/Patient/$create-dossier', createParams());
    const patientId = String(out(created.body, 'patient').reference).replace('Patient/', '');
    // Closed "now" by its clock: due ten years later, which the app's own clock never reaches…
    await scheduled.call('POST', `/fhir/Patient/${patientId}/$close`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.equal(await dossierStatus(scheduled.store, patientId), 'closed');
  } finally {
    await scheduled.close();
  }
  // …and with a retention of zero the job purges it at its next run.
  const prompt = await openApp({ dossier: { clock: clock.read, purgeIntervalMs: 50, retentionMs: 0 } });
  try {
    const created = await prompt.call('POST', '/fhir/Patient/$create-dossier', createParams());
    const patientId = String(out(created.body, 'patient').reference).replace('Patient/', '');
    await prompt.call('POST', `/fhir/Patient/${patientId}/$close`);
    for (let i = 0; i < 50 && (await dossierStatus(prompt.store, patientId)) !== undefined; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    t.equal(await dossierStatus(prompt.store, patientId), undefined);
  } finally {
    await prompt.close();
  }
});
