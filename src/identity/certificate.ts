// From a TLS client certificate to an identity: the chain is checked first (trust.ts), then the
// subject is read (subject.ts). Pure: the caller passes the time.
import type { X509Certificate } from 'node:crypto';
import { certificateNames } from './der.ts';
import { readSubject } from './subject.ts';
import type { SubjectReading } from './subject.ts';
import { presentedChain, verifyClientChain } from './trust.ts';
import type { PeerCertificateInput, Trust } from './trust.ts';
import { refuse } from './types.ts';
import type { Identity, Organization, ProfessionalIdentity, Refusal } from './types.ts';

export interface Establishment {
  organization: Organization & { id: string };
  sector?: string;
  /** The TLS certificate: its key verifies the establishment's assertions. */
  certificate: X509Certificate;
}

type Checked = { ok: true; leaf: X509Certificate; subject: SubjectReading } | Refusal;

function check(peer: PeerCertificateInput | undefined | null, trust: Trust, now: Date): Checked {
  try {
    const verified = verifyClientChain(presentedChain(peer), trust, now);
    if (!verified.ok) return verified;
    return { ok: true, leaf: verified.leaf, subject: readSubject(certificateNames(verified.leaf.raw).subjectAttributes) };
  } catch {
    // Bytes Node or the DER reader cannot parse: nothing about them is trusted.
    return refuse('malformed-certificate', 'The client certificate cannot be read');
  }
}

/** Any certificate-borne identity: professional, care-history feed or operator. */
export function identityFromCertificate(
  peer: PeerCertificateInput | undefined | null, trust: Trust, now: Date = new Date(),
): { ok: true; identity: Identity; certificate: X509Certificate } | Refusal {
  const checked = check(peer, trust, now);
  if (!checked.ok) return checked;
  const { subject, leaf } = checked;
  switch (subject.kind) {
    case 'professional':
      return { ok: true, identity: subject.identity, certificate: leaf };
    case 'care-history-feed':
    case 'operator':
      return { ok: true, identity: { kind: subject.kind, id: subject.id }, certificate: leaf };
    case 'establishment':
      // An establishment only speaks for its users through a signed assertion (assertion.ts).
      return refuse('unknown-role', 'An establishment certificate needs an assertion naming the user');
    case 'invalid':
      return refuse(subject.reason, subject.message);
  }
}

/** A CPS-like certificate to a professional identity, or why not. */
export function professionalFromCertificate(
  peer: PeerCertificateInput | undefined | null, trust: Trust, now: Date = new Date(),
): { ok: true; identity: ProfessionalIdentity; certificate: X509Certificate } | Refusal {
  const result = identityFromCertificate(peer, trust, now);
  if (!result.ok) return result;
  if (result.identity.kind !== 'professional') return refuse('unknown-profession', 'The certificate does not name a health professional');
  return { ok: true, identity: result.identity, certificate: result.certificate };
}

/** An establishment's certificate (no profession, a structure id), or why not. */
export function establishmentFromCertificate(
  peer: PeerCertificateInput | undefined | null, trust: Trust, now: Date = new Date(),
): ({ ok: true } & Establishment) | Refusal {
  const checked = check(peer, trust, now);
  if (!checked.ok) return checked;
  if (checked.subject.kind !== 'establishment') {
    return refuse('not-an-establishment', 'Assertions are accepted only over an establishment certificate');
  }
  const { organization, sector } = checked.subject;
  return { ok: true, organization, ...(sector ? { sector } : {}), certificate: checked.leaf };
}
