// The benchmark's child processes: Carnet itself (node src/main.ts), the baseline server and the
// load generator, each a process of its own; plus the server's resident memory, sampled from
// /proc while a workload runs, and a small HTTP(S) client for set-up requests.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PRIMING_SECONDS, type CannonJob, type CannonResult } from './cannon.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src', 'main.ts');
const HERE = import.meta.dirname;

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface Response {
  status: number;
  contentType: string;
  body: Buffer;
}

/** One request, without keep-alive; TLS with a client certificate when given. */
export function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; tls?: TlsFiles } = {}): Promise<Response> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const tls = secure && options.tls ? { cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile), ca: readFileSync(options.tls.caFile) } : {};
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      target,
      { method: options.method ?? 'GET', headers: options.headers, agent: false, ...(secure ? { rejectUnauthorized: false, ...tls } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface Server {
  url: string;
  pid: number;
  process: ChildProcess;
  stderr(): string;
  /** SIGTERM, then SIGKILL after 20 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

function track(child: ChildProcess, url: string): Server {
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    pid: child.pid as number,
    process: child,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Waits until GET /health answers (any status), or the process exits, or 60 s pass. */
async function waitForHealth(server: Server, tls?: TlsFiles): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.process.exitCode !== null || server.process.signalCode !== null) throw new Error(`server exited: ${server.stderr().trim()}`);
    try {
      await send(`${server.url}/health`, { tls });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`server did not answer within 60 s: ${String(error)} ${server.stderr().trim()}`, { cause: error });
      await sleep(100);
    }
  }
}

export interface CarnetOptions {
  port: number;
  env: Record<string, string>;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  tls?: TlsFiles;
}

/** Starts `node src/main.ts` with only the given settings (nothing leaks in from our environment). */
export async function startCarnet(options: CarnetOptions): Promise<Server> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(options.port), ...options.env },
    // Logs (JSON lines, one per request at info) go nowhere: writing them is part of the cost measured.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const server = track(child, `${options.tls ? 'https' : 'http'}://127.0.0.1:${options.port}`);
  try {
    await waitForHealth(server, options.tls);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

/** Starts the baseline server (baseline.ts) with its config written to `configFile`. */
export async function startBaseline(config: object & { port: number; tls?: TlsFiles }, configFile: string): Promise<Server> {
  writeFileSync(configFile, JSON.stringify(config));
  const child = spawn(process.execPath, [join(HERE, 'baseline.ts'), configFile], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const server = track(child, `${config.tls ? 'https' : 'http'}://127.0.0.1:${config.port}`);
  try {
    await waitForHealth(server, config.tls);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

/** Resident memory of a process, in bytes (Linux /proc; 0 elsewhere). */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every 250 ms until stopped; returns the peak. */
export function sampleRss(pid: number): () => number {
  let peak = rssOf(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 250);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssOf(pid));
  };
}

/**
 * Runs the load generator (cannon.ts) in a child process and returns its measurement. A run that
 * overstays its time (a server so slow that requests pile up) is killed and reported failed.
 */
export function runCannon(job: CannonJob, jobFile: string): Promise<CannonResult> {
  writeFileSync(jobFile, JSON.stringify(job));
  const limitMs = (PRIMING_SECONDS + job.warmup + (job.amount ? 120 : job.duration) + 60) * 1000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(HERE, 'cannon.ts'), jobFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (signal === 'SIGKILL') throw new Error(`killed after ${limitMs / 1000} s: the server did not keep up`);
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(line) as CannonResult);
      } catch (error) {
        reject(new Error(`load generator failed (${String(error)}): ${err.trim()}`));
      }
    });
  });
}
