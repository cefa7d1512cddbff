// The store query a FHIR search becomes, built as the repository builds it (parse, then
// compile), without running it: for query-plan checks (test/fhir/search-index-use.test.ts) and
// diagnostics. Chains and _has would need to run their inner searches, so they are refused here.
import type { SearchQuery } from '../../store/index.ts';
import { OperationOutcomeError } from '../operation-outcome.ts';
import { compileSearch } from './compile.ts';
import { parseSearch } from './parse.ts';
import type { SearchRegistry } from './registry.ts';

export async function storeQuery(registry: SearchRegistry, type: string, params: [string, string][], options: { baseUrl?: string } = {}): Promise<SearchQuery> {
  const search = parseSearch(type, params, registry, { strict: true, defaultCount: 20, maxCount: 1000 });
  const noInnerSearch = (): never => {
    throw new OperationOutcomeError(400, [{ severity: 'error', code: 'not-supported', diagnostics: 'chains and _has run inner searches: not available here' }]);
  };
  const where = await compileSearch(search, { registry, baseUrl: options.baseUrl, resolve: noInnerSearch, referencedBy: noInnerSearch });
  return {
    types: [type],
    where,
    count: search.count,
    sort: search.sort.map((s) => ({ key: s.param, descending: s.descending })),
  };
}
