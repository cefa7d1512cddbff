// Who is calling, as the identity layer establishes it. The access engine (src/access) has its
// own Actor type; the lead maps Identity onto it. Nothing here decides what an identity may see.

/** The structure a professional acts for (from the certificate subject or the assertion). */
export interface Organization {
  /** Struct_IdNat: national structure id with its type prefix (1 + FINESS, 3 + SIRET…). */
  id?: string;
  name?: string;
}

/**
 * A health professional (CPS-like certificate, or an establishment's assertion).
 * `profession` is a G15 code (TRE_G15, 1.2.250.1.71.1.2.7), e.g. '10' physician, '21' pharmacist.
 * For `role: 'administrative-staff'` (an establishment's non-health staff, via assertion only),
 * `profession` holds the non-health role code (TRE_A00, e.g. 'SECRETARIAT_MEDICAL'), never a
 * G15 code, and `rpps` the establishment's internal id of the person: the access engine must
 * look at `role` before `profession`.
 */
export interface ProfessionalIdentity {
  kind: 'professional';
  /** RPPS number (11 digits), without the '8' type prefix of PS_IdNat. */
  rpps: string;
  profession: string;
  /** Physicians and others: savoir-faire code (TRE_R01, 1.2.250.1.71.4.2.5), e.g. 'SM26'. */
  specialty?: string;
  /** Pharmacists: CNOP section (TRE_G05, 1.2.250.1.71.4.2.6), e.g. 'A', 'G' (biologist). */
  pharmacistSection?: string;
  /** Activities that bar access whatever the profession (derived from sector/specialty). */
  activity?: 'occupational-medicine' | 'insurer-medical-adviser';
  role?: 'administrative-staff';
  organization?: Organization;
}

/** SAMU-Centre 15 emergency-call physician, acting in emergency-call mode. */
export interface RegulatorIdentity {
  kind: 'regulator';
  rpps: string;
  profession: string;
  specialty?: string;
  organization?: Organization;
}

export interface PatientIdentity {
  kind: 'patient';
  patientId: string;
}

export interface RepresentativeIdentity {
  kind: 'representative';
  patientIds: string[];
}

/** The insurer's care-history feed: writes care history, reads nothing. */
export interface CareHistoryFeedIdentity {
  kind: 'care-history-feed';
  /** Certificate common name: which feed. */
  id: string;
}

/** A server operator: manages the server, reads no health data. */
export interface OperatorIdentity {
  kind: 'operator';
  id: string;
}

/**
 * A connected device the patient registered (src/dossier): its revocable bearer token lets it
 * post Observations into that patient's dossier, nothing else.
 */
export interface DeviceIdentity {
  kind: 'device';
  patientId: string;
  deviceId: string;
}

export type Identity =
  | ProfessionalIdentity
  | RegulatorIdentity
  | PatientIdentity
  | RepresentativeIdentity
  | CareHistoryFeedIdentity
  | OperatorIdentity
  | DeviceIdentity;

/** How a professional declares they are accessing the record (VIHF purposeofuse, TRE_R248). */
export type AccessMode =
  | { kind: 'normal' }
  | { kind: 'break-the-glass'; reason: string }
  | { kind: 'emergency-call'; reason?: string };

/** Why an identity could not be established. Codes are stable: audit records and tests use them. */
export type RefusalReason =
  // no or unusable credentials
  | 'no-credentials'
  | 'ambiguous-credentials'
  // certificate
  | 'malformed-certificate'
  | 'untrusted-issuer'
  | 'not-yet-valid'
  | 'expired'
  | 'revoked'
  | 'revocation-unknown'
  | 'not-a-client-certificate'
  | 'unknown-identifier'
  | 'unknown-profession'
  | 'unknown-role'
  | 'not-an-establishment'
  // assertion
  | 'malformed-assertion'
  | 'unsupported-algorithm'
  | 'bad-signature'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'assertion-expired'
  | 'assertion-not-yet-valid'
  | 'assertion-lifetime-too-long'
  // access mode (assertion claim or certificate holder's headers)
  | 'bad-access-mode'
  | 'missing-reason'
  | 'mode-not-allowed'
  // patient sign-in and bearer tokens
  | 'invalid-credentials'
  | 'locked'
  | 'invalid-code'
  | 'code-expired'
  | 'invalid-token'
  | 'token-expired';

export interface Refusal {
  ok: false;
  reason: RefusalReason;
  /** Safe to send to the client: says what is wrong, never echoes secrets or codes. */
  message: string;
  /** With 'locked': when to try again (the Retry-After header). */
  retryAfterSeconds?: number;
}

export function refuse(reason: RefusalReason, message: string, retryAfterSeconds?: number): Refusal {
  return retryAfterSeconds === undefined ? { ok: false, reason, message } : { ok: false, reason, message, retryAfterSeconds };
}

/**
 * HTTP status for a refusal: 400 for an unreadable access-mode declaration, 403 for a known
 * caller asking for a mode it may not use, 429 while a sign-in is locked out (the answer carries
 * the wait), else 401.
 */
export function refusalStatus(reason: RefusalReason): 400 | 401 | 403 | 429 {
  if (reason === 'bad-access-mode') return 400;
  if (reason === 'mode-not-allowed') return 403;
  if (reason === 'locked') return 429;
  return 401;
}

/** Injectable clock (milliseconds since the epoch), so expiry is testable without waiting. */
export type Clock = () => number;
