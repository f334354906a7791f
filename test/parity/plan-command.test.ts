/** `strata plan`: flags, text output and the --json plan object. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandContext } from '../../src/commands/context.js';
import { fixedClock } from '../../src/clock.js';
import { planCommand } from '../../src/commands/plan.js';
import type { ProtectionPlan } from '../../src/core/protection/index.js';
import { isStrataError } from '../../src/errors.js';
import type { Output, Progress } from '../../src/ui/output.js';

function context(json: boolean): { ctx: CommandContext; lines: string[]; data: unknown[] } {
  const lines: string[] = [];
  const data: unknown[] = [];
  const none: Progress = { update: () => undefined, done: () => undefined };
  const out: Output = {
    json,
    verbosity: 'normal',
    result: (l) => (json ? undefined : lines.push(l)),
    summary: (l) => (json ? undefined : lines.push(l)),
    data: (v) => (json ? data.push(v) : undefined),
    info: () => undefined,
    verbose: () => undefined,
    warn: () => undefined,
    progress: () => none,
  };
  const ctx: CommandContext = { global: { json, quiet: false, verbose: false }, out, clock: fixedClock(new Date('2026-11-29T00:00:00Z')), env: {}, signal: new AbortController().signal };
  return { ctx, lines, data };
}

test('strata plan prints strategy, windows and guarantees', async () => {
  const { ctx, lines } = context(false);
  assert.equal(await planCommand.run(ctx, ['--size', '25GiB', '--tier', 'monthly', '--volume-size', '100MiB']), 0);
  const text = lines.join('\n');
  assert.match(text, /strategy: sliding/);
  assert.match(text, /SET_0001-0040: volumes 1-40/);
  assert.match(text, /whole volumes? lost anywhere/);
});

test('strata plan --json prints the plan object', async () => {
  const { ctx, data } = context(true);
  await planCommand.run(ctx, ['--size', '700MiB', '--tier', 'daily', '--set', 'X']);
  const plan = data[0] as ProtectionPlan;
  assert.equal(plan.strategy, 'direct');
  assert.equal(plan.units[0]?.name, 'X');
  assert.equal(plan.guarantees.wholeVolumesAnywhere, 2, '20 volumes of 35 MiB at 10 %');
});

test('strata plan rejects bad sizes and tiers with hints', async () => {
  const { ctx } = context(false);
  for (const args of [['--size', 'lots', '--tier', 'daily'], ['--size', '1GiB', '--tier', 'hourly'], ['--tier', 'daily'], ['--size', '1GiB', '--tier', 'daily', '--bogus']]) {
    await assert.rejects(planCommand.run(ctx, args), (e: unknown) => isStrataError(e, 'USAGE') && e.hint !== undefined, args.join(' '));
  }
});

test('strata plan without a config chooses the volume size backups of that tier choose (at most daily 50MiB, weekly 100MiB)', async () => {
  const sizes: Record<string, number[]> = {};
  for (const tier of ['daily', 'weekly']) {
    const { ctx, data } = context(true);
    await planCommand.run(ctx, ['--size', '700MiB', '--tier', tier]);
    sizes[tier] = (data[0] as ProtectionPlan).volumeSizes;
  }
  assert.deepEqual(sizes['daily'], new Array<number>(20).fill(35 * 1024 * 1024));
  assert.deepEqual(sizes['weekly'], new Array<number>(14).fill(50 * 1024 * 1024));
  const { ctx, data } = context(true);
  await planCommand.run(ctx, ['--size', '3GiB', '--tier', 'weekly']);
  assert.deepEqual((data[0] as ProtectionPlan).volumeSizes, new Array<number>(30).fill(100 * 1024 * 1024).concat([72 * 1024 * 1024]));
});

test('strata plan of a 250 MiB weekly set: 14 volumes, 15 % recovery data instead of 40 %, and says why', async () => {
  const { ctx, lines } = context(false);
  assert.equal(await planCommand.run(ctx, ['--size', '250MiB', '--tier', 'weekly']), 0);
  const text = lines.join('\n');
  assert.match(text, /^volume size: 17\.88 MiB \(14 volumes for 250 MiB, so one lost volume costs no more than the table's 15% even if the archive is 1\/2 of the raw size; at most 100 MiB\)$/m);
  assert.match(text, /^set SET: 14 volumes of 17\.88 MiB, 250 MiB, tier weekly/m);
  assert.match(text, /^recovery data: .* \(15\.19% of 250 MiB\)$/m);
  assert.match(text, /2 whole volumes lost anywhere/);
  const json = context(true);
  await planCommand.run(json.ctx, ['--size', '250MiB', '--tier', 'weekly', '--volume-size', '10MiB']);
  const plan = json.data[0] as ProtectionPlan & { volumeSize: number };
  assert.equal(plan.volumeSize, 10 * 1024 * 1024, '--volume-size is the maximum');
  assert.equal(plan.volumeSizes.length, 25);
});
