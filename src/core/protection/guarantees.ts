/**
 * core/protection/guarantees: what a layout survives, derived from its block arithmetic, and the
 * prediction of what a repair across units achieves for some damage.
 */
import type { Guarantees, ProtectionPlan, ProtectionUnit, UnitGuarantee } from './types.js';

/** blocksOf is how many PAR2 blocks `bytes` take (at least one). */
export function blocksOf(bytes: number, blockSize: number): number {
  return Math.max(1, Math.ceil(bytes / blockSize));
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
