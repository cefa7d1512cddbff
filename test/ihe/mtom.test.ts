import { createHash } from 'node:crypto';
import t from 'tap';
import {
  buildMtomMessage, contentIdFromHref, documentContent, measuring, MtomError, parseXml, readMtomMessage,
} from '../../src/ihe/xds/index.ts';
import { collect, inPieces } from './fixtures.ts';

const ENVELOPE = '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><x/></env:Body></env:Envelope>';

function multipart(boundary: string, parts: readonly { headers: readonly string[]; body: string | Buffer }[], options: { preamble?: string; close?: boolean } = {}): Buffer {
  const chunks: Buffer[] = [Buffer.from(options.preamble ?? '')];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n${p.headers.join('\r\n')}\r\n\r\n`), Buffer.isBuffer(p.body) ? p.body : Buffer.from(p.body), Buffer.from('\r\n'));
  }
  if (options.close !== false) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

const ROOT_HEADERS = ['Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"', 'Content-ID: <root@example>'];

async function refusal(run: () => Promise<unknown>): Promise<MtomError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof MtomError) return error;
    throw error;
  }
  throw new Error('no error');
}

/** Deterministic pseudo-random bytes, generated piece by piece (never held whole). */
function* generatedPieces(total: number, piece: number): Generator<Buffer> {
  let state = 12345;
  for (let sent = 0; sent < total; sent += piece) {
    const chunk = Buffer.alloc(Math.min(piece, total - sent));
    for (let i = 0; i < chunk.length; i++) {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      chunk[i] = state >>> 16;
    }
    yield chunk;
  }
}

void t.test('the root part comes first and each attachment then streams with its Content-ID and type', async (t) => {
  const body = multipart('b1', [
    { headers: ROOT_HEADERS, body: ENVELOPE },
    { headers: ['Content-Type: application/pdf', 'Content-Transfer-Encoding: binary', 'Content-ID: <doc1@example>'], body: Buffer.from([0, 1, 2, 13, 10, 45, 45]) },
    { headers: ['Content-Type: text/plain; charset=utf-8', 'Content-ID: <doc2@example>'], body: 'second' },
  ]);
  const message = await readMtomMessage(inPieces(body, 7), 'b1');
  t.equal(message.root.xml.toString(), ENVELOPE);
  t.equal(message.root.headers.contentId, 'root@example');
  const seen: [string, string, Buffer][] = [];
  for await (const a of message.attachments()) seen.push([a.contentId, a.contentType, await collect(a.body)]);
  t.same(seen.map(([id, type]) => [id, type]), [['doc1@example', 'application/pdf'], ['doc2@example', 'text/plain']]);
  t.same([...seen[0][2]], [0, 1, 2, 13, 10, 45, 45]);
  t.equal(seen[1][2].toString(), 'second');
});

void t.test('a 5 MB attachment arriving in 1 kB pieces streams through with bounded buffering', async (t) => {
  const size = 5 * 1024 * 1024;
  const expected = createHash('sha1');
  const pieces: Buffer[] = [];
  for (const p of generatedPieces(size, 64 * 1024)) {
    expected.update(p);
    pieces.push(p);
  }
  const wire = multipart('MIMEBoundary_5mb', [
    { headers: ROOT_HEADERS, body: ENVELOPE },
    { headers: ['Content-Type: application/octet-stream', 'Content-ID: <big@example>'], body: Buffer.concat(pieces) },
  ]);
  pieces.length = 0;
  let pulled = 0;
  async function* source() {
    for await (const piece of inPieces(wire, 1024)) {
      pulled += piece.length;
      yield piece;
    }
  }
  const bodyStart = wire.indexOf('\r\n\r\n', wire.indexOf('<big@example>')) + 4;
  const message = await readMtomMessage(source(), 'MIMEBoundary_5mb');
  let delivered = 0;
  let worstHeldBack = 0;
  const { body, result } = measuring((await message.attachments().next()).value!.body);
  for await (const chunk of body) {
    delivered += chunk.length;
    worstHeldBack = Math.max(worstHeldBack, pulled - (bodyStart + delivered));
  }
  t.equal(result().size, size);
  t.equal(result().sha1, expected.digest('hex'));
  // Never more than a piece plus a delimiter (and the part headers) held between source and consumer.
  t.ok(worstHeldBack < 2 * 1024 + 200, `held back at most ${worstHeldBack} bytes`);
});

void t.test('a 50 MB document passes through without being held in memory', async (t) => {
  const size = 50 * 1024 * 1024;
  const boundary = 'MIMEBoundary_50mb';
  const expected = createHash('sha1');
  let pulled = 0;
  async function* wire() {
    const head = Buffer.from(`--${boundary}\r\n${ROOT_HEADERS.join('\r\n')}\r\n\r\n${ENVELOPE}\r\n--${boundary}\r\nContent-Type: application/pdf\r\nContent-ID: <big@example>\r\n\r\n`);
    pulled += head.length;
    yield head;
    for (const piece of generatedPieces(size, 256 * 1024)) {
      expected.update(piece);
      pulled += piece.length;
      yield piece;
    }
    yield Buffer.from(`\r\n--${boundary}--\r\n`);
  }
  const message = await readMtomMessage(wire(), boundary);
  let count = 0;
  let delivered = 0;
  let worstHeldBack = 0;
  for await (const attachment of message.attachments()) {
    const { body, result } = measuring(attachment.body);
    for await (const chunk of body) {
      delivered += chunk.length;
      worstHeldBack = Math.max(worstHeldBack, pulled - delivered);
    }
    t.equal(result().size, size);
    t.equal(result().sha1, expected.digest('hex'));
    count += 1;
  }
  t.equal(count, 1);
  t.ok(worstHeldBack < 512 * 1024, `at most ${worstHeldBack} bytes between the network and the consumer`);
});

void t.test('an attachment the consumer skips is drained and the next one still reads right', async (t) => {
  const body = multipart('b2', [
    { headers: ROOT_HEADERS, body: ENVELOPE },
    { headers: ['Content-Type: text/plain', 'Content-ID: <a@x>'], body: 'skipped entirely' },
    { headers: ['Content-Type: text/plain', 'Content-ID: <b@x>'], body: 'left halfway' },
    { headers: ['Content-Type: text/plain', 'Content-ID: <c@x>'], body: 'read' },
  ]);
  const message = await readMtomMessage(inPieces(body, 3), 'b2');
  const read: string[] = [];
  for await (const a of message.attachments()) {
    if (a.contentId === 'b@x') {
      for await (const chunk of a.body) {
        void chunk;
        break;
      }
    }
    if (a.contentId === 'c@x') read.push((await collect(a.body)).toString());
  }
  t.same(read, ['read']);
});

void t.test('a preamble, transport padding and folded headers are accepted', async (t) => {
  const wire = Buffer.from(
    'This is a preamble.\r\n--b3   \r\nContent-Type: application/xop+xml;\r\n type="application/soap+xml"\r\nContent-ID: <r@x>\r\n\r\n' +
      `${ENVELOPE}\r\n--b3\r\nContent-ID: <d@x>\r\n\r\nabc\r\n--b3--`,
  );
  const message = await readMtomMessage(inPieces(wire, 5), 'b3');
  t.equal(message.root.headers.contentType, 'application/xop+xml; type="application/soap+xml"');
  const [attachment] = await Array.fromAsync(message.attachments(), async (a) => ({ id: a.contentId, body: (await collect(a.body)).toString() }));
  t.same(attachment, { id: 'd@x', body: 'abc' });
});

void t.test('a base64 Content-Transfer-Encoding is decoded on the fly', async (t) => {
  const bytes = Buffer.from('hello, base64 world with some length to span pieces');
  const encoded = bytes.toString('base64').replace(/(.{16})/g, '$1\r\n');
  const body = multipart('b4', [{ headers: ROOT_HEADERS, body: ENVELOPE }, { headers: ['Content-ID: <e@x>', 'Content-Transfer-Encoding: base64'], body: encoded }]);
  const message = await readMtomMessage(inPieces(body, 6), 'b4');
  const [decoded] = await Array.fromAsync(message.attachments(), (a) => collect(a.body));
  t.same(decoded, bytes);
});

void t.test('reading an attachment after asking for the next one is an error, not an empty document', async (t) => {
  const body = multipart('b10', [{ headers: ROOT_HEADERS, body: ENVELOPE }, { headers: ['Content-ID: <g@x>'], body: 'data' }, { headers: ['Content-ID: <h@x>'], body: 'more' }]);
  const message = await readMtomMessage(inPieces(body, 8), 'b10');
  const attachments = await Array.fromAsync(message.attachments());
  t.equal((await refusal(() => collect(attachments[0].body))).reason, 'malformed-part');
});

void t.test('a message cut before its closing boundary is reported as truncated', async (t) => {
  const body = multipart('b5', [{ headers: ROOT_HEADERS, body: ENVELOPE }, { headers: ['Content-ID: <f@x>'], body: 'x'.repeat(500) }], { close: false });
  const cut = body.subarray(0, body.length - 200);
  const message = await readMtomMessage(inPieces(cut, 64), 'b5');
  const error = await refusal(async () => {
    for await (const a of message.attachments()) await collect(a.body);
  });
  t.equal(error.reason, 'truncated');
});

void t.test('a message cut inside its root part is reported as truncated', async (t) => {
  const body = multipart('b6', [{ headers: ROOT_HEADERS, body: ENVELOPE }]);
  t.equal((await refusal(() => readMtomMessage(inPieces(body.subarray(0, 100), 10), 'b6'))).reason, 'truncated');
});

void t.test('a boundary that does not appear in the body is reported', async (t) => {
  const body = multipart('real-boundary', [{ headers: ROOT_HEADERS, body: ENVELOPE }]);
  t.equal((await refusal(() => readMtomMessage(inPieces(body, 50), 'announced-boundary'))).reason, 'boundary-not-found');
});

void t.test('a root part larger than its limit is refused', async (t) => {
  const body = multipart('b7', [{ headers: ROOT_HEADERS, body: ENVELOPE }]);
  const error = await refusal(() => readMtomMessage(inPieces(body, 50), 'b7', { limits: { maxRootBytes: 20 } }));
  t.equal(error.reason, 'root-too-large');
  t.equal(error.toSoapFault().httpStatus, 413);
});

void t.test('a start parameter naming another part than the first is refused', async (t) => {
  const body = multipart('b8', [{ headers: ROOT_HEADERS, body: ENVELOPE }]);
  t.equal((await refusal(() => readMtomMessage(inPieces(body, 50), 'b8', { start: '<other@example>' }))).reason, 'root-not-first');
});

void t.test('attachments without Content-ID, or sharing one, are refused', async (t) => {
  for (const [parts, reason] of [
    [[{ headers: ['Content-Type: text/plain'], body: 'x' }], 'missing-content-id'],
    [[{ headers: ['Content-ID: <same@x>'], body: 'x' }, { headers: ['Content-ID: <same@x>'], body: 'y' }], 'duplicate-content-id'],
  ] as const) {
    const message = await readMtomMessage(inPieces(multipart('b9', [{ headers: ROOT_HEADERS, body: ENVELOPE }, ...parts]), 50), 'b9');
    const error = await refusal(async () => {
      for await (const a of message.attachments()) await collect(a.body);
    });
    t.equal(error.reason, reason);
  }
});

void t.test('xop:Include hrefs resolve to Content-IDs, URL-decoded', async (t) => {
  t.equal(contentIdFromHref('cid:1.urn%3Auuid%3Aabc%40apache.org'), '1.urn:uuid:abc@apache.org');
  t.equal(contentIdFromHref('http://not-a-cid'), undefined);
  const doc = parseXml('<Document xmlns:xop="http://www.w3.org/2004/08/xop/include"><xop:Include href="cid:doc1%40x"/></Document>');
  t.same(documentContent(doc), { kind: 'attachment', contentId: 'doc1@x' });
});

void t.test('inline base64 documents are decoded and invalid base64 is not', async (t) => {
  const inline = documentContent(parseXml(`<Document>${Buffer.from('inline bytes').toString('base64').replace(/(.{4})/g, '$1\n')}</Document>`));
  t.same(inline, { kind: 'inline', bytes: Buffer.from('inline bytes') });
  t.equal(documentContent(parseXml('<Document>not*base64!</Document>')), undefined);
});

void t.test('a built MTOM answer reads back with the same root and attachment bytes', async (t) => {
  const pdf = Buffer.from('%PDF-1.4 binary \r\n--MIMEBoundary lookalike \x00\xff');
  async function* streamed() {
    yield Buffer.from('streamed ');
    yield Buffer.from('bytes');
  }
  const built = buildMtomMessage(ENVELOPE, [
    { contentId: 'doc1@carnet', contentType: 'application/pdf', body: pdf },
    { contentId: 'doc2@carnet', contentType: 'text/plain', body: streamed() },
  ], { action: 'urn:ihe:iti:2007:RetrieveDocumentSetResponse' });
  const boundary = /boundary="?([^";]+)"?/.exec(built.contentType)![1];
  t.match(built.contentType, /^multipart\/related; boundary=.*type="application\/xop\+xml"; start="<root\..*@carnet>"; start-info="application\/soap\+xml; action=/);
  const message = await readMtomMessage(inPieces(await collect(built.body), 13), boundary);
  t.equal(message.root.xml.toString(), ENVELOPE);
  const parts = await Array.fromAsync(message.attachments(), async (a) => [a.contentId, a.contentType, await collect(a.body)] as const);
  t.same(parts.map(([id, type]) => [id, type]), [['doc1@carnet', 'application/pdf'], ['doc2@carnet', 'text/plain']]);
  t.same(parts[0][2], pdf);
  t.equal(parts[1][2].toString(), 'streamed bytes');
});
