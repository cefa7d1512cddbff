// One pass over a resource, following its element model: each complex node (the resource, a
// datatype value, a backbone element, a primitive's `_x` companion) and each child element with
// all its occurrences go to the visitors, so every check shares a single traversal.
// The walker never reports: it tolerates shapes the schema check rejects (a lone object where an
// array belongs, a string where an object belongs) and simply does not descend into them.
import { isResourceType, typeModel } from './element-model.ts';
import type { ElementDef, TypeModel, TypeRef } from './element-model.ts';
import { isJsonObject } from './types.ts';
import type { JsonObject } from './types.ts';

export interface Occurrence {
  /** The JSON value; for a primitive given only through `_name`, undefined. */
  value: unknown;
  /** The `_name` companion of a primitive (id and extensions), when present. */
  companion?: unknown;
  type: TypeRef;
  /** FHIRPath of this occurrence: `Patient.name[0]`, `Observation.value.ofType(Quantity)`. */
  expression: string;
}

export interface WalkNode {
  value: JsonObject;
  model: TypeModel;
  expression: string;
  /** Element path from the resource root without indexes (`DocumentReference.content.attachment`). */
  path: string;
  /** The resource this node belongs to (FHIRPath %resource) and its container (%rootResource). */
  resource: JsonObject;
  rootResource: JsonObject;
}

export interface ElementVisit {
  parent: WalkNode;
  def: ElementDef;
  occurrences: Occurrence[];
  /** FHIRPath of the element itself, without index (`Patient.name`, `Observation.value`). */
  expression: string;
  /** A non-repeating element was given as a JSON array. */
  arrayForSingle: boolean;
}

export interface Visitor {
  node?(node: WalkNode): void;
  /** After a resource node and everything in it (its contained resources too) was visited. */
  resourceDone?(node: WalkNode): void;
  element?(visit: ElementVisit): void;
  occurrence?(occurrence: Occurrence, visit: ElementVisit): void;
}

/** Walks `resource` (which must carry a known resourceType) with every visitor. */
export function walkResource(resource: JsonObject, expression: string, visitors: Visitor[], rootResource = resource): void {
  const model = typeModel(String(resource.resourceType));
  if (!model || model.kind !== 'resource') return;
  const node: WalkNode = {
    value: resource, model, expression, path: model.id, resource, rootResource,
  };
  walkNode(node, visitors);
  for (const v of visitors) v.resourceDone?.(node);
}

function walkNode(node: WalkNode, visitors: Visitor[]): void {
  for (const v of visitors) v.node?.(node);
  for (const def of node.model.elements) {
    const visit = collect(node, def);
    for (const v of visitors) v.element?.(visit);
    for (const occurrence of visit.occurrences) {
      for (const v of visitors) v.occurrence?.(occurrence, visit);
      descend(node, def, occurrence, visitors);
    }
  }
}

function descend(parent: WalkNode, def: ElementDef, occurrence: Occurrence, visitors: Visitor[]): void {
  const path = `${parent.path}.${def.name}`;
  const { value, companion, type, expression } = occurrence;
  if (type.code === 'Resource') {
    // A contained resource is its own %resource; its container stays the %rootResource.
    // Bundle entries and Parameters resources stand alone.
    if (isJsonObject(value) && typeof value.resourceType === 'string' && isResourceType(value.resourceType)) {
      const contained = def.name === 'contained';
      walkResource(value, expression, visitors, contained ? parent.rootResource : value);
    }
    return;
  }
  if (def.inline) {
    if (isJsonObject(value)) walkNode({ ...parent, value, model: def.inline, expression, path }, visitors);
    return;
  }
  const model = typeModel(type.modelId);
  if (!model) return;
  if (model.kind === 'primitive-type') {
    const element = typeModel('Element');
    if (isJsonObject(companion) && element) {
      walkNode({ ...parent, value: companion, model: element, expression, path }, visitors);
    }
    return;
  }
  if (isJsonObject(value)) walkNode({ ...parent, value, model, expression, path }, visitors);
}

function collect(node: WalkNode, def: ElementDef): ElementVisit {
  const base = `${node.expression}.${def.name}`;
  const occurrences: Occurrence[] = [];
  let arrayForSingle = false;
  for (const type of def.types) {
    const key = def.choice ? def.name + type.code.charAt(0).toUpperCase() + type.code.slice(1) : def.name;
    const value = node.value[key];
    const companion = node.value[`_${key}`];
    if (value === undefined && companion === undefined) continue;
    const expression = def.choice ? `${base}.ofType(${type.code})` : base;
    const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
    const companions = Array.isArray(companion) ? companion : companion === undefined ? [] : [companion];
    if (!def.isArray && (Array.isArray(value) || Array.isArray(companion))) arrayForSingle = true;
    const indexed = def.isArray || arrayForSingle;
    const count = Math.max(values.length, companions.length);
    for (let i = 0; i < count; i++) {
      // In `given: ["a", null]` with `_given: [null, {…}]`, null is a placeholder, not a value.
      const v = values[i] === null ? undefined : values[i];
      const c = companions[i] === null ? undefined : companions[i];
      if (v === undefined && c === undefined) continue;
      occurrences.push({
        value: v,
        ...(c !== undefined ? { companion: c } : {}),
        type,
        expression: indexed ? `${expression}[${i}]` : expression,
      });
    }
  }
  return { parent: node, def, occurrences, expression: base, arrayForSingle };
}
