// FHIR R4 OperationOutcome: the body of every FHIR error answer.
// The types are a minimal local copy until @medplum/fhirtypes is a dependency; they follow
// http://hl7.org/fhir/R4/operationoutcome.html and can be swapped for Medplum's then.

export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

/** http://hl7.org/fhir/R4/valueset-issue-type.html */
export type IssueType =
  | 'invalid' | 'structure' | 'required' | 'value' | 'invariant'
  | 'security' | 'login' | 'unknown' | 'expired' | 'forbidden' | 'suppressed'
  | 'processing' | 'not-supported' | 'duplicate' | 'multiple-matches' | 'not-found' | 'deleted'
  | 'too-long' | 'code-invalid' | 'extension' | 'too-costly' | 'business-rule' | 'conflict'
  | 'transient' | 'lock-error' | 'no-store' | 'exception' | 'timeout' | 'incomplete' | 'throttled'
  | 'informational';

export interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

export interface OperationOutcomeIssue {
  severity: IssueSeverity;
  code: IssueType;
  details?: { coding?: Coding[]; text?: string };
  /** Human-readable text about this issue (what clients such as test tools display). */
  diagnostics?: string;
  /** FHIRPath of the element(s) concerned. */
  expression?: string[];
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  id?: string;
  issue: OperationOutcomeIssue[];
}

export function operationOutcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** The usual FHIR issue type for an HTTP error status. */
export function issueTypeForStatus(status: number): IssueType {
  switch (status) {
    case 401: return 'login';
    case 403: return 'forbidden';
    case 404: return 'not-found';
    case 405: case 406: case 415: return 'not-supported';
    case 408: case 504: return 'timeout';
    case 409: case 412: return 'conflict';
    case 410: return 'deleted';
    case 413: return 'too-long';
    case 422: return 'processing';
    case 429: return 'throttled';
    case 503: return 'transient';
    default: return status >= 500 ? 'exception' : 'invalid';
  }
}

/**
 * An error the FHIR layer throws to answer with this HTTP status and these issues;
 * the app's error handler turns it into an OperationOutcome response.
 */
export class OperationOutcomeError extends Error {
  readonly status: number;
  readonly issues: OperationOutcomeIssue[];

  constructor(status: number, issues: OperationOutcomeIssue[] | string) {
    const list: OperationOutcomeIssue[] = typeof issues === 'string'
      ? [{ severity: 'error', code: issueTypeForStatus(status), diagnostics: issues }]
      : issues;
    super(list.map((i) => i.diagnostics ?? i.details?.text ?? i.code).join('; '));
    this.name = 'OperationOutcomeError';
    this.status = status;
    this.issues = list;
  }

  get outcome(): OperationOutcome {
    return operationOutcome(this.issues);
  }
}
