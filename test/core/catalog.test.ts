/**
 * core/catalog: choosing among complete sets — the newest per source (per job), the set in force at
 * a moment, chains and missing dependencies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainGaps, chainOf, describeGap, identitiesOf, latestFor, matchesHost, newestOfEachSource, ownSets, restoreScope, sourcesOf, withDependencies, type SetSummary } from '../../src/core/catalog.js';

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

test('chainOf and chainGaps follow the bases', () => {
  const incr = SETS[1];
  assert.ok(incr !== undefined);
  assert.deepEqual(chainOf(incr, SETS).map((s) => s.id), ['261130_INCR_docs', '261129_FULL_docs']);
  assert.deepEqual(chainGaps(incr, SETS), []);
  assert.deepEqual(chainGaps(incr, SETS.slice(1)).map((g) => g.id), ['261129_FULL_docs']);
});

// Two laptops (A, B: both host "laptop"), one job "default", a source named docs on each; one
// legacy set (made before sets recorded their machine) of the same job.
const A = { id: 'aaaa0000000000000000000000000001', host: 'laptop' };
const B = { id: 'bbbb0000000000000000000000000002', host: 'laptop' };
const on = (s: SetSummary, machine: SetSummary['machine']): SetSummary => ({ ...s, machine });
const SHARED = [
  set('261122_FULL_docs', 'default', 'docs', '2026-11-22T09:00:00Z'),
  on(set('261129_FULL_docs', 'default', 'docs', '2026-11-29T09:00:00Z'), A),
  on(set('261129_FULL_docs_100000', 'default', 'docs', '2026-11-29T10:00:00Z'), B),
  on(set('261130_INCR_docs', 'default', 'docs', '2026-11-30T09:00:00Z', '261129_FULL_docs'), A),
  on(set('261130_INCR_docs_100000', 'default', 'docs', '2026-11-30T10:00:00Z', '261129_FULL_docs_100000'), B),
];

test('ownSets: an INCR base only from the same job and machine; a legacy set only when vouched for', () => {
  const mine = ownSets(SHARED, 'default', A.id, () => false);
  assert.deepEqual(mine.map((s) => s.id), ['261129_FULL_docs', '261130_INCR_docs']);
  assert.equal(latestFor(mine, 'docs')?.id, '261130_INCR_docs', 'not B\'s newer INCR');
  assert.deepEqual(ownSets(SHARED, 'default', A.id, (s) => s.id === '261122_FULL_docs').map((s) => s.id)[0], '261122_FULL_docs');
  assert.deepEqual(ownSets(SHARED, 'other', A.id, () => true), []);
});

test('matchesHost: a host name (any case) or a machine id prefix of at least 4 hex digits; "legacy"', () => {
  assert.ok(matchesHost(A, 'LAPTOP'));
  assert.ok(matchesHost(A, 'aaaa'));
  assert.ok(!matchesHost(A, 'aaa'));
  assert.ok(!matchesHost(A, 'bbbb'));
  assert.ok(matchesHost(undefined, 'legacy'));
  assert.ok(!matchesHost(undefined, 'laptop'));
});

test('identitiesOf and newestOfEachSource: one entry per job and machine', () => {
  const ids = identitiesOf(SHARED);
  assert.deepEqual(ids.map((i) => [i.job, i.machine?.id ?? null, i.newest.id, i.sets]), [
    ['default', null, '261122_FULL_docs', 1],
    ['default', A.id, '261130_INCR_docs', 2],
    ['default', B.id, '261130_INCR_docs_100000', 2],
  ]);
  assert.deepEqual(newestOfEachSource(SHARED).map((s) => s.id).sort(), ['261122_FULL_docs', '261130_INCR_docs', '261130_INCR_docs_100000']);
});

test('restoreScope: own machine first; several machines refused with candidates; --host picks; legacy sets go with the one machine', () => {
  const ids = (r: ReturnType<typeof restoreScope<SetSummary>>): string[] => (r.ok ? r.sets.map((s) => s.id) : [`refused: ${r.why}`]);
  // This machine (A) restores its own sets and the job's legacy sets, never B's.
  assert.deepEqual(ids(restoreScope(SHARED, { machineId: A.id })), ['261122_FULL_docs', '261129_FULL_docs', '261130_INCR_docs']);
  // A fresh machine: two machines — refused, both listed (the legacy sets go with each).
  const fresh = restoreScope(SHARED, {});
  assert.ok(!fresh.ok && fresh.why === 'machines');
  assert.deepEqual(fresh.candidates.filter((c) => c.machine !== null).map((c) => c.machine?.id), [A.id, B.id]);
  // The host name is shared: still two machines. A machine id prefix picks one.
  assert.deepEqual(ids(restoreScope(SHARED, { host: 'laptop' })), ['refused: machines']);
  assert.deepEqual(ids(restoreScope(SHARED, { host: 'bbbb' })), ['261129_FULL_docs_100000', '261130_INCR_docs_100000']);
  assert.deepEqual(ids(restoreScope(SHARED, { host: 'legacy' })), ['261122_FULL_docs']);
  // A machine of another state folder restores nothing by preference: it has no sets here.
  assert.deepEqual(ids(restoreScope(SHARED, { machineId: 'cccc0000000000000000000000000003' })), ['refused: machines']);
  // A source this machine does not have is not taken from another machine without --host.
  const withMail = [...SHARED, on(set('261129_FULL_mail', 'default', 'mail', '2026-11-29T11:00:00Z'), B)];
  assert.deepEqual(ids(restoreScope(withMail, { machineId: A.id, source: 'mail' })), ['refused: none']);
  assert.deepEqual(ids(restoreScope(withMail, { machineId: A.id, source: 'mail', host: 'bbbb' })), ['261129_FULL_mail']);
  // Nothing matches: the sets found are returned for the message.
  const none = restoreScope(SHARED, { job: 'nosuch' });
  assert.ok(!none.ok && none.why === 'none' && none.found.length === 3);
  // Only a machine's own sets plus legacy ones of its job: one machine, restorable.
  assert.deepEqual(ids(restoreScope(SHARED.slice(0, 2), {})), ['261122_FULL_docs', '261129_FULL_docs']);
  // One machine, two jobs sharing a source name: refused per source; distinct names are fine.
  const twoJobs = [on(set('261129_FULL_docs', 'work', 'docs', '2026-11-29T09:00:00Z'), A), on(set('261129_FULL_docs_1', 'home', 'docs', '2026-11-29T09:30:00Z'), A)];
  const amb = restoreScope(twoJobs, { machineId: A.id });
  assert.ok(!amb.ok && amb.why === 'jobs' && amb.source === 'docs');
  assert.deepEqual(ids(restoreScope(twoJobs, { job: 'home' })), ['261129_FULL_docs_1']);
  const distinct = [on(set('261129_FULL_docs', 'work', 'docs', '2026-11-29T09:00:00Z'), A), on(set('261129_FULL_mail', 'home', 'mail', '2026-11-29T09:30:00Z'), A)];
  assert.deepEqual(ids(restoreScope(distinct, {})), ['261129_FULL_docs', '261129_FULL_mail']);
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
