// Patient/{id}/$summary: what an emergency doctor needs in 30 seconds, as an IPS-shaped
// document Bundle (https://hl7.org/fhir/uv/ips/OperationDefinition-summary.html): a Composition
// whose sections list allergies, active problems, past illnesses, current treatments,
// vaccinations (with lot and next dose), blood group, advance directives and the latest
// medical summary document, followed by the resources themselves.
//
// Every section is a search through repository.search, so the access gate constrains each one:
// the summary holds exactly what the actor may see, in the mode they declared (a break-the-glass
// access sees masked documents, a physiotherapist no vaccinations…). A section with nothing
// visible says "no information available", whether nothing exists or nothing may be shown.
// Entries added by the patient, a device or the insurer say so in the narrative (and carry
// their integrity label, see patient-data.ts).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ResourceBody, StoredVersion } from '../../store/index.ts';
import type { RequestContext } from '../gate.ts';
import { publicResource } from '../present.ts';
import type { FhirRepository } from '../repository.ts';
import type { OperationHttp } from './everything.ts';
import { ADVANCE_DIRECTIVES_TYPE, asserterOf, BLOOD_GROUP_CODE, NEXT_DOSE_EXTENSION, SUMMARY_DOCUMENT_TYPES, type Asserter } from './patient-data.ts';

const LOINC = 'http://loinc.org';
type Json = Record<string, unknown>;
type Coding = { system?: string; code?: string; display?: string };

interface SectionSearch {
  type: string;
  params?: [string, string][];
  keep?: (resource: Json) => boolean;
  /** How many entries at most (the most recent first where the type has a date to sort on). */
  limit?: number;
}

interface Section {
  title: string;
  code: string;
  display: string;
  searches: SectionSearch[];
}

const codeOf = (value: unknown): string | undefined => ((value as { coding?: Coding[] } | undefined)?.coding ?? [])[0]?.code;
const oneOf = (values: (string | undefined)[]) => (code: string | undefined) => values.includes(code);
const notRefuted = (r: Json) => !oneOf(['entered-in-error', 'refuted'])(codeOf(r.verificationStatus));

/** The sections, as data: what each holds and how it is searched. */
export const SUMMARY_SECTIONS: readonly Section[] = [
  {
    title: 'Allergies and intolerances', code: '48765-2', display: 'Allergies and adverse reactions Document',
    searches: [{ type: 'AllergyIntolerance', keep: (r) => notRefuted(r) && !oneOf(['inactive', 'resolved'])(codeOf(r.clinicalStatus)) }],
  },
  {
    title: 'Active problems', code: '11450-4', display: 'Problem list - Reported',
    searches: [{ type: 'Condition', keep: (r) => notRefuted(r) && oneOf(['active', 'recurrence', 'relapse', undefined])(codeOf(r.clinicalStatus)) }],
  },
  {
    title: 'History of past illness', code: '11348-0', display: 'History of Past illness Narrative',
    searches: [{ type: 'Condition', keep: (r) => notRefuted(r) && oneOf(['inactive', 'remission', 'resolved'])(codeOf(r.clinicalStatus)) }],
  },
  {
    title: 'Current treatments', code: '10160-0', display: 'History of Medication use Narrative',
    searches: [
      { type: 'MedicationStatement', keep: (r) => oneOf(['active', 'intended', 'on-hold'])(r.status as string) },
      { type: 'MedicationRequest', keep: (r) => oneOf(['active', 'on-hold'])(r.status as string) },
    ],
  },
  {
    title: 'Vaccinations', code: '11369-6', display: 'History of Immunization Narrative',
    searches: [{ type: 'Immunization', params: [['_sort', '-date']], keep: (r) => r.status === 'completed' }],
  },
  {
    title: 'Blood group', code: '30954-2', display: 'Relevant diagnostic tests/laboratory data Narrative',
    searches: [{ type: 'Observation', params: [['code', BLOOD_GROUP_CODE], ['_sort', '-date']], keep: (r) => oneOf(['final', 'amended', 'corrected'])(r.status as string), limit: 1 }],
  },
  {
    title: 'Advance directives', code: '42348-3', display: 'Advance directives',
    searches: [
      { type: 'DocumentReference', params: [['type', ADVANCE_DIRECTIVES_TYPE], ['status', 'current'], ['_sort', '-date']] },
      { type: 'Consent', params: [['scope', 'adr']], keep: (r) => r.status === 'active' },
    ],
  },
  {
    title: 'Latest medical summary', code: '60591-5', display: 'Patient summary Document',
    searches: [{ type: 'DocumentReference', params: [['type', SUMMARY_DOCUMENT_TYPES.join(',')], ['status', 'current'], ['_sort', '-date']], limit: 1 }],
  },
];

const DEFAULT_LIMIT = 100;

const ASSERTED: Record<Asserter, string> = {
  patient: 'declared by the patient',
  representative: "declared by the patient's legal representative",
  device: 'from a connected device',
  payer: 'from the insurer',
};

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function conceptText(value: unknown): string | undefined {
  const concept = value as { text?: string; coding?: Coding[] } | undefined;
  if (!concept) return undefined;
  if (concept.text) return concept.text;
  const coding = concept.coding?.find((c) => c.display) ?? concept.coding?.[0];
  return coding?.display ?? coding?.code;
}

function dateOf(r: Json): string | undefined {
  for (const key of ['occurrenceDateTime', 'effectiveDateTime', 'onsetDateTime', 'recordedDate', 'authoredOn', 'dateAsserted', 'date', 'dateTime']) {
    if (typeof r[key] === 'string') return (r[key] as string).slice(0, 10);
  }
  const period = (r.effectivePeriod ?? r.onsetPeriod) as { start?: string } | undefined;
  return period?.start?.slice(0, 10);
}

/** The next dose of an Immunization (NEXT_DOSE_EXTENSION), if recorded. */
export function nextDoseOf(r: Json): string | undefined {
  const ext = (r.extension as { url?: string; valueDate?: string; valueDateTime?: string }[] | undefined)?.find((e) => e.url === NEXT_DOSE_EXTENSION);
  return ext?.valueDate ?? ext?.valueDateTime;
}

/** One line of narrative for a resource: what, when, and who asserted it if not a professional. */
export function summaryLine(r: Json): string {
  const parts: string[] = [];
  switch (r.resourceType) {
    case 'MedicationStatement':
    case 'MedicationRequest':
      parts.push(conceptText(r.medicationCodeableConcept) ?? 'medication');
      break;
    case 'Immunization': {
      parts.push(conceptText(r.vaccineCode) ?? 'vaccine');
      if (typeof r.lotNumber === 'string') parts.push(`lot ${r.lotNumber}`);
      const performer = (r.performer as { actor?: { display?: string } }[] | undefined)?.[0]?.actor?.display;
      if (performer) parts.push(`by ${performer}`);
      const next = nextDoseOf(r);
      if (next) parts.push(`next dose ${next}`);
      break;
    }
    case 'Observation':
      parts.push(`${conceptText(r.code) ?? 'observation'}: ${conceptText(r.valueCodeableConcept) ?? (r.valueString as string | undefined) ?? ''}`.trim());
      break;
    case 'DocumentReference':
      parts.push((r.description as string | undefined) ?? ((r.content as { attachment?: { title?: string } }[] | undefined)?.[0]?.attachment?.title) ?? conceptText(r.type) ?? 'document');
      break;
    case 'Consent':
      parts.push('advance directive (recorded consent)');
      break;
    default: {
      parts.push(conceptText(r.code) ?? String(r.resourceType));
      const criticality = r.criticality as string | undefined;
      if (criticality === 'high') parts.push('high criticality');
    }
  }
  const date = dateOf(r);
  if (date) parts.push(date);
  const asserter = asserterOf(r as ResourceBody);
  if (asserter) parts.push(`(${ASSERTED[asserter]})`);
  return parts.join(', ');
}

function narrative(lines: string[]): { status: 'generated'; div: string } {
  const body = lines.length ? `<ul>${lines.map((l) => `<li>${escape(l)}</li>`).join('')}</ul>` : '<p>No information available</p>';
  return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${body}</div>` };
}

async function sectionEntries(repository: FhirRepository, ctx: RequestContext, patientId: string, section: Section): Promise<StoredVersion[]> {
  const found: StoredVersion[] = [];
  for (const search of section.searches) {
    const limit = search.limit ?? DEFAULT_LIMIT;
    // Unfiltered searches fetch just what is shown; filtered ones fetch a page and keep some.
    const count = search.keep ? DEFAULT_LIMIT : limit;
    const result = await repository.search({ ...ctx, strict: true }, search.type, [['patient', patientId], ['_count', String(count)], ...(search.params ?? [])], { audited: false });
    found.push(...result.matches.filter((m) => !search.keep || search.keep(m.resource as Json)).slice(0, limit));
  }
  return found;
}

/** The summary document of a patient, within what the actor may see. */
export async function patientSummary(repository: FhirRepository, ctx: RequestContext, patientId: string): Promise<Record<string, unknown>> {
  // The patient must be readable, as for $everything (404 otherwise).
  const patient = await repository.read(ctx, 'Patient', patientId);
  const url = (v: { type: string; id: string }) => `${ctx.baseUrl}/${v.type}/${v.id}`;
  const included = new Map<string, StoredVersion>();
  const sections: Json[] = [];
  for (const section of SUMMARY_SECTIONS) {
    const entries = await sectionEntries(repository, ctx, patientId, section);
    for (const e of entries) included.set(`${e.type}/${e.id}`, e);
    sections.push({
      title: section.title,
      code: { coding: [{ system: LOINC, code: section.code, display: section.display }] },
      text: narrative(entries.map((e) => summaryLine(e.resource as Json))),
      ...(entries.length
        ? { entry: entries.map((e) => ({ reference: url(e) })) }
        : { emptyReason: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason', code: 'unavailable', display: 'Unavailable' }] } }),
    });
  }
  // One record in the patient's access history, not one per section searched.
  await repository.recordSearch(ctx, { type: 'Patient', patientId, operation: '$summary' });
  const now = new Date().toISOString();
  const compositionId = randomUUID();
  const composition = {
    resourceType: 'Composition',
    id: compositionId,
    status: 'final',
    type: { coding: [{ system: LOINC, code: '60591-5', display: 'Patient summary Document' }] },
    subject: { reference: url(patient) },
    date: now,
    author: [{ display: 'Carnet' }],
    title: 'Patient summary',
    section: sections,
  };
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` },
    type: 'document',
    timestamp: now,
    entry: [
      { fullUrl: `urn:uuid:${compositionId}`, resource: composition },
      { fullUrl: url(patient), resource: publicResource(patient.resource as ResourceBody) },
      ...[...included.values()].map((v) => ({ fullUrl: url(v), resource: publicResource(v.resource as ResourceBody) })),
    ],
  };
}

export function summaryRoutes(app: FastifyInstance, repository: FhirRepository, http: OperationHttp): void {
  app.get<{ Params: { id: string } }>('/fhir/Patient/:id/$summary', async (request, reply) => {
    const ctx = http.contextOf(request);
    repository.checkId(request.params.id);
    return http.send(request, reply, 200, await patientSummary(repository, ctx, request.params.id));
  });
}
