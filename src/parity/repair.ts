/**
 * parity/repair: verifying and repairing a whole set, unit by unit, through a ParityEngine.
 *
 * Sliding windows overlap, so a window that is short of recovery blocks on its own may succeed
 * once its neighbour has rebuilt the volumes they share. repairSet therefore repairs what each
 * unit can, then retries the units that were short and share a volume with something just
 * repaired, until a pass changes nothing (a fixed point; the outcome does not depend on order,
 * because a repair only ever makes volumes whole). core/protection's simulateRepair predicts the
 * same from block counts; verifySet uses it to say whether a repair will succeed before trying.
 *
 * stockRepairCommands gives the same procedure for people with stock par2 alone (RESTORE.txt).
 */
import { access } from 'node:fs/promises';
import * as path from 'node:path';
import { simulateRepair, volumeBlocks, type ProtectionPlan } from '../core/protection/index.js';
import { par2IndexPath, volumeFileName } from '../core/keys.js';
import { isStrataError } from '../errors.js';
import type { CheckOptions, ParityEngine, UnitRef } from './engine.js';

/** VolumeOutcome is the state of one volume after verify or repair; 'unchecked' means no readable PAR2 covers it. */
export type VolumeOutcome = 'intact' | 'repaired' | 'damaged' | 'lost' | 'unchecked';

/** VolumeReport is one volume's outcome. */
export interface VolumeReport {
  index: number;
  name: string;
  outcome: VolumeOutcome;
}

/** UnitReport is one unit's last status; 'no-parity' when its PAR2 files are missing or unreadable. */
export interface UnitReport {
  name: string;
  status: 'ok' | 'repaired' | 'repairable' | 'unrepairable' | 'no-parity';
  blocksNeeded?: number;
  detail?: string;
}

/** SetVerifyResult is what verifySet found, and whether repairSet would fix it. */
export interface SetVerifyResult {
  status: 'ok' | 'repairable' | 'unrepairable';
  volumes: VolumeReport[];
  units: UnitReport[];
  /** Volumes a repair will not be able to rebuild, overlaps considered. */
  unrepairable: string[];
}

/** SetRepairResult is what repairSet did. */
export interface SetRepairResult {
  status: 'ok' | 'repaired' | 'unrepairable';
  volumes: VolumeReport[];
  units: UnitReport[];
  repaired: string[];
  /** Volumes still present but damaged. */
  damaged: string[];
  /** Volumes missing. */
  lost: string[];
  /** Passes over the units until nothing changed. */
  passes: number;
}

/** SetLayout is the part of a plan repair needs: where each unit's PAR2 files are and the volume names. */
export interface SetLayout {
  units: readonly UnitRef[];
  volumeNames: readonly string[];
}

/** layoutOf reduces a plan to its layout; `volumeNames` (a set of several archives, core/parts) default to `<set>.7z.NNN`. */
export function layoutOf(plan: ProtectionPlan, volumeNames?: readonly string[]): SetLayout {
  return { units: plan.units, volumeNames: volumeNames ?? plan.volumeSizes.map((_, i) => volumeFileName(plan.setId, i)) };
}

/** checkedBytes is what verifySet reports to its progress sink in all: each unit's volume bytes (overlapping windows read a volume once per unit). */
export function checkedBytes(plan: ProtectionPlan): number {
  return plan.units.reduce((n, u) => n + u.volumes.reduce((m, i) => m + (plan.volumeSizes[i] ?? 0), 0), 0);
}

function isPlan(p: ProtectionPlan | SetLayout): p is ProtectionPlan {
  return 'setId' in p;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** verifySet checks every unit and predicts, overlaps considered, whether repairSet can fix what is wrong. */
export async function verifySet(plan: ProtectionPlan, setDir: string, engine: ParityEngine, opts: CheckOptions = {}, volumeNames?: readonly string[]): Promise<SetVerifyResult> {
  const layout = layoutOf(plan, volumeNames);
  const indexOf = new Map(layout.volumeNames.map((n, i) => [n, i]));
  const damagedBlocks = new Map<number, number>();
  const lost = new Set<number>();
  const bad = new Set<number>();
  const lostRecovery = new Map<number, number>();
  const units: UnitReport[] = [];
  const readable = new Set<number>();
  for (const [ui, unit] of plan.units.entries()) {
    try {
      const v = await engine.verify(unit, setDir, opts);
      for (const i of unit.volumes) readable.add(i);
      units.push(v.blocksNeeded === undefined ? { name: unit.name, status: v.status } : { name: unit.name, status: v.status, blocksNeeded: v.blocksNeeded });
      let need = 0;
      for (const n of v.missing) {
        const i = indexOf.get(n);
        if (i === undefined) continue;
        lost.add(i);
        bad.add(i);
        damagedBlocks.set(i, volumeBlocks(plan, i));
        need += volumeBlocks(plan, i);
      }
      for (const n of v.damaged) {
        const i = indexOf.get(n);
        if (i === undefined) continue;
        bad.add(i);
        const b = v.badBlocks?.[n] ?? volumeBlocks(plan, i);
        damagedBlocks.set(i, b);
        need += b;
      }
      // par2 says how many blocks it lacks: what it has is need − lacking; the rest was lost to damaged PAR2 files.
      if (v.status === 'unrepairable') lostRecovery.set(ui, Math.max(0, unit.recoveryBlocks - (need - (v.blocksNeeded ?? need))));
    } catch (e) {
      if (!isStrataError(e, 'DAMAGED')) throw e;
      units.push({ name: unit.name, status: 'no-parity', detail: e.message });
      lostRecovery.set(ui, unit.recoveryBlocks);
    }
  }
  const prediction = simulateRepair(plan, damagedBlocks, lostRecovery);
  const volumes = layout.volumeNames.map((name, index): VolumeReport => {
    const outcome: VolumeOutcome = lost.has(index) ? 'lost' : bad.has(index) ? 'damaged' : readable.has(index) ? 'intact' : 'unchecked';
    return { index, name, outcome };
  });
  for (const v of volumes) if (v.outcome === 'unchecked' && !(await exists(path.join(setDir, v.name)))) v.outcome = 'lost';
  const unrepairable = prediction.unrepaired.map((i) => layout.volumeNames[i] ?? String(i));
  for (const v of volumes) if (v.outcome === 'lost' && !readable.has(v.index) && !unrepairable.includes(v.name)) unrepairable.push(v.name);
  const status = bad.size === 0 && unrepairable.length === 0 ? 'ok' : unrepairable.length === 0 ? 'repairable' : 'unrepairable';
  return { status, volumes, units, unrepairable };
}

/**
 * repairSet repairs a set in place: each unit once, then again every unit that was short of
 * blocks and shares a volume with one repaired since, until nothing changes. It reports each
 * volume as intact, repaired, damaged (still) or lost, so restore can name exactly what is gone.
 */
export async function repairSet(planOrLayout: ProtectionPlan | SetLayout, setDir: string, engine: ParityEngine, opts: CheckOptions = {}): Promise<SetRepairResult> {
  const layout = isPlan(planOrLayout) ? layoutOf(planOrLayout) : planOrLayout;
  const reports: UnitReport[] = layout.units.map((u) => ({ name: u.name, status: 'ok' }));
  const repaired = new Set<number>();
  const indexOf = new Map(layout.volumeNames.map((n, i) => [n, i]));
  let pending = layout.units.map((_, i) => i);
  // Volumes repaired since each unit's last attempt: a short unit is only worth retrying then.
  const freshFor = new Map<number, boolean>(pending.map((i) => [i, true]));
  let passes = 0;
  while (pending.length > 0) {
    passes++;
    let progress = false;
    const still: number[] = [];
    for (const ui of pending) {
      const unit = layout.units[ui];
      if (unit === undefined) continue;
      if (freshFor.get(ui) !== true) {
        still.push(ui);
        continue;
      }
      freshFor.set(ui, false);
      try {
        const r = await engine.repair(unit, setDir, opts);
        if (r.status === 'unrepairable') {
          reports[ui] = r.blocksNeeded === undefined ? { name: unit.name, status: 'unrepairable' } : { name: unit.name, status: 'unrepairable', blocksNeeded: r.blocksNeeded };
          still.push(ui);
          continue;
        }
        reports[ui] = { name: unit.name, status: r.status };
        const fixed = r.repaired.map((n) => indexOf.get(n)).filter((i): i is number => i !== undefined);
        for (const i of fixed) repaired.add(i);
        if (fixed.length > 0) {
          progress = true;
          layout.units.forEach((other, oi) => {
            if (oi !== ui && other.volumes.some((v) => fixed.includes(v))) freshFor.set(oi, true);
          });
        }
      } catch (e) {
        if (!isStrataError(e, 'DAMAGED')) throw e;
        reports[ui] = { name: unit.name, status: 'no-parity', detail: e.message };
      }
    }
    pending = still;
    if (!progress || !pending.some((ui) => freshFor.get(ui) === true)) break;
  }
  // What the units that stayed short still see as broken.
  const damaged = new Set<number>();
  const lost = new Set<number>();
  const checked = new Set<number>();
  for (const [ui, unit] of layout.units.entries()) {
    if (reports[ui]?.status !== 'no-parity') for (const v of unit.volumes) checked.add(v);
  }
  for (const ui of pending) {
    const unit = layout.units[ui];
    if (unit === undefined) continue;
    const v = await engine.verify(unit, setDir, opts);
    for (const n of v.damaged) {
      const i = indexOf.get(n);
      if (i !== undefined) damaged.add(i);
    }
    for (const n of v.missing) {
      const i = indexOf.get(n);
      if (i !== undefined) lost.add(i);
    }
  }
  const volumes: VolumeReport[] = [];
  for (const [index, name] of layout.volumeNames.entries()) {
    let outcome: VolumeOutcome;
    if (lost.has(index)) outcome = 'lost';
    else if (damaged.has(index)) outcome = 'damaged';
    else if (repaired.has(index)) outcome = 'repaired';
    else if (checked.has(index)) outcome = 'intact';
    else outcome = (await exists(path.join(setDir, name))) ? 'unchecked' : 'lost';
    if (outcome === 'lost') lost.add(index);
    volumes.push({ index, name, outcome });
  }
  const names = (s: Set<number>): string[] => [...s].sort((a, b) => a - b).map((i) => layout.volumeNames[i] ?? String(i));
  const status = damaged.size + lost.size > 0 ? 'unrepairable' : repaired.size > 0 ? 'repaired' : 'ok';
  return { status, volumes, units: reports, repaired: names(repaired), damaged: names(damaged), lost: names(lost), passes };
}

/** DescribedSet is the part of a set descriptor repairSetFolder needs (core/descriptor's Descriptor fits). */
export interface DescribedSet {
  volumes: readonly { name: string }[];
  protection: { units: readonly UnitRef[] } | null;
}

/** repairSetFolder repairs a set folder from what its descriptor records of the layout. */
export async function repairSetFolder(d: DescribedSet, setDir: string, engine: ParityEngine, opts: CheckOptions = {}): Promise<SetRepairResult> {
  return repairSet({ units: d.protection?.units ?? [], volumeNames: d.volumes.map((v) => v.name) }, setDir, engine, opts);
}

/** shellWord quotes a word for sh only when it needs it. */
function shellWord(w: string): string {
  return /^[A-Za-z0-9._/+=:,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/**
 * stockRepairCommands lists the par2 command lines a person types inside the set folder: one
 * `par2 verify` per unit, then one `par2 repair` per unit. With groups or windows, run every repair
 * line; when one says it needs more recovery blocks, run the others and then it again — an
 * overlapping window can often finish once its neighbour has rebuilt the shared volumes.
 */
export function stockRepairCommands(plan: ProtectionPlan | SetLayout): string[] {
  const units = plan.units;
  const file = (u: UnitRef): string => shellWord(par2IndexPath(u));
  return [...units.map((u) => `par2 verify -B. ${file(u)}`), ...units.map((u) => `par2 repair -B. ${file(u)}`)];
}
