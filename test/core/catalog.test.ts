/**
 * core/catalog: choosing among complete sets — the newest per source (per job), the set in force at
 * a moment, chains and missing dependencies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainGaps, chainOf, describeGap, latestFor, missingDependencies, newestOfEachSource, sourcesOf, withDependencies, type SetSummary } from '../../src/core/catalog.js';

function set(id: string, job: string, source: string, created: string, base: string | null = null): SetSummary {
  return { id, job, source, tier: base === null ? 'weekly' : 'daily', type: base === null ? 'FULL' : 'INCR', created, base, depends: base === null ? [id] : [base, id] };
}

const SETS = [
  set('261129_FULL_docs', 'laptop', 'docs', '2026-11-29T10:00:00Z'),
  set('261130_INCR_docs', 'laptop', 'docs', '2026-11-30T10:00:00Z', '261129_FULL_docs'),
  set('261129_FULL_docs_110000', 'desktop', 'docs', '2026-11-29T11:00:00Z'),
  set('261129_FULL_mail', 'laptop', 'mail', '2026-11-29T12:00:00Z'),
];

test('latestFor picks the newest set of a source, at or before a moment', () => {
  assert.equal(latestFor(SETS, 'docs')?.id, '261130_INCR_docs');
  assert.equal(latestFor(SETS, 'docs', new Date('2026-11-29T10:30:00Z'))?.id, '261129_FULL_docs');
  assert.equal(latestFor(SETS, 'docs', new Date('2026-11-28T00:00:00Z')), undefined);
  assert.deepEqual(sourcesOf(SETS), ['docs', 'mail']);
});

test('newestOfEachSource: the newest set of each source of each job, jobs sharing a source name included', () => {
  assert.deepEqual(newestOfEachSource(SETS).map((s) => s.id), ['261129_FULL_docs_110000', '261130_INCR_docs', '261129_FULL_mail']);
  assert.deepEqual(newestOfEachSource([]), []);
});

test('chainOf and missingDependencies follow the bases', () => {
  const incr = SETS[1];
  assert.ok(incr !== undefined);
  assert.deepEqual(chainOf(incr, SETS).map((s) => s.id), ['261130_INCR_docs', '261129_FULL_docs']);
  assert.deepEqual(missingDependencies(incr, SETS), []);
  assert.deepEqual(missingDependencies(incr, SETS.slice(1)), ['261129_FULL_docs']);
});

test('chainGaps: every set a restore needs is present, readable and (per verify) intact; names the ones that are not', () => {
  const full = set('261129_FULL_docs', 'laptop', 'docs', '2026-11-29T10:00:00Z');
  const incr = set('261130_INCR_docs', 'laptop', 'docs', '2026-11-30T10:00:00Z', '261129_FULL_docs');
  assert.deepEqual(chainGaps(incr, [full, incr]), []);
  assert.deepEqual(chainGaps(full, [full]), []);
  assert.deepEqual(chainGaps(incr, [incr]), [{ id: '261129_FULL_docs', reason: 'missing' }]);
  assert.deepEqual(chainGaps(incr, [incr], [{ id: '261129_FULL_docs' }]), [{ id: '261129_FULL_docs', reason: 'unreadable' }]);
  assert.deepEqual(chainGaps(incr, [full, incr], [], new Map([['261129_FULL_docs', 'damaged']])), [{ id: '261129_FULL_docs', reason: 'damaged' }]);
  assert.deepEqual(chainGaps(incr, [full, incr], [], new Map([['261129_FULL_docs', 'repaired']])), []);
  // The set's own damage is its verdict, not a gap in its chain.
  assert.deepEqual(chainGaps(incr, [full, incr], [], new Map([['261130_INCR_docs', 'damaged']])), []);
  assert.match(describeGap({ id: 'X', reason: 'missing' }), /set X, which is missing/);
});

test('withDependencies adds the sets the chosen ones depend on, once each, oldest first', () => {
  const full = set('261129_FULL_docs', 'laptop', 'docs', '2026-11-29T10:00:00Z');
  const incr = set('261130_INCR_docs', 'laptop', 'docs', '2026-11-30T10:00:00Z', '261129_FULL_docs');
  const mail = set('261129_FULL_mail', 'laptop', 'mail', '2026-11-29T12:00:00Z');
  assert.deepEqual(withDependencies([incr, mail], [full, incr, mail]).map((s) => s.id), ['261129_FULL_docs', '261129_FULL_mail', '261130_INCR_docs']);
  assert.deepEqual(withDependencies([incr], [incr]).map((s) => s.id), ['261130_INCR_docs']);
});
