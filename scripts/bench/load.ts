// Bulk loading of the benchmark data through the FHIR repository (the same prepareWrite the REST
// API uses, so the search index and the access index are the real ones) straight into a Store,
// in multi-resource commits. The first dossiers are also validated against R4 as the API would,
// which proves the generator's resources valid; the rest skip validation (it is the slowest part
// of a write and says nothing more about the data's shape).
import { fastify } from 'fastify';
import { registerFhir, type FhirRepository, type RequestContext } from '../../src/fhir/index.ts';
import type { Store } from '../../src/store/index.ts';
import { GP_RPPS, documentUniqueId, patientGroups, practitioners, shapeOf, type DatasetShape, type DatasetSpec } from './generate.ts';

type PreparedWrite = Awaited<ReturnType<FhirRepository['prepareWrite']>>;

/** What the workloads need to know about a loaded dataset. */
export interface Plan {
  spec: DatasetSpec;
  shape: DatasetShape;
  counts: { patients: number; documents: number; binaries: number; practitioners: number; consents: number };
  loadMs: number;
  /** Patients with exactly 50 documents (W3). */
  heavyPatients: string[];
  /** A sample of documents: [id, patient id, type code, masked (1) or not (0)] (W1, W2, W6). */
  documents: [string, string, string, 0 | 1][];
  /** Practitioners who author documents: [id, rpps] (W6 writes). */
  authors: [string, string][];
  /**
   * XDS (W4, W5): a sample of documents with stored bytes, as [patient's INS, document uniqueId]
   * (the patient id of XDS is the INS, see xds.ts insCx). Absent from plans of older runs.
   */
  xds?: { documents: [string, string][] };
}

export interface LoadOptions {
  /** Writes per commit (default 200). */
  batchWrites?: number;
  /** Commits in flight at once (default 1; MongoDB gains from a few). */
  concurrency?: number;
  /** How many dossiers to validate against R4 first (default 3). */
  validateFirst?: number;
  /** Largest number of documents kept in the plan's sample (default 20,000). */
  sampleSize?: number;
  progress?: (line: string) => void;
}

const CTX: RequestContext = { baseUrl: 'http://bench.invalid/fhir', strict: false };

/** The repositories the API would build (one validating, one not), on a Fastify instance that never listens. */
function repositories(store: Store): { validating: FhirRepository; fast: FhirRepository } {
  return {
    validating: registerFhir(fastify(), { store }),
    fast: registerFhir(fastify(), { store, validate: null }),
  };
}

export async function loadDataset(store: Store, spec: DatasetSpec, options: LoadOptions = {}): Promise<Plan> {
  const started = Date.now();
  const batchWrites = options.batchWrites ?? 200;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const validateFirst = options.validateFirst ?? 3;
  const shape = shapeOf(spec);
  const stride = Math.max(1, Math.ceil(spec.documents / (options.sampleSize ?? 20_000)));
  const withBytes = Math.max(1, Math.round(spec.documents * Math.min(1, spec.binaries ?? 1)));
  const xdsStride = Math.max(1, Math.ceil(withBytes / (options.sampleSize ?? 20_000)));
  const { validating, fast } = repositories(store);
  const pros = practitioners(spec);
  const plan: Plan = {
    spec,
    shape,
    counts: { patients: 0, documents: 0, binaries: 0, practitioners: pros.length, consents: 0 },
    loadMs: 0,
    heavyPatients: [],
    documents: [],
    authors: pros.filter((p) => p.rpps !== GP_RPPS).map((p) => [p.id, p.rpps]),
    xds: { documents: [] },
  };
  const xdsDocuments = (plan.xds as NonNullable<Plan['xds']>).documents;

  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const commit = async (writes: PreparedWrite[]): Promise<void> => {
    const job = fast.commit(writes).then(
      () => undefined,
      (error: unknown) => {
        failure ??= error;
      },
    );
    const tracked = job.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure) throw failure;
  };

  const write = (repo: FhirRepository, resource: Record<string, unknown>): Promise<PreparedWrite> =>
    repo.prepareWrite(CTX, 'update', String(resource.resourceType), String(resource.id), resource);

  let batch: PreparedWrite[] = [];
  for (const p of pros) batch.push(await write(validating, p.resource));
  let lastReport = Date.now();
  let n = 0;
  for (const group of patientGroups(spec, pros)) {
    const repo = n < validateFirst ? validating : fast;
    batch.push(await write(repo, group.patient), await write(repo, group.consent));
    const ins = String((group.patient.identifier as { value: string }[])[0].value);
    for (const doc of group.documents) {
      batch.push(await write(repo, doc.reference));
      if (doc.binary) {
        batch.push(await write(repo, doc.binary));
        if (plan.counts.binaries % xdsStride === 0) xdsDocuments.push([ins, documentUniqueId(String(doc.reference.id))]);
        plan.counts.binaries++;
      }
      if (plan.counts.documents % stride === 0) {
        const subject = (doc.reference.subject as { reference: string }).reference.slice('Patient/'.length);
        const masked = JSON.stringify(doc.reference.securityLabel).includes('MASQUE_PS') ? 1 : 0;
        plan.documents.push([String(doc.reference.id), subject, doc.type.code, masked]);
      }
      plan.counts.documents++;
    }
    if (n < shape.heavyPatients) plan.heavyPatients.push(String(group.patient.id));
    plan.counts.patients++;
    plan.counts.consents++;
    n++;
    if (batch.length >= batchWrites) {
      await commit(batch);
      batch = [];
    }
    if (options.progress && Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      const elapsed = (Date.now() - started) / 1000;
      options.progress(`  loaded ${plan.counts.documents}/${spec.documents} documents in ${elapsed.toFixed(0)} s (${(plan.counts.documents / elapsed).toFixed(0)} documents/s)`);
    }
  }
  if (batch.length) await commit(batch);
  await Promise.all(inFlight);
  if (failure) throw failure;
  plan.loadMs = Date.now() - started;
  return plan;
}
