/** The guarantee check shared by the strategy tests: predict from the arithmetic, verify, repair, compare. */
import assert from 'node:assert/strict';
import { simulateRepair } from '../../src/core/protection/index.js';
import type { ParityEngine } from '../../src/parity/engine.js';
import { repairSet, verifySet, type SetRepairResult } from '../../src/parity/repair.js';
import { assertClean, assertIdentical, restore, type TestSet } from './fixtures.js';

/** Timings collects verify/repair durations for the report printed at the end of a suite. */
export const timings: { verifyMs: number[]; repairMs: number[] } = { verifyMs: [], repairMs: [] };

/**
 * expectOutcome checks one injected damage: the arithmetic (simulateRepair) must say `repairable`
 * as expected, verifySet must predict the same volumes, and repairSet must either restore every
 * volume byte for byte or report exactly the predicted volumes as still damaged or lost.
 * The set is restored afterwards (volumes only).
 */
export async function expectOutcome(
  set: TestSet,
  engine: ParityEngine,
  damage: ReadonlyMap<number, number>,
  repairable: boolean,
  what: string,
  lostRecovery: ReadonlyMap<number, number> = new Map(),
): Promise<SetRepairResult> {
  const predicted = simulateRepair(set.plan, damage, lostRecovery);
  assert.equal(predicted.unrepaired.length === 0, repairable, `${what}: the arithmetic says ${repairable ? 'repairable' : 'not repairable'}`);
  const predictedNames = predicted.unrepaired.map((i) => set.names[i]);

  let t = performance.now();
  const v = await verifySet(set.plan, set.dir, engine);
  timings.verifyMs.push(performance.now() - t);
  assert.equal(v.status, repairable ? 'repairable' : 'unrepairable', `${what}: verifySet status`);
  assert.deepEqual([...v.unrepairable].sort(), predictedNames, `${what}: verifySet names what repair will not fix`);

  t = performance.now();
  const r = await repairSet(set.plan, set.dir, engine);
  timings.repairMs.push(performance.now() - t);
  if (repairable) {
    assert.equal(r.status, 'repaired', `${what}: repaired`);
    assert.deepEqual(r.repaired, [...damage.keys()].filter((k) => (damage.get(k) ?? 0) > 0).sort((a, b) => a - b).map((i) => set.names[i]), `${what}: repaired volumes`);
    await assertIdentical(set);
  } else {
    assert.equal(r.status, 'unrepairable', `${what}: reported unrepairable`);
    assert.deepEqual([...r.damaged, ...r.lost].sort(), predictedNames, `${what}: names the volumes it could not rebuild`);
    for (const v of r.volumes) {
      if (predicted.repaired.includes(v.index)) assert.equal(v.outcome, 'repaired', `${what}: ${v.name} repaired through its other unit`);
    }
    await assertIdentical(set, set.names.map((_, i) => i).filter((i) => !predicted.unrepaired.includes(i)));
  }
  await assertClean(set);
  await restore(set);
  return r;
}
