// The search constraint and the decision function never disagree: for random actors, dossiers,
// resources and modes, a resource is kept by searchConstraint() (evaluated over its access
// index) exactly when decideAccess() allows reading it.
import t from 'tap';
import fc from 'fast-check';
import { accessIndex, decideAccess, searchConstraint } from '../../src/access/index.ts';
import type { Actor } from '../../src/access/index.ts';
import { actor, dossierFor, mode, patient, PATIENTS, resource } from './arbitraries.ts';
import { evaluate, matrix } from './support.ts';

t.test('a resource is kept by the search constraint of its dossier exactly when it may be read', async (t) => {
  fc.assert(
    fc.property(actor, dossierFor(patient), resource, mode, (actor, dossier, resource, mode) => {
      const where = searchConstraint({ actor, dossier, mode, matrix });
      const decision = decideAccess({ actor, dossier, resource, action: 'read', mode, matrix });
      const kept = where !== 'deny' && evaluate(where, accessIndex(resource));
      if (kept !== decision.allowed) throw new Error(`constraint kept=${kept} but decision ${JSON.stringify(decision)}; where=${JSON.stringify(where)}`);
      // A denied search is a refusal of the whole dossier: a direct read is forbidden too, never just absent.
      if (where === 'deny' && resource.dossier === dossier.patientId && (decision.allowed || decision.visibleAs !== 'forbidden')) {
        throw new Error(`search denied but the read of its resource is ${JSON.stringify(decision)}`);
      }
    }),
    { numRuns: 50_000 },
  );
  t.pass('no disagreement found in 50000 random cases');
});

const uniqueDossiers = fc.uniqueArray(dossierFor(fc.constantFrom(...PATIENTS)), { selector: (d) => d.patientId, maxLength: 3 });
const owner = fc.oneof(
  fc.record({ kind: fc.constant('patient' as const), patientId: patient }),
  fc.record({ kind: fc.constant('representative' as const), patientIds: fc.subarray(PATIENTS) }),
) as fc.Arbitrary<Actor>;

t.test('a search across dossiers keeps exactly what the patient or representative may read in each', async (t) => {
  fc.assert(
    fc.property(owner, uniqueDossiers, resource, mode, (actor, dossiers, resource, mode) => {
      const where = searchConstraint({ actor, dossiers, mode, matrix });
      const own = dossiers.find((d) => d.patientId === resource.dossier);
      const allowed = own !== undefined && decideAccess({ actor, dossier: own, resource, action: 'read', mode, matrix }).allowed;
      const kept = where !== 'deny' && evaluate(where, accessIndex(resource));
      if (kept !== allowed) throw new Error(`constraint kept=${kept}, decision allowed=${allowed}; where=${JSON.stringify(where)}`);
    }),
    { numRuns: 10_000 },
  );
  t.pass('no disagreement found in 10000 random cases');
});
