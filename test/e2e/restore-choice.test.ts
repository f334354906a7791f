/**
 * Restore and verify read the right sets, and say so when they cannot:
 * - a set made again under an id this machine has seen before (wiped destination) is read from
 *   its own manifest, not from the local copy of the earlier set's (restore and the next INCR);
 * - a config file's job restores only its own sets; without one, sets of two jobs (of two
 *   machines) sharing a source name on one destination are refused as ambiguous;
 * - a set whose descriptor cannot be read makes verify fail (exit 13) and restore warn.
 */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { assertSameTree, cli, day, jsonOf, listTree, snapshot } from './util.js';

describe('restore picks the right sets', { concurrency: 3 }, () => {
  it('a set made again under a known id (wiped destination): restore and the next INCR use its own manifest', async (t) => {
    const root = await tempDir(t, 'strata-choice-');
    const src = path.join(root, 'src');
    await fsp.mkdir(src);
    await fsp.writeFile(path.join(src, 'a.txt'), 'v1\n');
    const dest = path.join(root, 'dest');
    const g = ['--source', src, '--dest', dest, '--state', path.join(root, 'state')];
    const r = ['--dest', dest, '--state', path.join(root, 'state')];
    await cli(['backup', '--quiet', '--tier', 'weekly', ...g], { now: day(0, '10:00:00') });
    await cli(['restore', '--quiet', '--to', path.join(root, 'r1'), ...r]);
    // The destination is wiped and the source grows; the new set gets the same id as the old one.
    await fsp.rm(dest, { recursive: true });
    await fsp.writeFile(path.join(src, 'b.txt'), 'new\n');
    const full = jsonOf<{ sources: { setId: string }[] }>(await cli(['backup', '--json', '--tier', 'weekly', ...g], { now: day(0, '11:00:00') }));
    assert.equal(full.sources[0]?.setId, '261129_FULL_src', 'the same id as the wiped set');
    await cli(['restore', '--quiet', '--to', path.join(root, 'r2'), ...r]);
    assertSameTree(await snapshot(path.join(root, 'r2')), await snapshot(src));
    // The next INCR is taken against the new set: b.txt unchanged, only c.txt added.
    await fsp.writeFile(path.join(src, 'c.txt'), 'c\n');
    const incr = jsonOf<{ sources: { type: string; added: number; modified: number }[] }>(await cli(['backup', '--json', '--tier', 'daily', ...g], { now: day(1) }));
    assert.deepEqual(incr.sources.map((s) => [s.type, s.added, s.modified]), [['INCR', 1, 0]]);
    await cli(['restore', '--quiet', '--to', path.join(root, 'r3'), ...r]);
    assertSameTree(await snapshot(path.join(root, 'r3')), await snapshot(src));
  });

  it('two jobs with a source of the same name on one destination: each config restores its own; config-free is refused as ambiguous', async (t) => {
    const root = await tempDir(t, 'strata-choice-');
    const dest = path.join(root, 'dest');
    await fsp.mkdir(dest); // strata never creates a missing destination
    for (const job of ['laptop', 'desktop']) {
      const docs = path.join(root, job, 'docs');
      await fsp.mkdir(docs, { recursive: true });
      await fsp.writeFile(path.join(docs, `${job}.txt`), `${job}\n`);
      await fsp.writeFile(path.join(root, `${job}.yaml`), `job: ${job}\nsources:\n  - path: ${job}/docs\ndestination: dest\n`);
    }
    await cli(['--config', path.join(root, 'laptop.yaml'), '--state', path.join(root, 'sl'), 'backup', '--quiet', '--tier', 'weekly'], { now: day(0, '10:00:00') });
    await cli(['--config', path.join(root, 'desktop.yaml'), '--state', path.join(root, 'sd'), 'backup', '--quiet', '--tier', 'weekly'], { now: day(0, '11:00:00') });
    // The laptop's config restores the laptop's set although the desktop's is newer.
    await cli(['--config', path.join(root, 'laptop.yaml'), '--state', path.join(root, 'sl'), 'restore', '--quiet', '--to', path.join(root, 'rl')]);
    assert.deepEqual(await listTree(path.join(root, 'rl')), ['laptop.txt']);
    const v = jsonOf<{ sets: { id: string }[] }>(await cli(['--config', path.join(root, 'laptop.yaml'), '--state', path.join(root, 'sl'), 'verify', '--json']));
    assert.deepEqual(v.sets.map((s) => s.id), ['261129_FULL_docs']);
    // Without a config: ambiguous, exit 2, nothing restored; --set picks one.
    const amb = await cli(['restore', '--dest', dest, '--state', path.join(root, 'sx'), '--to', path.join(root, 'rx')], { expect: 2 });
    // (Two state folders are two machines: the candidates are listed with their job and machine.)
    assert.match(amb.stderr, /sets of several machines/);
    assert.match(amb.stderr, /job desktop, host .*: sources docs; newest set 261129_FULL_docs_110000/);
    assert.match(amb.stderr, /job laptop, host .*: sources docs; newest set 261129_FULL_docs /);
    await assert.rejects(fsp.access(path.join(root, 'rx', 'laptop.txt')));
    const sets = jsonOf<{ sets: { id: string; job?: string }[] }>(await cli(['list', '--json', '--dest', dest, '--state', path.join(root, 'sx')])).sets;
    const desktopSet = sets.map((s) => s.id).find((id) => id !== '261129_FULL_docs');
    assert.ok(desktopSet !== undefined);
    await cli(['restore', '--quiet', '--set', desktopSet, '--dest', dest, '--state', path.join(root, 'sx'), '--to', path.join(root, 'rd')]);
    assert.deepEqual(await listTree(path.join(root, 'rd')), ['desktop.txt']);
    // Config-free verify checks the newest set of each job's source.
    const all = jsonOf<{ sets: { id: string }[] }>(await cli(['verify', '--json', '--dest', dest, '--state', path.join(root, 'sx')]));
    assert.equal(all.sets.length, 2);
  });

  it('a set whose descriptor cannot be read: verify exits 13 naming it; restore warns that it restores an older state', async (t) => {
    const root = await tempDir(t, 'strata-choice-');
    const src = path.join(root, 'src');
    await fsp.mkdir(src);
    await fsp.writeFile(path.join(src, 'a.txt'), 'v1\n');
    const dest = path.join(root, 'dest');
    const g = ['--dest', dest, '--state', path.join(root, 'state')];
    await cli(['backup', '--quiet', '--tier', 'weekly', '--source', src, ...g], { now: day(0) });
    await fsp.writeFile(path.join(src, 'a.txt'), 'v2\n');
    const incr = jsonOf<{ sources: { setId: string }[] }>(await cli(['backup', '--json', '--tier', 'daily', '--source', src, ...g], { now: day(1) }));
    const id = incr.sources[0]?.setId ?? '';
    await fsp.truncate(path.join(dest, id, `${id}.strata.json`), 100);
    const v = await cli(['verify', '--all', ...g], { expect: 13 });
    assert.match(v.stdout, new RegExp(`${id}: DAMAGED {2}\\(its descriptor cannot be read`));
    const r = await cli(['restore', '--to', path.join(root, 'r'), ...g]);
    assert.match(r.stderr, new RegExp(`set ${id} is skipped: its descriptor cannot be read.*may be older than that set`));
    assert.equal(await fsp.readFile(path.join(root, 'r', 'a.txt'), 'utf8'), 'v1\n');
  });
});
