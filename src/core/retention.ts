/**
 * core/retention: how long each tier's sets are kept, and the pure planner that decides, for every
 * set of one job and machine, whether it is kept or removed — and why.
 *
 * Rules (README "Retention"):
 * - a set is within its tier's retention while `now < created + retention` (calendar arithmetic
 *   in UTC for months and years; `forever` never expires);
 * - the newest complete set of each source is never removed, whatever its age, nor the newest one
 *   that can be restored when a newer one cannot (it fails its check, or a set it needs is gone);
 * - a set that a kept set needs is kept: every set its `depends` names (its manifest points at
 *   bytes there) and its `base`, transitively — an INCR keeps its FULL and the INCRs between;
 * - a set whose descriptor fails its check is kept (strata removes only what it can prove it made);
 * - sets of other jobs and machines are never decided here, but a set of ours that one of them
 *   needs is kept as well.
 * Removal runs newest first, so that a run killed midway never leaves a set whose base is gone.
 */
import type { SetSummary } from './catalog.js';
import type { Tier } from './naming.js';

/** DurationUnit is d (days), w (weeks), m (calendar months) or y (calendar years). */
export type DurationUnit = 'd' | 'w' | 'm' | 'y';

/** RetentionDuration is how long a tier's sets are kept: a whole number of units, or forever. */
export type RetentionDuration = { n: number; unit: DurationUnit } | 'forever';

/** RetentionPolicy is the retention of every tier. */
export type RetentionPolicy = Record<Tier, RetentionDuration>;

/** DEFAULT_RETENTION is the blog post's policy: daily 30 days, weekly 90 days, monthly 365 days, yearly 5 years. */
export const DEFAULT_RETENTION: RetentionPolicy = {
  daily: { n: 30, unit: 'd' },
  weekly: { n: 90, unit: 'd' },
  monthly: { n: 365, unit: 'd' },
  yearly: { n: 5, unit: 'y' },
};

/**
 * MIN_DAILY_DAYS is the shortest daily retention accepted: a daily chain runs from one weekly FULL
 * set to the next (7 days with `--tier auto`), and every INCR of it is needed by the newer ones, so
 * a shorter retention could not be honoured (the older INCRs would stay as "needed" anyway).
 */
export const MIN_DAILY_DAYS = 7;

const UNIT_WORDS: Record<DurationUnit, [string, string]> = { d: ['day', 'days'], w: ['week', 'weeks'], m: ['month', 'months'], y: ['year', 'years'] };

/** parseRetention reads `30d`, `12w`, `6m`, `5y` or `forever`; a string is the problem in words. */
export function parseRetention(v: unknown): RetentionDuration | { problem: string } {
  if (typeof v === 'number') return { problem: `expected a duration with a unit, such as ${v}d (d days, w weeks, m months, y years) or forever, got the number ${v}` };
  if (typeof v !== 'string') return { problem: 'expected a duration such as 30d, 12w, 6m, 5y, or forever' };
  const text = v.trim().toLowerCase();
  if (text === 'forever') return 'forever';
  const m = /^([+-]?\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(text);
  if (m === null) return { problem: `expected a duration such as 30d, 12w, 6m, 5y, or forever, got ${JSON.stringify(v)}` };
  const n = Number(m[1]);
  const unit = m[2] ?? '';
  if (unit === '') return { problem: `${JSON.stringify(v)} has no unit: write ${m[1] ?? ''}d (days), ${m[1] ?? ''}w (weeks), ${m[1] ?? ''}m (months) or ${m[1] ?? ''}y (years)` };
  if (!['d', 'w', 'm', 'y'].includes(unit)) return { problem: `unknown unit "${unit}" in ${JSON.stringify(v)}: use d (days), w (weeks), m (months) or y (years), or forever` };
  if (!Number.isInteger(n)) return { problem: `expected a whole number of ${UNIT_WORDS[unit as DurationUnit][1]}, got ${JSON.stringify(v)}` };
  if (n <= 0) return { problem: `must be more than zero, got ${JSON.stringify(v)} (to keep sets without limit, write forever)` };
  if (n > 1000) return { problem: `${JSON.stringify(v)} is longer than strata can name a date; write forever to keep sets without limit` };
  return { n, unit: unit as DurationUnit };
}

/** formatRetention writes a duration as in the config: `30d`, `5y`, `forever`. */
export function formatRetention(d: RetentionDuration): string {
  return d === 'forever' ? 'forever' : `${d.n}${d.unit}`;
}

/** describeRetention writes a duration in words: `30 days`, `1 year`, `forever`. */
export function describeRetention(d: RetentionDuration): string {
  if (d === 'forever') return 'forever';
  const [one, many] = UNIT_WORDS[d.unit];
  return `${d.n} ${d.n === 1 ? one : many}`;
}

/** minDays is the fewest days a duration can span (a month 28, a year 365); Infinity for forever. */
export function minDays(d: RetentionDuration): number {
  if (d === 'forever') return Infinity;
  return d.n * { d: 1, w: 7, m: 28, y: 365 }[d.unit];
}

/** maxDays is the most days a duration can span (a month 31, a year 366); Infinity for forever. */
export function maxDays(d: RetentionDuration): number {
  if (d === 'forever') return Infinity;
  return d.n * { d: 1, w: 7, m: 31, y: 366 }[d.unit];
}

/** notShorter tells whether `a` is at least as long as `b` whatever the calendar (same unit: by count). */
function notShorter(a: RetentionDuration, b: RetentionDuration): boolean {
  if (a === 'forever') return true;
  if (b === 'forever') return false;
  if (a.unit === b.unit) return a.n >= b.n;
  return minDays(a) >= maxDays(b);
}

/** PolicyProblem is one tier whose retention is refused, and why. */
export interface PolicyProblem {
  tier: Tier;
  message: string;
}

/**
 * policyProblems checks the rules that relate tiers: the daily retention covers at least one daily
 * chain (MIN_DAILY_DAYS), and each FULL tier (weekly, monthly, yearly — the bases of daily chains)
 * keeps its sets at least as long as the daily sets built on them.
 */
export function policyProblems(p: RetentionPolicy): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  if (minDays(p.daily) < MIN_DAILY_DAYS) {
    out.push({
      tier: 'daily',
      message: `${formatRetention(p.daily)} is shorter than a daily chain: the INCR sets from one weekly FULL set to the next (${MIN_DAILY_DAYS} days) need each other and would be kept anyway; use at least ${MIN_DAILY_DAYS}d (1w)`,
    });
  }
  for (const tier of ['weekly', 'monthly', 'yearly'] as const) {
    if (notShorter(p[tier], p.daily)) continue;
    out.push({
      tier,
      message: `${formatRetention(p[tier])} is shorter than retention.daily (${formatRetention(p.daily)}): a ${tier} FULL set is the base of the daily INCR sets made after it, which need it as long as they are kept; use at least ${formatRetention(p.daily)}`,
    });
  }
  return out;
}

/** expiresAt is the moment a set created at `created` leaves its retention; null: never. */
export function expiresAt(created: Date, d: RetentionDuration): Date | null {
  if (d === 'forever') return null;
  const t = new Date(created.getTime());
  switch (d.unit) {
    case 'd':
      return new Date(t.getTime() + d.n * 86_400_000);
    case 'w':
      return new Date(t.getTime() + d.n * 7 * 86_400_000);
    case 'm':
      return addMonths(t, d.n);
    case 'y':
      return addMonths(t, 12 * d.n);
  }
}

/** addMonths adds calendar months in UTC; a day the month lacks becomes its last day (31 Jan + 1m = 28/29 Feb). */
function addMonths(t: Date, months: number): Date {
  const y = t.getUTCFullYear();
  const m = t.getUTCMonth() + months;
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const out = new Date(t.getTime());
  out.setUTCFullYear(y, m, Math.min(t.getUTCDate(), last));
  return out;
}

/** Keep reasons, strongest first: the text of a decision names the first that applies. */
export type RetentionReason =
  | { kind: 'newest'; source: string; restorable?: true }
  | { kind: 'within'; tier: Tier; retention: RetentionDuration; until: string | null }
  | { kind: 'unchecked'; why: string }
  | { kind: 'needed'; by: string[]; foreign: string[] }
  | { kind: 'expired'; tier: Tier; retention: RetentionDuration; expired: string };

/** RetentionDecision is what the planner decided for one set. */
export interface RetentionDecision<T extends PlanSet = PlanSet> {
  set: T;
  keep: boolean;
  reason: RetentionReason;
  /** Whole days from the set's time to now (negative: a set from the future, kept). */
  ageDays: number;
  /** Every kept set (ours or, marked foreign, another job's or machine's) that needs this one. */
  neededBy: string[];
}

/** PlanSet is what the planner reads of a set. */
export type PlanSet = Pick<SetSummary, 'id' | 'source' | 'tier' | 'type' | 'created' | 'base' | 'depends'>;

/** RetentionInput is everything a plan is made from. */
export interface RetentionInput<T extends PlanSet> {
  /** The sets of this job and machine (core/catalog ownSets): the only ones that may be removed. */
  sets: readonly T[];
  /** Every other complete set on the destination: always kept, and a set of ours they need is kept. */
  others?: readonly PlanSet[];
  policy: RetentionPolicy;
  now: Date;
  /** Sets whose descriptor fails its check, with why: kept, and what they name is kept. */
  unchecked?: ReadonlyMap<string, string>;
}

/** byTime orders sets oldest first (ties by id). */
function byTime(a: PlanSet, b: PlanSet): number {
  return Date.parse(a.created) - Date.parse(b.created) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** needs lists the sets `s` cannot be restored (or continued) without: its depends and its base. */
function needs(s: PlanSet): string[] {
  const out = new Set(s.depends.filter((d) => d !== s.id));
  if (s.base !== null && s.base !== s.id) out.add(s.base);
  return [...out];
}

/**
 * planRetention decides every set of `sets`, oldest first. Pure: the same input gives the same
 * plan; the caller removes the sets marked `keep: false`, newest first (removalOrder).
 */
export function planRetention<T extends PlanSet>(input: RetentionInput<T>): RetentionDecision<T>[] {
  const now = input.now.getTime();
  const sets = [...input.sets].sort(byTime);
  const ours = new Map(sets.map((s) => [s.id, s]));
  // The newest set of each source is kept, and so is the newest one that can be restored (it
  // passes its check and every set it needs is there and can be restored too) when a newer one
  // cannot: a broken or edited newest set must never cost the last good state.
  const all = new Map<string, PlanSet>([...(input.others ?? []), ...sets].map((s) => [s.id, s]));
  const usable = new Map<string, boolean>();
  const isUsable = (id: string, seen: Set<string> = new Set()): boolean => {
    const known = usable.get(id);
    if (known !== undefined) return known;
    const s = all.get(id);
    let ok = s !== undefined && input.unchecked?.has(id) !== true && !seen.has(id);
    if (ok && s !== undefined) {
      seen.add(id);
      ok = needs(s).every((n) => isUsable(n, seen));
    }
    usable.set(id, ok);
    return ok;
  };
  const newest = new Map<string, T>();
  const newestUsable = new Map<string, T>();
  for (const s of sets) {
    newest.set(s.source, s); // oldest first: the last one wins
    if (isUsable(s.id)) newestUsable.set(s.source, s);
  }
  const decisions = new Map<string, RetentionDecision<T>>();
  for (const s of sets) {
    const created = new Date(s.created);
    const retention = input.policy[s.tier];
    const until = expiresAt(created, retention);
    const ageDays = Math.floor((now - created.getTime()) / 86_400_000);
    const why = input.unchecked?.get(s.id);
    let reason: RetentionReason;
    if (newest.get(s.source)?.id === s.id) reason = { kind: 'newest', source: s.source };
    else if (newestUsable.get(s.source)?.id === s.id) reason = { kind: 'newest', source: s.source, restorable: true };
    else if (until === null || now < until.getTime()) reason = { kind: 'within', tier: s.tier, retention, until: until === null ? null : until.toISOString() };
    else if (why !== undefined) reason = { kind: 'unchecked', why };
    else reason = { kind: 'expired', tier: s.tier, retention, expired: until.toISOString() };
    decisions.set(s.id, { set: s, keep: reason.kind !== 'expired', reason, ageDays, neededBy: [] });
  }
  // What the kept sets need is kept, transitively. Another job's or machine's set is kept by
  // definition: what it needs of ours stays too.
  const foreign = new Set<string>();
  const queue: PlanSet[] = [...sets.filter((s) => decisions.get(s.id)?.keep === true), ...(input.others ?? [])];
  for (const o of input.others ?? []) foreign.add(o.id);
  for (let i = 0; i < queue.length; i++) {
    const k = queue[i];
    if (k === undefined) continue;
    for (const id of needs(k)) {
      const d = decisions.get(id);
      if (d === undefined || !ours.has(id)) continue;
      if (!d.neededBy.includes(k.id)) d.neededBy.push(k.id);
      if (d.keep) continue;
      d.keep = true;
      queue.push(d.set);
    }
  }
  const time = new Map<string, PlanSet>([...(input.others ?? []), ...sets].map((s) => [s.id, s]));
  const order = (a: string, b: string): number => {
    const x = time.get(a);
    const y = time.get(b);
    return x !== undefined && y !== undefined ? byTime(x, y) : a < b ? -1 : a > b ? 1 : 0;
  };
  for (const d of decisions.values()) {
    d.neededBy.sort(order);
    if (d.reason.kind === 'expired' && d.keep) d.reason = { kind: 'needed', by: d.neededBy.filter((id) => !foreign.has(id)), foreign: d.neededBy.filter((id) => foreign.has(id)) };
  }
  return sets.map((s) => decisions.get(s.id)).filter((d) => d !== undefined);
}

/** removalOrder lists the sets a plan removes, newest first: a dependent always goes before what it needs. */
export function removalOrder<T extends PlanSet>(plan: readonly RetentionDecision<T>[]): T[] {
  return plan.filter((d) => !d.keep).map((d) => d.set).sort((a, b) => byTime(b, a));
}

/** describeReason words a decision for `strata prune`. */
export function describeReason(d: RetentionDecision): string {
  const r = d.reason;
  switch (r.kind) {
    case 'newest':
      return r.restorable === true ? `newest set of ${r.source} that can be restored (a newer one cannot)` : `newest complete set of ${r.source}`;
    case 'within':
      return r.until === null ? `${r.tier}, kept forever` : `${r.tier}, within ${formatRetention(r.retention)} (until ${r.until.slice(0, 10)})`;
    case 'unchecked':
      return `its descriptor fails its check (${r.why}): left alone`;
    case 'needed': {
      // The newest kept set of ours that needs it is named; another job's or machine's only when no set of ours does.
      const named = r.by.length > 0 ? r.by[r.by.length - 1] : r.foreign[r.foreign.length - 1];
      const others = r.by.length + r.foreign.length - 1;
      const more = others > 0 ? ` (and ${others} more)` : '';
      return r.by.length > 0 ? `needed by kept set ${named ?? '?'}${more}` : `needed by set ${named ?? '?'} of another job or machine${more}`;
    }
    case 'expired':
      return `expired: ${r.tier}, older than ${formatRetention(r.retention)} (since ${r.expired.slice(0, 10)})`;
  }
}

/** formatPlan renders a plan as `strata prune` prints it: one line per set, oldest first, then a count. */
export function formatPlan(plan: readonly RetentionDecision[]): string[] {
  const idWidth = Math.max(24, ...plan.map((d) => d.set.id.length));
  const lines = [`${'SET'.padEnd(idWidth)}  ${'TIER'.padEnd(7)}  TYPE  ${'CREATED'.padEnd(16)}  ${'AGE'.padStart(5)}  ${'DECISION'.padEnd(8)}  REASON`];
  for (const d of plan) {
    lines.push(
      `${d.set.id.padEnd(idWidth)}  ${d.set.tier.padEnd(7)}  ${d.set.type.padEnd(4)}  ${d.set.created.slice(0, 16).replace('T', ' ')}  ${`${d.ageDays}d`.padStart(5)}  ${(d.keep ? 'keep' : 'REMOVE').padEnd(8)}  ${describeReason(d)}`,
    );
  }
  lines.push(summarizePlan(plan));
  return lines;
}

/** summarizePlan says in one line how many sets a plan keeps and removes, by tier. */
export function summarizePlan(plan: readonly RetentionDecision[]): string {
  const count = (keep: boolean): string => {
    const byTier = new Map<string, number>();
    for (const d of plan) if (d.keep === keep) byTier.set(d.set.tier, (byTier.get(d.set.tier) ?? 0) + 1);
    const n = [...byTier.values()].reduce((a, b) => a + b, 0);
    const parts = ['daily', 'weekly', 'monthly', 'yearly'].filter((t) => byTier.has(t)).map((t) => `${byTier.get(t) ?? 0} ${t}`);
    return `${n}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
  };
  return `keep ${count(true)}, remove ${count(false)}`;
}
