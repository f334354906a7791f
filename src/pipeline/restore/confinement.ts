/**
 * pipeline/restore/confinement: nothing is written outside the target. The target is checked
 * before anything is read (checkTarget), folders on the way are created by restore itself and never
 * followed through a symlink (safeParent, ensureRealFolder), and a filesystem failure in the target
 * becomes an error naming the path (targetFsError).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ancestors } from '../../core/pathfilter.js';
import { StrataError, errnoCode, fromFsError, isStrataError } from '../../errors.js';
import { callerUmask } from '../../config/private-state.js';

/**
 * checkTarget refuses a --to that cannot become a folder, before anything is read or written: a
 * file, a path through a file, a dangling symlink. (A symlink to a folder is used as that folder.)
 */
export function checkTarget(to: string): void {
  const abs = path.resolve(to);
  const st = statOrUndefined(abs, fs.lstatSync);
  if (st?.isSymbolicLink() === true) {
    const followed = statOrUndefined(abs, fs.statSync);
    if (followed === undefined) {
      throw new StrataError('RESTORE_CONFLICT', `--to ${abs} is a dangling symlink (it points to ${fs.readlinkSync(abs)}, which does not exist)`, {
        hint: 'Create the folder it points to, remove the link, or restore somewhere else (--to DIR).',
      });
    }
    if (!followed.isDirectory()) throw notAFolder(abs, abs);
    return;
  }
  if (st !== undefined) {
    if (!st.isDirectory()) throw notAFolder(abs, abs);
    return;
  }
  // Missing: the nearest existing path above must be a folder (--to file/sub would fail with ENOTDIR).
  for (let dir = path.dirname(abs); ; dir = path.dirname(dir)) {
    const up = statOrUndefined(dir, fs.statSync);
    if (up !== undefined) {
      if (!up.isDirectory()) throw notAFolder(abs, dir);
      return;
    }
    if (path.dirname(dir) === dir) return;
  }
}

/** statOrUndefined is (l)stat, or undefined when nothing is there (ENOENT) or a file is on the way (ENOTDIR). */
function statOrUndefined(p: string, how: (p: string) => fs.Stats): fs.Stats | undefined {
  try {
    return how(p);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

function notAFolder(to: string, what: string): StrataError {
  return new StrataError('RESTORE_CONFLICT', `cannot restore into ${to}: ${what} exists and is not a folder`, {
    hint: 'Restore into a folder (--to DIR): an empty or new one, or an existing one with --overwrite.',
  });
}

const TARGET_ERRNOS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'ENOENT', 'ENOSPC', 'EDQUOT', 'ENAMETOOLONG', 'ELOOP']);

/**
 * targetFsError turns a filesystem failure in the restore target (a read-only folder, a full disk,
 * a path changed under the restore) into an error naming the path, instead of a stack trace.
 */
export function targetFsError(e: unknown, target: string): unknown {
  const code = errnoCode(e);
  if (isStrataError(e) || code === undefined || !TARGET_ERRNOS.has(code)) return e;
  const err = e as NodeJS.ErrnoException & { dest?: string };
  const where = err.dest ?? err.path;
  if (typeof where !== 'string') return e;
  if (code === 'ENOSPC' || code === 'EDQUOT') return fromFsError(e, `restoring into ${target}`);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new StrataError('RESTORE_CONFLICT', `cannot write ${where}: permission denied${code === 'EROFS' ? ' (read-only filesystem)' : ''} in the folder ${path.dirname(where)}`, {
      hint: 'Restore as a user who may write there, make the folder writable (chmod u+w), or restore into an empty folder (--to DIR).',
      cause: e,
    });
  }
  return new StrataError('RESTORE_CONFLICT', `cannot write ${where} in the target (${code}): it changed during the restore`, {
    hint: 'Restore into an empty folder (--to DIR) that nothing else writes to.',
    cause: e,
  });
}

/**
 * mkdirForUser creates a missing target folder (and those above it) with the mode the user's own
 * umask gives: strata runs under a private umask for its state folder (config/private-state).
 * Returns the first folder it created (undefined when the target was there).
 */
export async function mkdirForUser(target: string): Promise<string | undefined> {
  const first = await fsp.mkdir(target, { recursive: true });
  if (first === undefined) return undefined;
  const mode = 0o777 & ~callerUmask();
  for (const dir of madeFolders(target, first)) await fsp.chmod(dir, mode);
  return first;
}

/** unmakeFolders removes the folders mkdirForUser made for `target` (`first` is what it returned), as long as they are empty. */
export async function unmakeFolders(target: string, first: string | undefined): Promise<void> {
  if (first === undefined) return;
  for (const dir of madeFolders(target, first)) {
    try {
      await fsp.rmdir(dir);
    } catch {
      return; // something is in it now: it stays
    }
  }
}

/** madeFolders lists the folders from `target` up to `first` (the first one mkdir made for it), deepest first. */
function madeFolders(target: string, first: string): string[] {
  const dirs: string[] = [];
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    dirs.push(dir);
    if (dir === path.resolve(first) || path.dirname(dir) === dir) return dirs;
  }
}

/**
 * safeParent creates the folders above a path inside root (never through a symlink) and returns its
 * full path. `created` collects the folders it made; `checked` remembers folders already known to
 * be real folders in this restore, so each is examined once.
 */
export async function safeParent(root: string, rel: string, created?: Set<string>, checked?: Set<string>, overwrite = false): Promise<string> {
  for (const a of ancestors(rel)) {
    if (checked?.has(a) === true) continue;
    if (ensureRealFolder(path.join(root, a), a, overwrite, 0o700)) created?.add(a);
    checked?.add(a);
  }
  return path.join(root, rel);
}

/**
 * ensureRealFolder makes `dir` a real folder: keeps a folder that is there, creates a missing one
 * (with `mode`), and replaces a file or a link only with --overwrite (a link is removed, never
 * followed). Returns whether it created the folder.
 */
export function ensureRealFolder(dir: string, rel: string, overwrite: boolean, mode?: number): boolean {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (st?.isDirectory() === true) return false;
  if (st !== undefined) {
    if (!overwrite) {
      throw new StrataError('RESTORE_CONFLICT', `${JSON.stringify(rel)} exists in the target and is not a folder${st.isSymbolicLink() ? ' (a symlink)' : ''}`, {
        hint: 'Restore into an empty folder (--to DIR), or pass --overwrite to replace it (a link is removed, never followed).',
      });
    }
    fs.unlinkSync(dir);
  }
  fs.mkdirSync(dir, { mode });
  return true;
}

/** isFolderOrAbsent tells whether a path is free for a folder: nothing there, or a real folder. */
export function isFolderOrAbsent(p: string): boolean {
  try {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    return st === undefined || st.isDirectory();
  } catch {
    return false;
  }
}

/** occupied tells whether something (or a non-folder on the way, ENOTDIR) is at a path. */
export function occupied(p: string): boolean {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}
