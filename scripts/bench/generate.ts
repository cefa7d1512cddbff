// The benchmark's synthetic data, deterministic from a seed: professionals with RPPS numbers,
// patients with an INS (NIR-like, with its control key), each patient's authorisation Consent
// for the test general practitioner (the professional of the mutual-TLS runs), and documents:
// DocumentReferences with French class/type codes and their bytes as Binaries (CDA R2-like XML
// of 20–50 KB, or small PDFs). Nothing here touches a store: load.ts writes what this yields.
import { createHash } from 'node:crypto';
import { derivedSeed, seeded, type Random } from './prng.ts';

export const INS_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.8';
export const RPPS_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.1';
export const CLASS_SYSTEM = 'urn:oid:1.2.250.1.213.1.1.4.1';
export const LOINC = 'http://loinc.org';
const CONFIDENTIALITY = 'urn:oid:2.16.840.1.113883.5.25';
const VISIBILITY = 'urn:oid:1.2.250.1.213.1.1.4.13';
const FACILITY_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.4';
const PRACTICE_SYSTEM = 'urn:oid:1.2.250.1.213.1.1.4.9';
const FORMAT_SYSTEM = 'urn:oid:1.3.6.1.4.1.19376.1.2.3';

/** Root of the loaded documents' ids (CDA ClinicalDocument/id, DocumentReference.masterIdentifier). */
export const DOCUMENT_ID_ROOT = '1.2.250.1.999.1';

/** The XDS uniqueId of a loaded document (DocumentEntry.uniqueId, ITI-43's DocumentUniqueId). */
export const documentUniqueId = (id: string): string => `${DOCUMENT_ID_ROOT}^${id}`;

/** The test general practitioner (src/identity TEST_PROFESSIONALS): every patient authorises them. */
export const GP_RPPS = '99700000001';

/** Documents a "heavy" patient has: W3 ($everything) runs on these. */
export const HEAVY_DOCUMENTS = 50;

/** Document types (JDV_J07, LOINC codes) with their class (TRE_A03) and how often they occur. */
export const DOCUMENT_TYPES = [
  { code: '11490-0', display: "Lettre de liaison à la sortie d'un établissement de soins", classCode: '10', classDisplay: 'Compte rendu', format: 'cda', weight: 20 },
  { code: '11502-2', display: "CR d'examens biologiques", classCode: '10', classDisplay: 'Compte rendu', format: 'cda', weight: 25 },
  { code: '18748-4', display: "CR d'imagerie médicale", classCode: '10', classDisplay: 'Compte rendu', format: 'pdf', weight: 12 },
  { code: '11488-4', display: 'CR ou fiche de consultation ou de visite', classCode: '10', classDisplay: 'Compte rendu', format: 'cda', weight: 15 },
  { code: '34112-3', display: 'CR hospitalier (séjour)', classCode: '10', classDisplay: 'Compte rendu', format: 'cda', weight: 6 },
  { code: '34133-9', display: "Synthèse d'épisode de soins", classCode: '11', classDisplay: 'Synthèse', format: 'cda', weight: 5 },
  { code: '57833-6', display: 'Prescription de produits de santé', classCode: '42', classDisplay: 'Prescription', format: 'pdf', weight: 10 },
  { code: '60593-1', display: 'Dispensation médicamenteuse', classCode: '43', classDisplay: 'Dispensation', format: 'cda', weight: 7 },
] as const;

export type DocumentType = (typeof DOCUMENT_TYPES)[number];

const FAMILY = ['MARTIN', 'BERNARD', 'THOMAS', 'PETIT', 'ROBERT', 'RICHARD', 'DURAND', 'DUBOIS', 'MOREAU', 'LAURENT', 'SIMON', 'MICHEL', 'LEFEBVRE', 'LEROY', 'ROUX', 'DAVID', 'BERTRAND', 'MOREL', 'FOURNIER', 'GIRARD', 'BONNET', 'DUPONT', 'LAMBERT', 'FONTAINE', 'ROUSSEAU', 'VINCENT', 'MULLER', 'LEFEVRE', 'FAURE', 'ANDRE', 'MERCIER', 'BLANC', 'GUERIN', 'BOYER', 'GARNIER', 'CHEVALIER', 'FRANCOIS', 'LEGRAND', 'GAUTHIER', 'GARCIA', 'PERRIN', 'ROBIN', 'CLEMENT', 'MORIN', 'NICOLAS', 'HENRY', 'ROUSSEL', 'MATHIEU', 'GAUTIER', 'MASSON'];
const GIVEN_F = ['Marie', 'Jeanne', 'Françoise', 'Monique', 'Catherine', 'Nathalie', 'Isabelle', 'Sylvie', 'Anne', 'Camille', 'Léa', 'Manon', 'Chloé', 'Inès', 'Élise', 'Louise', 'Emma', 'Jade', 'Zoé', 'Hélène'];
const GIVEN_M = ['Jean', 'Pierre', 'Michel', 'André', 'Philippe', 'Alain', 'Jacques', 'Bernard', 'Nicolas', 'Christophe', 'Thomas', 'Lucas', 'Hugo', 'Louis', 'Gabriel', 'Arthur', 'Raphaël', 'Jules', 'Théo', 'Noé'];
const CITIES = [['Paris', '75', '75012'], ['Lyon', '69', '69003'], ['Marseille', '13', '13005'], ['Toulouse', '31', '31000'], ['Nantes', '44', '44000'], ['Lille', '59', '59000'], ['Rennes', '35', '35000'], ['Bordeaux', '33', '33000'], ['Strasbourg', '67', '67000'], ['Nice', '06', '06000']] as const;
const FACILITIES = [['SA01', 'Etablissement public de santé'], ['SA04', 'Etablissement privé non PSPH'], ['SA05', 'Centre de santé'], ['SA07', 'Cabinet individuel'], ['SA08', 'Cabinet de groupe']] as const;
const PRACTICES = [['AMBULATOIRE', 'Ambulatoire'], ['ETABLISSEMENT', 'Etablissement de santé'], ['HAD', 'Hospitalisation à domicile']] as const;

const SENTENCES = [
  'Patient admis pour douleur thoracique atypique, sans signe de gravité à l\'admission.',
  'Examen clinique : auscultation cardio-pulmonaire normale, abdomen souple et indolore.',
  'Biologie : hémoglobine 13,2 g/dL, leucocytes 7,8 G/L, plaquettes 245 G/L, CRP inférieure à 5 mg/L.',
  'Créatininémie 78 µmol/L, débit de filtration glomérulaire estimé à 88 mL/min/1,73 m².',
  'ECG : rythme sinusal régulier à 72/min, pas de trouble de la repolarisation.',
  'Radiographie thoracique de face : pas d\'épanchement, pas de foyer parenchymateux.',
  'Traitement de sortie : paracétamol 1 g trois fois par jour si douleur, pendant cinq jours.',
  'Poursuite du traitement antihypertenseur habituel sans modification de posologie.',
  'Consultation de contrôle avec le médecin traitant dans un délai de quinze jours.',
  'Allergies connues : pénicilline (éruption cutanée en 2012). Pas d\'autre antécédent notable.',
  'Antécédents : appendicectomie dans l\'enfance, hypertension artérielle depuis 2015.',
  'Le patient a été informé des signes devant conduire à une nouvelle consultation.',
  'Échographie abdominale : foie de taille normale, vésicule alithiasique, reins sans dilatation.',
  'Glycémie à jeun 5,4 mmol/L, HbA1c 5,6 %, bilan lipidique dans les normes.',
  'Évolution favorable sous traitement, apyrexie obtenue au troisième jour.',
  'Vaccinations à jour selon le calendrier vaccinal en vigueur.',
];

export interface Practitioner {
  id: string;
  rpps: string;
  resource: Record<string, unknown>;
}

/** The resources of one patient's dossier, in the order they are written. */
export interface PatientGroup {
  patient: Record<string, unknown>;
  consent: Record<string, unknown>;
  documents: { reference: Record<string, unknown>; binary?: Record<string, unknown>; type: DocumentType }[];
}

export interface DatasetSpec {
  documents: number;
  seed: number;
  /** Fraction of documents whose bytes are stored as a Binary (default 1). */
  binaries?: number;
}

export interface DatasetShape {
  documents: number;
  heavyPatients: number;
  practitioners: number;
}

export function shapeOf(spec: DatasetSpec): DatasetShape {
  const heavyPatients = Math.max(1, Math.min(200, Math.floor(spec.documents / 1000), Math.floor(spec.documents / (4 * HEAVY_DOCUMENTS))));
  return { documents: spec.documents, heavyPatients, practitioners: Math.max(20, Math.floor(spec.documents / 500)) };
}

export const patientId = (n: number): string => `bench-p-${n}`;
export const documentId = (n: number): string => `bench-d-${n}`;
export const binaryId = (n: number): string => `bench-b-${n}`;
const practitionerId = (n: number): string => `bench-pr-${n}`;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** A NIR-like INS: sex, year, month, department, commune, order, and the key 97 − (n mod 97). */
export function nir(random: Random, sex: 1 | 2, birth: Date, department: string): string {
  const body = `${sex}${pad(birth.getUTCFullYear() % 100, 2)}${pad(birth.getUTCMonth() + 1, 2)}${department}${pad(random.int(1, 999), 3)}${pad(random.int(1, 999), 3)}`;
  const key = 97n - (BigInt(body) % 97n);
  return `${body}${pad(Number(key), 2)}`;
}

function rppsOf(n: number): string {
  return n === 0 ? GP_RPPS : `10${pad(100000 + n, 9)}`;
}

export function practitioners(spec: DatasetSpec): Practitioner[] {
  const random = seeded(derivedSeed(spec.seed, 'practitioners'));
  return Array.from({ length: shapeOf(spec).practitioners }, (_, n) => {
    const rpps = rppsOf(n);
    const female = random.chance(0.5);
    return {
      id: practitionerId(n),
      rpps,
      resource: {
        resourceType: 'Practitioner',
        id: practitionerId(n),
        identifier: [{ system: RPPS_SYSTEM, value: `8${rpps}` }],
        active: true,
        name: [{ family: random.pick(FAMILY), given: [random.pick(female ? GIVEN_F : GIVEN_M)], prefix: ['Dr'] }],
      },
    };
  });
}

function dateBetween(random: Random, fromYear: number, toYear: number): Date {
  const from = Date.UTC(fromYear, 0, 1);
  const to = Date.UTC(toYear, 11, 31);
  return new Date(from + Math.floor(random.next() * (to - from)));
}

function patientResource(random: Random, n: number): Record<string, unknown> {
  const female = random.chance(0.52);
  const birth = dateBetween(random, 1935, 2004);
  const [city, department, postalCode] = random.pick(CITIES);
  return {
    resourceType: 'Patient',
    id: patientId(n),
    identifier: [{
      use: 'official',
      type: { coding: [{ system: 'http://interopsante.org/CodeSystem/fr-v2-0203', code: 'INS-NIR' }] },
      system: INS_SYSTEM,
      value: nir(random, female ? 2 : 1, birth, department),
    }],
    active: true,
    name: [{ use: 'official', family: random.pick(FAMILY), given: [random.pick(female ? GIVEN_F : GIVEN_M)] }],
    gender: female ? 'female' : 'male',
    birthDate: birth.toISOString().slice(0, 10),
    address: [{ use: 'home', line: [`${random.int(1, 120)} rue de la République`], city, postalCode, country: 'FR' }],
  };
}

function consentResource(n: number): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    id: `bench-c-${n}`,
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'urn:carnet:fhir:CodeSystem:dossier-control', code: 'authorise' }] }],
    patient: { reference: `Patient/${patientId(n)}` },
    dateTime: '2024-01-15T09:00:00Z',
    performer: [{ reference: `Patient/${patientId(n)}` }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      actor: [{
        role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] },
        reference: { identifier: { system: RPPS_SYSTEM, value: `8${GP_RPPS}` } },
      }],
    },
  };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A CDA R2-like discharge letter of about `size` bytes: a real header, a narrative body. */
export function cdaDocument(random: Random, options: { size: number; ins: string; family: string; given: string; authorRpps: string; type: DocumentType; date: Date; id: string }): Buffer {
  const ts = options.date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const head = `<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <realmCode code="FR"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="1.2.250.1.213.1.1.1.1"/>
  <id root="${DOCUMENT_ID_ROOT}" extension="${options.id}"/>
  <code code="${options.type.code}" codeSystem="2.16.840.1.113883.6.1" displayName="${escapeXml(options.type.display)}"/>
  <title>${escapeXml(options.type.display)}</title>
  <effectiveTime value="${ts}+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="fr-FR"/>
  <recordTarget><patientRole>
    <id root="${INS_SYSTEM.slice(8)}" extension="${options.ins}"/>
    <patient><name><family qualifier="BR">${options.family}</family><given>${escapeXml(options.given)}</given></name></patient>
  </patientRole></recordTarget>
  <author><time value="${ts}+0100"/><assignedAuthor>
    <id root="1.2.250.1.71.4.2.1" extension="8${options.authorRpps}"/>
  </assignedAuthor></author>
  <component><structuredBody>
`;
  const tail = '  </structuredBody></component>\n</ClinicalDocument>\n';
  const parts = [head];
  let length = Buffer.byteLength(head) + tail.length;
  for (let section = 1; length < options.size; section++) {
    const paragraphs: string[] = [];
    for (let p = 0; p < 6; p++) paragraphs.push(`<paragraph>${escapeXml(Array.from({ length: 4 }, () => random.pick(SENTENCES)).join(' '))}</paragraph>`);
    const text = `    <component><section>\n      <title>Section ${section}</title>\n      <text>${paragraphs.join('\n')}</text>\n    </section></component>\n`;
    parts.push(text);
    length += Buffer.byteLength(text);
  }
  parts.push(tail);
  return Buffer.from(parts.join(''));
}

/** A small valid PDF (one page, text lines, correct xref offsets) of about `size` bytes. */
export function pdfDocument(random: Random, options: { size: number; title: string }): Buffer {
  const lines: string[] = [`BT /F1 11 Tf 50 800 Td 14 TL (${options.title.replace(/[()\\]/g, '')}) Tj`];
  let length = 600;
  while (length < options.size) {
    const line = random.pick(SENTENCES).normalize('NFD').replace(/[^\x20-\x7e]/g, '').replace(/[()\\]/g, '');
    lines.push(`T* (${line}) Tj`);
    length += line.length + 8;
  }
  lines.push('ET');
  const stream = lines.join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(stream)} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${pad(o, 10)} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

export interface DocumentOptions {
  id: string;
  patient: string;
  type: DocumentType;
  author: Practitioner;
  date: Date;
  masked: boolean;
  /** The document's bytes when they are stored (size and hash are then exact). */
  bytes?: Buffer;
  size: number;
  binary?: string;
}

/** A DocumentReference as an MHD Document Source would send it (French DMP codes). */
export function documentReference(random: Random, o: DocumentOptions): Record<string, unknown> {
  const [facility, facilityDisplay] = random.pick(FACILITIES);
  const [practice, practiceDisplay] = random.pick(PRACTICES);
  const contentType = o.type.format === 'cda' ? 'text/xml' : 'application/pdf';
  const when = o.date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
  return {
    resourceType: 'DocumentReference',
    ...(o.id ? { id: o.id } : {}),
    // A loaded document's uniqueId is its CDA's ClinicalDocument/id (root^extension: XDS finds it
    // so, W5 retrieves it); a new one (W6) gets an OID.
    masterIdentifier: o.id ? { system: `urn:oid:${DOCUMENT_ID_ROOT}`, value: o.id } : { system: 'urn:ietf:rfc:3986', value: `urn:oid:${DOCUMENT_ID_ROOT}.${random.int(1, 1e9)}` },
    status: 'current',
    docStatus: 'final',
    type: { coding: [{ system: LOINC, code: o.type.code, display: o.type.display }] },
    category: [{ coding: [{ system: CLASS_SYSTEM, code: o.type.classCode, display: o.type.classDisplay }] }],
    subject: { reference: `Patient/${o.patient}` },
    date: when,
    author: [{ reference: `Practitioner/${o.author.id}`, identifier: { system: RPPS_SYSTEM, value: `8${o.author.rpps}` } }],
    securityLabel: [
      { coding: [{ system: CONFIDENTIALITY, code: 'N', display: 'normal' }] },
      ...(o.masked ? [{ coding: [{ system: VISIBILITY, code: 'MASQUE_PS', display: 'Masqué aux professionnels de santé' }] }] : []),
    ],
    content: [{
      attachment: {
        contentType,
        language: 'fr-FR',
        ...(o.binary ? { url: `Binary/${o.binary}` } : {}),
        size: o.bytes?.length ?? o.size,
        ...(o.bytes ? { hash: createHash('sha1').update(o.bytes).digest('base64') } : {}),
        title: o.type.display,
        creation: when,
      },
      format: { system: FORMAT_SYSTEM, code: o.type.format === 'cda' ? 'urn:asip:ci-sis:cr-bio:2021' : 'urn:ihe:iti:xds-sd:pdf:2008' },
    }],
    context: {
      period: { start: when, end: when },
      facilityType: { coding: [{ system: FACILITY_SYSTEM, code: facility, display: facilityDisplay }] },
      practiceSetting: { coding: [{ system: PRACTICE_SYSTEM, code: practice, display: practiceDisplay }] },
    },
  };
}

/**
 * The dossiers, patient by patient: the first heavyPatients have exactly HEAVY_DOCUMENTS
 * documents each, the others 1 to 19 (about 10 on average), until spec.documents are made.
 */
export function* patientGroups(spec: DatasetSpec, pros: Practitioner[] = practitioners(spec)): Generator<PatientGroup> {
  const random = seeded(derivedSeed(spec.seed, 'dossiers'));
  const shape = shapeOf(spec);
  const authors = pros.filter((p) => p.rpps !== GP_RPPS);
  const binaryRatio = spec.binaries ?? 1;
  let made = 0;
  for (let n = 0; made < spec.documents; n++) {
    const patient = patientResource(random, n);
    const count = Math.min(spec.documents - made, n < shape.heavyPatients ? HEAVY_DOCUMENTS : random.int(1, 19));
    const name = (patient.name as { family: string; given: string[] }[])[0];
    const ins = (patient.identifier as { value: string }[])[0].value;
    const documents: PatientGroup['documents'] = [];
    for (let k = 0; k < count; k++, made++) {
      const type = random.weighted(DOCUMENT_TYPES.map((t) => [t, t.weight] as const));
      const author = random.pick(authors);
      const date = dateBetween(random, 2015, 2025);
      const withBinary = binaryRatio >= 1 || random.chance(binaryRatio);
      const size = type.format === 'cda' ? random.int(20_000, 50_000) : random.int(15_000, 60_000);
      const id = documentId(made);
      const bytes = !withBinary ? undefined : type.format === 'cda'
        ? cdaDocument(random, { size, ins, family: name.family, given: name.given[0], authorRpps: author.rpps, type, date, id })
        : pdfDocument(random, { size, title: type.display });
      const reference = documentReference(random, { id, patient: patientId(n), type, author, date, masked: random.chance(0.05), bytes, size, binary: bytes ? binaryId(made) : undefined });
      const binary = bytes
        ? { resourceType: 'Binary', id: binaryId(made), contentType: type.format === 'cda' ? 'text/xml' : 'application/pdf', securityContext: { reference: `DocumentReference/${id}` }, data: bytes.toString('base64') }
        : undefined;
      documents.push({ reference, binary, type });
    }
    yield { patient, consent: consentResource(n), documents };
  }
}
