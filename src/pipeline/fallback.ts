/**
 * pipeline/fallback: objects a destination has lost, taken from another destination of the job
 * (`destinations:`) that holds the same set — the same volumes and manifest (core/replicate
 * contentHash: a copy not promoted yet still counts) — each checked against the SHA-256 the
 * descriptor read here records. Restore uses it for volumes missing or
 * damaged beyond PAR2 repair, and for a manifest beyond repair.
 */
import * as path from 'node:path';
import type { Descriptor, StoredObject } from '../core/descriptor.js';
import { setObjectKey } from '../core/keys.js';
import { contentHash } from '../core/replicate.js';
import { isStrataError } from '../errors.js';
import type { Repository } from '../repository/repository.js';

/** OtherDestination is another destination of the job, opened only when needed. */
export interface OtherDestination {
  name: string;
  open(): Promise<Repository>;
}

/** holdersOf lists the other destinations holding the same set as `d` (contentHash: the same volumes and manifest, promoted or not; unreachable ones are passed over). */
export async function holdersOf(others: readonly OtherDestination[], d: Descriptor): Promise<{ name: string; repo: Repository }[]> {
  const want = contentHash(d);
  const out: { name: string; repo: Repository }[] = [];
  for (const o of others) {
    try {
      const repo = await o.open();
      if (contentHash(await repo.readDescriptor(d.id)) === want) out.push({ name: o.name, repo });
    } catch (e) {
      if (isStrataError(e, 'CANCELLED')) throw e;
    }
  }
  return out;
}

/**
 * takeFromOthers downloads each of `objects` into `dir` from the first other destination holding
 * an intact copy of the same set; returns, per object taken, the destination it came from.
 */
export async function takeFromOthers(others: readonly OtherDestination[], d: Descriptor, objects: readonly StoredObject[], dir: string): Promise<Map<string, string>> {
  const taken = new Map<string, string>();
  if (others.length === 0 || objects.length === 0) return taken;
  const holders = await holdersOf(others, d);
  for (const o of objects) {
    for (const h of holders) {
      try {
        await h.repo.download(setObjectKey(d.id, o.name), path.join(dir, o.name), { size: o.size, sha256: o.sha256 });
        taken.set(o.name, h.name);
        break;
      } catch (e) {
        if (isStrataError(e) && (e.code === 'CANCELLED' || e.code === 'DISK_FULL')) throw e;
      }
    }
  }
  return taken;
}

/**
 * fromOthers retries `attempt` (which failed here with `error`) on each other destination holding
 * the same set, for damage or loss only (DAMAGED: beyond PAR2 repair; NOT_FOUND); `said` names the one that served.
 * Rethrows `error` when none can.
 */
export async function fromOthers<T>(others: readonly OtherDestination[] | undefined, d: Descriptor, error: unknown, attempt: (repo: Repository) => Promise<T>, said: (name: string) => void): Promise<T> {
  if (others === undefined || !(isStrataError(error, 'DAMAGED') || isStrataError(error, 'NOT_FOUND'))) throw error;
  for (const h of await holdersOf(others, d)) {
    try {
      const r = await attempt(h.repo);
      said(h.name);
      return r;
    } catch (e) {
      if (isStrataError(e, 'CANCELLED')) throw e;
    }
  }
  throw error;
}
