// members.ts: which references name a resource's members, and the resource as shown without
// the hidden ones, or as written back with them kept.
import t from 'tap';
import { keepHiddenMembers, memberReferences, withoutHiddenMembers } from '../../src/access/index.ts';

const list = (...members: string[]) => ({ resourceType: 'List', status: 'current', mode: 'working', entry: members.map((m) => ({ item: { reference: m } })) });
const HIDDEN = new Set(['DocumentReference/secret']);

t.test("a List's members are its entries' items, a DocumentReference's the documents it relates to", async (t) => {
  t.same(memberReferences(list('DocumentReference/a', 'List/f')), ['DocumentReference/a', 'List/f']);
  t.same(memberReferences({ resourceType: 'DocumentReference', relatesTo: [{ code: 'replaces', target: { reference: 'DocumentReference/old' } }] }), ['DocumentReference/old']);
  t.same(memberReferences({ resourceType: 'Patient' }), []);
});

t.test('a hidden member is left out of what is shown, the others stay in order', async (t) => {
  t.same(withoutHiddenMembers(list('DocumentReference/a', 'DocumentReference/secret', 'DocumentReference/b'), HIDDEN).entry, [
    { item: { reference: 'DocumentReference/a' } },
    { item: { reference: 'DocumentReference/b' } },
  ]);
});

t.test('a List whose every member is hidden is shown with no entry element (FHIR has no empty arrays)', async (t) => {
  t.notOk('entry' in withoutHiddenMembers(list('DocumentReference/secret'), HIDDEN));
});

t.test('nothing hidden gives back the very same object', async (t) => {
  const shown = list('DocumentReference/a');
  t.equal(withoutHiddenMembers(shown, HIDDEN), shown);
});

t.test('a document that replaced a hidden one does not name it', async (t) => {
  const doc = { resourceType: 'DocumentReference', relatesTo: [{ code: 'replaces', target: { reference: 'DocumentReference/secret' } }] };
  t.notOk('relatesTo' in withoutHiddenMembers(doc, HIDDEN));
});

t.test('written back without its hidden members, a resource keeps them', async (t) => {
  const stored = list('DocumentReference/a', 'DocumentReference/secret');
  const written = list('DocumentReference/a', 'DocumentReference/new');
  t.same(memberReferences(keepHiddenMembers(written, stored, HIDDEN)), ['DocumentReference/a', 'DocumentReference/new', 'DocumentReference/secret']);
});

t.test('a hidden member the writer names themselves is not added twice', async (t) => {
  const stored = list('DocumentReference/secret');
  const written = list('DocumentReference/secret', 'DocumentReference/a');
  t.same(memberReferences(keepHiddenMembers(written, stored, HIDDEN)), ['DocumentReference/secret', 'DocumentReference/a']);
});

t.test('a visible member the writer leaves out is removed', async (t) => {
  t.same(memberReferences(keepHiddenMembers(list(), list('DocumentReference/a'), HIDDEN)), []);
});
