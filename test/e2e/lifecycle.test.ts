/**
 * The lifecycle end to end (issue 9, "Done when"): four simulated months of daily
 * `strata backup --tier auto` runs from a config file with the default retention (each run
 * promotes and prunes after itself), on a local folder, end with exactly the sets the README's
 * rules predict — computed here independently of src/ — and every one of them restores exactly
 * and verifies. Then three weeks on the real S3 test server, with a shorter retention.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { S3Backend } from '../../src/backend/s3.js';
import { tempDir } from '../helpers/tmp.js';
import { assertSameTree, cli, jsonOf, snapshot, type Snapshot } from './util.js';

const DAY = 24 * 3600 * 1000;

type Tier = 'daily' | 'weekly' | 'monthly' | 'yearly';

interface Predicted {
  id: string;
  at: number;
  tier: Tier;
  type: 'FULL' | 'INCR';
  /** The sets a restore of it reads (itself included): back to its FULL. */
  chain: string[];
}

function yymmdd(d: Date): string {
  return d.toISOString().slice(2, 10).replace(/-/g, '');
}

/**
 * predictTier is the README's rule for `--tier auto` with `weeklyOn: sunday`: weekdays are daily;
 * a Sunday is weekly, except the 4th weekly set made in its month, or the month's last Sunday when
 * the month has fewer than four weekly sets by then, which is monthly — and December's last Sunday,
 * which is yearly. `weeklyBefore` is how many weekly-series sets this month already has.
 */
function predictTier(d: Date, weeklyBefore: number): Tier {
  if (d.getUTCDay() !== 0) return 'daily';
  const lastSunday = new Date(d.getTime() + 7 * DAY).getUTCMonth() !== d.getUTCMonth();
  if (d.getUTCMonth() === 11 && lastSunday) return 'yearly';
  const nth = weeklyBefore + 1;
  if (nth === 4 || (lastSunday && nth < 4)) return 'monthly';
  return 'weekly';
}

/** predictSets is every set the runs make: a FULL on Sundays and on the very first run, else an INCR on the one before. */
function predictSets(days: readonly Date[], source: string): Predicted[] {
  const out: Predicted[] = [];
  for (const d of days) {
    const month = d.toISOString().slice(0, 7);
    const weeklyBefore = out.filter((p) => p.tier !== 'daily' && new Date(p.at).toISOString().slice(0, 7) === month).length;
    const tier = predictTier(d, weeklyBefore);
    const prev = out.at(-1);
    const type = tier !== 'daily' || prev === undefined ? 'FULL' : 'INCR';
    const id = `${yymmdd(d)}_${type}_${source}`;
    out.push({ id, at: d.getTime(), tier, type, chain: type === 'FULL' || prev === undefined ? [id] : [id, ...prev.chain] });
  }
  return out;
}

/** predictKept applies the README's retention rules at `now`: within the tier's time, the newest, and what a kept set needs. */
function predictKept(sets: readonly Predicted[], now: number, retentionDays: Record<Tier, number>): string[] {
  const keep = new Set<string>();
  for (const s of sets) if (now < s.at + retentionDays[s.tier] * DAY) keep.add(s.id);
  const newest = sets.at(-1);
  if (newest !== undefined) keep.add(newest.id);
  for (const s of sets) if (keep.has(s.id)) for (const c of s.chain) keep.add(c);
  return sets.filter((s) => keep.has(s.id)).map((s) => s.id);
}

interface ListJson {
  sets: { id: string; tier: string; type: string; restorable: boolean }[];
}

interface Job {
  root: string;
  src: string;
  state: string;
  config: string;
  env: Record<string, string | undefined>;
  states: Map<string, Snapshot>;
}

async function makeJob(root: string, dest: string, retention: string, env: Record<string, string | undefined> = {}): Promise<Job> {
  const src = path.join(root, 'docs');
  await fsp.mkdir(src, { recursive: true });
  await fsp.writeFile(path.join(src, 'constant.txt'), 'never changes\n');
  const config = path.join(root, 'strata.yaml');
  await fsp.writeFile(config, `job: lifecycle\nsources:\n  - path: ${src}\n    name: docs\ndestination: ${JSON.stringify(dest)}\nschedule:\n  weeklyOn: sunday\n${retention}`);
  return { root, src, state: path.join(root, 'state'), config, env, states: new Map() };
}

function run(job: Job, args: string[], now: string, expect = 0): ReturnType<typeof cli> {
  return cli(['--config', job.config, '--state', job.state, ...args], { now, expect, env: job.env });
}

/** runDays runs `backup -t auto` once a day, changing the source each day (a file changed, one added, now and then one deleted). */
async function runDays(job: Job, days: readonly Date[]): Promise<void> {
  for (const [n, d] of days.entries()) {
    await fsp.appendFile(path.join(job.src, 'journal.txt'), `day ${n}\n`);
    await fsp.writeFile(path.join(job.src, `note-${n}.txt`), `note of day ${n}\n`);
    if (n % 4 === 3) await fsp.rm(path.join(job.src, `note-${n - 2}.txt`));
    const r = jsonOf<{ sources: { setId: string | null }[] }>(await run(job, ['--json', 'backup', '-t', 'auto'], d.toISOString()));
    const id = r.sources[0]?.setId;
    assert.ok(typeof id === 'string', `a set was made on ${d.toISOString()}`);
    job.states.set(id, await snapshot(job.src));
  }
}

/** checkEnd: the sets on the destination are exactly the predicted ones, with the predicted tiers; each verifies and restores exactly. */
async function checkEnd(job: Job, predicted: readonly Predicted[], kept: readonly string[], now: string): Promise<void> {
  const list = jsonOf<ListJson>(await run(job, ['--json', 'list'], now));
  assert.deepEqual(list.sets.map((s) => s.id), kept, 'the sets left are the ones the retention rules keep');
  const byId = new Map(predicted.map((p) => [p.id, p]));
  for (const s of list.sets) {
    assert.equal(s.tier, byId.get(s.id)?.tier, `${s.id}: tier`);
    assert.equal(s.type, byId.get(s.id)?.type, `${s.id}: type`);
    assert.ok(s.restorable, `${s.id} is restorable`);
  }
  const v = jsonOf<{ sets: { id: string; status: string }[] }>(await run(job, ['--json', 'verify', '--all'], now));
  assert.deepEqual(v.sets.map((s) => [s.id, s.status]).sort(), kept.map((id) => [id, 'ok']).sort());
  for (const id of kept) {
    const to = path.join(job.root, `restored-${id}`);
    await run(job, ['restore', '--quiet', '--set', id, '--to', to], now);
    const want = job.states.get(id);
    assert.ok(want !== undefined);
    assertSameTree(await snapshot(to), want);
    await fsp.rm(to, { recursive: true, force: true });
  }
}

function daysFrom(first: string, n: number): Date[] {
  const start = Date.parse(`${first}T09:00:00Z`);
  return Array.from({ length: n }, (_, i) => new Date(start + i * DAY));
}

describe('lifecycle: months of daily --tier auto runs end with exactly the predicted sets', { concurrency: 1 }, () => {
  it('four months on a local folder, default retention: promotion at creation, prune after each run', { timeout: 1_800_000 }, async (t) => {
    const root = await tempDir(t, 'strata-lifecycle-');
    const dest = path.join(root, 'dest');
    await fsp.mkdir(dest);
    // No retention: block: the defaults (daily 30d, weekly 90d, monthly 365d, yearly 5y) and pruneAfterBackup.
    const job = await makeJob(root, dest, '');
    const days = daysFrom('2026-09-01', 120); // Tuesday 1 September … Tuesday 29 December 2026
    await runDays(job, days);
    const predicted = predictSets(days, 'docs');
    const last = days.at(-1);
    assert.ok(last !== undefined);
    const kept = predictKept(predicted, last.getTime(), { daily: 30, weekly: 90, monthly: 365, yearly: 5 * 365 });
    // The README's rules, spelled out for this calendar: the 4th Sundays of September, October and
    // November are monthly, December's last Sunday yearly; weekly sets of the last 90 days; daily
    // sets of the last 30 days (their FULL is kept with them).
    assert.deepEqual(predicted.filter((p) => p.tier === 'monthly').map((p) => p.id), ['260927_FULL_docs', '261025_FULL_docs', '261122_FULL_docs']);
    assert.deepEqual(predicted.filter((p) => p.tier === 'yearly').map((p) => p.id), ['261227_FULL_docs']);
    assert.equal(kept.length, 40);
    await checkEnd(job, predicted, kept, last.toISOString());
    // Nothing else was left behind on the destination: only the kept sets' folders and the marker.
    const entries = (await fsp.readdir(dest)).filter((n) => n !== 'strata-destination.json').sort();
    assert.deepEqual(entries, [...kept].sort());
  });

  it('three weeks on the S3 test server (Ceph RGW), daily 7d and weekly 14d', { timeout: 900_000 }, async (t) => {
    const endpoint = process.env['STRATA_TEST_S3_ENDPOINT'] ?? '';
    const key = process.env['STRATA_TEST_S3_KEY'] ?? '';
    const secret = process.env['STRATA_TEST_S3_SECRET'] ?? '';
    assert.ok(endpoint !== '' && key !== '' && secret !== '', 'STRATA_TEST_S3_* not set: start the test servers (scripts/test-servers/start.sh) and source their .env');
    const bucket = `strata-life-${randomBytes(4).toString('hex')}`;
    await new S3Backend({ bucket, endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: key, secretAccessKey: secret } }).createBucket();
    const root = await tempDir(t, 'strata-lifecycle-s3-');
    const dest = `s3://${bucket}/life?endpoint=${encodeURIComponent(endpoint)}&pathStyle=true`;
    const env = { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret, AWS_PROFILE: undefined, AWS_REGION: undefined };
    const job = await makeJob(root, dest, 'retention:\n  daily: 7d\n  weekly: 14d\n', env);
    const days = daysFrom('2027-01-05', 21); // Tuesday 5 … Monday 25 January 2027
    await runDays(job, days);
    const predicted = predictSets(days, 'docs');
    const last = days.at(-1);
    assert.ok(last !== undefined);
    const kept = predictKept(predicted, last.getTime(), { daily: 7, weekly: 14, monthly: 365, yearly: 5 * 365 });
    // The runs start on Tuesday 5 January: 10, 17 and 24 January are the month's 1st to 3rd weekly
    // sets (all weekly; the 31st would be its monthly); 10 January expired with its week.
    assert.deepEqual(predicted.filter((p) => p.tier !== 'daily').map((p) => `${p.id} ${p.tier}`), ['270110_FULL_docs weekly', '270117_FULL_docs weekly', '270124_FULL_docs weekly']);
    assert.deepEqual(kept, ['270117_FULL_docs', '270118_INCR_docs', '270119_INCR_docs', '270120_INCR_docs', '270121_INCR_docs', '270122_INCR_docs', '270123_INCR_docs', '270124_FULL_docs', '270125_INCR_docs']);
    await checkEnd(job, predicted, kept, last.toISOString());
  });
});
