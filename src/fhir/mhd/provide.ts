// IHE MHD ITI-65 Provide Document Bundle (https://profiles.ihe.net/ITI/MHD/ITI-65.html), as the
// Document Recipient: a transaction Bundle whose meta.profile names an MHD or PDSm provide
// bundle is checked against the MHD rules before the normal transaction runs, so a submission
// that breaks them stores nothing and answers an OperationOutcome naming the XDS error code
// (ITI TF-3 Table 4.2.4.1-2) in issue.details.text, as national MHD profiles do.
//
// Rules checked: one SubmissionSet List; every provided DocumentReference is current, is listed
// by the SubmissionSet and has its document as a Binary of the bundle (or of this server) that
// attachment.url points at; attachment.size and attachment.hash (base64 SHA-1) agree with the
// bytes, and are filled in when absent; every DocumentReference and List has the same patient
// (subject), a patient of this server or of the bundle; relatesTo targets exist and are the same
// patient's. A replaced DocumentReference is set to superseded in the same commit (MHD's
// UpdateDocumentRefs slice), by the Document Source or else by Carnet.
import { createHash } from 'node:crypto';
import type { ResourceBody, StoredVersion } from '../../store/index.ts';
import type { RequestContext } from '../gate.ts';
import { OperationOutcomeError, type IssueType, type OperationOutcomeIssue } from '../operation-outcome.ts';
import { publicResource } from '../present.ts';
import { blobOf, type FhirRepository } from '../repository.ts';
import { FOLDER_PROFILES, hasProfile, LIST_TYPE_SYSTEMS, PROVIDE_BUNDLE_PROFILES, SUBMISSION_SET_PROFILES } from './profiles.ts';

/** The XDS error codes an ITI-65 refusal names, with the FHIR issue type each maps to. */
const ERROR_TYPES = {
  XDSRegistryMetadataError: 'invalid',
  XDSRepositoryMetadataError: 'invalid',
  XDSPatientIdDoesNotMatch: 'business-rule',
  XDSUnknownPatientId: 'not-found',
  XDSMissingDocument: 'required',
  XDSMissingDocumentMetadata: 'invalid',
  XDSRegistryDeprecatedDocumentError: 'business-rule',
  FHIRDocumentNotSupported: 'not-supported',
} as const satisfies Record<string, IssueType>;

export type MhdErrorCode = keyof typeof ERROR_TYPES;

export function mhdIssue(code: MhdErrorCode, diagnostics: string, expression: string): OperationOutcomeIssue {
  return { severity: 'error', code: ERROR_TYPES[code], details: { text: code }, diagnostics, expression: [expression] };
}

type Obj = Record<string, unknown>;
interface Entry {
  fullUrl?: string;
  resource?: ResourceBody;
  request?: { method?: string; url?: string; ifMatch?: string };
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;

/** Whether a Bundle claims to be an MHD (or PDSm) Provide Document Bundle. */
export function isProvideBundle(bundle: ResourceBody): boolean {
  return hasProfile(bundle, PROVIDE_BUNDLE_PROFILES);
}

function listType(list: ResourceBody): 'submissionset' | 'folder' | undefined {
  const codings = isObj(list.code) && Array.isArray(list.code.coding) ? (list.code.coding as Obj[]) : [];
  const coded = codings.find((c) => typeof c.system === 'string' && LIST_TYPE_SYSTEMS.has(c.system))?.code;
  if (coded === 'submissionset' || hasProfile(list, SUBMISSION_SET_PROFILES)) return 'submissionset';
  if (coded === 'folder' || hasProfile(list, FOLDER_PROFILES)) return 'folder';
  return undefined;
}

export interface PreparedProvide {
  /** The bundle to run as a transaction: sizes and hashes filled, replaced documents superseded. */
  bundle: ResourceBody;
  /** How many entries the client sent (entries after these were added by Carnet). */
  requestEntries: number;
}

/** Checks an ITI-65 bundle; throws an OperationOutcomeError listing every rule it breaks. */
export async function prepareProvideBundle(repo: FhirRepository, ctx: RequestContext, bundle: ResourceBody): Promise<PreparedProvide> {
  if (bundle.type !== 'transaction') {
    throw new OperationOutcomeError(400, [mhdIssue('XDSRegistryMetadataError', 'an ITI-65 Provide Document Bundle must be a transaction', 'Bundle.type')]);
  }
  const entries = structuredClone(Array.isArray(bundle.entry) ? bundle.entry : []) as Entry[];
  const requestEntries = entries.length;
  const issues: OperationOutcomeIssue[] = [];
  const problem = (code: MhdErrorCode, message: string, expression: string) => issues.push(mhdIssue(code, message, expression));
  const at = (i: number) => `Bundle.entry[${i}]`;
  const typeOf = (i: number) => entries[i].resource?.resourceType;
  const methodOf = (i: number) => (entries[i].request?.method ?? '').toUpperCase();

  const byUrl = new Map<string, number>();
  for (const [i, e] of entries.entries()) {
    if (!e.fullUrl) continue;
    byUrl.set(e.fullUrl, i);
    const relative = /([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})$/.exec(e.fullUrl)?.[1];
    if (relative && /^https?:/.test(e.fullUrl)) byUrl.set(relative, i);
  }
  /** `Type/id` of a reference to this server (relative, or absolute under its base). */
  const local = (ref: string): { type: string; id: string } | undefined => {
    const path = ref.startsWith(`${ctx.baseUrl}/`) ? ref.slice(ctx.baseUrl.length + 1) : ref;
    const m = RELATIVE.exec(path);
    return m ? { type: m[1], id: m[2] } : undefined;
  };
  /** The current version of a resource of this server, through the gate; undefined when unknown. */
  const existing = async (type: string, id: string): Promise<StoredVersion | undefined> => {
    try {
      return await repo.read(ctx, type, id);
    } catch (e) {
      if (e instanceof OperationOutcomeError && (e.status === 404 || e.status === 410)) return undefined;
      throw e;
    }
  };

  // ---- the SubmissionSet, Folders and DocumentReferences ----------------------------------------
  const indices = [...entries.keys()];
  const submissionSets = indices.filter((i) => typeOf(i) === 'List' && listType(entries[i].resource as ResourceBody) === 'submissionset');
  const folders = indices.filter((i) => typeOf(i) === 'List' && listType(entries[i].resource as ResourceBody) === 'folder');
  if (submissionSets.length === 0) problem('XDSRegistryMetadataError', 'the bundle has no SubmissionSet (a List with code submissionset)', 'Bundle.entry');
  if (submissionSets.length > 1) problem('XDSRegistryMetadataError', `the bundle has ${submissionSets.length} SubmissionSets; ITI-65 carries exactly one`, 'Bundle.entry');
  for (const i of submissionSets) {
    if (entries[i].resource?.status !== 'current') problem('XDSRegistryMetadataError', 'the SubmissionSet status must be current', `${at(i)}.resource.status`);
  }
  const docs = indices.filter((i) => typeOf(i) === 'DocumentReference');
  /** MHD's UpdateDocumentRefs: existing DocumentReferences set to superseded by a replacement. */
  const supersedes = docs.filter((i) => entries[i].resource?.status === 'superseded' && (methodOf(i) === 'PUT' || methodOf(i) === 'PATCH'));
  const provided = docs.filter((i) => !supersedes.includes(i));
  for (const i of provided) {
    if (entries[i].resource?.status !== 'current') problem('XDSRegistryMetadataError', 'a provided DocumentReference must have status current', `${at(i)}.resource.status`);
  }

  // ---- one patient ------------------------------------------------------------------------------
  const resolved = new Map<string, Promise<string | undefined>>();
  /** A key naming the patient a subject designates, or undefined (with the problem recorded). */
  const patientOf = (subject: unknown, expression: string): Promise<string | undefined> => {
    const reference = isObj(subject) && typeof subject.reference === 'string' ? subject.reference : undefined;
    const identifier = isObj(subject) && isObj(subject.identifier) ? subject.identifier : undefined;
    const cacheKey = reference ?? (identifier ? `identifier:${String(identifier.system)}|${String(identifier.value)}` : '');
    let found = resolved.get(cacheKey);
    if (!found) {
      found = resolvePatient(reference, identifier);
      resolved.set(cacheKey, found);
    }
    return found.then((key) => {
      if (key === undefined) problem('XDSUnknownPatientId', `${reference ?? 'the identifier'} is not a patient known here or provided in the bundle`, expression);
      return key;
    });
  };
  const resolvePatient = async (reference: string | undefined, identifier: Obj | undefined): Promise<string | undefined> => {
    if (reference === undefined) {
      if (!identifier || typeof identifier.value !== 'string') return undefined;
      return patientBySearch([['identifier', typeof identifier.system === 'string' ? `${identifier.system}|${identifier.value}` : identifier.value]]);
    }
    const inBundle = byUrl.get(reference);
    if (inBundle !== undefined) return typeOf(inBundle) === 'Patient' ? `bundle:${entries[inBundle].fullUrl}` : undefined;
    if (reference.startsWith('Patient?')) return patientBySearch([...new URLSearchParams(reference.slice('Patient?'.length)).entries()]);
    const target = local(reference);
    if (target?.type !== 'Patient') return undefined;
    return (await existing('Patient', target.id)) ? `Patient/${target.id}` : undefined;
  };
  const patientBySearch = async (params: [string, string][]): Promise<string | undefined> => {
    const found = await repo.search({ ...ctx, strict: true }, 'Patient', [...params, ['_count', '2']]);
    return found.matches.length === 1 ? `Patient/${found.matches[0].id}` : undefined;
  };

  let patient: string | undefined;
  const samePatient = (key: string | undefined, expression: string, what: string) => {
    if (key === undefined) return;
    if (patient === undefined) patient = key;
    else if (key !== patient) problem('XDSPatientIdDoesNotMatch', `${what} is about another patient than the SubmissionSet`, expression);
  };
  for (const i of [...submissionSets, ...folders, ...provided, ...supersedes]) {
    const resource = entries[i].resource as ResourceBody;
    const expression = `${at(i)}.resource.subject`;
    if (!isObj(resource.subject)) {
      problem('XDSRegistryMetadataError', `the ${resource.resourceType} has no subject (the patient)`, expression);
      continue;
    }
    const key = await patientOf(resource.subject, expression);
    samePatient(key, expression, `this ${resource.resourceType}`);
    // A logical reference (identifier only) becomes a literal one, so the dossier is known by its id.
    if (key?.startsWith('Patient/') && typeof resource.subject.reference !== 'string') resource.subject.reference = key;
  }

  // ---- documents: Binary, size, hash ------------------------------------------------------------
  const documents = new Set<number>();
  const sizeAndHash = (attachment: Obj, size: number, sha1: Buffer, expression: string) => {
    if (attachment.size !== undefined && Number(attachment.size) !== size) {
      problem('XDSRepositoryMetadataError', `attachment.size is ${String(attachment.size)} but the document has ${size} bytes`, `${expression}.size`);
    }
    if (attachment.hash !== undefined && !Buffer.from(String(attachment.hash), 'base64').equals(sha1)) {
      problem('XDSRepositoryMetadataError', 'attachment.hash is not the SHA-1 of the document (base64)', `${expression}.hash`);
    }
    attachment.size ??= size;
    attachment.hash ??= sha1.toString('base64');
  };
  for (const i of provided) {
    const content = (entries[i].resource as ResourceBody).content;
    if (!Array.isArray(content) || content.length === 0) {
      problem('XDSMissingDocument', 'the DocumentReference has no content', `${at(i)}.resource.content`);
      continue;
    }
    for (const [j, c] of content.entries()) {
      const expression = `${at(i)}.resource.content[${j}].attachment`;
      const attachment = isObj(c) && isObj(c.attachment) ? c.attachment : undefined;
      const url = typeof attachment?.url === 'string' ? attachment.url : undefined;
      if (!attachment || !url) {
        problem('XDSMissingDocument', 'attachment.url must point at the Binary holding the document', `${expression}.url`);
        continue;
      }
      const k = byUrl.get(url);
      if (k !== undefined) {
        const binary = entries[k].resource as ResourceBody;
        if (binary.resourceType === 'Bundle') {
          problem('FHIRDocumentNotSupported', 'FHIR Document Bundles (ITI-65 FHIR Document Publish) are not supported: send the document as a Binary', `${expression}.url`);
        } else if (binary.resourceType !== 'Binary' || typeof binary.data !== 'string') {
          problem('XDSMissingDocument', 'attachment.url must point at a Binary of the bundle that has data', `${expression}.url`);
        } else {
          documents.add(k);
          // The Binary is read (and written) under its DocumentReference's access rules.
          const owner = entries[i].fullUrl;
          if (owner && !isObj(binary.securityContext)) binary.securityContext = { reference: owner };
          const bytes = Buffer.from(binary.data, 'base64');
          sizeAndHash(attachment, bytes.length, createHash('sha1').update(bytes).digest(), expression);
        }
        continue;
      }
      // A document already on this server (a Binary uploaded raw beforehand).
      const target = local(url);
      const stored = target?.type === 'Binary' ? await existing('Binary', target.id) : undefined;
      const blob = stored ? blobOf(stored.resource) : undefined;
      const info = blob ? await repo.store.blobInfo(blob) : undefined;
      if (!info) {
        problem('XDSMissingDocument', 'attachment.url must point at a Binary of the bundle or of this server', `${expression}.url`);
        continue;
      }
      sizeAndHash(attachment, info.size, Buffer.from(info.sha1, 'hex'), expression);
    }
  }
  for (const i of indices) {
    if (typeOf(i) === 'Binary' && !documents.has(i)) problem('XDSMissingDocumentMetadata', 'this Binary is not the document of any DocumentReference of the bundle', `${at(i)}`);
  }

  // ---- SubmissionSet and Folder entries -----------------------------------------------------------
  const listed = new Set<number>();
  for (const i of [...submissionSets, ...folders]) {
    const items = (entries[i].resource as ResourceBody).entry;
    for (const [j, item] of (Array.isArray(items) ? items : []).entries()) {
      const expression = `${at(i)}.resource.entry[${j}].item`;
      const ref = isObj(item) && isObj(item.item) && typeof item.item.reference === 'string' ? item.item.reference : undefined;
      const k = ref === undefined ? undefined : byUrl.get(ref);
      if (k !== undefined) {
        if (typeOf(k) === 'DocumentReference' || typeOf(k) === 'List') listed.add(k);
        else problem('XDSRegistryMetadataError', 'List entries must point at DocumentReferences or Folders', expression);
        continue;
      }
      const target = ref === undefined ? undefined : local(ref);
      if (!target || (target.type !== 'DocumentReference' && target.type !== 'List') || !(await existing(target.type, target.id))) {
        problem('XDSRegistryMetadataError', `entry ${ref ?? '(no reference)'} is neither in the bundle nor a DocumentReference or List known here`, expression);
      }
    }
  }
  if (submissionSets.length === 1) {
    // New documents and new Folders are members of the submission; an updated Folder need not be.
    for (const i of [...provided, ...folders.filter((f) => methodOf(f) === 'POST')]) {
      if (!listed.has(i)) problem('XDSRegistryMetadataError', `this ${typeOf(i)} is not listed in the SubmissionSet`, at(i));
    }
  }

  // ---- associations (relatesTo) and replacement -------------------------------------------------
  const supersededIds = new Map(supersedes.map((i) => [local(entries[i].request?.url ?? '')?.id, i]));
  const replacedBy = new Set<number>();
  for (const i of provided) {
    const relatesTo = (entries[i].resource as ResourceBody).relatesTo;
    for (const [j, rel] of (Array.isArray(relatesTo) ? relatesTo : []).entries()) {
      const expression = `${at(i)}.resource.relatesTo[${j}].target`;
      const ref = isObj(rel) && isObj(rel.target) && typeof rel.target.reference === 'string' ? rel.target.reference : undefined;
      const target = ref === undefined ? undefined : local(ref);
      const version = target?.type === 'DocumentReference' ? await existing('DocumentReference', target.id) : undefined;
      if (!target || !version?.resource) {
        problem('XDSRegistryMetadataError', `relatesTo target ${ref ?? '(no reference)'} is not a DocumentReference known here`, expression);
        continue;
      }
      const stored = version.resource;
      samePatient(isObj(stored.subject) ? await patientOf(stored.subject, expression) : undefined, expression, 'the related DocumentReference');
      if (!isObj(rel) || rel.code !== 'replaces') continue;
      const inBundle = supersededIds.get(target.id);
      if (inBundle !== undefined) {
        replacedBy.add(inBundle);
        continue;
      }
      if (stored.status !== 'current') {
        problem('XDSRegistryDeprecatedDocumentError', `DocumentReference/${target.id} is ${String(stored.status)}: only a current document can be replaced`, expression);
        continue;
      }
      // The Document Source did not include the update: Carnet supersedes the replaced document itself.
      entries.push({
        resource: { ...publicResource(stored), status: 'superseded' },
        request: { method: 'PUT', url: `DocumentReference/${target.id}`, ifMatch: `W/"${version.versionId}"` },
      });
    }
  }
  for (const i of supersedes) {
    if (!replacedBy.has(i)) problem('XDSRegistryMetadataError', 'a DocumentReference is superseded only by a DocumentReference of the bundle that replaces it', `${at(i)}.resource.status`);
  }

  if (issues.length) throw new OperationOutcomeError(422, issues);
  return { bundle: { ...bundle, entry: entries }, requestEntries };
}
