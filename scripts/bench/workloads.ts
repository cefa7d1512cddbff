// The workloads, as sequences of HTTP requests drawn from a loaded dataset's plan with a seeded
// PRNG. The same sequences go to Carnet and to the baseline server.
//   W1 read a DocumentReference by id
//   W2 search DocumentReference by patient and type
//   W3 Patient/$everything of a patient with 50 documents (one page: _count=100)
//   W4 ITI-41 Provide and Register Document Set-b: a 50 KB CDA over MTOM, a new submission each
//      time (new uniqueIds) for a loaded patient (xds.ts)
//   W5 ITI-18 FindDocuments (LeafClass) of a loaded patient, then ITI-43 Retrieve of one of that
//      patient's documents with bytes, alternately (half the requests each)
//   W6 a mix: 60% W1, 20% W2, 20% creates of a DocumentReference (80% reads, 20% writes)
// W4 and W5 answers are all checked for XDS Success (a Failure inside a 200 counts as an error:
// cannon.ts onResponse, xds.ts xdsSucceeded). W4 and W5 run over plain HTTP with access off only.
import { derivedSeed, seeded, type Random } from './prng.ts';
import { DOCUMENT_TYPES, LOINC, documentReference } from './generate.ts';
import type { Plan } from './load.ts';
import { XDS_ACTIONS, findDocumentsBody, insCx, provideRequests, retrieveBody, soapContentType } from './xds.ts';

export const WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6'] as const;
export type Workload = (typeof WORKLOADS)[number];

/** Workloads of the issue that cannot run yet, and why (the report lists them): none left. */
export const PENDING_WORKLOADS: Partial<Record<Workload, string>> = {};

export const WORKLOAD_TITLES: Record<Workload, string> = {
  W1: 'read DocumentReference by id',
  W2: 'search DocumentReference by patient and type',
  W3: 'Patient/$everything (50 documents)',
  W4: 'XDS ITI-41 Provide and Register (50 KB CDA, MTOM)',
  W5: 'XDS ITI-18 FindDocuments + ITI-43 Retrieve (50/50)',
  W6: 'mix: 80% reads, 20% writes',
};

/** Workloads whose answers are XDS messages, checked for a Success status. */
export const XDS_WORKLOADS: readonly Workload[] = ['W4', 'W5'];

export interface HttpRequest {
  /** What the baseline answers with (see baseline.ts). */
  kind: 'read' | 'search' | 'everything' | 'write' | 'provide' | 'query' | 'retrieve';
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** The workload whose requests include each kind (captureAnswers draws one of each from it). */
export const KIND_SOURCES: Record<HttpRequest['kind'], Workload> = {
  read: 'W1', search: 'W2', everything: 'W3', write: 'W6', provide: 'W4', query: 'W5', retrieve: 'W5',
};

const ACCEPT = { accept: 'application/fhir+json' };

export interface SourceOptions {
  seed: number;
  /** Under access control, reads skip the documents hidden from professionals (they answer 404). */
  access?: boolean;
}

/**
 * An endless source of requests for a workload. Each call of a W4 source is a new submission
 * (never sent twice): build a new source for every run.
 */
export async function requestSource(workload: Workload, plan: Plan, options: SourceOptions): Promise<() => HttpRequest> {
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
    case 'W4': {
      const xdsDocuments = xdsDocumentsOf(plan);
      const provide = await provideRequests(plan.authors[0] ?? ['bench-pr-1', '10000100001'], { seed: derivedSeed(options.seed, 'W4 CDA') });
      const headers = { 'content-type': provide.contentType };
      return () => ({ kind: 'provide', method: 'POST', path: '/xds/repository', headers, body: provide.next(random.pick(xdsDocuments)[0]) });
    }
    case 'W5': {
      const xdsDocuments = xdsDocumentsOf(plan);
      const queryHeaders = { 'content-type': soapContentType(XDS_ACTIONS.iti18) };
      const retrieveHeaders = { 'content-type': soapContentType(XDS_ACTIONS.iti43) };
      // Alternately: the query of a patient, then the retrieve of one of their documents. Over
      // several connections the pairs interleave; the retrieve does not wait for the query's
      // answer (the bench knows the patient's documents already).
      let pending: string | undefined;
      return () => {
        if (pending !== undefined) {
          const uniqueId = pending;
          pending = undefined;
          return { kind: 'retrieve', method: 'POST', path: '/xds/repository', headers: retrieveHeaders, body: retrieveBody(uniqueId) };
        }
        const [ins, uniqueId] = random.pick(xdsDocuments);
        pending = uniqueId;
        return { kind: 'query', method: 'POST', path: '/xds/registry', headers: queryHeaders, body: findDocumentsBody(insCx(ins)) };
      };
    }
    case 'W6':
      return () => {
        const r = random.next();
        return r < 0.6 ? read() : r < 0.8 ? search() : write();
      };
  }
}

function xdsDocumentsOf(plan: Plan): [string, string][] {
  const documents = plan.xds?.documents ?? [];
  if (documents.length === 0) throw new Error('the plan lists no documents with bytes for XDS (a plan of an older run: load again without --reuse)');
  return documents;
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
