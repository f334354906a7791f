/**
 * core/cloud/lifecycle-rules: the validator against AWS's transition constraints (table), and the
 * planner's rules for several retention configs — each one passing the validator, with the post's
 * transitions corrected where AWS demands it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  configurationOf,
  formatLifecycle,
  planLifecycle,
  validateLifecycle,
  type LifecycleRule,
  type LifecycleTransition,
} from '../../../src/core/cloud/lifecycle-rules.js';
import { DEFAULT_RETENTION, parseRetention, type RetentionDuration, type RetentionPolicy } from '../../../src/core/retention.js';

function d(text: string): RetentionDuration {
  const r = parseRetention(text);
  if (typeof r === 'object' && 'problem' in r) throw new Error(r.problem);
  return r;
}

function policy(daily: string, weekly: string, monthly: string, yearly: string): RetentionPolicy {
  return { daily: d(daily), weekly: d(weekly), monthly: d(monthly), yearly: d(yearly) };
}

const dataFilter = { And: { Tags: [{ Key: 'tier', Value: 'weekly' }, { Key: 'kind', Value: 'data' }] } };

function rule(transitions: LifecycleTransition[], expiration?: number): LifecycleRule {
  const r: LifecycleRule = { ID: 'r', Status: 'Enabled', Filter: dataFilter, Transitions: transitions };
  if (expiration !== undefined) r.Expiration = { Days: expiration };
  return r;
}

describe('validateLifecycle', () => {
  const cases: { name: string; rule: LifecycleRule; problem: RegExp | null }[] = [
    { name: 'STANDARD_IA at day 30, expiry 60', rule: rule([{ Days: 30, StorageClass: 'STANDARD_IA' }], 60), problem: null },
    { name: 'STANDARD_IA before day 30', rule: rule([{ Days: 7, StorageClass: 'STANDARD_IA' }], 90), problem: /STANDARD_IA at day 7: S3 refuses it before day 30/ },
    { name: 'ONEZONE_IA before day 30', rule: rule([{ Days: 29, StorageClass: 'ONEZONE_IA' }]), problem: /ONEZONE_IA at day 29: S3 refuses it before day 30/ },
    { name: 'STANDARD_IA then GLACIER after 20 days', rule: rule([{ Days: 30, StorageClass: 'STANDARD_IA' }, { Days: 50, StorageClass: 'GLACIER' }], 400), problem: /STANDARD_IA from day 30 keeps objects at least 30 days, but the next transition is at day 50/ },
    { name: 'GLACIER_IR at 7, GLACIER at 30', rule: rule([{ Days: 7, StorageClass: 'GLACIER_IR' }, { Days: 30, StorageClass: 'GLACIER' }], 400), problem: /GLACIER_IR from day 7 keeps objects at least 90 days/ },
    { name: 'GLACIER_IR at 7, expiry 90', rule: rule([{ Days: 7, StorageClass: 'GLACIER_IR' }], 90), problem: /GLACIER_IR from day 7 keeps objects at least 90 days, but they expire at day 90/ },
    { name: 'GLACIER_IR at 7, expiry 97', rule: rule([{ Days: 7, StorageClass: 'GLACIER_IR' }], 97), problem: null },
    { name: 'INTELLIGENT_TIERING at 7, GLACIER at 30, expiry 120', rule: rule([{ Days: 7, StorageClass: 'INTELLIGENT_TIERING' }, { Days: 30, StorageClass: 'GLACIER' }], 120), problem: null },
    { name: 'GLACIER at 30, expiry 90', rule: rule([{ Days: 30, StorageClass: 'GLACIER' }], 90), problem: /GLACIER from day 30 keeps objects at least 90 days, but they expire at day 90/ },
    { name: 'DEEP_ARCHIVE at 180, expiry 300', rule: rule([{ Days: 180, StorageClass: 'DEEP_ARCHIVE' }], 300), problem: /DEEP_ARCHIVE from day 180 keeps objects at least 180 days/ },
    { name: 'DEEP_ARCHIVE at 180, expiry 360', rule: rule([{ Days: 180, StorageClass: 'DEEP_ARCHIVE' }], 360), problem: null },
    { name: 'back up the waterfall', rule: rule([{ Days: 0, StorageClass: 'GLACIER' }, { Days: 100, StorageClass: 'GLACIER_IR' }]), problem: /cannot move objects from GLACIER to GLACIER_IR/ },
    { name: 'days not increasing', rule: rule([{ Days: 40, StorageClass: 'STANDARD_IA' }, { Days: 40, StorageClass: 'GLACIER' }]), problem: /increasing days/ },
    { name: 'expiry before the last transition', rule: rule([{ Days: 30, StorageClass: 'GLACIER' }], 20), problem: /must come after the last transition/ },
    { name: 'expiry of 0 days', rule: rule([], 0), problem: /Expiration Days must be a whole number from 1/ },
    { name: 'a rule doing nothing', rule: rule([]), problem: /does nothing/ },
    {
      name: 'abort multipart with a tag filter',
      rule: { ID: 'r', Status: 'Enabled', Filter: dataFilter, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 } },
      problem: /AbortIncompleteMultipartUpload cannot be used with a tag filter/,
    },
    { name: 'delete markers with a tag filter', rule: { ID: 'r', Status: 'Enabled', Filter: dataFilter, Expiration: { ExpiredObjectDeleteMarker: true } }, problem: /ExpiredObjectDeleteMarker cannot be used with a tag filter/ },
    { name: 'noncurrent expiry of 0 days', rule: { ID: 'r', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 0 } }, problem: /NoncurrentDays must be a whole number from 1/ },
  ];
  for (const c of cases) {
    it(`${c.problem === null ? 'accepts' : 'refuses'} ${c.name}`, () => {
      const problems = validateLifecycle({ Rules: [c.rule] });
      if (c.problem === null) assert.deepEqual(problems, []);
      else assert.match(problems.map((p) => p.message).join('\n'), c.problem);
    });
  }
  it('refuses two rules with one ID, and an empty rule set', () => {
    const r = rule([], 10);
    assert.match(validateLifecycle({ Rules: [r, r] }).map((p) => p.message).join('\n'), /two rules have this ID/);
    assert.match(validateLifecycle({ Rules: [] }).map((p) => p.message).join('\n'), /at least one rule/);
  });
});

describe('planLifecycle', () => {
  const configs: [string, RetentionPolicy][] = [
    ['default (30d, 90d, 365d, 5y)', DEFAULT_RETENTION],
    ['short (7d, 2w, 1m, 1y)', policy('7d', '2w', '1m', '1y')],
    ['long (60d, 26w, 2y, forever)', policy('60d', '26w', '2y', 'forever')],
    ['months (1m, 3m, 12m, 10y)', policy('1m', '3m', '12m', '10y')],
    ['everything forever', policy('30d', 'forever', 'forever', 'forever')],
  ];
  for (const [name, retention] of configs) {
    for (const deleteByTag of [false, true]) {
      it(`plans rules AWS accepts for ${name}${deleteByTag ? ', deleting by tag' : ''}`, () => {
        const plan = planLifecycle({ retention, prefix: 'backups/', deleteByTag });
        assert.deepEqual(validateLifecycle(configurationOf(plan)), []);
        for (const p of plan.rules) {
          assert.ok(p.reason.length > 20, `${p.rule.ID} has a reason`);
          assert.ok(p.cost.length > 3, `${p.rule.ID} has a cost note`);
          // Every rule stays inside the destination's prefix.
          const prefix = 'Prefix' in p.rule.Filter ? p.rule.Filter.Prefix : p.rule.Filter.And.Prefix;
          assert.equal(prefix, 'backups/');
          // Transitions only ever select data objects of one tier.
          if (p.rule.Transitions !== undefined) {
            assert.ok('And' in p.rule.Filter);
            assert.deepEqual(p.rule.Filter.And.Tags.find((t) => t.Key === 'kind'), { Key: 'kind', Value: 'data' });
          }
        }
        assert.equal(plan.rules.some((p) => p.rule.ID === 'strata-expire-by-tag'), deleteByTag);
        assert.ok(plan.rules.some((p) => p.rule.AbortIncompleteMultipartUpload !== undefined));
        assert.ok(plan.rules.some((p) => p.rule.NoncurrentVersionExpiration !== undefined));
      });
    }
  }

  it('corrects the post for the default retention: a 7-day step to INTELLIGENT_TIERING, no GLACIER for weekly sets kept 90 days', () => {
    const plan = planLifecycle({ retention: DEFAULT_RETENTION, prefix: '', deleteByTag: true });
    const byId = new Map(plan.rules.map((p) => [p.rule.ID, p.rule]));
    assert.equal(byId.has('strata-daily-data-transitions'), false);
    assert.deepEqual(byId.get('strata-weekly-data-transitions')?.Transitions, [{ Days: 7, StorageClass: 'INTELLIGENT_TIERING' }]);
    assert.deepEqual(byId.get('strata-monthly-data-transitions')?.Transitions, [
      { Days: 7, StorageClass: 'INTELLIGENT_TIERING' },
      { Days: 30, StorageClass: 'GLACIER' },
    ]);
    assert.deepEqual(byId.get('strata-yearly-data-transitions')?.Transitions, [
      { Days: 7, StorageClass: 'INTELLIGENT_TIERING' },
      { Days: 30, StorageClass: 'GLACIER' },
      { Days: 180, StorageClass: 'DEEP_ARCHIVE' },
    ]);
    // The safety net comes after strata's retention and a daily chain: weekly 90d + 30 days margin.
    assert.deepEqual(byId.get('strata-weekly-safety-expiry')?.Expiration, { Days: 120 });
    assert.deepEqual(byId.get('strata-daily-safety-expiry')?.Expiration, { Days: 60 });
    assert.deepEqual(byId.get('strata-yearly-safety-expiry')?.Expiration, { Days: 5 * 366 + 30 });
    assert.deepEqual(byId.get('strata-expire-by-tag')?.Filter, { And: { Tags: [{ Key: 'expire', Value: 'yes' }] } });
    assert.match(plan.corrections.join('\n'), /weekly: the archive step \(GLACIER\) at day 30 is dropped: its 90-day minimum would not be reached by day 90/);
    assert.match(plan.corrections.join('\n'), /INTELLIGENT_TIERING, not STANDARD_IA \(S3 refuses IA before day 30\)/);
    const text = formatLifecycle(plan).join('\n');
    assert.match(text, /strata-yearly-data-transitions {2}\[tier=yearly, kind=data\]\n {2}day 7 → INTELLIGENT_TIERING; day 30 → GLACIER; day 180 → DEEP_ARCHIVE/);
    assert.match(text, /cost: .*DEEP_ARCHIVE: reads need a restore first \(12 to 48 hours/);
  });

  it('takes GLACIER_IR for the 7-day step when the data stays there its 90 days', () => {
    const plan = planLifecycle({ retention: DEFAULT_RETENTION, prefix: '', deleteByTag: false, steps: { monthly: [{ days: 7, kind: 'lower' }] } });
    assert.deepEqual(plan.rules.find((p) => p.rule.ID === 'strata-monthly-data-transitions')?.rule.Transitions, [{ Days: 7, StorageClass: 'GLACIER_IR' }]);
  });

  it('keeps a FULL set past its tier by a daily chain: weekly 5w with daily 30d expires after 7 + 30 + 30 days', () => {
    const plan = planLifecycle({ retention: policy('30d', '5w', '1y', '1y'), prefix: '', deleteByTag: false });
    assert.deepEqual(plan.rules.find((p) => p.rule.ID === 'strata-weekly-safety-expiry')?.rule.Expiration, { Days: 67 });
  });
});
