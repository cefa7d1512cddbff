// Writes XML text: escaping, and compact or indented layout.

// Characters XML 1.0 cannot carry at all, not even as character references: C0 controls other
// than tab/newline/return, U+FFFE/U+FFFF, and unpaired surrogates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when the string can be written in XML 1.0. */
export function isXmlSafe(text: string): boolean {
  return !NOT_XML_CHAR.test(text);
}

const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' };
// Tab, newline and return as references too: a parser turns literal ones in attributes into spaces.
const ATTRIBUTE_ESCAPES: Record<string, string> = { ...TEXT_ESCAPES, '"': '&quot;', '\t': '&#x9;', '\n': '&#xA;' };

export function escapeText(text: string): string {
  return text.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c]);
}

export function escapeAttribute(text: string): string {
  return text.replace(/[&<>"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c]);
}

export type Attributes = readonly (readonly [name: string, value: string])[];

function startTag(name: string, attributes: Attributes): string {
  let tag = `<${name}`;
  for (const [attribute, value] of attributes) tag += ` ${attribute}="${escapeAttribute(value)}"`;
  return tag;
}

/** Builds a document tag by tag; `pretty` puts each tag on its own line, indented by two spaces. */
export class XmlWriter {
  private readonly parts: string[] = [];
  private readonly pretty: boolean;
  private depth = 0;

  constructor(pretty: boolean) {
    this.pretty = pretty;
  }

  declaration(): void {
    this.parts.push('<?xml version="1.0" encoding="UTF-8"?>');
  }

  open(name: string, attributes: Attributes = []): void {
    this.line(`${startTag(name, attributes)}>`);
    this.depth += 1;
  }

  close(name: string): void {
    this.depth -= 1;
    this.line(`</${name}>`);
  }

  empty(name: string, attributes: Attributes = []): void {
    this.line(`${startTag(name, attributes)}/>`);
  }

  /** Markup already serialised (XHTML narrative): written as it is, never re-indented inside. */
  markup(xml: string): void {
    this.line(xml);
  }

  toString(): string {
    return this.parts.join('');
  }

  private line(text: string): void {
    if (this.pretty && this.parts.length > 0) this.parts.push('\n', '  '.repeat(this.depth));
    this.parts.push(text);
  }
}
