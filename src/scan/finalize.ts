/**
 * scan/finalize: the check after 7-Zip has read the files. A scan hashes a file, then the archiver reads
 * it again later; if the file changed in between, the archive may hold bytes that do not match the
 * manifest. Every archived path is lstat'ed again and compared with what the scan recorded in the new
 * stat cache; a path that moved on is taken back out of this set.
 */
import { rename, rm } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { parseLine, serializeEntry } from '../core/manifest.js';
import { StrataError, errnoCode, errorMessage } from '../errors.js';
import { LineWriter, readLines } from '../io/lines.js';
import { ManifestReader } from '../io/manifest-reader.js';
import type { ScanError } from './scan.js';
import { lstatOutcome, lstatOutcomeAsync, walkStatMode, type ScanStat, type StatMode, type StatOutcome } from './stat-ahead.js';
import { StatThread } from './stat-thread.js';
import { readArchivedRecords, readStatRecords, statMatches, type StatRecord } from './statcache.js';

/** FinalizeOptions names the files of one scan that the check reads and may rewrite. */
export interface FinalizeOptions {
  /** The source folder that was scanned. */
  root: string;
  /** The manifest lines scanSource() wrote (its outManifest, no header); rewritten in place when needed. */
  manifest: string;
  /** The same previous manifest the scan was given. */
  previousManifest?: string;
  /** ScanResult.newStatCache; rewritten in place when needed (before commitStatCache()). */
  newStatCache: string;
  signal?: AbortSignal;
  /** As ScanOptions.statMode. */
  statMode?: StatMode;
}

/** FinalizeResult lists the paths that changed while the set was being made. */
export interface FinalizeResult {
  /** One error per changed path, for the caller's partial-backup report. */
  errors: ScanError[];
  /** The same paths, in pathCompare order. The scan's counts still include them. */
  reverted: string[];
}

/** Paths checked synchronously before the stat thread is started (a worker costs tens of ms to start),
 *  paths per request to it, and requests in flight. */
const THREAD_AFTER = 4096;
const THREAD_BATCH = 256;
const THREAD_AHEAD = 4;

function sameStat(st: ScanStat, size: number, mtimeNs: bigint, ctimeNs: bigint, ino: bigint): boolean {
  return statMatches({ path: '', type: 'f', size, mtimeNs, ctimeNs, ino }, Number(st.size), st.mtimeNs, st.ctimeNs, st.ino);
}

/**
 * finalizeAfterArchive re-lstats every path the scan archived (call it after the archiver has read them
 * all, before the manifest is encrypted and uploaded). A path whose size, mtime, ctime or inode moved on
 * changed during the backup: in the manifest it reverts to the previous set's entry (still restorable
 * from there) or is dropped if it is new; its stat cache record is dropped so the next run reads it
 * again; and it is returned as an error. The archive may still hold the newer bytes: the manifest, not
 * the archive, says what a set holds.
 */
export async function finalizeAfterArchive(opts: FinalizeOptions): Promise<FinalizeResult> {
  const root = nodePath.resolve(opts.root);
  const reverted: string[] = [];
  const errors: ScanError[] = [];
  const judge = (record: StatRecord, got: StatOutcome): void => {
    let now: ScanStat | undefined;
    if ('err' in got) {
      if (errnoCode(got.err) !== 'ENOENT') throw new StrataError('BACKEND', `cannot check ${record.path} after archiving: ${errorMessage(got.err)}`, { cause: got.err });
    } else now = got.st;
    if (now !== undefined && sameStat(now, record.size, record.mtimeNs, record.ctimeNs, record.ino)) return;
    reverted.push(record.path);
    errors.push({ path: record.path, message: now === undefined ? 'deleted while the backup was running; it is left out of this set' : 'changed while the backup was running; it is left out of this set and will be backed up next run' });
  };
  // lstat as the scan makes it (scan/stat-ahead): ahead on the thread pool on network filesystems;
  // on local ones synchronously, and past THREAD_AFTER paths on the stat thread, a chunk of paths
  // at a time, while this thread compares.
  const mode = await walkStatMode(root, opts.statMode ?? 'auto');
  let thread: StatThread | undefined;
  const inFlight: { records: StatRecord[]; got: Promise<StatOutcome[]> }[] = [];
  let batch: StatRecord[] = [];
  const send = (t: StatThread): void => {
    const got = t.stat(root, batch.map((r) => r.path));
    got.catch(() => undefined); // awaited in turn by drain(); never an unhandled rejection meanwhile
    inFlight.push({ records: batch, got });
    batch = [];
  };
  const drain = async (): Promise<void> => {
    const b = inFlight.shift();
    if (b === undefined) return;
    const got = await b.got;
    b.records.forEach((r, i) => judge(r, got[i] ?? { err: new StrataError('INTERNAL', `no lstat of ${r.path} from the stat thread`) }));
  };
  try {
    let n = 0;
    for await (const record of readArchivedRecords(opts.newStatCache)) {
      if (opts.signal?.aborted === true) throw new StrataError('CANCELLED', 'the backup was cancelled');
      const abs = `${root}/${record.path}`;
      if (mode === 'ahead') judge(record, await lstatOutcomeAsync(abs));
      else if (mode === 'sync' || ++n <= THREAD_AFTER) judge(record, lstatOutcome(abs));
      else {
        thread ??= new StatThread();
        batch.push(record);
        if (batch.length === THREAD_BATCH) send(thread);
        if (inFlight.length > THREAD_AHEAD) await drain();
      }
    }
    if (thread !== undefined && batch.length > 0) send(thread);
    while (inFlight.length > 0) await drain();
  } finally {
    await thread?.close();
  }
  if (reverted.length === 0) return { errors, reverted };

  // Both files are in pathCompare order, as is `reverted`: one pointer walks it alongside each.
  const manifestTmp = `${opts.manifest}.tmp`;
  const prev = new ManifestReader(opts.previousManifest);
  const out = await LineWriter.create(manifestTmp);
  // A hard link to a reverted file would name bytes the set does not hold: it reverts with it
  // (its first member sorts before it, so it is known by then).
  const revertedSet = new Set(reverted);
  try {
    let i = 0;
    for await (const line of readLines(opts.manifest)) {
      const parsed = parseLine(line);
      const viaLink = parsed.kind === 'entry' && parsed.entry.link !== undefined && revertedSet.has(parsed.entry.link);
      if (parsed.kind === 'entry' && (parsed.entry.path === reverted[i] || viaLink)) {
        if (parsed.entry.path === reverted[i]) i++;
        else {
          revertedSet.add(parsed.entry.path);
          errors.push({ path: parsed.entry.path, message: `a hard link to ${parsed.entry.link ?? ''}, which changed while the backup was running; it is left out of this set` });
        }
        const before = await prev.until(parsed.entry.path, async () => undefined);
        if (before !== undefined) await out.line(serializeEntry(before));
        continue;
      }
      await out.line(line);
    }
    await out.close(true);
    await rename(manifestTmp, opts.manifest);
  } catch (e) {
    await out.abandon();
    await rm(manifestTmp, { force: true });
    throw e;
  } finally {
    await prev.close();
  }

  const cacheTmp = `${opts.newStatCache}.tmp`;
  const cacheOut = await LineWriter.create(cacheTmp);
  try {
    let i = 0;
    for await (const { line, record } of readStatRecords(opts.newStatCache)) {
      if (record !== undefined && record.path === reverted[i]) {
        i++;
        continue;
      }
      await cacheOut.line(line);
    }
    await cacheOut.close(true);
    await rename(cacheTmp, opts.newStatCache);
  } catch (e) {
    await cacheOut.abandon();
    await rm(cacheTmp, { force: true });
    throw e;
  }
  return { errors, reverted };
}
