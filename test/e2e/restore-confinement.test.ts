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
import { PASSWORD, cli, day, listTree } from './util.js';

const VICTIM = 'a file outside the restore target\n';

async function findFile(root: string, suffix: string): Promise<string> {
  const all = await fsp.readdir(root, { recursive: true });
  const hit = all.find((p) => p.endsWith(suffix));
  assert.ok(hit !== undefined, `no *${suffix} under ${root}`);
  return path.join(root, hit);
}

test('a symlink in the target where the set has a folder: refused with --overwrite too, nothing written through it', { timeout: 180_000 }, async (t) => {
  const root = await tempDir(t, 'strata-confine-');
  const src = path.join(root, 'src');
  await fsp.mkdir(path.join(src, 'docs'), { recursive: true });
  await fsp.writeFile(path.join(src, 'docs', 'a.txt'), 'a\n');
  const common = ['--dest', path.join(root, 'dest'), '--state', path.join(root, 'state')];
  await cli(['backup', '--quiet', '--tier', 'weekly', '--source', src, ...common], { now: day(0) });
  const outside = path.join(root, 'outside');
  await fsp.mkdir(outside);
  const to = path.join(root, 'target');
  await fsp.mkdir(to);
  await fsp.symlink(outside, path.join(to, 'docs'));
  const r = await cli(['restore', '--overwrite', '--to', to, ...common], { expect: 13 });
  assert.match(r.stderr, /"docs" in the target is not a folder \(a symlink\)/);
  assert.deepEqual(await fsp.readdir(outside), [], 'nothing was written through the link');
  assert.deepEqual(await listTree(to), ['docs'], 'no staging folder is left behind');
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
  const seven = spawn(process.env['STRATA_7ZZ'] ?? '7zz', ['a', '-t7z', '-mhe=on', '-p', '-snl', '-v1m', '-bso0', '-bsp0', archive, 'a'], { cwd: craft, stdio: ['pipe', 'ignore', 'inherit'] });
  seven.stdin.end(PASSWORD + '\n');
  const [code] = (await once(seven, 'close')) as [number | null];
  assert.equal(code, 0, '7zz made the crafted archive');
  const bytes = await fsp.readFile(`${archive}.001`);
  await fsp.writeFile(path.join(setDir, volume.name), bytes);
  for (const r of d.recovery) if (!r.name.includes('.manifest.')) await fsp.rm(path.join(setDir, r.name));
  const { check: _check, hmac: _hmac, ...rest } = d;
  const crafted = sealDescriptor({
    ...rest,
    volumes: [{ name: volume.name, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }],
    protection: null,
    recovery: d.recovery.filter((r) => r.name.includes('.manifest.')),
  }, PASSWORD);
  await fsp.writeFile(descFile, JSON.stringify(crafted, null, 2) + '\n');

  // A fresh state folder: the catalog comes from the destination, as on a new machine.
  const r = await cli(['restore', '--to', to, '--dest', dest, '--state', path.join(root, 'state2')], { expect: 13 });
  assert.match(r.stderr, /a\/victim/, 'the file that could not be restored is named');
  assert.equal(await fsp.readFile(path.join(outside, 'victim'), 'utf8'), VICTIM, 'the file outside the target is still there, untouched');
  assert.deepEqual(await fsp.readdir(outside), ['victim']);
  const restored = await listTree(to);
  assert.ok(!restored.includes('a/victim'), `a/victim must not be restored from outside: ${restored.join(', ')}`);
  assert.ok(restored.every((p) => !p.startsWith('.strata-restore-')), 'no staging folder is left behind');
});
