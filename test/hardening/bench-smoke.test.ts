// The benchmark keeps working (issue 7): `npm run bench -- --smoke` on the store of the pass
// (tiny data, 1-second runs) produces its table and report with every workload (the XDS ones,
// W4 and W5, included: their answers count as errors unless they say Success), the baseline and
// the mutual-TLS runs, and no errors. No timing is asserted: CI machines vary.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testStoreKind } from '../support/store.ts';

const BENCH = new URL('../../scripts/bench/index.ts', import.meta.url).pathname;
const WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6'];

// Server starts (FHIR definitions load in seconds) dominate: more than the default timeout.
t.setTimeout(600_000);

interface Row {
  workload: string;
  store: string;
  transport: string;
  access: string;
  requests: number;
  errors: number;
}

function runBench(out: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const kind = testStoreKind();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BENCH, '--smoke', '--stores', kind, '--out', out], {
      env: { PATH: process.env.PATH ?? '', ...(kind === 'mongo' ? { MONGODB_URI: process.env.MONGODB_URI as string } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('the smoke bench produces a table and a report with every workload and no errors', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'carnet-bench-smoke-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const run = await runBench(out);
  t.equal(run.code, 0, `the bench exits 0${run.code ? `: ${run.stderr.slice(-2000)}` : ''}`);
  t.match(run.stdout, /\| workload \| store \| docs \| transport \| access \| req\/s \| vs baseline \| p50 ms \| p99 ms \| errors \| server RSS MB \|/, 'the table is printed');

  const files = readdirSync(out);
  const json = files.find((f) => f.endsWith('.json'));
  t.ok(json, 'a JSON report is written');
  t.ok(files.some((f) => f.endsWith('.md')), 'a Markdown report is written');
  const report = JSON.parse(readFileSync(join(out, json as string), 'utf8')) as { results: Row[]; pending: Record<string, string> };
  const store = testStoreKind();
  for (const w of WORKLOADS) {
    t.ok(report.results.some((r) => r.workload === w && r.store === store && r.transport === 'http'), `${w} ran on the ${store} store`);
    t.ok(report.results.some((r) => r.workload === w && r.store === 'baseline' && r.transport === 'http'), `${w} ran on the baseline`);
    t.match(run.stdout, new RegExp(`\\| ${w} `), `${w} is in the printed table`);
  }
  for (const w of ['W1', 'W2']) {
    t.ok(report.results.some((r) => r.workload === w && r.store === store && r.transport === 'mtls' && r.access === 'on'), `${w} ran over mutual TLS with access control on`);
  }
  t.same(report.results.filter((r) => r.requests === 0).map((r) => `${r.workload} ${r.store} ${r.transport}`), [], 'every run completed requests');
  t.same(report.results.filter((r) => r.errors > 0).map((r) => `${r.workload} ${r.store} ${r.transport}: ${r.errors} errors`), [], 'no run had errors');
  t.same(report.pending, {}, 'no workload of the issue is left pending');
});
