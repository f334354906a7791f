/** core/runlog: exit codes in words, the ping URLs, the notify environment, torn lines. Pure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventOf, notifyEnv, parseRunLine, pingUrl, resultOf, summaryLine, type RunRecord } from '../../src/core/runlog.js';

const record: RunRecord = {
  v: 1, start: '2026-12-06T09:00:00.000Z', end: '2026-12-06T09:01:00.000Z', command: 'backup', job: 'j', destination: 's3://***@b/p', exitCode: 3, result: 'partial',
  sets: { made: ['261206_INCR_a', '261206_INCR_b'], pruned: ['261001_INCR_a'], promoted: [], verified: [] }, counts: {}, bytes: {}, warnings: ['w'], error: null,
};

test('resultOf and eventOf: 0 success, 3 partial, 130 cancelled (a failure to notify), the rest failure', () => {
  assert.deepEqual([0, 3, 130, 1, 2, 10, 13].map(resultOf), ['success', 'partial', 'cancelled', 'failure', 'failure', 'failure', 'failure']);
  assert.deepEqual((['success', 'partial', 'cancelled', 'failure'] as const).map(eventOf), ['success', 'partial', 'failure', 'failure']);
});

test('pingUrl: healthchecks-style, a trailing slash or a query string kept in place', () => {
  assert.equal(pingUrl('https://hc-ping.com/u', 'start'), 'https://hc-ping.com/u/start');
  assert.equal(pingUrl('https://hc-ping.com/u/', 'success'), 'https://hc-ping.com/u');
  assert.equal(pingUrl('https://hc-ping.com/u', 'partial'), 'https://hc-ping.com/u/fail');
  assert.equal(pingUrl('https://hc-ping.com/u', 'cancelled'), 'https://hc-ping.com/u/fail');
  assert.equal(pingUrl('https://hc-ping.com/key/slug?create=1', 'start'), 'https://hc-ping.com/key/slug/start?create=1');
});

test('notifyEnv and summaryLine say what the run did, and nothing else', () => {
  const env = notifyEnv(record);
  assert.equal(env['STRATA_RUN_RESULT'], 'partial');
  assert.equal(env['STRATA_RUN_SETS_MADE'], '261206_INCR_a 261206_INCR_b');
  assert.equal(env['STRATA_RUN_SETS_PRUNED'], '261001_INCR_a');
  assert.equal(env['STRATA_RUN_WARNINGS'], '1');
  assert.ok(Object.keys(env).every((k) => k.startsWith('STRATA_RUN_')));
  assert.equal(summaryLine(record), 'backup PARTIAL (exit 3): made 261206_INCR_a, 261206_INCR_b; pruned 261001_INCR_a; 1 warning');
});

test('parseRunLine: a record, or nothing for a torn or foreign line', () => {
  assert.deepEqual(parseRunLine(JSON.stringify(record)), record);
  assert.equal(parseRunLine(JSON.stringify(record).slice(0, 40)), undefined);
  assert.equal(parseRunLine('{"v":2,"command":"x"}'), undefined);
  assert.equal(parseRunLine(''), undefined);
  // Fields a later version leaves out get their empty values.
  const minimal = parseRunLine('{"v":1,"start":"2026-12-06T09:00:00.000Z","command":"verify","exitCode":0}');
  assert.deepEqual(minimal?.sets, { made: [], pruned: [], promoted: [], verified: [] });
});

test('resultOf: 75 (restore from archive storage pending) is pending, told like a partial run, never a failure', () => {
  assert.equal(resultOf(75), 'pending');
  assert.equal(eventOf(resultOf(75)), 'partial');
});
