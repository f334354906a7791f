/**
 * core/catalog: choosing among the complete sets of a destination — the newest set of a source,
 * the set in force at a moment (`restore --at`), and the sets a restore needs.
 *
 * Jobs and machines: a destination may hold the sets of several jobs and several machines (each
 * state folder has its own random machine id). The identity a chain follows is (job, machine id):
 * an INCR is only ever based on a set of the same job and machine, and a restore only ever reads
 * the sets of one. Sets made before strata recorded the machine ("legacy": no `machine`) cannot
 * be told apart by machine: backup chains onto one only when this machine's state proves it made
 * it (the caller decides), and restore reads them together with the machine's own sets of that
 * job (for moments before the machine's own sets began).
 */
import type { Descriptor, MachineRef } from './descriptor.js';

/** SetSummary is what the catalog knows of one complete set. */
export type SetSummary = Pick<Descriptor, 'id' | 'job' | 'source' | 'tier' | 'type' | 'created' | 'base' | 'depends' | 'machine'>;

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

/** newestOfEachSource returns the newest set of each source of each job and machine (they may share source names). */
export function newestOfEachSource<T extends SetSummary>(sets: readonly T[]): T[] {
  const keys = [...new Set(sets.map(identityKey))].sort();
  return keys.flatMap((key) => {
    const ofJob = sets.filter((s) => identityKey(s) === key);
    return sourcesOf(ofJob).map((src) => latestFor(ofJob, src)).filter((s) => s !== undefined);
  });
}

/** identityKey is the (job, machine) a set belongs to, as one string; legacy sets have machine "legacy". */
export function identityKey(s: Pick<SetSummary, 'job' | 'machine'>): string {
  return `${s.job}\u0000${s.machine?.id ?? 'legacy'}`;
}

/**
 * ownSets are the sets an INCR of `job` on this machine may be based on: the job's sets made by
 * this machine, and legacy sets of the job that `isOwnLegacy` vouches for.
 */
export function ownSets<T extends SetSummary>(sets: readonly T[], job: string, machineId: string, isOwnLegacy: (s: T) => boolean): T[] {
  return sets.filter((s) => s.job === job && (s.machine === undefined ? isOwnLegacy(s) : s.machine.id === machineId));
}

/**
 * matchesHost tells whether `--host` names a set's machine: its host name (case-insensitive) or a
 * prefix of its machine id (at least 4 hex digits). `legacy` names the sets without a machine.
 */
export function matchesHost(machine: MachineRef | undefined, host: string): boolean {
  const h = host.trim().toLowerCase();
  if (machine === undefined) return h === 'legacy';
  return machine.host.toLowerCase() === h || (/^[0-9a-f]{4,}$/.test(h) && machine.id.startsWith(h));
}

/** JobIdentity is one job of one machine found on a destination (machine null: legacy sets). */
export interface JobIdentity<T extends SetSummary = SetSummary> {
  job: string;
  machine: MachineRef | null;
  sources: string[];
  newest: T;
  sets: number;
}

/** identitiesOf lists the (job, machine) pairs of a set list, by job, then host, then machine id. */
export function identitiesOf<T extends SetSummary>(sets: readonly T[]): JobIdentity<T>[] {
  const groups = new Map<string, T[]>();
  for (const s of sets) {
    const k = identityKey(s);
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = []));
    g.push(s);
  }
  const out: JobIdentity<T>[] = [];
  for (const g of groups.values()) {
    const newest = [...g].sort(byCreated)[g.length - 1];
    const first = g[0];
    if (newest === undefined || first === undefined) continue;
    out.push({ job: first.job, machine: first.machine ?? null, sources: sourcesOf(g), newest, sets: g.length });
  }
  const hostOf = (i: JobIdentity<T>): string => i.machine?.host ?? '';
  const idOf = (i: JobIdentity<T>): string => i.machine?.id ?? '';
  return out.sort((a, b) => cmp(a.job, b.job) || cmp(hostOf(a), hostOf(b)) || cmp(idOf(a), idOf(b)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** ScopeRequest is what a restore was asked to consider. */
export interface ScopeRequest {
  /** Only this job (--job, or the config file's job). */
  job?: string | undefined;
  /** Only this machine: host name or machine id prefix (--host). */
  host?: string | undefined;
  /** Only this source (--source). */
  source?: string | undefined;
  /** This machine's id, when its state folder has one: its own sets are preferred. */
  machineId?: string | undefined;
}

/** ScopeResult is the sets a restore may read, or why there is no single answer. */
export type ScopeResult<T extends SetSummary> =
  | { ok: true; sets: T[] }
  | { ok: false; why: 'none'; found: JobIdentity<T>[] }
  | { ok: false; why: 'machines' | 'jobs'; candidates: JobIdentity<T>[]; source?: string };

/**
 * restoreScope narrows a destination's sets to those of one machine (and, per source name, one
 * job): --job and --host filter; without --host the machine's own sets are preferred when it has
 * any. Legacy sets of a job stay beside the one machine chosen for that job. More than one machine
 * left, or a source name that several jobs share, has no single answer: the candidates are
 * returned so that the person can pick one.
 */
export function restoreScope<T extends SetSummary>(all: readonly T[], req: ScopeRequest): ScopeResult<T> {
  let sets = all.filter((d) => req.job === undefined || d.job === req.job);
  if (req.host !== undefined) {
    const host = req.host;
    sets = sets.filter((d) => matchesHost(d.machine, host));
  }
  // This machine's own sets win, before --source narrows: a source this machine does not have is
  // not silently taken from another machine (that takes --host).
  if (req.host === undefined && req.machineId !== undefined) {
    const own = sets.filter((d) => d.machine?.id === req.machineId);
    if (own.length > 0) {
      const jobs = new Set(own.map((d) => d.job));
      sets = sets.filter((d) => d.machine?.id === req.machineId || (d.machine === undefined && jobs.has(d.job)));
    }
  }
  if (req.source !== undefined) sets = sets.filter((d) => d.source === req.source);
  if (sets.length === 0) return { ok: false, why: 'none', found: identitiesOf(all) };
  // Legacy sets of a job that also has sets of a recorded machine go with that machine.
  const withMachine = new Set(sets.filter((d) => d.machine !== undefined).map((d) => d.job));
  const identities = identitiesOf(sets.filter((d) => d.machine !== undefined || !withMachine.has(d.job)));
  // A machine's sets of several jobs are one machine (legacy sets count as one unknown machine);
  // several machines are never mixed.
  const machines = new Set(identities.map((i) => i.machine?.id ?? 'legacy'));
  if (machines.size > 1) return { ok: false, why: 'machines', candidates: identitiesOf(sets) };
  for (const src of sourcesOf(sets)) {
    const jobs = identities.filter((i) => i.sources.includes(src));
    if (jobs.length > 1) return { ok: false, why: 'jobs', candidates: jobs, source: src };
  }
  return { ok: true, sets };
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
