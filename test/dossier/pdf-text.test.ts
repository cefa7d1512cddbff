// The text of PDF documents: $search-text finds a word that only the body of a PDF holds (a
// patient's upload, a Binary under a DocumentReference, inline data), uncompressed or Flate;
// a broken or password-protected PDF is searched by its metadata only; and the reader
// (src/pdf) keeps to its limits. The PDFs are written here, byte by byte.
import { deflateSync } from 'node:zlib';
import t from 'tap';
import { recordsWhere } from '../../src/dossier/records.ts';
import { DOCUMENT_TEXT_TYPE } from '../../src/fhir/operations/patient-data.ts';
import { pdfText } from '../../src/pdf/index.ts';
import { createParams, out, secureApp, type SecureApp } from './support.ts';

interface PdfOptions {
  compress?: boolean;
  /** A standard security handler whose empty user password is wrong: a password is needed. */
  encrypt?: boolean;
  /** The content stream as given, for damaged or hostile documents. */
  content?: Buffer;
}

/** A valid PDF 1.4, one page per entry of pages, each line shown with Tj in Helvetica (WinAnsi). */
function makePdf(pages: string[][], options: PdfOptions = {}): Buffer {
  const escape = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const objects: Buffer[] = [
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    Buffer.from(`<< /Type /Pages /Kids [${pages.map((_, i) => `${4 + 2 * i} 0 R`).join(' ')}] /Count ${pages.length} >>`),
    Buffer.from('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>'),
  ];
  pages.forEach((lines, i) => {
    const ops = options.content ?? Buffer.from(`BT /F1 12 Tf 72 760 Td 14 TL\n${lines.map((l) => `(${escape(l)}) Tj T*`).join('\n')}\nET\n`, 'latin1');
    const stream = options.compress ? deflateSync(ops) : ops;
    objects.push(Buffer.from(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + 2 * i} 0 R >>`));
    objects.push(Buffer.concat([Buffer.from(`<< /Length ${stream.length}${options.compress ? ' /Filter /FlateDecode' : ''} >>\nstream\n`), stream, Buffer.from('\nendstream')]));
  });
  if (options.encrypt) objects.push(Buffer.from(`<< /Filter /Standard /V 1 /R 2 /O <${'4f'.repeat(32)}> /U <${'55'.repeat(32)}> /P -4 >>`));
  const chunks: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  const offsets: number[] = [];
  let length = chunks[0].length;
  objects.forEach((body, i) => {
    const object = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
    offsets.push(length);
    chunks.push(object);
    length += object.length;
  });
  const size = objects.length + 1;
  const encrypt = options.encrypt ? ` /Encrypt ${objects.length} 0 R /ID [<${'ab'.repeat(16)}> <${'ab'.repeat(16)}>]` : '';
  const xref = `xref\n0 ${size}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  chunks.push(Buffer.from(`${xref}trailer\n<< /Size ${size} /Root 1 0 R${encrypt} >>\nstartxref\n${length}\n%%EOF\n`));
  return Buffer.concat(chunks);
}

t.test('the reader', async (t) => {
  t.test('reads the text of an uncompressed and of a Flate-compressed PDF, accents included', async (t) => {
    t.same(await pdfText(makePdf([['Compte rendu', "d'échographie (abdominale)"]])), { text: "Compte rendu\nd'échographie (abdominale)", outcome: 'read' });
    t.same(await pdfText(makePdf([['Stéatose hépatique']], { compress: true })), { text: 'Stéatose hépatique', outcome: 'read' });
  });

  t.test('says why it gives no text', async (t) => {
    t.same(await pdfText(Buffer.from('%PDF-1.4\nnot a PDF at all\n%%EOF\n')), { text: '', outcome: 'broken' });
    t.same(await pdfText(makePdf([['Secret']], { encrypt: true })), { text: '', outcome: 'encrypted' });
    t.same(await pdfText(makePdf([['Big']]), { maxBytes: 100 }), { text: '', outcome: 'too-large' });
  });

  t.test('keeps to its page and character limits', async (t) => {
    const pdf = makePdf([['first page'], ['second page'], ['third page']]);
    t.equal((await pdfText(pdf)).text, 'first page\nsecond page\nthird page');
    t.equal((await pdfText(pdf, { maxPages: 2 })).text, 'first page\nsecond page');
    t.equal((await pdfText(pdf, { maxChars: 8 })).text, 'first pa');
  });

  t.test('a document that takes too long or too much memory is given up, and the next one is read', async (t) => {
    // A Flate bomb: 128 MiB of blanks in a content stream of about 130 kB.
    const bomb = makePdf([['']], { compress: true, content: Buffer.alloc(128 * 1024 * 1024, 0x20) });
    t.ok(bomb.length < 1024 * 1024);
    let started = Date.now();
    t.same(await pdfText(bomb, { timeoutMs: 50 }), { text: '', outcome: 'timeout' });
    t.ok(Date.now() - started < 5000, 'given up near its time budget');
    t.same(await pdfText(makePdf([['after']])), { text: 'after', outcome: 'read' });
    started = Date.now();
    t.same(await pdfText(bomb, { maxMemoryBytes: 16 * 1024 * 1024, timeoutMs: 60_000 }), { text: '', outcome: 'broken' });
    t.ok(Date.now() - started < 5000, 'given up as its memory grew');
    t.same(await pdfText(makePdf([['again']])), { text: 'again', outcome: 'read' });
  });

  t.test("nothing of a document's text is printed", async (t) => {
    const printed: string[] = [];
    const writes = { out: process.stdout.write, err: process.stderr.write };
    const spy = (chunk: unknown) => (printed.push(String(chunk)), true);
    process.stdout.write = spy as typeof process.stdout.write;
    process.stderr.write = spy as typeof process.stderr.write;
    try {
      const damaged = makePdf([['Confidentielle']]).toString('latin1').replace('/Length', '/Length 3 /Junk').replace('startxref', 'startxref\n0');
      await pdfText(Buffer.from(damaged, 'latin1'));
      await pdfText(makePdf([['Confidentielle']], { compress: true }));
    } finally {
      process.stdout.write = writes.out;
      process.stderr.write = writes.err;
    }
    t.notMatch(printed.join(''), /Confidentielle/);
  });
});

t.test('$search-text over PDFs', async (t) => {
  const api: SecureApp = await secureApp();
  t.teardown(() => api.close());
  const created = await api.open.call('POST', '/fhir/Patient/$create-dossier', createParams());
  const patientId = String(out(created.body, 'patient').reference).replace('Patient/', '');
  const seed = async (path: string, body: unknown, headers?: Record<string, string>) => {
    const r = await api.open.call('POST', path, body, headers);
    if (r.status !== 201) throw new Error(`seed ${path}: ${r.status} ${r.raw}`);
    return r.body;
  };
  const upload = async (title: string, pdf: Buffer) => (await seed(`/fhir/Patient/${patientId}/$upload?type=DOCPAT05&title=${encodeURIComponent(title)}`, pdf, { 'content-type': 'application/pdf' })).id as string;
  const documentReference = (attachment: Record<string, unknown>) => ({
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11490-0' }] },
    category: [{ coding: [{ system: 'urn:oid:1.2.250.1.213.1.1.4.1', code: '10' }] }],
    subject: { reference: `Patient/${patientId}` },
    date: '2024-02-01T10:00:00Z',
    securityLabel: [{ coding: [{ system: 'urn:oid:2.16.840.1.113883.5.25', code: 'N' }] }],
    content: [{ attachment: { contentType: 'application/pdf', title: 'Courrier', ...attachment } }],
  });

  const ids = {
    plain: await upload('Compte rendu mai', makePdf([['Bilan de la consultation'], ['Hypertension arterielle traitee']])),
    flate: await upload('Compte rendu juin', makePdf([["Résultat de l'échographie : stéatose hépatique"]], { compress: true })),
    broken: await upload('Ordonnance juillet', Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\nBT (glycemie) Tj ET\n%%EOF\n')),
    encrypted: await upload('Analyses août', makePdf([['Cholesterol eleve']], { encrypt: true })),
    binary: '',
    inline: '',
  };
  const binary = await seed('/fhir/Binary', makePdf([['Fracture du radius consolidee']], { compress: true }), { 'content-type': 'application/pdf' });
  ids.binary = (await seed('/fhir/DocumentReference', documentReference({ url: `Binary/${binary.id}` }))).id;
  ids.inline = (await seed('/fhir/DocumentReference', documentReference({ data: makePdf([['Vaccination antitetanique']]).toString('base64') }))).id;

  const search = async (q: string) => {
    const r = await api.open.call('GET', `/fhir/Patient/${patientId}/$search-text?q=${encodeURIComponent(q)}`);
    if (r.status !== 200) throw new Error(`search ${q}: ${r.status} ${r.raw}`); // never a failure, whatever the PDFs
    return { ids: ((r.body.entry ?? []) as { resource: { id: string } }[]).map((e) => e.resource.id).sort(), total: r.body.total as number };
  };

  t.test('a word only in the body of an uploaded PDF finds it, on any page', async (t) => {
    t.same((await search('hypertension')).ids, [ids.plain]);
    t.same((await search('consultation traitee')).ids, [ids.plain]);
  });

  t.test('a Flate-compressed PDF is read, and its accented words found without accents', async (t) => {
    t.same((await search('echographie')).ids, [ids.flate]);
    t.same((await search('STEATOSE hepat')).ids, [ids.flate]);
  });

  t.test('a PDF under a DocumentReference, as a Binary or inline, is read too', async (t) => {
    t.same((await search('radius')).ids, [ids.binary]);
    t.same((await search('antitetanique')).ids, [ids.inline]);
  });

  t.test('a broken or password-protected PDF is searched by its metadata only', async (t) => {
    t.same(await search('glycemie'), { ids: [], total: 0 });
    t.same(await search('cholesterol'), { ids: [], total: 0 });
    t.same((await search('ordonnance juillet')).ids, [ids.broken]);
    t.same((await search('analyses')).ids, [ids.encrypted]);
  });

  t.test('every word must be in one document: body and metadata count together', async (t) => {
    t.same((await search('compte rendu')).ids, [ids.plain, ids.flate].sort());
    t.same((await search('juin steatose')).ids, [ids.flate]);
    t.same((await search('juin hypertension')).ids, []);
  });

  t.test('the text read is kept for the next search, a failed reading too (metadata only)', async (t) => {
    const kept = new Map<string, string>();
    for (const id of await recordsWhere(api.store, DOCUMENT_TEXT_TYPE, 'patient', patientId)) {
      const record = (await api.store.read(DOCUMENT_TEXT_TYPE, id))?.resource?.record as { document: string; text: string };
      kept.set(record.document, record.text);
    }
    t.match(kept.get(`DocumentReference/${ids.flate}`), /Résultat de l'échographie : stéatose hépatique/);
    t.match(kept.get(`DocumentReference/${ids.plain}`), /Hypertension arterielle traitee/);
    t.match(kept.get(`DocumentReference/${ids.encrypted}`), /Analyses août/);
    t.notMatch(kept.get(`DocumentReference/${ids.encrypted}`), /Cholesterol/);
    t.same((await search('hypertension')).ids, [ids.plain]);
  });
});
