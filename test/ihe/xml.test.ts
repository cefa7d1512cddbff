import t from 'tap';
import { attr, child, deepText, el, parseXml, serializeXml, textOf, XmlError, XmlStreamParser } from '../../src/ihe/xds/index.ts';

function refused(run: () => unknown): XmlError {
  try {
    run();
  } catch (error) {
    if (error instanceof XmlError) return error;
    throw error;
  }
  throw new Error('the document was accepted');
}

const refusal = (input: string | Uint8Array, limits = {}) => refused(() => parseXml(input, limits));

void t.test('elements carry their namespace URI whatever prefix the sender chose', async (t) => {
  const a = parseXml('<rim:Slot xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0" name="x"/>');
  const b = parseXml('<ns2:Slot xmlns:ns2="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0" name="x"/>');
  t.equal(a.ns, 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0');
  t.equal(b.ns, a.ns);
  t.equal(a.name, 'Slot');
  t.equal(attr(a, 'name'), 'x');
});

void t.test('namespaced attributes are keyed by namespace URI and namespace declarations are left out', async (t) => {
  const root = parseXml('<x xmlns:a="urn:a" xmlns="urn:d" a:z="1" xml:lang="fr" plain="p"/>');
  t.equal(root.ns, 'urn:d');
  t.same({ ...root.attrs }, { '{urn:a}z': '1', '{http://www.w3.org/XML/1998/namespace}lang': 'fr', plain: 'p' });
});

void t.test('text, CDATA and the five predefined entities are decoded and mixed content keeps its order', async (t) => {
  const root = parseXml('<p>a &amp; b <b>bold</b><![CDATA[ <raw> ]]>&#233;&#x41;</p>');
  t.equal(textOf(root), 'a & b  <raw> éA');
  t.equal(deepText(root), 'a & b bold <raw> éA');
  t.equal(root.content.length, 3);
});

void t.test('a DOCTYPE with an external entity (XXE) is refused before any parsing', async (t) => {
  const xxe = '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>';
  t.equal(refusal(xxe).reason, 'doctype');
});

void t.test('a billion-laughs document is refused', async (t) => {
  const laughs =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>';
  t.equal(refusal(laughs).reason, 'doctype');
});

void t.test('a DOCTYPE split across two streamed pieces is refused too', async (t) => {
  const parser = new XmlStreamParser();
  parser.write('<?xml version="1.0"?><!DOC');
  t.equal(refused(() => parser.write('TYPE x []><x/>')).reason, 'doctype');
});

void t.test('entities other than the predefined ones are refused, HTML ones included', async (t) => {
  t.equal(refusal('<x>&nbsp;</x>').reason, 'malformed');
  t.equal(refusal('<x>&undefined;</x>').reason, 'malformed');
});

void t.test('deep nesting beyond the limit is refused', async (t) => {
  const deep = '<a>'.repeat(101) + '</a>'.repeat(101);
  t.equal(refusal(deep).reason, 'too-deep');
  t.doesNotThrow(() => parseXml('<a>'.repeat(100) + '</a>'.repeat(100)));
});

void t.test('more elements than the limit are refused', async (t) => {
  const many = `<r>${'<e/>'.repeat(50)}</r>`;
  t.equal(refusal(many, { maxElements: 50 }).reason, 'too-many-elements');
});

void t.test('too many attributes on one element are refused', async (t) => {
  const attrs = Array.from({ length: 20 }, (_, i) => `a${i}="v"`).join(' ');
  t.equal(refusal(`<x ${attrs}/>`, { maxAttributesPerElement: 10 }).reason, 'too-many-attributes');
});

void t.test('an oversized document is refused by its size', async (t) => {
  t.equal(refusal(`<x>${'a'.repeat(2000)}</x>`, { maxBytes: 1000 }).reason, 'too-large');
});

void t.test('an oversized document streamed in pieces is refused once the limit is passed', async (t) => {
  const parser = new XmlStreamParser({ maxBytes: 100 });
  parser.write('<x>');
  const error = refused(() => {
    for (let i = 0; i < 20; i++) parser.write('aaaaaaaaaa');
  });
  t.equal(error.reason, 'too-large');
});

void t.test('duplicate attributes, unbound prefixes and two roots are malformed', async (t) => {
  t.equal(refusal('<x a="1" a="2"/>').reason, 'malformed');
  t.equal(refusal('<a:x/>').reason, 'malformed');
  t.equal(refusal('<x/><y/>').reason, 'malformed');
  t.equal(refusal('').reason, 'malformed');
});

void t.test('control characters forbidden by XML 1.0 are refused, even as character references', async (t) => {
  t.equal(refusal('<x>\u0001</x>').reason, 'malformed');
  t.equal(refusal('<x>&#1;</x>').reason, 'malformed');
});

void t.test('the error message gives a position but not the offending content', async (t) => {
  const error = refusal('<x>\n<y secret="1234">\u0002</y></x>');
  t.match(error.message, /line 2/);
  t.notMatch(error.message, /1234/);
});

void t.test('bytes are decoded from the declared encoding, and unknown encodings are refused', async (t) => {
  const latin1 = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><x>\u00e9t\u00e9</x>', 'latin1');
  t.equal(textOf(parseXml(latin1)), 'été');
  const utf8 = Buffer.from('\ufeff<x>été</x>', 'utf8');
  t.equal(textOf(parseXml(utf8)), 'été');
  t.equal(refusal(Buffer.from('<?xml version="1.0" encoding="EBCDIC-XYZ"?><x/>')).reason, 'encoding');
  t.equal(refusal(Buffer.from([0x3c, 0x78, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x78, 0x3e])).reason, 'encoding');
});

void t.test('a document streamed byte by byte parses like a whole one, multi-byte characters included', async (t) => {
  const bytes = Buffer.from('<r xmlns="urn:x"><a k="é">crème brûlée</a><b/></r>', 'utf8');
  const parser = new XmlStreamParser();
  for (const byte of bytes) parser.write(Uint8Array.of(byte));
  const root = parser.end();
  t.equal(textOf(child(root, 'urn:x', 'a')), 'crème brûlée');
  t.equal(attr(child(root, 'urn:x', 'a'), 'k'), 'é');
});

void t.test('pruned elements are counted but not kept', async (t) => {
  const root = parseXml('<r><keep>k</keep><drop><x>y</x></drop></r>', {}, { prune: (_, e) => e.name === 'drop' });
  t.same(root.children.map((c) => c.name), ['keep']);
  t.equal(deepText(root), 'k');
});

void t.test('the serialiser escapes text and attributes and skips absent children', async (t) => {
  const xml = serializeXml(el('a', { q: 'say "hi" & <bye>', gone: undefined }, 'x < y & z', undefined, false, el('b')));
  t.equal(xml, '<a q="say &quot;hi&quot; &amp; &lt;bye&gt;">x &lt; y &amp; z<b/></a>');
});

void t.test('the serialiser never writes characters XML cannot hold', async (t) => {
  const xml = serializeXml(el('a', {}, 'bad\u0001char'));
  t.doesNotThrow(() => parseXml(xml));
  t.equal(textOf(parseXml(xml)), 'bad\uFFFDchar');
});

void t.test('what the serialiser writes, the parser reads back unchanged', async (t) => {
  const text = 'line1\nline2\t"quoted" & <angled> été';
  const root = parseXml(serializeXml(el('a', { v: text }, text)));
  t.equal(attr(root, 'v'), text);
  t.equal(textOf(root), text);
});
