// The server secret for one-time-code HMACs. Every instance must share it (a code sent by one
// instance is checked by another), so it lives in a file, not in memory: in the data folder by
// default (created on first start, owner-only), or wherever the operator points.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const SECRET_BYTES = 32;

export async function loadOrCreateSecret(file: string): Promise<Buffer> {
  if (existsSync(file)) {
    const secret = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
    if (secret.length < SECRET_BYTES) throw new Error(`${file} must hold at least ${SECRET_BYTES} random bytes, base64-encoded`);
    return secret;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(SECRET_BYTES);
  // The first creator wins (link fails if the file exists), so two starting at once (two
  // instances, or two parts of one) end up with the same secret, complete in the file.
  const temporary = `${file}.${randomUUID()}.tmp`;
  await writeFile(temporary, `${secret.toString('base64')}\n`, { mode: 0o600 });
  try {
    await link(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return loadOrCreateSecret(file);
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  return secret;
}
