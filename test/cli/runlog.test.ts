/**
 * The run log, notifications and status, end to end: every run of backup, verify … appends one
 * record (failures and cancellations too, the destination without credentials), size-capped with
 * rotation; `notify:` runs a real command and pings a local HTTP server healthchecks-style, never
 * with the password, and a dead notifier neither blocks nor fails the run; `strata status` warns
 * in plain words and exits 4.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { strata, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import type { RunRecord } from '../../src/core/runlog.js';
import { resultOf } from '../../src/core/runlog.js';
import { runNotifyCommand, ping } from '../../src/ops/notify.js';

const show = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
const SECRET = 'pw-in-env-9f3c1e';

/** pingServer records the paths it is asked for; paths under /hang are never answered. */
async function pingServer(t: TestContext): Promise<{ base: string; seen: string[] }> {
  const seen: string[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.url ?? '');
    if ((req.url ?? '').startsWith('/hang')) {
      hanging.push(res);
      return;
    }
    res.end('OK');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const r of hanging) r.destroy();
    server.closeAllConnections();
    server.close();
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function setup(t: TestContext, notify: string): Promise<{ root: string; config: string; g: string[]; dest: string }> {
  const root = await tempDir(t, 'strata-runlog-');
  const src = path.join(root, 'src');
  const dest = path.join(root, 'dest');
  await mkdir(src);
  await mkdir(dest);
  await writeFile(path.join(src, 'a.txt'), 'alpha\n');
  const config = path.join(root, 'strata.yaml');
  await writeFile(config, `job: rl\nsources:\n  - path: ${src}\ndestination: ${dest}\npassword:\n  env: MY_BACKUP_PW\n${notify}`);
  return { root, config, dest, g: ['--config', config, '--state', path.join(root, 'state')] };
}

async function records(root: string): Promise<RunRecord[]> {
  const text = await readFile(path.join(root, 'state', 'runs.jsonl'), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l) as RunRecord);
}

describe('run log and notify', () => {
  it('success and failure: one record each, the command and the pings per event, never the password', { timeout: 120_000 }, async (t) => {
    const srv = await pingServer(t);
    const { root, g, dest } = await setup(t, `notify:\n  command: 'env > "$NOTIFY_DIR/$STRATA_RUN_RESULT.env"'\n  on: [failure, success]\n  url: ${srv.base}/ping/abc\n`);
    const env = { MY_BACKUP_PW: SECRET, STRATA_PASSWORD: undefined, NOTIFY_DIR: root };
    const ok = await strata([...g, 'backup', '-t', 'weekly'], { env: { ...env, STRATA_NOW: '2026-12-06T09:00:00Z' } });
    assert.equal(ok.code, 0, show(ok));
    assert.deepEqual(srv.seen, ['/ping/abc/start', '/ping/abc']);
    const okEnv = await readFile(path.join(root, 'success.env'), 'utf8');
    assert.match(okEnv, /^STRATA_RUN_RESULT=success$/m);
    assert.match(okEnv, /^STRATA_RUN_COMMAND=backup$/m);
    assert.match(okEnv, /^STRATA_RUN_JOB=rl$/m);
    assert.match(okEnv, /^STRATA_RUN_SETS_MADE=261206_FULL_src$/m);
    assert.match(okEnv, /^STRATA_RUN_SUMMARY=backup SUCCESS \(exit 0\): made 261206_FULL_src$/m);
    assert.ok(!okEnv.includes(SECRET), 'the password reached the notify command');
    assert.doesNotMatch(okEnv, /^MY_BACKUP_PW=/m);

    // The destination gone: exit 10, recorded, /fail pinged, the command run for the failure.
    await rm(dest, { recursive: true });
    const bad = await strata([...g, 'backup', '-t', 'daily'], { env: { ...env, STRATA_NOW: '2026-12-07T09:00:00Z' } });
    assert.equal(bad.code, 10, show(bad));
    assert.deepEqual(srv.seen.slice(2), ['/ping/abc/start', '/ping/abc/fail']);
    const failEnv = await readFile(path.join(root, 'failure.env'), 'utf8');
    assert.match(failEnv, /^STRATA_RUN_EXIT_CODE=10$/m);
    assert.match(failEnv, /^STRATA_RUN_ERROR=.*does not exist/m);
    assert.ok(!failEnv.includes(SECRET));

    const rs = await records(root);
    assert.deepEqual(rs.map((r) => [r.command, r.job, r.result, r.exitCode, r.start]), [
      ['backup', 'rl', 'success', 0, '2026-12-06T09:00:00.000Z'],
      ['backup', 'rl', 'failure', 10, '2026-12-07T09:00:00.000Z'],
    ]);
    assert.deepEqual(rs[0]?.sets.made, ['261206_FULL_src']);
    assert.equal(rs[0]?.counts['files'], 1);
    assert.ok((rs[0]?.bytes['stored'] ?? 0) > 0);
    assert.equal(rs[1]?.error?.code, 'NO_DESTINATION');
    const state = await readFile(path.join(root, 'state', 'runs.jsonl'), 'utf8');
    assert.ok(!state.includes(SECRET));
    assert.equal(((await stat(path.join(root, 'state', 'runs.jsonl'))).mode & 0o077), 0, 'the run log is private');

    // strata log: the failure beside the audit trail; --failures only it.
    const log = await strata([...g, 'log']);
    assert.equal(log.code, 0, show(log));
    assert.match(log.stdout, /^2026-12-07 09:00:00 {2}backup FAILURE \(exit 10\): .*does not exist/m);
    assert.match(log.stdout, /^2026-12-06 09:00:00 {2}weekly {2}FULL {2}261206_FULL_src {2}\+1 ~0 -0$/m);
    const failures = await strata([...g, '--json', 'log', '--failures']);
    assert.deepEqual((JSON.parse(failures.stdout) as { runLog: RunRecord[] }).runLog.map((r) => r.result), ['failure']);
  });

  it('a destination with credentials is recorded without them; a config that does not load is not a run', { timeout: 60_000 }, async (t) => {
    const { root, g, config } = await setup(t, '');
    const url = 'webdav+http://strata:Sup3rSecret@127.0.0.1:1/backups?token=tok3n&x=1';
    const r = await strata([...g, 'verify', '--dest', url], { env: { MY_BACKUP_PW: SECRET } });
    assert.notEqual(r.code, 0, show(r));
    const [rec] = await records(root);
    assert.equal(rec?.command, 'verify');
    assert.equal(rec?.result, 'failure');
    assert.equal(rec?.destination, 'webdav+http://strata:***@127.0.0.1:1/backups?token=***&x=1');
    const text = await readFile(path.join(root, 'state', 'runs.jsonl'), 'utf8');
    assert.ok(!text.includes('Sup3rSecret') && !text.includes('tok3n'), text);
    // A config with an unknown key: refused before anything runs, no record.
    await writeFile(config, (await readFile(config, 'utf8')) + 'bogus: 1\n');
    const refused = await strata([...g, 'backup', '-t', 'daily'], { env: { MY_BACKUP_PW: SECRET } });
    assert.equal(refused.code, 2, show(refused));
    assert.equal((await records(root)).length, 1);
  });

  it('a run refused as bad input (a source folder gone) writes nothing, not even its record, but is notified', { timeout: 60_000 }, async (t) => {
    const { root, g } = await setup(t, `notify:\n  command: 'echo "$STRATA_RUN_RESULT $STRATA_RUN_EXIT_CODE $STRATA_RUN_ERROR" > "$NOTIFY_DIR/refused.txt"'\n`);
    await rm(path.join(root, 'src'), { recursive: true });
    const r = await strata([...g, 'backup', '-t', 'daily'], { env: { MY_BACKUP_PW: SECRET, NOTIFY_DIR: root } });
    assert.equal(r.code, 2, show(r));
    assert.match(await readFile(path.join(root, 'refused.txt'), 'utf8'), /^failure 2 .*src does not exist$/m);
    await assert.rejects(readdir(path.join(root, 'state')), { code: 'ENOENT' });
  });

  it('a dead notifier (a URL that never answers, a command that hangs) is a warning; the backup succeeds in bounded time', { timeout: 120_000 }, async (t) => {
    const srv = await pingServer(t);
    const { g } = await setup(t, `notify:\n  command: sleep 60\n  on: [success]\n  url: ${srv.base}/hang/x\n  timeout: 1s\n`);
    const t0 = performance.now();
    const r = await strata([...g, 'backup', '-t', 'weekly'], { env: { MY_BACKUP_PW: SECRET } });
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.code, 0, show(r));
    assert.match(r.stderr, /warning: notify: could not reach http:\/\/127\.0\.0\.1:\d+\/hang\/x\/start within 1s/);
    assert.match(r.stderr, /warning: notify: could not reach http:\/\/127\.0\.0\.1:\d+\/hang\/x within 1s/);
    assert.match(r.stderr, /warning: notify: the command did not finish within 1s and was stopped/);
    assert.ok(seconds < 30, `the run took ${seconds.toFixed(1)} s`);
  });

  it('a cancelled run (Ctrl-C) is recorded as cancelled and notified as a failure', { timeout: 60_000 }, async (t) => {
    const { root, config, g } = await setup(t, `notify:\n  command: 'echo "$STRATA_RUN_RESULT $STRATA_RUN_EXIT_CODE" > "$NOTIFY_DIR/cancel.txt"'\n`);
    // The password command waits: the run is interrupted there.
    await writeFile(config, (await readFile(config, 'utf8')).replace('  env: MY_BACKUP_PW', '  command: sleep 30\n  timeout: 4s'));
    const r = await strata([...g, 'backup', '-t', 'weekly'], {
      env: { NOTIFY_DIR: root, STRATA_PASSWORD: undefined },
      onSpawn: (child) => setTimeout(() => child.kill('SIGINT'), 2500),
    });
    assert.equal(r.code, 130, show(r));
    const [rec] = await records(root);
    assert.equal(rec?.result, 'cancelled');
    assert.equal(rec?.error?.code, 'CANCELLED');
    assert.equal((await readFile(path.join(root, 'cancel.txt'), 'utf8')).trim(), 'cancelled 130');
  });

  it('the log is size-capped: it rotates into runs.1.jsonl, and strata log reads both', { timeout: 120_000 }, async (t) => {
    const { root, g } = await setup(t, '');
    const env = { MY_BACKUP_PW: SECRET, STRATA_RUN_LOG_MAX_BYTES: '1200' };
    const missing = path.join(root, 'nowhere');
    for (let i = 0; i < 5; i++) {
      const r = await strata([...g, 'verify', '--dest', missing], { env: { ...env, STRATA_NOW: `2026-12-0${i + 1}T10:00:00Z` } });
      assert.equal(r.code, 10, show(r));
    }
    const names = (await readdir(path.join(root, 'state'))).filter((n) => n.startsWith('runs')).sort();
    assert.deepEqual(names, ['runs.1.jsonl', 'runs.jsonl']);
    for (const n of names) assert.ok((await stat(path.join(root, 'state', n))).size <= 1200, `${n} is over the cap`);
    const log = await strata([...g, '--json', 'log'], { env });
    const runLog = (JSON.parse(log.stdout) as { runLog: RunRecord[] }).runLog;
    assert.ok(runLog.length >= 3 && runLog.length <= 5, `${runLog.length} records`);
    assert.equal(runLog[0]?.start, '2026-12-05T10:00:00.000Z', 'newest first');
  });
});

describe('notify pieces', () => {
  it('a partial run runs the command chosen for partial (a real sh), with the summary in the environment', { timeout: 30_000 }, async (t) => {
    const dir = await tempDir(t, 'strata-notify-');
    const out = path.join(dir, 'partial.txt');
    const record: RunRecord = {
      v: 1, start: '2026-12-06T09:00:00.000Z', end: '2026-12-06T09:05:00.000Z', command: 'backup', job: 'j', destination: '/d', exitCode: 3, result: resultOf(3),
      sets: { made: ['261206_INCR_a'], pruned: [], promoted: [], verified: [] }, counts: { errors: 2 }, bytes: {}, warnings: ['x', 'y'], error: null,
    };
    const config = { command: `printf '%s|%s|%s|%s' "$STRATA_RUN_RESULT" "$STRATA_RUN_SETS_MADE" "$STRATA_RUN_WARNINGS" "$SECRET_VAR" > '${out}'`, on: ['partial' as const], timeoutSeconds: 5 };
    assert.equal(await runNotifyCommand(config, record, { ...process.env, SECRET_VAR: 'hidden' }, ['SECRET_VAR']), undefined);
    assert.equal(await readFile(out, 'utf8'), 'partial|261206_INCR_a|2|');
    // Not chosen for this event: nothing runs.
    await rm(out);
    assert.equal(await runNotifyCommand({ ...config, on: ['failure'] }, record, process.env, []), undefined);
    await assert.rejects(readFile(out), { code: 'ENOENT' });
    // A failing command is a warning with its exit code and error output.
    const w = await runNotifyCommand({ ...config, command: 'echo broken >&2; exit 7' }, record, process.env, []);
    assert.match(w ?? '', /the command failed \(exit 7\): broken/);
  });

  it('ping: an HTTP error answer is a warning naming the status; nothing configured is nothing', { timeout: 30_000 }, async (t) => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/p/`;
    assert.match((await ping({ url: base, on: [], timeoutSeconds: 2 }, 'partial')) ?? '', /answered HTTP 404/);
    assert.deepEqual(seen, ['/p/fail']);
    assert.equal(await ping({ on: [], timeoutSeconds: 2 }, 'success'), undefined);
  });
});

describe('strata status', () => {
  it('reports each source, the last run and warnings; exit 4 when something needs attention', { timeout: 180_000 }, async (t) => {
    const { root, g, dest } = await setup(t, '');
    const env = { MY_BACKUP_PW: SECRET, STRATA_SCHEDULER: 'cron', STRATA_CRONTAB: path.join(root, 'no-crontab-here'), STRATA_SYSTEMD_DIR: path.join(root, 'units') };
    const at = (iso: string): Record<string, string> => ({ ...env, STRATA_NOW: iso });
    const b = await strata([...g, 'backup', '-t', 'weekly'], { env: at('2026-12-06T09:00:00Z') });
    assert.equal(b.code, 0, show(b));
    const fresh = await strata([...g, 'status'], { env: at('2026-12-06T15:00:00Z') });
    assert.equal(fresh.code, 0, show(fresh));
    assert.match(fresh.stdout, /^ {2}src: newest 261206_FULL_src, 6 hours old; 1 weekly; [\d.]+ KiB$/m);
    assert.match(fresh.stdout, /^last run: 2026-12-06 09:00:00 {2}backup SUCCESS \(exit 0\): made 261206_FULL_src$/m);
    assert.match(fresh.stdout, /^next scheduled run: none/m);
    assert.doesNotMatch(fresh.stdout, /WARNING/);

    // Three days later, nothing new: a warning in plain words, exit 4.
    const stale = await strata([...g, '--json', 'status'], { env: at('2026-12-09T10:00:00Z') });
    assert.equal(stale.code, 4, show(stale));
    const doc = JSON.parse(stale.stdout) as { warnings: string[]; exitCode: number; sources: { source: string; sets: Record<string, number>; newest: { id: string } | null }[] };
    assert.equal(doc.exitCode, 4);
    assert.deepEqual(doc.sources.map((s) => [s.source, s.newest?.id, s.sets['weekly']]), [['src', '261206_FULL_src', 1]]);
    assert.deepEqual(doc.warnings, ['source src: no complete set for 3 days (newest 261206_FULL_src); backups are not running or failing']);

    // A failed backup and an unreachable destination: both said, -q still prints the warnings.
    await rm(dest, { recursive: true });
    const failed = await strata([...g, 'backup', '-t', 'daily'], { env: at('2026-12-07T09:00:00Z') });
    assert.equal(failed.code, 10, show(failed));
    const down = await strata([...g, '-q', 'status'], { env: at('2026-12-07T10:00:00Z') });
    assert.equal(down.code, 4, show(down));
    assert.match(down.stdout, /^WARNING: the destination could not be read: .*does not exist/m);
    assert.match(down.stdout, /^WARNING: the last backup \(2026-12-07T09:00:00.000Z\) ended FAILURE: .*does not exist/m);
    assert.doesNotMatch(down.stdout, /^last run/m);
  });
});
