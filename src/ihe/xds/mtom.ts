// MTOM/XOP (multipart/related; type="application/xop+xml") in both directions, streaming.
//
// Reading: the SOAP root part is buffered (it is bounded, like any XML we parse); every other
// part is handed out as an async iterable of Buffers while the bytes arrive, so a 50 MB document
// passes through with memory bounded by one network chunk plus the delimiter length. The
// consumer reads attachments in order; one it skips is drained, not kept.
//
// Writing: an ITI-43 answer is produced as an async iterable too, so documents stream from the
// blob store to the socket.
import { randomBytes, randomUUID } from 'node:crypto';
import { formatParameter, parseMediaType } from './content-type.ts';
import { FAULT_SUBCODES, SoapFault } from './soap.ts';
import { NS } from './vocabulary.ts';
import type { XmlElement } from './xml.ts';
import { attr, child } from './xml.ts';

export type MtomErrorReason =
  | 'boundary-not-found'
  | 'truncated'
  | 'malformed-part'
  | 'headers-too-large'
  | 'root-too-large'
  | 'root-not-first'
  | 'too-many-parts'
  | 'duplicate-content-id'
  | 'missing-content-id'
  | 'unsupported-encoding';

export class MtomError extends Error {
  readonly reason: MtomErrorReason;
  constructor(reason: MtomErrorReason, message: string) {
    super(message);
    this.name = 'MtomError';
    this.reason = reason;
  }

  /** How the SOAP layer answers it (see soap.ts toSoapFault). */
  toSoapFault(): SoapFault {
    return new SoapFault('Sender', this.message, {
      subcode: this.reason === 'root-too-large' ? FAULT_SUBCODES.tooLarge : FAULT_SUBCODES.malformedMultipart,
      httpStatus: this.reason === 'root-too-large' ? 413 : 400,
    });
  }
}

export interface MtomLimits {
  /** The SOAP XML root part. */
  maxRootBytes: number;
  /** Headers of one part. */
  maxHeaderBytes: number;
  /** Bytes before the first boundary. */
  maxPreambleBytes: number;
  /** Parts in one message, root included. */
  maxParts: number;
}

export const DEFAULT_MTOM_LIMITS: Readonly<MtomLimits> = Object.freeze({
  maxRootBytes: 20 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxPreambleBytes: 64 * 1024,
  maxParts: 1000,
});

export interface PartHeaders {
  /** Content-ID without the angle brackets. */
  readonly contentId?: string;
  readonly contentType?: string;
  readonly contentTransferEncoding?: string;
  /** All headers, lower-cased names (last one wins). */
  readonly all: ReadonlyMap<string, string>;
}

export interface MtomAttachment {
  readonly contentId: string;
  readonly contentType: string;
  /** The decoded bytes, as they arrive. Read it once; what is not read is drained. */
  readonly body: AsyncIterable<Buffer>;
}

export interface MtomMessage {
  readonly root: { readonly headers: PartHeaders; readonly xml: Buffer };
  /** The attachments, in message order. Single use. */
  attachments(): AsyncGenerator<MtomAttachment, void, undefined>;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * A pull-based multipart reader over an async byte source. It holds at most the unconsumed tail
 * of the last chunk (shorter than the delimiter) plus the chunk being searched.
 */
class MultipartReader {
  private readonly source: AsyncIterator<Uint8Array>;
  private buffer: Buffer = Buffer.alloc(0);
  private exhausted = false;
  private readonly dashBoundary: Buffer;
  private readonly delimiter: Buffer;
  private readonly limits: MtomLimits;
  private started = false;
  private finished = false;
  private partCount = 0;
  private bodyOpen = false;
  /** Set once anything went wrong: the stream position is then unknown, so nothing more is read. */
  private broken: unknown;

  constructor(source: AsyncIterable<Uint8Array>, boundary: string, limits: MtomLimits) {
    this.source = source[Symbol.asyncIterator]();
    this.dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
    this.delimiter = Buffer.concat([CRLF, this.dashBoundary]);
    this.limits = limits;
  }

  /** Pulls one more chunk; false when the source is done. */
  private async fill(): Promise<boolean> {
    if (this.exhausted) return false;
    const next = await this.source.next();
    if (next.done) {
      this.exhausted = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    return true;
  }

  private async ensure(bytes: number): Promise<boolean> {
    while (this.buffer.length < bytes) if (!(await this.fill())) return false;
    return true;
  }

  /** Skips the preamble up to the first boundary line. */
  private async skipPreamble(): Promise<void> {
    let skipped = 0;
    for (;;) {
      // The first boundary may open the body directly or follow a CRLF ending the preamble.
      let at = this.buffer.indexOf(this.dashBoundary);
      while (at > 0 && !(this.buffer[at - 2] === 0x0d && this.buffer[at - 1] === 0x0a)) {
        at = this.buffer.indexOf(this.dashBoundary, at + 1);
      }
      if (at >= 0) {
        this.buffer = this.buffer.subarray(at + this.dashBoundary.length);
        return;
      }
      const keep = Math.min(this.buffer.length, this.dashBoundary.length + 1);
      skipped += this.buffer.length - keep;
      this.buffer = this.buffer.subarray(this.buffer.length - keep);
      if (skipped > this.limits.maxPreambleBytes || !(await this.fill())) {
        throw new MtomError('boundary-not-found', 'the multipart boundary announced in Content-Type was not found in the body');
      }
    }
  }

  /** After a boundary: `--` closes the message, otherwise optional padding then CRLF. */
  private async afterBoundary(): Promise<'part' | 'end'> {
    if (!(await this.ensure(2))) throw truncated();
    if (this.buffer[0] === 0x2d && this.buffer[1] === 0x2d) {
      this.finished = true;
      this.buffer = Buffer.alloc(0);
      return 'end';
    }
    for (;;) {
      let i = 0;
      while (i < this.buffer.length && (this.buffer[i] === 0x20 || this.buffer[i] === 0x09)) i += 1;
      if (i + 1 < this.buffer.length) {
        if (this.buffer[i] !== 0x0d || this.buffer[i + 1] !== 0x0a) {
          throw new MtomError('malformed-part', 'a multipart boundary line has trailing garbage');
        }
        this.buffer = this.buffer.subarray(i + 2);
        return 'part';
      }
      if (i > 256 || !(await this.fill())) throw truncated();
    }
  }

  private async readHeaders(): Promise<PartHeaders> {
    if (!(await this.ensure(2))) throw truncated();
    let raw = '';
    if (this.buffer[0] === 0x0d && this.buffer[1] === 0x0a) {
      this.buffer = this.buffer.subarray(2);
    } else {
      let end = this.buffer.indexOf(HEADER_END);
      while (end < 0) {
        if (this.buffer.length > this.limits.maxHeaderBytes) throw new MtomError('headers-too-large', 'multipart part headers are too large');
        if (!(await this.fill())) throw truncated();
        end = this.buffer.indexOf(HEADER_END);
      }
      if (end > this.limits.maxHeaderBytes) throw new MtomError('headers-too-large', 'multipart part headers are too large');
      raw = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(end + HEADER_END.length);
    }
    return parsePartHeaders(raw);
  }

  /**
   * The next part's headers and body, or null after the closing boundary. A body not fully read
   * by then is drained first.
   */
  async nextPart(): Promise<{ headers: PartHeaders; body: AsyncIterable<Buffer> } | null> {
    if (this.broken) throw this.broken;
    try {
      if (this.bodyOpen) await this.drainOpenBody();
      if (this.finished) return null;
      if (!this.started) {
        this.started = true;
        await this.skipPreamble();
        if ((await this.afterBoundary()) === 'end') return null;
      }
      this.partCount += 1;
      if (this.partCount > this.limits.maxParts) throw new MtomError('too-many-parts', `more than ${this.limits.maxParts} multipart parts`);
      const headers = await this.readHeaders();
      this.bodyOpen = true;
      return { headers, body: this.body() };
    } catch (error) {
      this.broken = error;
      throw error;
    }
  }

  private currentBody: { generator: AsyncGenerator<Buffer>; drained: boolean } | undefined;

  private body(): AsyncIterable<Buffer> {
    const state = { generator: this.readBody(), drained: false };
    this.currentBody = state;
    let taken = false;
    // The consumer gets its own iterator: leaving a for-await early must not close the reader's
    // generator, whose remaining bytes are drained before the next part. Reading a body after
    // the next part was asked for is a bug that would yield an empty document: it throws.
    const iterator: AsyncIterableIterator<Buffer> = {
      next: () => {
        if (state.drained) return Promise.reject(new MtomError('malformed-part', 'an attachment body must be read before the next part is requested'));
        return state.generator.next();
      },
      return: async () => ({ done: true, value: undefined }),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return {
      [Symbol.asyncIterator]: () => {
        if (taken) throw new MtomError('malformed-part', 'a multipart body can only be read once');
        taken = true;
        return iterator;
      },
    };
  }

  private async drainOpenBody(): Promise<void> {
    const state = this.currentBody;
    if (!state) return;
    // Pull the rest of the bytes through and drop them.
    for (let step = await state.generator.next(); !step.done; step = await state.generator.next()) {
      /* discard */
    }
    state.drained = true;
  }

  private async *readBody(): AsyncGenerator<Buffer> {
    try {
      yield* this.readBodyUnguarded();
    } catch (error) {
      this.broken = error;
      throw error;
    }
  }

  private async *readBodyUnguarded(): AsyncGenerator<Buffer> {
    const delimiter = this.delimiter;
    for (;;) {
      const at = this.buffer.indexOf(delimiter);
      if (at >= 0) {
        if (at > 0) yield this.buffer.subarray(0, at);
        this.buffer = this.buffer.subarray(at + delimiter.length);
        await this.afterBoundary();
        this.bodyOpen = false;
        this.currentBody = undefined;
        return;
      }
      // Everything but a possible delimiter prefix at the end is body.
      const safe = this.buffer.length - (delimiter.length - 1);
      if (safe > 0) {
        const out = this.buffer.subarray(0, safe);
        this.buffer = this.buffer.subarray(safe);
        yield out;
      }
      if (!(await this.fill())) throw truncated();
    }
  }
}

function truncated(): MtomError {
  return new MtomError('truncated', 'the multipart body ended before its closing boundary');
}

function parsePartHeaders(raw: string): PartHeaders {
  const all = new Map<string, string>();
  // Folded header lines (obsolete, but legal in MIME) continue with whitespace.
  const lines = raw.split('\r\n').reduce<string[]>((acc, line) => {
    if (/^[ \t]/.test(line) && acc.length > 0) acc[acc.length - 1] += ` ${line.trim()}`;
    else if (line !== '') acc.push(line);
    return acc;
  }, []);
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MtomError('malformed-part', 'a multipart part has a malformed header line');
    all.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const contentId = all.get('content-id');
  return {
    ...(contentId ? { contentId: normaliseContentId(contentId) } : {}),
    ...(all.has('content-type') ? { contentType: all.get('content-type') } : {}),
    ...(all.has('content-transfer-encoding') ? { contentTransferEncoding: all.get('content-transfer-encoding')!.toLowerCase() } : {}),
    all,
  };
}

/** `<abc@host>` → `abc@host`. */
export function normaliseContentId(value: string): string {
  const trimmed = value.trim();
  return trimmed.startsWith('<') && trimmed.endsWith('>') ? trimmed.slice(1, -1).trim() : trimmed;
}

/** `cid:abc%40host` → `abc@host` (RFC 2392 cid URLs are URL-encoded). Undefined if not a cid URL. */
export function contentIdFromHref(href: string | undefined): string | undefined {
  if (!href || !/^cid:/i.test(href)) return undefined;
  const raw = href.slice(4);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

async function readAll(body: AsyncIterable<Buffer>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new MtomError('root-too-large', `the SOAP part exceeds ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Decodes a base64 Content-Transfer-Encoding on the fly (whitespace ignored). */
async function* decodeBase64(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry = '';
  for await (const chunk of body) {
    const text = carry + chunk.toString('latin1').replace(/[\r\n\t ]/g, '');
    const usable = text.length - (text.length % 4);
    carry = text.slice(usable);
    if (usable > 0) yield Buffer.from(text.slice(0, usable), 'base64');
  }
  if (carry.length > 0) yield Buffer.from(carry, 'base64');
}

function decodedBody(headers: PartHeaders, body: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const cte = headers.contentTransferEncoding;
  if (!cte || cte === 'binary' || cte === '8bit' || cte === '7bit') return body;
  if (cte === 'base64') return decodeBase64(body);
  throw new MtomError('unsupported-encoding', `unsupported Content-Transfer-Encoding ${cte.slice(0, 40)}`);
}

/**
 * Reads an MTOM message: resolves once the root part is in; attachments then stream in order.
 * `start` is the Content-Type start parameter: the root must be the first part (as every MTOM
 * stack sends it), and if `start` names another part the message is refused.
 */
export async function readMtomMessage(
  source: AsyncIterable<Uint8Array>,
  boundary: string,
  options: { start?: string; limits?: Partial<MtomLimits> } = {},
): Promise<MtomMessage> {
  const limits: MtomLimits = { ...DEFAULT_MTOM_LIMITS, ...options.limits };
  const reader = new MultipartReader(source, boundary, limits);
  const first = await reader.nextPart();
  if (!first) throw new MtomError('malformed-part', 'the multipart message has no parts');
  if (options.start && normaliseContentId(options.start) !== first.headers.contentId) {
    throw new MtomError('root-not-first', 'the root part named by the start parameter must be the first part');
  }
  const xml = await readAll(decodedBody(first.headers, first.body), limits.maxRootBytes);
  let used = false;
  return {
    root: { headers: first.headers, xml },
    async *attachments() {
      if (used) throw new MtomError('malformed-part', 'the attachments of a message can only be read once');
      used = true;
      const seen = new Set<string>();
      for (let part = await reader.nextPart(); part; part = await reader.nextPart()) {
        const contentId = part.headers.contentId;
        if (!contentId) throw new MtomError('missing-content-id', 'an MTOM attachment has no Content-ID');
        if (seen.has(contentId)) throw new MtomError('duplicate-content-id', 'two MTOM attachments share a Content-ID');
        seen.add(contentId);
        yield {
          contentId,
          contentType: parseMediaType(part.headers.contentType)?.essence ?? 'application/octet-stream',
          body: decodedBody(part.headers, part.body),
        };
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// XOP references inside the SOAP XML

/** What a <Document> (ITI-41) or <xdsb:Document> (ITI-43) element holds. */
export type DocumentContent =
  | { readonly kind: 'inline'; readonly bytes: Buffer }
  | { readonly kind: 'attachment'; readonly contentId: string };

/** Reads a base64Binary element that may hold an xop:Include instead of its text. */
export function documentContent(element: XmlElement): DocumentContent | undefined {
  const include = child(element, NS.xop, 'Include');
  if (include) {
    const contentId = contentIdFromHref(attr(include, 'href'));
    return contentId ? { kind: 'attachment', contentId } : undefined;
  }
  let text = '';
  for (const item of element.content) if (typeof item === 'string') text += item;
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) return undefined;
  return { kind: 'inline', bytes: Buffer.from(compact, 'base64') };
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface OutgoingAttachment {
  readonly contentId: string;
  readonly contentType: string;
  readonly body: Uint8Array | AsyncIterable<Uint8Array>;
}

export interface OutgoingMultipart {
  /** The HTTP Content-Type to send. */
  readonly contentType: string;
  readonly body: AsyncIterable<Buffer>;
}

export function newContentId(): string {
  return `${randomUUID()}@carnet`;
}

/** Builds an MTOM message from the SOAP envelope and its attachments, as a byte stream. */
export function buildMtomMessage(
  envelopeXml: string,
  attachments: readonly OutgoingAttachment[],
  options: { action?: string; boundary?: string } = {},
): OutgoingMultipart {
  // A random boundary: attachment bytes are streamed, never scanned, so it must be unguessable.
  const boundary = options.boundary ?? `MIMEBoundary_${randomBytes(24).toString('hex')}`;
  const rootId = `root.${randomUUID()}@carnet`;
  const startInfo = ['application/soap+xml', ...(options.action ? [formatParameter('action', options.action)] : [])].join('; ');
  const contentType = [
    'multipart/related',
    formatParameter('boundary', boundary),
    formatParameter('type', 'application/xop+xml'),
    formatParameter('start', `<${rootId}>`),
    formatParameter('start-info', startInfo),
  ].join('; ');
  async function* body(): AsyncGenerator<Buffer> {
    yield Buffer.from(
      `--${boundary}\r\n` +
        `Content-Type: application/xop+xml; charset=UTF-8; ${formatParameter('type', startInfo)}\r\n` +
        'Content-Transfer-Encoding: binary\r\n' +
        `Content-ID: <${rootId}>\r\n\r\n`,
      'latin1',
    );
    yield Buffer.from(envelopeXml, 'utf8');
    for (const a of attachments) {
      yield Buffer.from(
        `\r\n--${boundary}\r\n` +
          `Content-Type: ${a.contentType}\r\n` +
          'Content-Transfer-Encoding: binary\r\n' +
          `Content-ID: <${a.contentId}>\r\n\r\n`,
        'latin1',
      );
      if (a.body instanceof Uint8Array) {
        yield Buffer.from(a.body.buffer, a.body.byteOffset, a.body.byteLength);
      } else {
        for await (const chunk of a.body) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
    }
    yield Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  }
  return { contentType, body: body() };
}
