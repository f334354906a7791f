/** core/naming: set ids as the blog post names them, the suffix rule for a second run, and `auto`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidSourceName, makeSetId, parseSetId, resolveTier, weekdayName } from '../../src/core/naming.js';

const at = new Date('2026-12-06T14:30:12Z'); // a Sunday

test('makeSetId: YYMMDD_TYPE_source in UTC, then _HHMMSS, then _HHMMSS-n', () => {
  assert.equal(makeSetId(at, 'FULL', 'docs', new Set()), '261206_FULL_docs');
  assert.equal(makeSetId(at, 'INCR', 'docs', new Set()), '261206_INCR_docs');
  // Just before midnight UTC is still that day, whatever the local zone.
  assert.equal(makeSetId(new Date('2026-12-31T23:59:59Z'), 'FULL', 'a', new Set()), '261231_FULL_a');
  assert.equal(makeSetId(new Date('2027-01-01T00:00:00Z'), 'FULL', 'a', new Set()), '270101_FULL_a');
  const taken = new Set(['261206_FULL_docs']);
  assert.equal(makeSetId(at, 'FULL', 'docs', taken), '261206_FULL_docs_143012');
  taken.add('261206_FULL_docs_143012');
  assert.equal(makeSetId(at, 'FULL', 'docs', taken), '261206_FULL_docs_143012-2');
  taken.add('261206_FULL_docs_143012-2');
  assert.equal(makeSetId(at, 'FULL', 'docs', taken), '261206_FULL_docs_143012-3');
  // Another source's or type's ids do not count.
  assert.equal(makeSetId(at, 'INCR', 'docs', taken), '261206_INCR_docs');
  assert.equal(makeSetId(at, 'FULL', 'mail', taken), '261206_FULL_mail');
});

test('set ids of one source sort by time', () => {
  const ids = [makeSetId(new Date('2026-01-02T00:00:00Z'), 'FULL', 'd', new Set()), makeSetId(new Date('2026-01-01T09:00:00Z'), 'INCR', 'd', new Set()), makeSetId(new Date('2026-01-01T08:00:00Z'), 'INCR', 'd', new Set())];
  assert.deepEqual([...ids].sort(), ['260101_INCR_d', '260101_INCR_d', '260102_FULL_d']);
  const second = makeSetId(new Date('2026-01-01T09:00:00Z'), 'INCR', 'd', new Set(['260101_INCR_d']));
  assert.ok('260101_INCR_d' < second && second < '260102_FULL_d');
});

test('parseSetId reads back what makeSetId writes, and nothing else', () => {
  assert.deepEqual(parseSetId('261206_FULL_docs'), { day: '261206', type: 'FULL', source: 'docs' });
  assert.deepEqual(parseSetId('261206_INCR_my.docs-2_143012'), { day: '261206', type: 'INCR', source: 'my.docs-2' });
  assert.deepEqual(parseSetId('261206_FULL_docs_143012-3'), { day: '261206', type: 'FULL', source: 'docs' });
  for (const bad of ['Photos', '2019', '261206_DIFF_docs', '26126_FULL_docs', '261206_FULL_', '261206_FULL_.hidden', '261206_FULL_docs/x', 'x261206_FULL_docs']) {
    assert.equal(parseSetId(bad), undefined, bad);
  }
});

test('isValidSourceName: starts with a letter or digit; letters, digits, ".", "_", "-"; at most 64', () => {
  for (const ok of ['docs', 'Docs.2', 'a-b', 'a_b', '9', 'x'.repeat(64)]) assert.ok(isValidSourceName(ok), ok);
  for (const bad of ['', '-docs', '.docs', '_docs', 'my docs', 'a/b', 'x'.repeat(65), 'é']) assert.ok(!isValidSourceName(bad), bad);
});

test('resolveTier: auto is weekly on the configured weekday (any case), else daily; explicit tiers stay', () => {
  assert.equal(weekdayName(at), 'sunday');
  assert.equal(resolveTier('auto', at, 'sunday'), 'weekly');
  assert.equal(resolveTier('auto', at, 'Sunday'), 'weekly');
  assert.equal(resolveTier('auto', at, 'monday'), 'daily');
  assert.equal(resolveTier('auto', new Date('2026-12-07T00:00:00Z'), 'monday'), 'weekly');
  for (const t of ['daily', 'weekly', 'monthly', 'yearly'] as const) assert.equal(resolveTier(t, at, 'monday'), t);
});
