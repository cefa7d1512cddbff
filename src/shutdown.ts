// Graceful shutdown: stop accepting, let requests in flight finish (for a grace period), close the
// store. Kept apart from main.ts so tests can run it in-process against a listening app.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Store } from './store/index.ts';

export interface ShutdownResult {
  /** True when the grace period ran out and open connections were cut. */
  forced: boolean;
}

export async function closeGracefully(
  app: FastifyInstance,
  store: Store,
  options: { graceMs: number; log: FastifyBaseLogger },
): Promise<ShutdownResult> {
  let forced = false;
  const timer = setTimeout(() => {
    forced = true;
    options.log.warn({ graceMs: options.graceMs }, 'grace period over: cutting open connections');
    app.server.closeAllConnections();
  }, options.graceMs);
  // A kept-alive connection whose request finishes during shutdown stays open until its client
  // closes it or keepAliveTimeout (72 s) passes; Fastify only closes the ones idle when close()
  // starts. So keep closing the ones that became idle.
  const reaper = setInterval(() => app.server.closeIdleConnections(), 100);
  try {
    // Fastify stops accepting, answers 503 to new requests on kept-alive connections, and resolves
    // once every connection is closed.
    await app.close();
  } finally {
    clearTimeout(timer);
    clearInterval(reaper);
    // Commits are all or nothing, so closing under a handler that was cut loses nothing half-done.
    await store.close();
  }
  return { forced };
}
