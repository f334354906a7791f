/** Grouped and sliding-window strategies against real par2, including the fixed-point retry across overlaps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { simulateRepair } from '../../src/core/protection/index.js';
import { openParityEngine } from '../../src/parity/open.js';
import { expectOutcome } from './check.js';
import { BLOCK, damageRun, flipBlocks, makeSet, removeVolumes, testConfig } from './fixtures.js';

const VOL = 65536; // 16 blocks

test('grouped: each group survives its own guaranteed loss; two in one group are named lost', async (t) => {
  const engine = await openParityEngine();
  const set = await makeSet(t, engine, new Array<number>(10).fill(VOL), testConfig('grouped', 20, { groupSize: 5 }));
  assert.equal(set.plan.strategy, 'grouped');
  assert.deepEqual(
    set.plan.units.map((u) => [u.dir, u.sourceBlocks, u.recoveryBlocks]),
    [
      ['261129_FULL_docs_0001-0005', 80, 16],
      ['261129_FULL_docs_0006-0010', 80, 16],
    ],
  );
  assert.ok((await readdir(path.join(set.dir, '261129_FULL_docs_0001-0005'))).includes('261129_FULL_docs_0001-0005.par2'));
  const g = set.plan.guarantees;
  assert.deepEqual([g.wholeVolumesAnywhere, g.scatteredBlocks, g.contiguousBytes], [1, 16, 15 * BLOCK + 1]);

  await expectOutcome(set, engine, await removeVolumes(set, [1, 8]), true, 'one deleted volume per group');
  const r = await expectOutcome(set, engine, await removeVolumes(set, [2, 3, 7]), false, 'two deleted in group 1, one in group 2');
  assert.deepEqual(r.lost, [set.names[2], set.names[3]]);
  assert.equal(r.volumes[7]?.outcome, 'repaired');
  // A run of the guaranteed length across the group boundary (volumes 5|6) touches both groups.
  await damageRun(set, 5 * VOL - 8 * BLOCK - 1, g.contiguousBytes);
  await expectOutcome(set, engine, new Map([[4, 9], [5, 8]]), true, 'run across the group boundary');
  // The same length inside one group, worst alignment, still fits; one byte more does not.
  await damageRun(set, VOL - 8 * BLOCK - 1, g.contiguousBytes + 1);
  await expectOutcome(set, engine, new Map([[0, 9], [1, 8]]), false, 'run one byte beyond the guarantee');
});

test('grouped: a remainder under half a group joins the last group, a larger one is a tail group', async (t) => {
  const engine = await openParityEngine();
  // 12 volumes in groups of 5: the remainder of 2 (< 3) joins the second group, 6-12 (7 volumes).
  const set = await makeSet(t, engine, new Array<number>(12).fill(VOL), testConfig('grouped', 20, { groupSize: 5 }));
  assert.deepEqual(
    set.plan.units.map((u) => [u.dir, u.sourceBlocks, u.recoveryBlocks]),
    [
      ['261129_FULL_docs_0001-0005', 80, 16],
      ['261129_FULL_docs_0006-0012', 112, 23],
    ],
  );
  assert.deepEqual(set.plan.guarantees.perUnit.map((g) => g.wholeVolumes), [1, 1]);
  // The last volume (the archive header) and one in the first group, each rebuilt by its own group.
  await expectOutcome(set, engine, await removeVolumes(set, [11, 0]), true, 'the last volume, in the absorbing group, and one in group 1');
  const r = await expectOutcome(set, engine, await removeVolumes(set, [5, 11]), false, 'two in the absorbing group');
  assert.deepEqual(r.lost, [set.names[5], set.names[11]]);

  // 13 volumes: the remainder of 3 (≥ 3) is a tail group of its own, 11-13.
  const tail = await makeSet(t, engine, new Array<number>(13).fill(VOL), testConfig('grouped', 20, { groupSize: 5 }));
  assert.deepEqual(
    tail.plan.units.map((u) => u.dir),
    ['261129_FULL_docs_0001-0005', '261129_FULL_docs_0006-0010', '261129_FULL_docs_0011-0013'],
  );
  assert.deepEqual(tail.plan.guarantees.perUnit.map((g) => g.wholeVolumes), [1, 1, 1]);
  await expectOutcome(tail, engine, await removeVolumes(tail, [12, 7, 1]), true, 'one volume in each group, the last one among them');
});

test('sliding: windows cover the tail, and overlaps rescue windows short of blocks', async (t) => {
  const engine = await openParityEngine();
  // 9 volumes, windows of 4 sliding by 2: 1-4, 3-6, 5-8 and the tail window 6-9.
  const set = await makeSet(t, engine, new Array<number>(9).fill(VOL), testConfig('sliding', 25, { windowSize: 4, windowSlide: 2 }));
  assert.deepEqual(
    set.plan.units.map((u) => u.dir),
    ['261129_FULL_docs_0001-0004', '261129_FULL_docs_0003-0006', '261129_FULL_docs_0005-0008', '261129_FULL_docs_0006-0009'],
  );
  assert.ok(set.plan.units.every((u) => u.recoveryBlocks === 16));
  assert.equal(set.plan.guarantees.wholeVolumesAnywhere, 1);

  await expectOutcome(set, engine, await removeVolumes(set, [8]), true, 'the last volume (only in the tail window)');
  await expectOutcome(set, engine, await removeVolumes(set, [1, 6]), true, 'one volume per window');
  // Volume 1 only in window 1-4, volume 3 in 1-4 and 3-6: 1-4 is short alone, 3-6 rebuilds 3, then 1-4 succeeds.
  const cascade = await expectOutcome(set, engine, await removeVolumes(set, [0, 2]), true, 'two in window 1-4, one of them in the overlap');
  assert.ok(cascade.passes >= 2, 'needed a second pass');
  // Both in the overlap of 1-4 and 3-6: each window is short by one volume; nothing can help.
  const both = await expectOutcome(set, engine, await removeVolumes(set, [2, 3]), false, 'two in the same overlap');
  assert.deepEqual(both.lost, [set.names[2], set.names[3]]);
  assert.deepEqual(both.units.map((u) => u.status), ['unrepairable', 'unrepairable', 'ok', 'ok']);
  // Both in window 1-4's private part: not repairable, and nothing else is touched.
  await expectOutcome(set, engine, await removeVolumes(set, [0, 1]), false, 'two in the private part of a window');
  // Scattered damage up to a window's budget, in the overlap.
  const spots: [number, number][] = [];
  for (let i = 0; i < 17; i++) spots.push([2 + (i % 2), Math.floor(i / 2)]);
  await expectOutcome(set, engine, await flipBlocks(set, spots.slice(0, 16)), true, '16 blocks in an overlap');
  await expectOutcome(set, engine, await flipBlocks(set, spots), false, '17 blocks in an overlap');
});

test('sliding: random damage ends exactly as the arithmetic predicts', async (t) => {
  const engine = await openParityEngine();
  const set = await makeSet(t, engine, new Array<number>(11).fill(VOL), testConfig('sliding', 25, { windowSize: 4, windowSlide: 2 }));
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let repairable = 0;
  for (let round = 0; round < 6; round++) {
    const lost = new Set<number>();
    for (let k = 0, m = 1 + rand(3); k < m; k++) lost.add(rand(11));
    const flips: [number, number][] = [];
    for (let k = 0, m = rand(12); k < m; k++) {
      const v = rand(11);
      const b = rand(16);
      if (!lost.has(v) && !flips.some(([x, y]) => x === v && y === b)) flips.push([v, b]);
    }
    const damage = await flipBlocks(set, flips);
    for (const [v, b] of await removeVolumes(set, [...lost])) damage.set(v, b);
    const expected = simulateRepair(set.plan, damage).unrepaired.length === 0;
    if (expected) repairable++;
    await expectOutcome(set, engine, damage, expected, `round ${round}: lost ${[...lost].join(',')} + ${flips.length} flips`);
  }
  t.diagnostic(`${repairable}/6 random rounds were repairable`);
});
