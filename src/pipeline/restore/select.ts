/**
 * pipeline/restore/select: pass 1 of a restore. Reads the manifest once, picks the entries the
 * paths select, refuses unsafe paths and conflicts with what the target holds before anything is
 * written, and writes one 7-Zip extraction list per set that holds selected files.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import * as path from 'node:path';
import type { Descriptor } from '../../core/descriptor.js';
import { pathCompare, type ManifestEntry } from '../../core/manifest.js';
import { isSafeRelativePath, type PathFilter } from '../../core/pathfilter.js';
import { isListFileSafe } from '../../core/sevenzip.js';
import { StrataError } from '../../errors.js';
import { readEntries } from '../manifests.js';
import { isFolderOrAbsent, occupied } from './confinement.js';

/** ExtractionList is what one holding set gives: a 7-Zip list file, the names a list file cannot carry, and how many. */
export interface ExtractionList {
  file: string;
  extra: string[];
  count: number;
  /** The bytes of the files listed (their manifest sizes). */
  bytes: number;
}

/** Selection is what pass 1 found: the files to extract per holding set, the folders and the hard links. */
export interface Selection {
  /** Per holding set (the set itself or one it depends on), in manifest order. */
  lists: Map<string, ExtractionList>;
  dirs: ManifestEntry[];
  /** Hard links: a later member is made as a link to its group's first member once that is placed. */
  hardLinks: ManifestEntry[];
  /**
   * When the first member of a hard-link group is not selected, its bytes are still extracted and
   * placed at the first selected member's path instead: group's first path → that member.
   */
  asFirst: Map<string, ManifestEntry>;
  /** How many selected entries are symlinks, carry an owner, carry extended attributes: a later pass that would find none is not made. */
  symlinks: number;
  owned: number;
  withXattrs: number;
}

/** SelectInput is what pass 1 reads: the set's plaintext manifest, the paths asked for and the target. */
export interface SelectInput {
  manifest: string;
  set: Descriptor;
  filter: PathFilter;
  /** The paths asked for (for the message when nothing matches). */
  paths: readonly string[];
  /** The target folder (real path). */
  root: string;
  /** The restore's download folder: the list files go there. */
  work: string;
  overwrite: boolean;
  /** Into an empty folder nothing can conflict (a file appearing meanwhile is still caught by placeFile). */
  emptyTarget: boolean;
}

/** selectEntries is pass 1: select entries, check paths and conflicts, write one extraction list per holding set. */
export async function selectEntries(s: SelectInput): Promise<Selection> {
  const { set, filter, root } = s;
  const lists = new Map<string, ExtractionList & { stream: WriteStream }>();
  const dirs: ManifestEntry[] = [];
  const conflicts: string[] = [];
  let selected = 0;
  const holders = new Set([set.id, ...set.depends]);
  const hardLinks: ManifestEntry[] = [];
  const asFirst = new Map<string, ManifestEntry>();
  let symlinks = 0;
  let owned = 0;
  let withXattrs = 0;
  for await (const e of readEntries(s.manifest)) {
    if (!filter(e.path)) continue;
    if (!isSafeRelativePath(e.path)) throw new StrataError('UNSAFE_PATH', `the manifest of ${set.id} contains an unsafe path ${JSON.stringify(e.path)}`, { hint: 'The set was tampered with; nothing was written.' });
    selected++;
    if (e.type === 'symlink') symlinks++;
    if (e.uid !== undefined) owned++;
    if (e.xattrs !== undefined) withXattrs++;
    if (e.type === 'dir') {
      dirs.push(e);
      // A folder goes where a file or a link is now: a conflict like any other, found before anything is written.
      if (!s.overwrite && !s.emptyTarget && conflicts.length < 20 && !isFolderOrAbsent(path.join(root, e.path))) conflicts.push(e.path);
      continue;
    }
    if (!s.overwrite && !s.emptyTarget && conflicts.length < 20 && occupied(path.join(root, e.path))) conflicts.push(e.path);
    if (e.type === 'file') {
      const holder = e.set ?? set.id;
      // The holder names a set whose volumes are read: only the sets the (HMAC-sealed) descriptor depends on.
      if (!holders.has(holder)) throw new StrataError('UNSAFE_PATH', `the manifest of ${set.id} refers to set ${JSON.stringify(holder)}, which the set does not depend on`, { hint: 'The set was tampered with; nothing was written.' });
      if (e.link !== undefined) {
        if (!isSafeRelativePath(e.link) || pathCompare(e.link, e.path) >= 0) throw new StrataError('UNSAFE_PATH', `the manifest of ${set.id} contains an unsafe hard link ${JSON.stringify(e.path)}`, { hint: 'The set was tampered with; nothing was written.' });
        hardLinks.push(e);
        if (filter(e.link) || asFirst.has(e.link)) continue;
        asFirst.set(e.link, e);
      }
      const member = e.link ?? e.path;
      let l = lists.get(holder);
      if (l === undefined) {
        const file = path.join(s.work, `${lists.size}.list`);
        l = { file, extra: [], count: 0, bytes: 0, stream: createWriteStream(file) };
        lists.set(holder, l);
      }
      if (isListFileSafe(member)) l.stream.write(member + '\n');
      else l.extra.push(member);
      l.count++;
      l.bytes += e.size;
    }
  }
  for (const l of lists.values()) {
    l.stream.end();
    await once(l.stream, 'finish');
  }
  if (selected === 0) throw new StrataError('NOT_FOUND', `nothing in set ${set.id} matches ${s.paths.map((p) => JSON.stringify(p)).join(' ')}`, { hint: 'Paths are relative to the source folder; strata history PATH shows a file\'s versions.' });
  if (conflicts.length > 0) {
    throw new StrataError('RESTORE_CONFLICT', `the target already has ${conflicts.length >= 20 ? 'at least 20' : conflicts.length} of the files to restore, e.g. ${conflicts.slice(0, 3).map((c) => JSON.stringify(c)).join(', ')}`, {
      hint: 'Restore into an empty folder (--to DIR) or pass --overwrite to replace them.',
    });
  }
  return { lists, dirs, hardLinks, asFirst, symlinks, owned, withXattrs };
}
