/**
 * core/catalog: choosing among the complete sets of a destination — the newest set of a source,
 * the set in force at a moment (`restore --at`), and the sets a restore needs.
 */
import type { Descriptor } from './descriptor.js';

/** SetSummary is what the catalog knows of one complete set. */
export type SetSummary = Pick<Descriptor, 'id' | 'job' | 'source' | 'tier' | 'type' | 'created' | 'base' | 'depends'>;

/** byCreated orders sets oldest first (ties by id). */
export function byCreated(a: SetSummary, b: SetSummary): number {
  const t = Date.parse(a.created) - Date.parse(b.created);
  if (t !== 0) return t;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** latestFor returns the newest set of a source at or before `at` (default: the newest). */
export function latestFor<T extends SetSummary>(sets: readonly T[], source: string, at?: Date): T | undefined {
  let best: T | undefined;
  for (const s of sets) {
    if (s.source !== source) continue;
    if (at !== undefined && Date.parse(s.created) > at.getTime()) continue;
    if (best === undefined || byCreated(best, s) < 0) best = s;
  }
  return best;
}

/** sourcesOf lists the source names present, sorted. */
export function sourcesOf(sets: readonly SetSummary[]): string[] {
  return [...new Set(sets.map((s) => s.source))].sort();
}

/** newestOfEachSource returns the newest set of each source of each job (jobs may share source names). */
export function newestOfEachSource<T extends SetSummary>(sets: readonly T[]): T[] {
  const jobs = [...new Set(sets.map((s) => s.job))].sort();
  return jobs.flatMap((job) => {
    const ofJob = sets.filter((s) => s.job === job);
    return sourcesOf(ofJob).map((src) => latestFor(ofJob, src)).filter((s) => s !== undefined);
  });
}

/** missingDependencies returns the ids a set depends on that are not in the catalog. */
export function missingDependencies(set: SetSummary, sets: readonly SetSummary[]): string[] {
  const have = new Set(sets.map((s) => s.id));
  return set.depends.filter((id) => !have.has(id));
}

/** chainOf returns the base chain of a set: itself, its base, its base's base… (newest first). */
export function chainOf<T extends SetSummary>(set: T, sets: readonly T[]): T[] {
  const byId = new Map(sets.map((s) => [s.id, s]));
  const chain: T[] = [set];
  const seen = new Set([set.id]);
  let cur: T | undefined = set;
  while (cur?.base != null) {
    const next = byId.get(cur.base);
    if (next === undefined || seen.has(next.id)) break;
    chain.push(next);
    seen.add(next.id);
    cur = next;
  }
  return chain;
}
