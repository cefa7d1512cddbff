// Start-up: config → store → app → background jobs → listen; graceful shutdown on SIGTERM/SIGINT.
// The background jobs (notification worker, audit sealer, dossier purge) start when the app is
// ready and stop when it closes, so they are done before the store closes.
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
import { AuditSealer } from './audit/index.ts';
import { NotificationWorker, SmsGatewaySender, SmtpSender, type Channel, type Sender } from './notify/index.ts';

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

/** The notification senders the settings configure. */
function notificationSenders(config: Config): Partial<Record<Channel, Sender>> {
  const senders: Partial<Record<Channel, Sender>> = {};
  if (config.notifySmtpHost && config.notifySmtpFrom) {
    senders.email = new SmtpSender({
      host: config.notifySmtpHost,
      port: config.notifySmtpPort,
      security: config.notifySmtpSecurity,
      from: config.notifySmtpFrom,
      ...(config.notifySmtpUser && config.notifySmtpPassword ? { auth: { user: config.notifySmtpUser, pass: config.notifySmtpPassword } } : {}),
    });
  }
  if (config.notifySmsUrl) {
    senders.sms = new SmsGatewaySender({
      url: config.notifySmsUrl,
      ...(config.notifySmsToken ? { token: config.notifySmsToken } : {}),
      ...(config.notifySmsSender ? { sender: config.notifySmsSender } : {}),
    });
  }
  return senders;
}

/**
 * The notification worker and the audit sealer, started when the app is ready and stopped when
 * it closes (the purge job is the dossier module's, started the same way). With no sender
 * configured the worker is not started: messages wait in the outbox until one is.
 */
function backgroundJobs(app: FastifyInstance, config: Config, store: Store, log: FastifyBaseLogger): void {
  const senders = notificationSenders(config);
  const channels = Object.keys(senders) as Channel[];
  const worker = channels.length === 0 ? undefined : new NotificationWorker({
    store,
    senders,
    resolveRecipients: app.carnet.recipients,
    messages: { portalUrl: config.notifyPortalUrl ?? config.publicBaseUrl },
    log,
  });
  const sealer = new AuditSealer(app.carnet.trail, { intervalMs: config.auditSealIntervalMs, log });
  app.addHook('onReady', async () => {
    if (!worker) log.warn('no SMTP server or SMS gateway configured (NOTIFY_SMTP_HOST, NOTIFY_SMS_URL): notifications wait in the outbox');
    else {
      const missing = (['email', 'sms'] as const).filter((c) => !senders[c]);
      if (missing.length) log.warn({ missing }, `no ${missing[0] === 'email' ? 'SMTP server' : 'SMS gateway'} configured: notifications to that channel are given up`);
      worker.start();
      log.info({ channels }, 'notification worker started');
    }
    sealer.start();
    log.info({ intervalMs: config.auditSealIntervalMs }, 'audit sealer started');
  });
  app.addHook('onClose', async () => {
    await Promise.all([worker?.stop(), sealer.stop()]);
    await Promise.all(Object.values(senders).map((s) => s.close?.()));
  });
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
    const app = buildApp({ config, store, logger: log, dossier: { purgeIntervalMs: config.dossierPurgeIntervalMs } });
    backgroundJobs(app, config, store, log);
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
