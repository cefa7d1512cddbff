// Refused identities are audited, over real mutual TLS: no identity, a bad certificate, a refused
// access mode, on the FHIR API and on XDS, each get their refusal AND a refused-login AuditEvent
// (client address, reason code, no dossier, no health data); a flood from one address is
// coalesced into one record at once and one counted record when its window ends. Each test
// calls from its own loopback address (127.0.0.x), as coalescing is per address.
import t from 'tap';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AuditEvent } from '@medplum/fhirtypes';
import { AuditTrail } from '../../src/audit/index.ts';
import type { Issued } from '../../src/identity/index.ts';
import { createParams, secureApp, type SecureApp } from '../dossier/support.ts';

let api: SecureApp;
let port: number;
let closed = false;

t.before(async () => {
  api = await secureApp();
  port = (api.secure.server.address() as AddressInfo).port;
});
t.teardown(async () => {
  if (!closed) await api.close();
});

interface Answer {
  status: number;
  body: string;
}

/** A request from a given loopback address, on a connection of its own. */
function send(from: string, method: string, path: string, options: { cert?: Issued; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        localAddress: from,
        agent: false,
        ca: api.pki.ca.certPem,
        ...(options.cert ? { cert: options.cert.certPem, key: options.cert.keyPem } : {}),
        headers: { ...(options.body ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}), ...options.headers },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The refused-login AuditEvents recorded for a client address. */
async function refusalsFrom(address: string): Promise<AuditEvent[]> {
  const trail = new AuditTrail(api.store);
  const found: AuditEvent[] = [];
  for await (const { event } of trail.entries()) {
    const login = event.subtype?.some((c) => c.code === '110122');
    const from = event.agent?.some((a) => a.network?.address === address);
    if (login && event.outcome === '4' && from) found.push(event);
  }
  return found;
}

/** Waits until `count` refusals from the address are recorded (they are written after the answer). */
async function waitForRefusals(address: string, count: number): Promise<AuditEvent[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = await refusalsFrom(address);
    if (found.length >= count || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const patientEntities = (event: AuditEvent) => (event.entity ?? []).filter((e) => e.what?.reference?.startsWith('Patient/'));

t.test('a request without any identity gets 401 and a refused-login record with its address and reason', async (t) => {
  const r = await send('127.0.0.2', 'GET', '/fhir/DocumentReference?patient=p-somebody');
  t.equal(r.status, 401);
  t.equal(JSON.parse(r.body).resourceType, 'OperationOutcome');
  const [event] = await waitForRefusals('127.0.0.2', 1);
  t.ok(event, 'recorded');
  t.equal(event.outcomeDesc, 'no-credentials');
  t.same(patientEntities(event), [], 'no dossier: nobody was identified to look at one');
  t.notMatch(JSON.stringify(event), /p-somebody/, 'the request’s values are not recorded');
});

t.test('an expired certificate gets 401 and a record with the reason expired', async (t) => {
  const r = await send('127.0.0.3', 'GET', '/fhir/Patient/p-somebody', { cert: api.pki.expired });
  t.equal(r.status, 401);
  const [event] = await waitForRefusals('127.0.0.3', 1);
  t.equal(event?.outcomeDesc, 'expired');
});

t.test('a certificate from a CA Carnet does not trust is recorded as such', async (t) => {
  const r = await send('127.0.0.4', 'GET', '/fhir/Patient/p-somebody', { cert: api.pki.foreign });
  t.equal(r.status, 401);
  const [event] = await waitForRefusals('127.0.0.4', 1);
  t.equal(event?.outcomeDesc, 'untrusted-issuer');
});

t.test('an access mode the identity may not use gets its refusal and a record', async (t) => {
  const r = await send('127.0.0.5', 'GET', '/fhir/Patient/p-somebody', { cert: api.pki.professionals.pharmacist, headers: { 'x-carnet-access-mode': 'emergency-call' } });
  t.ok(r.status === 401 || r.status === 403, `refused (${r.status})`);
  const [event] = await waitForRefusals('127.0.0.5', 1);
  t.equal(event?.outcomeDesc, 'mode-not-allowed');
});

t.test('an XDS request without identity gets a SOAP fault and a refused-login record', async (t) => {
  const envelope = '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>';
  const r = await send('127.0.0.6', 'POST', '/xds/registry', { body: envelope, headers: { 'content-type': 'application/soap+xml' } });
  t.equal(r.status, 401);
  t.match(r.body, /Fault/);
  const [event] = await waitForRefusals('127.0.0.6', 1);
  t.equal(event?.outcomeDesc, 'no-credentials');
});

t.test('a request a route lets in without identity is not recorded as a refusal, whatever its answer', async (t) => {
  // Opening a dossier online needs no identity; without the insurer's activation code it is refused for its content.
  const r = await send('127.0.0.7', 'POST', '/fhir/Patient/$create-dossier', { body: JSON.stringify(createParams({ channel: 'online' })), headers: { 'content-type': 'application/fhir+json' } });
  t.equal(r.status, 422, r.body.slice(0, 200));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.same(await refusalsFrom('127.0.0.7'), []);
});

t.test('a flood from one address is one record at once, then one counted record when its window ends', async (t) => {
  const flood = 25;
  for (let i = 0; i < flood; i++) t.equal((await send('127.0.0.8', 'GET', '/fhir/Patient/x')).status, 401, `request ${i + 1} refused`);
  const during = await waitForRefusals('127.0.0.8', 1);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal((await refusalsFrom('127.0.0.8')).length, 1, 'one record while the window is open');
  t.equal(during.length, 1);
  // Closing the server ends every window (a window otherwise ends after a minute).
  await api.secure.close();
  const after = await refusalsFrom('127.0.0.8');
  t.equal(after.length, 2, 'one more record for the rest of the flood');
  const counted = after.find((e) => e.period);
  const occurrences = counted?.entity?.flatMap((e) => e.detail ?? []).find((d) => d.type === 'occurrences')?.valueString;
  t.equal(occurrences, String(flood - 1), 'it counts the refusals after the first');
  t.ok(counted?.period?.start && counted.period.end, 'over the period they came in');
  await api.close();
  closed = true;
});
