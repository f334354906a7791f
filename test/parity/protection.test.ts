/** Planner tests: coverage of every volume, golden layouts, guarantee arithmetic, size parsing. Pure, no par2. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  computeGuarantees,
  coverRanges,
  defaultProtectionConfig,
  formatPlan,
  groupedRanges,
  groupedReadyAt,
  planProtection,
  planStreaming,
  protectionShortfall,
  simulateRepair,
  streamingLayout,
  streamingOpenFrom,
  streamingOpenSpan,
  streamingRanges,
  streamingReadyAt,
  streamingStagingBound,
  streamingUnit,
  unitName,
  volumeFileName,
  type ProtectionConfig,
  type StreamingLayout,
} from '../../src/core/protection/index.js';
import { formatSize, parseSize } from '../../src/core/size.js';
import { isStrataError } from '../../src/errors.js';

const KiB = 1024;
const MiB = KiB * KiB;
const GiB = MiB * KiB;

function volumesOf(total: number, volume: number): number[] {
  const sizes = new Array<number>(Math.floor(total / volume)).fill(volume);
  if (total % volume !== 0) sizes.push(total % volume);
  return sizes;
}

test('every volume is covered, for many (n, window, slide) combinations', () => {
  for (let w = 1; w <= 12; w++) {
    for (let s = 1; s <= w; s++) {
      for (let n = 1; n <= 60; n++) {
        const cfg: ProtectionConfig = { ...defaultProtectionConfig, windowSize: w, windowSlide: s, groupSize: w };
        const windows = coverRanges('sliding', n, cfg);
        const covered = new Array<number>(n).fill(0);
        for (const [a, b] of windows) {
          assert.ok(a >= 0 && b < n && a <= b, `window ${a}-${b} inside 0..${n - 1}`);
          assert.equal(b - a + 1, Math.min(w, n), `n=${n} w=${w} s=${s}: every window has min(w, n) volumes`);
          for (let i = a; i <= b; i++) covered[i] = (covered[i] ?? 0) + 1;
        }
        assert.ok(covered.every((c) => c >= 1), `n=${n} w=${w} s=${s}: all covered (${JSON.stringify(windows)})`);
        assert.equal(windows[windows.length - 1]?.[1], n - 1, 'the last window ends at the last volume');
        // The post's windows come first, unchanged; at most one extra window is added.
        const post = n <= w ? 1 : Math.max(1, Math.floor((n - w) / s) + 1);
        assert.ok(windows.length === post || windows.length === post + 1);
        for (let k = 0; k < post && n > w; k++) assert.deepEqual(windows[k], [k * s, k * s + w - 1]);
      }
    }
  }
});

test('grouped ranges: consecutive, non-overlapping, full coverage, no small tail, prefix-stable (n 1…200)', () => {
  for (const g of [1, 2, 3, 4, 5, 7, 10, 20, 33]) {
    const h = Math.ceil(g / 2);
    for (let n = 1; n <= 200; n++) {
      const groups = groupedRanges(n, g);
      const at = `g=${g} n=${n}: ${JSON.stringify(groups)}`;
      assert.deepEqual(coverRanges('grouped', n, { ...defaultProtectionConfig, groupSize: g }), groups, at);
      assert.equal(groups[0]?.[0], 0, at);
      assert.equal(groups[groups.length - 1]?.[1], n - 1, at);
      for (let k = 1; k < groups.length; k++) assert.equal(groups[k]?.[0], (groups[k - 1]?.[1] ?? 0) + 1, `consecutive, no overlap: ${at}`);
      const lens = groups.map(([a, b]) => b - a + 1);
      assert.ok(lens.every((l) => l >= 1), at);
      if (n >= h) assert.ok(lens.every((l) => l >= h), `no group below ⌈g/2⌉ = ${h}: ${at}`);
      // Every group but the last is exactly g at its fixed position; the last is g … g + ⌈g/2⌉ − 1 (or all of n < g + ⌈g/2⌉).
      groups.slice(0, -1).forEach(([a, b], j) => assert.deepEqual([a, b], [j * g, j * g + g - 1], at));
      if (n >= g) assert.ok((lens[lens.length - 1] ?? 0) <= g + h - 1, `the last group absorbs less than half a group: ${at}`);
      // The rule as specified.
      const k = Math.floor(n / g);
      const r = n - k * g;
      const expected = k === 0 ? 1 : r === 0 ? k : r >= h ? k + 1 : k;
      assert.equal(groups.length, expected, at);
      // Prefix stability: a group certain at n (groupedReadyAt ≤ n − 1) is the same for every larger n.
      for (let j = 0; groupedReadyAt(j, g) <= n - 1; j++) {
        assert.deepEqual(groups[j], [j * g, j * g + g - 1], `group ${j} certain at ${at}`);
        for (let m = n + 1; m <= 200; m++) assert.deepEqual(groupedRanges(m, g)[j], [j * g, j * g + g - 1], `group ${j} certain at n=${n}, changed at n=${m} (g=${g})`);
      }
      // … and the rule is tight: the next group is not yet certain (some larger n moves it). With g ≤ 2
      // any remainder is a tail group (⌈g/2⌉ = 1), so there the rule waits one volume longer than needed.
      const jn = (() => {
        let j = 0;
        while (groupedReadyAt(j, g) <= n - 1) j++;
        return j;
      })();
      if (g > 2 && n >= (jn + 1) * g) assert.notDeepEqual(groupedRanges((jn + 1) * g + h - 1, g)[jn], [jn * g, jn * g + g - 1], `group ${jn} may still absorb (g=${g} n=${n})`);
    }
  }
  assert.deepEqual(groupedRanges(52, 20), [[0, 19], [20, 39], [40, 51]]);
  assert.deepEqual(groupedRanges(47, 20), [[0, 19], [20, 46]]);
  assert.deepEqual(groupedRanges(29, 20), [[0, 28]]);
  assert.deepEqual(groupedRanges(30, 20), [[0, 19], [20, 29]]);
  assert.deepEqual(groupedRanges(11, 4), [[0, 3], [4, 7], [8, 10]]);
  assert.deepEqual(groupedRanges(9, 4), [[0, 3], [4, 8]]);
});

/** layoutOf builds a streaming layout by hand (block size and rule do not matter to the ranges). */
function layoutOf(strategy: 'grouped' | 'sliding', size: number, step: number): StreamingLayout {
  return { strategy, size, step, blockSize: 4096, rule: { name: 'x', upTo: null, redundancyPercent: 10 }, estimatedBytes: 0 };
}

test('streaming units are certain when made, and volumes below the open span are covered only by certain units', () => {
  const layouts = [layoutOf('sliding', 4, 2), layoutOf('sliding', 40, 20), layoutOf('sliding', 5, 5), layoutOf('sliding', 6, 3)];
  for (const g of [2, 3, 4, 5, 20]) layouts.push(layoutOf('grouped', g, g));
  for (const l of layouts) {
    const cfg: ProtectionConfig = l.strategy === 'grouped' ? { ...defaultProtectionConfig, groupSize: l.size } : { ...defaultProtectionConfig, windowSize: l.size, windowSlide: l.step };
    for (let n = 1; n <= 150; n++) {
      const ranges = streamingRanges(l, n);
      // A streamed set has the layout `strata plan` shows for its count.
      assert.deepEqual(ranges, coverRanges(l.strategy, n, cfg), `${l.strategy} ${l.size}/${l.step} n=${n}`);
    }
    // While archiving, volumes 0…e are final and n ≥ e + 2 (7-Zip writes the next one).
    for (let e = 1; e <= 120; e++) {
      const certain = new Set<string>();
      for (let j = 1; streamingReadyAt(l, j) <= e; j++) certain.add(`${j * l.step}-${j * l.step + l.size - 1}`);
      const open = streamingOpenFrom(l, e);
      assert.ok(e - Math.max(open, 0) + 1 <= streamingOpenSpan(l), `${l.strategy} ${l.size}/${l.step} e=${e}: open span ${open}…${e} within ${streamingOpenSpan(l)}`);
      for (let n = e + 2; n <= e + 3 * l.size + 2; n++) {
        const ranges = streamingRanges(l, n);
        const names = new Set(ranges.map(([a, b]) => `${a}-${b}`));
        for (const c of certain) assert.ok(names.has(c), `${l.strategy} ${l.size}/${l.step}: unit ${c} certain at e=${e}, missing at n=${n}`);
        // A volume i in [size, open) is covered only by certain units: releasing it after they are made is safe.
        for (const [a, b] of ranges) {
          if (certain.has(`${a}-${b}`) || a === 0) continue;
          for (let i = Math.max(a, l.size); i <= b; i++) assert.ok(i >= open, `${l.strategy} ${l.size}/${l.step} e=${e} n=${n}: volume ${i} below the open span ${open} is in uncertain unit ${a}-${b}`);
        }
      }
    }
  }
  // The bound, for the defaults: 4 pending + 19 of group 1 + 29 open + 001 + the one being written.
  assert.equal(streamingStagingBound(layoutOf('grouped', 20, 20), 4), 4 + 19 + 29 + 2);
  assert.equal(streamingStagingBound(layoutOf('sliding', 40, 20), 4), 4 + 2 * 39 + 2);
});

test('streaming layout: grouped between directMaxBytes and groupedMaxBytes when the estimate spans more than one group', () => {
  const vol = 100 * MiB;
  assert.equal(streamingLayout('weekly', 900 * MiB, vol), null, 'direct');
  assert.equal(streamingLayout('weekly', 2.5 * GiB, vol), null, '26 volumes: one group (6 < 10 beyond 20 join it), so direct');
  const grouped = streamingLayout('weekly', 5 * GiB, vol);
  assert.ok(grouped !== null);
  assert.deepEqual([grouped.strategy, grouped.size, grouped.step, grouped.blockSize, grouped.rule.name], ['grouped', 20, 20, 3276800, 'medium']);
  assert.equal(streamingLayout('weekly', 25 * GiB, vol)?.strategy, 'sliding');
  // Group 1 (volumes 21-40) is made once volume 50 exists; a streamed set plans exactly like `strata plan`.
  assert.equal(streamingReadyAt(grouped, 1), 49);
  const sizes = volumesOf(5 * GiB, vol);
  const streamed = planStreaming({ setId: 'W', tier: 'weekly', volumeSizes: sizes }, grouped);
  const planned = planProtection({ setId: 'W', tier: 'weekly', volumeSizes: sizes });
  assert.deepEqual(streamed.units, planned.units);
  assert.deepEqual(streamingUnit('W', grouped, 1, vol), planned.units[1]);
  assert.equal(streamed.strategy, 'grouped');
  assert.match(streamed.strategyReason, /groups as planned/);
});

test("the post's example: 100 volumes, windows of 40 sliding by 20; 110 volumes get a tail window", () => {
  assert.deepEqual(coverRanges('sliding', 100), [
    [0, 39],
    [20, 59],
    [40, 79],
    [60, 99],
  ]);
  // The post's formula gives 4 windows ending at volume 80 of 110: strata adds 71-110.
  assert.deepEqual(coverRanges('sliding', 110).slice(-2), [
    [60, 99],
    [70, 109],
  ]);
  assert.equal(unitName('S', 70, 109), 'S_0071-0110');
  assert.equal(volumeFileName('S', 0), 'S.7z.001');
  assert.equal(volumeFileName('S', 1234), 'S.7z.1235');
});

test('golden plans with the default policy', () => {
  // 700 MiB daily: 7 volumes, direct; 10 % would be 22.4 blocks, too few for one volume (facts file) → 32.
  const daily = planProtection({ setId: 'D', tier: 'daily', volumeSizes: volumesOf(700 * MiB, 100 * MiB) });
  assert.equal(daily.strategy, 'direct');
  assert.equal(daily.sizeClass, 'small');
  assert.equal(daily.redundancyPercent, 10);
  assert.deepEqual(
    daily.units.map((u) => ({ ...u })),
    [{ name: 'D', dir: '', volumes: [0, 1, 2, 3, 4, 5, 6], blockSize: 3276800, sourceBlocks: 224, recoveryBlocks: 32, recoveryBytes: 32 * 3276800, recoveryFiles: 1 }],
  );
  assert.equal(daily.guarantees.wholeVolumesAnywhere, 1);
  assert.equal(daily.guarantees.scatteredBlocks, 32);
  assert.equal(daily.guarantees.contiguousBytes, 31 * 3276800 + 1);

  // 5 GiB weekly: 52 volumes in fixed groups of 20; the remainder of 12 (≥ 10) is a tail group.
  const weekly = planProtection({ setId: 'W', tier: 'weekly', volumeSizes: volumesOf(5 * GiB, 100 * MiB) });
  assert.equal(weekly.strategy, 'grouped');
  assert.deepEqual(
    weekly.units.map((u) => [u.dir, u.volumes.length, u.recoveryBlocks]),
    [
      ['W_0001-0020', 20, 77],
      ['W_0021-0040', 20, 77],
      ['W_0041-0052', 12, 44],
    ],
  );
  // 4.6 GiB weekly: 48 volumes; the remainder of 8 (< 10) joins the last group (28 volumes).
  const absorbed = planProtection({ setId: 'A', tier: 'weekly', volumeSizes: volumesOf(4700 * MiB + 37 * MiB, 100 * MiB) });
  assert.deepEqual(
    absorbed.units.map((u) => [u.dir, u.volumes.length]),
    [
      ['A_0001-0020', 20],
      ['A_0021-0048', 28],
    ],
  );

  // 25 GiB monthly: sliding windows of 40/20 with a final window ending at volume 257.
  const monthly = planProtection({ setId: 'M', tier: 'monthly', volumeSizes: volumesOf(25 * GiB + 37 * MiB, 100 * MiB) });
  assert.equal(monthly.strategy, 'sliding');
  assert.equal(monthly.sizeClass, 'large');
  assert.equal(monthly.units.length, 12);
  assert.equal(monthly.units[11]?.name, 'M_0218-0257');
  assert.equal(monthly.guarantees.wholeVolumesAnywhere, 5);
  assert.ok(monthly.guarantees.overheadPercent > 25 && monthly.guarantees.overheadPercent < 31, 'overlap doubles the overhead');
  assert.match(formatPlan(monthly), /M_0218-0257: volumes 218-257/);

  // A grouped-size set whose volumes fit one group is direct.
  const big = planProtection({ setId: 'B', tier: 'weekly', volumeSizes: volumesOf(3 * GiB, 1 * GiB) });
  assert.equal(big.strategy, 'direct');
  assert.match(big.strategyReason, /fit one group/);
  // So is one whose remainder beyond one group is under half a group (26 volumes: 6 < 10).
  const one = planProtection({ setId: 'O', tier: 'weekly', volumeSizes: volumesOf(2.5 * GiB, 100 * MiB) });
  assert.equal(one.units.length, 1);
  assert.equal(one.strategy, 'direct');
  assert.match(one.strategyReason, /26 volumes fit one group \(6 < 10 volumes beyond a group of 20 join it\)/);
});

test('a whole-volume floor above the cap is not applied, and the guarantee then says 0', () => {
  const p = planProtection({ setId: 'S', tier: 'daily', volumeSizes: [100 * MiB, 50 * MiB] });
  assert.equal(p.units[0]?.recoveryBlocks, 5); // the table's 10 % of 48 blocks; one volume would need 32 (67 % > 50 %)
  const two = planProtection({ setId: 'S', tier: 'daily', volumeSizes: [100 * MiB, 100 * MiB] });
  assert.equal(two.units[0]?.recoveryBlocks, 32, 'a floor of exactly 50 % is applied');
  assert.equal(two.guarantees.wholeVolumesAnywhere, 1);
  const one = planProtection({ setId: 'S', tier: 'weekly', volumeSizes: [60 * MiB] });
  assert.equal(one.units[0]?.recoveryBlocks, Math.ceil(0.15 * (one.units[0]?.sourceBlocks ?? 0)), 'one volume keeps the table\'s 15 %');
  assert.equal(p.guarantees.wholeVolumesAnywhere, 0);
  assert.match(formatPlan(p), /cannot rebuild a whole lost volume/);
});

test('contiguous-damage arithmetic: r blocks survive (r-1) whole blocks plus one byte on each side', () => {
  const unit = { name: 'U', dir: '', volumes: [0, 1], blockSize: 4096, sourceBlocks: 32, recoveryBlocks: 5, recoveryBytes: 5 * 4096, recoveryFiles: 1 };
  assert.equal(computeGuarantees([unit], [65536, 65536]).contiguousBytes, 4 * 4096 + 1);
  // Unaligned volumes: a partial last block makes a short "block" that a run can straddle cheaply.
  const odd = { ...unit, sourceBlocks: 17, recoveryBlocks: 2 };
  assert.equal(computeGuarantees([odd], [4096 * 8 + 10, 4096 * 8]).contiguousBytes, 10 + 1, '12 bytes over the 10-byte tail block touch 3 blocks');
  assert.equal(computeGuarantees([{ ...odd, recoveryBlocks: 3 }], [4096 * 8 + 10, 4096 * 8]).contiguousBytes, 4096 + 10 + 1);
  // Everything recoverable: the whole unit.
  assert.equal(computeGuarantees([{ ...unit, recoveryBlocks: 32 }], [65536, 65536]).contiguousBytes, 131072);
});

test('simulateRepair: overlapping windows rescue each other; shared losses do not', () => {
  const cfg: ProtectionConfig = {
    ...defaultProtectionConfig,
    directMaxBytes: 0,
    groupedMaxBytes: 0,
    windowSize: 4,
    windowSlide: 2,
    blocks: { ...defaultProtectionConfig.blocks, targetBlocksPerVolume: 16 },
  };
  const plan = planProtection({ setId: 'S', tier: 'yearly', volumeSizes: new Array<number>(9).fill(64 * KiB) }, { ...cfg, tiers: { ...cfg.tiers, yearly: [{ name: 'x', upTo: null, redundancyPercent: 25 }] } });
  assert.deepEqual(
    plan.units.map((u) => u.name),
    ['S_0001-0004', 'S_0003-0006', 'S_0005-0008', 'S_0006-0009'],
  );
  assert.equal(plan.units[0]?.recoveryBlocks, 16);
  const lose = (...v: number[]): Map<number, number> => new Map(v.map((i) => [i, 16]));
  const cascade = simulateRepair(plan, lose(0, 2));
  assert.deepEqual(cascade.unrepaired, []);
  assert.ok(cascade.passes >= 2);
  assert.deepEqual(simulateRepair(plan, lose(2, 3)).unrepaired, [2, 3]);
  assert.deepEqual(simulateRepair(plan, lose(8)).unrepaired, [], 'the tail volume is covered');
});

test('invalid configurations are CONFIG errors', () => {
  const bad: ProtectionConfig = { ...defaultProtectionConfig, windowSlide: 50 };
  assert.throws(
    () => planProtection({ setId: 'S', tier: 'daily', volumeSizes: [1] }, bad),
    (e: unknown) => isStrataError(e, 'CONFIG'),
  );
  const bs: ProtectionConfig = { ...defaultProtectionConfig, blocks: { ...defaultProtectionConfig.blocks, blockSize: 4097 } };
  assert.throws(() => planProtection({ setId: 'S', tier: 'daily', volumeSizes: [1] }, bs), /multiple of 4/);
});

test('parseSize and formatSize', () => {
  assert.equal(parseSize('123456'), 123456);
  assert.equal(parseSize('5GiB'), 5 * GiB);
  assert.equal(parseSize('100MiB'), 100 * MiB);
  assert.equal(parseSize('100m'), 100 * MiB);
  assert.equal(parseSize('1.5 GB'), 1.5e9);
  assert.equal(parseSize('64k'), 65536);
  for (const bad of ['', 'abc', '5 parsecs', '-1', '1e9']) {
    assert.throws(() => parseSize(bad), (e: unknown) => isStrataError(e, 'USAGE') && e.hint !== undefined, bad);
  }
  assert.equal(formatSize(100 * MiB), '100 MiB');
  assert.equal(formatSize(1536 * MiB), '1.50 GiB');
  assert.equal(formatSize(12), '12 B');
});

test('protectionShortfall: a streamed set fixed from an underestimate is caught; an accurate one is not', () => {
  // Sizes of the reviewer's case: tiny ≤ 1 MiB at 15 %, big above at 40 %; grouped ≤ 1 MiB, sliding above.
  const cfg: ProtectionConfig = {
    ...defaultProtectionConfig, directMaxBytes: 256 * KiB, groupedMaxBytes: MiB, groupSize: 4, windowSize: 4, windowSlide: 2,
    tiers: { ...defaultProtectionConfig.tiers, weekly: [{ name: 'tiny', upTo: MiB, redundancyPercent: 15 }, { name: 'big', upTo: null, redundancyPercent: 40 }] },
  };
  const input = { setId: 'S', tier: 'weekly' as const, volumeSizes: volumesOf(1_404_816, 64 * KiB) };
  const under = streamingLayout('weekly', 969.7 * KiB, 64 * KiB, cfg);
  assert.ok(under !== null && under.strategy === 'grouped');
  const got = planStreaming(input, under, cfg);
  assert.deepEqual([got.strategy, got.redundancyPercent], ['grouped', 15]);
  const ideal = protectionShortfall(got, input, cfg);
  assert.deepEqual([ideal?.strategy, ideal?.redundancyPercent, ideal?.sizeClass], ['sliding', 40, 'big']);
  const accurate = streamingLayout('weekly', 1_404_816, 64 * KiB, cfg);
  assert.ok(accurate !== null);
  assert.equal(protectionShortfall(planStreaming(input, accurate, cfg), input, cfg), null);
  // Monthly percentages fall as sets grow: an overestimate gives less than the table, and is caught too.
  const monthly = { ...input, tier: 'monthly' as const, volumeSizes: volumesOf(3 * GiB, 100 * MiB) };
  const over = streamingLayout('monthly', 300 * GiB, 100 * MiB);
  assert.ok(over !== null);
  const overPlan = planStreaming(monthly, over);
  assert.ok(overPlan.redundancyPercent < planProtection(monthly).redundancyPercent, `${overPlan.redundancyPercent} < table`);
  assert.notEqual(protectionShortfall(overPlan, monthly), null);
});
