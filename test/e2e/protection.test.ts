/**
 * End to end: PAR2 protection of real sets (real 7zz, real par2, the strata CLI as a child process),
 * for each strategy (direct, grouped, sliding windows). Per strategy one set is backed up; every case
 * damages a copy of its destination: flipped bytes scattered across volumes (plus one recovery
 * packet), a contiguous run across a volume boundary, a truncated volume, one and two deleted
 * volumes (in and out of group / window overlaps), damaged PAR2 files, and damage beyond the
 * guarantee. The damage injected is computed from the set's own plan (its descriptor's protection
 * field): exactly the guarantee, then a little more. Within the guarantee `strata restore` repairs on
 * the way and the restored tree is byte-identical to the source; beyond it the restore exits 13,
 * names the lost volumes and files, restores every other file intact and never a wrong byte.
 * Also: `strata verify` / `verify --repair` / `verify --no-password`, `strata list [--json]` and
 * `strata plan` on the same sets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import type { RepairPrediction } from '../../src/core/protection/index.js';
import {
  assertSameTree, blocksIn, cli, copyCase, damageRun, deleteVolumes, flipAt, flipBlocks, makeFixture, merge, predict, runBlocks, setFileHashes, show,
  spreadSpots, treeHashes, truncateVolume, unitIndexFile, unitRecoveryFiles, volumeName, volumeStart,
  type Case, type Fixture, type StrategyName,
} from './damage.js';

const STRATEGIES: readonly StrategyName[] = ['direct', 'grouped', 'sliding'];

/** restoreArgs runs `strata restore` of a damaged copy into the case's output folder. */
function restoreArgs(fx: Fixture, c: Case, extra: string[] = []): string[] {
  return ['--config', fx.config, '--state', c.state, 'restore', '--dest', c.dest, '--to', c.out, ...extra];
}

/** expectRepairedRestore: the restore repairs on the way, says which volumes, is byte-identical, and leaves the destination as it was. */
async function expectRepairedRestore(fx: Fixture, c: Case, damaged: ReadonlyMap<number, number>, what: string): Promise<void> {
  const p = predict(fx, damaged);
  assert.deepEqual(p.unrepaired, [], `${what}: the plan's arithmetic says this is within the guarantee`);
  const before = await setFileHashes(c.setDir);
  const r = await cli(restoreArgs(fx, c));
  assert.equal(r.code, 0, `${what}: restore succeeds\n${show(r)}`);
  await assertSameTree(c.out, fx.source, what);
  const said = /repaired with PAR2 on the way: (.*)$/m.exec(r.stderr)?.[1] ?? '';
  for (const v of damaged.keys()) assert.ok(said.includes(`${fx.setId}/${volumeName(fx, v)}`), `${what}: restore names ${volumeName(fx, v)} as repaired\n${show(r)}`);
  assert.deepEqual(await setFileHashes(c.setDir), before, `${what}: restore did not change the destination`);
}

/** expectLostRestore: beyond the guarantee the restore exits 13, names the lost volumes and files, restores every other file intact. */
async function expectLostRestore(fx: Fixture, c: Case, p: RepairPrediction, what: string, json = false): Promise<{ lost: string[]; restored: string[] }> {
  assert.ok(p.unrepaired.length > 0, `${what}: the plan's arithmetic says this is beyond the guarantee`);
  const lostVolumes = p.unrepaired.map((v) => volumeName(fx, v));
  const r = await cli(restoreArgs(fx, c));
  if (r.code === 0) {
    // Seen once in CI (sliding, 2026-12-07) and not reproduced since: say what the target then
    // holds, so that a recurrence tells whether strata reported a success it did not achieve.
    const [source, restored] = await Promise.all([treeHashes(fx.source), treeHashes(c.out)]);
    const differ = [...source].filter(([f, h]) => restored.get(f) !== h).map(([f]) => f);
    assert.fail(`${what}: restore exited 0; ${differ.length === 0 ? 'every file is in the target, byte-identical' : `files missing or different in the target: ${differ.join(', ')}`}; lost volumes predicted: ${lostVolumes.join(', ')}\n${show(r)}`);
  }
  assert.equal(r.code, 13, `${what}: restore exits 13 (damage)\n${show(r)}`);
  assert.match(r.stderr, /could not be restored intact/, `${what}: the error says files were lost\n${show(r)}`);
  const errorLine = /^strata: error: (.*)$/m.exec(r.stderr)?.[1] ?? '';
  for (const v of lostVolumes) assert.ok(errorLine.includes(`${fx.setId}/${v}`), `${what}: the error names the lost volume ${v}\n${show(r)}`);
  const lost = [...r.stderr.matchAll(/NOT restored \(lost\): "([^"]+)": (.*)$/gm)].map((m) => m[1] ?? '');
  assert.ok(lost.length > 0, `${what}: names the lost files\n${show(r)}`);
  const source = await treeHashes(fx.source);
  const restored = await treeHashes(c.out);
  for (const l of lost) {
    assert.ok(source.has(l), `${what}: lost file ${l} is a source file`);
    assert.ok(!restored.has(l), `${what}: lost file ${l} was not written`);
  }
  for (const [f, h] of restored) assert.equal(h, source.get(f), `${what}: restored ${f} is byte-identical (never a wrong byte)`);
  assert.deepEqual([...restored.keys(), ...lost].sort(), [...source.keys()].sort(), `${what}: every file is either restored intact or named lost`);
  // The archive's header is at the end of the last volume; with it and the first volume intact, the files in intact volumes come back.
  const edges = p.unrepaired.includes(0) || p.unrepaired.includes(fx.plan.volumeSizes.length - 1);
  if (!edges) assert.ok(restored.size > 0, `${what}: files in intact volumes are restored (restored ${restored.size}, lost ${lost.join(', ')})\n${show(r)}`);
  if (json) {
    // --json: one document on stdout holding both the per-file outcome and the error.
    const again = await cli([...restoreArgs(fx, c, ['--overwrite']), '--json']);
    assert.equal(again.code, 13, show(again));
    const doc = JSON.parse(again.stdout) as { restored: { lost: { path: string }[]; lostVolumes: string[] }[]; error: { code: string; message: string } };
    assert.deepEqual(doc.restored.flatMap((x) => x.lost.map((l) => l.path)).sort(), [...lost].sort(), `${what}: --json lists the same lost files`);
    assert.deepEqual(doc.restored.flatMap((x) => x.lostVolumes).sort(), lostVolumes.map((v) => `${fx.setId}/${v}`).sort(), `${what}: --json names the lost volumes`);
    assert.equal(doc.error.code, 'DAMAGED');
  }
  return { lost, restored: [...restored.keys()] };
}

/** unitVolumes lists which units cover each volume. */
function coverage(fx: Fixture): Map<number, number[]> {
  const out = new Map<number, number[]>();
  fx.plan.units.forEach((u, ui) => {
    for (const v of u.volumes) out.set(v, [...(out.get(v) ?? []), ui]);
  });
  return out;
}

/** privateVolumes are a unit's volumes that no other unit covers. */
function privateVolumes(fx: Fixture, ui: number): number[] {
  const cov = coverage(fx);
  return (fx.plan.units[ui]?.volumes ?? []).filter((v) => cov.get(v)?.length === 1);
}

/** overlap is the volumes two units share. */
function overlap(fx: Fixture, a: number, b: number): number[] {
  const bs = new Set(fx.plan.units[b]?.volumes ?? []);
  return (fx.plan.units[a]?.volumes ?? []).filter((v) => bs.has(v));
}

/** middle picks `n` volumes from the middle of a list (not the first or last volume of the set when possible). */
function middleOf(fx: Fixture, list: readonly number[], n: number): number[] {
  const last = fx.plan.volumeSizes.length - 1;
  const inner = list.filter((v) => v !== 0 && v !== last);
  const pool = inner.length >= n ? inner : [...list];
  const start = Math.max(0, Math.floor((pool.length - n) / 2));
  const out = pool.slice(start, start + n);
  assert.equal(out.length, n, `${n} volumes available in ${list.join(',')}`);
  return out;
}

/** weakestUnit is the unit with the smallest scattered-block budget (the "anywhere" guarantee is its figure). */
function weakestUnit(fx: Fixture): number {
  const per = fx.plan.guarantees.perUnit;
  let best = 0;
  per.forEach((g, i) => {
    if (g.scatteredBlocks < (per[best]?.scatteredBlocks ?? Infinity)) best = i;
  });
  return best;
}

const timings: string[] = [];

describe('PAR2 protection end to end', { concurrency: 3 }, () => {
  after(() => {
    if (timings.length > 0) process.stderr.write(`# protection e2e timings: ${timings.join('; ')}\n`);
  });

  for (const strategy of STRATEGIES) {
    describe(strategy, { concurrency: 2 }, () => {
      let fx: Fixture;
      const started = performance.now();
      before(async () => {
        fx = await makeFixture(undefined, strategy);
        timings.push(`${strategy} backup ${Math.round(fx.backupMs)} ms`);
      });
      after(async () => {
        timings.push(`${strategy} total ${Math.round(performance.now() - started)} ms`);
        if (fx !== undefined) await rm(fx.root, { recursive: true, force: true });
      });

      test('list, list --json and plan show the protection the set got', async () => {
        const g = fx.plan.guarantees;
        const json = await cli(['--config', fx.config, '--state', fx.state, '--json', 'list']);
        assert.equal(json.code, 0, show(json));
        const doc = JSON.parse(json.stdout) as { sets: { id: string; volumes: number; protection: { strategy: string; redundancyPercent: number; units: number; guarantees: unknown } | null }[] };
        const row = doc.sets.find((s) => s.id === fx.setId);
        assert.ok(row !== undefined, `list --json has ${fx.setId}`);
        assert.deepEqual(row.protection, { strategy, redundancyPercent: fx.plan.redundancyPercent, units: fx.plan.units.length, guarantees: g });
        // list --set ID --protection: the layout as made and what it is guaranteed to survive.
        const detail = await cli(['--config', fx.config, '--state', fx.state, 'list', '--set', fx.setId, '--protection']);
        assert.equal(detail.code, 0, show(detail));
        assert.match(detail.stdout, new RegExp(`strategy: ${strategy}`));
        for (const u of fx.plan.units) assert.ok(detail.stdout.includes(`${u.name}: volumes `) || strategy === 'direct', `unit ${u.name} listed\n${detail.stdout}`);
        assert.match(detail.stdout, new RegExp(`${g.wholeVolumesAnywhere} whole volumes? lost anywhere`));
        assert.match(detail.stdout, new RegExp(`${g.scatteredBlocks} damaged blocks anywhere`));
        assert.match(detail.stdout, new RegExp(`\\(${g.contiguousBytes} bytes\\) of contiguous damage`));
        const detailJson = await cli(['--config', fx.config, '--state', fx.state, '--json', 'list', '--set', fx.setId, '--protection']);
        const one = JSON.parse(detailJson.stdout) as { sets: { id: string; plan: { units: unknown[]; guarantees: unknown } }[] };
        assert.deepEqual(one.sets.map((x) => x.id), [fx.setId]);
        assert.deepEqual(one.sets[0]?.plan.units, fx.plan.units);
        assert.deepEqual(one.sets[0]?.plan.guarantees, g);
        const none = await cli(['--config', fx.config, '--state', fx.state, 'list', '--set', 'NO_SUCH_SET']);
        assert.equal(none.code, 1, show(none));
        assert.match(none.stderr, /no complete set NO_SUCH_SET/);
        assert.equal(row.volumes, fx.plan.volumeSizes.length);
        const text = await cli(['--config', fx.config, '--state', fx.state, 'list']);
        assert.equal(text.code, 0, show(text));
        assert.match(text.stdout, new RegExp(`^${fx.setId}\\s.*\\s${strategy} ${fx.plan.redundancyPercent}%`, 'm'), show(text));
        // strata plan for the same size and volume size, under the same configuration, gives the same layout and guarantees.
        const plan = await cli(['--config', fx.config, '--json', 'plan', '--size', String(g.protectedBytes), '--tier', 'weekly', '--volume-size', '64KiB', '--set', fx.setId]);
        assert.equal(plan.code, 0, show(plan));
        const planned = JSON.parse(plan.stdout) as { strategy: string; units: { name: string; volumes: number[]; recoveryBlocks: number }[]; guarantees: { wholeVolumesAnywhere: number; scatteredBlocks: number; contiguousBytes: number } };
        assert.equal(planned.strategy, strategy, `strata plan --config picks the strategy the backup used\n${plan.stdout.slice(0, 400)}`);
        assert.deepEqual(planned.units.map((u) => [u.name, u.volumes.length, u.recoveryBlocks]), fx.plan.units.map((u) => [u.name, u.volumes.length, u.recoveryBlocks]));
        assert.deepEqual([planned.guarantees.wholeVolumesAnywhere, planned.guarantees.scatteredBlocks, planned.guarantees.contiguousBytes], [g.wholeVolumesAnywhere, g.scatteredBlocks, g.contiguousBytes]);
        const human = await cli(['--config', fx.config, 'plan', '--size', String(g.protectedBytes), '--tier', 'weekly', '--volume-size', '64KiB']);
        assert.equal(human.code, 0, show(human));
        assert.match(human.stdout, new RegExp(`strategy: ${strategy}`));
        assert.match(human.stdout, new RegExp(`units \\(${fx.plan.units.length}\\)`));
        assert.match(human.stdout, new RegExp(`${g.wholeVolumesAnywhere} whole volumes? lost anywhere`));
        assert.match(human.stdout, new RegExp(`${g.scatteredBlocks} damaged blocks anywhere`));
        assert.match(human.stdout, new RegExp(`\\(${g.contiguousBytes} bytes\\) of contiguous damage`));
      });

      test('scattered flipped bytes: exactly the guarantee (one in a recovery packet) repairs; one block more is named lost', async () => {
        const g = fx.plan.guarantees;
        const ui = weakestUnit(fx);
        const unit = fx.plan.units[ui];
        assert.ok(unit !== undefined && g.scatteredBlocks >= 2, `a budget to spend (${g.scatteredBlocks})`);
        // Within: budget − 1 data blocks spread over the unit's volumes, plus one recovery packet (in the middle of a vol file).
        const c = await copyCase(fx, `${strategy}-scattered-within`);
        const last = fx.plan.volumeSizes.length - 1;
        const spots = spreadSpots(fx.plan, unit.volumes.filter((v) => v !== 0 && v !== last), g.scatteredBlocks - 1);
        const damage = await flipBlocks(fx, c, spots);
        const rec = unitRecoveryFiles(fx, ui)[0];
        assert.ok(rec !== undefined, 'the unit has a recovery file');
        const recFile = path.join(c.setDir, rec.name);
        const recSize = (await readFile(recFile)).length;
        await flipAt(recFile, Math.floor(recSize / 2));
        const p = predict(fx, damage, new Map([[ui, 1]]));
        assert.deepEqual(p.unrepaired, [], `${g.scatteredBlocks} damaged blocks (${damage.size} volumes + 1 recovery packet) are within the guarantee`);
        await expectRepairedRestore(fx, c, damage, `${g.scatteredBlocks} scattered damaged blocks`);

        // Beyond: budget + 1 data blocks where only this unit can repair them.
        const b = await copyCase(fx, `${strategy}-scattered-beyond`);
        const own = privateVolumes(fx, ui);
        const pool = own.length > 0 ? own : unit.volumes;
        const inner = pool.filter((v) => v !== 0 && v !== last);
        const more = await flipBlocks(fx, b, spreadSpots(fx.plan, inner.length > 0 ? inner : pool, unit.recoveryBlocks + 1));
        await expectLostRestore(fx, b, predict(fx, more), `${unit.recoveryBlocks + 1} scattered damaged blocks in ${unit.name}`);
      });

      test('a contiguous run across a volume boundary: the guaranteed length repairs, one byte more is named lost', async () => {
        const g = fx.plan.guarantees;
        const bs = g.blockSize;
        const n = fx.plan.volumeSizes.length;
        // Worst alignment: the run starts on the last byte of a block, so it touches as many blocks as its length allows.
        // Within: the guaranteed length across the boundary between two middle volumes.
        const boundaryVolume = Math.floor(n / 2);
        const within = volumeStart(fx.plan, boundaryVolume) - Math.floor(g.contiguousBytes / 2 / bs) * bs - 1;
        const c = await copyCase(fx, `${strategy}-run-within`);
        const damage = await damageRun(fx, c, within, g.contiguousBytes);
        assert.ok(damage.size >= 2, `the run crosses a volume boundary (${[...damage.keys()].join(',')})`);
        await expectRepairedRestore(fx, c, damage, `${g.contiguousBytes}-byte run across volumes ${boundaryVolume}|${boundaryVolume + 1}`);

        // Beyond: the same plus one byte, at the first block-aligned spot crossing a boundary that the arithmetic says cannot be repaired.
        let chosen: number | undefined;
        for (let v = 1; v < n - 1 && chosen === undefined; v++) {
          for (let k = 0; k * bs < g.contiguousBytes && chosen === undefined; k++) {
            const off = volumeStart(fx.plan, v) - k * bs - 1;
            if (off < 64) continue;
            const m = runBlocks(fx.plan, off, g.contiguousBytes + 1);
            if (m.has(n - 1) || m.size < 2) continue;
            if (predict(fx, m).unrepaired.length > 0) chosen = off;
          }
        }
        assert.ok(chosen !== undefined, `a spot where a ${g.contiguousBytes + 1}-byte run is beyond repair`);
        const b = await copyCase(fx, `${strategy}-run-beyond`);
        const more = await damageRun(fx, b, chosen, g.contiguousBytes + 1);
        await expectLostRestore(fx, b, predict(fx, more), `${g.contiguousBytes + 1}-byte run at ${chosen}`);
      });

      test('a truncated volume and one deleted volume are rebuilt on the way', async () => {
        assert.ok(fx.plan.guarantees.wholeVolumesAnywhere >= 1, 'the plan survives a whole volume');
        const n = fx.plan.volumeSizes.length;
        const c = await copyCase(fx, `${strategy}-truncated`);
        const cut = Math.floor(n / 3);
        const damage = await truncateVolume(fx, c, cut, Math.floor((fx.plan.volumeSizes[cut] ?? 0) / 3));
        await expectRepairedRestore(fx, c, damage, `volume ${cut + 1} truncated to a third`);
        const d = await copyCase(fx, `${strategy}-one-deleted`);
        await expectRepairedRestore(fx, d, await deleteVolumes(fx, d, [n - 1]), 'the last volume (the archive header) deleted');
      });

      test('two deleted volumes: within the guarantee rebuilt, beyond it named lost', async () => {
        const per = fx.plan.guarantees.perUnit;
        let within: number[];
        let beyond: number[];
        if (strategy === 'direct') {
          const w = per[0]?.wholeVolumes ?? 0;
          assert.ok(w >= 2, `direct: the plan survives two whole volumes (${w})`);
          within = middleOf(fx, fx.plan.units[0]?.volumes ?? [], 2);
          beyond = middleOf(fx, fx.plan.units[0]?.volumes ?? [], w + 1);
        } else if (strategy === 'grouped') {
          // One in each of two groups (out of any shared unit), then one more than its guarantee in one group.
          within = [fx.plan.units[0]?.volumes[1] ?? -1, fx.plan.units[1]?.volumes[1] ?? -1];
          beyond = middleOf(fx, fx.plan.units[1]?.volumes ?? [], (per[1]?.wholeVolumes ?? 0) + 1);
        } else {
          // One in window 1's private part and one in its overlap with window 2: window 1 is short alone,
          // window 2 rebuilds the shared one, then window 1 succeeds (the fixed point).
          const shared = overlap(fx, 0, 1);
          const own = privateVolumes(fx, 0);
          within = [own[1] ?? own[0] ?? -1, shared[0] ?? -1];
          const w = Math.max(per[0]?.wholeVolumes ?? 0, per[1]?.wholeVolumes ?? 0);
          assert.ok(shared.length >= w + 1, `the overlap of windows 1 and 2 (${shared.join(',')}) holds more than ${w} volumes`);
          beyond = shared.slice(0, w + 1);
          // Two volumes in different windows' private parts, out of any overlap.
          const far = privateVolumes(fx, fx.plan.units.length - 1);
          const e = await copyCase(fx, `${strategy}-two-apart`);
          await expectRepairedRestore(fx, e, await deleteVolumes(fx, e, [own[0] ?? -1, far[0] ?? -1]), 'two volumes in different windows, outside the overlaps');
        }
        const c = await copyCase(fx, `${strategy}-two-within`);
        const damage = await deleteVolumes(fx, c, within);
        if (strategy === 'sliding') assert.ok(predict(fx, damage).passes >= 2, 'the arithmetic needs a second pass over the windows');
        await expectRepairedRestore(fx, c, damage, `volumes ${within.map((v) => v + 1).join(', ')} deleted`);
        const b = await copyCase(fx, `${strategy}-two-beyond`);
        const gone = await deleteVolumes(fx, b, beyond);
        const p = predict(fx, gone);
        assert.deepEqual(p.unrepaired, beyond, `all of ${beyond.map((v) => v + 1).join(', ')} stay lost`);
        const r = await expectLostRestore(fx, b, p, `volumes ${beyond.map((v) => v + 1).join(', ')} deleted`);
        assert.ok(r.restored.length > 0, 'files outside the lost volumes are restored');
        // verify names the same volumes as beyond repair and leaves the rest in place.
        const v = await cli(['--config', fx.config, '--state', b.state, 'verify', '--dest', b.dest, '--repair', '--no-password'], { password: null });
        assert.equal(v.code, 13, show(v));
        for (const i of beyond) assert.match(v.stdout, new RegExp(`damaged or missing: ${volumeName(fx, i).replace(/\./g, '\\.')} \\(beyond repair\\)`), show(v));
      });

      test('damaged PAR2 files: a corrupt index and a lost recovery file or packet, with volume damage up to what is left', async () => {
        const ui = 0;
        const unit = fx.plan.units[ui];
        assert.ok(unit !== undefined);
        const recs = unitRecoveryFiles(fx, ui);
        const victim = recs[recs.length - 1];
        assert.ok(victim !== undefined, `unit ${unit.name} has recovery files`);
        const c = await copyCase(fx, `${strategy}-par2-damaged`);
        // The index file corrupt in three places (its critical packets survive in the vol files).
        const index = path.join(c.setDir, unitIndexFile(fx, ui));
        const indexSize = (await readFile(index)).length;
        for (const at of [Math.floor(indexSize / 4), Math.floor(indexSize / 2), indexSize - 10]) await flipAt(index, at);
        // With several recovery files one is deleted (its blocks are lost); with one, a recovery packet in it is damaged.
        let lostRecovery: number;
        const damagedPar2 = [unitIndexFile(fx, ui), victim.name];
        if (recs.length >= 2) {
          await unlink(path.join(c.setDir, victim.name));
          lostRecovery = victim.blocks;
        } else {
          const f = path.join(c.setDir, victim.name);
          await flipAt(f, Math.floor((await readFile(f)).length / 2));
          lostRecovery = 1;
        }
        const left = unit.recoveryBlocks - lostRecovery;
        const target = middleOf(fx, unit.volumes, 1)[0] ?? 0;
        // Then a whole volume when what is left covers one, else exactly as many damaged blocks as are left.
        const damage = left >= blocksIn(fx.plan, target) ? await deleteVolumes(fx, c, [target]) : await flipBlocks(fx, c, spreadSpots(fx.plan, [target], left));
        const p = predict(fx, damage, new Map([[ui, lostRecovery]]));
        assert.deepEqual(p.unrepaired, [], `${left} recovery blocks left cover ${damage.get(target) ?? 0} damaged ones`);
        // verify (without the password) names the damaged PAR2 files and the volume.
        const v = await cli(['--config', fx.config, '--state', c.state, 'verify', '--dest', c.dest, '--no-password'], { password: null });
        assert.equal(v.code, 13, show(v));
        for (const n of [...damagedPar2, volumeName(fx, target)]) assert.ok(v.stdout.includes(`damaged or missing: ${n}`), `verify names ${n}\n${show(v)}`);
        await expectRepairedRestore(fx, c, damage, `volume ${target + 1} damaged with ${unit.name}'s index corrupt and ${lostRecovery} recovery block(s) lost`);
        // Every PAR2 file of the unit gone and a volume deleted: nothing can repair it; the error names what is lost.
        const b = await copyCase(fx, `${strategy}-par2-gone`);
        for (const r of [...recs.map((x) => x.name), unitIndexFile(fx, ui)]) await rm(path.join(b.setDir, r));
        // A volume only this unit covers (in an overlap a neighbouring window would still rebuild it).
        const alone = middleOf(fx, privateVolumes(fx, ui), 1)[0] ?? target;
        const lostAll = await deleteVolumes(fx, b, [alone]);
        const r = await expectLostRestore(fx, b, predict(fx, lostAll, new Map([[ui, unit.recoveryBlocks]])), `${unit.name} without any PAR2 file and volume ${alone + 1} deleted`, true);
        assert.ok(r.lost.length > 0);
      });

      test('verify finds damage, verify --repair --no-password rebuilds it in place and says which volumes', async () => {
        const n = fx.plan.volumeSizes.length;
        const c = await copyCase(fx, `${strategy}-verify-repair`);
        const flipped = Math.floor(n / 2);
        const deleted = Math.max(1, Math.floor(n / 4));
        const damage = merge(fx, await flipBlocks(fx, c, [[flipped, 2], [flipped, 5]]), await deleteVolumes(fx, c, [deleted]));
        assert.deepEqual(predict(fx, damage).unrepaired, []);
        const names = [...damage.keys()].sort((a, b) => a - b).map((i) => volumeName(fx, i));
        // Plain verify (with the password): damaged, names each volume, says how to repair, changes nothing.
        const beforeHashes = await setFileHashes(c.setDir);
        const v = await cli(['--config', fx.config, '--state', c.state, 'verify', '--dest', c.dest]);
        assert.equal(v.code, 13, show(v));
        assert.match(v.stdout, new RegExp(`${fx.setId}: DAMAGED`), show(v));
        assert.match(v.stdout, /PAR2 repairable/, show(v));
        for (const nm of names) assert.ok(v.stdout.includes(`damaged or missing: ${nm}`), `verify names ${nm}\n${show(v)}`);
        assert.match(v.stderr, /strata verify --repair/, show(v));
        assert.deepEqual(await setFileHashes(c.setDir), beforeHashes, 'verify without --repair changes nothing');
        // Repair without any password available: rebuilt in place, named.
        const rep = await cli(['--config', fx.config, '--state', c.state, 'verify', '--dest', c.dest, '--repair', '--no-password'], { password: null });
        assert.equal(rep.code, 0, show(rep));
        assert.match(rep.stdout, new RegExp(`${fx.setId}: REPAIRED`), show(rep));
        assert.match(rep.stdout, /7-Zip test skipped/, show(rep));
        const said = /repaired: (.*)$/m.exec(rep.stdout)?.[1]?.split(', ') ?? [];
        assert.deepEqual(said.sort(), names, show(rep));
        // The set folder is now byte-identical to the pristine one (no NAME.1 leftovers either).
        assert.deepEqual(await setFileHashes(c.setDir), await setFileHashes(path.join(fx.dest, fx.setId)), 'the repaired set equals the original');
        // A full verify with the password passes: hashes, PAR2 and the 7-Zip test.
        const ok = await cli(['--config', fx.config, '--state', c.state, 'verify', '--dest', c.dest]);
        assert.equal(ok.code, 0, show(ok));
        assert.match(ok.stdout, new RegExp(`${fx.setId}: OK .*PAR2 ok \\(${fx.plan.units.length} set`), show(ok));
        assert.match(ok.stdout, /7-Zip test ok/, show(ok));
        // --no-password on an intact set without any password: OK, without the 7-Zip test.
        const np = await cli(['--config', fx.config, '--state', c.state, '--json', 'verify', '--dest', c.dest, '--no-password'], { password: null });
        assert.equal(np.code, 0, show(np));
        const doc = JSON.parse(np.stdout) as { sets: { id: string; status: string; archiveTest: string }[] };
        assert.deepEqual(doc.sets.map((s) => [s.id, s.status, s.archiveTest]), [[fx.setId, 'ok', 'skipped']]);
      });
    });
  }
});
