// Verifies the audit trail of the configured store (DATA_DIR, or MONGODB_URI / MONGODB_DATABASE,
// read as the server reads them): the seal chain, every audit entry against its own hash and
// its seal, every AuditEvent resource against its entry.
//
//   node scripts/verify-audit.ts [--skip-resources] [--anchor <n>:<hash>] [--json]
//
// --anchor: a seal number and hash printed by an earlier run and kept elsewhere; the run fails
// if that seal is no longer in the chain (the trail was rewritten as a whole).
// Exit codes: 0 intact; 1 broken (the first broken place is printed); 2 bad usage or settings,
// or the store could not be read.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createStore } from '../src/store/index.ts';
import { AuditTrail } from '../src/audit/index.ts';
import type { AuditVerification } from '../src/audit/index.ts';

function fail(message: string): never {
  process.stderr.write(`verify-audit: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(2);
}

function describe(result: AuditVerification): string {
  const head = result.head ? `; head seal ${result.head.n} ${result.head.hash}` : '; no seal yet';
  return `${result.entries} entries (${result.sealed} sealed, ${result.unsealed} not yet sealed), ${result.seals} seals${head}`;
}

function parse() {
  try {
    return parseArgs({
      options: { 'skip-resources': { type: 'boolean' }, anchor: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: false,
    }).values;
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
}
const args = parse();

let anchor: { n: number; hash: string } | undefined;
if (args.anchor !== undefined) {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(args.anchor);
  if (!m) fail('--anchor must be <seal number>:<64 hex digits>');
  anchor = { n: Number(m[1]), hash: m[2] };
}

let config;
try {
  config = loadConfig();
} catch (error) {
  fail(error instanceof ConfigError ? error.message : String(error));
}

const store = createStore({ dataDir: config.dataDir, mongodbUri: config.mongodbUri, mongodbDatabase: config.mongodbDatabase });
let result: AuditVerification;
try {
  await store.open();
  result = await new AuditTrail(store).verify({ resources: !args['skip-resources'], anchor });
} catch (error) {
  await store.close().catch(() => undefined);
  fail(`cannot read the audit trail: ${error instanceof Error ? error.message : String(error)}`);
}
await store.close();

if (args.json) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else if (result.ok) {
  process.stdout.write(`audit trail intact: ${describe(result)}\n`);
} else {
  const p = result.problem;
  const place = p?.stream && p.seq !== undefined ? `${p.stream} seq ${p.seq}` : (p?.resource ?? p?.stream ?? 'unknown place');
  process.stdout.write(`audit trail BROKEN at ${place} (${p?.kind}): ${p?.message}\n`);
}
process.exit(result.ok ? 0 : 1);
