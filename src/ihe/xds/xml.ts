// Safe XML for the XDS and CDA layers: a parser that treats every message as hostile, and a
// small serialiser for the answers we build.
//
// Why a hand-written tree builder over sax rather than xml2js's object builder: xml2js turns
// documents into loosely typed objects keyed by prefixed names, which loses the namespace
// information ebRIM/SOAP/XOP depend on (prefixes are arbitrary; `rim:` in one message is `ns2:` in
// the next), keeps no order between text and elements (needed for CDA narrative) and only lets us
// enforce limits after the whole tree is built. sax (xml2js's own tokenizer) gives resolved
// namespace URIs on every element and lets us stop at the first element past a limit.
//
// Hostile input is refused, never "handled": any DOCTYPE (so no DTD, no internal or external
// entities, no XXE, no billion laughs) is rejected before the tokenizer sees a byte; only the five
// predefined XML entities and character references are decoded; size, depth, element count and
// attribute count are bounded.
import { saxParser, type SaxParser, type SaxQualifiedAttribute, type SaxQualifiedTag } from '../../xml/sax.ts';
import { TextDecoder } from 'node:util';

/** Why a document was refused; callers map these to SOAP faults or metadata errors. */
export type XmlErrorReason =
  | 'too-large'
  | 'too-deep'
  | 'too-many-elements'
  | 'too-many-attributes'
  | 'doctype'
  | 'encoding'
  | 'malformed';

/** The only error the parser throws. Its message carries positions, never document content. */
export class XmlError extends Error {
  readonly reason: XmlErrorReason;
  constructor(reason: XmlErrorReason, message: string) {
    super(message);
    this.name = 'XmlError';
    this.reason = reason;
  }
}

export interface XmlLimits {
  /** Encoded size of the whole document, in bytes. */
  maxBytes: number;
  /** Nesting depth; the root element is depth 1. */
  maxDepth: number;
  /** Elements in the whole document. */
  maxElements: number;
  /** Attributes (namespace declarations included) on one element. */
  maxAttributesPerElement: number;
}

/**
 * Defaults sized for XDS messages: an ebRIM submission nests about 10 deep and a CDA document
 * rarely beyond 40; 20 MiB leaves room for a few inline (base64) documents while large documents
 * are expected as MTOM attachments, which never reach this parser.
 */
export const DEFAULT_XML_LIMITS: Readonly<XmlLimits> = Object.freeze({
  maxBytes: 20 * 1024 * 1024,
  maxDepth: 100,
  maxElements: 200_000,
  maxAttributesPerElement: 256,
});

export interface XmlElement {
  /** Namespace URI; '' when the element is in no namespace. */
  readonly ns: string;
  /** Local name. */
  readonly name: string;
  readonly prefix: string;
  /**
   * Attributes without a namespace by local name; namespaced ones as `{uri}local` (e.g.
   * `{http://www.w3.org/XML/1998/namespace}lang`). Namespace declarations are not included.
   * A null-prototype object, so hostile names like `__proto__` are plain keys.
   */
  readonly attrs: Readonly<Record<string, string>>;
  /** Child elements, in document order. */
  readonly children: readonly XmlElement[];
  /** Text and child elements interleaved in document order (adjacent text merged). */
  readonly content: readonly (XmlElement | string)[];
  /** 1-based line where the start tag ended (for error locations). */
  readonly line: number;
}

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

// ---------------------------------------------------------------------------------------------
// Parsing

// XML 1.0 forbids these code points anywhere in a document, even as character references.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
// A DOCTYPE can only start with this token; refusing it on sight means the tokenizer never reads
// a DTD. (A literal "<!DOCTYPE" inside CDATA or a comment is refused too: no XDS or CDA message
// has a reason to carry one.)
const DOCTYPE_TOKEN = /<!DOCTYPE/i;
const DOCTYPE_TAIL = '<!DOCTYPE'.length - 1;
// Large strings are fed to sax in slices, so one huge text node never forces a giant copy.
const WRITE_SLICE = 1 << 20;
// Bytes to look at before choosing a decoder (BOM or XML declaration).
const SNIFF_BYTES = 1024;

/** Where an element sits: its ancestors (outermost first) and itself. */
export interface ElementName {
  readonly ns: string;
  readonly name: string;
}

export interface XmlParseOptions {
  /**
   * Elements for which this returns true are not kept: no tree, no text, no children (limits
   * still count them). Lets a reader keep a CDA header and narrative while a 50 MB body streams by.
   */
  prune?: (ancestors: readonly ElementName[], element: ElementName) => boolean;
}

/** Parses a whole document and returns its root element. Throws only XmlError. */
export function parseXml(input: string | Uint8Array, limits: Partial<XmlLimits> = {}, options: XmlParseOptions = {}): XmlElement {
  // write() counts the size before feeding anything, so an oversized document is refused unread.
  const parser = new XmlStreamParser(limits, options);
  parser.write(input);
  return parser.end();
}

interface OpenElement {
  ns: string;
  name: string;
  prefix: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  content: (XmlElement | string)[];
  /** Text pieces since the last child element, joined once when the run ends. */
  pendingText: string[];
  line: number;
  /** Not kept (pruned, or inside a pruned element). */
  pruned: boolean;
}

/**
 * The parser, fed in pieces (bytes or strings) as they arrive; end() returns the root. Bytes are
 * decoded incrementally (encoding from BOM or declaration); limits hold across all pieces.
 */
export class XmlStreamParser {
  private readonly limits: XmlLimits;
  private readonly prune: XmlParseOptions['prune'];
  private readonly sax: SaxParser;
  private readonly stack: OpenElement[] = [];
  private root: XmlElement | undefined;
  private elementCount = 0;
  private bytes = 0;
  private decoder: TextDecoder | undefined;
  private sniffed: Buffer[] = [];
  private sniffedLength = 0;
  private tail = '';
  private started = false;
  private failure: XmlError | undefined;

  constructor(limits: Partial<XmlLimits> = {}, options: XmlParseOptions = {}) {
    this.limits = { ...DEFAULT_XML_LIMITS, ...limits };
    this.prune = options.prune;
    this.sax = saxParser({ xmlns: true, strictEntities: true, trim: false, normalize: false, position: true });
    this.wire();
  }

  /** Feeds the next piece. Throws XmlError as soon as the document is known to be refused. */
  write(piece: string | Uint8Array): void {
    this.guard(() => {
      if (typeof piece === 'string') {
        this.count(Buffer.byteLength(piece, 'utf8'));
        this.feed(this.started ? piece : stripBom(piece));
        this.started = true;
        return;
      }
      this.count(piece.byteLength);
      if (this.decoder) {
        this.feed(this.decodeChunk(piece, true));
        return;
      }
      this.sniffed.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
      this.sniffedLength += piece.byteLength;
      if (this.sniffedLength >= SNIFF_BYTES) this.startDecoding();
    });
  }

  /** Ends the document and returns its root element. */
  end(): XmlElement {
    return this.guard(() => {
      if (!this.decoder && this.sniffedLength > 0) this.startDecoding();
      if (this.decoder) this.feed(this.decodeChunk(new Uint8Array(0), false));
      this.sax.close();
      if (!this.root) throw new XmlError('malformed', 'malformed XML: no root element');
      return this.root;
    });
  }

  private guard<T>(run: () => T): T {
    if (this.failure) throw this.failure;
    try {
      return run();
    } catch (error) {
      if (error instanceof XmlError) this.failure = error;
      throw error;
    }
  }

  private count(n: number): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxBytes) {
      throw new XmlError('too-large', `XML document exceeds the limit of ${this.limits.maxBytes} bytes`);
    }
  }

  private startDecoding(): void {
    const head = Buffer.concat(this.sniffed, this.sniffedLength);
    this.sniffed = [];
    const { encoding, skip } = detectEncoding(head);
    this.decoder = new TextDecoder(encoding, { fatal: true });
    this.started = true;
    this.feed(this.decodeChunk(head.subarray(skip), true));
  }

  private decodeChunk(bytes: Uint8Array, stream: boolean): string {
    try {
      return this.decoder!.decode(bytes, { stream });
    } catch {
      throw new XmlError('encoding', `XML bytes are not valid ${this.decoder!.encoding}`);
    }
  }

  private feed(text: string): void {
    if (text === '') return;
    // The token may straddle two pieces: look at the end of the previous one too.
    if (DOCTYPE_TOKEN.test(this.tail + text)) throw new XmlError('doctype', 'XML documents with a DOCTYPE (DTD) are refused');
    this.tail = (this.tail + text).slice(-DOCTYPE_TAIL);
    for (let offset = 0; offset < text.length; offset += WRITE_SLICE) {
      this.sax.write(text.slice(offset, offset + WRITE_SLICE));
    }
  }

  private fail(reason: XmlErrorReason, message: string): never {
    throw new XmlError(reason, `${message} (line ${this.sax.line + 1}, column ${this.sax.column + 1})`);
  }

  private wire(): void {
    const parser = this.sax;
    const lim = this.limits;
    parser.onerror = (error: Error) => {
      // sax messages are "Reason\nLine: …\nColumn: …\nChar: c": keep the reason, not the character.
      const reason = String(error.message).split('\n')[0] || 'malformed XML';
      this.fail('malformed', `malformed XML: ${reason}`);
    };
    parser.ondoctype = () => this.fail('doctype', 'XML documents with a DOCTYPE (DTD) are refused');
    // In strict XML the only `<!` constructs are comments, CDATA and DOCTYPE; anything else is junk.
    parser.onsgmldeclaration = () => this.fail('malformed', 'malformed XML: unexpected <! declaration');
    const onText = (piece: string) => {
      if (FORBIDDEN_CHARS.test(piece)) this.fail('malformed', 'malformed XML: forbidden character');
      const top = this.stack[this.stack.length - 1];
      // Whitespace around the root element is allowed and meaningless; other text there is an
      // error sax reports itself.
      if (top && !top.pruned) top.pendingText.push(piece);
    };
    parser.ontext = onText;
    parser.oncdata = onText;
    // sax silently keeps one of two attributes with the same name; XML says the document is broken.
    let seenAttributes = new Set<string>();
    parser.onopentagstart = () => {
      seenAttributes = new Set<string>();
    };
    parser.onattribute = (a: SaxQualifiedAttribute) => {
      const key = a.uri ? `{${a.uri}}${a.local}` : a.name;
      if (seenAttributes.has(key)) this.fail('malformed', 'malformed XML: duplicate attribute');
      seenAttributes.add(key);
      if (seenAttributes.size > lim.maxAttributesPerElement) {
        this.fail('too-many-attributes', `more than ${lim.maxAttributesPerElement} attributes on one element`);
      }
      if (FORBIDDEN_CHARS.test(a.value)) this.fail('malformed', 'malformed XML: forbidden character');
    };
    parser.onopentag = (tag: SaxQualifiedTag) => this.open(tag);
    parser.onclosetag = () => this.close();
  }

  private open(tag: SaxQualifiedTag): void {
    const lim = this.limits;
    this.elementCount += 1;
    if (this.elementCount > lim.maxElements) this.fail('too-many-elements', `more than ${lim.maxElements} elements`);
    if (this.stack.length + 1 > lim.maxDepth) this.fail('too-deep', `elements nested deeper than ${lim.maxDepth}`);
    if (this.root) this.fail('malformed', 'malformed XML: more than one root element');
    const parent = this.stack[this.stack.length - 1];
    const name: ElementName = { ns: tag.uri ?? '', name: tag.local };
    const pruned = !!parent?.pruned || (!!this.prune && this.prune(this.stack, name));
    const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
    if (!pruned) {
      for (const qname of Object.keys(tag.attributes)) {
        const a = tag.attributes[qname];
        if (a.uri === XMLNS_NS || qname === 'xmlns' || a.prefix === 'xmlns') continue;
        attrs[a.uri ? `{${a.uri}}${a.local}` : a.local] = a.value;
      }
    }
    if (parent && !parent.pruned) flushText(parent);
    this.stack.push({ ...name, prefix: tag.prefix ?? '', attrs, children: [], content: [], pendingText: [], line: this.sax.line + 1, pruned });
  }

  private close(): void {
    const open = this.stack.pop();
    if (!open) return; // sax reports unbalanced tags itself
    const parent = this.stack[this.stack.length - 1];
    if (open.pruned && parent) return;
    flushText(open);
    const element: XmlElement = {
      ns: open.ns,
      name: open.name,
      prefix: open.prefix,
      attrs: open.attrs,
      children: open.children,
      content: open.content,
      line: open.line,
    };
    if (parent) {
      parent.children.push(element);
      parent.content.push(element);
    } else {
      this.root = element;
    }
  }
}

function flushText(open: OpenElement): void {
  if (open.pendingText.length === 0) return;
  open.content.push(open.pendingText.length === 1 ? open.pendingText[0] : open.pendingText.join(''));
  open.pendingText = [];
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

// Encodings a health message may plausibly arrive in. Anything else is refused rather than guessed.
const ENCODING_ALIASES: Record<string, string> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'us-ascii': 'utf-8',
  ascii: 'utf-8',
  'iso-8859-1': 'latin1',
  'iso_8859-1': 'latin1',
  latin1: 'latin1',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
  'iso-8859-15': 'iso-8859-15',
};

function detectEncoding(bytes: Uint8Array): { encoding: string; skip: number } {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { encoding: 'utf-8', skip: 3 };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: 'utf-16le', skip: 2 };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: 'utf-16be', skip: 2 };
  // The declaration is ASCII in every encoding we accept without a BOM.
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 200)).toString('latin1');
  const declared = /^<\?xml[^>]*\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
  if (!declared) return { encoding: 'utf-8', skip: 0 };
  const known = ENCODING_ALIASES[declared[1].toLowerCase()];
  if (!known) throw new XmlError('encoding', `unsupported XML encoding ${JSON.stringify(declared[1].slice(0, 40))}`);
  return { encoding: known, skip: 0 };
}

// ---------------------------------------------------------------------------------------------
// Reading helpers: small, namespace-aware, and tolerant of absent elements (they return
// undefined or empty arrays, so metadata checks decide what is missing).

/** First child element with this namespace and local name. */
export function child(el: XmlElement | undefined, ns: string, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name && c.ns === ns);
}

/** All child elements with this namespace and local name. */
export function childrenNamed(el: XmlElement | undefined, ns: string, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.name === name && c.ns === ns) : [];
}

/** Follows a path of child elements, all in one namespace. */
export function path(el: XmlElement | undefined, ns: string, ...names: string[]): XmlElement | undefined {
  let current = el;
  for (const name of names) current = child(current, ns, name);
  return current;
}

/** Direct text content (text children only, concatenated). */
export function textOf(el: XmlElement | undefined): string {
  if (!el) return '';
  let out = '';
  for (const item of el.content) if (typeof item === 'string') out += item;
  return out;
}

/** All text under the element, in document order (an iterative walk: depth is already bounded). */
export function deepText(el: XmlElement | undefined, separator = ''): string {
  if (!el) return '';
  const parts: string[] = [];
  const stack: (XmlElement | string)[] = [el];
  while (stack.length > 0) {
    const item = stack.pop() as XmlElement | string;
    if (typeof item === 'string') {
      parts.push(item);
    } else {
      for (let i = item.content.length - 1; i >= 0; i--) stack.push(item.content[i]);
    }
  }
  return parts.join(separator);
}

export function attr(el: XmlElement | undefined, name: string, ns?: string): string | undefined {
  if (!el) return undefined;
  return el.attrs[ns ? `{${ns}}${name}` : name];
}

// ---------------------------------------------------------------------------------------------
// Serialisation: answers are built as plain data and written once, with every text and attribute
// escaped. Names are trusted (they come from our code, never from a request).

export interface XmlBuild {
  /** Qualified name as written, e.g. `rim:Slot`. */
  readonly name: string;
  /** Attribute values; undefined ones are left out. Include `xmlns:*` declarations here. */
  readonly attrs?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly children?: readonly XmlChild[];
}
/** Strings are text; undefined/null/false are skipped, so builders can use `cond && el(...)`. */
export type XmlChild = XmlBuild | string | undefined | null | false;

/** Builds an element description: el('rim:Value', {}, 'text'). */
export function el(
  name: string,
  attrs: XmlBuild['attrs'] = {},
  ...children: (XmlChild | readonly XmlChild[])[]
): XmlBuild {
  const flat: XmlChild[] = [];
  for (const c of children) {
    if (Array.isArray(c)) flat.push(...(c as readonly XmlChild[]));
    else flat.push(c as XmlChild);
  }
  return { name, attrs, children: flat };
}

// eslint-disable-next-line no-control-regex
const UNSERIALISABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function escapeText(value: string): string {
  return value
    .replace(UNSERIALISABLE, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

export function escapeAttribute(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

/** Writes the element (and, if asked, an XML declaration) as a string. */
export function serializeXml(node: XmlBuild, options: { declaration?: boolean } = {}): string {
  const out: string[] = [];
  if (options.declaration) out.push('<?xml version="1.0" encoding="UTF-8"?>');
  write(node, out);
  return out.join('');
}

function write(node: XmlBuild, out: string[]): void {
  out.push('<', node.name);
  for (const [key, value] of Object.entries(node.attrs ?? {})) {
    if (value === undefined) continue;
    out.push(' ', key, '="', escapeAttribute(String(value)), '"');
  }
  const children = (node.children ?? []).filter((c): c is XmlBuild | string => c !== undefined && c !== null && c !== false);
  if (children.length === 0) {
    out.push('/>');
    return;
  }
  out.push('>');
  for (const c of children) {
    if (typeof c === 'string') out.push(escapeText(c));
    else write(c, out);
  }
  out.push('</', node.name, '>');
}
