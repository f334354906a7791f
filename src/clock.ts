/**
 * clock: the one place strata reads the time from. STRATA_NOW (ISO 8601) pins it, so that
 * days, weeks and years of backups can be simulated in tests and demos.
 */
import { StrataError } from './errors.js';

/** Clock returns the current moment. */
export interface Clock {
  now(): Date;
}

/** systemClock reads the real time. */
export const systemClock: Clock = { now: () => new Date() };

/** fixedClock always returns the same moment (tests). */
export function fixedClock(at: Date): Clock {
  return { now: () => new Date(at.getTime()) };
}

/** clockFromEnv honours STRATA_NOW: when set, the clock is pinned to that moment. */
export function clockFromEnv(env: NodeJS.ProcessEnv = process.env): Clock {
  const pinned = env['STRATA_NOW'];
  if (pinned === undefined || pinned === '') return systemClock;
  const at = new Date(pinned);
  if (Number.isNaN(at.getTime())) {
    throw new StrataError('USAGE', `STRATA_NOW is not an ISO 8601 date: ${JSON.stringify(pinned)}`, {
      hint: 'Use a form like 2026-11-29T09:00:00Z, or unset STRATA_NOW.',
    });
  }
  return { now: () => new Date(at.getTime()) };
}
