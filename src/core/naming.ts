/**
 * core/naming: set identifiers, as in the blog post: `YYMMDD_FULL_<source>` / `YYMMDD_INCR_<source>`.
 * A second run of the same type on the same day gets the time appended (`YYMMDD_INCR_docs_143012`),
 * so identifiers stay unique and sort by date.
 */
import { creationTier, type PromotionSet } from './promotion.js';

/** SetType is FULL (every file) or INCR (changes since the previous complete set). */
export type SetType = 'FULL' | 'INCR';

/** Tier is the retention class a set belongs to. */
export type Tier = (typeof TIERS)[number];

/** TIERS lists the tiers from shortest- to longest-lived. */
export const TIERS = ['daily', 'weekly', 'monthly', 'yearly'] as const;

const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** isValidSourceName tells whether a name can be part of a set id and a file name. */
export function isValidSourceName(name: string): boolean {
  return SOURCE_NAME.test(name) && name.length <= 64;
}

function pad(n: number): string {
  return n.toString().padStart(2, '0');
}

/** makeSetId picks the id for a new set, avoiding every id in `taken` (UTC date and time). */
export function makeSetId(at: Date, type: SetType, source: string, taken: ReadonlySet<string>): string {
  const day = `${pad(at.getUTCFullYear() % 100)}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}`;
  const base = `${day}_${type}_${source}`;
  if (!taken.has(base)) return base;
  const time = `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  let id = `${base}_${time}`;
  for (let n = 2; taken.has(id); n++) id = `${base}_${time}-${n}`;
  return id;
}

/** ParsedSetId is what a set id says about itself. */
export interface ParsedSetId {
  day: string;
  type: SetType;
  source: string;
}

/** parseSetId reads a set id back; undefined when the text is not one. */
export function parseSetId(id: string): ParsedSetId | undefined {
  const m = /^(\d{6})_(FULL|INCR)_([A-Za-z0-9][A-Za-z0-9._-]*?)(?:_\d{6}(?:-\d+)?)?$/.exec(id);
  if (m === null) return undefined;
  return { day: m[1] ?? '', type: m[2] === 'FULL' ? 'FULL' : 'INCR', source: m[3] ?? '' };
}

/** weekdayName gives 'monday'…'sunday' for a date (UTC). */
export function weekdayName(at: Date): string {
  return ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'][at.getUTCDay()] ?? 'sunday';
}

/**
 * resolveTier turns `auto` into weekly on the configured weekday, else daily. Given the sets of the
 * source already made (`history`), a scheduled weekly set that the promotion rule already picks
 * (core/promotion creationTier: the 4th weekly of its month, the last `weeklyOn` day of a month or
 * of December) is made monthly or yearly at once. An explicit tier is taken as it is.
 */
export function resolveTier(requested: Tier | 'auto', at: Date, weeklyOn: string, history?: { source: string; sets: readonly PromotionSet[] }): Tier {
  if (requested !== 'auto') return requested;
  if (weekdayName(at) !== weeklyOn.toLowerCase()) return 'daily';
  return history === undefined ? 'weekly' : creationTier(at, history.source, history.sets);
}

/** SET_DATE_MIN and SET_DATE_MAX bound the moments a set id can name: its two-digit year orders 2000–2099 only. */
export const SET_DATE_MIN = Date.UTC(2000, 0, 1);
export const SET_DATE_MAX = Date.UTC(2100, 0, 1) - 1;

/** isNameableDate tells whether a set made at this moment gets an id that sorts with the others (2000-01-01 … 2099-12-31 UTC). */
export function isNameableDate(at: Date): boolean {
  const t = at.getTime();
  return Number.isFinite(t) && t >= SET_DATE_MIN && t <= SET_DATE_MAX;
}
