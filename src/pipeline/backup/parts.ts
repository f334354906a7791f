/**
 * pipeline/backup/parts: a set written as several archives at once (core/parts, issue 11). The
 * probe (archive/probe) sends the files that do not compress to a stored archive; the rest is
 * split by bytes into one or two LZMA2 archives; every 7-Zip process runs at the same time, so
 * both cores work and no time goes to compressing media. Each part is a standard split 7-Zip
 * archive (AES-256, encrypted headers) that stock 7zz extracts on its own (RESTORE.txt).
 *
 * Only sets that are staged whole take this path (estimated size ≤ protection.directMaxBytes: one
 * PAR2 unit over every volume, made at the end): larger sets stream their one archive while 7-Zip
 * writes (volume-stream). The set is journaled only once every 7-Zip process has finished, so a
 * crash or failure while any part is being written leaves no journal: the set starts over, and a
 * half-written set never counts as complete. From the journal on, a resume completes it as any
 * other (uploads, PAR2 over the flat list of volumes: parity.ts). A part's volumes are stored as soon as
 * that part is written, while the others are still being written (objects stored before the
 * journal exists are debris if the run dies, removed by the next run as for a streamed set).
 */
import * as path from 'node:path';
import { probeFiles } from '../../archive/probe.js';
import { defaultProbePolicy } from '../../core/compressibility.js';
import { partArchiveName } from '../../core/keys.js';
import { defaultRoutePolicy, route, type Routing, type SetPart } from '../../core/parts.js';
import { formatSize } from '../../core/size.js';
import { counted } from '../../core/words.js';
import { StrataError, isStrataError } from '../../errors.js';
import { hashFile } from '../../io/hash.js';
import { LineWriter, readLines } from '../../io/lines.js';
import { readEntries } from '../manifests.js';
import { Journal, type JournalObject } from './journal.js';
import { completeArchive } from './parity.js';
import type { ScanOutput } from './scan.js';
import type { Lap, SetInProgress } from './set.js';
import type { ArchiveResult } from './types.js';

/**
 * routeParts plans the set's archives, or returns null when the set stays one archive (the
 * streaming path): routing off, level 0 (Copy: nothing to route), a small set, a set that streams, or nothing to route. It reads the
 * archive list and the scan's entries side by side (the scan writes both in the same order) and
 * keeps a size per path, not the paths; the files large enough are probed (archive/probe).
 */
export async function routeParts(set: SetInProgress, scanned: ScanOutput): Promise<Routing | null> {
  const policy = set.req.config.routing ?? defaultRoutePolicy;
  const { scan } = scanned;
  // Level 0 stores everything already: a stored part would be the same archive, split for nothing.
  if (!policy.enabled || set.archive.level === 0 || scan.bytesToArchive < policy.minBytes || scan.bytesToArchive > set.req.config.protection.directMaxBytes) return null;
  const sizes: number[] = [];
  const candidates: { i: number; path: string; size: number }[] = [];
  const entries = readEntries(scanned.entriesFile)[Symbol.asyncIterator]();
  let exhausted = false;
  for await (const line of readLines(scanned.listFile)) {
    if (line === '') continue;
    let size = 0;
    // The entries file lists every path the list does, in the same order, and more (unchanged files, folders).
    while (!exhausted) {
      const next = await entries.next();
      if (next.done === true) {
        exhausted = true;
        break;
      }
      if (next.value.path === line) {
        if (next.value.type === 'file' && next.value.link === undefined) size = next.value.size;
        break;
      }
    }
    if (size >= defaultProbePolicy.minBytes) candidates.push({ i: sizes.length, path: line, size });
    sizes.push(size);
  }
  await entries.return?.(undefined);
  const results = await probeFiles(candidates.map((c) => ({ path: path.join(set.source.path, c.path), size: c.size })));
  const stored = new Set(candidates.filter((_, k) => results[k]?.storage === 'store').map((c) => c.i));
  const routing = route(sizes, (i) => stored.has(i), policy);
  return routing.parts.length === 1 && routing.parts[0]?.method === 'lzma2' ? null : routing;
}

/**
 * writeParts runs one 7-Zip process per planned part, all at once, into the set folder; then
 * journals the volumes (part after part) and completes the set (uploads, PAR2) as parity.ts does
 * for any written archive. Names unsafe for a list file (scan extraPaths) go into part 0.
 */
export async function writeParts(set: SetInProgress, scanned: ScanOutput, lap: Lap, routing: Routing, volumeSize: number): Promise<{ archive: ArchiveResult; warnings: string[] }> {
  const { req, out } = set;
  const { scan } = scanned;
  const planned = routing.parts;
  out.verbose(`${set.source.name}: ${planned.length} archives at once: ${planned.map((p, k) => `${partArchiveName(set.setId, k)} ${p.method} ${counted(p.count, 'path')} ${formatSize(p.bytes)}`).join(', ')}`);
  // Each part's list file, written from the archive list in its order.
  const lists = planned.map((_, k) => path.join(set.work, `archive.part${k + 1}.list`));
  const writers = await Promise.all(lists.map((f) => LineWriter.create(f)));
  try {
    let i = 0;
    for await (const line of readLines(scanned.listFile)) {
      if (line === '') continue;
      await writers[routing.owner[i++] ?? 0]?.line(line);
    }
  } finally {
    for (const w of writers) await w.close();
  }
  const bar = out.progress(`${set.source.name}: archiving ${counted(scan.filesToArchive, 'file')}`, scan.bytesToArchive, { bytes: true, filesTotal: scan.filesToArchive });
  // One part failing stops the others (their archives are incomplete anyway).
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  if (req.signal.aborted) stop.abort();
  else req.signal.addEventListener('abort', onAbort, { once: true });
  const done = planned.map(() => 0);
  const created: { objects: JournalObject[]; warnings: string[] }[] = [];
  // A destination failure while parts are stored: the rest waits for completeArchive (which retries, and fails with the set journaled).
  let storeFailed = false;
  try {
    const runs = planned.map(async (p, k) => {
      const listFile = lists[k] ?? '';
      const extra = k === 0 ? scan.extraPaths : [];
      let r;
      try {
        r = await req.tools.sevenZip.create({
          cwd: set.source.path,
          archivePath: set.file(partArchiveName(set.setId, k)),
          listFile,
          extraPaths: extra,
          password: req.password,
          level: p.method === 'copy' ? 0 : set.archive.level,
          volumeSize,
          fileCount: p.count + extra.length,
          signal: stop.signal,
          ...(req.pollMs === undefined ? {} : { pollMs: req.pollMs }),
          onProgress: (e) => {
            done[k] = Math.round((e.percent / 100) * p.bytes);
            bar.update(done.reduce((a, b) => a + b, 0), e.file);
          },
        });
      } catch (e) {
        stop.abort();
        throw e;
      }
      // This part is written: its volumes are hashed and stored while the other parts are still being written.
      const objects: JournalObject[] = [];
      for (const v of r.volumes) {
        const o: JournalObject = { name: path.basename(v), ...(await hashFile(v)), uploaded: false };
        objects.push(o);
        if (storeFailed) continue;
        try {
          await set.store(o.name, o.sha256, stop.signal);
          o.uploaded = true;
        } catch (e) {
          // Stopped because another part failed (or the run was cancelled): that failure is the
          // cause to report, not this store's "operation was aborted".
          if (stop.signal.aborted) throw new StrataError('CANCELLED', `storing ${o.name} was stopped`, { cause: e });
          storeFailed = true;
        }
      }
      return { objects, warnings: r.warnings };
    });
    const settled = await Promise.allSettled(runs);
    // The first real failure is the cause; the others were stopped because of it.
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
    const cause = failures.find((e) => !isStrataError(e, 'CANCELLED')) ?? failures[0];
    if (failures.length > 0) throw cause instanceof Error ? cause : new StrataError('TOOL_FAILED', String(cause));
    for (const s of settled) if (s.status === 'fulfilled') created.push(s.value);
  } finally {
    req.signal.removeEventListener('abort', onAbort);
    bar.done();
  }
  lap('archive', scan.bytesToArchive, 'complete');
  const volumes: JournalObject[] = [];
  const parts: SetPart[] = [];
  for (const [k, c] of created.entries()) {
    parts.push({ archive: partArchiveName(set.setId, k), method: planned[k]?.method ?? 'lzma2', volumes: c.objects.length });
    volumes.push(...c.objects);
  }
  set.emit({ kind: 'archive-done', volumes: volumes.length });
  // Every part is written: from here on the set can be resumed.
  const j = await Journal.create(
    set.run.paths.staging,
    {
      format: 'strata-resume', version: 1, job: req.config.job, setId: set.setId, source: set.source.name, tier: set.tier, type: set.type, base: set.base, created: set.at.toISOString(),
      scanSha256: scanned.fingerprint, settings: set.settings, volumes, parts, layout: null, units: [], manifest: null,
    },
    req.password,
    set.run.kdf,
  );
  set.journal = j;
  const archive = await completeArchive(set, j, lap.track);
  return { archive, warnings: created.flatMap((c) => c.warnings) };
}
