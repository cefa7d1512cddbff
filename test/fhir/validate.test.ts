// validateResource on the base R4 rules: structure (schema), cardinality, required bindings,
// invariants and reference targets; every issue reported, each with its code and FHIRPath.
import t from 'tap';
import type { Test } from 'tap';
import { validateForOperation, validateResource } from '../../src/fhir/validation/index.ts';
import type { ValidationIssue } from '../../src/fhir/validation/index.ts';

type Json = Record<string, unknown>;

const narrative = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>Résumé</p></div>' };

/** A valid resource of each type Carnet serves, using choice types, backbones and extensions. */
const VALID: Json[] = [
  {
    resourceType: 'Patient', id: 'p1', meta: { versionId: '1', lastUpdated: '2024-03-01T10:00:00+01:00' }, text: narrative,
    identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '279035121518989' }],
    active: true, name: [{ use: 'official', family: 'Martin', given: ['Anne', 'Marie'] }],
    telecom: [{ system: 'phone', value: '0601020304', use: 'mobile' }], gender: 'female', birthDate: '1979-03-15',
    deceasedBoolean: false, address: [{ use: 'home', line: ['1 rue de la Paix'], city: 'Paris', postalCode: '75002', country: 'FR' }],
    contact: [{ relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0131', code: 'N' }] }], name: { family: 'Martin' } }],
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'fr-FR' }] }, preferred: true }],
    extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Lyon' } }],
  },
  {
    resourceType: 'Practitioner', id: 'pr1',
    identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810002345678' }],
    name: [{ family: 'Durand', given: ['Paul'], prefix: ['Dr'] }],
    qualification: [{ code: { coding: [{ system: 'urn:oid:1.2.250.1.71.1.2.7', code: '10' }] } }],
  },
  {
    resourceType: 'PractitionerRole', id: 'prr1', active: true,
    practitioner: { reference: 'Practitioner/pr1' }, organization: { reference: 'Organization/o1' },
    code: [{ coding: [{ system: 'urn:oid:1.2.250.1.71.1.2.7', code: '10' }] }],
    availableTime: [{ daysOfWeek: ['mon', 'tue'], availableStartTime: '08:30:00', availableEndTime: '18:00:00' }],
  },
  {
    resourceType: 'Organization', id: 'o1', active: true, name: 'Centre hospitalier de Test',
    identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.2', value: '1750000001' }],
    telecom: [{ system: 'phone', value: '0140000000', use: 'work' }],
  },
  {
    resourceType: 'DocumentReference', id: 'd1', status: 'current', docStatus: 'final',
    masterIdentifier: { system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.250.1.999.1.2.3' },
    type: { coding: [{ system: 'http://loinc.org', code: '11490-0' }] },
    subject: { reference: 'Patient/p1' }, date: '2024-03-01T10:00:00+01:00',
    author: [{ reference: '#a1' }],
    contained: [{ resourceType: 'Practitioner', id: 'a1', name: [{ family: 'Durand' }] }],
    relatesTo: [{ code: 'replaces', target: { reference: 'DocumentReference/d0' } }],
    content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/b1', size: 1024, hash: '2jmj7l5rSw0yVb/vlWAYkK/YBwk=' } }],
    context: { period: { start: '2024-02-28', end: '2024-03-01' } },
  },
  { resourceType: 'Binary', id: 'b1', contentType: 'application/pdf', data: 'JVBERi0xLjQK' },
  {
    resourceType: 'List', id: 'l1', status: 'current', mode: 'working', title: 'Lot de soumission',
    subject: { reference: 'Patient/p1' }, date: '2024-03-01T10:00:00+01:00',
    entry: [{ item: { reference: 'DocumentReference/d1' } }],
  },
  {
    resourceType: 'Consent', id: 'c1', status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: 'Patient/p1' }, dateTime: '2024-03-01T10:00:00+01:00',
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'deny', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] }, reference: { reference: 'Practitioner/pr1' } }] },
  },
  {
    resourceType: 'AuditEvent', id: 'ae1',
    type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110110' },
    action: 'R', recorded: '2024-03-01T10:00:00.000+01:00', outcome: '0',
    agent: [{ who: { reference: 'Practitioner/pr1' }, requestor: true, network: { address: '127.0.0.1', type: '2' } }],
    source: { observer: { display: 'Carnet' } },
    entity: [{ what: { reference: 'DocumentReference/d1' } }],
  },
  {
    resourceType: 'AllergyIntolerance', id: 'ai1',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'confirmed' }] },
    type: 'allergy', category: ['medication'], criticality: 'high',
    code: { coding: [{ system: 'http://snomed.info/sct', code: '764146007' }] }, patient: { reference: 'Patient/p1' },
    reaction: [{ manifestation: [{ text: 'Urticaire' }], severity: 'moderate' }],
  },
  {
    resourceType: 'Condition', id: 'co1',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'resolved' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    code: { text: 'Grippe' }, subject: { reference: 'Patient/p1' },
    onsetDateTime: '2024-01-10', abatementDateTime: '2024-01-20',
  },
  {
    resourceType: 'MedicationStatement', id: 'ms1', status: 'active',
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '1049221' }] },
    subject: { reference: 'Patient/p1' }, effectivePeriod: { start: '2024-01-01' },
    dosage: [{ text: '1 cp matin', timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } }, doseAndRate: [{ doseQuantity: { value: 1, unit: 'cp' } }] }],
  },
  {
    resourceType: 'MedicationRequest', id: 'mr1', status: 'active', intent: 'order', priority: 'routine',
    medicationCodeableConcept: { text: 'Paracétamol 500 mg' }, subject: { reference: 'Patient/p1' },
    authoredOn: '2024-03-01', requester: { reference: 'Practitioner/pr1' },
    dispenseRequest: { quantity: { value: 16, unit: 'cp' }, validityPeriod: { start: '2024-03-01', end: '2024-06-01' } },
  },
  {
    resourceType: 'Immunization', id: 'im1', status: 'completed',
    vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140' }] },
    patient: { reference: 'Patient/p1' }, occurrenceDateTime: '2023-10-15', primarySource: true,
    doseQuantity: { value: 0.5, unit: 'mL', system: 'http://unitsofmeasure.org', code: 'mL' },
  },
  {
    resourceType: 'Observation', id: 'ob1', status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] }, subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2024-03-01T09:00:00+01:00',
    valueQuantity: { value: 67.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
    referenceRange: [{ low: { value: 50, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } }],
  },
  {
    resourceType: 'ExplanationOfBenefit', id: 'eob1', status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim', patient: { reference: 'Patient/p1' }, created: '2024-03-01', insurer: { display: 'CPAM' },
    provider: { reference: 'Practitioner/pr1' }, outcome: 'complete',
    insurance: [{ focal: true, coverage: { display: 'Régime général' } }],
    total: [{ category: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/adjudication', code: 'benefit' }] }, amount: { value: 25, currency: 'EUR' } }],
  },
  {
    resourceType: 'Device', id: 'dev1', status: 'active', manufacturer: 'Acme',
    deviceName: [{ name: 'Glucomètre', type: 'user-friendly-name' }], patient: { reference: 'Patient/p1' },
  },
];

function summary(issues: ValidationIssue[]): string[] {
  return issues.map((i) => `${i.severity} ${i.code} ${i.expression.join(',')}`);
}

function errors(issues: ValidationIssue[]): ValidationIssue[] {
  return issues.filter((i) => i.severity === 'error');
}

function valid(type: string): Json {
  return structuredClone(VALID.find((r) => r.resourceType === type) as Json);
}

/** Asserts that `resource` yields an error with this code at this expression. */
function reports(t: Test, resource: unknown, code: string, expression: string): ValidationIssue | undefined {
  const issues = validateResource(resource);
  const issue = issues.find((i) => i.code === code && i.expression.includes(expression));
  t.ok(issue, `${code} at ${expression}; got ${JSON.stringify(summary(issues))}`);
  if (issue) t.equal(issue.severity, 'error');
  return issue;
}

for (const resource of VALID) {
  void t.test(`a valid ${String(resource.resourceType)} has no issue`, async (t) => {
    t.same(summary(validateResource(resource)), []);
  });
}

void t.test('something other than a JSON object is a structure error', async (t) => {
  const [issue] = validateResource('Patient');
  t.equal(issue.code, 'structure');
});

void t.test('a resource without resourceType is reported as missing it', async (t) => {
  const issues = validateResource({ id: 'x' });
  t.same(summary(issues), ['error required Resource']);
});

void t.test('an unknown resource type is a structure error naming the type', async (t) => {
  const [issue] = validateResource({ resourceType: 'Spaceship' });
  t.equal(issue.code, 'structure');
  t.match(issue.diagnostics, /Spaceship/);
});

void t.test('an unknown property is a structure error at that property', async (t) => {
  const issue = reports(t, { ...valid('Patient'), nickname: 'Annie' }, 'structure', 'Patient.nickname');
  t.match(issue?.diagnostics, /Unknown element 'nickname'/);
});

void t.test('an unknown property inside a datatype is reported with its full path', async (t) => {
  const patient = valid('Patient');
  (patient.name as Json[])[0].surname = 'Martin';
  reports(t, patient, 'structure', 'Patient.name[0].surname');
});

void t.test('a primitive of the wrong JSON type is a structure error naming the FHIR type', async (t) => {
  const issue = reports(t, { ...valid('Patient'), active: 'yes' }, 'structure', 'Patient.active');
  t.match(issue?.diagnostics, /boolean/);
});

void t.test('a malformed date is a value error without echoing the value', async (t) => {
  const issue = reports(t, { ...valid('Patient'), birthDate: '1979-13-45' }, 'value', 'Patient.birthDate');
  t.match(issue?.diagnostics, /FHIR date/);
  t.notMatch(issue?.diagnostics, /1979/);
});

void t.test('a decimal where an integer belongs is a structure error', async (t) => {
  const document = valid('DocumentReference');
  ((document.content as Json[])[0].attachment as Json).size = 10.5;
  reports(t, document, 'structure', 'DocumentReference.content[0].attachment.size');
});

void t.test('an error inside a choice element is located with ofType()', async (t) => {
  const observation = valid('Observation');
  (observation.valueQuantity as Json).value = 'heavy';
  reports(t, observation, 'structure', 'Observation.value.ofType(Quantity).value');
});

void t.test('an empty array is a structure error', async (t) => {
  reports(t, { ...valid('Patient'), identifier: [] }, 'structure', 'Patient.identifier');
});

void t.test('a missing required element is a required error at that element', async (t) => {
  const observation = valid('Observation');
  delete observation.status;
  const issue = reports(t, observation, 'required', 'Observation.status');
  t.match(issue?.diagnostics, /required/);
});

void t.test('a required element inside a backbone element is checked in each occurrence', async (t) => {
  const patient = { ...valid('Patient'), link: [{ type: 'seealso', other: { reference: 'Patient/p2' } }, { type: 'seealso' }] };
  const issues = validateResource(patient);
  t.same(summary(issues), ['error required Patient.link[1].other']);
});

void t.test('a primitive given only through its _name companion counts as present', async (t) => {
  const observation = valid('Observation');
  delete observation.status;
  observation._status = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] };
  t.same(errors(validateResource(observation)).filter((i) => i.code === 'required'), []);
});

void t.test('a repeated non-repeating element exceeds its maximum cardinality', async (t) => {
  const issue = reports(t, { ...valid('Patient'), gender: ['female', 'male'] }, 'structure', 'Patient.gender');
  t.match(issue?.diagnostics, /at most 1 value, found 2/);
});

void t.test('a non-repeating element given as a one-item array is a structure error', async (t) => {
  const issue = reports(t, { ...valid('Patient'), gender: ['female'] }, 'structure', 'Patient.gender');
  t.match(issue?.diagnostics, /does not repeat/);
});

void t.test('a code outside its required value set is code-invalid', async (t) => {
  const issue = reports(t, { ...valid('Patient'), gender: 'feminine' }, 'code-invalid', 'Patient.gender');
  t.match(issue?.diagnostics, /administrative-gender/);
});

void t.test('a code outside a required value set inside a datatype is code-invalid', async (t) => {
  const patient = valid('Patient');
  (patient.telecom as Json[])[0].system = 'pager-beeper';
  reports(t, patient, 'code-invalid', 'Patient.telecom[0].system');
});

void t.test('a CodeableConcept with no coding from its required value set is code-invalid', async (t) => {
  const condition = valid('Condition');
  condition.clinicalStatus = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'cured' }] };
  reports(t, condition, 'code-invalid', 'Condition.clinicalStatus');
});

void t.test('a code bound to an open value set (mime types) is not checked against a list', async (t) => {
  t.same(summary(validateResource({ ...valid('Binary'), contentType: 'application/x-carnet-test' })), []);
});

void t.test('obs-6: a value together with a dataAbsentReason breaks the invariant', async (t) => {
  const observation = { ...valid('Observation'), dataAbsentReason: { text: 'non mesuré' } };
  const issue = reports(t, observation, 'invariant', 'Observation');
  t.match(issue?.diagnostics, /^obs-6/);
});

void t.test('dom-3: a contained resource nobody refers to breaks the invariant', async (t) => {
  const document = valid('DocumentReference');
  document.author = [{ reference: 'Practitioner/pr1' }];
  const issue = reports(t, document, 'invariant', 'DocumentReference.contained[0]');
  t.match(issue?.diagnostics, /^dom-3/);
});

void t.test('dom-3: a contained resource referring to its container is accepted', async (t) => {
  const document = valid('DocumentReference');
  document.author = [{ reference: 'Practitioner/pr1' }];
  (document.contained as Json[])[0] = { resourceType: 'Provenance', id: 'a1', target: [{ reference: '#' }], recorded: '2024-03-01T10:00:00Z', agent: [{ who: { display: 'x' } }] };
  t.same(errors(validateResource(document)), []);
});

void t.test('dom-2: a contained resource holding contained resources breaks the invariant', async (t) => {
  const document = valid('DocumentReference');
  (document.contained as Json[])[0].contained = [{ resourceType: 'Organization', id: 'o', name: 'x' }];
  const issues = validateResource(document);
  t.ok(issues.some((i) => i.diagnostics.startsWith('dom-2')), JSON.stringify(summary(issues)));
});

void t.test('ref-1: a local reference to a missing contained resource breaks the invariant', async (t) => {
  const document = { ...valid('DocumentReference'), authenticator: { reference: '#nobody' } };
  const issue = reports(t, document, 'invariant', 'DocumentReference.authenticator.reference');
  t.match(issue?.diagnostics, /^ref-1/);
});

void t.test('per-1: a period ending before it starts breaks the invariant', async (t) => {
  const request = valid('MedicationRequest');
  ((request.dispenseRequest as Json).validityPeriod as Json).end = '2024-01-01';
  const issue = reports(t, request, 'invariant', 'MedicationRequest.dispenseRequest.validityPeriod');
  t.match(issue?.diagnostics, /^per-1/);
});

void t.test('per-1: dates of different precision that cannot be compared are accepted', async (t) => {
  const request = valid('MedicationRequest');
  (request.dispenseRequest as Json).validityPeriod = { start: '2024-03', end: '2024-03-15' };
  t.same(errors(validateResource(request)), []);
});

void t.test('ele-1: an element with nothing in it breaks the invariant', async (t) => {
  const issue = reports(t, { ...valid('Observation'), code: {} }, 'invariant', 'Observation.code');
  t.match(issue?.diagnostics, /^ele-1/);
});

void t.test('ext-1: an extension with neither value nor extensions breaks the invariant', async (t) => {
  const patient = { ...valid('Patient'), extension: [{ url: 'http://example.org/fhir/StructureDefinition/x' }] };
  const issue = reports(t, patient, 'invariant', 'Patient.extension[0]');
  t.match(issue?.diagnostics, /^ext-1/);
});

void t.test('txt-1: a script in the narrative breaks the invariant', async (t) => {
  const patient = { ...valid('Patient'), text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">a</p><script>alert(1)</script></div>' } };
  const issue = reports(t, patient, 'invariant', 'Patient.text.div');
  t.match(issue?.diagnostics, /^txt-1/);
  t.match(issue?.diagnostics, /<script> is not allowed/);
  t.match(issue?.diagnostics, /onclick is not allowed/);
});

void t.test('txt-2: a narrative without text breaks the invariant', async (t) => {
  const patient = { ...valid('Patient'), text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"> <p/> </div>' } };
  const issue = reports(t, patient, 'invariant', 'Patient.text.div');
  t.match(issue?.diagnostics, /^txt-2/);
});

void t.test('a reference to a type its definition does not allow is a warning', async (t) => {
  const observation = { ...valid('Observation'), subject: { reference: 'Organization/o1' } };
  const issue = validateResource(observation).find((i) => i.expression.includes('Observation.subject'));
  t.equal(issue?.severity, 'warning');
  t.match(issue?.diagnostics, /Patient/);
});

void t.test('errors inside a contained resource are located inside it', async (t) => {
  const document = valid('DocumentReference');
  (document.contained as Json[])[0].gender = 'unknown-gender';
  (document.contained as Json[])[0].nickname = 'x';
  const issues = validateResource(document);
  t.same(summary(issues).sort(), [
    'error code-invalid DocumentReference.contained[0].gender',
    'error structure DocumentReference.contained[0].nickname',
  ]);
});

void t.test('errors inside a Bundle entry are located inside it', async (t) => {
  const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:6a4c1b6e-0000-4000-8000-000000000001', resource: { ...valid('Observation'), status: 'done' } }] };
  t.same(summary(validateResource(bundle)), ['error code-invalid Bundle.entry[0].resource.status']);
});

void t.test('several issues in one resource are all reported', async (t) => {
  const observation = valid('Observation');
  delete observation.code;
  Object.assign(observation, { status: 'done', issued: 'yesterday', colour: 'red', dataAbsentReason: { text: 'x' } });
  t.same(summary(validateResource(observation)).sort(), [
    'error code-invalid Observation.status',
    'error invariant Observation',
    'error required Observation.code',
    'error structure Observation.colour',
    'error value Observation.issued',
  ]);
});

void t.test('update mode requires an id, create mode does not', async (t) => {
  const patient = valid('Patient');
  delete patient.id;
  t.same(summary(validateResource(patient, { mode: 'create' })), []);
  t.same(summary(validateResource(patient, { mode: 'update' })), ['error required Patient.id']);
});

void t.test('$validate answers All OK in an OperationOutcome when there is no issue', async (t) => {
  t.same(validateForOperation(valid('Patient'), { mode: 'create' }), {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', diagnostics: 'All OK' }],
  });
});

void t.test('$validate answers every issue in an OperationOutcome', async (t) => {
  const outcome = validateForOperation({ ...valid('Patient'), gender: 'feminine', nickname: 'x' });
  t.equal(outcome.resourceType, 'OperationOutcome');
  t.same(outcome.issue.map((i) => [i.severity, i.code, i.expression]).sort(), [
    ['error', 'code-invalid', ['Patient.gender']],
    ['error', 'structure', ['Patient.nickname']],
  ]);
});

void t.test('$validate with an unknown profile reports it as not supported', async (t) => {
  const outcome = validateForOperation(valid('Patient'), { profile: 'http://example.org/fhir/StructureDefinition/unknown' });
  t.same(outcome.issue.map((i) => [i.severity, i.code]), [['error', 'not-supported']]);
});

void t.test('an unknown profile declared in meta.profile is only information', async (t) => {
  const patient = { ...valid('Patient'), meta: { profile: ['http://example.org/fhir/StructureDefinition/unknown'] } };
  t.same(summary(validateResource(patient)), ['information not-supported Patient.meta.profile']);
});

void t.test('declaring the base definition of its own type is accepted silently', async (t) => {
  const patient = { ...valid('Patient'), meta: { profile: ['http://hl7.org/fhir/StructureDefinition/Patient'] } };
  t.same(summary(validateResource(patient)), []);
});

void t.test('a decimal kept exactly as JSON.rawJSON validates as a number', async (t) => {
  const observation = valid('Observation');
  (observation.valueQuantity as Json).value = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON('67.50');
  t.same(summary(validateResource(observation)), []);
});
