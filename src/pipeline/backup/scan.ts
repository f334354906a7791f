/**
 * pipeline/backup/scan: the scan stage. What a source must leave out (the destination, the state
 * folder, pseudo filesystems mounted in it), the base's manifest to compare against, and one scan
 * of the source into the set's work folder: the manifest entries, the list 7-Zip archives, and a
 * fingerprint of both (a resumed archive must have been made from the very same scan).
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isListFileSafe } from '../../core/sevenzip.js';
import { isStrataError } from '../../errors.js';
import { hashFile } from '../../io/hash.js';
import { localDestinationPath, scanSource, sourceSkips, type ScanResult } from '../../scan/index.js';
import { ensureLocalManifest, isManifestCached } from '../manifests.js';
import { UnusableBase, type SetInProgress } from './set.js';

/** ScanOutput is one scan of a source into a work folder. */
export interface ScanOutput {
  scan: ScanResult;
  entriesFile: string;
  listFile: string;
  /** SHA-256 over the entries, the archive list and the extra paths: what the archive was made from. */
  fingerprint: string;
}

/**
 * scanSkips lists the relative paths a scan of the set's source leaves out: the destination and the
 * state folder inside the source, and pseudo filesystems mounted in it (each run would take in its
 * own output; /proc files never end).
 */
export function scanSkips(set: SetInProgress): Set<string> {
  const { req, out, source } = set;
  const skip = new Set<string>();
  for (const sk of sourceSkips(source.path, { destination: localDestinationPath(req.config.destination), state: path.dirname(path.dirname(req.jobDir)) })) {
    skip.add(sk.rel);
    if (sk.why === 'pseudo filesystem') out.warn(`${source.name}: skipping ${JSON.stringify(sk.rel)}: a pseudo filesystem (${sk.type ?? '?'}) is mounted there; its files are not data`);
    else out.info(`${source.name}: not backing up ${JSON.stringify(sk.rel)}: it is the ${sk.why === 'destination' ? 'destination' : 'state folder'}, inside the source`);
  }
  return skip;
}

/**
 * baseManifest brings the base set's manifest into the local state (from the destination when it
 * is not cached) and returns its file; undefined for a set without a base. A manifest is fetched
 * only for a base that has passed its check (`baseCheck`): the local manifests are this machine's
 * record of its own sets.
 */
export async function baseManifest(set: SetInProgress, baseCheck: Promise<string | undefined>): Promise<string | undefined> {
  const { run, req, prev } = set;
  if (prev === undefined) return undefined;
  if (!(await isManifestCached(run.paths.manifests, prev))) {
    await run.checkPassword();
    const unusable = await baseCheck;
    if (unusable !== undefined) throw new UnusableBase(unusable);
  }
  return ensureLocalManifest(run.repo, prev, req.tools.sevenZip, req.password, run.paths.manifests, req.tools.parity);
}

/**
 * catchUpAudit records the base set in the audit trail when a crash came after it completed but
 * before its audit commit. Called once the base has passed its check.
 */
export async function catchUpAudit(set: SetInProgress, file: string | undefined): Promise<void> {
  const { run, prev } = set;
  if (prev === undefined || file === undefined) return;
  await run.audit.commit({ source: set.source.name, manifestFile: file, date: new Date(prev.created), tier: prev.tier, type: prev.type, setId: prev.id, summary: prev.stats });
}

/** scanInto scans the set's source into its (fresh) work folder. */
export async function scanInto(set: SetInProgress, skip: ReadonlySet<string>, previousManifest: string | undefined, statCache: string): Promise<ScanOutput> {
  const { req, out, source, work } = set;
  await fsp.rm(work, { recursive: true, force: true });
  await fsp.mkdir(work, { recursive: true });
  await fsp.mkdir(set.setDir, { recursive: true });
  const entriesFile = path.join(work, 'entries.jsonl');
  const listFile = path.join(work, 'archive.list');
  const progress = out.progress(`${source.name}: scanning`, undefined, { bytes: true });
  const scan = await scanSource({
    root: source.path,
    excludes: source.exclude,
    skip,
    mode: set.type === 'FULL' ? 'full' : 'incremental',
    setId: set.setId,
    previousManifest,
    statCache,
    outManifest: entriesFile,
    outArchiveList: listFile,
    isListFileSafe,
    now: () => req.clock.now(),
    signal: set.run.scanSignal,
    onProgress: (p) => progress.update(p.bytes, undefined, p.files),
  }).catch(async (e: unknown) => {
    // Stopped because the password check failed (not cancelled): that failure is the error.
    if (isStrataError(e, 'CANCELLED') && !req.signal.aborted) await set.run.checkPassword();
    throw e;
  });
  progress.done();
  const h = createHash('sha256');
  for (const f of [entriesFile, listFile]) h.update((await hashFile(f)).sha256).update('\n');
  h.update(JSON.stringify(scan.extraPaths));
  return { scan, entriesFile, listFile, fingerprint: h.digest('hex') };
}

/** nothingChanged tells whether an incremental scan found nothing to record. */
export function nothingChanged(set: SetInProgress, scan: ScanResult): boolean {
  return set.type === 'INCR' && scan.filesToArchive === 0 && scan.deleted === 0 && scan.metadataOnly === 0 && scan.added === 0 && scan.modified === 0;
}
