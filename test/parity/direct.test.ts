/** Direct strategy against real par2: exactly the guaranteed damage is repaired, one more is not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { openParityEngine } from '../../src/parity/open.js';
import { repairSet } from '../../src/parity/repair.js';
import { expectOutcome, timings } from './check.js';
import { BLOCK, assertIdentical, damageRecoveryPackets, damageRun, flipBlocks, makeSet, removeVolumes, restore, testConfig, truncateVolume } from './fixtures.js';

const SIZES = [65536, 65536, 65536, 65536, 40000]; // 4 × 16 blocks + 10 (last partial)

test('direct: guarantees hold exactly at their limits', async (t) => {
  const engine = await openParityEngine();
  const set = await makeSet(t, engine, SIZES, testConfig('direct', 30));
  const unit = set.plan.units[0]!;
  const g = set.plan.guarantees;
  assert.equal(set.plan.strategy, 'direct');
  assert.equal(unit.dir, '');
  assert.equal(unit.sourceBlocks, 74);
  assert.equal(unit.recoveryBlocks, 23); // ceil(30 % × 74)
  assert.equal(g.wholeVolumesAnywhere, 1);
  assert.equal(g.scatteredBlocks, 23);
  assert.equal(g.contiguousBytes, 22 * BLOCK + 1);
  assert.deepEqual(set.par2Files[0], '261129_FULL_docs.par2');

  // Scattered: 23 flipped bytes, each in its own block, spread over all volumes → repaired; 24 → not.
  const spots: [number, number][] = [];
  for (let i = 0; i < 24; i++) spots.push([i % 5, Math.floor(i / 5) * 2]);
  await expectOutcome(set, engine, await flipBlocks(set, spots.slice(0, 23)), true, '23 scattered blocks');
  await expectOutcome(set, engine, await flipBlocks(set, spots), false, '24 scattered blocks');

  // A contiguous run of exactly the guaranteed length, placed worst-case across the 1|2 volume boundary.
  const start = 65536 - 11 * BLOCK - 1; // one byte before a block boundary
  await damageRun(set, start, g.contiguousBytes);
  await expectOutcome(set, engine, new Map([[0, 12], [1, 11]]), true, 'contiguous run at the limit');
  await damageRun(set, start, g.contiguousBytes + 1);
  await expectOutcome(set, engine, new Map([[0, 12], [1, 12]]), false, 'contiguous run one byte longer');

  // Whole volumes: one deleted (any) → rebuilt; two → both named lost.
  await expectOutcome(set, engine, await removeVolumes(set, [2]), true, 'one deleted volume');
  await expectOutcome(set, engine, await removeVolumes(set, [4]), true, 'the short last volume deleted');
  const two = await expectOutcome(set, engine, await removeVolumes(set, [1, 3]), false, 'two deleted volumes');
  assert.deepEqual(two.lost, [set.names[1], set.names[3]]);
  assert.deepEqual(two.volumes.map((v) => v.outcome), ['intact', 'lost', 'intact', 'lost', 'intact']);

  // A truncated volume plus scattered damage up to the limit.
  const cut = await truncateVolume(set, 3, 30000);
  const others: [number, number][] = [];
  for (let i = 0; others.length < 23 - cut; i++) others.push([[0, 1, 2, 4][i % 4]!, Math.floor(i / 4)]);
  const rest = await flipBlocks(set, others);
  await expectOutcome(set, engine, new Map([...rest, [3, cut]]), true, 'truncated volume');

  t.diagnostic(`create ${set.createMs.toFixed(0)} ms for ${SIZES.length} volumes; verify median ${median(timings.verifyMs)} ms; repair median ${median(timings.repairMs)} ms`);
});

test('direct: damaged .par2 files cost recovery blocks one for one, and a lost index file costs none', async (t) => {
  const engine = await openParityEngine();
  const set = await makeSet(t, engine, SIZES, testConfig('direct', 30));
  await rm(path.join(set.dir, '261129_FULL_docs.par2'));
  await damageRecoveryPackets(set, 0, 5);
  // 5 recovery blocks gone: 18 data blocks are still repairable, 19 are not.
  const spots: [number, number][] = [];
  for (let i = 0; i < 19; i++) spots.push([i % 4, Math.floor(i / 4) * 3]);
  await expectOutcome(set, engine, await flipBlocks(set, spots.slice(0, 18)), true, '18 blocks with 5 recovery packets damaged', new Map([[0, 5]]));
  await expectOutcome(set, engine, await flipBlocks(set, spots), false, '19 blocks with 5 recovery packets damaged', new Map([[0, 5]]));
  // Stock par2 still repairs with the vol files alone.
  await removeVolumes(set, [0]);
  const r = await repairSet(set.plan, set.dir, engine);
  assert.equal(r.status, 'repaired');
  await assertIdentical(set);
  await restore(set);
});

function median(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor(s.length / 2)] ?? 0).toFixed(0);
}
