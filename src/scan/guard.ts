/**
 * scan/guard: what a source must never take in. A pseudo filesystem (/proc, /sys, /dev, …: files
 * that report size 0 but have content, or never end) is refused as a source and skipped where it
 * is mounted inside one; the destination and strata's own state folder inside a source are left
 * out, or each run would back up its own output and grow. Mount points come from
 * /proc/self/mountinfo (none found where it is missing: nothing is skipped then).
 */
import { readFileSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { parseDestination, type DestinationConfig } from '../core/destination.js';
import { StrataError } from '../errors.js';

/** PSEUDO_FS_TYPES are filesystem types whose files are not data to back up. */
export const PSEUDO_FS_TYPES: ReadonlySet<string> = new Set([
  'proc', 'sysfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'debugfs', 'tracefs', 'securityfs', 'pstore', 'bpf',
  'configfs', 'fusectl', 'mqueue', 'efivarfs', 'binfmt_misc', 'autofs', 'rpc_pipefs', 'nsfs', 'selinuxfs', 'hugetlbfs',
]);

/** Mount is one line of /proc/self/mountinfo: where a filesystem is mounted and its type. */
export interface Mount {
  point: string;
  type: string;
}

/** unescapeMountPath reads the octal escapes (\040 for a space) of a mountinfo path. */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** parseMountInfo reads the text of /proc/self/mountinfo. */
export function parseMountInfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    const point = fields[4];
    const type = fields[dash + 1];
    if (dash < 6 || point === undefined || type === undefined) continue;
    mounts.push({ point: unescapeMountPath(point), type });
  }
  return mounts;
}

/** readMounts lists this process's mounts; empty where /proc is missing. */
export function readMounts(): Mount[] {
  try {
    return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    return [];
  }
}

/** realOrResolved is the real path of p, or of its nearest existing parent with the rest appended. */
export function realOrResolved(p: string): string {
  const abs = path.resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realOrResolved(parent), path.basename(abs));
  }
}

/** relInside is `p` relative to `root` when it is root or below it (both absolute and real), else undefined. */
function relInside(root: string, p: string): string | undefined {
  const rel = path.relative(root, p);
  if (rel === '') return '';
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel;
}

/** mountOf is the mount a real path lies on (the longest mount point above it). */
export function mountOf(real: string, mounts: readonly Mount[]): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    if (relInside(m.point, real) === undefined) continue;
    if (best === undefined || m.point.length >= best.point.length) best = m;
  }
  return best;
}

/** SourceSkip is a path inside a source that the scan leaves out, and why. */
export interface SourceSkip {
  /** Relative to the source folder, as the scan sees it. */
  rel: string;
  why: 'destination' | 'state folder' | 'pseudo filesystem';
  /** The filesystem type, for a pseudo filesystem. */
  type?: string;
}

/**
 * sourceSkips lists what a scan of `source` must leave out: the (local) destination folder and the
 * state folder when inside it, and every pseudo filesystem mounted below it.
 */
export function sourceSkips(source: string, inside: { destination?: string | undefined; state: string }, mounts: readonly Mount[] = readMounts()): SourceSkip[] {
  const root = realOrResolved(source);
  const skips: SourceSkip[] = [];
  const add = (p: string | undefined, why: SourceSkip['why'], type?: string): void => {
    if (p === undefined) return;
    const rel = relInside(root, p);
    if (rel === undefined || rel === '' || skips.some((s) => s.rel === rel)) return;
    skips.push(type === undefined ? { rel, why } : { rel, why, type });
  };
  if (inside.destination !== undefined) add(realOrResolved(inside.destination), 'destination');
  add(realOrResolved(inside.state), 'state folder');
  for (const m of mounts) if (PSEUDO_FS_TYPES.has(m.type)) add(m.point, 'pseudo filesystem', m.type);
  // A mount below a skipped folder (/sys/kernel/security below /sys) is left out with it.
  return skips.filter((s) => !skips.some((o) => o !== s && s.rel.startsWith(`${o.rel}/`)));
}

/**
 * sameAsSource names the destination or state folder that is the source folder itself (undefined:
 * none is): a backup would then take in its own output as its whole source, so it is refused.
 * One inside the source is left out instead (sourceSkips).
 */
export function sameAsSource(source: string, inside: { destination?: string | undefined; state: string }): 'destination' | 'state folder' | undefined {
  const root = realOrResolved(source);
  if (inside.destination !== undefined && realOrResolved(inside.destination) === root) return 'destination';
  if (realOrResolved(inside.state) === root) return 'state folder';
  return undefined;
}

/** localDestinationPath is the folder of a local destination, undefined for remote ones (or one that does not parse). */
export function localDestinationPath(config: DestinationConfig): string | undefined {
  try {
    const dest = parseDestination(config);
    return dest.kind === 'local' ? dest.path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * checkSourceFilesystems refuses, before anything is read or written, a source on a pseudo
 * filesystem (/proc, /sys, /dev: files that report size 0 but have content, or never end), and
 * warns about `/` as a source (pseudo filesystems mounted inside a source are skipped, sourceSkips).
 */
export function checkSourceFilesystems(sources: readonly { name: string; path: string }[], warn: (line: string) => void, mounts: readonly Mount[] = readMounts()): void {
  for (const source of sources) {
    const real = realOrResolved(source.path);
    const mount = mountOf(real, mounts);
    if (mount !== undefined && PSEUDO_FS_TYPES.has(mount.type)) {
      throw new StrataError('CONFIG', `the source ${source.path} is on a pseudo filesystem (${mount.type}, mounted at ${mount.point}), whose files are not data`, {
        hint: 'Back up real folders; /proc, /sys and /dev are made by the kernel at boot and cannot be restored.',
      });
    }
    if (real === '/') {
      warn(`--source / (source ${source.name}) backs up the whole machine; pseudo filesystems (/proc, /sys, /dev …), the destination and the state folder are skipped, but consider listing the folders that matter (e.g. /home, /etc)`);
    }
  }
}

/**
 * checkSourcesApart refuses, before anything is read or written, a destination or state folder
 * that is a source folder itself: a backup would take in its own output as its whole source (one
 * inside a source is left out by the scan, sourceSkips).
 */
export function checkSourcesApart(sources: readonly { name: string; path: string }[], inside: { destination?: string | undefined; state: string }): void {
  for (const source of sources) {
    const clash = sameAsSource(source.path, inside);
    if (clash === undefined) continue;
    throw new StrataError('CONFIG', `source ${source.name}: the ${clash} ${clash === 'destination' ? inside.destination ?? '' : inside.state} is the source folder itself`, {
      hint: `Put the ${clash} outside ${source.path} (a folder inside the source is left out of the backup).`,
    });
  }
}
