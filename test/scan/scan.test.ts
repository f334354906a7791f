/** Tests of scanSource on a real filesystem: classification, stat cache, excludes, links, odd names. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, rename, rm, symlink, utimes, writeFile, readFile, lstat } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { ENTRY_FIELDS, pathCompare, sameEntry, type ManifestEntry } from '../../src/core/manifest.js';
import { tempDir } from '../helpers/tmp.js';
import { byPath, Harness } from './helpers.js';
import { statsAhead, walkStatMode } from '../../src/scan/stat-ahead.js';
import { RACY_MARGIN_NS, STAT_FIELDS, sameStat, serializeStat, unarchivedLine, type CachedStat, type StatRecord } from '../../src/scan/statcache.js';

async function setup(t: Parameters<typeof tempDir>[0]): Promise<{ root: string; state: string; h: Harness }> {
  const dir = await tempDir(t);
  const root = path.join(dir, 'src');
  const state = path.join(dir, 'state');
  await mkdir(root);
  await mkdir(state);
  return { root, state, h: new Harness(root, state) };
}

/** old sets an mtime far from "now", so that the racy rule does not force re-reading. */
async function old(p: string, secs = 1_600_000_000): Promise<void> {
  await utimes(p, secs, secs);
}

/** settle waits until ctimes set now are older than the racy margin of a scan started after it. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, Number(RACY_MARGIN_NS / 1_000_000n) + 100));
}

test('first scan records files, folders and links in pathCompare order and archives them', async (t) => {
  const { root, h } = await setup(t);
  for (const n of ['a', 'a-b', 'a.b', 'a b', 'b']) await writeFile(path.join(root, n), n);
  await rm(path.join(root, 'a'));
  await mkdir(path.join(root, 'a'));
  await writeFile(path.join(root, 'a', 'b'), 'x');
  await mkdir(path.join(root, 'empty'));
  await mkdir(path.join(root, 'full', 'deep'), { recursive: true });
  await writeFile(path.join(root, 'full', 'deep', 'f'), 'deep');
  const s = await h.scan('full');
  const paths = s.entries.map((e) => e.path);
  assert.deepEqual(paths, ['a', 'a/b', 'a b', 'a-b', 'a.b', 'b', 'empty', 'full', 'full/deep', 'full/deep/f']);
  assert.deepEqual([...paths].sort(pathCompare), paths);
  assert.equal(s.result.added, 10);
  assert.equal(s.result.hashedFiles, 6);
  assert.ok(s.entries.every((e) => e.set === 'set1'));
  // Non-empty folders are not listed (7-Zip would recurse into them); the empty one is.
  assert.deepEqual(s.list, ['a/b', 'a b', 'a-b', 'a.b', 'b', 'empty', 'full/deep/f']);
  assert.equal(byPath(s, 'b')?.sha256, createHash('sha256').update('b').digest('hex'));
  assert.equal(byPath(s, 'b')?.size, 1);
  assert.equal(s.result.totalFiles, 10);
  assert.equal(s.result.filesToArchive, 7);
});

test('a second scan with no change hashes nothing and archives nothing', async (t) => {
  const { root, h } = await setup(t);
  await mkdir(path.join(root, 'd'));
  for (let i = 0; i < 20; i++) await writeFile(path.join(root, 'd', `f${i}`), `content ${i}`);
  for (let i = 0; i < 20; i++) await old(path.join(root, 'd', `f${i}`));
  await old(path.join(root, 'd'));
  await settle();
  const first = await h.scan('full');
  assert.equal(first.result.hashedFiles, 20);
  const second = await h.scan();
  assert.equal(second.result.hashedFiles, 0);
  assert.equal(second.result.unchanged, 21);
  assert.equal(second.result.filesToArchive, 0);
  assert.deepEqual(second.list, []);
  assert.deepEqual(second.deleted, []);
  // Unchanged entries keep pointing at the set that holds their bytes.
  assert.ok(second.entries.every((e) => e.set === 'set1'));
  // A FULL scan archives everything again but still reuses the cached hashes.
  const full = await h.scan('full');
  assert.equal(full.result.hashedFiles, 0);
  assert.equal(full.result.filesToArchive, 20);
  assert.ok(full.entries.every((e) => e.set === 'set3'));
});

/** threeOldFiles: d/a, d/b and d/c, old enough to be trusted, after a FULL scan of them. */
async function threeOldFiles(t: Parameters<typeof tempDir>[0]): Promise<{ root: string; h: Harness }> {
  const { root, h } = await setup(t);
  await mkdir(path.join(root, 'd'));
  for (const n of ['a', 'b', 'c']) await writeFile(path.join(root, 'd', n), `content ${n}`);
  for (const n of ['a', 'b', 'c']) await old(path.join(root, 'd', n));
  await old(path.join(root, 'd'));
  await settle();
  await h.scan('full');
  return { root, h };
}

/** changeB gives d/b other contents (and another old mtime). */
async function changeB(root: string): Promise<void> {
  await writeFile(path.join(root, 'd', 'b'), 'changed content');
  await old(path.join(root, 'd', 'b'), 1_600_000_100);
  await settle();
}

/** reorder writes a JSON line's keys in the reverse order: the same record, another line (readers take any order). */
function reorder(line: string): string {
  return JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(line) as Record<string, unknown>).reverse()));
}

test('the new stat cache keeps the line of every path whose record is the same, and writes a changed record anew', async (t) => {
  const { root, h } = await threeOldFiles(t);
  await h.scan(); // records of an INCR scan (nothing archived): the cache the next scan reads
  // The same records in other lines (see reorder): a scan that serialized every record again would put them back in the usual order.
  const before = (await readFile(h.statCache, 'utf8')).split('\n').filter((l) => l !== '');
  const forged = [before[0] ?? '', ...before.slice(1).map(reorder)];
  await writeFile(h.statCache, `${forged.join('\n')}\n`);
  await changeB(root);
  const s = await h.scan();
  assert.equal(s.result.modified, 1);
  const after = (await readFile(h.statCache, 'utf8')).split('\n').filter((l) => l !== '');
  const line = (lines: string[], p: string): string | undefined => lines.find((l) => (JSON.parse(l) as { p?: string }).p === p);
  for (const p of ['d', 'd/a', 'd/c']) assert.equal(line(after, p), line(forged, p), `${p}: the cached line, as it was`);
  const b = line(after, 'd/b') ?? '';
  assert.notEqual(b, line(forged, 'd/b'));
  assert.ok(b.startsWith('{"p":"d/b","t":"f"'), `a changed record is serialized anew: ${b}`);
});

test('after a set that archived every path, the next scan keeps each cached line with only the archived flag taken out', async (t) => {
  const { h } = await threeOldFiles(t); // FULL: the three files are flagged archived (the folder d is not)
  const before = (await readFile(h.statCache, 'utf8')).split('\n').filter((l) => l !== '').slice(1);
  assert.equal(before.filter((l) => l.includes(',"a":1')).length, 3, before.join('\n'));
  // The same records in other lines: "d\/a" is JSON for "d/a", which serializing writes as "d/a". A
  // scan that serialized the records again would put the plain "/" back.
  const header = (await readFile(h.statCache, 'utf8')).split('\n')[0] ?? '';
  const forged = before.map((l) => l.replace('"p":"d/', '"p":"d\\/'));
  assert.equal(forged.filter((l) => l.includes('"p":"d\\/')).length, 3);
  await writeFile(h.statCache, `${[header, ...forged].join('\n')}\n`);
  const s = await h.scan();
  assert.equal(s.result.unchanged, 4);
  const after = (await readFile(h.statCache, 'utf8')).split('\n').filter((l) => l !== '').slice(1);
  assert.deepEqual(after, forged.map((l) => l.replace(',"a":1', '')));
  // Each line is the record serializing would give (the escape aside).
  for (const l of after.map((x) => x.replace('\\/', '/'))) {
    const o = JSON.parse(l) as { p: string; t: 'f' | 'd' | 'l'; s: number; m: string; c: string; i: string; h?: string; a?: 1; x?: 1 };
    assert.equal(o.a, undefined);
    const r: StatRecord = { path: o.p, type: o.t, size: o.s, mtimeNs: BigInt(o.m), ctimeNs: BigInt(o.c), ino: BigInt(o.i), ...(o.h !== undefined ? { sha256: o.h } : {}), ...(o.x === 1 ? { xattrs: true } : {}) };
    assert.equal(l, serializeStat(r));
  }
});

test('unarchivedLine: only the archived flag may differ, and only a line in serializeStat\'s form is edited', () => {
  const base: StatRecord = { path: 'd/,"a":1 "q"', type: 'f', size: 9, mtimeNs: 1n, ctimeNs: 2n, ino: 3n, sha256: 'ab'.repeat(32) };
  const cachedOf = (r: StatRecord, line = serializeStat(r)): CachedStat => Object.assign({ ...r }, { line });
  for (const now of [base, { ...base, xattrs: true }, { ...base, type: 'd' as const, sha256: undefined }]) {
    const cached = cachedOf({ ...now, archived: true });
    assert.equal(unarchivedLine(now, cached), serializeStat(now));
    assert.equal(unarchivedLine({ ...now, size: 10 }, cached), undefined, 'another field differs');
    assert.equal(unarchivedLine({ ...now, archived: true }, cached), undefined, 'still archived');
    assert.equal(unarchivedLine(now, cachedOf(now)), undefined, 'not archived before');
  }
  const archived = { ...base, archived: true };
  const line = serializeStat(archived);
  assert.equal(unarchivedLine(base, cachedOf(archived, line.replace(',"a":1', ',"a":1,"a":1'))), undefined, 'the flag twice');
  assert.equal(unarchivedLine(base, cachedOf(archived, line.replace(',"a":1}', ', "a": 1}'))), undefined, 'another spacing');
  assert.equal(unarchivedLine(base, cachedOf(archived, reorder(line))), undefined, 'another key order');
});

test('the new manifest keeps the previous line of every unchanged entry, and writes a changed entry anew', async (t) => {
  const { root, h } = await threeOldFiles(t);
  // The same entries in other lines (see reorder).
  const prevFile = h.previous ?? '';
  const [header, ...entries] = (await readFile(prevFile, 'utf8')).split('\n').filter((l) => l !== '');
  const forged = entries.map(reorder);
  await writeFile(prevFile, `${[header, ...forged].join('\n')}\n`);
  await changeB(root);
  const s = await h.scan();
  assert.equal(s.result.modified, 1);
  const written = (await readFile(s.manifestFile, 'utf8')).split('\n').filter((l) => l !== '').slice(1);
  const line = (lines: string[], p: string): string | undefined => lines.find((l) => (JSON.parse(l) as { path?: string }).path === p);
  for (const p of ['d', 'd/a', 'd/c']) assert.equal(line(written, p), line(forged, p), `${p}: the previous line, as it was`);
  const b = line(written, 'd/b') ?? '';
  assert.ok(b.startsWith('{"path":"d/b","type":"file"'), `a changed entry is serialized anew: ${b}`);
  assert.ok(b.includes('"set":"set2"'));
  // A FULL scan names its own set on every entry: nothing of the previous lines is kept.
  const full = await h.scan('full');
  const fullLines = (await readFile(full.manifestFile, 'utf8')).split('\n').filter((l) => l !== '').slice(1);
  assert.ok(fullLines.every((l) => l.startsWith('{"path":') && l.includes('"set":"set3"')), fullLines.join('\n'));
});

test('sameEntry compares every field of a manifest entry', () => {
  const e: ManifestEntry = { path: 'a', type: 'file', size: 1, mtimeNs: 2n, mode: 0o644, sha256: 'x', target: 't', set: 's', uid: 1, gid: 2, user: 'u', group: 'g', xattrs: { 'user.k': 'dg==' }, link: 'l', sparse: true };
  assert.ok(sameEntry(e, { ...e, xattrs: { 'user.k': 'dg==' } }));
  const changed: Record<(typeof ENTRY_FIELDS)[number], ManifestEntry> = {
    path: { ...e, path: 'b' }, type: { ...e, type: 'symlink' }, size: { ...e, size: 9 }, mtimeNs: { ...e, mtimeNs: 9n }, mode: { ...e, mode: 0o600 },
    sha256: { ...e, sha256: 'y' }, target: { ...e, target: 'u' }, set: { ...e, set: 'r' }, uid: { ...e, uid: 9 }, gid: { ...e, gid: 9 },
    user: { ...e, user: 'v' }, group: { ...e, group: 'h' }, xattrs: { ...e, xattrs: { 'user.k': 'dw==' } }, link: { ...e, link: 'm' }, sparse: { ...e, sparse: false },
  };
  for (const [field, other] of Object.entries(changed)) assert.equal(sameEntry(e, other), false, field);
});

test('sameStat compares every field of a stat record', () => {
  const r: StatRecord = { path: 'a', type: 'f', size: 1, mtimeNs: 2n, ctimeNs: 3n, ino: 4n, sha256: 'x', archived: true, xattrs: true };
  assert.ok(sameStat(r, { ...r }));
  const changed: Record<(typeof STAT_FIELDS)[number], StatRecord> = {
    path: { ...r, path: 'b' }, type: { ...r, type: 'l' }, size: { ...r, size: 9 }, mtimeNs: { ...r, mtimeNs: 9n }, ctimeNs: { ...r, ctimeNs: 9n },
    ino: { ...r, ino: 9n }, sha256: { ...r, sha256: 'y' }, archived: { ...r, archived: false }, xattrs: { ...r, xattrs: false },
  };
  for (const [field, other] of Object.entries(changed)) assert.equal(sameStat(r, other), false, field);
  // Absent and false flags are the same line.
  assert.ok(sameStat({ ...r, archived: false, xattrs: false }, { path: 'a', type: 'f', size: 1, mtimeNs: 2n, ctimeNs: 3n, ino: 4n, sha256: 'x' }));
});

test('add, modify, delete and rename are classified against the previous set', async (t) => {
  const { root, h } = await setup(t);
  await writeFile(path.join(root, 'keep'), 'keep');
  await writeFile(path.join(root, 'mod'), 'one');
  await writeFile(path.join(root, 'del'), 'del');
  await writeFile(path.join(root, 'old-name'), 'renamed');
  await mkdir(path.join(root, 'gone-dir'));
  await writeFile(path.join(root, 'gone-dir', 'x'), 'x');
  for (const n of ['keep', 'mod', 'del', 'old-name', 'gone-dir/x', 'gone-dir']) await old(path.join(root, n));
  await old(root);
  await settle();
  await h.scan('full');
  await writeFile(path.join(root, 'mod'), 'two');
  await rm(path.join(root, 'del'));
  await rename(path.join(root, 'old-name'), path.join(root, 'new-name'));
  await rm(path.join(root, 'gone-dir'), { recursive: true });
  await writeFile(path.join(root, 'added'), 'new');
  const s = await h.scan();
  assert.equal(s.result.added, 2); // added, new-name
  assert.equal(s.result.modified, 1);
  assert.equal(s.result.deleted, 4); // del, gone-dir, gone-dir/x, old-name
  assert.equal(s.result.unchanged, 1);
  assert.deepEqual(s.deleted, ['del', 'gone-dir', 'gone-dir/x', 'old-name']);
  assert.deepEqual(s.list, ['added', 'mod', 'new-name']);
  assert.equal(byPath(s, 'keep')?.set, 'set1');
  assert.equal(byPath(s, 'mod')?.set, 'set2');
  assert.deepEqual(s.result.sets, ['set1', 'set2']);
  // The renamed file is hashed again (new path) but its hash equals the old one.
  assert.equal(s.result.hashedFiles, 3);
});

test('a file turned into a folder (and back) replaces the whole subtree', async (t) => {
  const { root, h } = await setup(t);
  await writeFile(path.join(root, 'x'), 'file');
  await h.scan('full');
  await rm(path.join(root, 'x'));
  await mkdir(path.join(root, 'x'));
  await writeFile(path.join(root, 'x', 'in'), 'in');
  const s2 = await h.scan();
  assert.equal(byPath(s2, 'x')?.type, 'dir');
  assert.equal(s2.result.modified, 1);
  assert.equal(s2.result.added, 1);
  await rm(path.join(root, 'x'), { recursive: true });
  await writeFile(path.join(root, 'x'), 'file again');
  const s3 = await h.scan();
  assert.deepEqual(s3.entries.map((e) => e.path), ['x']);
  assert.deepEqual(s3.deleted, ['x/in']);
});

test('metadata-only changes (chmod, touch) are recorded but not archived again', async (t) => {
  const { root, h } = await setup(t);
  await writeFile(path.join(root, 'f'), 'same');
  await writeFile(path.join(root, 'g'), 'same too');
  await old(path.join(root, 'f'));
  await old(path.join(root, 'g'));
  await old(root);
  await h.scan('full');
  await chmod(path.join(root, 'f'), 0o600);
  await old(path.join(root, 'g'), 1_600_000_100);
  const s = await h.scan();
  assert.equal(s.result.metadataOnly, 2);
  assert.equal(s.result.modified, 0);
  assert.deepEqual(s.list, []);
  assert.equal(byPath(s, 'f')?.mode, 0o600);
  assert.equal(byPath(s, 'f')?.set, 'set1');
  assert.equal(byPath(s, 'g')?.mtimeNs, 1_600_000_100_000_000_000n);
  assert.equal(byPath(s, 'g')?.set, 'set1');
  // ctime moved, so the stat cache could not vouch for them: both were read again, contents equal.
  assert.equal(s.result.hashedFiles, 2);
});

test('racy timestamps: a same-size write with the mtime put back right after a scan is still found', async (t) => {
  const { root, h } = await setup(t);
  const f = path.join(root, 'f');
  await writeFile(f, 'aaaa');
  await h.scan('full');
  const st = await lstat(f);
  await writeFile(f, 'bbbb');
  await utimes(f, st.atime, st.mtime);
  const s = await h.scan();
  assert.equal(s.result.modified, 1);
  assert.deepEqual(s.list, ['f']);

  // utimes moves ctime, which alone would reveal the write. On a filesystem with coarse timestamps a write
  // in the same tick as the scan leaves size, mtime AND ctime equal; simulate exactly that by writing the
  // new ctime into the cache, so only the racy rule stands between the change and a missed backup.
  await writeFile(f, 'cccc');
  await utimes(f, st.atime, st.mtime);
  const cacheFile = h.statCache;
  const now = await lstat(f, { bigint: true });
  const lines = (await readFile(cacheFile, 'utf8')).split('\n').map((line) => {
    if (!line.startsWith('{"p":"f"')) return line;
    const o = JSON.parse(line) as Record<string, unknown>;
    o['c'] = now.ctimeNs.toString();
    o['h'] = 'b'.repeat(64); // what the cache believes: the previous content's hash is irrelevant, stat matches
    return JSON.stringify(o);
  });
  await writeFile(cacheFile, lines.join('\n'));
  const s2 = await h.scan();
  assert.equal(s2.result.hashedFiles, 1, 'the racy file must be read again despite a matching stat');
  assert.equal(s2.result.modified, 1);
  assert.deepEqual(s2.list, ['f']);
});

/** forgeCache gives f's cache record the file's current ctime and a forged hash, and optionally moves the cached scan start. */
async function forgeCache(statCache: string, f: string, hash: string, scanStartNs?: bigint): Promise<void> {
  const now = await lstat(f, { bigint: true });
  const lines = (await readFile(statCache, 'utf8')).split('\n').map((line) => {
    const o = line === '' ? undefined : (JSON.parse(line) as Record<string, unknown>);
    if (o?.['strata'] === 'statcache' && scanStartNs !== undefined) o['scanStartNs'] = scanStartNs.toString();
    else if (o?.['p'] === 'f') {
      o['c'] = now.ctimeNs.toString();
      o['h'] = hash;
    }
    return o === undefined ? line : JSON.stringify(o);
  });
  await writeFile(statCache, lines.join('\n'));
}

test('control for the racy rule: the same forged exact stat match on a file older than the scan (mtime and ctime) is trusted', async (t) => {
  const { root, h } = await setup(t);
  const f = path.join(root, 'f');
  await writeFile(f, 'aaaa');
  await old(f);
  await h.scan('full');
  // The cached scan started 10 s after the file's ctime: both the mtime and the ctime are well before it.
  await forgeCache(h.statCache, f, 'f'.repeat(64), (await lstat(f, { bigint: true })).ctimeNs + 10_000_000_000n);
  const s = await h.scan();
  // The cache is believed (and so its forged hash).
  assert.equal(s.result.hashedFiles, 0);
  assert.equal(byPath(s, 'f')?.sha256, 'f'.repeat(64));
});

test('racy rule by ctime: an old mtime (cp -p) with a ctime in the scan\'s tick is not trusted', async (t) => {
  const { root, h } = await setup(t);
  const f = path.join(root, 'f');
  await writeFile(f, 'aaaa');
  await old(f);
  await h.scan('full');
  // The file's ctime (set by utimes just before the scan) is within the margin of the cached scan start.
  await forgeCache(h.statCache, f, 'f'.repeat(64));
  const s = await h.scan();
  assert.equal(s.result.hashedFiles, 1, 'read again despite an old mtime and a matching stat');
  assert.notEqual(byPath(s, 'f')?.sha256, 'f'.repeat(64));
});

test('excludes: files, folders (never entered), negation', async (t) => {
  const { root, h } = await setup(t);
  h.excludes = ['*.log', '!keep.log', 'build/', '/top-only', 'node_modules'];
  await writeFile(path.join(root, 'a.log'), 'x');
  await writeFile(path.join(root, 'keep.log'), 'x');
  await mkdir(path.join(root, 'build', 'sub'), { recursive: true });
  await writeFile(path.join(root, 'build', 'sub', 'f'), 'x');
  await writeFile(path.join(root, 'build2'), 'a file named like the folder pattern');
  await writeFile(path.join(root, 'top-only'), 'x');
  await mkdir(path.join(root, 'd', 'node_modules'), { recursive: true });
  await mkdir(path.join(root, 'd', 'build'));
  await writeFile(path.join(root, 'd', 'top-only'), 'kept: anchored pattern');
  await writeFile(path.join(root, 'd', 'x.log'), 'x');
  const s = await h.scan('full');
  assert.deepEqual(s.entries.map((e) => e.path), ['build2', 'd', 'd/top-only', 'keep.log']);
  assert.deepEqual(s.result.errors, []);
  // Adding an exclude turns what it hides into deletions.
  h.excludes.push('d/');
  const s2 = await h.scan();
  assert.deepEqual(s2.deleted, ['d', 'd/top-only']);
});

test('symlinks are recorded as links: dangling, outside the source, to a folder (never followed)', async (t) => {
  const { root, h } = await setup(t);
  await mkdir(path.join(root, 'dir'));
  await writeFile(path.join(root, 'dir', 'inside'), 'x');
  await symlink('dir', path.join(root, 'to-dir'));
  await symlink('does/not/exist', path.join(root, 'dangling'));
  await symlink('/etc/hostname', path.join(root, 'outside'));
  await symlink('../../..', path.join(root, 'up'));
  const s = await h.scan('full');
  assert.deepEqual(s.entries.map((e) => [e.path, e.type, e.target]), [
    ['dangling', 'symlink', 'does/not/exist'],
    ['dir', 'dir', undefined],
    ['dir/inside', 'file', undefined],
    ['outside', 'symlink', '/etc/hostname'],
    ['to-dir', 'symlink', 'dir'],
    ['up', 'symlink', '../../..'],
  ]);
  assert.deepEqual(s.list, ['dangling', 'dir/inside', 'outside', 'to-dir', 'up']);
  await rm(path.join(root, 'dangling'));
  await symlink('now/elsewhere', path.join(root, 'dangling'));
  const s2 = await h.scan();
  assert.equal(s2.result.modified, 1);
  assert.deepEqual(s2.list, ['dangling']);
});

test('names with spaces, newlines, unicode and wildcards; unsafe names go to extraPaths', async (t) => {
  const { root, h } = await setup(t);
  const names = ['with space', 'new\nline', 'ünïcødé-日本', '*', 'a*b?[c]', 'emoji-😀', '-dash'];
  for (const n of names) await writeFile(path.join(root, n), n);
  const s = await h.scan('full');
  assert.deepEqual(s.entries.map((e) => e.path), [...names].sort(pathCompare));
  assert.deepEqual(s.result.extraPaths, ['new\nline']);
  assert.equal(s.list.length, names.length - 1);
  assert.ok(!s.list.includes('new\nline'));
  const s2 = await h.scan();
  assert.equal(s2.result.unchanged + s2.result.metadataOnly, names.length);
  assert.equal(s2.result.added + s2.result.modified + s2.result.deleted, 0);
});

test('a name that is not valid UTF-8 is reported, not silently skipped', async (t) => {
  const { root, h } = await setup(t);
  await writeFile(Buffer.concat([Buffer.from(`${root}/bad-`), Buffer.from([0xff, 0xfe])]), 'x');
  await writeFile(path.join(root, 'good'), 'x');
  const s = await h.scan('full');
  assert.deepEqual(s.entries.map((e) => e.path), ['good']);
  assert.equal(s.result.errors.length, 1);
  assert.match(s.result.errors[0]!.message, /not valid UTF-8/);
});

test('a cancelled scan throws CANCELLED and leaves no new stat cache behind', async (t) => {
  const { root, state, h } = await setup(t);
  for (let i = 0; i < 50; i++) await writeFile(path.join(root, `f${i}`), 'x');
  const ac = new AbortController();
  await assert.rejects(
    h.scan('full', { signal: ac.signal, onProgress: (p) => { if (p.files === 10) ac.abort(); } }),
    (e: unknown) => e instanceof Error && 'code' in e && e.code === 'CANCELLED',
  );
  const { readdir } = await import('node:fs/promises');
  assert.ok(!(await readdir(state)).some((n) => n.endsWith('.new')));
});

test('lstat ahead on the thread pool (network sources), on the stat thread and synchronous (local ones) scan alike', async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'src');
  await mkdir(path.join(root, 'x', 'y'), { recursive: true });
  await mkdir(path.join(root, 'empty'));
  for (let i = 0; i < 40; i++) await writeFile(path.join(root, i % 2 === 0 ? 'x' : 'x/y', `f${i}`), `content ${i}`);
  await symlink('../nowhere', path.join(root, 'x', 'link'));
  // A folder of more than one request's worth of names (the stat thread asks for 256 at a time).
  await mkdir(path.join(root, 'many'));
  for (let i = 0; i < 700; i++) await writeFile(path.join(root, 'many', `n${String(i).padStart(4, '0')}`), `n ${i}`);
  const harness = async (mode: 'ahead' | 'thread' | 'sync'): Promise<Harness> => {
    const state = path.join(dir, `state-${mode}`);
    await mkdir(state);
    return new Harness(root, state);
  };
  const ahead = await harness('ahead');
  const threaded = await harness('thread');
  const sync = await harness('sync');
  const both = async (m: 'full' | 'incremental'): Promise<void> => {
    const a = await ahead.scan(m, { statMode: 'ahead' });
    const th = await threaded.scan(m, { statMode: 'thread' });
    const s = await sync.scan(m, { statMode: 'sync' });
    const strip = (x: typeof a): unknown => ({ entries: x.entries.map((e) => ({ ...e, set: undefined })), deleted: x.deleted, list: x.list, added: x.result.added, modified: x.result.modified, deletedN: x.result.deleted, errors: x.result.errors, hashed: x.result.hashedFiles });
    assert.deepEqual(strip(a), strip(s));
    assert.deepEqual(strip(th), strip(s));
    assert.ok(a.entries.length > 700);
  };
  await both('full');
  await writeFile(path.join(root, 'x', 'f0'), 'changed, and longer');
  await rm(path.join(root, 'x', 'y'), { recursive: true });
  await writeFile(path.join(root, 'new'), 'new');
  await both('incremental');
  // auto picks by filesystem type: the test folder is a local filesystem.
  assert.equal(await statsAhead(root, 'auto'), false);
  assert.equal(await statsAhead(root, 'ahead'), true);
  assert.equal(await walkStatMode(root, 'auto'), 'thread');
});
