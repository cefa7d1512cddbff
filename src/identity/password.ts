// Password hashing with scrypt (Node's crypto): a random salt per password, the cost parameters
// stored with the hash so they can be raised later without breaking existing passwords.
// Stored form: `scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt base64>$<hash base64>` (PHC-like).
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { BinaryLike, ScryptOptions } from 'node:crypto';

export interface ScryptParameters {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

/**
 * OWASP's scrypt recommendation (N=2^17, r=8, p=1) in its lower-memory equivalent
 * N=2^14, r=8, p=5: 16 MiB per hash instead of 128 MiB, so a burst of sign-ins cannot exhaust
 * the server's memory, for the same work.
 */
export const DEFAULT_SCRYPT: ScryptParameters = { ln: 14, r: 8, p: 5 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds on stored parameters: a tampered record must not make one verification take minutes. */
const MAX_LN = 20;
const MAX_P = 16;

function derive(password: BinaryLike, salt: Buffer, params: ScryptParameters): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, HASH_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string, params: ScryptParameters = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password.normalize('NFC'), salt, params);
  return `scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

interface ParsedHash {
  params: ScryptParameters;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(stored: string): ParsedHash | undefined {
  const match = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!match) return undefined;
  const params = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (params.ln < 1 || params.ln > MAX_LN || params.r < 1 || params.p < 1 || params.p > MAX_P) return undefined;
  return { params, salt: Buffer.from(match[4], 'base64'), hash: Buffer.from(match[5], 'base64') };
}

/** Well-formed hashes of a random password, verified when the user does not exist (same cost). */
const dummies = new Map<string, Promise<string>>();
function dummyHash(params: ScryptParameters): Promise<string> {
  const key = `${params.ln},${params.r},${params.p}`;
  let dummy = dummies.get(key);
  if (!dummy) {
    dummy = hashPassword(randomBytes(16).toString('hex'), params);
    dummies.set(key, dummy);
  }
  return dummy;
}

/**
 * True when `password` matches `stored`. Constant-time comparison; with `stored` undefined
 * (unknown user) it still spends one scrypt with `params` (pass the parameters new hashes use),
 * so timing does not tell which logins exist.
 */
export async function verifyPassword(password: string, stored: string | undefined, params: ScryptParameters = DEFAULT_SCRYPT): Promise<boolean> {
  const parsed = parseHash(stored ?? (await dummyHash(params)));
  if (!parsed) {
    await verifyPassword(password, undefined, params); // a corrupt record costs the same as a wrong password
    return false;
  }
  const candidate = await derive(password.normalize('NFC'), parsed.salt, parsed.params);
  const same = candidate.length === parsed.hash.length && timingSafeEqual(candidate, parsed.hash);
  return same && stored !== undefined;
}

/** True when a stored hash uses weaker parameters than `params`: re-hash after a good sign-in. */
export function needsRehash(stored: string, params: ScryptParameters = DEFAULT_SCRYPT): boolean {
  const parsed = parseHash(stored);
  if (!parsed) return true;
  const p = parsed.params;
  return p.ln < params.ln || p.r < params.r || p.p < params.p;
}
