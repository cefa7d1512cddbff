// The test PKI: every kind of certificate the identity tests (and the access end-to-end tests)
// need, made in memory in a fraction of a second. scripts/pki.ts writes the same set to a folder.
import { createCrl } from './crl.ts';
import { loadTrust } from './trust.ts';
import type { Trust } from './trust.ts';
import {
  createCertificateAuthority, generateKeyPair, issueEstablishmentCertificate, issueProfessionalCertificate,
  issueServerCertificate, issueSystemCertificate,
} from './pki.ts';
import type { CertificateAuthority, Issued, KeyPair, ProfessionalSpec } from './pki.ts';

const DAY = 24 * 60 * 60 * 1000;

/** Test RPPS numbers: the 997… range of the ANS test cards (e.g. 899700024450 = 8 + 99700024450). */
export const TEST_PROFESSIONALS = {
  generalPractitioner: { profession: '10', specialty: 'SM26', rpps: '99700000001', surname: 'MEDECIN', givenName: 'Alice' },
  cardiologist: { profession: '10', specialty: 'SM04', rpps: '99700000002', surname: 'CARDIO', givenName: 'Bruno' },
  pharmacist: { profession: '21', pharmacistSection: 'A', rpps: '99700000003', surname: 'PHARMA', givenName: 'Chloé' },
  biologist: { profession: '21', pharmacistSection: 'G', rpps: '99700000004', surname: 'BIOLO', givenName: 'David' },
  nurse: { profession: '60', rpps: '99700000005', surname: 'INFIRMIER', givenName: 'Emma' },
  physiotherapist: { profession: '70', rpps: '99700000006', surname: 'KINE', givenName: 'Farid' },
  midwife: { profession: '50', rpps: '99700000007', surname: 'SAGEFEMME', givenName: 'Gaëlle' },
  dentist: { profession: '40', rpps: '99700000008', surname: 'DENTISTE', givenName: 'Hugo' },
  occupationalPhysician: { profession: '10', specialty: 'SM26', rpps: '99700000009', activity: 'occupational-medicine', surname: 'TRAVAIL', givenName: 'Inès' },
  insurerAdviser: { profession: '10', specialty: 'SM26', rpps: '99700000010', activity: 'insurer-medical-adviser', surname: 'CONSEIL', givenName: 'Jules' },
} as const satisfies Record<string, Omit<ProfessionalSpec, 'key'>>;

export const TEST_ESTABLISHMENT = { structureId: '1990000012', name: 'Hôpital de test', sector: 'SA01' } as const;

export interface TestPki {
  ca: CertificateAuthority;
  server: Issued;
  professionals: Record<keyof typeof TEST_PROFESSIONALS, Issued>;
  /** A general practitioner whose certificate ended yesterday. */
  expired: Issued;
  /** A general practitioner whose certificate is in the CRL. */
  revoked: Issued;
  crlPem: string;
  foreignCa: CertificateAuthority;
  /** A general practitioner's certificate from a CA Carnet does not trust. */
  foreign: Issued;
  establishment: Issued;
  careHistoryFeed: Issued;
  operator: Issued;
  /** The CA and its CRL, loaded as the server would load them. */
  trust: Trust;
}

export interface TestPkiOptions {
  /** Server certificate names; default localhost and the loopback addresses. */
  hosts?: string[];
  now?: Date;
  /**
   * One key per certificate. Default false: the end-entity certificates share one key (the two
   * CAs have their own), which makes the set in about 0.2 s instead of seconds on a busy CI
   * machine; what the tests check (issuer, dates, revocation, subject) does not depend on it.
   */
  distinctKeys?: boolean;
}

export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const now = options.now ?? new Date();
  const names = Object.keys(TEST_PROFESSIONALS) as (keyof typeof TEST_PROFESSIONALS)[];
  // Keys in parallel: Node generates them on its thread pool.
  const count = options.distinctKeys ? names.length + 9 : 3;
  const keys = await Promise.all(Array.from({ length: count }, () => generateKeyPair()));
  const shared = keys[0];
  const key = (): KeyPair => (keys.length > 1 ? keys.pop() as KeyPair : shared);

  const ca = await createCertificateAuthority({ commonName: 'Carnet test CA', organization: 'Carnet (test)', key: key(), notBefore: new Date(now.getTime() - DAY) });
  const foreignCa = await createCertificateAuthority({ commonName: 'Carnet test CA', organization: 'Someone else', key: key(), notBefore: new Date(now.getTime() - DAY) });
  const professionals = Object.fromEntries(await Promise.all(names.map(async (name) =>
    [name, await issueProfessionalCertificate(ca, { ...TEST_PROFESSIONALS[name], key: key() })] as const))) as TestPki['professionals'];
  const gp = TEST_PROFESSIONALS.generalPractitioner;
  const expired = await issueProfessionalCertificate(ca, {
    ...gp, key: key(), notBefore: new Date(now.getTime() - 400 * DAY), notAfter: new Date(now.getTime() - DAY),
  });
  const revoked = await issueProfessionalCertificate(ca, { ...gp, key: key() });
  const foreign = await issueProfessionalCertificate(foreignCa, { ...gp, key: key() });
  const crlPem = createCrl(ca, {
    revoked: [{ serial: revoked.serial, revokedAt: now }],
    thisUpdate: new Date(now.getTime() - 60_000),
    nextUpdate: new Date(now.getTime() + 30 * DAY),
  });
  return {
    ca,
    server: await issueServerCertificate(ca, { hosts: options.hosts ?? ['localhost', '127.0.0.1', '::1'], key: key() }),
    professionals,
    expired,
    revoked,
    crlPem,
    foreignCa,
    foreign,
    establishment: await issueEstablishmentCertificate(ca, { ...TEST_ESTABLISHMENT, key: key() }),
    careHistoryFeed: await issueSystemCertificate(ca, { role: 'care-history-feed', id: 'assurance-maladie-feed', key: key() }),
    operator: await issueSystemCertificate(ca, { role: 'operator', id: 'ops-1', key: key() }),
    trust: loadTrust({ ca: ca.certPem, crl: crlPem }),
  };
}
