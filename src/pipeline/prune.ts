/**
 * pipeline/prune: applying the retention plan (core/retention) to one job's sets on a destination.
 *
 * Only the sets of this job made by this machine are planned and removed (core/catalog ownSets);
 * every other set on the destination stays, and keeps what it needs of ours. Each set is checked
 * against the password before anything is removed: a set whose descriptor fails its check is left
 * alone. Sets are removed newest first, each in the crash-safe order of Repository.removeSet, and
 * removal stops at the first failure: a set whose removal did not finish never leaves a kept set
 * without the sets it needs. Removals that a killed prune left unfinished (a folder with a
 * `removing` marker of this job whose process is gone, and no descriptor) are swept first. The
 * local copies of the removed sets' manifests are deleted from the state folder.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Backend } from '../backend/backend.js';
import type { Clock } from '../clock.js';
import { ownSets } from '../core/catalog.js';
import type { Descriptor, MachineRef } from '../core/descriptor.js';
import { planRetention, removalOrder, type RetentionDecision } from '../core/retention.js';
import { counted } from '../core/words.js';
import type { StrataConfig } from '../config/schema.js';
import { StrataError, errorMessage } from '../errors.js';
import { acquireLock } from '../repository/lock.js';
import { Repository, type RemovalStep } from '../repository/repository.js';
import type { Output } from '../ui/output.js';
import { cachedManifestName, isManifestCached } from './manifests.js';
import { checkSetAsync } from './set-check.js';
import { isTaggedForExpiry, lacksKind, retagSet } from './set-tags.js';
import { EXPIRE_TAG } from '../core/cloud/lifecycle-rules.js';
import { parseDestination } from '../core/destination.js';
import { descriptorKey } from '../core/keys.js';

/** PruneRequest is everything one prune needs. */
export interface PruneRequest {
  config: StrataConfig;
  backend: Backend;
  /** The job's state folder (lock, manifest copies). */
  jobDir: string;
  /** The machine whose sets are planned; removal markers name it. */
  machine: MachineRef;
  password: string;
  /** Remove the sets the plan marks (false: plan only). */
  apply: boolean;
  out: Output;
  clock: Clock;
  signal: AbortSignal;
  /** Called after each step of each removal (tests stop a removal between steps). */
  onStep?: (step: RemovalStep, setId: string) => void | Promise<void>;
}

/** PruneResult is what a prune planned and did. */
export interface PruneResult {
  now: string;
  plan: RetentionDecision<Descriptor>[];
  /** Sets removed by this run, newest first. */
  removed: string[];
  /** Unfinished removals of earlier runs that this run completed. */
  swept: string[];
  /** retention.deleteBy: tag — sets tagged for the bucket's lifecycle rule to delete (instead of `removed`), newest first. */
  tagged?: string[];
  /** Kept sets whose tags were brought up to date (the kind tag; an expiry tag a kept set must not carry). */
  retagged?: string[];
}

/** runPrune plans (and with `apply`, carries out under the job lock) the retention of the job's sets. */
export async function runPrune(req: PruneRequest): Promise<PruneResult> {
  const now = req.clock.now();
  // A dry run only reads: it neither waits for a running backup nor writes to the state folder.
  if (!req.apply) return pruneLocked(req, now);
  const lock = await acquireLock(req.jobDir, 'prune', now);
  try {
    return await pruneLocked(req, now);
  } finally {
    await lock.release();
  }
}

async function pruneLocked(req: PruneRequest, now: Date): Promise<PruneResult> {
  const { out } = req;
  const job = req.config.job;
  const repo = new Repository(req.backend);
  const manifests = path.join(req.jobDir, 'manifests');
  let catalog = await repo.catalog();
  const swept: string[] = [];
  if (req.apply) {
    // Removals a killed prune of this job left unfinished: the descriptor is gone already, so the
    // set does not count; only what the marker proves is this job's is removed.
    for (const inc of catalog.incomplete) {
      if (inc.pending?.removing !== true || Repository.markerOwner(inc.pending, req.machine) !== 'this' || !Repository.isDebris(inc.pending, now, job)) continue;
      const kept = await repo.removeSetObjects(inc.id, inc.keys);
      swept.push(inc.id);
      out.info(`finished removing set ${inc.id}, left unfinished by an interrupted prune${kept.length > 0 ? ` (kept ${counted(kept.length, 'file')} in its folder that are not strata's)` : ''}`);
    }
    // A prune killed after its marker but before the descriptor went: the set is whole; the plan decides again.
    for (const l of catalog.leftoverPending) {
      if (l.pending?.removing !== true || Repository.markerOwner(l.pending, req.machine) !== 'this' || !Repository.isDebris(l.pending, now, job)) continue;
      await repo.clearPending(l.id);
    }
    if (swept.length > 0) catalog = await repo.catalog();
  }
  // This job's sets made by this machine; a legacy set (no machine recorded) is this machine's when
  // its manifest is in this job's state folder, as for backup.
  const legacyOwn = new Set<string>();
  for (const d of catalog.complete) if (d.job === job && d.machine === undefined && (await isManifestCached(manifests, d))) legacyOwn.add(d.id);
  const own = ownSets(catalog.complete, job, req.machine.id, (d) => legacyOwn.has(d.id));
  const ownIds = new Set(own.map((d) => d.id));
  const others = catalog.complete.filter((d) => !ownIds.has(d.id));
  // strata removes only what it can prove it made: a set whose descriptor fails its check is kept.
  const unchecked = new Map<string, string>();
  let accepted = false;
  for (const d of [...own].sort((a, b) => Date.parse(b.created) - Date.parse(a.created))) {
    const c = await checkSetAsync(d, req.password, catalog.complete);
    if (c.check === 'ok') accepted = true;
    else if (c.check === 'wrong-password' && !accepted) {
      throw new StrataError('WRONG_PASSWORD', `the password does not match set ${d.id} on ${req.backend.description}`, { hint: 'Use the password the sets were made with.' });
    } else unchecked.set(d.id, c.reason ?? c.check);
  }
  for (const p of catalog.problems) out.warn(`set ${p.id}: ${p.message} (left alone)`);
  const plan = planRetention({ sets: own, others, policy: req.config.retention.tiers, now, unchecked });
  const removed: string[] = [];
  if (req.apply && tagMode(req)) return { now: now.toISOString(), plan, removed, swept, ...(await tagForExpiry(req, plan)) };
  if (req.apply) {
    for (const d of removalOrder(plan)) {
      if (req.signal.aborted) throw new StrataError('CANCELLED', `prune cancelled; removed ${counted(removed.length, 'set')}`);
      try {
        const kept = await repo.removeSet(d.id, now, job, req.machine, (step) => req.onStep?.(step, d.id));
        if (kept.length > 0) out.info(`${d.id}: kept ${counted(kept.length, 'file')} in its folder that are not strata's`);
      } catch (e) {
        // Stop here: the older sets still to be removed may be needed by this one if it is still whole.
        throw new StrataError('BACKEND', `removing set ${d.id} failed after ${counted(removed.length, 'set')} had been removed: ${errorMessage(e)}`, {
          hint: 'Nothing that a kept set needs was removed. Run strata prune --apply again: it finishes what was left unfinished.',
          cause: e,
        });
      }
      removed.push(d.id);
      // The local copy of its manifest goes with it (the stat cache is the newest set's, which is never removed).
      await fsp.rm(path.join(manifests, cachedManifestName(d)), { force: true });
    }
  }
  // Sets made before the kind tag get it (S3), so that lifecycle transitions reach their data.
  const retagged = req.apply && parseDestination(req.config.destination).kind === 's3' ? await retagKept(req, plan) : null;
  return { now: now.toISOString(), plan, removed, swept, ...(retagged !== null && retagged.length > 0 ? { retagged } : {}) };
}

/** tagMode: the job deletes by tag (retention.deleteBy: tag), on an S3 destination. */
function tagMode(req: PruneRequest): boolean {
  return req.config.retention.deleteBy === 'tag' && parseDestination(req.config.destination).kind === 's3';
}

/**
 * tagForExpiry is prune with retention.deleteBy: tag: nothing is deleted. The sets the plan
 * removes get the expiry tag on every object (descriptor last), newest first, and the bucket's
 * lifecycle rule deletes them; a set already tagged (its descriptor is) is not tagged again. A
 * kept set that carries the expiry tag (the retention was lengthened, a set was promoted) loses
 * it, and a kept set made before the kind tag gets it.
 */
async function tagForExpiry(req: PruneRequest, plan: readonly RetentionDecision<Descriptor>[]): Promise<{ tagged: string[]; retagged: string[] }> {
  const tagged: string[] = [];
  const expire = { [EXPIRE_TAG.Key]: EXPIRE_TAG.Value };
  const noTags = (): StrataError =>
    new StrataError('CONFIG', `retention.deleteBy is tag, but ${req.backend.description} keeps no object tags`, { hint: 'Use retention.deleteBy: strata (prune deletes) on this provider.' });
  const retagged = await retagKept(req, plan);
  if (retagged === null) throw noTags();
  for (const d of removalOrder(plan)) {
    if (req.signal.aborted) throw new StrataError('CANCELLED', `prune cancelled; tagged ${counted(tagged.length, 'set')} for deletion`);
    const tags = await descriptorTags(req.backend, d.id);
    if (tags === null) continue; // gone already: the lifecycle rule deleted it
    if (!isTaggedForExpiry(tags) && (await retagSet(req.backend, d, expire, req.signal)) === null) throw noTags();
    tagged.push(d.id);
    await fsp.rm(path.join(req.jobDir, 'manifests', cachedManifestName(d)), { force: true });
  }
  return { tagged, retagged };
}

/**
 * retagKept brings the tags of the kept sets up to date on an S3 destination: a set made before
 * the kind tag gets it (so lifecycle transitions reach its data), and a kept set carrying the
 * expiry tag loses it. The descriptor is retagged last, so a cut run leaves it as it was and the
 * next run does the set again. One stat per kept set. Null: the destination keeps no tags.
 */
async function retagKept(req: PruneRequest, plan: readonly RetentionDecision<Descriptor>[]): Promise<string[] | null> {
  const retagged: string[] = [];
  for (const d of plan.filter((x) => x.keep).map((x) => x.set)) {
    if (req.signal.aborted) throw new StrataError('CANCELLED', 'prune cancelled');
    const tags = await descriptorTags(req.backend, d.id);
    if (tags === null || (!isTaggedForExpiry(tags) && !lacksKind(tags))) continue;
    if ((await retagSet(req.backend, d, {}, req.signal)) === null) return retagged.length === 0 ? null : retagged;
    retagged.push(d.id);
  }
  return retagged;
}

/** descriptorTags are the tags of a set's descriptor: undefined where the destination keeps none, null when it is gone. */
async function descriptorTags(backend: Backend, id: string): Promise<Record<string, string> | undefined | null> {
  try {
    return (await backend.stat(descriptorKey(id))).tags;
  } catch (e) {
    if (e instanceof StrataError && e.code === 'NOT_FOUND') return null;
    throw e;
  }
}
