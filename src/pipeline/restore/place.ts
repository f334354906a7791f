/**
 * pipeline/restore/place: files, hard links, symlinks and folders put in their place in the target
 * (through confinement's safeParent, never through a link), and the folders' modes and mtimes set
 * last, deepest first, so that placing nothing else undoes them.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pathCompare, type ManifestEntry } from '../../core/manifest.js';
import type { PathFilter } from '../../core/pathfilter.js';
import { StrataError } from '../../errors.js';
import { readEntries } from '../manifests.js';
import { ensureRealFolder, safeParent } from './confinement.js';
import type { RestoredSource } from './types.js';

/** Target is the folder a restore writes into and what it has learnt of it so far. */
export interface Target {
  /** The target folder (real path). */
  root: string;
  overwrite: boolean;
  /** Folders this restore created (they get their recorded mode and mtime at the end). */
  created: Set<string>;
  /** Folders already known to be real folders in this restore, so each is examined once. */
  checked: Set<string>;
}

/** Extracted is a verified file in staging and what 7-Zip left on it: placeFile corrects only what differs. */
export interface Extracted {
  file: string;
  mode: number;
  mtimeNs: bigint;
}

/** placeFile moves a verified file from staging to its place in the target, correcting its mode and mtime where 7-Zip's differ. */
export async function placeFile(into: Target, e: ManifestEntry, extracted: Extracted): Promise<void> {
  const dest = await moveIntoPlace(into, e, extracted.file);
  fixModeAndTime(dest, e, extracted);
}

/**
 * moveIntoPlace renames a verified file from staging to its path in the target (folders on the way
 * made real first: confinement's safeParent) and returns that path. Nothing there is replaced
 * without `overwrite`.
 */
export async function moveIntoPlace(into: Target, e: ManifestEntry, file: string): Promise<string> {
  const dest = await safeParent(into.root, e.path, into.created, into.checked, into.overwrite);
  const existing = fs.lstatSync(dest, { throwIfNoEntry: false });
  if (!into.overwrite) {
    if (existing !== undefined) throw appeared(e.path);
  } else if (existing?.isDirectory() === true) {
    fs.rmSync(dest, { recursive: true });
  }
  fs.renameSync(file, dest);
  return dest;
}

/** appeared is the error for a path that something else created in the target during the restore. */
function appeared(rel: string): StrataError {
  return new StrataError('RESTORE_CONFLICT', `${rel} appeared in the target during the restore`, { hint: 'Restore into an empty folder or pass --overwrite.' });
}

/**
 * fixModeAndTime gives a file the recorded mode and mtime where what it has (`now`) differs. 7-Zip
 * restores the mode and the mtime (to 100 ns) itself and a rename keeps both: setting them again
 * costs two syscalls per file, and utimes would only round a right mtime to the µs.
 */
export function fixModeAndTime(file: string, e: ManifestEntry, now: Pick<Extracted, 'mode' | 'mtimeNs'>): void {
  if (now.mode !== e.mode) fs.chmodSync(file, e.mode);
  if (now.mtimeNs / 1000n !== e.mtimeNs / 1000n) fs.utimesSync(file, nsToSeconds(e.mtimeNs), nsToSeconds(e.mtimeNs));
}

/** placeHardLinks makes each selected hard link a link to the member placed with the bytes (counted once); returns the paths lost, those before included. */
export async function placeHardLinks(hardLinks: readonly ManifestEntry[], asFirst: ReadonlyMap<string, ManifestEntry>, into: Target, result: RestoredSource): Promise<Set<string>> {
  const lostPaths = new Set(result.lost.map((l) => l.path));
  for (const e of hardLinks) {
    const holder = asFirst.get(e.link ?? '') ?? { path: e.link ?? '' };
    if (holder.path === e.path) continue; // it got the bytes itself
    if (lostPaths.has(holder.path) || fs.lstatSync(path.join(into.root, holder.path), { throwIfNoEntry: false })?.isFile() !== true) {
      result.lost.push({ path: e.path, reason: `a hard link to ${JSON.stringify(e.link)}, which could not be restored` });
      lostPaths.add(e.path);
      continue;
    }
    const dest = await safeParent(into.root, e.path, into.created, into.checked, into.overwrite);
    const existing = fs.lstatSync(dest, { throwIfNoEntry: false });
    if (existing !== undefined) {
      if (!into.overwrite) throw appeared(e.path);
      fs.rmSync(dest, { recursive: true, force: true });
    }
    fs.linkSync(path.join(into.root, holder.path), dest);
    result.files++;
    result.hardLinks++;
  }
  return lostPaths;
}

/** placeSymlinks makes the selected symlinks, with their recorded mtimes. */
export async function placeSymlinks(manifest: string, filter: PathFilter, into: Target, result: RestoredSource): Promise<void> {
  for await (const e of readEntries(manifest)) {
    if (e.type !== 'symlink' || !filter(e.path)) continue;
    const dest = await safeParent(into.root, e.path, into.created, undefined, into.overwrite);
    // recursive: a folder there is replaced too (rm never follows a link, so only the target changes).
    if (into.overwrite) await fsp.rm(dest, { force: true, recursive: true });
    await fsp.symlink(e.target ?? '', dest);
    await fsp.lutimes(dest, nsToSeconds(e.mtimeNs), nsToSeconds(e.mtimeNs));
    result.symlinks++;
  }
}

/** placeFolders makes the selected folders (empty ones included) real folders in the target. */
export async function placeFolders(dirs: readonly ManifestEntry[], into: Target, result: RestoredSource): Promise<void> {
  for (const e of dirs) {
    const dest = await safeParent(into.root, e.path, into.created, undefined, into.overwrite);
    ensureRealFolder(dest, e.path, into.overwrite);
    result.dirs++;
  }
}

/**
 * createdParents lists the folders this restore created above a subset (`restore docs/a/x.txt`
 * makes docs and docs/a), so that they get their recorded mode and mtime too, not 0700 and the
 * time of the restore.
 */
export async function createdParents(manifest: string, dirs: readonly ManifestEntry[], created: ReadonlySet<string>): Promise<ManifestEntry[]> {
  const selectedDirs = new Set(dirs.map((d) => d.path));
  const parents: ManifestEntry[] = [];
  if ([...created].some((c) => !selectedDirs.has(c))) {
    for await (const e of readEntries(manifest)) if (e.type === 'dir' && created.has(e.path) && !selectedDirs.has(e.path)) parents.push(e);
  }
  return parents;
}

/** setFolderTimes gives folders their recorded mode and mtime, deepest first, so setting a folder's mtime is not undone. */
export async function setFolderTimes(root: string, folders: readonly ManifestEntry[]): Promise<void> {
  for (const e of [...folders].sort((a, b) => pathCompare(a.path, b.path)).reverse()) {
    const dest = path.join(root, e.path);
    await fsp.chmod(dest, e.mode);
    await fsp.utimes(dest, nsToSeconds(e.mtimeNs), nsToSeconds(e.mtimeNs));
  }
}

/**
 * nsToSeconds converts a manifest mtime for utimes(), which takes seconds as a double and which
 * libuv truncates to whole microseconds. A double near 2e9 s is only good to ~240 ns, so the exact
 * microsecond often lands just below itself and was truncated one µs early; aiming at the middle
 * of the microsecond makes the truncation land on the manifest's microsecond.
 */
export function nsToSeconds(ns: bigint): number {
  // Both BigInt division and libuv truncate toward zero, so before 1970 the middle is below.
  const us = Number(ns / 1000n);
  return (us + (ns < 0n ? -0.5 : 0.5)) / 1e6;
}
