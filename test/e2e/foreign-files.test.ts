/**
 * strata deletes only what it can prove it made (issue 7 §1): files and folders a person keeps in
 * the destination folder — of every shape, including folders named like a set, a file dropped
 * inside a real set folder, and an unfinished set of another job — survive every command: a
 * backup with a wrong password, backups, list, verify, restore and check-destination. Only the
 * unfinished set this job left (its `.pending` marker names the job, its writer is gone) is
 * removed, and of it only the set's own objects.
 */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { cli, jsonOf } from './util.js';

/** A pid that no process has (above the kernel's pid_max default range of live ones is not guaranteed; 4194304 is pid_max's hard limit). */
const DEAD_PID = 4194303;

function marker(job: string | undefined): string {
  const info: Record<string, unknown> = { host: hostname(), pid: DEAD_PID, started: '2026-11-30T09:00:00.000Z' };
  if (job !== undefined) info['job'] = job;
  return JSON.stringify(info);
}

/** FOREIGN is what a person (or another job) keeps in the destination: key → content. */
function foreign(realSet: string): Record<string, string> {
  return {
    'notes.txt': 'my notes',
    '.hidden': 'a hidden file',
    '.config/settings.ini': 'a hidden folder',
    'Photos/2019/img.jpg': 'photo',
    // Named like a set, but no marker: not provably strata's.
    '261120_FULL_docs/261120_FULL_docs.7z.001': 'looks like a volume',
    '261120_FULL_docs/readme.txt': 'mine',
    // Named like a set, with a marker that names no job (an older strata, or not strata at all).
    '261121_FULL_src/261121_FULL_src.pending': marker(undefined),
    '261121_FULL_src/261121_FULL_src.7z.001': 'old',
    // An unfinished set of another job whose writer is gone: that job's to clean up, not ours.
    '261122_FULL_src/261122_FULL_src.pending': marker('other-job'),
    '261122_FULL_src/261122_FULL_src.7z.001': 'other job',
    // A marker that cannot be read.
    '261123_FULL_src/261123_FULL_src.pending': '{torn',
    // A file the person dropped into a real set folder, and one into our own debris below.
    [`${realSet}/my-file.txt`]: 'dropped here',
    '261124_FULL_src/keep-me.txt': 'dropped into debris',
  };
}

async function plant(dest: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await fsp.mkdir(path.dirname(path.join(dest, rel)), { recursive: true });
    await fsp.writeFile(path.join(dest, rel), content);
  }
}

async function assertSurvived(dest: string, files: Record<string, string>, after: string): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const got = await fsp.readFile(path.join(dest, rel), 'utf8').catch(() => '<missing>');
    assert.equal(got, content, `${rel} after ${after}`);
  }
}

describe('foreign files in a local destination', () => {
  it('survive every command; only this job\'s own debris objects go, after the password check', async (t) => {
    const root = await tempDir(t, 'strata-foreign-');
    const src = path.join(root, 'src');
    const dest = path.join(root, 'dest');
    const state = path.join(root, 'state');
    await fsp.mkdir(src);
    await fsp.mkdir(dest);
    await fsp.writeFile(path.join(src, 'a.txt'), 'alpha');
    const base = ['--dest', dest, '--state', state];
    const first = await cli(['backup', '--tier', 'weekly', '--source', src, ...base, '--json'], { now: '2026-11-29T09:00:00Z' });
    const realSet = (jsonOf<{ sources: { setId: string }[] }>(first).sources[0]?.setId) ?? '';
    assert.match(realSet, /^261129_FULL_src$/);
    const files = foreign(realSet);
    await plant(dest, files);
    // This job's own debris: a marker naming job "default" (a config-free run), writer gone.
    const debris = '261124_FULL_src';
    await plant(dest, { [`${debris}/${debris}.pending`]: marker('default'), [`${debris}/${debris}.7z.001`]: 'partial', [`${debris}/RESTORE.txt`]: 'x' });

    const wrong = await cli(['backup', '--tier', 'weekly', '--source', src, ...base], { now: '2026-11-30T09:00:00Z', env: { STRATA_PASSWORD: 'not the password' }, expect: 12 });
    await assertSurvived(dest, files, 'a backup with a wrong password');
    assert.equal(await fsp.readFile(path.join(dest, debris, `${debris}.7z.001`), 'utf8'), 'partial', `nothing is removed before the password is checked\n${wrong.stderr}`);

    const second = await cli(['backup', '--tier', 'weekly', '--source', src, ...base], { now: '2026-11-30T09:00:00Z' });
    await assertSurvived(dest, files, 'backup');
    assert.match(second.stderr, /removed the unfinished set 261124_FULL_src/);
    for (const n of [`${debris}.pending`, `${debris}.7z.001`, 'RESTORE.txt']) {
      await assert.rejects(fsp.access(path.join(dest, debris, n)), `${n} of this job's debris is removed`);
    }

    await fsp.writeFile(path.join(src, 'b.txt'), 'beta');
    await cli(['backup', '--tier', 'daily', '--source', src, ...base], { now: '2026-12-01T09:00:00Z' });
    await assertSurvived(dest, files, 'a daily backup');

    const list = jsonOf<{ sets: { id: string }[]; problems: unknown[] }>(await cli(['list', '--json', ...base]));
    assert.deepEqual(list.sets.map((s) => s.id), ['261129_FULL_src', '261130_FULL_src', '261201_INCR_src']);
    assert.deepEqual(list.problems, []);
    await assertSurvived(dest, files, 'list');

    await cli(['verify', ...base]);
    await cli(['verify', '--all', ...base]);
    await assertSurvived(dest, files, 'verify');

    const to = path.join(root, 'restored');
    await cli(['restore', ...base, '--to', to]);
    assert.deepEqual((await fsp.readdir(to)).sort(), ['a.txt', 'b.txt']);
    await assertSurvived(dest, files, 'restore');

    await cli(['check-destination', '--dest', dest]);
    await assertSurvived(dest, files, 'check-destination');
  });
});
