// Creates a test patient's dossier (or reuses it) and its sign-in credentials, in the store the
// environment configures (DATA_DIR or MONGODB_URI, as the server reads them):
//
//   npm run patient-credentials -- --patient-id p-test --login lea@example.org --password '…' \
//     [--email lea@example.org | --sms +33600000000] [--ins 279035121518989] [--birth-date 1980-01-15]
//
// The dossier is opened as the insurer's desk opens one (the Patient with its INS, the patient's
// Consent, the dossier record, its AuditEvent and notification), then the password is set as
// the patient would set theirs. Without --ins and without an INS on an existing Patient, a test
// INS is generated. The patient then signs in at POST /auth/patient/sign-in; the one-time code
// goes to the outbox.
import { parseArgs } from 'node:util';
import { loadHabilitations } from '../src/access/index.ts';
import { AuditTrail } from '../src/audit/index.ts';
import { loadConfig } from '../src/config.ts';
import { credentialsOver, dossierEvents, dossierServices, provisionDossier, type Dossier } from '../src/dossier/index.ts';
import { FhirRepository, OPEN_GATE } from '../src/fhir/index.ts';
import { accessIndexWith } from '../src/fhir/repository.ts';
import { searchRegistry } from '../src/fhir/search/registry.ts';
import { StoreCredentialStore } from '../src/identity/store-credential-store.ts';
import { patientSignIn } from '../src/security.ts';
import { createStore } from '../src/store/index.ts';

const USAGE = 'usage: patient-credentials --patient-id ID --login LOGIN --password PASSWORD (--email ADDRESS | --sms NUMBER) [--ins INS] [--birth-date YYYY-MM-DD]';

function fail(message: string, code: number): never {
  console.error(`patient-credentials: ${message}`);
  process.exit(code);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      'patient-id': { type: 'string' },
      login: { type: 'string' },
      password: { type: 'string' },
      email: { type: 'string' },
      sms: { type: 'string' },
      ins: { type: 'string' },
      'birth-date': { type: 'string' },
    },
  });
} catch (error) {
  fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`, 2);
}
const args = parsed.values;
const patientId = args['patient-id'];
if (!patientId || !args.login || !args.password || (!args.email && !args.sms) || (args.email && args.sms)) fail(USAGE, 2);
if (args['birth-date'] !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(args['birth-date'])) fail('--birth-date must be YYYY-MM-DD', 2);

const config = loadConfig();
const store = createStore({ dataDir: config.dataDir, mongodbUri: config.mongodbUri, mongodbDatabase: config.mongodbDatabase });
await store.open();
try {
  const matrix = loadHabilitations(config.habilitationsFile);
  const repository = new FhirRepository({ store, registry: searchRegistry(), gate: OPEN_GATE, accessIndex: accessIndexWith(matrix) });
  const credentials = credentialsOver(await patientSignIn(config, store), new StoreCredentialStore(store));
  const trail = new AuditTrail(store, { extraIndex: accessIndexWith(matrix) });
  const dossier: Dossier = dossierServices({ store, repository, matrix, credentials, events: dossierEvents({ trail, credentials }) });
  const result = await provisionDossier({ store, dossier, repository }, {
    patientId,
    ...(args.ins ? { ins: { system: 'urn:oid:1.2.250.1.213.1.4.8', value: args.ins } } : {}),
    ...(args['birth-date'] ? { birthDate: args['birth-date'] } : {}),
    login: args.login,
    password: args.password,
    otp: args.email ? { channel: 'email', to: args.email } : { channel: 'sms', to: args.sms as string },
  });
  console.log(`dossier ${result.dossier} for Patient/${result.patientId}`);
  console.log(`credentials set for ${args.login}: sign in with POST /auth/patient/sign-in`);
} catch (error) {
  // A lifecycle refusal is an OperationOutcome error: its diagnostics say what is wrong.
  const issues = (error as { issues?: { diagnostics?: string }[] }).issues;
  const message = issues?.map((i) => i.diagnostics).join('; ') || (error instanceof Error ? error.message : String(error));
  await store.close();
  fail(message, 1);
}
await store.close();
