/**
 * core/restore-choice: which set a restore reads for --set, --at, --job, --host (or this machine's
 * own sets), and the FULL + INCR chain it needs — without a destination.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SetSummary } from '../../src/core/catalog.js';
import { chooseSets, describeIdentity, restoreChain } from '../../src/core/restore-choice.js';
import { StrataError, isStrataError } from '../../src/errors.js';

const A = { id: 'aaaa0000000000000000000000000001', host: 'laptop' };
const B = { id: 'bbbb0000000000000000000000000002', host: 'desktop' };

function set(id: string, source: string, created: string, base: string | null, machine: SetSummary['machine'], job = 'default'): SetSummary {
  const deps = base === null ? [id] : [...chainIds(base), id];
  return { id, job, source, tier: base === null ? 'weekly' : 'daily', type: base === null ? 'FULL' : 'INCR', created, base, depends: deps, machine };
}

// depends lists every set of the chain (FULL first), as a backup records it.
const BASES = new Map<string, string | null>();
function chainIds(id: string): string[] {
  const base = BASES.get(id) ?? null;
  return base === null ? [id] : [...chainIds(base), id];
}
function add(id: string, source: string, created: string, base: string | null, machine: SetSummary['machine'], job?: string): SetSummary {
  BASES.set(id, base);
  return set(id, source, created, base, machine, job);
}

// Machine A: a FULL of docs on Sunday, INCRs on Monday and Tuesday; a FULL of mail. Machine B: docs.
const SETS = [
  add('261129_FULL_docs', 'docs', '2026-11-29T09:00:00Z', null, A),
  add('261130_INCR_docs', 'docs', '2026-11-30T09:00:00Z', '261129_FULL_docs', A),
  add('261201_INCR_docs', 'docs', '2026-12-01T09:00:00Z', '261130_INCR_docs', A),
  add('261129_FULL_mail', 'mail', '2026-11-29T10:00:00Z', null, A),
  add('261129_FULL_docs_110000', 'docs', '2026-11-29T11:00:00Z', null, B),
];

const ids = (sets: readonly SetSummary[]): string[] => sets.map((s) => s.id);

/** rejects checks that `f` throws a StrataError with this code and a message matching `message`. */
function rejects(f: () => unknown, code: StrataError['code'], message: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(isStrataError(e), `not a StrataError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    assert.ok(e.hint !== undefined && e.hint !== '', 'every refusal says what to do');
    return true;
  });
}

test('this machine: the newest set of each of its sources, never another machine\'s', () => {
  assert.deepEqual(ids(chooseSets(SETS, { machineId: A.id })), ['261201_INCR_docs', '261129_FULL_mail']);
  assert.deepEqual(ids(chooseSets(SETS, { machineId: B.id })), ['261129_FULL_docs_110000']);
  assert.deepEqual(ids(chooseSets(SETS, { machineId: A.id, source: 'docs' })), ['261201_INCR_docs']);
});

test('--at: the set in force at that moment (at or before it), per source', () => {
  assert.deepEqual(ids(chooseSets(SETS, { machineId: A.id, at: new Date('2026-11-30T12:00:00Z') })), ['261130_INCR_docs', '261129_FULL_mail']);
  assert.deepEqual(ids(chooseSets(SETS, { machineId: A.id, at: new Date('2026-11-30T09:00:00Z') })), ['261130_INCR_docs', '261129_FULL_mail'], 'a set made at that very moment counts');
  // A source with no set yet at that moment is left out when other sources have one…
  assert.deepEqual(ids(chooseSets(SETS, { machineId: A.id, at: new Date('2026-11-29T09:30:00Z') })), ['261129_FULL_docs']);
  // …and is an error when it was asked for, or is the only one.
  rejects(() => chooseSets(SETS, { machineId: A.id, source: 'mail', at: new Date('2026-11-29T09:30:00Z') }), 'NOT_FOUND', /no complete set of source mail at or before 2026-11-29T09:30:00.000Z/);
  rejects(() => chooseSets(SETS, { machineId: A.id, at: new Date('2026-11-01T00:00:00Z') }), 'NOT_FOUND', /at or before 2026-11-01/);
});

test('--set: exactly that set, whatever the machine or job; an unknown id is NOT_FOUND', () => {
  assert.deepEqual(ids(chooseSets(SETS, { setId: '261130_INCR_docs', machineId: B.id })), ['261130_INCR_docs']);
  assert.deepEqual(ids(chooseSets(SETS, { setId: '261129_FULL_docs_110000', job: 'other' })), ['261129_FULL_docs_110000']);
  rejects(() => chooseSets(SETS, { setId: '261231_FULL_docs' }), 'NOT_FOUND', /no complete set 261231_FULL_docs/);
});

test('--host: a host name or a machine id prefix picks the machine; without either, several machines are refused with the candidates', () => {
  assert.deepEqual(ids(chooseSets(SETS, { host: 'desktop' })), ['261129_FULL_docs_110000']);
  assert.deepEqual(ids(chooseSets(SETS, { host: 'aaaa', source: 'docs' })), ['261201_INCR_docs']);
  assert.deepEqual(ids(chooseSets(SETS, { host: 'desktop', machineId: A.id })), ['261129_FULL_docs_110000'], '--host wins over this machine');
  rejects(() => chooseSets(SETS, {}), 'USAGE', /several machines; strata restores the sets of one:\n {2}job default, host desktop, machine bbbb0000: sources docs; newest set 261129_FULL_docs_110000 \(2026-11-29 11:00 UTC\)\n {2}job default, host laptop, machine aaaa0000: sources docs, mail; newest set 261201_INCR_docs/);
  rejects(() => chooseSets(SETS, { host: 'nosuch' }), 'NO_REPOSITORY', /no complete set of host nosuch on the destination; the destination holds:/);
  // A source only another machine has: named, with that machine, not taken silently.
  rejects(() => chooseSets([...SETS, add('261129_FULL_photos', 'photos', '2026-11-29T12:00:00Z', null, B)], { machineId: A.id, source: 'photos' }), 'NOT_FOUND', /no complete set of source photos of this machine; other machines have one:\n {2}job default, host desktop/);
});

test('--job: sets of one job; a source name two jobs share is refused until one is picked', () => {
  const twoJobs = [
    add('261129_FULL_docs', 'docs', '2026-11-29T09:00:00Z', null, A, 'work'),
    add('261129_FULL_docs_1', 'docs', '2026-11-29T09:30:00Z', null, A, 'home'),
  ];
  rejects(() => chooseSets(twoJobs, { machineId: A.id }), 'USAGE', /a source named docs from several jobs \(home, work\)/);
  assert.deepEqual(ids(chooseSets(twoJobs, { machineId: A.id, job: 'work' })), ['261129_FULL_docs']);
  assert.deepEqual(ids(chooseSets(twoJobs, { job: 'home' })), ['261129_FULL_docs_1']);
  rejects(() => chooseSets(twoJobs, { job: 'nosuch' }), 'NO_REPOSITORY', /no complete set of job nosuch/);
});

test('an empty destination is NO_REPOSITORY', () => {
  rejects(() => chooseSets([], { machineId: A.id }), 'NO_REPOSITORY', /holds no complete set/);
});

test('restoreChain: the FULL, the INCRs between and the set, oldest first; a missing or unreadable one refuses the restore', () => {
  const tue = SETS[2];
  const full = SETS[0];
  assert.ok(tue !== undefined && full !== undefined);
  assert.deepEqual(ids(restoreChain(tue, SETS)), ['261129_FULL_docs', '261130_INCR_docs', '261201_INCR_docs']);
  assert.deepEqual(ids(restoreChain(full, SETS)), ['261129_FULL_docs']);
  const withoutMonday = SETS.filter((s) => s.id !== '261130_INCR_docs');
  rejects(() => restoreChain(tue, withoutMonday), 'DAMAGED', /set 261201_INCR_docs cannot be restored: it needs set 261130_INCR_docs, which is missing from the destination/);
  rejects(() => restoreChain(tue, withoutMonday.filter((s) => s.id !== '261129_FULL_docs'), [{ id: '261129_FULL_docs' }]), 'DAMAGED', /set 261129_FULL_docs, whose descriptor cannot be read[\s\S]*; and set 261130_INCR_docs, which is missing/);
});

test('describeIdentity: one line per job and machine, legacy sets named as such', () => {
  assert.equal(
    describeIdentity({ job: 'default', machine: A, sources: ['docs', 'mail'], newest: SETS[2] ?? assert.fail(), sets: 4 }),
    'job default, host laptop, machine aaaa0000: sources docs, mail; newest set 261201_INCR_docs (2026-12-01 09:00 UTC)',
  );
  assert.match(describeIdentity({ job: 'default', machine: null, sources: ['docs'], newest: SETS[0] ?? assert.fail(), sets: 1 }), /^job default, host unknown \(sets made before strata recorded the machine\)/);
});
