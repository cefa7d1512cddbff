// The dossier's HTTP face: FHIR operations under /fhir (JSON; errors are OperationOutcomes, as
// everywhere under /fhir), in their own plugin scope so that their body parsers stay theirs.
//
//   POST /fhir/Patient/$create-dossier            open a dossier (Parameters: patient, consent, …)
//   GET  /fhir/Patient/$dossier-status?identifier= whether a dossier exists for an INS, its status
//   GET  /fhir/Patient/{id}/$dossier-status
//   POST /fhir/Patient/{id}/$close                 close on the patient's request
//   POST /fhir/Patient/{id}/$reactivate            reopen within the retention period
//   POST /fhir/Patient/$activation-code            desk: an activation code for online opening
//   POST /fhir/Patient/{id}/$reset-credentials     desk: a new initial password
//   POST /fhir/Patient/{id}/$unblock-sign-in       desk: lift a sign-in lock-out
//   POST /fhir/Patient/{id}/$set-password          the holder changes their password
//   GET|POST /fhir/Patient/{id}/$notification-preferences  the patient chooses how they are told
//   GET  /fhir/$dossier-statistics                 desk: figures without health data
//   POST /fhir/Patient/{id}/$upload                the patient uploads a PDF/JPEG/PNG (raw body)
//   POST /fhir/Patient/{id}/$declare               the patient declares an allergy, condition…
//   POST /fhir/Patient/{id}/$register-device       the patient registers a device: its token
//   POST /fhir/Device/{id}/$revoke-token           the patient revokes the device's token
//   POST /fhir/Device/{id}/$observe                the device posts Observations (its token)
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OperationOutcomeError, type RequestContext } from '../fhir/index.ts';
import type { OtpChannel } from '../identity/index.ts';
import { parseJsonText, type ResourceBody, type StoredVersion } from '../store/index.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../fhir/format.ts';
import type { PatientContent } from './content.ts';
import type { DossierLifecycle, RepresentativeInput } from './lifecycle.ts';
import { actorOf, fail, problem } from './lifecycle.ts';
import { all, code, int, parameters, parametersOf, ParametersError, resource, str, text, valueOf, type Parameter } from './parameters.ts';
import { deskRefusal } from './rules.ts';
import { PERIODS, statistics, type Period } from './statistics.ts';
import type { NotificationPreferences } from './preferences.ts';
import type { AccessStatistics } from './types.ts';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const DAY_MS = 86_400_000;

export interface DossierHttpOptions {
  lifecycle: DossierLifecycle;
  content: PatientContent;
  /** The identity of a request (throws 401/403); absent when access control is off. */
  context?: (request: FastifyRequest) => Partial<RequestContext>;
  publicBaseUrl?: string;
  classes: readonly string[];
  accessStatistics?: AccessStatistics;
}

function queryOf(request: FastifyRequest): URLSearchParams {
  const q = request.url.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : request.url.slice(q + 1));
}

function identifierParam(raw: string | undefined): { system: string; value: string } {
  const bar = raw?.indexOf('|') ?? -1;
  if (!raw || bar <= 0 || bar === raw.length - 1) throw problem(400, 'required', 'identifier must be given as system|value (the INS)');
  return { system: raw.slice(0, bar), value: raw.slice(bar + 1) };
}

function otpOf(params: Parameter[]): OtpChannel | undefined {
  const email = text(params, 'email');
  const mobile = text(params, 'mobile');
  if (email && mobile) throw problem(422, 'invalid', 'give an e-mail address or a mobile number for the one-time codes, not both');
  if (email) return { channel: 'email', to: email };
  if (mobile) return { channel: 'sms', to: mobile };
  return undefined;
}

function representativesOf(params: Parameter[]): RepresentativeInput[] {
  return all(params, 'representative').map((p) => {
    const parts = p.part ?? [];
    const name = valueOf(parts.find((x) => x.name === 'name'));
    return {
      relationship: text(parts, 'relationship') ?? '',
      ...(name && typeof name === 'object' ? { name: name as Record<string, unknown> } : {}),
      ...(text(parts, 'login') !== undefined ? { login: text(parts, 'login') } : {}),
      ...(otpOf(parts) ? { otp: otpOf(parts) } : {}),
    };
  });
}

/** A date or instant parameter as epoch ms; a bare day counts to its end for `to`. */
function dateParam(raw: string | null, edge: 'start' | 'end', fallback: number): number {
  if (raw === null || raw === '') return fallback;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw problem(400, 'invalid', `${edge === 'start' ? 'from' : 'to'} must be a date (YYYY-MM-DD) or an instant`);
  return edge === 'end' && /^\d{4}-\d{2}-\d{2}$/.test(raw) ? ms + DAY_MS - 1 : ms;
}

export function dossierRoutes(app: FastifyInstance, options: DossierHttpOptions): void {
  const { lifecycle, content } = options;
  const open = !options.context;

  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser(['application/json', 'application/fhir+json'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
  // Uploads (application/pdf, image/*) stay streams: they go to the blob area as they arrive.
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  function baseUrl(request: FastifyRequest): string {
    return options.publicBaseUrl ? `${options.publicBaseUrl.replace(/\/$/, '')}/fhir` : `${request.protocol}://${request.host}/fhir`;
  }

  /** Who is asking; `anonymous`: a request without any identity is let through (online opening). */
  function contextOf(request: FastifyRequest, anonymous = false): RequestContext {
    const base: RequestContext = { baseUrl: baseUrl(request), strict: true };
    if (!options.context) return base;
    try {
      return { ...base, ...options.context(request) };
    } catch (e) {
      if (anonymous && e instanceof OperationOutcomeError && e.status === 401 && !request.headers.authorization) return base;
      throw e;
    }
  }

  function body(request: FastifyRequest): unknown {
    if (typeof request.body !== 'string' || request.body.trim() === '') return undefined;
    if (jsonDepthExceeds(request.body)) throw problem(400, 'structure', `the body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`);
    try {
      return parseJsonText(request.body);
    } catch {
      throw problem(400, 'structure', 'the body is not valid JSON');
    }
  }

  function params(request: FastifyRequest): Parameter[] {
    try {
      return parametersOf(body(request));
    } catch (e) {
      if (e instanceof ParametersError) throw problem(400, 'structure', e.message);
      throw e;
    }
  }

  /** Parameter reading errors are the client's. */
  function read<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof ParametersError) throw problem(400, 'invalid', e.message);
      throw e;
    }
  }

  function send(reply: FastifyReply, status: number, payload: Record<string, unknown>, secret = false): FastifyReply {
    if (secret) void reply.header('cache-control', 'no-store');
    return reply.code(status).type(FHIR_JSON).send(JSON.stringify(payload));
  }

  function sendResource(reply: FastifyReply, request: FastifyRequest, status: number, v: StoredVersion): FastifyReply {
    void reply.header('etag', `W/"${v.versionId}"`);
    void reply.header('last-modified', new Date(v.lastUpdated).toUTCString());
    if (status === 201) void reply.header('location', `${baseUrl(request)}/${v.type}/${v.id}/_history/${v.versionId}`);
    return send(reply, status, v.resource as ResourceBody);
  }

  const statusParameters = (found: Awaited<ReturnType<DossierLifecycle['statusOf']>>): Record<string, unknown> =>
    parameters(
      found
        ? [
            { name: 'exists', valueBoolean: true },
            { name: 'patient', valueReference: { reference: `Patient/${found.patientId}` } },
            ...code('status', found.record.status === 'active' ? 'active' : 'closed'),
            { name: 'created', valueDateTime: found.record.createdAt },
            ...(found.record.closedAt ? [{ name: 'closed', valueDateTime: found.record.closedAt }] : []),
            ...(found.record.purgeAt !== undefined ? [{ name: 'keptUntil', valueDateTime: new Date(found.record.purgeAt).toISOString() }] : []),
          ]
        : [{ name: 'exists', valueBoolean: false }],
    );

  // ---- lifecycle --------------------------------------------------------------------------------------

  app.post('/fhir/Patient/$create-dossier', async (request, reply) => {
    const ctx = contextOf(request, true);
    const p = params(request);
    const result = await lifecycle.create(
      ctx,
      read(() => ({
        patient: resource(p, 'patient'),
        consent: resource(p, 'consent'),
        channel: text(p, 'channel'),
        login: text(p, 'login'),
        password: text(p, 'password'),
        otp: otpOf(p),
        activationCode: text(p, 'activationCode'),
        representatives: representativesOf(p),
      })),
    );
    void reply.header('location', `${ctx.baseUrl}/Patient/${result.patientId}`);
    return send(
      reply,
      201,
      parameters([
        { name: 'patient', valueReference: { reference: `Patient/${result.patientId}` } },
        ...code('status', 'active'),
        ...code('channel', result.channel),
        { name: 'minor', valueBoolean: result.minor },
        ...result.credentials.map((c) => ({
          name: 'credentials',
          part: [...code('role', c.role), ...str('login', c.login), ...str('initialPassword', c.initialPassword), ...(c.existing ? [{ name: 'existing', valueBoolean: true }] : [])],
        })),
      ]),
      true,
    );
  });

  app.get('/fhir/Patient/$dossier-status', async (request, reply) => {
    const ctx = contextOf(request);
    const found = await lifecycle.statusOf(ctx, { ins: identifierParam(queryOf(request).get('identifier') ?? undefined) });
    return send(reply, 200, statusParameters(found));
  });

  app.get<{ Params: { id: string } }>('/fhir/Patient/:id/$dossier-status', async (request, reply) => {
    const ctx = contextOf(request);
    return send(reply, 200, statusParameters(await lifecycle.statusOf(ctx, { patientId: request.params.id })));
  });

  app.post<{ Params: { id: string } }>('/fhir/Patient/:id/$close', async (request, reply) => {
    const ctx = contextOf(request);
    const p = params(request);
    const closed = await lifecycle.close(ctx, request.params.id, read(() => text(p, 'reason')) ?? 'patient-request');
    return send(reply, 200, statusParameters({ patientId: closed.patientId, record: closed }));
  });

  app.post<{ Params: { id: string } }>('/fhir/Patient/:id/$reactivate', async (request, reply) => {
    const ctx = contextOf(request);
    const p = params(request);
    const active = await lifecycle.reactivate(ctx, request.params.id, read(() => resource(p, 'consent')));
    return send(reply, 200, statusParameters({ patientId: active.patientId, record: active }));
  });

  // ---- the support desk ---------------------------------------------------------------------------

  app.post('/fhir/Patient/$activation-code', async (request, reply) => {
    const ctx = contextOf(request);
    const p = params(request);
    const identifier = read(() => valueOf(all(p, 'identifier')[0])) as { system?: unknown; value?: unknown } | undefined;
    if (typeof identifier?.system !== 'string' || typeof identifier.value !== 'string') throw problem(400, 'required', 'identifier (valueIdentifier: the INS) is needed');
    const issued = await lifecycle.issueActivationCode(ctx, { system: identifier.system, value: identifier.value });
    return send(reply, 200, parameters([...str('activationCode', issued.code), { name: 'expires', valueDateTime: issued.expiresAt }]), true);
  });

  app.post<{ Params: { id: string } }>('/fhir/Patient/:id/$reset-credentials', async (request, reply) => {
    const ctx = contextOf(request);
    const p = params(request);
    const reset = await lifecycle.resetCredentials(ctx, request.params.id, read(() => ({ login: text(p, 'login'), identityCheck: text(p, 'identityCheck') })));
    return send(reply, 200, parameters([...str('login', reset.login), ...str('initialPassword', reset.initialPassword)]), true);
  });

  app.post<{ Params: { id: string } }>('/fhir/Patient/:id/$unblock-sign-in', async (request, reply) => {
    const ctx = contextOf(request);
    const p = params(request);
    const done = await lifecycle.unblockSignIn(ctx, request.params.id, read(() => ({ login: text(p, 'login'), identityCheck: text(p, 'identityCheck') })));
    return send(reply, 200, parameters(str('login', done.login)));
  });

  app.post<{ Params: { id: string } }>('/fhir/Patient/:id/$set-password', async (request, reply) => {
    const ctx = contextOf(request);
    const p = params(request);
    await lifecycle.setPassword(ctx, request.params.id, read(() => ({ login: text(p, 'login'), current: text(p, 'currentPassword'), next: text(p, 'newPassword') })));
    return send(reply, 200, parameters([...code('outcome', 'password-changed')]), true);
  });

  // ---- how the patient is told ----------------------------------------------------------------------

  const preferencesParameters = (p: { chosen?: NotificationPreferences; signIn?: { channel: string; to: string } }) =>
    parameters([
      ...(p.chosen?.channels ?? []).flatMap((c) => code('channel', c)),
      ...str('email', p.chosen?.email),
      ...str('phone', p.chosen?.phone),
      ...(p.signIn ? [{ name: 'signIn', part: [...code('channel', p.signIn.channel), ...str('address', p.signIn.to)] }] : []),
    ]);

  app.get<{ Params: { id: string } }>('/fhir/Patient/:id/$notification-preferences', async (request, reply) => {
    const ctx = contextOf(request);
    return send(reply, 200, preferencesParameters(await lifecycle.notificationPreferences(ctx, request.params.id)), true);
  });

  app.post<{ Params: { id: string } }>('/fhir/Patient/:id/$notification-preferences', async (request, reply) => {
    const ctx = contextOf(request);
    const p = params(request);
    const input = read(() => ({ channels: all(p, 'channel').map((x) => String(valueOf(x))), email: text(p, 'email'), phone: text(p, 'phone') }));
    await lifecycle.chooseNotificationPreferences(ctx, request.params.id, input);
    return send(reply, 200, preferencesParameters(await lifecycle.notificationPreferences(ctx, request.params.id)), true);
  });

  app.get('/fhir/$dossier-statistics', async (request, reply) => {
    const ctx = contextOf(request);
    const refusal = deskRefusal(actorOf(ctx), open);
    if (refusal) fail(refusal);
    const query = queryOf(request);
    const period = (query.get('period') ?? 'month') as Period;
    if (!PERIODS.includes(period)) throw problem(400, 'invalid', `period must be one of ${PERIODS.join(', ')}`);
    const to = dateParam(query.get('to'), 'end', lifecycle.now());
    const from = dateParam(query.get('from'), 'start', to - 365 * DAY_MS);
    const figures = await statistics(lifecycle.store, options.classes, options.accessStatistics, { from, to, period });
    await lifecycle.commit({ writes: [] }, { kind: 'statistics-exported', at: new Date(lifecycle.now()).toISOString(), actor: actorOf(ctx) });
    return send(
      reply,
      200,
      parameters([
        { name: 'from', valueDateTime: new Date(from).toISOString() },
        { name: 'to', valueDateTime: new Date(to).toISOString() },
        ...code('period', period),
        ...figures.dossiers.map((r) => ({ name: 'dossiers', part: [...code('channel', r.channel), ...str('period', r.period), ...str('department', r.department), int('count', r.count)] })),
        ...figures.documents.map((d) => ({ name: 'documents', part: [...code('class', d.classCode), int('count', d.count)] })),
        ...(figures.accesses ?? []).map((a) => ({ name: 'accesses', part: [...code('mode', a.mode), int('count', a.count)] })),
      ]),
    );
  });

  // ---- what the patient adds ------------------------------------------------------------------------

  app.post<{ Params: { id: string } }>('/fhir/Patient/:id/$upload', async (request, reply) => {
    const ctx = contextOf(request);
    const query = queryOf(request);
    const raw = request.body;
    const source = raw instanceof Readable ? raw : Readable.from(raw === undefined || raw === null ? [] : [Buffer.from(typeof raw === 'string' ? raw : String(raw))]);
    const v = await content.upload(ctx, request.params.id, {
      contentType: String(request.headers['content-type'] ?? ''),
      body: source,
      type: query.get('type') ?? undefined,
      title: query.get('title') ?? undefined,
      description: query.get('description') ?? undefined,
    });
    return sendResource(reply, request, 201, v);
  });

  /** A body that is the resource itself, or Parameters holding it under `name`. */
  function resourceBody(request: FastifyRequest, name: string): ResourceBody | undefined {
    const b = body(request) as ResourceBody | undefined;
    if (b?.resourceType !== 'Parameters') return b;
    return read(() => resource(parametersOf(b), name));
  }

  app.post<{ Params: { id: string } }>('/fhir/Patient/:id/$declare', async (request, reply) => {
    const ctx = contextOf(request);
    return sendResource(reply, request, 201, await content.declare(ctx, request.params.id, resourceBody(request, 'resource')));
  });

  app.post<{ Params: { id: string } }>('/fhir/Patient/:id/$register-device', async (request, reply) => {
    const ctx = contextOf(request);
    const { device, token } = await content.registerDevice(ctx, request.params.id, resourceBody(request, 'device'));
    void reply.header('location', `${ctx.baseUrl}/Device/${device.id}`);
    return send(reply, 201, parameters([{ name: 'device', resource: device.resource as ResourceBody }, ...str('token', token)]), true);
  });

  app.post<{ Params: { id: string } }>('/fhir/Device/:id/$revoke-token', async (request, reply) => {
    const ctx = contextOf(request);
    return sendResource(reply, request, 200, await content.revokeDevice(ctx, request.params.id));
  });

  app.post<{ Params: { id: string } }>('/fhir/Device/:id/$observe', async (request, reply) => {
    // The device's own token, not a person's identity: the identity layer is not asked.
    const token = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    const ctx: RequestContext = { baseUrl: baseUrl(request), strict: true };
    const written = await content.observe(ctx, token, request.params.id, body(request) as ResourceBody | undefined);
    if (written.length === 1 && (body(request) as ResourceBody | undefined)?.resourceType === 'Observation') return sendResource(reply, request, 201, written[0]);
    return send(reply, 201, {
      resourceType: 'Bundle',
      type: 'batch-response',
      entry: written.map((v) => ({ resource: v.resource, response: { status: '201 Created', location: `Observation/${v.id}/_history/${v.versionId}`, etag: `W/"${v.versionId}"` } })),
    });
  });
}
