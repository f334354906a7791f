/**
 * core/promotion: which weekly FULL sets become monthly or yearly (at creation and afterwards), and
 * how much PAR2 recovery data a promoted set gains. Table tests over simulated calendars.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSetObjectKey } from '../../src/core/keys.js';
import { resolveTier, type SetType, type Tier } from '../../src/core/naming.js';
import { checkPromotion, creationTier, type ExtraRecovery, extraUnitName, isExtraRecoveryName, isLastWeekdayOfMonth, planPromotions, raiseProtection, type PromotionSet } from '../../src/core/promotion.js';
import { defaultProtectionConfig, makeUnit, planProtection } from '../../src/core/protection/index.js';

function set(date: string, tier: Tier, type: SetType = 'FULL', source = 'docs'): PromotionSet {
  return { id: `${date.replace(/-/g, '').slice(2)}_${type}_${source}`, source, tier, type, created: `${date}T09:00:00.000Z` };
}

/** runDaily simulates daily `backup --tier auto` runs on the given days (all others missed): the tiers made, in order. */
function runDaily(days: readonly string[], weeklyOn = 'sunday', source = 'docs', start: PromotionSet[] = []): PromotionSet[] {
  const sets = [...start];
  for (const d of days) {
    const at = new Date(`${d}T09:00:00.000Z`);
    const tier = resolveTier('auto', at, weeklyOn, { source, sets });
    sets.push(set(d, tier, tier === 'daily' && sets.some((s) => s.source === source) ? 'INCR' : 'FULL', source));
  }
  return sets;
}

function everyDay(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

const weeklyTiers = (sets: readonly PromotionSet[]): string[] => sets.filter((s) => s.type === 'FULL' && s.tier !== 'daily').map((s) => `${s.created.slice(5, 10)} ${s.tier}`);

test('isLastWeekdayOfMonth: no later day of the month on the same weekday', () => {
  const table: [string, boolean][] = [['2026-11-22', false], ['2026-11-29', true], ['2026-11-24', true], ['2026-12-27', true], ['2026-12-20', false], ['2027-02-28', true], ['2027-02-21', false], ['2028-02-29', true], ['2028-02-22', false]];
  for (const [d, want] of table) assert.equal(isLastWeekdayOfMonth(new Date(`${d}T09:00:00Z`)), want, d);
});

test('creation: the 4th weekly of a month is made monthly, a 5th stays weekly; the last Sunday of December is yearly (yearly wins)', () => {
  const table: { name: string; days: string[]; want: string[] }[] = [
    // November 2026 has five Sundays (1, 8, 15, 22, 29).
    { name: 'five Sundays', days: ['2026-11-01', '2026-11-08', '2026-11-15', '2026-11-22', '2026-11-29'], want: ['11-01 weekly', '11-08 weekly', '11-15 weekly', '11-22 monthly', '11-29 weekly'] },
    // December 2026 has four (6, 13, 20, 27): the 4th is both December's monthly and its last: yearly.
    { name: 'December, four Sundays', days: ['2026-12-06', '2026-12-13', '2026-12-20', '2026-12-27'], want: ['12-06 weekly', '12-13 weekly', '12-20 weekly', '12-27 yearly'] },
    // December 2024 has five (1 … 29): a monthly 4th and a yearly 5th.
    { name: 'December, five Sundays', days: ['2024-12-01', '2024-12-08', '2024-12-15', '2024-12-22', '2024-12-29'], want: ['12-01 weekly', '12-08 weekly', '12-15 weekly', '12-22 monthly', '12-29 yearly'] },
    // A missed Sunday: the last Sunday is the month's last weekly set, fewer than four: monthly.
    { name: 'one missed week', days: ['2026-11-01', '2026-11-08', '2026-11-22', '2026-11-29'], want: ['11-01 weekly', '11-08 weekly', '11-22 weekly', '11-29 monthly'] },
    { name: 'two missed weeks', days: ['2026-11-01', '2026-11-15', '2026-11-29'], want: ['11-01 weekly', '11-15 weekly', '11-29 monthly'] },
    // The last Sunday missed: nothing is known at creation (planPromotions does it after the month).
    { name: 'last Sunday missed', days: ['2026-11-01', '2026-11-08', '2026-11-15'], want: ['11-01 weekly', '11-08 weekly', '11-15 weekly'] },
    // First run ever, on the last Sunday of a month: it is that month's only (so last) weekly set.
    { name: 'first run on the last Sunday', days: ['2026-11-29'], want: ['11-29 monthly'] },
    // February 2026: four Sundays (1, 8, 15, 22).
    { name: 'February', days: ['2026-02-01', '2026-02-08', '2026-02-15', '2026-02-22'], want: ['02-01 weekly', '02-08 weekly', '02-15 weekly', '02-22 monthly'] },
  ];
  for (const row of table) assert.deepEqual(weeklyTiers(runDaily(row.days)), row.want, row.name);
});

test('creation: daily days stay daily, explicit tiers stay, other sources and daily sets do not count, a month with a monthly gets no second', () => {
  assert.equal(resolveTier('auto', new Date('2026-11-30T09:00:00Z'), 'sunday', { source: 'docs', sets: [] }), 'daily');
  for (const t of ['daily', 'weekly', 'monthly', 'yearly'] as const) assert.equal(resolveTier(t, new Date('2026-11-29T09:00:00Z'), 'sunday', { source: 'docs', sets: [] }), t);
  // Without history (older callers): plain weekly.
  assert.equal(resolveTier('auto', new Date('2026-11-29T09:00:00Z'), 'sunday'), 'weekly');
  const others = [set('2026-11-01', 'weekly', 'FULL', 'mail'), set('2026-11-08', 'weekly', 'FULL', 'mail'), set('2026-11-15', 'weekly', 'FULL', 'mail'), set('2026-11-16', 'daily', 'INCR'), set('2026-11-17', 'daily', 'INCR')];
  assert.equal(creationTier(new Date('2026-11-22T09:00:00Z'), 'docs', others), 'weekly');
  // A monthly set made by hand earlier in the month: the 4th weekly stays weekly.
  const manual = [set('2026-11-01', 'weekly'), set('2026-11-03', 'monthly'), set('2026-11-08', 'weekly')];
  assert.equal(creationTier(new Date('2026-11-22T09:00:00Z'), 'docs', manual), 'weekly');
  assert.equal(creationTier(new Date('2026-11-29T09:00:00Z'), 'docs', manual), 'weekly');
  // A December that already has a yearly set: the last Sunday is not a second yearly.
  assert.equal(creationTier(new Date('2026-12-27T09:00:00Z'), 'docs', [set('2026-12-02', 'yearly')]), 'weekly');
  // weeklyOn other than sunday: the last Tuesday of December 2026 is the 29th.
  assert.equal(resolveTier('auto', new Date('2026-12-29T09:00:00Z'), 'tuesday', { source: 'docs', sets: [] }), 'yearly');
  assert.equal(resolveTier('auto', new Date('2026-12-22T09:00:00Z'), 'Tuesday', { source: 'docs', sets: [] }), 'weekly');
});

test('planPromotions: months that ended without their monthly, Decembers without their yearly, a current month with four weeklies', () => {
  const row = (sets: PromotionSet[], now: string): string[] => planPromotions(sets, new Date(`${now}T09:00:00Z`)).map((d) => `${d.id} ${d.from}->${d.to}`);
  // The last Sunday of November missed: three weekly sets; the first run in December promotes the 3rd.
  const nov3 = [set('2026-11-01', 'weekly'), set('2026-11-08', 'weekly'), set('2026-11-15', 'weekly'), set('2026-11-16', 'daily', 'INCR')];
  assert.deepEqual(row(nov3, '2026-11-30'), [], 'not before the month ends');
  assert.deepEqual(row(nov3, '2026-12-01'), ['261115_FULL_docs weekly->monthly']);
  assert.match(planPromotions(nov3, new Date('2026-12-01T09:00:00Z'))[0]?.reason ?? '', /last weekly set of November 2026, which ended with 3 weekly sets/);
  // Four weekly sets made by hand (explicit --tier weekly) in the current month: the 4th now.
  const manual = [set('2026-11-02', 'weekly'), set('2026-11-03', 'weekly'), set('2026-11-04', 'weekly'), set('2026-11-05', 'weekly'), set('2026-11-06', 'weekly')];
  assert.deepEqual(row(manual.slice(0, 3), '2026-11-10'), []);
  assert.deepEqual(row(manual, '2026-11-10'), ['261105_FULL_docs weekly->monthly']);
  // A month that has its monthly: nothing, whatever its position.
  assert.deepEqual(row([set('2026-10-04', 'weekly'), set('2026-10-11', 'monthly'), set('2026-10-18', 'weekly')], '2026-11-10'), []);
  // December ended with five weekly sets and no promotion: the 4th monthly, the 5th yearly.
  const dec5 = ['2024-12-01', '2024-12-08', '2024-12-15', '2024-12-22', '2024-12-29'].map((d) => set(d, 'weekly'));
  assert.deepEqual(row(dec5, '2025-01-02'), ['241229_FULL_docs weekly->yearly', '241222_FULL_docs weekly->monthly']);
  // December ended with two: the last is yearly and nothing else (yearly wins).
  assert.deepEqual(row([set('2026-12-06', 'weekly'), set('2026-12-13', 'weekly')], '2027-01-03'), ['261213_FULL_docs weekly->yearly']);
  // December whose 4th became monthly at creation and whose 5th run was missed: the 4th becomes yearly.
  const dec4 = [set('2024-12-01', 'weekly'), set('2024-12-08', 'weekly'), set('2024-12-15', 'weekly'), set('2024-12-22', 'monthly')];
  assert.deepEqual(row(dec4, '2025-01-01'), ['241222_FULL_docs monthly->yearly']);
  // Each source on its own; INCR and daily sets never count.
  const two = [set('2026-10-04', 'weekly', 'FULL', 'a'), set('2026-10-11', 'weekly', 'FULL', 'b'), set('2026-10-12', 'daily', 'INCR', 'a'), set('2026-10-13', 'daily', 'FULL', 'b')];
  assert.deepEqual(row(two, '2026-11-01'), ['261004_FULL_a weekly->monthly', '261011_FULL_b weekly->monthly']);
});

test('creation and planPromotions agree: a simulated year of daily auto runs needs no later promotion; missed weeks are caught up after their month', () => {
  const all = everyDay('2026-01-01', '2026-12-31');
  const sets = runDaily(all);
  assert.deepEqual(planPromotions(sets, new Date('2027-01-01T09:00:00Z')), []);
  const weekly = sets.filter((s) => s.type === 'FULL');
  // One monthly or yearly set per month, and December's last Sunday yearly.
  const promoted = weekly.filter((s) => s.tier === 'monthly' || s.tier === 'yearly').map((s) => `${s.created.slice(5, 10)} ${s.tier}`);
  assert.deepEqual(promoted, ['01-25 monthly', '02-22 monthly', '03-22 monthly', '04-26 monthly', '05-24 monthly', '06-28 monthly', '07-26 monthly', '08-23 monthly', '09-27 monthly', '10-25 monthly', '11-22 monthly', '12-27 yearly']);
  // The same year with every last Sunday of a month missed (laptop away): each month is caught up
  // by the first run after it, to the set the rule picks, and nothing twice.
  const lastSundays = new Set(weekly.filter((s) => isLastWeekdayOfMonth(new Date(s.created))).map((s) => s.created.slice(0, 10)));
  const missed = runDaily(all.filter((d) => !lastSundays.has(d)));
  const caught = planPromotions(missed, new Date('2027-01-01T09:00:00Z'));
  const applied = missed.map((s) => ({ ...s, tier: caught.find((c) => c.id === s.id)?.to ?? s.tier }));
  assert.deepEqual(planPromotions(applied, new Date('2027-01-01T09:00:00Z')), [], 'promotions applied: nothing left to do');
  for (const month of ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12']) {
    const series = applied.filter((s) => s.type === 'FULL' && s.tier !== 'daily' && s.created.slice(5, 7) === month);
    const longLived = series.filter((s) => s.tier === 'monthly' || s.tier === 'yearly');
    assert.equal(longLived.length, 1, `month ${month}: ${JSON.stringify(series.map((s) => s.tier))}`);
    assert.equal(longLived[0]?.id, series[Math.min(3, series.length - 1)]?.id, `month ${month}: the 4th, else the last`);
    if (month === '12') assert.equal(longLived[0]?.tier, 'yearly');
  }
});

test('checkPromotion: FULL sets only, and only upwards', () => {
  assert.equal(checkPromotion(set('2026-11-01', 'weekly'), 'monthly'), undefined);
  assert.equal(checkPromotion(set('2026-11-01', 'daily'), 'yearly'), undefined);
  assert.match(checkPromotion(set('2026-11-02', 'daily', 'INCR'), 'monthly') ?? '', /INCR/);
  assert.match(checkPromotion(set('2026-11-01', 'monthly'), 'monthly') ?? '', /monthly already/);
  assert.match(checkPromotion(set('2026-11-01', 'yearly'), 'monthly') ?? '', /yearly already, above monthly/);
});

test('raiseProtection: same units, volumes and block size, more recovery blocks from the new tier, first block after the old ones', () => {
  const MiB = 1 << 20;
  const config = { ...defaultProtectionConfig, directMaxBytes: 100 * MiB, groupedMaxBytes: 10_000 * MiB };
  const cases: { sizes: number[]; percent: number; sizeClass: string; strategy: string }[] = [
    { sizes: [3 * MiB], percent: 30, sizeClass: 'very small', strategy: 'direct' },
    { sizes: Array.from({ length: 30 }, () => 3 * MiB), percent: 30, sizeClass: 'very small', strategy: 'direct' },
    { sizes: Array.from({ length: 30 }, (_, i) => (i === 29 ? 7 * MiB : 40 * MiB)), percent: 20, sizeClass: 'medium-small', strategy: 'grouped' },
  ];
  for (const { sizes, percent, sizeClass, strategy } of cases) {
    const weekly = planProtection({ setId: 'S', tier: 'weekly', volumeSizes: sizes }, config);
    const raised = raiseProtection(weekly, 'S', sizes, 'monthly', config);
    assert.ok(raised !== null, `${sizes.length} volumes`);
    assert.equal(raised.units.length, weekly.units.length);
    for (const [i, u] of raised.units.entries()) {
      const old = weekly.units[i];
      assert.ok(old !== undefined);
      assert.deepEqual([u.name, u.dir, u.volumes, u.blockSize, u.sourceBlocks], [old.name, old.dir, old.volumes, old.blockSize, old.sourceBlocks]);
      const want = makeUnit('S', weekly.strategy, u.volumes[0] ?? 0, u.volumes[u.volumes.length - 1] ?? 0, sizes, u.blockSize, percent, config).recoveryBlocks;
      assert.equal(u.recoveryBlocks, want);
      assert.ok(u.recoveryBlocks > old.recoveryBlocks);
      const extra: ExtraRecovery | undefined = raised.extra.find((e) => e.of === old.name);
      assert.ok(extra !== undefined);
      assert.deepEqual([extra.firstBlock, extra.unit.recoveryBlocks, extra.unit.name, extra.unit.dir], [old.recoveryBlocks, want - old.recoveryBlocks, extraUnitName(old.name, old.recoveryBlocks), old.dir]);
    }
    assert.deepEqual([weekly.strategy, raised.redundancyPercent, raised.sizeClass], [strategy, percent, sizeClass]);
    assert.ok(raised.guarantees.scatteredBlocks > weekly.guarantees.scatteredBlocks);
    assert.ok(raised.guarantees.wholeVolumesAnywhere >= weekly.guarantees.wholeVolumesAnywhere);
    // Monthly to yearly: the same table, nothing to add.
    const monthly = planProtection({ setId: 'S', tier: 'monthly', volumeSizes: sizes }, config);
    assert.equal(raiseProtection(monthly, 'S', sizes, 'yearly', config), null);
  }
  // A weekly set whose whole-volume floor (one of 4 volumes: 31 %) is above the monthly table's 25 %
  // already has what monthly asks: nothing to add.
  const floor = [50 * MiB, 50 * MiB, 50 * MiB, 12 * MiB];
  const weekly = planProtection({ setId: 'S', tier: 'weekly', volumeSizes: floor }, config);
  assert.ok(weekly.guarantees.wholeVolumesAnywhere >= 1);
  assert.equal(raiseProtection(weekly, 'S', floor, 'monthly', config), null);
});

test('extra recovery files are the set\'s own objects (swept and removed like the others)', () => {
  const id = '261115_FULL_docs';
  const unit = `${id}_0001-0020`;
  for (const name of [`${extraUnitName(id, 12)}.par2`, `${extraUnitName(id, 12)}.vol12+5.par2`]) {
    assert.ok(isExtraRecoveryName(name), name);
    assert.ok(isSetObjectKey(id, `${id}/${name}`), name);
  }
  for (const name of [`${extraUnitName(unit, 40)}.par2`, `${extraUnitName(unit, 40)}.vol40+10.par2`]) {
    assert.ok(isExtraRecoveryName(name), name);
    assert.ok(isSetObjectKey(id, `${id}/${unit}/${name}`), name);
  }
  for (const name of [`${id}.par2`, `${id}.vol00+12.par2`, `${id}.manifest.vol0+2.par2`, `${id}.7z.001`]) assert.ok(!isExtraRecoveryName(name), name);
});
