/** core/browse: folders of a manifest, ls modes, find patterns (picomatch), diffs, absolute paths under a source. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffEntries, findMatcher, inFolder, modeString, normalizeBrowsePath, sourceRelative } from '../../src/core/browse.js';
import type { ManifestEntry } from '../../src/core/manifest.js';

function file(path: string, size: number, sha256 = `h${size}`, mtimeNs = 1n, mode = 0o644): ManifestEntry {
  return { path, type: 'file', size, sha256, mtimeNs, mode };
}

async function* each<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const i of items) yield await Promise.resolve(i);
}

describe('core/browse', () => {
  it('inFolder: direct children, or everything below with recursive', () => {
    assert.equal(inFolder('a.txt', '', false), true);
    assert.equal(inFolder('r/q.txt', '', false), false);
    assert.equal(inFolder('r/q.txt', '', true), true);
    assert.equal(inFolder('r/q.txt', 'r', false), true);
    assert.equal(inFolder('r/s/d.txt', 'r', false), false);
    assert.equal(inFolder('r/s/d.txt', 'r', true), true);
    assert.equal(inFolder('rx/q.txt', 'r', true), false, 'a sibling with the same prefix is not inside');
    assert.equal(inFolder('r', 'r', true), false, 'the folder itself is not its own child');
  });

  it('normalizeBrowsePath: ./docs/ is docs, . is the root', () => {
    assert.equal(normalizeBrowsePath('./docs/'), 'docs');
    assert.equal(normalizeBrowsePath('.'), '');
    assert.equal(normalizeBrowsePath('a//b'), 'a/b');
  });

  it('modeString renders types and permission bits as ls -l does', () => {
    assert.equal(modeString('file', 0o644), '-rw-r--r--');
    assert.equal(modeString('dir', 0o755), 'drwxr-xr-x');
    assert.equal(modeString('symlink', 0o777), 'lrwxrwxrwx');
    assert.equal(modeString('file', 0o4755), '-rwsr-xr-x');
    assert.equal(modeString('dir', 0o1777), 'drwxrwxrwt');
    assert.equal(modeString('file', 0o2640), '-rw-r-S---');
  });

  it('findMatcher: picomatch globs on source-relative paths; without "/" a name in any folder; hidden names match', () => {
    const xlsx = findMatcher('*.xlsx');
    assert.deepEqual(['a.xlsx', 'r/2026.xlsx', 'r/s/.hidden.xlsx', 'a.xlsx.bak'].map(xlsx), [true, true, true, false]);
    const deep = findMatcher('reports/**/*.txt');
    assert.deepEqual(['reports/a.txt', 'reports/x/y/b.txt', 'other/reports/a.txt'].map(deep), [true, true, false]);
    const brace = findMatcher('{a,b}.txt');
    assert.deepEqual(['a.txt', 'b.txt', 'c.txt', 'x/b.txt'].map(brace), [true, true, false, true]);
    assert.equal(findMatcher('./r/2026.xlsx')('r/2026.xlsx'), true);
  });

  it('diffEntries walks two sorted manifests: added, deleted, modified, metadata only', async () => {
    const a = [file('a.txt', 3), file('keep.txt', 1), file('old.txt', 9), file('touch.txt', 2), { path: 'x', type: 'symlink', size: 0, mtimeNs: 1n, mode: 0o777, target: 'a.txt' } as ManifestEntry];
    const b = [file('a.txt', 5), file('keep.txt', 1), file('new.txt', 4), file('touch.txt', 2, 'h2', 7n), { path: 'x', type: 'symlink', size: 0, mtimeNs: 1n, mode: 0o777, target: 'new.txt' } as ManifestEntry, file('z/deep.txt', 1)];
    const changes = [];
    for await (const c of diffEntries(each(a), each(b))) changes.push([c.change, c.path]);
    assert.deepEqual(changes, [['modified', 'a.txt'], ['added', 'new.txt'], ['deleted', 'old.txt'], ['metadata', 'touch.txt'], ['modified', 'x'], ['added', 'z/deep.txt']]);
    const none = [];
    for await (const c of diffEntries(each(a), each(a))) none.push(c);
    assert.deepEqual(none, []);
  });

  it('sourceRelative: an absolute path is read in the deepest source folder holding it; outside every source: undefined', () => {
    const sources = [{ name: 'home', paths: ['/home/me'] }, { name: 'docs', paths: ['/home/me/docs', '/data/docs'] }];
    assert.deepEqual(sourceRelative('/home/me/docs/a.txt', sources), { source: 'docs', path: 'a.txt' });
    assert.deepEqual(sourceRelative('/data/docs/r/', sources), { source: 'docs', path: 'r' }, 'the folder with links resolved');
    assert.deepEqual(sourceRelative('/home/me/docs', sources), { source: 'docs', path: '.' });
    assert.deepEqual(sourceRelative('/home/me/docsx/a.txt', sources), { source: 'home', path: 'docsx/a.txt' });
    assert.deepEqual(sourceRelative('/home/me/docs/../b.txt', sources), { source: 'home', path: 'b.txt' });
    assert.equal(sourceRelative('/etc/passwd', sources), undefined);
    assert.deepEqual(sourceRelative('a.txt', sources), { path: 'a.txt' });
    assert.deepEqual(sourceRelative('/home/me/docs/**/*.txt', sources), { source: 'docs', path: '**/*.txt' });
  });
});
