// Builds (once, cached) and starts FerretDB 1.24 — a real MongoDB wire-protocol database on an
// SQLite backend — for the MongoDB test pass and benchmarks. Run directly to keep one running:
//   node scripts/ferretdb.ts        (prints MONGODB_URI=..., stops on Ctrl-C)
//
// Why not a plain `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`: a binary
// built that way panics at start-up ("Invalid build/version/version.txt file content"),
// because the module as published lacks the generated version file. So we download the same
// module from the Go module proxy, add that one file, and `go build` it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MongoClient } from 'mongodb';

export const FERRETDB_VERSION = 'v1.24.2';
const MODULE = 'github.com/FerretDB/FerretDB';

export class FerretDBUnavailable extends Error {
  override name = 'FerretDBUnavailable';
}

function cachedBinaryPath(): string {
  if (process.env.FERRETDB_BIN) return process.env.FERRETDB_BIN;
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(cache, 'carnet', `ferretdb-${FERRETDB_VERSION}`);
}

function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' } });
  if (r.error) throw new FerretDBUnavailable(`${command} could not run: ${r.error.message}`);
  if (r.status !== 0) throw new FerretDBUnavailable(`${command} ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ')}`);
  return r.stdout;
}

/** Path to a FerretDB binary, building it from the Go module proxy the first time. */
export function ensureFerretDB(log: (line: string) => void = () => undefined): string {
  const binary = cachedBinaryPath();
  if (existsSync(binary)) return binary;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) throw new FerretDBUnavailable('Go is not installed (needed to build FerretDB for the MongoDB pass)');
  log(`building FerretDB ${FERRETDB_VERSION} from the Go module proxy (once; cached at ${binary})…`);
  const work = mkdtempSync(join(tmpdir(), 'carnet-ferretdb-build-'));
  try {
    const info = JSON.parse(run('go', ['mod', 'download', '-json', `${MODULE}@${FERRETDB_VERSION}`], work)) as { Dir?: string };
    if (!info.Dir) throw new FerretDBUnavailable('go mod download did not say where the module is');
    const source = join(work, 'src');
    cpSync(info.Dir, source, { recursive: true });
    chmodSync(join(source, 'build', 'version'), 0o755);
    writeFileSync(join(source, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    mkdirSync(dirname(binary), { recursive: true });
    const partial = `${binary}.${process.pid}.partial`;
    run('go', ['build', '-trimpath', '-o', partial, './cmd/ferretdb'], source);
    renameSync(partial, binary);
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningFerretDB {
  uri: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface FerretDBOptions {
  /** Loopback port to listen on (default: a free one). Restarting on the same port and folder brings the same database back. */
  port?: number;
  /** Data folder (created if missing). Default: a temporary folder, removed by stop(); a folder given here is kept. */
  dir?: string;
}

/** Starts FerretDB on a loopback port (a free one by default) with its data in a folder (a temporary one by default). */
export async function startFerretDB(log: (line: string) => void = () => undefined, options: FerretDBOptions = {}): Promise<RunningFerretDB> {
  const binary = ensureFerretDB(log);
  const port = options.port ?? (await freePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'carnet-ferretdb-'));
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      // Never report to the vendor: these machines must not reach out.
      '--telemetry=disable',
      `--state-dir=${dir}`,
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const uri = `mongodb://127.0.0.1:${port}/`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new FerretDBUnavailable(`FerretDB exited with code ${child.exitCode}: ${stderr.trim()}`);
    }
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
    try {
      await client.db('admin').command({ ping: 1 });
      await client.close();
      return { uri, process: child, stop };
    } catch {
      await client.close().catch(() => undefined);
      if (Date.now() > deadline) {
        await stop();
        throw new FerretDBUnavailable(`FerretDB did not answer on port ${port} within 30 s: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

if (import.meta.main) {
  const running = await startFerretDB((line) => console.error(line));
  console.log(`MONGODB_URI=${running.uri}`);
  const shutdown = () => void running.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
