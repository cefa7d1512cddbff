// Replays conformance/ihe/samples.json through POST /xds/registry and /xds/repository, in
// manifest order, on the pass's store (sqlite or MongoDB), and compares each answer with the
// manifest's expectation. Placeholders are resolved just before each sample with ITI-18, as the
// README there says.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hl7v2 } from '../../src/ihe/xds/index.ts';
import { openTestApp, type TestApp } from '../support/app.ts';
import { CONFORMANCE_DIR } from '../ihe/fixtures.ts';
import type { Answer } from './support.ts';
import {
  answerOf, APPROVED, associations, createPatient, errorsOf, extrinsicObjects, faultOf, objectRefs, post, QUERY, retrievedDocuments, statusOf,
  storedQuery,
} from './support.ts';

interface Sample {
  file: string;
  endpoint: 'registry' | 'repository';
  transaction: string;
  contentType: string;
  expect: {
    status?: string;
    errors?: string[];
    fault?: { code: string; subcode: string | null; httpStatus: number };
    documentEntries?: string[];
    objectRefs?: number;
    documents?: string[];
  };
  placeholders?: Record<string, {
    entryUuidOf?: { documentUniqueId: string };
    logicalIdOf?: { documentUniqueId: string };
    association?: { type: string; targetDocumentUniqueId?: string; sourceDocumentUniqueId?: string };
  }>;
}

const manifest = JSON.parse(readFileSync(join(CONFORMANCE_DIR, 'samples.json'), 'utf8')) as {
  server: { affinityDomain: string; repositoryUniqueId: string; knownPatients: string[] };
  samples: Sample[];
};

let api: TestApp;

t.before(async () => {
  api = await openTestApp({ env: { AFFINITY_DOMAIN: manifest.server.affinityDomain, XDS_REPOSITORY_UNIQUE_ID: manifest.server.repositoryUniqueId } });
  for (const cx of manifest.server.knownPatients) {
    const parsed = hl7v2.parseCx(cx);
    await createPatient(api.app, parsed.assigningAuthority?.universalId as string, parsed.id);
  }
});
t.teardown(() => api.close());

async function query(queryId: string, slots: Record<string, string[]>): Promise<Answer> {
  return answerOf(await post(api.app, 'registry', storedQuery(queryId, slots), 'application/soap+xml; charset=UTF-8'));
}

/** The value a placeholder stands for, read from the registry now. */
async function resolve(rule: NonNullable<Sample['placeholders']>[string]): Promise<string> {
  const byUniqueId = async (uniqueId: string) =>
    extrinsicObjects(await query(QUERY.GetDocuments, { $XDSDocumentEntryUniqueId: [`('${uniqueId}')`] }));
  if (rule.entryUuidOf) {
    const current = (await byUniqueId(rule.entryUuidOf.documentUniqueId)).find((e) => e.status === APPROVED);
    if (!current) throw new Error(`no current entry for ${rule.entryUuidOf.documentUniqueId}`);
    return current.id;
  }
  if (rule.logicalIdOf) {
    const [entry] = await byUniqueId(rule.logicalIdOf.documentUniqueId);
    if (!entry) throw new Error(`no entry for ${rule.logicalIdOf.documentUniqueId}`);
    return entry.lid ?? entry.id;
  }
  const a = rule.association!;
  const uniqueId = a.targetDocumentUniqueId ?? a.sourceDocumentUniqueId!;
  const answer = await query(QUERY.GetDocumentsAndAssociations, { $XDSDocumentEntryUniqueId: [`('${uniqueId}')`] });
  const doc = extrinsicObjects(answer).find((e) => e.status === APPROVED);
  const found = associations(answer).find((x) => x.type === a.type && (a.targetDocumentUniqueId ? x.target === doc?.id : x.source === doc?.id));
  if (!found) throw new Error(`no ${a.type} association for ${uniqueId}`);
  return found.id;
}

function describe(sample: Sample): string {
  const e = sample.expect;
  const what = e.fault
    ? `a ${e.fault.code} fault${e.fault.subcode ? ` (${e.fault.subcode})` : ''} with HTTP ${e.fault.httpStatus}`
    : `${e.status}${e.errors ? ` with ${e.errors.join(', ')}` : ''}`;
  return `${sample.file} sent as ${sample.contentType.split(';')[0]} to the ${sample.endpoint} gets ${what}`;
}

// One test per sample, in manifest order (tap runs them one after the other).
for (const sample of manifest.samples) {
  void t.test(describe(sample), async (t) => {
    let body = readFileSync(join(CONFORMANCE_DIR, sample.file));
    for (const [placeholder, rule] of Object.entries(sample.placeholders ?? {})) {
      body = Buffer.from(body.toString('utf8').replaceAll(placeholder, await resolve(rule)), 'utf8');
    }
    const posted = await post(api.app, sample.endpoint, body, sample.contentType);
    const answer = await answerOf(posted);
    const fault = faultOf(answer);
    if (sample.expect.fault) {
      t.ok(fault, 'the answer is a SOAP fault');
      t.equal(posted.status, sample.expect.fault.httpStatus, 'HTTP status');
      t.equal(fault?.code, sample.expect.fault.code, 'fault code');
      t.equal(fault?.subcode, sample.expect.fault.subcode, 'fault subcode');
      return;
    }
    t.notOk(fault, `no fault (${fault?.code} ${fault?.subcode}: ${fault?.reason})`);
    t.equal(posted.status, 200);
    const errors = errorsOf(answer.body);
    t.equal(statusOf(answer.body), sample.expect.status, `status (errors: ${JSON.stringify(errors)})`);
    for (const code of sample.expect.errors ?? []) t.ok(errors.some((e) => e.code === code), `${code} is reported`);
    if (sample.expect.documentEntries) {
      t.same(extrinsicObjects(answer).map((e) => e.uniqueId).sort(), [...sample.expect.documentEntries].sort(), 'the DocumentEntries found');
    }
    if (sample.expect.objectRefs !== undefined) t.equal(objectRefs(answer).length, sample.expect.objectRefs, 'ObjectRefs');
    if (sample.expect.documents) {
      const documents = retrievedDocuments(answer);
      t.same(documents.map((d) => d.uniqueId), sample.expect.documents, 'the documents retrieved');
      const fixture = readFileSync(join(CONFORMANCE_DIR, 'documents', 'ldl-ses-carnet.xml'));
      t.ok(documents[0]?.bytes?.equals(fixture), 'the document comes back byte for byte');
    }
  });
}
