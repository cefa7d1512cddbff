// Carnet's French DMP profiles (profiles/StructureDefinition-fr-dmp-*.json): each rule of the
// DMP DocumentReference and of the INS patient, selection by options or meta.profile, PDSm and
// FR Core aliases, and codes written with urn:oid: or NOS URL systems alike.
import t from 'tap';
import type { Test } from 'tap';
import {
  FR_CORE_PATIENT_INS_PROFILE,
  FR_DMP_DOCUMENT_REFERENCE_PROFILE,
  FR_DMP_PATIENT_INS_PROFILE,
  knownProfileUrls,
  PDSM_COMPREHENSIVE_DOCUMENT_REFERENCE_PROFILE,
  validateResource,
} from '../../src/fhir/validation/index.ts';
import type { ValidationIssue } from '../../src/fhir/validation/index.ts';

type Json = Record<string, unknown>;

const NOS = 'https://mos.esante.gouv.fr/NOS';
const DMP = [FR_DMP_DOCUMENT_REFERENCE_PROFILE];

/** A discharge letter as a DMP DocumentReference (MHD comprehensive, contained author). */
function dmpDocument(): Json {
  return {
    resourceType: 'DocumentReference',
    id: 'doc-1',
    contained: [{ resourceType: 'PractitionerRole', id: 'author', practitioner: { identifier: { system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810002345678' } } }],
    masterIdentifier: { system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.250.1.999.1.2.3.4' },
    identifier: [{ use: 'official', system: 'urn:ietf:rfc:3986', value: 'urn:uuid:0c287d32-01e3-4d87-9953-9fcc9404eb21' }],
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11490-0', display: 'Lettre de liaison à la sortie d\'un établissement de soins' }] },
    category: [{ coding: [{ system: `${NOS}/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument`, code: '10' }] }],
    subject: { reference: 'Patient/ins-1' },
    date: '2024-03-01T10:00:00+01:00',
    author: [{ reference: '#author' }],
    securityLabel: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' }] },
      { coding: [{ system: `${NOS}/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument`, code: 'MASQUE_PS' }] },
    ],
    content: [{
      attachment: {
        contentType: 'application/pdf', language: 'fr-FR', url: 'Binary/bin-1', size: 52000,
        hash: '2jmj7l5rSw0yVb/vlWAYkK/YBwk=', title: 'Lettre de liaison', creation: '2024-03-01T09:00:00+01:00',
      },
      format: { system: 'http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode', code: 'urn:ihe:iti:xds-sd:pdf:2008' },
    }],
    context: {
      period: { start: '2024-02-25', end: '2024-03-01' },
      facilityType: { coding: [{ system: `${NOS}/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite`, code: 'SA01' }] },
      practiceSetting: { coding: [{ system: `${NOS}/TRE_A01-CadreExercice/FHIR/TRE-A01-CadreExercice`, code: 'ETABLISSEMENT' }] },
    },
  };
}

function insPatient(): Json {
  return {
    resourceType: 'Patient',
    id: 'ins-1',
    identifier: [
      { use: 'official', system: 'urn:oid:1.2.250.1.213.1.4.8', value: '279035121518989' },
      { system: 'urn:oid:1.2.250.1.999.1', value: 'IPP-42' },
    ],
    name: [{ family: 'Martin', given: ['Anne'] }],
    gender: 'female',
    birthDate: '1979-03-15',
  };
}

function summary(issues: ValidationIssue[]): string[] {
  return issues.map((i) => `${i.severity} ${i.code} ${i.expression.join(',')}`);
}

/** Asserts the DMP profile rejects `resource` with exactly this one issue. */
function rejectsOnly(t: Test, resource: Json, expected: string, profiles = DMP): ValidationIssue | undefined {
  const issues = validateResource(resource, { profiles });
  t.same(summary(issues), [expected]);
  return issues[0];
}

void t.test('the profile canonical URLs Carnet defines and accepts are known', async (t) => {
  const known = knownProfileUrls();
  for (const url of [FR_DMP_DOCUMENT_REFERENCE_PROFILE, FR_DMP_PATIENT_INS_PROFILE, PDSM_COMPREHENSIVE_DOCUMENT_REFERENCE_PROFILE, FR_CORE_PATIENT_INS_PROFILE]) {
    t.ok(known.includes(url), url);
  }
});

void t.test('a complete DMP DocumentReference conforms to the DMP profile', async (t) => {
  t.same(summary(validateResource(dmpDocument(), { profiles: DMP })), []);
});

void t.test('without a profile the DMP rules do not apply', async (t) => {
  const document = dmpDocument();
  delete document.masterIdentifier;
  t.same(summary(validateResource(document)), []);
});

void t.test('the DMP profile applies when meta.profile declares it', async (t) => {
  const document: Json = { ...dmpDocument(), meta: { profile: [FR_DMP_DOCUMENT_REFERENCE_PROFILE] } };
  delete document.masterIdentifier;
  t.same(summary(validateResource(document)), ['error required DocumentReference.masterIdentifier']);
});

void t.test('a resource claiming the PDSm comprehensive DocumentReference is checked with the DMP rules', async (t) => {
  const document: Json = { ...dmpDocument(), meta: { profile: [`${PDSM_COMPREHENSIVE_DOCUMENT_REFERENCE_PROFILE}|3.1.1`] } };
  delete document.masterIdentifier;
  t.same(summary(validateResource(document)), ['error required DocumentReference.masterIdentifier']);
});

void t.test('a DMP profile requested for another resource type is reported', async (t) => {
  const issues = validateResource(insPatient(), { profiles: DMP });
  t.same(summary(issues), ['error invalid Patient']);
  t.match(issues[0].diagnostics, /applies to DocumentReference/);
});

const REQUIRED_ELEMENTS: [string, string][] = [
  ['masterIdentifier', 'DocumentReference.masterIdentifier'],
  ['identifier', 'DocumentReference.identifier'],
  ['type', 'DocumentReference.type'],
  ['category', 'DocumentReference.category'],
  ['subject', 'DocumentReference.subject'],
  ['date', 'DocumentReference.date'],
  ['author', 'DocumentReference.author'],
  ['securityLabel', 'DocumentReference.securityLabel'],
  ['context', 'DocumentReference.context'],
];

for (const [name, expression] of REQUIRED_ELEMENTS) {
  void t.test(`a DMP DocumentReference without ${name} is rejected`, async (t) => {
    const document = dmpDocument();
    delete document[name];
    const issues = validateResource(document, { profiles: DMP });
    const issue = issues.find((i) => i.expression.includes(expression) && i.code === 'required');
    t.ok(issue, `required at ${expression}; got ${JSON.stringify(summary(issues))}`);
    t.match(issue?.diagnostics, /DocumentReference of a French DMP document/);
  });
}

const REQUIRED_IN_CONTENT: [string, (d: Json) => void, string][] = [
  ['content.attachment.contentType', (d) => delete ((d.content as Json[])[0].attachment as Json).contentType, 'DocumentReference.content[0].attachment.contentType'],
  ['content.format', (d) => delete (d.content as Json[])[0].format, 'DocumentReference.content[0].format'],
  ['context.facilityType', (d) => delete (d.context as Json).facilityType, 'DocumentReference.context.facilityType'],
  ['context.practiceSetting', (d) => delete (d.context as Json).practiceSetting, 'DocumentReference.context.practiceSetting'],
];

for (const [name, remove, expression] of REQUIRED_IN_CONTENT) {
  void t.test(`a DMP DocumentReference without ${name} is rejected`, async (t) => {
    const document = dmpDocument();
    remove(document);
    rejectsOnly(t, document, `error required ${expression}`);
  });
}

void t.test('a DMP DocumentReference with two categories exceeds the class code cardinality', async (t) => {
  const document = dmpDocument();
  (document.category as Json[]).push({ coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.1', code: '11' }] });
  const issue = rejectsOnly(t, document, 'error structure DocumentReference.category');
  t.match(issue?.diagnostics, /at most 1 value/);
});

void t.test('a DMP DocumentReference with two contents exceeds the content cardinality', async (t) => {
  const document = dmpDocument();
  (document.content as Json[]).push(structuredClone((document.content as Json[])[0]));
  rejectsOnly(t, document, 'error structure DocumentReference.content');
});

void t.test('a type code outside JDV_J07 is code-invalid', async (t) => {
  const document = { ...dmpDocument(), type: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] } };
  const issue = rejectsOnly(t, document, 'error code-invalid DocumentReference.type');
  t.match(issue?.diagnostics, /JDV_J07-XdsTypeCode-CISIS/);
});

void t.test('a class code outside JDV_J57 is code-invalid', async (t) => {
  const document = { ...dmpDocument(), category: [{ coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.1', code: '99' }] }] };
  rejectsOnly(t, document, 'error code-invalid DocumentReference.category[0]');
});

void t.test('a confidentiality code outside JDV_J08 is code-invalid', async (t) => {
  const document = dmpDocument();
  (document.securityLabel as Json[])[1] = { coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.13', code: 'MASQUE_PT' }] };
  rejectsOnly(t, document, 'error code-invalid DocumentReference.securityLabel[1]');
});

void t.test('a format code outside JDV_J10 is code-invalid', async (t) => {
  const document = dmpDocument();
  (document.content as Json[])[0].format = { system: 'urn:oid:1.3.6.1.4.1.19376.1.2.3', code: 'urn:ihe:iti:xds-sd:docx:2030' };
  rejectsOnly(t, document, 'error code-invalid DocumentReference.content[0].format');
});

void t.test('a facility type outside JDV_J02 is code-invalid', async (t) => {
  const document = dmpDocument();
  (document.context as Json).facilityType = { coding: [{ system: 'urn:oid:1.2.250.1.71.4.2.4', code: 'SA99' }] };
  rejectsOnly(t, document, 'error code-invalid DocumentReference.context.facilityType');
});

void t.test('a practice setting outside JDV_J04 is code-invalid', async (t) => {
  const document = dmpDocument();
  (document.context as Json).practiceSetting = { coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.9', code: 'PLAGE' }] };
  rejectsOnly(t, document, 'error code-invalid DocumentReference.context.practiceSetting');
});

void t.test('a subject that is not a Patient is rejected', async (t) => {
  const document = { ...dmpDocument(), subject: { reference: 'Group/g1' } };
  const issues = validateResource(document, { profiles: DMP });
  t.same(summary(issues), ['error value DocumentReference.subject']);
  t.match(issues[0].diagnostics, /must reference a Patient/);
});

void t.test('two confidentiality levels break fr-dmp-conf-1', async (t) => {
  const document = dmpDocument();
  (document.securityLabel as Json[]).push({ coding: [{ system: 'urn:oid:2.16.840.1.113883.5.25', code: 'R' }] });
  const issue = rejectsOnly(t, document, 'error invariant DocumentReference');
  t.match(issue?.diagnostics, /^fr-dmp-conf-1/);
});

void t.test('a visibility code without a confidentiality level breaks fr-dmp-conf-1', async (t) => {
  const document = dmpDocument();
  (document.securityLabel as Json[]).shift();
  const issue = rejectsOnly(t, document, 'error invariant DocumentReference');
  t.match(issue?.diagnostics, /^fr-dmp-conf-1/);
});

void t.test('an attachment without url or data breaks fr-dmp-doc-1', async (t) => {
  const document = dmpDocument();
  delete ((document.content as Json[])[0].attachment as Json).url;
  const issue = rejectsOnly(t, document, 'error invariant DocumentReference');
  t.match(issue?.diagnostics, /^fr-dmp-doc-1/);
});

void t.test('a hash that is not a SHA-1 breaks fr-dmp-hash-1', async (t) => {
  const document = dmpDocument();
  ((document.content as Json[])[0].attachment as Json).hash = 'q83vEjRWeJA=';
  const issue = rejectsOnly(t, document, 'error invariant DocumentReference.content[0].attachment.hash');
  t.match(issue?.diagnostics, /^fr-dmp-hash-1/);
});

void t.test('codes given with urn:oid: systems conform like their NOS URL forms', async (t) => {
  const document = dmpDocument();
  document.type = { coding: [{ system: 'urn:oid:2.16.840.1.113883.6.1', code: '11490-0' }] };
  document.category = [{ coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.1', code: '10' }] }];
  document.securityLabel = [
    { coding: [{ system: 'urn:oid:2.16.840.1.113883.5.25', code: 'N' }] },
    { coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.13', code: 'MASQUE_PS' }] },
  ];
  (document.content as Json[])[0].format = { system: 'urn:oid:1.3.6.1.4.1.19376.1.2.3', code: 'urn:ihe:iti:xds-sd:pdf:2008' };
  (document.context as Json).facilityType = { coding: [{ system: 'urn:oid:1.2.250.1.71.4.2.4', code: 'SA01' }] };
  (document.context as Json).practiceSetting = { coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.9', code: 'ETABLISSEMENT' }] };
  t.same(summary(validateResource(document, { profiles: DMP })), []);
});

void t.test('a French code under a system of another table is code-invalid', async (t) => {
  const document = dmpDocument();
  (document.context as Json).facilityType = { coding: [{ system: `${NOS}/TRE_A01-CadreExercice/FHIR/TRE-A01-CadreExercice`, code: 'SA01' }] };
  rejectsOnly(t, document, 'error code-invalid DocumentReference.context.facilityType');
});

void t.test('several DMP rules broken at once are all reported', async (t) => {
  const document = dmpDocument();
  delete document.masterIdentifier;
  delete document.date;
  document.type = { coding: [{ system: 'http://loinc.org', code: '29463-7' }] };
  (document.context as Json).practiceSetting = { coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.9', code: 'PLAGE' }] };
  t.same(summary(validateResource(document, { profiles: DMP })).sort(), [
    'error code-invalid DocumentReference.context.practiceSetting',
    'error code-invalid DocumentReference.type',
    'error required DocumentReference.date',
    'error required DocumentReference.masterIdentifier',
  ]);
});

void t.test('a patient with an INS-NIR conforms to the INS profile', async (t) => {
  t.same(summary(validateResource(insPatient(), { profiles: [FR_DMP_PATIENT_INS_PROFILE] })), []);
});

void t.test('a patient with a test INS (OID 4.10) of a Corsican birthplace conforms', async (t) => {
  const patient = { ...insPatient(), identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.10', value: '180052B12345678' }] };
  t.same(summary(validateResource(patient, { profiles: [FR_DMP_PATIENT_INS_PROFILE] })), []);
});

void t.test('a patient without identifier breaks the INS profile', async (t) => {
  const patient = insPatient();
  delete patient.identifier;
  t.same(summary(validateResource(patient, { profiles: [FR_DMP_PATIENT_INS_PROFILE] })).sort(), [
    'error invariant Patient',
    'error required Patient.identifier',
  ]);
});

void t.test('a patient identified only by a local IPP breaks fr-dmp-ins-1', async (t) => {
  const patient = { ...insPatient(), identifier: [{ system: 'urn:oid:1.2.250.1.999.1', value: 'IPP-42' }] };
  const issue = rejectsOnly(t, patient, 'error invariant Patient', [FR_DMP_PATIENT_INS_PROFILE]);
  t.match(issue?.diagnostics, /^fr-dmp-ins-1/);
});

void t.test('an INS value that is not 15 characters breaks fr-dmp-ins-2', async (t) => {
  const patient = insPatient();
  (patient.identifier as Json[])[0].value = '27903512151898';
  const issue = rejectsOnly(t, patient, 'error invariant Patient.identifier[0]', [FR_DMP_PATIENT_INS_PROFILE]);
  t.match(issue?.diagnostics, /^fr-dmp-ins-2/);
});

void t.test('a resource claiming FR Core Patient INS is checked with the INS rules', async (t) => {
  const patient = { ...insPatient(), meta: { profile: [FR_CORE_PATIENT_INS_PROFILE] }, identifier: [{ system: 'urn:oid:1.2.250.1.999.1', value: 'IPP-42' }] };
  t.same(summary(validateResource(patient)), ['error invariant Patient']);
});

void t.test('profiles declared by a contained resource apply to it alone', async (t) => {
  const document = dmpDocument();
  document.contained = [
    ...(document.contained as Json[]),
    { resourceType: 'Patient', id: 'src', meta: { profile: [FR_DMP_PATIENT_INS_PROFILE] }, identifier: [{ system: 'urn:oid:1.2.250.1.999.1', value: 'IPP-42' }] },
  ];
  (document.context as Json).sourcePatientInfo = { reference: '#src' };
  t.same(summary(validateResource(document, { profiles: DMP })), ['error invariant DocumentReference.contained[1]']);
});
