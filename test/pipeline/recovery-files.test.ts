/**
 * pipeline/setfiles recoveryFilesFor: the recovery files a repair of some volumes needs are those
 * of the PAR2 units covering them (restore requests exactly these from archive storage).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unitName, volumeFileName } from '../../src/core/keys.js';
import { recoveryFilesFor } from '../../src/pipeline/setfiles.js';

const ID = '261207_FULL_docs';
const H = 'ab'.repeat(32);

test('recoveryFilesFor: the files of the overlapping windows covering the damaged volumes, no others, none of the manifest', () => {
  // Sliding windows of 4 volumes, sliding by 2, over 8 volumes: 1-4, 3-6, 5-8 (each in its folder).
  const ranges: [number, number][] = [[0, 3], [2, 5], [4, 7]];
  const units = ranges.map(([a, b]) => ({ name: unitName(ID, a, b), dir: unitName(ID, a, b), volumes: Array.from({ length: b - a + 1 }, (_, i) => a + i) }));
  const filesOf = (u: { name: string; dir: string }) => [`${u.dir}/${u.name}.par2`, `${u.dir}/${u.name}.vol00+04.par2`, `${u.dir}/${u.name}.vol04+04.par2`];
  const d = {
    volumes: Array.from({ length: 8 }, (_, i) => ({ name: volumeFileName(ID, i) })),
    protection: { units },
    recovery: [...units.flatMap(filesOf), `${ID}.manifest.par2`, `${ID}.manifest.vol0+1.par2`].map((name) => ({ name, size: 1, sha256: H })),
  };
  const names = (bad: string[]) => recoveryFilesFor(d, bad).map((o) => o.name);
  const [w1, w2, w3] = units.map(filesOf);
  // Volume 2 (index 1): only the first window.
  assert.deepEqual(names([volumeFileName(ID, 1)]), w1);
  // Volume 4 (index 3): the first two windows overlap there.
  assert.deepEqual(names([volumeFileName(ID, 3)]), [...(w1 ?? []), ...(w2 ?? [])]);
  // Volumes 1 and 8: the outer windows, not the middle one.
  assert.deepEqual(names([volumeFileName(ID, 0), volumeFileName(ID, 7)]), [...(w1 ?? []), ...(w3 ?? [])]);
  assert.deepEqual(names([]), []);
  // One unit beside the volumes (dir ''): its files, whatever the damage.
  const direct = { name: ID, dir: '', volumes: [0, 1, 2] };
  const flat = { volumes: d.volumes.slice(0, 3), protection: { units: [direct] }, recovery: [`${ID}.par2`, `${ID}.vol0+3.par2`, `${ID}.manifest.par2`].map((name) => ({ name, size: 1, sha256: H })) };
  assert.deepEqual(recoveryFilesFor(flat, [volumeFileName(ID, 2)]).map((o) => o.name), [`${ID}.par2`, `${ID}.vol0+3.par2`]);
  // No protection: nothing can repair.
  assert.deepEqual(recoveryFilesFor({ ...flat, protection: null }, [volumeFileName(ID, 2)]), []);
});
