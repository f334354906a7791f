/**
 * strata prune end to end (issue 9, retention): simulated weeks of `--tier auto` runs (STRATA_NOW)
 * on a local folder, then `prune` (a dry run prints every set with its decision and reason, removes
 * nothing), `prune --apply` (removes exactly the expired sets no kept set needs; every kept set is
 * restored and compared with the source as it was), a backup that prunes after itself
 * (retention.pruneAfterBackup) and a partial one that does not; two jobs with two state folders
 * sharing one destination (only this job's sets go); a prune killed between each step of a
 * removal (no set looks complete that is not, and the next backup or prune finishes the removal);
 * and the same history on the real S3 and WebDAV test servers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Backend } from '../../src/backend/backend.js';
import { openBackend } from '../../src/backend/open.js';
import { S3Backend } from '../../src/backend/s3.js';
import { parseDestination, type Destination } from '../../src/core/destination.js';
import { Repository } from '../../src/repository/repository.js';
import { tempDir } from '../helpers/tmp.js';
import { PASSWORD, assertSameTree, cli, jsonOf, snapshot, type Snapshot } from './util.js';

const execFileP = promisify(execFile);
const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The runs of the simulated history: Sundays are weekly (FULL), the other days daily (INCR). */
const HISTORY = ['2026-12-27', '2026-12-28', '2027-01-03', '2027-01-05', '2027-01-09', '2027-01-10', '2027-01-11'];

/** RETENTION keeps every tier a week, so that a fortnight of runs has sets of every kind of decision. */
const RETENTION = 'retention:\n  daily: 7d\n  weekly: 7d\n  monthly: 7d\n  yearly: 7d\n';

interface Job {
  root: string;
  src: string;
  state: string;
  config: string;
  env: Record<string, string | undefined>;
  /** The source as it was at each set, by set id. */
  states: Map<string, Snapshot>;
}

interface PruneJson {
  job: string;
  applied: boolean;
  sets: { id: string; decision: string; reason: string; why: string; neededBy: string[] }[];
  removed: string[];
  swept: string[];
}

interface BackupJson {
  sources: { setId: string | null }[];
  prune: { removed: string[]; swept: string[]; kept: number } | { skipped: string } | null;
}

/** makeJob writes a config for one job (its own source and state folder) on `dest`. */
async function makeJob(root: string, name: string, dest: string, env: Record<string, string | undefined> = {}, pruneAfterBackup = false): Promise<Job> {
  const src = path.join(root, name, 'docs');
  await fsp.mkdir(src, { recursive: true });
  await fsp.writeFile(path.join(src, 'keep.txt'), `${name}: a file that never changes\n`);
  const config = path.join(root, name, 'strata.yaml');
  const job: Job = { root, src, state: path.join(root, name, 'state'), config, env, states: new Map() };
  await writeConfig(job, name, dest, pruneAfterBackup);
  return job;
}

async function writeConfig(job: Job, name: string, dest: string, pruneAfterBackup: boolean): Promise<void> {
  await fsp.writeFile(job.config, `job: ${name}\nsources:\n  - path: ${job.src}\n    name: docs\ndestination: ${JSON.stringify(dest)}\n${RETENTION}  pruneAfterBackup: ${pruneAfterBackup}\n`);
}

function run(job: Job, args: string[], now: string, expect = 0): ReturnType<typeof cli> {
  return cli(['--config', job.config, '--state', job.state, ...args], { now, expect, env: job.env });
}

/** backupDay changes the source (a changed file, a new one, now and then a deletion) and runs `backup -t auto`. */
async function backupDay(job: Job, date: string, n: number): Promise<BackupJson> {
  await fsp.appendFile(path.join(job.src, 'log.txt'), `run ${n} on ${date}\n`);
  await fsp.writeFile(path.join(job.src, `day-${n}.txt`), `written on ${date}\n`);
  if (n % 3 === 2) await fsp.rm(path.join(job.src, `day-${n - 1}.txt`), { force: true });
  const r = jsonOf<BackupJson>(await run(job, ['--json', 'backup', '-t', 'auto'], `${date}T09:00:00Z`));
  const id = r.sources[0]?.setId;
  assert.ok(typeof id === 'string', `a set was made on ${date}`);
  job.states.set(id, await snapshot(job.src));
  return r;
}

async function history(job: Job, dates: readonly string[] = HISTORY): Promise<void> {
  for (const [n, date] of dates.entries()) await backupDay(job, date, n);
}

/** restoreEvery restores each set by id and compares it with the source as it was. */
async function restoreEvery(job: Job, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const to = path.join(job.root, `restored-${id}-${randomBytes(3).toString('hex')}`);
    await cli(['--config', job.config, '--state', job.state, 'restore', '--quiet', '--set', id, '--to', to], { env: job.env });
    const want = job.states.get(id);
    assert.ok(want !== undefined, `the source state of ${id} was recorded`);
    assertSameTree(await snapshot(to), want);
    await fsp.rm(to, { recursive: true, force: true });
  }
}

async function setFolders(backend: Backend): Promise<string[]> {
  const ids = new Set<string>();
  for await (const o of backend.list('')) if (o.key.includes('/')) ids.add(o.key.slice(0, o.key.indexOf('/')));
  return [...ids].sort();
}

/** assertNothingLooksComplete checks that every complete set has every object its descriptor names, and every set it needs. */
async function assertNothingLooksComplete(backend: Backend): Promise<void> {
  const catalog = await new Repository(backend).catalog();
  const keys = new Set<string>();
  for await (const o of backend.list('')) keys.add(o.key);
  const ids = new Set(catalog.complete.map((d) => d.id));
  for (const d of catalog.complete) {
    for (const o of [...d.volumes, d.manifest, ...d.recovery]) assert.ok(keys.has(`${d.id}/${o.name}`), `${d.id} looks complete but ${o.name} is gone`);
    for (const dep of [...d.depends, ...(d.base === null ? [] : [d.base])]) assert.ok(ids.has(dep), `${d.id} looks complete but needs ${dep}, which is gone`);
  }
}

const EXPIRED = ['261228_INCR_docs', '261227_FULL_docs'];
const KEPT = ['270103_FULL_docs', '270105_INCR_docs', '270109_INCR_docs', '270110_FULL_docs', '270111_INCR_docs'];
const PRUNE_AT = '2027-01-15T10:00:00Z';

describe('strata prune on a local folder', () => {
  let root: string;
  let dest: string;
  let job: Job;
  let fixture: string;

  before(async () => {
    root = await tempDir(undefined, 'strata-prune-');
    dest = path.join(root, 'dest');
    await fsp.mkdir(dest);
    job = await makeJob(root, 'laptop', dest);
    await history(job);
    // A copy of the destination and state as they are now, for the crash tests.
    fixture = path.join(root, 'fixture');
    await fsp.cp(path.join(root, 'laptop'), path.join(fixture, 'laptop'), { recursive: true });
    await fsp.cp(dest, path.join(fixture, 'dest'), { recursive: true });
  });
  after(() => fsp.rm(root, { recursive: true, force: true }));

  it('a dry run prints every set with its decision and reason, and removes nothing', async () => {
    const r = await run(job, ['prune'], PRUNE_AT);
    const out = r.stdout;
    assert.match(out, /^retention of job laptop: daily 7d, weekly 7d, monthly 7d, yearly 7d \(now 2027-01-15 10:00 UTC\)$/m);
    // 27 December 2026 is the last Sunday of December: `--tier auto` made that weekly set yearly (core/promotion).
    assert.match(out, /^261227_FULL_docs +yearly +FULL +2026-12-27 09:00 +19d +REMOVE +expired: yearly, older than 7d \(since 2027-01-03\)$/m);
    assert.match(out, /^261228_INCR_docs +daily +INCR +2026-12-28 09:00 +18d +REMOVE +expired: daily, older than 7d \(since 2027-01-04\)$/m);
    assert.match(out, /^270103_FULL_docs +weekly +FULL .* keep +needed by kept set 270109_INCR_docs \(and 1 more\)$/m);
    assert.match(out, /^270105_INCR_docs +daily +INCR .* keep +needed by kept set 270109_INCR_docs$/m);
    assert.match(out, /^270109_INCR_docs +daily +INCR .* keep +daily, within 7d \(until 2027-01-16\)$/m);
    assert.match(out, /^270110_FULL_docs +weekly +FULL .* keep +weekly, within 7d \(until 2027-01-17\)$/m);
    assert.match(out, /^270111_INCR_docs +daily +INCR .* keep +newest complete set of docs$/m);
    assert.match(out, /^keep 5 \(3 daily, 2 weekly\), remove 2 \(1 daily, 1 yearly\)$/m);
    assert.match(out, /dry run: nothing was removed; run strata prune --apply to remove 2 sets/);
    const backend = await openBackend(parseDestination(dest));
    try {
      assert.deepEqual(await setFolders(backend), [...EXPIRED, ...KEPT].sort());
    } finally {
      await backend.close();
    }
    const j = jsonOf<PruneJson>(await run(job, ['--json', 'prune'], PRUNE_AT));
    assert.equal(j.applied, false);
    assert.deepEqual(j.removed, []);
    assert.deepEqual(j.sets.map((s) => [s.id, s.decision, s.reason]), [
      ['261227_FULL_docs', 'remove', 'expired'], ['261228_INCR_docs', 'remove', 'expired'], ['270103_FULL_docs', 'keep', 'needed'], ['270105_INCR_docs', 'keep', 'needed'],
      ['270109_INCR_docs', 'keep', 'within'], ['270110_FULL_docs', 'keep', 'within'], ['270111_INCR_docs', 'keep', 'newest'],
    ]);
    assert.deepEqual(j.sets.find((s) => s.id === '270103_FULL_docs')?.neededBy, ['270105_INCR_docs', '270109_INCR_docs']);
  });

  it('--apply removes exactly the expired sets (and their local manifest copies); every kept set restores exactly', async () => {
    const manifests = path.join(job.state, 'jobs', 'laptop', 'manifests');
    const before = await fsp.readdir(manifests);
    assert.ok(before.some((f) => f.startsWith('261227_FULL_docs.')), 'the manifest copy of a set to remove is there first');
    const j = jsonOf<PruneJson>(await run(job, ['--json', 'prune', '--apply'], PRUNE_AT));
    assert.equal(j.applied, true);
    assert.deepEqual(j.removed, EXPIRED, 'removed newest first');
    const backend = await openBackend(parseDestination(dest));
    try {
      assert.deepEqual(await setFolders(backend), KEPT);
      await assertNothingLooksComplete(backend);
    } finally {
      await backend.close();
    }
    assert.deepEqual((await fsp.readdir(manifests)).filter((f) => EXPIRED.some((id) => f.startsWith(`${id}.`))), []);
    assert.equal((await fsp.readdir(manifests)).filter((f) => KEPT.some((id) => f.startsWith(`${id}.`))).length, KEPT.length);
    const again = await run(job, ['prune', '--apply'], PRUNE_AT);
    assert.match(again.stdout, /nothing to remove/);
    const list = jsonOf<{ sets: { id: string; restorable: boolean }[] }>(await run(job, ['--json', 'list'], PRUNE_AT));
    assert.deepEqual(list.sets.map((s) => [s.id, s.restorable]), KEPT.map((id) => [id, true]));
    await restoreEvery(job, KEPT);
  });

  it('a partial backup does not prune; a complete one prunes after itself and says what it removed', async () => {
    await writeConfig(job, 'laptop', dest, true);
    // A FIFO cannot be backed up: the run is partial (exit 3) and must not prune.
    const fifo = path.join(job.src, 'pipe');
    await execFileP('mkfifo', [fifo]);
    const partial = await run(job, ['--json', 'backup', '-t', 'auto'], '2027-01-19T09:00:00Z', 3);
    assert.deepEqual(jsonOf<BackupJson>(partial).prune, { skipped: 'the run was partial' });
    const backend = await openBackend(parseDestination(dest));
    try {
      assert.deepEqual(await setFolders(backend), [...KEPT, '270119_INCR_docs']);
    } finally {
      await backend.close();
    }
    await fsp.rm(fifo);
    await fsp.appendFile(path.join(job.src, 'log.txt'), 'one more\n');
    const r = await run(job, ['backup', '-t', 'auto'], '2027-01-20T09:00:00Z');
    assert.match(r.stdout, /^pruned 3 expired sets: 270109_INCR_docs, 270105_INCR_docs, 270103_FULL_docs$/m);
    const j = jsonOf<PruneJson>(await run(job, ['--json', 'prune'], '2027-01-20T10:00:00Z'));
    assert.deepEqual(j.sets.map((s) => [s.id, s.decision, s.reason]), [
      ['270110_FULL_docs', 'keep', 'needed'], ['270111_INCR_docs', 'keep', 'needed'], ['270119_INCR_docs', 'keep', 'within'], ['270120_INCR_docs', 'keep', 'newest'],
    ]);
  });

  for (const step of ['marked', 'descriptor', 'objects'] as const) {
    it(`a prune killed after the step "${step}" of a removal leaves no set that looks complete; the next ${step === 'descriptor' ? 'backup' : 'prune'} finishes it`, async (t) => {
      const copy = await tempDir(t, `strata-prune-kill-${step}-`);
      await fsp.cp(fixture, copy, { recursive: true });
      const cdest = path.join(copy, 'dest');
      const cjob: Job = { root: copy, src: path.join(copy, 'laptop', 'docs'), state: path.join(copy, 'laptop', 'state'), config: path.join(copy, 'laptop', 'strata.yaml'), env: {}, states: job.states };
      await writeConfig(cjob, 'laptop', cdest, false);
      // A real process, killed (SIGKILL) right after that step of its first removal.
      const script = path.join(copy, 'kill-prune.mjs');
      await fsp.writeFile(script, killScript());
      const child = await execFileP(process.execPath, [script, cjob.config, cjob.state, PRUNE_AT, step], { env: { ...process.env, STRATA_PASSWORD: PASSWORD } }).then(
        () => 'exited',
        (e: unknown) => (e !== null && typeof e === 'object' && 'signal' in e && typeof e.signal === 'string' ? e.signal : 'failed'),
      );
      assert.equal(child, 'SIGKILL');
      const backend = await openBackend(parseDestination(cdest));
      try {
        await assertNothingLooksComplete(backend);
        const catalog = await new Repository(backend).catalog();
        // The first set removed is the newest expired one.
        if (step === 'marked') assert.ok(catalog.complete.some((d) => d.id === EXPIRED[0]), 'killed before the descriptor went: the set is still whole');
        else assert.deepEqual(catalog.incomplete.map((i) => [i.id, i.pending?.removing, i.pending?.job]), [[EXPIRED[0], true, 'laptop']]);
        const listed = await run(cjob, ['list'], PRUNE_AT);
        if (step !== 'marked') assert.match(listed.stderr, new RegExp(`incomplete \\(not counted\\): ${EXPIRED[0]}`));
      } finally {
        await backend.close();
      }
      if (step === 'descriptor') {
        // The next backup (no prune after it here) removes what is left, as debris of this job.
        await fsp.appendFile(path.join(cjob.src, 'log.txt'), 'after the crash\n');
        const b = await run(cjob, ['backup', '-t', 'auto'], '2027-01-15T11:00:00Z');
        assert.match(b.stderr, new RegExp(`removed the unfinished set ${EXPIRED[0]}`));
        const after = await openBackend(parseDestination(cdest));
        try {
          assert.ok(!(await setFolders(after)).includes(EXPIRED[0] ?? ''));
        } finally {
          await after.close();
        }
      }
      const j = jsonOf<PruneJson>(await run(cjob, ['--json', 'prune', '--apply'], PRUNE_AT));
      if (step === 'objects') assert.deepEqual(j.swept, [EXPIRED[0]]);
      const after = await openBackend(parseDestination(cdest));
      try {
        const left = await setFolders(after);
        assert.deepEqual(left.filter((id) => id < '270112'), KEPT);
        await assertNothingLooksComplete(after);
      } finally {
        await after.close();
      }
    });
  }
});

/** killScript runs a prune in-process and kills itself (SIGKILL) right after one removal step. */
function killScript(): string {
  const mod = (p: string): string => JSON.stringify(path.join(DIST, 'src', p));
  return `
import { loadConfig } from ${mod('config/load.js')};
import { openBackend } from ${mod('backend/open.js')};
import { parseDestination } from ${mod('core/destination.js')};
import { machineIdentity } from ${mod('config/machine.js')};
import { jobStateDir } from ${mod('config/paths.js')};
import { fixedClock } from ${mod('clock.js')};
import { runPrune } from ${mod('pipeline/prune.js')};
const [configFile, state, now, step] = process.argv.slice(2);
const config = await loadConfig(configFile, process.env);
const backend = await openBackend(parseDestination(config.destination), { env: process.env });
const progress = { update() {}, done() {} };
const out = { json: false, verbosity: 'quiet', result() {}, summary() {}, data() {}, info() {}, verbose() {}, warn() {}, progress: () => progress };
await runPrune({
  config, backend, jobDir: jobStateDir(state, config.job), machine: await machineIdentity(state), password: process.env.STRATA_PASSWORD,
  apply: true, out, clock: fixedClock(new Date(now)), signal: new AbortController().signal,
  onStep: (s) => { if (s === step) process.kill(process.pid, 'SIGKILL'); },
});
console.log('not killed');
`;
}

describe('two jobs, two state folders, one destination', () => {
  it('prune --apply removes only this job\'s sets', async (t) => {
    const root = await tempDir(t, 'strata-prune-shared-');
    const dest = path.join(root, 'dest');
    await fsp.mkdir(dest);
    const alpha = await makeJob(root, 'alpha', dest);
    const beta = await makeJob(root, 'beta', dest);
    const dates = HISTORY.slice(0, 4);
    for (const [n, date] of dates.entries()) {
      await backupDay(alpha, date, n);
      // The second job's runs get their own time of day (set names are per source and day).
      await fsp.appendFile(path.join(beta.src, 'log.txt'), `beta ${n}\n`);
      await run(beta, ['backup', '-t', 'auto'], `${date}T10:00:00Z`);
    }
    const backend = await openBackend(parseDestination(dest));
    try {
      const before = (await new Repository(backend).catalog()).complete;
      const betaSets = before.filter((d) => d.job === 'beta').map((d) => d.id).sort();
      assert.equal(betaSets.length, 4);
      // Both jobs' sets of the same names: the second run of a day got its time appended.
      const j = jsonOf<PruneJson>(await run(alpha, ['--json', 'prune', '--apply'], '2027-01-12T10:00:00Z'));
      assert.deepEqual(j.removed, EXPIRED);
      assert.deepEqual(j.sets.map((s) => s.id), before.filter((d) => d.job === 'alpha').map((d) => d.id).sort(), 'the plan lists only this job\'s sets');
      const after = (await new Repository(backend).catalog()).complete;
      assert.deepEqual(after.filter((d) => d.job === 'beta').map((d) => d.id).sort(), betaSets, 'every set of the other job is still there');
      assert.deepEqual(after.filter((d) => d.job === 'alpha').map((d) => d.id).sort(), ['270103_FULL_docs', '270105_INCR_docs']);
      // --job and --host show another job's and machine's plan from here, but --apply refuses it (exit 2).
      const betaId = (await fsp.readFile(path.join(beta.state, 'machine-id'), 'utf8')).trim();
      const seen = jsonOf<PruneJson>(await run(alpha, ['--json', 'prune', '--job', 'beta', '--host', betaId.slice(0, 8)], '2027-01-12T10:00:00Z'));
      assert.deepEqual(seen.sets.map((s) => s.id).sort(), betaSets);
      assert.equal(seen.sets.filter((s) => s.decision === 'remove').length, 2);
      const refused = await run(alpha, ['prune', '--apply', '--job', 'beta', '--host', betaId.slice(0, 8)], '2027-01-12T10:00:00Z', 2);
      assert.match(refused.stderr, /prune --apply removes only this machine's sets/);
      assert.deepEqual((await new Repository(backend).catalog()).complete.filter((d) => d.job === 'beta').map((d) => d.id).sort(), betaSets);
      // The other job's own prune removes its own expired sets, and nothing of the first job.
      const jb = jsonOf<PruneJson>(await run(beta, ['--json', 'prune', '--apply'], '2027-01-12T10:00:00Z'));
      assert.equal(jb.removed.length, 2);
      const last = (await new Repository(backend).catalog()).complete;
      assert.deepEqual(last.filter((d) => d.job === 'alpha').map((d) => d.id).sort(), ['270103_FULL_docs', '270105_INCR_docs']);
      assert.equal(last.filter((d) => d.job === 'beta').length, 2);
    } finally {
      await backend.close();
    }
    await restoreEvery(alpha, ['270103_FULL_docs', '270105_INCR_docs']);
  });
});

const SERVER_VARS = ['STRATA_TEST_S3_ENDPOINT', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET', 'STRATA_TEST_WEBDAV_URL', 'STRATA_TEST_WEBDAV_USER', 'STRATA_TEST_WEBDAV_PASS'] as const;

// The two servers' runs share nothing (own bucket or collection, own folders): they run at once.
describe('strata prune on the real S3 and WebDAV test servers', { concurrency: true }, () => {
  const missing = SERVER_VARS.filter((v) => (process.env[v] ?? '') === '');
  const envOf = (v: (typeof SERVER_VARS)[number]): string => {
    const value = process.env[v];
    assert.ok(value !== undefined && value !== '', `${missing.join(', ')} not set: start the test servers first (scripts/test-servers/start.sh) and source their .env`);
    return value;
  };
  const runId = randomBytes(4).toString('hex');
  const targets: { kind: string; make: () => Promise<{ dest: string; env: Record<string, string | undefined>; parsed: Destination }> }[] = [
    {
      kind: 'S3 (Ceph RGW)',
      make: async () => {
        const bucket = `strata-prune-${runId}`;
        const endpoint = envOf('STRATA_TEST_S3_ENDPOINT');
        const credentials = { accessKeyId: envOf('STRATA_TEST_S3_KEY'), secretAccessKey: envOf('STRATA_TEST_S3_SECRET') };
        await new S3Backend({ bucket, endpoint, region: 'us-east-1', forcePathStyle: true, credentials }).createBucket();
        const dest = `s3://${bucket}/prune?endpoint=${encodeURIComponent(endpoint)}&pathStyle=true`;
        return { dest, env: { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_PROFILE: undefined, AWS_REGION: undefined }, parsed: { ...parseDestination(dest), ...credentials } as Destination };
      },
    },
    {
      kind: 'WebDAV (Apache mod_dav)',
      make: async () => {
        const base = new URL(envOf('STRATA_TEST_WEBDAV_URL'));
        const dest = `webdav+http://${encodeURIComponent(envOf('STRATA_TEST_WEBDAV_USER'))}@${base.host}/prune-${runId}`;
        const env = { STRATA_WEBDAV_PASSWORD: envOf('STRATA_TEST_WEBDAV_PASS') };
        const parsed = { ...parseDestination(dest), password: env.STRATA_WEBDAV_PASSWORD } as Destination;
        const b = await openBackend(parsed);
        try {
          await b.createRoot?.();
        } finally {
          await b.close();
        }
        return { dest, env, parsed };
      },
    },
  ];
  for (const target of targets) {
    it(`${target.kind}: prune --apply removes exactly the expired sets; the kept ones restore`, async (t) => {
      const { dest, env, parsed } = await target.make();
      const root = await tempDir(t, 'strata-prune-remote-');
      const job = await makeJob(root, 'remote', dest, env);
      await history(job, HISTORY.slice(0, 4));
      const dry = await run(job, ['prune'], '2027-01-12T10:00:00Z');
      assert.match(dry.stdout, /^261227_FULL_docs .* REMOVE +expired: yearly/m); // the last Sunday of December: made yearly
      assert.match(dry.stdout, /^270103_FULL_docs .* keep +needed by kept set 270105_INCR_docs$/m);
      const j = jsonOf<PruneJson>(await run(job, ['--json', 'prune', '--apply'], '2027-01-12T10:00:00Z'));
      assert.deepEqual(j.removed, EXPIRED);
      const backend = await openBackend(parsed, { env: { ...process.env, ...env } });
      try {
        assert.deepEqual(await setFolders(backend), ['270103_FULL_docs', '270105_INCR_docs']);
        await assertNothingLooksComplete(backend);
      } finally {
        await backend.close();
      }
      await restoreEvery(job, ['270103_FULL_docs', '270105_INCR_docs']);
    });
  }
});
