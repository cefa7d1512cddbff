// Logging: pino, JSON lines on standard output. No health data in logs: requests are logged as
// method + path (never the query string, which carries search values such as ?name=), status,
// response time and request id; never headers (credentials) or bodies.
import { pino, stdSerializers, stdTimeFunctions } from 'pino';
import type { DestinationStream, Logger, LoggerOptions } from 'pino';
import { LogController } from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LogLevel } from './config.ts';

/** The path of a request URL, without its query string. */
export function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/** Orchestrators call these every few seconds: log them at debug unless they fail. */
const PROBES = new Set(['/health', '/ready']);

export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    base: { service: 'carnet' },
    timestamp: stdTimeFunctions.isoTime,
    serializers: {
      // Fastify passes its request and reply objects; keep only what cannot carry health data.
      req: (request: FastifyRequest) => ({ method: request.method, path: pathOf(request.url) }),
      res: (reply: FastifyReply) => ({ statusCode: reply.statusCode }),
      err: stdSerializers.err,
    },
    // Second line of defence, for objects logged by hand: credentials and payloads are dropped.
    redact: {
      paths: [
        'headers', '*.headers', 'body', '*.body', 'query', '*.query',
        'authorization', '*.authorization', 'cookie', '*.cookie', 'password', '*.password',
      ],
      remove: true,
    },
  };
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = loggerOptions(level);
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Fastify's per-request log lines, reshaped: one "request completed" line carrying method, path,
 * status and time (Fastify's own carries only the status), and the "incoming request" line moved
 * to debug. The request id is bound to every request's logger by Fastify (`reqId`).
 */
export class RequestLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'request received');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { req: request, res: reply, responseTime: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) {
      reply.log.error({ ...line, err: error }, 'request failed');
    } else if (PROBES.has(pathOf(request.url)) && reply.statusCode < 400) {
      reply.log.debug(line, 'request completed');
    } else {
      reply.log.info(line, 'request completed');
    }
  }

  // The default would log the raw URL, query string included; the completed line says enough.
  override routeNotFound(): void {}
}
