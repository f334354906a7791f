/**
 * Restore never writes outside its target, whatever the target or the set holds:
 * - a symlink in the target where the set has a folder is refused, even with --overwrite;
 * - a crafted set (made by someone with the password) whose archive holds a link `a` → a folder
 *   outside the target, while its manifest lists a file `a/victim` with the hash of the file out
 *   there: restore must neither read through the link nor move that file into the target.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { sealDescriptor, type Descriptor } from '../../src/core/descriptor.js';
import { tempDir } from '../helpers/tmp.js';
import { PASSWORD, assertSameTree, cli, day, listTree, snapshot } from './util.js';

const VICTIM = 'a file outside the restore target\n';

async function findFile(root: string, suffix: string): Promise<string> {
  const all = await fsp.readdir(root, { recursive: true });
  const hit = all.find((p) => p.endsWith(suffix));
  assert.ok(hit !== undefined, `no *${suffix} under ${root}`);
  return path.join(root, hit);
}

/** encrypt makes a 7-Zip archive as strata does (AES, encrypted headers, password on stdin). */
async function encrypt(cwd: string, archive: string, names: string[], extra: string[] = []): Promise<void> {
  const seven = spawn(process.env['STRATA_7ZZ'] ?? '7zz', ['a', '-t7z', '-mhe=on', '-p', ...extra, '-bso0', '-bsp0', archive, ...names], { cwd, stdio: ['pipe', 'ignore', 'inherit'] });
  seven.stdin.end(PASSWORD + '\n');
  const [code] = (await once(seven, 'close')) as [number | null];
  assert.equal(code, 0, '7zz made the crafted archive');
}

function stored(name: string, bytes: Buffer): { name: string; size: number; sha256: string } {
  return { name, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** reseal writes a changed descriptor sealed with the password, as someone who knows it could. */
async function reseal(descFile: string, d: Descriptor, changes: Partial<Descriptor>): Promise<void> {
  const { check: _check, hmac: _hmac, ...rest } = d;
  await fsp.writeFile(descFile, JSON.stringify(sealDescriptor({ ...rest, ...changes }, PASSWORD), null, 2) + '\n');
}

test('a symlink in the target where the set has a folder: a conflict before anything is written; --overwrite replaces the link, never follows it', { timeout: 180_000 }, async (t) => {
  const root = await tempDir(t, 'strata-confine-');
  const src = path.join(root, 'src');
  await fsp.mkdir(path.join(src, 'docs'), { recursive: true });
  await fsp.writeFile(path.join(src, 'docs', 'a.txt'), 'a\n');
  await fsp.writeFile(path.join(src, 'b.txt'), 'b\n');
  const common = ['--dest', path.join(root, 'dest'), '--state', path.join(root, 'state')];
  await cli(['backup', '--quiet', '--tier', 'weekly', '--source', src, ...common], { now: day(0) });
  const outside = path.join(root, 'outside');
  await fsp.mkdir(outside);
  const to = path.join(root, 'target');
  await fsp.mkdir(to);
  await fsp.symlink(outside, path.join(to, 'docs'));
  const r = await cli(['restore', '--to', to, ...common], { expect: 1 });
  assert.match(r.stderr, /already has 1 of the files to restore, e\.g\. "docs"/);
  assert.deepEqual(await listTree(to), ['docs'], 'nothing was written');
  await cli(['restore', '--quiet', '--overwrite', '--to', to, ...common]);
  assert.deepEqual(await fsp.readdir(outside), [], 'nothing was written through the link');
  assertSameTree(await snapshot(to), await snapshot(src));
});

test('--overwrite replaces whatever type is in the way: a folder where the set has a link, a file where it has a folder', { timeout: 180_000 }, async (t) => {
  const root = await tempDir(t, 'strata-confine-');
  const src = path.join(root, 'src');
  await fsp.mkdir(path.join(src, 'dir'), { recursive: true });
  await fsp.writeFile(path.join(src, 'dir', 'x.txt'), 'x\n');
  await fsp.symlink('dir', path.join(src, 'link'));
  const common = ['--dest', path.join(root, 'dest'), '--state', path.join(root, 'state')];
  await cli(['backup', '--quiet', '--tier', 'weekly', '--source', src, ...common], { now: day(0) });
  const to = path.join(root, 'target');
  await fsp.mkdir(path.join(to, 'link', 'sub'), { recursive: true });
  await fsp.writeFile(path.join(to, 'link', 'sub', 'mine.txt'), 'mine\n');
  await fsp.writeFile(path.join(to, 'dir'), 'a file where the set has a folder\n');
  const before = await snapshot(to);
  const r = await cli(['restore', '--to', to, ...common], { expect: 1 });
  assert.match(r.stderr, /already has/);
  assertSameTree(await snapshot(to), before, { mtimeToleranceNs: 0n });
  await cli(['restore', '--quiet', '--overwrite', '--to', to, ...common]);
  assertSameTree(await snapshot(to), await snapshot(src));
});

test('several sources: a link at <to>/<source> is a conflict, and with --overwrite it is replaced, never followed', { timeout: 180_000 }, async (t) => {
  const root = await tempDir(t, 'strata-confine-');
  for (const s of ['alpha', 'beta']) {
    await fsp.mkdir(path.join(root, s));
    await fsp.writeFile(path.join(root, s, `${s}.txt`), `${s}\n`);
  }
  const common = ['--dest', path.join(root, 'dest'), '--state', path.join(root, 'state')];
  await cli(['backup', '--quiet', '--tier', 'weekly', '--source', path.join(root, 'alpha'), '--source', path.join(root, 'beta'), ...common], { now: day(0) });
  const outside = path.join(root, 'outside');
  await fsp.mkdir(outside);
  const to = path.join(root, 'to');
  await fsp.mkdir(to);
  await fsp.symlink('../outside', path.join(to, 'alpha'));
  const r = await cli(['restore', '--to', to, ...common], { expect: 1 });
  assert.match(r.stderr, /"alpha" exists in the target and is not a folder \(a symlink\)/);
  assert.deepEqual(await fsp.readdir(outside), []);
  await cli(['restore', '--quiet', '--overwrite', '--to', to, ...common]);
  assert.deepEqual(await fsp.readdir(outside), [], 'nothing was written through the link');
  assertSameTree(await snapshot(path.join(to, 'alpha')), await snapshot(path.join(root, 'alpha')));
});

test('a crafted set whose archive links a folder out of staging: nothing outside is read, moved or written', { timeout: 180_000 }, async (t) => {
  const root = await tempDir(t, 'strata-confine-');
  const src = path.join(root, 'src');
  await fsp.mkdir(path.join(src, 'a'), { recursive: true });
  await fsp.writeFile(path.join(src, 'a', 'victim'), VICTIM);
  const dest = path.join(root, 'dest');
  await cli(['backup', '--quiet', '--tier', 'weekly', '--source', src, '--dest', dest, '--state', path.join(root, 'state')], { now: day(0) });

  // The victim outside the target has exactly the bytes the manifest expects at a/victim.
  const outside = path.join(root, 'outside');
  await fsp.mkdir(outside);
  await fsp.writeFile(path.join(outside, 'victim'), VICTIM);
  const to = path.join(root, 'target');

  // Replace the set's archive with one holding only `a` → ../../../outside, which from
  // <target>/.strata-restore-*/<set>/a leads to <root>/outside; re-seal the descriptor with the password.
  const descFile = await findFile(dest, '.strata.json');
  const setDir = path.dirname(descFile);
  const d = JSON.parse(await fsp.readFile(descFile, 'utf8')) as Descriptor;
  const craft = path.join(root, 'craft');
  await fsp.mkdir(craft);
  await fsp.symlink('../../../outside', path.join(craft, 'a'));
  const volume = d.volumes[0];
  assert.ok(volume !== undefined && d.volumes.length === 1);
  const archive = path.join(root, volume.name.replace(/\.001$/, ''));
  await encrypt(craft, archive, ['a'], ['-snl', '-v1m']);
  const bytes = await fsp.readFile(`${archive}.001`);
  await fsp.writeFile(path.join(setDir, volume.name), bytes);
  for (const r of d.recovery) if (!r.name.includes('.manifest.')) await fsp.rm(path.join(setDir, r.name));
  await reseal(descFile, d, { volumes: [stored(volume.name, bytes)], protection: null, recovery: d.recovery.filter((r) => r.name.includes('.manifest.')) });

  // A fresh state folder: the catalog comes from the destination, as on a new machine.
  const r = await cli(['restore', '--to', to, '--dest', dest, '--state', path.join(root, 'state2')], { expect: 13 });
  assert.match(r.stderr, /a\/victim/, 'the file that could not be restored is named');
  assert.equal(await fsp.readFile(path.join(outside, 'victim'), 'utf8'), VICTIM, 'the file outside the target is still there, untouched');
  assert.deepEqual(await fsp.readdir(outside), ['victim']);
  const restored = await listTree(to);
  assert.ok(!restored.includes('a/victim'), `a/victim must not be restored from outside: ${restored.join(', ')}`);
  assert.ok(restored.every((p) => !p.startsWith('.strata-restore-')), 'no staging folder is left behind');
});

test('a crafted manifest naming a holder set by a path: refused before anything is written anywhere', { timeout: 180_000 }, async (t) => {
  const root = await tempDir(t, 'strata-confine-');
  const src = path.join(root, 'src');
  await fsp.mkdir(src);
  await fsp.writeFile(path.join(src, 'a.txt'), 'a\n');
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  await cli(['backup', '--quiet', '--tier', 'weekly', '--source', src, '--dest', dest, '--state', state], { now: day(0) });
  const descFile = await findFile(dest, '.strata.json');
  const setDir = path.dirname(descFile);
  const d = JSON.parse(await fsp.readFile(descFile, 'utf8')) as Descriptor;
  // The plaintext manifest (the state folder keeps a copy), with a.txt's holder set pointing out of the work folder.
  const plain = (await fsp.readFile(await findFile(state, '.manifest.jsonl'), 'utf8')).split('\n').map((line) => {
    if (line === '') return line;
    const o = JSON.parse(line) as { path?: string; set?: string };
    if (o.path === 'a.txt') o.set = `${'../'.repeat(20)}${root.slice(1)}/PWNED`;
    return JSON.stringify(o);
  }).join('\n');
  const craft = path.join(root, 'craft');
  await fsp.mkdir(craft);
  const inner = `${d.id}.manifest.jsonl`;
  await fsp.writeFile(path.join(craft, inner), plain);
  await encrypt(craft, path.join(root, d.manifest.name), [inner]);
  const bytes = await fsp.readFile(path.join(root, d.manifest.name));
  await fsp.writeFile(path.join(setDir, d.manifest.name), bytes);
  for (const r of d.recovery) if (r.name.includes('.manifest.')) await fsp.rm(path.join(setDir, r.name));
  await reseal(descFile, d, { manifest: stored(d.manifest.name, bytes), manifestProtection: null, recovery: d.recovery.filter((r) => !r.name.includes('.manifest.')) });

  const to = path.join(root, 'target');
  const r = await cli(['restore', '--to', to, '--dest', dest, '--state', path.join(root, 'state2')], { expect: 13 });
  assert.match(r.stderr, /refers to set ".*PWNED", which the set does not depend on/);
  assert.deepEqual((await fsp.readdir(root)).filter((n) => n.startsWith('PWNED')), [], 'no file was made from the holder name');
  assert.deepEqual(await listTree(to), [], 'nothing was restored');
});
