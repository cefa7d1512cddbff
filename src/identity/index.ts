// Front door of the identity module: who is calling (professional certificate, establishment
// assertion, patient token), the PKI for development and tests, and the Fastify plug-ins.
// Field conventions of the certificates: subject.ts; of the assertion: assertion.ts.

export type {
  AccessMode, Clock, Identity, Organization, ProfessionalIdentity, RegulatorIdentity, PatientIdentity,
  RepresentativeIdentity, CareHistoryFeedIdentity, OperatorIdentity, DeviceIdentity, Refusal, RefusalReason,
} from './types.ts';
export { refusalStatus } from './types.ts';

// Who sent a request
export { identityFromRequest, mutualTlsOptions, peerCertificateOf } from './tls.ts';
export type { IdentityContext, IdentityResult, MutualTlsInput, RequestLike } from './tls.ts';
export { identityPlugin, patientSignInRoutes } from './plugin.ts';

// Certificates
export { loadTrust, presentedChain, verifyClientChain } from './trust.ts';
export type { PeerCertificateInput, Trust, TrustInput } from './trust.ts';
export { establishmentFromCertificate, identityFromCertificate, professionalFromCertificate } from './certificate.ts';
export type { Establishment } from './certificate.ts';
export { G15_PROFESSIONS, parseProfessionCode, professionCode } from './subject.ts';

// Establishment assertions and access modes
export { ASSERTION_HEADER, signAssertion, verifyAssertion } from './assertion.ts';
export type { AssertedPatient, AssertionAlgorithm, AssertionClaims, AssertionContext, VerifiedAssertion } from './assertion.ts';
export { ACCESS_MODE_HEADER, ACCESS_REASON_HEADER, identityInMode, parseAccessMode } from './access-mode.ts';

// Patients
export { createPatientAuth, DEFAULT_SIGN_IN_POLICY, normaliseLogin, otpOutboxMessage } from './patient-auth.ts';
export type { NewCredential, OtpSender, PatientAuth, PatientAuthOptions, SignInPolicy } from './patient-auth.ts';
export { InMemoryCredentialStore } from './credential-store.ts';
export type { CredentialStore, LoginGuard, OtpChallenge, OtpChannel, PatientCredential, PatientSession, PatientSubject } from './credential-store.ts';
export { DEFAULT_SCRYPT, hashPassword, needsRehash, verifyPassword } from './password.ts';
export { loadOrCreateSecret } from './secret.ts';

// PKI (development and tests)
export {
  createCertificateAuthority, generateKeyPair, issueEstablishmentCertificate, issueProfessionalCertificate,
  issueServerCertificate, issueSystemCertificate, loadCertificateAuthority, toPkcs12,
} from './pki.ts';
export type { CertificateAuthority, Issued, KeyPair, ProfessionalSpec } from './pki.ts';
export { createCrl, parseCrl, parseCrls } from './crl.ts';
export { createDevPki, devPkiPaths, loadDevCa, revokeDevCertificate } from './dev-pki.ts';
export type { DevPki } from './dev-pki.ts';
export { createTestPki, TEST_ESTABLISHMENT, TEST_PROFESSIONALS } from './test-pki.ts';
export type { TestPki } from './test-pki.ts';
