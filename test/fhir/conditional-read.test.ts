// notModified(): which If-None-Match / If-Modified-Since headers mean the client's copy is current.
import t from 'tap';
import { notModified } from '../../src/fhir/conditional-read.ts';

const AT = '2025-03-01T10:00:00.500Z';

t.test('a weak or strong ETag of the current version is not modified', async (t) => {
  t.same([notModified({ 'if-none-match': 'W/"3"' }, 3, AT), notModified({ 'if-none-match': '"3"' }, 3, AT)], [true, true]);
});

t.test('a list of ETags matches when one of them is the current version', async (t) => {
  t.same([notModified({ 'if-none-match': 'W/"1", W/"3"' }, 3, AT), notModified({ 'if-none-match': 'W/"1", W/"2"' }, 3, AT)], [true, false]);
});

t.test('* matches any current version', async (t) => {
  t.equal(notModified({ 'if-none-match': '*' }, 7, AT), true);
});

t.test('If-None-Match wins over If-Modified-Since', async (t) => {
  t.equal(notModified({ 'if-none-match': 'W/"2"', 'if-modified-since': 'Sat, 01 Mar 2025 11:00:00 GMT' }, 3, AT), false);
});

t.test('If-Modified-Since compares whole seconds, and an unreadable date means modified', async (t) => {
  t.same(
    [
      notModified({ 'if-modified-since': 'Sat, 01 Mar 2025 10:00:00 GMT' }, 1, AT),
      notModified({ 'if-modified-since': 'Sat, 01 Mar 2025 09:59:59 GMT' }, 1, AT),
      notModified({ 'if-modified-since': 'yesterday' }, 1, AT),
      notModified({}, 1, AT),
    ],
    [true, false, false, false],
  );
});
