// The scope decisions of searchConstraint (the property test checks its agreement with decideAccess).
import t from 'tap';
import { accessIndex, searchConstraint } from '../../src/access/index.ts';
import type { Actor } from '../../src/access/index.ts';
import { DOC_RPPS, dossier, evaluate, matrix, resource } from './support.ts';

const doctor: Actor = { kind: 'professional', rpps: DOC_RPPS, profession: '10' };
const patient: Actor = { kind: 'patient', patientId: 'p1' };

t.test('a professional must name the dossier they search: without one the search is denied', async (t) => {
  t.equal(searchConstraint({ actor: doctor, dossiers: [dossier({ authorized: [DOC_RPPS] })], mode: 'normal', matrix }), 'deny');
});

t.test('a search in a dossier the actor may not enter is denied as a whole', async (t) => {
  t.equal(searchConstraint({ actor: doctor, dossier: dossier({ authorized: [DOC_RPPS], blocked: [DOC_RPPS] }), mode: 'normal', matrix }), 'deny');
});

t.test('the care-history feed, operators and devices may not search', async (t) => {
  const actors: Actor[] = [{ kind: 'care-history-feed' }, { kind: 'operator' }, { kind: 'device', patientId: 'p1', deviceId: 'd1' }];
  t.same(
    actors.map((actor) => searchConstraint({ actor, dossier: dossier(), mode: 'normal', matrix })),
    ['deny', 'deny', 'deny'],
  );
});

t.test("a patient's search without a dossier covers their own dossier only", async (t) => {
  const where = searchConstraint({ actor: patient, dossiers: [dossier(), dossier({ patientId: 'p2' })], mode: 'normal', matrix });
  if (where === 'deny') throw new Error('denied');
  t.same(
    [evaluate(where, accessIndex(resource())), evaluate(where, accessIndex(resource({ dossier: 'p2' })))],
    [true, false],
  );
});

t.test("a representative's search without a dossier covers each minor they represent", async (t) => {
  const actor: Actor = { kind: 'representative', patientIds: ['p1', 'p2', 'p3'] };
  const where = searchConstraint({ actor, dossiers: [dossier({ minor: true }), dossier({ patientId: 'p2', minor: true }), dossier({ patientId: 'p3', minor: false })], mode: 'normal', matrix });
  if (where === 'deny') throw new Error('denied');
  t.same(
    ['p1', 'p2', 'p3'].map((p) => evaluate(where, accessIndex(resource({ dossier: p })))),
    [true, true, false],
  );
});

t.test('a patient searching without any dossier of theirs is denied', async (t) => {
  t.equal(searchConstraint({ actor: patient, dossiers: [dossier({ patientId: 'p2' })], mode: 'normal', matrix }), 'deny');
});

t.test('the constraint never keeps directory resources, which need none', async (t) => {
  const where = searchConstraint({ actor: patient, dossier: dossier(), mode: 'normal', matrix });
  if (where === 'deny') throw new Error('denied');
  t.equal(evaluate(where, accessIndex(resource({ type: 'Practitioner', dossier: undefined }))), false);
});

t.test('a row that opens nothing still keeps what the professional wrote', async (t) => {
  const optician: Actor = { kind: 'professional', rpps: DOC_RPPS, profession: '28' };
  const where = searchConstraint({ actor: optician, dossier: dossier({ authorized: [DOC_RPPS] }), mode: 'normal', matrix });
  if (where === 'deny') throw new Error('denied');
  t.same(
    [evaluate(where, accessIndex(resource({ authors: [DOC_RPPS] }))), evaluate(where, accessIndex(resource()))],
    [true, false],
  );
});
