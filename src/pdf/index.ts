// The text of PDF documents, for the keyword search of a dossier (src/fhir/operations/search-text.ts).
// The reading is done by unpdf (Mozilla's PDF.js packaged for servers, pure JavaScript) in one
// worker thread (src/pdf/worker.ts), so that the server's event loop never runs PDF code:
//
// - bounded work: documents above maxBytes are not read, at most maxPages pages and maxChars
//   characters are kept, and a document that takes longer than timeoutMs ends the thread (the
//   next document starts a new one), as does one that needs more than MEMORY_MB of heap or
//   maxMemoryBytes of array buffers (a Flate bomb);
// - never a failure: a broken, password-protected, too large or too slow PDF gives no text and
//   an outcome that says why, so its document is searched by its metadata only;
// - no text in logs: nothing here logs, and the thread silences PDF.js and its own output;
// - one document at a time: calls wait their turn, so PDF reading takes one core at most. The
//   thread does not keep the process alive and ends after IDLE_MS without work.
import { Worker } from 'node:worker_threads';
import type { PdfAnswer, PdfJob } from './worker.ts';

export interface PdfLimits {
  /** Larger documents are not read. */
  maxBytes: number;
  /** Pages read, from the first. */
  maxPages: number;
  /** Characters of text kept. */
  maxChars: number;
  /** Time for one document, once the thread is ready. */
  timeoutMs: number;
  /** Memory of the thread outside its heap (array buffers: decoded streams, mostly). */
  maxMemoryBytes: number;
}

export const PDF_LIMITS: Readonly<PdfLimits> = { maxBytes: 20 * 1024 * 1024, maxPages: 500, maxChars: 1_000_000, timeoutMs: 15_000, maxMemoryBytes: 512 * 1024 * 1024 };

/**
 * read: the text was read (possibly empty, as for a scan without a text layer); encrypted: a
 * password is needed; broken: not a readable PDF, or it ran out of memory; too-large, timeout:
 * a limit was reached; unavailable: the reader itself could not start (worth trying again later,
 * unlike the others, which depend on the document only).
 */
export type PdfOutcome = 'read' | 'encrypted' | 'broken' | 'too-large' | 'timeout' | 'unavailable';

export interface PdfText {
  text: string;
  outcome: PdfOutcome;
}

const PDF_TYPES = /^application\/(x-)?pdf\s*(;|$)/i;
/** Heap of the reading thread. */
const MEMORY_MB = 256;
/** How often the thread's memory outside its heap is checked. */
const MEMORY_CHECK_MS = 100;
/** Time for the thread to load PDF.js. */
const STARTUP_MS = 30_000;
/** The thread ends after this long without a document. */
const IDLE_MS = 30_000;

export function isPdfType(contentType: string | undefined): boolean {
  return PDF_TYPES.test(contentType ?? '');
}

interface Reader {
  worker: Worker;
  ready: Promise<boolean>;
  pending?: { id: number; settle: (result: PdfText) => void };
  idle?: NodeJS.Timeout;
}

let reader: Reader | undefined;
let queue: Promise<unknown> = Promise.resolve();
let nextId = 1;

function start(): Reader {
  // The thread silences its own console and standard output (taking them here would keep the
  // process alive).
  const worker = new Worker(new URL('./worker.ts', import.meta.url), {
    resourceLimits: { maxOldGenerationSizeMb: MEMORY_MB, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
  });
  const r = { worker } as Reader;
  r.ready = new Promise<boolean>((resolve) => {
    worker.on('message', (answer: PdfAnswer) => {
      if ('ready' in answer) return resolve(true);
      if (r.pending?.id !== answer.id) return;
      const { settle } = r.pending;
      r.pending = undefined;
      settle({ text: answer.text, outcome: answer.outcome });
    });
    // An uncaught error (out of memory included) is followed by the exit.
    worker.on('error', () => undefined);
    worker.once('exit', () => {
      resolve(false);
      if (reader === r) reader = undefined;
      clearTimeout(r.idle);
      const pending = r.pending;
      r.pending = undefined;
      pending?.settle({ text: '', outcome: 'broken' });
    });
  });
  worker.unref(); // after the listeners, which would hold the process open again
  return r;
}

function stop(r: Reader): void {
  if (reader === r) reader = undefined;
  clearTimeout(r.idle);
  void r.worker.terminate().catch(() => undefined);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function extract(data: Uint8Array, limits: PdfLimits): Promise<PdfText> {
  const r = (reader ??= start());
  clearTimeout(r.idle);
  if (!(await withTimeout(r.ready, STARTUP_MS, false))) {
    stop(r);
    return { text: '', outcome: 'unavailable' };
  }
  const id = nextId++;
  const result = await new Promise<PdfText>((resolve) => {
    const settle = (v: PdfText) => {
      clearTimeout(timer);
      clearInterval(watch);
      resolve(v);
    };
    const giveUp = (outcome: PdfOutcome) => {
      if (r.pending?.id !== id) return;
      r.pending = undefined;
      stop(r);
      settle({ text: '', outcome });
    };
    const timer = setTimeout(() => giveUp('timeout'), limits.timeoutMs);
    // PDF.js keeps decoded streams in array buffers, which the heap limit does not count: a
    // compressed stream that inflates without end is stopped here.
    const watch = setInterval(() => {
      r.worker.getHeapStatistics().then(
        (heap) => heap.external_memory > limits.maxMemoryBytes && giveUp('broken'),
        () => undefined,
      );
    }, MEMORY_CHECK_MS);
    r.pending = { id, settle };
    r.worker.postMessage({ id, data, maxPages: limits.maxPages, maxChars: limits.maxChars } satisfies PdfJob);
  });
  if (reader === r) r.idle = setTimeout(() => stop(r), IDLE_MS).unref();
  return result;
}

/** The text of a PDF, within the limits; never throws. */
export function pdfText(data: Uint8Array, limits: Partial<PdfLimits> = {}): Promise<PdfText> {
  const l = { ...PDF_LIMITS, ...limits };
  if (data.byteLength > l.maxBytes) return Promise.resolve({ text: '', outcome: 'too-large' });
  const run = queue.then(() => extract(data, l)).catch((): PdfText => ({ text: '', outcome: 'unavailable' }));
  queue = run;
  return run;
}
