// Rate limiting per identity: each professional, establishment user, system actor, patient or
// device may make so many requests a minute; requests without an identity are counted per client
// address. Past the limit the answer is 429 with Retry-After, in the protocol's own error format
// (the app's and the XDS scope's error handlers). Only with access control on: without
// identities there is nothing to be fair between. The counts live in this process (one window
// per key and minute); instances behind a load balancer each count their own share.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IdentityResult } from './identity/index.ts';

/** Fixed one-minute windows per key. */
export class RateLimiter {
  readonly #perMinute: number;
  #window = -1;
  #counts = new Map<string, number>();

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Counts one request for `key` at `now` (epoch ms): allowed, or refused until the next window. */
  take(key: string, now: number): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const window = Math.floor(now / 60_000);
    if (window !== this.#window) {
      // A new minute: the old counts are dropped whole, so the map never outgrows one minute's callers.
      this.#window = window;
      this.#counts = new Map();
    }
    const count = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, count);
    if (count <= this.#perMinute) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000)) };
  }
}

/** Whom a request counts against: its identity when it has one, else its client address. */
export function rateKey(identity: IdentityResult | null | undefined, address: string): string {
  if (!identity || !identity.ok) return `address:${address}`;
  const who = identity.identity;
  switch (who.kind) {
    case 'professional':
    case 'regulator':
      return `professional:${who.rpps}`;
    case 'patient':
      return `patient:${who.patientId}`;
    case 'representative':
      return `representative:${[...who.patientIds].sort().join(',')}`;
    case 'device':
      return `device:${who.deviceId}`;
    case 'care-history-feed':
    case 'operator':
      return `${who.kind}:${who.id}`;
  }
}

/** An error the error handlers answer as 429 (OperationOutcome under /fhir, a SOAP fault for XDS). */
export class TooManyRequests extends Error {
  readonly statusCode = 429;
  constructor() {
    super('too many requests: try again later');
  }
}

/** Counts every request after the identity hook; `perMinute` 0 turns the limit off. */
export function registerRateLimit(app: FastifyInstance, options: { perMinute: number; now?: () => number }): void {
  if (options.perMinute <= 0) return;
  const limiter = new RateLimiter(options.perMinute);
  const now = options.now ?? Date.now;
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const verdict = limiter.take(rateKey(request.identity, request.ip), now());
    if (verdict.allowed) return;
    void reply.header('retry-after', String(verdict.retryAfterSeconds));
    throw new TooManyRequests();
  });
}
