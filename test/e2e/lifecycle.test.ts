/**
 * The lifecycle end to end (issue 9, "Done when"): config-driven `strata backup --tier auto` runs
 * with the default retention (each run promotes and prunes after itself), on a local folder, on
 * days chosen to cross every transition — the first run (a daily FULL), daily INCRs, a missed day,
 * weekly FULLs, a monthly by the month's last Sunday and one by its 4th weekly set (the 5th stays
 * weekly), a month without runs, December's yearly, daily and weekly sets pruned as they expire —
 * make exactly the sets the README's rules predict (test/helpers/lifecycle-predict.ts, independent
 * of src/), each run removing exactly the predicted sets; every set left restores exactly and
 * verifies. Then a week of runs on the real S3 test server, with a shorter retention.
 *
 * The same rules over whole calendars (120 and 21 consecutive days, one run a day) are checked
 * through src/core's planners in test/core/lifecycle.test.ts (golden files).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { S3Backend } from '../../src/backend/s3.js';
import { DEFAULT_DAYS, predictRuns, type Tier } from '../helpers/lifecycle-predict.js';
import { tempDir } from '../helpers/tmp.js';
import { assertSameTree, cli, jsonOf, snapshot, type Snapshot } from './util.js';

interface ListJson {
  sets: { id: string; tier: string; type: string; restorable: boolean }[];
}

interface BackupJson {
  sources: { setId: string | null; tier: string; type: string }[];
  promotion?: { promoted: unknown[] };
  prune: { removed: string[] } | null;
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

function at(days: readonly string[]): Date[] {
  return days.map((d) => new Date(`${d}T09:00:00Z`));
}

/**
 * runDays runs `backup -t auto` on each day, changing the source each time (a file changed, one
 * added, now and then one deleted): each run makes the predicted set with the predicted tier and
 * type, promotes nothing later (the tier is right at creation) and prunes exactly the predicted sets.
 */
async function runDays(job: Job, days: readonly Date[], retentionDays: Record<Tier, number>): Promise<string[]> {
  const predicted = predictRuns(days, 'docs', retentionDays);
  for (const [n, d] of days.entries()) {
    await fsp.appendFile(path.join(job.src, 'journal.txt'), `day ${n}\n`);
    await fsp.writeFile(path.join(job.src, `note-${n}.txt`), `note of day ${n}\n`);
    if (n % 4 === 3) await fsp.rm(path.join(job.src, `note-${n - 2}.txt`));
    const r = jsonOf<BackupJson>(await run(job, ['--json', 'backup', '-t', 'auto'], d.toISOString()));
    const p = predicted[n];
    assert.ok(p !== undefined);
    const day = d.toISOString().slice(0, 10);
    assert.deepEqual(r.sources.map((s) => [s.setId, s.tier, s.type]), [[p.made.id, p.made.tier, p.made.type]], `${day}: the set made`);
    assert.deepEqual(r.promotion?.promoted ?? [], [], `${day}: nothing promoted later`);
    assert.deepEqual([...(r.prune?.removed ?? [])].sort(), p.removed, `${day}: the sets the prune removed`);
    job.states.set(p.made.id, await snapshot(job.src));
  }
  return predicted.at(-1)?.left ?? [];
}

/** checkEnd: the sets on the destination are exactly the predicted ones, with the predicted tiers; each verifies and restores exactly. */
async function checkEnd(job: Job, days: readonly Date[], retentionDays: Record<Tier, number>, kept: readonly string[]): Promise<void> {
  const now = days.at(-1)?.toISOString() ?? '';
  const byId = new Map(predictRuns(days, 'docs', retentionDays).map((p) => [p.made.id, p.made]));
  const list = jsonOf<ListJson>(await run(job, ['--json', 'list'], now));
  assert.deepEqual(list.sets.map((s) => s.id), kept, 'the sets left are the ones the retention rules keep');
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

describe('lifecycle: daily --tier auto runs end with exactly the predicted sets', { concurrency: 1 }, () => {
  it('a local folder, default retention, September to December: every promotion and prune transition', { timeout: 900_000 }, async (t) => {
    const root = await tempDir(t, 'strata-lifecycle-');
    const dest = path.join(root, 'dest');
    await fsp.mkdir(dest);
    // No retention: block: the defaults (daily 30d, weekly 90d, monthly 365d, yearly 5y) and pruneAfterBackup.
    const job = await makeJob(root, dest, '');
    const days = at([
      '2026-09-01', // Tuesday, the first run: a daily FULL
      '2026-09-02', // a daily INCR
      '2026-09-06', // Sunday: weekly FULL
      '2026-09-08', // Tuesday after a missed Monday: a daily INCR on the weekly
      '2026-09-27', // the last Sunday of September, its 2nd weekly set: monthly
      '2026-11-01', // (no run in October) weekly; the September dailies are 30 days old: pruned
      '2026-11-08',
      '2026-11-15',
      '2026-11-22', // November's 4th weekly set: monthly
      '2026-11-29', // its 5th: weekly
      '2026-12-27', // December's last Sunday: yearly; the weekly of 6 September is 90 days old: pruned
      '2026-12-28', // a daily INCR on the yearly
    ]);
    const kept = await runDays(job, days, DEFAULT_DAYS);
    assert.deepEqual(
      predictRuns(days, 'docs', DEFAULT_DAYS).map((p) => `${p.made.id} ${p.made.tier}${p.removed.length > 0 ? ` -${p.removed.join(' -')}` : ''}`),
      [
        '260901_FULL_docs daily', '260902_INCR_docs daily', '260906_FULL_docs weekly', '260908_INCR_docs daily', '260927_FULL_docs monthly',
        '261101_FULL_docs weekly -260901_FULL_docs -260902_INCR_docs -260908_INCR_docs',
        '261108_FULL_docs weekly', '261115_FULL_docs weekly', '261122_FULL_docs monthly', '261129_FULL_docs weekly',
        '261227_FULL_docs yearly -260906_FULL_docs', '261228_INCR_docs daily',
      ],
      'the README\'s rules, spelled out for these days',
    );
    await checkEnd(job, days, DEFAULT_DAYS, kept);
    // Nothing else was left behind on the destination: only the kept sets' folders and the marker.
    const entries = (await fsp.readdir(dest)).filter((n) => n !== 'strata-destination.json').sort();
    assert.deepEqual(entries, [...kept].sort());
  });

  it('a week on the S3 test server (Ceph RGW), daily 7d and weekly 14d', { timeout: 900_000 }, async (t) => {
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
    const retentionDays = { ...DEFAULT_DAYS, daily: 7, weekly: 14 };
    // Tuesday 5 … Monday 25 January 2027, the Sundays and the day after each.
    const days = at(['2027-01-05', '2027-01-06', '2027-01-10', '2027-01-11', '2027-01-17', '2027-01-18', '2027-01-24', '2027-01-25']);
    const kept = await runDays(job, days, retentionDays);
    // 10, 17 and 24 January are the month's 1st to 3rd weekly sets (all weekly; the 31st would be
    // its monthly); the dailies go after 7 days, 10 January after 14, exactly at its boundary.
    assert.deepEqual(
      predictRuns(days, 'docs', retentionDays).map((p) => `${p.made.id} ${p.made.tier}${p.removed.length > 0 ? ` -${p.removed.join(' -')}` : ''}`),
      [
        '270105_FULL_docs daily', '270106_INCR_docs daily', '270110_FULL_docs weekly', '270111_INCR_docs daily',
        '270117_FULL_docs weekly -270105_FULL_docs -270106_INCR_docs', '270118_INCR_docs daily -270111_INCR_docs',
        '270124_FULL_docs weekly -270110_FULL_docs', '270125_INCR_docs daily -270118_INCR_docs',
      ],
      'the README\'s rules, spelled out for these days',
    );
    assert.deepEqual(kept, ['270117_FULL_docs', '270124_FULL_docs', '270125_INCR_docs']);
    await checkEnd(job, days, retentionDays, kept);
  });
});
