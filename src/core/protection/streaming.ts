/**
 * core/protection/streaming: the units a backup makes while 7-Zip still writes later volumes
 * (see below), and the plan it records for a streamed set.
 */
import type { Tier } from '../naming.js';
import { StrataError } from '../../errors.js';
import { formatSize } from '../size.js';
import { computeGuarantees } from './guarantees.js';
import { chooseBlockSize, defaultProtectionConfig, groupedRanges, groupedReadyAt, makeUnit, planProtection, sizeClassFor, validateProtectionConfig } from './planner.js';
import type { PlanInput, ProtectionConfig, ProtectionPlan, ProtectionUnit, SizeClassRule } from './types.js';

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
