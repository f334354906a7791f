/**
 * What strata may delete (issue 7 §1): only a set's own object names inside its folder, and only
 * folders whose `.pending` marker names this job and whose writer is gone; the catalog ignores
 * folders that are not named like a set.
 */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { Repository } from '../../src/repository/repository.js';
import { isSetObjectKey } from '../../src/core/keys.js';
import { tempDir } from '../helpers/tmp.js';

const ID = '261129_FULL_docs';
const NOW = new Date('2026-11-29T12:00:00Z');

describe('debris rules', () => {
  it('a marker read back keeps everything its writer recorded: job, machine, boot id and start time', async (t) => {
    const dir = await tempDir(t, 'strata-marker-');
    const repo = new Repository(new LocalBackend(dir));
    const machine = { id: 'aaaa0000000000000000000000000001', host: 'laptop' };
    await repo.markPending(ID, NOW, 'default', machine);
    const [inc] = (await repo.catalog()).incomplete;
    assert.equal(inc?.id, ID);
    assert.equal(inc.pending?.job, 'default');
    assert.deepEqual(inc.pending.machine, machine);
    assert.equal(inc.pending.pid, process.pid);
    assert.match(inc.pending.bootId ?? '', /^[0-9a-f-]{36}$/);
    assert.match(inc.pending.procStart ?? '', /^\d+$/);
    // Another machine's marker is that machine's, never this one's debris.
    assert.equal(Repository.markerOwner(inc.pending, { id: 'bbbb0000000000000000000000000002', host: 'laptop' }), 'other');
    assert.equal(Repository.markerOwner(inc.pending, machine), 'this');
  });

  it('isSetObjectKey accepts the set\'s own object names only', () => {
    for (const k of [`${ID}/${ID}.7z.001`, `${ID}/${ID}.manifest.7z`, `${ID}/${ID}.vol00+12.par2`, `${ID}/${ID}.pending`, `${ID}/${ID}.strata.json`, `${ID}/RESTORE.txt`, `${ID}/${ID}_0001-0040/${ID}_0001-0040.par2`, `${ID}/${ID}_0021-0060/${ID}_0021-0060.vol01+02.par2`]) {
      assert.equal(isSetObjectKey(ID, k), true, k);
    }
    for (const k of [`${ID}/my-notes.txt`, `${ID}/.hidden`, `${ID}/sub/${ID}.7z.001`, `${ID}/${ID}_0001-0040/photo.jpg`, `${ID}/${ID}_x/${ID}_x.par2`, `${ID}/restore.txt`, `other/${ID}.7z.001`, `${ID}x/${ID}.7z.001`, `${ID}/${ID}.7z.001/inner`]) {
      assert.equal(isSetObjectKey(ID, k), false, k);
    }
  });

  it('isDebris needs a marker naming this job whose writer is gone', () => {
    const dead = { host: hostname(), pid: 4194303, started: '2026-11-29T09:00:00Z' };
    assert.equal(Repository.isDebris({ ...dead, job: 'default' }, NOW, 'default'), true);
    assert.equal(Repository.isDebris(undefined, NOW, 'default'), false, 'no marker');
    assert.equal(Repository.isDebris(dead, NOW, 'default'), false, 'a marker without a job');
    assert.equal(Repository.isDebris({ ...dead, job: 'other' }, NOW, 'default'), false, 'another job');
    assert.equal(Repository.isDebris({ host: hostname(), pid: process.pid === 1 ? 2 : 1, started: dead.started, job: 'default' }, NOW, 'default'), false, 'a live writer');
    assert.equal(Repository.isDebris({ host: 'elsewhere', pid: 1, started: '2026-11-29T00:00:00Z', job: 'default' }, NOW, 'default'), false, 'another host, recent');
    assert.equal(Repository.isDebris({ host: 'elsewhere', pid: 1, started: '2026-11-27T00:00:00Z', job: 'default' }, NOW, 'default'), true, 'another host, stale');
  });

  it('the catalog ignores folders not named like a set, and reports no problem for them', async (t) => {
    const dir = await tempDir(t);
    const files: Record<string, string> = { 'Photos/2019/img.jpg': 'x', 'backup/backup.strata.json': '{broken', 'notes.txt': 'y', [`${ID}/${ID}.7z.001`]: 'z' };
    for (const [rel, text] of Object.entries(files)) {
      await fsp.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await fsp.writeFile(path.join(dir, rel), text);
    }
    const c = await new Repository(new LocalBackend(dir)).catalog();
    assert.deepEqual(c.foreign, ['Photos', 'backup']);
    assert.deepEqual(c.problems, []);
    assert.deepEqual(c.incomplete.map((i) => [i.id, i.pending]), [[ID, undefined]]);
  });
  it('a marker is read by its schema: torn or missing fields make it unreadable, an ill-typed optional field is dropped', async (t) => {
    const dir = await tempDir(t);
    const write = async (id: string, text: string): Promise<void> => {
      await fsp.mkdir(path.join(dir, id), { recursive: true });
      await fsp.writeFile(path.join(dir, id, `${id}.pending`), text);
    };
    const base = { host: 'laptop', pid: 7, started: NOW.toISOString() };
    await write('261129_FULL_a', JSON.stringify({ ...base, job: 42, bootId: 'b', procStart: 3, extra: 'x', machine: 'not a machine' }));
    await write('261129_FULL_b', JSON.stringify({ host: 'laptop', started: NOW.toISOString() }));
    await write('261129_FULL_c', '{"host": "laptop", "pid": 7, "sta');
    await write('261129_FULL_d', '[1, 2]');
    const c = await new Repository(new LocalBackend(dir)).catalog();
    const byId = new Map(c.incomplete.map((i) => [i.id, i.pending]));
    assert.deepEqual(JSON.parse(JSON.stringify(byId.get('261129_FULL_a'))), { ...base, bootId: 'b', machine: 'not a machine' });
    assert.equal(Repository.markerOwner(byId.get('261129_FULL_a'), { id: 'aaaa0000000000000000000000000001', host: 'laptop' }), 'other');
    assert.deepEqual([byId.get('261129_FULL_b'), byId.get('261129_FULL_c'), byId.get('261129_FULL_d')], [undefined, undefined, undefined]);
    assert.equal(byId.size, 4);
  });
});
