/**
 * The README's lifecycle rules for daily `--tier auto` runs with `weeklyOn: sunday`, written here
 * independently of src/: which tier and type each run makes, and which sets retention keeps. The
 * pure planner test (test/core/lifecycle.test.ts) checks src/core's planners against it over whole
 * calendars; the end-to-end test (test/e2e/lifecycle.test.ts) checks real CLI runs against it.
 */

export const DAY = 24 * 3600 * 1000;

export type Tier = 'daily' | 'weekly' | 'monthly' | 'yearly';

/** Predicted is one set a run makes. */
export interface Predicted {
  id: string;
  at: number;
  tier: Tier;
  type: 'FULL' | 'INCR';
  /** The sets a restore of it reads (itself included): back to its FULL. */
  chain: string[];
}

export function yymmdd(d: Date): string {
  return d.toISOString().slice(2, 10).replace(/-/g, '');
}

/**
 * predictTier is the README's rule for `--tier auto` with `weeklyOn: sunday`: weekdays are daily;
 * a Sunday is weekly, except the 4th weekly set made in its month, or the month's last Sunday when
 * the month has fewer than four weekly sets by then, which is monthly — and December's last Sunday,
 * which is yearly. `weeklyBefore` is how many weekly-series sets this month already has.
 */
export function predictTier(d: Date, weeklyBefore: number): Tier {
  if (d.getUTCDay() !== 0) return 'daily';
  const lastSunday = new Date(d.getTime() + 7 * DAY).getUTCMonth() !== d.getUTCMonth();
  if (d.getUTCMonth() === 11 && lastSunday) return 'yearly';
  const nth = weeklyBefore + 1;
  if (nth === 4 || (lastSunday && nth < 4)) return 'monthly';
  return 'weekly';
}

/** predictSets is every set the runs make: a FULL on Sundays and on the very first run, else an INCR on the one before. */
export function predictSets(days: readonly Date[], source: string): Predicted[] {
  const out: Predicted[] = [];
  for (const d of days) {
    const month = d.toISOString().slice(0, 7);
    const weeklyBefore = out.filter((p) => p.tier !== 'daily' && new Date(p.at).toISOString().slice(0, 7) === month).length;
    const tier = predictTier(d, weeklyBefore);
    const prev = out.at(-1);
    const type = tier !== 'daily' || prev === undefined ? 'FULL' : 'INCR';
    const id = `${yymmdd(d)}_${type}_${source}`;
    out.push({ id, at: d.getTime(), tier, type, chain: type === 'FULL' || prev === undefined ? [id] : [id, ...prev.chain] });
  }
  return out;
}

/** predictKept applies the README's retention rules at `now`: within the tier's time, the newest, and what a kept set needs. */
export function predictKept(sets: readonly Predicted[], now: number, retentionDays: Record<Tier, number>): string[] {
  const keep = new Set<string>();
  for (const s of sets) if (now < s.at + retentionDays[s.tier] * DAY) keep.add(s.id);
  const newest = sets.at(-1);
  if (newest !== undefined) keep.add(newest.id);
  for (const s of sets) if (keep.has(s.id)) for (const c of s.chain) keep.add(c);
  return sets.filter((s) => keep.has(s.id)).map((s) => s.id);
}

/**
 * predictRuns follows the runs one by one, each pruning after itself: the set each run makes and
 * the sets its prune removes (ids sorted), and the sets left after it.
 */
export function predictRuns(days: readonly Date[], source: string, retentionDays: Record<Tier, number>): { made: Predicted; removed: string[]; left: string[] }[] {
  const all = predictSets(days, source);
  const out: { made: Predicted; removed: string[]; left: string[] }[] = [];
  let left: string[] = [];
  for (const [i, made] of all.entries()) {
    const kept = predictKept(all.slice(0, i + 1), made.at, retentionDays);
    const removed = [...left, made.id].filter((id) => !kept.includes(id)).sort();
    left = kept;
    out.push({ made, removed, left });
  }
  return out;
}

/** daysFrom is `n` consecutive days at 09:00 UTC from `first` (YYYY-MM-DD). */
export function daysFrom(first: string, n: number): Date[] {
  const start = Date.parse(`${first}T09:00:00Z`);
  return Array.from({ length: n }, (_, i) => new Date(start + i * DAY));
}

/** DEFAULT_DAYS is the default retention (daily 30d, weekly 90d, monthly 365d, yearly 5y) in days. */
export const DEFAULT_DAYS: Record<Tier, number> = { daily: 30, weekly: 90, monthly: 365, yearly: 5 * 365 };
