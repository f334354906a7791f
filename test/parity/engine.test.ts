/** par2cmdline engine: tool discovery, reruns, failures, and the stock command lines for RESTORE.txt. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { isStrataError } from '../../src/errors.js';
import { Par2CmdlineEngine, findPar2 } from '../../src/parity/par2cmdline.js';
import { stockRepairCommands } from '../../src/parity/repair.js';
import { tempDir } from '../helpers/tmp.js';
import { assertClean, assertIdentical, makeSet, removeVolumes, testConfig } from './fixtures.js';

const sh = promisify(execFile);

test('findPar2 finds par2 0.8+ and fails clearly when it is missing or too old', async (t) => {
  const tool = await findPar2();
  assert.match(tool.version, /^\d+\.\d+\.\d+$/);
  await assert.rejects(findPar2({ PATH: '/nonexistent' }), (e: unknown) => isStrataError(e, 'MISSING_TOOL') && /apt-get install par2/.test(e.hint ?? ''));
  const dir = await tempDir(t);
  const fake = path.join(dir, 'par2');
  await writeFile(fake, '#!/bin/sh\necho "par2cmdline version 0.4"\n');
  await chmod(fake, 0o755);
  await assert.rejects(findPar2({ PATH: dir }), (e: unknown) => isStrataError(e, 'MISSING_TOOL'));
  await writeFile(fake, '#!/bin/sh\necho "par2cmdline version 0.7.4"\n');
  await assert.rejects(findPar2({ PATH: dir }), /too old/);
});

test('create reruns replace the files, and a failed create throws and leaves nothing behind', async (t) => {
  const engine = await Par2CmdlineEngine.open();
  const set = await makeSet(t, engine, new Array<number>(6).fill(65536), testConfig('grouped', 20, { groupSize: 3 }));
  const unit = set.plan.units[1]!;
  const progress: number[] = [];
  const again = await engine.create(unit, set.dir, set.names, { onProgress: (f) => progress.push(f) });
  assert.deepEqual(again, set.par2Files.filter((f) => f.startsWith(`${unit.dir}/`)));
  assert.equal(progress[progress.length - 1], 1);
  assert.deepEqual(await engine.verify(unit, set.dir), { status: 'ok', damaged: [], missing: [] });
  // A volume missing at create time (par2 itself would skip it and exit 0): refused, earlier files untouched.
  await removeVolumes(set, [4]);
  await assert.rejects(engine.create(unit, set.dir, set.names), (e: unknown) => isStrataError(e, 'NOT_FOUND') && e.message.includes(set.names[4]!));
  // par2 failing (a volume unreadable to it: a folder in its place) is TOOL_FAILED.
  await mkdir(path.join(set.dir, set.names[4]!));
  await assert.rejects(engine.create(unit, set.dir, set.names), (e: unknown) => isStrataError(e, 'TOOL_FAILED') || isStrataError(e, 'INTERNAL'));
  await rmdir(path.join(set.dir, set.names[4]!));
  assert.deepEqual((await readdir(path.join(set.dir, unit.dir))).sort(), again.map((f) => path.basename(f)).sort());
  await assertClean(set);
  // A plan that does not match the volumes (block count) is refused.
  await assert.rejects(engine.create({ ...set.plan.units[0]!, sourceBlocks: 47 }, set.dir, set.names), (e: unknown) => isStrataError(e, 'INTERNAL'));
  // Cancelling stops par2.
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(engine.create(set.plan.units[0]!, set.dir, set.names, { signal: ac.signal }), (e: unknown) => isStrataError(e, 'CANCELLED'));
  await assertClean(set);
});

test('verify and repair without PAR2 files are DAMAGED errors naming the unit', async (t) => {
  const engine = await Par2CmdlineEngine.open();
  const dir = await tempDir(t);
  const unit = { name: 'X_0001-0002', dir: 'X_0001-0002', volumes: [0, 1] };
  await assert.rejects(engine.verify(unit, dir), (e: unknown) => isStrataError(e, 'DAMAGED') && e.message.includes('X_0001-0002'));
});

for (const strategy of ['direct', 'sliding'] as const) {
  test(`stock par2 command lines repair a ${strategy} set from inside its folder`, async (t) => {
    const engine = await Par2CmdlineEngine.open();
    const cfg = testConfig(strategy, 25, { windowSize: 4, windowSlide: 2 });
    const set = await makeSet(t, engine, new Array<number>(strategy === 'direct' ? 4 : 7).fill(65536), cfg, "261129_FULL_my docs");
    const lines = stockRepairCommands(set.plan);
    assert.equal(lines.length, 2 * set.plan.units.length);
    if (strategy === 'direct') assert.deepEqual(lines, ["par2 verify -B. '261129_FULL_my docs.par2'", "par2 repair -B. '261129_FULL_my docs.par2'"]);
    else assert.equal(lines[0], "par2 verify -B. '261129_FULL_my docs_0001-0004/261129_FULL_my docs_0001-0004.par2'");
    // Direct: one whole volume (its guarantee). Sliding: volumes 1 and 3 — window 1-4 alone is short,
    // so the person runs the repair lines, and again, as RESTORE.txt says.
    await removeVolumes(set, strategy === 'direct' ? [2] : [0, 2]);
    const repairs = lines.filter((l) => l.startsWith('par2 repair'));
    for (let pass = 0; pass < 2; pass++) for (const l of repairs) await sh('sh', ['-c', l], { cwd: set.dir }).catch(() => undefined);
    await assertIdentical(set);
    for (const l of lines.filter((x) => x.startsWith('par2 verify'))) await sh('sh', ['-c', l], { cwd: set.dir });
  });
}
