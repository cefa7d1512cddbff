// Binary over HTTP: raw uploads and downloads of document bytes, Range requests (ITI-68),
// the FHIR form with base64 data, and the size limit.
import t from 'tap';
import { createHash } from 'node:crypto';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openTestApp, type TestApp } from '../support/app.ts';
import { openTestStore } from '../support/store.ts';

let api: TestApp;
t.before(async () => {
  api = await openTestApp();
});
t.teardown(() => api.close());

function pdf(size: number): Buffer {
  const b = Buffer.alloc(size);
  b.write('%PDF-1.7\n');
  for (let i = 9; i < size; i++) b[i] = (i * 31) & 0xff;
  return b;
}

async function upload(bytes: Buffer, contentType = 'application/pdf'): Promise<string> {
  const r = await api.app.inject({ method: 'POST', url: '/fhir/Binary', headers: { 'content-type': contentType }, payload: bytes });
  if (r.statusCode !== 201) throw new Error(`upload failed ${r.statusCode} ${r.body}`);
  return JSON.parse(r.body).id;
}

t.test('a raw upload is read back byte for byte with its content type', async (t) => {
  const bytes = pdf(700 * 1024);
  const id = await upload(bytes);
  const r = await api.app.inject({ method: 'GET', url: `/fhir/Binary/${id}` });
  t.equal(r.statusCode, 200);
  t.equal(r.headers['content-type'], 'application/pdf');
  t.equal(r.headers['accept-ranges'], 'bytes');
  t.ok(r.rawPayload.equals(bytes));
});

t.test('a byte range answers 206 with exactly those bytes', async (t) => {
  const bytes = pdf(600 * 1024);
  const id = await upload(bytes);
  const r = await api.app.inject({ method: 'GET', url: `/fhir/Binary/${id}`, headers: { range: 'bytes=261000-300000' } });
  t.equal(r.statusCode, 206);
  t.equal(r.headers['content-range'], `bytes 261000-300000/${bytes.length}`);
  t.ok(r.rawPayload.equals(bytes.subarray(261000, 300001)));
  const suffix = await api.app.inject({ method: 'GET', url: `/fhir/Binary/${id}`, headers: { range: 'bytes=-10' } });
  t.ok(suffix.rawPayload.equals(bytes.subarray(bytes.length - 10)));
});

t.test('an unsatisfiable range answers 416', async (t) => {
  const id = await upload(pdf(1000));
  const r = await api.app.inject({ method: 'GET', url: `/fhir/Binary/${id}`, headers: { range: 'bytes=5000-6000' } });
  t.equal(r.statusCode, 416);
  t.equal(r.headers['content-range'], 'bytes */1000');
});

t.test('asking for FHIR JSON gives the Binary resource with base64 data and no internal notes', async (t) => {
  const bytes = pdf(2000);
  const id = await upload(bytes);
  const r = await api.call('GET', `/fhir/Binary/${id}`, undefined, { accept: 'application/fhir+json' });
  t.equal(r.body.resourceType, 'Binary');
  t.equal(r.body.contentType, 'application/pdf');
  t.ok(Buffer.from(r.body.data, 'base64').equals(bytes));
  t.notMatch(JSON.stringify(r.body), /urn:carnet:internal/);
});

t.test('a Binary sent as FHIR JSON is served raw from its decoded data', async (t) => {
  const bytes = Buffer.from('hello carnet');
  const created = await api.call('POST', '/fhir/Binary', { resourceType: 'Binary', contentType: 'text/plain', data: bytes.toString('base64') });
  t.equal(created.status, 201);
  t.equal(created.body.data, undefined, 'the bytes are not kept inside the resource');
  const r = await api.app.inject({ method: 'GET', url: `/fhir/Binary/${created.body.id}` });
  t.equal(r.body, 'hello carnet');
  t.match(r.headers['content-type'], /^text\/plain/);
});

t.test('a 50 MB document goes in and comes out whole', async (t) => {
  const bytes = pdf(50 * 1024 * 1024);
  const id = await upload(bytes);
  const r = await api.app.inject({ method: 'GET', url: `/fhir/Binary/${id}` });
  t.equal(r.statusCode, 200);
  t.equal(createHash('sha256').update(r.rawPayload).digest('hex'), createHash('sha256').update(bytes).digest('hex'));
});

t.test('a document over the size limit answers 413 and stores nothing', async (t) => {
  const { store, settings, cleanup } = await openTestStore();
  const app = buildApp({ config: loadConfig({ DATA_DIR: settings.dataDir, LOG_LEVEL: 'silent', DOCUMENT_LIMIT_BYTES: '100000', ACCESS_CONTROL: 'off' }), store });
  t.teardown(async () => {
    await app.close();
    await cleanup();
  });
  const r = await app.inject({ method: 'POST', url: '/fhir/Binary', headers: { 'content-type': 'application/pdf' }, payload: pdf(200000) });
  t.equal(r.statusCode, 413);
  const count = await app.inject({ method: 'GET', url: '/fhir/Binary?_summary=count' });
  t.equal(JSON.parse(count.body).total, 0);
});
