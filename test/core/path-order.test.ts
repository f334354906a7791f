/** core/manifest pathCompare: the allocation-free comparison orders exactly as component by component. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathCompare } from '../../src/core/manifest.js';

/** reference is the definition: compare the '/'-separated components in turn, then the counts. */
function reference(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const x = as[i] ?? '';
    const y = bs[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return as.length - bs.length;
}

test('pathCompare agrees in sign with the component-by-component definition', () => {
  // Characters below and above '/' in code-unit order (space, '-', '.', '0', 'a', 'é', a surrogate pair).
  const alphabet = [' ', '-', '.', '/', '0', 'a', 'b', 'é', '\u{1F600}'];
  let seed = 42;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const word = (): string => {
    let s = '';
    for (let i = rnd(7); i >= 0; i--) s += alphabet[rnd(alphabet.length)] ?? '';
    return s;
  };
  const cases: [string, string][] = [['a', 'a/b'], ['a/b', 'a-b'], ['a.b', 'a/b'], ['a', 'a-'], ['a/', 'a'], ['', 'a'], ['x/y/z', 'x/y']];
  for (let i = 0; i < 20_000; i++) {
    const a = word();
    cases.push([a, rnd(3) === 0 ? a + word() : word()]);
  }
  for (const [a, b] of cases) {
    assert.equal(Math.sign(pathCompare(a, b)), Math.sign(reference(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    assert.equal(Math.sign(pathCompare(b, a)), Math.sign(reference(b, a)), `${JSON.stringify(b)} vs ${JSON.stringify(a)}`);
  }
});
