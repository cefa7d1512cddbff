import t from 'tap';
import {
  assignEntryUuids, buildObjectRefs, buildRegistryObjectList, buildSubmitObjectsRequest, el, parseRegistryObjectList, parseSoapEnvelope,
  parseSubmitObjectsRequest, parseXml, serializeXml, transactionFor,
} from '../../src/ihe/xds/index.ts';
import { ACTION, frDmpSubmission, IPF_SUBMISSIONS, ipfSample, soap12, needsIpf } from './fixtures.ts';

const RIM = 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0';

void t.test('every IPF sample parses from a SOAP 1.2 envelope without structural issues', needsIpf, async (t) => {
  for (const name of IPF_SUBMISSIONS) {
    const sample = ipfSample(name);
    const request = parseSoapEnvelope(soap12(sample, name.includes('update') ? ACTION.iti57 : ACTION.iti42));
    t.equal(transactionFor(request, 'registry').requestElement.name, 'SubmitObjectsRequest');
    const { objects, issues } = parseSubmitObjectsRequest(request.body);
    t.same(issues, [], name);
    t.equal(objects.submissionSets.length, 1, name);
    t.equal(objects.documentEntries.length, 1, name);
  }
});

void t.test('the IPF submission reads into the full DocumentEntry metadata', needsIpf, async (t) => {
  const sample = ipfSample('SubmitObjectsRequest_ebrs30.xml');
  const { objects } = parseSubmitObjectsRequest(parseXml(sample));
  const entry = objects.documentEntries[0];
  t.match(entry, {
    entryUuid: 'Document01',
    objectType: 'stable',
    mimeType: 'text/xml',
    uniqueId: '1.3.6.1.4.1.21367.2005.3.9999.32',
    // The sample's scheme UUID is line-wrapped ("92fd- a8ff…"): ids are compared without whitespace.
    patientId: 'SELF-5^^^&1.3.6.1.4.1.21367.2005.3.7&ISO',
    sourcePatientId: 'ST-1000^^^&1.3.6.1.4.1.21367.2003.3.9&ISO',
    creationTime: '20051224',
    serviceStartTime: '200412230800',
    serviceStopTime: '200412230801',
    languageCode: 'en-us',
    title: 'Physical',
    classCode: { code: 'History and Physical', codingScheme: 'Connect-a-thon classCodes', displayName: 'History and Physical' },
    typeCode: { code: '34108-1', codingScheme: 'LOINC' },
    formatCode: { code: 'CDAR2/IHE 1.0' },
    healthcareFacilityTypeCode: { code: 'Outpatient' },
    practiceSettingCode: { code: 'General Medicine' },
    confidentialityCodes: [{ code: '1.3.6.1.4.1.21367.2006.7.101' }],
  });
  t.equal(entry.sourcePatientInfo.length, 5);
  // "authorSpeciality" (sic) in the sample is read as authorSpecialty.
  t.same(entry.authors, [
    { person: 'Gerald Smitty', institutions: ['Cleveland Clinic', 'Parma Community'], roles: ['Attending'], specialties: ['Orthopedic'], telecoms: [] },
  ]);
});

void t.test('the SubmissionSet is recognised by a top-level classification, wherever it sits in the list', needsIpf, async (t) => {
  for (const name of ['SubmitObjectsRequest_ebrs30.xml', 'SubmitObjectsRequest_ebrs30_2.xml']) {
    const sample = ipfSample(name);
    const set = parseSubmitObjectsRequest(parseXml(sample)).objects.submissionSets[0];
    t.match(set, { entryUuid: 'SubmissionSet01', sourceId: '3670984664', submissionTime: '20041225235050', title: 'Physical', comments: 'Annual physical' }, name);
    t.match(set.contentTypeCode, { code: 'History and Physical' }, name);
  }
});

void t.test('associations keep their type, ends and slots', needsIpf, async (t) => {
  const sample = ipfSample('SubmitObjectsRequest_ebrs30.xml');
  const { associations } = parseSubmitObjectsRequest(parseXml(sample)).objects;
  t.match(associations, [
    { entryUuid: 'as01', type: 'HasMember', sourceUuid: 'SubmissionSet01', targetUuid: 'Document01', submissionSetStatus: 'Original' },
    { entryUuid: 'as02', type: 'IsSnapshotOf', sourceUuid: 'Document01', targetUuid: 'urn:uuid:e0985823-dc50-45a5-a6c8-a11a829893bd' },
  ]);
});

void t.test('the update sample keeps lid, version, status, hash, size, repository and the status-change association', needsIpf, async (t) => {
  const sample = ipfSample('SubmitObjectsRequest_ebrs30_update.xml');
  const { objects } = parseSubmitObjectsRequest(parseXml(sample));
  t.match(objects.documentEntries[0], {
    logicalId: 'urn:uuid:20744602-ba65-44e9-87ee-a52303a5183e',
    version: '1',
    availabilityStatus: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved',
    hash: '31e311402a7e717d1bede88df6b42c0b8e91ea91',
    size: '1459',
    repositoryUniqueId: '1.19.6.24.109.42.1.5',
    uri: 'http://129.6.24.109:9080/Repository/1.42.20100709101812.2.txt',
    documentAvailability: 'urn:ihe:iti:2010:DocumentAvailability:Offline',
  });
  t.equal(objects.documentEntries[0].authors.length, 2);
  t.equal(objects.documentEntries[0].eventCodes.length, 2);
  t.match(objects.associations[0], { type: 'HasMember', previousVersion: '1' });
  t.match(objects.associations[1], {
    type: 'UpdateAvailabilityStatus',
    originalStatus: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved',
    newStatus: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated',
  });
});

void t.test('extra metadata slots are kept', needsIpf, async (t) => {
  const sample = ipfSample('SubmitObjectsRequest_ebrs3_extra_metadata.xml');
  const { objects } = parseSubmitObjectsRequest(parseXml(sample));
  t.same(objects.documentEntries[0].extraSlots, [{ name: 'urn:my:company:slot', values: ['somevalue'] }]);
});

void t.test('every IPF sample survives building it back into ebRIM and reading it again', needsIpf, async (t) => {
  for (const name of IPF_SUBMISSIONS) {
    const sample = ipfSample(name);
    const first = parseSubmitObjectsRequest(parseXml(sample)).objects;
    const again = parseSubmitObjectsRequest(parseXml(serializeXml(buildSubmitObjectsRequest(first))));
    t.same(again.issues, [], name);
    t.same(again.objects, first, name);
  }
});

void t.test('a slot given twice or a single-valued slot with two values is reported', async (t) => {
  const objects = frDmpSubmission();
  const xml = serializeXml(buildSubmitObjectsRequest(objects)).replace(
    '<rim:Slot name="languageCode"><rim:ValueList><rim:Value>fr-FR</rim:Value></rim:ValueList></rim:Slot>',
    '<rim:Slot name="languageCode"><rim:ValueList><rim:Value>fr-FR</rim:Value><rim:Value>en</rim:Value></rim:ValueList></rim:Slot>' +
      '<rim:Slot name="creationTime"><rim:ValueList><rim:Value>2024</rim:Value></rim:ValueList></rim:Slot>',
  );
  const { issues } = parseSubmitObjectsRequest(parseXml(xml));
  t.same(issues.map((i) => [i.code, i.location]), [
    ['XDSRegistryMetadataError', 'Document01'],
    ['XDSRegistryMetadataError', 'Document01'],
  ]);
  t.match(issues.map((i) => i.codeContext).join('|'), /creationTime given twice.*languageCode must have exactly one value/);
});

void t.test('a classification without codingScheme and an unknown scheme are reported', async (t) => {
  const xml = `<rim:RegistryObjectList xmlns:rim="${RIM}"><rim:ExtrinsicObject id="D" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">
    <rim:Classification id="c1" classificationScheme="urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a" classifiedObject="D" nodeRepresentation="10"/>
    <rim:Classification id="c2" classificationScheme="urn:uuid:00000000-0000-0000-0000-000000000000" classifiedObject="D" nodeRepresentation="x"/>
  </rim:ExtrinsicObject></rim:RegistryObjectList>`;
  const { issues } = parseRegistryObjectList(parseXml(xml));
  t.match(issues.map((i) => i.codeContext), [/unknown classification scheme/, /classCode 10 without a codingScheme/]);
});

void t.test('a RegistryPackage that is neither SubmissionSet nor Folder, and an unknown association type, are reported', async (t) => {
  const xml = `<rim:RegistryObjectList xmlns:rim="${RIM}"><rim:RegistryPackage id="P"/>
    <rim:Association id="A" associationType="urn:example:Likes" sourceObject="P" targetObject="P"/></rim:RegistryObjectList>`;
  const { issues, objects } = parseRegistryObjectList(parseXml(xml));
  t.match(issues.map((i) => i.codeContext), [/not classified as SubmissionSet or Folder/, /unknown association type urn:example:Likes/]);
  t.equal(objects.associations[0].type, undefined);
});

void t.test('folders are read with their code list and last update time', async (t) => {
  const objects = frDmpSubmission();
  objects.folders.push({
    entryUuid: 'Folder01', uniqueId: '1.2.3.4.5', patientId: objects.submissionSets[0].patientId, title: 'Suivi', lastUpdateTime: '20240101',
    codeList: [{ code: 'X', codingScheme: '1.2.3', displayName: 'x' }], limitedMetadata: false, extraSlots: [],
  });
  const back = parseSubmitObjectsRequest(parseXml(serializeXml(buildSubmitObjectsRequest(objects)))).objects;
  t.match(back.folders[0], { entryUuid: 'Folder01', uniqueId: '1.2.3.4.5', title: 'Suivi', codeList: [{ code: 'X' }], lastUpdateTime: '20240101' });
  t.same(back.submissionSets.length, 1);
});

void t.test('symbolic ids are replaced by UUIDs everywhere they are used', async (t) => {
  const objects = frDmpSubmission();
  let n = 0;
  const mapping = assignEntryUuids(objects, () => `00000000-0000-4000-8000-00000000000${n++}`);
  t.equal(mapping.get('Document01'), objects.documentEntries[0].entryUuid);
  t.equal(objects.documentEntries[0].logicalId, objects.documentEntries[0].entryUuid);
  t.equal(objects.associations[0].sourceUuid, objects.submissionSets[0].entryUuid);
  t.equal(objects.associations[0].targetUuid, objects.documentEntries[0].entryUuid);
  t.ok(objects.associations.every((a) => a.entryUuid.startsWith('urn:uuid:')));
});

void t.test('ObjectRef answers list only the ids', async (t) => {
  const xml = serializeXml(el('rim:RegistryObjectList', { 'xmlns:rim': RIM }, buildObjectRefs(['urn:uuid:a', 'urn:uuid:b'])));
  t.equal(xml, `<rim:RegistryObjectList xmlns:rim="${RIM}"><rim:ObjectRef id="urn:uuid:a"/><rim:ObjectRef id="urn:uuid:b"/></rim:RegistryObjectList>`);
});

void t.test('LeafClass objects carry the scheme UUIDs and external identifier names test tools expect', async (t) => {
  const xml = serializeXml(buildRegistryObjectList(frDmpSubmission()));
  t.match(xml, /identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" value="1.2.250.1.999.1.1.20240115.2"/);
  t.match(xml, /<rim:LocalizedString value="XDSDocumentEntry.uniqueId"\/>/);
  t.match(xml, /classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"/);
});
