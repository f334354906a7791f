/**
 * scan/scan: walk one source and decide, path by path, what this set must archive.
 *
 * The walk is depth-first and visits each folder's children sorted by nameCompare, which yields paths
 * in exactly pathCompare order, the order of manifests and stat caches. So the previous manifest and
 * the stat cache are read as streams and merge-joined with the walk: memory depends on the depth and
 * the widest folder, never on the number of files.
 */
import { readdir, readlink, rm, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import ignore, { type Ignore } from 'ignore';
import {
  nameCompare,
  sameContent,
  sameEntry,
  sameMetadata,
  sameXattrs,
  serializeDeleted,
  serializeEntry,
  type ManifestEntry,
} from '../core/manifest.js';
import { StrataError, errnoCode, errorMessage, fromFsError } from '../errors.js';
import { LineWriter, readLines } from '../io/lines.js';
import { ManifestReader } from '../io/manifest-reader.js';
import { StatCacheReader, StatCacheWriter, statMatches, type CachedStat, type StatRecord } from './statcache.js';
import { quoteDumpName } from '../core/xattrdump.js';
import { IdNames, readXattrs, xattrToolAvailable, type XattrReadResult } from './metadata.js';
import { hashFile, type HashOutcome } from './hash-file.js';
import { LSTAT_AHEAD, lstatOutcome, lstatOutcomeAsync, walkStatMode, type ScanStat, type StatMode, type StatOutcome } from './stat-ahead.js';
import { StatThread } from './stat-thread.js';

/** ScanOptions describes one scan of one source. */
export interface ScanOptions {
  /** The source folder. */
  root: string;
  /** gitignore-syntax patterns, relative to root. */
  excludes: string[];
  /** Paths relative to root left out whole, like excludes (scan/guard: the destination, the state folder, pseudo filesystems). */
  skip?: ReadonlySet<string>;
  /** full: every entry is archived in this set; incremental: only what changed since the previous set. */
  mode: 'full' | 'incremental';
  /** This set's id; written as `set` on every entry this set archives. */
  setId: string;
  /** The plaintext manifest (JSONL) of the previous complete set of this source, if there is one. */
  previousManifest?: string;
  /** This source's stat cache in the state dir (may not exist). */
  statCache: string;
  /** Receives the new manifest's entry and deletion lines, without the header. */
  outManifest: string;
  /** Receives the relative paths to archive, one per line (list-file-safe names only). */
  outArchiveList: string;
  /** Whether the archiver's list file can carry this path (from the 7-Zip driver). */
  isListFileSafe: (p: string) => boolean;
  now: () => Date;
  signal?: AbortSignal;
  onProgress?: (p: { files: number; bytes: number; path: string }) => void;
  /** How the walk calls lstat: `auto` (default) by the source's filesystem type, `ahead` (several
   *  in flight on the thread pool), `thread` (the stat thread, a chunk of names at a time) or
   *  `sync`. The results are the same; only the speed differs. */
  statMode?: StatMode;
}

/** ScanError is one path the scan could not take as it is; the caller reports a partial backup. */
export interface ScanError {
  path: string;
  message: string;
}

/** ScanResult counts what a scan found. Classification counts are disjoint: every live path is exactly
 * one of added, modified, metadataOnly, unchanged (or is in errors). */
export interface ScanResult {
  added: number;
  modified: number;
  deleted: number;
  unchanged: number;
  /** Same contents, other mtime or mode: not archived again (restore sets metadata from the manifest). */
  metadataOnly: number;
  /** Paths this set archives (list file plus extraPaths): files, symlinks and empty folders. */
  filesToArchive: number;
  bytesToArchive: number;
  /** Entries (files, folders, symlinks) in the new manifest. */
  totalFiles: number;
  /** Bytes of all files in the new manifest. */
  totalBytes: number;
  /** Files read and hashed by this scan (0 when nothing changed and the cache is trusted). */
  hashedFiles: number;
  /** Paths to archive that the list file cannot carry; the archiver must add them another way. */
  extraPaths: string[];
  errors: ScanError[];
  /** The new stat cache; make it current with commitStatCache() once the set is complete. */
  newStatCache: string;
  /** Files recorded as hard links to a file earlier in the walk (their bytes are archived once). */
  hardLinks: number;
  /** False when extended attributes and ACLs could not be recorded because getfattr is missing. */
  xattrsRecorded: boolean;
  /** The sets named by the new manifest's file and symlink entries (whose archives hold their bytes). */
  sets: string[];
}

/** newStatCachePath is where a scan writes the next stat cache (same folder, for an atomic rename). */
export function newStatCachePath(statCache: string): string {
  return `${statCache}.new`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8');

function decodeName(b: Buffer): string | undefined {
  try {
    return utf8.decode(b);
  } catch {
    return undefined;
  }
}

function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

/** Queued is a manifest line (and its stat cache record) held back until its extended attributes are read. */
interface Queued {
  e: ManifestEntry;
  rec?: StatRecord;
  /** The previous cache's record of the path (its line is written again if rec turns out the same). */
  cached?: CachedStat;
  /** The previous manifest's entry of the path and its line (written again if e turns out the same). */
  prev?: { entry: ManifestEntry; line: string };
  /** Read this path's attributes (its ctime moved, or nothing is known of them). */
  probe: boolean;
  /** Counted as unchanged: becomes metadataOnly if the attributes turn out to differ from prevX. */
  unchanged: boolean;
  prevX?: Record<string, string>;
}

/** Names per request to the stat thread, and requests in flight ahead of the visit (scan/stat-thread). */
const THREAD_CHUNK = 256;
const THREAD_CHUNKS = 4;

/** Lines held back at most before the attributes of the probed ones are read in one getfattr run. */
const QUEUE_MAX = 4096;

/** Excluder matches gitignore-style excludes. The `ignore` package memoizes every path it is asked
 * about (and its parents) for the life of the instance, which would grow with the number of files;
 * the walk never asks about anything inside an excluded folder, so that memo buys nothing here and the
 * matcher is simply rebuilt every few thousand paths to keep memory flat. */
class Excluder {
  private ig: Ignore;
  private asked = 0;

  constructor(private readonly patterns: string[]) {
    this.ig = ignore({ ignorecase: false }).add(patterns);
  }

  excluded(rel: string, isDir: boolean): boolean {
    if (this.patterns.length === 0) return false;
    if (++this.asked % 4096 === 0) this.ig = ignore({ ignorecase: false }).add(this.patterns);
    return this.ig.ignores(isDir ? `${rel}/` : rel);
  }
}

/** Scanner holds the state of one scan; scanSource() is its only user. */
class Scanner {
  readonly result: ScanResult;
  private readonly excluder: Excluder;
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private seenFiles = 0;
  private seenBytes = 0;
  private queue: Queued[] = [];
  private probes = 0;
  /** The batch whose attributes getfattr is reading, then its lines written (flush). */
  private pending: Promise<void> | undefined;
  /** dev:ino → the first path of a hard-link group seen in this walk, its hash and the set holding it. */
  private readonly links = new Map<string, { path: string; sha256: string; set: string | undefined }>();
  private readonly names = new IdNames();
  /** The sets the written entries name (ScanResult.sets, filled in at the end). */
  readonly sets = new Set<string>();

  constructor(
    private readonly opts: ScanOptions,
    private readonly rootAbs: string,
    private readonly prev: ManifestReader,
    private readonly cache: StatCacheReader,
    private readonly cacheOut: StatCacheWriter,
    private readonly manifestOut: LineWriter,
    private readonly deletedOut: LineWriter,
    private readonly listOut: LineWriter,
    newStatCache: string,
    /** lstat runs ahead on the thread pool (network filesystems), else synchronously. */
    private readonly statAhead: boolean,
    /** The stat thread, when it makes the walk's lstat calls (local filesystems). */
    private readonly statThread: StatThread | undefined,
    /** The stat thread hashes the small files it stats too: there is no stat cache, so every file is read. */
    private readonly hashAhead: boolean,
    /** Extended attributes are read (getfattr is installed). */
    private readonly xattrs: boolean,
  ) {
    this.excluder = new Excluder(opts.excludes);
    this.result = {
      added: 0, modified: 0, deleted: 0, unchanged: 0, metadataOnly: 0, filesToArchive: 0, bytesToArchive: 0,
      totalFiles: 0, totalBytes: 0, hashedFiles: 0, extraPaths: [], errors: [], newStatCache, hardLinks: 0, xattrsRecorded: xattrs, sets: [],
    };
  }

  private excluded(rel: string, isDir: boolean): boolean {
    if (this.opts.skip?.has(rel) === true) return true;
    return this.excluder.excluded(rel, isDir);
  }

  private checkAbort(): void {
    if (this.opts.signal?.aborted === true) throw new StrataError('CANCELLED', 'the scan was cancelled');
  }

  /** gone records a path of the previous set that no longer exists (or is now excluded). */
  readonly gone = async (e: ManifestEntry): Promise<void> => {
    this.result.deleted++;
    if (this.opts.mode === 'incremental') await this.deletedOut.line(serializeDeleted(e.path));
  };

  /** keep carries a previous entry over unchanged: its bytes stay restorable from the set that has them. */
  private readonly keep = async (e: ManifestEntry): Promise<void> => {
    await this.writeEntry(e);
  };

  private async writeEntry(e: ManifestEntry, q: Omit<Queued, 'e'> = { probe: false, unchanged: false }): Promise<void> {
    this.result.totalFiles++;
    if (e.type === 'file') this.result.totalBytes += e.size;
    if (e.set !== undefined && e.type !== 'dir') this.sets.add(e.set);
    if (!q.probe && this.probes === 0 && this.pending === undefined) {
      // Nothing held back waits for getfattr: the lines go out now, in order, instead of living
      // through thousands of later paths (issue 11: held, they reach the old generation of the
      // heap as garbage; at a million unchanged files that was the run's peak memory). The queue is
      // empty here: paths are queued only while a probe is queued or a batch is in flight.
      await this.write({ e, ...q });
      return;
    }
    this.queue.push({ e, ...q });
    if (q.probe) this.probes++;
    if (this.queue.length >= QUEUE_MAX) await this.flush();
  }

  /** write writes one path's manifest line and stat cache record. */
  private async write(q: Queued): Promise<void> {
    await this.manifestOut.line(q.prev !== undefined && sameEntry(q.prev.entry, q.e) ? q.prev.line : serializeEntry(q.e));
    if (q.rec !== undefined) await this.cacheOut.add(q.rec, q.cached);
  }

  /** flush hands the queued paths on. Their attributes, where needed, are read by one getfattr run
   *  for thousands of paths while the walk goes on (another process: the second core), and their
   *  manifest lines and stat cache records are written at the next flush or at settle(), after the
   *  batch before: one batch in flight, every line in order. */
  async flush(): Promise<void> {
    const queue = this.queue;
    this.queue = [];
    const probes = this.probes;
    this.probes = 0;
    await this.settle();
    if (probes === 0) {
      for (const q of queue) await this.write(q);
      return;
    }
    const probed = queue.filter((q) => q.probe);
    const batch = readXattrs(this.rootAbs, probed.map((q) => q.e.path), this.opts.signal).then(async (got) => {
      this.applyXattrs(probed, got);
      for (const q of queue) await this.write(q);
    });
    batch.catch(() => undefined); // awaited by settle(); never an unhandled rejection meanwhile
    this.pending = batch;
  }

  /** settle waits until the batch in flight (if any) is written; its getfattr's failure is thrown here. */
  async settle(): Promise<void> {
    const p = this.pending;
    this.pending = undefined;
    if (p !== undefined) await p;
  }

  /** applyXattrs records what getfattr read for the probed paths of one batch. */
  private applyXattrs(probed: readonly Queued[], got: XattrReadResult): void {
    const failed = new Set<string>();
    for (const line of got.errors) {
      // getfattr: NAME: message — the name as getfattr quotes it.
      const q = probed.find((p) => line.startsWith(`getfattr: ${quoteDumpName(p.e.path)}: `));
      if (q !== undefined) failed.add(q.e.path);
      this.result.errors.push({ path: q?.e.path ?? '(extended attributes)', message: `cannot read extended attributes/ACLs: ${line}` });
    }
    for (const q of probed) {
      const x = got.xattrs.get(q.e.path);
      if (x !== undefined) q.e.xattrs = x;
      else delete q.e.xattrs;
      if (q.rec !== undefined) q.rec.xattrs = !failed.has(q.e.path);
      if (q.unchanged && !sameXattrs(q.prevX, q.e.xattrs)) {
        this.result.unchanged--;
        this.result.metadataOnly++;
      }
    }
  }

  /** fail reports a path that cannot be backed up as it is now; the previous entry (and, for a folder,
   * everything the previous set had below it) stays in the manifest. */
  private async fail(rel: string, message: string, prevEntry: ManifestEntry | undefined, subtree: boolean): Promise<void> {
    this.result.errors.push({ path: rel, message });
    if (prevEntry !== undefined) await this.keep(prevEntry);
    if (subtree) await this.prev.under(rel, this.keep);
  }

  async walk(abs: string, rel: string, children: Buffer[]): Promise<void> {
    const named: string[] = [];
    for (const raw of children) {
      const name = decodeName(raw);
      if (name === undefined) {
        // Manifests are JSON (UTF-8): such a name cannot be recorded, so it is reported, not dropped silently.
        this.result.errors.push({ path: join(rel, lossy.decode(raw)), message: 'skipped: the name is not valid UTF-8 and cannot be recorded' });
        continue;
      }
      named.push(name);
    }
    named.sort(nameCompare);
    if (this.statThread !== undefined) {
      await this.walkThreaded(abs, rel, named, this.statThread);
      return;
    }
    // lstat runs a few names ahead of the visit (the thread pool overlaps the syscalls); results are
    // still consumed strictly in order, so the merge-joins see pathCompare order.
    const ahead: (Promise<StatOutcome> | undefined)[] = [];
    const start = (i: number): void => {
      const name = named[i];
      if (name !== undefined) ahead[i] = lstatOutcomeAsync(`${abs}/${name}`);
    };
    const window = this.statAhead ? LSTAT_AHEAD : 0;
    for (let i = 0; i < window; i++) start(i);
    for (let i = 0; i < named.length; i++) {
      this.checkAbort();
      if (window > 0) start(i + window);
      const name = named[i] ?? '';
      const pre = ahead[i];
      ahead[i] = undefined; // keep only the window alive, not the whole folder's results
      await this.visit(`${abs}/${name}`, join(rel, name), pre);
    }
  }

  /** walkThreaded visits a folder's sorted names with their lstat from the stat thread: a chunk of
   *  names at a time, THREAD_CHUNKS chunks ahead of the visit (at most that many outcomes held). A
   *  chunk due before the thread is ready is stat'ed by visit() itself. */
  private async walkThreaded(abs: string, rel: string, named: readonly string[], thread: StatThread): Promise<void> {
    const chunks: (Promise<StatOutcome[]> | undefined)[] = [];
    const ask = (c: number): void => {
      if (!thread.ready) return;
      const names = named.slice(c * THREAD_CHUNK, (c + 1) * THREAD_CHUNK);
      if (names.length === 0) return;
      // Without a stat cache every file is read: the thread reads the small ones (not excluded)
      // right after their lstat, on the other core.
      const hash = this.hashAhead ? names.map((n) => !this.excluded(join(rel, n), false)) : undefined;
      const p = thread.stat(abs, names, hash);
      p.catch(() => undefined); // awaited in turn below; never an unhandled rejection meanwhile
      chunks[c] = p;
    };
    let got: StatOutcome[] = [];
    for (let i = 0; i < named.length; i++) {
      this.checkAbort();
      if (i % THREAD_CHUNK === 0) {
        const c = i / THREAD_CHUNK;
        for (let k = c; k <= c + THREAD_CHUNKS; k++) if (chunks[k] === undefined) ask(k);
        got = (await chunks[c]) ?? [];
        chunks[c] = undefined;
      }
      const name = named[i] ?? '';
      await this.visit(`${abs}/${name}`, join(rel, name), got[i % THREAD_CHUNK]);
    }
  }

  private async visit(abs: string, rel: string, pre: Promise<StatOutcome> | StatOutcome | undefined): Promise<void> {
    let st: ScanStat;
    let hashed: HashOutcome | undefined;
    try {
      const got = pre !== undefined ? (pre instanceof Promise ? await pre : pre) : this.statAhead ? await lstatOutcomeAsync(abs) : lstatOutcome(abs);
      if ('err' in got) throw got.err;
      st = got.st;
      hashed = 'hash' in got ? got.hash : undefined;
    } catch (e) {
      const code = errnoCode(e);
      // Exclusion is decided before anything else about a path, so an excluded path never shows up in errors.
      if (this.excluded(rel, false) && this.excluded(rel, true)) return;
      const prevEntry = await this.prev.until(rel, this.gone);
      if (code === 'ENOENT') {
        // Deleted between readdir and lstat: it is simply gone.
        if (prevEntry !== undefined) await this.gone(prevEntry);
        if (prevEntry?.type === 'dir') await this.prev.under(rel, this.gone);
        return;
      }
      await this.fail(rel, `cannot read metadata: ${errorMessage(e)}`, prevEntry, prevEntry?.type === 'dir');
      return;
    }
    const isDir = st.isDirectory();
    if (this.excluded(rel, isDir)) return;
    const prevEntry = await this.prev.until(rel, this.gone);
    const prevLine = this.prev.lastLine;
    const cached = await this.cache.lookup(rel);
    const mode = Number(st.mode & 0o7777n);
    this.seenFiles++;

    if (st.isFile()) {
      const size = Number(st.size);
      this.seenBytes += size;
      // A later member of a hard-link group: same bytes as the first one, which the archive holds.
      const linkKey = st.nlink > 1n ? `${st.dev}:${st.ino}` : undefined;
      const first = linkKey === undefined ? undefined : this.links.get(linkKey);
      if (first !== undefined) {
        this.result.hardLinks++;
        await this.emit({ path: rel, type: 'file', size, mtimeNs: st.mtimeNs, mode, sha256: first.sha256, link: first.path, ...(first.set !== undefined ? { set: first.set } : {}) }, prevEntry, st, false, cached, prevLine);
        this.opts.onProgress?.({ files: this.seenFiles, bytes: this.seenBytes, path: rel });
        return;
      }
      let sha256: string;
      if (cached !== undefined && cached.type === 'f' && cached.sha256 !== undefined && statMatches(cached, size, st.mtimeNs, st.ctimeNs, st.ino) && this.cache.trusted(cached)) {
        sha256 = cached.sha256;
      } else {
        const h = hashed ?? (await hashFile(abs, st, this.buf));
        this.result.hashedFiles++;
        if (!h.ok) {
          await this.fail(rel, h.message, prevEntry, false);
          return;
        }
        sha256 = h.sha256;
      }
      const e: ManifestEntry = { path: rel, type: 'file', size, mtimeNs: st.mtimeNs, mode, sha256 };
      // Holes: at least one block fewer allocated than the size needs (restore writes zero blocks as holes).
      if (st.blocks * 512n + 4096n <= st.size) e.sparse = true;
      await this.emit(e, prevEntry, st, false, cached, prevLine);
      if (linkKey !== undefined) this.links.set(linkKey, { path: rel, sha256, set: e.set });
    } else if (st.isSymbolicLink()) {
      let target: string | undefined;
      try {
        target = decodeName(await readlink(abs, { encoding: 'buffer' }));
      } catch (e) {
        await this.fail(rel, `cannot read the link: ${errorMessage(e)}`, prevEntry, false);
        return;
      }
      if (target === undefined) {
        await this.fail(rel, 'skipped: the link target is not valid UTF-8 and cannot be recorded', prevEntry, false);
        return;
      }
      await this.emit({ path: rel, type: 'symlink', size: 0, mtimeNs: st.mtimeNs, mode, target }, prevEntry, st, false, cached, prevLine);
    } else if (isDir) {
      let children: Buffer[];
      try {
        children = await readdir(abs, { encoding: 'buffer' });
      } catch (e) {
        await this.fail(rel, `cannot list the folder: ${errorMessage(e)}`, prevEntry, true);
        return;
      }
      // Non-empty folders are never put in the archive list: 7-Zip would recurse into them and take
      // excluded and unchanged files along. Their files are listed one by one instead.
      await this.emit({ path: rel, type: 'dir', size: 0, mtimeNs: st.mtimeNs, mode }, prevEntry, st, children.length === 0, cached, prevLine);
      // Whatever the previous set had below a path that is no longer a folder is handled by until():
      // those paths sort right after it and are consumed as gone by the next visit.
      await this.walk(abs, rel, children);
    } else {
      const kind = st.isFIFO() ? 'FIFO' : st.isSocket() ? 'socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'device' : 'special file';
      await this.fail(rel, `skipped: unsupported file type (${kind})`, prevEntry, false);
    }
    this.opts.onProgress?.({ files: this.seenFiles, bytes: this.seenBytes, path: rel });
  }

  /** emit classifies one live entry against the previous set and writes the manifest, list and cache lines. */
  private async emit(e: ManifestEntry, prevEntry: ManifestEntry | undefined, st: ScanStat, emptyDir: boolean, cached: CachedStat | undefined, prevLine: string): Promise<void> {
    const r = this.result;
    let probe = false;
    e.uid = Number(st.uid);
    e.gid = Number(st.gid);
    const user = this.names.user(e.uid);
    const group = this.names.group(e.gid);
    if (user !== undefined) e.user = user;
    if (group !== undefined) e.group = group;
    // Setting an xattr or an ACL changes the ctime: with the same ctime as when they were last
    // read, the previous entry's attributes still hold.
    if (this.xattrs) {
      const known = prevEntry !== undefined && cached?.xattrs === true && statMatches(cached, Number(st.size), st.mtimeNs, st.ctimeNs, st.ino) && this.cache.trusted(cached);
      // Probed paths keep the previous attributes until flush() has read them (for the counts below).
      if (prevEntry?.xattrs !== undefined) e.xattrs = prevEntry.xattrs;
      probe = !known;
    }
    let changed = true;
    let unchanged = false;
    if (prevEntry === undefined) r.added++;
    else if (!sameContent(prevEntry, e)) r.modified++;
    else {
      changed = false;
      unchanged = sameMetadata(prevEntry, e);
      if (unchanged) r.unchanged++;
      else r.metadataOnly++;
    }
    let archive: boolean;
    if (e.link !== undefined) {
      archive = false; // its bytes are the first member's (e.set already names the set holding them)
    } else if (this.opts.mode === 'full' || changed || prevEntry?.set === undefined) {
      e.set = this.opts.setId;
      archive = e.type !== 'dir' || emptyDir;
    } else {
      e.set = prevEntry.set;
      archive = false;
    }
    const rec: StatRecord = {
      path: e.path, type: e.type === 'file' ? 'f' : e.type === 'dir' ? 'd' : 'l', size: Number(st.size),
      mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, ino: st.ino, archived: archive,
    };
    if (e.sha256 !== undefined) rec.sha256 = e.sha256;
    if (this.xattrs && !probe) rec.xattrs = true;
    await this.writeEntry(e, { rec, probe, unchanged, ...(cached !== undefined ? { cached } : {}), ...(prevEntry !== undefined ? { prev: { entry: prevEntry, line: prevLine } } : {}), ...(prevEntry?.xattrs !== undefined ? { prevX: prevEntry.xattrs } : {}) });
    if (archive) {
      r.filesToArchive++;
      r.bytesToArchive += e.size;
      if (this.opts.isListFileSafe(e.path)) await this.listOut.line(e.path);
      else r.extraPaths.push(e.path);
    }
  }
}

/**
 * scanSource walks a source, compares it with the previous complete set and writes this set's manifest
 * lines (entries, then deletions for an INCR set), its archive list and a new stat cache. Unreadable
 * paths and paths that change while read are reported in `errors` and keep their previous entry.
 */
export async function scanSource(opts: ScanOptions): Promise<ScanResult> {
  const rootAbs = nodePath.resolve(opts.root);
  try {
    const st = await stat(rootAbs);
    if (!st.isDirectory()) {
      throw new StrataError('USAGE', `source ${rootAbs} is not a folder`, { hint: 'Point the source at a folder.' });
    }
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      throw new StrataError('NOT_FOUND', `source folder ${rootAbs} does not exist`, { hint: 'Check the source path in the config (is the drive mounted?).', cause: e });
    }
    throw fromFsError(e, `reading source ${rootAbs}`);
  }
  let rootChildren: Buffer[];
  try {
    rootChildren = await readdir(rootAbs, { encoding: 'buffer' });
  } catch (e) {
    throw fromFsError(e, `listing source ${rootAbs}`);
  }

  const newStatCache = newStatCachePath(opts.statCache);
  const deletedTmp = `${opts.outManifest}.deleted`;
  const prev = new ManifestReader(opts.previousManifest);
  const cache = new StatCacheReader(opts.statCache);
  const writers: (LineWriter | StatCacheWriter)[] = [];
  let scanner: Scanner | undefined;
  let statThread: StatThread | undefined;
  try {
    const cacheOut = await StatCacheWriter.create(newStatCache, opts.now());
    writers.push(cacheOut);
    const manifestOut = await LineWriter.create(opts.outManifest);
    writers.push(manifestOut);
    const deletedOut = await LineWriter.create(deletedTmp);
    writers.push(deletedOut);
    const listOut = await LineWriter.create(opts.outArchiveList);
    writers.push(listOut);
    // Both are asked at once: getfattr's start (a child process) and the filesystem's type.
    const [xattrs, statMode] = await Promise.all([xattrToolAvailable(), walkStatMode(rootAbs, opts.statMode ?? 'auto')]);
    if (statMode === 'thread') {
      statThread = new StatThread();
      // Asked for by name, the thread makes every call (auto: the walk makes them itself until it is up).
      if (opts.statMode === 'thread') await statThread.started;
    }
    const s = new Scanner(opts, rootAbs, prev, cache, cacheOut, manifestOut, deletedOut, listOut, newStatCache, statMode === 'ahead', statThread, statThread !== undefined && (await cache.empty()), xattrs);
    scanner = s;
    await s.walk(rootAbs, '', rootChildren);
    await s.flush();
    await s.settle();
    await prev.rest(s.gone);
    s.result.sets = [...s.sets].sort();
    // Deletions follow the live entries in a manifest; they were collected aside in path order.
    await deletedOut.close();
    for await (const line of readLines(deletedTmp)) await manifestOut.line(line);
    // The three files are made durable at once (their fsyncs overlap on the thread pool).
    const closed = await Promise.allSettled([manifestOut.close(true), listOut.close(true), cacheOut.close()]);
    for (const c of closed) if (c.status === 'rejected') throw c.reason;
    return s.result;
  } catch (e) {
    // A batch still being written must be done with the files before they are closed.
    await scanner?.settle().catch(() => undefined);
    for (const w of writers) await w.abandon();
    await rm(newStatCache, { force: true });
    throw e;
  } finally {
    await statThread?.close();
    await prev.close();
    await cache.close();
    await rm(deletedTmp, { force: true });
  }
}
