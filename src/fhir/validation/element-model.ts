// The element tree of each FHIR type, compiled once from its StructureDefinition snapshot and
// cached: what the walker follows through a resource and what the checks read (cardinality,
// bindings, invariants). Backbone elements get their own inline model; datatypes are shared.
import { baseStructureDefinition, coreIdOf } from './structure-definitions.ts';
import type { SlimElement, SlimStructureDefinition } from './structure-definitions.ts';

export interface TypeRef {
  /** FHIR type code, also the suffix of a choice element's JSON name (`valueQuantity`). */
  code: string;
  /** Model to walk an occurrence with: the code, or a core profile of it (`SimpleQuantity`). */
  modelId: string;
  /** For Reference and canonical: the resource types it may point to (empty: any). */
  targets: string[];
}

export interface Constraint {
  key: string;
  human: string;
  expression: string;
}

export interface ElementDef {
  /** Path in its StructureDefinition: `Patient.contact`, `Observation.value[x]`, `Period.start`. */
  path: string;
  /** JSON name without the choice suffix: `contact`, `value`. */
  name: string;
  min: number;
  /** Infinity for `*`. */
  max: number;
  /** Whether JSON holds this element as an array (from the base definition's max). */
  isArray: boolean;
  choice: boolean;
  types: TypeRef[];
  /** Inline children (BackboneElement, or Element inside a datatype such as Timing.repeat). */
  inline?: TypeModel;
  binding?: { strength: string; valueSet: string };
  /** Error-severity FHIRPath constraints declared on this element. */
  constraints: Constraint[];
}

export interface TypeModel {
  /** `Patient`, `Period`, `SimpleQuantity`, or the path of a backbone (`Patient.contact`). */
  id: string;
  /** Type name FHIRPath knows the node by (`Quantity` for SimpleQuantity; the path for backbones). */
  fhirPathType: string;
  kind: 'resource' | 'complex-type' | 'primitive-type' | 'backbone';
  elements: ElementDef[];
  /** JSON property name → element and the type that name selects (choice elements have several). */
  byJsonKey: Map<string, { def: ElementDef; type: TypeRef }>;
  /** Error-severity constraints of the type itself (root element of its StructureDefinition). */
  constraints: Constraint[];
}

const models = new Map<string, TypeModel | null>();

/** The model of a resource or datatype by StructureDefinition id, or undefined when unknown. */
export function typeModel(id: string): TypeModel | undefined {
  const cached = models.get(id);
  if (cached !== undefined) return cached ?? undefined;
  const sd = baseStructureDefinition(id);
  const model = sd && sd.kind !== 'logical' ? buildModels(sd) : undefined;
  models.set(id, model ?? null);
  return model;
}

/** Whether `name` is a concrete resource type (as opposed to a datatype or unknown). */
export function isResourceType(name: string): boolean {
  return typeModel(name)?.kind === 'resource';
}

export function capitalize(code: string): string {
  return code.charAt(0).toUpperCase() + code.slice(1);
}

function errorConstraints(element: SlimElement): Constraint[] {
  return element.constraint
    .filter((c) => c.severity === 'error' && c.expression)
    .map((c) => ({ key: c.key, human: c.human, expression: c.expression as string }));
}

function typeRef(t: SlimElement['type'][number]): TypeRef {
  const profileId = t.profile?.map(coreIdOf).find((id) => id && baseStructureDefinition(id));
  const targets = (t.targetProfile ?? []).map(coreIdOf).filter((id): id is string => !!id);
  return { code: t.code, modelId: profileId ?? t.code, targets: targets.includes('Resource') ? [] : targets };
}

function buildModels(sd: SlimStructureDefinition): TypeModel {
  const children = new Map<string, SlimElement[]>();
  for (const el of sd.elements.slice(1)) {
    const parent = el.path.slice(0, el.path.lastIndexOf('.'));
    let list = children.get(parent);
    if (!list) children.set(parent, (list = []));
    list.push(el);
  }
  const inlineModels = new Map<string, TypeModel>();

  const modelFor = (path: string, kind: TypeModel['kind'], root: SlimElement | undefined): TypeModel => {
    const model: TypeModel = {
      id: kind === 'backbone' ? path : sd.id,
      fhirPathType: kind === 'backbone' ? path : sd.type,
      kind,
      elements: [],
      byJsonKey: new Map(),
      constraints: root && kind !== 'backbone' ? errorConstraints(root) : [],
    };
    if (kind === 'backbone') inlineModels.set(path, model);
    for (const el of children.get(path) ?? []) {
      const choice = el.path.endsWith('[x]');
      const name = el.path.slice(el.path.lastIndexOf('.') + 1).replace('[x]', '');
      const def: ElementDef = {
        path: el.path,
        name,
        min: el.min,
        max: el.max === '*' ? Infinity : Number(el.max),
        isArray: el.baseMax !== '1' && el.baseMax !== '0',
        choice,
        types: el.type.map(typeRef),
        constraints: errorConstraints(el),
        ...(el.binding?.valueSet ? { binding: { strength: el.binding.strength, valueSet: el.binding.valueSet } } : {}),
      };
      const target = el.contentReference ? el.contentReference.slice(el.contentReference.indexOf('#') + 1) : el.path;
      if (children.has(target)) {
        def.inline = inlineModels.get(target) ?? modelFor(target, 'backbone', undefined);
        if (def.types.length === 0) def.types = [{ code: 'BackboneElement', modelId: target, targets: [] }];
      }
      model.elements.push(def);
      for (const type of def.types) {
        model.byJsonKey.set(choice ? name + capitalize(type.code) : name, { def, type });
      }
    }
    return model;
  };

  const kind = sd.kind === 'resource' ? 'resource' : sd.kind;
  return modelFor(sd.elements[0].path, kind as TypeModel['kind'], sd.elements[0]);
}
