// FHIRPath evaluation for invariants (base and profile), with fhirpath.js and its R4 model.
// Each expression is compiled once per base path and cached.
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';

type Compiled = (resource: unknown, env: Record<string, unknown>) => unknown[];

const compiled = new Map<string, Compiled | null>();
/** Expressions fhirpath.js failed to compile or run, with the error (see unevaluatedInvariants). */
const failures = new Map<string, string>();

// Invariants such as ref-1 and dom-3 call trace(); it must not write to the console.
const OPTIONS = { traceFn: () => {} };

function compile(expression: string, base: string | undefined): Compiled | undefined {
  const key = `${base ?? ''}\u0000${expression}`;
  const cached = compiled.get(key);
  if (cached !== undefined) return cached ?? undefined;
  let fn: Compiled | undefined;
  try {
    fn = fhirpath.compile(base ? { base, expression } : expression, r4, OPTIONS) as Compiled;
  } catch (e) {
    fn = undefined;
    failures.set(expression, (e as Error).message);
  }
  compiled.set(key, fn ?? null);
  return fn;
}

export interface EvaluationContext {
  /** FHIRPath %resource: the resource holding the node (a contained one for its own nodes). */
  resource: unknown;
  /** FHIRPath %rootResource: the container of a contained resource, else the resource itself. */
  rootResource: unknown;
}

/**
 * Evaluates an invariant on a node: `false` when it fails, `true` when it holds, `undefined`
 * when fhirpath.js cannot evaluate it. `base` is the element path or type the node is known by
 * (omitted for a whole resource). Only an explicit false fails: an empty result means the
 * comparison could not be decided (e.g. dates of different precisions), which FHIR does not
 * count against the resource.
 */
export function evaluateInvariant(expression: string, base: string | undefined, node: unknown, context: EvaluationContext): boolean | undefined {
  const fn = compile(expression, base);
  if (!fn) return undefined;
  try {
    const result = fn(node, { resource: context.resource, rootResource: context.rootResource, ucum: 'http://unitsofmeasure.org' });
    return !(result.length === 1 && result[0] === false);
  } catch (e) {
    failures.set(expression, (e as Error).message);
    return undefined;
  }
}

/**
 * Invariants fhirpath.js could not evaluate so far (they never fail a resource), with the
 * error: empty in a healthy build; the test suite checks it after validating every example.
 */
export function unevaluatedInvariants(): Map<string, string> {
  return new Map(failures);
}
