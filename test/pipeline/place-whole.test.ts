/**
 * restore/extract placeWhole: into a target that was empty, from one holding set, the files are
 * checked in staging and whole folders are moved into the target at once. What does not check out
 * must never reach the target with its folder, and anything in staging that the selection does not
 * take (a file 7-Zip made beyond the list, a link) must make the moves go one by one, never be moved.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { serializeEntry, type ManifestEntry } from '../../src/core/manifest.js';
import { placeWhole } from '../../src/pipeline/restore/extract.js';
import type { Target } from '../../src/pipeline/restore/place.js';
import type { RestoredSource } from '../../src/pipeline/restore/types.js';
import { tempDir } from '../helpers/tmp.js';

const SET = '261207_FULL_docs';
const MTIME = 1_700_000_000_123_456_700n;

interface Staged {
  out: string;
  root: string;
  manifest: string;
  entries: ManifestEntry[];
}

/** staged writes a manifest of `files` (path → contents, mode 0640) and their copies in a staging folder inside an empty target. */
async function staged(t: TestContext, files: Record<string, string>): Promise<Staged> {
  const base = await tempDir(t, 'strata-whole-');
  const root = path.join(base, 'target');
  const out = path.join(root, '.strata-restore-000000000000', SET);
  const entries: ManifestEntry[] = [];
  const dirs = new Set<string>();
  for (const [p, body] of Object.entries(files)) {
    for (let d = path.posix.dirname(p); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
    await fsp.mkdir(path.dirname(path.join(out, p)), { recursive: true });
    await fsp.writeFile(path.join(out, p), body, { mode: 0o600 });
    entries.push({ path: p, type: 'file', size: Buffer.byteLength(body), mtimeNs: MTIME, mode: 0o640, sha256: createHash('sha256').update(body).digest('hex'), set: SET });
  }
  for (const d of dirs) entries.push({ path: d, type: 'dir', size: 0, mtimeNs: MTIME, mode: 0o755, set: SET });
  entries.sort((a, b) => (a.path < b.path ? -1 : 1));
  const manifest = path.join(base, 'manifest.jsonl');
  const header = { strata: 'manifest', version: 1, set: SET, source: 'docs', type: 'FULL', tier: 'weekly', created: '2026-12-07T00:00:00.000Z', base: null };
  await fsp.writeFile(manifest, [JSON.stringify(header), ...entries.map((e) => serializeEntry(e))].join('\n') + '\n');
  return { out, root, manifest, entries };
}

async function place(s: Staged): Promise<{ into: Target; result: RestoredSource }> {
  const into: Target = { root: s.root, overwrite: false, created: new Set(), checked: new Set() };
  const result: RestoredSource = { source: 'docs', setId: SET, target: s.root, files: 0, bytes: 0, dirs: 0, symlinks: 0, hardLinks: 0, notSet: [], lost: [], repairedVolumes: [], lostVolumes: [] };
  await placeWhole({ manifest: s.manifest, setId: SET, holder: SET, filter: () => true, asFirst: new Map(), out: s.out, extractError: undefined }, into, result);
  return { into, result };
}

/** tree lists the target's paths (staging left out), folders with a trailing '/'. */
async function tree(root: string): Promise<string[]> {
  const all = await fsp.readdir(root, { recursive: true, withFileTypes: true });
  return all
    .map((d) => path.relative(root, path.join(d.parentPath, d.name)) + (d.isDirectory() ? '/' : ''))
    .filter((p) => !p.startsWith('.strata-restore-'))
    .sort();
}

test('placeWhole: folders that hold only checked files are moved whole, with the files\' recorded mode and mtime, and become the restore\'s folders', async (t) => {
  const s = await staged(t, { 'a/b/one.txt': 'one\n', 'a/two.txt': 'two\n', 'top.txt': 'top\n', 'c/three.txt': 'three\n' });
  const folder = fs.statSync(path.join(s.out, 'a')).ino;
  const { into, result } = await place(s);
  assert.equal(fs.statSync(path.join(s.root, 'a')).ino, folder, 'the staged folder itself was moved (one rename), not made anew');
  assert.deepEqual(await tree(s.root), ['a/', 'a/b/', 'a/b/one.txt', 'a/two.txt', 'c/', 'c/three.txt', 'top.txt']);
  assert.equal(result.files, 4);
  assert.equal(result.bytes, 4 + 4 + 4 + 6);
  assert.deepEqual(result.lost, []);
  const st = fs.statSync(path.join(s.root, 'a/b/one.txt'), { bigint: true });
  assert.equal(Number(st.mode & 0o7777n), 0o640);
  assert.equal(st.mtimeNs / 1000n, MTIME / 1000n);
  assert.deepEqual([...into.created].sort(), ['a', 'a/b', 'c'], 'moved folders get their recorded mode and mtime at the end');
  assert.deepEqual(await fsp.readdir(s.out), [], 'staging is empty');
});

test('placeWhole: a file that does not check out is removed from staging before its folder moves: lost, never placed', async (t) => {
  const s = await staged(t, { 'a/good.txt': 'good\n', 'a/bad.txt': 'bad\n' });
  await fsp.writeFile(path.join(s.out, 'a/bad.txt'), 'BAD\n');
  const { result } = await place(s);
  assert.deepEqual(await tree(s.root), ['a/', 'a/good.txt']);
  assert.deepEqual(result.lost.map((l) => l.path), ['a/bad.txt']);
  assert.match(result.lost[0]?.reason ?? '', /SHA-256 mismatch/);
  assert.equal(result.files, 1);
});

test('placeWhole: a file in staging that no entry takes is never moved; the checked files are placed one by one', async (t) => {
  const s = await staged(t, { 'a/one.txt': 'one\n', 'a/two.txt': 'two\n' });
  await fsp.writeFile(path.join(s.out, 'a/extra.txt'), 'not in the manifest\n');
  const { result } = await place(s);
  assert.deepEqual(await tree(s.root), ['a/', 'a/one.txt', 'a/two.txt']);
  assert.equal(result.files, 2);
});

test('placeWhole: a link in staging is never moved (a link pointing out of the target would be followed later); the files are placed one by one', async (t) => {
  const s = await staged(t, { 'a/one.txt': 'one\n', 'b/two.txt': 'two\n' });
  await fsp.symlink('/etc', path.join(s.out, 'b/escape'));
  const { result } = await place(s);
  assert.deepEqual(await tree(s.root), ['a/', 'a/one.txt', 'b/', 'b/two.txt']);
  assert.equal(result.files, 2);
});

test('placeWhole: a folder that appeared in the target meanwhile is kept, not replaced: the files are placed one by one beside what it holds', async (t) => {
  const s = await staged(t, { 'a/one.txt': 'one\n', 'b/two.txt': 'two\n' });
  await fsp.mkdir(path.join(s.root, 'a'));
  await fsp.writeFile(path.join(s.root, 'a', 'mine.txt'), 'mine\n');
  const { result } = await place(s);
  assert.deepEqual(await tree(s.root), ['a/', 'a/mine.txt', 'a/one.txt', 'b/', 'b/two.txt']);
  assert.equal(await fsp.readFile(path.join(s.root, 'a', 'mine.txt'), 'utf8'), 'mine\n');
  assert.equal(result.files, 2);
});

test('placeWhole: a file that appeared at a restored path meanwhile is not replaced: RESTORE_CONFLICT', async (t) => {
  const s = await staged(t, { 'a/one.txt': 'one\n' });
  await fsp.mkdir(path.join(s.root, 'a'));
  await fsp.writeFile(path.join(s.root, 'a', 'one.txt'), 'mine\n');
  await assert.rejects(place(s), (e: Error & { code?: string }) => e.code === 'RESTORE_CONFLICT');
  assert.equal(await fsp.readFile(path.join(s.root, 'a', 'one.txt'), 'utf8'), 'mine\n');
});

test('placeWhole: folders 7-Zip made open (0777, under its empty umask) reach the target closed (0700), one the manifest does not record too; their recorded modes come last', async (t) => {
  const s = await staged(t, { 'a/b/one.txt': 'one\n', 'c/two.txt': 'two\n' });
  // An empty folder that only the archive holds (no manifest entry, no file in it).
  await fsp.mkdir(path.join(s.out, 'ghost'));
  for (const d of ['a', 'a/b', 'c', 'ghost']) await fsp.chmod(path.join(s.out, d), 0o777);
  const { into } = await place(s);
  assert.deepEqual(await tree(s.root), ['a/', 'a/b/', 'a/b/one.txt', 'c/', 'c/two.txt', 'ghost/']);
  for (const d of ['a', 'a/b', 'c', 'ghost']) assert.equal(fs.statSync(path.join(s.root, d)).mode & 0o777, 0o700, `${d} is closed in the target`);
  assert.ok(into.created.has('ghost'), 'and is the restore\'s folder');
});
