// The JSON nesting check that guards every JSON body before it is parsed.
import t from 'tap';
import { jsonDepthExceeds } from '../../src/fhir/format.ts';

t.test('nesting up to the limit passes, one level more does not', async (t) => {
  t.notOk(jsonDepthExceeds('[[[]]]', 3));
  t.ok(jsonDepthExceeds('[[[[]]]]', 3));
});

t.test('brackets inside strings do not count', async (t) => {
  t.notOk(jsonDepthExceeds('{"a":"[[[[{{{{"}', 1));
});

t.test('an escaped quote does not end a string', async (t) => {
  t.notOk(jsonDepthExceeds('{"a":"\\"[[[["}', 1));
});

t.test('objects and arrays count alike', async (t) => {
  t.ok(jsonDepthExceeds('{"a":[{"b":[1]}]}', 3));
  t.notOk(jsonDepthExceeds('{"a":[{"b":[1]}]}', 4));
});
