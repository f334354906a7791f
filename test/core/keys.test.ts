/** core/keys: the names of volumes and PAR2 files, made and read back in one place. */
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { archiveName, isSetObjectKey, partArchiveName, partOfArchive, manifestUnitName, objectKind, objectTags, par2FilePattern, par2IndexPath, parseSplitVolumeName, setObjectKey, splitVolumeName, unitName, volumeFileName, volumeIndex } from '../../src/core/keys.js';

const ID = '261129_FULL_docs';

test('volume names: <set>.7z.NNN (three digits, more past 999), read back to their index', () => {
  assert.equal(archiveName(ID), `${ID}.7z`);
  assert.equal(volumeFileName(ID, 0), `${ID}.7z.001`);
  assert.equal(volumeFileName(ID, 1234), `${ID}.7z.1235`);
  assert.equal(splitVolumeName('m.7z', 12), 'm.7z.012');
  assert.deepEqual(parseSplitVolumeName(`${ID}.7z.042`), { archive: `${ID}.7z`, number: 42 });
  assert.equal(parseSplitVolumeName(`${ID}.7z.04`), null);
  assert.equal(parseSplitVolumeName(`${ID}.7z.001.tmp`), null);
  assert.equal(volumeIndex(`/staging/${ID}/${ID}.7z.007`), 6);
  assert.equal(volumeIndex(`${ID}.manifest.7z`), null);
  for (const i of [0, 9, 998, 999, 1500]) assert.equal(volumeIndex(volumeFileName(ID, i)), i);
});

test('PAR2 names: units by 1-based inclusive volume numbers, index files beside the volumes or in the unit folder', () => {
  assert.equal(unitName(ID, 20, 59), `${ID}_0021-0060`);
  assert.equal(manifestUnitName(ID), `${ID}.manifest`);
  assert.equal(par2IndexPath({ name: ID, dir: '' }), `${ID}.par2`);
  assert.equal(par2IndexPath({ name: unitName(ID, 0, 39), dir: unitName(ID, 0, 39) }), `${ID}_0001-0040/${ID}_0001-0040.par2`);
  const p = par2FilePattern(`${ID}.manifest`);
  for (const f of [`${ID}.manifest.par2`, `${ID}.manifest.vol00+12.par2`, `${ID}.manifest.vol128+64.par2`]) assert.match(f, p);
  for (const f of [`${ID}.manifest.par2.1`, `${ID}.par2`, `${ID}Xmanifest.par2`, `x${ID}.manifest.par2`, `${ID}.manifest.vol1.par2`]) assert.doesNotMatch(f, p);
  // Every name made here is one of the set's own objects (what strata may delete).
  for (const name of [volumeFileName(ID, 0), `${ID}.par2`, `${manifestUnitName(ID)}.vol00+01.par2`, par2IndexPath({ name: unitName(ID, 20, 59), dir: unitName(ID, 20, 59) })]) {
    assert.equal(isSetObjectKey(ID, setObjectKey(ID, name)), true, name);
  }
});

test('part archives: <set>.7z for part 0, <set>.p<k+1>.7z after it, read back; their volumes are the set\'s own objects', () => {
  assert.equal(partArchiveName(ID, 0), `${ID}.7z`);
  assert.equal(partArchiveName(ID, 1), `${ID}.p2.7z`);
  assert.equal(partArchiveName(ID, 2), `${ID}.p3.7z`);
  for (const k of [0, 1, 2, 9, 120]) assert.equal(partOfArchive(ID, partArchiveName(ID, k)), k);
  for (const a of [`${ID}.p1.7z`, `${ID}.p0.7z`, `${ID}.p02.7z`, `${ID}.px.7z`, `${ID}.p2.zip`, `270110_FULL_docs.p2.7z`, `${ID}.manifest.7z`]) assert.equal(partOfArchive(ID, a), null, a);
  assert.ok(isSetObjectKey(ID, `${ID}/${splitVolumeName(partArchiveName(ID, 2), 3)}`));
  assert.ok(!isSetObjectKey(ID, `${ID}/270110_FULL_docs.p2.7z.001`));
});

describe('objectKind', () => {
  const id = '270103_FULL_docs';
  const cases: [string, 'data' | 'meta'][] = [
    [`${id}.7z.001`, 'data'],
    [`${id}.7z.1234`, 'data'],
    [`${id}.p2.7z.001`, 'data'], // the volumes of every part of the set (core/parts)
    [`${id}.p3.7z.017`, 'data'],
    [`${id}.p1.7z.001`, 'meta'], // part 0 is <set>.7z: p1 is not a name strata makes
    [`${id}.p02.7z.001`, 'meta'],
    [`${id}.par2`, 'data'], // direct strategy: the volumes' index
    [`${id}.vol00+02.par2`, 'data'],
    [`${id}_0001-0040/${id}_0001-0040.par2`, 'data'],
    [`${id}_0001-0040/${id}_0001-0040.vol03+04.par2`, 'data'],
    [`${id}.strata.json`, 'meta'],
    [`${id}.manifest.7z`, 'meta'],
    [`${id}.manifest.par2`, 'meta'],
    [`${id}.manifest.vol0+1.par2`, 'meta'],
    ['RESTORE.txt', 'meta'],
    [`${id}.pending`, 'meta'],
    [`${id}.promoting`, 'meta'],
    ['270110_FULL_docs.7z.001', 'meta'], // another set's volume name: not known to be data of this set
    ['notes.txt', 'meta'],
  ];
  for (const [name, kind] of cases) {
    it(`${name} is ${kind}`, () => {
      assert.equal(objectKind(id, name), kind);
      assert.equal(objectKind(id, `${id}/${name}`), kind, 'the same from the full key');
    });
  }
  it('objectTags adds the kind to tier, type and set', () => {
    assert.deepEqual(objectTags({ id, tier: 'weekly', type: 'FULL' }, `${id}.7z.001`), { tier: 'weekly', type: 'FULL', set: id, kind: 'data' });
    assert.deepEqual(objectTags({ id, tier: 'weekly', type: 'FULL' }, 'RESTORE.txt'), { tier: 'weekly', type: 'FULL', set: id, kind: 'meta' });
  });
});
