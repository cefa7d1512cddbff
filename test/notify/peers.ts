// The worker's peers in tests: a real SMTP server (smtp-server) on a free loopback port whose
// received mails are parsed with mailparser, and an HTTP endpoint playing the SMS gateway.
// Both can be told to refuse the next messages, temporarily or for good.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  messageId: string;
  raw: ParsedMail;
}

export interface SmtpPeer {
  port: number;
  mails: Mail[];
  /** Refuse the next `n` messages with this reply code (451: try later; 550: never). */
  refuse(n: number, code?: number): void;
  /** Refuse every message for this recipient with 550. */
  reject(address: string): void;
  /** Resolves once `n` mails have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<Mail[]>;
  close(): Promise<void>;
}

class Reply extends Error {
  responseCode: number;
  constructor(code: number, message: string) {
    super(message);
    this.responseCode = code;
  }
}

async function waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function startSmtp(): Promise<SmtpPeer> {
  const mails: Mail[] = [];
  let refusals: { left: number; code: number } = { left: 0, code: 451 };
  const rejected = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (rejected.has(address.address)) return callback(new Reply(550, 'No such user'));
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((raw) => {
          if (refusals.left > 0) {
            refusals = { ...refusals, left: refusals.left - 1 };
            return callback(new Reply(refusals.code, refusals.code >= 500 ? 'Rejected' : 'Try again later'));
          }
          for (const rcpt of session.envelope.rcptTo) {
            mails.push({ to: rcpt.address, subject: raw.subject ?? '', text: raw.text ?? '', messageId: raw.messageId ?? '', raw });
          }
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    refuse(n, code = 451) {
      refusals = { left: n, code };
    },
    reject(address) {
      rejected.add(address);
    },
    waitFor(n, timeoutMs = 10_000) {
      return waitUntil(() => (mails.length >= n ? mails.slice() : undefined), timeoutMs, `${n} mails`);
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Sms {
  id: string;
  to: string;
  text: string;
  sender?: string;
  headers: IncomingMessage['headers'];
}

export interface SmsPeer {
  url: string;
  received: Sms[];
  /** The Idempotency-Key of every request, answered or failed. */
  keys: string[];
  /** Answer the next `n` requests with this status instead of 200. */
  fail(n: number, status?: number): void;
  waitFor(n: number, timeoutMs?: number): Promise<Sms[]>;
  close(): Promise<void>;
}

export async function startSmsGateway(token: string): Promise<SmsPeer> {
  const received: Sms[] = [];
  const keys: string[] = [];
  let failures = { left: 0, status: 503 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401).end();
        return;
      }
      keys.push(String(req.headers['idempotency-key']));
      if (failures.left > 0) {
        failures = { ...failures, left: failures.left - 1 };
        res.writeHead(failures.status).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<Sms, 'headers'>;
      received.push({ ...body, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/sms`,
    received,
    keys,
    fail(n, status = 503) {
      failures = { left: n, status };
    },
    waitFor(n, timeoutMs = 10_000) {
      return waitUntil(() => (received.length >= n ? received.slice() : undefined), timeoutMs, `${n} SMS`);
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
