// FHIR XML → FHIR JSON (R4 xml.html and json.html): elements become properties, `value`
// attributes typed primitives, a primitive's id and extensions its `_name` companion, repeated
// elements arrays (with nulls where a repeat has a value but no extension, or the reverse).
import type { Resource } from '@medplum/fhirtypes';
import { DEFAULT_FHIR_XML_LIMITS, FhirXmlError } from './errors.ts';
import type { FhirXmlLimits } from './errors.ts';
import { FHIR_NS, fhirTypeModel } from './model.ts';
import type { ChildElement, FhirTypeModel, PrimitiveContent, Structure } from './model.ts';
import { primitiveFromXml } from './primitives.ts';
import { xhtmlToJson } from './xhtml.ts';
import { isNamespaceDeclaration, readXml } from './xml-reader.ts';
import type { XmlAttribute, XmlElement } from './xml-reader.ts';

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

type JsonObject = Record<string, unknown>;

/** Reads one FHIR resource from FHIR XML. Throws FhirXmlError for anything that is not. */
export function parseFhirXml(xml: string, limits: Partial<FhirXmlLimits> = {}): Resource {
  const root = readXml(xml, { ...DEFAULT_FHIR_XML_LIMITS, ...limits });
  return readResource(root, fhirTypeModel(), undefined) as unknown as Resource;
}

/** `path` is where the resource sits (`Bundle.entry[0].resource`); undefined for the document root. */
function readResource(element: XmlElement, model: FhirTypeModel, path: string | undefined): JsonObject {
  const type = element.local;
  if (element.uri !== FHIR_NS) {
    throw errorAt(element, `Element <${element.name}> is not in the FHIR namespace (${FHIR_NS})`, path ?? type);
  }
  if (!model.resourceTypes.has(type)) {
    throw errorAt(element, `Unknown resource type ${type}`, path ?? type);
  }
  return { resourceType: type, ...readStructure(element, model.structures.get(type)!, model, path ?? type) };
}

function readStructure(element: XmlElement, structure: Structure, model: FhirTypeModel, path: string): JsonObject {
  const json: JsonObject = {};
  const attributes = contentAttributes(element);
  for (const attribute of attributes) {
    if (attribute.uri !== '' || !structure.attributes.includes(attribute.local)) {
      throw errorAt(element, `Unknown attribute ${attribute.name} on <${element.name}>`, path);
    }
  }
  // In definition order (id, then url), whatever order the document has.
  for (const name of structure.attributes) {
    const attribute = attributes.find((a) => a.uri === '' && a.local === name);
    if (attribute) json[name] = attribute.value;
  }

  // Group the child elements by name (order of groups is the model's, not the document's).
  const found = new Map<ChildElement, XmlElement[]>();
  const choiceTaken = new Map<string, string>();
  for (const child of element.children) {
    if (child.kind === 'text') {
      if (child.text.trim() !== '') throw errorAt(element, `Text is not allowed inside <${element.name}>`, path);
      continue;
    }
    const definition = structure.childByName.get(child.local);
    if (!definition) throw errorAt(child, `Unknown element <${child.local}> in ${structure.name}`, `${path}.${child.local}`);
    // Narrative's div is XHTML (its namespace is checked there); everything else is FHIR.
    if (child.uri !== FHIR_NS && definition.content.kind !== 'xhtml') {
      throw errorAt(child, `Element <${child.name}> in ${structure.name} is not in the FHIR namespace (${FHIR_NS})`, `${path}.${child.local}`);
    }
    const group = found.get(definition);
    if (group) {
      if (!definition.isArray) throw errorAt(child, `Element <${child.local}> may occur only once`, `${path}.${child.local}`);
      group.push(child);
      continue;
    }
    if (definition.choiceGroup !== undefined) {
      const taken = choiceTaken.get(definition.choiceGroup);
      if (taken) throw errorAt(child, `Only one of ${definition.choiceGroup}[x] is allowed: found <${taken}> and <${child.local}>`, `${path}.${child.local}`);
      choiceTaken.set(definition.choiceGroup, child.local);
    }
    found.set(definition, [child]);
  }

  for (const definition of structure.children) {
    const elements = found.get(definition);
    if (elements) readChild(json, definition, elements, model, path);
  }
  return json;
}

function readChild(json: JsonObject, definition: ChildElement, elements: XmlElement[], model: FhirTypeModel, path: string): void {
  const { name, content } = definition;
  const pathOf = (index: number): string => (definition.isArray ? `${path}.${name}[${index}]` : `${path}.${name}`);

  if (content.kind === 'primitive') {
    const values: unknown[] = [];
    const companions: (JsonObject | null)[] = [];
    elements.forEach((element, index) => {
      const { value, companion } = readPrimitive(element, content, model, pathOf(index));
      values.push(value ?? null);
      companions.push(companion ?? null);
    });
    // JSON keeps a primitive's value and its id/extensions apart; nulls keep repeats aligned.
    if (definition.isArray) {
      if (values.some((v) => v !== null)) json[name] = values;
      if (companions.some((c) => c !== null)) json[`_${name}`] = companions;
    } else {
      if (values[0] !== null) json[name] = values[0];
      if (companions[0] !== null) json[`_${name}`] = companions[0];
    }
    return;
  }

  const items = elements.map((element, index): unknown => {
    const itemPath = pathOf(index);
    switch (content.kind) {
      case 'complex':
        return readComplex(element, model.structures.get(content.structure)!, model, itemPath);
      case 'resource':
        return readResource(onlyChildElement(element, itemPath), model, itemPath);
      case 'xhtml':
        return xhtmlToJson(element, itemPath);
    }
  });
  json[name] = definition.isArray ? items : items[0];
}

function readComplex(element: XmlElement, structure: Structure, model: FhirTypeModel, path: string): JsonObject {
  const json = readStructure(element, structure, model, path);
  if (Object.keys(json).length === 0) throw errorAt(element, `Element <${element.local}> is empty`, path);
  return json;
}

/** A primitive element: `value` attribute → the JSON value; `id` and extensions → the companion. */
function readPrimitive(element: XmlElement, content: PrimitiveContent, model: FhirTypeModel, path: string): { value?: unknown; companion?: JsonObject } {
  const { typeCode, json: kind } = content;
  const result: { value?: unknown; companion?: JsonObject } = {};
  const companion: JsonObject = {};
  for (const attribute of contentAttributes(element)) {
    if (attribute.uri === '' && attribute.local === 'value') result.value = primitiveFromXml(attribute.value, kind, typeCode, path);
    else if (attribute.uri === '' && attribute.local === 'id') companion.id = attribute.value;
    else throw errorAt(element, `Unknown attribute ${attribute.name} on <${element.name}>`, path);
  }
  const extensions: JsonObject[] = [];
  const extensionStructure = model.structures.get('Extension')!;
  for (const child of element.children) {
    if (child.kind === 'text') {
      if (child.text.trim() !== '') throw errorAt(element, `Text is not allowed inside <${element.name}>: use the value attribute`, path);
      continue;
    }
    if (child.uri !== FHIR_NS || child.local !== 'extension') {
      throw errorAt(child, `Unknown element <${child.local}> in ${typeCode} <${element.local}>: only extensions are allowed`, `${path}.${child.local}`);
    }
    extensions.push(readComplex(child, extensionStructure, model, `${path}.extension[${extensions.length}]`));
  }
  if (extensions.length > 0) companion.extension = extensions;
  if (Object.keys(companion).length > 0) result.companion = companion;
  if (result.value === undefined && extensions.length === 0) {
    throw errorAt(element, `Element <${element.local}> has neither a value attribute nor extensions`, path);
  }
  return result;
}

/** The single resource element inside <contained>, <resource>… */
function onlyChildElement(element: XmlElement, path: string): XmlElement {
  const elements = element.children.filter((c): c is XmlElement => c.kind === 'element');
  const stray = element.children.some((c) => c.kind === 'text' && c.text.trim() !== '');
  if (elements.length !== 1 || stray || contentAttributes(element).length > 0) {
    throw errorAt(element, `<${element.local}> must contain exactly one resource element`, path);
  }
  return elements[0];
}

/** Attributes that carry content: not namespace declarations, not xsi:schemaLocation hints. */
function contentAttributes(element: XmlElement): XmlAttribute[] {
  return element.attributes.filter((a) => !isNamespaceDeclaration(a) && a.uri !== XSI_NS);
}

function errorAt(element: XmlElement, message: string, expression: string): FhirXmlError {
  return new FhirXmlError(`${message} (line ${element.line}, column ${element.column})`, {
    expression, line: element.line, column: element.column,
  });
}
