// The two command-line scripts, run as a user would run them.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import t from 'tap';
import { identityFromCertificate, loadTrust } from '../../src/identity/index.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const node = process.execPath;

const dataDir = await mkdtemp(join(tmpdir(), 'carnet-credentials-'));
t.teardown(() => rm(dataDir, { recursive: true, force: true }));

async function issue(...args: string[]) {
  return run(node, [join(root, 'scripts', 'issue-credentials.ts'), '--data-dir', dataDir, ...args], { cwd: root });
}

async function trust() {
  return loadTrust({ ca: await readFile(join(dataDir, 'pki', 'ca.crt')), crl: await readFile(join(dataDir, 'pki', 'crl.pem')) });
}

t.test('issue-credentials creates the development PKI and a professional certificate the server accepts', async (t) => {
  const { stdout } = await issue('--profession', '10', '--specialty', 'SM26', '--rpps', '99700000042', '--name', 'gp');
  t.match(stdout, /curl --cert \S+gp\.crt --key \S+gp\.key --cacert \S+ca\.crt https:\/\/localhost:\d+\/fhir\/metadata/);
  const certPem = await readFile(join(dataDir, 'pki', 'clients', 'gp.crt'), 'utf8');
  const result = identityFromCertificate(certPem, await trust());
  t.same(result.ok && result.identity, { kind: 'professional', rpps: '99700000042', profession: '10', specialty: 'SM26' });
  t.ok(existsSync(join(dataDir, 'pki', 'server.crt')));
});

t.test('issue-credentials writes a PKCS#12 bundle with the certificate and its key', async (t) => {
  const p12 = await readFile(join(dataDir, 'pki', 'clients', 'gp.p12'));
  const bundle = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(p12.toString('binary')), 'carnet');
  const keys = bundle.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? [];
  const certs = bundle.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
  t.equal(keys.length, 1);
  t.equal(certs.length, 2, 'the client certificate and the CA');
});

t.test('issue-credentials --revoke puts the new certificate in the CRL', async (t) => {
  await issue('--profession', '21', '--section', 'A', '--name', 'revoked-pharmacist', '--revoke');
  const certPem = await readFile(join(dataDir, 'pki', 'clients', 'revoked-pharmacist.crt'), 'utf8');
  const result = identityFromCertificate(certPem, await trust());
  t.equal(!result.ok && result.reason, 'revoked');
});

t.test('issue-credentials --expired issues a certificate that has already ended', async (t) => {
  await issue('--profession', '60', '--name', 'old-nurse', '--expired');
  const cert = new X509Certificate(await readFile(join(dataDir, 'pki', 'clients', 'old-nurse.crt')));
  t.ok(cert.validToDate < new Date());
});

t.test('issue-credentials issues establishment certificates', async (t) => {
  await issue('--role', 'establishment', '--structure-id', '1990000012', '--organization', 'Hôpital X', '--name', 'hospital');
  const cert = new X509Certificate(await readFile(join(dataDir, 'pki', 'clients', 'hospital.crt')));
  t.match(cert.subject, /OU=1990000012/);
});

t.test('issue-credentials refuses an unknown profession with exit code 2', async (t) => {
  const error = await issue('--profession', '99').then(() => undefined, (e: { code: number; stderr: string }) => e);
  t.equal(error?.code, 2);
  t.match(error?.stderr ?? '', /unknown profession code 99/);
});

t.test('scripts/pki.ts writes a certificate for every profession', async (t) => {
  const folder = join(dataDir, 'test-pki');
  // In process (the script's main part only prints): saves a Node start-up.
  const { writeTestPki } = await import('../../scripts/pki.ts');
  await writeTestPki(folder, { distinctKeys: false });
  const pharmacist = await readFile(join(folder, 'professionals', 'G15_21-G.crt'), 'utf8');
  const trustTest = loadTrust({ ca: await readFile(join(folder, 'ca.crt')), crl: await readFile(join(folder, 'crl.pem')) });
  const result = identityFromCertificate(pharmacist, trustTest);
  t.equal(result.ok && result.identity.kind === 'professional' && result.identity.pharmacistSection, 'G');
  t.ok(existsSync(join(folder, 'professionals', 'G15_98.crt')), 'the last G15 profession');
  const revoked = identityFromCertificate(await readFile(join(folder, 'revoked.crt'), 'utf8'), trustTest);
  t.equal(!revoked.ok && revoked.reason, 'revoked');
});
