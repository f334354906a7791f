/**
 * core/protection: the PAR2 protection planner. Given a set's volume sizes and tier it decides how
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
import { counted } from './words.js';
import type { Tier } from './naming.js';
import { StrataError } from '../errors.js';
import { formatSize } from './size.js';
import { manifestUnitName, unitName } from './keys.js';

export type { Tier } from './naming.js';

/** Strategy is how the recovery data is laid out over the volumes. */
export type Strategy = 'direct' | 'grouped' | 'sliding';

/** SizeClassRule is one row of the redundancy table: sets up to `upTo` bytes (null: no limit) get `redundancyPercent`. */
export interface SizeClassRule {
  name: string;
  upTo: number | null;
  redundancyPercent: number;
}

/** BlockPolicy decides the PAR2 block size. */
export interface BlockPolicy {
  /** A fixed block size in bytes (multiple of `align`), or 'auto'. */
  blockSize: number | 'auto';
  /** With 'auto': blocks per largest volume to aim for (the block size is rounded up, so at most this many). */
  targetBlocksPerVolume: number;
  /** Block sizes are multiples of this (4 KiB: one aligned sector never spans two blocks). */
  align: number;
  /** par2cmdline refuses more source blocks than this per set. */
  maxSourceBlocks: number;
}

/** ProtectionConfig is the whole, configurable protection policy. */
export interface ProtectionConfig {
  /** Size classes per tier, smallest first; the last has upTo null. */
  tiers: Record<Tier, SizeClassRule[]>;
  /** Sets up to this many bytes get one PAR2 set beside the volumes. */
  directMaxBytes: number;
  /** Sets up to this many bytes get fixed groups; larger ones sliding windows. */
  groupedMaxBytes: number;
  /** Volumes per group: fixed groups of this many; a remainder of at least half a group is its own tail group, a smaller one joins the last group. */
  groupSize: number;
  /** Volumes per window. */
  windowSize: number;
  /** Volumes between window starts (windowSize − overlap). */
  windowSlide: number;
  /** Each unit can rebuild at least this many of its largest volumes (capped by maxRedundancyPercent). */
  minWholeVolumes: number;
  /** The whole-volume floor is applied only when it needs no more than this percentage. */
  maxRedundancyPercent: number;
  blocks: BlockPolicy;
  /** At most this many recovery files per unit (par2 allows 31). */
  maxRecoveryFiles: number;
}

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

/** ProtectionUnit is one PAR2 set: the files par2 creates and the volumes it protects. */
export interface ProtectionUnit {
  /** par2 base name: files are `<name>.par2` and `<name>.volNN+MM.par2`. */
  name: string;
  /** Folder of the PAR2 files relative to the set folder ('' = beside the volumes). */
  dir: string;
  /** 0-based volume indices, consecutive. */
  volumes: number[];
  blockSize: number;
  sourceBlocks: number;
  recoveryBlocks: number;
  /** recoveryBlocks × blockSize (the files add packet headers, well under 1 %). */
  recoveryBytes: number;
  /** How many recovery files to spread the blocks over (uniform sizes). */
  recoveryFiles: number;
}

/** UnitGuarantee is what one unit survives on its own. */
export interface UnitGuarantee {
  name: string;
  /** 0-based first and last volume of the unit. */
  firstVolume: number;
  lastVolume: number;
  /** Any this many of the unit's volumes may be lost entirely. */
  wholeVolumes: number;
  /** Any this many damaged blocks (data or recovery packets) in the unit. */
  scatteredBlocks: number;
  /** A contiguous run of damage this long anywhere in the unit's volumes. */
  contiguousBytes: number;
}

/** Guarantees is what a plan survives for certain, derived from its block arithmetic. */
export interface Guarantees {
  blockSize: number;
  /** Whole volumes that may be lost anywhere in the set (worst case: all in one unit). */
  wholeVolumesAnywhere: number;
  /** Damaged blocks anywhere (each flipped byte or aligned bad sector costs one block, in a volume or a recovery packet). */
  scatteredBlocks: number;
  /** scatteredBlocks × blockSize: block-aligned damage, e.g. that many bad 4 KiB sectors' worth. */
  scatteredBytes: number;
  /** The longest contiguous run of damage, at any offset and across volume boundaries. */
  contiguousBytes: number;
  protectedBytes: number;
  recoveryBytes: number;
  /** recoveryBytes / protectedBytes × 100 (sliding windows count overlapped volumes twice). */
  overheadPercent: number;
  perUnit: UnitGuarantee[];
  /** Sentences for people, e.g. where losses may fall. */
  notes: string[];
}

/** ProtectionPlan is the planner's whole answer for one set. */
export interface ProtectionPlan {
  setId: string;
  tier: Tier;
  volumeSizes: number[];
  strategy: Strategy;
  /** Why this strategy (e.g. a grouped-size set whose volumes all fit one group is direct). */
  strategyReason: string;
  sizeClass: string;
  redundancyPercent: number;
  units: ProtectionUnit[];
  guarantees: Guarantees;
}

/** PlanInput is what the planner needs to know about a set. */
export interface PlanInput {
  setId: string;
  tier: Tier;
  volumeSizes: readonly number[];
}

// Volume and unit names live in core/keys (re-exported here for the planner's users).
export { volumeFileName, unitName } from './keys.js';

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

function blocksOf(bytes: number, blockSize: number): number {
  return Math.max(1, Math.ceil(bytes / blockSize));
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

// ---------------------------------------------------------------------------------------------
// Streaming: units made while 7-Zip still writes later volumes.
//
// planProtection needs every volume size, which a backup knows only when 7-Zip has finished. To
// protect (and then release) volumes while the archive is still being written, a backup fixes a
// StreamingLayout once, from an estimate of the set size, when it makes its first unit. Its units
// are prefix-stable: unit j covers volumes [j·step, j·step + size − 1] whatever the final count,
// once volume streamingReadyAt(j) exists, so such a unit is final when those volumes are (every
// volume but the last has exactly the volume size). Only the units at the end depend on the count.
// Both layouts are exactly planProtection's ranges, so a streamed set has the layout `strata plan`
// shows for its volume count:
// - sliding: windows at fixed starts 0, s, 2s …, then one of `size` ending at the last volume
//   (overlapping its neighbour, so never a tiny tail). Window j is certain once its last volume
//   j·s + size − 1 exists.
// - grouped: groupedRanges, size = step = groupSize. Group j is certain once volume
//   (j + 1)·g + ⌈g/2⌉ − 1 exists (groupedReadyAt): only the last full group may absorb a remainder,
//   and with that many volumes group j is no longer a candidate for it.
// Unit 0 holds volume 001, which 7-Zip rewrites last: a backup makes it at the end.
// The size class (percentage) and the block size come from the estimate and stay; the plan a
// backup records is planStreaming over the real volume sizes, i.e. exactly what it made.

/** StreamingLayout is what a streaming backup fixes when it makes its first unit early. */
export interface StreamingLayout {
  strategy: 'grouped' | 'sliding';
  /** Volumes per unit (grouped: the last group may hold up to size + ⌈size/2⌉ − 1). */
  size: number;
  /** Volumes between unit starts (grouped: size). */
  step: number;
  blockSize: number;
  rule: SizeClassRule;
  /** The estimate the layout was fixed from, for the plan's strategyReason. */
  estimatedBytes: number;
}

/** streamingMaxUnitVolumes is the most volumes one unit of a layout can hold (the block size must suit it). */
function streamingMaxUnitVolumes(strategy: StreamingLayout['strategy'], size: number): number {
  return strategy === 'grouped' ? size + Math.ceil(size / 2) - 1 : size;
}

/** streamingLayout picks the layout for a set estimated at `estimatedBytes` in volumes of `volumeSize`; null: direct (no unit can be made before the end). */
export function streamingLayout(tier: Tier, estimatedBytes: number, volumeSize: number, config: ProtectionConfig = defaultProtectionConfig): StreamingLayout | null {
  validateProtectionConfig(config);
  const n = Math.ceil(estimatedBytes / volumeSize);
  // Direct sets have one unit over every volume: made at the end, staged whole (≤ directMaxBytes).
  // So is a grouped-size set whose estimate is one group (planProtection makes it direct).
  if (estimatedBytes <= config.directMaxBytes) return null;
  let strategy: StreamingLayout['strategy'];
  let size: number;
  let step: number;
  if (estimatedBytes <= config.groupedMaxBytes) {
    if (groupedRanges(n, config.groupSize).length <= 1) return null;
    [strategy, size, step] = ['grouped', config.groupSize, config.groupSize];
  } else {
    if (n <= config.windowSize) return null;
    [strategy, size, step] = ['sliding', config.windowSize, config.windowSlide];
  }
  const max = streamingMaxUnitVolumes(strategy, size);
  const sizes = new Array<number>(max).fill(volumeSize);
  const blockSize = chooseBlockSize(sizes, [[0, max - 1]], config.blocks);
  return { strategy, size, step, blockSize, rule: sizeClassFor(tier, estimatedBytes, config), estimatedBytes };
}

/** streamingRanges lists the units of a streaming layout over n volumes (see above). */
export function streamingRanges(layout: StreamingLayout, n: number): [number, number][] {
  if (n <= 0) return [];
  if (layout.strategy === 'grouped') return groupedRanges(n, layout.size);
  if (n <= layout.size) return [[0, n - 1]];
  const out: [number, number][] = [];
  for (let start = 0; start + layout.size <= n; start += layout.step) out.push([start, start + layout.size - 1]);
  const lastEnd = out[out.length - 1]?.[1] ?? -1;
  if (lastEnd < n - 1) out.push([n - layout.size, n - 1]);
  return out;
}

/**
 * streamingReadyAt is the 0-based index of the volume that must exist (and be final, with every
 * volume before it) before unit j of a layout may be made at its fixed position:
 * sliding j·step + size − 1 (its last volume), grouped (j + 1)·g + ⌈g/2⌉ − 1 (groupedReadyAt).
 */
export function streamingReadyAt(layout: StreamingLayout, j: number): number {
  return layout.strategy === 'grouped' ? groupedReadyAt(j, layout.size) : j * layout.step + layout.size - 1;
}

/**
 * streamingOpenFrom is the lowest volume index that a unit not yet certain may still cover, when
 * volumes 0…e are final and the set has more volumes still (n ≥ e + 2). Volumes from there on must
 * stay local until the end or until 7-Zip writes more; volumes below it are covered only by units
 * that are certain already.
 * - sliding: the window ending at the last volume starts at n − size ≥ e + 2 − size, and a fixed
 *   window that is not certain (j·step + size − 1 > e) starts there or later.
 * - grouped: the first group not certain, j* = the least j with groupedReadyAt(j) > e, starts at
 *   j*·g; it may still grow to the last volume, and groups before it never change.
 */
export function streamingOpenFrom(layout: StreamingLayout, e: number): number {
  if (layout.strategy === 'sliding') return e + 2 - layout.size;
  const g = layout.size;
  return Math.max(0, Math.floor((e - Math.ceil(g / 2) + 1) / g)) * g;
}

/** streamingOpenSpan is the most final volumes that can lie at or above streamingOpenFrom: sliding size − 1, grouped g + ⌈g/2⌉ − 1. */
export function streamingOpenSpan(layout: StreamingLayout): number {
  // grouped: e − j*·g + 1 with e − ⌈g/2⌉ + 1 = j*·g + ρ, 0 ≤ ρ < g, is ρ + ⌈g/2⌉ ≤ g + ⌈g/2⌉ − 1.
  return layout.strategy === 'sliding' ? layout.size - 1 : streamingMaxUnitVolumes('grouped', layout.size);
}

/**
 * streamingStagingBound is the most volumes a streaming backup keeps locally once its layout is
 * fixed and 7-Zip is paused at `maxVolumes` pending volumes: the pending ones, unit 0's volumes
 * but 001 (held for the end: size − 1), the open span that units not yet certain may still need,
 * volume 001 and the one 7-Zip is writing. See VolumeStream in pipeline/backup.
 */
export function streamingStagingBound(layout: StreamingLayout, maxVolumes: number): number {
  return maxVolumes + (layout.size - 1) + streamingOpenSpan(layout) + 2;
}

/** streamingUnit is unit j of a layout (fixed position, certain per streamingReadyAt), with every volume of the full volume size. */
export function streamingUnit(setId: string, layout: StreamingLayout, j: number, volumeSize: number, config: ProtectionConfig = defaultProtectionConfig): ProtectionUnit {
  const first = j * layout.step;
  const last = first + layout.size - 1;
  const sizes = new Array<number>(last + 1).fill(volumeSize);
  return makeUnit(setId, layout.strategy, first, last, sizes, layout.blockSize, layout.rule.redundancyPercent, config);
}

/**
 * protectionShortfall compares the plan a set was made with (a streamed layout is fixed from an
 * estimate of the size, while 7-Zip still writes) with the plan its final volume sizes call for,
 * and returns the latter when the set got less: a lower redundancy, or no sliding windows where
 * they are due. Otherwise null.
 */
export function protectionShortfall(got: ProtectionPlan, input: PlanInput, config: ProtectionConfig = defaultProtectionConfig): ProtectionPlan | null {
  if (input.volumeSizes.length === 0) return null;
  const ideal = planProtection(input, config);
  if (ideal.redundancyPercent <= got.redundancyPercent && (ideal.strategy !== 'sliding' || got.strategy === 'sliding')) return null;
  return ideal;
}

/** planStreaming is the plan of a streamed set over its real volume sizes: the units it made, with their guarantees. */
export function planStreaming(input: PlanInput, layout: StreamingLayout, config: ProtectionConfig = defaultProtectionConfig): ProtectionPlan {
  const sizes = [...input.volumeSizes];
  if (sizes.length === 0) throw new StrataError('INTERNAL', 'protection: a set without volumes needs no plan');
  const units = streamingRanges(layout, sizes.length).map(([a, b]) => makeUnit(input.setId, layout.strategy, a, b, sizes, layout.blockSize, layout.rule.redundancyPercent, config));
  const total = sizes.reduce((a, b) => a + b, 0);
  return {
    setId: input.setId,
    tier: input.tier,
    volumeSizes: sizes,
    strategy: layout.strategy,
    strategyReason: `streamed: fixed while archiving from an estimate of ${formatSize(layout.estimatedBytes)} (the set is ${formatSize(total)}); ${layout.strategy === 'grouped' ? 'groups' : 'windows'} as planned`,
    sizeClass: layout.rule.name,
    redundancyPercent: layout.rule.redundancyPercent,
    units,
    guarantees: computeGuarantees(units, sizes),
  };
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
  return { name: manifestUnitName(setId), dir: '', volumes: [0], blockSize, sourceBlocks, recoveryBlocks, recoveryBytes: recoveryBlocks * blockSize, recoveryFiles: Math.min(2, recoveryBlocks) };
}

/** unitBlockLengths lists the byte length of each of a unit's blocks in stream order (par2 never lets a block span two files). */
function unitBlockLengths(unit: ProtectionUnit, volumeSizes: readonly number[]): number[] {
  const out: number[] = [];
  for (const v of unit.volumes) {
    const size = volumeSizes[v] ?? 0;
    const full = Math.floor(size / unit.blockSize);
    for (let i = 0; i < full; i++) out.push(unit.blockSize);
    if (size % unit.blockSize !== 0) out.push(size % unit.blockSize);
  }
  return out;
}

/** longestRun is the longest contiguous damage that can touch at most `r` of these blocks wherever it starts:
 * touching r + 1 blocks needs the r − 1 blocks between the ends whole plus one byte on each side. */
function longestRun(lengths: readonly number[], r: number): number {
  const total = lengths.reduce((a, b) => a + b, 0);
  if (r >= lengths.length) return total;
  if (r <= 0) return 0;
  const k = r - 1;
  const prefix = [0];
  for (const l of lengths) prefix.push((prefix[prefix.length - 1] ?? 0) + l);
  let min = Infinity;
  // k whole blocks at i … i+k−1, with a touched block on each side (1 ≤ i, i+k ≤ length−1).
  for (let i = 1; i + k <= lengths.length - 1; i++) min = Math.min(min, (prefix[i + k] ?? 0) - (prefix[i] ?? 0));
  return min + 1;
}

/** computeGuarantees derives what a layout survives from its block arithmetic (see Guarantees). */
export function computeGuarantees(units: readonly ProtectionUnit[], volumeSizes: readonly number[]): Guarantees {
  const perUnit = units.map((u): UnitGuarantee => {
    const desc = u.volumes.map((v) => blocksOf(volumeSizes[v] ?? 0, u.blockSize)).sort((a, b) => b - a);
    let whole = 0;
    let used = 0;
    for (const b of desc) {
      if (used + b > u.recoveryBlocks) break;
      used += b;
      whole++;
    }
    return {
      name: u.name,
      firstVolume: u.volumes[0] ?? 0,
      lastVolume: u.volumes[u.volumes.length - 1] ?? 0,
      wholeVolumes: whole,
      scatteredBlocks: u.recoveryBlocks,
      contiguousBytes: longestRun(unitBlockLengths(u, volumeSizes), u.recoveryBlocks),
    };
  });
  const min = (f: (g: UnitGuarantee) => number): number => (perUnit.length === 0 ? 0 : Math.min(...perUnit.map(f)));
  const blockSize = units[0]?.blockSize ?? 0;
  const protectedBytes = volumeSizes.reduce((a, b) => a + b, 0);
  const recoveryBytes = units.reduce((a, u) => a + u.recoveryBytes, 0);
  const scatteredBlocks = min((g) => g.scatteredBlocks);
  const wholeVolumesAnywhere = min((g) => g.wholeVolumes);
  const notes: string[] = [];
  if (units.length > 1) {
    const kinds = units.length > 1 && (units[1]?.volumes[0] ?? 0) <= (units[0]?.volumes[units[0].volumes.length - 1] ?? 0) ? 'window' : 'group';
    notes.push(`each ${kinds} survives its own losses at the same time: ${perUnit.map((g) => `${g.wholeVolumes} in ${g.firstVolume + 1}-${g.lastVolume + 1}`).join(', ')}`);
    if (kinds === 'window') {
      notes.push('a volume in an overlap counts in both windows; a window short of blocks is retried after its neighbour has rebuilt the shared volumes');
    }
  }
  if (wholeVolumesAnywhere === 0) notes.push('cannot rebuild a whole lost volume: use smaller volumes or raise the redundancy');
  return {
    blockSize,
    wholeVolumesAnywhere,
    scatteredBlocks,
    scatteredBytes: scatteredBlocks * blockSize,
    contiguousBytes: min((g) => g.contiguousBytes),
    protectedBytes,
    recoveryBytes,
    overheadPercent: protectedBytes === 0 ? 0 : Math.round((recoveryBytes / protectedBytes) * 10000) / 100,
    perUnit,
    notes,
  };
}

/** volumeBlocks is how many PAR2 blocks volume `index` has in a plan. */
export function volumeBlocks(plan: ProtectionPlan, index: number): number {
  return blocksOf(plan.volumeSizes[index] ?? 0, plan.units[0]?.blockSize ?? 1);
}

/** RepairPrediction is what the fixed-point repair across units will achieve for some damage. */
export interface RepairPrediction {
  /** Volumes (0-based) that will be rebuilt. */
  repaired: number[];
  /** Volumes that stay damaged or missing. */
  unrepaired: number[];
  /** Units (indices into plan.units) that stay short of recovery blocks. */
  shortUnits: number[];
  /** Passes over the units until nothing changed. */
  passes: number;
}

/**
 * simulateRepair predicts, from block counts alone, what repairing unit by unit until nothing
 * changes achieves. `damagedBlocks` maps a volume index to its unusable blocks (all of them when
 * the volume is lost); `lostRecovery` maps a unit index to recovery blocks it lost to damage.
 * A unit repairs when its volumes' unusable blocks fit its remaining recovery blocks; its volumes are
 * then whole, which can bring an overlapping window within reach on the next pass.
 */
export function simulateRepair(plan: ProtectionPlan, damagedBlocks: ReadonlyMap<number, number>, lostRecovery: ReadonlyMap<number, number> = new Map()): RepairPrediction {
  const damage = new Map([...damagedBlocks].filter(([, b]) => b > 0));
  const damagedAtStart = [...damage.keys()];
  const done = new Set<number>();
  let passes = 0;
  for (let progress = true; progress; ) {
    progress = false;
    passes++;
    plan.units.forEach((u, i) => {
      if (done.has(i)) return;
      const need = u.volumes.reduce((a, v) => a + (damage.get(v) ?? 0), 0);
      const have = u.recoveryBlocks - (lostRecovery.get(i) ?? 0);
      if (need === 0) {
        done.add(i);
      } else if (need <= have) {
        for (const v of u.volumes) damage.delete(v);
        done.add(i);
        progress = true;
      }
    });
  }
  const unrepaired = [...damage.keys()].sort((a, b) => a - b);
  return {
    repaired: damagedAtStart.filter((v) => !damage.has(v)).sort((a, b) => a - b),
    unrepaired,
    shortUnits: plan.units.map((_, i) => i).filter((i) => !done.has(i)),
    passes,
  };
}

/** formatPlan renders a plan for people: strategy, units, redundancy and guarantees. */
export function formatPlan(plan: ProtectionPlan): string {
  const g = plan.guarantees;
  const n = plan.volumeSizes.length;
  const total = plan.volumeSizes.reduce((a, b) => a + b, 0);
  const lines: string[] = [];
  lines.push(`set ${plan.setId}: ${counted(n, 'volume')}, ${formatSize(total)}, tier ${plan.tier}, size class ${plan.sizeClass}`);
  lines.push(`strategy: ${plan.strategy} (${plan.strategyReason})`);
  lines.push(`redundancy: ${plan.redundancyPercent}% per unit (table), block size ${formatSize(g.blockSize)}`);
  lines.push(`units (${plan.units.length}):`);
  for (const u of plan.units) {
    const first = u.volumes[0] ?? 0;
    const last = u.volumes[u.volumes.length - 1] ?? 0;
    const where = u.dir === '' ? 'beside the volumes' : `${u.dir}/`;
    const pct = ((u.recoveryBlocks / u.sourceBlocks) * 100).toFixed(1);
    lines.push(`  ${u.name}: volumes ${first + 1}-${last + 1}, ${u.sourceBlocks} blocks, ${u.recoveryBlocks} recovery blocks (${pct}%, ${formatSize(u.recoveryBytes)} in ${counted(u.recoveryFiles, 'file')}), ${where}`);
  }
  lines.push('guaranteed to survive:');
  lines.push(`  ${counted(g.wholeVolumesAnywhere, 'whole volume')} lost anywhere`);
  lines.push(`  ${g.scatteredBlocks} damaged blocks anywhere (e.g. ${g.scatteredBlocks} flipped bytes or bad sectors; ${formatSize(g.scatteredBytes)} block-aligned)`);
  lines.push(`  ${formatSize(g.contiguousBytes)} (${g.contiguousBytes} bytes) of contiguous damage, across volume boundaries too`);
  for (const note of g.notes) lines.push(`  ${note}`);
  lines.push(`recovery data: ${formatSize(g.recoveryBytes)} (${g.overheadPercent}% of ${formatSize(g.protectedBytes)})`);
  return lines.join('\n');
}
