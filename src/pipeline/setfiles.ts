/**
 * pipeline/setfiles: bringing a set's objects where 7-Zip and par2 can read them, checking each
 * against the descriptor's SHA-256, and repairing with PAR2 what is damaged or missing. A local
 * destination is read in place when intact; otherwise the set is copied to a work folder first,
 * so that a restore never modifies the destination (`verify --repair` does, on purpose).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Descriptor, StoredObject } from '../core/descriptor.js';
import { StrataError, errorMessage, isStrataError } from '../errors.js';
import type { ParityEngine } from '../parity/engine.js';
import { repairSetFolder } from '../parity/repair.js';
import type { Repository } from '../repository/repository.js';
import { hashFile } from '../io/hash.js';
import { descriptorKey, par2FilePattern, setObjectKey } from '../core/keys.js';
import { counted } from '../core/words.js';
import type { ByteSink, PhaseMeter } from '../ui/meter.js';

/** ObjectState is what a check found for one object of a set. */
export type ObjectState = 'ok' | 'damaged' | 'missing';

/** SetCheck lists the state of every object of a set. */
export interface SetCheck {
  dir: string;
  states: Map<string, ObjectState>;
}

/** checkObjects hashes each object of a set in a folder and compares with the descriptor. */
export async function checkObjects(dir: string, objects: readonly StoredObject[], sink?: ByteSink): Promise<Map<string, ObjectState>> {
  const states = new Map<string, ObjectState>();
  for (const o of objects) {
    try {
      const h = await hashFile(path.join(dir, o.name), sink === undefined ? undefined : (n) => sink.add(n, o.name));
      states.set(o.name, h.size === o.size && h.sha256 === o.sha256 ? 'ok' : 'damaged');
    } catch {
      states.set(o.name, 'missing');
    }
  }
  return states;
}

/** allObjects lists a set's stored objects (volumes, manifest, recovery files). */
export function allObjects(d: Descriptor): StoredObject[] {
  return [...d.volumes, d.manifest, ...d.recovery];
}

/** MaterializedSet is a folder holding a set's objects, checked and possibly repaired. */
export interface MaterializedSet {
  dir: string;
  /** Volumes that could not be repaired. */
  lostVolumes: string[];
  /** Objects repaired by PAR2 (in the working copy). */
  repaired: string[];
  /** Whether the folder is a temporary copy (removed by the caller). */
  copy: boolean;
}

/**
 * fetchObjects downloads objects of a set into `dir` to be checked there. What arrives damaged is
 * kept (par2 uses its intact blocks) and a missing object is skipped: the check that follows finds
 * both. Other failures go to onProblem, except credentials, a cancel or this machine's full disk,
 * or an object in archive storage (not damage: it needs a restore request), which stop it: no PAR2
 * repair can help with those.
 */
export async function fetchObjects(repo: Repository, setId: string, objects: readonly StoredObject[], dir: string, onProblem: (name: string, message: string) => void, sink?: ByteSink): Promise<void> {
  for (const o of objects) {
    try {
      await repo.download(setObjectKey(setId, o.name), path.join(dir, o.name), undefined, undefined, sink === undefined ? undefined : (n) => sink.add(n, o.name));
    } catch (e) {
      if (isStrataError(e) && (e.code === 'AUTH' || e.code === 'CANCELLED' || e.code === 'DISK_FULL' || e.code === 'ARCHIVED')) throw e;
      if (!isStrataError(e, 'NOT_FOUND')) onProblem(o.name, errorMessage(e));
    }
  }
}

/**
 * recoveryFilesFor lists the recovery files of the PAR2 units (core/protection: each unit covers
 * the volume indices in `volumes`) that cover any of the named volumes: only those units can
 * repair them, a unit covering none of them has nothing to rebuild.
 */
export function recoveryFilesFor(d: { volumes: readonly { name: string }[]; protection: { units: readonly { name: string; dir: string; volumes: readonly number[] }[] } | null; recovery: readonly StoredObject[] }, volumeNames: readonly string[]): StoredObject[] {
  const indices = new Set(volumeNames.map((n) => d.volumes.findIndex((v) => v.name === n)).filter((i) => i >= 0));
  const units = (d.protection?.units ?? []).filter((u) => u.volumes.some((i) => indices.has(i)));
  return d.recovery.filter((r) => {
    const slash = r.name.lastIndexOf('/');
    const dir = slash < 0 ? '' : r.name.slice(0, slash);
    return units.some((u) => u.dir === dir && par2FilePattern(u.name).test(r.name.slice(slash + 1)));
  });
}

/**
 * materializeSet makes a set's volumes readable locally: in place when they are intact on a local
 * destination, else in `workDir`. Only what is needed is fetched: the volumes (the manifest is
 * fetched and checked on its own), and, when volumes need repair, the recovery files of the units
 * covering them. `beforeRecovery` is called with those files and the damaged volumes before they
 * are fetched (restore/thaw: archived recovery files are requested then, and it stops there).
 */
export async function materializeSet(repo: Repository, d: Descriptor, workDir: string, parity: ParityEngine, onInfo: (line: string) => void, meter?: PhaseMeter, beforeRecovery?: (recovery: readonly StoredObject[], bad: readonly string[]) => Promise<void>): Promise<MaterializedSet> {
  const inPlace = localSetDir(repo, d.id);
  const volumeBytes = d.volumes.reduce((n, v) => n + v.size, 0);
  const checking = `${d.id}: checking ${counted(d.volumes.length, 'volume')}`;
  if (inPlace !== undefined) {
    meter?.show(checking, volumeBytes);
    const states = await checkObjects(inPlace, d.volumes, meter);
    if ([...states.values()].every((s) => s === 'ok')) return { dir: inPlace, lostVolumes: [], repaired: [], copy: false };
  }
  const dir = path.join(workDir, d.id);
  await fsp.mkdir(dir, { recursive: true });
  const fetch = (objects: readonly StoredObject[]): Promise<void> => fetchObjects(repo, d.id, objects, dir, (name, message) => onInfo(`${setObjectKey(d.id, name)}: ${message}`), meter);
  meter?.show(`${d.id}: fetching ${counted(d.volumes.length, 'volume')}`, volumeBytes);
  await fetch(d.volumes);
  meter?.show(checking, volumeBytes);
  const states = await checkObjects(dir, d.volumes, meter);
  const bad = [...states.entries()].filter(([, s]) => s !== 'ok').map(([n]) => n);
  if (bad.length === 0) return { dir, lostVolumes: [], repaired: [], copy: true };
  onInfo(`set ${d.id}: ${bad.map((b) => `${b} ${states.get(b) ?? ''}`).join(', ')}; repairing with PAR2`);
  const recovery = recoveryFilesFor(d, bad);
  await beforeRecovery?.(recovery, bad);
  meter?.show(`${d.id}: fetching the recovery files`, recovery.reduce((n, o) => n + o.size, 0));
  await fetch(recovery);
  meter?.show(`${d.id}: repairing with PAR2`);
  await repairSetFolder(d, dir, parity, meter === undefined ? {} : { progress: meter });
  const after = await checkObjects(dir, d.volumes);
  const lostVolumes = [...after.entries()].filter(([, s]) => s !== 'ok').map(([n]) => n);
  const repaired = bad.filter((b) => after.get(b) === 'ok');
  if (repaired.length > 0) onInfo(`set ${d.id}: repaired ${repaired.join(', ')}`);
  return { dir, lostVolumes, repaired, copy: true };
}

/** requireIntactManifest throws when the manifest object itself is lost (no PAR2 covers it). */
export function manifestLost(d: Descriptor): StrataError {
  return new StrataError('DAMAGED', `the manifest of set ${d.id} is damaged or missing`, {
    hint: 'Restore from another set (strata list shows them), e.g. with --at an earlier moment.',
  });
}

/** localSetDir is the folder of a set when the destination keeps it as local files (read in place). */
export function localSetDir(repo: Repository, setId: string): string | undefined {
  const p = repo.backend.localPath?.(descriptorKey(setId));
  return p === undefined ? undefined : path.dirname(p);
}
