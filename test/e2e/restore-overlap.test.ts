/**
 * Restore hashes each file while 7-Zip extracts the next (pipeline/restore/follow) and checks the
 * volumes of a local destination beside the extraction. Neither may let a wrong byte through:
 * - a file changed in staging after it was hashed (same size, same mtime: only its ctime tells) is
 *   hashed again before it is placed, and lost (exit 13) when it no longer matches;
 * - a file whose bytes in the archive differ from the manifest is lost with exit 13, the others restored.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { sealDescriptor, type Descriptor } from '../../src/core/descriptor.js';
import { tempDir } from '../helpers/tmp.js';
import { PASSWORD, cli, day, listTree } from './util.js';

const FILES: Record<string, string> = { 'a.txt': 'alpha alpha\n', 'b.txt': 'bravo bravo\n', 'c.txt': 'charlie charlie\n' };

async function backup(root: string): Promise<{ src: string; dest: string; common: string[] }> {
  const src = path.join(root, 'src');
  await fsp.mkdir(src, { recursive: true });
  for (const [name, body] of Object.entries(FILES)) await fsp.writeFile(path.join(src, name), body);
  const dest = path.join(root, 'dest');
  const common = ['--dest', dest, '--state', path.join(root, 'state')];
  await cli(['backup', '--quiet', '--tier', 'weekly', '--source', src, ...common], { now: day(0) });
  return { src, dest, common };
}

test('a file changed in staging after it was hashed (same size and mtime) is hashed again before placing: lost, exit 13', { timeout: 120_000 }, async (t) => {
  const root = await tempDir(t, 'strata-overlap-');
  const { common } = await backup(root);
  // A 7zz that, after extracting with item lines (restore's extraction), waits for the early hash of
  // a.txt, then changes one byte of it in staging and gives it back its mtime before exiting.
  const real = spawnSync('sh', ['-c', 'command -v 7zz'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(real !== '', '7zz is installed');
  const wrapper = path.join(root, '7zz-change');
  await fsp.writeFile(wrapper, [
    '#!/bin/sh',
    `case " $* " in *" -bb1 "*) ;; *) exec ${real} "$@" ;; esac`,
    'out=""; for a in "$@"; do case "$a" in -o*) out="${a#-o}" ;; esac; done',
    `${real} "$@"; rc=$?`,
    'sleep 1.5',
    'f=$(find "$out" -name a.txt -type f | head -n 1)',
    `ref="${root}/mtime-ref"; touch -r "$f" "$ref"`,
    'printf X | dd of="$f" bs=1 count=1 conv=notrunc 2>/dev/null',
    'touch -r "$ref" "$f"',
    'exit $rc', '',
  ].join('\n'), { mode: 0o755 });
  const to = path.join(root, 'target');
  const r = await cli(['restore', '--to', to, ...common], { expect: 13, env: { STRATA_7ZZ: wrapper } });
  assert.match(r.stderr, /a\.txt.*SHA-256 mismatch/, r.stderr);
  const restored = await listTree(to);
  assert.ok(!restored.includes('a.txt'), `the changed a.txt must not be placed: ${restored.join(', ')}`);
  assert.equal(await fsp.readFile(path.join(to, 'b.txt'), 'utf8'), FILES['b.txt']);
  assert.equal(await fsp.readFile(path.join(to, 'c.txt'), 'utf8'), FILES['c.txt']);
});

test('a file whose archived bytes differ from the manifest (volumes intact) is lost with exit 13; the rest is restored', { timeout: 120_000 }, async (t) => {
  const root = await tempDir(t, 'strata-overlap-');
  const { dest } = await backup(root);
  const all = await fsp.readdir(dest, { recursive: true });
  const descFile = path.join(dest, all.find((p) => p.endsWith('.strata.json')) ?? '');
  const setDir = path.dirname(descFile);
  const d = JSON.parse(await fsp.readFile(descFile, 'utf8')) as Descriptor;
  const volume = d.volumes[0];
  assert.ok(volume !== undefined && d.volumes.length === 1);
  // Someone with the password replaces the archive: b.txt has other bytes of the same length.
  const craft = path.join(root, 'craft');
  await fsp.mkdir(craft);
  for (const [name, body] of Object.entries(FILES)) await fsp.writeFile(path.join(craft, name), name === 'b.txt' ? body.toUpperCase() : body);
  const archive = path.join(root, volume.name.replace(/\.001$/, ''));
  const seven = spawn(process.env['STRATA_7ZZ'] ?? '7zz', ['a', '-t7z', '-mhe=on', '-p', '-v1m', '-bso0', '-bsp0', archive, ...Object.keys(FILES)], { cwd: craft, stdio: ['pipe', 'ignore', 'inherit'] });
  seven.stdin.end(PASSWORD + '\n');
  assert.equal((await once(seven, 'close'))[0], 0, '7zz made the crafted archive');
  const bytes = await fsp.readFile(`${archive}.001`);
  await fsp.writeFile(path.join(setDir, volume.name), bytes);
  for (const r of d.recovery) if (!r.name.includes('.manifest.')) await fsp.rm(path.join(setDir, r.name));
  const { check: _check, hmac: _hmac, ...rest } = d;
  const sealed = sealDescriptor({ ...rest, volumes: [{ name: volume.name, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }], protection: null, recovery: d.recovery.filter((r) => r.name.includes('.manifest.')) }, PASSWORD);
  await fsp.writeFile(descFile, JSON.stringify(sealed, null, 2) + '\n');
  const to = path.join(root, 'target');
  const r = await cli(['restore', '--to', to, '--dest', dest, '--state', path.join(root, 'state2')], { expect: 13 });
  assert.match(r.stderr, /b\.txt.*SHA-256 mismatch/, r.stderr);
  const restored = await listTree(to);
  assert.ok(!restored.includes('b.txt'), `b.txt must not be placed: ${restored.join(', ')}`);
  assert.equal(await fsp.readFile(path.join(to, 'a.txt'), 'utf8'), FILES['a.txt']);
  assert.equal(await fsp.readFile(path.join(to, 'c.txt'), 'utf8'), FILES['c.txt']);
});
