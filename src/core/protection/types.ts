/**
 * core/protection/types: the shapes the protection planner works with — the configurable policy,
 * a unit (one PAR2 set), a plan and what it guarantees.
 */
import type { Tier } from '../naming.js';

export type { Tier } from '../naming.js';

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
