/**
 * pipeline/restore/run: bring back the state of a source at a moment, exactly — contents, mtimes,
 * modes, symlinks, empty folders, and nothing that had been deleted by then.
 *
 * The stages, each in its file: choose the sets (core/restore-choice) and check the password
 * (password), check the target (confinement), select the entries (select: pass 1), then per set
 * holding selected files fetch and repair its volumes (fetch), extract and check each file
 * (extract: pass 2) and place it (place); then hard links, symlinks and folders (place: pass 3),
 * owners and extended attributes (metadata), and the folders' times last.
 *
 * Safety: every path is checked before use, files are extracted into a hidden staging folder inside
 * the target (staging) and moved into place only after their SHA-256 matches the manifest; folders
 * on the way are created by restore itself and never followed through a symlink (confinement), so
 * nothing is written outside the target whatever an archive contains. Existing files are not
 * replaced without `overwrite`.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { callerUmask } from '../../config/private-state.js';
import type { Descriptor } from '../../core/descriptor.js';
import { makePathFilter } from '../../core/pathfilter.js';
import { counted } from '../../core/words.js';
import { PhaseMeter } from '../../ui/meter.js';
import { chooseSets, restoreChain } from '../../core/restore-choice.js';
import { StrataError } from '../../errors.js';
import { ensureLocalManifest, isManifestCached } from '../manifests.js';
import { fromOthers } from '../fallback.js';
import { checkTarget, ensureRealFolder, mkdirForUser, targetFsError, unmakeFolders } from './confinement.js';
import { extractSet, extractedBytes, holderFiles, placeExtracted, placeWhole, type StagedFiles } from './extract.js';
import { FollowSet } from './follow.js';
import { fetchSet } from './fetch.js';
import { checkObjects, localSetDir, type MaterializedSet } from '../setfiles.js';
import { restoreMetadata } from './metadata.js';
import { checkPassword, checkPasswordAsync } from './password.js';
import { createdParents, placeFolders, placeHardLinks, placeSymlinks, setFolderTimes, type Target } from './place.js';
import { selectEntries, type ExtractionList } from './select.js';
import { thawForRestore } from './thaw.js';
import { STAGING_NAME, STAGING_PREFIX, WORK_NAME, makeStaging, sweepStaging, writeOwnerMarker } from './staging.js';
import type { RestoredSource, RestoreRequest } from './types.js';

/** runRestore restores the chosen sets into the target folder. */
export async function runRestore(request: RestoreRequest): Promise<RestoredSource[]> {
  const req: RestoreRequest & { meter: PhaseMeter } = { ...request, meter: request.meter ?? new PhaseMeter(request.out) };
  try {
    return await restoreAll(req);
  } finally {
    req.meter.close();
  }
}

async function restoreAll(req: RestoreRequest & { meter: PhaseMeter }): Promise<RestoredSource[]> {
  const catalog = await req.repo.catalog();
  const named = catalog.problems.find((p) => p.id === req.setId);
  if (named !== undefined) {
    throw new StrataError(named.tampered === true ? 'TAMPERED' : 'DAMAGED', `set ${named.id} cannot be restored: ${named.message}`, { hint: 'Restore another set instead (strata list shows them).' });
  }
  const chosen = chooseSets(catalog.complete, req);
  // A set whose descriptor cannot be read is not restorable; if it is newer than what is restored,
  // the restore is older than the newest backup: say so plainly.
  for (const p of catalog.problems) {
    req.out.warn(`set ${p.id} is skipped: its descriptor cannot be read (${p.message}); what is restored may be older than that set — run strata verify --all`);
  }
  // The password check (scrypt, about 0.1 s a set) runs while the first set's cached manifest is
  // read and its entries selected (restoreInto); nothing is fetched, requested, decrypted or
  // written into the target before it has passed.
  const checked = Promise.all(chosen.map((d) => checkPasswordAsync(d, req.password, catalog.complete)));
  checked.catch(() => undefined); // awaited below, in every path: not unhandled meanwhile
  checkTarget(req.to);
  if (chosen.length > 1 || chosen.some((d) => localSetDir(req.repo, d.id) === undefined)) await checked;
  // Archived volumes (S3 GLACIER, DEEP_ARCHIVE) are requested up front, before anything is fetched.
  const holders = await thawForRestore(req, chosen, catalog.complete, catalog.problems);
  req.meter.end('prepare');
  // With archive storage, every holding set is fetched and checked before anything is extracted:
  // recovery files a repair needs may be archived too (then the restore stops pending, with the
  // target untouched).
  const fetched = await prefetch(req, holders);
  try {
    const results: RestoredSource[] = [];
    for (const d of chosen) {
      const target = chosen.length > 1 ? path.join(req.to, d.source) : req.to;
      // <to>/<source> is strata's to create: a link already there is never followed out of --to.
      if (chosen.length > 1) {
        await mkdirForUser(req.to);
        if (ensureRealFolder(target, d.source, req.overwrite)) await fsp.chmod(target, 0o777 & ~callerUmask());
      }
      results.push(await restoreOne(req, catalog.complete, d, target, checked, catalog.problems, fetched.sets));
    }
    return results;
  } finally {
    if (fetched.dir !== undefined) await fsp.rm(fetched.dir, { recursive: true, force: true });
  }
}

/** Fetched is a holding set fetched (and repaired) ahead of extraction, with what fetchSet noted. */
interface Fetched {
  mat: MaterializedSet;
  repairedVolumes: string[];
  lostVolumes: string[];
}

/** prefetch fetches, checks and repairs the given sets into a work folder of their own (removed by the caller). */
async function prefetch(req: RestoreRequest & { meter: PhaseMeter }, holders: readonly Descriptor[]): Promise<{ dir?: string; sets: Map<string, Fetched> }> {
  const sets = new Map<string, Fetched>();
  if (holders.length === 0) return { sets };
  await fsp.mkdir(req.workDir, { recursive: true });
  const dir = await fsp.mkdtemp(path.join(req.workDir, 'restore-'));
  try {
    await writeOwnerMarker(dir);
    for (const hd of holders) {
      const noted: Pick<Fetched, 'repairedVolumes' | 'lostVolumes'> = { repairedVolumes: [], lostVolumes: [] };
      const mat = await fetchSet(req, hd, dir, noted);
      req.meter.end('fetch', hd.volumes.reduce((n, v) => n + v.size, 0));
      sets.set(hd.id, { mat, ...noted });
    }
  } catch (e) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, sets };
}

async function restoreOne(req: RestoreRequest & { meter: PhaseMeter }, complete: readonly Descriptor[], set: Descriptor, target: string, checked: Promise<unknown>, unreadable: readonly { id: string }[] = [], fetched: ReadonlyMap<string, Fetched> = new Map()): Promise<RestoredSource> {
  const chain = restoreChain(set, complete, unreadable);
  try {
    return await restoreInto(req, complete, chain, set, target, checked, fetched);
  } catch (e) {
    throw targetFsError(e, target);
  }
}

/**
 * restoreInto restores one set (reading the sets of its chain that hold selected files) into
 * `target`. `checked` is the password check of the set: awaited before a manifest that is not
 * cached is fetched and before staging is made; a failed check leaves no target folder it made.
 */
async function restoreInto(req: RestoreRequest & { meter: PhaseMeter }, complete: readonly Descriptor[], chain: readonly Descriptor[], set: Descriptor, target: string, checked: Promise<unknown>, fetched: ReadonlyMap<string, Fetched>): Promise<RestoredSource> {
  const made = await mkdirForUser(target);
  try {
    return await restoreChecked(req, complete, chain, set, target, checked, fetched);
  } catch (e) {
    // A wrong password is what is said, whatever else the selection met meanwhile.
    const failed = await checked.then(() => undefined, (err: unknown) => ({ err }));
    if (failed === undefined) throw e;
    await unmakeFolders(target, made);
    throw failed.err;
  }
}

async function restoreChecked(req: RestoreRequest & { meter: PhaseMeter }, complete: readonly Descriptor[], chain: readonly Descriptor[], set: Descriptor, target: string, checked: Promise<unknown>, fetched: ReadonlyMap<string, Fetched>): Promise<RestoredSource> {
  const root = await fsp.realpath(target);
  await sweepStaging(root, STAGING_NAME, `the work folder left in ${root} by an interrupted restore`, req.out);
  await sweepStaging(req.workDir, WORK_NAME, `the download folder left in the state folder by an interrupted restore`, req.out);
  // Into an empty folder nothing can conflict (a file appearing meanwhile is still caught by placeFile).
  const emptyTarget = (await fsp.readdir(root)).length === 0;
  const work = await fsp.mkdtemp(path.join(req.workDir, 'restore-'));
  await writeOwnerMarker(work);
  const staging = path.join(root, `${STAGING_PREFIX}${randomBytes(6).toString('hex')}`);
  const result: RestoredSource = { source: set.source, setId: set.id, target: root, files: 0, bytes: 0, dirs: 0, symlinks: 0, hardLinks: 0, notSet: [], lost: [], repairedVolumes: [], lostVolumes: [] };
  try {
    req.meter.show(`${set.id}: manifest`);
    const manifests = path.join(req.workDir, 'manifests');
    // A manifest not cached here is fetched and decrypted into this machine's manifests only for a set that passed.
    if (!(await isManifestCached(manifests, set))) await checked;
    const manifest = await ensureLocalManifest(req.repo, set, req.tools.sevenZip, req.password, manifests).catch((e: unknown) =>
      fromOthers(req.others, set, e, (repo) => ensureLocalManifest(repo, set, req.tools.sevenZip, req.password, manifests), (name) => req.out.warn(`set ${set.id}: its manifest is damaged or missing beyond repair here; took it from destination ${name}`)),
    );
    const filter = makePathFilter(req.paths);
    // Pass 1: select entries, check paths and conflicts, write one extraction list per holding set.
    const sel = await selectEntries({ manifest, set, filter, paths: req.paths, root, work, overwrite: req.overwrite, emptyTarget });
    await checked;
    req.meter.end('manifest');
    await makeStaging(staging);
    // 7-Zip makes every file it extracts with the staging folder's owner and group (its own, and a
    // group that a setgid target passes down): restoreMetadata leaves files that should have them.
    const stagingOwner = await fsp.stat(staging);
    const into: Target = { root, overwrite: req.overwrite, created: new Set(), checked: new Set() };
    // Pass 2: per holding set, fetch (and repair) its volumes, extract its files and move each into
    // place after its hash matches.
    for (const [holder, l] of sel.lists) {
      const hd = chain.find((d) => d.id === holder);
      if (hd === undefined) throw new StrataError('DAMAGED', `set ${holder} is missing`);
      if (hd.id !== set.id) checkPassword(hd, req.password, complete);
      const pre = fetched.get(hd.id);
      if (pre !== undefined) {
        result.repairedVolumes.push(...pre.repairedVolumes);
        result.lostVolumes.push(...pre.lostVolumes);
      }
      const out = path.join(staging, holder);
      const staged = { manifest, setId: set.id, holder, filter, asFirst: sel.asFirst, out };
      const { mat, extractError, early } = await fetchAndExtract(req, hd, pre?.mat, work, l, staged, result);
      try {
        if (mat.copy) await fsp.rm(mat.dir, { recursive: true, force: true });
        // The bytes 7-Zip wrote; a failed extraction's are not known (placing counts what checked out).
        req.meter.end('extract', extractError === undefined ? extractedBytes(hd, l) : undefined);
        const before = result.bytes;
        const placing = req.out.progress(`${hd.id}: checking and placing ${counted(l.count, 'file')}`);
        // Into a target that was empty, from one holding set, whole folders are moved at once.
        const place = emptyTarget && sel.lists.size === 1 ? placeWhole : placeExtracted;
        await place({ ...staged, extractError }, into, result, early).finally(() => placing.done());
        await fsp.rm(out, { recursive: true, force: true });
        req.meter.end('place', result.bytes - before);
      } finally {
        await early.close();
      }
    }
    req.meter.show(`${set.id}: links, folders, owners and times`);
    // Hard links, to the member placed with the bytes (counted once).
    const lostPaths = await placeHardLinks(sel.hardLinks, sel.asFirst, into, result);
    // Pass 3: symlinks, then folders (deepest first, so setting a folder's mtime is not undone).
    if (sel.symlinks > 0) await placeSymlinks(manifest, filter, into, result);
    await placeFolders(sel.dirs, into, result);
    const parents = await createdParents(manifest, sel.dirs, into.created);
    // Owners, extended attributes and ACLs, where the target's filesystem and privileges allow;
    // what cannot be set is reported, not fatal. Before the folders' mtimes, which it would not
    // change, but after every path exists.
    const owner = req.noOwner !== true && process.getuid?.() === 0;
    // A pass over the manifest that would find nothing to set is not made.
    result.notSet = sel.withXattrs > 0 || (owner && sel.owned > 0) ? await restoreMetadata({
      root, manifest, work, filter, skip: lostPaths, owner, signal: req.signal,
      filesOwnedBy: { uid: stagingOwner.uid, gid: stagingOwner.gid },
    }) : [];
    await setFolderTimes(root, [...sel.dirs, ...parents]);
    req.meter.end('finalize');
    return result;
  } finally {
    await fsp.rm(staging, { recursive: true, force: true });
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/**
 * fetchAndExtract brings one holding set's volumes (fetchSet) and has 7-Zip extract them into
 * staging, each file hashed while 7-Zip extracts the next (restore/follow). Volumes that a local
 * destination keeps are read in place while their SHA-256 is checked beside the extraction: nothing
 * leaves staging before both have finished, and when a volume does not check out the extraction is
 * stopped, its staging emptied, and the set fetched, repaired and extracted again.
 */
async function fetchAndExtract(req: RestoreRequest & { meter: PhaseMeter }, hd: Descriptor, pre: MaterializedSet | undefined, work: string, l: ExtractionList, staged: Omit<StagedFiles, 'extractError'>, result: RestoredSource): Promise<{ mat: MaterializedSet; extractError: string | undefined; early: FollowSet }> {
  const extract = async (mat: MaterializedSet, signal: AbortSignal): Promise<{ extractError: string | undefined; early: FollowSet }> => {
    const early = new FollowSet(() => holderFiles(staged), staged.out);
    try {
      const extractError = await extractSet({ ...req, signal }, hd, mat, l, staged.out, early).finally(() => early.stop());
      return { extractError, early };
    } catch (e) {
      await early.close();
      throw e;
    }
  };
  const inPlace = pre === undefined ? localSetDir(req.repo, hd.id) : undefined;
  if (inPlace !== undefined) {
    const stop = new AbortController();
    const mat: MaterializedSet = { dir: inPlace, lostVolumes: [], repaired: [], copy: false };
    // Settled at once into a value: 7-Zip may fail (a missing first volume) while the check still
    // runs, and that rejection must not go unhandled meanwhile.
    const extracting = extract(mat, AbortSignal.any([req.signal, stop.signal])).then(
      (v) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    const states = await checkObjects(inPlace, hd.volumes).catch(async (e: unknown) => {
      stop.abort();
      const r = await extracting;
      if (r.ok) await r.v.early.close();
      throw e;
    });
    const intact = [...states.values()].every((st) => st === 'ok');
    if (!intact) stop.abort();
    const settled = await extracting;
    if (!settled.ok && (intact || req.signal.aborted)) throw settled.e;
    const done = settled.ok ? settled.v : undefined;
    if (intact && done !== undefined) {
      req.meter.end('fetch', hd.volumes.reduce((n, v) => n + v.size, 0));
      return { mat, ...done };
    }
    // A volume does not check out: what 7-Zip wrote from it is dropped; fetch and repair a copy.
    await done?.early.close();
    await fsp.rm(staged.out, { recursive: true, force: true });
  }
  const mat = pre ?? (await fetchSet(req, hd, work, result));
  if (pre === undefined) req.meter.end('fetch', hd.volumes.reduce((n, v) => n + v.size, 0));
  return { mat, ...(await extract(mat, req.signal)) };
}
