// Issues a client certificate from the development CA in DATA_DIR (created if missing), for any
// profession, specialty and RPPS number, or for an establishment or a system actor.
//
//   node scripts/issue-credentials.ts --profession 10 --specialty SM26 --rpps 99700000001
//   node scripts/issue-credentials.ts --profession 21 --section A
//   node scripts/issue-credentials.ts --role establishment --structure-id 1990000012 --organization "Hôpital X"
//   node scripts/issue-credentials.ts --role care-history-feed --id feed-1
//   options: --data-dir (default $DATA_DIR or ./data), --name, --surname, --given-name,
//            --activity occupational-medicine|insurer-medical-adviser, --sector SAxx,
//            --days N, --expired, --revoke, --password (PKCS#12, default "carnet"),
//            --url (for the curl example, default https://localhost:$PORT)
//
// Writes <data-dir>/pki/clients/<name>.crt, .key and .p12 and prints a curl example.
import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createDevPki, issueEstablishmentCertificate, issueProfessionalCertificate, issueSystemCertificate, loadDevCa,
  parseProfessionCode, revokeDevCertificate, toPkcs12,
} from '../src/identity/index.ts';
import type { CertificateAuthority, Issued } from '../src/identity/index.ts';

const DAY = 24 * 60 * 60 * 1000;

const { values: args } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    role: { type: 'string', default: 'professional' },
    profession: { type: 'string' },
    specialty: { type: 'string' },
    section: { type: 'string' },
    rpps: { type: 'string' },
    surname: { type: 'string' },
    'given-name': { type: 'string' },
    'structure-id': { type: 'string' },
    organization: { type: 'string' },
    sector: { type: 'string' },
    activity: { type: 'string' },
    id: { type: 'string' },
    name: { type: 'string' },
    days: { type: 'string', default: '365' },
    expired: { type: 'boolean', default: false },
    revoke: { type: 'boolean', default: false },
    password: { type: 'string', default: 'carnet' },
    url: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

function fail(message: string): never {
  console.error(`issue-credentials: ${message} (see the top of scripts/issue-credentials.ts)`);
  process.exit(2);
}

function validity(): { notBefore?: Date; notAfter?: Date } {
  const days = Number(args.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650) fail('--days must be a whole number from 1 to 3650');
  if (args.expired) return { notBefore: new Date(Date.now() - 2 * days * DAY), notAfter: new Date(Date.now() - DAY) };
  return { notAfter: new Date(Date.now() + days * DAY) };
}

/** A random RPPS in the test range (997…), when none is given. */
function testRpps(): string {
  return `997${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
}

async function issue(ca: CertificateAuthority): Promise<{ issued: Issued; name: string }> {
  const dates = validity();
  switch (args.role) {
    case 'professional': {
      if (!args.profession) fail('--profession (a G15 code such as 10, 21, 60) is required');
      const qualifier = args.section ?? args.specialty;
      const code = parseProfessionCode(`G15_${args.profession}${qualifier ? `/${qualifier}` : ''}`);
      if (!code) fail(`unknown profession code ${args.profession}`);
      const rpps = args.rpps ?? testRpps();
      if (!/^\d{11}$/.test(rpps)) fail('--rpps must be 11 digits');
      const activity = args.activity as 'occupational-medicine' | 'insurer-medical-adviser' | undefined;
      if (activity && activity !== 'occupational-medicine' && activity !== 'insurer-medical-adviser') fail('--activity must be occupational-medicine or insurer-medical-adviser');
      const organization = args['structure-id'] || args.organization ? { id: args['structure-id'], name: args.organization } : undefined;
      const issued = await issueProfessionalCertificate(ca, {
        ...code, rpps, surname: args.surname, givenName: args['given-name'], organization, sector: args.sector, activity, ...dates,
      });
      return { issued, name: args.name ?? `ps-${args.profession}${qualifier ? `-${qualifier}` : ''}-${rpps}` };
    }
    case 'establishment': {
      const structureId = args['structure-id'] ?? fail('--structure-id (Struct_IdNat, e.g. 1 + FINESS) is required');
      const issued = await issueEstablishmentCertificate(ca, { structureId, name: args.organization ?? `Structure ${structureId}`, sector: args.sector, ...dates });
      return { issued, name: args.name ?? `establishment-${structureId}` };
    }
    case 'care-history-feed':
    case 'operator': {
      const id = args.id ?? fail('--id (the name of the feed or operator) is required');
      const issued = await issueSystemCertificate(ca, { role: args.role, id, ...dates });
      return { issued, name: args.name ?? `${args.role}-${id}` };
    }
    default:
      return fail('--role must be professional, establishment, care-history-feed or operator');
  }
}

if (args.help) {
  console.log('See the top of scripts/issue-credentials.ts for the options.');
  process.exit(0);
}
const dataDir = resolve(args['data-dir'] ?? process.env.DATA_DIR ?? './data');
const pki = await createDevPki(dataDir);
const ca = await loadDevCa(dataDir);
const { issued, name } = await issue(ca);
if (!/^[\w.-]+$/.test(name)) fail('--name may hold letters, digits, ".", "_" and "-" only');

const files = { cert: join(pki.clientsDir, `${name}.crt`), key: join(pki.clientsDir, `${name}.key`), p12: join(pki.clientsDir, `${name}.p12`) };
await writeFile(files.cert, issued.certPem);
await writeFile(files.key, issued.keyPem, { mode: 0o600 });
await writeFile(files.p12, toPkcs12(issued, ca, args.password), { mode: 0o600 });
if (args.revoke) await revokeDevCertificate(dataDir, issued.serial);

/** Relative to the working directory when inside it (shorter commands), else absolute. */
const shown = (path: string) => {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
};
const url = args.url ?? `https://localhost:${process.env.PORT ?? '8080'}`;
console.log(`Issued ${issued.certificate.subject.replace(/\n/g, ', ')}`);
console.log(`  serial ${issued.serial}, valid until ${issued.certificate.validToDate.toISOString()}${args.revoke ? ', REVOKED' : ''}`);
console.log(`  certificate  ${shown(files.cert)}`);
console.log(`  key          ${shown(files.key)}`);
console.log(`  PKCS#12      ${shown(files.p12)} (password: ${args.password})`);
console.log(`  CA           ${shown(pki.caCertFile)}`);
console.log('\nTry it:');
console.log(`  curl --cert ${shown(files.cert)} --key ${shown(files.key)} --cacert ${shown(pki.caCertFile)} ${url}/fhir/metadata`);
