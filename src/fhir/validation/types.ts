// What the validator reports: one issue per problem found, shaped like an OperationOutcome issue
// so the REST layer can pass them through unchanged.
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';

export type IssueSeverity = 'error' | 'warning' | 'information';
export type IssueCode = OperationOutcomeIssue['code'];

export interface ValidationIssue {
  severity: IssueSeverity;
  /** FHIR issue-type code: structure, required, value, invariant, code-invalid… */
  code: IssueCode;
  /** Human-readable message (never the value of a health datum beyond the offending code). */
  diagnostics: string;
  /** FHIRPath of the faulty element, e.g. `Patient.identifier[0].system`. */
  expression: string[];
}

export interface ValidateOptions {
  /** Canonical URLs of profiles the resource must also conform to (beyond its meta.profile). */
  profiles?: string[];
  /** `update` also requires `id`; `create` (the default) does not. */
  mode?: 'create' | 'update';
}

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function error(code: IssueCode, expression: string, diagnostics: string): ValidationIssue {
  return { severity: 'error', code, diagnostics, expression: [expression] };
}
