import t from 'tap';
import type { AffinityDomain, RegistryObjects, SubmissionTransaction } from '../../src/ihe/xds/index.ts';
import {
  checkProvidedDocument, isValidIns, measureBytes, parseSubmitObjectsRequest, parseXml, validateSubmission,
} from '../../src/ihe/xds/index.ts';
import { frDmp, frDmpSubmission, ihe, INS, ipfSample, needsIpf } from './fixtures.ts';

type Mutation = (o: RegistryObjects) => void;

function errors(mutate: Mutation, transaction: SubmissionTransaction = 'ITI-42', domain: AffinityDomain = frDmp()) {
  const objects = frDmpSubmission();
  mutate(objects);
  return validateSubmission(objects, { transaction, domain });
}

/** [code, location] pairs, the shape most assertions need. */
function codes(mutate: Mutation, transaction?: SubmissionTransaction, domain?: AffinityDomain): [string, string | undefined][] {
  return errors(mutate, transaction, domain).map((e) => [e.code, e.location]);
}

const doc = (o: RegistryObjects) => o.documentEntries[0];
const set = (o: RegistryObjects) => o.submissionSets[0];

void t.test('a complete fr-dmp submission passes as ITI-42', async (t) => {
  t.same(errors(() => {}), []);
});

void t.test('ITI-41 does not need hash, size or repositoryUniqueId: the repository computes them', async (t) => {
  t.same(errors((o) => {
    delete doc(o).hash;
    delete doc(o).size;
    delete doc(o).repositoryUniqueId;
  }, 'ITI-41'), []);
});

void t.test('ITI-42 needs hash, size and repositoryUniqueId', async (t) => {
  const found = errors((o) => {
    delete doc(o).hash;
    delete doc(o).size;
    delete doc(o).repositoryUniqueId;
  });
  t.same(found.map((e) => e.codeContext), ['DocumentEntry.hash is required', 'DocumentEntry.size is required', 'DocumentEntry.repositoryUniqueId is required']);
  t.ok(found.every((e) => e.code === 'XDSRegistryMetadataError' && e.location === 'Document01'));
});

void t.test('the IPF update sample passes as ITI-57 in the ihe affinity domain', needsIpf, async (t) => {
  const sample = ipfSample('SubmitObjectsRequest_ebrs30_update.xml');
  const { objects } = parseSubmitObjectsRequest(parseXml(sample));
  t.same(validateSubmission(objects, { transaction: 'ITI-57', domain: ihe() }), []);
});

void t.test('the IPF provide sample is refused only for its sourceId, which is not an OID', needsIpf, async (t) => {
  const sample = ipfSample('SubmitObjectsRequest_ebrs30.xml');
  const { objects } = parseSubmitObjectsRequest(parseXml(sample));
  const found = validateSubmission(objects, { transaction: 'ITI-41', domain: ihe() });
  t.same(found.map((e) => [e.code, e.location, e.codeContext]), [['XDSRepositoryMetadataError', 'SubmissionSet01', 'SubmissionSet.sourceId (an OID) is malformed']]);
});

void t.test('a submission needs exactly one SubmissionSet', async (t) => {
  t.match(codes((o) => o.submissionSets.push({ ...set(o), entryUuid: 'SubmissionSet02', uniqueId: '1.2.3.9' })), [['XDSRegistryMetadataError', undefined]]);
  t.match(codes((o) => (o.submissionSets = [])), [['XDSRegistryMetadataError', undefined]]);
});

void t.test('each required DocumentEntry attribute, when missing, is a metadata error at the entry', async (t) => {
  const attributes = [
    'uniqueId', 'patientId', 'sourcePatientId', 'mimeType', 'creationTime', 'languageCode',
    'classCode', 'typeCode', 'formatCode', 'healthcareFacilityTypeCode', 'practiceSettingCode',
  ] as const;
  for (const attribute of attributes) {
    const found = errors((o) => delete doc(o)[attribute]);
    t.same(found.map((e) => [e.code, e.location]), [['XDSRegistryMetadataError', 'Document01']], attribute);
    t.match(found[0].codeContext, attribute, attribute);
  }
  t.same(codes((o) => (doc(o).confidentialityCodes = [])), [['XDSRegistryMetadataError', 'Document01']]);
});

void t.test('each required SubmissionSet attribute, when missing, is a metadata error at the set', async (t) => {
  for (const attribute of ['uniqueId', 'sourceId', 'patientId', 'submissionTime', 'contentTypeCode'] as const) {
    t.same(codes((o) => delete set(o)[attribute]), [['XDSRegistryMetadataError', 'SubmissionSet01']], attribute);
  }
});

void t.test('in ITI-41 the repository reports uniqueId, mimeType, sourceId, hash and size problems itself', async (t) => {
  t.same(codes((o) => (doc(o).uniqueId = 'not-an-oid'), 'ITI-41'), [['XDSRepositoryMetadataError', 'Document01']]);
  t.same(codes((o) => (doc(o).hash = 'zz'), 'ITI-41'), [['XDSRepositoryMetadataError', 'Document01']]);
  t.same(codes((o) => (doc(o).size = '-1'), 'ITI-41'), [['XDSRepositoryMetadataError', 'Document01']]);
  t.same(codes((o) => delete doc(o).mimeType, 'ITI-41'), [['XDSRepositoryMetadataError', 'Document01']]);
  t.same(codes((o) => (set(o).sourceId = 'abc'), 'ITI-41'), [['XDSRepositoryMetadataError', 'SubmissionSet01']]);
  t.same(codes((o) => (doc(o).uniqueId = 'not-an-oid')), [['XDSRegistryMetadataError', 'Document01']]);
});

void t.test('document uniqueIds are OID or OID^extension with an extension of at most 16 characters', async (t) => {
  t.same(errors((o) => (doc(o).uniqueId = '1.2.250.1.999.7^ABCDEF0123456789')), []);
  t.same(codes((o) => (doc(o).uniqueId = '1.2.250.1.999.7^ABCDEF01234567890')), [['XDSRegistryMetadataError', 'Document01']]);
  t.same(codes((o) => (doc(o).uniqueId = '1.02.3')), [['XDSRegistryMetadataError', 'Document01']]);
  t.same(codes((o) => (set(o).uniqueId = '1.2.3^x')), [['XDSRegistryMetadataError', 'SubmissionSet01']]);
});

void t.test('times must be UTC DTM values with parts in range', async (t) => {
  for (const bad of ['2024-01-15', '20241315', '20240115250000', '20240115093000+0100', '202401151']) {
    t.same(codes((o) => (doc(o).creationTime = bad)), [['XDSRegistryMetadataError', 'Document01']], bad);
  }
  t.same(codes((o) => (set(o).submissionTime = 'yesterday')), [['XDSRegistryMetadataError', 'SubmissionSet01']]);
  t.same(codes((o) => (doc(o).serviceStopTime = '20240101')), [['XDSRegistryMetadataError', 'Document01']], 'stop before start');
});

void t.test('languageCode and mimeType must be well formed', async (t) => {
  t.same(codes((o) => (doc(o).languageCode = 'french language')), [['XDSRegistryMetadataError', 'Document01']]);
  t.same(codes((o) => (doc(o).mimeType = 'xml')), [['XDSRegistryMetadataError', 'Document01']]);
});

void t.test('a patient id that is not id^^^&OID&ISO is a metadata error', async (t) => {
  t.same(codes((o) => (doc(o).patientId = '279035121518989^^^INS&1.2.250.1.213.1.4.10&ISO^NH')), [
    ['XDSRegistryMetadataError', 'Document01'],
  ]);
  t.same(codes((o) => (doc(o).sourcePatientId = 'IPP123')), [['XDSRegistryMetadataError', 'Document01']]);
});

void t.test('a patient id differing from the SubmissionSet patient id is XDSPatientIdDoesNotMatch', async (t) => {
  t.same(codes((o) => (doc(o).patientId = '297010100100152^^^&1.2.250.1.213.1.4.10&ISO^NH')), [['XDSPatientIdDoesNotMatch', 'Document01']]);
});

void t.test('a patient id from an assigning authority outside the affinity domain is XDSUnknownPatientId', async (t) => {
  const foreign = 'SELF-5^^^&1.3.6.1.4.1.21367.2005.3.7&ISO';
  t.same(codes((o) => (set(o).patientId = doc(o).patientId = foreign)), [
    ['XDSUnknownPatientId', 'SubmissionSet01'],
    ['XDSUnknownPatientId', 'Document01'],
  ]);
  // The ihe domain takes its authorities from configuration.
  const iheDomain = ihe(['1.2.250.1.213.1.4.10']);
  t.same(codes(() => {}, 'ITI-42', iheDomain), []);
  t.same(codes((o) => (set(o).patientId = doc(o).patientId = foreign), 'ITI-42', iheDomain).map(([c]) => c), ['XDSUnknownPatientId', 'XDSUnknownPatientId']);
});

void t.test('fr-dmp patient ids are INS with a valid key and identifier type NH', async (t) => {
  t.ok(isValidIns('279035121518989'));
  t.notOk(isValidIns('279035121518988'));
  const badKey = '279035121518988^^^&1.2.250.1.213.1.4.10&ISO^NH';
  t.same(codes((o) => (set(o).patientId = doc(o).patientId = badKey)).map(([c]) => c), ['XDSRegistryMetadataError', 'XDSRegistryMetadataError']);
  const noType = '279035121518989^^^&1.2.250.1.213.1.4.10&ISO';
  t.match(errors((o) => (set(o).patientId = doc(o).patientId = noType))[0].codeContext, /identifier type NH/);
});

void t.test('Corsican INS numbers (2A/2B) check their key with 19/18', async (t) => {
  // 1 85 02 2A 005 123 → department 2A counts as 19 in the key computation.
  const base = 1850219005123n;
  const key = String(97n - (base % 97n)).padStart(2, '0');
  t.ok(isValidIns(`185022A005123${key}`));
  t.notOk(isValidIns(`185022B005123${key}`));
});

void t.test('fr-dmp codes must come from the DMP value sets', async (t) => {
  t.same(codes((o) => (doc(o).typeCode = { code: '99999-9', codingScheme: '2.16.840.1.113883.6.1' })), [['XDSRegistryMetadataError', 'Document01']]);
  t.match(errors((o) => (doc(o).typeCode = { code: '99999-9', codingScheme: '2.16.840.1.113883.6.1' }))[0].codeContext, /JDV_J07/);
  t.match(errors((o) => (doc(o).classCode = { code: '10', codingScheme: '1.2.3' }))[0].codeContext, /codingScheme 1.2.3, not the one JDV_J57/);
  t.same(codes((o) => (doc(o).healthcareFacilityTypeCode = { code: 'SA99', codingScheme: '1.2.250.1.71.4.2.4' })), [['XDSRegistryMetadataError', 'Document01']]);
  t.same(codes((o) => (doc(o).practiceSettingCode = { code: 'CLINIQUE', codingScheme: '1.2.250.1.213.1.1.4.9' })), [['XDSRegistryMetadataError', 'Document01']]);
  t.same(codes((o) => (doc(o).formatCode = { code: 'urn:example:format', codingScheme: '1.3.6.1.4.1.19376.1.2.3' })), [['XDSRegistryMetadataError', 'Document01']]);
});

void t.test('the masking and visibility codes are accepted as extra confidentiality codes', async (t) => {
  t.same(errors((o) => {
    doc(o).confidentialityCodes.push(
      { code: 'MASQUE_PS', codingScheme: '1.2.250.1.213.1.1.4.13' },
      { code: 'INVISIBLE_PATIENT', codingScheme: '1.2.250.1.213.1.1.4.13' },
      { code: 'INVISIBLE_REPRESENTANTS_LEGAUX', codingScheme: '1.2.250.1.213.1.1.4.13' },
    );
  }), []);
  t.same(codes((o) => doc(o).confidentialityCodes.push({ code: 'MASQUE_PSOCIAL', codingScheme: '1.2.250.1.213.1.1.4.13' })), [
    ['XDSRegistryMetadataError', 'Document01'],
  ]);
});

void t.test('fr-dmp author specialties must be coded from JDV_J01', async (t) => {
  t.same(codes((o) => (doc(o).authors[0].specialties = ['Orthopedic'])), [['XDSRegistryMetadataError', 'Document01']]);
  t.same(codes((o) => (doc(o).authors[0].specialties = ['G15_10/SM99^Inconnu^1.2.250.1.213.1.1.4.5'])), [['XDSRegistryMetadataError', 'Document01']]);
  t.same(errors((o) => (doc(o).authors[0].specialties = ['G15_10/SM26^^^&1.2.250.1.213.1.1.4.5&ISO'])), [], 'the Identifiable form is read too');
});

void t.test('fr-dmp referenceIdList types come from JDV_J231', async (t) => {
  t.same(errors((o) => (doc(o).referenceIds = ['ACC-1^^^&1.2.250.1.999.3&ISO^urn:ihe:iti:xds:2013:accession'])), []);
  t.same(codes((o) => (doc(o).referenceIds = ['ACC-1^^^&1.2.250.1.999.3&ISO^urn:example:other'])), [['XDSRegistryMetadataError', 'Document01']]);
  t.same(codes((o) => (doc(o).referenceIds = ['ACC-1'])), [['XDSRegistryMetadataError', 'Document01']]);
});

void t.test('the ihe affinity domain accepts any well-formed codes', async (t) => {
  const domain = ihe(['1.2.250.1.213.1.4.10']);
  t.same(errors((o) => {
    doc(o).typeCode = { code: 'Outpatient Evaluation', codingScheme: 'Connect-a-thon typeCodes' };
    doc(o).authors[0].specialties = ['Orthopedic'];
    set(o).patientId = doc(o).patientId = '279035121518988^^^&1.2.250.1.213.1.4.10&ISO';
  }, 'ITI-42', domain), []);
});

void t.test('two objects of a submission sharing a uniqueId are reported by the actor that sees it', async (t) => {
  const twin: Mutation = (o) => {
    o.documentEntries.push({ ...structuredClone(doc(o)), entryUuid: 'Document02' });
    o.associations.push({ ...o.associations[0], entryUuid: 'Association02', targetUuid: 'Document02' });
  };
  t.same(codes(twin), [['XDSRegistryDuplicateUniqueIdInMessage', 'Document02']]);
  t.same(codes(twin, 'ITI-41'), [['XDSRepositoryDuplicateUniqueIdInMessage', 'Document02']]);
});

void t.test('two objects sharing an id, or an id with spaces, are metadata errors', async (t) => {
  t.same(codes((o) => (o.associations[0].entryUuid = 'Document01')).map(([c]) => c), ['XDSRegistryMetadataError']);
  t.same(codes((o) => (o.associations[0].entryUuid = 'urn:uuid:not-a-uuid')), [['XDSRegistryMetadataError', 'urn:uuid:not-a-uuid']]);
});

void t.test('a DocumentEntry that is not a member of the SubmissionSet is a metadata error', async (t) => {
  t.same(codes((o) => (o.associations = [])), [['XDSRegistryMetadataError', 'Document01']]);
});

void t.test('HasMember to a new document needs SubmissionSetStatus Original, to an existing one Reference', async (t) => {
  t.same(codes((o) => delete o.associations[0].submissionSetStatus), [['XDSRegistryMetadataError', 'Association01']]);
  t.same(errors((o) => o.associations.push({
    entryUuid: 'Association02', type: 'HasMember', typeUrn: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember',
    sourceUuid: 'SubmissionSet01', targetUuid: 'urn:uuid:11111111-1111-4111-8111-111111111111', submissionSetStatus: 'Reference', extraSlots: [],
  })), []);
});

void t.test('replacement associations go from a new DocumentEntry to an existing one', async (t) => {
  const rplc = (source: string, target: string): Mutation => (o) => o.associations.push({
    entryUuid: 'Association02', type: 'RPLC', typeUrn: 'urn:ihe:iti:2007:AssociationType:RPLC', sourceUuid: source, targetUuid: target, extraSlots: [],
  });
  t.same(errors(rplc('Document01', 'urn:uuid:11111111-1111-4111-8111-111111111111')), []);
  t.same(codes(rplc('SubmissionSet01', 'urn:uuid:11111111-1111-4111-8111-111111111111')), [['XDSRegistryMetadataError', 'Association02']]);
  t.same(codes(rplc('Document01', 'Document01')), [['XDSRegistryMetadataError', 'Association02']]);
  t.same(codes(rplc('Document01', 'Nowhere')), [['XDSRegistryMetadataError', 'Association02']]);
});

void t.test('a Folder→DocumentEntry membership must itself be a member of the SubmissionSet', async (t) => {
  const withFolder: Mutation = (o) => {
    o.folders.push({ entryUuid: 'Folder01', uniqueId: '1.2.250.1.999.1.1.5', patientId: INS, title: 'Suivi', codeList: [{ code: 'X', codingScheme: '1.2.3' }], limitedMetadata: false, extraSlots: [] });
    o.associations.push(
      { entryUuid: 'A-ss-folder', type: 'HasMember', typeUrn: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', sourceUuid: 'SubmissionSet01', targetUuid: 'Folder01', extraSlots: [] },
      { entryUuid: 'A-folder-doc', type: 'HasMember', typeUrn: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', sourceUuid: 'Folder01', targetUuid: 'Document01', extraSlots: [] },
    );
  };
  t.same(codes(withFolder), [['XDSRegistryMetadataError', 'A-folder-doc']]);
  t.same(errors((o) => {
    withFolder(o);
    o.associations.push({ entryUuid: 'A-ss-member', type: 'HasMember', typeUrn: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', sourceUuid: 'SubmissionSet01', targetUuid: 'A-folder-doc', extraSlots: [] });
  }), []);
  t.same(codes((o) => {
    withFolder(o);
    delete o.folders[0].title;
    o.folders[0].codeList = [];
    o.associations.push({ entryUuid: 'A-ss-member', type: 'HasMember', typeUrn: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', sourceUuid: 'SubmissionSet01', targetUuid: 'A-folder-doc', extraSlots: [] });
  }), [['XDSRegistryMetadataError', 'Folder01'], ['XDSRegistryMetadataError', 'Folder01']]);
});

void t.test('status changes are only for Update Document Set', async (t) => {
  const statusChange: Mutation = (o) => o.associations.push({
    entryUuid: 'Association02', type: 'UpdateAvailabilityStatus', typeUrn: 'urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus',
    sourceUuid: 'SubmissionSet01', targetUuid: 'urn:uuid:11111111-1111-4111-8111-111111111111',
    originalStatus: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved', newStatus: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated', extraSlots: [],
  });
  t.same(codes(statusChange), [['XDSRegistryMetadataError', 'Association02']]);
});

void t.test('ITI-57: an updated DocumentEntry needs the lid of the entry it updates and a PreviousVersion', async (t) => {
  const asUpdate: Mutation = (o) => {
    doc(o).logicalId = 'urn:uuid:22222222-2222-4222-8222-222222222222';
    o.associations[0].previousVersion = '1';
  };
  t.same(errors(asUpdate, 'ITI-57'), []);
  t.same(codes((o) => {
    asUpdate(o);
    delete doc(o).logicalId;
  }, 'ITI-57'), [['XDSMetadataIdentifierError', 'Document01']]);
  t.same(codes((o) => {
    asUpdate(o);
    delete o.associations[0].previousVersion;
  }, 'ITI-57'), [['XDSMetadataVersionError', 'Association01']]);
  t.same(codes((o) => (doc(o).logicalId = 'urn:uuid:22222222-2222-4222-8222-222222222222')), [['XDSRegistryMetadataError', 'Document01']], 'lid ≠ id outside ITI-57');
});

void t.test('ITI-57: a NewStatus outside the affinity domain is XDSMetadataUpdateOperationError', async (t) => {
  const change = (newStatus: string): Mutation => (o) => {
    o.documentEntries = [];
    o.associations = [{
      entryUuid: 'Association02', type: 'UpdateAvailabilityStatus', typeUrn: 'urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus',
      sourceUuid: 'SubmissionSet01', targetUuid: 'urn:uuid:11111111-1111-4111-8111-111111111111',
      originalStatus: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved', newStatus, extraSlots: [],
    }];
  };
  t.same(errors(change('urn:asip:ci-sis:2010:StatusType:Archived'), 'ITI-57'), []);
  t.same(codes(change('urn:asip:ci-sis:2010:StatusType:Archived'), 'ITI-57', ihe(['1.2.250.1.213.1.4.10'])), [['XDSMetadataUpdateOperationError', 'Association02']]);
  t.same(codes(change('urn:example:Gone'), 'ITI-57'), [['XDSMetadataUpdateOperationError', 'Association02']]);
});

void t.test('extra slots must be URNs outside urn:ihe:', async (t) => {
  t.same(errors((o) => (doc(o).extraSlots = [{ name: 'urn:carnet:test', values: ['x'] }])), []);
  t.same(codes((o) => (doc(o).extraSlots = [{ name: 'myslot', values: ['x'] }])), [['XDSRegistryMetadataError', 'Document01']]);
  t.same(codes((o) => (doc(o).extraSlots = [{ name: 'urn:ihe:iti:made-up', values: ['x'] }])), [['XDSRegistryMetadataError', 'Document01']]);
});

void t.test('limited metadata and on-demand entries are not accepted by an XDS registry', async (t) => {
  t.same(codes((o) => (doc(o).limitedMetadata = true)), [['XDSRegistryMetadataError', 'Document01']]);
  t.same(codes((o) => (doc(o).objectType = 'on-demand')), [['XDSRegistryMetadataError', 'Document01']]);
});

void t.test('a provided document whose bytes differ from the declared hash or size is a repository metadata error', async (t) => {
  const entry = frDmpSubmission().documentEntries[0];
  const bytes = Buffer.from('<ClinicalDocument/>');
  const measured = measureBytes(bytes);
  const mismatch = checkProvidedDocument(entry, measured, '1.2.250.1.999.1.9');
  t.same(mismatch.errors.map((e) => [e.code, e.location]), [['XDSRepositoryMetadataError', 'Document01'], ['XDSRepositoryMetadataError', 'Document01']]);
  const ok = checkProvidedDocument({ ...entry, hash: measured.sha1.toUpperCase(), size: String(bytes.length) }, measured, '1.2.250.1.999.1.9');
  t.same(ok.errors, []);
  t.match(ok.entry, { hash: measured.sha1, size: String(bytes.length), repositoryUniqueId: '1.2.250.1.999.1.9' });
  const absent = checkProvidedDocument({ ...entry, hash: undefined, size: undefined }, measured, '1.2.250.1.999.1.9');
  t.same(absent.errors, []);
  t.equal(absent.entry.hash, measured.sha1);
});
