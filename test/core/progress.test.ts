/** core/progress: the progress line's text, durations, rates, ETAs and phase timing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhaseClock, clip, mergePhases, eta, formatDuration, formatRate, formatSeconds, progressLine, rate } from '../../src/core/progress.js';

test('formatDuration: m:ss, h:mm:ss, and - for what cannot be told', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(59.9), '0:59');
  assert.equal(formatDuration(61), '1:01');
  assert.equal(formatDuration(3600 + 62), '1:01:02');
  assert.equal(formatDuration(-1), '-');
  assert.equal(formatDuration(Infinity), '-');
});

test('formatSeconds: summaries in s, min and h', () => {
  assert.equal(formatSeconds(0.4213), '0.42 s');
  assert.equal(formatSeconds(12.34), '12.3 s');
  assert.equal(formatSeconds(125), '2 min 05 s');
  assert.equal(formatSeconds(3720), '1 h 02 min');
});

test('rate and eta: average so far; unknown before anything is done or without a total', () => {
  assert.equal(rate(0, 5), undefined);
  assert.equal(rate(10, 0), undefined);
  assert.equal(rate(3 * 1024 * 1024, 2), 1.5 * 1024 * 1024);
  assert.equal(formatRate(1.5 * 1024 * 1024), '1.50 MiB/s');
  assert.equal(eta(25, 100, 10), 30);
  assert.equal(eta(100, 100, 10), 0);
  assert.equal(eta(0, 100, 10), undefined);
  assert.equal(eta(10, undefined, 10), undefined);
});

test('progressLine: elapsed, phase, bytes done / total, percent, speed, ETA, files, the current item', () => {
  const line = progressLine({ phase: 'docs: archiving 3 files', done: 25 * 1024 * 1024, total: 100 * 1024 * 1024, bytes: true, elapsedSeconds: 10, detail: 'a/b.txt' }, 200);
  assert.equal(line, '[0:10]  docs: archiving 3 files  25.0 MiB / 100.0 MiB  25%  2.50 MiB/s  ETA 0:30  a/b.txt');
  const scan = progressLine({ phase: 'docs: scanning', done: 2048, bytes: true, files: 12, elapsedSeconds: 1 }, 200);
  assert.equal(scan, '[0:01]  docs: scanning  2.00 KiB  2.00 KiB/s  12 files');
  // A phase without counts shows its name and elapsed time (the screen is never blank).
  assert.equal(progressLine({ phase: 'docs: manifest', done: 0, bytes: false, elapsedSeconds: 3 }, 200), '[0:03]  docs: manifest');
  assert.equal(progressLine({ phase: 'reading manifests', done: 2, total: 4, bytes: false, elapsedSeconds: 3 }, 200), '[0:03]  reading manifests  2 / 4  50%  ETA 0:03');
});

test('progressLine: clipped to the width (one column spare), control characters never pass', () => {
  const st = { phase: 'docs: archiving', done: 1, total: 2, bytes: true, elapsedSeconds: 1, detail: 'x'.repeat(300) };
  for (const width of [40, 80, 133]) {
    const line = progressLine(st, width);
    assert.equal(Array.from(line).length, width - 1);
    assert.ok(line.endsWith('…'));
  }
  assert.equal(clip('a\rb\x1b[2Kc\n', 80), 'a b [2Kc ');
  assert.equal(clip('日本語のファイル', 5), '日本語の…');
});

test('PhaseClock: phases in order, seconds from the given monotonic clock, bytes or null', () => {
  let now = 1000;
  const c = new PhaseClock(() => now);
  now += 1500;
  c.end('scan', 42);
  now += 250;
  c.end('manifest');
  assert.deepEqual(c.phases, [
    { name: 'scan', seconds: 1.5, bytes: 42 },
    { name: 'manifest', seconds: 0.25, bytes: null },
  ]);
});

test('mergePhases: one entry per name in first-seen order, seconds and known bytes summed', () => {
  assert.deepEqual(
    mergePhases([
      { name: 'prepare', seconds: 0.1, bytes: null },
      { name: 'fetch', seconds: 1.2, bytes: 100 },
      { name: 'extract', seconds: 0.3, bytes: null },
      { name: 'fetch', seconds: 0.4, bytes: 50 },
      { name: 'extract', seconds: 0.2, bytes: null },
    ]),
    [
      { name: 'prepare', seconds: 0.1, bytes: null },
      { name: 'fetch', seconds: 1.6, bytes: 150 },
      { name: 'extract', seconds: 0.5, bytes: null },
    ],
  );
});
