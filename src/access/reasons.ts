// The small table of reasons a decision gives. Audit records and tests use these codes; the
// FHIR and XDS layers map `visibleAs` to 404 / 403 (never putting the reason in a response to
// someone the rules hide things from: the reason is for the audit trail).
import type { AllowReason, Decision, RefusalReason, Refusal, Visibility } from './types.ts';

export const ALLOW_REASONS: Record<AllowReason, string> = {
  matrix: 'the habilitation matrix lets this actor read this class (and type)',
  author: 'the actor wrote the resource',
  'treating-doctor': 'masked, but the actor is the treating doctor',
  'masked-visible-in-mode': 'masked, but the access mode shows masked documents (break-the-glass)',
  'own-dossier': "the patient's own dossier",
  representative: "a minor's dossier, by their legal representative",
  'may-create': 'the actor may add this kind of resource to this dossier',
  'dossier-manager': 'the patient (or representative) manages this kind of resource whoever wrote it',
  directory: 'directory or conformance data, outside any dossier',
  'self-authorisation': 'a professional attesting that the patient agreed becomes authorised',
  'label-owner': 'the patient (or representative) may change this label',
  'label-author': 'the author may change this label',
};

/** Each refusal, with how it shows: dossier-level refusals are 403, content rules are 404. */
export const REFUSALS: Record<RefusalReason, { visibleAs: Visibility; text: string }> = {
  never: { visibleAs: 'forbidden', text: "occupational physicians and insurers' medical advisers see nothing, ever" },
  'dossier-closed': { visibleAs: 'forbidden', text: 'the dossier is closed: nobody reads or writes it' },
  blocked: { visibleAs: 'forbidden', text: 'the patient blocked this professional' },
  'mode-not-allowed': { visibleAs: 'forbidden', text: 'this actor may not use this access mode' },
  'opposed-break-the-glass': { visibleAs: 'forbidden', text: 'the patient opposed break-the-glass access' },
  'opposed-emergency-call': { visibleAs: 'forbidden', text: 'the patient opposed emergency-call (Centre 15) access' },
  'not-authorised': { visibleAs: 'forbidden', text: 'the patient has not authorised this professional' },
  'not-own-dossier': { visibleAs: 'forbidden', text: "not this actor's own dossier" },
  'not-representative': { visibleAs: 'forbidden', text: 'the actor does not represent this patient' },
  'not-minor': { visibleAs: 'forbidden', text: 'the patient is no longer a minor' },
  'no-read-rights': { visibleAs: 'forbidden', text: 'this actor reads no health data' },
  'no-dossier': { visibleAs: 'absent', text: 'the resource belongs to no known dossier' },
  'other-dossier': { visibleAs: 'absent', text: 'the resource belongs to another dossier' },
  'outside-matrix': { visibleAs: 'absent', text: "the habilitation matrix does not open this class (or type) to the actor's profession" },
  masked: { visibleAs: 'absent', text: 'the patient masked this document from professionals' },
  'invisible-to-patient': { visibleAs: 'absent', text: 'the author made this document invisible to the patient for now' },
  'invisible-to-representatives': { visibleAs: 'absent', text: 'the author made this document invisible to legal representatives' },
  'create-not-permitted': { visibleAs: 'forbidden', text: 'this actor may not add this kind of resource' },
  'not-author': { visibleAs: 'forbidden', text: 'only the author may change or delete this resource' },
  'not-self-authorisable': { visibleAs: 'forbidden', text: 'only a health professional may declare themselves authorised' },
  'label-not-permitted': { visibleAs: 'forbidden', text: 'this actor may not change this label' },
  'directory-read-only': { visibleAs: 'forbidden', text: 'only operators change directory and conformance data' },
};

export function allow(reason: AllowReason): Decision {
  return { allowed: true, reason };
}

export function refuse(reason: RefusalReason): Refusal {
  return { allowed: false, reason, visibleAs: REFUSALS[reason].visibleAs };
}
