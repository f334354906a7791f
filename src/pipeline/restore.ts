/**
 * pipeline/restore: bring back the state of a source at a moment, exactly — contents, mtimes,
 * modes, symlinks, empty folders, and nothing that had been deleted by then.
 *
 * Safety: every path is checked before use, files are extracted into a hidden staging folder inside
 * the target and moved into place only after their SHA-256 matches the manifest; folders on the way
 * are created by restore itself and never followed through a symlink, so nothing is written outside
 * the target whatever an archive contains. Existing files are not replaced without `overwrite`.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { once } from 'node:events';
import { isListFileSafe } from '../core/sevenzip.js';
import { chainGaps, describeGap, latestFor, restoreScope, sourcesOf, type JobIdentity } from '../core/catalog.js';
import type { Descriptor } from '../core/descriptor.js';
import { pathCompare, type ManifestEntry } from '../core/manifest.js';
import { ancestors, isSafeRelativePath, makePathFilter } from '../core/pathfilter.js';
import { StrataError, errnoCode, errorMessage, fromFsError, isStrataError } from '../errors.js';
import { currentStamp, isStampAlive, type ProcessStamp } from '../repository/process.js';
import { hostname } from 'node:os';
import { callerUmask } from '../config/private-state.js';
import type { Repository } from '../repository/repository.js';
import type { Output } from '../ui/output.js';
import type { Tools } from './backup.js';
import { ensureLocalManifest, readEntries } from './manifests.js';
import { restoreMetadata, type NotSet } from './restore-metadata.js';
import { materializeSet } from './setfiles.js';
import { checkSet } from './set-check.js';
import { setObjectKey } from '../core/keys.js';

/** RestoreRequest selects what to restore and where. */
export interface RestoreRequest {
  repo: Repository;
  tools: Tools;
  password: string;
  /** Restore this set (its source's state at that set). */
  setId?: string;
  /** Restore the state at this moment (latest complete set at or before it). */
  at?: Date;
  /** Only this source (default: all sources on the destination). */
  source?: string;
  /**
   * Only sets of this job (--job, or the config file's). Without it, a source name that sets of
   * several jobs share on the destination is ambiguous and refused, never silently resolved.
   */
  job?: string | undefined;
  /** Only sets of this machine: host name or machine id prefix (--host). */
  host?: string | undefined;
  /**
   * This machine's id (its state folder's), if it has one: without --host its own sets are
   * restored. Sets of several machines are never mixed: without one of these, or with a host name
   * two machines share, the restore is refused and the candidates listed.
   */
  machineId?: string | undefined;
  to: string;
  paths: string[];
  overwrite: boolean;
  /** Leave owners alone (else, as root, files get their recorded owner and group). */
  noOwner?: boolean;
  /** Local folder for downloads and manifests. */
  workDir: string;
  out: Output;
  signal: AbortSignal;
}

/** RestoredSource reports one source's restore. */
export interface RestoredSource {
  source: string;
  setId: string;
  target: string;
  files: number;
  bytes: number;
  dirs: number;
  symlinks: number;
  /** Files restored as hard links to another restored file (their bytes counted once). */
  hardLinks: number;
  /** Metadata that could not be set (owner, extended attributes/ACLs), with counts and first examples. */
  notSet: NotSet[];
  /** Files that could not be restored intact (damage beyond repair), with the reason. */
  lost: { path: string; reason: string }[];
  repairedVolumes: string[];
  /** Volumes damaged or missing beyond repair (`<set>/<volume>`); the files they held are in `lost`. */
  lostVolumes: string[];
}

/**
 * checkPassword verifies the password against one descriptor, mapping the outcome to errors. With
 * the destination's other sets, a failed password check that they contradict is tampering.
 */
export function checkPassword(d: Descriptor, password: string, others: readonly Descriptor[] = []): void {
  const { check: c, reason } = checkSet(d, password, others);
  if (c === 'wrong-password') {
    throw new StrataError('WRONG_PASSWORD', `wrong password for set ${d.id}`, { hint: 'Give the password the backups were made with (STRATA_PASSWORD, STRATA_PASSWORD_FILE, the config, or the prompt).' });
  }
  if (c === 'tampered') {
    throw new StrataError('TAMPERED', reason ?? `the descriptor of set ${d.id} has been modified`, { hint: 'Do not trust this set; restore from another one (strata list).' });
  }
}

/** chooseSets picks, per source, the set to restore. */
export function chooseSets(all: readonly Descriptor[], req: Pick<RestoreRequest, 'setId' | 'at' | 'source' | 'job' | 'host' | 'machineId'>): Descriptor[] {
  if (req.setId !== undefined) {
    const s = all.find((d) => d.id === req.setId);
    if (s === undefined) throw new StrataError('NOT_FOUND', `no complete set ${req.setId} on the destination`, { hint: 'strata list shows the sets there.' });
    return [s];
  }
  if (all.length === 0) throw new StrataError('NO_REPOSITORY', 'the destination holds no complete set', { hint: 'Check --dest; run a backup first.' });
  const scope = restoreScope(all, { job: req.job, host: req.host, source: req.source, machineId: req.machineId });
  if (!scope.ok) throw scopeError(scope, req);
  const complete = scope.sets;
  const sources = req.source !== undefined ? [req.source] : sourcesOf(complete);
  const chosen: Descriptor[] = [];
  for (const src of sources) {
    const s = latestFor(complete, src, req.at);
    if (s === undefined) {
      if (req.source !== undefined || sources.length === 1) {
        throw new StrataError('NOT_FOUND', `no complete set of source ${src}${req.at !== undefined ? ` at or before ${req.at.toISOString()}` : ''}`, { hint: 'strata list shows the sets and their times.' });
      }
      continue;
    }
    chosen.push(s);
  }
  if (chosen.length === 0) throw new StrataError('NOT_FOUND', `no complete set at or before ${req.at?.toISOString() ?? 'now'}`, { hint: 'strata list shows the sets and their times.' });
  return chosen;
}

/** describeIdentity is one line naming a job of a machine: job, host, machine id, sources, newest set. */
export function describeIdentity(i: JobIdentity): string {
  const machine = i.machine === null ? 'host unknown (sets made before strata recorded the machine)' : `host ${i.machine.host}, machine ${i.machine.id.slice(0, 8)}`;
  return `job ${i.job}, ${machine}: sources ${i.sources.join(', ')}; newest set ${i.newest.id} (${i.newest.created.slice(0, 16).replace('T', ' ')} UTC)`;
}

/** scopeError explains why there is no single job and machine to restore from, listing what there is. */
function scopeError(scope: Exclude<ReturnType<typeof restoreScope<Descriptor>>, { ok: true }>, req: Pick<RestoreRequest, 'job' | 'host' | 'source'>): StrataError {
  const pick = 'Pick one with --host HOST (a host name or the first digits of a machine id) and/or --job NAME, or a set with --set ID; strata list shows every set with its job and host.';
  if (scope.why === 'none' && req.job === undefined && req.host === undefined) {
    const elsewhere = scope.found.filter((i) => i.sources.includes(req.source ?? ''));
    return new StrataError('NOT_FOUND', `no complete set of source ${req.source ?? '?'}${elsewhere.length > 0 ? ` of this machine; other machines have one:\n  ${elsewhere.map(describeIdentity).join('\n  ')}` : ''}`, {
      hint: elsewhere.length > 0 ? 'Pick the machine with --host HOST (a host name or the first digits of its machine id).' : 'strata list shows the sets and their sources.',
    });
  }
  if (scope.why === 'none') {
    const asked = [req.job === undefined ? '' : `job ${req.job}`, req.host === undefined ? '' : `host ${req.host}`, req.source === undefined ? '' : `source ${req.source}`].filter((x) => x !== '').join(', ');
    const found = scope.found.length === 0 ? '' : `; the destination holds:\n  ${scope.found.map(describeIdentity).join('\n  ')}`;
    return new StrataError('NO_REPOSITORY', `no complete set of ${asked} on the destination${found}`, { hint: pick });
  }
  const list = scope.candidates.map(describeIdentity).join('\n  ');
  if (scope.why === 'machines') {
    return new StrataError('USAGE', `the destination holds sets of several machines; strata restores the sets of one:\n  ${list}`, { hint: pick });
  }
  const jobs = [...new Set(scope.candidates.map((c) => c.job))].sort();
  return new StrataError('USAGE', `the destination holds sets of a source named ${scope.source ?? '?'} from several jobs (${jobs.join(', ')}):\n  ${list}`, {
    hint: 'Pick the job with --job NAME or its config file (--config), or one set with --set ID (strata list shows them).',
  });
}

/** runRestore restores the chosen sets into the target folder. */
export async function runRestore(req: RestoreRequest): Promise<RestoredSource[]> {
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
  for (const d of chosen) checkPassword(d, req.password, catalog.complete);
  checkTarget(req.to);
  const results: RestoredSource[] = [];
  for (const d of chosen) {
    const target = chosen.length > 1 ? path.join(req.to, d.source) : req.to;
    // <to>/<source> is strata's to create: a link already there is never followed out of --to.
    if (chosen.length > 1) {
      await mkdirForUser(req.to);
      if (ensureRealFolder(target, d.source, req.overwrite)) await fsp.chmod(target, 0o777 & ~callerUmask());
    }
    results.push(await restoreOne(req, catalog.complete, d, target, catalog.problems));
  }
  return results;
}

async function restoreOne(req: RestoreRequest, complete: readonly Descriptor[], set: Descriptor, target: string, unreadable: readonly { id: string }[] = []): Promise<RestoredSource> {
  const gaps = chainGaps(set, complete, unreadable);
  if (gaps.length > 0) {
    throw new StrataError('DAMAGED', `set ${set.id} cannot be restored: it needs ${gaps.map(describeGap).join('; and ')}`, { hint: 'Restore an earlier or later FULL set instead (strata list).' });
  }
  try {
    return await restoreInto(req, complete, set, target);
  } catch (e) {
    throw targetFsError(e, target);
  }
}

async function restoreInto(req: RestoreRequest, complete: readonly Descriptor[], set: Descriptor, target: string): Promise<RestoredSource> {
  await mkdirForUser(target);
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
    const manifest = await ensureLocalManifest(req.repo, set, req.tools.sevenZip, req.password, path.join(req.workDir, 'manifests'));
    const filter = makePathFilter(req.paths);
    // Pass 1: select entries, check paths and conflicts, write one extraction list per holding set.
    const lists = new Map<string, { file: string; extra: string[]; count: number; stream: ReturnType<typeof createWriteStream> }>();
    const dirs: ManifestEntry[] = [];
    const conflicts: string[] = [];
    const created = new Set<string>();
    const checked = new Set<string>();
    let selected = 0;
    const holders = new Set([set.id, ...set.depends]);
    // Hard links: a later member is made as a link to its group's first member once that is placed.
    // When the first member is not selected, its bytes are still extracted and placed at the first
    // selected member's path instead (`asFirst`: group's first path → that member).
    const hardLinks: ManifestEntry[] = [];
    const asFirst = new Map<string, ManifestEntry>();
    for await (const e of readEntries(manifest)) {
      if (!filter(e.path)) continue;
      if (!isSafeRelativePath(e.path)) throw new StrataError('UNSAFE_PATH', `the manifest of ${set.id} contains an unsafe path ${JSON.stringify(e.path)}`, { hint: 'The set was tampered with; nothing was written.' });
      selected++;
      if (e.type === 'dir') {
        dirs.push(e);
        // A folder goes where a file or a link is now: a conflict like any other, found before anything is written.
        if (!req.overwrite && !emptyTarget && conflicts.length < 20 && !isFolderOrAbsent(path.join(root, e.path))) conflicts.push(e.path);
        continue;
      }
      if (!req.overwrite && !emptyTarget && conflicts.length < 20 && occupied(path.join(root, e.path))) conflicts.push(e.path);
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
          const file = path.join(work, `${lists.size}.list`);
          l = { file, extra: [], count: 0, stream: createWriteStream(file) };
          lists.set(holder, l);
        }
        if (isListFileSafe(member)) l.stream.write(member + '\n');
        else l.extra.push(member);
        l.count++;
      }
    }
    for (const l of lists.values()) {
      l.stream.end();
      await once(l.stream, 'finish');
    }
    if (selected === 0) throw new StrataError('NOT_FOUND', `nothing in set ${set.id} matches ${req.paths.map((p) => JSON.stringify(p)).join(' ')}`, { hint: 'Paths are relative to the source folder; strata history PATH shows a file\'s versions.' });
    if (conflicts.length > 0) {
      throw new StrataError('RESTORE_CONFLICT', `the target already has ${conflicts.length >= 20 ? 'at least 20' : conflicts.length} of the files to restore, e.g. ${conflicts.slice(0, 3).map((c) => JSON.stringify(c)).join(', ')}`, {
        hint: 'Restore into an empty folder (--to DIR) or pass --overwrite to replace them.',
      });
    }
    await makeStaging(staging);
    // Pass 2: per holding set, extract its files and move each into place after its hash matches.
    for (const [holder, l] of lists) {
      const hd = complete.find((d) => d.id === holder);
      if (hd === undefined) throw new StrataError('DAMAGED', `set ${holder} is missing`);
      if (hd.id !== set.id) checkPassword(hd, req.password, complete);
      const mat = await materializeSet(req.repo, hd, work, req.tools.parity, (line) => req.out.info(line));
      result.repairedVolumes.push(...mat.repaired.map((r) => setObjectKey(hd.id, r)));
      if (mat.lostVolumes.length > 0) {
        result.lostVolumes.push(...mat.lostVolumes.map((v) => setObjectKey(hd.id, v)));
        req.out.warn(`set ${hd.id}: beyond repair: ${mat.lostVolumes.join(', ')}; restoring every file that is still intact`);
        // 7-Zip stops at a missing or short volume and then extracts nothing at all; in the work copy a
        // volume of the right length (zeros where data is missing) keeps every other volume's offsets
        // right, so the files outside the lost volumes come back. Their hashes are checked below.
        if (mat.copy) await padLostVolumes(mat.dir, hd, mat.lostVolumes);
      }
      const first = hd.volumes[0];
      const out = path.join(staging, holder);
      let extractError: string | undefined;
      if (first !== undefined) {
        const bar = req.out.progress(`restoring from ${holder}`, 100);
        try {
          // 7-Zip matches a list file against every item (quadratic): when most of the archive is
          // wanted, extracting all of it into staging and picking the wanted files is far faster.
          const all = l.count >= hd.stats.archivedFiles / 2;
          await req.tools.sevenZip.extract({
            archive: path.join(mat.dir, first.name), outDir: out, password: req.password, signal: req.signal, onProgress: (p) => bar.update(p.percent, p.file),
            ...(all ? { anyLinks: true } : { listFile: l.file, extraPaths: l.extra }),
          });
        } catch (e) {
          if (!isStrataError(e) || (e.code !== 'DAMAGED' && e.code !== 'WRONG_PASSWORD' && e.code !== 'TOOL_FAILED')) throw e;
          // Damage beyond repair: keep every file that still checks out, name the rest.
          extractError = mat.lostVolumes.length > 0 ? `volumes lost: ${mat.lostVolumes.join(', ')}` : errorMessage(e);
        } finally {
          bar.done();
        }
      } else {
        extractError = `set ${holder} has no volumes`;
      }
      if (mat.copy) await fsp.rm(mat.dir, { recursive: true, force: true });
      const stagedDirs = new Set<string>();
      for await (const found of readEntries(manifest)) {
        if (found.type !== 'file' || found.link !== undefined || (found.set ?? set.id) !== holder) continue;
        // An unselected first member of a hard-link group gives its bytes to the first selected member.
        const e = filter(found.path) ? found : asFirst.get(found.path);
        if (e === undefined) continue;
        const src = stagedFile(out, found.path, stagedDirs);
        const ok = src === undefined ? 'the archive holds a link or a file where a folder above it belongs' : await verifyExtracted(src, e);
        if (typeof ok === 'string') {
          result.lost.push({ path: e.path, reason: extractError ?? ok });
          continue;
        }
        await placeFile(root, e, req.overwrite, created, checked, ok);
        result.files++;
        result.bytes += e.size;
      }
      await fsp.rm(out, { recursive: true, force: true });
    }
    // Hard links, to the member placed with the bytes (counted once).
    const lostPaths = new Set(result.lost.map((l) => l.path));
    for (const e of hardLinks) {
      const holder = asFirst.get(e.link ?? '') ?? { path: e.link ?? '' };
      if (holder.path === e.path) continue; // it got the bytes itself
      if (lostPaths.has(holder.path) || fs.lstatSync(path.join(root, holder.path), { throwIfNoEntry: false })?.isFile() !== true) {
        result.lost.push({ path: e.path, reason: `a hard link to ${JSON.stringify(e.link)}, which could not be restored` });
        lostPaths.add(e.path);
        continue;
      }
      const dest = await safeParent(root, e.path, created, checked, req.overwrite);
      const existing = fs.lstatSync(dest, { throwIfNoEntry: false });
      if (existing !== undefined) {
        if (!req.overwrite) throw new StrataError('RESTORE_CONFLICT', `${e.path} appeared in the target during the restore`, { hint: 'Restore into an empty folder or pass --overwrite.' });
        fs.rmSync(dest, { recursive: true, force: true });
      }
      fs.linkSync(path.join(root, holder.path), dest);
      result.files++;
      result.hardLinks++;
    }
    // Pass 3: symlinks, then folders (deepest first, so setting a folder's mtime is not undone).
    for await (const e of readEntries(manifest)) {
      if (e.type !== 'symlink' || !filter(e.path)) continue;
      const dest = await safeParent(root, e.path, created, undefined, req.overwrite);
      // recursive: a folder there is replaced too (rm never follows a link, so only the target changes).
      if (req.overwrite) await fsp.rm(dest, { force: true, recursive: true });
      await fsp.symlink(e.target ?? '', dest);
      await fsp.lutimes(dest, nsToSeconds(e.mtimeNs), nsToSeconds(e.mtimeNs));
      result.symlinks++;
    }
    for (const e of dirs) {
      const dest = await safeParent(root, e.path, created, undefined, req.overwrite);
      ensureRealFolder(dest, e.path, req.overwrite);
      result.dirs++;
    }
    // Folders this restore created above a subset (`restore docs/a/x.txt` makes docs and docs/a)
    // get their recorded mode and mtime too, not 0700 and the time of the restore.
    const selectedDirs = new Set(dirs.map((d) => d.path));
    const parents: ManifestEntry[] = [];
    if ([...created].some((c) => !selectedDirs.has(c))) {
      for await (const e of readEntries(manifest)) if (e.type === 'dir' && created.has(e.path) && !selectedDirs.has(e.path)) parents.push(e);
    }
    // Owners, extended attributes and ACLs, where the target's filesystem and privileges allow;
    // what cannot be set is reported, not fatal. Before the folders' mtimes, which it would not
    // change, but after every path exists.
    result.notSet = await restoreMetadata({
      root, manifest, work, filter, skip: lostPaths, owner: req.noOwner !== true && process.getuid?.() === 0, signal: req.signal,
    });
    for (const e of [...dirs, ...parents].sort((a, b) => pathCompare(a.path, b.path)).reverse()) {
      const dest = path.join(root, e.path);
      await fsp.chmod(dest, e.mode);
      await fsp.utimes(dest, nsToSeconds(e.mtimeNs), nsToSeconds(e.mtimeNs));
    }
    return result;
  } finally {
    await fsp.rm(staging, { recursive: true, force: true });
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/**
 * checkTarget refuses a --to that cannot become a folder, before anything is read or written: a
 * file, a path through a file, a dangling symlink. (A symlink to a folder is used as that folder.)
 */
function checkTarget(to: string): void {
  const abs = path.resolve(to);
  const st = statOrUndefined(abs, fs.lstatSync);
  if (st?.isSymbolicLink() === true) {
    const followed = statOrUndefined(abs, fs.statSync);
    if (followed === undefined) {
      throw new StrataError('RESTORE_CONFLICT', `--to ${abs} is a dangling symlink (it points to ${fs.readlinkSync(abs)}, which does not exist)`, {
        hint: 'Create the folder it points to, remove the link, or restore somewhere else (--to DIR).',
      });
    }
    if (!followed.isDirectory()) throw notAFolder(abs, abs);
    return;
  }
  if (st !== undefined) {
    if (!st.isDirectory()) throw notAFolder(abs, abs);
    return;
  }
  // Missing: the nearest existing path above must be a folder (--to file/sub would fail with ENOTDIR).
  for (let dir = path.dirname(abs); ; dir = path.dirname(dir)) {
    const up = statOrUndefined(dir, fs.statSync);
    if (up !== undefined) {
      if (!up.isDirectory()) throw notAFolder(abs, dir);
      return;
    }
    if (path.dirname(dir) === dir) return;
  }
}

/** statOrUndefined is (l)stat, or undefined when nothing is there (ENOENT) or a file is on the way (ENOTDIR). */
function statOrUndefined(p: string, how: (p: string) => fs.Stats): fs.Stats | undefined {
  try {
    return how(p);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

function notAFolder(to: string, what: string): StrataError {
  return new StrataError('RESTORE_CONFLICT', `cannot restore into ${to}: ${what} exists and is not a folder`, {
    hint: 'Restore into a folder (--to DIR): an empty or new one, or an existing one with --overwrite.',
  });
}

const TARGET_ERRNOS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'ENOENT', 'ENOSPC', 'EDQUOT', 'ENAMETOOLONG', 'ELOOP']);

/**
 * targetFsError turns a filesystem failure in the restore target (a read-only folder, a full disk,
 * a path changed under the restore) into an error naming the path, instead of a stack trace.
 */
function targetFsError(e: unknown, target: string): unknown {
  const code = errnoCode(e);
  if (isStrataError(e) || code === undefined || !TARGET_ERRNOS.has(code)) return e;
  const err = e as NodeJS.ErrnoException & { dest?: string };
  const where = err.dest ?? err.path;
  if (typeof where !== 'string') return e;
  if (code === 'ENOSPC' || code === 'EDQUOT') return fromFsError(e, `restoring into ${target}`);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new StrataError('RESTORE_CONFLICT', `cannot write ${where}: permission denied${code === 'EROFS' ? ' (read-only filesystem)' : ''} in the folder ${path.dirname(where)}`, {
      hint: 'Restore as a user who may write there, make the folder writable (chmod u+w), or restore into an empty folder (--to DIR).',
      cause: e,
    });
  }
  return new StrataError('RESTORE_CONFLICT', `cannot write ${where} in the target (${code}): it changed during the restore`, {
    hint: 'Restore into an empty folder (--to DIR) that nothing else writes to.',
    cause: e,
  });
}

/**
 * mkdirForUser creates a missing target folder (and those above it) with the mode the user's own
 * umask gives: strata runs under a private umask for its state folder (config/private-state).
 */
async function mkdirForUser(target: string): Promise<void> {
  const first = await fsp.mkdir(target, { recursive: true });
  if (first === undefined) return;
  const mode = 0o777 & ~callerUmask();
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    await fsp.chmod(dir, mode);
    if (dir === path.resolve(first) || path.dirname(dir) === dir) break;
  }
}

/** STAGING_PREFIX starts the name of restore's work folder inside the target. */
const STAGING_PREFIX = '.strata-restore-';
/** STAGING_MARKER is the file inside that folder that says strata made it, and which process. */
const STAGING_MARKER = '.strata-restore-owner.json';
const STAGING_SIGNATURE = 'strata restore work folder';

/** STAGING_NAME and WORK_NAME match the names of restore's folders in the target and in the state folder. */
const STAGING_NAME = /^\.strata-restore-[0-9a-f]{12}$/;
const WORK_NAME = /^restore-[A-Za-z0-9]{6}$/;

/** makeStaging creates restore's work folder in the target, with its marker. */
async function makeStaging(dir: string): Promise<void> {
  await fsp.mkdir(dir, { mode: 0o700 });
  await writeOwnerMarker(dir);
}

/** writeOwnerMarker marks a folder as this restore's (signature, host, pid, boot id, start time). */
async function writeOwnerMarker(dir: string): Promise<void> {
  const marker = { signature: STAGING_SIGNATURE, ...currentStamp(), host: hostname(), started: new Date().toISOString() };
  await fsp.writeFile(path.join(dir, STAGING_MARKER), JSON.stringify(marker) + '\n', { mode: 0o600, flag: 'wx' });
}

/**
 * sweepStaging removes work folders that a killed restore (kill -9, power loss) left in `root` (the
 * target, or the state folder's work folder): only folders named like strata's, holding strata's
 * marker, whose process on this host is gone. Anything else of that name is left alone.
 */
async function sweepStaging(root: string, pattern: RegExp, what: string, out: Output): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (!pattern.test(name)) continue;
    const dir = path.join(root, name);
    const st = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (st?.isDirectory() !== true) continue;
    let marker: unknown;
    try {
      marker = JSON.parse(await fsp.readFile(path.join(dir, STAGING_MARKER), 'utf8'));
    } catch {
      continue; // no marker: not provably strata's
    }
    if (typeof marker !== 'object' || marker === null) continue;
    const m = marker as Record<string, unknown>;
    if (m['signature'] !== STAGING_SIGNATURE || typeof m['pid'] !== 'number' || m['host'] !== hostname()) continue;
    const stamp: ProcessStamp = { pid: m['pid'] };
    if (typeof m['bootId'] === 'string') stamp.bootId = m['bootId'];
    if (typeof m['procStart'] === 'string') stamp.procStart = m['procStart'];
    if (isStampAlive(stamp)) continue; // a restore into the same target still running
    await fsp.rm(dir, { recursive: true, force: true });
    out.info(`removed ${name}, ${what} (pid ${stamp.pid})`);
  }
}

/** padLostVolumes gives each lost volume of a work copy its recorded length: created when missing, cut or zero-extended otherwise. */
async function padLostVolumes(dir: string, d: Descriptor, lost: readonly string[]): Promise<void> {
  for (const name of lost) {
    const v = d.volumes.find((o) => o.name === name);
    if (v === undefined) continue;
    const fh = await fsp.open(path.join(dir, name), 'a');
    try {
      if ((await fh.stat()).size !== v.size) await fh.truncate(v.size);
    } finally {
      await fh.close();
    }
  }
}

/**
 * nsToSeconds converts a manifest mtime for utimes(), which takes seconds as a double and which
 * libuv truncates to whole microseconds. A double near 2e9 s is only good to ~240 ns, so the exact
 * microsecond often lands just below itself and was truncated one µs early; aiming at the middle
 * of the microsecond makes the truncation land on the manifest's microsecond.
 */
function nsToSeconds(ns: bigint): number {
  // Both BigInt division and libuv truncate toward zero, so before 1970 the middle is below.
  const us = Number(ns / 1000n);
  return (us + (ns < 0n ? -0.5 : 0.5)) / 1e6;
}

/**
 * verifyExtracted checks that an extracted file is a regular file with the manifest's hash.
 * The per-file work of a restore uses synchronous calls on purpose: thousands of small files
 * through the thread pool cost far more in hand-offs than the syscalls themselves.
 */
async function verifyExtracted(file: string, e: ManifestEntry): Promise<Extracted | string> {
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
  let found: Extracted;
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    if (!st.isFile()) return 'the archive holds something other than a regular file there';
    size = Number(st.size);
    found = { file, mode: Number(st.mode & 0o7777n), mtimeNs: st.mtimeNs };
    if (e.sparse === true) {
      // Recorded with holes: copied while hashed, leaving every all-zero block out (a hole).
      const holes = writeWithHoles(fd, `${file}.${randomBytes(6).toString('hex')}.strata-holes`, hash);
      if (holes !== undefined) found = { file: holes, mode: -1, mtimeNs: -1n };
    } else if (size <= SMALL_FILE) {
      hash.update(fs.readFileSync(fd));
    } else {
      for await (const chunk of createReadStream('', { fd, autoClose: false }) as AsyncIterable<Buffer>) hash.update(chunk);
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
function stagedFile(out: string, rel: string, checked: Set<string>): string | undefined {
  for (const a of ancestors(rel)) {
    if (checked.has(a)) continue;
    const st = fs.lstatSync(path.join(out, a), { throwIfNoEntry: false });
    if (st === undefined) break; // not extracted: the open reports it as not found
    if (!st.isDirectory()) return undefined;
    checked.add(a);
  }
  return path.join(out, rel);
}

/** Extracted is a verified file in staging and what 7-Zip left on it: placeFile corrects only what differs. */
interface Extracted {
  file: string;
  mode: number;
  mtimeNs: bigint;
}

/** occupied tells whether something (or a non-folder on the way, ENOTDIR) is at a path. */
function occupied(p: string): boolean {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

/** Files up to this size are hashed from one read. */
const SMALL_FILE = 1 << 20;

/**
 * safeParent creates the folders above a path inside root (never through a symlink) and returns its
 * full path. `created` collects the folders it made; `checked` remembers folders already known to
 * be real folders in this restore, so each is examined once.
 */
async function safeParent(root: string, rel: string, created?: Set<string>, checked?: Set<string>, overwrite = false): Promise<string> {
  for (const a of ancestors(rel)) {
    if (checked?.has(a) === true) continue;
    if (ensureRealFolder(path.join(root, a), a, overwrite, 0o700)) created?.add(a);
    checked?.add(a);
  }
  return path.join(root, rel);
}

/**
 * ensureRealFolder makes `dir` a real folder: keeps a folder that is there, creates a missing one
 * (with `mode`), and replaces a file or a link only with --overwrite (a link is removed, never
 * followed). Returns whether it created the folder.
 */
function ensureRealFolder(dir: string, rel: string, overwrite: boolean, mode?: number): boolean {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (st?.isDirectory() === true) return false;
  if (st !== undefined) {
    if (!overwrite) {
      throw new StrataError('RESTORE_CONFLICT', `${JSON.stringify(rel)} exists in the target and is not a folder${st.isSymbolicLink() ? ' (a symlink)' : ''}`, {
        hint: 'Restore into an empty folder (--to DIR), or pass --overwrite to replace it (a link is removed, never followed).',
      });
    }
    fs.unlinkSync(dir);
  }
  fs.mkdirSync(dir, { mode });
  return true;
}

/** isFolderOrAbsent tells whether a path is free for a folder: nothing there, or a real folder. */
function isFolderOrAbsent(p: string): boolean {
  try {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    return st === undefined || st.isDirectory();
  } catch {
    return false;
  }
}

async function placeFile(root: string, e: ManifestEntry, overwrite: boolean, created: Set<string>, checked: Set<string>, extracted: Extracted): Promise<void> {
  const dest = await safeParent(root, e.path, created, checked, overwrite);
  const existing = fs.lstatSync(dest, { throwIfNoEntry: false });
  if (!overwrite) {
    if (existing !== undefined) throw new StrataError('RESTORE_CONFLICT', `${e.path} appeared in the target during the restore`, { hint: 'Restore into an empty folder or pass --overwrite.' });
  } else if (existing?.isDirectory() === true) {
    fs.rmSync(dest, { recursive: true });
  }
  fs.renameSync(extracted.file, dest);
  // 7-Zip restores the mode and the mtime (to 100 ns) itself; a rename keeps both. Setting them
  // again costs two syscalls per file, and utimes would only round a right mtime to the µs.
  if (extracted.mode !== e.mode) fs.chmodSync(dest, e.mode);
  if (extracted.mtimeNs / 1000n !== e.mtimeNs / 1000n) fs.utimesSync(dest, nsToSeconds(e.mtimeNs), nsToSeconds(e.mtimeNs));
}
