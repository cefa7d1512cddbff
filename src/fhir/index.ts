// Front door of the FHIR module: the REST API under /fhir over one store and one gate.
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/index.ts';
import { OPEN_GATE, type AccessGate } from './gate.ts';
import { BundleProcessor } from './bundle-processor.ts';
import { accessIndexWith, FhirRepository, type AccessAuditor, type Validator } from './repository.ts';
import type { Habilitations } from '../access/index.ts';
import { fhirRoutes, type FhirRouteDeps } from './routes.ts';
import { searchRegistry } from './search/registry.ts';
import { FhirXmlError, fhirTypeModel, parseFhirXml, toFhirXml } from './xml/index.ts';
import { OperationOutcomeError, type OperationOutcomeIssue } from './operation-outcome.ts';
import { validateResource, warmUpValidation } from './validation/index.ts';
import { releaseR4Definitions } from './definitions.ts';
import { SUPPORTED_TYPES } from './resource-types.ts';
import type { ResourceBody } from '../store/index.ts';
import type { Resource } from '@medplum/fhirtypes';

/** Every write is validated against R4 and the profiles it declares in meta.profile. */
export function validateOnWrite(resource: ResourceBody): OperationOutcomeIssue[] {
  return validateResource(resource) as OperationOutcomeIssue[];
}

/** Builds the models that would otherwise be built by the first requests, then frees the definitions they read. */
export function warmUpFhir(): void {
  searchRegistry();
  fhirTypeModel();
  warmUpValidation(SUPPORTED_TYPES);
  releaseR4Definitions();
}

/** FHIR XML in and out; a body that is not valid FHIR XML is a 400 naming the element. */
export const FHIR_XML: NonNullable<FhirRouteDeps['xml']> = {
  parse(xml) {
    try {
      return parseFhirXml(xml) as unknown as ResourceBody;
    } catch (e) {
      if (!(e instanceof FhirXmlError)) throw e;
      throw new OperationOutcomeError(400, [{ severity: 'error', code: e.issueCode, diagnostics: e.message, ...(e.expression ? { expression: [e.expression] } : {}) }]);
    }
  },
  serialize(resource, pretty) {
    return toFhirXml(resource as unknown as Resource, { pretty });
  },
};

export { FhirRepository, blobOf } from './repository.ts';
export type { PreparedWrite } from './repository.ts';
export type { AccessGate, RequestContext, GateAnswer } from './gate.ts';
export { OPEN_GATE } from './gate.ts';
export { OperationOutcomeError, operationOutcome } from './operation-outcome.ts';

export interface FhirOptions {
  store: Store;
  gate?: AccessGate;
  /** Default: the R4 rules and the profiles a resource declares; null turns validation off. */
  validate?: Validator | null;
  publicBaseUrl?: string;
  documentLimitBytes?: number;
  /** Records every access and write in the audit trail (default: none). */
  auditor?: AccessAuditor;
  /** The habilitation matrix whose class tables the access index uses (default: the shipped one). */
  matrix?: Habilitations;
  /** Default: FHIR XML; null turns XML off. */
  xml?: FhirRouteDeps['xml'] | null;
  context?: FhirRouteDeps['context'];
}

/** Registers the FHIR API (in its own plugin scope: its body parsers stay under /fhir). */
export function registerFhir(app: FastifyInstance, options: FhirOptions): FhirRepository {
  const repository = new FhirRepository({ store: options.store, registry: searchRegistry(), gate: options.gate ?? OPEN_GATE,
    validate: options.validate === undefined ? validateOnWrite : options.validate ?? undefined,
    auditor: options.auditor,
    documentLimitBytes: options.documentLimitBytes,
    ...(options.matrix ? { accessIndex: accessIndexWith(options.matrix) } : {}),
  });
  const bundles = new BundleProcessor(repository);
  void app.register(async (scope) => {
    fhirRoutes(scope, {
      repository,
      publicBaseUrl: options.publicBaseUrl,
      xml: options.xml === undefined ? FHIR_XML : options.xml,
      context: options.context,
      bundle: (ctx, bundle) => bundles.process(ctx, bundle),
    });
  });
  return repository;
}
