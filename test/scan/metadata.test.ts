/** Tests of what the scan records beside contents: owners, hard links, holes, xattrs/ACLs (real
 *  getfattr on the test filesystem), and that manifests without these fields are still read. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { chmod, link, mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parseLine, pathCompare, serializeEntry } from '../../src/core/manifest.js';
import { dumpBlock, parseDump, quoteDumpName, unquoteDumpName } from '../../src/core/xattrdump.js';
import { finalizeAfterArchive } from '../../src/scan/index.js';
import { tempDir } from '../helpers/tmp.js';
import { byPath, Harness } from './helpers.js';

const execFileP = promisify(execFile);

async function setup(t: Parameters<typeof tempDir>[0]): Promise<{ dir: string; root: string; h: Harness }> {
  const dir = await tempDir(t);
  const root = path.join(dir, 'src');
  const state = path.join(dir, 'state');
  await mkdir(root);
  await mkdir(state);
  return { dir, root, h: new Harness(root, state) };
}

test('names getfattr quotes (newline, backslash, non-ASCII) are read back exactly, and setfattr --restore takes ours', async (t) => {
  const { root } = await setup(t);
  const name = 'we ird\nname=\\x é';
  await writeFile(path.join(root, name), 'x');
  await execFileP('setfattr', ['-n', 'user.k', '-v', 'v', path.join(root, name)]);
  const { stdout } = await execFileP('getfattr', ['--dump', '--match=-', '--encoding=base64', '--', name], { cwd: root });
  assert.deepEqual([...parseDump(stdout)], [[name, { 'user.k': Buffer.from('v').toString('base64') }]]);
  assert.equal(unquoteDumpName(quoteDumpName(name)), name);
  const dump = path.join(root, '..', 'dump');
  await writeFile(dump, dumpBlock(name, { 'user.k': Buffer.from('w').toString('base64') }));
  await execFileP('setfattr', [`--restore=${dump}`], { cwd: root });
  assert.equal((await execFileP('getfattr', ['--only-values', '-n', 'user.k', '--', name], { cwd: root })).stdout, 'w');
});

test('owner, xattrs, ACLs, holes and hard links are recorded; a later link member is not archived', async (t) => {
  const { root, h } = await setup(t);
  await writeFile(path.join(root, 'a'), 'bytes');
  await link(path.join(root, 'a'), path.join(root, 'b'));
  await execFileP('setfattr', ['-n', 'user.tag', '-v', 'hello', path.join(root, 'a')]);
  await execFileP('setfacl', ['-m', 'u:1234:r--', path.join(root, 'a')]);
  const fd = fs.openSync(path.join(root, 'holes'), 'w');
  fs.ftruncateSync(fd, 1 << 20);
  fs.closeSync(fd);
  const s = await h.scan('full');
  const a = byPath(s, 'a');
  const st = fs.statSync(path.join(root, 'a'));
  assert.deepEqual([a?.uid, a?.gid], [st.uid, st.gid]);
  assert.equal(a?.xattrs?.['user.tag'], Buffer.from('hello').toString('base64'));
  assert.ok(a?.xattrs?.['system.posix_acl_access'] !== undefined, 'the ACL is recorded as its xattr');
  const b = byPath(s, 'b');
  assert.equal(b?.link, 'a');
  assert.equal(b?.sha256, a?.sha256);
  assert.equal(b?.set, 'set1');
  assert.equal(byPath(s, 'holes')?.sparse, true);
  assert.equal(byPath(s, 'a')?.sparse, undefined);
  assert.deepEqual(s.list, ['a', 'holes']);
  assert.equal(s.result.hardLinks, 1);
});

test('a manifest without owners or xattrs (older strata) is read; the next scan records them as a metadata change, archiving nothing', async (t) => {
  const { root, h } = await setup(t);
  await writeFile(path.join(root, 'f'), 'content');
  await execFileP('setfattr', ['-n', 'user.k', '-v', 'v', path.join(root, 'f')]);
  await h.scan('full');
  // Rewrite the previous manifest as an older strata wrote it: no uid/gid/user/group/xattrs.
  const prev = h.previous ?? '';
  const lines = (await readFile(prev, 'utf8')).split('\n').filter((l) => l !== '');
  const old = lines.map((l, i) => {
    if (i === 0) return l;
    const p = parseLine(l);
    if (p.kind !== 'entry') return l;
    const { uid: _u, gid: _g, user: _us, group: _gr, xattrs: _x, ...rest } = p.entry;
    return serializeEntry(rest);
  });
  await writeFile(prev, old.join('\n') + '\n');
  const s = await h.scan('incremental');
  assert.equal(s.result.metadataOnly, 1);
  assert.equal(s.result.unchanged, 0);
  assert.deepEqual(s.list, []);
  assert.equal(byPath(s, 'f')?.xattrs?.['user.k'], Buffer.from('v').toString('base64'));
  assert.equal(byPath(s, 'f')?.set, 'set1');
});

test('xattrs are read again only for paths whose ctime moved (getfattr is not run on a no-change scan)', async (t) => {
  const { dir, root, h } = await setup(t);
  await mkdir(path.join(root, 'd'));
  for (let i = 0; i < 5; i++) await writeFile(path.join(root, 'd', `f${i}`), `${i}`);
  await execFileP('setfattr', ['-n', 'user.k', '-v', 'one', path.join(root, 'd', 'f1')]);
  // A getfattr that logs its arguments, first on PATH (an observing wrapper around the real one).
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  const log = path.join(dir, 'getfattr.log');
  const real = (await execFileP('sh', ['-c', 'command -v getfattr'])).stdout.trim();
  await writeFile(path.join(bin, 'getfattr'), `#!/bin/sh\necho "$*" >> ${log}\nexec ${real} "$@"\n`);
  await chmod(path.join(bin, 'getfattr'), 0o755);
  const savedPath = process.env['PATH'];
  process.env['PATH'] = `${bin}:${savedPath ?? ''}`;
  t.after(() => {
    process.env['PATH'] = savedPath;
  });
  // Past the racy margin, so that the stat cache of the first scan is trusted by the second.
  await new Promise((r) => setTimeout(r, 2200));
  await h.scan('full');
  await writeFile(log, '');
  const same = await h.scan('incremental');
  assert.equal(same.result.unchanged, 6);
  assert.equal(byPath(same, 'd/f1')?.xattrs?.['user.k'], Buffer.from('one').toString('base64'));
  assert.deepEqual((await readFile(log, 'utf8')).split('\n').filter((l) => !l.includes('--version') && l !== ''), []);
  await execFileP('setfattr', ['-n', 'user.k', '-v', 'two', path.join(root, 'd', 'f3')]);
  const changed = await h.scan('incremental');
  assert.equal(changed.result.metadataOnly, 1);
  assert.equal(byPath(changed, 'd/f3')?.xattrs?.['user.k'], Buffer.from('two').toString('base64'));
  const calls = (await readFile(log, 'utf8')).split('\n').filter((l) => !l.includes('--version') && l !== '');
  assert.equal(calls.length, 1);
  assert.match(calls[0] ?? '', /-- d\/f3$/);
});

test('attributes read in batches while the walk goes on land on their own paths, every line in order (10,000 paths, three getfattr batches)', async (t) => {
  const { root, h } = await setup(t);
  // 10 folders of 1,000 files: the scan's batches of 4,096 paths end inside folders 4 and 8.
  const tagged = ['d0/f0', 'd4/f4095', 'd4/f4096', 'd4/f4097', 'd8/f8190', 'd9/f9999'];
  for (let d = 0; d < 10; d++) {
    await mkdir(path.join(root, `d${d}`));
    for (let i = d * 1000; i < (d + 1) * 1000; i++) await writeFile(path.join(root, `d${d}`, `f${i}`), `${i}`);
  }
  for (const p of tagged) await execFileP('setfattr', ['-n', 'user.k', '-v', p, path.join(root, p)]);
  const s = await h.scan('full');
  assert.equal(s.result.totalFiles, 10010);
  assert.deepEqual(s.result.errors, []);
  const lines = (await readFile(s.manifestFile, 'utf8')).split('\n').filter((l) => l !== '').slice(1);
  const entries = lines.map((l) => parseLine(l)).flatMap((p) => (p.kind === 'entry' ? [p.entry] : []));
  assert.deepEqual(entries.map((e) => e.path), s.entries.map((e) => e.path));
  assert.deepEqual([...entries.map((e) => e.path)].sort(pathCompare), entries.map((e) => e.path), 'lines in path order');
  const withX = entries.filter((e) => e.xattrs !== undefined);
  assert.deepEqual(withX.map((e) => e.path).sort(), [...tagged].sort());
  for (const e of withX) assert.equal(e.xattrs?.['user.k'], Buffer.from(e.path).toString('base64'), e.path);
  // The stat cache has one record per path, in the same order, each marked as holding its attributes.
  const cache = (await readFile(h.statCache, 'utf8')).split('\n').filter((l) => l !== '').slice(1).map((l) => JSON.parse(l) as { p: string; x?: number });
  assert.deepEqual(cache.map((r) => r.p), entries.map((e) => e.path));
  assert.ok(cache.every((r) => r.x === 1));
});

test('a hard link whose first member changed while the archiver read it is taken out of the set with it', async (t) => {
  const { root, h } = await setup(t);
  await writeFile(path.join(root, 'a'), 'one');
  const first = await h.scan('full');
  await writeFile(path.join(root, 'a'), 'two');
  await link(path.join(root, 'a'), path.join(root, 'b'));
  let errors: string[] = [];
  const s = await h.scan('incremental', {}, false, {
    afterScan: async (r, lines) => {
      assert.deepEqual(r.filesToArchive, 1);
      await writeFile(path.join(root, 'a'), 'three, meanwhile');
      const fin = await finalizeAfterArchive({ root, manifest: lines, previousManifest: first.manifestFile, newStatCache: r.newStatCache });
      errors = fin.errors.map((e) => e.path);
    },
  });
  assert.deepEqual(errors, ['a', 'b']);
  // a is the previous set's again; b (new) is left out rather than pointing at bytes the set lacks.
  assert.deepEqual(s.entries.map((e) => `${e.path}@${e.set ?? ''}${e.link !== undefined ? `->${e.link}` : ''}`), ['a@set1']);
});
