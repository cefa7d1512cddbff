// The worker thread that reads the text of PDFs for src/pdf/index.ts, with unpdf (a packaging of
// Mozilla's PDF.js for servers). It runs apart from the server's event loop so that a hostile PDF
// can cost at most its time budget and the thread's memory limit: the parent ends the thread when
// either is reached. It takes one job at a time and answers each with its text or a failure kind;
// it never prints a document's text (PDF.js's console and this thread's output are silenced).
import { parentPort } from 'node:worker_threads';
import { getDocumentProxy, getResolvedPDFJS } from 'unpdf';

export interface PdfJob {
  id: number;
  data: Uint8Array;
  maxPages: number;
  maxChars: number;
}

export type PdfAnswer = { id: number; text: string; outcome: 'read' | 'encrypted' | 'broken' } | { ready: true };

interface TextItem {
  str?: string;
  hasEOL?: boolean;
}

async function pageText(document: Awaited<ReturnType<typeof getDocumentProxy>>, n: number): Promise<string> {
  const page = await document.getPage(n);
  const content = await page.getTextContent();
  page.cleanup();
  return (content.items as TextItem[]).map((item) => (item.str ?? '') + (item.hasEOL ? '\n' : '')).join('');
}

async function read(job: PdfJob): Promise<PdfAnswer> {
  let document: Awaited<ReturnType<typeof getDocumentProxy>> | undefined;
  try {
    document = await getDocumentProxy(job.data, {
      disableFontFace: true,
      useWorkerFetch: false, // nothing is fetched: no character maps, fonts or WebAssembly from elsewhere
      useWasm: false,
      maxImageSize: 0, // images are never needed for text
      useSystemFonts: false,
      stopAtErrors: false, // a damaged page gives what it can
      verbosity: 0,
    });
    const parts: string[] = [];
    let length = 0;
    const pages = Math.min(document.numPages, job.maxPages);
    for (let n = 1; n <= pages && length < job.maxChars; n++) {
      const text = await pageText(document, n).catch(() => ''); // a damaged page: the others still count
      parts.push(text);
      length += text.length + 1;
    }
    return { id: job.id, text: parts.join('\n').slice(0, job.maxChars), outcome: 'read' };
  } catch (e) {
    // PDF.js names a document it cannot open without a password PasswordException.
    return { id: job.id, text: '', outcome: (e as { name?: string } | null)?.name === 'PasswordException' ? 'encrypted' : 'broken' };
  } finally {
    await document?.loadingTask.destroy().catch(() => undefined);
  }
}

const port = parentPort;
if (port) {
  // Nothing printed: PDF.js's messages could quote a document.
  const quiet = () => undefined;
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir', 'table'] as const) console[method] = quiet;
  process.stdout.write = () => true;
  process.stderr.write = () => true;
  port.on('message', (job: PdfJob) => {
    void read(job).then((answer) => port.postMessage(answer));
  });
  // Loading PDF.js takes a moment: the parent starts a job's clock once this is said.
  void getResolvedPDFJS().then(() => port.postMessage({ ready: true } satisfies PdfAnswer));
}
