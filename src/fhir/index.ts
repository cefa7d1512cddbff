// Front door of the FHIR module: the REST API under /fhir over one store and one gate.
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/index.ts';
import { OPEN_GATE, type AccessGate } from './gate.ts';
import { FhirRepository, type Validator } from './repository.ts';
import { fhirRoutes, type FhirRouteDeps } from './routes.ts';
import { searchRegistry } from './search/registry.ts';

export { FhirRepository } from './repository.ts';
export type { AccessGate, RequestContext, GateAnswer } from './gate.ts';
export { OPEN_GATE } from './gate.ts';
export { OperationOutcomeError, operationOutcome } from './operation-outcome.ts';

export interface FhirOptions {
  store: Store;
  gate?: AccessGate;
  validate?: Validator;
  publicBaseUrl?: string;
  xml?: FhirRouteDeps['xml'];
  context?: FhirRouteDeps['context'];
}

/** Registers the FHIR API (in its own plugin scope: its body parsers stay under /fhir). */
export function registerFhir(app: FastifyInstance, options: FhirOptions): FhirRepository {
  const repository = new FhirRepository({ store: options.store, registry: searchRegistry(), gate: options.gate ?? OPEN_GATE, validate: options.validate });
  void app.register(async (scope) => {
    fhirRoutes(scope, { repository, publicBaseUrl: options.publicBaseUrl, xml: options.xml, context: options.context });
  });
  return repository;
}
