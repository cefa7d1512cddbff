// Where Carnet's certificates carry who their holder is. The real CPS certificate template
// (ANS "IGC-Santé – gabarits des certificats X.509", not in our sources: dmp-fr.md §4.2 ⚠) is
// followed in spirit; the values are the codes the DMP uses elsewhere, so nothing is invented:
//
// Professional (CPS-like, one per professional and activity):
//   C                         FR
//   O                         organisation name (optional)
//   OU                        Struct_IdNat of the activity's structure, e.g. 1 + FINESS (optional)
//   CN                        PS_IdNat = '8' + RPPS (11 digits), e.g. 810001234567
//   SN, GN                    surname, given name (optional; not used for identity)
//   title        (2.5.4.12)   'G15_<profession>[/<specialty or CNOP section>]', the combined
//                             profession/specialty code of the DMP's author-specialty value set
//                             (JDV_J01, system 1.2.250.1.213.1.1.4.5), e.g. G15_10/SM26 (GP),
//                             G15_21/G (biologist pharmacist), G15_60 (nurse)
//   businessCategory (2.5.4.15) activity sector SAxx (TRE_R02, 1.2.250.1.71.4.2.4; VIHF
//                             Secteur_Activite), e.g. SA07 (optional)
// Establishment (like an IGC-Santé ORG AUTH_CLI certificate): no title; OU = Struct_IdNat
//   (required), O = name, CN = the service or application.
// System actors: title ALIM_AM (TRE_A00: the insurer's feed) → care-history feed;
//   title CARNET_OPERATOR (Carnet's own) → operator; CN names the feed or the operator.
import { NAME_OID, attribute } from './der.ts';
import type { NameAttribute } from './der.ts';
import type { Organization, ProfessionalIdentity } from './types.ts';

/** TRE_G15 professions (1.2.250.1.71.1.2.7) that may hold a professional certificate. */
export const G15_PROFESSIONS: Readonly<Record<string, string>> = {
  '10': 'Médecin', '21': 'Pharmacien', '26': 'Audioprothésiste', '28': 'Opticien-lunetier',
  '31': 'Assistant dentaire', '32': 'Physicien médical', '35': 'Aide-soignant', '36': 'Ambulancier',
  '37': 'Auxiliaire de puériculture', '38': 'Préparateur en pharmacie hospitalière',
  '39': 'Préparateur en pharmacie', '40': 'Chirurgien-dentiste', '50': 'Sage-femme', '60': 'Infirmier',
  '69': 'Infirmier psychiatrique', '70': 'Masseur-kinésithérapeute', '80': 'Pédicure-podologue',
  '81': 'Orthoprothésiste', '82': 'Podo-orthésiste', '83': 'Orthopédiste-orthésiste', '84': 'Oculariste',
  '85': 'Épithésiste', '86': 'Technicien de laboratoire médical', '91': 'Orthophoniste',
  '92': 'Orthoptiste', '94': 'Ergothérapeute', '95': 'Diététicien', '96': 'Psychomotricien',
  '98': 'Manipulateur ERM',
};

export const PHARMACIST = '21';
export const PHYSICIAN = '10';
export const CARE_HISTORY_FEED_ROLE = 'ALIM_AM';
export const OPERATOR_ROLE = 'CARNET_OPERATOR';

/**
 * Activities that bar DMP access whatever the profession: occupational health (sectors SA13
 * "prévention et soins en entreprise", SA66 "services de prévention et de santé au travail",
 * or the occupational-medicine specialty SM25) and insurers (SA23 private insurance, SA24
 * social security bodies, where the insurers' medical advisers work). Erring towards refusal.
 */
const OCCUPATIONAL_SECTORS = new Set(['SA13', 'SA66']);
const OCCUPATIONAL_SPECIALTIES = new Set(['SM25']);
const INSURER_SECTORS = new Set(['SA23', 'SA24']);

/** The sector a generated certificate carries for a barred activity. */
export const SECTOR_OF_ACTIVITY = {
  'occupational-medicine': 'SA66',
  'insurer-medical-adviser': 'SA24',
} as const;

export function activityOf(sector: string | undefined, specialty: string | undefined): ProfessionalIdentity['activity'] {
  if ((sector && OCCUPATIONAL_SECTORS.has(sector)) || (specialty && OCCUPATIONAL_SPECIALTIES.has(specialty))) {
    return 'occupational-medicine';
  }
  if (sector && INSURER_SECTORS.has(sector)) return 'insurer-medical-adviser';
  return undefined;
}

/** CNOP sections are one or two capital letters (A, D, DA, G, H…); anything else is a specialty. */
const PHARMACIST_SECTION = /^[A-Z]{1,2}$/;

export interface ProfessionCode {
  profession: string;
  specialty?: string;
  pharmacistSection?: string;
}

/** 'G15_10/SM26' → {profession '10', specialty 'SM26'}; undefined when not a G15 code we know. */
export function parseProfessionCode(code: string): ProfessionCode | undefined {
  const match = /^G15_(\d{2})(?:\/([A-Za-z0-9]{1,10}))?$/.exec(code);
  if (!match || !(match[1] in G15_PROFESSIONS)) return undefined;
  const [, profession, qualifier] = match;
  if (qualifier === undefined) return { profession };
  if (profession === PHARMACIST && PHARMACIST_SECTION.test(qualifier)) return { profession, pharmacistSection: qualifier };
  return { profession, specialty: qualifier };
}

export function professionCode(p: ProfessionCode): string {
  const qualifier = p.pharmacistSection ?? p.specialty;
  return `G15_${p.profession}${qualifier ? `/${qualifier}` : ''}`;
}

/** PS_IdNat for an RPPS holder: type prefix 8 + the 11-digit RPPS number. */
export function psIdNat(rpps: string): string {
  return `8${rpps}`;
}

export function rppsFromPsIdNat(id: string): string | undefined {
  return /^8(\d{11})$/.exec(id)?.[1];
}

export function isRpps(value: string): boolean {
  return /^\d{11}$/.test(value);
}

function organizationOf(attributes: NameAttribute[]): Organization | undefined {
  const id = attribute(attributes, NAME_OID.organizationalUnitName);
  const name = attribute(attributes, NAME_OID.organizationName);
  if (!id && !name) return undefined;
  return { ...(id ? { id } : {}), ...(name ? { name } : {}) };
}

/** What a certificate subject says its holder is, before any trust decision. */
export type SubjectReading =
  | { kind: 'professional'; identity: ProfessionalIdentity }
  | { kind: 'establishment'; organization: Organization & { id: string }; sector?: string }
  | { kind: 'care-history-feed'; id: string }
  | { kind: 'operator'; id: string }
  | { kind: 'invalid'; reason: 'unknown-identifier' | 'unknown-profession' | 'unknown-role'; message: string };

export function readSubject(attributes: NameAttribute[]): SubjectReading {
  const title = attribute(attributes, NAME_OID.title);
  const commonName = attribute(attributes, NAME_OID.commonName);
  const sector = attribute(attributes, NAME_OID.businessCategory);
  const organization = organizationOf(attributes);

  if (title === undefined) {
    if (!organization?.id) {
      return { kind: 'invalid', reason: 'unknown-role', message: 'The certificate names neither a profession nor a structure' };
    }
    return { kind: 'establishment', organization: { ...organization, id: organization.id }, ...(sector ? { sector } : {}) };
  }
  if (title === CARE_HISTORY_FEED_ROLE || title === OPERATOR_ROLE) {
    if (!commonName) return { kind: 'invalid', reason: 'unknown-identifier', message: 'The certificate has no common name' };
    return title === OPERATOR_ROLE ? { kind: 'operator', id: commonName } : { kind: 'care-history-feed', id: commonName };
  }
  const code = parseProfessionCode(title);
  if (!code) {
    const message = title.startsWith('G15_') ? 'The certificate names a profession Carnet does not know' : 'The certificate names a role Carnet does not know';
    return { kind: 'invalid', reason: title.startsWith('G15_') ? 'unknown-profession' : 'unknown-role', message };
  }
  const rpps = commonName ? rppsFromPsIdNat(commonName) : undefined;
  if (!rpps) {
    return { kind: 'invalid', reason: 'unknown-identifier', message: 'The certificate common name is not an RPPS-based national id (8 + 11 digits)' };
  }
  const activity = activityOf(sector, code.specialty);
  return {
    kind: 'professional',
    identity: {
      kind: 'professional',
      rpps,
      ...code,
      ...(activity ? { activity } : {}),
      ...(organization ? { organization } : {}),
    },
  };
}
