/**
 * config/private-state: the state folder holds every backed-up file's name and hash (manifest
 * copies, stat caches, the git audit trail), so it is private to its owner: folders 0700, files
 * without group or other access. strata runs with a umask that takes group and other bits away
 * (set in src/cli/main.ts), which covers what it and its children (git, 7zz, par2) create; a state
 * folder made by an older strata under umask 022 is fixed once per job (recursively, then marked).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { errnoCode } from '../errors.js';

/** PRIVATE_MARKER is the file in a job's state folder saying its permissions were made private. */
const PRIVATE_MARKER = '.private';

let caller: number | undefined;

/** usePrivateUmask makes the process umask the caller's plus no access for group and others. */
export function usePrivateUmask(): void {
  // process.umask(mask) returns the previous mask (reading it without setting is deprecated).
  const previous = process.umask(0o077);
  caller ??= previous;
  process.umask(previous | 0o077);
}

/** callerUmask is the umask strata was started with (for folders it makes for the user, e.g. a restore target). */
export function callerUmask(): number {
  return caller ?? 0o022;
}

/**
 * makeStatePrivate closes an existing state folder: the folder and its `jobs` folder are made
 * 0700 on every run (two chmods), and each job folder not yet marked is fixed recursively once.
 * A missing state folder is left alone (it is created private under strata's umask).
 */
export async function makeStatePrivate(stateDir: string): Promise<void> {
  if (!(await closeFolder(stateDir))) return;
  const jobs = path.join(stateDir, 'jobs');
  if (!(await closeFolder(jobs))) return;
  for (const name of await fsp.readdir(jobs)) {
    const dir = path.join(jobs, name);
    const st = await fsp.lstat(dir);
    if (!st.isDirectory()) continue;
    const marker = path.join(dir, PRIVATE_MARKER);
    if ((await fsp.lstat(marker).catch(() => undefined)) !== undefined) continue;
    await closeTree(dir);
    await fsp.writeFile(marker, 'permissions made private (folders 0700, files without group/other access)\n', { mode: 0o600 });
  }
}

/** closeFolder makes a folder 0700 (keeping it when it already is); false when it does not exist. */
async function closeFolder(dir: string): Promise<boolean> {
  let st;
  try {
    st = await fsp.lstat(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return false;
    throw e;
  }
  if (!st.isDirectory()) return false;
  if ((st.mode & 0o077) !== 0) await fsp.chmod(dir, st.mode & 0o700);
  return true;
}

/** closeTree takes group and other access from everything below dir (links are not followed). */
async function closeTree(dir: string): Promise<void> {
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    const st = await fsp.lstat(p);
    if ((st.mode & 0o077) !== 0) await fsp.chmod(p, st.mode & 0o700);
    if (entry.isDirectory()) await closeTree(p);
  }
  const st = await fsp.lstat(dir);
  if ((st.mode & 0o077) !== 0) await fsp.chmod(dir, st.mode & 0o700);
}
