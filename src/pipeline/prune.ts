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
      if (inc.pending?.removing !== true || Repository.isOtherMachine(inc.pending, req.machine) || !Repository.isDebris(inc.pending, now, job)) continue;
      const kept = await repo.removeSetObjects(inc.id, inc.keys);
      swept.push(inc.id);
      out.info(`finished removing set ${inc.id}, left unfinished by an interrupted prune${kept.length > 0 ? ` (kept ${counted(kept.length, 'file')} in its folder that are not strata's)` : ''}`);
    }
    // A prune killed after its marker but before the descriptor went: the set is whole; the plan decides again.
    for (const l of catalog.leftoverPending) {
      if (l.pending?.removing !== true || Repository.isOtherMachine(l.pending, req.machine) || !Repository.isDebris(l.pending, now, job)) continue;
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
  return { now: now.toISOString(), plan, removed, swept };
}
