// A Carnet app on a fresh store of the pass's kind, driven with inject (no socket).
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { Store } from '../../src/store/index.ts';
import { openTestStore } from './store.ts';

export interface TestApp {
  app: FastifyInstance;
  store: Store;
  close(): Promise<void>;
  /** JSON request with FHIR JSON content type; parses the JSON answer. */
  call(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, any>; headers: LightMyRequestResponse['headers'] }>;
}

/**
 * The FHIR mechanics tests run with ACCESS_CONTROL=off (no identities); the access tests
 * (test/access-http) run the full engine over mutual TLS.
 */
export async function openTestApp(options: Partial<Pick<AppDeps, 'fhir'>> & { env?: Record<string, string> } = {}): Promise<TestApp> {
  const { store, settings, cleanup } = await openTestStore();
  const config = loadConfig({ DATA_DIR: settings.dataDir, LOG_LEVEL: 'silent', ACCESS_CONTROL: 'off', ...options.env });
  const app = buildApp({ config, store, fhir: options.fhir });
  await app.ready();
  return {
    app,
    store,
    async close() {
      await app.close();
      await cleanup();
    },
    async call(method, url, body, headers = {}) {
      const response = await app.inject({
        method: method as 'GET',
        url,
        headers: { ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}), ...headers },
        payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      let parsed: Record<string, any> = {};
      try {
        parsed = response.body ? JSON.parse(response.body) : {};
      } catch {
        parsed = { raw: response.body };
      }
      return { status: response.statusCode, body: parsed, headers: response.headers };
    },
  };
}

/** The ids of a searchset's matches, in order. */
export function matchIds(bundle: Record<string, any>): string[] {
  return (bundle.entry ?? []).filter((e: any) => e.search?.mode === 'match').map((e: any) => e.resource.id);
}
