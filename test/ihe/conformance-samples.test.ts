// Replays conformance/ihe/samples.json through the protocol layer: every sample must decode
// (or fault) as its manifest says, and the registry errors the protocol layer can decide alone
// (with the registry state the scenario implies before each sample) must match. The lead's HTTP
// replay, on both stores, checks the same expectations end to end.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { cdaContradictions, readCda } from '../../src/cda/index.ts';
import type { ExistingObject, RegistryError, RegistryFacts, XdsRequest } from '../../src/ihe/xds/index.ts';
import {
  checkAgainstRegistry, checkProvidedDocument, checkRemoval, documentNotFound, measureBytes, measuring, missingAttachments, patientKey,
  readXdsRequest, toSoapFault, unknownRepository, validateSubmission,
} from '../../src/ihe/xds/index.ts';
import { collect, CONFORMANCE_DIR, frDmp, inPieces, INS } from './fixtures.ts';

interface Sample {
  file: string;
  endpoint: 'registry' | 'repository';
  transaction: string;
  contentType: string;
  expect: { status?: 'Success' | 'Failure'; errors?: string[]; fault?: { code: string; subcode: string | null; httpStatus: number } };
  placeholders?: Record<string, { entryUuidOf?: { documentUniqueId: string }; logicalIdOf?: { documentUniqueId: string }; association?: Record<string, string> }>;
}

const manifest = JSON.parse(readFileSync(join(CONFORMANCE_DIR, 'samples.json'), 'utf8')) as { server: { repositoryUniqueId: string }; samples: Sample[] };
const REPOSITORY = manifest.server.repositoryUniqueId;
const APPROVED = 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved';

/** The registry state a sample's placeholders stand for, as the facts the checks read. */
function factsFor(sample: Sample): RegistryFacts {
  const existing: ExistingObject[] = [];
  for (const [uuid, rule] of Object.entries(sample.placeholders ?? {})) {
    const uniqueId = rule.entryUuidOf?.documentUniqueId ?? rule.logicalIdOf?.documentUniqueId;
    existing.push(
      rule.association
        ? { kind: 'Association', entryUuid: uuid }
        : { kind: 'DocumentEntry', entryUuid: uuid, logicalId: uuid, version: '1', uniqueId, patientId: INS, availabilityStatus: APPROVED },
    );
  }
  return {
    knownPatients: new Set([patientKey(INS)]),
    byUniqueId: new Map(),
    byEntryUuid: new Map(existing.map((e) => [e.entryUuid, e])),
    byLogicalId: new Map(existing.filter((e) => e.logicalId).map((e) => [e.logicalId!, e])),
  };
}

/** What the protocol layer alone says about a decoded request. */
async function protocolErrors(request: XdsRequest, sample: Sample): Promise<RegistryError[]> {
  const domain = frDmp();
  const facts = factsFor(sample);
  switch (request.transaction) {
    case 'ITI-41': {
      const { provide } = request;
      const errors = [...provide.issues, ...validateSubmission(provide.submission, { transaction: 'ITI-41', domain })];
      const bytesById = new Map<string, Buffer>();
      for (const d of provide.documents) if (d.content.kind === 'inline') bytesById.set(d.id, d.content.bytes);
      const wanted = new Map(provide.documents.flatMap((d) => (d.content.kind === 'attachment' ? [[d.content.contentId, d.id] as const] : [])));
      const received = new Set<string>();
      for await (const a of request.attachments()) {
        received.add(a.contentId);
        const { body } = measuring(a.body);
        const id = wanted.get(a.contentId);
        const bytes = await collect(body);
        if (id) bytesById.set(id, bytes);
      }
      errors.push(...missingAttachments(provide, received));
      for (const entry of provide.submission.documentEntries) {
        const bytes = bytesById.get(entry.entryUuid);
        if (!bytes) continue;
        errors.push(...checkProvidedDocument(entry, measureBytes(bytes), REPOSITORY).errors);
        if (entry.mimeType === 'text/xml') errors.push(...cdaContradictions(readCda(bytes).header, entry));
      }
      errors.push(...checkAgainstRegistry(provide.submission, facts, { transaction: 'ITI-41' }));
      return errors;
    }
    case 'ITI-42':
      return [
        ...request.register.issues,
        ...validateSubmission(request.register.submission, { transaction: 'ITI-42', domain }),
        ...checkAgainstRegistry(request.register.submission, facts, { transaction: 'ITI-42' }),
      ];
    case 'ITI-57':
      return [
        ...request.update.issues,
        ...validateSubmission(request.update.submission, { transaction: 'ITI-57', domain }),
        ...checkAgainstRegistry(request.update.submission, facts, { transaction: 'ITI-57' }),
      ];
    case 'ITI-18':
      return request.query.ok ? [...request.query.warnings] : [...request.query.errors];
    case 'ITI-43':
      return [
        ...request.retrieve.issues,
        ...request.retrieve.documents.filter((d) => d.repositoryUniqueId !== REPOSITORY).map(unknownRepository),
      ];
    case 'ITI-62':
      return [
        ...request.remove.issues,
        ...checkRemoval(request.remove.entryUuids, {
          kindOf: (id) => facts.byEntryUuid.get(id)?.kind,
          associationsOf: (id) => (facts.byEntryUuid.get(id)?.kind === 'DocumentEntry' ? Object.keys(sample.placeholders ?? {}).filter((u) => sample.placeholders![u].association) : []),
        }),
      ];
  }
}

for (const sample of manifest.samples) {
  const what = sample.expect.fault
    ? `a ${sample.expect.fault.code} fault${sample.expect.fault.subcode ? ` (${sample.expect.fault.subcode})` : ''}`
    : `${sample.expect.status}${sample.expect.errors ? ` with ${sample.expect.errors.join(', ')}` : ''}`;
  void t.test(`${sample.file} sent as ${sample.contentType.split(';')[0]} to the ${sample.endpoint} gets ${what}`, async (t) => {
    const bytes = readFileSync(join(CONFORMANCE_DIR, sample.file));
    let errors: RegistryError[];
    try {
      const request = await readXdsRequest(sample.contentType, inPieces(bytes, 4096), sample.endpoint);
      t.equal(request.transaction, sample.transaction);
      errors = await protocolErrors(request, sample);
    } catch (error) {
      const fault = toSoapFault(error);
      t.ok(sample.expect.fault, `fault expected (got ${fault.code} ${fault.subcode?.name ?? ''}: ${fault.reason})`);
      if (!sample.expect.fault) return;
      t.equal(fault.code, sample.expect.fault.code);
      t.equal(fault.subcode ? `${fault.subcode.prefix}:${fault.subcode.name}` : null, sample.expect.fault.subcode);
      t.equal(fault.httpStatus, sample.expect.fault.httpStatus);
      return;
    }
    t.notOk(sample.expect.fault, 'a fault was expected');
    const codes = errors.filter((e) => e.severity === 'Error').map((e) => e.code);
    if (sample.expect.status === 'Success') t.same(codes, []);
    for (const code of sample.expect.errors ?? []) t.ok(codes.includes(code as RegistryError['code']), `${code} among ${codes.join(', ')}`);
  });
}

void t.test('the MTOM sample carries the CDA fixture byte for byte', async (t) => {
  const sample = manifest.samples.find((s) => s.file.endsWith('iti41-provide-mtom.mtom'))!;
  const request = await readXdsRequest(sample.contentType, inPieces(readFileSync(join(CONFORMANCE_DIR, sample.file)), 1000), 'repository');
  const [body] = await Array.fromAsync(request.attachments(), (a) => collect(a.body));
  t.same(body, readFileSync(join(CONFORMANCE_DIR, 'documents', 'ldl-ses-carnet.xml')));
});

void t.test('a document the repository does not hold is XDSDocumentUniqueIdError', async (t) => {
  t.equal(documentNotFound({ repositoryUniqueId: REPOSITORY, documentUniqueId: '1.2.3' }).code, 'XDSDocumentUniqueIdError');
});
