import t from 'tap';
import type { AdhocQueryParseResult, StoredQuery, StoredQueryName } from '../../src/ihe/xds/index.ts';
import {
  buildAdhocQueryResponse, parseAdhocQueryRequest, parseQueryValue, parseSoapEnvelope, parseXml, registryError, serializeXml, STORED_QUERY_IDS,
  transactionFor,
} from '../../src/ihe/xds/index.ts';
import { ACTION, frDmpSubmission, ipfSample, soap12, needsIpf } from './fixtures.ts';

const PATIENT = "'279035121518989^^^&amp;1.2.250.1.213.1.4.10&amp;ISO^NH'";
const APPROVED = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')";
const UUID1 = 'urn:uuid:11111111-1111-4111-8111-111111111111';
const UUID2 = 'urn:uuid:22222222-2222-4222-8222-222222222222';

type Slots = [string, ...string[]][];

function request(query: string, slots: Slots, returnType = 'LeafClass'): string {
  const slotXml = slots
    .map(([name, ...values]) => `<rim:Slot name="${name}"><rim:ValueList>${values.map((v) => `<rim:Value>${v}</rim:Value>`).join('')}</rim:ValueList></rim:Slot>`)
    .join('');
  return (
    '<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">' +
    `<query:ResponseOption returnComposedObjects="true" returnType="${returnType}"/>` +
    `<rim:AdhocQuery id="${query}">${slotXml}</rim:AdhocQuery></query:AdhocQueryRequest>`
  );
}

function parse(name: StoredQueryName | string, slots: Slots, returnType?: string): AdhocQueryParseResult {
  const id = name in STORED_QUERY_IDS ? STORED_QUERY_IDS[name as StoredQueryName] : name;
  return parseAdhocQueryRequest(parseXml(request(id, slots, returnType)));
}

function query(name: StoredQueryName, slots: Slots): StoredQuery {
  const result = parse(name, slots);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.request.query;
}

function errorCodes(name: StoredQueryName | string, slots: Slots, returnType?: string): [string, string | undefined][] {
  const result = parse(name, slots, returnType);
  return result.ok ? [] : result.errors.map((e) => [e.code, e.location]);
}

void t.test('the IPF stored query sample arrives through SOAP and its unterminated, injected patient id is refused', needsIpf, async (t) => {
  const sample = ipfSample('iti18request.xml');
  const soap = parseSoapEnvelope(soap12(sample, ACTION.iti18));
  t.equal(transactionFor(soap, 'registry').id, 'ITI-18');
  const result = parseAdhocQueryRequest(soap.body);
  t.notOk(result.ok);
  if (result.ok) return;
  t.same(result.errors.map((e) => [e.code, e.location]), [['XDSRegistryError', '$XDSDocumentEntryPatientId']]);
});

void t.test('the IPF sample with a well-formed patient id reads as FindDocuments with quoted and bare times', needsIpf, async (t) => {
  const sample = ipfSample('iti18request.xml');
  const fixed = sample.replace(/<rim:Value>'593603[^<]*<\/rim:Value>/, "<rim:Value>'593603^^^&amp;2.16.756.5.33.2.5.1.5.1&amp;ISO'</rim:Value>");
  const result = parseAdhocQueryRequest(parseXml(fixed));
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(result.request.query, {
    type: 'FindDocuments',
    patientId: '593603^^^&2.16.756.5.33.2.5.1.5.1&ISO',
    documents: { creationTime: { from: '20221015151515', to: '20221016161616' }, status: ['urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'] },
  });
  t.equal(result.request.returnType, 'LeafClass');
  t.equal(result.request.returnComposedObjects, true);
});

void t.test('FindDocuments reads every filter, with OR inside a slot and AND between AND/OR slots', async (t) => {
  const q = query('FindDocuments', [
    ['$XDSDocumentEntryPatientId', PATIENT],
    ['$XDSDocumentEntryStatus', APPROVED],
    ['$XDSDocumentEntryClassCode', "('10^^1.2.250.1.213.1.1.4.1','11^^1.2.250.1.213.1.1.4.1')"],
    ['$XDSDocumentEntryTypeCode', "('11490-0^^2.16.840.1.113883.6.1')", "('11488-4^^2.16.840.1.113883.6.1')"],
    ['$XDSDocumentEntryConfidentialityCode', "('N^^2.16.840.1.113883.5.25','R^^2.16.840.1.113883.5.25')"],
    ['$XDSDocumentEntryConfidentialityCode', "('MASQUE_PS^^1.2.250.1.213.1.1.4.13')"],
    ['$XDSDocumentEntryCreationTimeFrom', '20240101'],
    ['$XDSDocumentEntryServiceStopTimeTo', '20240201120000'],
    ['$XDSDocumentEntryAuthorPerson', "('%DUPONT%')"],
    ['$XDSDocumentEntryType', "('urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1')"],
  ]);
  t.same(q, {
    type: 'FindDocuments',
    patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH',
    documents: {
      classCode: [{ code: '10', codingScheme: '1.2.250.1.213.1.1.4.1' }, { code: '11', codingScheme: '1.2.250.1.213.1.1.4.1' }],
      typeCode: [{ code: '11490-0', codingScheme: '2.16.840.1.113883.6.1' }, { code: '11488-4', codingScheme: '2.16.840.1.113883.6.1' }],
      confidentialityCode: [
        [{ code: 'N', codingScheme: '2.16.840.1.113883.5.25' }, { code: 'R', codingScheme: '2.16.840.1.113883.5.25' }],
        [{ code: 'MASQUE_PS', codingScheme: '1.2.250.1.213.1.1.4.13' }],
      ],
      creationTime: { from: '20240101' },
      serviceStopTime: { to: '20240201120000' },
      authorPerson: ['%DUPONT%'],
      status: ['urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'],
      objectType: ['stable'],
    },
  });
});

void t.test('an unknown stored query id is XDSUnknownStoredQuery', async (t) => {
  t.same(errorCodes('urn:uuid:00000000-0000-0000-0000-000000000000', []), [['XDSUnknownStoredQuery', 'urn:uuid:00000000-0000-0000-0000-000000000000']]);
});

void t.test('a missing required parameter is XDSStoredQueryMissingParam', async (t) => {
  t.same(errorCodes('FindDocuments', [['$XDSDocumentEntryStatus', APPROVED]]), [['XDSStoredQueryMissingParam', '$XDSDocumentEntryPatientId']]);
  t.same(errorCodes('FindDocuments', [['$XDSDocumentEntryPatientId', PATIENT]]), [['XDSStoredQueryMissingParam', '$XDSDocumentEntryStatus']]);
  t.same(errorCodes('GetAssociations', []), [['XDSStoredQueryMissingParam', '$uuid']]);
});

void t.test('several values for a single-valued parameter is XDSStoredQueryParamNumber', async (t) => {
  const patients = `('279035121518989^^^&amp;1.2.250.1.213.1.4.10&amp;ISO','297010100100152^^^&amp;1.2.250.1.213.1.4.10&amp;ISO')`;
  t.same(errorCodes('FindDocuments', [['$XDSDocumentEntryPatientId', patients], ['$XDSDocumentEntryStatus', APPROVED]]), [
    ['XDSStoredQueryParamNumber', '$XDSDocumentEntryPatientId'],
  ]);
  t.same(errorCodes('FindDocuments', [['$XDSDocumentEntryPatientId', PATIENT], ['$XDSDocumentEntryStatus', APPROVED], ['$XDSDocumentEntryCreationTimeFrom', '2024', '2023']]), [
    ['XDSStoredQueryParamNumber', '$XDSDocumentEntryCreationTimeFrom'],
  ]);
});

void t.test('repeating a slot that has no AND semantics is XDSStoredQueryParamNumber', async (t) => {
  t.same(errorCodes('FindDocuments', [['$XDSDocumentEntryPatientId', PATIENT], ['$XDSDocumentEntryStatus', APPROVED], ['$XDSDocumentEntryStatus', APPROVED]]), [
    ['XDSStoredQueryParamNumber', '$XDSDocumentEntryStatus'],
  ]);
});

void t.test('giving both or neither of entryUUID and uniqueId is XDSStoredQueryParamNumber', async (t) => {
  t.same(errorCodes('GetDocuments', [['$XDSDocumentEntryEntryUUID', `('${UUID1}')`], ['$XDSDocumentEntryUniqueId', "('1.2.3')"]]).map(([c]) => c), ['XDSStoredQueryParamNumber']);
  t.same(errorCodes('GetDocuments', []).map(([c]) => c), ['XDSStoredQueryParamNumber']);
});

void t.test('malformed values are refused with XDSRegistryError naming the parameter', async (t) => {
  const base: Slots = [['$XDSDocumentEntryPatientId', PATIENT], ['$XDSDocumentEntryStatus', APPROVED]];
  t.same(errorCodes('FindDocuments', [...base, ['$XDSDocumentEntryClassCode', "('10')"]]), [['XDSRegistryError', '$XDSDocumentEntryClassCode']]);
  t.same(errorCodes('FindDocuments', [...base, ['$XDSDocumentEntryCreationTimeFrom', "'2024-01-01'"]]), [['XDSRegistryError', '$XDSDocumentEntryCreationTimeFrom']]);
  t.same(errorCodes('FindDocuments', [...base, ['$XDSDocumentEntryType', "('stable')"]]), [['XDSRegistryError', '$XDSDocumentEntryType']]);
  t.same(errorCodes('GetDocuments', [['$XDSDocumentEntryEntryUUID', "('Document01')"]]), [['XDSRegistryError', '$XDSDocumentEntryEntryUUID']]);
  t.same(errorCodes('FindDocuments', [...base, ['$XDSDocumentEntryClassCode', "('10^^1.2.3',"]]), [['XDSRegistryError', '$XDSDocumentEntryClassCode']]);
  t.same(errorCodes('FindDocuments', [['$XDSDocumentEntryPatientId', "'12345'"], ['$XDSDocumentEntryStatus', APPROVED]]), [['XDSRegistryError', '$XDSDocumentEntryPatientId']]);
});

void t.test('a returnType other than LeafClass or ObjectRef is refused', async (t) => {
  t.same(errorCodes('GetAssociations', [['$uuid', `('${UUID1}')`]], 'RegistryObject'), [['XDSRegistryError', undefined]]);
});

void t.test('an unknown parameter is ignored with a warning', async (t) => {
  const result = parse('GetAssociations', [['$uuid', `('${UUID1}')`], ['$Whatever', "'x'"]]);
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(result.warnings.map((w) => [w.code, w.severity, w.location]), [['XDSRegistryError', 'Warning', '$Whatever']]);
});

void t.test('each stored query reads into its typed form', async (t) => {
  const cases: [StoredQueryName, Slots, StoredQuery][] = [
    ['FindDocumentsByReferenceId', [['$XDSDocumentEntryPatientId', PATIENT], ['$XDSDocumentEntryStatus', APPROVED], ['$XDSDocumentEntryReferenceIdList', "('ACC-1^^^&amp;1.2.3&amp;ISO^urn:ihe:iti:xds:2013:accession')"]],
      { type: 'FindDocumentsByReferenceId', patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH', referenceIds: ['ACC-1^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:accession'], documents: { status: ['urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'] } }],
    ['FindSubmissionSets', [['$XDSSubmissionSetPatientId', PATIENT], ['$XDSSubmissionSetStatus', APPROVED], ['$XDSSubmissionSetSourceId', "('1.2.250.1.999.1')"], ['$XDSSubmissionSetSubmissionTimeFrom', '2024'], ['$XDSSubmissionSetAuthorPerson', "'%DUPONT%'"], ['$XDSSubmissionSetContentType', "('11490-0^^2.16.840.1.113883.6.1')"]],
      { type: 'FindSubmissionSets', patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH', sourceIds: ['1.2.250.1.999.1'], submissionTime: { from: '2024' }, authorPerson: '%DUPONT%', contentTypeCodes: [{ code: '11490-0', codingScheme: '2.16.840.1.113883.6.1' }], status: ['urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'] }],
    ['FindFolders', [['$XDSFolderPatientId', PATIENT], ['$XDSFolderStatus', APPROVED], ['$XDSFolderCodeList', "('A^^1.2')"], ['$XDSFolderCodeList', "('B^^1.2')"], ['$XDSFolderLastUpdateTimeTo', '2025']],
      { type: 'FindFolders', patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH', lastUpdateTime: { to: '2025' }, codes: [[{ code: 'A', codingScheme: '1.2' }], [{ code: 'B', codingScheme: '1.2' }]], status: ['urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'] }],
    ['GetAll', [['$patientId', PATIENT], ['$XDSDocumentEntryStatus', APPROVED], ['$XDSSubmissionSetStatus', APPROVED], ['$XDSFolderStatus', APPROVED], ['$XDSDocumentEntryFormatCode', "('urn:ihe:iti:xds-sd:pdf:2008^^1.3.6.1.4.1.19376.1.2.3')"]],
      { type: 'GetAll', patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH', documentStatus: ['urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'], submissionSetStatus: ['urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'], folderStatus: ['urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'], contents: { formatCode: [{ code: 'urn:ihe:iti:xds-sd:pdf:2008', codingScheme: '1.3.6.1.4.1.19376.1.2.3' }] } }],
    ['GetDocuments', [['$XDSDocumentEntryUniqueId', "('1.2.3','1.2.4')"]], { type: 'GetDocuments', ids: { by: 'uniqueId', values: ['1.2.3', '1.2.4'] } }],
    ['GetFolders', [['$XDSFolderEntryUUID', `('${UUID1}')`]], { type: 'GetFolders', ids: { by: 'entryUuid', values: [UUID1] } }],
    ['GetAssociations', [['$uuid', `('${UUID1}','${UUID2}')`]], { type: 'GetAssociations', uuids: [UUID1, UUID2] }],
    ['GetDocumentsAndAssociations', [['$XDSDocumentEntryEntryUUID', `('${UUID1}')`]], { type: 'GetDocumentsAndAssociations', ids: { by: 'entryUuid', values: [UUID1] } }],
    ['GetSubmissionSets', [['$uuid', `('${UUID1}')`]], { type: 'GetSubmissionSets', uuids: [UUID1] }],
    ['GetSubmissionSetAndContents', [['$XDSSubmissionSetUniqueId', "'1.2.3'"], ['$XDSDocumentEntryConfidentialityCode', "('N^^2.16.840.1.113883.5.25')"]],
      { type: 'GetSubmissionSetAndContents', id: { by: 'uniqueId', values: ['1.2.3'] }, contents: { confidentialityCode: [[{ code: 'N', codingScheme: '2.16.840.1.113883.5.25' }]] } }],
    ['GetFolderAndContents', [['$XDSFolderEntryUUID', `'${UUID1}'`]], { type: 'GetFolderAndContents', id: { by: 'entryUuid', values: [UUID1] }, contents: {} }],
    ['GetFoldersForDocument', [['$XDSDocumentEntryUniqueId', "'1.2.3'"]], { type: 'GetFoldersForDocument', id: { by: 'uniqueId', values: ['1.2.3'] } }],
    ['GetRelatedDocuments', [['$XDSDocumentEntryEntryUUID', `'${UUID1}'`], ['$AssociationTypes', "('urn:ihe:iti:2007:AssociationType:RPLC','urn:ihe:iti:2007:AssociationType:APND')"]],
      { type: 'GetRelatedDocuments', id: { by: 'entryUuid', values: [UUID1] }, associationTypes: ['urn:ihe:iti:2007:AssociationType:RPLC', 'urn:ihe:iti:2007:AssociationType:APND'] }],
  ];
  for (const [name, slots, expected] of cases) t.same(query(name, slots), expected, name);
});

void t.test('the value syntax reads quoted strings, doubled quotes, numbers and lists', async (t) => {
  t.same(parseQueryValue("'a''b'"), ["a'b"]);
  t.same(parseQueryValue(" ( 'a' , 'b,c' ,20240101 ) "), ['a', 'b,c', '20240101']);
  t.same(parseQueryValue('20240101'), ['20240101']);
  for (const bad of ["'open", "('a',)", '()', "'a' 'b'", "('a'", "'a') or 1=1 --"]) t.equal(parseQueryValue(bad), undefined, bad);
});

void t.test('a LeafClass answer holds the objects, an ObjectRef answer only their ids', async (t) => {
  const objects = frDmpSubmission();
  const leaf = parseXml(serializeXml(buildAdhocQueryResponse('LeafClass', objects)));
  t.equal(leaf.attrs.status, 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success');
  t.same(leaf.children[0].children.map((c) => c.name), ['RegistryPackage', 'ExtrinsicObject', 'Association']);
  const refs = parseXml(serializeXml(buildAdhocQueryResponse('ObjectRef', objects)));
  t.same(refs.children[0].children.map((c) => c.attrs.id), ['SubmissionSet01', 'Document01', 'Association01']);
});

void t.test('a query answer with errors is PartialSuccess when it has results and Failure otherwise', async (t) => {
  const error = [registryError('XDSTooManyResults', 'too many')];
  t.equal(parseXml(serializeXml(buildAdhocQueryResponse('LeafClass', frDmpSubmission(), error))).attrs.status, 'urn:ihe:iti:2007:ResponseStatusType:PartialSuccess');
  const failure = parseXml(serializeXml(buildAdhocQueryResponse('LeafClass', undefined, error)));
  t.equal(failure.attrs.status, 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure');
  t.same(failure.children.map((c) => c.name), ['RegistryErrorList', 'RegistryObjectList']);
});
