// Creates a test dossier's patient (if missing) and its sign-in credentials, in the store the
// environment configures (DATA_DIR or MONGODB_URI, as the server reads them):
//
//   npm run patient-credentials -- --patient-id p-test --login lea@example.org --password '…' \
//     [--email lea@example.org | --sms +33600000000] [--ins 279035121518989]
//
// The patient then signs in at POST /auth/patient/sign-in; the one-time code goes to the outbox.
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { FhirRepository, OPEN_GATE } from '../src/fhir/index.ts';
import { searchRegistry } from '../src/fhir/search/registry.ts';
import { patientSignIn } from '../src/security.ts';
import { createStore } from '../src/store/index.ts';

const { values: args } = parseArgs({
  options: {
    'patient-id': { type: 'string' },
    login: { type: 'string' },
    password: { type: 'string' },
    email: { type: 'string' },
    sms: { type: 'string' },
    ins: { type: 'string' },
  },
});
const patientId = args['patient-id'];
if (!patientId || !args.login || !args.password || (!args.email && !args.sms)) {
  console.error('usage: patient-credentials --patient-id ID --login LOGIN --password PASSWORD (--email ADDRESS | --sms NUMBER) [--ins INS]');
  process.exit(2);
}
const config = loadConfig();
const store = createStore({ dataDir: config.dataDir, mongodbUri: config.mongodbUri, mongodbDatabase: config.mongodbDatabase });
await store.open();
try {
  const existing = await store.read('Patient', patientId);
  if (!existing || existing.deleted) {
    const repo = new FhirRepository({ store, registry: searchRegistry(), gate: OPEN_GATE });
    const patient = { resourceType: 'Patient', id: patientId, ...(args.ins ? { identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: args.ins }] } : {}) };
    await repo.commit([await repo.prepareWrite({ baseUrl: '', strict: true }, 'update', 'Patient', patientId, patient)]);
    console.log(`created Patient/${patientId}`);
  }
  const auth = await patientSignIn(config, store);
  await auth.setCredential({
    login: args.login,
    password: args.password,
    subject: { kind: 'patient', patientId },
    otp: args.email ? { channel: 'email', to: args.email } : { channel: 'sms', to: args.sms as string },
  });
  console.log(`credentials set for ${args.login}: sign in with POST /auth/patient/sign-in`);
} finally {
  await store.close();
}
