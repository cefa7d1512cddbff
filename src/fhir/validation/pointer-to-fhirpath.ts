// Turns the JSON pointer of a schema error (`/valueQuantity/value`, `/name/0/_given/1`) into the
// FHIRPath clients expect (`Observation.value.ofType(Quantity).value`, `Patient.name[0].given[1]`),
// following the element model and the instance (a contained resource's type is in its data).
import { typeModel } from './element-model.ts';
import type { TypeModel } from './element-model.ts';
import { isJsonObject } from './types.ts';

export interface PointerTarget {
  expression: string;
  /** FHIR type of the element pointed at, when the model knows it (`date`, `HumanName`…). */
  fhirType?: string;
}

function unescape(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function pointerToFhirPath(resource: unknown, pointer: string, rootExpression?: string): PointerTarget {
  const resourceType = isJsonObject(resource) ? String(resource.resourceType ?? 'Resource') : 'Resource';
  let expression = rootExpression ?? resourceType;
  let model: TypeModel | undefined = typeModel(resourceType);
  let data: unknown = resource;
  let fhirType: string | undefined = resourceType;
  const segments = pointer === '' ? [] : pointer.split('/').slice(1).map(unescape);
  // After `contained`, `entry.resource`…: the model comes from the resourceType of the item.
  let resourceSlot = false;
  for (const segment of segments) {
    if (Array.isArray(data)) {
      expression += `[${segment}]`;
      data = data[Number(segment)];
      if (resourceSlot) model = resourceModel(data);
      continue;
    }
    data = isJsonObject(data) ? data[segment] : undefined;
    const companion = segment.startsWith('_');
    const key = companion ? segment.slice(1) : segment;
    const entry = model?.byJsonKey.get(key);
    if (!entry) {
      expression += `.${segment}`;
      model = undefined;
      fhirType = undefined;
      resourceSlot = false;
      continue;
    }
    const { def, type } = entry;
    expression += def.choice ? `.${def.name}.ofType(${type.code})` : `.${def.name}`;
    fhirType = companion ? 'Element' : type.code;
    resourceSlot = type.code === 'Resource' && !companion;
    if (companion) model = typeModel('Element');
    else if (def.inline) model = def.inline;
    else if (resourceSlot) model = resourceModel(data);
    else model = typeModel(type.modelId);
  }
  return { expression, ...(fhirType ? { fhirType } : {}) };
}

function resourceModel(data: unknown): TypeModel | undefined {
  return isJsonObject(data) && typeof data.resourceType === 'string' ? typeModel(data.resourceType) : undefined;
}
