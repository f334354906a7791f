/**
 * scan/statcache: what the last scan saw of each path (lstat fields and the file's SHA-256), so that
 * an unchanged file is not read again. The cache is a JSONL file in pathCompare order, read in step
 * with the walk (never loaded whole):
 *   line 1: {"strata":"statcache","version":1,"scanStartNs":"...","created":"..."}
 *   then:   {"p":"docs/a.txt","t":"f","s":12,"m":"<mtimeNs>","c":"<ctimeNs>","i":"<ino>","h":"<sha256>","a":1}
 * `t` is f (file), d (folder) or l (symlink); bigints are decimal strings; `a` marks paths the scan
 * put in the archive; `x` that the manifest entry holds the path's extended attributes for this ctime. Folders and links are kept
 * too, so the after-archive check knows what the scan saw of every archived path.
 * It is only a cache: anything unreadable or out of order just means "hash again".
 */
import { rename } from 'node:fs/promises';
import { pathCompare } from '../core/manifest.js';
import { LineReader, LineWriter, readLines } from '../io/lines.js';

/** RACY_MARGIN_NS is how close to the scan's start a file's mtime may be before its stat is not trusted
 * on the next run. 2 s covers the coarsest common timestamp granularity (FAT: 2 s; ext3/HFS+: 1 s;
 * ext4/xfs/btrfs stamp with the kernel's coarse clock, a jiffy of 1–10 ms), so a write that lands in the
 * same tick as the scan's read can never hide behind an identical stat. */
export const RACY_MARGIN_NS = 2_000_000_000n;

/** StatRecord is what the scan saw of one path. */
export interface StatRecord {
  path: string;
  type: 'f' | 'd' | 'l';
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  sha256?: string;
  /** Whether this scan put the path in the set's archive (the after-archive check looks at those). */
  archived?: boolean;
  /** Whether the manifest entry made with this stat holds the path's extended attributes as they were
   *  (read by that scan, or carried over with an unchanged ctime): if the ctime still matches, they
   *  need not be read again. */
  xattrs?: boolean;
}

interface StatCacheHeader {
  strata: 'statcache';
  version: 1;
  scanStartNs: string;
  created: string;
}

interface RecordJson {
  p: string;
  t: 'f' | 'd' | 'l';
  s: number;
  m: string;
  c: string;
  i: string;
  h?: string;
  a?: 1;
  x?: 1;
}

/** serializeStat renders one record as a cache line. */
export function serializeStat(r: StatRecord): string {
  const j: RecordJson = { p: r.path, t: r.type, s: r.size, m: r.mtimeNs.toString(), c: r.ctimeNs.toString(), i: r.ino.toString() };
  if (r.sha256 !== undefined) j.h = r.sha256;
  if (r.archived === true) j.a = 1;
  if (r.xattrs === true) j.x = 1;
  return JSON.stringify(j);
}

function parseStat(line: string): StatRecord | undefined {
  const o = JSON.parse(line) as Partial<RecordJson>;
  if (typeof o.p !== 'string' || (o.t !== 'f' && o.t !== 'd' && o.t !== 'l') || typeof o.s !== 'number' || typeof o.m !== 'string' || typeof o.c !== 'string' || typeof o.i !== 'string') {
    return undefined;
  }
  const r: StatRecord = { path: o.p, type: o.t, size: o.s, mtimeNs: BigInt(o.m), ctimeNs: BigInt(o.c), ino: BigInt(o.i) };
  if (typeof o.h === 'string') r.sha256 = o.h;
  if (o.a === 1) r.archived = true;
  if (o.x === 1) r.xattrs = true;
  return r;
}

/** CachedStat is a record as the cache holds it, with its line (written again as it is when nothing differs). */
export type CachedStat = StatRecord & { readonly line: string };

/** sameStat tells whether two records would be written as the same cache line (`archived` aside, when
 *  `butArchived`). */
export function sameStat(a: StatRecord, b: StatRecord, butArchived = false): boolean {
  return a.path === b.path && a.type === b.type && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino &&
    a.sha256 === b.sha256 && (butArchived || (a.archived === true) === (b.archived === true)) && (a.xattrs === true) === (b.xattrs === true);
}

/** The archived flag as serializeStat writes it: after the hash, before the xattrs flag or the end. */
const ARCHIVED = ',"a":1';

/**
 * unarchivedLine is the cached line of a path the previous set archived, without that flag, for a
 * record that is otherwise the same and not archived now: the first run after a set takes every
 * path it archived out of the archive list, and on a no-change run after a FULL set that is every
 * path (20,000 lines serialized again cost 30-70 ms). undefined when the line is not exactly in
 * serializeStat's form there: the flag once, right before `,"x":1}` or `}`. A `"` inside a JSON
 * string is always escaped, so the flag's text cannot come from the path.
 */
export function unarchivedLine(r: StatRecord, cached: CachedStat): string | undefined {
  if (cached.archived !== true || r.archived === true || !sameStat(r, cached, true)) return undefined;
  const line = cached.line;
  const at = line.indexOf(ARCHIVED);
  if (at < 0 || line.indexOf(ARCHIVED, at + 1) >= 0) return undefined;
  const rest = line.slice(at + ARCHIVED.length);
  if (rest !== (r.xattrs === true ? ',"x":1}' : '}')) return undefined;
  return line.slice(0, at) + rest;
}

/** STAT_FIELDS lists what sameStat compares: a field added to StatRecord must be added here, and to sameStat. */
export const STAT_FIELDS = ['path', 'type', 'size', 'mtimeNs', 'ctimeNs', 'ino', 'sha256', 'archived', 'xattrs'] as const satisfies readonly (keyof StatRecord)[];
type Unlisted = Exclude<keyof StatRecord, (typeof STAT_FIELDS)[number]>;
/** A compile error here names a StatRecord field that sameStat does not compare. */
export const STAT_FIELDS_COMPLETE: [Unlisted] extends [never] ? true : Unlisted = true;

/** statMatches tells whether a cached record still describes the file as lstat sees it now. */
export function statMatches(r: StatRecord, size: number, mtimeNs: bigint, ctimeNs: bigint, ino: bigint): boolean {
  return r.size === size && r.mtimeNs === mtimeNs && r.ctimeNs === ctimeNs && r.ino === ino;
}

/** StatCacheReader reads a cache in step with a walk: ask for paths in pathCompare order. */
export class StatCacheReader {
  /** scanStartNs is the filesystem time at the start of the scan that wrote the cache (-1 when unknown). */
  scanStartNs = -1n;
  private started = false;
  private readonly lines: Promise<LineReader | undefined>;
  private head: CachedStat | undefined;
  private ended = false;
  private last: string | undefined;

  constructor(file: string) {
    // It is only a cache: a file that cannot be opened reads as empty.
    this.lines = LineReader.open(file, true).catch(() => undefined);
  }

  /** next reads the next record: one await per path, straight from the line reader. A damaged or
   *  unsorted cache ends at the bad line (everything after it is simply hashed again). */
  private async next(): Promise<CachedStat | undefined> {
    if (this.ended) return undefined;
    try {
      const r = await this.lines;
      for (;;) {
        const line = r === undefined ? undefined : await r.next();
        if (line === undefined) break;
        if (!this.started) {
          this.started = true;
          const h = JSON.parse(line) as Partial<StatCacheHeader>;
          if (h.strata !== 'statcache' || h.version !== 1 || typeof h.scanStartNs !== 'string') break;
          this.scanStartNs = BigInt(h.scanStartNs);
          continue;
        }
        const rec = parseStat(line);
        if (rec === undefined || (this.last !== undefined && pathCompare(this.last, rec.path) >= 0)) break;
        this.last = rec.path;
        return Object.assign(rec, { line });
      }
    } catch {
      // unreadable: the end of the cache
    }
    await this.close();
    return undefined;
  }

  /** lookup returns the record for `path`, skipping records of paths that sort before it. */
  async lookup(path: string): Promise<CachedStat | undefined> {
    for (;;) {
      this.head ??= await this.next();
      const r = this.head;
      if (r === undefined) return undefined;
      const c = pathCompare(r.path, path);
      if (c > 0) return undefined;
      this.head = undefined;
      if (c === 0) return r;
    }
  }

  /** empty tells whether the cache has no record at all (none yet, or unreadable from its start). */
  async empty(): Promise<boolean> {
    this.head ??= await this.next();
    return this.head === undefined;
  }

  /** trusted tells whether a matching record may be believed without reading the file: not when the
   * file's mtime or ctime was within RACY_MARGIN_NS of that scan's start (a same-tick write would not
   * show). ctime counts too: a file with an old mtime (cp -p, rsync -t, a restore) rewritten in the
   * scan's tick with its mtime put back would otherwise match forever. */
  trusted(r: StatRecord): boolean {
    const limit = this.scanStartNs - RACY_MARGIN_NS;
    return this.scanStartNs >= 0n && r.mtimeNs < limit && r.ctimeNs < limit;
  }

  /** close stops reading early. */
  async close(): Promise<void> {
    this.ended = true;
    this.head = undefined;
    await (await this.lines)?.close();
  }
}

/** StatCacheWriter writes the new cache of a scan, next to the current one. */
export class StatCacheWriter {
  private constructor(
    private readonly w: LineWriter,
    /** scanStartNs is the filesystem's own time when the scan started (the new file's mtime). */
    readonly scanStartNs: bigint,
  ) {}

  /** create starts the new cache file; its mtime, set by the filesystem, is taken as the scan's start so
   * that the racy check compares file mtimes with the same clock that stamped them (not a pinned or skewed
   * process clock). */
  static async create(file: string, created: Date): Promise<StatCacheWriter> {
    const w = await LineWriter.create(file);
    const st = await w.handle.stat({ bigint: true });
    const header: StatCacheHeader = { strata: 'statcache', version: 1, scanStartNs: st.mtimeNs.toString(), created: created.toISOString() };
    await w.line(JSON.stringify(header));
    return new StatCacheWriter(w, st.mtimeNs);
  }

  /** add appends one record (callers add in pathCompare order); `cached`, the previous cache's record
   *  of the path, gives its line when the record is the same (most paths of a run, not serialized
   *  again), or when only its archived flag goes (unarchivedLine). */
  async add(r: StatRecord, cached?: CachedStat): Promise<void> {
    await this.w.line(cached === undefined ? serializeStat(r) : sameStat(r, cached) ? cached.line : (unarchivedLine(r, cached) ?? serializeStat(r)));
  }

  /** close makes the file durable. */
  async close(): Promise<void> {
    await this.w.close(true);
  }

  /** abandon closes without flushing. */
  async abandon(): Promise<void> {
    await this.w.abandon();
  }
}

/** mayBeArchived tells, without parsing, whether a cache line can be a record the scan archived: the
 *  flag's key is "a" between quotes, whatever the spacing around it, so a line without that is not
 *  archived. A line with it is parsed and checked (the path "a" has it too); a path cannot hide the
 *  flag, since inside a JSON string every quote is escaped. */
export function mayBeArchived(line: string): boolean {
  return line.includes('"a"');
}

/** readArchivedRecords streams the records of a cache file that the scan archived (header skipped;
 *  the others are not parsed: in a daily run they are nearly all of them). */
export async function* readArchivedRecords(file: string): AsyncGenerator<StatRecord> {
  const r = await LineReader.open(file);
  try {
    let first = true;
    for (let line = await r.next(); line !== undefined; line = await r.next()) {
      if (first) {
        first = false;
        continue;
      }
      if (!mayBeArchived(line)) continue;
      const rec = parseStat(line);
      if (rec?.archived === true) yield rec;
    }
  } finally {
    await r.close();
  }
}

/** readStatRecords streams the records of a cache file (header skipped). */
export async function* readStatRecords(file: string): AsyncGenerator<{ line: string; record: StatRecord | undefined; header: boolean }> {
  let first = true;
  for await (const line of readLines(file)) {
    if (first) {
      first = false;
      yield { line, record: undefined, header: true };
      continue;
    }
    yield { line, record: parseStat(line), header: false };
  }
}

/** commitStatCache makes the new cache current by an atomic rename. Call it only once the set is complete:
 * a run that crashes before leaves the old cache, which is still correct (the cache only saves reading). */
export async function commitStatCache(newStatCache: string, statCache: string): Promise<void> {
  await rename(newStatCache, statCache);
}
