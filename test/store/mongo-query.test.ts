// Unit tests of the MongoDB query compiler's pieces that need no database.
import t from 'tap';
import { hexCompareRegex } from '../../src/store/mongo/mongo-query.ts';

function randomHex(random: () => number): string {
  return Array.from({ length: 16 }, () => '0123456789abcdef'[Math.floor(random() * 16)]).join('');
}

t.test('the hex comparison regex agrees with string comparison on random pairs', async (t) => {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let mismatches = 0;
  for (let n = 0; n < 2000; n++) {
    const a = randomHex(random);
    // Share a random-length prefix so near values are exercised too.
    const b = a.slice(0, Math.floor(random() * 16)) + randomHex(random).slice(0, 16 - Math.floor(random() * 16));
    const bb = (b + a).slice(0, 16);
    for (const cmp of ['gt', 'ge', 'lt', 'le'] as const) {
      const expected = cmp === 'gt' ? bb > a : cmp === 'ge' ? bb >= a : cmp === 'lt' ? bb < a : bb <= a;
      if (new RegExp(`^${hexCompareRegex(a, cmp)}`).test(bb) !== expected) mismatches++;
    }
  }
  t.equal(mismatches, 0);
});

t.test('nothing is greater than the largest value', async (t) => {
  t.notOk(new RegExp(`^${hexCompareRegex('ffffffffffffffff', 'gt')}`).test('ffffffffffffffff'));
  t.ok(new RegExp(`^${hexCompareRegex('ffffffffffffffff', 'ge')}`).test('ffffffffffffffff'));
});
