// Every setting of Carnet, read from the environment and checked once, at start-up.
// The settings are a data table (`settings`) so that the README's configuration table can be
// checked against the code (test/config.test.ts does).
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';

/** A bad setting. Its message is one line naming the variable and what is wrong with it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Thrown by a parser: says what the value must be ("must be …"); loadConfig adds the name. */
class Invalid extends Error {}

export interface Setting<T> {
  /** The environment variable. */
  name: string;
  /** The default, written as it would be in the environment; undefined: none (unset). */
  default?: string;
  description: string;
  /** Never echo the value in an error message (it may hold a password). */
  secret?: boolean;
  /** Turns the raw value into the setting; throws Invalid. Absent raw value: the default applies. */
  parse: (raw: string) => T;
}

// ---- parsers ---------------------------------------------------------------------------------

function integer(min: number, max: number): (raw: string) => number {
  return (raw) => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new Invalid(`must be an integer from ${min} to ${max}`);
    }
    return value;
  };
}

function oneOf<const T extends string>(choices: readonly T[]): (raw: string) => T {
  return (raw) => {
    if (!(choices as readonly string[]).includes(raw)) throw new Invalid(`must be one of ${choices.join(', ')}`);
    return raw as T;
  };
}

function text(raw: string): string {
  return raw;
}

function absolutePath(raw: string): string {
  return resolve(raw);
}

function readableFile(raw: string): string {
  const path = resolve(raw);
  try {
    if (!statSync(path).isFile()) throw new Invalid('must name a readable file (this is not a file)');
    accessSync(path, constants.R_OK);
  } catch (error) {
    if (error instanceof Invalid) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new Invalid(`must name a readable file (${code === 'ENOENT' ? 'no such file' : code})`);
  }
  return path;
}

function mongodbUri(raw: string): string {
  if (!raw.startsWith('mongodb://') && !raw.startsWith('mongodb+srv://')) {
    throw new Invalid('must start with mongodb:// or mongodb+srv://');
  }
  return raw;
}

const OID = /^[0-2](\.(0|[1-9]\d*))+$/;

function oid(raw: string): string {
  if (!OID.test(raw) || raw.length > 64) throw new Invalid('must be an OID (digits and dots, at most 64 characters)');
  return raw;
}

function oidList(raw: string): string[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0 || items.some((s) => !OID.test(s) || s.length > 64)) throw new Invalid('must be a comma-separated list of OIDs');
  return items;
}

/** A comma-separated list of web origins (scheme://host[:port], as browsers send Origin). */
function originList(raw: string): string[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new Invalid('must be a comma-separated list of origins such as https://app.example.org');
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== item) throw new Invalid('must be a comma-separated list of origins such as https://app.example.org (no path, no trailing slash)');
  }
  return items;
}

/** An absolute http(s) URL without query or fragment; returned without a trailing slash. */
function baseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Invalid('must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Invalid('must be an absolute http:// or https:// URL');
  if (url.search || url.hash || raw.includes('?') || raw.includes('#')) throw new Invalid('must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}

/** An absolute http(s) URL (a query is allowed: some gateways take their key there). */
function httpUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Invalid('must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Invalid('must be an absolute http:// or https:// URL');
  return url.href;
}

/** A sender as mail headers write it: `address@domain` or `Name <address@domain>`. */
function mailbox(raw: string): string {
  if (!/^(?:[^<>\r\n]*<[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+)$/.test(raw.trim())) {
    throw new Invalid('must be an e-mail address, or a name followed by <address>');
  }
  return raw.trim();
}

// ---- the table -------------------------------------------------------------------------------

const MiB = 1024 * 1024;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const AFFINITY_DOMAINS = ['fr-dmp', 'ihe'] as const;
const SMTP_SECURITY = ['starttls', 'tls', 'none'] as const;

function setting<T>(s: Setting<T> & { default: string }): Setting<T> & { default: string } {
  return s;
}
function optional<T>(s: Omit<Setting<T>, 'default'>): Setting<T | undefined> {
  return s;
}

/** Every setting, keyed by its name in Config. The README's table lists them in this order. */
export const settings = {
  port: setting({
    name: 'PORT', default: '8080', parse: integer(0, 65535),
    description: 'TCP port to listen on.',
  }),
  host: setting({
    name: 'HOST', default: '0.0.0.0', parse: text,
    description: 'Address to listen on. The default accepts connections on every interface (what a container needs); use 127.0.0.1 to stay local.',
  }),
  dataDir: setting({
    name: 'DATA_DIR', default: './data', parse: absolutePath,
    description: 'Folder of the embedded store (created if missing); relative paths are resolved from the working directory.',
  }),
  mongodbUri: optional({
    name: 'MONGODB_URI', parse: mongodbUri, secret: true,
    description: 'When set, MongoDB is used instead of the embedded store (mongodb:// or mongodb+srv:// URI).',
  }),
  mongodbDatabase: optional({
    name: 'MONGODB_DATABASE', parse: text,
    description: 'MongoDB database name; default: the one in MONGODB_URI, else `carnet`.',
  }),
  logLevel: setting({
    name: 'LOG_LEVEL', default: 'info', parse: oneOf(LOG_LEVELS),
    description: `Log level: ${LOG_LEVELS.join(', ')}. Logs are JSON lines on standard output.`,
  }),
  tlsCertFile: optional({
    name: 'TLS_CERT_FILE', parse: readableFile,
    description: 'PEM certificate (chain) of the server; with TLS_KEY_FILE, serves HTTPS instead of HTTP.',
  }),
  tlsKeyFile: optional({
    name: 'TLS_KEY_FILE', parse: readableFile,
    description: 'PEM private key of the server certificate.',
  }),
  tlsCaFile: optional({
    name: 'TLS_CA_FILE', parse: readableFile,
    description: 'PEM certificate authorities trusted for client certificates; when set, clients are asked for a certificate (optional for them).',
  }),
  tlsCrlFile: optional({
    name: 'TLS_CRL_FILE', parse: readableFile,
    description: 'PEM certificate revocation list(s) checked against client certificates (needs TLS_CA_FILE).',
  }),
  bodyLimitBytes: setting({
    name: 'BODY_LIMIT_BYTES', default: String(10 * MiB), parse: integer(1024, 2 ** 31 - 1),
    description: 'Largest request body accepted, in bytes; routes that take documents use DOCUMENT_LIMIT_BYTES instead.',
  }),
  documentLimitBytes: setting({
    name: 'DOCUMENT_LIMIT_BYTES', default: String(64 * MiB), parse: integer(1024, 2 ** 31 - 1),
    description: 'Largest document accepted in an upload, in bytes (Carnet promises at least 50 MB).',
  }),
  requestTimeoutMs: setting({
    name: 'REQUEST_TIMEOUT_MS', default: '60000', parse: integer(1000, 3_600_000),
    description: 'Time a client has to send a whole request, in milliseconds.',
  }),
  rateLimitPerMinute: setting({
    name: 'RATE_LIMIT_PER_MINUTE', default: '3000', parse: integer(0, 100_000_000),
    description: 'With access control on: requests each identity (a professional, patient, device or system actor; a client address when there is none) may make per minute before answers are 429 with Retry-After; 0 turns the limit off.',
  }),
  corsOrigins: optional({
    name: 'CORS_ORIGINS', parse: originList,
    description: 'Web origins of the patient app (comma-separated, e.g. https://app.example.org) that may call /auth/patient and /fhir from a browser; default: none, and no CORS headers are sent.',
  }),
  shutdownGraceMs: setting({
    name: 'SHUTDOWN_GRACE_MS', default: '10000', parse: integer(0, 600_000),
    description: 'On SIGTERM/SIGINT, how long requests in flight may take to finish before connections are cut, in milliseconds.',
  }),
  publicBaseUrl: optional({
    name: 'PUBLIC_BASE_URL', parse: baseUrl,
    description: 'Absolute http(s) URL clients reach Carnet at (behind a proxy), used in links Carnet returns; default: taken from each request.',
  }),
  accessControl: setting({
    name: 'ACCESS_CONTROL', default: 'on', parse: oneOf(['on', 'off'] as const),
    description: '`on`: every FHIR request needs an identity (client certificate, establishment assertion or patient token) and passes the access engine; without TLS settings a development PKI is created in DATA_DIR/pki. `off`: no identities and no access rules, for conformance testing on a closed machine only, never with real data.',
  }),
  habilitationsFile: optional({
    name: 'HABILITATIONS_FILE', parse: readableFile,
    description: 'Habilitation matrix to use instead of profiles/habilitations.json (same format, checked at start-up).',
  }),
  assertionAudience: setting({
    name: 'ASSERTION_AUDIENCE', default: 'urn:carnet', parse: text,
    description: "The audience establishments' signed assertions (X-Carnet-Assertion) must name.",
  }),
  affinityDomain: setting({
    name: 'AFFINITY_DOMAIN', default: 'fr-dmp', parse: oneOf(AFFINITY_DOMAINS),
    description: 'Identifier and code conventions: `fr-dmp` (French DMP: INS, RPPS, French OIDs) or `ihe` (plain IHE profiles).',
  }),
  ihePatientIdAuthorities: optional({
    name: 'IHE_PATIENT_ID_AUTHORITIES', parse: oidList,
    description: 'With AFFINITY_DOMAIN=ihe: the patient id assigning authorities (comma-separated OIDs) the XDS registry accepts; default: any (the FHIR identity feed still decides which patients are known).',
  }),
  xdsRepositoryUniqueId: setting({
    name: 'XDS_REPOSITORY_UNIQUE_ID', default: '1.2.250.1.999.1.9', parse: oid,
    description: 'The OID of the XDS.b Document Repository (repositoryUniqueId of documents provided by ITI-41, checked on ITI-43). The default is an example OID: set your own.',
  }),
  notifySmtpHost: optional({
    name: 'NOTIFY_SMTP_HOST', parse: text,
    description: 'SMTP server the notification e-mails go through; unset: no e-mail is sent (without NOTIFY_SMS_URL either, notifications wait in the outbox).',
  }),
  notifySmtpPort: setting({
    name: 'NOTIFY_SMTP_PORT', default: '587', parse: integer(1, 65535),
    description: 'Port of the SMTP server.',
  }),
  notifySmtpSecurity: setting({
    name: 'NOTIFY_SMTP_SECURITY', default: 'starttls', parse: oneOf(SMTP_SECURITY),
    description: '`starttls`: the connection must be upgraded to TLS (port 587); `tls`: TLS from the start (port 465); `none`: plain SMTP, for a relay on the same machine or tests only.',
  }),
  notifySmtpUser: optional({
    name: 'NOTIFY_SMTP_USER', parse: text,
    description: 'SMTP login, if the server asks for one (with NOTIFY_SMTP_PASSWORD).',
  }),
  notifySmtpPassword: optional({
    name: 'NOTIFY_SMTP_PASSWORD', parse: text, secret: true,
    description: 'SMTP password.',
  }),
  notifySmtpFrom: optional({
    name: 'NOTIFY_SMTP_FROM', parse: mailbox,
    description: 'Sender of the e-mails, e.g. `Carnet <ne-pas-repondre@carnet.example>`; needed with NOTIFY_SMTP_HOST.',
  }),
  notifySmsUrl: optional({
    name: 'NOTIFY_SMS_URL', parse: httpUrl,
    description: 'HTTP gateway the notification SMS go through: Carnet POSTs JSON `{ id, to, text, sender? }` with an Idempotency-Key header; unset: no SMS is sent.',
  }),
  notifySmsToken: optional({
    name: 'NOTIFY_SMS_TOKEN', parse: text, secret: true,
    description: 'Token sent to the SMS gateway as `Authorization: Bearer <token>`.',
  }),
  notifySmsSender: optional({
    name: 'NOTIFY_SMS_SENDER', parse: text,
    description: 'Sender name or number shown on the phone, if the gateway takes one.',
  }),
  notifyPortalUrl: optional({
    name: 'NOTIFY_PORTAL_URL', parse: baseUrl,
    description: "The patients' portal that notification messages link to; default: PUBLIC_BASE_URL, else https://carnet.example.",
  }),
  auditSealIntervalMs: setting({
    name: 'AUDIT_SEAL_INTERVAL_MS', default: '60000', parse: integer(100, 86_400_000),
    description: 'How often the audit trail is sealed (its new entries chained into the tamper-evident seal chain), in milliseconds.',
  }),
  dossierRetentionDays: optional({
    name: 'DOSSIER_RETENTION_DAYS', parse: integer(0, 36_525),
    description: 'How long a closed dossier is kept (and may be reactivated) before the purge job erases it, in days; default: ten years (3652.5 days).',
  }),
  dossierPurgeIntervalMs: setting({
    name: 'DOSSIER_PURGE_INTERVAL_MS', default: '3600000', parse: integer(0, 86_400_000),
    description: 'How often the purge job looks for closed dossiers whose retention is over, in milliseconds; 0: never (another instance purges).',
  }),
};

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: ReturnType<Settings[K]['parse']> };
export type LogLevel = (typeof LOG_LEVELS)[number];
export type AffinityDomain = (typeof AFFINITY_DOMAINS)[number];

/** How a raw value is shown in an error: quoted, escaped (one line), and not too long. */
function shown(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
}

function read<T>(s: Setting<T>, env: NodeJS.ProcessEnv): T | undefined {
  // An empty variable counts as unset (docker-compose and .env files often leave them so).
  const raw = env[s.name] === '' ? undefined : env[s.name];
  const value = raw ?? s.default;
  if (value === undefined) return undefined;
  try {
    return s.parse(value);
  } catch (error) {
    if (!(error instanceof Invalid)) throw error;
    const got = s.secret ? '' : `, got ${shown(value)}`;
    throw new ConfigError(`${s.name} ${error.message}${got}`);
  }
}

/** Reads and checks every setting; throws ConfigError on the first bad one. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings) as [string, Setting<unknown>][]) {
    config[key] = read(s, env);
  }
  const checked = config as Config;
  checkTogether(checked);
  return checked;
}

/** Settings that only make sense with others. */
function checkTogether(config: Config): void {
  if (config.tlsCertFile && !config.tlsKeyFile) throw new ConfigError('TLS_CERT_FILE is set but TLS_KEY_FILE is not: both are needed for HTTPS');
  if (config.tlsKeyFile && !config.tlsCertFile) throw new ConfigError('TLS_KEY_FILE is set but TLS_CERT_FILE is not: both are needed for HTTPS');
  if (config.tlsCaFile && !config.tlsCertFile) throw new ConfigError('TLS_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE (client certificates need HTTPS)');
  if (config.tlsCrlFile && !config.tlsCaFile) throw new ConfigError('TLS_CRL_FILE needs TLS_CA_FILE (revocation applies to client certificates)');
  if (config.mongodbDatabase && !config.mongodbUri) throw new ConfigError('MONGODB_DATABASE is set but MONGODB_URI is not');
  if (config.notifySmtpHost && !config.notifySmtpFrom) throw new ConfigError('NOTIFY_SMTP_HOST is set but NOTIFY_SMTP_FROM is not: e-mails need a sender');
  if (!config.notifySmtpHost && (config.notifySmtpUser || config.notifySmtpPassword || config.notifySmtpFrom)) {
    throw new ConfigError('NOTIFY_SMTP_USER, NOTIFY_SMTP_PASSWORD and NOTIFY_SMTP_FROM need NOTIFY_SMTP_HOST');
  }
  if (Boolean(config.notifySmtpUser) !== Boolean(config.notifySmtpPassword)) throw new ConfigError('NOTIFY_SMTP_USER and NOTIFY_SMTP_PASSWORD go together');
  if (!config.notifySmsUrl && (config.notifySmsToken || config.notifySmsSender)) throw new ConfigError('NOTIFY_SMS_TOKEN and NOTIFY_SMS_SENDER need NOTIFY_SMS_URL');
}
