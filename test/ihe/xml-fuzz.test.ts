// Property: whatever bytes arrive, the XML parser either returns a tree or throws its own
// XmlError, never anything else (no TypeError from a corner of the tokenizer, no hang).
import fc from 'fast-check';
import t from 'tap';
import { parseXml, XmlError } from '../../src/ihe/xds/index.ts';

const SEED_DOCUMENT =
  '<?xml version="1.0" encoding="UTF-8"?><lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" ' +
  'xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:RegistryObjectList><rim:ExtrinsicObject id="Doc01" mimeType="text/xml">' +
  '<rim:Slot name="creationTime"><rim:ValueList><rim:Value>20240101</rim:Value></rim:ValueList></rim:Slot>' +
  '<rim:Name><rim:LocalizedString value="t &amp; u"/></rim:Name><![CDATA[ x ]]><!-- c --></rim:ExtrinsicObject>' +
  '</rim:RegistryObjectList></lcm:SubmitObjectsRequest>';

const LIMITS = { maxDepth: 20, maxElements: 500, maxBytes: 64 * 1024 };

function onlyXmlErrors(input: string | Uint8Array): boolean {
  try {
    parseXml(input, LIMITS);
    return true;
  } catch (error) {
    return error instanceof XmlError;
  }
}

/** Edits applied to the seed: insert, delete or replace a slice with something hostile. */
const fragment = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('<', '>', '&', '&#0;', '&#xD800;', '<!DOCTYPE x>', '<![CDATA[', ']]>', '<?x?>', '"', "'", '</', '/>', 'xmlns:rim=""', '\u0000', '\uFFFF', '&lol;'),
);
const mutation = fc.tuple(fc.nat(), fc.nat({ max: 40 }), fragment);

void t.test('the parser throws nothing but XmlError on random strings', async (t) => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), onlyXmlErrors), { numRuns: 2000 });
  t.pass();
});

void t.test('the parser throws nothing but XmlError on random bytes', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), onlyXmlErrors), { numRuns: 2000 });
  t.pass();
});

void t.test('the parser throws nothing but XmlError on mutations of a valid ebRIM document', async (t) => {
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (edits) => {
      let doc = SEED_DOCUMENT;
      for (const [at, remove, insert] of edits) {
        const position = at % (doc.length + 1);
        doc = doc.slice(0, position) + insert + doc.slice(position + remove);
      }
      return onlyXmlErrors(doc) && onlyXmlErrors(Buffer.from(doc, 'utf8'));
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

void t.test('the parser throws nothing but XmlError on random nesting', async (t) => {
  const tree: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.string({ maxLength: 5 }),
      fc.tuple(fc.constantFrom('a', 'b', 'x:y'), fc.array(tie('node'), { maxLength: 3 })).map(([n, kids]) => `<${n}>${kids.join('')}</${n}>`),
    ),
  })).node;
  fc.assert(fc.property(tree, onlyXmlErrors), { numRuns: 1000 });
  t.pass();
});
