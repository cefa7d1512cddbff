// The few base R4 invariants that are not evaluated as written, each with the reason. The test
// suite evaluates every other error-severity invariant of the served types and datatypes, so an
// expression fhirpath.js cannot run shows up there, not in production.

/** Checked by Carnet's own code (native-invariants.ts) rather than by FHIRPath. */
export const NATIVE_INVARIANTS: Record<string, string> = {
  'ele-1': 'applies to every element of every resource: a plain check of "has a value or children" costs far less than one FHIRPath evaluation per element',
  'txt-1': 'htmlChecks() is not a function fhirpath.js implements; checked natively: allowed XHTML elements, XHTML namespace, no event attributes or script URLs',
  'txt-2': 'htmlChecks() is not a function fhirpath.js implements; checked natively: the narrative has non-whitespace content',
  'dom-3': 'fhirpath.js cannot run it as written (R4 applies as(canonical) to a collection, which fhirpath.js only allows on one item) and, rewritten with ofType(), its descendants() scans cost ~2 ms per resource with contained resources; checked natively from the references the walk meets (Reference.reference, canonical, uri, url)',
  'ref-1': 'on every Reference, ~0.1 ms each in fhirpath.js; checked natively, with the R4B correction that lets a contained resource refer to its container with "#"',
};

/**
 * Invariants that can only fail when the node has this property (each expression starts by
 * navigating into it): not evaluated when the property is absent, which spares the FHIRPath
 * evaluation on the many resources without contained resources.
 */
export const INVARIANT_NEEDS_PROPERTY: Record<string, string> = {
  'dom-2': 'contained',
  'dom-4': 'contained',
  'dom-5': 'contained',
};

/** Not evaluated at all. */
export const SKIPPED_INVARIANTS: Record<string, string> = {};
