// Reads XML text into a small element tree, treating the text as hostile: no DTD (so no entity
// of any kind beyond the five XML ones and character references), and limits on length, depth
// and element count enforced while parsing, before the tree grows.
//
// sax (the streaming parser inside xml2js) is used directly: its events give the order of mixed
// content (needed for XHTML narrative), namespace resolution, positions for error messages,
// and a DOCTYPE event we can refuse at once. It ships no types, hence the narrow interface here.
import { saxParser } from '../../xml/sax.ts';
import { FhirXmlError } from './errors.ts';
import type { FhirXmlLimits } from './errors.ts';

export interface XmlAttribute {
  /** Qualified name as written (`xmlns:h`, `value`). */
  name: string;
  prefix: string;
  local: string;
  /** Namespace URI; '' for unprefixed attributes. */
  uri: string;
  value: string;
}

export interface XmlElement {
  kind: 'element';
  name: string;
  prefix: string;
  local: string;
  uri: string;
  attributes: XmlAttribute[];
  children: XmlNode[];
  /** Namespace bindings in scope (prefix → URI, '' for the default), inherited ones included. */
  namespaces: Readonly<Record<string, string>>;
  line: number;
  column: number;
}

export interface XmlText {
  kind: 'text';
  text: string;
}

export type XmlNode = XmlElement | XmlText;

export const XMLNS_URI = 'http://www.w3.org/2000/xmlns/';

/** True for namespace declarations (`xmlns`, `xmlns:p`), which are not content. */
export function isNamespaceDeclaration(attribute: XmlAttribute): boolean {
  return attribute.uri === XMLNS_URI || attribute.name === 'xmlns' || attribute.prefix === 'xmlns';
}

/** Parses a whole XML document and returns its root element. Throws FhirXmlError. */
export function readXml(xml: string, limits: FhirXmlLimits): XmlElement {
  if (xml.length > limits.maxLength) {
    throw new FhirXmlError(`XML is too long: ${xml.length} characters, at most ${limits.maxLength} accepted`, { issueCode: 'too-long' });
  }
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;

  // strict: well-formedness errors are errors; strictEntities: no HTML entities such as &nbsp;.
  const parser = saxParser({ xmlns: true, strictEntities: true, position: true, trim: false, normalize: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elementCount = 0;

  const fail = (message: string, issueCode: 'structure' | 'security' | 'too-long' = 'structure'): never => {
    throw new FhirXmlError(`${message} (line ${parser.line + 1}, column ${parser.column})`, {
      issueCode, line: parser.line + 1, column: parser.column,
    });
  };

  parser.onerror = (error) => {
    // sax appends "\nLine: …\nColumn: …\nChar: …"; keep the first line, our position format follows.
    fail(`XML is not well-formed: ${error.message.split('\n')[0]}`);
  };
  parser.ondoctype = () => fail('XML with a DOCTYPE is refused (no DTDs or entities are accepted)', 'security');
  parser.onsgmldeclaration = () => fail('XML markup declarations (<!…>) are refused', 'security');
  parser.onopentag = (tag) => {
    elementCount += 1;
    if (elementCount > limits.maxElements) fail(`XML has too many elements: more than ${limits.maxElements}`, 'too-long');
    if (stack.length + 1 > limits.maxDepth) fail(`XML is nested too deeply: more than ${limits.maxDepth} levels`, 'too-long');
    const element: XmlElement = {
      kind: 'element',
      name: tag.name,
      prefix: tag.prefix,
      local: tag.local,
      uri: tag.uri,
      attributes: Object.values(tag.attributes).map((a) => ({ name: a.name, prefix: a.prefix, local: a.local, uri: a.uri, value: a.value })),
      children: [],
      namespaces: tag.ns,
      line: parser.line + 1,
      column: parser.column,
    };
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else if (root) fail('XML has more than one root element');
    else root = element;
    stack.push(element);
  };
  parser.onclosetag = () => {
    stack.pop();
  };
  const appendText = (chunk: string): void => {
    const parent = stack.at(-1);
    if (!parent) return; // whitespace around the root; sax itself refuses anything else there
    const last = parent.children.at(-1);
    // sax may split text (around entities, CDATA, comments); one node per run keeps it simple.
    if (last?.kind === 'text') last.text += chunk;
    else parent.children.push({ kind: 'text', text: chunk });
  };
  parser.ontext = appendText;
  parser.oncdata = appendText;

  parser.write(text).close();
  if (!root) throw new FhirXmlError('XML has no root element', { issueCode: 'structure' });
  return root;
}
