// The patient's controls are FHIR Consents (convention in profiles/README.md, "Patient controls
// as Consents"): one Consent per control, in the patient-privacy scope, its category a code of
// Carnet's dossier-control system, provision.actor the professional concerned. This module reads
// them into DossierFacts and tells the FHIR layer what is wrong with a Consent it is given.
//
// When a Consent is ambiguous, the reading restricts: a block or an opposition applies whatever
// its provision.type and unless its period has certainly ended; an authorisation or a treating-
// doctor declaration applies only with provision.type 'permit' and within its period.
import type { Consent } from '@medplum/fhirtypes';
import { referenceAuthor } from './resource-facts.ts';
import { CONSENT_SCOPE_SYSTEM, DOSSIER_CONTROL_SYSTEM } from './systems.ts';
import type { DossierFacts } from './types.ts';

export type DossierControlCode = 'authorise' | 'block' | 'oppose-break-the-glass' | 'oppose-emergency-call' | 'treating-doctor';

interface ControlRule {
  provision: 'permit' | 'deny';
  /** How many professionals provision.actor must name. */
  actors: 'one' | 'one-or-more' | 'none';
  /** Restrictive controls apply even when the Consent is ambiguous. */
  restrictive: boolean;
}

export const DOSSIER_CONTROLS: Record<DossierControlCode, ControlRule> = {
  authorise: { provision: 'permit', actors: 'one-or-more', restrictive: false },
  block: { provision: 'deny', actors: 'one-or-more', restrictive: true },
  'oppose-break-the-glass': { provision: 'deny', actors: 'none', restrictive: true },
  'oppose-emergency-call': { provision: 'deny', actors: 'none', restrictive: true },
  'treating-doctor': { provision: 'permit', actors: 'one', restrictive: false },
};

export interface DossierControl {
  code: DossierControlCode;
  /** RPPS numbers of the professionals concerned. */
  actors: string[];
  /** Consent.dateTime, to pick the latest treating-doctor declaration. */
  dateTime?: string;
}

function controlCode(consent: Consent): DossierControlCode | undefined {
  const codes = (consent.category ?? []).flatMap((c) => c.coding ?? []).filter((c) => c.system === DOSSIER_CONTROL_SYSTEM && c.code !== undefined && Object.hasOwn(DOSSIER_CONTROLS, c.code));
  return codes.length === 1 ? (codes[0].code as DossierControlCode) : undefined;
}

function hasPrivacyScope(consent: Consent): boolean {
  return (consent.scope?.coding ?? []).some((c) => c.system === CONSENT_SCOPE_SYSTEM && c.code === 'patient-privacy');
}

const DAY_MS = 86_400_000;

/** An instant from a FHIR date or dateTime; a bare day ends at its last millisecond. */
function instant(value: string | undefined, edge: 'start' | 'end'): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return Number.NaN;
  return edge === 'end' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? ms + DAY_MS - 1 : ms;
}

/** true: in force at `at`; false: certainly not; undefined: the period cannot be read. */
function inForce(consent: Consent, at: number): boolean | undefined {
  const start = instant(consent.provision?.period?.start, 'start');
  const end = instant(consent.provision?.period?.end, 'end');
  if (Number.isNaN(start) || Number.isNaN(end)) return undefined;
  return (start === undefined || start <= at) && (end === undefined || at <= end);
}

function controlActors(consent: Consent): (string | undefined)[] {
  return (consent.provision?.actor ?? []).map((a) => {
    const id = referenceAuthor(a.reference);
    return id === undefined || id.includes('/') ? undefined : id; // professionals only
  });
}

/** The control an active Consent expresses and applies at `at`, or undefined when none applies. */
export function consentControl(consent: Consent, at: number = Date.now()): DossierControl | undefined {
  if (consent.status !== 'active' || !hasPrivacyScope(consent)) return undefined;
  const code = controlCode(consent);
  if (!code) return undefined;
  const rule = DOSSIER_CONTROLS[code];
  const force = inForce(consent, at);
  const applies = rule.restrictive ? force !== false : force === true && consent.provision?.type === rule.provision;
  if (!applies) return undefined;
  const actors = controlActors(consent).filter((a): a is string => a !== undefined);
  return { code, actors, ...(consent.dateTime ? { dateTime: consent.dateTime } : {}) };
}

/**
 * What is wrong with a Consent meant as a dossier control (empty when nothing): the FHIR layer
 * refuses such a Consent on write (422) rather than store one the reading would half ignore.
 */
export function consentProblems(consent: Consent): string[] {
  const problems: string[] = [];
  if (consent.resourceType !== 'Consent') return ['not a Consent'];
  if (!hasPrivacyScope(consent)) problems.push(`scope must be ${CONSENT_SCOPE_SYSTEM}|patient-privacy`);
  const code = controlCode(consent);
  if (!code) return [...problems, `category must hold exactly one code of ${DOSSIER_CONTROL_SYSTEM}: ${Object.keys(DOSSIER_CONTROLS).join(', ')}`];
  if (!/^Patient\/[^/]+$/.test(consent.patient?.reference ?? '')) problems.push('patient must reference Patient/<id>');
  const rule = DOSSIER_CONTROLS[code];
  if (consent.provision?.type !== rule.provision) problems.push(`provision.type must be '${rule.provision}' for ${code}`);
  const actors = controlActors(consent);
  if (actors.includes(undefined)) problems.push('each provision.actor must reference a professional: Practitioner/<rpps> or an RPPS / PS_IdNat identifier');
  if (rule.actors === 'none' && actors.length) problems.push(`${code} takes no provision.actor`);
  if (rule.actors === 'one' && actors.length !== 1) problems.push(`${code} names exactly one provision.actor`);
  if (rule.actors === 'one-or-more' && !actors.length) problems.push(`${code} names at least one provision.actor`);
  if (inForce(consent, 0) === undefined) problems.push('provision.period must hold FHIR dates');
  return problems;
}

function latest(controls: DossierControl[]): DossierControl | undefined {
  // Later dateTime wins; without dates, the later Consent in the list.
  return controls.reduce<DossierControl | undefined>((best, c) => (!best || (Date.parse(c.dateTime ?? '') || 0) >= (Date.parse(best.dateTime ?? '') || 0) ? c : best), undefined);
}

export interface DossierFactsOptions {
  /** Whether the patient is a minor (from the dossier module: birth date and age of majority). */
  minor?: boolean;
  /** The instant Consent periods are checked against (default: now). */
  at?: number;
}

/**
 * The access facts of a dossier from its status and the patient's Consents. Consents about
 * another patient are ignored. Several treating-doctor declarations: the latest applies.
 */
export function dossierFacts(patientId: string, status: DossierFacts['status'], consents: readonly Consent[], options: DossierFactsOptions = {}): DossierFacts {
  const at = options.at ?? Date.now();
  const controls = consents
    .filter((c) => c.patient?.reference === `Patient/${patientId}`)
    .map((c) => consentControl(c, at))
    .filter((c): c is DossierControl => c !== undefined);
  const actorsOf = (code: DossierControlCode) => [...new Set(controls.filter((c) => c.code === code).flatMap((c) => c.actors))];
  const treating = latest(controls.filter((c) => c.code === 'treating-doctor' && c.actors.length === 1));
  const facts: DossierFacts = {
    patientId,
    status,
    authorized: actorsOf('authorise'),
    blocked: actorsOf('block'),
    opposedBreakTheGlass: controls.some((c) => c.code === 'oppose-break-the-glass'),
    opposedEmergencyCall: controls.some((c) => c.code === 'oppose-emergency-call'),
  };
  if (treating) facts.treatingDoctor = treating.actors[0];
  if (options.minor !== undefined) facts.minor = options.minor;
  return facts;
}
