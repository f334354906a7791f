/**
 * Disk full through the real CLI: the destination, then the --state folder, on a 2 MiB tmpfs while
 * more than that is backed up. strata must fail with a clear "no space" error, count no set as
 * complete, and the next run (with room again) must succeed. Needs root (mount); the tmpfs is
 * always unmounted afterwards.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { Rng, assertSameTree, errorText, isMounted, makeRig, setFolders, show, snapshot, walk, writeTree } from './robust-util.js';

const PASSWORD = 'disk-full-password-2718';

/** smallDisk mounts a tmpfs of `size` at dir (inside root), and at the end unmounts it and removes root; it fails loudly when mounting is not allowed. */
async function smallDisk(t: TestContext, root: string, dir: string, size: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    assert.fail(`cannot mount a tmpfs at ${dir} (needs root / CAP_SYS_ADMIN): ${errorText(e)}. Tell the lead: this test needs a machine where mount is permitted.`);
  }
  // Registered hooks run first to last, so the caller makes its folder with tempDir(undefined) and
  // removes it here, after the unmount (else rm meets a busy mount point).
  t.after(async () => {
    for (let i = 0; i < 5 && isMounted(dir); i++) {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      }
    }
    assert.equal(isMounted(dir), false, `${dir} is still mounted`);
    await fsp.rm(root, { recursive: true, force: true });
  });
}

async function bigSource(root: string): Promise<string> {
  const rng = new Rng(99);
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 12; i++) files[`part-${i}.bin`] = rng.bytes(300_000); // 3.4 MiB, incompressible
  const src = path.join(root, 'src');
  await writeTree(src, files);
  return src;
}

test('destination on a full disk: "no space" error, no complete set, the next run with room succeeds', { timeout: 300_000 }, async (t) => {
  const root = await tempDir(undefined, 'strata-robust-fulldest-');
  const src = await bigSource(root);
  const mnt = path.join(root, 'dest');
  await smallDisk(t, root, mnt, '2m');
  const rig = makeRig({ src, dest: mnt, state: path.join(root, 'state'), password: PASSWORD, volumeSize: '256KiB', level: '1' });
  const r = await rig.backup('weekly');
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /no space/i, `the error must say the disk is full\n${show(r)}`);
  assert.deepEqual((await setFolders(mnt)).filter((f) => f.complete), [], 'a set on the full disk counts as complete');
  assert.deepEqual((await rig.list()).sets, [], 'list shows a set from the failed run');
  // The same destination with room again: the run succeeds and removes what the failed one left.
  execFileSync('mount', ['-o', 'remount,size=16m', mnt], { stdio: 'pipe' });
  const again = await rig.backup('weekly');
  assert.equal(again.code, 0, show(again));
  const sets = await setFolders(mnt);
  assert.deepEqual(sets.map((s) => s.complete), [true], `exactly one complete set expected: ${JSON.stringify(sets)}`);
  assert.deepEqual((await walk(mnt)).filter((e) => e.rel.includes('.strata-tmp-')).map((e) => e.rel), []);
});

test('state folder on a full disk: "no space" error, nothing complete on the destination', { timeout: 300_000 }, async (t) => {
  const root = await tempDir(undefined, 'strata-robust-fullstate-');
  const src = await bigSource(root);
  const state = path.join(root, 'state');
  await smallDisk(t, root, state, '2m');
  const rig = makeRig({ src, dest: path.join(root, 'dest'), state, password: PASSWORD, volumeSize: '256KiB', level: '1' });
  const r = await rig.backup('weekly');
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /no space/i, `the error must say the disk is full\n${show(r)}`);
  assert.deepEqual((await setFolders(rig.dest)).filter((f) => f.complete), [], 'a set counts as complete');
  // The failed run must not leave its staging behind to fill the small disk for good.
  const staging = path.join(state, 'jobs', 'default', 'staging');
  const left = (await walk(staging).catch(() => [])).filter((e) => e.kind === 'file').map((e) => e.rel);
  assert.deepEqual(left, [], 'staging files left on the full disk');
  execFileSync('mount', ['-o', 'remount,size=32m', state], { stdio: 'pipe' });
  const again = await rig.backup('weekly');
  assert.equal(again.code, 0, show(again));
  assert.deepEqual((await setFolders(rig.dest)).map((s) => s.complete), [true]);
});

test('restore target on a full disk: "no space" error, nothing half-restored left, a restore with room is exact', { timeout: 300_000 }, async (t) => {
  const root = await tempDir(undefined, 'strata-robust-fullrestore-');
  const src = await bigSource(root);
  const rig = makeRig({ src, dest: path.join(root, 'dest'), state: path.join(root, 'state'), password: PASSWORD, volumeSize: '256KiB', level: '1' });
  const b = await rig.backup('weekly');
  assert.equal(b.code, 0, show(b));
  const target = path.join(root, 'target');
  await smallDisk(t, root, target, '2m');
  const r = await rig.restore(target);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /no space/i, `the error must say the disk is full\n${show(r)}`);
  // Restore extracts into a staging folder inside the target and moves only verified files into
  // place: after a failure the target holds neither the staging folder nor a truncated file.
  const left = await walk(target);
  assert.deepEqual(left.filter((e) => e.rel.startsWith('.strata-restore-')).map((e) => e.rel), [], 'staging left in the target');
  for (const e of left.filter((x) => x.kind === 'file')) {
    const want = await fsp.readFile(path.join(src, e.rel));
    assert.deepEqual(await fsp.readFile(path.join(target, e.rel)), want, `${e.rel} in the target is not the backed-up file`);
  }
  execFileSync('mount', ['-o', 'remount,size=32m', target], { stdio: 'pipe' });
  const again = await rig.restore(target, ['--overwrite']);
  assert.equal(again.code, 0, show(again));
  assertSameTree(await snapshot(target), await snapshot(src), 'restored after room was made');
});
