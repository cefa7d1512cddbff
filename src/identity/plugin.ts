// Fastify plug-ins for the lead to register (app.ts is not changed here):
//   identityPlugin        sets request.identity (an IdentityResult) on every request; routes
//                         decide whether they need one (refusalStatus() gives 401/403/429).
//   patientSignInRoutes   POST sign-in / verify / sign-out for patients and representatives.
// Logs carry refusal reason codes only, never a token, code, password or certificate.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { PatientAuth } from './patient-auth.ts';
import { identityFromRequest } from './tls.ts';
import type { IdentityContext, IdentityResult } from './tls.ts';
import { refusalStatus } from './types.ts';
import type { Refusal } from './types.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request, or why that could not be established (set by identityPlugin). */
    identity: IdentityResult | null;
  }
}

/** Marks a plug-in so that its hooks apply to the app that registers it (what fastify-plugin does). */
function global<T>(plugin: T): T {
  (plugin as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}

export const identityPlugin: FastifyPluginAsync<IdentityContext> = global(async (app: FastifyInstance, context: IdentityContext) => {
  app.decorateRequest('identity', null);
  app.addHook('onRequest', async (request) => {
    request.identity = await identityFromRequest(request, context);
    if (!request.identity.ok && request.identity.reason !== 'no-credentials') {
      request.log.info({ identityRefused: request.identity.reason }, 'identity not established');
    }
  });
});

function sendRefusal(reply: FastifyReply, refusal: Refusal): FastifyReply {
  if (refusal.retryAfterSeconds !== undefined) void reply.header('retry-after', String(refusal.retryAfterSeconds));
  return reply.code(refusalStatus(refusal.reason)).send({ error: refusal.message, reason: refusal.reason });
}

const signInBody = {
  type: 'object',
  required: ['login', 'password'],
  additionalProperties: false,
  properties: { login: { type: 'string', minLength: 1, maxLength: 254 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
} as const;

const verifyBody = {
  type: 'object',
  required: ['challengeId', 'code'],
  additionalProperties: false,
  properties: { challengeId: { type: 'string', maxLength: 64 }, code: { type: 'string', maxLength: 16 } },
} as const;

/**
 * Routes (register with a prefix, e.g. /auth/patient):
 *   POST /sign-in   {login, password}    → 200 {challengeId, channel, expiresAt}; a code is sent
 *   POST /verify    {challengeId, code}  → 200 {access_token, token_type: 'Bearer', expires_in}
 *   POST /sign-out  Authorization: Bearer … → 204 (the token stops working at once)
 * Refusals: 401 (or 429 with Retry-After while locked) and {error, reason}.
 */
export const patientSignInRoutes: FastifyPluginAsync<{ auth: PatientAuth }> = async (app, { auth }) => {
  app.addHook('onSend', async (_request, reply) => {
    void reply.header('cache-control', 'no-store');
  });

  app.post<{ Body: { login: string; password: string } }>('/sign-in', { schema: { body: signInBody } }, async (request, reply) => {
    const result = await auth.startSignIn(request.body.login, request.body.password);
    if (!result.ok) return sendRefusal(reply, result);
    return { challengeId: result.challengeId, channel: result.channel, expiresAt: new Date(result.expiresAt).toISOString() };
  });

  app.post<{ Body: { challengeId: string; code: string } }>('/verify', { schema: { body: verifyBody } }, async (request, reply) => {
    const result = await auth.completeSignIn(request.body.challengeId, request.body.code);
    if (!result.ok) return sendRefusal(reply, result);
    return {
      access_token: result.token,
      token_type: 'Bearer',
      expires_in: result.expiresInSeconds,
    };
  });

  app.post('/sign-out', async (request, reply) => {
    const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(request.headers.authorization ?? '');
    if (match) await auth.signOut(match[1]);
    // Same answer whether or not the token existed: sign-out reveals nothing.
    return reply.code(204).send();
  });
};
