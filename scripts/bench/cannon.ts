// The load generator, run as its own process (never in the server's): autocannon's programmatic
// API firing one workload's requests at a URL for a duration, after a warm-up. Usage:
//   node scripts/bench/cannon.ts <job.json>
// It prints one line of JSON: the measurement (see CannonResult).
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { Plan } from './load.ts';
import { XDS_WORKLOADS, requestSource, type Workload } from './workloads.ts';
import { xdsFailureExcerpt, xdsSucceeded } from './xds.ts';

/** Priming: up to 10 requests one at a time, for at most this long. */
export const PRIMING_SECONDS = 20;

export interface CannonJob {
  url: string;
  workload: Workload;
  planFile: string;
  connections: number;
  /** Seconds measured. */
  duration: number;
  /** Instead of a duration: this many requests (the smoke run: every run completes some). */
  amount?: number;
  /** Seconds of load before measuring (not counted). */
  warmup: number;
  seed: number;
  access?: boolean;
  /** PEM files of the client certificate, its key and the CA that signed the server's. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

export interface CannonResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Connection errors and timeouts, plus answers that were not 2xx, plus XDS failures. */
  errors: number;
  non2xx: number;
  /** XDS workloads: 2xx answers whose XDS status was not Success (a Failure inside a 200). */
  failures: number;
  /** The start of the first such answer, to see why. */
  failureSample?: string;
  timeouts: number;
  statusCodes: Record<string, number>;
}

/**
 * Fires over `connections` connections for `seconds`; with `amount`, until that many requests
 * are answered (however long it takes); with `atMost`, for `seconds` or that many requests.
 */
async function fire(job: CannonJob, plan: Plan, seconds: number, seed: number, options: { amount?: number; atMost?: number; connections?: number } = {}): Promise<CannonResult> {
  const next = await requestSource(job.workload, plan, { seed, access: job.access });
  // XDS answers come with 200 even when the transaction failed: each is checked for Success.
  const checked = XDS_WORKLOADS.includes(job.workload);
  let failures = 0;
  let failureSample: string | undefined;
  const tlsOptions = job.tls
    ? { cert: readFileSync(job.tls.certFile), key: readFileSync(job.tls.keyFile), ca: readFileSync(job.tls.caFile) }
    : undefined;
  const result = await autocannon({
    url: job.url,
    connections: options.connections ?? job.connections,
    duration: seconds,
    ...(options.amount ? { amount: options.amount } : {}),
    ...(options.atMost ? { maxOverallRequests: options.atMost } : {}),
    timeout: 30,
    ...(tlsOptions ? { tlsOptions } : {}),
    requests: [{
      setupRequest(request) {
        const r = next();
        return { ...request, method: r.method, path: r.path, headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}) };
      },
      ...(checked
        ? {
            onResponse(status: number, body: string) {
              if (status < 200 || status >= 300 || xdsSucceeded(body)) return;
              failures++;
              failureSample ??= xdsFailureExcerpt(body);
            },
          }
        : {}),
    }],
  });
  const total = result.requests.total;
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, Number(s.count)]));
  return {
    requests: total,
    seconds: result.duration,
    rps: result.duration > 0 ? total / result.duration : 0,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.non2xx + failures,
    non2xx: result.non2xx,
    failures,
    ...(failureSample !== undefined ? { failureSample } : {}),
    timeouts: result.timeouts,
    statusCodes,
  };
}

if (import.meta.main) {
  const job = JSON.parse(readFileSync(process.argv[2], 'utf8')) as CannonJob;
  const plan = JSON.parse(readFileSync(job.planFile, 'utf8')) as Plan;
  // A few requests one at a time first: the first of each kind pays for lazy set-up (and a cold
  // server would otherwise show no completed request at all in a 1-second smoke run).
  await fire(job, plan, PRIMING_SECONDS, job.seed + 2, { atMost: 10, connections: 1 });
  if (job.warmup > 0) await fire(job, plan, job.warmup, job.seed + 1);
  const result = await fire(job, plan, job.duration, job.seed, { amount: job.amount });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
