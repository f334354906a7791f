/**
 * pipeline/backup/archive: the 7-Zip stage. The scan's list becomes encrypted volumes; each is
 * uploaded and protected while 7-Zip writes later ones (volume-stream). Once 7-Zip has finished,
 * the archive is journaled (from then on the set can be resumed) and completed: what the stream
 * did not store yet, and the PAR2 units that depend on the final volume count (parity).
 */
import * as fsp from 'node:fs/promises';
import { archiveName } from '../../core/keys.js';
import { chooseVolumeSize } from '../../core/protection/index.js';
import { formatSize } from '../../core/size.js';
import { counted } from '../../core/words.js';
import { StrataError, errnoCode, errorMessage, fromFsError, isStrataError } from '../../errors.js';
import { Journal } from './journal.js';
import { routeParts, writeParts } from './parts.js';
import { completeArchive, shortfallWarning } from './parity.js';
import type { ScanOutput } from './scan.js';
import type { Lap, SetInProgress } from './set.js';
import type { ArchiveResult } from './types.js';
import { VolumeStream } from './volume-stream.js';

/** ArchiveStage is what the 7-Zip stage produced: the stored archive, and 7-Zip's warnings. */
export interface ArchiveStage {
  archive: ArchiveResult;
  warnings: string[];
}

/**
 * writeArchive runs 7-Zip over the scanned files with the volume stream beside it, journals the
 * finished archive and completes it on the destination. A destination failure after 7-Zip
 * finished leaves the set journaled for the next run, and throws.
 */
export async function writeArchive(set: SetInProgress, scanned: ScanOutput, lap: Lap): Promise<ArchiveStage> {
  const { req, out } = set;
  const { scan, listFile } = scanned;
  // The configured volume size is the maximum: a small set gets more, smaller volumes (core/protection/volume-size).
  const volumes = chooseVolumeSize(set.tier, scan.bytesToArchive, set.archive.volumeSize, req.config.protection);
  out.verbose(`${set.source.name}: volume size ${formatSize(volumes.volumeSize)}: ${volumes.reason}`);
  // Issue 11: media stored, the rest in one or two LZMA2 archives, all written at once (parts.ts).
  const planned = await routeParts(set, scanned);
  if (planned !== null) return writeParts(set, scanned, lap, planned, volumes.volumeSize);
  const stream = new VolumeStream(set, scan.bytesToArchive, volumes.volumeSize);
  const bar = out.progress(`${set.source.name}: archiving ${counted(scan.filesToArchive, 'file')}`, scan.bytesToArchive, { bytes: true, filesTotal: scan.filesToArchive });
  let created;
  try {
    created = await req.tools.sevenZip.create({
      cwd: set.source.path,
      archivePath: set.file(archiveName(set.setId)),
      listFile,
      extraPaths: scan.extraPaths,
      password: req.password,
      level: set.archive.level,
      volumeSize: volumes.volumeSize,
      fileCount: scan.filesToArchive,
      signal: stream.signal,
      pollMs: req.pollMs,
      onSpawn: (child) => stream.attach(child),
      onProgress: (p) => {
        stream.progress(p.percent);
        bar.update(Math.round((p.percent / 100) * scan.bytesToArchive), p.file, p.items === undefined ? undefined : Math.min(p.items, scan.filesToArchive));
      },
      onVolumeFinal: (v) => stream.volumeFinal(v),
    });
  } catch (e) {
    // An upload or PAR2 failure stops 7-Zip through stream.signal: report that, not the
    // interruption. When 7-Zip failed by itself (a full disk), its error is the cause, and what
    // the uploader saw (its volumes vanishing) only follows from it.
    if (isStrataError(e) && e.code !== 'CANCELLED') throw e;
    throw await explainStreamFailure(stream.failure ?? e, set.setDir);
  } finally {
    stream.detach();
    bar.done();
  }
  lap('archive', scan.bytesToArchive, 'complete');
  // The archive is complete: from here on the set can be resumed, so it is journaled.
  await stream.settle();
  if (stream.failure !== undefined && !stream.draining) throw await explainStreamFailure(stream.failure, set.setDir);
  // created.volumes lists what is still in the folder; released volumes are gone from it.
  const snap = await stream.snapshot(created.volumes);
  const j = await Journal.create(
    set.run.paths.staging,
    {
      format: 'strata-resume', version: 1, job: req.config.job, setId: set.setId, source: set.source.name, tier: set.tier, type: set.type, base: set.base, created: set.at.toISOString(),
      scanSha256: scanned.fingerprint, settings: set.settings, volumes: snap.volumes, layout: snap.layout, units: snap.units, manifest: null,
    },
    req.password,
    set.run.kdf,
  );
  set.journal = j;
  if (stream.failure !== undefined) {
    out.info(`${set.source.name}: the upload failed after 7-Zip finished writing; the next run resumes set ${set.setId} with what is missing`);
    throw stream.failure;
  }
  const archive = await completeArchive(set, j, lap.track);
  const warnings = [...created.warnings];
  const short = shortfallWarning(set, archive);
  if (short !== null) warnings.push(short);
  lap('complete', storedBytes(archive), 'recheck');
  return { archive, warnings };
}

/**
 * explainStreamFailure turns what the uploader or PAR2 side saw into an error for people. A volume
 * that vanished from staging was removed by 7-Zip as it failed — on a full disk, as a rule — so a
 * full staging disk is reported as such rather than as the missing file it caused.
 */
async function explainStreamFailure(e: unknown, setDir: string): Promise<StrataError> {
  if (isStrataError(e)) return e;
  if (errnoCode(e) === 'ENOENT') {
    const st = await fsp.statfs(setDir).catch(() => undefined);
    if (st === undefined || st.bavail * st.bsize < 1 << 20) {
      return new StrataError('DISK_FULL', `no space left in the staging folder ${setDir}: 7-Zip stopped and removed its volumes`, {
        hint: 'Free some space (or point --state at a larger disk) and run again; nothing was marked complete.',
        cause: e,
      });
    }
    return new StrataError('TOOL_FAILED', `a volume disappeared from the staging folder while the set was being made (${errorMessage(e)})`, { hint: 'Run again; nothing was marked complete.', cause: e });
  }
  return fromFsError(e, 'making the set');
}

/** storedBytes is what the archive put on the destination: its volumes and their recovery files. */
export function storedBytes(archive: ArchiveResult): number {
  return [...archive.volumes, ...archive.recovery].reduce((n, o) => n + o.size, 0);
}
