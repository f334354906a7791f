/**
 * core/promotion: the blog post's automatic tagging — which weekly FULL sets become monthly or
 * yearly — and how much PAR2 recovery data a promoted set gains. Pure: pipeline/promote does the IO.
 *
 * The rule (one rule, applied at creation when the schedule already tells, later otherwise):
 * - The "weekly series" of a source in a calendar month (UTC) is its FULL sets of tier weekly,
 *   monthly or yearly made in that month, in order of creation (a set made monthly or yearly
 *   still counts as one of the month's weekly runs; daily INCR sets never count).
 * - Monthly: the 4th set of the series; when the month ends with fewer than four, its last. That is
 *   one rule, not two: the set at position min(4, n) of a series of n. With one weekly run a week
 *   a month has 4 or 5 of them, so "the 4th" and "the last weekly of the month" differ only in
 *   months with a missed week (the last then stands in for the missing 4th) or with a fifth week
 *   (the 4th is promoted, the 5th stays weekly).
 * - Yearly: the last set of December's series. Yearly wins: when that set is also December's
 *   monthly choice it becomes yearly only (a December of 5 weeks gets a monthly 4th and a yearly 5th).
 * - A month whose series already holds a monthly set (made by hand, or promoted before) gets no
 *   second one; a December that holds a yearly set gets no second one.
 *
 * At creation (`backup --tier auto` on the `weeklyOn` day) the position is known when the set is
 * the 4th of its month, or when no later `weeklyOn` day is left in the month (then it is the
 * last): the set is made monthly (or yearly, the last `weeklyOn` day of December) at once, with
 * that tier's protection, and nothing is read back. planPromotions finds what creation could not
 * know — a month that ended with a missed last week — after the month ends, and a current month
 * that already has four weekly sets without a monthly one (manual `--tier weekly` runs).
 */
import { StrataError } from '../errors.js';
import type { SetType, Tier } from './naming.js';
import { computeGuarantees, makeUnit, sizeClassFor, type Guarantees, type ProtectionConfig, type ProtectionUnit, type Strategy } from './protection/index.js';

/** PromotionSet is what the rules need of a set (a Descriptor fits). */
export interface PromotionSet {
  id: string;
  source: string;
  tier: Tier;
  type: SetType;
  created: string;
}

/** PromotionTier is a tier a set can be promoted to. */
export type PromotionTier = 'monthly' | 'yearly';

/** PromotionDecision is one promotion the rules ask for. */
export interface PromotionDecision {
  id: string;
  source: string;
  from: Tier;
  to: PromotionTier;
  reason: string;
}

const RANK: Record<Tier, number> = { daily: 0, weekly: 1, monthly: 2, yearly: 3 };

/** tierRank orders tiers from shortest- to longest-lived (0 daily … 3 yearly). */
export function tierRank(t: Tier): number {
  return RANK[t];
}

/** MONTH_NAMES are for messages. */
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** monthKey is the calendar month (UTC) of a moment: `2026-12`. */
export function monthKey(at: Date): string {
  return `${at.getUTCFullYear()}-${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
}

function monthLabel(key: string): string {
  const [y, m] = key.split('-');
  return `${MONTH_NAMES[Number(m) - 1] ?? m ?? ''} ${y ?? ''}`;
}

/** isWeeklySeries tells whether a set counts as one of its month's weekly runs. */
export function isWeeklySeries(s: PromotionSet): boolean {
  return s.type === 'FULL' && s.tier !== 'daily';
}

function byCreated(a: PromotionSet, b: PromotionSet): number {
  return Date.parse(a.created) - Date.parse(b.created) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** seriesOf is a source's weekly series in one month, oldest first. */
function seriesOf(sets: readonly PromotionSet[], source: string, month: string): PromotionSet[] {
  return sets.filter((s) => s.source === source && isWeeklySeries(s) && monthKey(new Date(s.created)) === month).sort(byCreated);
}

/** isLastWeekdayOfMonth tells whether no later day of the same month falls on this weekday. */
export function isLastWeekdayOfMonth(at: Date): boolean {
  const daysInMonth = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 0)).getUTCDate();
  return at.getUTCDate() + 7 > daysInMonth;
}

/**
 * creationTier is the tier of a set made now by a scheduled weekly run (`weekly` from resolveTier
 * with `--tier auto`), given the sets of its source already there: monthly when it is the 4th
 * weekly set of the month (or the last `weeklyOn` day has come with fewer than four), yearly on
 * the last `weeklyOn` day of December; weekly otherwise. `existing` may hold any sets (other
 * sources, other months, daily sets): only the source's weekly series of this month count.
 */
export function creationTier(at: Date, source: string, existing: readonly PromotionSet[]): Tier {
  const series = seriesOf(existing, source, monthKey(at)).filter((s) => Date.parse(s.created) <= at.getTime());
  const last = isLastWeekdayOfMonth(at);
  if (last && at.getUTCMonth() === 11 && !series.some((s) => s.tier === 'yearly')) return 'yearly';
  if (series.some((s) => s.tier === 'monthly' || s.tier === 'yearly')) return 'weekly';
  return series.length + 1 >= 4 || last ? 'monthly' : 'weekly';
}

/**
 * planPromotions lists the promotions the rule asks for among `sets` (one job's own complete
 * sets) at `now`: every month that has ended, and the current month once it holds four weekly
 * sets. Sets already at the tier the rule gives, or above, are left alone.
 */
export function planPromotions(sets: readonly PromotionSet[], now: Date): PromotionDecision[] {
  const current = monthKey(now);
  const months = new Map<string, Set<string>>();
  for (const s of sets) {
    if (!isWeeklySeries(s) || Date.parse(s.created) > now.getTime()) continue;
    const m = monthKey(new Date(s.created));
    let sources = months.get(m);
    if (sources === undefined) months.set(m, (sources = new Set()));
    sources.add(s.source);
  }
  const out: PromotionDecision[] = [];
  for (const [month, sources] of [...months.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const ended = month < current;
    for (const source of [...sources].sort()) {
      const series = seriesOf(sets, source, month);
      let yearlyId: string | undefined;
      if (ended && month.endsWith('-12') && !series.some((s) => s.tier === 'yearly')) {
        const last = series[series.length - 1];
        if (last !== undefined) {
          yearlyId = last.id;
          out.push({ id: last.id, source, from: last.tier, to: 'yearly', reason: `the last weekly set of ${monthLabel(month)}` });
        }
      }
      if (series.some((s) => s.tier === 'monthly' || s.tier === 'yearly')) continue;
      if (!ended && series.length < 4) continue;
      const pick = series[Math.min(3, series.length - 1)];
      if (pick === undefined || pick.id === yearlyId) continue;
      const reason = series.length >= 4 ? `the 4th weekly set of ${monthLabel(month)}` : `the last weekly set of ${monthLabel(month)}, which ended with ${series.length} weekly set${series.length === 1 ? '' : 's'}`;
      out.push({ id: pick.id, source, from: pick.tier, to: 'monthly', reason });
    }
  }
  return out;
}

/** checkPromotion says why a set cannot be promoted to `to` (undefined: it can). */
export function checkPromotion(s: PromotionSet, to: PromotionTier): string | undefined {
  if (s.type !== 'FULL') return `${s.id} is an INCR set: only FULL sets are promoted (an INCR needs its chain)`;
  if (tierRank(s.tier) >= tierRank(to)) return `${s.id} is ${s.tier} already${s.tier === to ? '' : `, above ${to}`}`;
  return undefined;
}

/** ExtraRecovery is one unit's further recovery files: par2 create with -f<firstBlock> into `unit.name`. */
export interface ExtraRecovery {
  /** A unit over the same volumes with the same block size: its name is `<original>.f<firstBlock>`,
   * its recoveryBlocks the blocks added. */
  unit: ProtectionUnit;
  /** First recovery block exponent: the original unit's count, so that no block repeats. */
  firstBlock: number;
  /** The original unit it adds to. */
  of: string;
}

/** RaisedProtection is the protection of a set after promotion. */
export interface RaisedProtection {
  sizeClass: string;
  redundancyPercent: number;
  units: ProtectionUnit[];
  guarantees: Guarantees;
  extra: ExtraRecovery[];
}

/** extraUnitName names a unit's further recovery files: `<unit>.f<first>` (par2 repair of `<unit>.par2` loads `<unit>.*.par2`). */
export function extraUnitName(unit: string, firstBlock: number): string {
  return `${unit}.f${firstBlock}`;
}

/** isExtraRecoveryName tells whether a file name inside a set folder is further recovery data made by a promotion. */
export function isExtraRecoveryName(name: string): boolean {
  return /\.f\d+(?:\.vol\d+\+\d+)?\.par2$/.test(name);
}

/**
 * raiseProtection computes what a set's protection becomes at tier `to`: each unit keeps its
 * volumes and block size and gains the recovery blocks the new tier's table (and the whole-volume
 * floor) asks for its size; the blocks are added by par2 with first block = the unit's count.
 * Returns null when no unit needs more blocks.
 */
export function raiseProtection(
  p: { strategy: Strategy; sizeClass: string; redundancyPercent: number; units: readonly ProtectionUnit[] },
  setId: string,
  volumeSizes: readonly number[],
  to: Tier,
  config: ProtectionConfig,
): RaisedProtection | null {
  if (volumeSizes.length === 0 || p.units.length === 0) return null;
  const total = volumeSizes.reduce((a, b) => a + b, 0);
  const rule = sizeClassFor(to, total, config);
  const largest = Math.max(...volumeSizes);
  const extra: ExtraRecovery[] = [];
  const units = p.units.map((u): ProtectionUnit => {
    const first = u.volumes[0];
    const last = u.volumes[u.volumes.length - 1];
    if (first === undefined || last === undefined) throw new StrataError('INTERNAL', `protection unit ${u.name} has no volumes`);
    const want = makeUnit(setId, p.strategy, first, last, volumeSizes, u.blockSize, rule.redundancyPercent, config);
    if (want.sourceBlocks !== u.sourceBlocks) throw new StrataError('INTERNAL', `protection unit ${u.name}: ${want.sourceBlocks} source blocks by the volume sizes, ${u.sourceBlocks} recorded`);
    const add = want.recoveryBlocks - u.recoveryBlocks;
    if (add <= 0) return { ...u };
    const bytes = add * u.blockSize;
    const files = Math.max(1, Math.min(config.maxRecoveryFiles, add, Math.ceil(bytes / largest)));
    extra.push({
      of: u.name,
      firstBlock: u.recoveryBlocks,
      unit: { name: extraUnitName(u.name, u.recoveryBlocks), dir: u.dir, volumes: [...u.volumes], blockSize: u.blockSize, sourceBlocks: u.sourceBlocks, recoveryBlocks: add, recoveryBytes: bytes, recoveryFiles: files },
    });
    return { ...u, recoveryBlocks: want.recoveryBlocks, recoveryBytes: want.recoveryBlocks * u.blockSize, recoveryFiles: u.recoveryFiles + files };
  });
  if (extra.length === 0) return null;
  const higher = rule.redundancyPercent >= p.redundancyPercent;
  return {
    sizeClass: higher ? rule.name : p.sizeClass,
    redundancyPercent: Math.max(rule.redundancyPercent, p.redundancyPercent),
    units,
    guarantees: computeGuarantees(units, volumeSizes),
    extra,
  };
}
