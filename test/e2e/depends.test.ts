/**
 * A set's `depends` (the sets whose archives its manifest's files point into) now comes from the
 * scan rather than from reading the manifest back: an INCR chain keeps naming exactly the sets
 * that hold its files, including an INCR without volumes of its own.
 */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { cli, day, jsonOf } from './util.js';

test('depends names exactly the sets holding the files of each set of a chain', async (t) => {
  const root = await tempDir(t, 'strata-e2e-');
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await fsp.mkdir(src);
  await fsp.mkdir(dest);
  await fsp.writeFile(path.join(src, 'a.txt'), 'a');
  await fsp.writeFile(path.join(src, 'b.txt'), 'b');
  const common = ['--source', src, '--dest', dest, '--state', path.join(root, 'state')];
  const id = async (tier: string, now: string): Promise<string> => {
    const j = jsonOf<{ sources: { setId: string | null }[] }>(await cli(['backup', '--json', '--tier', tier, ...common], { now }));
    return j.sources[0]?.setId ?? '';
  };
  const full = await id('weekly', day(1));
  await fsp.writeFile(path.join(src, 'b.txt'), 'b, changed');
  const incr = await id('daily', day(2));
  // Only a deletion: no volumes of its own; its files are in the two sets before it.
  await fsp.rm(path.join(src, 'a.txt'));
  const del = await id('daily', day(3));
  const sets = jsonOf<{ sets: { id: string; depends: string[] }[] }>(await cli(['list', '--json', '--dest', dest, '--state', path.join(root, 'state')])).sets;
  const depends = new Map(sets.map((s) => [s.id, [...s.depends].sort()]));
  assert.deepEqual(depends.get(full), [full]);
  assert.deepEqual(depends.get(incr), [full, incr].sort());
  assert.deepEqual(depends.get(del), [incr]);
});
