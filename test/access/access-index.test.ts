// The access index values a resource gets at write time.
import t from 'tap';
import { accessIndex } from '../../src/access/index.ts';
import { resource } from './support.ts';

t.test('a document is indexed by dossier, class, type, each author and each flag', async (t) => {
  const facts = resource({ authors: ['10000000002', 'Patient/p1'], masked: true, invisibleToRepresentatives: true });
  t.same(accessIndex(facts), [
    { param: '_dossier', value: 'r:Patient/p1' },
    { param: '_class', value: 'c:10' },
    { param: '_typecode', value: 'c:11490-0' },
    { param: '_author', value: 'r:10000000002' },
    { param: '_author', value: 'r:Patient/p1' },
    { param: '_flag', value: 'c:masked' },
    { param: '_flag', value: 'c:invisible-representatives' },
  ]);
});

t.test('a resource outside any dossier, without class or authors, gets no access index', async (t) => {
  t.same(accessIndex(resource({ type: 'Practitioner', dossier: undefined, classCode: undefined, typeCode: undefined, authors: [] })), []);
});

t.test('the invisible-to-patient flag has its own key', async (t) => {
  t.same(
    accessIndex(resource({ invisibleToPatient: true })).filter((v) => v.param === '_flag'),
    [{ param: '_flag', value: 'c:invisible-patient' }],
  );
});
