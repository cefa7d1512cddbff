import { readFileSync } from 'node:fs';
import t from 'tap';
import type { DocumentEntry } from '../../src/ihe/xds/index.ts';
import { CdaError, cdaContradictions, cdaTimeToUtcDtm, createCdaReader, readCda } from '../../src/cda/index.ts';
import { CDA_FIXTURE, frDmpSubmission } from '../ihe/fixtures.ts';

const cda = readFileSync(CDA_FIXTURE);

function cdaError(run: () => unknown): CdaError {
  try {
    run();
  } catch (error) {
    if (error instanceof CdaError) return error;
    throw error;
  }
  throw new Error('no error');
}

void t.test('the header gives id, type, title, time, confidentiality, language, patient, authors and facility', async (t) => {
  const { header } = readCda(cda);
  t.match(header, {
    id: { root: '1.2.250.1.999.1.1.20240115.2' },
    code: { code: '11490-0', codeSystem: '2.16.840.1.113883.6.1' },
    title: 'Lettre de liaison de sortie',
    effectiveTime: '20240115103000+0100',
    confidentialityCode: { code: 'N', codeSystem: '2.16.840.1.113883.5.25' },
    languageCode: 'fr-FR',
    setId: { root: '1.2.250.1.999.1.1.20240115.3' },
    versionNumber: '1',
    patientIds: [{ root: '1.2.250.1.213.1.4.10', extension: '279035121518989' }, { root: '1.2.250.1.999.1.2', extension: 'IPP123' }],
    authors: [{
      ids: [{ root: '1.2.250.1.71.4.2.1', extension: '801234567897' }],
      code: { code: 'G15_10/SM26' },
      name: { family: 'DUPONT', given: ['JEAN'], prefix: 'Dr' },
      organization: { name: 'Hôpital Saint-Exemple', standardIndustryClassCode: { code: 'ETABLISSEMENT' } },
    }],
    legalAuthenticator: { ids: [{ extension: '801234567897' }] },
    serviceEvents: [{ low: '20240110090000+0100', high: '20240115100000+0100' }],
    healthcareFacilityTypeCode: { code: 'SA01' },
    body: 'structured',
  });
});

void t.test('the narrative keeps section titles and texts in order, nested sections included, and not structured entries', async (t) => {
  const { narrative } = readCda(cda);
  t.equal(narrative, [
    "Motif d'hospitalisation",
    'Douleur thoracique atypique.',
    'Synthèse du séjour',
    'Coronarographie normale. Retour au domicile.',
    'Traitements de sortie',
    'Aspirine 75 mg par jour',
  ].join('\n'));
  t.notMatch(narrative, /structured entry/);
});

void t.test('the narrative is cut at its limit', async (t) => {
  t.equal(readCda(cda, { maxNarrativeLength: 10 }).narrative.length, 10);
});

void t.test('a CDA fed in 7-byte pieces reads like a whole one', async (t) => {
  const reader = createCdaReader();
  for (let i = 0; i < cda.length; i += 7) reader.write(cda.subarray(i, i + 7));
  t.same(reader.end(), readCda(cda));
});

void t.test('a level 1 CDA with a large embedded PDF is read without keeping the PDF', async (t) => {
  const pdf = Buffer.alloc(5 * 1024 * 1024, 0x25).toString('base64');
  const level1 = cda.toString('utf8').replace(
    /<component>\s*<structuredBody>[\s\S]*<\/structuredBody>\s*<\/component>/,
    `<component><nonXMLBody><text mediaType="application/pdf" representation="B64">${pdf}</text></nonXMLBody></component>`,
  );
  const reader = createCdaReader();
  const bytes = Buffer.from(level1);
  for (let i = 0; i < bytes.length; i += 64 * 1024) reader.write(bytes.subarray(i, i + 64 * 1024));
  const document = reader.end();
  t.equal(document.header.body, 'non-xml');
  t.equal(document.narrative, '');
  t.equal(document.header.code?.code, '11490-0');
  // What the reader returns is the header and the (empty) narrative: the body was pruned as it streamed.
  t.ok(JSON.stringify(document).length < 5000);
});

void t.test('XML that is not a ClinicalDocument is reported as not a CDA', async (t) => {
  t.equal(cdaError(() => readCda('<x xmlns="urn:hl7-org:v3"/>')).reason, 'not-cda');
  t.equal(cdaError(() => readCda('<ClinicalDocument/>')).reason, 'not-cda');
});

void t.test('a CDA with a DOCTYPE is refused as hostile XML', async (t) => {
  const hostile = '<!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM "file:///etc/passwd">]><ClinicalDocument xmlns="urn:hl7-org:v3">&x;</ClinicalDocument>';
  const error = cdaError(() => readCda(hostile));
  t.equal(error.reason, 'xml');
  t.equal(error.xmlError?.reason, 'doctype');
});

void t.test('CDA times convert to UTC DTM; without a zone only the date is trusted', async (t) => {
  t.equal(cdaTimeToUtcDtm('20240115103000+0100'), '20240115093000');
  t.equal(cdaTimeToUtcDtm('20240101003000+0200'), '20231231223000');
  t.equal(cdaTimeToUtcDtm('202401151030-0500'), '202401151530');
  t.equal(cdaTimeToUtcDtm('20240115'), '20240115');
  t.equal(cdaTimeToUtcDtm('20240115103000'), undefined);
  t.equal(cdaTimeToUtcDtm('soon'), undefined);
});

function contradictions(mutate: (entry: DocumentEntry) => void): [string, string][] {
  const entry = frDmpSubmission().documentEntries[0];
  mutate(entry);
  return cdaContradictions(readCda(cda).header, entry).map((e) => [e.code, e.severity]);
}

void t.test('metadata built from the CDA header contradicts nothing', async (t) => {
  t.same(contradictions(() => {}), []);
});

void t.test('a patient id that is not a recordTarget id is XDSPatientIdDoesNotMatch', async (t) => {
  t.same(contradictions((e) => (e.patientId = '297010100100152^^^&1.2.250.1.213.1.4.10&ISO^NH')), [['XDSPatientIdDoesNotMatch', 'Error']]);
});

void t.test('each contradicted attribute is a repository metadata error', async (t) => {
  const cases: [string, (e: DocumentEntry) => void][] = [
    ['uniqueId', (e) => (e.uniqueId = '1.2.250.1.999.1.1.20240115.9')],
    ['typeCode', (e) => (e.typeCode = { code: '11488-4', codingScheme: '2.16.840.1.113883.6.1' })],
    ['creationTime', (e) => (e.creationTime = '20240115103000')],
    ['confidentialityCode', (e) => (e.confidentialityCodes = [{ code: 'R', codingScheme: '2.16.840.1.113883.5.25' }])],
    ['languageCode', (e) => (e.languageCode = 'en-US')],
    ['author', (e) => (e.authors[0].person = '899999999999^AUTRE^PAUL^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^^IDNPS')],
    ['healthcareFacilityTypeCode', (e) => (e.healthcareFacilityTypeCode = { code: 'SA07', codingScheme: '1.2.250.1.71.4.2.4' })],
  ];
  for (const [name, mutate] of cases) t.same(contradictions(mutate), [['XDSRepositoryMetadataError', 'Error']], name);
});

void t.test('masking codes beside the CDA confidentiality code are no contradiction', async (t) => {
  t.same(contradictions((e) => e.confidentialityCodes.push({ code: 'MASQUE_PS', codingScheme: '1.2.250.1.213.1.1.4.13' })), []);
});

void t.test('a creation time at a coarser precision that agrees is no contradiction', async (t) => {
  t.same(contradictions((e) => (e.creationTime = '20240115')), []);
});

void t.test('a different title is only a warning', async (t) => {
  t.same(contradictions((e) => (e.title = 'LDL')), [['XDSRepositoryMetadataError', 'Warning']]);
});
