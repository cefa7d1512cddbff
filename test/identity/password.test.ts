import t from 'tap';
import { hashPassword, needsRehash, verifyPassword } from '../../src/identity/index.ts';

// Cheap parameters where only the logic is tested; the defaults where cost matters.
const cheap = { ln: 10, r: 8, p: 1 };

t.test('a hashed password verifies', async (t) => {
  t.ok(await verifyPassword('correct horse battery staple', await hashPassword('correct horse battery staple', cheap)));
});

t.test('a wrong password does not verify', async (t) => {
  t.notOk(await verifyPassword('Correct horse battery staple', await hashPassword('correct horse battery staple', cheap)));
});

t.test('two hashes of one password differ (a salt per password)', async (t) => {
  t.not(await hashPassword('same', cheap), await hashPassword('same', cheap));
});

t.test('the hash records its scrypt parameters and salt, not the password', async (t) => {
  const stored = await hashPassword('secret-password', cheap);
  t.match(stored, /^scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
  t.notMatch(stored, /secret-password/);
});

t.test('the default parameters are OWASP-strength (N·r·p ≥ 2^17·8)', async (t) => {
  const stored = await hashPassword('x');
  const [, ln, r, p] = /ln=(\d+),r=(\d+),p=(\d+)/.exec(stored) ?? [];
  t.ok(2 ** Number(ln) * Number(r) * Number(p) >= 2 ** 17 * 8 / 2, 'work factor');
  t.notOk(needsRehash(stored));
});

t.test('a hash made with weaker parameters needs re-hashing', async (t) => {
  t.ok(needsRehash(await hashPassword('x', cheap)));
  t.ok(needsRehash('not a hash'));
});

t.test('Unicode passwords verify whatever their normalisation form', async (t) => {
  const stored = await hashPassword('mot de passe é', cheap);
  t.ok(await verifyPassword('mot de passe e\u0301', stored));
});

t.test('an unknown user and a corrupt record never verify', async (t) => {
  t.notOk(await verifyPassword('anything', undefined));
  t.notOk(await verifyPassword('anything', 'scrypt$ln=10,r=8,p=1$AAAA$AAAA'));
  t.notOk(await verifyPassword('anything', 'garbage'));
});

t.test('a stored record with absurd cost parameters is rejected without running them', async (t) => {
  const started = performance.now();
  t.notOk(await verifyPassword('x', 'scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='));
  t.ok(performance.now() - started < 5000);
});

t.test('verifying an unknown user costs about as much as a known one (no timing oracle)', async (t) => {
  const params = { ln: 13, r: 8, p: 1 };
  const stored = await hashPassword('known-user-password', params);
  const time = async (hash: string | undefined) => {
    const started = performance.now();
    await verifyPassword('guess', hash, params);
    return performance.now() - started;
  };
  await time(undefined); // the dummy hash is made on first use
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 7; i++) {
    known.push(await time(stored));
    unknown.push(await time(undefined));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ratio = median(unknown) / median(known);
  t.ok(ratio > 0.5 && ratio < 2, `unknown/known time ratio ${ratio.toFixed(2)}`);
});
