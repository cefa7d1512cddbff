// FHIR JSON → FHIR XML: elements in the order the StructureDefinitions give, primitives as
// `value` attributes with their `_name` companions merged back, resources inside elements
// wrapped in an element named by their type, narrative as XHTML.
import type { Resource } from '@medplum/fhirtypes';
import { DEFAULT_FHIR_XML_LIMITS, FhirXmlError } from './errors.ts';
import type { FhirXmlLimits } from './errors.ts';
import { FHIR_NS, fhirTypeModel } from './model.ts';
import type { ChildElement, FhirTypeModel, PrimitiveContent, Structure } from './model.ts';
import { primitiveToXml } from './primitives.ts';
import { xhtmlFromJson } from './xhtml.ts';
import { XmlWriter, isXmlSafe } from './xml-writer.ts';

export interface ToFhirXmlOptions {
  /** Indent with two spaces, one element per line (XHTML narrative is kept as it is). */
  pretty?: boolean;
  /** Bounds for nesting and for reading narrative XHTML. */
  limits?: Partial<FhirXmlLimits>;
}

type JsonObject = Record<string, unknown>;

interface Context {
  model: FhirTypeModel;
  limits: FhirXmlLimits;
  writer: XmlWriter;
}

/** Writes a FHIR resource (JSON form) as FHIR XML. Throws FhirXmlError for content XML cannot carry. */
export function toFhirXml(resource: Resource, options: ToFhirXmlOptions = {}): string {
  const context: Context = {
    model: fhirTypeModel(),
    limits: { ...DEFAULT_FHIR_XML_LIMITS, ...options.limits },
    writer: new XmlWriter(options.pretty ?? false),
  };
  context.writer.declaration();
  writeResource(resource as unknown as JsonObject, undefined, context, 1);
  return context.writer.toString();
}

function writeResource(resource: unknown, path: string | undefined, context: Context, depth: number): void {
  if (!isObject(resource) || typeof resource.resourceType !== 'string') {
    throw new FhirXmlError('A resource must be an object with a resourceType', { expression: path, issueCode: 'structure' });
  }
  const type = resource.resourceType;
  const here = path ?? type;
  if (!context.model.resourceTypes.has(type)) {
    throw new FhirXmlError(`Unknown resource type ${type}`, { expression: here, issueCode: 'structure' });
  }
  checkDepth(depth, here, context);
  const { resourceType: _, ...content } = resource;
  // Nested resources sit in the FHIR default namespace declared on the root.
  context.writer.open(type, path === undefined ? [['xmlns', FHIR_NS]] : []);
  writeContent(content, context.model.structures.get(type)!, here, context, depth);
  context.writer.close(type);
}

/**
 * Writes the child elements of an object (an element at `depth` in the document); its
 * attribute-borne properties are written by the caller.
 */
function writeContent(json: JsonObject, structure: Structure, path: string, context: Context, depth: number): void {
  const unknown = Object.keys(json).filter((key) => {
    const name = key.startsWith('_') ? key.slice(1) : key;
    if (key === name && structure.attributes.includes(name)) return false;
    const child = structure.childByName.get(name);
    return !child || (key !== name && child.content.kind !== 'primitive');
  });
  if (unknown.length > 0) {
    throw new FhirXmlError(`Unknown property ${unknown[0]} in ${structure.name}`, { expression: `${path}.${unknown[0]}`, issueCode: 'structure' });
  }
  let choiceTaken: Map<string, string> | undefined;
  for (const child of structure.children) {
    if (json[child.name] === undefined && json[`_${child.name}`] === undefined) continue;
    if (child.choiceGroup !== undefined) {
      choiceTaken ??= new Map();
      const taken = choiceTaken.get(child.choiceGroup);
      if (taken) {
        throw new FhirXmlError(`Only one of ${child.choiceGroup}[x] is allowed: found ${taken} and ${child.name}`, { expression: `${path}.${child.name}`, issueCode: 'structure' });
      }
      choiceTaken.set(child.choiceGroup, child.name);
    }
    writeChild(json, child, path, context, depth);
  }
}

function writeChild(json: JsonObject, child: ChildElement, path: string, context: Context, depth: number): void {
  const { name, content } = child;
  const value = json[name];
  const companion = json[`_${name}`];
  const expression = `${path}.${name}`;

  if (content.kind === 'primitive') {
    if (!child.isArray) {
      writePrimitive(name, content, value, companion, expression, context, depth + 1);
      return;
    }
    const values = asArray(value, expression);
    const companions = asArray(companion, `${path}._${name}`);
    if (value !== undefined && companion !== undefined && values.length !== companions.length) {
      throw new FhirXmlError(`${name} and _${name} must have the same length`, { expression, issueCode: 'structure' });
    }
    const count = Math.max(values.length, companions.length);
    for (let index = 0; index < count; index += 1) {
      writePrimitive(name, content, values[index] ?? undefined, companions[index] ?? undefined, `${expression}[${index}]`, context, depth + 1);
    }
    return;
  }

  const items = child.isArray ? asArray(value, expression) : [value];
  if (!child.isArray && Array.isArray(value)) {
    throw new FhirXmlError(`${name} must be a single value, not an array`, { expression, issueCode: 'structure' });
  }
  items.forEach((item, index) => {
    const itemPath = child.isArray ? `${expression}[${index}]` : expression;
    switch (content.kind) {
      case 'complex':
        writeComplex(name, item, context.model.structures.get(content.structure)!, itemPath, context, depth + 1);
        break;
      case 'resource':
        context.writer.open(name);
        writeResource(item, itemPath, context, depth + 2);
        context.writer.close(name);
        break;
      case 'xhtml':
        if (typeof item !== 'string') throw new FhirXmlError('Narrative div must be a string of XHTML', { expression: itemPath, issueCode: 'value' });
        // The div sits at depth + 1: its own nesting gets what is left of the document's bound.
        context.writer.markup(xhtmlFromJson(item, { ...context.limits, maxDepth: context.limits.maxDepth - depth }, itemPath));
        break;
    }
  });
}

function writeComplex(name: string, item: unknown, structure: Structure, path: string, context: Context, depth: number): void {
  if (!isObject(item)) throw new FhirXmlError(`${name} must be an object`, { expression: path, issueCode: 'structure' });
  checkDepth(depth, path, context);
  const attributes: [string, string][] = [];
  // url first on extensions (as FHIR's own tools write them), then id.
  for (const attribute of ['url', 'id']) {
    if (!structure.attributes.includes(attribute) || item[attribute] === undefined) continue;
    attributes.push([attribute, checkedString(item[attribute], `${path}.${attribute}`)]);
  }
  const hasElements = Object.keys(item).some((key) => !structure.attributes.includes(key));
  if (!hasElements) {
    if (attributes.length === 0) throw new FhirXmlError(`${name} must not be empty`, { expression: path, issueCode: 'structure' });
    context.writer.empty(name, attributes);
    return;
  }
  context.writer.open(name, attributes);
  writeContent(item, structure, path, context, depth);
  context.writer.close(name);
}

/** One primitive element from its JSON value and `_name` companion (id, extensions). */
function writePrimitive(name: string, content: PrimitiveContent, value: unknown, companion: unknown, path: string, context: Context, depth: number): void {
  if (value === undefined && companion === undefined) return; // a null on both sides: nothing was there
  checkDepth(depth, path, context);
  if (companion !== undefined && !isObject(companion)) {
    throw new FhirXmlError(`_${name} must be an object with id or extension`, { expression: path, issueCode: 'structure' });
  }
  const attributes: [string, string][] = [];
  if (companion?.id !== undefined) attributes.push(['id', checkedString(companion.id, `${path}.id`)]);
  if (value !== undefined) {
    const text = primitiveToXml(value, content.json, content.typeCode, path);
    attributes.push(['value', checkedString(text, path)]);
  }
  const unexpected = Object.keys(companion ?? {}).find((key) => key !== 'id' && key !== 'extension');
  if (unexpected) throw new FhirXmlError(`Unknown property ${unexpected} in _${name}`, { expression: `${path}.${unexpected}`, issueCode: 'structure' });
  const extensions = companion?.extension === undefined ? [] : asArray(companion.extension, `${path}.extension`);
  if (extensions.length === 0) {
    if (value === undefined) throw new FhirXmlError(`${name} has neither a value nor extensions`, { expression: path, issueCode: 'structure' });
    context.writer.empty(name, attributes);
    return;
  }
  context.writer.open(name, attributes);
  const extension = context.model.structures.get('Extension')!;
  extensions.forEach((item, index) => writeComplex('extension', item, extension, `${path}.extension[${index}]`, context, depth + 1));
  context.writer.close(name);
}

// The same bound as for reading, so whatever is written here can be read back.
function checkDepth(depth: number, path: string, context: Context): void {
  if (depth > context.limits.maxDepth) {
    throw new FhirXmlError(`Resource is nested too deeply: more than ${context.limits.maxDepth} levels`, { expression: path, issueCode: 'too-long' });
  }
}

function checkedString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new FhirXmlError('Value must be a string', { expression: path, issueCode: 'value' });
  if (!isXmlSafe(value)) throw new FhirXmlError('Value contains a character XML cannot carry', { expression: path, issueCode: 'value' });
  return value;
}

function asArray(value: unknown, path: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new FhirXmlError('Value must be an array', { expression: path, issueCode: 'structure' });
  return value;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !JSON.isRawJSON(value);
}
