// Shared by the dossier tests: apps on a fresh store of the pass's kind (access control off, or
// the full engine over mutual TLS with the test PKI), a clock tests move, and the resources a
// dossier is opened with.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { DossierOptions } from '../../src/dossier/index.ts';
import { createTestPki, type Issued, type TestPki } from '../../src/identity/index.ts';
import type { Store } from '../../src/store/index.ts';
import { openTestStore } from '../support/store.ts';

export type Json = Record<string, any>;

export interface Response {
  status: number;
  body: Json;
  headers: Record<string, unknown>;
  raw: string;
}

function parse(raw: string): Json {
  try {
    return raw ? JSON.parse(raw) : {};
  } catch {
    return { raw };
  }
}

/** A clock the test moves forward. */
export function testClock(start = Date.parse('2025-01-15T10:00:00Z')) {
  const clock = { now: start, read: () => clock.now, advance: (ms: number) => (clock.now += ms) };
  return clock;
}

export const YEAR_MS = Math.round(365.25 * 24 * 3600_000);

export interface OpenApp {
  app: FastifyInstance;
  store: Store;
  call(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/** An app with ACCESS_CONTROL=off on a fresh store (or on `store`). */
export async function openApp(options: { dossier?: Partial<DossierOptions>; store?: Store; dataDir?: string; env?: Record<string, string> } = {}): Promise<OpenApp> {
  const opened = options.store ? undefined : await openTestStore();
  const store = options.store ?? (opened as NonNullable<typeof opened>).store;
  const dataDir = options.dataDir ?? (opened as NonNullable<typeof opened>).settings.dataDir;
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ACCESS_CONTROL: 'off', ...options.env });
  const app = buildApp({ config, store, dossier: options.dossier } satisfies AppDeps);
  await app.ready();
  return {
    app,
    store,
    async call(method, url, body, headers = {}) {
      const isBytes = Buffer.isBuffer(body);
      const response = await app.inject({
        method: method as 'GET',
        url,
        headers: { ...(body !== undefined && !isBytes ? { 'content-type': 'application/fhir+json' } : {}), ...headers },
        payload: body === undefined ? undefined : isBytes ? (body as Buffer) : typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: response.statusCode, body: parse(response.body), headers: response.headers, raw: response.body };
    },
    async close() {
      await app.close();
      await opened?.cleanup();
    },
  };
}

export interface SecureApp {
  pki: TestPki;
  store: Store;
  /** The server's DATA_DIR (its sign-in secret, for credentials set outside the API). */
  dataDir: string;
  /** The same store with access control off, to seed data. */
  open: OpenApp;
  secure: FastifyInstance;
  /** Over mutual TLS with a client certificate, or a bearer token, or nothing. */
  call(method: string, path: string, options?: { cert?: Issued; token?: string; body?: unknown; contentType?: string; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

/** The full engine over mutual TLS (and an open twin on the same store for seeding). */
export async function secureApp(options: { dossier?: Partial<DossierOptions>; env?: Record<string, string>; pki?: TestPki } = {}): Promise<SecureApp> {
  const pki = options.pki ?? (await createTestPki());
  const opened = await openTestStore();
  const dir = mkdtempSync(join(tmpdir(), 'carnet-dossier-'));
  const files = { cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), ca: join(dir, 'ca.crt'), crl: join(dir, 'crl.pem') };
  writeFileSync(files.cert, pki.server.certPem);
  writeFileSync(files.key, pki.server.keyPem);
  writeFileSync(files.ca, pki.ca.certPem);
  writeFileSync(files.crl, pki.crlPem);
  const base = { DATA_DIR: opened.settings.dataDir, LOG_LEVEL: 'silent', ...options.env };
  const secure = buildApp({
    config: loadConfig({ ...base, TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key, TLS_CA_FILE: files.ca, TLS_CRL_FILE: files.crl }),
    store: opened.store,
    dossier: options.dossier,
  });
  await secure.listen({ port: 0, host: '127.0.0.1' });
  const port = (secure.server.address() as AddressInfo).port;
  const open = await openApp({ store: opened.store, dataDir: opened.settings.dataDir, dossier: options.dossier, env: options.env });
  return {
    pki,
    store: opened.store,
    dataDir: opened.settings.dataDir,
    open,
    secure,
    call(method, path, o = {}) {
      return new Promise((resolve, reject) => {
        const isBytes = Buffer.isBuffer(o.body);
        const payload = o.body === undefined ? undefined : isBytes ? (o.body as Buffer) : Buffer.from(typeof o.body === 'string' ? o.body : JSON.stringify(o.body));
        const headers: Record<string, string> = {
          ...(payload ? { 'content-type': o.contentType ?? 'application/fhir+json', 'content-length': String(payload.length) } : {}),
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...o.headers,
        };
        const req = httpsRequest(
          { host: '127.0.0.1', port, path, method, ca: pki.ca.certPem, ...(o.cert ? { cert: o.cert.certPem, key: o.cert.keyPem } : {}), headers },
          (res) => {
            let raw = '';
            res.on('data', (d: Buffer) => (raw += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parse(raw), headers: res.headers, raw }));
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    async close() {
      await secure.close();
      await open.app.close();
      await opened.cleanup();
    },
  };
}

// ---- resources ----------------------------------------------------------------------------------

export const INS_TEST = 'urn:oid:1.2.250.1.213.1.4.10';

let insCounter = 0;
/** A fresh test INS-NIR (born in Paris, 75) for each call. */
export function newIns(): string {
  insCounter++;
  return `1800175${String(100000 + insCounter + Math.floor(Math.random() * 800000)).padStart(6, '0')}`;
}

export function patient(ins: string, birthDate = '1980-01-15', extra: Json = {}): Json {
  return {
    resourceType: 'Patient',
    identifier: [{ system: INS_TEST, value: ins }],
    name: [{ family: 'DOSSIER', given: ['Léa'] }],
    birthDate,
    ...extra,
  };
}

export function creationConsent(dateTime = '2025-01-15T09:55:00Z'): Json {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'urn:carnet:fhir:CodeSystem:dossier-lifecycle', code: 'create-dossier' }] }],
    dateTime,
    provision: { type: 'permit' },
  };
}

/** The Parameters of $create-dossier. */
export function createParams(options: { ins?: string; birthDate?: string; channel?: string; email?: string; consent?: Json | null; patient?: Json; login?: string; password?: string; activationCode?: string; representatives?: Json[] } = {}): Json {
  const ins = options.ins ?? newIns();
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'patient', resource: options.patient ?? patient(ins, options.birthDate) },
      ...(options.consent === null ? [] : [{ name: 'consent', resource: options.consent ?? creationConsent() }]),
      ...(options.channel ? [{ name: 'channel', valueCode: options.channel }] : []),
      ...(options.email !== undefined || !options.representatives ? [{ name: 'email', valueString: options.email ?? 'lea@example.org' }] : []),
      ...(options.login ? [{ name: 'login', valueString: options.login }] : []),
      ...(options.password ? [{ name: 'password', valueString: options.password }] : []),
      ...(options.activationCode ? [{ name: 'activationCode', valueString: options.activationCode }] : []),
      ...(options.representatives ?? []).map((r) => ({ name: 'representative', part: Object.entries(r).map(([k, v]) => (k === 'relationship' ? { name: k, valueCode: v } : k === 'name' ? { name: k, valueHumanName: v } : { name: k, valueString: v })) })),
    ],
  };
}

/** A named output parameter's value (valueX or part list). */
export function out(parameters: Json, name: string): any {
  const p = (parameters.parameter ?? []).find((x: Json) => x.name === name);
  if (!p) return undefined;
  if (p.part) return Object.fromEntries(p.part.map((x: Json) => [x.name, Object.entries(x).find(([k]) => k.startsWith('value'))?.[1]]));
  if (p.resource) return p.resource;
  return Object.entries(p).find(([k]) => k.startsWith('value'))?.[1];
}

export function outAll(parameters: Json, name: string): Json[] {
  return (parameters.parameter ?? [])
    .filter((x: Json) => x.name === name)
    .map((p: Json) => Object.fromEntries((p.part ?? []).map((x: Json) => [x.name, Object.entries(x).find(([k]) => k.startsWith('value'))?.[1]])));
}

export const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from('1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n')]);
export const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);
export const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64, 2)]);

/** A habilitation matrix where patients may also declare structured data (what the lead's matrix needs). */
export function matrixWithPatientDeclarations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-matrix-'));
  const source = join(import.meta.dirname, '../../profiles/habilitations.json');
  const matrix = JSON.parse(readFileSync(source, 'utf8'));
  const extra = { resourceTypes: ['AllergyIntolerance', 'Condition', 'MedicationStatement', 'Observation', 'Immunization'] };
  matrix.actors.patient.create.push(extra);
  matrix.actors.representative.create.push(extra);
  matrix.typeClass = join(import.meta.dirname, '../../profiles/type-class.json');
  const file = join(dir, 'habilitations.json');
  writeFileSync(file, JSON.stringify(matrix));
  return file;
}

/** The one-time code the outbox holds last (what the e-mail or SMS would carry). */
export async function codeSent(store: Store): Promise<string> {
  const messages = await store.claimOutbox({ limit: 100, leaseMs: 60_000 });
  for (const m of messages) await store.completeOutbox(m.id);
  return String(messages.filter((m) => m.topic === 'otp').at(-1)?.payload.code);
}

/** Password, then the one-time code from the outbox: a bearer token, or the refusal's status. */
export async function signIn(api: SecureApp, login: string, password: string): Promise<{ status: number; token?: string }> {
  const start = await api.call('POST', '/auth/patient/sign-in', { body: { login, password }, contentType: 'application/json' });
  if (start.status !== 200) return { status: start.status };
  const verified = await api.call('POST', '/auth/patient/verify', { body: { challengeId: start.body.challengeId, code: await codeSent(api.store) }, contentType: 'application/json' });
  return { status: verified.status, token: verified.body.access_token };
}

/** The patient's authorisation of a professional, as the patient records it. */
export function authorisation(patientId: string, rpps: string): Json {
  return dossierControl(patientId, 'authorise', rpps);
}

/** A dossier control as the patient records it: authorise, block, treating-doctor (with a professional) or an opposition. */
export function dossierControl(patientId: string, code: 'authorise' | 'block' | 'treating-doctor' | 'oppose-break-the-glass' | 'oppose-emergency-call', rpps?: string): Json {
  const coding = (system: string, code: string) => ({ coding: [{ system, code }] });
  const deny = code === 'block' || code.startsWith('oppose-');
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: coding('http://terminology.hl7.org/CodeSystem/consentscope', 'patient-privacy'),
    category: [coding('urn:carnet:fhir:CodeSystem:dossier-control', code)],
    patient: { reference: `Patient/${patientId}` },
    policyRule: coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', deny ? 'OPTOUT' : 'OPTIN'),
    provision: {
      type: deny ? 'deny' : 'permit',
      ...(rpps ? { actor: [{ role: coding('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'PRCP'), reference: { identifier: { system: 'https://rpps.esante.gouv.fr', value: rpps } } }] } : {}),
    },
  };
}
