// The channels: e-mail over SMTP (nodemailer) and SMS through an HTTP gateway (fetch). Each send
// carries an idempotency key derived from the outbox message and the recipient, so that a send
// repeated after a crash (between the send and the outbox completion) can be recognised:
// the e-mail's Message-ID (mail clients and some mailbox providers fold duplicates), the SMS
// request's Idempotency-Key header and `id` field (gateways that support it drop duplicates).
import { createTransport } from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { Channel } from './events.ts';

export interface OutgoingMessage {
  /** Idempotency key: the same for every attempt of one event to one recipient. */
  key: string;
  channel: Channel;
  to: string;
  /** E-mail only. */
  subject: string;
  text: string;
}

export interface Sender {
  send(message: OutgoingMessage): Promise<void>;
  close?(): Promise<void>;
}

/**
 * A failed send. `permanent`: this recipient will never accept it (an address the mail server
 * rejects for good, a number the gateway refuses): not retried. Everything else (network,
 * timeouts, 4xx replies, a misconfigured server) is retried.
 */
export class SendError extends Error {
  readonly permanent: boolean;
  /** A short code for logs and the failure log: never the address or the text. */
  readonly code: string;
  constructor(code: string, permanent: boolean, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SendError';
    this.code = code;
    this.permanent = permanent;
  }
}

// ---- SMTP -----------------------------------------------------------------------------------

export interface SmtpSettings {
  host: string;
  port: number;
  /** 'tls': TLS from the start (port 465); 'starttls': upgrade required (587); 'none': plain (local relay or tests only). */
  security: 'tls' | 'starttls' | 'none';
  auth?: { user: string; pass: string };
  /** The sender, e.g. "Carnet <ne-pas-repondre@carnet.example>". */
  from: string;
  /** Domain of the Message-IDs (default: the domain of `from`). */
  messageIdDomain?: string;
  /** Extra trust for the server's certificate (PEM), e.g. a private CA. */
  ca?: string | Buffer;
  /** Connection, greeting and socket timeouts (default 30 s). */
  timeoutMs?: number;
}

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  command?: string;
}

/** E-mail through an SMTP server. */
export class SmtpSender implements Sender {
  readonly #transport: Transporter;
  readonly #from: string;
  readonly #domain: string;

  constructor(settings: SmtpSettings) {
    const timeout = settings.timeoutMs ?? 30_000;
    this.#transport = createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.security === 'tls',
      requireTLS: settings.security === 'starttls',
      ignoreTLS: settings.security === 'none',
      ...(settings.auth ? { auth: { user: settings.auth.user, pass: settings.auth.pass } } : {}),
      ...(settings.ca ? { tls: { ca: settings.ca } } : {}),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
    this.#from = settings.from;
    const domain = settings.messageIdDomain ?? /@([^>\s]+)>?\s*$/.exec(settings.from)?.[1];
    if (!domain) throw new TypeError('SMTP: no domain for Message-IDs (set messageIdDomain or an address in from)');
    this.#domain = domain;
  }

  /** The Message-ID of a message: stable for every attempt. */
  messageId(key: string): string {
    return `<${key}@${this.#domain}>`;
  }

  async send(message: OutgoingMessage): Promise<void> {
    try {
      await this.#transport.sendMail({
        from: this.#from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId: this.messageId(message.key),
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
    } catch (error) {
      const e = error as SmtpFailure;
      // Only a recipient refused for good (5xx on RCPT TO, or no valid recipient) is permanent.
      const permanent = e.code === 'EENVELOPE' && (e.responseCode === undefined || e.responseCode >= 500);
      const code = e.responseCode ? `smtp-${e.responseCode}` : `smtp-${(e.code ?? 'error').toLowerCase()}`;
      throw new SendError(code, permanent, `e-mail not sent (${code})`, { cause: error });
    }
  }

  async close(): Promise<void> {
    this.#transport.close();
  }
}

// ---- SMS gateway ----------------------------------------------------------------------------

export interface SmsGatewaySettings {
  /** The gateway's endpoint: POST JSON { id, to, text, sender? }. */
  url: string;
  token?: string;
  /** Header carrying the token (default 'authorization', as "Bearer <token>"; any other header gets the token as is). */
  tokenHeader?: string;
  /** Sender name or number shown on the phone, if the gateway takes one. */
  sender?: string;
  /** Request timeout (default 10 s). */
  timeoutMs?: number;
}

/** SMS through an HTTP gateway. */
export class SmsGatewaySender implements Sender {
  readonly #settings: SmsGatewaySettings;

  constructor(settings: SmsGatewaySettings) {
    new URL(settings.url);
    this.#settings = settings;
  }

  async send(message: OutgoingMessage): Promise<void> {
    const s = this.#settings;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': message.key };
    if (s.token) {
      const header = (s.tokenHeader ?? 'authorization').toLowerCase();
      headers[header] = header === 'authorization' ? `Bearer ${s.token}` : s.token;
    }
    const body = JSON.stringify({ id: message.key, to: message.to, text: message.text, ...(s.sender ? { sender: s.sender } : {}) });
    let response: Response;
    try {
      response = await fetch(s.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(s.timeoutMs ?? 10_000), redirect: 'error' });
    } catch (error) {
      const code = error instanceof Error && error.name === 'TimeoutError' ? 'sms-timeout' : 'sms-network';
      throw new SendError(code, false, `SMS not sent (${code})`, { cause: error });
    }
    // Read the body so the connection can be reused; its content is not needed.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return;
    // The gateway refusing this request as such (a bad number) is permanent; auth, rate limits and 5xx are not.
    const permanent = response.status === 400 || response.status === 422;
    throw new SendError(`sms-${response.status}`, permanent, `SMS not sent (gateway answered ${response.status})`);
  }
}
