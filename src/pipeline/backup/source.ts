/**
 * pipeline/backup/source: one source's set, stage by stage — resume or name the set, scan (scan.ts),
 * archive with the volume stream (archive.ts; a resumed set completes its journaled archive,
 * parity.ts), the check that files did not change while read, the manifest (manifest.ts), and
 * RESTORE.txt, read-back, descriptor and local state (finalize.ts). One SetInProgress carries the
 * set through them.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { SourceConfig } from '../../config/schema.js';
import type { Descriptor } from '../../core/descriptor.js';
import type { SetType, Tier } from '../../core/naming.js';
import { setObjectKey } from '../../core/keys.js';
import { StrataError, errorMessage, isStrataError } from '../../errors.js';
import { commitStatCache, finalizeAfterArchive } from '../../scan/index.js';
import { storedBytes, writeArchive } from './archive.js';
import { finalizeSet } from './finalize.js';
import { writeSetManifest } from './manifest.js';
import { completeArchive } from './parity.js';
import type { ResumeCandidate } from './journal.js';
import { checkResumable, discard } from './resume.js';
import { baseManifest, catchUpAudit, nothingChanged, scanInto, scanSkips } from './scan.js';
import { SetInProgress, UnusableBase, stopwatch, type RunContext } from './set.js';
import type { ArchiveResult, SourceResult } from './types.js';

/** SourcePlan is what the run decided for one source: its base, tier and type, and a set to resume. */
export interface SourcePlan {
  source: SourceConfig;
  prev: Descriptor | undefined;
  tier: Tier;
  type: SetType;
  candidate: ResumeCandidate | undefined;
  /** The base's check, in flight while the source is scanned (its scrypt runs on the thread pool):
   *  undefined when `prev` may be the base, else why not. Awaited before the scan is used. */
  baseCheck: Promise<string | undefined>;
}

/** backupSource makes (or resumes) the set of one source. */
export async function backupSource(run: RunContext, plan: SourcePlan): Promise<SourceResult> {
  const { source, tier, type, candidate } = plan;
  const { req } = run;
  const { out } = req;
  const set = new SetInProgress(run, source, plan.prev, tier, type);
  const result: SourceResult = {
    source: source.name, tier, type, setId: null, fullBecauseNoBase: false, added: 0, modified: 0, deleted: 0, files: 0, bytes: 0,
    archivedFiles: 0, archivedBytes: 0, storedBytes: 0, volumes: 0, protection: null, errors: [], warnings: [], phases: [],
  };
  await fsp.mkdir(run.paths.cache, { recursive: true });
  await fsp.access(source.path).catch((e: unknown) => {
    throw new StrataError('CONFIG', `source ${source.name}: ${source.path} cannot be read (${errorMessage(e)})`, { hint: 'Check the source path in the configuration.' });
  });
  const skip = scanSkips(set);

  // A journaled set of this source: resumed if everything still matches, else discarded.
  if (candidate !== undefined) {
    const reason = await checkResumable(set, candidate);
    if (reason === null) set.resume(candidate.journal);
    else await discard(set, candidate, reason);
  }
  if (!set.resumed) set.startNew();
  const lap = stopwatch(out, source.name);
  try {
    const previousManifest = await baseManifest(set, plan.baseCheck);
    const statCache = path.join(run.paths.cache, `${source.name}.statcache`);
    lap('prepare');
    let scanned = await scanInto(set, skip, previousManifest, statCache);
    // The next stage draws its own progress when 7-Zip runs; else a status line names it.
    lap('scan', scanned.scan.totalBytes, set.resumed ? 'complete' : scanned.scan.filesToArchive > 0 ? undefined : 'recheck');
    // The scan ran while the base was checked: only now is its comparison with the base used.
    const unusable = await plan.baseCheck;
    if (unusable !== undefined) throw new UnusableBase(unusable);
    await catchUpAudit(set, previousManifest);
    if (set.resumed && candidate !== undefined && candidate.journal.body.scanSha256 !== scanned.fingerprint) {
      // The source changed since the archive was written: it no longer matches, start over.
      lap.close();
      await discard(set, candidate, 'the source changed since it was archived');
      set.startNew();
      scanned = await scanInto(set, skip, previousManifest, statCache);
    }
    const { scan, entriesFile } = scanned;
    result.setId = set.setId;
    Object.assign(result, { added: scan.added, modified: scan.modified, deleted: scan.deleted, files: scan.totalFiles, bytes: scan.totalBytes });
    result.errors.push(...scan.errors);
    if (!scan.xattrsRecorded) out.warn(`${source.name}: extended attributes and ACLs are not recorded: getfattr is not installed (Debian/Ubuntu: apt-get install attr)`);
    if (nothingChanged(set, scan) && scan.errors.length === 0) {
      // Nothing to encrypt, but a wrong password must not go unnoticed until the next change.
      await run.checkPassword();
      await commitStatCache(scan.newStatCache, statCache);
      result.setId = null;
      result.skipped = `nothing changed since ${plan.prev?.id ?? '?'}`;
      // A no-change run tells where its time went too (--json: prepare, scan).
      result.phases = lap.phases;
      return result;
    }
    // Written again on resume: the marker now names this (live) process.
    await run.checkPassword();
    // A new set's marker never replaces another's: a run that picked the same name at the same moment wins.
    await run.repo.markPending(set.setId, run.now, req.config.job, req.machine, { overwrite: set.resumed });
    // 1. The archive, streamed: volumes are uploaded and protected while 7-Zip writes later ones.
    //    A resumed set has its archive already: only what is missing on the destination is stored.
    let archive: ArchiveResult | null = null;
    const journal = set.journal;
    if (set.resumed && journal !== null) {
      const missing = journal.objects().filter((o) => !o.uploaded).length;
      out.info(`${source.name}: resuming the unfinished set ${set.setId}: ${journal.objects().length - missing} objects are on the destination intact, ${missing} to upload`);
      archive = await completeArchive(set, journal, lap.track);
      lap('complete', storedBytes(archive), 'recheck');
    } else if (scan.filesToArchive > 0) {
      const written = await writeArchive(set, scanned, lap);
      archive = written.archive;
      result.warnings.push(...written.warnings);
    }
    if (archive !== null) result.protection = `${archive.plan.strategy} ${archive.plan.redundancyPercent}%`;
    // 2. Files that changed while 7-Zip read them are not trusted: the manifest reverts them.
    const changed = await finalizeAfterArchive({ manifest: entriesFile, newStatCache: scan.newStatCache, previousManifest, root: source.path, signal: req.signal });
    result.errors.push(...changed.errors);
    lap('recheck', undefined, 'manifest');
    Object.assign(result, { archivedFiles: scan.filesToArchive - changed.reverted.length, archivedBytes: scan.bytesToArchive });
    // 3. The manifest: header + entries, encrypted as its own small archive, with its own PAR2 set.
    const manifest = await writeSetManifest(set, entriesFile, archive !== null, changed.reverted.length === 0 ? scan.sets : undefined);
    lap('manifest', manifest.object.size, 'read-back');
    // 4. RESTORE.txt, every object read back, the descriptor (now the set is complete), local state.
    await finalizeSet(set, archive, manifest, scan, statCache, result, lap);
    result.phases = lap.phases;
    return result;
  } catch (e) {
    // The set is made again under another plan: its name is free (it was never written anywhere).
    if (e instanceof UnusableBase && !set.resumed) run.taken.delete(set.setId);
    throw sameNameCollision(e, set.setId) ?? e;
  } finally {
    lap.close();
    await fsp.rm(set.work, { recursive: true, force: true });
    // A journaled set keeps its archive (and journal) for the next run; anything else is debris.
    if (set.journal === null || set.completed) await fsp.rm(set.setDir, { recursive: true, force: true });
    else out.info(`${source.name}: the archive of set ${set.setId} is kept in ${set.setDir} so that the next run can resume it`);
  }
}

/**
 * sameNameCollision explains an object of the set being made that is already on the destination:
 * another run (another state folder, another machine) picked the same set name at the same moment
 * and wrote first. Nothing of that run's set is touched.
 */
function sameNameCollision(e: unknown, setId: string): StrataError | undefined {
  if (!isStrataError(e, 'ALREADY_EXISTS') || !e.message.startsWith(setObjectKey(setId, ''))) return undefined;
  return new StrataError('LOCKED', `another run is writing set ${setId} at the same moment (${e.message})`, {
    hint: 'Two runs of this source into this destination picked the same set name (another state folder or machine); nothing of the other run was touched. Run this backup again when the other has finished: it then picks another name.',
    cause: e,
  });
}
