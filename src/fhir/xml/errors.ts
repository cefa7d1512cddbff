// The one error type of the XML format, and the limits that bound what a client can make us do.
import type { IssueType } from '../operation-outcome.ts';

/**
 * Raised when FHIR XML cannot be read (or a resource cannot be written as XML).
 * `expression` is a FHIRPath-like location (`Patient.name[1].given[0]`) for the
 * OperationOutcome's issue.expression; `issueCode` is the OperationOutcome issue type that
 * fits (`structure` for unknown or misplaced content, `value` for a bad primitive,
 * `security` for a DTD, `too-long` for a limit).
 */
export class FhirXmlError extends Error {
  readonly expression: string | undefined;
  readonly issueCode: IssueType;
  /** 1-based position in the XML text, when the error comes from reading it. */
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(message: string, options: { expression?: string; issueCode?: IssueType; line?: number; column?: number } = {}) {
    super(message);
    this.name = 'FhirXmlError';
    this.expression = options.expression;
    this.issueCode = options.issueCode ?? 'structure';
    this.line = options.line;
    this.column = options.column;
  }
}

export interface FhirXmlLimits {
  /** Longest XML text accepted, in UTF-16 code units (about bytes for ASCII content). */
  maxLength: number;
  /** Deepest element nesting, XHTML narrative included. */
  maxDepth: number;
  /** Most elements in one document. */
  maxElements: number;
}

/**
 * Generous enough for a large transaction Bundle (50 MB is the largest bundle size public FHIR
 * services accept), small enough that one request cannot exhaust memory or stack. The HTTP
 * body limit, set lower for ordinary requests, usually bites first.
 */
export const DEFAULT_FHIR_XML_LIMITS: Readonly<FhirXmlLimits> = Object.freeze({
  maxLength: 50 * 1024 * 1024,
  maxDepth: 100,
  maxElements: 1_000_000,
});
