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

test('makePathFilter: a pattern without a slash matches a name at any depth, as in .gitignore', () => {
  // Changed from strata's own dialect, where `*.txt` matched the top folder only.
  assert.deepEqual(selected(['*.txt']), ['a.txt', 'docs/a.txt', 'docs/deep/x.txt', 'docs2/a.txt', 'star*.txt', 'q?.txt', 'new\nline.txt']);
  assert.deepEqual(selected(['?.md']), ['b.md']);
  assert.deepEqual(selected(['x.*']), ['docs/deep/x.txt']);
  assert.deepEqual(selected(['deep']), [], 'a plain name is a path from the top, not a pattern');
  assert.deepEqual(selected(['de?p']), ['docs/deep', 'docs/deep/x.txt'], 'a folder matched at any depth selects what is below it');
});

test('makePathFilter: a pattern with a slash, or a leading one, is anchored at the top', () => {
  assert.deepEqual(selected(['/*.txt']), ['a.txt', 'star*.txt', 'q?.txt', 'new\nline.txt']);
  assert.deepEqual(selected(['docs/*.txt']), ['docs/a.txt']);
  assert.deepEqual(selected(['docs*/a.txt']), ['docs/a.txt', 'docs2/a.txt']);
  assert.deepEqual(selected(['deep/*.txt']), []);
});

test('makePathFilter: * and ? stay within a name, ** crosses folders, [..] is a class; regex and brace characters are literal', () => {
  assert.deepEqual(selected(['**/*.txt']), ['a.txt', 'docs/a.txt', 'docs/deep/x.txt', 'docs2/a.txt', 'star*.txt', 'q?.txt', 'new\nline.txt']);
  // `docs/**` selects the folder itself too (so its own metadata is restored with what it holds).
  assert.deepEqual(selected(['docs/**']), ['docs', 'docs/a.txt', 'docs/deep', 'docs/deep/x.txt']);
  assert.deepEqual(selected(['docs/**/x.txt']), ['docs/deep/x.txt']);
  assert.deepEqual(selected(['b.m?']), ['b.md']);
  assert.deepEqual(selected(['[ab].*']), ['a.txt', 'b.md', 'docs/a.txt', 'docs2/a.txt']);
  assert.deepEqual(selected(['a.tx(t|x)*']), []);
  assert.deepEqual(selected(['{a,b}.txt']), []);
  assert.deepEqual(selected(['!a.txt']), [], 'no negation: a leading ! is a character');
});

test('makePathFilter: literal wildcard characters in names, dot files', () => {
  const f = makePathFilter(['star*.txt']);
  assert.equal(f('star*.txt'), true);
  assert.equal(f('starry.txt'), true);
  const dots = makePathFilter(['*.conf']);
  assert.equal(dots('.hidden/app.conf'), true);
  assert.equal(dots('.conf'), true);
  const weird = makePathFilter(['a(1)*']);
  assert.equal(weird('x/a(1) copy.txt'), true);
  assert.equal(weird('x/a1.txt'), false);
});

test('ancestors lists the folders above a path, shallowest first', () => {
  assert.deepEqual(ancestors('a'), []);
  assert.deepEqual(ancestors('a/b/c'), ['a', 'a/b']);
});
