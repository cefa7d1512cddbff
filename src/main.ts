// Start-up: config → store → app → listen; graceful shutdown on SIGTERM/SIGINT.
// Exit codes: 0 after a clean shutdown; 1 when start-up fails or shutdown had to cut requests;
// 2 for a bad setting. Start-up failures print one line on stderr, never a stack trace.
import { mkdirSync } from 'node:fs';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { ConfigError, loadConfig } from './config.ts';
import type { Config } from './config.ts';
import { createStore } from './store/index.ts';
import type { Store } from './store/index.ts';
import { buildApp } from './app.ts';
import { warmUpFhir } from './fhir/index.ts';
import { createLogger } from './logging.ts';
import { closeGracefully } from './shutdown.ts';
import { createDevPki } from './identity/index.ts';

/**
 * With access control on and no TLS settings, Carnet serves HTTPS with a development PKI it
 * creates in DATA_DIR/pki on first start (CA, server certificate, CRL); `npm run credentials`
 * issues client certificates from that CA. Production names its own files.
 */
async function withDevelopmentPki(config: Config, log: FastifyBaseLogger): Promise<Config> {
  if (config.accessControl !== 'on' || config.tlsCertFile) return config;
  const pki = await createDevPki(config.dataDir, { hosts: ['localhost', '127.0.0.1', '::1'] });
  log.warn({ dir: pki.dir, created: pki.created }, 'no TLS settings: serving HTTPS with the development PKI (not for production)');
  return { ...config, tlsCertFile: pki.serverCertFile, tlsKeyFile: pki.serverKeyFile, tlsCaFile: pki.caCertFile, tlsCrlFile: pki.crlFile };
}

/** After the grace period, how long closing the store may take before the process just exits. */
const CLOSE_STORE_MS = 5000;

function fail(message: string, code: number): never {
  // One line, whatever the message holds.
  process.stderr.write(`carnet: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(code);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, 2);
    fail(`cannot start: ${messageOf(error)}`, 1);
  }
}

/** Opens the store and listens; on failure, closes what was opened and throws. */
async function start(settings: Config, log: FastifyBaseLogger): Promise<{ app: FastifyInstance; store: Store }> {
  mkdirSync(settings.dataDir, { recursive: true });
  const config = await withDevelopmentPki(settings, log);
  if (config.accessControl === 'off') log.warn('ACCESS_CONTROL=off: no identities, no access rules (conformance testing only, never with real data)');
  const store = createStore({ dataDir: config.dataDir, mongodbUri: config.mongodbUri, mongodbDatabase: config.mongodbDatabase });
  try {
    await store.open();
    log.info({ store: store.kind }, 'store open');
    const warm = Date.now();
    warmUpFhir();
    log.info({ ms: Date.now() - warm }, 'FHIR definitions loaded');
    const app = buildApp({ config, store, logger: log });
    await app.listen({ port: config.port, host: config.host, listenTextResolver: (address) => `listening at ${address}` });
    return { app, store };
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}

const config = readConfig();
const log = createLogger(config.logLevel);
const { app, store } = await start(config, log).catch((error: unknown) => fail(`cannot start: ${messageOf(error)}`, 1));

let stopping = false;

async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
  // Last resort if closing hangs (a handler or the store not letting go).
  setTimeout(() => {
    log.error('shutdown did not finish in time: exiting');
    process.exit(1);
  }, config.shutdownGraceMs + CLOSE_STORE_MS).unref();
  try {
    const { forced } = await closeGracefully(app, store, { graceMs: config.shutdownGraceMs, log });
    log.info({ forced }, 'stopped');
    process.exit(forced ? 1 : 0);
  } catch (error) {
    log.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}

process.on('SIGTERM', (signal) => void stop(signal));
process.on('SIGINT', (signal) => void stop(signal));
