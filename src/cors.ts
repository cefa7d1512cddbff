// CORS for the patient app only: a browser app served from one of the origins the operator lists
// (CORS_ORIGINS) may call patient sign-in and the FHIR API with its bearer token. Nothing else is
// open to browsers (XDS, health, operator endpoints), no other origin gets CORS headers, and no
// credentials mode is offered (the token travels in Authorization, never in a cookie).

/** The paths the patient app calls. */
export const CORS_PATHS: readonly string[] = ['/auth/patient/', '/fhir/', '/fhir'];

/** What a preflight allows (data: change it here). */
export const CORS_PREFLIGHT: Readonly<Record<string, string>> = {
  'access-control-allow-methods': 'GET, POST, PUT, DELETE',
  'access-control-allow-headers': 'authorization, content-type, accept, if-match, if-none-match, if-none-exist, prefer',
  'access-control-expose-headers': 'etag, last-modified, location, retry-after',
  'access-control-max-age': '600',
};

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Whether a request from `origin` to `url` gets CORS headers. */
export function corsAllowed(origin: string | undefined, url: string, allowed: readonly string[]): origin is string {
  if (!origin || !allowed.includes(origin)) return false;
  const path = pathOf(url);
  return CORS_PATHS.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));
}

interface CorsRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}
interface CorsReply {
  header(name: string, value: string): unknown;
  code(status: number): CorsReply;
  send(payload?: unknown): unknown;
}

/** onRequest: answers a preflight from an allowed origin (204), else lets the request go on. */
export function answerPreflight(request: CorsRequest, reply: CorsReply, allowed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (request.method !== 'OPTIONS' || typeof origin !== 'string' || request.headers['access-control-request-method'] === undefined) return false;
  if (!corsAllowed(origin, request.url, allowed)) return false;
  reply.header('access-control-allow-origin', origin);
  reply.header('vary', 'Origin');
  for (const [name, value] of Object.entries(CORS_PREFLIGHT)) reply.header(name, value);
  reply.code(204).send();
  return true;
}

/** onSend: the CORS headers of an actual request from an allowed origin. */
export function addCorsHeaders(request: CorsRequest, reply: CorsReply, allowed: readonly string[]): void {
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || !corsAllowed(origin, request.url, allowed)) return;
  reply.header('access-control-allow-origin', origin);
  reply.header('vary', 'Origin');
  reply.header('access-control-expose-headers', CORS_PREFLIGHT['access-control-expose-headers']);
}
