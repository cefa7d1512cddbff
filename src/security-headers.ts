// Security headers on every answer. Carnet serves health data to programs, not pages: nothing
// it sends is to be framed, sniffed, cached by intermediaries or given a referrer, and over TLS
// browsers are told to keep to HTTPS.

/** The headers and their values (data: change them here). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/** Sent over HTTPS only (RFC 6797 ignores it over plain HTTP). */
export const HSTS = 'max-age=31536000';

/** Health data is not for shared caches: answers that set no caching policy of their own get this one. */
export const DEFAULT_CACHE_CONTROL = 'no-store';

interface HeaderReply {
  header(name: string, value: string): unknown;
  getHeader(name: string): unknown;
}

/** Adds the security headers to one answer. */
export function addSecurityHeaders(reply: HeaderReply, https: boolean): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
  if (https) reply.header('strict-transport-security', HSTS);
  if (reply.getHeader('cache-control') === undefined) reply.header('cache-control', DEFAULT_CACHE_CONTROL);
}
