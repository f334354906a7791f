/** The scan's stat thread (scan/stat-thread): the same fields and errors as lstat, in order. */
import assert from 'node:assert/strict';
import { lstatSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { errnoCode, errorMessage } from '../../src/errors.js';
import { STAT_FIELDS, StatThread, outcomes } from '../../src/scan/stat-thread.js';
import { tempDir } from '../helpers/tmp.js';

test('the stat thread answers each name with lstat\'s fields, or its error, in order', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'file'), 'twelve bytes');
  await mkdir(path.join(dir, 'folder'));
  await symlink('file', path.join(dir, 'link'));
  const names = ['file', 'missing', 'folder', 'link', 'file/not-a-folder'];
  const thread = new StatThread();
  try {
    await thread.started;
    assert.equal(thread.ready, true);
    const got = await thread.stat(dir, names);
    assert.equal(got.length, names.length);
    for (const [i, name] of names.entries()) {
      const o = got[i];
      assert.ok(o !== undefined);
      let want;
      try {
        want = lstatSync(path.join(dir, name), { bigint: true });
      } catch (e) {
        assert.ok('err' in o, `${name}: lstat failed, the thread did not`);
        assert.equal(errnoCode(o.err), errnoCode(e), name);
        assert.equal(errorMessage(o.err), errorMessage(e), name);
        continue;
      }
      assert.ok('st' in o, `${name}: ${'err' in o ? errorMessage(o.err) : ''}`);
      for (const f of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'size', 'blocks', 'mtimeNs', 'ctimeNs'] as const) assert.equal(o.st[f], want[f], `${name}.${f}`);
      for (const f of ['isFile', 'isDirectory', 'isSymbolicLink', 'isFIFO', 'isSocket', 'isCharacterDevice', 'isBlockDevice'] as const) assert.equal(o.st[f](), want[f](), `${name}.${f}()`);
    }
    assert.equal(errnoCode((got[1] as { err: unknown }).err), 'ENOENT');
    assert.equal(errnoCode((got[4] as { err: unknown }).err), 'ENOTDIR');
    // Requests in flight at once are answered each with its own names.
    const [a, b] = await Promise.all([thread.stat(dir, ['folder']), thread.stat(dir, ['file'])]);
    assert.ok(a?.[0] !== undefined && 'st' in a[0] && a[0].st.isDirectory());
    assert.ok(b?.[0] !== undefined && 'st' in b[0] && b[0].st.isFile() && b[0].st.size === 12n);
  } finally {
    await thread.close();
  }
  await assert.rejects(thread.stat(dir, ['file']), /closed/);
});

test('a FIFO is stat\'ed, not opened (the walk skips it as a special file)', async (t) => {
  const dir = await tempDir(t);
  execFileSync('mkfifo', [path.join(dir, 'pipe')]);
  const thread = new StatThread();
  try {
    await thread.started;
    const [o] = await thread.stat(dir, ['pipe']);
    assert.ok(o !== undefined && 'st' in o && o.st.isFIFO() && !o.st.isFile());
  } finally {
    await thread.close();
  }
});

test('unpacking: inode and device numbers above 2^63 come back unsigned; times before 1970 stay negative', () => {
  const stats = new BigInt64Array(STAT_FIELDS);
  stats[0] = -2n; // dev 2^64 - 2, wrapped by the BigInt64Array
  stats[1] = -1n; // ino 2^64 - 1
  stats[2] = 0o100644n;
  stats[8] = -1_000_000_000n; // mtime one second before 1970
  stats[9] = 5n;
  const [o] = outcomes({ id: 0, stats, errors: [], hashes: [] }, 1);
  assert.ok(o !== undefined && 'st' in o);
  assert.equal(o.st.dev, 2n ** 64n - 2n);
  assert.equal(o.st.ino, 2n ** 64n - 1n);
  assert.equal(o.st.mtimeNs, -1_000_000_000n);
  assert.equal(o.st.isFile(), true);
});

test('asked to, the stat thread hashes the small regular files it stats (the marked ones only), as the scan would', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'small'), 'small file\n');
  await writeFile(path.join(dir, 'unmarked'), 'not to be read\n');
  await writeFile(path.join(dir, 'big'), Buffer.alloc(300 * 1024, 7)); // above SYNC_HASH_MAX: the scan streams it itself
  await mkdir(path.join(dir, 'folder'));
  await symlink('small', path.join(dir, 'link'));
  const thread = new StatThread();
  try {
    await thread.started;
    const names = ['small', 'unmarked', 'big', 'folder', 'link'];
    const got = await thread.stat(dir, names, [true, false, true, true, true]);
    const hashOf = (i: number): unknown => {
      const o = got[i];
      return o !== undefined && 'st' in o ? o.hash : 'no stat';
    };
    assert.deepEqual(hashOf(0), { ok: true, sha256: createHash('sha256').update('small file\n').digest('hex') });
    for (const i of [1, 2, 3, 4]) assert.equal(hashOf(i), undefined, names[i]);
  } finally {
    await thread.close();
  }
});
