/**
 * core/browse: reading a set's manifest as a folder tree without restoring anything — what `ls`
 * shows of a folder, what `find` matches (picomatch globs), what `diff` finds between two sets, and
 * how an absolute path names a file of a source. Pure: the manifests are read by the caller.
 *
 * A set's manifest is its source's whole state at that moment (core/manifest): an INCR's manifest
 * lists every live path, each naming the set that holds its bytes, so the tree of any set is its own
 * manifest alone — the state a restore of that set produces.
 */
import * as nodePath from 'node:path';
import picomatch from 'picomatch';
import { formatMtime, pathCompare, sameContent, sameMetadata, serializeEntry, type ManifestEntry } from './manifest.js';

/** normalizeBrowsePath turns a PATH argument into a manifest path: `./docs/` is `docs`, `.` or `` the source root (''). */
export function normalizeBrowsePath(arg: string): string {
  const p = arg.replace(/^(\.\/+)+/, '').replace(/\/+$/, '').replace(/\/{2,}/g, '/');
  return p === '.' ? '' : p;
}

/** inFolder tells whether `path` lies in folder `dir` ('' is the root): directly (a child), or anywhere below with `recursive`. */
export function inFolder(path: string, dir: string, recursive: boolean): boolean {
  if (dir !== '' && !path.startsWith(dir + '/')) return false;
  const rest = dir === '' ? path : path.slice(dir.length + 1);
  return rest !== '' && (recursive || !rest.includes('/'));
}

/** modeString renders a type and permission bits as `ls -l` does (drwxr-xr-x, -rw-r--r--, lrwxrwxrwx; s/t bits included). */
export function modeString(type: ManifestEntry['type'], mode: number): string {
  const t = type === 'dir' ? 'd' : type === 'symlink' ? 'l' : '-';
  const rwx = (bits: number, special: boolean, ch: string): string =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return t + rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') + rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') + rwx(mode & 7, (mode & 0o1000) !== 0, 't');
}

/** shownTime renders a manifest mtime (ns) as `YYYY-MM-DD HH:MM:SS` UTC, the way `strata list` shows times. */
export function shownTime(ns: bigint): string {
  return formatMtime(ns).slice(0, 19).replace('T', ' ');
}

/** shownPath quotes a path with control characters (a newline in a name) so that one entry stays one line. */
export function shownPath(path: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
  return /[\u0000-\u001f\u007f]/.test(path) ? JSON.stringify(path) : path;
}

/** entryJson is an entry as JSON (the manifest's own line form: mtime as ISO 8601 with ns, mode in octal). */
export function entryJson(e: ManifestEntry): Record<string, unknown> {
  return JSON.parse(serializeEntry(e, true)) as Record<string, unknown>;
}

/**
 * findMatcher compiles a `find` PATTERN: a picomatch glob (`*`, `?`, `**`, `[abc]`, `{a,b}`, `!(x)`)
 * matched against paths relative to the source folder, hidden names included; a pattern without
 * "/" is matched against each path's last name, in any folder (`*.xlsx`, `report?.txt`).
 */
export function findMatcher(pattern: string): (path: string) => boolean {
  const p = normalizeBrowsePath(pattern);
  const isMatch = picomatch(p === '' ? '**' : p, { dot: true, basename: !p.includes('/') });
  return (path: string) => isMatch(path);
}

/** DiffChange is one path that differs between two sets. */
export interface DiffChange {
  change: 'added' | 'modified' | 'deleted' | 'metadata';
  path: string;
  /** The entry in the first set (absent when added). */
  before?: ManifestEntry;
  /** The entry in the second set (absent when deleted). */
  after?: ManifestEntry;
}

/**
 * diffEntries walks two manifests' entries (each in pathCompare order, as manifests are written)
 * side by side and yields what changed from the first to the second: added, deleted, modified
 * (other contents, link target or type) and metadata (same contents; mtime, mode, owner or
 * extended attributes differ). Memory stays constant whatever the manifests' size.
 */
export async function* diffEntries(a: AsyncIterable<ManifestEntry>, b: AsyncIterable<ManifestEntry>): AsyncGenerator<DiffChange> {
  const ia = a[Symbol.asyncIterator]();
  const ib = b[Symbol.asyncIterator]();
  let x = await ia.next();
  let y = await ib.next();
  while (x.done !== true || y.done !== true) {
    const c = x.done === true ? 1 : y.done === true ? -1 : pathCompare(x.value.path, y.value.path);
    if (c < 0 && x.done !== true) {
      yield { change: 'deleted', path: x.value.path, before: x.value };
      x = await ia.next();
    } else if (c > 0 && y.done !== true) {
      yield { change: 'added', path: y.value.path, after: y.value };
      y = await ib.next();
    } else if (x.done !== true && y.done !== true) {
      const before = x.value;
      const after = y.value;
      if (!sameContent(before, after)) yield { change: 'modified', path: after.path, before, after };
      else if (!sameMetadata(before, after)) yield { change: 'metadata', path: after.path, before, after };
      x = await ia.next();
      y = await ib.next();
    }
  }
}

/** SourceFolder is one configured source: its name and the folder's path (and the path with links resolved, when known). */
export interface SourceFolder {
  name: string;
  paths: readonly string[];
}

/** SourcePath is a PATH argument read against the sources: the source it names (if absolute) and the path relative to it. */
export interface SourcePath {
  source?: string;
  path: string;
}

/**
 * sourceRelative reads an absolute PATH (`/home/me/docs/a.txt`) as a path in the source whose folder
 * holds it (source docs at /home/me/docs → `a.txt` in docs); the deepest such source wins. Relative
 * paths are returned as they are. Undefined: absolute, but under no source folder.
 */
export function sourceRelative(arg: string, sources: readonly SourceFolder[]): SourcePath | undefined {
  if (!arg.startsWith('/')) return { path: arg };
  const abs = nodePath.posix.normalize(arg).replace(/\/+$/, '') || '/';
  let best: { name: string; root: string } | undefined;
  for (const s of sources) {
    for (const raw of s.paths) {
      const root = nodePath.posix.normalize(raw).replace(/\/+$/, '') || '/';
      const under = abs === root || root === '/' || abs.startsWith(root + '/');
      if (under && (best === undefined || root.length > best.root.length)) best = { name: s.name, root };
    }
  }
  if (best === undefined) return undefined;
  const rest = abs === best.root ? '' : abs.slice(best.root === '/' ? 1 : best.root.length + 1);
  return { source: best.name, path: rest === '' ? '.' : rest };
}
