// Narrative XHTML (Narrative.div): an XHTML <div> element in XML, the same element serialised
// as a string in JSON. Both directions go through one serialiser, so text and whitespace are
// kept exactly and the string is a self-contained XML fragment (it declares its namespaces).
import { FhirXmlError } from './errors.ts';
import type { FhirXmlLimits } from './errors.ts';
import { isNamespaceDeclaration, readXml } from './xml-reader.ts';
import type { XmlElement } from './xml-reader.ts';
import { escapeAttribute, escapeText } from './xml-writer.ts';

export const XHTML_NS = 'http://www.w3.org/1999/xhtml';

// HTML elements that are always empty: written `<br/>`; every other element gets an end tag,
// so the narrative also renders when a browser reads it as HTML.
const VOID_ELEMENTS = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);

/** The JSON string for a narrative <div> read from FHIR XML. */
export function xhtmlToJson(div: XmlElement, expression: string): string {
  if (div.local !== 'div' || div.uri !== XHTML_NS) {
    throw new FhirXmlError(`Narrative must be an XHTML <div> in the ${XHTML_NS} namespace`, { expression, line: div.line, column: div.column });
  }
  return serialiseFragment(div);
}

/**
 * The XML markup for a narrative string from JSON, after reading it as safely as any XML
 * (it is client content too). A <div> without a namespace is taken as XHTML.
 */
export function xhtmlFromJson(text: string, limits: FhirXmlLimits, expression: string): string {
  let div: XmlElement;
  try {
    div = readXml(text, limits);
  } catch (error) {
    if (!(error instanceof FhirXmlError)) throw error;
    throw new FhirXmlError(`Narrative is not valid XHTML: ${error.message}`, { expression, issueCode: error.issueCode });
  }
  const unqualified = div.uri === '' && div.prefix === '';
  if (div.local !== 'div' || (div.uri !== XHTML_NS && !unqualified)) {
    throw new FhirXmlError(`Narrative must be an XHTML <div> in the ${XHTML_NS} namespace`, { expression });
  }
  return serialiseFragment(div, unqualified ? XHTML_NS : undefined);
}

/** Serialises an element and its content as a standalone fragment. */
function serialiseFragment(root: XmlElement, defaultNamespace?: string): string {
  const extra: string[] = [];
  if (defaultNamespace !== undefined) extra.push(` xmlns="${escapeAttribute(defaultNamespace)}"`);
  // Prefixes bound on an ancestor outside the fragment are declared on its root.
  const declared = new Set(root.attributes.filter(isNamespaceDeclaration).map((a) => (a.prefix === 'xmlns' ? a.local : '')));
  if (defaultNamespace !== undefined) declared.add('');
  for (const prefix of usedPrefixes(root)) {
    const uri = root.namespaces[prefix];
    if (declared.has(prefix) || prefix === 'xml' || !uri) continue;
    extra.push(prefix === '' ? ` xmlns="${escapeAttribute(uri)}"` : ` xmlns:${prefix}="${escapeAttribute(uri)}"`);
  }
  const parts: string[] = [];
  writeElement(root, parts, extra.join(''));
  return parts.join('');
}

function usedPrefixes(root: XmlElement): Set<string> {
  const used = new Set<string>();
  const visit = (element: XmlElement): void => {
    used.add(element.prefix);
    for (const attribute of element.attributes) {
      if (attribute.prefix && !isNamespaceDeclaration(attribute)) used.add(attribute.prefix);
    }
    for (const child of element.children) if (child.kind === 'element') visit(child);
  };
  visit(root);
  return used;
}

// Recursion depth is bounded by the reader's depth limit.
function writeElement(element: XmlElement, parts: string[], extraDeclarations = ''): void {
  parts.push('<', element.name, extraDeclarations);
  for (const attribute of element.attributes) parts.push(' ', attribute.name, '="', escapeAttribute(attribute.value), '"');
  if (element.children.length === 0 && VOID_ELEMENTS.has(element.local)) {
    parts.push('/>');
    return;
  }
  parts.push('>');
  for (const child of element.children) {
    if (child.kind === 'text') parts.push(escapeText(child.text));
    else writeElement(child, parts);
  }
  parts.push('</', element.name, '>');
}
