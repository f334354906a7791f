/**
 * End to end: a small set gets volumes sized from its expected size (core/protection/volume-size).
 * A ~30 MB weekly set of incompressible data with the default 100 MiB volume size: before, 1
 * volume and no whole-volume guarantee (or 40 % at 250 MB); now 14 volumes and near the table's
 * 15 %; the plan says any one volume may be lost, stock par2 agrees for the first and the last,
 * and `strata restore` rebuilds one on the way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { planOf } from '../../src/core/descriptor.js';
import { simulateRepair } from '../../src/core/protection/index.js';
import { assertSameTree, blocksIn, cli, readDescriptor, show } from './damage.js';
import { tempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

test('a 30 MB weekly set of incompressible data: 14 volumes, about 15 % recovery data, any one deleted volume is rebuilt', async (t) => {
  const root = await tempDir(t, 'strata-e2e-volsize-');
  const source = path.join(root, 'media');
  const dest = path.join(root, 'dest');
  await mkdir(path.join(source, 'clips'), { recursive: true });
  await mkdir(dest);
  for (let i = 0; i < 6; i++) await writeFile(path.join(source, 'clips', `c${i}.mp4`), randomBytes(5 * MiB));
  await writeFile(path.join(source, 'readme.txt'), 'clips\n');
  const config = path.join(root, 'strata.yaml');
  // level 0: the data does not compress, and this test is about the volume size (default 100 MiB maximum).
  await writeFile(config, ['sources:', `  - path: ${JSON.stringify(source)}`, '    name: media', `destination: ${JSON.stringify(dest)}`, 'archive:', '  weekly:', '    level: 0', ''].join('\n'));
  let t0 = performance.now();
  const lap = (what: string): void => {
    t.diagnostic(`${what}: ${Math.round(performance.now() - t0)} ms`);
    t0 = performance.now();
  };
  const b = await cli(['--config', config, '--state', path.join(root, 'state'), 'backup', '--tier', 'weekly']);
  lap('backup');
  assert.equal(b.code, 0, show(b));
  const setId = (await readdir(dest)).find((n) => n.includes('_FULL_')) ?? '';
  const setDir = path.join(dest, setId);
  const d = await readDescriptor(setDir, setId);
  const plan = planOf(d);
  assert.ok(plan !== null);
  assert.equal(d.volumes.length, 14, `volumes: ${d.volumes.map((v) => v.size).join(' ')}`);
  assert.equal(plan.strategy, 'direct');
  assert.ok(plan.guarantees.overheadPercent >= 15 && plan.guarantees.overheadPercent <= 18, `recovery data ${plan.guarantees.overheadPercent}%`);
  assert.ok(plan.guarantees.wholeVolumesAnywhere >= 1);

  // `list --protection` shows the volume size and the real percentage.
  const l = await cli(['--config', config, 'list', '--protection']);
  assert.equal(l.code, 0, show(l));
  assert.match(l.stdout, /14 volumes of 2\.19 MiB/, show(l));
  assert.match(l.stdout, new RegExp(`recovery data: .*\\(${plan.guarantees.overheadPercent}% of`), show(l));

  // Any one volume lost: the plan's arithmetic for each, stock par2 for the first and the last
  // (verify exit 1: "repair is possible"; every volume costs seconds on a loaded machine).
  for (const [i, v] of d.volumes.entries()) assert.deepEqual(simulateRepair(plan, new Map([[i, blocksIn(plan, i)]])).unrepaired, [], v.name);
  const par2 = (args: string[]): number => spawnSync('par2', args, { cwd: setDir, stdio: 'ignore' }).status ?? -1;
  const index = `${setId}.par2`;
  for (const v of [d.volumes[0], d.volumes[d.volumes.length - 1]]) {
    assert.ok(v !== undefined);
    await rename(path.join(setDir, v.name), path.join(root, 'away'));
    const code = par2(['verify', '-qq', index]);
    await rename(path.join(root, 'away'), path.join(setDir, v.name));
    assert.equal(code, 1, `without ${v.name} par2 verify says repairable (exit ${code})`);
  }
  lap('par2 verify ×2');
  // One really rebuilt by strata restore on the way: the largest volume in the middle.
  const lost = d.volumes[6];
  assert.ok(lost !== undefined);
  await rm(path.join(setDir, lost.name));
  const to = path.join(root, 'restored');
  const r = await cli(['--config', config, '--state', path.join(root, 'state2'), 'restore', '--dest', dest, '--to', to]);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stderr, new RegExp(`repaired with PAR2 on the way: .*${lost.name.replace(/\./g, '\\.')}`), show(r));
  lap('restore');
  await assertSameTree(to, source, 'restored after losing a volume');
});
