/**
 * Damaged PAR2 files cost protection, not data: verify still tests the archive and names them, and
 * verify --repair rebuilds them (par2 create is deterministic, so they hash as the descriptor says).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { cli, day } from './util.js';

test('damaged and missing recovery files: verify names them and tests the archive; verify --repair rebuilds them exactly', { timeout: 180_000 }, async (t) => {
  const root = await tempDir(t, 'strata-recovery-');
  const src = path.join(root, 'src');
  await fsp.mkdir(src);
  await fsp.writeFile(path.join(src, 'data.bin'), randomBytes(300_000));
  const dest = path.join(root, 'dest');
  const g = ['--dest', dest, '--state', path.join(root, 'state')];
  await cli(['backup', '--quiet', '--tier', 'weekly', '--volume-size', '64KiB', '--source', src, ...g], { now: day(0) });
  const setDir = path.join(dest, '261129_FULL_src');
  const files = await fsp.readdir(setDir);
  const volPar2 = files.find((f) => /^261129_FULL_src\.vol\d+\+\d+\.par2$/.test(f));
  const manifestVolPar2 = files.find((f) => /^261129_FULL_src\.manifest\.vol\d+\+\d+\.par2$/.test(f));
  assert.ok(volPar2 !== undefined && manifestVolPar2 !== undefined, files.join(', '));
  const original = await fsp.readFile(path.join(setDir, volPar2));
  const damaged = Buffer.from(original);
  for (let i = 100; i < damaged.length; i += 997) damaged[i] = (damaged[i] ?? 0) ^ 0xff;
  await fsp.writeFile(path.join(setDir, volPar2), damaged);
  await fsp.rm(path.join(setDir, manifestVolPar2));

  const v = await cli(['verify', ...g], { expect: 13 });
  assert.match(v.stdout, /DAMAGED .*7-Zip test ok/);
  assert.match(v.stdout, new RegExp(`damaged or missing: ${volPar2.replace(/[.+]/g, '\\$&')}`));
  const r = await cli(['verify', '--repair', ...g]);
  assert.match(r.stdout, /REPAIRED/);
  assert.match(r.stdout, new RegExp(`repaired: .*${volPar2.replace(/[.+]/g, '\\$&')}`));
  assert.match(r.stdout, new RegExp(manifestVolPar2.replace(/[.+]/g, '\\$&')));
  assert.deepEqual(await fsp.readFile(path.join(setDir, volPar2)), original, 'rebuilt byte for byte');
  assert.deepEqual((await fsp.readdir(setDir)).sort(), files.sort(), 'no .old or partial file is left');
  await cli(['verify', ...g]);
});
