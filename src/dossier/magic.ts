// What a patient may upload, told by the bytes themselves (magic numbers), not by the name or
// the declared type: PDF, JPEG, PNG. The table is the whole policy.
import { FORMAT_SYSTEM, IHE_FORMAT_SYSTEM } from './fhir-port.ts';

export interface UploadKind {
  /** Byte sequences one of which the content must start with. */
  magic: readonly (readonly number[])[];
  /** XDS formatCode of the document (J10, or IHE's "the MIME type is enough"). */
  format: { system: string; code: string; display: string };
}

export const UPLOAD_KINDS: Readonly<Record<string, UploadKind>> = {
  'application/pdf': {
    magic: [[0x25, 0x50, 0x44, 0x46, 0x2d]], // %PDF-
    format: { system: FORMAT_SYSTEM, code: 'urn:ihe:iti:xds-sd:pdf:2008', display: 'Document à corps non structuré en Pdf/A-1' },
  },
  'image/jpeg': {
    magic: [[0xff, 0xd8, 0xff]],
    format: { system: FORMAT_SYSTEM, code: 'urn:ihe:iti-fr:xds-sd:jpeg:2010', display: 'Document à corps non structuré en format jpeg' },
  },
  'image/png': {
    magic: [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
    format: { system: IHE_FORMAT_SYSTEM, code: 'urn:ihe:iti:xds:2017:mimeTypeSufficient', display: 'mimeType Sufficient' },
  },
};

const HEAD_BYTES = Math.max(...Object.values(UPLOAD_KINDS).flatMap((k) => k.magic.map((m) => m.length)));

/** The kind the first bytes announce, or undefined. */
export function sniff(head: Uint8Array): string | undefined {
  return Object.keys(UPLOAD_KINDS).find((type) => UPLOAD_KINDS[type].magic.some((m) => m.length <= head.length && m.every((b, i) => head[i] === b)));
}

export class ContentMismatchError extends Error {
  override name = 'ContentMismatchError';
  readonly declared: string;
  readonly found: string | undefined;
  constructor(declared: string, found: string | undefined) {
    super(`the content is ${found ? `a ${found} document` : 'not a PDF, JPEG or PNG'}, not ${declared}`);
    this.declared = declared;
    this.found = found;
  }
}

/**
 * Passes `source` through, failing (ContentMismatchError) as soon as its first bytes show it is
 * not of the declared type: nothing more is read, so a wrong upload stops at once.
 */
export async function* checkedContent(source: AsyncIterable<Uint8Array | string>, declared: string): AsyncGenerator<Uint8Array> {
  const head: Buffer[] = [];
  let headLength = 0;
  let checked = false;
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (checked) {
      yield bytes;
      continue;
    }
    head.push(bytes);
    headLength += bytes.length;
    if (headLength < HEAD_BYTES) continue;
    const all = Buffer.concat(head);
    const found = sniff(all);
    if (found !== declared) throw new ContentMismatchError(declared, found);
    checked = true;
    yield all;
  }
  if (!checked) {
    const all = Buffer.concat(head);
    const found = sniff(all);
    if (found !== declared) throw new ContentMismatchError(declared, found);
    yield all;
  }
}
