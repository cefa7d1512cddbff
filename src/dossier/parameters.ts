// FHIR Parameters (https://hl7.org/fhir/R4/parameters.html), the body of operation requests and
// answers: reading named values, resources and parts; writing them.
import type { ResourceBody } from '../store/index.ts';

export interface Parameter {
  name: string;
  resource?: ResourceBody;
  part?: Parameter[];
  [value: `value${string}`]: unknown;
}

export class ParametersError extends Error {
  override name = 'ParametersError';
}

/** The parameters of a Parameters resource; an absent body counts as none. */
export function parametersOf(body: unknown): Parameter[] {
  if (body === undefined || body === null) return [];
  const p = body as { resourceType?: unknown; parameter?: unknown };
  if (p.resourceType !== 'Parameters') throw new ParametersError('the body must be a FHIR Parameters resource');
  if (p.parameter === undefined) return [];
  if (!Array.isArray(p.parameter)) throw new ParametersError('Parameters.parameter must be an array');
  for (const item of p.parameter as unknown[]) {
    if (!item || typeof item !== 'object' || typeof (item as Parameter).name !== 'string') throw new ParametersError('each parameter needs a name');
  }
  return p.parameter as Parameter[];
}

export function valueOf(parameter: Parameter | undefined): unknown {
  if (!parameter) return undefined;
  const key = Object.keys(parameter).find((k) => k.startsWith('value'));
  return key ? parameter[key as `value${string}`] : undefined;
}

export function all(params: Parameter[], name: string): Parameter[] {
  return params.filter((p) => p.name === name);
}

/** The one string-like value of a parameter (valueString, valueCode, valueId…), if any. */
export function text(params: Parameter[], name: string): string | undefined {
  const found = all(params, name);
  if (found.length > 1) throw new ParametersError(`parameter ${name} is given more than once`);
  const value = valueOf(found[0]);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ParametersError(`parameter ${name} must be a string value`);
  return value;
}

export function resource(params: Parameter[], name: string): ResourceBody | undefined {
  const found = all(params, name);
  if (found.length > 1) throw new ParametersError(`parameter ${name} is given more than once`);
  if (found[0] && !found[0].resource) throw new ParametersError(`parameter ${name} must hold a resource`);
  return found[0]?.resource;
}

/** Builds a Parameters resource from name/value entries (undefined values are left out). */
export function parameters(entries: Parameter[]): Record<string, unknown> {
  return { resourceType: 'Parameters', parameter: entries };
}

export const str = (name: string, value: string | undefined): Parameter[] => (value === undefined ? [] : [{ name, valueString: value }]);
export const code = (name: string, value: string | undefined): Parameter[] => (value === undefined ? [] : [{ name, valueCode: value }]);
export const int = (name: string, value: number): Parameter => ({ name, valueInteger: value });
