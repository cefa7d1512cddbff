// The workloads, as sequences of HTTP requests drawn from a loaded dataset's plan with a seeded
// PRNG. The same sequences go to Carnet and to the baseline server.
//   W1 read a DocumentReference by id
//   W2 search DocumentReference by patient and type
//   W3 Patient/$everything of a patient with 50 documents (one page: _count=100)
//   W4 ITI-41 Provide and Register (50 KB CDA over MTOM)       — not yet: XDS endpoints missing
//   W5 ITI-18 FindDocuments + ITI-43 Retrieve                  — not yet: XDS endpoints missing
//   W6 a mix: 60% W1, 20% W2, 20% creates of a DocumentReference (80% reads, 20% writes)
import { derivedSeed, seeded, type Random } from './prng.ts';
import { DOCUMENT_TYPES, LOINC, documentReference } from './generate.ts';
import type { Plan } from './load.ts';

export const WORKLOADS = ['W1', 'W2', 'W3', 'W6'] as const;
export type Workload = (typeof WORKLOADS)[number];

/** Workloads of the issue that cannot run yet, and why (the report lists them). */
export const PENDING_WORKLOADS = {
  W4: 'not yet: XDS endpoints missing (ITI-41 Provide and Register, 50 KB CDA over MTOM)',
  W5: 'not yet: XDS endpoints missing (ITI-18 FindDocuments + ITI-43 Retrieve)',
} as const;

export const WORKLOAD_TITLES: Record<Workload, string> = {
  W1: 'read DocumentReference by id',
  W2: 'search DocumentReference by patient and type',
  W3: 'Patient/$everything (50 documents)',
  W6: 'mix: 80% reads, 20% writes',
};

export interface HttpRequest {
  /** What the baseline answers with (see baseline.ts). */
  kind: 'read' | 'search' | 'everything' | 'write';
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const ACCEPT = { accept: 'application/fhir+json' };

export interface SourceOptions {
  seed: number;
  /** Under access control, reads skip the documents hidden from professionals (they answer 404). */
  access?: boolean;
}

/** An endless source of requests for a workload. */
export function requestSource(workload: Workload, plan: Plan, options: SourceOptions): () => HttpRequest {
  const random = seeded(derivedSeed(options.seed, workload));
  const documents = options.access ? plan.documents.filter((d) => d[3] === 0) : plan.documents;
  if (documents.length === 0) throw new Error('the plan holds no documents');
  const read = (): HttpRequest => ({ kind: 'read', method: 'GET', path: `/fhir/DocumentReference/${random.pick(documents)[0]}`, headers: ACCEPT });
  const search = (): HttpRequest => {
    const [, patient, type] = random.pick(plan.documents);
    return { kind: 'search', method: 'GET', path: `/fhir/DocumentReference?patient=${patient}&type=${encodeURIComponent(`${LOINC}|${type}`)}`, headers: ACCEPT };
  };
  const everything = (): HttpRequest => ({ kind: 'everything', method: 'GET', path: `/fhir/Patient/${random.pick(plan.heavyPatients)}/$everything?_count=100`, headers: ACCEPT });
  const bodies = writeBodies(plan, random, 512);
  let nextBody = 0;
  const write = (): HttpRequest => ({
    kind: 'write',
    method: 'POST',
    path: '/fhir/DocumentReference',
    headers: { ...ACCEPT, 'content-type': 'application/fhir+json', prefer: 'return=representation' },
    body: bodies[nextBody++ % bodies.length],
  });
  switch (workload) {
    case 'W1':
      return read;
    case 'W2':
      return search;
    case 'W3':
      return everything;
    case 'W6':
      return () => {
        const r = random.next();
        return r < 0.6 ? read() : r < 0.8 ? search() : write();
      };
  }
}

/** New DocumentReferences for the write part of W6 (no id: the server gives one). */
function writeBodies(plan: Plan, random: Random, count: number): string[] {
  const authors = plan.authors.length ? plan.authors : [['bench-pr-1', '10000100001'] as [string, string]];
  return Array.from({ length: count }, () => {
    const [id, rpps] = random.pick(authors);
    const type = random.pick(DOCUMENT_TYPES);
    const body = documentReference(random, {
      id: '',
      patient: random.pick(plan.documents)[1],
      type,
      author: { id, rpps, resource: {} },
      date: new Date(Date.UTC(2025, random.int(0, 11), random.int(1, 28), random.int(7, 19), random.int(0, 59))),
      masked: false,
      size: random.int(20_000, 50_000),
    });
    return JSON.stringify(body);
  });
}
