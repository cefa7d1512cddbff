// `npm run bench`: Carnet against this machine's limit (issue 7).
//
// For each store (embedded, MongoDB) and data size, it loads a deterministic dataset (generate.ts,
// load.ts), starts Carnet as a child process (node src/main.ts), and fires each workload at it
// over loopback from another process (cannon.ts, autocannon): first every workload (W1–W6, the
// XDS ones W4 and W5 included) with ACCESS_CONTROL=off over plain HTTP, then W1/W2 over mutual
// TLS with a general practitioner's certificate and access control on (consent filtering on).
// The server runs with AFFINITY_DOMAIN=fr-dmp and XDS_REPOSITORY_UNIQUE_ID set to the repository
// the XDS requests name (xds.ts); XDS answers count as errors unless their status is Success. A
// bare Fastify server answering the same bytes over the same transport (baseline.ts) gives the
// ratio of every result to what the HTTP stack can do at all.
// The table is printed and written to bench-results/<date>.json and .md.
//
//   npm run bench                              10k documents, both stores
//   npm run bench -- --sizes 10k,100k          (1m also works: hours of loading on 2 cores)
//   npm run bench -- --stores sqlite --profile W1,W2    also CPU-profile the server during W1 and W2
//   npm run bench -- --smoke                   seconds: tiny data, 1-second runs (the CI test)
//   npm run bench -- --soak 600                W6 for 10 minutes, RSS sampled (by hand)
// Other flags: --workloads W1,…,W6 (default all), --duration s, --warmup s, --connections n,
// --seed n, --binaries ratio, --out dir, --no-mtls, --reuse (keep loaded data in the data root and
// reuse it; data loaded before W4/W5 existed is loaded again), --data-root dir, --log-level level,
// --mongo-documents n (cap of the MongoDB runs, default 200: FerretDB scans).
// MONGODB_URI: use that MongoDB instead of starting a FerretDB of our own.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { createTestPki } from '../../src/identity/index.ts';
import { createStore } from '../../src/store/index.ts';
import { freePort, startFerretDB, type RunningFerretDB } from '../ferretdb.ts';
import type { CannonResult } from './cannon.ts';
import type { BaselineConfig, CannedAnswer } from './baseline.ts';
import { loadDataset, type Plan } from './load.ts';
import { formatProfile, summariseProfile, type ProfileSummary } from './profile.ts';
import { rssOf, runCannon, sampleRss, send, startBaseline, startCarnet, type Server, type TlsFiles } from './processes.ts';
import { KIND_SOURCES, PENDING_WORKLOADS, WORKLOADS, WORKLOAD_TITLES, XDS_WORKLOADS, requestSource, type HttpRequest, type Workload } from './workloads.ts';
import { BENCH_AFFINITY_DOMAIN, BENCH_REPOSITORY, xdsSucceeded } from './xds.ts';

type StoreKind = 'sqlite' | 'mongo';
type Transport = 'http' | 'mtls';

export interface Measurement extends CannonResult {
  workload: Workload;
  store: StoreKind | 'baseline';
  documents: number;
  transport: Transport;
  access: 'on' | 'off';
  connections: number;
  /** Peak resident memory of the server process during the run, in MB. */
  rssMb: number;
  /** rps / the baseline's rps for the same workload and transport. */
  ratio?: number;
}

export interface LoadRecord {
  store: StoreKind;
  documents: number;
  resources: number;
  binaries: number;
  seconds: number;
  reused: boolean;
}

export interface Target {
  target: string;
  status: 'met' | 'missed' | 'not measured';
  detail: string;
}

export interface BenchReport {
  date: string;
  smoke: boolean;
  machine: { nproc: number; cpu: string; memoryGb: number; node: string; platform: string; loadAverageAtStart: number[] };
  settings: { sizes: number[]; stores: StoreKind[]; workloads: Workload[]; duration: number; warmup: number; connections: number; seed: number; binaries: number | 'auto'; logLevel: string; mtls: boolean };
  loads: LoadRecord[];
  results: Measurement[];
  pending: typeof PENDING_WORKLOADS;
  targets: Target[];
  profiles: { store: StoreKind; documents: number; workload: Workload; transport: Transport; file: string; summary: ProfileSummary }[];
  notes: string[];
}

// ---- flags ---------------------------------------------------------------------------------------

function size(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text} (e.g. 10k, 100k, 1m, 500)`);
  return Math.round(Number(m[1]) * (m[2].toLowerCase() === 'k' ? 1e3 : m[2].toLowerCase() === 'm' ? 1e6 : 1));
}

function label(documents: number): string {
  return documents >= 1e6 && documents % 1e6 === 0 ? `${documents / 1e6}M` : documents >= 1e3 && documents % 1e3 === 0 ? `${documents / 1e3}k` : String(documents);
}

const { values: flags } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    stores: { type: 'string', default: 'sqlite,mongo' },
    workloads: { type: 'string', default: WORKLOADS.join(',') },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    seed: { type: 'string', default: '20240601' },
    binaries: { type: 'string' },
    out: { type: 'string', default: 'bench-results' },
    'no-mtls': { type: 'boolean', default: false },
    profile: { type: 'string' },
    reuse: { type: 'boolean', default: false },
    'data-root': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    soak: { type: 'string' },
    'mongo-documents': { type: 'string' },
  },
});

const smoke = flags.smoke;
const sizes = (flags.sizes ?? (smoke ? '60' : '10k')).split(',').map(size);
/**
 * FerretDB 1.24 on SQLite (the MongoDB of CI and of this bench) pushes no filter but _id down to
 * SQLite: every other query reads and decodes the whole collection, so loading is quadratic and
 * each request costs a scan. The MongoDB runs are therefore capped at this many documents
 * (override with --mongo-documents when pointing MONGODB_URI at a real MongoDB).
 */
const mongoCap = flags['mongo-documents'] ? size(flags['mongo-documents']) : 200;
const stores = flags.stores.split(',').map((s) => s.trim()) as StoreKind[];
for (const s of stores) if (s !== 'sqlite' && s !== 'mongo') throw new Error(`--stores takes sqlite and/or mongo, got ${s}`);
const workloads = flags.workloads.split(',').map((w) => w.trim().toUpperCase()) as Workload[];
for (const w of workloads) if (!(WORKLOADS as readonly string[]).includes(w)) throw new Error(`--workloads takes ${WORKLOADS.join(', ')}, got ${w}`);
for (const w of workloads) if (PENDING_WORKLOADS[w]) throw new Error(`${w} cannot run yet: ${PENDING_WORKLOADS[w]}`);
const soakSeconds = flags.soak ? Number(flags.soak) : 0;
/** --profile W2 (or W1,W2): those workloads again, on a server under node --cpu-prof. */
const profiled = (flags.profile ?? '').split(',').map((w) => w.trim().toUpperCase()).filter(Boolean) as Workload[];
for (const w of profiled) if (!(WORKLOADS as readonly string[]).includes(w)) throw new Error(`--profile takes workloads (${WORKLOADS.join(', ')}), got ${w}`);
const duration = Number(flags.duration ?? (smoke ? 1 : 10));
const warmup = Number(flags.warmup ?? (smoke ? 0 : 3));
const connections = Number(flags.connections ?? (smoke ? 4 : 32));
/** The smoke run counts requests rather than seconds, so that even a slow store completes some. */
const amount = smoke ? 16 : undefined;
const seed = Number(flags.seed);
const mtls = !flags['no-mtls'];
const logLevel = flags['log-level'];
const outDir = resolve(flags.out);
const dataRoot = resolve(flags['data-root'] ?? join(tmpdir(), 'carnet-bench-data'));
/** Stored Binaries: every document's up to 20k documents, then 1 in 10 (disk and load time). */
const binariesFor = (documents: number): number => (flags.binaries !== undefined ? Number(flags.binaries) : documents <= 20_000 ? 1 : 0.1);

const work = mkdtempSync(join(tmpdir(), 'carnet-bench-'));
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---- set-up --------------------------------------------------------------------------------------

/** The test PKI on disk: the server's certificate and the general practitioner's, one CA. */
async function writePki(): Promise<{ server: Record<string, string>; client: TlsFiles; serverTls: TlsFiles }> {
  const pki = await createTestPki();
  const dir = join(work, 'pki');
  mkdirSync(dir);
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const ca = file('ca.pem', pki.ca.certPem);
  const cert = file('server.pem', pki.server.certPem);
  const key = file('server.key', pki.server.keyPem);
  const crl = file('crl.pem', pki.crlPem);
  const gp = pki.professionals.generalPractitioner;
  return {
    server: { TLS_CERT_FILE: cert, TLS_KEY_FILE: key, TLS_CA_FILE: ca, TLS_CRL_FILE: crl },
    serverTls: { certFile: cert, keyFile: key, caFile: ca },
    client: { certFile: file('gp.pem', gp.certPem), keyFile: file('gp.key', gp.keyPem), caFile: ca },
  };
}

interface Dataset {
  store: StoreKind;
  documents: number;
  dataDir: string;
  mongo?: { uri: string; database: string };
  plan: Plan;
  planFile: string;
}

async function dropDatabase(uri: string, database: string): Promise<void> {
  const client = await MongoClient.connect(uri);
  try {
    await client.db(database).dropDatabase();
  } finally {
    await client.close();
  }
}

async function prepareDataset(store: StoreKind, documents: number, mongoUri: string | undefined, loads: LoadRecord[]): Promise<Dataset> {
  const binaries = binariesFor(documents);
  const key = `${store}-${documents}-s${seed}-b${binaries}`;
  const root = smoke ? work : dataRoot;
  const dataDir = join(root, key);
  const planFile = join(root, `${key}.plan.json`);
  const mongo = store === 'mongo' ? { uri: mongoUri as string, database: smoke ? `bench_smoke_${process.pid}` : `carnet_bench_${documents}_s${seed}` } : undefined;
  const earlier = flags.reuse && existsSync(planFile) ? (JSON.parse(readFileSync(planFile, 'utf8')) as Plan) : undefined;
  if (earlier && !earlier.xds) log(`${store} ${label(documents)}: the data loaded earlier predates the XDS workloads (no document uniqueIds): loading again`);
  if (earlier?.xds) {
    const plan = earlier;
    log(`${store} ${label(documents)}: reusing the data loaded earlier (${planFile})`);
    loads.push({ store, documents, resources: resourcesOf(plan), binaries: plan.counts.binaries, seconds: plan.loadMs / 1000, reused: true });
    return { store, documents, dataDir, mongo, plan, planFile };
  }
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  if (mongo) await dropDatabase(mongo.uri, mongo.database);
  log(`${store} ${label(documents)}: loading ${documents} documents (${binaries === 1 ? 'every one' : `${binaries * 100}%`} with its Binary)…`);
  const target = createStore({ dataDir, mongodbUri: mongo?.uri, mongodbDatabase: mongo?.database });
  await target.open();
  let plan: Plan;
  try {
    plan = await loadDataset(target, { documents, seed, binaries }, { batchWrites: store === 'mongo' ? 20 : 200, progress: log });
  } finally {
    await target.close();
  }
  writeFileSync(planFile, JSON.stringify(plan));
  log(`${store} ${label(documents)}: loaded ${resourcesOf(plan)} resources in ${(plan.loadMs / 1000).toFixed(1)} s`);
  loads.push({ store, documents, resources: resourcesOf(plan), binaries: plan.counts.binaries, seconds: plan.loadMs / 1000, reused: false });
  return { store, documents, dataDir, mongo, plan, planFile };
}

function resourcesOf(plan: Plan): number {
  const c = plan.counts;
  return c.patients + c.consents + c.documents + c.binaries + c.practitioners;
}

async function dropDataset(dataset: Dataset): Promise<void> {
  if (flags.reuse && !smoke) return;
  rmSync(dataset.dataDir, { recursive: true, force: true });
  rmSync(dataset.planFile, { force: true });
  if (dataset.mongo) await dropDatabase(dataset.mongo.uri, dataset.mongo.database).catch(() => undefined);
}

function serverEnv(dataset: Dataset, access: 'on' | 'off', tls: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: dataset.dataDir,
    LOG_LEVEL: logLevel,
    ACCESS_CONTROL: access,
    // The bench measures the server, not the per-identity limit (every request is the GP's).
    RATE_LIMIT_PER_MINUTE: '0',
    AFFINITY_DOMAIN: BENCH_AFFINITY_DOMAIN,
    XDS_REPOSITORY_UNIQUE_ID: BENCH_REPOSITORY,
    ...(dataset.mongo ? { MONGODB_URI: dataset.mongo.uri, MONGODB_DATABASE: dataset.mongo.database } : {}),
    ...tls,
  };
}

// ---- runs ----------------------------------------------------------------------------------------

let jobs = 0;

async function measure(
  server: Server,
  dataset: { planFile: string },
  workload: Workload,
  options: { transport: Transport; access: boolean; tls?: TlsFiles; seconds?: number },
): Promise<CannonResult & { rssMb: number }> {
  const stopSampling = sampleRss(server.pid);
  try {
    const result = await runCannon(
      {
        url: server.url,
        workload,
        planFile: dataset.planFile,
        connections,
        duration: options.seconds ?? duration,
        ...(amount && !options.seconds ? { amount } : {}),
        warmup,
        seed,
        access: options.access,
        tls: options.tls,
      },
      join(work, `job-${++jobs}.json`),
    );
    return { ...result, rssMb: Math.round(stopSampling() / 1e5) / 10 };
  } finally {
    stopSampling();
  }
}

/** The kinds of request each workload sends. */
const KINDS_OF: Record<Workload, HttpRequest['kind'][]> = {
  W1: ['read'], W2: ['search'], W3: ['everything'], W4: ['provide'], W5: ['query', 'retrieve'], W6: ['read', 'search', 'write'],
};

/** One answer of Carnet per kind of request the workloads run send, kept as bytes for the baseline. */
async function captureAnswers(server: Server, plan: Plan): Promise<Partial<Record<HttpRequest['kind'], CannedAnswer>>> {
  const answers: Partial<Record<HttpRequest['kind'], CannedAnswer>> = {};
  for (const kind of new Set(workloads.flatMap((w) => KINDS_OF[w]))) {
    const workload = KIND_SOURCES[kind];
    // A W5 retrieve follows its query: the answer captured is that of the first retrieve.
    const next = await requestSource(workload, plan, { seed });
    let request = next();
    while (request.kind !== kind) request = next();
    const res = await send(`${server.url}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
    const failed = res.status >= 300 || (XDS_WORKLOADS.includes(workload) && !xdsSucceeded(res.body.toString()));
    if (failed) throw new Error(`capturing the ${kind} answer: ${request.method} ${request.path} gave ${res.status} ${res.body.toString().slice(0, 1500)}`);
    answers[kind] = { status: res.status, contentType: res.contentType, body: res.body.toString('base64') };
  }
  return answers;
}

async function runBaselines(answers: Partial<Record<HttpRequest['kind'], CannedAnswer>>, planFile: string, pki: Awaited<ReturnType<typeof writePki>>, results: Measurement[]): Promise<void> {
  for (const transport of mtls ? (['http', 'mtls'] as const) : (['http'] as const)) {
    const config: BaselineConfig = {
      host: '127.0.0.1',
      port: await freePort(),
      bodyLimit: 10 * 1024 * 1024,
      answers,
      ...(transport === 'mtls' ? { tls: pki.serverTls } : {}),
    };
    const server = await startBaseline(config, join(work, `baseline-${transport}.json`));
    try {
      for (const workload of transport === 'mtls' ? workloads.filter((w) => w === 'W1' || w === 'W2') : workloads) {
        log(`baseline ${transport}: ${workload}…`);
        const r = await measure(server, { planFile }, workload, { transport, access: transport === 'mtls', tls: transport === 'mtls' ? pki.client : undefined });
        results.push({ ...r, workload, store: 'baseline', documents: 0, transport, access: 'off', connections });
      }
    } finally {
      await server.stop();
    }
  }
}

function baselineOf(results: Measurement[], workload: Workload, transport: Transport): Measurement | undefined {
  return results.find((r) => r.store === 'baseline' && r.workload === workload && r.transport === transport);
}

/** Runs a workload against a server started under the CPU profiler, and summarises the profile of the run. */
async function profileWorkload(dataset: Dataset, workload: Workload, profiles: BenchReport['profiles'], pki?: Awaited<ReturnType<typeof writePki>>): Promise<void> {
  const transport: Transport = pki ? 'mtls' : 'http';
  const dir = join(outDir, 'profiles', `${dataset.store}-${label(dataset.documents)}-${workload}-${transport}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const env = pki ? serverEnv(dataset, 'on', pki.server) : serverEnv(dataset, 'off');
  const server = await startCarnet({ port: await freePort(), env, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`], tls: pki?.serverTls });
  try {
    log(`${dataset.store} ${label(dataset.documents)}: ${workload} (${pki ? 'mutual TLS, access on' : 'HTTP, access off'}) under the CPU profiler…`);
    await measure(server, dataset, workload, { transport, access: Boolean(pki), tls: pki?.client });
  } finally {
    await server.stop();
  }
  const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f))[0];
  if (!file) {
    log('  (no profile was written)');
    return;
  }
  // The measured run only: not the start-up nor the warm-up.
  const summary = summariseProfile(file, 20, { lastSeconds: duration + 0.5 });
  profiles.push({ store: dataset.store, documents: dataset.documents, workload, transport, file, summary });
  log(`${dataset.store} ${label(dataset.documents)} ${workload} ${transport} profile (${file}):\n${formatProfile(summary)}`);
}

async function soak(dataset: Dataset, seconds: number): Promise<void> {
  const server = await startCarnet({ port: await freePort(), env: serverEnv(dataset, 'off') });
  const samples: [number, number][] = [];
  const started = Date.now();
  const timer = setInterval(() => samples.push([Math.round((Date.now() - started) / 1000), rssOf(server.pid)]), 5000);
  try {
    log(`soak: W6 for ${seconds} s on ${dataset.store} ${label(dataset.documents)}…`);
    const r = await measure(server, dataset, 'W6', { transport: 'http', access: false, seconds });
    clearInterval(timer);
    const afterWarmup = samples.filter(([s]) => s >= Math.min(60, seconds / 5)).map(([, rss]) => rss);
    const first = afterWarmup[0] ?? 0;
    const last = afterWarmup[afterWarmup.length - 1] ?? 0;
    const growth = first ? ((last - first) / first) * 100 : 0;
    const report = { ...r, seconds, rssAfterWarmupMb: Math.round(first / 1e6), rssEndMb: Math.round(last / 1e6), growthPercent: Math.round(growth * 10) / 10, samples };
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2));
    console.log(`soak: ${r.requests} requests, ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, errors ${r.errors}; RSS ${report.rssAfterWarmupMb} MB after warm-up → ${report.rssEndMb} MB at the end (${report.growthPercent}%; target ≤ 10%, no errors): ${r.errors === 0 && growth <= 10 ? 'met' : 'missed'}`);
    console.log(`written: ${file}`);
  } finally {
    clearInterval(timer);
    await server.stop();
  }
}

// ---- report --------------------------------------------------------------------------------------

function evaluateTargets(results: Measurement[]): Target[] {
  const embedded = results.filter((r) => r.store === 'sqlite');
  const at = (docs: number) => embedded.filter((r) => r.documents === docs);
  const sizesRun = [...new Set(embedded.map((r) => r.documents))].sort((a, b) => a - b);
  const reference = sizesRun.includes(100_000) ? 100_000 : sizesRun.filter((s) => s <= 100_000).pop() ?? sizesRun[0];
  const note = reference === 100_000 ? '' : ` (at ${label(reference ?? 0)} documents: 100k not run)`;
  const pick = (workload: Workload, transport: Transport) => at(reference).find((r) => r.workload === workload && r.transport === transport);
  const targets: Target[] = [];
  const w1 = pick('W1', 'http');
  targets.push(w1?.ratio === undefined
    ? { target: 'W1 ≥ 50% of baseline req/s (embedded, 100k)', status: 'not measured', detail: 'W1 not run' }
    : { target: 'W1 ≥ 50% of baseline req/s (embedded, 100k)', status: w1.ratio >= 0.5 ? 'met' : 'missed', detail: `${pct(w1.ratio)} of baseline over HTTP, access off${note}${ratioText(pick('W1', 'mtls'), ' ; over mutual TLS with consent filtering')}` });
  const w2 = pick('W2', 'mtls') ?? pick('W2', 'http');
  targets.push(w2?.ratio === undefined
    ? { target: 'W2 ≥ 25% of baseline, p99 ≤ 50 ms at 32 connections (embedded, 100k, consent filtering on)', status: 'not measured', detail: 'W2 not run' }
    : {
        target: 'W2 ≥ 25% of baseline, p99 ≤ 50 ms at 32 connections (embedded, 100k, consent filtering on)',
        status: w2.ratio >= 0.25 && w2.p99 <= 50 && w2.connections >= 32 ? 'met' : 'missed',
        detail: `${pct(w2.ratio)} of baseline, p99 ${w2.p99} ms at ${w2.connections} connections, ${w2.transport === 'mtls' ? 'mutual TLS, access on' : 'HTTP, access off'}${note}`,
      });
  const small = at(10_000).find((r) => r.workload === 'W2' && r.transport === 'http');
  const large = at(1_000_000).find((r) => r.workload === 'W2' && r.transport === 'http');
  targets.push(small && large
    ? { target: "W2's p50 at 1M ≤ 2× its p50 at 10k", status: large.p50 <= 2 * small.p50 ? 'met' : 'missed', detail: `p50 ${small.p50} ms at 10k, ${large.p50} ms at 1M` }
    : { target: "W2's p50 at 1M ≤ 2× its p50 at 10k", status: 'not measured', detail: `sizes run: ${sizesRun.map(label).join(', ') || 'none'}${growthText(embedded)}` });
  const w4 = pick('W4', 'http');
  targets.push(w4 === undefined
    ? { target: 'W4 ≥ 150 submissions/s (embedded)', status: 'not measured', detail: PENDING_WORKLOADS.W4 ?? 'W4 not run' }
    : {
        target: 'W4 ≥ 150 submissions/s (embedded)',
        status: w4.rps >= 150 && w4.errors === 0 ? 'met' : 'missed',
        detail: `${w4.rps.toFixed(0)} submissions/s (p50 ${w4.p50} ms, p99 ${w4.p99} ms, ${w4.errors} errors) over HTTP, access off, ${w4.connections} connections${note}`,
      });
  const rss1m = at(1_000_000).map((r) => r.rssMb);
  const largest = sizesRun[sizesRun.length - 1];
  targets.push(rss1m.length
    ? { target: 'server RSS ≤ 400 MB at 1M documents', status: Math.max(...rss1m) <= 400 ? 'met' : 'missed', detail: `peak ${Math.max(...rss1m)} MB` }
    : { target: 'server RSS ≤ 400 MB at 1M documents', status: 'not measured', detail: largest ? `peak ${Math.max(...at(largest).map((r) => r.rssMb))} MB at ${label(largest)} (1M not run)` : 'nothing run' });
  return targets;
}

function growthText(embedded: Measurement[]): string {
  const w2 = embedded.filter((r) => r.workload === 'W2' && r.transport === 'http').sort((a, b) => a.documents - b.documents);
  return w2.length > 1 ? `; W2 p50 ${w2.map((r) => `${r.p50} ms at ${label(r.documents)}`).join(', ')}` : '';
}

function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(0)}%`;
}

function ratioText(m: Measurement | undefined, prefix: string): string {
  return m?.ratio === undefined ? '' : `${prefix}: ${pct(m.ratio)}`;
}

function table(results: Measurement[]): string[] {
  const header = ['workload', 'store', 'docs', 'transport', 'access', 'req/s', 'vs baseline', 'p50 ms', 'p99 ms', 'errors', 'server RSS MB'];
  const rows = results.map((r) => [
    `${r.workload} ${WORKLOAD_TITLES[r.workload]}`,
    r.store === 'sqlite' ? 'embedded' : r.store === 'mongo' ? 'MongoDB (FerretDB)' : 'baseline (bare Fastify)',
    r.store === 'baseline' ? '–' : label(r.documents),
    r.transport === 'mtls' ? 'mutual TLS' : 'HTTP',
    r.access,
    r.rps.toFixed(0),
    r.ratio === undefined ? '–' : pct(r.ratio),
    String(r.p50),
    String(r.p99),
    String(r.errors),
    r.rssMb.toFixed(0),
  ]);
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
  return lines;
}

function markdown(report: BenchReport): string {
  const m = report.machine;
  return [
    `# Carnet benchmark, ${report.date}${report.smoke ? ' (smoke run)' : ''}`,
    '',
    `Machine: ${m.nproc} cores (${m.cpu}), ${m.memoryGb} GB memory, Node ${m.node}, ${m.platform}; load average at start ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}.`,
    `Settings: ${report.settings.connections} connections, ${report.smoke ? `${amount} requests` : `${report.settings.duration} s`} per run after ${report.settings.warmup} s of warm-up, seed ${report.settings.seed}, server log level ${report.settings.logLevel}; load generator (autocannon) and server in separate processes on loopback.`,
    '',
    '## Results',
    '',
    ...table(report.results),
    '',
    '## Loading',
    '',
    '| store | documents | resources | of which Binaries | seconds | resources/s |',
    '|---|---|---|---|---|---|',
    ...report.loads.map((l) => `| ${l.store === 'sqlite' ? 'embedded' : 'MongoDB (FerretDB)'} | ${label(l.documents)} | ${l.resources} | ${l.binaries} | ${l.seconds.toFixed(1)}${l.reused ? ' (earlier run)' : ''} | ${(l.resources / Math.max(l.seconds, 0.001)).toFixed(0)} |`),
    '',
    '## Targets (issue 7)',
    '',
    ...report.targets.map((t) => `- **${t.status}**: ${t.target} — ${t.detail}`),
    '',
    ...(report.notes.length ? ['## Notes', '', ...report.notes.map((n) => `- ${n}`), ''] : []),
    ...(Object.keys(report.pending).length ? ['## Not yet measured', '', ...Object.entries(report.pending).map(([w, why]) => `- ${w}: ${why}`), ''] : []),
    ...(report.profiles.length ? ['## CPU profiles', '', ...report.profiles.flatMap((p) => [`${p.store} ${label(p.documents)} ${p.workload} over ${p.transport === 'mtls' ? 'mutual TLS, access on' : 'HTTP, access off'} (${p.file}):`, '```', formatProfile(p.summary), '```'])] : []),
    '',
  ].join('\n');
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const report: BenchReport = {
    date: new Date().toISOString(),
    smoke,
    machine: {
      nproc: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round(totalmem() / 1e8) / 10,
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverageAtStart: loadavg(),
    },
    settings: { sizes, stores, workloads, duration, warmup, connections, seed, binaries: flags.binaries !== undefined ? Number(flags.binaries) : 'auto', logLevel, mtls },
    loads: [],
    results: [],
    pending: PENDING_WORKLOADS,
    targets: [],
    profiles: [],
    notes: [],
  };
  const pki = await writePki();
  let ferret: RunningFerretDB | undefined;
  let mongoUri = process.env.MONGODB_URI;
  try {
    if (stores.includes('mongo') && !mongoUri) {
      log('starting FerretDB for the MongoDB runs…');
      ferret = await startFerretDB(log);
      mongoUri = ferret.uri;
    }
    let baselineDone = soakSeconds > 0;
    for (const store of stores) {
      const storeSizes = store === 'mongo' ? [...new Set(sizes.map((n) => Math.min(n, mongoCap)))] : sizes;
      if (store === 'mongo' && storeSizes.join() !== sizes.join()) {
        const note = `MongoDB runs capped at ${mongoCap} documents: FerretDB 1.24 on SQLite pushes no filter but _id down, so every other query reads the whole collection (loading is quadratic, each request a scan); these figures are FerretDB's, not MongoDB 7's (--mongo-documents to change the cap).`;
        log(note);
        report.notes.push(note);
      }
      for (const documents of storeSizes) {
        const dataset = await prepareDataset(store, documents, mongoUri, report.loads);
        try {
          if (soakSeconds > 0) {
            await soak(dataset, soakSeconds);
            continue;
          }
          let server = await startCarnet({ port: await freePort(), env: serverEnv(dataset, 'off') });
          try {
            if (!baselineDone) {
              const answers = await captureAnswers(server, dataset.plan);
              await server.stop();
              await runBaselines(answers, dataset.planFile, pki, report.results);
              baselineDone = true;
              server = await startCarnet({ port: await freePort(), env: serverEnv(dataset, 'off') });
            }
            // W4 last: its submissions add documents to the patients the other workloads read.
            for (const workload of [...workloads.filter((w) => w !== 'W4'), ...workloads.filter((w) => w === 'W4')]) {
              log(`${store} ${label(documents)}: ${workload} over HTTP, access off…`);
              const r = await measure(server, dataset, workload, { transport: 'http', access: false });
              if (r.failures) log(`  ${r.failures} answers were not an XDS Success, the first: ${r.failureSample?.slice(0, 600)}`);
              const base = baselineOf(report.results, workload, 'http');
              report.results.push({ ...r, workload, store, documents, transport: 'http', access: 'off', connections, ratio: base ? r.rps / base.rps : undefined });
            }
          } finally {
            await server.stop();
          }
          for (const workload of profiled) await profileWorkload(dataset, workload, report.profiles);
          if (mtls) for (const workload of profiled.filter((w) => w === 'W1' || w === 'W2')) await profileWorkload(dataset, workload, report.profiles, pki);
          const secureWorkloads = workloads.filter((w) => w === 'W1' || w === 'W2');
          if (mtls && secureWorkloads.length) {
            const secure = await startCarnet({ port: await freePort(), env: serverEnv(dataset, 'on', pki.server), tls: pki.serverTls });
            try {
              for (const workload of secureWorkloads) {
                log(`${store} ${label(documents)}: ${workload} over mutual TLS, access on (general practitioner)…`);
                const r = await measure(secure, dataset, workload, { transport: 'mtls', access: true, tls: pki.client });
                const base = baselineOf(report.results, workload, 'mtls');
                report.results.push({ ...r, workload, store, documents, transport: 'mtls', access: 'on', connections, ratio: base ? r.rps / base.rps : undefined });
              }
            } finally {
              await secure.stop();
            }
          }
        } finally {
          await dropDataset(dataset);
        }
      }
    }
  } finally {
    await ferret?.stop();
    rmSync(work, { recursive: true, force: true });
  }
  if (soakSeconds > 0) return;
  report.targets = evaluateTargets(report.results);
  mkdirSync(outDir, { recursive: true });
  const stamp = report.date.replace(/[:.]/g, '-');
  const md = markdown(report);
  writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, `${stamp}.md`), md);
  console.log(md);
  console.log(`written: ${join(outDir, `${stamp}.json`)} and .md (${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
}

await main();
