// $import-care-history: the insurer's feed sends reimbursed care (ExplanationOfBenefit, class 60)
// in bulk, at a dossier's creation and then periodically, as NDJSON (application/fhir+ndjson,
// one resource per line, streamed) or as a Bundle (application/fhir+json).
//
//   POST /fhir/$import-care-history   → 200 Parameters { created, updated, unchanged, rejected, outcome }
//
// - Idempotent per claim: the resource id is derived from the claim's identifier (system|value),
//   so sending a claim again changes nothing (unchanged), and a corrected claim makes a new
//   version (updated).
// - The patient is named by its INS (patient.identifier) or as Patient/<id>; the feed does not
//   know our ids.
// - Each claim goes through validation and the access gate as a create by the caller, so only
//   an actor allowed to write class 60 into that (open) dossier can import; the feed reads
//   nothing, and the answer tells it nothing but counts and the lines it refused.
// - Claims are committed in batches of 100 (each all or nothing); a batch the store refuses is
//   retried claim by claim. The feed may resend the whole file: idempotency makes that safe.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseJsonText, type ResourceBody } from '../../store/index.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../format.ts';
import { OPEN_GATE, type RequestContext } from '../gate.ts';
import { OperationOutcomeError, operationOutcome, type OperationOutcomeIssue } from '../operation-outcome.ts';
import { FhirRepository, type PreparedWrite } from '../repository.ts';
import type { OperationHttp } from './everything.ts';
import { assertedBy, insOf } from './patient-data.ts';

const BATCH = 100;
const MAX_CLAIMS = 100_000;
const MAX_LINE_BYTES = 1024 * 1024;
const NDJSON = /^application\/(fhir\+ndjson|ndjson|x-ndjson)\b/i;

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
  rejected: number;
  issues: OperationOutcomeIssue[];
}

interface Item {
  label: string;
  resource?: unknown;
  error?: string;
}

class TooLarge extends Error {}

/** Lines of an NDJSON stream, each at most MAX_LINE_BYTES; blank lines skipped. */
async function* ndjsonItems(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<Item> {
  let pending = '';
  let line = 0;
  const decoder = new TextDecoder('utf-8');
  const emit = (text: string): Item | undefined => {
    line++;
    if (text.trim() === '') return undefined;
    if (jsonDepthExceeds(text)) return { label: `line ${line}`, error: `nested more than ${MAX_JSON_DEPTH} levels deep` };
    try {
      return { label: `line ${line}`, resource: parseJsonText(text) };
    } catch {
      return { label: `line ${line}`, error: 'not valid JSON' };
    }
  };
  for await (const chunk of source) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const item = emit(pending.slice(0, newline).replace(/\r$/, ''));
      pending = pending.slice(newline + 1);
      if (item) yield item;
    }
    if (Buffer.byteLength(pending) > MAX_LINE_BYTES) throw new TooLarge(`line ${line + 1} is longer than ${MAX_LINE_BYTES} bytes`);
  }
  pending += decoder.decode();
  const last = emit(pending);
  if (last) yield last;
}

function* bundleItems(body: unknown): Generator<Item> {
  const b = body as { resourceType?: string; entry?: { resource?: unknown }[] };
  if (b?.resourceType === 'ExplanationOfBenefit') {
    yield { label: 'ExplanationOfBenefit', resource: b };
    return;
  }
  if (b?.resourceType !== 'Bundle' || !Array.isArray(b.entry)) {
    throw new OperationOutcomeError(400, [{ severity: 'error', code: 'invalid', diagnostics: 'send NDJSON (application/fhir+ndjson) or a Bundle of ExplanationOfBenefit' }]);
  }
  for (const [i, e] of b.entry.entries()) yield { label: `Bundle.entry[${i}]`, resource: e?.resource };
}

/** The resource id a claim always gets: derived from its identifier. */
export function claimResourceId(identifier: { system: string; value: string }): string {
  return `eob-${createHash('sha256').update(`${identifier.system}|${identifier.value}`).digest('hex').slice(0, 56)}`;
}

/** JSON with keys sorted and the version stamps left out: what "the same claim" compares. */
function canonical(resource: ResourceBody): string {
  const strip = (value: unknown, top: boolean): unknown => {
    if (Array.isArray(value)) return value.map((v) => strip(v, false));
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      if (top && key === 'meta') {
        const { versionId: _v, lastUpdated: _l, ...meta } = (value as Record<string, Record<string, unknown>>).meta;
        if (Object.keys(meta).length) out.meta = strip(meta, false);
        continue;
      }
      out[key] = strip((value as Record<string, unknown>)[key], false);
    }
    return out;
  };
  return JSON.stringify(strip(resource, true));
}

function messageOf(e: unknown): string {
  if (e instanceof OperationOutcomeError) {
    if (e.status === 403) return 'not allowed: this claim may not be written into this dossier';
    return e.issues.map((i) => i.diagnostics ?? i.code).join('; ');
  }
  throw e;
}

export class CareHistoryImport {
  readonly #repo: FhirRepository;
  /** Finds patients by INS whoever asks (the feed reads nothing, but must name its patients). */
  readonly #lookup: FhirRepository;

  constructor(repo: FhirRepository) {
    this.#repo = repo;
    this.#lookup = new FhirRepository({ store: repo.store, registry: repo.registry, gate: OPEN_GATE });
  }

  async #patientId(ctx: RequestContext, patient: unknown): Promise<string | undefined> {
    const ref = patient as { reference?: unknown; identifier?: unknown } | undefined;
    if (typeof ref?.reference === 'string') {
      const m = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(ref.reference);
      const found = m ? await this.#repo.store.read('Patient', m[1]) : undefined;
      return found && !found.deleted ? found.id : undefined;
    }
    const ins = insOf(ref?.identifier ? [ref.identifier] : undefined);
    if (!ins) return undefined;
    const found = await this.#lookup.search({ baseUrl: ctx.baseUrl, strict: true }, 'Patient', [['identifier', `${ins.system}|${ins.value}`], ['_count', '2']]);
    return found.matches.length === 1 ? found.matches[0].id : undefined;
  }

  /** The write for one claim, or why it is refused; 'unchanged' when the same claim is stored. */
  async #prepare(ctx: RequestContext, item: Item): Promise<{ write: PreparedWrite; created: boolean } | 'unchanged' | string> {
    if (item.error) return item.error;
    const eob = item.resource as ResourceBody | undefined;
    if (eob?.resourceType !== 'ExplanationOfBenefit') return 'not an ExplanationOfBenefit';
    const identifier = (Array.isArray(eob.identifier) ? eob.identifier : [])[0] as { system?: unknown; value?: unknown } | undefined;
    if (typeof identifier?.system !== 'string' || typeof identifier.value !== 'string' || !identifier.value) return 'identifier (the claim id, with its system) is required';
    const patientId = await this.#patientId(ctx, eob.patient);
    if (!patientId) return 'no dossier for this patient';
    const id = claimResourceId({ system: identifier.system, value: identifier.value });
    const { meta, ...rest } = eob;
    const { versionId: _v, lastUpdated: _l, ...keptMeta } = (meta ?? {}) as Record<string, unknown>;
    const body = assertedBy({ ...rest, ...(Object.keys(keptMeta).length ? { meta: keptMeta } : {}), id, patient: { reference: `Patient/${patientId}` } } as ResourceBody, 'payer');
    let write: PreparedWrite;
    try {
      // As a create: validation, and the gate's "may this actor add this to this dossier?".
      write = await this.#repo.prepareWrite(ctx, 'create', 'ExplanationOfBenefit', id, body);
    } catch (e) {
      return messageOf(e);
    }
    const existing = await this.#repo.store.read('ExplanationOfBenefit', id);
    const live = existing && !existing.deleted ? existing : undefined;
    if (live?.resource && canonical(live.resource) === canonical(write.resource as ResourceBody)) return 'unchanged';
    return { write: { ...write, op: 'update', ifVersion: live?.versionId ?? 0 }, created: !live };
  }

  async run(ctx: RequestContext, items: AsyncIterable<Item> | Iterable<Item>): Promise<ImportCounts> {
    const counts: ImportCounts = { created: 0, updated: 0, unchanged: 0, rejected: 0, issues: [] };
    const reject = (label: string, message: string) => {
      counts.rejected++;
      if (counts.issues.length < 1000) counts.issues.push({ severity: 'error', code: 'processing', diagnostics: message, expression: [label] });
    };
    let batch: { label: string; write: PreparedWrite; created: boolean }[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const pending = batch;
      batch = [];
      try {
        await this.#repo.commit(pending.map((p) => p.write));
        for (const p of pending) counts[p.created ? 'created' : 'updated']++;
      } catch {
        // One claim changed meanwhile, or one the store refuses: find which, keep the others.
        for (const p of pending) {
          try {
            await this.#repo.commit([p.write]);
            counts[p.created ? 'created' : 'updated']++;
          } catch (e) {
            reject(p.label, e instanceof OperationOutcomeError ? messageOf(e) : 'could not be stored: send it again');
          }
        }
      }
    };
    let seen = 0;
    for await (const item of items) {
      if (++seen > MAX_CLAIMS) throw new OperationOutcomeError(413, [{ severity: 'error', code: 'too-costly', diagnostics: `at most ${MAX_CLAIMS} claims per request` }]);
      const prepared = await this.#prepare(ctx, item);
      if (prepared === 'unchanged') counts.unchanged++;
      else if (typeof prepared === 'string') reject(item.label, prepared);
      else {
        // The same claim twice in one request: the first is stored before the second is compared.
        if (batch.some((b) => b.write.id === prepared.write.id)) {
          await flush();
          const again = await this.#prepare(ctx, item);
          if (again === 'unchanged') counts.unchanged++;
          else if (typeof again === 'string') reject(item.label, again);
          else batch.push({ label: item.label, ...again });
        } else batch.push({ label: item.label, ...prepared });
      }
      if (batch.length >= BATCH) await flush();
    }
    await flush();
    return counts;
  }
}

function itemsOf(request: FastifyRequest, http: OperationHttp): AsyncIterable<Item> | Iterable<Item> {
  const type = String(request.headers['content-type'] ?? '');
  if (NDJSON.test(type)) {
    const body = request.body;
    const source = body instanceof Readable ? body : Readable.from(typeof body === 'string' ? [body] : []);
    return ndjsonItems(source);
  }
  return bundleItems(http.parseBody(request));
}

export function careHistoryRoutes(app: FastifyInstance, repository: FhirRepository, http: OperationHttp): void {
  const importer = new CareHistoryImport(repository);
  app.post('/fhir/$import-care-history', async (request, reply) => {
    const ctx = http.contextOf(request);
    let counts: ImportCounts;
    try {
      counts = await importer.run(ctx, itemsOf(request, http));
    } catch (e) {
      if (e instanceof TooLarge) throw new OperationOutcomeError(413, [{ severity: 'error', code: 'too-long', diagnostics: e.message }]);
      throw e;
    }
    const issues: OperationOutcomeIssue[] = counts.issues.length
      ? counts.issues
      : [{ severity: 'information', code: 'informational', diagnostics: `${counts.created + counts.updated + counts.unchanged} claims imported` }];
    return http.send(request, reply, 200, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'created', valueInteger: counts.created },
        { name: 'updated', valueInteger: counts.updated },
        { name: 'unchanged', valueInteger: counts.unchanged },
        { name: 'rejected', valueInteger: counts.rejected },
        { name: 'outcome', resource: operationOutcome(issues) },
      ],
    });
  });
}

