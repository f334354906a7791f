/**
 * core/manifest: the record of a source's whole state at one moment. Every set carries one
 * (encrypted), so any set alone tells what existed, and where each file's bytes are kept.
 *
 * Text form, one JSON object per line (also what the git audit trail stores, without `set`):
 *   line 1: the header            {"strata":"manifest","version":1,"set":...,"source":...,...}
 *   then:   live entries          {"path":"docs/a.txt","type":"file","size":12,"mtime":"2026-...Z","mode":"0644","sha256":"...","set":"261129_FULL_docs"}
 *           in pathCompare order; since 2026-12 also "uid","gid","user","group" (owner), "xattrs"
 *           ({name: base64}, POSIX ACLs included), "link" (hard link: the group's first path, whose
 *           bytes it shares) and "sparse":true (the file had holes). Older manifests lack them.
 *   then:   deletions (INCR only) {"deleted":"docs/old.txt"}  — gone since the base set, in pathCompare order
 * Paths are relative to the source root, '/'-separated, any Unicode (JSON-escaped: newlines survive).
 */

/** EntryType is what a path is. */
export type EntryType = 'file' | 'dir' | 'symlink';

/** ManifestEntry is one path of a source at the moment of a backup. */
export interface ManifestEntry {
  path: string;
  type: EntryType;
  /** Bytes (files); 0 for folders and links. */
  size: number;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Permission bits (st_mode & 0o7777). */
  mode: number;
  /** SHA-256 of the contents (files only). */
  sha256?: string;
  /** Link target, verbatim (symlinks only). */
  target?: string;
  /** The set whose archive holds this entry (omitted in the audit-trail form). */
  set?: string;
  /** Owner and group ids (absent in manifests made before they were recorded). */
  uid?: number;
  gid?: number;
  /** Owner and group names on the machine of the backup, when it knows the ids. */
  user?: string;
  group?: string;
  /** Extended attributes (every namespace the backup could read, POSIX ACLs included as
   *  system.posix_acl_access / system.posix_acl_default): name → value in base64. Absent when none. */
  xattrs?: Record<string, string>;
  /** Hard link (files only): the path of the first member of this file's hard-link group, which holds
   *  the bytes in the archive; this entry has the same size, hash and `set`, and is never archived. */
  link?: string;
  /** The file had fewer blocks allocated than its size (holes): restore writes its zero blocks as holes. */
  sparse?: boolean;
}

/** ManifestHeader is the first line of a manifest. */
export interface ManifestHeader {
  strata: 'manifest';
  version: 1;
  set: string;
  source: string;
  type: 'FULL' | 'INCR';
  tier: string;
  created: string;
  /** The set this one's changes are relative to (INCR), or null. */
  base: string | null;
}

/** pathCompare orders paths component by component, so that a depth-first walk that visits
 * each folder's children in sorted order produces paths in exactly this order. */
export function pathCompare(a: string, b: string): number {
  if (a === b) return 0;
  // Component by component, without splitting (it runs for every path of every merge-join): at the
  // first differing code unit both paths are in the same component; a component that ends there
  // ('/' or the end of the path) sorts first, and a path that ends sorts before one that goes on.
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return unitRank(a, i) - unitRank(b, i);
}

/** unitRank is the code unit at `i` for pathCompare: the end of the path lowest, then '/', then the unit itself. */
function unitRank(s: string, i: number): number {
  if (i >= s.length) return -2;
  const c = s.charCodeAt(i);
  return c === 47 ? -1 : c;
}

/** nameCompare orders the names of one folder's children (consistent with pathCompare). */
export function nameCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** formatMtime renders nanoseconds since the epoch as ISO 8601 with 9 fractional digits. */
export function formatMtime(ns: bigint): string {
  let frac = ns % 1_000_000_000n;
  if (frac < 0n) frac += 1_000_000_000n;
  // Whole seconds by floor division, so that times before 1970 format correctly.
  const secs = (ns - frac) / 1_000_000_000n;
  // Files of one folder mostly share their second: its text is kept from the last call.
  if (secs !== lastFormatted.secs) {
    const iso = new Date(Number(secs * 1000n)).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
    lastFormatted = { secs, text: iso.slice(0, 19) };
  }
  return `${lastFormatted.text}.${frac.toString().padStart(9, '0')}Z`;
}

let lastFormatted = { secs: -1n << 80n, text: '' };
let lastParsed = { text: '', secs: 0n };

/** parseMtime reads formatMtime's form back into nanoseconds. */
export function parseMtime(text: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(text);
  if (m === null) throw new Error(`bad mtime ${JSON.stringify(text)}`);
  const whole = m[1] ?? '';
  if (whole !== lastParsed.text) lastParsed = { text: whole, secs: BigInt(Date.parse(`${whole}Z`) / 1000) };
  const secs = lastParsed.secs;
  const frac = BigInt((m[2] ?? '0').padEnd(9, '0'));
  return secs * 1_000_000_000n + frac;
}

/** EntryJson is a ManifestEntry as its JSON line has it: the mtime as text (formatMtime), the mode in octal. */
type EntryJson = Omit<ManifestEntry, 'mtimeNs' | 'mode'> & { mtime: string; mode: string };

/** serializeEntry renders one entry as a JSON line (without newline). `withSet` false gives the audit form. */
export function serializeEntry(e: ManifestEntry, withSet = true): string {
  const j: EntryJson = { path: e.path, type: e.type, size: e.size, mtime: formatMtime(e.mtimeNs), mode: e.mode.toString(8).padStart(4, '0') };
  if (e.sha256 !== undefined) j.sha256 = e.sha256;
  if (e.target !== undefined) j.target = e.target;
  if (withSet && e.set !== undefined) j.set = e.set;
  if (e.uid !== undefined) j.uid = e.uid;
  if (e.gid !== undefined) j.gid = e.gid;
  if (e.user !== undefined) j.user = e.user;
  if (e.group !== undefined) j.group = e.group;
  if (e.link !== undefined) j.link = e.link;
  if (e.sparse === true) j.sparse = true;
  if (e.xattrs !== undefined) j.xattrs = e.xattrs;
  return JSON.stringify(j);
}

/** ManifestLine is one parsed line of a manifest. */
export type ManifestLine =
  | { kind: 'header'; header: ManifestHeader }
  | { kind: 'entry'; entry: ManifestEntry }
  | { kind: 'deleted'; path: string };

/** parseLine parses one manifest line; it throws on anything malformed. */
export function parseLine(line: string): ManifestLine {
  const raw: unknown = JSON.parse(line);
  if (typeof raw !== 'object' || raw === null) throw new Error('manifest line is not an object');
  const o = raw as Record<string, unknown>;
  if (o['strata'] === 'manifest') return { kind: 'header', header: o as unknown as ManifestHeader };
  if (typeof o['deleted'] === 'string') return { kind: 'deleted', path: o['deleted'] };
  const { path, type, size, mtime, mode, sha256, target, set, uid, gid, user, group, xattrs, link, sparse } = o;
  if (typeof path !== 'string' || (type !== 'file' && type !== 'dir' && type !== 'symlink') || typeof size !== 'number' || typeof mtime !== 'string' || typeof mode !== 'string') {
    throw new Error(`malformed manifest entry: ${line.slice(0, 200)}`);
  }
  const entry: ManifestEntry = { path, type, size, mtimeNs: parseMtime(mtime), mode: parseInt(mode, 8) };
  if (typeof sha256 === 'string') entry.sha256 = sha256;
  if (typeof target === 'string') entry.target = target;
  if (typeof set === 'string') entry.set = set;
  // Fields added later (owner, hard links, sparse, xattrs): absent in older manifests, which stay valid.
  if (isId(uid)) entry.uid = uid;
  if (isId(gid)) entry.gid = gid;
  if (typeof user === 'string') entry.user = user;
  if (typeof group === 'string') entry.group = group;
  if (typeof link === 'string' && type === 'file') entry.link = link;
  if (sparse === true) entry.sparse = true;
  if (xattrs !== undefined) {
    if (typeof xattrs !== 'object' || xattrs === null || Array.isArray(xattrs) || Object.values(xattrs).some((v) => typeof v !== 'string')) {
      throw new Error(`malformed xattrs in manifest entry: ${line.slice(0, 200)}`);
    }
    entry.xattrs = xattrs as Record<string, string>;
  }
  return { kind: 'entry', entry };
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/** serializeHeader renders the header line. */
export function serializeHeader(h: ManifestHeader): string {
  return JSON.stringify(h);
}

/** serializeDeleted renders a deletion line. */
export function serializeDeleted(path: string): string {
  return JSON.stringify({ deleted: path });
}

/** sameContent tells whether two entries describe the same bytes/link/folder (metadata aside). */
export function sameContent(a: ManifestEntry, b: ManifestEntry): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'file') return a.size === b.size && a.sha256 === b.sha256 && a.link === b.link;
  if (a.type === 'symlink') return a.target === b.target;
  return true;
}

/** sameEntry tells whether two entries would be written as the same manifest line (set included). */
export function sameEntry(a: ManifestEntry, b: ManifestEntry): boolean {
  return a.path === b.path && a.set === b.set && a.target === b.target && sameMetadata(a, b);
}

/** ENTRY_FIELDS lists what sameEntry compares (with sameMetadata and sameContent): a field added to
 *  ManifestEntry must be compared there and listed here. */
export const ENTRY_FIELDS = ['path', 'type', 'size', 'mtimeNs', 'mode', 'sha256', 'target', 'set', 'uid', 'gid', 'user', 'group', 'xattrs', 'link', 'sparse'] as const satisfies readonly (keyof ManifestEntry)[];
type UnlistedEntryField = Exclude<keyof ManifestEntry, (typeof ENTRY_FIELDS)[number]>;
/** A compile error here names a ManifestEntry field that sameEntry does not compare. */
export const ENTRY_FIELDS_COMPLETE: [UnlistedEntryField] extends [never] ? true : UnlistedEntryField = true;

/** sameMetadata tells whether two entries agree on everything restore sets (contents, mtime, mode,
 * owner, extended attributes and ACLs, holes). */
export function sameMetadata(a: ManifestEntry, b: ManifestEntry): boolean {
  return sameContent(a, b) && a.mtimeNs === b.mtimeNs && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid &&
    a.user === b.user && a.group === b.group && a.sparse === b.sparse && sameXattrs(a.xattrs, b.xattrs);
}

/** sameXattrs compares two sets of extended attributes (absent = none). */
export function sameXattrs(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ak = Object.keys(a ?? {});
  const bk = Object.keys(b ?? {});
  if (ak.length !== bk.length) return false;
  return ak.every((k) => b?.[k] === a?.[k]);
}
