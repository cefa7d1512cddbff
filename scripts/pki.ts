// Writes a complete test PKI to a folder: a CA and its CRL, a server certificate for localhost,
// a professional certificate for every profession Carnet knows (physicians and pharmacists in
// several specialties/sections), an expired one, a revoked one, one from another CA, an
// establishment certificate and the two system actors'. For manual tests with curl, browsers
// and conformance tools; the automated tests make the same set in memory (createTestPki).
//
//   node scripts/pki.ts [folder]        (default: ./data/test-pki)
//
// Subject conventions: src/identity/subject.ts.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  G15_PROFESSIONS, createTestPki, generateKeyPair, issueProfessionalCertificate, professionCode, toPkcs12,
} from '../src/identity/index.ts';
import type { Issued } from '../src/identity/index.ts';

const P12_PASSWORD = 'carnet';

/** Extra professionals beyond one per profession: specialties and sections the matrix tells apart. */
const VARIANTS = [
  { profession: '10', specialty: 'SM26' }, // general practice
  { profession: '10', specialty: 'SM04' }, // cardiology
  { profession: '10', specialty: 'SM25' }, // occupational medicine (barred)
  { profession: '21', pharmacistSection: 'A' }, // pharmacy owner
  { profession: '21', pharmacistSection: 'G' }, // biologist
  { profession: '21', pharmacistSection: 'H' }, // hospital pharmacist
];

async function writeIssued(dir: string, name: string, issued: Issued, ca: Issued): Promise<string[]> {
  const files = [join(dir, `${name}.crt`), join(dir, `${name}.key`), join(dir, `${name}.p12`)];
  await writeFile(files[0], issued.certPem);
  await writeFile(files[1], issued.keyPem, { mode: 0o600 });
  await writeFile(files[2], toPkcs12(issued, ca, P12_PASSWORD), { mode: 0o600 });
  return files;
}

/** `distinctKeys: false` shares one key among the end-entity certificates (tests: faster). */
export async function writeTestPki(folder: string, options: { distinctKeys?: boolean } = {}): Promise<string[]> {
  const distinctKeys = options.distinctKeys ?? true;
  const dir = resolve(folder);
  const professionalsDir = join(dir, 'professionals');
  await mkdir(professionalsDir, { recursive: true });
  const pki = await createTestPki({ distinctKeys });
  const written: string[] = [];

  await writeFile(join(dir, 'ca.crt'), pki.ca.certPem);
  await writeFile(join(dir, 'ca.key'), pki.ca.keyPem, { mode: 0o600 });
  await writeFile(join(dir, 'crl.pem'), pki.crlPem);
  await writeFile(join(dir, 'foreign-ca.crt'), pki.foreignCa.certPem);
  written.push('ca.crt', 'ca.key', 'crl.pem', 'foreign-ca.crt');

  const fixed: [string, Issued][] = [
    ['server', pki.server], ['expired', pki.expired], ['revoked', pki.revoked], ['foreign', pki.foreign],
    ['establishment', pki.establishment], ['care-history-feed', pki.careHistoryFeed], ['operator', pki.operator],
    ...Object.entries(pki.professionals),
  ];
  for (const [name, issued] of fixed) written.push(...await writeIssued(dir, name, issued, pki.ca));

  const specs = [...Object.keys(G15_PROFESSIONS).map((profession) => ({ profession })), ...VARIANTS];
  const issued = await Promise.all(specs.map(async (spec, i) => {
    const key = distinctKeys ? await generateKeyPair() : pki.professionals.nurse.key;
    const rpps = `99710${String(i + 1).padStart(6, '0')}`;
    return [professionCode(spec).replace('/', '-'), await issueProfessionalCertificate(pki.ca, { ...spec, rpps, key })] as const;
  }));
  for (const [name, certificate] of issued) written.push(...await writeIssued(professionalsDir, name, certificate, pki.ca));
  return written.map((f) => (f.startsWith(dir) ? f.slice(dir.length + 1) : f));
}

if (import.meta.main) {
  const folder = process.argv[2] ?? join('data', 'test-pki');
  const files = await writeTestPki(folder);
  console.log(`Test PKI written to ${resolve(folder)} (${files.length} files; PKCS#12 password: ${P12_PASSWORD}).`);
  console.log('Trust ca.crt and crl.pem on the server; present professionals/*.crt + .key (or .p12) as a client.');
}
