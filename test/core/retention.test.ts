/**
 * The retention planner (core/retention) over simulated years, checked against golden files in
 * test/golden/retention/, and by invariants checked on every simulated day:
 *   - no kept set needs a removed one (its depends, its base);
 *   - the newest set of each source is kept;
 *   - every set within its tier's retention is kept, and every removed set is expired.
 *
 * The histories are made here: daily `--tier auto` runs (weekly FULL on Sundays, daily INCR
 * otherwise, no set when nothing changed), the blog post's promotion (the 4th weekly set of a month
 * becomes monthly, the last of December yearly; a month that ended with fewer gets its last weekly
 * promoted by the first run after it), missed days, missed weeks, a source that stops changing, a
 * source added later, and the retention changed halfway. Each run prunes after it, as a backup does.
 *
 * To regenerate the golden files after an intended change, run with STRATA_UPDATE_GOLDEN=1:
 *   STRATA_UPDATE_GOLDEN=1 node --test dist/test/core/retention.test.js
 * (it writes test/golden/retention/*.txt in the source tree) and review the diff.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RETENTION, expiresAt, formatPlan, planRetention, removalOrder, summarizePlan, type PlanSet, type RetentionPolicy } from '../../src/core/retention.js';
import type { Tier } from '../../src/core/naming.js';

const GOLDEN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/golden/retention');
const UPDATE = process.env['STRATA_UPDATE_GOLDEN'] === '1';

const DAY = 86_400_000;

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

/** rng is a small deterministic generator (LCG), so the histories are the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface SimSource {
  name: string;
  /** Which set holds each file's bytes. */
  holders: string[];
  /** Whether the source changes on a day (index: day number). */
  changes: (day: number) => boolean;
  /** The first day it is backed up. */
  from: number;
}

interface Scenario {
  name: string;
  title: string;
  start: string;
  days: number;
  sources: { name: string; from?: number; changes?: (day: number) => boolean }[];
  /** Whether the machine runs on a day at all. */
  runs?: (day: number) => boolean;
  policy: (day: number) => RetentionPolicy;
}

interface SimSet extends PlanSet {
  job: string;
}

/** simulate runs a scenario and returns the golden text (monthly summaries and the final plan). */
function simulate(sc: Scenario): string {
  const start = Date.parse(sc.start);
  const sets = new Map<string, SimSet>();
  const sources: SimSource[] = sc.sources.map((s) => ({ name: s.name, holders: [], changes: s.changes ?? (() => true), from: s.from ?? 0 }));
  const out: string[] = [`# ${sc.title}`, `# ${sc.days} days from ${sc.start.slice(0, 10)}; one line per month end, then the plan of the last day.`];
  let removedTotal = 0;
  let lastPolicy = '';
  const promote = (id: string, tier: Tier): void => {
    const s = sets.get(id);
    if (s !== undefined) sets.set(id, { ...s, tier });
  };
  for (let day = 0; day < sc.days; day++) {
    const at = new Date(start + day * DAY);
    const policy = sc.policy(day);
    const policyText = (['daily', 'weekly', 'monthly', 'yearly'] as const).map((t) => `${t} ${fmt(policy[t])}`).join(', ');
    if (policyText !== lastPolicy) {
      out.push(`${iso(at)}  retention: ${policyText}`);
      lastPolicy = policyText;
    }
    if (sc.runs !== undefined && !sc.runs(day)) continue;
    const sunday = at.getUTCDay() === 0;
    for (const src of sources) {
      if (day < src.from) continue;
      const own = [...sets.values()].filter((s) => s.source === src.name).sort((a, b) => Date.parse(a.created) - Date.parse(b.created));
      // The first run after a month ended with weekly sets but no monthly or yearly one promotes its last weekly.
      const prevMonth = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 1, 1));
      const inPrev = own.filter((s) => sameMonth(new Date(s.created), prevMonth));
      if (inPrev.length > 0 && !inPrev.some((s) => s.tier === 'monthly' || s.tier === 'yearly')) {
        const lastWeekly = inPrev.filter((s) => s.tier === 'weekly').pop();
        if (lastWeekly !== undefined) promote(lastWeekly.id, 'monthly');
      }
      const prev = own[own.length - 1];
      const changed = src.changes(day);
      const id = `${iso(at).replace(/-/g, '').slice(2)}_${sunday || prev === undefined ? 'FULL' : 'INCR'}_${src.name}`;
      if (sunday || prev === undefined) {
        let tier: Tier = sunday ? 'weekly' : 'daily';
        if (sunday) {
          const weekliesThisMonth = own.filter((s) => s.type === 'FULL' && s.tier !== 'daily' && sameMonth(new Date(s.created), at)).length;
          if (weekliesThisMonth === 3) tier = 'monthly';
          if (at.getUTCMonth() === 11 && new Date(at.getTime() + 7 * DAY).getUTCMonth() === 0) tier = 'yearly';
        }
        src.holders = Array.from({ length: 8 }, () => id);
        sets.set(id, { id, job: 'job', source: src.name, tier, type: 'FULL', created: at.toISOString(), base: null, depends: [id] });
      } else {
        if (!changed) continue; // an INCR with nothing changed makes no set
        const n = src.holders.length;
        src.holders[day % n] = id;
        src.holders[(day * 3 + 1) % n] = id;
        sets.set(id, { id, job: 'job', source: src.name, tier: 'daily', type: 'INCR', created: at.toISOString(), base: prev.id, depends: [...new Set(src.holders)].sort() });
      }
    }
    // Prune after the run, as a backup with pruneAfterBackup does.
    const plan = planRetention({ sets: [...sets.values()], policy, now: at });
    checkInvariants(plan, [...sets.values()], policy, at);
    const removed = removalOrder(plan);
    for (const s of removed) sets.delete(s.id);
    removedTotal += removed.length;
    const tomorrow = new Date(at.getTime() + DAY);
    if (tomorrow.getUTCMonth() !== at.getUTCMonth()) {
      out.push(`${iso(at)}  ${summarizePlan(plan)}; on the destination: ${countByTier([...sets.values()])}; removed so far ${removedTotal}`);
    }
  }
  const end = new Date(start + (sc.days - 1) * DAY);
  out.push('', `# plan on ${iso(end)} (after that day's prune)`);
  out.push(...formatPlan(planRetention({ sets: [...sets.values()], policy: sc.policy(sc.days - 1), now: end })));
  return out.join('\n') + '\n';
}

function checkInvariants(plan: ReturnType<typeof planRetention<SimSet>>, all: SimSet[], policy: RetentionPolicy, now: Date): void {
  const kept = new Set(plan.filter((d) => d.keep).map((d) => d.set.id));
  for (const d of plan) {
    const s = d.set;
    if (d.keep) {
      for (const need of [...s.depends, ...(s.base === null ? [] : [s.base])]) {
        assert.ok(!all.some((x) => x.id === need) || kept.has(need), `${iso(now)}: kept ${s.id} needs ${need}, which is removed`);
      }
    } else {
      const until = expiresAt(new Date(s.created), policy[s.tier]);
      assert.ok(until !== null && until.getTime() <= now.getTime(), `${iso(now)}: ${s.id} removed before it expired`);
    }
  }
  for (const src of new Set(all.map((s) => s.source))) {
    const newest = all.filter((s) => s.source === src).sort((a, b) => Date.parse(a.created) - Date.parse(b.created)).pop();
    assert.ok(newest !== undefined && kept.has(newest.id), `${iso(now)}: the newest set of ${src} is removed`);
  }
}

function countByTier(sets: SimSet[]): string {
  const c = (t: Tier): number => sets.filter((s) => s.tier === t).length;
  return `${c('daily')} daily, ${c('weekly')} weekly, ${c('monthly')} monthly, ${c('yearly')} yearly`;
}

function sameMonth(a: Date, b: Date): boolean {
  return a.getUTCFullYear() === b.getUTCFullYear() && a.getUTCMonth() === b.getUTCMonth();
}

function iso(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function fmt(d: RetentionPolicy[Tier]): string {
  return d === 'forever' ? 'forever' : `${d.n}${d.unit}`;
}

const T0 = '2027-01-01T09:00:00.000Z';

describe('retention planner over simulated years (golden files)', () => {
  it('daily auto runs for three years, one source changing every day', () => {
    golden('daily-auto-3y.txt', simulate({ name: 'daily', title: 'daily --tier auto runs, every day, default retention', start: T0, days: 3 * 365 + 30, sources: [{ name: 'docs' }], policy: () => DEFAULT_RETENTION }));
  });

  it('missed days and missed weeks', () => {
    const r = rng(7);
    const missed = new Set<number>();
    for (let d = 0; d < 2 * 365; d++) if (r() < 0.2) missed.add(d);
    // Whole weeks away: a holiday in summer, and three weeks in the first December.
    for (let d = 200; d < 214; d++) missed.add(d);
    for (let d = 340; d < 361; d++) missed.add(d);
    golden('missed-days-weeks.txt', simulate({ name: 'missed', title: 'a laptop that is off on 20% of days, two weeks in July and three in December', start: T0, days: 2 * 365, sources: [{ name: 'docs' }], runs: (d) => !missed.has(d), policy: () => DEFAULT_RETENTION }));
  });

  it('a source that stops changing, and a source added later', () => {
    golden(
      'stops-changing-added-later.txt',
      simulate({
        name: 'sources',
        title: 'photos stops changing after 60 days; music is added on day 150',
        start: T0,
        days: 2 * 365,
        sources: [{ name: 'docs' }, { name: 'photos', changes: (d) => d < 60 }, { name: 'music', from: 150, changes: (d) => d % 3 === 0 }],
        policy: () => DEFAULT_RETENTION,
      }),
    );
  });

  it('retention changed halfway: shorter, then forever', () => {
    const shorter: RetentionPolicy = { daily: { n: 2, unit: 'w' }, weekly: { n: 6, unit: 'w' }, monthly: { n: 6, unit: 'm' }, yearly: { n: 2, unit: 'y' } };
    const longer: RetentionPolicy = { daily: { n: 60, unit: 'd' }, weekly: { n: 6, unit: 'm' }, monthly: 'forever', yearly: 'forever' };
    golden(
      'retention-changed.txt',
      simulate({ name: 'changed', title: 'default retention, shorter from day 400, longer (monthly and yearly forever) from day 800', start: T0, days: 1000, sources: [{ name: 'docs' }], policy: (d) => (d < 400 ? DEFAULT_RETENTION : d < 800 ? shorter : longer) }),
    );
  });
});

describe('retention planner rules', () => {
  const now = new Date('2027-06-30T12:00:00Z');
  const set = (id: string, daysAgo: number, tier: Tier, base: string | null, depends: string[], source = 'docs'): SimSet => ({
    id, job: 'job', source, tier, type: base === null ? 'FULL' : 'INCR', created: new Date(now.getTime() - daysAgo * DAY).toISOString(), base, depends,
  });

  it('an INCR keeps its FULL and the INCRs between, even when its manifest no longer points at them', () => {
    const sets = [
      set('F', 40, 'weekly', null, ['F']),
      set('I1', 39, 'daily', 'F', ['F', 'I1']),
      set('I2', 20, 'daily', 'I1', ['F', 'I2']), // I1's bytes were all replaced
      set('F2', 10, 'weekly', null, ['F2']),
    ];
    const policy: RetentionPolicy = { ...DEFAULT_RETENTION, daily: { n: 30, unit: 'd' }, weekly: { n: 30, unit: 'd' } };
    const plan = planRetention({ sets, policy, now });
    const by = new Map(plan.map((d) => [d.set.id, d]));
    assert.equal(by.get('I2')?.reason.kind, 'within');
    assert.deepEqual(by.get('I1')?.reason, { kind: 'needed', by: ['I2'], foreign: [] });
    assert.deepEqual(by.get('F')?.reason, { kind: 'needed', by: ['I1', 'I2'], foreign: [] });
    assert.equal(formatPlan(plan).find((l) => l.startsWith('F '))?.includes('needed by kept set I2 (and 1 more)'), true);
    assert.equal(by.get('F2')?.reason.kind, 'newest');
  });

  it('removes expired sets newest first, keeps the newest set of each source whatever its age', () => {
    const sets = [
      set('F', 400, 'weekly', null, ['F']),
      set('I1', 399, 'daily', 'F', ['F', 'I1']),
      set('I2', 398, 'daily', 'I1', ['F', 'I1', 'I2']),
      set('G', 500, 'weekly', null, ['G'], 'old'),
    ];
    const plan = planRetention({ sets, policy: DEFAULT_RETENTION, now });
    assert.deepEqual(plan.map((d) => [d.set.id, d.keep, d.reason.kind]), [['G', true, 'newest'], ['F', true, 'needed'], ['I1', true, 'needed'], ['I2', true, 'newest']]);
    const sets2 = [...sets, set('F3', 1, 'weekly', null, ['F3'])];
    assert.deepEqual(removalOrder(planRetention({ sets: sets2, policy: DEFAULT_RETENTION, now })).map((s) => s.id), ['I2', 'I1', 'F']);
  });

  it('a set of ours that another job or machine needs is kept; a set whose descriptor fails its check is kept, with what it needs', () => {
    const sets = [set('F', 200, 'weekly', null, ['F']), set('H', 190, 'weekly', null, ['H']), set('J', 180, 'weekly', null, ['J']), set('K', 1, 'weekly', null, ['K'])];
    const others = [{ ...set('X', 5, 'daily', 'F', ['F', 'X']), job: 'other' }];
    const plan = planRetention({ sets, others, policy: DEFAULT_RETENTION, now, unchecked: new Map([['H', 'its HMAC does not match']]) });
    const by = new Map(plan.map((d) => [d.set.id, d]));
    assert.deepEqual(by.get('F')?.reason, { kind: 'needed', by: [], foreign: ['X'] });
    assert.match(formatPlan(plan).join('\n'), /F .*needed by set X of another job or machine/);
    assert.deepEqual(by.get('H')?.reason, { kind: 'unchecked', why: 'its HMAC does not match' });
    assert.equal(by.get('J')?.keep, false);
    assert.match(formatPlan(plan).join('\n'), /J .*REMOVE {4}expired: weekly, older than 90d \(since 2027-04-01\)/);
  });

  it('when the newest set cannot be restored (edited, or a set it needs is gone), the newest one that can is kept too', () => {
    const sets = [
      set('F', 200, 'weekly', null, ['F']),
      set('G', 100, 'weekly', null, ['G']),
      set('I', 99, 'daily', 'G', ['G', 'I']),
      set('J', 98, 'daily', 'GONE', ['GONE', 'J']), // its base was deleted by hand
    ];
    const plan = planRetention({ sets, policy: DEFAULT_RETENTION, now });
    assert.deepEqual(plan.map((d) => [d.set.id, d.keep, d.reason.kind]), [['F', false, 'expired'], ['G', true, 'needed'], ['I', true, 'newest'], ['J', true, 'newest']]);
    assert.match(formatPlan(plan).join('\n'), /^I .*keep +newest set of docs that can be restored \(a newer one cannot\)$/m);
    const edited = planRetention({ sets: sets.slice(0, 3), policy: DEFAULT_RETENTION, now, unchecked: new Map([['I', 'edited'], ['G', 'edited']]) });
    assert.deepEqual(edited.map((d) => [d.set.id, d.keep, d.reason.kind]), [['F', true, 'newest'], ['G', true, 'unchecked'], ['I', true, 'newest']]);
  });

  it('the boundary: a set is kept until exactly its retention has passed', () => {
    const sets = [set('A', 30, 'daily', null, ['A']), set('B', 29.99, 'daily', null, ['B']), set('C', 0, 'weekly', null, ['C'])];
    const byId = new Map(planRetention({ sets, policy: DEFAULT_RETENTION, now }).map((d) => [d.set.id, d.keep]));
    assert.deepEqual(Object.fromEntries(byId), { A: false, B: true, C: true });
  });
});
