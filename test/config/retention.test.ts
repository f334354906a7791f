/**
 * The `retention:` section of strata.yaml: defaults, units, and bad input reported with its line
 * (exit 2 through `strata config check`, nothing runs).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { renderTemplate } from '../../src/config/template.js';
import { DEFAULT_RETENTION, expiresAt, parseRetention } from '../../src/core/retention.js';
import { isStrataError } from '../../src/errors.js';
import { strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const HEAD = 'sources: [{path: /a}]\ndestination: /b\n';

function load(text: string): ReturnType<typeof parseConfigText> {
  return parseConfigText(text, 'strata.yaml', { baseDir: '/', env: {} });
}

function problem(text: string): string {
  try {
    load(text);
  } catch (e) {
    assert.ok(isStrataError(e, 'CONFIG'), `expected a CONFIG error, got ${String(e)}`);
    assert.equal(e.exitCode, 2);
    return e.message;
  }
  assert.fail('the config loaded but should not have');
}

describe('retention config', () => {
  it('defaults to the blog post: daily 30d, weekly 90d, monthly 365d, yearly 5y, pruneAfterBackup true', () => {
    const c = load(HEAD);
    assert.deepEqual(c.retention, { tiers: DEFAULT_RETENTION, pruneAfterBackup: true });
    assert.deepEqual(DEFAULT_RETENTION, { daily: { n: 30, unit: 'd' }, weekly: { n: 90, unit: 'd' }, monthly: { n: 365, unit: 'd' }, yearly: { n: 5, unit: 'y' } });
    // The template writes the same defaults, and loads to them.
    assert.deepEqual(load(renderTemplate()).retention, { tiers: DEFAULT_RETENTION, pruneAfterBackup: true });
    assert.match(renderTemplate(), /^retention:\n {2}daily: 30d\n {2}weekly: 90d\n {2}monthly: 365d\n {2}yearly: 5y\n {2}pruneAfterBackup: true$/m);
  });

  it('reads d, w, m, y and forever; a tier left out keeps its default', () => {
    const c = load(`${HEAD}retention:\n  daily: 2w\n  weekly: 3M\n  yearly: forever\n  pruneAfterBackup: false\n`);
    assert.deepEqual(c.retention, { tiers: { daily: { n: 2, unit: 'w' }, weekly: { n: 3, unit: 'm' }, monthly: DEFAULT_RETENTION.monthly, yearly: 'forever' }, pruneAfterBackup: false });
  });

  it('months and years are calendar months and years (UTC); a missing day becomes the month\'s last', () => {
    assert.equal(expiresAt(new Date('2027-01-31T09:00:00Z'), { n: 1, unit: 'm' })?.toISOString(), '2027-02-28T09:00:00.000Z');
    assert.equal(expiresAt(new Date('2028-02-29T09:00:00Z'), { n: 1, unit: 'y' })?.toISOString(), '2029-02-28T09:00:00.000Z');
    assert.equal(expiresAt(new Date('2027-03-01T00:00:00Z'), { n: 2, unit: 'w' })?.toISOString(), '2027-03-15T00:00:00.000Z');
    assert.equal(expiresAt(new Date('2027-03-01T00:00:00Z'), 'forever'), null);
    assert.deepEqual(parseRetention(' 30D '), { n: 30, unit: 'd' });
  });

  it('deleteBy: tag is kept; strata (the default) leaves the field out; anything else is refused at its line', () => {
    assert.equal(load(`${HEAD}retention:\n  deleteBy: tag\n`).retention.deleteBy, 'tag');
    assert.equal(load(`${HEAD}retention:\n  deleteBy: strata\n`).retention.deleteBy, undefined);
    assert.match(problem(`${HEAD}retention:\n  deleteBy: lifecycle\n`), /^strata\.yaml:4:3: retention\.deleteBy: expected strata \(prune deletes\) or tag \(prune tags, the S3 lifecycle rule deletes\)/);
  });

  it('bad input names the line and the key: unknown unit, no unit, zero, negative, fractions, not a duration', () => {
    assert.equal(problem(`${HEAD}retention:\n  daily: 30x\n`), 'strata.yaml:4:3: retention.daily: unknown unit "x" in "30x": use d (days), w (weeks), m (months) or y (years), or forever');
    assert.equal(problem(`${HEAD}retention:\n  weekly: 90\n`), 'strata.yaml:4:3: retention.weekly: expected a duration with a unit, such as 90d (d days, w weeks, m months, y years) or forever, got the number 90');
    assert.equal(problem(`${HEAD}retention:\n  monthly: 0d\n`), 'strata.yaml:4:3: retention.monthly: must be more than zero, got "0d" (to keep sets without limit, write forever)');
    assert.equal(problem(`${HEAD}retention:\n  yearly: -5y\n`), 'strata.yaml:4:3: retention.yearly: must be more than zero, got "-5y" (to keep sets without limit, write forever)');
    assert.equal(problem(`${HEAD}retention:\n  yearly: 1.5y\n`), 'strata.yaml:4:3: retention.yearly: expected a whole number of years, got "1.5y"');
    assert.equal(problem(`${HEAD}retention:\n  daily: [30d]\n`), 'strata.yaml:4:3: retention.daily: expected a duration such as 30d, 12w, 6m, 5y, or forever, got a list');
    assert.equal(problem(`${HEAD}retention:\n  daily: soon\n`), 'strata.yaml:4:3: retention.daily: expected a duration such as 30d, 12w, 6m, 5y, or forever, got "soon"');
    assert.equal(problem(`${HEAD}retention:\n  pruneAfterBackup: yes please\n`), 'strata.yaml:4:3: retention.pruneAfterBackup: expected true or false, got the string "yes please"');
    assert.match(problem(`${HEAD}retention:\n  dayly: 30d\n`), /^strata\.yaml:4:3: unknown key "dayly" in retention \(did you mean "daily"\?\)$/);
  });

  it('a retention shorter than the daily chain needs is refused, at the tier it concerns', () => {
    // Daily shorter than one chain (7 days from one weekly FULL to the next).
    assert.equal(
      problem(`${HEAD}retention:\n  daily: 3d\n  weekly: 90d\n`),
      'strata.yaml:4:3: retention.daily: 3d is shorter than a daily chain: the INCR sets from one weekly FULL set to the next (7 days) need each other and would be kept anyway; use at least 7d (1w)',
    );
    // A FULL tier shorter than the daily sets built on it.
    assert.equal(
      problem(`${HEAD}retention:\n  daily: 30d\n  weekly: 14d\n`),
      'strata.yaml:5:3: retention.weekly: 14d is shorter than retention.daily (30d): a weekly FULL set is the base of the daily INCR sets made after it, which need it as long as they are kept; use at least 30d',
    );
    // A month can be 28 days: 1m is not at least 30d in every month.
    assert.match(problem(`${HEAD}retention:\n  daily: 30d\n  monthly: 1m\n`), /^strata\.yaml:5:3: retention\.monthly: 1m is shorter than retention\.daily \(30d\)/);
    // A tier left out counts with its default; daily forever needs the others forever.
    assert.match(problem(`${HEAD}retention:\n  daily: forever\n  weekly: forever\n  monthly: forever\n`), /^strata\.yaml:3:1: retention\.yearly: 5y is shorter than retention\.daily \(forever\)/);
    // Exactly a week, and the same length in other words, are accepted.
    assert.deepEqual(load(`${HEAD}retention:\n  daily: 1w\n  weekly: 7d\n  monthly: 1m\n  yearly: 1y\n`).retention.tiers.daily, { n: 1, unit: 'w' });
    assert.deepEqual(load(`${HEAD}retention:\n  daily: 1m\n  weekly: 1m\n`).retention.tiers.weekly, { n: 1, unit: 'm' });
  });

  it('strata config check exits 2 and names the line; nothing runs', async (t) => {
    const dir = await tempDir(t, 'strata-retention-config-');
    const file = path.join(dir, 'strata.yaml');
    await writeFile(file, `sources: [{path: ${dir}}]\ndestination: ${dir}\nretention:\n  daily: 30 days\n`);
    const r = await strata(['config', 'check', '--config', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /strata\.yaml:4:3: retention\.daily: unknown unit "days" in "30 days"/);
    const b = await strata(['backup', '--tier', 'daily', '--config', file], { env: { STRATA_PASSWORD: 'x' } });
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, /retention\.daily/);
  });
});
