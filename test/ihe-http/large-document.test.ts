// A 50 MB document through ITI-41 (MTOM) and back through ITI-43, over a real socket on the
// pass's store, with the request generated and the answer read as streams: the server holds
// at no time anything near the whole message in memory.
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { parseMediaType } from '../../src/ihe/xds/content-type.ts';
import { buildSubmitObjectsRequest, readMtomMessage, serializeXml } from '../../src/ihe/xds/index.ts';
import { openTestApp, type TestApp } from '../support/app.ts';
import { ACTIONS, cxOf, INS_TEST_AUTHORITY, iti41MtomStream, newIns, REPOSITORY, submission } from './builders.ts';
import { answerOf, createPatient, errorsOf, extrinsicObjects, post, QUERY, retrieveRequest, SOAP_CONTENT_TYPE, statusOf, storedQuery } from './support.ts';

// 50 MB in and out (through FerretDB on the MongoDB pass) can take longer than the default timeout.
t.setTimeout(600_000);

const SIZE = 50 * 1024 * 1024;
const CHUNK = 64 * 1024;

let api: TestApp;
let port: number;
t.before(async () => {
  api = await openTestApp({ env: { XDS_REPOSITORY_UNIQUE_ID: REPOSITORY } });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  port = (api.app.server.address() as AddressInfo).port;
});
t.teardown(() => api.close());

/** 50 MB made on the fly, chunk by chunk (never whole in memory), with its SHA-1. */
function document(): { body: AsyncIterable<Uint8Array>; sha1: () => string } {
  const hash = createHash('sha1');
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < SIZE; offset += CHUNK) {
      const chunk = Buffer.alloc(Math.min(CHUNK, SIZE - offset), (offset / CHUNK) % 251);
      chunk.writeUInt32BE(offset, 0);
      hash.update(chunk);
      yield chunk;
    }
  }
  return { body: body(), sha1: () => hash.digest('hex') };
}

// A collector on demand, so that what is measured is the memory still in use (client and server
// share this process: the garbage of the generated chunks is not what this test is about).
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

/** The peak growth of live memory (heap and buffers, measured after a collection) while `run` runs. */
async function peakGrowth<T>(run: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const used = () => {
    // Twice: a collection frees dead buffers' memory in the background; the next one waits
    // for that to finish, so the figure is what is really still held.
    gc();
    gc();
    return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  };
  const baseline = used();
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, used())), 250);
  try {
    const result = await run();
    return { result, growth: peak - baseline };
  } finally {
    clearInterval(timer);
  }
}

function send(path: string, contentType: string, body: AsyncIterable<Uint8Array>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' } }, resolve);
    req.on('error', reject);
    void (async () => {
      for await (const chunk of body) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      req.end();
    })().catch(reject);
  });
}

void t.test('a 50 MB document goes in over ITI-41 and comes back over ITI-43 whole, streamed both ways', async (t) => {
  const ins = newIns();
  await createPatient(api.app, INS_TEST_AUTHORITY, ins);
  const objects = submission(cxOf(ins), [{ bytes: Buffer.alloc(0) }]);
  delete objects.documentEntries[0].hash;
  delete objects.documentEntries[0].size;
  const uniqueId = objects.documentEntries[0].uniqueId as string;
  const doc = document();
  const message = iti41MtomStream(serializeXml(buildSubmitObjectsRequest(objects)), [{ id: 'Document01', contentType: 'application/pdf', body: doc.body }]);

  const upload = await peakGrowth(async () => {
    const response = await send('/xds/repository', message.contentType, message.body);
    const chunks: Buffer[] = [];
    for await (const c of response) chunks.push(c as Buffer);
    return { status: response.statusCode ?? 0, contentType: String(response.headers["content-type"]), body: Buffer.concat(chunks) };
  });
  const answer = await answerOf(upload.result);
  t.equal(statusOf(answer.body), 'Success', JSON.stringify(errorsOf(answer.body)));
  t.ok(upload.growth < SIZE * 0.8, `live memory grew by ${Math.round(upload.growth / 1048576)} MB during the upload: less than the document (a bounded pipeline, not the whole message)`);

  const [entry] = extrinsicObjects(await answerOf(await post(api.app, 'registry', storedQuery(QUERY.GetDocuments, { $XDSDocumentEntryUniqueId: [`('${uniqueId}')`] }), SOAP_CONTENT_TYPE(''))));
  t.same(entry.slots.get('size'), [String(SIZE)], 'the repository measured the size');
  t.same(entry.slots.get('hash'), [doc.sha1()], 'and the SHA-1');

  const download = await peakGrowth(async () => {
    async function* request(): AsyncGenerator<Buffer> {
      yield Buffer.from(retrieveRequest(REPOSITORY, [uniqueId]));
    }
    const response = await send('/xds/repository', SOAP_CONTENT_TYPE(ACTIONS.iti43), request());
    const boundary = parseMediaType(String(response.headers['content-type']))?.params.get('boundary') as string;
    const mtom = await readMtomMessage(response, boundary);
    const hash = createHash('sha1');
    let size = 0;
    for await (const attachment of mtom.attachments()) {
      for await (const chunk of attachment.body) {
        hash.update(chunk);
        size += chunk.length;
      }
    }
    return { size, sha1: hash.digest('hex'), root: mtom.root.xml.toString('utf8') };
  });
  t.equal(download.result.size, SIZE);
  t.equal(download.result.sha1, entry.slots.get('hash')?.[0], 'the same bytes come back');
  t.match(download.result.root, /ResponseStatusType:Success/);
  t.ok(download.growth < SIZE * 0.8, `live memory grew by ${Math.round(download.growth / 1048576)} MB during the retrieve`);
});
