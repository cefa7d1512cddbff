import t from 'tap';
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, settings } from '../src/config.ts';

/** Runs loadConfig and returns its ConfigError (fails the test if there is none). */
function refusal(t: Test, env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  t.fail(`expected a ConfigError for ${JSON.stringify(env)}`);
  return new ConfigError('none');
}

void t.test('with nothing set, every setting takes its default', async (t) => {
  t.same(loadConfig({}), {
    port: 8080,
    host: '0.0.0.0',
    dataDir: resolve('data'),
    mongodbUri: undefined,
    mongodbDatabase: undefined,
    logLevel: 'info',
    tlsCertFile: undefined,
    tlsKeyFile: undefined,
    tlsCaFile: undefined,
    tlsCrlFile: undefined,
    bodyLimitBytes: 10 * 1024 * 1024,
    documentLimitBytes: 64 * 1024 * 1024,
    requestTimeoutMs: 60000,
    rateLimitPerMinute: 3000,
    shutdownGraceMs: 10000,
    publicBaseUrl: undefined,
    accessControl: 'on',
    habilitationsFile: undefined,
    assertionAudience: 'urn:carnet',
    affinityDomain: 'fr-dmp',
    ihePatientIdAuthorities: undefined,
    xdsRepositoryUniqueId: '1.2.250.1.999.1.9',
    notifySmtpHost: undefined,
    notifySmtpPort: 587,
    notifySmtpSecurity: 'starttls',
    notifySmtpUser: undefined,
    notifySmtpPassword: undefined,
    notifySmtpFrom: undefined,
    notifySmsUrl: undefined,
    notifySmsToken: undefined,
    notifySmsSender: undefined,
    notifyPortalUrl: undefined,
    auditSealIntervalMs: 60000,
    dossierRetentionDays: undefined,
    dossierPurgeIntervalMs: 3600000,
  });
});

void t.test('an empty variable counts as unset', async (t) => {
  t.equal(loadConfig({ PORT: '' }).port, 8080);
});

void t.test('set values are parsed into their types', async (t) => {
  const config = loadConfig({
    PORT: '9000', DATA_DIR: '/tmp/carnet', LOG_LEVEL: 'debug', MONGODB_URI: 'mongodb://db:27017/x',
    MONGODB_DATABASE: 'carnet2', PUBLIC_BASE_URL: 'https://dmp.example.org/fhir/', AFFINITY_DOMAIN: 'ihe',
    IHE_PATIENT_ID_AUTHORITIES: '1.3.6.1.4.1.21367.2005.3.7, 1.2.3', XDS_REPOSITORY_UNIQUE_ID: '1.2.3.4',
  });
  t.match(config, {
    port: 9000, dataDir: '/tmp/carnet', logLevel: 'debug', mongodbUri: 'mongodb://db:27017/x',
    mongodbDatabase: 'carnet2', publicBaseUrl: 'https://dmp.example.org/fhir', affinityDomain: 'ihe',
    ihePatientIdAuthorities: ['1.3.6.1.4.1.21367.2005.3.7', '1.2.3'], xdsRepositoryUniqueId: '1.2.3.4',
  });
});

void t.test('DATA_DIR is resolved to an absolute path', async (t) => {
  t.equal(loadConfig({ DATA_DIR: 'some/where' }).dataDir, resolve('some/where'));
});

const badValues: [string, string, string][] = [
  ['PORT', 'abc', 'PORT must be an integer from 0 to 65535, got "abc"'],
  ['PORT', '65536', 'PORT must be an integer from 0 to 65535, got "65536"'],
  ['PORT', '80.5', 'PORT must be an integer from 0 to 65535, got "80.5"'],
  ['LOG_LEVEL', 'verbose', 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
  ['BODY_LIMIT_BYTES', '-1', 'BODY_LIMIT_BYTES must be an integer'],
  ['DOCUMENT_LIMIT_BYTES', '50MB', 'DOCUMENT_LIMIT_BYTES must be an integer'],
  ['REQUEST_TIMEOUT_MS', '1e3', 'REQUEST_TIMEOUT_MS must be an integer'],
  ['SHUTDOWN_GRACE_MS', 'soon', 'SHUTDOWN_GRACE_MS must be an integer'],
  ['IHE_PATIENT_ID_AUTHORITIES', '1.2.3,abc', 'IHE_PATIENT_ID_AUTHORITIES must be a comma-separated list of OIDs'],
  ['XDS_REPOSITORY_UNIQUE_ID', 'repo-1', 'XDS_REPOSITORY_UNIQUE_ID must be an OID'],
  ['PUBLIC_BASE_URL', 'dmp.example.org', 'PUBLIC_BASE_URL must be an absolute http:// or https:// URL'],
  ['PUBLIC_BASE_URL', 'ftp://dmp.example.org', 'PUBLIC_BASE_URL must be an absolute http:// or https:// URL'],
  ['PUBLIC_BASE_URL', 'https://dmp.example.org/?a=1', 'PUBLIC_BASE_URL must not have a query or fragment'],
  ['AFFINITY_DOMAIN', 'us', 'AFFINITY_DOMAIN must be one of fr-dmp, ihe, got "us"'],
  ['MONGODB_URI', 'postgres://x', 'MONGODB_URI must start with mongodb:// or mongodb+srv://'],
  ['NOTIFY_SMTP_PORT', '0', 'NOTIFY_SMTP_PORT must be an integer from 1 to 65535, got "0"'],
  ['NOTIFY_SMTP_SECURITY', 'ssl', 'NOTIFY_SMTP_SECURITY must be one of starttls, tls, none, got "ssl"'],
  ['NOTIFY_SMS_URL', 'gateway.example/sms', 'NOTIFY_SMS_URL must be an absolute http:// or https:// URL'],
  ['AUDIT_SEAL_INTERVAL_MS', 'often', 'AUDIT_SEAL_INTERVAL_MS must be an integer'],
  ['DOSSIER_RETENTION_DAYS', '-1', 'DOSSIER_RETENTION_DAYS must be an integer from 0 to 36525'],
  ['DOSSIER_PURGE_INTERVAL_MS', '1h', 'DOSSIER_PURGE_INTERVAL_MS must be an integer'],
  ['TLS_CERT_FILE', '/nonexistent/cert.pem', 'TLS_CERT_FILE must name a readable file (no such file), got "/nonexistent/cert.pem"'],
];

for (const [name, value, message] of badValues) {
  void t.test(`${name}=${value} is refused with one line naming ${name}`, async (t) => {
    const error = refusal(t, { [name]: value });
    t.ok(error.message.startsWith(message), error.message);
    t.notMatch(error.message, /\n/);
  });
}

void t.test('a value with a line break is shown escaped, on one line', async (t) => {
  const error = refusal(t, { PORT: '80\n80' });
  t.equal(error.message, 'PORT must be an integer from 0 to 65535, got "80\\n80"');
});

void t.test('the MongoDB URI is not repeated in its error message, as it may hold a password', async (t) => {
  const error = refusal(t, { MONGODB_URI: 'mongo://user:secret@db' });
  t.notMatch(error.message, /secret/);
});

void t.test('a certificate without its key is refused', async (t) => {
  const dir = t.testdir({ 'cert.pem': 'x' });
  const error = refusal(t, { TLS_CERT_FILE: join(dir, 'cert.pem') });
  t.equal(error.message, 'TLS_CERT_FILE is set but TLS_KEY_FILE is not: both are needed for HTTPS');
});

void t.test('a key without its certificate is refused', async (t) => {
  const dir = t.testdir({ 'key.pem': 'x' });
  const error = refusal(t, { TLS_KEY_FILE: join(dir, 'key.pem') });
  t.match(error.message, /^TLS_KEY_FILE is set but TLS_CERT_FILE is not/);
});

void t.test('a certificate and its key are accepted together', async (t) => {
  const dir = t.testdir({ 'cert.pem': 'x', 'key.pem': 'y' });
  const config = loadConfig({ TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') });
  t.equal(config.tlsCertFile, join(dir, 'cert.pem'));
});

void t.test('a folder given as a TLS file is refused', async (t) => {
  const dir = t.testdir({ 'key.pem': 'y' });
  const error = refusal(t, { TLS_CERT_FILE: dir, TLS_KEY_FILE: join(dir, 'key.pem') });
  t.match(error.message, /^TLS_CERT_FILE must name a readable file \(this is not a file\)/);
});

void t.test('a revocation list without client certificate authorities is refused', async (t) => {
  const dir = t.testdir({ 'cert.pem': 'x', 'key.pem': 'y', 'crl.pem': 'z' });
  const error = refusal(t, { TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem'), TLS_CRL_FILE: join(dir, 'crl.pem') });
  t.match(error.message, /^TLS_CRL_FILE needs TLS_CA_FILE/);
});

void t.test('a MongoDB database name without a MongoDB URI is refused', async (t) => {
  const error = refusal(t, { MONGODB_DATABASE: 'carnet' });
  t.match(error.message, /^MONGODB_DATABASE is set but MONGODB_URI is not/);
});

void t.test('the notification settings are parsed into their types', async (t) => {
  const config = loadConfig({
    NOTIFY_SMTP_HOST: 'smtp.example.org', NOTIFY_SMTP_PORT: '465', NOTIFY_SMTP_SECURITY: 'tls', NOTIFY_SMTP_USER: 'carnet',
    NOTIFY_SMTP_PASSWORD: 'pw', NOTIFY_SMTP_FROM: 'Carnet <ne-pas-repondre@carnet.example>', NOTIFY_SMS_URL: 'https://sms.example.org/send?account=7',
    NOTIFY_SMS_TOKEN: 't', NOTIFY_PORTAL_URL: 'https://moi.carnet.example/', AUDIT_SEAL_INTERVAL_MS: '5000', DOSSIER_RETENTION_DAYS: '30', DOSSIER_PURGE_INTERVAL_MS: '0',
  });
  t.match(config, {
    notifySmtpHost: 'smtp.example.org', notifySmtpPort: 465, notifySmtpSecurity: 'tls', notifySmtpUser: 'carnet', notifySmtpPassword: 'pw',
    notifySmtpFrom: 'Carnet <ne-pas-repondre@carnet.example>', notifySmsUrl: 'https://sms.example.org/send?account=7', notifySmsToken: 't',
    notifyPortalUrl: 'https://moi.carnet.example', auditSealIntervalMs: 5000, dossierRetentionDays: 30, dossierPurgeIntervalMs: 0,
  });
});

void t.test('an SMTP host without a sender address is refused', async (t) => {
  const error = refusal(t, { NOTIFY_SMTP_HOST: 'smtp.example.org' });
  t.match(error.message, /^NOTIFY_SMTP_HOST is set but NOTIFY_SMTP_FROM is not/);
});

void t.test('a sender that is not an e-mail address is refused', async (t) => {
  const error = refusal(t, { NOTIFY_SMTP_HOST: 'smtp.example.org', NOTIFY_SMTP_FROM: 'Carnet' });
  t.match(error.message, /^NOTIFY_SMTP_FROM must be an e-mail address/);
});

void t.test('an SMTP login without its password is refused', async (t) => {
  const error = refusal(t, { NOTIFY_SMTP_HOST: 'smtp.example.org', NOTIFY_SMTP_FROM: 'a@b.example', NOTIFY_SMTP_USER: 'carnet' });
  t.match(error.message, /^NOTIFY_SMTP_USER and NOTIFY_SMTP_PASSWORD go together/);
});

void t.test('SMTP credentials without an SMTP host are refused', async (t) => {
  const error = refusal(t, { NOTIFY_SMTP_USER: 'carnet', NOTIFY_SMTP_PASSWORD: 'pw' });
  t.match(error.message, /need NOTIFY_SMTP_HOST$/);
});

void t.test('an SMS token without a gateway URL is refused', async (t) => {
  const error = refusal(t, { NOTIFY_SMS_TOKEN: 'secret-token' });
  t.match(error.message, /^NOTIFY_SMS_TOKEN and NOTIFY_SMS_SENDER need NOTIFY_SMS_URL/);
  t.notMatch(error.message, /secret-token/);
});

void t.test('the README configuration table lists every setting with its default and meaning', async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const rows = new Map<string, string>();
  for (const match of readme.matchAll(/^\| `([A-Z_]+)` \|.*$/gm)) rows.set(match[1], match[0]);
  for (const s of Object.values(settings)) {
    const defaultText = s.default === undefined ? '—' : `\`${s.default}\``;
    t.equal(rows.get(s.name), `| \`${s.name}\` | ${defaultText} | ${s.description} |`, `README row of ${s.name}`);
  }
  t.equal(rows.size, Object.keys(settings).length, 'no row for a setting that does not exist');
});
