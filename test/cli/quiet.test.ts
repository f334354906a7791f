/** --quiet: nothing at all on success (cron mails only failures); a failure still says what is wrong. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test('backup, verify and restore with -q print nothing when they succeed; a damaged set is still reported', { timeout: 180_000 }, async (t) => {
  const root = await tempDir(t, 'strata-quiet-');
  const src = path.join(root, 'docs');
  const dest = path.join(root, 'dest');
  await mkdir(src);
  await mkdir(dest);
  await writeFile(path.join(src, 'a.txt'), 'alpha\n');
  const env = { STRATA_PASSWORD: 'quiet pw' };
  const state = ['--state', path.join(root, 'state')];
  for (const args of [['backup', '-t', 'weekly', '--source', src, '--dest', dest], ['verify', '--dest', dest], ['restore', '--dest', dest, '--to', path.join(root, 'r')]]) {
    const r = await strata([...state, '-q', ...args], { env });
    assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    assert.equal(r.stdout + r.stderr, '', `${args[0]} -q printed something on success`);
  }
  // Without -q the same commands say what they did, in plain words ("1 file", not "1 files").
  const loud = await strata([...state, 'verify', '--dest', dest], { env });
  assert.match(loud.stdout, /: OK/);
  const restored = await strata([...state, 'restore', '--dest', dest, '--to', path.join(root, 'r2')], { env });
  assert.match(restored.stdout, /restored 1 file \(6 B\), 0 folders, 0 symlinks from/);
  await writeFile(path.join(src, 'a.txt'), 'alpha, changed\n');
  const daily = await strata([...state, 'backup', '-t', 'daily', '--source', src, '--dest', dest], { env });
  assert.match(daily.stdout, /— 1 entry .*archived 1 file, stored .* in 1 volume, PAR2/, daily.stdout);
  assert.doesNotMatch(daily.stdout + restored.stdout, /\(s\)|\b1 files\b|\b1 volumes\b/);
  // list counts entries as the backup summary does, and shows the recovery data really stored.
  const list = await strata([...state, 'list', '--dest', dest], { env });
  assert.match(list.stdout, /ENTRIES +PROTECTION +RECOVERY/);
  const json = JSON.parse((await strata([...state, '--json', 'list', '--dest', dest], { env })).stdout) as { sets: { recoveryPercent: number; files: number }[] };
  for (const s of json.sets) {
    assert.ok(s.recoveryPercent > 0, 'a set with volumes stores recovery data');
    assert.match(list.stdout, new RegExp(` ${s.files}  .* ${s.recoveryPercent}%  `));
  }
  // A lost volume: -q still reports the damage, with the exit code.
  const [set] = (await readdir(dest)).filter((n) => /_FULL_docs$/.test(n));
  assert.ok(set !== undefined);
  await rm(path.join(dest, set, `${set}.7z.001`));
  const bad = await strata([...state, '-q', 'verify', '--all', '--dest', dest], { env });
  assert.equal(bad.code, 13, bad.stderr);
  assert.match(bad.stdout + bad.stderr, /DAMAGED/);
});
