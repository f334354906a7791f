/**
 * core/pathfilter: which manifest paths restore selects, and which are safe to join under a target.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ancestors, isSafeRelativePath, makePathFilter } from '../../src/core/pathfilter.js';

const PATHS = ['a.txt', 'b.md', 'docs', 'docs/a.txt', 'docs/deep', 'docs/deep/x.txt', 'docs2/a.txt', 'star*.txt', 'q?.txt', 'new\nline.txt'];

function selected(args: string[]): string[] {
  const f = makePathFilter(args);
  return PATHS.filter((p) => f(p));
}

test('isSafeRelativePath refuses absolute, empty, dot and dot-dot segments and NUL', () => {
  for (const ok of ['a', 'a/b', 'a b/c', '..a', 'a..', '.hidden/x', 'new\nline', 'é/ü']) assert.equal(isSafeRelativePath(ok), true, JSON.stringify(ok));
  for (const bad of ['', '/etc/passwd', '..', '../x', 'a/../../x', 'a/..', './a', 'a/./b', 'a//b', 'a/', 'a\0b']) {
    assert.equal(isSafeRelativePath(bad), false, JSON.stringify(bad));
  }
});

test('makePathFilter: no argument selects all; a path selects itself and what is below it, not a sibling prefix', () => {
  assert.deepEqual(selected([]), PATHS);
  assert.deepEqual(selected(['docs']), ['docs', 'docs/a.txt', 'docs/deep', 'docs/deep/x.txt']);
  assert.deepEqual(selected(['./docs/deep/']), ['docs/deep', 'docs/deep/x.txt']);
  assert.deepEqual(selected(['docs/a.txt', 'b.md']), ['b.md', 'docs/a.txt']);
  assert.deepEqual(selected(['nothing']), []);
  assert.deepEqual(selected(['.']), PATHS, '. is the whole source');
  assert.deepEqual(selected(['./']), PATHS);
});

test('makePathFilter: * and ? stay within a segment, ** crosses segments; regex characters are literal', () => {
  assert.deepEqual(selected(['*.txt']), ['a.txt', 'star*.txt', 'q?.txt', 'new\nline.txt']);
  assert.deepEqual(selected(['**/*.txt']), ['a.txt', 'docs/a.txt', 'docs/deep/x.txt', 'docs2/a.txt', 'star*.txt', 'q?.txt', 'new\nline.txt']);
  assert.deepEqual(selected(['docs/**']), ['docs/a.txt', 'docs/deep', 'docs/deep/x.txt']);
  assert.deepEqual(selected(['?.md']), ['b.md']);
  assert.deepEqual(selected(['docs*/a.txt']), ['docs/a.txt', 'docs2/a.txt']);
  assert.deepEqual(selected(['b.m?']), ['b.md']);
  assert.deepEqual(selected(['a.tx(t|x)*']), []);
});

test('ancestors lists the folders above a path, shallowest first', () => {
  assert.deepEqual(ancestors('a'), []);
  assert.deepEqual(ancestors('a/b/c'), ['a', 'a/b']);
});
