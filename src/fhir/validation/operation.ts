// The `$validate` operation's answer: the issues as an OperationOutcome, or a single
// informational "All OK" when there are none (an OperationOutcome needs at least one issue).
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { validateResource } from './validate.ts';

export interface ValidateOperationOptions {
  mode?: 'create' | 'update';
  /** The `profile` parameter: one canonical URL to validate against. */
  profile?: string;
}

export function validateForOperation(resource: unknown, options: ValidateOperationOptions = {}): OperationOutcome {
  const issues = validateResource(resource, {
    ...(options.mode ? { mode: options.mode } : {}),
    ...(options.profile ? { profiles: [options.profile] } : {}),
  });
  const issue: OperationOutcomeIssue[] = issues.length > 0
    ? issues.map((i) => ({ severity: i.severity, code: i.code, diagnostics: i.diagnostics, expression: i.expression }))
    : [{ severity: 'information', code: 'informational', diagnostics: 'All OK' }];
  return { resourceType: 'OperationOutcome', issue };
}
