// GET /fhir/metadata: the CapabilityStatement, generated from what is really served — the
// resource types, their interactions and every search parameter of the registry.
import { EVERYTHING_DEFINITION } from './operations/everything.ts';
import { REINDEX_DEFINITION } from './operations/reindex.ts';
import { READ_ONLY_TYPES, SUPPORTED_TYPES } from './resource-types.ts';
import type { SearchRegistry } from './search/registry.ts';
import { isWordParam } from './search/words.ts';

const WRITE_INTERACTIONS = ['create', 'update', 'delete'];
const READ_INTERACTIONS = ['read', 'vread', 'search-type', 'history-instance', 'history-type'];
const SEARCH_RESULT_PARAMS = ['_count', '_sort', '_total', '_summary', '_elements', '_include', '_revinclude', '_has'];

const MHD_CAPABILITIES = 'https://profiles.ihe.net/ITI/MHD/CapabilityStatement';
const MHD_ACTORS = [`${MHD_CAPABILITIES}/IHE.MHD.DocumentRecipient`, `${MHD_CAPABILITIES}/IHE.MHD.DocumentRecipient.Simplified`, `${MHD_CAPABILITIES}/IHE.MHD.DocumentResponder`];

export function capabilityStatement(registry: SearchRegistry, options: { baseUrl: string; xml: boolean }): Record<string, unknown> {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString().slice(0, 10),
    publisher: 'Carnet',
    kind: 'instance',
    // The IHE MHD actors served (ITI-65 Provide, ITI-105 Simplified Publish, ITI-66/67/68 queries).
    instantiates: MHD_ACTORS,
    software: { name: 'Carnet', version: '0.1.0' },
    implementation: { description: 'Carnet shared health record server', url: options.baseUrl },
    fhirVersion: '4.0.1',
    format: options.xml ? ['application/fhir+json', 'application/fhir+xml'] : ['application/fhir+json'],
    rest: [
      {
        mode: 'server',
        interaction: [{ code: 'history-system' }],
        resource: SUPPORTED_TYPES.map((type) => ({
          type,
          interaction: [...READ_INTERACTIONS, ...(READ_ONLY_TYPES.has(type) ? [] : WRITE_INTERACTIONS)].map((code) => ({ code })),
          versioning: 'versioned-update',
          readHistory: true,
          conditionalRead: 'full-support',
          updateCreate: !READ_ONLY_TYPES.has(type),
          conditionalCreate: !READ_ONLY_TYPES.has(type),
          conditionalUpdate: !READ_ONLY_TYPES.has(type),
          conditionalDelete: READ_ONLY_TYPES.has(type) ? 'not-supported' : 'single',
          searchInclude: registry.forType(type).filter((p) => p.type === 'reference').map((p) => `${type}:${p.code}`),
          searchParam: registry
            .forType(type)
            .filter((p) => p.type !== 'special' || isWordParam(p.code))
            .map((p) => ({ name: p.code, definition: p.url, type: isWordParam(p.code) ? 'string' : p.type, ...(isWordParam(p.code) ? { documentation: 'every word given must appear, as a word or a word prefix, ignoring case and accents' } : {}) })),
          ...(type === 'Patient' ? { operation: [{ name: 'everything', definition: EVERYTHING_DEFINITION }] } : {}),
        })),
        searchParam: SEARCH_RESULT_PARAMS.map((name) => ({ name, type: 'special' })).filter((p) => p.name !== '_has'),
        operation: [{ name: 'reindex', definition: REINDEX_DEFINITION, documentation: 'operators: recompute the search index of stored resources (also POST /fhir/{type}/$reindex)' }],
      },
    ],
  };
}
