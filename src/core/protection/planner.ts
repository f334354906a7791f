/**
 * core/protection/planner: the PAR2 protection planner. Given a set's volume sizes and tier it decides how
 * much recovery data to make, how to lay it out (direct / grouped / sliding windows, as in the blog
 * post) and what that layout is guaranteed to survive. Pure: src/parity does the IO.
 *
 * Layout (what a person sees inside a set folder):
 *   direct   <set>.7z.001 … <set>.par2 <set>.vol00+12.par2 …            (beside the volumes)
 *   grouped  <set>_0001-0020/<set>_0001-0020.par2 …                       (one folder per group)
 *   sliding  <set>_0001-0040/…, <set>_0021-0060/…, …                      (one folder per window)
 * Folder numbers are 1-based and inclusive, so they are the volume file extensions they cover
 * (`_0021-0060` = `.021` … `.060`); the post printed 0-based start/exclusive end, which makes a
 * person subtract one. PAR2 files in a folder name the volumes one level up through par2's
 * base-path option (`-B`), so no links and no chdir are needed, and stock par2 repairs the layout.
 *
 * Defaults and why (all configurable through ProtectionConfig):
 * - Size classes (the post gives none): daily/weekly small ≤ 1 GiB < medium ≤ 10 GiB < large;
 *   monthly/yearly very small ≤ 100 MiB < small ≤ 1 GiB < medium-small ≤ 5 GiB < medium ≤ 20 GiB
 *   < large ≤ 100 GiB < very large. Redundancy percentages are the post's table 1.
 * - Strategy: direct ≤ 1 GiB, grouped ≤ 10 GiB, sliding above (the daily size classes). PAR2 work
 *   grows with protected bytes × recovery blocks, so one set over everything costs size²; groups
 *   and windows keep the cost linear in the set size. Groups of 20 volumes at fixed positions
 *   (1-20, 21-40, …); a remainder of at least half a group is a tail group of its own, a smaller
 *   one joins the last full group, so no tiny tail group is left (one volume alone would need
 *   100 % to survive its loss) and every group but the last is known before the set's end (see
 *   groupedRanges: that is what lets grouped sets be streamed). Windows of 40 sliding by 20 (the
 *   post), plus a final window ending at the last volume when the post's formula would leave tail
 *   volumes uncovered.
 * - Blocks: about 32 blocks per (largest) volume, rounded up to a multiple of 4 KiB. A bad sector
 *   (≤ 4 KiB, aligned) therefore costs exactly one block, not a volume; par2's create time is
 *   proportional to the number of recovery blocks, and 32 per volume keeps it near the
 *   measured 25 MB/s at 10 % (2 cores) while still giving hundreds of repairable spots per unit.
 * - Whole volumes: the table's percentage is a floor; each unit gets at least enough recovery
 *   blocks to rebuild its `minWholeVolumes` (1) largest volumes — losing one cloud object is the
 *   most common failure, and 10 % over 7 volumes cannot rebuild one (facts file) — unless that would
 *   exceed `maxRedundancyPercent` (50): then the table's percentage stands (a set of one volume
 *   keeps its 10–30 %, not 50 % that still could not rebuild it) and the guarantees say 0 whole
 *   volumes.
 * - Redundancy is per unit, like par2 -r in the post: windows overlapping by half put each volume
 *   in about two windows, so sliding costs about twice the percentage; `overheadPercent` says so.
 */
import { counted } from '../words.js';
import type { Tier } from '../naming.js';
import { StrataError } from '../../errors.js';
import { formatSize } from '../size.js';
import { blocksOf, computeGuarantees } from './guarantees.js';
import type { BlockPolicy, PlanInput, ProtectionConfig, ProtectionPlan, ProtectionUnit, SizeClassRule, Strategy } from './types.js';

const KiB = 1024;
const MiB = KiB * KiB;
const GiB = MiB * KiB;

/** longTermTable is the blog post's one table for monthly and yearly sets (a fresh copy each). */
function longTermTable(): SizeClassRule[] {
  return [
    { name: 'very small', upTo: 100 * MiB, redundancyPercent: 30 },
    { name: 'small', upTo: 1 * GiB, redundancyPercent: 25 },
    { name: 'medium-small', upTo: 5 * GiB, redundancyPercent: 20 },
    { name: 'medium', upTo: 20 * GiB, redundancyPercent: 18 },
    { name: 'large', upTo: 100 * GiB, redundancyPercent: 15 },
    { name: 'very large', upTo: null, redundancyPercent: 15 },
  ];
}

/** defaultProtectionConfig is the policy strata uses unless configured otherwise (see the module comment). */
export const defaultProtectionConfig: ProtectionConfig = {
  tiers: {
    daily: [
      { name: 'small', upTo: 1 * GiB, redundancyPercent: 10 },
      { name: 'medium', upTo: 10 * GiB, redundancyPercent: 8 },
      { name: 'large', upTo: null, redundancyPercent: 8 },
    ],
    weekly: [
      { name: 'small', upTo: 1 * GiB, redundancyPercent: 15 },
      { name: 'medium', upTo: 10 * GiB, redundancyPercent: 12 },
      { name: 'large', upTo: null, redundancyPercent: 12 },
    ],
    monthly: longTermTable(),
    yearly: longTermTable(),
  },
  directMaxBytes: 1 * GiB,
  groupedMaxBytes: 10 * GiB,
  groupSize: 20,
  windowSize: 40,
  windowSlide: 20,
  minWholeVolumes: 1,
  maxRedundancyPercent: 50,
  blocks: { blockSize: 'auto', targetBlocksPerVolume: 32, align: 4 * KiB, maxSourceBlocks: 32768 },
  maxRecoveryFiles: 31,
};

/** volumeFileName is the file name of volume `index` (0-based): `<set>.7z.001` for index 0. */
export function volumeFileName(setId: string, index: number): string {
  return `${setId}.7z.${String(index + 1).padStart(3, '0')}`;
}

/** unitName names a group or window by its 1-based inclusive volume numbers: `<set>_0001-0040`. */
export function unitName(setId: string, first: number, last: number): string {
  return `${setId}_${String(first + 1).padStart(4, '0')}-${String(last + 1).padStart(4, '0')}`;
}

/** validateProtectionConfig checks a configuration and throws StrataError('CONFIG') naming the bad field. */
export function validateProtectionConfig(c: ProtectionConfig): void {
  const fail = (msg: string): never => {
    throw new StrataError('CONFIG', `protection: ${msg}`, { hint: 'Fix the protection section of the configuration (see core/protection for the defaults).' });
  };
  const posInt = (v: number, what: string): void => {
    if (!Number.isInteger(v) || v < 1) fail(`${what} must be a positive integer (got ${v})`);
  };
  for (const tier of ['daily', 'weekly', 'monthly', 'yearly'] as const) {
    const rules = c.tiers[tier];
    if (rules.length === 0) fail(`tiers.${tier} is empty`);
    let prev = 0;
    rules.forEach((r, i) => {
      const last = i === rules.length - 1;
      if (last !== (r.upTo === null)) fail(`tiers.${tier}: only the last size class has no upper bound`);
      if (r.upTo !== null && !(r.upTo > prev)) fail(`tiers.${tier}: size classes must grow (${r.name})`);
      if (r.upTo !== null) prev = r.upTo;
      if (!(r.redundancyPercent > 0 && r.redundancyPercent <= 100)) fail(`tiers.${tier}.${r.name}: redundancy must be in (0, 100]`);
    });
  }
  if (!(c.directMaxBytes >= 0 && c.groupedMaxBytes >= c.directMaxBytes)) fail('directMaxBytes ≤ groupedMaxBytes is required');
  posInt(c.groupSize, 'groupSize');
  posInt(c.windowSize, 'windowSize');
  posInt(c.windowSlide, 'windowSlide');
  if (c.windowSlide > c.windowSize) fail('windowSlide may not exceed windowSize (volumes between windows would be unprotected)');
  if (!Number.isInteger(c.minWholeVolumes) || c.minWholeVolumes < 0) fail('minWholeVolumes must be 0 or more');
  if (!(c.maxRedundancyPercent > 0 && c.maxRedundancyPercent <= 100)) fail('maxRedundancyPercent must be in (0, 100]');
  posInt(c.blocks.align, 'blocks.align');
  if (c.blocks.align % 4 !== 0) fail('blocks.align must be a multiple of 4 (par2 requires it)');
  posInt(c.blocks.targetBlocksPerVolume, 'blocks.targetBlocksPerVolume');
  posInt(c.blocks.maxSourceBlocks, 'blocks.maxSourceBlocks');
  if (c.blocks.blockSize !== 'auto') {
    posInt(c.blocks.blockSize, 'blocks.blockSize');
    if (c.blocks.blockSize % 4 !== 0) fail('blocks.blockSize must be a multiple of 4 (par2 requires it)');
  }
  if (!Number.isInteger(c.maxRecoveryFiles) || c.maxRecoveryFiles < 1 || c.maxRecoveryFiles > 31) fail('maxRecoveryFiles must be 1…31');
}

/** sizeClassFor picks the size class (and its redundancy) of a set of `totalBytes` in a tier. */
export function sizeClassFor(tier: Tier, totalBytes: number, config: ProtectionConfig = defaultProtectionConfig): SizeClassRule {
  const rules = config.tiers[tier];
  const rule = rules.find((r) => r.upTo === null || totalBytes <= r.upTo) ?? rules[rules.length - 1];
  if (rule === undefined) throw new StrataError('CONFIG', `protection: tiers.${tier} is empty`);
  return rule;
}

/**
 * groupedRanges splits n volumes into groups of g at fixed positions, [j·g, j·g + g − 1]. The
 * remainder r = n mod g is a tail group of its own when r ≥ ⌈g/2⌉; a smaller one joins the last
 * full group (which then ends at the last volume), so no group is smaller than ⌈g/2⌉ volumes
 * unless the whole set is. Fewer than g volumes are one group.
 *
 * Prefix-stable: group j is [j·g, j·g + g − 1] for every n ≥ (j + 1)·g + ⌈g/2⌉ (groupedReadyAt),
 * so a streaming backup can make it as soon as that many volumes exist, and it is the group
 * `strata plan` and a backup made at the end show for the final count. Balancing the groups over
 * n instead (sizes differing by one) moves every boundary with n, and nothing could be made
 * before the set's end.
 */
export function groupedRanges(n: number, g: number): [number, number][] {
  if (n <= 0) return [];
  const k = Math.floor(n / g);
  const r = n - k * g;
  if (k === 0) return [[0, n - 1]];
  const full = r === 0 || r >= Math.ceil(g / 2) ? k : k - 1;
  const out: [number, number][] = [];
  for (let j = 0; j < full; j++) out.push([j * g, j * g + g - 1]);
  if (full * g < n) out.push([full * g, n - 1]);
  return out;
}

/** groupedReadyAt is the 0-based volume index whose existence makes group j certain: (j + 1)·g + ⌈g/2⌉ − 1 (see groupedRanges). */
export function groupedReadyAt(j: number, g: number): number {
  // With that many volumes, k ≥ j + 1 full groups exist, and if group j is the last of them the
  // remainder is ≥ ⌈g/2⌉, a tail group of its own: group j absorbs nothing whatever follows.
  return (j + 1) * g + Math.ceil(g / 2) - 1;
}

/** coverRanges splits n volumes into the strategy's consecutive [first, last] ranges (0-based, inclusive). */
export function coverRanges(strategy: Strategy, n: number, config: ProtectionConfig = defaultProtectionConfig): [number, number][] {
  if (n <= 0) return [];
  if (strategy === 'direct') return [[0, n - 1]];
  if (strategy === 'grouped') return groupedRanges(n, config.groupSize);
  const w = config.windowSize;
  const s = config.windowSlide;
  if (n <= w) return [[0, n - 1]];
  // The post's count, max(1, (n - w) // s + 1) windows starting at 0, s, 2s, …
  const out: [number, number][] = [];
  for (let start = 0; start + w <= n; start += s) out.push([start, start + w - 1]);
  // … leaves the tail uncovered unless (n - w) is a multiple of s: add a window ending at the last volume.
  const lastEnd = out[out.length - 1]?.[1] ?? -1;
  if (lastEnd < n - 1) out.push([n - w, n - 1]);
  return out;
}

/** chooseBlockSize applies the block policy to a set's volumes and its units' ranges. */
export function chooseBlockSize(volumeSizes: readonly number[], ranges: readonly [number, number][], policy: BlockPolicy): number {
  const roundUp = (v: number): number => Math.max(policy.align, Math.ceil(v / policy.align) * policy.align);
  let size = policy.blockSize === 'auto' ? roundUp(Math.ceil(Math.max(1, ...volumeSizes) / policy.targetBlocksPerVolume)) : policy.blockSize;
  // par2 limits the source blocks of one set; grow the block until every unit fits.
  for (;;) {
    const worst = Math.max(...ranges.map(([a, b]) => sourceBlocksOf(volumeSizes, a, b, size)));
    if (worst <= policy.maxSourceBlocks) return size;
    size = policy.blockSize === 'auto' ? roundUp(size * 1.25) : size * 2;
  }
}

function sourceBlocksOf(volumeSizes: readonly number[], first: number, last: number, blockSize: number): number {
  let n = 0;
  for (let i = first; i <= last; i++) n += blocksOf(volumeSizes[i] ?? 0, blockSize);
  return n;
}

/** planProtection decides the strategy, units and recovery block counts for a set, and its guarantees. */
export function planProtection(input: PlanInput, config: ProtectionConfig = defaultProtectionConfig): ProtectionPlan {
  validateProtectionConfig(config);
  const sizes = [...input.volumeSizes];
  if (sizes.length === 0) throw new StrataError('INTERNAL', 'protection: a set without volumes needs no plan');
  if (sizes.some((s) => !Number.isInteger(s) || s <= 0)) throw new StrataError('INTERNAL', 'protection: volume sizes must be positive integers');
  const total = sizes.reduce((a, b) => a + b, 0);
  const rule = sizeClassFor(input.tier, total, config);
  const n = sizes.length;

  let strategy: Strategy = total <= config.directMaxBytes ? 'direct' : total <= config.groupedMaxBytes ? 'grouped' : 'sliding';
  let strategyReason = `${formatSize(total)} is ${strategy === 'direct' ? `≤ ${formatSize(config.directMaxBytes)}` : strategy === 'grouped' ? `≤ ${formatSize(config.groupedMaxBytes)}` : `> ${formatSize(config.groupedMaxBytes)}`}`;
  if (strategy === 'grouped' && groupedRanges(n, config.groupSize).length === 1) {
    strategy = 'direct';
    strategyReason += n <= config.groupSize ? `, but its ${counted(n, 'volume')} fit one group of ${config.groupSize}` : `, but its ${counted(n, 'volume')} fit one group (${n - config.groupSize} < ${Math.ceil(config.groupSize / 2)} volumes beyond a group of ${config.groupSize} join it)`;
  } else if (strategy === 'sliding' && n <= config.windowSize) {
    strategy = 'direct';
    strategyReason += `, but its ${counted(n, 'volume')} fit one window of ${config.windowSize}`;
  }

  const ranges = coverRanges(strategy, n, config);
  const blockSize = chooseBlockSize(sizes, ranges, config.blocks);
  const units = ranges.map(([first, last]) => makeUnit(input.setId, strategy, first, last, sizes, blockSize, rule.redundancyPercent, config));
  const guarantees = computeGuarantees(units, sizes);
  return {
    setId: input.setId,
    tier: input.tier,
    volumeSizes: sizes,
    strategy,
    strategyReason,
    sizeClass: rule.name,
    redundancyPercent: rule.redundancyPercent,
    units,
    guarantees,
  };
}

/** makeUnit sizes one unit over volumes first…last: recovery blocks from the percentage, raised to the whole-volume floor when that is within the cap. */
export function makeUnit(setId: string, strategy: Strategy, first: number, last: number, sizes: readonly number[], blockSize: number, percent: number, config: ProtectionConfig): ProtectionUnit {
  const volumes: number[] = [];
  for (let i = first; i <= last; i++) volumes.push(i);
  const perVolume = volumes.map((v) => blocksOf(sizes[v] ?? 0, blockSize));
  const sourceBlocks = perVolume.reduce((a, b) => a + b, 0);
  const byPercent = Math.ceil((percent * sourceBlocks) / 100 - 1e-9);
  const desc = [...perVolume].sort((a, b) => b - a);
  const wholeFloor = desc.slice(0, config.minWholeVolumes).reduce((a, b) => a + b, 0);
  const cap = Math.floor((config.maxRedundancyPercent * sourceBlocks) / 100 + 1e-9);
  // A floor above the cap is not applied at all: raising a unit towards a whole volume it still
  // could not rebuild (one volume alone needs 100 %) would only cost space.
  const recoveryBlocks = Math.max(1, byPercent, wholeFloor <= cap ? wholeFloor : 0);
  const recoveryBytes = recoveryBlocks * blockSize;
  const largest = Math.max(...sizes);
  // About one recovery file per volume's worth of recovery data: losing one file then costs
  // about what losing one volume costs, and no single file holds all the recovery.
  const recoveryFiles = Math.max(1, Math.min(config.maxRecoveryFiles, recoveryBlocks, Math.ceil(recoveryBytes / largest)));
  const name = strategy === 'direct' ? setId : unitName(setId, first, last);
  return { name, dir: strategy === 'direct' ? '' : name, volumes, blockSize, sourceBlocks, recoveryBlocks, recoveryBytes, recoveryFiles };
}

/** MANIFEST_TARGET_BLOCKS sizes the manifest's PAR2 blocks: small (the file is small), 4 KiB-aligned. */
const MANIFEST_TARGET_BLOCKS = 32;

/**
 * manifestUnit protects a set's encrypted manifest (one file of `size` bytes) with its own PAR2
 * set beside it (`<set>.manifest.par2`): 100 % redundancy, so the recovery files alone rebuild
 * the whole file, spread over two files so that losing one still leaves half. It is small (the
 * manifest is), and without the manifest nothing of the set can be restored.
 */
export function manifestUnit(setId: string, size: number): ProtectionUnit {
  const align = 4 * KiB;
  const blockSize = Math.max(align, Math.ceil(Math.ceil(size / MANIFEST_TARGET_BLOCKS) / align) * align);
  const sourceBlocks = blocksOf(size, blockSize);
  const recoveryBlocks = sourceBlocks;
  return { name: `${setId}.manifest`, dir: '', volumes: [0], blockSize, sourceBlocks, recoveryBlocks, recoveryBytes: recoveryBlocks * blockSize, recoveryFiles: Math.min(2, recoveryBlocks) };
}
