// The development PKI in the data folder: with no TLS settings, the first start creates a CA and
// a server certificate for localhost, so that `npm start` serves mutual TLS out of the box and
// `scripts/issue-credentials.ts` can issue client certificates from the same CA.
//
//   <dataDir>/pki/ca.crt, ca.key         development CA (key readable by the owner only)
//   <dataDir>/pki/server.crt, server.key server certificate: localhost, 127.0.0.1, ::1
//   <dataDir>/pki/crl.pem                the CA's revocation list (refreshed when near its end)
//   <dataDir>/pki/revoked.json           what the list revokes: [{ serial, revokedAt }]
//   <dataDir>/pki/clients/               certificates issued by issue-credentials
//
// Production takes its CA, CRL and server certificate from the configuration instead.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID, X509Certificate } from 'node:crypto';
import { createCrl, parseCrls } from './crl.ts';
import type { RevokedEntry } from './crl.ts';
import { createCertificateAuthority, issueServerCertificate, loadCertificateAuthority } from './pki.ts';
import type { CertificateAuthority } from './pki.ts';

export interface DevPki {
  dir: string;
  caCertFile: string;
  caKeyFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  crlFile: string;
  revokedFile: string;
  clientsDir: string;
  /** What this call did, for the start-up log. */
  created: ('ca' | 'server' | 'crl')[];
}

const DAY = 24 * 60 * 60 * 1000;
/** Renew the server certificate this long before it expires, the CRL this long before its next update. */
const SERVER_RENEWAL = 30 * DAY;
const CRL_RENEWAL = 7 * DAY;
const CRL_LIFETIME = 90 * DAY;
export const DEV_SERVER_HOSTS = ['localhost', '127.0.0.1', '::1'];

export function devPkiPaths(dataDir: string): Omit<DevPki, 'created'> {
  const dir = join(dataDir, 'pki');
  return {
    dir,
    caCertFile: join(dir, 'ca.crt'),
    caKeyFile: join(dir, 'ca.key'),
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    crlFile: join(dir, 'crl.pem'),
    revokedFile: join(dir, 'revoked.json'),
    clientsDir: join(dir, 'clients'),
  };
}

/** Writes through a temporary file and a rename, so a crash never leaves half a key. */
export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
  // Unique per call: two writers in one process must not share a temporary file.
  const temporary = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(temporary, data, { mode });
  await chmod(temporary, mode);
  await rename(temporary, path);
}

export async function loadDevCa(dataDir: string): Promise<CertificateAuthority> {
  const paths = devPkiPaths(dataDir);
  return loadCertificateAuthority(await readFile(paths.caCertFile, 'utf8'), await readFile(paths.caKeyFile, 'utf8'));
}

async function readRevoked(file: string): Promise<RevokedEntry[]> {
  if (!existsSync(file)) return [];
  const entries = JSON.parse(await readFile(file, 'utf8')) as { serial: string; revokedAt: string }[];
  return entries.map((e) => ({ serial: e.serial, revokedAt: new Date(e.revokedAt) }));
}

async function writeCrl(ca: CertificateAuthority, paths: Omit<DevPki, 'created'>, now: Date): Promise<void> {
  const revoked = await readRevoked(paths.revokedFile);
  // cRLNumber must grow: seconds since the epoch do, across restarts, without keeping a counter.
  const crl = createCrl(ca, { revoked, thisUpdate: now, nextUpdate: new Date(now.getTime() + CRL_LIFETIME), number: Math.floor(now.getTime() / 1000) });
  await writeFileAtomic(paths.crlFile, crl);
}

/**
 * Creates what is missing (idempotent): the CA, a server certificate (also when the old one is
 * near its end), the CRL (also when near its next update). Existing keys are never replaced.
 */
export async function createDevPki(dataDir: string, options: { hosts?: string[]; now?: Date } = {}): Promise<DevPki> {
  const paths = devPkiPaths(dataDir);
  const now = options.now ?? new Date();
  const created: DevPki['created'] = [];
  await mkdir(paths.clientsDir, { recursive: true, mode: 0o700 });

  let ca: CertificateAuthority;
  if (existsSync(paths.caCertFile) && existsSync(paths.caKeyFile)) {
    ca = await loadDevCa(dataDir);
  } else {
    if (existsSync(paths.caCertFile) || existsSync(paths.caKeyFile)) {
      throw new Error(`${paths.dir} holds a CA certificate or a CA key without the other; remove both to start afresh`);
    }
    ca = await createCertificateAuthority({ commonName: 'Carnet development CA', organization: 'Carnet (development)' });
    await writeFileAtomic(paths.caKeyFile, ca.keyPem, 0o600);
    await writeFileAtomic(paths.caCertFile, ca.certPem);
    created.push('ca');
  }

  const server = existsSync(paths.serverCertFile) && existsSync(paths.serverKeyFile)
    ? new X509Certificate(await readFile(paths.serverCertFile))
    : undefined;
  const serverFromThisCa = server !== undefined && server.checkIssued(ca.certificate) && server.verify(ca.certificate.publicKey);
  if (!server || !serverFromThisCa || server.validToDate.getTime() - now.getTime() < SERVER_RENEWAL) {
    const issued = await issueServerCertificate(ca, { hosts: options.hosts ?? DEV_SERVER_HOSTS });
    await writeFileAtomic(paths.serverKeyFile, issued.keyPem, 0o600);
    await writeFileAtomic(paths.serverCertFile, issued.certPem);
    created.push('server');
  }

  const crl = existsSync(paths.crlFile) ? parseCrls(await readFile(paths.crlFile))[0] : undefined;
  if (!crl || !crl.nextUpdate || crl.nextUpdate.getTime() - now.getTime() < CRL_RENEWAL || created.includes('ca')) {
    await writeCrl(ca, paths, now);
    created.push('crl');
  }
  return { ...paths, created };
}

/** Adds a certificate to the development CA's revocation list and rewrites the list. */
export async function revokeDevCertificate(dataDir: string, serial: string, now: Date = new Date()): Promise<void> {
  const paths = devPkiPaths(dataDir);
  const ca = await loadDevCa(dataDir);
  const revoked = await readRevoked(paths.revokedFile);
  if (!revoked.some((e) => e.serial.toUpperCase() === serial.toUpperCase())) revoked.push({ serial, revokedAt: now });
  await writeFileAtomic(paths.revokedFile, `${JSON.stringify(revoked.map((e) => ({ serial: e.serial, revokedAt: e.revokedAt.toISOString() })), null, 2)}\n`);
  await writeCrl(ca, paths, now);
}
