// IHE MHD ITI-105 Simplified Publish (https://profiles.ihe.net/ITI/MHD/ITI-105.html): a
// DocumentReference POSTed with its document inline in content.attachment.data. As the Document
// Recipient, Carnet turns it into the ITI-65 Provide Document Bundle it stands for — the
// document as a Binary the attachment points at, and a SubmissionSet derived from the
// DocumentReference — so the same MHD rules, access checks and single commit apply, and the
// document is stored once, as a blob, like every other document. Carnet does this for every
// created DocumentReference with inline data, declared as Simplified Publish or not.
import { randomUUID } from 'node:crypto';
import type { ResourceBody } from '../../store/index.ts';
import { MHD_DESIGNATION_TYPE, MHD_LIST_TYPES, MINIMAL_PROVIDE_BUNDLE, MINIMAL_SUBMISSION_SET } from './profiles.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function attachments(doc: ResourceBody): Obj[] {
  const content = Array.isArray(doc.content) ? doc.content : [];
  return content.flatMap((c) => (isObj(c) && isObj(c.attachment) ? [c.attachment] : []));
}

/** Whether a DocumentReference carries a document inline (and so is published the ITI-105 way). */
export function hasInlineDocument(doc: unknown): doc is ResourceBody {
  return isObj(doc) && doc.resourceType === 'DocumentReference' && attachments(doc as ResourceBody).some((a) => typeof a.data === 'string');
}

/** A SubmissionSet uniqueId: an OID under 2.25 (UUID-derived, ITU-T X.667). */
function uuidOid(uuid: string): string {
  return `urn:oid:2.25.${BigInt(`0x${uuid.replace(/-/g, '')}`).toString()}`;
}

export interface SimplifiedPublish {
  /** The transaction to run: Binaries, the DocumentReference, the SubmissionSet. */
  bundle: ResourceBody;
  /** Index of the DocumentReference entry in the bundle (its response gives the new id). */
  documentEntry: number;
}

/**
 * The Provide Document Bundle a Simplified Publish stands for. `now` dates the SubmissionSet.
 * The DocumentReference keeps everything it was sent with but the inline data.
 */
export function simplifiedPublishBundle(doc: ResourceBody, now: Date, uuid: () => string = randomUUID): SimplifiedPublish {
  const copy = structuredClone(doc) as Obj;
  delete copy.id;
  const binaries: Obj[] = [];
  for (const content of Array.isArray(copy.content) ? copy.content : []) {
    if (!isObj(content) || !isObj(content.attachment) || typeof content.attachment.data !== 'string') continue;
    const attachment = content.attachment;
    const fullUrl = `urn:uuid:${uuid()}`;
    binaries.push({
      fullUrl,
      resource: { resourceType: 'Binary', contentType: typeof attachment.contentType === 'string' ? attachment.contentType : 'application/octet-stream', data: attachment.data },
      request: { method: 'POST', url: 'Binary' },
    });
    delete attachment.data;
    attachment.url = fullUrl;
  }
  const docUrl = `urn:uuid:${uuid()}`;
  const authors = (Array.isArray(copy.author) ? copy.author : []).filter((a) => isObj(a) && typeof a.reference === 'string' && !a.reference.startsWith('#'));
  const submissionSet: Obj = {
    resourceType: 'List',
    meta: { profile: [MINIMAL_SUBMISSION_SET] },
    ...(isObj(copy.type) ? { extension: [{ url: MHD_DESIGNATION_TYPE, valueCodeableConcept: copy.type }] } : {}),
    identifier: [{ use: 'usual', system: 'urn:ietf:rfc:3986', value: uuidOid(uuid()) }, { use: 'official', system: 'urn:ietf:rfc:3986', value: `urn:uuid:${uuid()}` }],
    status: 'current',
    mode: 'working',
    title: 'Simplified Publish',
    code: { coding: [{ system: MHD_LIST_TYPES, code: 'submissionset' }] },
    ...(copy.subject ? { subject: copy.subject } : {}),
    date: now.toISOString(),
    ...(authors.length ? { source: authors[0] } : {}),
    entry: [{ item: { reference: docUrl } }],
  };
  const entries = [
    ...binaries,
    { fullUrl: docUrl, resource: copy, request: { method: 'POST', url: 'DocumentReference' } },
    { fullUrl: `urn:uuid:${uuid()}`, resource: submissionSet, request: { method: 'POST', url: 'List' } },
  ];
  return {
    bundle: { resourceType: 'Bundle', meta: { profile: [MINIMAL_PROVIDE_BUNDLE] }, type: 'transaction', entry: entries } as ResourceBody,
    documentEntry: binaries.length,
  };
}
