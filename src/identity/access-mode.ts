// The access mode a professional declares (VIHF purposeofuse, TRE_R248) and what it does to the
// identity: break-the-glass keeps the professional; emergency-call makes a physician the
// SAMU-Centre 15 regulator. Whether the patient opposed either is the access engine's decision.
//
// Over a professional certificate (no assertion), the mode travels in two headers:
//   X-Carnet-Access-Mode:   normal | break-the-glass | emergency-call
//                           (the DMP codes normal | bris_de_glace | centre_15 are accepted too)
//   X-Carnet-Access-Reason: the reason, percent-encoded UTF-8 (required for break-the-glass)
import { PHYSICIAN } from './subject.ts';
import { refuse } from './types.ts';
import type { AccessMode, Identity, Refusal } from './types.ts';

export const ACCESS_MODE_HEADER = 'x-carnet-access-mode';
export const ACCESS_REASON_HEADER = 'x-carnet-access-reason';
export const MAX_REASON_LENGTH = 500;

const MODES: Record<string, AccessMode['kind']> = {
  normal: 'normal',
  'break-the-glass': 'break-the-glass',
  'emergency-call': 'emergency-call',
  bris_de_glace: 'break-the-glass',
  centre_15: 'emergency-call',
};

/** A declared mode and reason (both optional: no declaration means normal). */
export function parseAccessMode(code: string | undefined, rawReason: string | undefined): AccessMode | Refusal {
  const kind = MODES[(code ?? 'normal').trim()];
  if (!kind) return refuse('bad-access-mode', 'Unknown access mode (normal, break-the-glass or emergency-call)');
  const reason = rawReason?.trim();
  if (reason && reason.length > MAX_REASON_LENGTH) {
    return refuse('bad-access-mode', `The access reason is longer than ${MAX_REASON_LENGTH} characters`);
  }
  if (kind === 'break-the-glass') {
    return reason ? { kind, reason } : refuse('missing-reason', 'Break-the-glass access needs a reason');
  }
  if (kind === 'emergency-call') return reason ? { kind, reason } : { kind };
  return { kind };
}

/** The identity acting in `mode`, or a refusal when this identity cannot use that mode. */
export function identityInMode(identity: Identity, mode: AccessMode): Identity | Refusal {
  if (mode.kind === 'normal') return identity;
  if (identity.kind !== 'professional' || identity.role === 'administrative-staff') {
    return refuse('mode-not-allowed', 'Only health professionals can declare an emergency access mode');
  }
  if (mode.kind === 'break-the-glass') return identity;
  // SAMU-Centre 15 regulation is a physician's act.
  if (identity.profession !== PHYSICIAN) return refuse('mode-not-allowed', 'Emergency-call access is for regulating physicians');
  const { rpps, profession, specialty, organization } = identity;
  return {
    kind: 'regulator',
    rpps,
    profession,
    ...(specialty ? { specialty } : {}),
    ...(organization ? { organization } : {}),
  };
}
