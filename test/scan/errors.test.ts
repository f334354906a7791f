/** Tests of what a scan cannot take as it is: unreadable paths, special files, files changing while read,
 * and files changing while the archiver reads them (finalizeAfterArchive). */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { appendFile, chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { commitStatCache, finalizeAfterArchive, type ScanOptions, type ScanResult } from '../../src/scan/index.js';
import { mayBeArchived } from '../../src/scan/statcache.js';
import { tempDir } from '../helpers/tmp.js';
import { byPath, Harness } from './helpers.js';

const NOBODY = 65534;
const execFileP = promisify(execFile);

/** asUnprivileged runs a scan in a child process as user nobody when the tests run as root: root reads
 * through chmod 000, so only another user gets a real EACCES from the kernel (no injected failure). */
async function asUnprivileged(opts: ScanOptions): Promise<ScanResult> {
  const moduleUrl = new URL('../../src/scan/index.js', import.meta.url).href;
  const { isListFileSafe: _f, now: _n, signal: _s, onProgress: _p, ...plain } = opts;
  const script = `
    import { scanSource } from ${JSON.stringify(moduleUrl)};
    const opts = JSON.parse(process.argv[1]);
    const r = await scanSource({ ...opts, isListFileSafe: (p) => !p.includes('\\n'), now: () => new Date() });
    process.stdout.write(JSON.stringify(r));`;
  // src/exec/run.ts has no uid option (strata never needs one), so the test spawns the child itself.
  const { stdout } = await execFileP(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(plain)], { cwd: '/', uid: NOBODY, gid: NOBODY });
  return JSON.parse(stdout) as ScanResult;
}

async function setup(t: Parameters<typeof tempDir>[0]): Promise<{ root: string; state: string; h: Harness; asRoot: boolean }> {
  const dir = await tempDir(t);
  const root = path.join(dir, 'src');
  const state = path.join(dir, 'state');
  await mkdir(root);
  await mkdir(state);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    await chmod(dir, 0o755);
    await chown(state, NOBODY, NOBODY);
  }
  return { root, state, h: new Harness(root, state), asRoot };
}

test('unreadable files and folders are errors; their previous entries are kept, not archived', async (t) => {
  const { root, h, asRoot } = await setup(t);
  await writeFile(path.join(root, 'secret'), 'v1');
  await mkdir(path.join(root, 'locked'));
  await writeFile(path.join(root, 'locked', 'inner'), 'inner');
  await writeFile(path.join(root, 'plain'), 'plain');
  const first = await h.scan('full');
  if (asRoot) await chown(h.statCache, NOBODY, NOBODY);
  await writeFile(path.join(root, 'secret'), 'v2 changed');
  await writeFile(path.join(root, 'new-secret'), 'never backed up');
  await writeFile(path.join(root, 'plain'), 'plain changed');
  await chmod(path.join(root, 'secret'), 0o000);
  await chmod(path.join(root, 'new-secret'), 0o000);
  await chmod(path.join(root, 'locked'), 0o000);
  // (as root the temp folder is removed regardless; as another user the mode must be given back first)
  t.after(() => chmod(path.join(root, 'locked'), 0o755).catch(() => undefined));
  const s = await h.scan('incremental', {}, true, asRoot ? { runner: asUnprivileged } : {});
  assert.deepEqual(s.result.errors.map((e) => e.path), ['locked', 'new-secret', 'secret']);
  assert.match(s.result.errors[0]!.message, /cannot list the folder: EACCES/);
  assert.match(s.result.errors[2]!.message, /cannot open: EACCES/);
  // Previous entries stay (restorable from set1), the new unreadable file is left out, nothing of them archived.
  assert.deepEqual(s.entries.map((e) => `${e.path}@${e.set ?? ''}`), ['locked@set1', 'locked/inner@set1', 'plain@set2', 'secret@set1']);
  assert.deepEqual(byPath(s, 'secret'), byPath(first, 'secret'));
  assert.deepEqual(s.list, ['plain']);
  assert.deepEqual(s.deleted, []);
});

test('sockets and FIFOs are reported as unsupported, and a FIFO never blocks the scan', async (t) => {
  const { root, h } = await setup(t);
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path.join(root, 'sock'), resolve));
  t.after(() => server.close());
  await writeFile(path.join(root, 'file'), 'x');
  const s = await h.scan('full');
  assert.deepEqual(s.entries.map((e) => e.path), ['file']);
  assert.deepEqual(s.result.errors, [
    { path: 'fifo', message: 'skipped: unsupported file type (FIFO)' },
    { path: 'sock', message: 'skipped: unsupported file type (socket)' },
  ]);
});

test('a file that grows while it is hashed is an error and keeps its previous entry', async (t) => {
  const { root, h } = await setup(t);
  const f = path.join(root, 'growing.log');
  await writeFile(f, Buffer.alloc(32 << 20, 1));
  await writeFile(path.join(root, 'quiet'), 'q');
  const first = await h.scan('full');
  // A real writer process appends every millisecond while the next scan reads the 32 MiB file.
  const writer = spawn(process.execPath, ['-e', `const fs = require('fs'); setInterval(() => fs.appendFileSync(${JSON.stringify(f)}, 'more\\n'), 1);`], { stdio: 'ignore' });
  t.after(() => writer.kill());
  const size0 = (await stat(f)).size;
  while ((await stat(f)).size === size0) await new Promise((r) => setTimeout(r, 5));
  const s = await h.scan();
  const exited = new Promise((r) => writer.once('exit', r));
  writer.kill();
  await exited;
  assert.deepEqual(s.result.errors.map((e) => e.path), ['growing.log']);
  assert.match(s.result.errors[0]!.message, /changed while being read/);
  assert.deepEqual(byPath(s, 'growing.log'), byPath(first, 'growing.log'));
  assert.deepEqual(s.list, []);
  // Once quiet, the next run reads it again (no cache record was kept for it) and backs it up.
  const s2 = await h.scan();
  assert.deepEqual(s2.result.errors, []);
  assert.equal(s2.result.modified, 1);
  assert.deepEqual(s2.list, ['growing.log']);
});

test('the check after archiving reads only archived records, found by their key whatever the spacing; a path with quotes is not one', async (t) => {
  const { root, h } = await setup(t);
  for (const n of ['a', 'x"a":1', 'c']) await writeFile(path.join(root, n), `${n}1`);
  const first = await h.scan('full');
  await writeFile(path.join(root, 'c'), 'c2');
  await h.scan('incremental', {}, false, {
    afterScan: async (r, lines) => {
      // Only c is archived by this set; its line is respaced (a reader takes any spacing).
      const cache = (await readFile(r.newStatCache, 'utf8')).split('\n').filter((l) => l !== '');
      const records = cache.slice(1).map((l) => ({ l, rec: JSON.parse(l) as { p: string; a?: number } }));
      assert.deepEqual(records.filter((x) => x.rec.a === 1).map((x) => x.rec.p), ['c']);
      // Never a miss: every archived line passes the filter (a line it passes is parsed and may still not be archived: "a" is also the path a).
      assert.ok(records.every((x) => x.rec.a !== 1 || mayBeArchived(x.l)));
      assert.deepEqual(records.filter((x) => !mayBeArchived(x.l)).map((x) => x.rec.p), ['x"a":1']);
      await writeFile(r.newStatCache, `${cache.map((l) => l.replace('"a":1', '"a" : 1')).join('\n')}\n`);
      await appendFile(path.join(root, 'c'), ' while 7-Zip reads it');
      const fin = await finalizeAfterArchive({ root, manifest: lines, previousManifest: first.manifestFile, newStatCache: r.newStatCache });
      assert.deepEqual(fin.reverted, ['c']);
    },
  });
  assert.equal(mayBeArchived(JSON.stringify({ p: 'x"a":1', t: 'f' })), false);
  assert.equal(mayBeArchived('{"p":"y","t":"f","a":1}'), true);
});

test('finalizeAfterArchive takes back out what changed while the archiver read it', async (t) => {
  const { root, h } = await setup(t);
  for (const n of ['a', 'b', 'c']) await writeFile(path.join(root, n), `${n}1`);
  const first = await h.scan('full');
  await writeFile(path.join(root, 'a'), 'a2');
  await writeFile(path.join(root, 'c'), 'c2');
  await writeFile(path.join(root, 'd'), 'd new');
  await mkdir(path.join(root, 'e'));
  let reverted: string[] = [];
  const s = await h.scan('incremental', {}, false, {
    afterScan: async (r, lines) => {
      assert.equal(r.filesToArchive, 4);
      // Meanwhile (7-Zip is reading): a is written again, d deleted, e gets a file.
      await appendFile(path.join(root, 'a'), ' and more');
      await rm(path.join(root, 'd'));
      await writeFile(path.join(root, 'e', 'late'), 'late');
      const fin = await finalizeAfterArchive({ root, manifest: lines, previousManifest: first.manifestFile, newStatCache: r.newStatCache });
      reverted = fin.reverted;
      assert.deepEqual(fin.errors.map((e) => e.path), ['a', 'd', 'e']);
      assert.match(fin.errors[1]!.message, /deleted while the backup was running/);
    },
  });
  assert.deepEqual(reverted, ['a', 'd', 'e']);
  assert.deepEqual(s.entries.map((e) => `${e.path}@${e.set ?? ''}`), ['a@set1', 'b@set1', 'c@set2']);
  assert.deepEqual(byPath(s, 'a'), byPath(first, 'a'));
  await commitStatCache(s.result.newStatCache, h.statCache);
  h.previous = s.manifestFile;
  // The next run reads `a` again although nothing touched it since: its cache record was dropped.
  const next = await h.scan();
  assert.deepEqual(next.list, ['a', 'e/late']);
  assert.equal(next.result.modified, 1);
  assert.equal(next.result.added, 2); // e, e/late
  assert.ok(next.result.hashedFiles >= 2);
});

test('finalizeAfterArchive past the stat thread\'s threshold: the same paths taken back, in order, whichever way lstat is made', async (t) => {
  const { root, h } = await setup(t);
  // 6,000 files: the first 4,096 checked synchronously, the rest on the stat thread (batches of 256).
  for (let d = 0; d < 6; d++) {
    await mkdir(path.join(root, `d${d}`));
    for (let i = 0; i < 1000; i++) await writeFile(path.join(root, `d${d}`, `f${String(i).padStart(4, '0')}`), `${d}/${i}`);
  }
  const first = await h.scan('full');
  await h.scan('full', {}, false, {
    afterScan: async (r, lines) => {
      // Meanwhile: one early file changed, late ones changed, deleted and replaced.
      await appendFile(path.join(root, 'd0', 'f0010'), ' more');
      await appendFile(path.join(root, 'd4', 'f0500'), ' more');
      await rm(path.join(root, 'd5', 'f0001'));
      await rm(path.join(root, 'd5', 'f0999'));
      await writeFile(path.join(root, 'd5', 'f0999'), 'another inode');
      const results: Record<string, { errors: string[]; reverted: string[] }> = {};
      for (const mode of ['sync', 'ahead', 'auto'] as const) {
        const copyLines = `${lines}.${mode}`;
        const copyCache = `${r.newStatCache}.${mode}`;
        await writeFile(copyLines, await readFile(lines));
        await writeFile(copyCache, await readFile(r.newStatCache));
        const fin = await finalizeAfterArchive({ root, manifest: copyLines, previousManifest: first.manifestFile, newStatCache: copyCache, statMode: mode });
        results[mode] = { errors: fin.errors.map((e) => `${e.path}: ${e.message}`), reverted: fin.reverted };
        assert.ok(!(await readFile(copyCache, 'utf8')).includes('"d4/f0500"'), `${mode}: the changed file's cache record stays`);
      }
      assert.deepEqual(results['sync']?.reverted, ['d0/f0010', 'd4/f0500', 'd5/f0001', 'd5/f0999']);
      assert.match(results['sync']?.errors[2] ?? '', /deleted while the backup was running/);
      assert.deepEqual(results['ahead'], results['sync']);
      assert.deepEqual(results['auto'], results['sync']);
    },
  });
});
