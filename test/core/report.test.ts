/**
 * core/report: the report's model (tiers, chains, stored size over time, warnings) and its HTML
 * (every text escaped, nothing external), from descriptors alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultKdf, type Descriptor } from '../../src/core/descriptor.js';
import type { Tier } from '../../src/core/naming.js';
import { buildReport, type ReportInput } from '../../src/core/report/model.js';
import { escapeHtml, renderHtml } from '../../src/core/report/html.js';

const H = 'ab'.repeat(32);

function desc(id: string, tier: Tier, created: string, base: string | null, size: number): Descriptor {
  const depends = base === null ? [id] : [base, id];
  return {
    format: 'strata-set', version: 1, id, job: 'laptop', source: id.split('_')[2] ?? 'docs', tier, type: base === null ? 'FULL' : 'INCR', created, base, depends,
    volumes: [{ name: `${id}.7z.001`, size, sha256: H }],
    manifest: { name: `${id}.manifest.7z`, size: 100, sha256: H },
    protection: null,
    recovery: [{ name: `${id}.par2`, size: 50, sha256: H }],
    stats: { files: 3, bytes: size, archivedFiles: 3, archivedBytes: size, added: 3, modified: 0, deleted: 0 },
    tool: { strata: '0.1.0' }, kdf: defaultKdf(Buffer.alloc(16).toString('base64')), check: H, hmac: H,
  };
}

const FULL = desc('261129_FULL_docs', 'weekly', '2026-11-29T09:00:00.000Z', null, 1000);
const INCR1 = desc('261130_INCR_docs', 'daily', '2026-11-30T09:00:00.000Z', '261129_FULL_docs', 200);
const INCR2 = { ...desc('261201_INCR_docs', 'daily', '2026-12-01T09:00:00.000Z', '261130_INCR_docs', 300), depends: ['261129_FULL_docs', '261130_INCR_docs', '261201_INCR_docs'] };

function input(over: Partial<ReportInput> = {}): ReportInput {
  const sets = over.sets ?? [INCR2, FULL, INCR1];
  return { now: new Date('2026-12-02T09:00:00Z'), destination: '/backups', job: 'laptop', sets, allComplete: sets, incomplete: [], problems: [], runs: [], ...over };
}

test('buildReport: sets oldest first per source, chains, tier counts and stored size summed over time', () => {
  const m = buildReport(input());
  assert.equal(m.sources.length, 1);
  const src = m.sources[0];
  assert.ok(src !== undefined);
  assert.deepEqual(src.sets.map((s) => s.id), ['261129_FULL_docs', '261130_INCR_docs', '261201_INCR_docs']);
  assert.deepEqual(src.sets[2]?.chain, ['261201_INCR_docs', '261130_INCR_docs', '261129_FULL_docs']);
  assert.deepEqual(src.tierCounts, { daily: 2, weekly: 1, monthly: 0, yearly: 0 });
  assert.deepEqual(src.storedOverTime.map((p) => p.bytes), [1150, 1150 + 350, 1150 + 350 + 450]);
  assert.equal(m.totalBytes, 1950);
  assert.equal(src.newest?.ageHours, 24);
  assert.equal(src.sets[0]?.recoveryPercent, 5);
  assert.deepEqual(m.warnings, []);
});

test('buildReport warns: a stale source, a broken chain, damaged and incomplete sets, a failed last run', () => {
  const m = buildReport(input({
    now: new Date('2026-12-05T10:00:00Z'),
    sets: [INCR2, INCR1],
    allComplete: [INCR2, INCR1],
    problems: [{ id: '261129_FULL_docs', message: 'descriptor does not parse', tampered: true }],
    incomplete: ['261204_INCR_docs'],
    runs: [
      { start: '2026-12-04T09:00:00Z', end: '2026-12-04T09:01:00Z', command: 'backup', exitCode: 1, result: 'failed', error: 'disk full', sets: [] },
      { start: '2026-12-03T09:00:00Z', end: '2026-12-03T09:01:00Z', command: 'backup', exitCode: 0, result: 'ok', sets: ['261203_INCR_docs'] },
    ],
  }));
  assert.deepEqual(m.warnings, [
    'docs: no complete set for 4 days (newest 261201_INCR_docs)',
    '261130_INCR_docs cannot be restored: it needs set 261129_FULL_docs, whose descriptor cannot be read or is not valid',
    '261201_INCR_docs cannot be restored: it needs set 261129_FULL_docs, whose descriptor cannot be read or is not valid',
    '261129_FULL_docs: TAMPERED, not usable: descriptor does not parse',
    '261204_INCR_docs is incomplete (a run did not finish; the next backup sweeps or resumes it)',
    'the last run (backup, 2026-12-04 09:00) failed: disk full',
  ]);
  assert.deepEqual(m.runs.map((r) => r.start), ['2026-12-04T09:00:00Z', '2026-12-03T09:00:00Z'], 'newest run first');
  const html = renderHtml(m);
  assert.match(html, /<tr class="run failed">/);
  assert.match(html, /<tr class="set-row broken"/);
  assert.match(html, /<strong>6 warnings<\/strong>/);
});

test('renderHtml escapes every text it takes from the destination or the config', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  const m = buildReport(input({ destination: 's3://b/<img src=x onerror=alert(1)>', job: '"><script>', runs: [{ start: '2026-12-01T00:00:00Z', end: '2026-12-01T00:00:01Z', command: 'backup', exitCode: 1, result: 'failed', error: '<b>boom</b>', sets: [] }] }));
  const html = renderHtml(m);
  assert.doesNotMatch(html, /<img|<script|<b>boom/);
  assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
  assert.match(html, /&lt;b&gt;boom&lt;\/b&gt;/);
});

test('an empty destination is a warning, not an empty page without a word', () => {
  const m = buildReport(input({ sets: [], allComplete: [] }));
  assert.deepEqual(m.warnings, ['no complete set on this destination yet']);
  assert.match(renderHtml(m), /1 warning/);
});
