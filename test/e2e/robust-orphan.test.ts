/**
 * A backup killed while 7-Zip is paused (SIGSTOP, staging full) leaves a stopped 7zz behind; the
 * next run of the job must end it (it holds files in the staging folder and would wait forever),
 * say so, and complete a set that restores exactly.
 */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { namesPathIn } from '../../src/exec/orphans.js';
import { strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { Rng, assertSameTree, descendants, isAlive, killQuietly, procState, show, snapshot, waitFor } from './robust-util.js';

test('namesPathIn: a path inside the folder, alone or right after a switch', () => {
  const dir = '/s/jobs/j/staging';
  for (const a of ['/s/jobs/j/staging/X/X.7z', '-B/s/jobs/j/staging/X', '@/s/jobs/j/staging/X.work/archive.list', '-o/s/jobs/j/staging/r']) assert.ok(namesPathIn(a, dir), a);
  for (const a of ['/s/jobs/j/staging', '/x/s/jobs/j/staging/X', 'name=/s/jobs/j/staging/X', '/s/jobs/j/staging-other/X', '-mx=5']) assert.ok(!namesPathIn(a, dir), a);
});

test('a 7zz left stopped by a killed backup is ended by the next run, which completes and restores exactly', { timeout: 180_000 }, async (t) => {
  const dir = await tempDir(t);
  const src = path.join(dir, 'src');
  const state = path.join(dir, 'state');
  const dest = path.join(dir, 'dest');
  await fsp.mkdir(dest); // strata never creates a missing destination
  const rng = new Rng(7);
  await fsp.mkdir(path.join(src, 'data'), { recursive: true });
  for (let i = 0; i < 24; i++) await fsp.writeFile(path.join(src, 'data', `f${i}.bin`), rng.bytes(160 * 1024));
  // Sliding windows over 64 KiB volumes with one volume of staging: 7-Zip is paused again and again.
  const config = path.join(dir, 'strata.yaml');
  await fsp.writeFile(config, [
    'sources:', `  - path: ${JSON.stringify(src)}`, `destination: ${JSON.stringify(dest)}`,
    'archive:', '  weekly: { level: 1, volumeSize: 64KiB }', 'staging:', '  maxVolumes: 1',
    'protection:', '  directMaxBytes: 1', '  groupedMaxBytes: 1', '  windowSize: 4', '  windowSlide: 2', '',
  ].join('\n'));
  const password = 'orphan-test-password';
  const env = { STRATA_PASSWORD: password };
  let strataPid = 0;
  let stopped: number | undefined;
  const first = strata(['--config', config, '--state', state, 'backup', '--tier', 'weekly'], {
    env,
    onSpawn: (c) => {
      strataPid = c.pid ?? 0;
      void (async () => {
        stopped = await waitFor(() => descendants(strataPid).find((p) => p.comm === '7zz' && procState(p.pid) === 'T')?.pid, 60_000, 2);
        // strata alone, as the OOM killer would: its paused 7zz is re-parented and stays stopped.
        killQuietly(strataPid, 'SIGKILL');
      })();
    },
  });
  const r1 = await first;
  assert.ok(stopped !== undefined, `7-Zip was never seen paused: ${show(r1)}`);
  assert.equal(r1.signal, 'SIGKILL');
  t.after(() => {
    if (stopped !== undefined) killQuietly(stopped, 'SIGKILL');
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(isAlive(stopped) && procState(stopped) === 'T', 'the orphaned 7zz is still there, stopped');

  const r2 = await strata(['--config', config, '--state', state, 'backup', '--tier', 'weekly'], { env });
  assert.equal(r2.code, 0, show(r2));
  assert.match(r2.stderr, new RegExp(`stopped 7zz \\(pid ${stopped}\\), left running by an interrupted backup`));
  assert.ok(!isAlive(stopped), 'the orphan is gone');

  const out = path.join(dir, 'restored');
  const r3 = await strata(['--config', config, '--state', state, 'restore', '--to', out], { env });
  assert.equal(r3.code, 0, show(r3));
  assertSameTree(await snapshot(out), await snapshot(src), 'the restored tree');
});
