import type { DocumentReference, List } from '@medplum/fhirtypes';
import t from 'tap';
import type { RegistryObjects } from '../../src/ihe/xds/index.ts';
import {
  assignEntryUuids, dtmToFhir, fhirToDtm, fromMhd, hl7v2, parseSubmitObjectsRequest, parseXml, PDSM_IS_ARCHIVED, toMhd, XDS_EXTENSION,
} from '../../src/ihe/xds/index.ts';
import { frDmpSubmission, INS, IPF_SUBMISSIONS, ipfSample, needsIpf } from './fixtures.ts';

const APPROVED = 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved';

/** What the FHIR round trip may legitimately change: canonical HL7 v2 forms, DTM seconds, defaults. */
function normalised(objects: RegistryObjects): RegistryObjects {
  const o = structuredClone(objects);
  const dtm = (v: string | undefined) => (v && v.length > 8 ? v.padEnd(14, '0') : v);
  const trim = (v: string) => v.replace(/[\^&]+$/, '');
  const authors = (list: RegistryObjects['documentEntries'][number]['authors']) =>
    list.map((a) => ({
      ...a,
      ...(a.person ? { person: hl7v2.formatXcn(hl7v2.parseXcn(a.person)) } : {}),
      institutions: a.institutions.map((i) => hl7v2.formatXon(hl7v2.parseXon(i))),
    }));
  for (const d of o.documentEntries) {
    d.availabilityStatus ??= APPROVED;
    d.logicalId ??= d.entryUuid;
    d.creationTime = dtm(d.creationTime);
    d.serviceStartTime = dtm(d.serviceStartTime);
    d.serviceStopTime = dtm(d.serviceStopTime);
    d.sourcePatientInfo = d.sourcePatientInfo.map((line) => trim(line));
    d.authors = authors(d.authors);
    for (const key of Object.keys(d) as (keyof typeof d)[]) if (d[key] === undefined) delete d[key];
  }
  for (const s of o.submissionSets) {
    s.availabilityStatus ??= APPROVED;
    s.authors = authors(s.authors);
  }
  for (const f of o.folders) {
    f.availabilityStatus ??= APPROVED;
    f.logicalId ??= f.entryUuid;
  }
  o.associations.sort((a, b) => a.entryUuid.localeCompare(b.entryUuid));
  return o;
}

function submission(): RegistryObjects {
  const objects = frDmpSubmission();
  let n = 0;
  assignEntryUuids(objects, () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`);
  return objects;
}

void t.test('every IPF sample survives ebRIM → FHIR → ebRIM with its metadata', needsIpf, async (t) => {
  for (const name of IPF_SUBMISSIONS) {
    const sample = ipfSample(name);
    const objects = parseSubmitObjectsRequest(parseXml(sample)).objects;
    const fhir = toMhd(objects);
    t.same(fhir.unplaced, [], name);
    t.same(normalised(fromMhd(fhir)), normalised(objects), name);
  }
});

void t.test('an fr-dmp submission survives the FHIR round trip exactly', async (t) => {
  const objects = submission();
  t.same(fromMhd(toMhd(objects)), normalised(objects));
});

void t.test('the DocumentReference carries the MHD mapping of every DocumentEntry attribute', async (t) => {
  const objects = submission();
  const entry = objects.documentEntries[0];
  const [resource] = toMhd(objects, { patientReference: () => 'Patient/p1', documentUrl: () => 'Binary/b1' }).documentReferences;
  t.equal(resource.id, entry.entryUuid.slice('urn:uuid:'.length));
  t.same(resource.masterIdentifier, { use: 'usual', system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.250.1.999.1.1.20240115.2' });
  t.same(resource.identifier, [{ use: 'official', system: 'urn:ietf:rfc:3986', value: entry.entryUuid }]);
  t.equal(resource.status, 'current');
  t.same(resource.subject, {
    reference: 'Patient/p1',
    identifier: { system: 'urn:oid:1.2.250.1.213.1.4.10', value: '279035121518989', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NH' }] } },
  });
  t.same(resource.type?.coding?.[0], { system: 'http://loinc.org', code: '11490-0', display: 'Lettre de liaison à la sortie' });
  t.same(resource.category?.[0].coding?.[0], { system: 'urn:oid:1.2.250.1.213.1.1.4.1', code: '10', display: 'Compte rendu' });
  t.same(resource.securityLabel?.[0].coding?.[0], { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N', display: 'Normal' });
  t.same(resource.content[0].attachment, {
    contentType: 'text/xml', language: 'fr-FR', url: 'Binary/b1', size: 0, hash: '2jmj7l5rSw0yVb/vlWAYkK/YBwk=',
    title: 'Lettre de liaison de sortie', creation: '2024-01-15T09:30:00Z',
  });
  t.same(resource.content[0].format, { system: 'urn:oid:1.2.250.1.213.1.1.4.2.282', code: 'urn:asip:ci-sis:ldl-ses:2017' });
  t.same(resource.context?.period, { start: '2024-01-10T08:00:00Z', end: '2024-01-15T09:00:00Z' });
  t.same(resource.context?.facilityType?.coding?.[0], { system: 'urn:oid:1.2.250.1.71.4.2.4', code: 'SA01' });
  t.same(resource.context?.practiceSetting?.coding?.[0], { system: 'urn:oid:1.2.250.1.213.1.1.4.9', code: 'ETABLISSEMENT' });
  t.equal(resource.date, '2024-01-15T09:35:00Z', 'registration time: the submission time');
  t.same(resource.extension, [{ url: XDS_EXTENSION.repositoryUniqueId, valueString: '1.2.250.1.999.1.9' }]);
});

void t.test('authors, the legal authenticator and the source patient are contained resources', async (t) => {
  const [resource] = toMhd(submission()).documentReferences;
  const contained = new Map(resource.contained?.map((r) => [`#${r.id}`, r]));
  const role = contained.get(resource.author![0].reference!);
  t.equal(role?.resourceType, 'PractitionerRole');
  if (role?.resourceType !== 'PractitionerRole') return;
  t.match(contained.get(role.practitioner!.reference!), {
    resourceType: 'Practitioner',
    identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: '801234567897' }],
    name: [{ family: 'DUPONT', given: ['JEAN'], prefix: ['Dr'] }],
  });
  t.match(contained.get(role.organization!.reference!), { resourceType: 'Organization', name: 'Hôpital Saint-Exemple', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.2', value: '1234567890' }] });
  t.same(role.specialty?.[0].coding?.[0], { system: 'urn:oid:1.2.250.1.213.1.1.4.5', code: 'G15_10/SM26', display: 'Médecin - Qualifié en Médecine Générale (SM)' });
  t.match(contained.get(resource.authenticator!.reference!), { resourceType: 'Practitioner', name: [{ family: 'DUPONT' }] });
  t.match(contained.get(resource.context!.sourcePatientInfo!.reference!), {
    resourceType: 'Patient',
    identifier: [{ use: 'usual', value: 'IPP123', system: 'urn:oid:1.2.250.1.999.1.2' }, { use: 'secondary', value: 'IPP123' }],
    name: [{ family: 'TEST', given: ['JEANNE'] }],
    birthDate: '1979-03-12',
    gender: 'female',
  });
});

void t.test('a uniqueId with an extension becomes system urn:oid:<root> and value <extension>', async (t) => {
  const objects = submission();
  objects.documentEntries[0].uniqueId = '1.2.250.1.999.7^ABC123';
  const [resource] = toMhd(objects).documentReferences;
  t.same(resource.masterIdentifier, { use: 'usual', system: 'urn:oid:1.2.250.1.999.7', value: 'ABC123' });
  t.equal(fromMhd({ documentReferences: [resource], lists: [] }).documentEntries[0].uniqueId, '1.2.250.1.999.7^ABC123');
});

void t.test('masking codes become security labels in the TRE_A07 system and come back', async (t) => {
  const objects = submission();
  objects.documentEntries[0].confidentialityCodes.push({ code: 'MASQUE_PS', codingScheme: '1.2.250.1.213.1.1.4.13' });
  const [resource] = toMhd(objects).documentReferences;
  t.same(resource.securityLabel?.[1], { coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.13', code: 'MASQUE_PS' }] });
  t.same(fromMhd({ documentReferences: [resource], lists: [] }).documentEntries[0].confidentialityCodes.map((c) => c.code), ['N', 'MASQUE_PS']);
});

void t.test('availability statuses map to DocumentReference.status, DMP archive and deletion included', async (t) => {
  const cases: [string, DocumentReference['status'], boolean][] = [
    ['urn:oasis:names:tc:ebxml-regrep:StatusType:Approved', 'current', false],
    ['urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated', 'superseded', false],
    ['urn:asip:ci-sis:2010:StatusType:Archived', 'current', true],
    ['urn:asip:ci-sis:2010:StatusType:Deleted', 'entered-in-error', false],
  ];
  for (const [xds, fhir, archived] of cases) {
    const objects = submission();
    objects.documentEntries[0].availabilityStatus = xds;
    const [resource] = toMhd(objects).documentReferences;
    t.equal(resource.status, fhir, xds);
    t.equal(resource.extension?.some((e) => e.url === PDSM_IS_ARCHIVED && e.valueBoolean === true) ?? false, archived, xds);
    t.equal(fromMhd({ documentReferences: [resource], lists: [] }).documentEntries[0].availabilityStatus, xds, xds);
  }
});

void t.test('document relationships become relatesTo, keeping the exact XDS type where FHIR has none', async (t) => {
  const objects = submission();
  const source = objects.documentEntries[0].entryUuid;
  const old = 'urn:uuid:99999999-9999-4999-8999-999999999999';
  for (const [i, type] of (['RPLC', 'XFRM_RPLC', 'APND', 'signs'] as const).entries()) {
    objects.associations.push({ entryUuid: `urn:uuid:aaaaaaaa-0000-4000-8000-00000000000${i}`, type, typeUrn: `urn:ihe:iti:2007:AssociationType:${type}`, sourceUuid: source, targetUuid: old, extraSlots: [] });
  }
  const { documentReferences } = toMhd(objects);
  t.same(documentReferences[0].relatesTo?.map((r) => [r.code, r.target.reference]), [
    ['replaces', 'DocumentReference/99999999-9999-4999-8999-999999999999'],
    ['replaces', 'DocumentReference/99999999-9999-4999-8999-999999999999'],
    ['appends', 'DocumentReference/99999999-9999-4999-8999-999999999999'],
    ['signs', 'DocumentReference/99999999-9999-4999-8999-999999999999'],
  ]);
  const back = fromMhd({ documentReferences, lists: [] }).associations;
  t.same(back.map((a) => [a.type, a.sourceUuid, a.targetUuid]), [
    ['RPLC', source, old], ['XFRM_RPLC', source, old], ['APND', source, old], ['signs', source, old],
  ]);
});

void t.test('the SubmissionSet is a List with the MHD code, extensions and its members as entries', async (t) => {
  const objects = submission();
  const [list] = toMhd(objects, { patientReference: () => 'Patient/p1' }).lists;
  t.same(list.code, { coding: [{ system: 'https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes', code: 'submissionset' }] });
  t.equal(list.mode, 'working');
  t.equal(list.status, 'current');
  t.equal(list.date, '2024-01-15T09:35:00Z');
  t.same(list.identifier, [
    { use: 'usual', system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.250.1.999.1.1.20240115.1' },
    { use: 'official', system: 'urn:ietf:rfc:3986', value: objects.submissionSets[0].entryUuid },
  ]);
  t.same(list.extension?.find((e) => e.url.endsWith('ihe-sourceId'))?.valueIdentifier, { system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.250.1.999.1' });
  t.same(list.extension?.find((e) => e.url.endsWith('ihe-designationType'))?.valueCodeableConcept?.coding?.[0].code, '11490-0');
  t.same(list.entry?.map((e) => e.item.reference), [`DocumentReference/${objects.documentEntries[0].entryUuid.slice(9)}`]);
  t.equal(list.subject?.reference, 'Patient/p1');
  t.match(list.contained?.[0], { resourceType: 'PractitionerRole' });
});

void t.test('a Folder is a List with the folder code, its codes as designationType and its documents as entries', async (t) => {
  const objects = submission();
  const folderId = 'urn:uuid:f0000000-0000-4000-8000-000000000001';
  objects.folders.push({ entryUuid: folderId, logicalId: folderId, uniqueId: '1.2.250.1.999.1.1.77', patientId: INS, title: 'Grossesse', codeList: [{ code: 'X', codingScheme: '1.2.3' }], lastUpdateTime: '20240115', availabilityStatus: APPROVED, limitedMetadata: false, extraSlots: [] });
  objects.associations.push(
    { entryUuid: 'urn:uuid:a0000000-0000-4000-8000-000000000001', type: 'HasMember', typeUrn: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', sourceUuid: objects.submissionSets[0].entryUuid, targetUuid: folderId, submissionSetStatus: 'Original', extraSlots: [] },
    { entryUuid: 'urn:uuid:a0000000-0000-4000-8000-000000000002', type: 'HasMember', typeUrn: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', sourceUuid: folderId, targetUuid: objects.documentEntries[0].entryUuid, extraSlots: [] },
    { entryUuid: 'urn:uuid:a0000000-0000-4000-8000-000000000003', type: 'HasMember', typeUrn: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', sourceUuid: objects.submissionSets[0].entryUuid, targetUuid: 'urn:uuid:a0000000-0000-4000-8000-000000000002', extraSlots: [] },
  );
  const { lists } = toMhd(objects);
  const folder = lists.find((l: List) => l.code?.coding?.[0].code === 'folder')!;
  t.equal(folder.title, 'Grossesse');
  t.equal(folder.date, '2024-01-15');
  t.same(folder.entry?.map((e) => e.item.reference), [`DocumentReference/${objects.documentEntries[0].entryUuid.slice(9)}`]);
  const setList = lists.find((l: List) => l.code?.coding?.[0].code === 'submissionset')!;
  t.same(setList.entry?.map((e) => e.item.reference), [`DocumentReference/${objects.documentEntries[0].entryUuid.slice(9)}`, 'List/f0000000-0000-4000-8000-000000000001']);
  t.same(normalised(fromMhd({ documentReferences: toMhd(objects).documentReferences, lists })), normalised(objects));
});

void t.test('coding schemes that are not OIDs or URIs are kept beside the coding', async (t) => {
  const objects = submission();
  objects.documentEntries[0].classCode = { code: 'History and Physical', codingScheme: 'Connect-a-thon classCodes' };
  const [resource] = toMhd(objects).documentReferences;
  t.same(resource.category?.[0].coding?.[0], {
    extension: [{ url: XDS_EXTENSION.codingScheme, valueString: 'Connect-a-thon classCodes' }],
    code: 'History and Physical',
  });
});

void t.test('a FHIR-native DocumentReference (as ITI-65 sends it) maps to a DocumentEntry', async (t) => {
  const resource: DocumentReference = {
    resourceType: 'DocumentReference',
    id: '5b2d3a1c-0000-4000-8000-000000000001',
    masterIdentifier: { system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.250.1.999.5.1' },
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] },
    category: [{ coding: [{ system: 'https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument', code: '10' }] }],
    subject: { reference: 'Patient/p1', identifier: { system: 'urn:oid:1.2.250.1.213.1.4.10', value: '279035121518989' } },
    securityLabel: [{ coding: [{ system: 'https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument', code: 'MASQUE_PS' }] }],
    relatesTo: [{ code: 'replaces', target: { reference: 'DocumentReference/5b2d3a1c-0000-4000-8000-000000000000' } }],
    content: [{ attachment: { contentType: 'application/pdf', creation: '2024-02-01T10:15:00+01:00', size: 10, hash: '2jmj7l5rSw0yVb/vlWAYkK/YBwk=' } }],
  };
  let n = 0;
  const objects = fromMhd({ documentReferences: [resource], lists: [] }, { newUuid: () => `00000000-0000-4000-8000-00000000000${++n}` });
  t.match(objects.documentEntries[0], {
    entryUuid: 'urn:uuid:5b2d3a1c-0000-4000-8000-000000000001',
    uniqueId: '1.2.250.1.999.5.1',
    patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO',
    typeCode: { code: '11488-4', codingScheme: '2.16.840.1.113883.6.1' },
    classCode: { code: '10', codingScheme: '1.2.250.1.213.1.1.4.1' },
    confidentialityCodes: [{ code: 'MASQUE_PS', codingScheme: '1.2.250.1.213.1.1.4.13' }],
    creationTime: '20240201091500',
    hash: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
    size: '10',
    availabilityStatus: APPROVED,
  });
  t.same(objects.associations, [{
    entryUuid: 'urn:uuid:00000000-0000-4000-8000-000000000001', typeUrn: 'urn:ihe:iti:2007:AssociationType:RPLC', type: 'RPLC',
    sourceUuid: 'urn:uuid:5b2d3a1c-0000-4000-8000-000000000001', targetUuid: 'urn:uuid:5b2d3a1c-0000-4000-8000-000000000000', extraSlots: [],
  }]);
});

void t.test('DTM times convert to FHIR dateTime and back at the precision FHIR allows', async (t) => {
  t.equal(dtmToFhir('2024'), '2024');
  t.equal(dtmToFhir('202401'), '2024-01');
  t.equal(dtmToFhir('20240115'), '2024-01-15');
  t.equal(dtmToFhir('2024011509'), '2024-01-15T09:00:00Z');
  t.equal(dtmToFhir('20240115093012'), '2024-01-15T09:30:12Z');
  t.equal(fhirToDtm('2024-01-15T10:30:12+01:00'), '20240115093012');
  t.equal(fhirToDtm('2024-01'), '202401');
  t.equal(fhirToDtm('not a date'), undefined);
});
