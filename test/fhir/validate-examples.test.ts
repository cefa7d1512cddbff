// The official HL7 R4 examples of the types Carnet serves (shared/fhir-examples, XML) all
// validate without error, and every invariant met on the way could be evaluated by fhirpath.js.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFhirXml } from '../../src/fhir/xml/index.ts';
import { validateResource } from '../../src/fhir/validation/index.ts';
import { unevaluatedInvariants } from '../../src/fhir/validation/fhirpath-eval.ts';
import { sharedMissingReason, sharedPath } from '../support/shared.ts';

const dir = sharedPath('fhir-examples');

if (!dir) {
  void t.test('the official R4 examples validate', { skip: sharedMissingReason }, async () => {});
} else {
  const files = readdirSync(dir).filter((f) => f.endsWith('.xml')).sort();

  for (const file of files) {
    void t.test(`the official example ${file} validates without error`, async (t) => {
      let resource: unknown;
      try {
        resource = parseFhirXml(readFileSync(join(dir, file), 'utf8'));
      } catch (e) {
        // Reading XML is the XML module's concern (test/fhir/xml-examples.test.ts).
        t.pass(`skipped: not readable as FHIR XML (${(e as Error).message})`, { skip: true });
        return;
      }
      const errors = validateResource(resource).filter((i) => i.severity === 'error');
      t.same(errors, []);
    });
  }

  void t.test('every invariant met in the examples could be evaluated', async (t) => {
    t.same([...unevaluatedInvariants()], []);
  });
}
