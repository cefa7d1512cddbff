// Property-based fuzzing of the MTOM reader and the CDA header reader: whatever bytes arrive,
// they answer with their own error (MtomError, CdaError) or a result, never anything else (a
// TypeError, a hang, a crash) that would become a 500. A valid message or document, cut,
// mutated or spliced, is the most telling input, so most runs start from one.
import t from 'tap';
import fc from 'fast-check';
import { CdaError, readCda } from '../../src/cda/index.ts';
import { MtomError, buildMtomMessage, readMtomMessage } from '../../src/ihe/xds/mtom.ts';

const RUNS = 300;

async function bytesOf(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

const message = buildMtomMessage('<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body/></soap:Envelope>', [
  { contentId: 'doc1@carnet', contentType: 'application/pdf', body: Buffer.from('%PDF-1.4 one') },
  { contentId: 'doc2@carnet', contentType: 'text/xml', body: Buffer.from('<ClinicalDocument/>') },
], { boundary: 'MIMEBoundary_fuzz' });
const validMtom = await bytesOf(message.body);
const BOUNDARY = 'MIMEBoundary_fuzz';

/** Reads a message whole (root and every attachment), as the repository does. */
async function readWhole(bytes: Buffer, chunkSize: number, boundary = BOUNDARY): Promise<void> {
  async function* source() {
    for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
  }
  const read = await readMtomMessage(source(), boundary, { limits: { maxParts: 20, maxRootBytes: 64 * 1024, maxHeaderBytes: 4096 } });
  for await (const a of read.attachments()) await bytesOf(a.body as AsyncIterable<Buffer>);
}

/** Mutations of a valid input: cut it, flip bytes, splice in tricky pieces. */
function mutations(valid: Buffer, pieces: string[]): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.nat(valid.length).map((n) => valid.subarray(0, n)),
    fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
      const copy = Buffer.from(valid);
      copy[at] = byte;
      return copy;
    }),
    fc.tuple(fc.nat(valid.length), fc.constantFrom(...pieces)).map(([at, piece]) => Buffer.concat([valid.subarray(0, at), Buffer.from(piece, 'latin1'), valid.subarray(at)])),
    fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
  );
}

const MTOM_PIECES = ['\r\n', '--', `--${BOUNDARY}`, `\r\n--${BOUNDARY}--\r\n`, 'Content-ID: <doc1@carnet>\r\n', 'Content-Transfer-Encoding: base64\r\n', 'Content-Transfer-Encoding: x-weird\r\n', '\r\n\r\n', ':', '\u0000', 'A'.repeat(5000)];

t.test('the MTOM reader answers any cut, mutated or random body with an MtomError or a message', async (t) => {
  await fc.assert(
    fc.asyncProperty(mutations(validMtom, MTOM_PIECES), fc.integer({ min: 1, max: 512 }), async (bytes, chunkSize) => {
      try {
        await readWhole(bytes, chunkSize);
      } catch (error) {
        if (!(error instanceof MtomError)) throw error;
      }
    }),
    { numRuns: RUNS, seed: 20261126 },
  );
  t.pass(`${RUNS} bodies`);
});

t.test('the MTOM reader answers a wrong or random boundary with an MtomError', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.string({ minLength: 1, maxLength: 70 }), async (boundary) => {
      try {
        await readWhole(validMtom, 64, boundary);
      } catch (error) {
        if (!(error instanceof MtomError)) throw error;
      }
    }),
    { numRuns: RUNS, seed: 20261126 },
  );
  t.pass(`${RUNS} boundaries`);
});

const validCda = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="1.2.250.1.999.1" extension="fuzz-1"/>
  <code code="11490-0" codeSystem="2.16.840.1.113883.6.1"/>
  <title>Lettre de liaison</title>
  <effectiveTime value="20250301100000+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="fr-FR"/>
  <recordTarget><patientRole><id root="1.2.250.1.213.1.4.10" extension="1234567890123"/><patient><name><family>TEST</family></name></patient></patientRole></recordTarget>
  <author><time value="20250301100000+0100"/><assignedAuthor><id root="1.2.250.1.71.4.2.1" extension="899700000001"/></assignedAuthor></author>
  <component><structuredBody><component><section><title>Motif</title><text>Suivi</text></section></component></structuredBody></component>
</ClinicalDocument>`);

const CDA_PIECES = ['<', '>', '&', '&#0;', '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>', '<![CDATA[', ']]>', '</ClinicalDocument>', '<component>', 'xmlns=""', '\u0000', '"', '<section>'.repeat(200)];

t.test('the CDA reader answers any cut, mutated or random document with a CdaError or a header', async (t) => {
  fc.assert(
    fc.property(mutations(validCda, CDA_PIECES), (bytes) => {
      try {
        readCda(bytes);
      } catch (error) {
        if (!(error instanceof CdaError)) throw error;
      }
    }),
    { numRuns: RUNS, seed: 20261126 },
  );
  t.pass(`${RUNS} documents`);
});

t.test('the fuzzed inputs include the valid ones, which read whole', async (t) => {
  await readWhole(validMtom, 7);
  t.equal(readCda(validCda).header.title, 'Lettre de liaison');
});
