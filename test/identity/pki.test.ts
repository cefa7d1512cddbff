import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  createDevPki, createTestPki, devPkiPaths, loadDevCa, loadTrust, parseCrls, revokeDevCertificate,
} from '../../src/identity/index.ts';
import { certificateNames, NAME_OID } from '../../src/identity/der.ts';

const pki = await createTestPki();

function subjectOf(cert: X509Certificate): Record<string, string> {
  const byOid = Object.fromEntries(Object.entries(NAME_OID).map(([name, oid]) => [oid, name]));
  return Object.fromEntries(certificateNames(cert.raw).subjectAttributes.map((a) => [byOid[a.oid] ?? a.oid, a.value]));
}

t.test('the test CA is a self-signed certificate authority', async (t) => {
  const ca = pki.ca.certificate;
  t.ok(ca.ca);
  t.ok(ca.checkIssued(ca));
  t.ok(ca.verify(ca.publicKey));
});

t.test('every test certificate is signed by the test CA except the foreign one', async (t) => {
  const ours = [pki.server, pki.expired, pki.revoked, pki.establishment, pki.careHistoryFeed, pki.operator, ...Object.values(pki.professionals)];
  for (const issued of ours) t.ok(issued.certificate.verify(pki.ca.certificate.publicKey), issued.certificate.subject);
  t.notOk(pki.foreign.certificate.verify(pki.ca.certificate.publicKey));
  t.ok(pki.foreign.certificate.verify(pki.foreignCa.certificate.publicKey));
});

t.test('the server certificate names localhost and the loopback addresses', async (t) => {
  const names = pki.server.certificate.subjectAltName ?? '';
  t.match(names, /DNS:localhost/);
  t.match(names, /IP Address:127\.0\.0\.1/);
  t.ok(pki.server.certificate.checkHost('localhost'));
  t.ok(pki.server.certificate.checkIP('127.0.0.1'));
});

t.test('a professional certificate carries PS_IdNat in CN, the profession code in title and the sector in businessCategory', async (t) => {
  t.same(subjectOf(pki.professionals.generalPractitioner.certificate), {
    countryName: 'FR', title: 'G15_10/SM26', surname: 'MEDECIN', givenName: 'Alice', commonName: '899700000001',
  });
  t.equal(subjectOf(pki.professionals.pharmacist.certificate).title, 'G15_21/A');
  t.equal(subjectOf(pki.professionals.nurse.certificate).title, 'G15_60');
  t.equal(subjectOf(pki.professionals.occupationalPhysician.certificate).businessCategory, 'SA66');
});

t.test('subject values with accents survive the round trip (UTF8String)', async (t) => {
  t.equal(subjectOf(pki.professionals.pharmacist.certificate).givenName, 'Chloé');
  t.equal(subjectOf(pki.establishment.certificate).organizationName, 'Hôpital de test');
});

t.test('the establishment certificate carries its Struct_IdNat in OU and no profession', async (t) => {
  const subject = subjectOf(pki.establishment.certificate);
  t.equal(subject.organizationalUnitName, '1990000012');
  t.equal(subject.title, undefined);
});

t.test('the expired certificate ended before now', async (t) => {
  t.ok(pki.expired.certificate.validToDate < new Date());
});

t.test('the CRL is signed by the CA and lists only the revoked certificate', async (t) => {
  const [crl] = parseCrls(pki.crlPem);
  t.ok(crl.issuer.equals(certificateNames(pki.ca.certificate.raw).subject));
  t.same([...crl.revoked], [pki.revoked.serial]);
  t.ok(crl.nextUpdate && crl.nextUpdate > new Date());
  t.doesNotThrow(() => loadTrust({ ca: pki.ca.certPem, crl: pki.crlPem }));
});

t.test('loading a CRL that names the CA but is signed by another key fails at start-up', async (t) => {
  const { createCrl } = await import('../../src/identity/crl.ts');
  const forged = createCrl({ ...pki.ca, key: pki.foreignCa.key }, { revoked: [] });
  t.throws(() => loadTrust({ ca: pki.ca.certPem, crl: forged }), /not signed by it/);
});

t.test('loading a CRL file that holds no CRL fails at start-up', async (t) => {
  t.throws(() => loadTrust({ ca: pki.ca.certPem, crl: pki.ca.certPem }), /No CRL found/);
});

t.test('loading a CA file that holds a non-CA certificate fails at start-up', async (t) => {
  t.throws(() => loadTrust({ ca: pki.server.certPem }), /not a CA/);
});

t.test('createDevPki', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'carnet-devpki-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));

  t.test('creates a CA, a server certificate and a CRL on first start', async (t) => {
    const dev = await createDevPki(dataDir);
    t.same(dev.created, ['ca', 'server', 'crl']);
    const ca = new X509Certificate(await readFile(dev.caCertFile));
    const server = new X509Certificate(await readFile(dev.serverCertFile));
    t.ok(ca.ca);
    t.ok(server.verify(ca.publicKey));
    t.ok(server.checkHost('localhost'));
    const crl = await readFile(dev.crlFile);
    t.doesNotThrow(() => loadTrust({ ca: ca.toString(), crl }), 'the CRL is signed by the CA');
  });

  t.test('creates nothing and keeps the keys on the next start', async (t) => {
    const before = await readFile(devPkiPaths(dataDir).caKeyFile, 'utf8');
    const serverBefore = await readFile(devPkiPaths(dataDir).serverCertFile, 'utf8');
    const dev = await createDevPki(dataDir);
    t.same(dev.created, []);
    t.equal(await readFile(dev.caKeyFile, 'utf8'), before);
    t.equal(await readFile(dev.serverCertFile, 'utf8'), serverBefore);
  });

  t.test('renews the server certificate when it is near its end', async (t) => {
    const inAYear = new Date(Date.now() + 350 * 24 * 3600 * 1000);
    const dev = await createDevPki(dataDir, { now: inAYear });
    t.ok(dev.created.includes('server'));
    t.ok(dev.created.includes('crl'), 'the CRL, near its next update too');
  });

  t.test('revoking a development certificate adds it to the CRL', async (t) => {
    const ca = await loadDevCa(dataDir);
    await revokeDevCertificate(dataDir, 'ABCDEF0123');
    await revokeDevCertificate(dataDir, 'ABCDEF0123');
    const [crl] = parseCrls(await readFile(devPkiPaths(dataDir).crlFile));
    t.same([...crl.revoked], ['ABCDEF0123']);
    t.ok(loadTrust({ ca: ca.certPem, crl: await readFile(devPkiPaths(dataDir).crlFile) }));
  });

  t.test('keeps the CA key readable by its owner only', async (t) => {
    const { stat } = await import('node:fs/promises');
    t.equal((await stat(devPkiPaths(dataDir).caKeyFile)).mode & 0o077, 0);
  });
});
