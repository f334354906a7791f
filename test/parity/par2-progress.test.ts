/**
 * par2's progress read as bytes (issue 12: the status line during PAR2 verify and repair). The
 * parser is fed output captured from the real par2 in the test, split at random places.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { par2IndexPath } from '../../src/core/keys.js';
import { Par2CmdlineEngine, findPar2 } from '../../src/parity/par2cmdline.js';
import { Par2Progress } from '../../src/parity/par2-progress.js';
import { checkedBytes, repairSet, verifySet } from '../../src/parity/repair.js';
import { assertClean, assertIdentical, flipBlocks, makeSet, removeVolumes, testConfig } from './fixtures.js';

const sh = promisify(execFile);

/** Adds records what a sink was given. */
class Adds {
  readonly bytes: number[] = [];
  readonly details: string[] = [];
  add(n: number, detail?: string): void {
    this.bytes.push(n);
    if (detail !== undefined) this.details.push(detail);
  }
  get sum(): number {
    return this.bytes.reduce((a, b) => a + b, 0);
  }
}

/** parse feeds `text` to a parser in random pieces (lines and `\r` frames split anywhere). */
function parse(text: string): Adds {
  const adds = new Adds();
  const p = new Par2Progress(adds);
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(Math.random() * 40);
    p.feed(text.slice(i, i + n));
    i += n;
  }
  p.end();
  assert.equal(p.total, adds.sum);
  return adds;
}

test('real par2 verify and repair output is read as bytes of the unit: progress as it goes, the whole at the end', async (t) => {
  const engine = await Par2CmdlineEngine.open();
  const par2 = (await findPar2()).path;
  const sizes = [400_000, 150_000];
  const set = await makeSet(t, engine, sizes, testConfig('direct', 20));
  const unit = set.plan.units[0]!;
  const data = sizes[0]! + sizes[1]!;
  const index = path.join(set.dir, par2IndexPath(unit));
  const verify = (await sh(par2, ['verify', `-B${set.dir}`, '--', index])).stdout;
  assert.match(verify, /Scanning: \d+\.\d%\r/, 'par2 printed its progress');
  const v = parse(verify);
  assert.equal(v.sum, data, 'a verify handles the unit\'s volume bytes once');
  assert.ok(v.bytes.every((b) => b >= 0));
  assert.ok(v.bytes.filter((b) => b > 0).length >= 5, `bytes come as par2 scans: ${v.bytes.join(' ')}`);
  assert.ok(v.details.includes(`loading ${path.basename(index)}`) && v.details.includes(set.names[0]!), v.details.slice(0, 5).join(', '));
  // A repair: the scan, the repair's pass over the data, and the check of the rewritten volume.
  await flipBlocks(set, [[0, 3]]);
  const repair = await sh(par2, ['repair', `-B${set.dir}`, '--', index]);
  assert.match(repair.stdout, /Repairing: \d+\.\d%/);
  const r = parse(repair.stdout);
  assert.equal(r.sum, 2 * data + sizes[0]!);
  assert.ok(r.details.includes('repairing'));
  // Unknown or malformed lines count nothing; a run that ends early still counts each stage begun as whole.
  const junk = parse('Scanning: 12%\r\nRepairing: lots\nOpening: "x"\nFoo: 50.0%\nThe total size of the data files is 1000 bytes.\n');
  assert.equal(junk.sum, 0);
  assert.equal(parse('The total size of the data files is 1000 bytes.\nVerifying source files:\nScanning: 40.0%\rTarget: "x" - missing.\n').sum, 1000);
});

test('the engine and verifySet/repairSet report par2 progress without changing the verdicts', async (t) => {
  const engine = await Par2CmdlineEngine.open();
  const sizes = new Array<number>(5).fill(65536);
  const set = await makeSet(t, engine, sizes, testConfig('sliding', 60, { windowSize: 2, windowSlide: 1 }));
  assert.ok(set.plan.units.length > 1);
  const quiet = await verifySet(set.plan, set.dir, engine);
  const adds = new Adds();
  assert.deepEqual(await verifySet(set.plan, set.dir, engine, { progress: adds }), quiet);
  assert.equal(adds.sum, checkedBytes(set.plan));
  assert.ok(checkedBytes(set.plan) > sizes.length * 65536, 'overlapping windows read a volume once per unit');
  await removeVolumes(set, [1]);
  await flipBlocks(set, [[2, 5]]);
  const damaged = await verifySet(set.plan, set.dir, engine);
  const seen = new Adds();
  assert.deepEqual(await verifySet(set.plan, set.dir, engine, { progress: seen }), damaged);
  assert.equal(damaged.status, 'repairable');
  assert.equal(seen.sum, checkedBytes(set.plan));
  const fixing = new Adds();
  const repaired = await repairSet(set.plan, set.dir, engine, { progress: fixing });
  assert.equal(repaired.status, 'repaired', JSON.stringify(repaired));
  assert.ok(fixing.sum > checkedBytes(set.plan), `a repair counts its passes too: ${fixing.sum}`);
  await assertIdentical(set);
  await assertClean(set);
});
