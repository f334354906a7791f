/**
 * pipeline/backup/run: one backup run of a job, under the job lock — housekeeping after
 * interrupted runs (housekeeping.ts), the password check (password.ts), then for each source its
 * base, tier and type, and the set (source.ts: scan → 7-Zip volumes, each uploaded and
 * PAR2-protected while 7-Zip writes the next ones → manifest → descriptor, last → local state and
 * git audit trail).
 *
 * Crash safety: a set counts as complete only once its descriptor exists, and the descriptor is
 * written after every other object is stored and verified. The stat cache and the local manifest
 * copy move forward only after that, so a run killed at any moment makes the next run back up
 * everything changed since the last complete set; the next run also removes the debris.
 */
import * as path from 'node:path';
import { AuditTrail } from '../../audit/audit.js';
import { chainGaps, describeGap, latestFor, ownSets } from '../../core/catalog.js';
import type { Descriptor } from '../../core/descriptor.js';
import { resolveTier, type SetType } from '../../core/naming.js';
import { counted } from '../../core/words.js';
import { StrataError } from '../../errors.js';
import { acquireLock } from '../../repository/lock.js';
import { Repository, type Catalog } from '../../repository/repository.js';
import { isManifestCached } from '../manifests.js';
import { checkSetAsync } from '../set-check.js';
import { prepareStaging, sweepDestination } from './housekeeping.js';
import { PasswordCheck, checkedMarkerKdf } from './password.js';
import { UnusableBase, type RunContext } from './set.js';
import { backupSource } from './source.js';
import type { BackupRequest, BackupResult, JobPaths, SourceResult } from './types.js';

/** jobPaths names the parts of a job's state folder. */
export function jobPaths(jobDir: string): JobPaths {
  return {
    manifests: path.join(jobDir, 'manifests'),
    staging: path.join(jobDir, 'staging'),
    cache: path.join(jobDir, 'cache'),
    audit: path.join(jobDir, 'audit'),
  };
}

/** runBackup performs one backup run under the job lock. */
export async function runBackup(req: BackupRequest): Promise<BackupResult> {
  const now = req.clock.now();
  req.markerChecked?.catch(() => undefined); // awaited under the lock; never an unhandled rejection meanwhile
  const lock = await acquireLock(req.jobDir, 'backup', now);
  try {
    return await backupLocked(req, now);
  } finally {
    await lock.release();
  }
}

async function backupLocked(req: BackupRequest, now: Date): Promise<BackupResult> {
  const { out } = req;
  const paths = jobPaths(req.jobDir);
  const repo = new Repository(req.backend);
  const job = req.config.job;
  // Debris of crashed runs: local staging (except what a resume journal names), and set folders
  // on the destination without a descriptor.
  // The marker's check (scrypt) runs on the thread pool meanwhile: awaited before anything is removed.
  const markerChecked = req.markerChecked ?? checkedMarkerKdf(repo, req.password);
  markerChecked.catch(() => undefined); // awaited by the password check; never an unhandled rejection meanwhile
  const journals = await prepareStaging(paths.staging, req.password, out, () => markerChecked);
  const catalog = await repo.catalog();
  const password = new PasswordCheck(catalog.complete, req.password, req.backend, markerChecked);
  const checkPassword = (): Promise<void> => password.run();
  // A scan started while the password is being checked stops as soon as the check fails (a wrong
  // password must not cost a whole scan before it is reported), and on the run's own cancel.
  const scanStop = new AbortController();
  if (req.signal.aborted) scanStop.abort();
  req.signal.addEventListener('abort', () => scanStop.abort(), { once: true });
  checkPassword().catch(() => scanStop.abort());
  const { candidates, removedDebris } = await sweepDestination(req, repo, catalog, journals, paths.staging, now, checkPassword);
  for (const p of catalog.problems) out.warn(`set ${p.id}: ${p.message}`);
  // Chains follow only this job's sets made by this machine: another machine's set of the same job
  // and source name is never a base (nor its manifest read into this machine's audit trail). A
  // legacy set (made before sets recorded their machine) is this machine's when its manifest is
  // in this job's state folder, where only this machine's backups put it.
  const legacyOwn = new Set<string>();
  for (const d of catalog.complete) if (d.job === job && d.machine === undefined && (await isManifestCached(paths.manifests, d))) legacyOwn.add(d.id);
  const jobSets = ownSets(catalog.complete, job, req.machine.id, (d) => legacyOwn.has(d.id));
  // A set whose descriptor is not valid still holds its folder: its name is taken as well.
  const taken = new Set<string>([...catalog.complete.map((d) => d.id), ...catalog.incomplete.map((i) => i.id), ...catalog.problems.map((p) => p.id)]);
  for (const id of removedDebris) taken.delete(id);
  const audit = new AuditTrail(paths.audit);
  await audit.init();
  for (const f of await audit.clearStaleLocks()) out.info(`removed ${f}, left by a git that was killed`);
  const run: RunContext = {
    req, now, repo, paths, audit, taken, removedDebris, checkPassword, scanSignal: scanStop.signal,
    get kdf() {
      return password.kdf;
    },
  };
  const results: SourceResult[] = [];
  for (const source of req.config.sources) {
    if (req.signal.aborted) throw new StrataError('CANCELLED', 'backup cancelled');
    const newestOfSource = latestFor(jobSets, source.name);
    const tier = resolveTier(req.tier, now, req.config.schedule.weeklyOn, { source: source.name, sets: jobSets });
    const typeOn = (base: Descriptor | undefined): SetType => (tier === 'daily' && base !== undefined ? 'INCR' : 'FULL');
    const fullBecauseNoBase = tier === 'daily' && newestOfSource === undefined;
    if (fullBecauseNoBase) {
      // Sets of the same name by another machine (or an older version, unproven) are never a base: say so.
      const others = catalog.complete.filter((d) => d.job === job && d.source === source.name).length;
      out.info(`${source.name}: no complete set yet${others > 0 ? ` from this machine (the ${counted(others, 'set')} of that job and source on the destination were made by another machine, or by an older strata without a record of this one)` : ''}, so this daily run makes a FULL set`);
    }
    // A base that fails its check is never used: neither its manifest nor its chain is trusted. Its
    // check (scrypt on the thread pool) runs while the source is scanned against it; a base that
    // fails makes the set again without one.
    const baseCheck = newestOfSource === undefined ? Promise.resolve(undefined) : unusableBase(newestOfSource, catalog, req.password, checkPassword);
    baseCheck.catch(() => undefined); // awaited by backupSource; never an unhandled rejection meanwhile
    const candidate = candidates.get(source.name);
    let r: SourceResult;
    try {
      r = await backupSource(run, { source, prev: newestOfSource, tier, type: typeOn(newestOfSource), candidate, baseCheck });
    } catch (e) {
      if (!(e instanceof UnusableBase)) throw e;
      out.warn(`${source.name}: set ${newestOfSource?.id ?? '?'} is not used as a base: ${e.why}; this run makes a FULL set`);
      r = await backupSource(run, { source, prev: undefined, tier, type: typeOn(undefined), candidate, baseCheck: Promise.resolve(undefined) });
    }
    r.fullBecauseNoBase = fullBecauseNoBase;
    results.push(r);
  }
  return { sources: results, removedDebris, partial: results.some((r) => r.errors.length > 0) };
}

/**
 * unusableBase tells why the newest set of a source must not be the base of the next one (undefined:
 * it may): its descriptor fails its check (edited), or a set it depends on is missing or unreadable,
 * so that an INCR on it could never be restored. A wrong password stops the run (checkPassword).
 */
async function unusableBase(prev: Descriptor, catalog: Catalog, password: string, checkPassword: () => Promise<void>): Promise<string | undefined> {
  const c = await checkSetAsync(prev, password, catalog.complete);
  if (c.check === 'wrong-password') await checkPassword();
  if (c.check !== 'ok') return `it fails its check (${c.reason ?? c.check})`;
  const gaps = chainGaps(prev, catalog.complete, catalog.problems);
  if (gaps.length > 0) return `it cannot be restored: it needs ${gaps.map(describeGap).join('; and ')}`;
  return undefined;
}
