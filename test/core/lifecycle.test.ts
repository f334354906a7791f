/**
 * The lifecycle of daily `--tier auto` runs (issue 9, "Done when"), run through src/core's pure
 * planners the way a config-driven backup chains them: resolveTier (creation tier, core/naming and
 * core/promotion), planPromotions after the run, then planRetention and removalOrder (the prune
 * after each run, retention.pruneAfterBackup). Over whole calendars — four months with the default
 * retention, three weeks with daily 7d / weekly 14d — every run's set, its tier and type, and the
 * sets left after its prune equal the README's rules as test/helpers/lifecycle-predict.ts computes
 * them independently of src/; the day-by-day history is a golden file.
 *
 * Real CLI runs that cross each of these transitions are in test/e2e/lifecycle.test.ts.
 *
 * To regenerate the golden files after an intended change, run with STRATA_UPDATE_GOLDEN=1:
 *   STRATA_UPDATE_GOLDEN=1 node --test dist/test/core/lifecycle.test.js
 * (it writes test/golden/lifecycle/*.txt in the source tree) and review the diff.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolveTier } from '../../src/core/naming.js';
import { planPromotions } from '../../src/core/promotion.js';
import { DEFAULT_RETENTION, planRetention, removalOrder, type PlanSet, type RetentionPolicy } from '../../src/core/retention.js';
import { DEFAULT_DAYS, daysFrom, predictRuns, predictSets, type Tier } from '../helpers/lifecycle-predict.js';

const GOLDEN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/golden/lifecycle');
const UPDATE = process.env['STRATA_UPDATE_GOLDEN'] === '1';

/** golden compares `text` with a golden file (or writes it with STRATA_UPDATE_GOLDEN=1). */
function golden(name: string, text: string): void {
  const file = path.join(GOLDEN_DIR, name);
  if (UPDATE) {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, text);
    return;
  }
  let want: string;
  try {
    want = readFileSync(file, 'utf8');
  } catch {
    assert.fail(`golden file ${file} is missing: run with STRATA_UPDATE_GOLDEN=1 to write it`);
  }
  assert.equal(text, want, `${name} differs from the golden file (STRATA_UPDATE_GOLDEN=1 rewrites it; review the diff)`);
}

interface Run {
  at: Date;
  id: string;
  tier: Tier;
  type: 'FULL' | 'INCR';
  promoted: string[];
  removed: string[];
  left: PlanSet[];
}

/**
 * planRuns runs the planners once a day as `backup --tier auto` (weeklyOn sunday) with
 * pruneAfterBackup does: the tier from the job's sets, a FULL for a non-daily tier or the first
 * run (else an INCR on the newest set, needing its chain), promotions, then the prune.
 */
function planRuns(days: readonly Date[], source: string, policy: RetentionPolicy): Run[] {
  let sets: PlanSet[] = [];
  const out: Run[] = [];
  for (const at of days) {
    const tier = resolveTier('auto', at, 'sunday', { source, sets });
    const prev = sets.at(-1);
    const type = tier === 'daily' && prev !== undefined ? 'INCR' : 'FULL';
    const id = `${at.toISOString().slice(2, 10).replace(/-/g, '')}_${type}_${source}`;
    const depends = type === 'FULL' || prev === undefined ? [id] : [...prev.depends, id];
    sets.push({ id, source, tier, type, created: at.toISOString(), base: type === 'INCR' && prev !== undefined ? prev.id : null, depends });
    const promotions = planPromotions(sets, at);
    for (const p of promotions) sets = sets.map((s) => (s.id === p.id ? { ...s, tier: p.to } : s));
    const removed = removalOrder(planRetention({ sets, policy, now: at })).map((s) => s.id);
    sets = sets.filter((s) => !removed.includes(s.id));
    out.push({ at, id, tier, type, promoted: promotions.map((p) => `${p.id} ${p.from}->${p.to}`), removed: [...removed].sort(), left: [...sets] });
  }
  return out;
}

function count(sets: readonly PlanSet[]): string {
  const c = (t: Tier): number => sets.filter((s) => s.tier === t).length;
  return `${c('daily')}d ${c('weekly')}w ${c('monthly')}m ${c('yearly')}y`;
}

/** history is the golden text: one line per run, then the sets left after the last. */
function history(title: string, runs: readonly Run[]): string {
  const wd = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const lines = [`# ${title}`, '# day            made                     left after the prune   removed by the prune'];
  for (const r of runs) {
    const made = `${r.id} ${r.tier}`.padEnd(24);
    lines.push(`${r.at.toISOString().slice(0, 10)} ${wd[r.at.getUTCDay()] ?? ''}   ${made} ${String(r.left.length).padStart(3)} (${count(r.left)})   ${r.removed.join(' ')}${r.promoted.length > 0 ? `  promoted: ${r.promoted.join(' ')}` : ''}`.trimEnd());
  }
  const last = runs.at(-1)?.left ?? [];
  lines.push('', `# left after the last run (${last.length})`, ...last.map((s) => `${s.id} ${s.tier}`));
  return lines.join('\n') + '\n';
}

/** checkAgainstPrediction: every run made the predicted set, and left exactly the predicted sets. */
function checkAgainstPrediction(runs: readonly Run[], days: readonly Date[], retentionDays: Record<Tier, number>): void {
  const predicted = predictRuns(days, 'docs', retentionDays);
  assert.equal(runs.length, predicted.length);
  for (const [i, r] of runs.entries()) {
    const p = predicted[i];
    assert.ok(p !== undefined);
    const day = r.at.toISOString().slice(0, 10);
    assert.deepEqual([r.id, r.tier, r.type], [p.made.id, p.made.tier, p.made.type], `${day}: the set made`);
    assert.deepEqual(r.promoted, [], `${day}: daily runs promote at creation, nothing later`);
    assert.deepEqual(r.removed, p.removed, `${day}: the sets the prune removes`);
    assert.deepEqual(r.left.map((s) => s.id), p.left, `${day}: the sets left`);
  }
}

describe('lifecycle: months of daily --tier auto runs through the planners end with exactly the predicted sets (golden files)', () => {
  it('four months, default retention: promotion at creation, prune after each run', () => {
    const days = daysFrom('2026-09-01', 120); // Tuesday 1 September … Tuesday 29 December 2026
    const runs = planRuns(days, 'docs', DEFAULT_RETENTION);
    checkAgainstPrediction(runs, days, DEFAULT_DAYS);
    // The README's rules, spelled out for this calendar: the 4th Sundays of September, October and
    // November are monthly, December's last Sunday yearly; weekly sets of the last 90 days; daily
    // sets of the last 30 days (their FULL is kept with them).
    const predicted = predictSets(days, 'docs');
    assert.deepEqual(predicted.filter((p) => p.tier === 'monthly').map((p) => p.id), ['260927_FULL_docs', '261025_FULL_docs', '261122_FULL_docs']);
    assert.deepEqual(predicted.filter((p) => p.tier === 'yearly').map((p) => p.id), ['261227_FULL_docs']);
    const left = runs.at(-1)?.left ?? [];
    assert.equal(left.length, 40);
    golden('daily-auto-4-months.txt', history('daily --tier auto runs from Tuesday 1 September 2026, 120 days, default retention', runs));
  });

  it('three weeks, daily 7d and weekly 14d', () => {
    const days = daysFrom('2027-01-05', 21); // Tuesday 5 … Monday 25 January 2027
    const policy: RetentionPolicy = { ...DEFAULT_RETENTION, daily: { n: 7, unit: 'd' }, weekly: { n: 14, unit: 'd' } };
    const runs = planRuns(days, 'docs', policy);
    checkAgainstPrediction(runs, days, { ...DEFAULT_DAYS, daily: 7, weekly: 14 });
    // The runs start on Tuesday 5 January: 10, 17 and 24 January are the month's 1st to 3rd weekly
    // sets (all weekly; the 31st would be its monthly); 10 January expired with its week.
    assert.deepEqual(runs.filter((r) => r.tier !== 'daily').map((r) => `${r.id} ${r.tier}`), ['270110_FULL_docs weekly', '270117_FULL_docs weekly', '270124_FULL_docs weekly']);
    assert.deepEqual(runs.at(-1)?.left.map((s) => s.id), ['270117_FULL_docs', '270118_INCR_docs', '270119_INCR_docs', '270120_INCR_docs', '270121_INCR_docs', '270122_INCR_docs', '270123_INCR_docs', '270124_FULL_docs', '270125_INCR_docs']);
    golden('daily-auto-3-weeks.txt', history('daily --tier auto runs from Tuesday 5 January 2027, 21 days, daily 7d, weekly 14d', runs));
  });
});
