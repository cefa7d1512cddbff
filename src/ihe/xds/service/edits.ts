// Changes the registry makes to stored resources: availability status (MHD mapping), visibility
// labels, List membership, removal of one association. Each returns a new resource body.
import type { DocumentReference, Extension, List, ListEntry } from '@medplum/fhirtypes';
import type { ResourceBody } from '../../../store/index.ts';
import { associationExtension, documentStatus, PDSM_IS_ARCHIVED, XDS_EXTENSION } from '../mhd-datatypes.ts';
import type { Association, Code } from '../model.ts';
import { STATUS } from '../vocabulary.ts';

/** PDSm's isArchived, under its current and its older name. */
const ARCHIVED_URLS = [PDSM_IS_ARCHIVED, 'http://esante.gouv.fr/cisis/fhir/StructureDefinition/PDSm_isArchived'];
const STATUS_EXTENSIONS = new Set([XDS_EXTENSION.availabilityStatus, ...ARCHIVED_URLS]);

/** TRE_A07 (visibility) codes, as XDS confidentialityCodes: what the access engine reads as labels. */
export const VISIBILITY_SCHEME = '1.2.250.1.213.1.1.4.13';
export const VISIBILITY_LABELS = {
  MASQUE_PS: 'masked',
  INVISIBLE_PATIENT: 'invisible-patient',
  INVISIBLE_REPRESENTANTS_LEGAUX: 'invisible-representatives',
  INVISIBLE_REP_LEGAUX: 'invisible-representatives',
} as const;
export type LabelCode = keyof typeof VISIBILITY_LABELS;

export function isVisibilityCode(code: Code): code is Code & { code: LabelCode } {
  return code.codingScheme === VISIBILITY_SCHEME && Object.hasOwn(VISIBILITY_LABELS, code.code);
}

function withoutStatusExtensions(extensions: Extension[] | undefined): Extension[] {
  return (extensions ?? []).filter((e) => !STATUS_EXTENSIONS.has(e.url));
}

/** A DocumentReference or List in another XDS availability status. */
export function withStatus(resource: ResourceBody, status: string): ResourceBody {
  if (resource.resourceType === 'DocumentReference') {
    const mapped = documentStatus(status);
    const extension = [...withoutStatusExtensions((resource as unknown as DocumentReference).extension), ...mapped.extension];
    return dropEmpty({ ...resource, status: mapped.status, extension });
  }
  const list = resource as unknown as List;
  const extension = withoutStatusExtensions(list.extension);
  if (status === STATUS.approved) return dropEmpty({ ...resource, status: 'current', extension });
  if (status === STATUS.deprecated) return dropEmpty({ ...resource, status: 'retired', extension });
  return dropEmpty({ ...resource, status: 'current', extension: [...extension, { url: XDS_EXTENSION.availabilityStatus, valueString: status }] });
}

/**
 * The visibility labels of a DocumentReference set to those of `labels` (other security labels
 * kept): older versions of a document follow the labels of its newest one, so masking a document
 * masks its history too.
 */
export function withLabelsOf(resource: ResourceBody, newer: ResourceBody): ResourceBody {
  const isLabel = (c: { coding?: { system?: string; code?: string }[] }) =>
    c.coding?.some((x) => (x.system === `urn:oid:${VISIBILITY_SCHEME}` || x.system?.includes('TRE_A07')) && Object.hasOwn(VISIBILITY_LABELS, x.code ?? '')) ?? false;
  const mine = ((resource as unknown as DocumentReference).securityLabel ?? []).filter((c) => !isLabel(c));
  const theirs = ((newer as unknown as DocumentReference).securityLabel ?? []).filter(isLabel);
  return dropEmpty({ ...resource, securityLabel: [...mine, ...theirs] });
}

/** A List with one more member (a HasMember association from it). */
export function withMember(resource: ResourceBody, reference: string, association: Association, date?: string): ResourceBody {
  const list = resource as unknown as List;
  const entry: ListEntry = { item: { reference }, extension: [associationExtension(association, { typeAndEnds: false })] };
  return { ...resource, entry: [...(list.entry ?? []), entry], ...(date ? { date } : {}) };
}

/**
 * Removes the association at `index` in the order the MHD mapping reads a resource's
 * associations (relatesTo or List.entry first, then association extensions).
 */
export function withoutAssociation(resource: ResourceBody, index: number): ResourceBody {
  const native = resource.resourceType === 'List' ? 'entry' : 'relatesTo';
  const items = (resource[native] as unknown[] | undefined) ?? [];
  if (index < items.length) return dropEmpty({ ...resource, [native]: items.filter((_, i) => i !== index) });
  let n = items.length - 1;
  const extension = ((resource.extension as Extension[] | undefined) ?? []).filter((e) => {
    if (e.url !== XDS_EXTENSION.association) return true;
    n += 1;
    return n !== index;
  });
  return dropEmpty({ ...resource, extension });
}

function dropEmpty(resource: ResourceBody): ResourceBody {
  for (const key of ['extension', 'securityLabel', 'entry', 'relatesTo']) {
    if (Array.isArray(resource[key]) && (resource[key] as unknown[]).length === 0) delete resource[key];
  }
  return resource;
}

/** The current instant as an XDS DTM (UTC, to the second). */
export function nowDtm(): string {
  return new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
}
