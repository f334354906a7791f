/**
 * restore/follow: files are hashed while 7-Zip extracts the next ones. A set of several archives
 * (core/parts) is extracted by one 7-Zip per archive at once, so the item lines of the archives
 * interleave; each archive holds a subsequence of the manifest. FollowSet must hash the finished
 * files of every archive (not only those of the first), hand each result to placeExtracted in
 * manifest order whatever order they were hashed in, and never hand out a file changed since.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { ManifestEntry } from '../../src/core/manifest.js';
import { FollowSet, type Selected } from '../../src/pipeline/restore/follow.js';
import { tempDir } from '../helpers/tmp.js';

async function* list(entries: ManifestEntry[]): AsyncGenerator<Selected> {
  for (const e of entries) yield { found: e, e };
}

test('FollowSet: interleaved item lines of two archives (each a subsequence of the manifest) are hashed early, taken in manifest order, a changed file is not', async (t) => {
  const out = await tempDir(t, 'strata-follow-');
  const names = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];
  const entries: ManifestEntry[] = [];
  for (const n of names) {
    const body = `contents of ${n}\n`.repeat(50);
    await fsp.writeFile(path.join(out, n), body, { mode: 0o644 });
    entries.push({ path: n, type: 'file', size: body.length, mtimeNs: 0n, mode: 0o644, sha256: createHash('sha256').update(body).digest('hex') });
  }
  const follow = new FollowSet(() => list(entries), out);
  // Archive 0 holds f1 f3 f5 f7, archive 1 holds f2 f4 f6; 7-Zip reports an item as it starts it,
  // so the item before is final. The last item of each archive is final only when its 7-Zip exits
  // (stop), and is then left to placeExtracted.
  // Archive 1 runs ahead of archive 0: the names come out of manifest order.
  const feed: [number, string][] = [[1, 'f2'], [1, 'f4'], [0, 'f1'], [1, 'f6'], [0, 'f3'], [0, 'f5'], [0, 'f7']];
  for (const [k, name] of feed) {
    follow.item(k, name);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 100));
  // f1 f3 f5 (archive 0) and f2 f4 (archive 1): both archives' files, not only the first's.
  assert.equal(follow.hashed, 5);
  // f3 changes after it was hashed (same size), before 7-Zip has exited: it is not handed out, and
  // is hashed again when placed.
  await fsp.writeFile(path.join(out, 'f3'), (await fsp.readFile(path.join(out, 'f3'), 'utf8')).replace('c', 'C'));
  await follow.stop();
  try {
    const taken: boolean[] = [];
    for (const n of names) taken.push((await follow.take(n, path.join(out, n))) !== undefined);
    assert.deepEqual(taken, [true, true, false, true, true, false, false]);
    assert.equal(follow.hashed, 0, 'every result was taken once');
    assert.equal(await follow.take('f1', path.join(out, 'f1')), undefined, 'a result is handed out once');
  } finally {
    await follow.close();
  }
});

test('EarlyChecks: stop() arriving while the checks give the event loop a turn still ends them (it once waited forever, and the restore exited 0 halfway)', async (t) => {
  const out = await tempDir(t, 'strata-follow-');
  // The holder's list answers slowly (more than the checks' 4 ms slice), so that after looking a
  // name up the checks yield to the event loop; stop() is queued to run in exactly that turn.
  const ref: { follow?: FollowSet } = {};
  let stopping: Promise<void> | undefined;
  const slow = (): AsyncIterator<Selected> => ({
    next: () => new Promise((resolve) => {
      setTimeout(() => {
        setImmediate(() => {
          stopping = ref.follow?.stop();
        });
        resolve({ done: true, value: undefined });
      }, 10);
    }),
  });
  const follow = new FollowSet(slow, out);
  ref.follow = follow;
  follow.item(0, 'a');
  follow.item(0, 'b');
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(stopping !== undefined, 'stop() was called');
  const ended = await Promise.race([stopping.then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still waiting'), 2000))]);
  assert.equal(ended, 'stopped');
  await follow.close();
});

test('FollowSet: an archive whose first file lies more than 512 entries into the holder\'s list is still followed (a routed set\'s second LZMA2 archive was hashed only after extraction)', async (t) => {
  const out = await tempDir(t, 'strata-follow-');
  const entries: ManifestEntry[] = [];
  for (let i = 0; i < 700; i++) {
    const n = `f${String(i).padStart(4, '0')}`;
    const body = `contents of ${n}\n`;
    await fsp.writeFile(path.join(out, n), body, { mode: 0o644 });
    entries.push({ path: n, type: 'file', size: body.length, mtimeNs: 0n, mode: 0o644, sha256: createHash('sha256').update(body).digest('hex') });
  }
  const follow = new FollowSet(() => list(entries), out);
  // Archive 1 holds the first 600 files and has not started; archive 0 holds the last 100 and runs.
  for (const e of entries.slice(600)) follow.item(0, e.path);
  await new Promise((r) => setTimeout(r, 300));
  // Then archive 1 runs through its files.
  for (const e of entries.slice(0, 600)) follow.item(1, e.path);
  await new Promise((r) => setTimeout(r, 500));
  await follow.stop();
  try {
    // Every file but each archive's last (final only when its 7-Zip exits).
    assert.equal(follow.hashed, 698);
    assert.ok((await follow.take('f0600', path.join(out, 'f0600'))) !== undefined, 'archive 0\'s first file was hashed early');
    assert.ok((await follow.take('f0000', path.join(out, 'f0000'))) !== undefined, 'archive 1\'s first file was hashed early');
  } finally {
    await follow.close();
  }
});
