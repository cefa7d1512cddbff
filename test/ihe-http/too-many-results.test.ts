// XDSTooManyResults: a stored query whose result exceeds the registry's configured maximum
// (XdsDeps.limits.maxQueryResults, 1000 by default) answers Failure with that code and no object,
// whether one search passes the limit or the answer gathers more objects than it.
import t from 'tap';
import { fastify, type FastifyInstance } from 'fastify';
import { loadHabilitations } from '../../src/access/index.ts';
import { registerFhir } from '../../src/fhir/index.ts';
import { createXdsService, DEFAULT_XDS_LIMITS, registerXds } from '../../src/ihe/xds/index.ts';
import type { XdsDeps } from '../../src/ihe/xds/index.ts';
import type { Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';
import { cxOf, INS_TEST_AUTHORITY, iti41Mtom, newIns, pdf, REPOSITORY, submission } from './builders.ts';
import type { Answer } from './support.ts';
import { answerOf, createPatient, errorsOf, extrinsicObjects, objectRefs, post, QUERY, registryPackages, SOAP_CONTENT_TYPE, statusOf, storedQuery } from './support.ts';

const LIMIT = 4;
const config: XdsDeps['config'] = { affinityDomain: 'fr-dmp', ihePatientIdAuthorities: undefined, xdsRepositoryUniqueId: REPOSITORY, publicBaseUrl: undefined };

let app: FastifyInstance;
let store: Store;
let cleanup: () => Promise<void>;
const patient = cxOf(newIns());
let setUniqueId = '';

/** FHIR and XDS on one store, without access control, the XDS registry limited to LIMIT objects. */
function appWith(limits: XdsDeps['limits']): FastifyInstance {
  const built = fastify();
  const matrix = loadHabilitations();
  const repository = registerFhir(built, { store, matrix });
  registerXds(built, { config, repository, matrix, limits });
  return built;
}

t.before(async () => {
  const opened = await openTestStore();
  store = opened.store;
  app = appWith({ maxQueryResults: LIMIT });
  await app.ready();
  cleanup = async () => {
    await app.close();
    await opened.cleanup();
  };
  await createPatient(app, INS_TEST_AUTHORITY, patient.split('^')[0]);
  // Five documents: three letters and two imaging reports, in one submission.
  const documents = ['11490-0', '11490-0', '11490-0', '18748-4', '18748-4'].map((typeCode) => ({ bytes: pdf(), options: { typeCode } }));
  const objects = submission(patient, documents);
  setUniqueId = objects.submissionSets[0].uniqueId as string;
  const provided = await iti41Mtom(objects, new Map(documents.map((d, i) => [`Document0${i + 1}`, d.bytes])));
  const answer = await answerOf(await post(app, 'repository', provided.body, provided.contentType));
  if (statusOf(answer.body) !== 'Success') throw new Error(`seed: ${JSON.stringify(errorsOf(answer.body))}`);
});
t.teardown(() => cleanup());

async function query(queryId: string, slots: Record<string, string[]>, returnType: 'LeafClass' | 'ObjectRef' = 'LeafClass'): Promise<Answer> {
  return answerOf(await post(app, 'registry', storedQuery(queryId, slots, returnType), SOAP_CONTENT_TYPE('urn:ihe:iti:2007:RegistryStoredQuery')));
}

const findDocuments = (extra: Record<string, string[]> = {}, returnType: 'LeafClass' | 'ObjectRef' = 'LeafClass') =>
  query(QUERY.FindDocuments, { $XDSDocumentEntryPatientId: [`'${patient}'`], $XDSDocumentEntryStatus: ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"], ...extra }, returnType);

void t.test('FindDocuments matching more documents than the limit answers Failure with XDSTooManyResults and no object', async (t) => {
  const answer = await findDocuments();
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSTooManyResults', severity: 'Error', context: new RegExp(`more than ${LIMIT} objects`) }]);
  t.equal(errorsOf(answer.body).length, 1);
  t.same(extrinsicObjects(answer), []);
});

void t.test('the same refusal comes with returnType ObjectRef', async (t) => {
  const answer = await findDocuments({}, 'ObjectRef');
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSTooManyResults' }]);
  t.same(objectRefs(answer), []);
});

void t.test('a narrower query under the limit succeeds', async (t) => {
  const answer = await findDocuments({ $XDSDocumentEntryTypeCode: ["('18748-4^^2.16.840.1.113883.6.1')"] });
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  t.equal(extrinsicObjects(answer).length, 2);
});

void t.test('an answer gathering more objects than the limit (a set, its documents and their associations) is XDSTooManyResults', async (t) => {
  const answer = await query(QUERY.GetSubmissionSetAndContents, { $XDSSubmissionSetUniqueId: [`'${setUniqueId}'`] });
  t.equal(statusOf(answer.body), 'Failure');
  t.match(errorsOf(answer.body), [{ code: 'XDSTooManyResults' }]);
  t.same(registryPackages(answer), []);
});

void t.test('the default limit is 1000 objects, and a limit that is not a positive integer is refused at start-up', async (t) => {
  t.equal(DEFAULT_XDS_LIMITS.maxQueryResults, 1000);
  const repository = registerFhir(fastify(), { store, matrix: loadHabilitations() });
  t.equal(createXdsService({ config, repository, matrix: loadHabilitations() }).limits.maxQueryResults, 1000);
  for (const bad of [0, -1, 2.5, Number.NaN]) {
    t.throws(() => createXdsService({ config, repository, matrix: loadHabilitations(), limits: { maxQueryResults: bad } }), RangeError, String(bad));
  }
});
