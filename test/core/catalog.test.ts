/**
 * core/catalog: choosing among complete sets — the newest per source (per job), the set in force at
 * a moment, chains and missing dependencies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainOf, latestFor, missingDependencies, newestOfEachSource, sourcesOf, type SetSummary } from '../../src/core/catalog.js';

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
