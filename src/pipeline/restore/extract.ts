/**
 * pipeline/restore/extract: pass 2 for one holding set. 7-Zip extracts the set's selected files
 * into the staging folder inside the target; each file is then checked (a regular file, reached
 * through real folders only, with the manifest's SHA-256; sparse ones get their holes back) and
 * only then moved into place. A file that does not check out is reported lost, never placed.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Descriptor } from '../../core/descriptor.js';
import type { ManifestEntry } from '../../core/manifest.js';
import { firstVolumeName, partsOf } from '../../core/parts.js';
import { ancestors, type PathFilter } from '../../core/pathfilter.js';
import { counted } from '../../core/words.js';
import { errnoCode, errorMessage, isStrataError } from '../../errors.js';
import { readEntries } from '../manifests.js';
import type { MaterializedSet } from '../setfiles.js';
import { fixModeAndTime, moveIntoPlace, placeFile, type Extracted, type Target } from './place.js';
import type { ExtractionList } from './select.js';
import type { RestoredSource, RestoreRequest } from './types.js';
import { identityOf, type FollowSet, type Identity, type Selected } from './follow.js';

/**
 * extractSet runs 7-Zip over a holding set's volumes into `out`. Damage beyond repair does not stop
 * the restore: the returned reason is given for every file that then does not check out (undefined
 * when 7-Zip succeeded).
 */
export async function extractSet(req: Pick<RestoreRequest, 'tools' | 'password' | 'signal' | 'out'>, hd: Descriptor, mat: MaterializedSet, l: ExtractionList, out: string, follow?: Follower): Promise<string | undefined> {
  // A set may be several archives (core/parts): one 7-Zip process each, all at once, into the same
  // folder (their files are disjoint; a folder both create is created by one, found by the other).
  // Extracting thousands of small files keeps 7-Zip waiting on its own threads; several at once
  // fill both cores (bench --only restore).
  const parts = partsOf(hd);
  if (parts.length === 0) return `set ${hd.id} has no volumes`;
  const all = extractsAll(hd, l);
  // 7-Zip's percent of the bytes it extracts.
  const total = extractedBytes(hd, l);
  const bar = req.out.progress(`${hd.id}: extracting ${counted(l.count, 'file')}`, total, { bytes: true });
  const volumeBytes = hd.volumes.reduce((n, v) => n + v.size, 0) || 1;
  // Progress: each part's share of the bytes, by its share of the volumes.
  const shares = parts.map((part) => hd.volumes.slice(part.first, part.first + part.volumes).reduce((n, v) => n + v.size, 0) / volumeBytes);
  const done = parts.map(() => 0);
  let items = 0;
  try {
    const settled = await Promise.allSettled(parts.map((part, k) => req.tools.sevenZip.extract({
      archive: path.join(mat.dir, firstVolumeName(part)), outDir: out, password: req.password, signal: req.signal,
      onProgress: (p) => {
        done[k] = (p.percent / 100) * (shares[k] ?? 0);
        bar.update(Math.round(done.reduce((a, b) => a + b, 0) * total), p.file);
      },
      // With item lines 7-Zip draws no progress: the share of items started stands in for it.
      ...(follow === undefined ? {} : { onItem: (name: string) => {
        follow.item(k, name);
        bar.update(Math.round((Math.min(++items, l.count) / Math.max(l.count, 1)) * total), name);
      } }),
      ...(all ? { anyLinks: true } : { listFile: l.file, extraPaths: l.extra }),
      // Each file comes out with the mode the archive records (no chmod per file afterwards): out
      // is inside the staging folder (0700), which nobody else can enter, and every folder 7-Zip
      // makes is closed (0700) before it leaves staging (placeWhole's stagedTree).
      umask: 0,
    })));
    // Every process has exited before anything is judged; an error that is not damage comes first.
    const errors = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    const fatal = errors.findIndex((e) => !isStrataError(e) || (e.code !== 'DAMAGED' && e.code !== 'WRONG_PASSWORD' && e.code !== 'TOOL_FAILED'));
    if (errors.length > 0) throw errors[Math.max(fatal, 0)];
    return undefined;
  } catch (e) {
    if (!isStrataError(e) || (e.code !== 'DAMAGED' && e.code !== 'WRONG_PASSWORD' && e.code !== 'TOOL_FAILED')) throw e;
    // Damage beyond repair: keep every file that still checks out, name the rest.
    return mat.lostVolumes.length > 0 ? `volumes lost: ${mat.lostVolumes.join(', ')}` : errorMessage(e);
  } finally {
    bar.done();
  }
}

/** Follower is told each item 7-Zip starts, by the index of the set's archive (restore/follow's FollowSet). */
export interface Follower {
  item(archive: number, name: string): void;
}

/**
 * extractsAll tells whether extractSet extracts the whole archive: 7-Zip matches a list file against
 * every item (quadratic), so when most of the archive is wanted, extracting all of it into staging
 * and picking the wanted files is far faster.
 */
function extractsAll(hd: Descriptor, l: ExtractionList): boolean {
  return l.count >= hd.stats.archivedFiles / 2;
}

/** extractedBytes is what extractSet has 7-Zip write: the whole archive's bytes, or the listed files' (manifest sizes). */
export function extractedBytes(hd: Descriptor, l: ExtractionList): number {
  return extractsAll(hd, l) ? hd.stats.archivedBytes : l.bytes;
}

/** StagedFiles is one holding set's extraction in staging and what selects its files. */
export interface StagedFiles {
  manifest: string;
  /** The set restored (a file without `set` in the manifest is held by it). */
  setId: string;
  holder: string;
  filter: PathFilter;
  asFirst: ReadonlyMap<string, ManifestEntry>;
  /** The holder's staging folder. */
  out: string;
  /** Why the holder's files may be missing (extractSet). */
  extractError: string | undefined;
}

/** holderFiles lists a holder's files to place, in manifest order: `found` as the archive has it, `e` the entry placed. */
export async function* holderFiles(x: Omit<StagedFiles, 'extractError'>): AsyncGenerator<Selected> {
  for await (const found of readEntries(x.manifest)) {
    if (found.type !== 'file' || found.link !== undefined || (found.set ?? x.setId) !== x.holder) continue;
    // An unselected first member of a hard-link group gives its bytes to the first selected member.
    const e = x.filter(found.path) ? found : x.asFirst.get(found.path);
    if (e !== undefined) yield { found, e };
  }
}

/**
 * placeExtracted checks each of a holder's selected files in staging and moves those that check out
 * into place; the rest are lost. A file hashed while 7-Zip went on (restore/follow) is not read
 * again when it is still exactly the file hashed.
 */
export async function placeExtracted(x: StagedFiles, into: Target, result: RestoredSource, early?: FollowSet): Promise<void> {
  const stagedDirs = new Set<string>();
  for await (const { found, e } of holderFiles(x)) {
    const { ok } = await checkStaged(x.out, found, e, stagedDirs, early);
    if (typeof ok === 'string') {
      result.lost.push({ path: e.path, reason: x.extractError ?? ok });
      continue;
    }
    await placeFile(into, e, ok);
    result.files++;
    result.bytes += e.size;
  }
}

/**
 * checkStaged finds one of a holder's files in staging (`src`: undefined when a folder on its way is
 * not a real folder) and checks it: the early result when it is still exactly the file hashed
 * (restore/follow), else hashed now. `ok` is the file that checked out, or why it did not.
 */
async function checkStaged(out: string, found: ManifestEntry, e: ManifestEntry, stagedDirs: Set<string>, early?: FollowSet): Promise<{ src: string | undefined; ok: Extracted | string }> {
  const src = stagedFile(out, found.path, stagedDirs);
  if (src === undefined) return { src, ok: 'the archive holds a link or a file where a folder above it belongs' };
  return { src, ok: (await early?.take(found.path, src)) ?? (await verifyExtracted(src, e)) };
}

/**
 * placeWhole is placeExtracted for a restore into a target that was empty, from one holding set.
 * Each file is checked where 7-Zip left it, its mode and mtime corrected there, and a file that does
 * not check out is removed from staging. When staging then holds nothing but real folders and the
 * files that checked out, each of its top-level entries is moved into the target by one rename
 * (20,000 files in 43 folders: 43 renames, instead of 20,000 renames and as many lookups of the
 * folders on the way and of the destination). Otherwise (a link or a file 7-Zip made that the
 * selection does not take, bytes that go to another path) the files that checked out are moved one
 * by one, as placeExtracted does.
 */
export async function placeWhole(x: StagedFiles, into: Target, result: RestoredSource, early?: FollowSet): Promise<void> {
  const stagedDirs = new Set<string>();
  let kept = 0;
  let whole = true;
  for await (const { found, e } of holderFiles(x)) {
    const { src, ok } = await checkStaged(x.out, found, e, stagedDirs, early);
    if (typeof ok === 'string') {
      result.lost.push({ path: e.path, reason: x.extractError ?? ok });
      // What did not check out never leaves staging: a regular file is removed here, anything else
      // makes the moves go one by one.
      if (src !== undefined && !dropStaged(src)) whole = false;
      continue;
    }
    if (src === undefined) continue;
    // A file with holes was copied beside its staged name: the copy takes the name.
    if (ok.file !== src) fs.renameSync(ok.file, src);
    fixModeAndTime(src, e, ok);
    if (found.path !== e.path) whole = false;
    kept++;
    result.files++;
    result.bytes += e.size;
  }
  const tree = whole ? stagedTree(x.out, kept) : undefined;
  // Something that appeared in the target meanwhile is kept: then the files go one by one, beside it.
  if (tree !== undefined && tree.top.every((name) => fs.lstatSync(path.join(into.root, name), { throwIfNoEntry: false }) === undefined)) {
    for (const name of tree.top) fs.renameSync(path.join(x.out, name), path.join(into.root, name));
    // Every folder moved is this restore's: it gets its recorded mode and mtime at the end.
    for (const d of tree.dirs) {
      into.created.add(d);
      into.checked.add(d);
    }
    return;
  }
  // One by one: every regular file left at a selected path checked out (the others were removed).
  const again = new Set<string>();
  for await (const { found, e } of holderFiles(x)) {
    const src = stagedFile(x.out, found.path, again);
    if (src !== undefined && fs.lstatSync(src, { throwIfNoEntry: false })?.isFile() === true) await moveIntoPlace(into, e, src);
  }
}

/**
 * dropStaged removes a staged file that did not check out; false when something other than a
 * regular file is there (it stays in staging, which is removed at the end). Nothing there is fine.
 */
function dropStaged(src: string): boolean {
  const st = fs.lstatSync(src, { throwIfNoEntry: false });
  if (st === undefined) return true;
  if (!st.isFile()) return false;
  fs.unlinkSync(src);
  return true;
}

/**
 * stagedTree lists what is directly under `out` (`top`) and every folder below it (`dirs`, relative
 * paths) when it holds only real folders and exactly `files` regular files; undefined otherwise (a
 * link, a device, a file no entry took). Every folder it passes is made 0700: 7-Zip made them under
 * an empty umask (extractSet), and a folder the manifest does not record keeps that mode in the
 * target (the others get their recorded modes last, deepest first).
 */
function stagedTree(out: string, files: number): { top: string[]; dirs: string[] } | undefined {
  const top: string[] = [];
  const dirs: string[] = [];
  let seen = 0;
  if (!fs.existsSync(out)) return files === 0 ? { top, dirs } : undefined; // 7-Zip extracted nothing
  const walk = (rel: string): boolean => {
    for (const d of fs.readdirSync(rel === '' ? out : path.join(out, rel), { withFileTypes: true })) {
      const r = rel === '' ? d.name : `${rel}/${d.name}`;
      if (rel === '') top.push(d.name);
      if (d.isFile()) {
        if (++seen > files) return false;
      } else if (d.isDirectory()) {
        dirs.push(r);
        fs.chmodSync(path.join(out, r), 0o700);
        if (!walk(r)) return false;
      } else {
        return false;
      }
    }
    return true;
  };
  return walk('') && seen === files ? { top, dirs } : undefined;
}

/** Files are read this much at a time (files up to this size in one read). */
const READ_BUFFER = Buffer.allocUnsafe(1 << 20);

/**
 * verifyExtracted checks that an extracted file is a regular file with the manifest's hash.
 * The per-file work of a restore uses synchronous calls on purpose: thousands of small files
 * through the thread pool cost far more in hand-offs than the syscalls themselves.
 */
export async function verifyExtracted(file: string, e: ManifestEntry, identify = false): Promise<(Extracted & { id?: Identity }) | string> {
  // One open (never following a link, never blocking on a FIFO) and an fstat, instead of an lstat
  // and then an open: what is hashed is exactly what was checked to be a regular file.
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    return errnoCode(err) === 'ENOENT' ? 'not found in the archive' : 'the archive holds something other than a regular file there';
  }
  const hash = createHash('sha256');
  let size: number;
  let found: Extracted & { id?: Identity };
  try {
    let st = fs.fstatSync(fd, { bigint: true });
    if (!st.isFile()) return 'the archive holds something other than a regular file there';
    size = Number(st.size);
    found = { file, mode: Number(st.mode & 0o7777n), mtimeNs: st.mtimeNs };
    if (identify && e.sparse !== true && found.mode !== e.mode) {
      // 7-Zip gives each file the mode the archive records (extractSet's empty umask); where that
      // is not the manifest's (an archive without modes), the recorded mode is given here, beside
      // the extraction, rather than by a chmod when placing; before the file is identified.
      try {
        fs.fchmodSync(fd, e.mode);
        st = fs.fstatSync(fd, { bigint: true });
        found.mode = Number(st.mode & 0o7777n);
      } catch {
        // placeFile sets it
      }
    }
    if (e.sparse === true) {
      // Recorded with holes: copied while hashed, leaving every all-zero block out (a hole).
      const holes = writeWithHoles(fd, `${file}.${randomBytes(6).toString('hex')}.strata-holes`, hash);
      if (holes !== undefined) found = { file: holes, mode: -1, mtimeNs: -1n };
    } else {
      // One buffer for every file (a fresh one per file is garbage to collect; a stream costs a
      // Buffer and several promises per MiB), read synchronously. Each read asks for one byte more
      // than the fstat's size still to come, so a file that ends where fstat said ends with a short
      // read, not with a second read that returns nothing. Every 16 MiB the event loop gets a turn,
      // so 7-Zip's item lines are read meanwhile; each read is hashed before that turn: the shared
      // buffer is never held across it.
      let total = 0;
      for (let k = 1; ; k++) {
        const want = total <= size ? Math.min(READ_BUFFER.length, size - total + 1) : READ_BUFFER.length;
        const n = fs.readSync(fd, READ_BUFFER, 0, want, null);
        hash.update(READ_BUFFER.subarray(0, n));
        total += n;
        if (n < want && total === size) break;
        if (n === 0) break;
        if (k % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      size = total;
    }
    if (identify && found.file === file) {
      // Hashed while 7-Zip runs: identified as it was before it was read (after the chmod above).
      // Whatever changes it from then on, while it is read or until it is placed, changes its
      // ctime, and placing compares (restore/follow: take): no second fstat here.
      found.id = identityOf(st);
    }
  } finally {
    fs.closeSync(fd);
  }
  const sha = hash.digest('hex');
  const bad = sha !== e.sha256 || size !== e.size;
  // With holes written, only one of the two copies stays (the original takes full space).
  if (found.file !== file) fs.rmSync(bad ? found.file : file, { force: true });
  if (bad) return `SHA-256 mismatch (archive ${sha.slice(0, 12)}…, manifest ${(e.sha256 ?? '').slice(0, 12)}…)`;
  return found;
}

/** HOLE_BLOCK is the unit of zero detection when writing holes (the usual filesystem block). */
const HOLE_BLOCK = 4096;

const ZEROS = Buffer.alloc(1 << 20);

/**
 * writeWithHoles reads the file open at `fd` to its end, hashing it, and writes a copy at `out`
 * that skips every all-zero HOLE_BLOCK (left as a hole: the filesystem allocates nothing there), then
 * sets the copy's length. Returns `out`, or undefined when no block was all zeros (the original is
 * kept; the copy is removed).
 */
function writeWithHoles(fd: number, out: string, hash: ReturnType<typeof createHash>): string | undefined {
  const buf = Buffer.allocUnsafe(1 << 20);
  const wfd = fs.openSync(out, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  let pos = 0;
  let skipped = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      if (chunk.equals(ZEROS.subarray(0, n))) {
        skipped += n;
      } else {
        for (let o = 0; o < n; o += HOLE_BLOCK) {
          const len = Math.min(HOLE_BLOCK, n - o);
          const block = chunk.subarray(o, o + len);
          if (block.equals(ZEROS.subarray(0, len))) skipped += len;
          else fs.writeSync(wfd, block, 0, len, pos + o);
        }
      }
      pos += n;
    }
    fs.ftruncateSync(wfd, pos);
  } finally {
    fs.closeSync(wfd);
  }
  if (skipped < HOLE_BLOCK) {
    fs.rmSync(out, { force: true });
    return undefined;
  }
  return out;
}

/**
 * stagedFile gives the staging path of an extracted file, or undefined when a folder on its way
 * in staging is not a real folder. 7-Zip restores the links an archive holds (with -snld20 they may
 * point anywhere), and opening `link/file` would follow the link out of staging: a crafted set
 * could have restore hash and then move a file from outside the target into it. 7-Zip has exited
 * here, so nothing changes staging between these checks and the open. `checked` caches folders.
 */
export function stagedFile(out: string, rel: string, checked: Set<string>): string | undefined {
  for (const a of ancestors(rel)) {
    if (checked.has(a)) continue;
    const st = fs.lstatSync(path.join(out, a), { throwIfNoEntry: false });
    if (st === undefined) break; // not extracted: the open reports it as not found
    if (!st.isDirectory()) return undefined;
    checked.add(a);
  }
  return path.join(out, rel);
}
