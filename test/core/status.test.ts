/** core/status: the warnings strata status gives, in plain words, from sets, runs and the schedule. Pure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeStatus, type StatusSet } from '../../src/core/status.js';
import { emptySets, type RunRecord } from '../../src/core/runlog.js';

const set = (id: string, created: string, tier: StatusSet['tier'] = 'daily', source = 'docs'): StatusSet => ({ id, job: 'j', source, tier, created, bytes: 1000 });
const run = (command: string, start: string, exitCode: number, message?: string, warnings: string[] = []): RunRecord => ({
  v: 1, start, end: start, command, job: 'j', destination: '/d', exitCode, result: exitCode === 0 ? 'success' : exitCode === 3 ? 'partial' : 'failure',
  sets: emptySets(), counts: {}, bytes: {}, warnings, error: message === undefined ? null : { code: 'X', message, hint: null },
});

test('all well: no warnings; sets per tier and bytes per source; a source without sets is a warning', () => {
  const sets = [set('261201_FULL_docs', '2026-12-01T02:00:00Z', 'weekly'), set('261202_INCR_docs', '2026-12-02T02:00:00Z')];
  const s = computeStatus({ job: 'j', now: new Date('2026-12-02T12:00:00Z'), sources: ['docs'], sets, runs: [run('backup', '2026-12-02T02:00:00Z', 0), run('verify', '2026-12-02T03:00:00Z', 0)], nextRun: new Date('2026-12-03T02:00:00Z') });
  assert.deepEqual(s.warnings, []);
  assert.deepEqual(s.sources, [{ source: 'docs', newest: { id: '261202_INCR_docs', created: '2026-12-02T02:00:00Z', ageHours: 10 }, sets: { daily: 1, weekly: 1, monthly: 0, yearly: 0 }, bytes: 2000 }]);
  assert.equal(s.nextRun, '2026-12-03T02:00:00.000Z');
  const added = computeStatus({ job: 'j', now: new Date('2026-12-02T12:00:00Z'), sources: ['docs', 'photos'], sets, runs: [], nextRun: null });
  assert.deepEqual(added.warnings, ['source photos has no complete set']);
  assert.deepEqual(added.notes, ['no schedule is installed (strata schedule install)']);
});

test('stale sets, an old or failed verify, failed backup, prune and promote: each a warning', () => {
  const sets = [set('261001_FULL_docs', '2026-10-01T02:00:00Z', 'weekly')];
  const s = computeStatus({
    job: 'j', now: new Date('2026-11-15T12:00:00Z'), sources: ['docs'], sets, nextRun: null,
    runs: [
      run('verify', '2026-10-02T03:00:00Z', 0),
      run('prune', '2026-11-14T03:00:00Z', 1, 'the destination went away'),
      run('promote', '2026-11-14T03:00:00Z', 0),
      run('verify', '2026-11-14T04:00:00Z', 13, 'a set is damaged'),
      run('backup', '2026-11-15T02:00:00Z', 12, 'wrong password', ['promotion of 261001_FULL_docs failed: timeout']),
    ],
  });
  assert.deepEqual(s.warnings, [
    'source docs: no complete set for 45 days (newest 261001_FULL_docs); backups are not running or failing',
    'the last backup (2026-11-15T02:00:00Z) ended FAILURE: wrong password',
    'the last verify (2026-11-14T04:00:00Z) ended FAILURE: a set is damaged',
    'the last successful verify was 44 days ago (2026-10-02T03:00:00Z)',
    'the last prune (2026-11-14T03:00:00Z) failed: the destination went away',
    'the last backup: promotion of 261001_FULL_docs failed: timeout',
  ]);
});

test('no verify ever: a warning only once the oldest set is older than 30 days; an unreadable destination is one', () => {
  const young = computeStatus({ job: 'j', now: new Date('2026-12-10T00:00:00Z'), sources: ['docs'], sets: [set('261201_FULL_docs', '2026-12-01T00:00:00Z', 'weekly'), set('261209_INCR_docs', '2026-12-09T12:00:00Z')], runs: [], nextRun: null });
  assert.deepEqual(young.warnings, []);
  const old = computeStatus({ job: 'j', now: new Date('2027-01-10T00:00:00Z'), sources: ['docs'], sets: [set('261201_FULL_docs', '2026-12-01T00:00:00Z', 'weekly'), set('270109_INCR_docs', '2027-01-09T12:00:00Z')], runs: [], nextRun: null });
  assert.match(old.warnings.join('\n'), /no verify has succeeded in the run log, and the oldest set is older than 30 days/);
  const down = computeStatus({ job: 'j', now: new Date('2026-12-10T00:00:00Z'), sources: ['docs'], sets: undefined, destinationError: 'connection refused', runs: [], nextRun: null });
  assert.deepEqual(down.warnings, ['the destination could not be read: connection refused']);
});

test('replication: the last result per destination from the run log; a failed one is a warning until one succeeds; none recorded is a note', () => {
  const rep = (r: RunRecord, replication: RunRecord['replication']): RunRecord => ({ ...r, replication });
  const s = computeStatus({
    job: 'j', now: new Date('2026-12-02T12:00:00Z'), sources: ['docs'], sets: [set('261202_FULL_docs', '2026-12-02T02:00:00Z', 'weekly')], nextRun: new Date('2026-12-03T02:00:00Z'),
    replicas: ['usb', 's3', 'dav', 'tape'],
    runs: [
      rep(run('replicate', '2026-12-01T03:00:00Z', 3), { usb: { copied: 0, failed: 1, error: '261201_FULL_docs: disk full' }, s3: { copied: 1, failed: 0, error: null } }),
      rep(run('backup', '2026-12-02T02:00:00Z', 3), { usb: { copied: 1, failed: 0, error: null }, s3: { copied: 0, failed: 0, error: 'connection refused' } }),
      rep(run('replicate', '2026-12-02T03:00:00Z', 3), { dav: { copied: 2, failed: 2, error: '261202_FULL_docs: 403 Forbidden' } }),
      run('verify', '2026-12-02T04:00:00Z', 0),
    ],
  });
  assert.deepEqual(s.replication, [
    { destination: 'usb', last: { at: '2026-12-02T02:00:00Z', command: 'backup', copied: 1, failed: 0, error: null } },
    { destination: 's3', last: { at: '2026-12-02T02:00:00Z', command: 'backup', copied: 0, failed: 0, error: 'connection refused' } },
    { destination: 'dav', last: { at: '2026-12-02T03:00:00Z', command: 'replicate', copied: 2, failed: 2, error: '261202_FULL_docs: 403 Forbidden' } },
    { destination: 'tape', last: null },
  ]);
  assert.deepEqual(s.warnings, [
    // (a backup whose replication failed ends PARTIAL: its own warning)
    'the last backup (2026-12-02T02:00:00Z) ended PARTIAL',
    'the last replication to s3 (2026-12-02T02:00:00Z, backup) failed: connection refused; strata replicate --to s3 tries again',
    'the last replication to dav (2026-12-02T03:00:00Z, replicate) failed for 2 sets: 261202_FULL_docs: 403 Forbidden; strata replicate --to dav tries again',
  ]);
  assert.deepEqual(s.notes, ['no replication to tape recorded yet (strata replicate --to tape)']);
  // A single destination: nothing about replication.
  const one = computeStatus({ job: 'j', now: new Date('2026-12-02T12:00:00Z'), sources: ['docs'], sets: [set('261202_FULL_docs', '2026-12-02T02:00:00Z', 'weekly')], runs: [], nextRun: null });
  assert.deepEqual(one.replication, []);
});
