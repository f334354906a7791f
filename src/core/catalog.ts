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

/** ChainGap is a set that another set needs for a restore, and why it cannot serve. */
export interface ChainGap {
  id: string;
  /**
   * missing: no such set on the destination; unreadable: its descriptor cannot be read or is not
   * valid (tampered); otherwise the status a verify gave it (damaged, tampered, wrong-password).
   */
  reason: 'missing' | 'unreadable' | 'damaged' | 'tampered' | 'wrong-password';
}

/**
 * chainGaps lists the sets a restore of `set` needs (its `depends`, itself excluded) that cannot
 * serve: not on the destination, with a descriptor that cannot be read, or — given the verdicts of
 * a verify — not intact. Empty: as far as is known, the chain is whole.
 */
export function chainGaps(
  set: SetSummary,
  sets: readonly SetSummary[],
  unreadable: readonly { id: string }[] = [],
  statusOf: ReadonlyMap<string, string> = new Map(),
): ChainGap[] {
  const have = new Set(sets.map((s) => s.id));
  const broken = new Set(unreadable.map((p) => p.id));
  const gaps: ChainGap[] = [];
  for (const id of [...new Set(set.depends)].sort()) {
    if (id === set.id) continue;
    if (broken.has(id)) gaps.push({ id, reason: 'unreadable' });
    else if (!have.has(id)) gaps.push({ id, reason: 'missing' });
    else {
      const status = statusOf.get(id);
      if (status === 'damaged' || status === 'tampered' || status === 'wrong-password') gaps.push({ id, reason: status });
    }
  }
  return gaps;
}

/** describeGap says in words why a needed set cannot serve. */
export function describeGap(g: ChainGap): string {
  switch (g.reason) {
    case 'missing':
      return `set ${g.id}, which is missing from the destination`;
    case 'unreadable':
      return `set ${g.id}, whose descriptor cannot be read or is not valid`;
    case 'damaged':
      return `set ${g.id}, which is DAMAGED`;
    case 'tampered':
      return `set ${g.id}, which has been TAMPERED with`;
    case 'wrong-password':
      return `set ${g.id}, which does not open with this password`;
  }
}

/** withDependencies returns the chosen sets and every set they depend on that is present, oldest first, each once. */
export function withDependencies<T extends SetSummary>(chosen: readonly T[], sets: readonly T[]): T[] {
  const byId = new Map(sets.map((s) => [s.id, s]));
  const out = new Map<string, T>();
  for (const c of chosen) {
    out.set(c.id, c);
    for (const id of c.depends) {
      const d = byId.get(id);
      if (d !== undefined) out.set(d.id, d);
    }
  }
  return [...out.values()].sort(byCreated);
}
