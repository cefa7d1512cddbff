// Carnet as a child process (node src/main.ts) for the fault tests: started on a free port with
// only the settings given, killed or stopped at will, and restarted on the same data.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ChildServer {
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
}

/** Starts the server with ACCESS_CONTROL=off on 127.0.0.1:port and waits for /health. */
export async function startServer(port: number, env: Record<string, string>): Promise<ChildServer> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ACCESS_CONTROL: 'off', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const server: ChildServer = {
    url: `http://127.0.0.1:${port}`,
    child,
    exited,
    stderr: () => err,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited: ${err}`);
    try {
      await fetch(`${server.url}/health`);
      return server;
    } catch (error) {
      if (Date.now() > deadline) {
        await server.kill();
        throw new Error(`server did not answer within 60 s: ${String(error)} ${err}`, { cause: error });
      }
      await sleep(100);
    }
  }
}

export interface Answer {
  status: number;
  body: any;
}

/** A FHIR JSON request; the answer's body parsed (undefined when it is not JSON). */
export async function fhir(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { accept: 'application/fhir+json', ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed };
}
