// The FHIR XML format, rule by rule (R4 xml.html and json.html), and its refusals.
import t from 'tap';
import type { Test } from 'tap';
import type { Resource } from '@medplum/fhirtypes';
import {
  FHIR_XML_CONTENT_TYPE, FhirXmlError, fhirTypeModel, parseFhirXml, toFhirXml,
} from '../../src/fhir/xml/index.ts';

const FHIR = 'xmlns="http://hl7.org/fhir"';
const XHTML = 'xmlns="http://www.w3.org/1999/xhtml"';
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** A resource as compact XML, for comparing with toFhirXml's output. */
function document(body: string): string {
  return `${DECLARATION}${body}`;
}

function json(value: object): Resource {
  return value as Resource;
}

/** The FhirXmlError that `action` throws. */
function refusal(t: Test, action: () => unknown): FhirXmlError {
  try {
    action();
  } catch (error) {
    if (error instanceof FhirXmlError) return error;
    throw error;
  }
  t.fail('expected a FhirXmlError');
  return new FhirXmlError('none');
}

// --- primitives -------------------------------------------------------------------------------

void t.test('a primitive with an id and an extension becomes a value and an underscore companion', async (t) => {
  const patient = parseFhirXml(`<Patient ${FHIR}><birthDate id="b1" value="1974-12-25">`
    + '<extension url="http://hl7.org/fhir/StructureDefinition/patient-birthTime"><valueDateTime value="1974-12-25T14:35:45-05:00"/></extension>'
    + '</birthDate></Patient>');
  t.strictSame(patient, {
    resourceType: 'Patient',
    birthDate: '1974-12-25',
    _birthDate: {
      id: 'b1',
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1974-12-25T14:35:45-05:00' }],
    },
  });
});

void t.test('a primitive with only an extension has a companion and no value', async (t) => {
  const patient = parseFhirXml(`<Patient ${FHIR}><gender><extension url="http://e"><valueCode value="x"/></extension></gender></Patient>`);
  t.strictSame(patient, { resourceType: 'Patient', _gender: { extension: [{ url: 'http://e', valueCode: 'x' }] } });
});

void t.test('repeated primitives with an extension on some keep both arrays aligned with nulls', async (t) => {
  const patient = parseFhirXml(`<Patient ${FHIR}><name><given value="Peter"/>`
    + '<given id="g2" value="James"><extension url="http://e"><valueString value="x"/></extension></given></name></Patient>');
  t.strictSame(patient, {
    resourceType: 'Patient',
    name: [{ given: ['Peter', 'James'], _given: [null, { id: 'g2', extension: [{ url: 'http://e', valueString: 'x' }] }] }],
  });
});

void t.test('a repeat that has only an extension is a null in the value array', async (t) => {
  const patient = parseFhirXml(`<Patient ${FHIR}><name><given value="A"/><given><extension url="http://e"><valueString value="B"/></extension></given></name></Patient>`);
  t.strictSame(patient, {
    resourceType: 'Patient',
    name: [{ given: ['A', null], _given: [null, { extension: [{ url: 'http://e', valueString: 'B' }] }] }],
  });
});

void t.test('aligned primitive arrays with nulls are written as one element per repeat', async (t) => {
  const xml = toFhirXml(json({
    resourceType: 'Patient',
    name: [{ given: ['A', null, 'C'], _given: [null, { id: 'g2', extension: [{ url: 'http://e', valueString: 'B' }] }, null] }],
  }));
  t.equal(xml, document(`<Patient ${FHIR}><name><given value="A"/>`
    + '<given id="g2"><extension url="http://e"><valueString value="B"/></extension></given>'
    + '<given value="C"/></name></Patient>'));
});

void t.test('a decimal keeps the digits it was written with', async (t) => {
  const observation = parseFhirXml(`<Observation ${FHIR}><status value="final"/><code><text value="x"/></code>`
    + '<valueQuantity><value value="1.50"/></valueQuantity></Observation>');
  t.match(JSON.stringify(observation), '"valueQuantity":{"value":1.50}', 'JSON number literal 1.50');
  t.match(toFhirXml(observation), '<value value="1.50"/>');
});

void t.test('a decimal that prints as written is a plain number', async (t) => {
  const observation = parseFhirXml(`<Observation ${FHIR}><status value="final"/><code><text value="x"/></code>`
    + '<valueQuantity><value value="6.3"/></valueQuantity></Observation>') as { valueQuantity?: { value?: unknown } };
  t.equal(observation.valueQuantity?.value, 6.3);
});

void t.test('a decimal given as a JSON number literal is written with that literal', async (t) => {
  const xml = toFhirXml(json({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: JSON.rawJSON('120.00') } }));
  t.match(xml, '<value value="120.00"/>');
});

void t.test('integers, positive and unsigned integers and booleans become typed JSON values', async (t) => {
  const patient = parseFhirXml(`<Patient ${FHIR}><active value="false"/><telecom><rank value="2"/></telecom>`
    + '<multipleBirthInteger value="-3"/><photo><size value="0"/></photo></Patient>');
  t.strictSame(patient, { resourceType: 'Patient', active: false, telecom: [{ rank: 2 }], multipleBirthInteger: -3, photo: [{ size: 0 }] });
});

void t.test('a positiveInt of zero is refused with its location', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}><telecom><rank value="0"/></telecom></Patient>`));
  t.equal(error.expression, 'Patient.telecom[0].rank');
  t.equal(error.issueCode, 'value');
});

void t.test('a boolean other than true or false is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}><active value="yes"/></Patient>`));
  t.equal(error.expression, 'Patient.active');
  t.match(error.message, 'Invalid boolean value "yes"');
});

void t.test('tabs, newlines and markup characters in values survive the trip through attributes', async (t) => {
  const patient = json({ resourceType: 'Patient', name: [{ text: 'a\n\tb\r "c" <d> & e' }] });
  const xml = toFhirXml(patient);
  t.match(xml, 'value="a&#xA;&#x9;b&#xD; &quot;c&quot; &lt;d&gt; &amp; e"');
  t.strictSame(parseFhirXml(xml), patient);
});

void t.test('an empty primitive element is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}><name><given/></name></Patient>`));
  t.equal(error.expression, 'Patient.name[0].given[0]');
});

// --- structure --------------------------------------------------------------------------------

void t.test('a choice element takes its type from its name', async (t) => {
  const patient = parseFhirXml(`<Patient ${FHIR}><deceasedDateTime value="2015-02-14"/><multipleBirthBoolean value="true"/></Patient>`);
  t.strictSame(patient, { resourceType: 'Patient', deceasedDateTime: '2015-02-14', multipleBirthBoolean: true });
});

void t.test('a complex choice type is read as its data type', async (t) => {
  const observation = parseFhirXml(`<Observation ${FHIR}><status value="final"/><code><text value="x"/></code>`
    + '<valueCodeableConcept><coding><code value="a"/></coding></valueCodeableConcept></Observation>');
  t.strictSame(observation, { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueCodeableConcept: { coding: [{ code: 'a' }] } });
});

void t.test('two alternatives of one choice are refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}><deceasedBoolean value="true"/><deceasedDateTime value="2015"/></Patient>`));
  t.match(error.message, 'Only one of deceased[x]');
});

void t.test('two alternatives of one choice in JSON are refused when writing', async (t) => {
  const error = refusal(t, () => toFhirXml(json({ resourceType: 'Patient', deceasedBoolean: true, deceasedDateTime: '2015' })));
  t.equal(error.expression, 'Patient.deceasedDateTime');
});

void t.test('elements are written in definition order whatever the JSON property order', async (t) => {
  const xml = toFhirXml(json({ gender: 'male', name: [{ given: ['A'], family: 'B' }], id: 'p1', resourceType: 'Patient' }));
  t.equal(xml, document(`<Patient ${FHIR}><id value="p1"/><name><family value="B"/><given value="A"/></name><gender value="male"/></Patient>`));
});

void t.test('elements out of definition order are accepted and written back in order', async (t) => {
  const patient = parseFhirXml(`<Patient ${FHIR}><gender value="male"/><id value="p1"/></Patient>`);
  t.equal(toFhirXml(patient), document(`<Patient ${FHIR}><id value="p1"/><gender value="male"/></Patient>`));
});

void t.test('the resource id is an element and element ids are attributes', async (t) => {
  const patient = json({ resourceType: 'Patient', id: 'p1', name: [{ id: 'n1', family: 'B' }] });
  const xml = toFhirXml(patient);
  t.equal(xml, document(`<Patient ${FHIR}><id value="p1"/><name id="n1"><family value="B"/></name></Patient>`));
  t.strictSame(parseFhirXml(xml), patient);
});

void t.test('extensions and modifier extensions are written with the url attribute first', async (t) => {
  const xml = toFhirXml(json({
    resourceType: 'Patient',
    extension: [{ id: 'e1', url: 'http://a', valueBoolean: true }],
    modifierExtension: [{ url: 'http://b', extension: [{ url: 'part', valueString: 's' }] }],
  }));
  t.equal(xml, document(`<Patient ${FHIR}><extension url="http://a" id="e1"><valueBoolean value="true"/></extension>`
    + '<modifierExtension url="http://b"><extension url="part"><valueString value="s"/></extension></modifierExtension></Patient>'));
});

void t.test('contained resources are wrapped in an element named by their type', async (t) => {
  const patient = json({
    resourceType: 'Patient',
    contained: [{ resourceType: 'Organization', id: 'o1', name: 'Acme' }],
    managingOrganization: { reference: '#o1' },
  });
  const xml = toFhirXml(patient);
  t.equal(xml, document(`<Patient ${FHIR}><contained><Organization><id value="o1"/><name value="Acme"/></Organization></contained>`
    + '<managingOrganization><reference value="#o1"/></managingOrganization></Patient>'));
  t.strictSame(parseFhirXml(xml), patient);
});

void t.test('a Bundle carries its entry resources inside resource elements', async (t) => {
  const bundle = json({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:1', resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:1' } }, request: { method: 'POST', url: 'Observation' } },
    ],
  });
  const xml = toFhirXml(bundle);
  t.match(xml, '<entry><fullUrl value="urn:uuid:1"/><resource><Patient><active value="true"/></Patient></resource><request>');
  t.strictSame(parseFhirXml(xml), bundle);
});

void t.test('a resource element holding anything but one resource is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Bundle ${FHIR}><type value="collection"/><entry><resource><Patient/><Patient/></resource></entry></Bundle>`));
  t.equal(error.expression, 'Bundle.entry[0].resource');
});

void t.test('nested Questionnaire items follow the reference to Questionnaire.item', async (t) => {
  const questionnaire = json({
    resourceType: 'Questionnaire',
    status: 'draft',
    item: [{ linkId: '1', type: 'group', item: [{ linkId: '1.1', text: 'Weight', type: 'decimal', initial: [{ valueDecimal: 72.5 }] }] }],
  });
  const xml = toFhirXml(questionnaire);
  t.match(xml, '<item><linkId value="1"/><type value="group"/><item><linkId value="1.1"/><text value="Weight"/><type value="decimal"/><initial><valueDecimal value="72.5"/></initial></item></item>');
  t.strictSame(parseFhirXml(xml), questionnaire);
});

void t.test('pretty output puts one element per line, indented', async (t) => {
  const xml = toFhirXml(json({ resourceType: 'Patient', id: 'p1', name: [{ family: 'B' }] }), { pretty: true });
  t.equal(xml, [DECLARATION, `<Patient ${FHIR}>`, '  <id value="p1"/>', '  <name>', '    <family value="B"/>', '  </name>', '</Patient>'].join('\n'));
});

// --- narrative --------------------------------------------------------------------------------

const NARRATIVE_XML = `<div ${XHTML} class="n">\n  <p>Fish &amp; chips &lt;3 <b title="&quot;x&quot;">bold</b></p>\n  <br/>\n</div>`;

void t.test('XHTML narrative becomes a string with its markup, entities, attributes and whitespace', async (t) => {
  const patient = parseFhirXml(`<Patient ${FHIR}><text><status value="generated"/>${NARRATIVE_XML}</text></Patient>`) as { text?: { div?: string } };
  t.equal(patient.text?.div, NARRATIVE_XML);
});

void t.test('a narrative string is written as XHTML markup in the XHTML namespace', async (t) => {
  const xml = toFhirXml(json({ resourceType: 'Patient', text: { status: 'generated', div: NARRATIVE_XML } }), { pretty: true });
  t.match(xml, `    ${NARRATIVE_XML}\n  </text>`, 'kept as it is, not re-indented');
});

void t.test('CDATA and character references in narrative become escaped text', async (t) => {
  const patient = parseFhirXml(`<Patient ${FHIR}><text><status value="generated"/><div ${XHTML}><![CDATA[a<b]]> &#233;&#x20AC;</div></text></Patient>`) as { text?: { div?: string } };
  t.equal(patient.text?.div, `<div ${XHTML}>a&lt;b é€</div>`);
});

void t.test('a narrative namespace declared on an ancestor is declared on the div', async (t) => {
  const patient = parseFhirXml(`<Patient ${FHIR} xmlns:h="http://www.w3.org/1999/xhtml"><text><status value="generated"/><h:div><h:p>x</h:p></h:div></text></Patient>`) as { text?: { div?: string } };
  t.equal(patient.text?.div, '<h:div xmlns:h="http://www.w3.org/1999/xhtml"><h:p>x</h:p></h:div>');
});

void t.test('a narrative string without a namespace is written as XHTML', async (t) => {
  const xml = toFhirXml(json({ resourceType: 'Patient', text: { status: 'generated', div: '<div>hi</div>' } }));
  t.match(xml, `<div ${XHTML}>hi</div>`);
});

void t.test('a narrative div outside the XHTML namespace is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}><text><status value="generated"/><div>x</div></text></Patient>`));
  t.equal(error.expression, 'Patient.text.div');
});

void t.test('a narrative string that is not a div is refused', async (t) => {
  const error = refusal(t, () => toFhirXml(json({ resourceType: 'Patient', text: { status: 'generated', div: '<p>x</p>' } })));
  t.equal(error.expression, 'Patient.text.div');
});

void t.test('narrative with an HTML entity such as &nbsp; is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}><text><status value="generated"/><div ${XHTML}>a&nbsp;b</div></text></Patient>`));
  t.match(error.message, 'not well-formed');
});

void t.test('a narrative string with a DOCTYPE is refused when writing', async (t) => {
  const error = refusal(t, () => toFhirXml(json({
    resourceType: 'Patient',
    text: { status: 'generated', div: `<!DOCTYPE div [<!ENTITY x "y">]><div ${XHTML}>&x;</div>` },
  })));
  t.equal(error.issueCode, 'security');
  t.equal(error.expression, 'Patient.text.div');
});

// --- refusals ---------------------------------------------------------------------------------

void t.test('a DOCTYPE with entity declarations is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><Patient ${FHIR}><id value="&lol2;"/></Patient>`));
  t.equal(error.issueCode, 'security');
  t.match(error.message, 'DOCTYPE');
});

void t.test('a DOCTYPE naming an external entity is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Patient ${FHIR}><id value="&xxe;"/></Patient>`));
  t.equal(error.issueCode, 'security');
});

void t.test('an unknown element is refused with its name and location', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}>\n<name>\n<bogus value="1"/></name></Patient>`));
  t.match(error.message, 'Unknown element <bogus> in HumanName');
  t.equal(error.expression, 'Patient.name[0].bogus');
  t.equal(error.line, 3);
});

void t.test('an unknown attribute is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}><active value="true" extra="1"/></Patient>`));
  t.match(error.message, 'Unknown attribute extra');
  t.equal(error.expression, 'Patient.active');
});

void t.test('an element outside the FHIR namespace is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}><x:active xmlns:x="urn:other" value="true"/></Patient>`));
  t.match(error.message, 'not in the FHIR namespace');
});

void t.test('a root element without the FHIR namespace is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml('<Patient><active value="true"/></Patient>'));
  t.equal(error.expression, 'Patient');
});

void t.test('an unknown resource type is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Spaceship ${FHIR}/>`));
  t.match(error.message, 'Unknown resource type Spaceship');
});

void t.test('text inside a FHIR element is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}><name>Peter</name></Patient>`));
  t.equal(error.expression, 'Patient.name[0]');
});

void t.test('a non-repeating element that repeats is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}><gender value="male"/><gender value="female"/></Patient>`));
  t.match(error.message, 'may occur only once');
});

void t.test('XML that is not well-formed is refused with its position', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}>\n<active value="true">\n</Patient>`));
  t.match(error.message, 'not well-formed');
  t.equal(error.line, 3);
});

void t.test('a document with two root elements is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}/><Patient ${FHIR}/>`));
  t.match(error.message, 'more than one root element');
});

void t.test('deeply nested XML is refused', async (t) => {
  const nested = '<extension url="u">'.repeat(200) + '<valueString value="x"/>' + '</extension>'.repeat(200);
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}>${nested}</Patient>`));
  t.equal(error.issueCode, 'too-long');
  t.match(error.message, 'nested too deeply');
});

void t.test('XML with more elements than the limit is refused', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}>${'<name><family value="x"/></name>'.repeat(10)}</Patient>`, { maxElements: 10 }));
  t.match(error.message, 'too many elements');
});

void t.test('XML longer than the limit is refused before it is read', async (t) => {
  const error = refusal(t, () => parseFhirXml(`<Patient ${FHIR}/>`, { maxLength: 10 }));
  t.match(error.message, 'too long');
});

void t.test('unknown JSON properties are refused when writing XML', async (t) => {
  const error = refusal(t, () => toFhirXml(json({ resourceType: 'Patient', name: [{ family: 'B', nickname: 'x' }] })));
  t.equal(error.expression, 'Patient.name[0].nickname');
});

void t.test('a JSON value of the wrong type is refused when writing XML', async (t) => {
  const error = refusal(t, () => toFhirXml(json({ resourceType: 'Patient', active: 'yes' })));
  t.equal(error.expression, 'Patient.active');
  t.equal(error.issueCode, 'value');
});

void t.test('strings with characters XML cannot carry are refused when writing', async (t) => {
  const error = refusal(t, () => toFhirXml(json({ resourceType: 'Patient', name: [{ family: 'a\u0001b' }] })));
  t.equal(error.expression, 'Patient.name[0].family');
});

void t.test('deeply nested JSON is refused when writing', async (t) => {
  let extension: object = { url: 'u', valueString: 'x' };
  for (let i = 0; i < 200; i += 1) extension = { url: 'u', extension: [extension] };
  const error = refusal(t, () => toFhirXml(json({ resourceType: 'Patient', extension: [extension] })));
  t.equal(error.issueCode, 'too-long');
});

// --- front door ---------------------------------------------------------------------------------

void t.test('the content type is application/fhir+xml', async (t) => {
  t.equal(FHIR_XML_CONTENT_TYPE, 'application/fhir+xml');
});

void t.test('the type model knows the R4 resource types and orders their elements as the specification does', async (t) => {
  const model = fhirTypeModel();
  t.ok(model.resourceTypes.has('DocumentReference'));
  t.notOk(model.resourceTypes.has('DomainResource'), 'abstract types are not resource types');
  t.strictSame(model.structures.get('Patient.contact')?.children.map((c) => c.name), [
    'extension', 'modifierExtension', 'relationship', 'name', 'telecom', 'address', 'gender', 'organization', 'period',
  ]);
  t.strictSame(model.structures.get('Patient.contact')?.attributes, ['id']);
});
