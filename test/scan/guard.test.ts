/** Tests for scan/guard: mountinfo parsing and what a scan of a source leaves out. */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { isStrataError } from '../../src/errors.js';
import { checkSourceFilesystems, checkSourcesApart, localDestinationPath, mountOf, parseMountInfo, sourceSkips } from '../../src/scan/guard.js';
import { tempDir } from '../helpers/tmp.js';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw',
  '24 22 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw',
  '25 24 0:6 / /sys/kernel/security rw - securityfs securityfs rw',
  '26 22 0:5 / /dev rw,nosuid shared:2 - devtmpfs udev rw',
  '27 22 0:30 / /home/me/My\\040Stuff/proc rw - proc proc rw',
  '28 22 0:31 / /home/me/My\\040Stuff/ram rw - tmpfs tmpfs rw',
].join('\n');

test('parseMountInfo reads mount points (octal escapes) and types; mountOf picks the longest mount point', () => {
  const mounts = parseMountInfo(MOUNTINFO);
  assert.equal(mounts.length, 7);
  assert.deepEqual(mounts[5], { point: '/home/me/My Stuff/proc', type: 'proc' });
  assert.equal(mountOf('/sys/kernel/security/x', mounts)?.type, 'securityfs');
  assert.equal(mountOf('/sys/kernel', mounts)?.type, 'sysfs');
  assert.equal(mountOf('/home/me', mounts)?.type, 'ext4');
  assert.equal(mountOf('/procfoo', mounts)?.type, 'ext4', 'a name that only starts like a mount point is not below it');
});

test('sourceSkips: pseudo mounts inside the source (not nested twice, not tmpfs), the destination and the state folder', async (t) => {
  const mounts = parseMountInfo(MOUNTINFO);
  assert.deepEqual(
    sourceSkips('/', { state: '/nonexistent-state/strata' }, mounts).map((s) => [s.rel, s.why, s.type ?? '']),
    [
      ['nonexistent-state/strata', 'state folder', ''],
      ['proc', 'pseudo filesystem', 'proc'],
      ['sys', 'pseudo filesystem', 'sysfs'],
      ['dev', 'pseudo filesystem', 'devtmpfs'],
      ['home/me/My Stuff/proc', 'pseudo filesystem', 'proc'],
    ],
  );
  const root = await tempDir(t, 'strata-guard-');
  await fsp.mkdir(path.join(root, 'src', 'real'), { recursive: true });
  await fsp.symlink(path.join(root, 'src'), path.join(root, 'link'));
  // Through a symlink to the source, and a destination that does not exist yet.
  const skips = sourceSkips(path.join(root, 'link'), { destination: path.join(root, 'src', 'backups', 'new'), state: path.join(root, 'elsewhere') }, []);
  assert.deepEqual(skips, [{ rel: path.join('backups', 'new'), why: 'destination' }]);
  assert.deepEqual(sourceSkips(path.join(root, 'src'), { destination: path.join(root, 'src'), state: path.join(root, 'state') }, []), [], 'the source itself is never skipped');
});

test('checkSourceFilesystems and checkSourcesApart refuse a source on a pseudo filesystem and a destination or state folder that is the source; warns about /', async (t) => {
  const mounts = parseMountInfo(MOUNTINFO);
  const root = await tempDir(t, 'strata-guard-');
  const src = path.join(root, 'src');
  await fsp.mkdir(src);
  const outside = { destination: path.join(root, 'dest'), state: path.join(root, 'state') };
  const warnings: string[] = [];
  const warn = (w: string): void => {
    warnings.push(w);
  };
  checkSourceFilesystems([{ name: 'docs', path: src }], warn, mounts);
  checkSourcesApart([{ name: 'docs', path: src }], outside);
  assert.deepEqual(warnings, []);
  assert.throws(() => checkSourceFilesystems([{ name: 'kernel', path: '/proc/self' }], warn, mounts), (e: unknown) => isStrataError(e, 'CONFIG') && /pseudo filesystem \(proc, mounted at \/proc\)/.test(e.message));
  assert.throws(() => checkSourcesApart([{ name: 'docs', path: src }], { ...outside, destination: src }), (e: unknown) => isStrataError(e, 'CONFIG') && /the destination .* is the source folder itself/.test(e.message));
  assert.throws(() => checkSourcesApart([{ name: 'docs', path: src }], { state: src }), (e: unknown) => isStrataError(e, 'CONFIG') && /the state folder .* is the source folder itself/.test(e.message));
  checkSourceFilesystems([{ name: 'all', path: '/' }], warn, mounts);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /^--source \/ \(source all\) backs up the whole machine/);
  assert.equal(localDestinationPath(src), src);
  assert.equal(localDestinationPath('s3://bucket/prefix'), undefined);
});
