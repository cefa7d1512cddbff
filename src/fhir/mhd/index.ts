// Front door of IHE MHD (and PDSm, the French MHD) on the FHIR API. ITI-65 Provide Document
// Bundle is checked here, then runs as an ordinary transaction (bundle-processor.ts); ITI-66 and
// ITI-67 are ordinary List and DocumentReference searches; ITI-68 is GET Binary/{id} raw, with
// Range (binary-routes.ts).
export { isProvideBundle, mhdIssue, prepareProvideBundle, type MhdErrorCode, type PreparedProvide } from './provide.ts';
export { PDSM_INTENDED_RECIPIENT, PDSM_IS_ARCHIVED, PROVIDE_BUNDLE_PROFILES } from './profiles.ts';
export { hasInlineDocument, simplifiedPublishBundle, type SimplifiedPublish } from './simplified-publish.ts';
