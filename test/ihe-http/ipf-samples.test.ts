// IPF's ebRS 3.0 sample messages (shared/conformance/ipf), wrapped in SOAP 1.2 (and MTOM for
// ITI-41), sent to a Carnet configured for the plain IHE affinity domain with IPF's patient id
// domain. The files are used as they are; where a test must first put the registry in the state
// a sample assumes, it registers that state with the protocol layer's own writer.
import t from 'tap';
import type { RegistryObjects } from '../../src/ihe/xds/index.ts';
import { buildSubmitObjectsRequest, parseSubmitObjectsRequest, parseXml, serializeXml } from '../../src/ihe/xds/index.ts';
import { openTestApp, type TestApp } from '../support/app.ts';
import { IPF_AUTHORITIES, ipfSample, needsIpf } from '../ihe/fixtures.ts';
import { ACTIONS, hasMember, iti41Mtom } from './builders.ts';
import type { Answer } from './support.ts';
import {
  answerOf, associations, countResources, createPatient, errorsOf, extrinsicObjects, post, QUERY, SOAP_CONTENT_TYPE, soapEnvelope, statusOf,
  storedQuery,
} from './support.ts';

const AUTHORITY = IPF_AUTHORITIES[0];
const SNAPSHOT_TARGET = 'urn:uuid:e0985823-dc50-45a5-a6c8-a11a829893bd';
const UPDATED_LID = 'urn:uuid:20744602-ba65-44e9-87ee-a52303a5183e';
/** IPF's sourceId (3670984664) is not an OID, which XDS.b requires: tests that need the submission through use this one. */
const SOURCE_OID = '1.3.6.1.4.1.21367.2005.3.9999.1';
const DOCUMENT = Buffer.from('<note>IPF sample document</note>');

async function ihePassApp(): Promise<TestApp> {
  const api = await openTestApp({ env: { AFFINITY_DOMAIN: 'ihe', IHE_PATIENT_ID_AUTHORITIES: AUTHORITY } });
  await createPatient(api.app, AUTHORITY, 'SELF-5');
  await createPatient(api.app, AUTHORITY, '714f4004f80540c');
  return api;
}

async function provide(api: TestApp, submitObjectsXml: string, documentId = 'Document01'): Promise<Answer> {
  const { body, contentType } = await iti41Mtom(submitObjectsXml, new Map([[documentId, DOCUMENT]]), 'text/xml');
  return answerOf(await post(api.app, 'repository', body, contentType));
}

async function registry(api: TestApp, body: string, action: string): Promise<Answer> {
  return answerOf(await post(api.app, 'registry', body, SOAP_CONTENT_TYPE(action)));
}

const read = (name: string): RegistryObjects => parseSubmitObjectsRequest(parseXml(ipfSample(name))).objects;
const xml = (objects: RegistryObjects) => serializeXml(buildSubmitObjectsRequest(objects));

/** The document IPF's IsSnapshotOf points at, registered for SELF-5 beforehand. */
async function registerSnapshotTarget(api: TestApp): Promise<void> {
  const objects = read('SubmitObjectsRequest_ebrs30.xml');
  objects.submissionSets[0].sourceId = SOURCE_OID;
  objects.submissionSets[0].uniqueId = '1.3.6.1.4.1.21367.2005.3.9999.30';
  Object.assign(objects.documentEntries[0], { entryUuid: SNAPSHOT_TARGET, uniqueId: '1.3.6.1.4.1.21367.2005.3.9999.31' });
  objects.associations = [hasMember('as01', 'SubmissionSet01', SNAPSHOT_TARGET, 'Original')];
  const answer = await provide(api, xml(objects), SNAPSHOT_TARGET);
  if (statusOf(answer.body) !== 'Success') throw new Error(JSON.stringify(errorsOf(answer.body)));
}

void t.test('the IPF provide sample as IPF wrote it is refused for its sourceId alone and stores nothing', needsIpf, async (t) => {
  const api = await ihePassApp();
  t.teardown(() => api.close());
  const before = await countResources(api.app, 'DocumentReference');
  const answer = await provide(api, ipfSample('SubmitObjectsRequest_ebrs30.xml'));
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSRepositoryMetadataError', location: 'SubmissionSet01', context: /sourceId/ }]);
  t.equal(errorsOf(answer.body).length, 1);
  t.equal(await countResources(api.app, 'DocumentReference'), before);
  t.equal(await countResources(api.app, 'Binary'), 0);
});

void t.test('the IPF provide sample with an OID sourceId is registered, snapshot association included', needsIpf, async (t) => {
  const api = await ihePassApp();
  t.teardown(() => api.close());
  await registerSnapshotTarget(api);
  const answer = await provide(api, ipfSample('SubmitObjectsRequest_ebrs30.xml').replace('value="3670984664"', `value="${SOURCE_OID}"`));
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  const found = await registry(api, storedQuery(QUERY.FindDocuments, {
    $XDSDocumentEntryPatientId: [`'SELF-5^^^&${AUTHORITY}&ISO'`],
    $XDSDocumentEntryStatus: ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
    $XDSDocumentEntryClassCode: ["('History and Physical^^Connect-a-thon classCodes')"],
  }), '');
  t.same(extrinsicObjects(found).map((e) => e.uniqueId).sort(), ['1.3.6.1.4.1.21367.2005.3.9999.31', '1.3.6.1.4.1.21367.2005.3.9999.32']);
  const related = await registry(api, storedQuery(QUERY.GetRelatedDocuments, {
    $XDSDocumentEntryUniqueId: ["'1.3.6.1.4.1.21367.2005.3.9999.32'"],
    $AssociationTypes: ["('urn:ihe:iti:2010:AssociationType:IsSnapshotOf')"],
  }), '');
  t.same(associations(related).map((a) => [a.type, a.target]), [['IsSnapshotOf', SNAPSHOT_TARGET]]);
});

void t.test('the IPF extra-metadata sample keeps its extra slot', needsIpf, async (t) => {
  const api = await ihePassApp();
  t.teardown(() => api.close());
  await registerSnapshotTarget(api);
  const sample = ipfSample('SubmitObjectsRequest_ebrs3_extra_metadata.xml').replace('value="3670984664"', `value="${SOURCE_OID}"`);
  t.equal(statusOf((await provide(api, sample)).body), 'Success');
  const [entry] = extrinsicObjects(await registry(api, storedQuery(QUERY.GetDocuments, { $XDSDocumentEntryUniqueId: ["('1.3.6.1.4.1.21367.2005.3.9999.32')"] }), ''));
  t.same(entry.slots.get('urn:my:company:slot'), ['somevalue']);
});

void t.test('the IPF update sample makes a new version and deprecates the object it names', needsIpf, async (t) => {
  const api = await ihePassApp();
  t.teardown(() => api.close());
  // The registry as the sample assumes it: version 1 of its DocumentEntry, and the target of
  // its UpdateAvailabilityStatus, both Approved (registered over ITI-42 from the sample's own metadata).
  const update = read('SubmitObjectsRequest_ebrs30_update.xml');
  const first = update.documentEntries[0];
  const seed: RegistryObjects = {
    submissionSets: [{ ...update.submissionSets[0], entryUuid: 'SubmissionSet01', uniqueId: '1.42.20100709101812.90', availabilityStatus: undefined }],
    documentEntries: [
      { ...first, entryUuid: UPDATED_LID, logicalId: UPDATED_LID, version: undefined, availabilityStatus: undefined },
      { ...first, entryUuid: SNAPSHOT_TARGET, logicalId: SNAPSHOT_TARGET, version: undefined, availabilityStatus: undefined, uniqueId: '1.42.20100709101812.91' },
    ],
    folders: [],
    associations: [hasMember('as01', 'SubmissionSet01', UPDATED_LID, 'Original'), hasMember('as02', 'SubmissionSet01', SNAPSHOT_TARGET, 'Original')],
  };
  const seeded = await registry(api, soapEnvelope(xml(seed), ACTIONS.iti42), ACTIONS.iti42);
  t.equal(statusOf(seeded.body), 'Success', JSON.stringify(errorsOf(seeded.body)));

  const answer = await registry(api, soapEnvelope(ipfSample('SubmitObjectsRequest_ebrs30_update.xml'), ACTIONS.iti57), ACTIONS.iti57);
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  const versions = extrinsicObjects(await registry(api, storedQuery(QUERY.GetDocuments, { $XDSDocumentEntryUniqueId: ["('1.42.20100709101812.2')"] }), ''));
  t.same(versions.map((v) => [v.lid, v.status?.replace(/.*:/, '')]).sort(), [[UPDATED_LID, 'Approved'], [UPDATED_LID, 'Deprecated']]);
  const target = extrinsicObjects(await registry(api, storedQuery(QUERY.GetDocuments, { $XDSDocumentEntryEntryUUID: [`('${SNAPSHOT_TARGET}')`] }), ''));
  t.equal(target[0]?.status, 'urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated');
});

void t.test('the IPF stored query sample, whose patient id carries an injection, gets XDSRegistryError', needsIpf, async (t) => {
  const api = await ihePassApp();
  t.teardown(() => api.close());
  const answer = await registry(api, soapEnvelope(ipfSample('iti18request.xml'), 'urn:ihe:iti:2007:RegistryStoredQuery'), '');
  t.equal(statusOf(answer.body), 'Failure');
  t.ok(errorsOf(answer.body).some((e) => e.code === 'XDSRegistryError' && e.location === '$XDSDocumentEntryPatientId'));
});
