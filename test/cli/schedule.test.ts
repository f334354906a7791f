/**
 * strata schedule install / show / remove: systemd units that `systemd-analyze verify` accepts,
 * and a crontab entry through the real `crontab` — install → show → remove, installing twice never
 * makes two, other crontab lines stay. The crontab used is user nobody's when the tests run as root
 * (STRATA_CRONTAB_USER), else the current user's, saved first and restored after.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CLI_ENTRY, strata, type CliResult } from '../helpers/cli.js';
import { systemdUnits } from '../../src/core/schedule.js';
import { tempDir } from '../helpers/tmp.js';

const execFileP = promisify(execFile);
const show = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
const isRoot = process.getuid?.() === 0;

async function job(t: TestContext, extra = ''): Promise<{ root: string; config: string; state: string }> {
  const root = await tempDir(t, 'strata-schedule-');
  await mkdir(path.join(root, 'src'));
  await mkdir(path.join(root, 'dest'));
  const config = path.join(root, 'strata.yaml');
  await writeFile(config, `job: sched-test\nsources:\n  - path: ${path.join(root, 'src')}\ndestination: ${path.join(root, 'dest')}\npassword:\n  file: ${path.join(root, 'pw')}\n${extra}`);
  return { root, config, state: path.join(root, 'state') };
}

/** analyze runs systemd-analyze verify on unit files, as system units (root) or user units; returns its complaints. */
async function analyze(files: string[], user: boolean, runtime: string): Promise<string> {
  try {
    const r = await execFileP('systemd-analyze', [...(user ? ['--user'] : []), 'verify', ...files], { env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_LEVEL: 'notice' } });
    return r.stderr.trim();
  } catch (e) {
    const err = e as { stderr?: string; code?: number };
    return `exit ${err.code ?? '?'}: ${err.stderr ?? String(e)}`;
  }
}

describe('strata schedule with systemd units', () => {
  it('installs units that systemd-analyze verify accepts; twice is still one schedule; show; remove', { timeout: 60_000 }, async (t) => {
    const { root, config, state } = await job(t, 'schedule:\n  weeklyOn: saturday\n  at: "01:15"\n');
    const units = path.join(root, 'units');
    const env = { STRATA_SCHEDULER: 'systemd', STRATA_SYSTEMD_DIR: units, STRATA_NOW: '2026-12-06T12:00:00Z' };
    const g = ['--config', config, '--state', state];
    const first = await strata([...g, 'schedule', 'install', '--verify', '5'], { env });
    assert.equal(first.code, 0, show(first));
    assert.match(first.stdout, /installed \(systemd\): job sched-test, daily "strata backup --tier auto" at 01:15/);
    assert.match(first.stdout, /verify --read-data=5" every saturday/);
    const names = (await readdir(units)).sort();
    assert.deepEqual(names, ['strata-backup-sched-test.service', 'strata-backup-sched-test.timer', 'strata-verify-sched-test.service', 'strata-verify-sched-test.timer']);
    const runtime = await tempDir(t, 'strata-rt-');
    const complaints = await analyze(names.map((n) => path.join(units, n)), !isRoot, runtime);
    assert.equal(complaints, '', 'systemd-analyze verify complains about the generated units');
    // The other kind too: user units when root installed system units, and the other way round.
    const other = path.join(root, 'other-units');
    await mkdir(other);
    const spec = { job: 'sched-test', strata: [process.execPath, CLI_ENTRY], config, state, at: { hour: 1, minute: 15 }, system: !isRoot, verify: { percent: 5, on: 'saturday' as const } };
    for (const u of systemdUnits(spec)) await writeFile(path.join(other, u.name), u.text);
    assert.equal(await analyze((await readdir(other)).map((n) => path.join(other, n)), isRoot, runtime), '', 'systemd-analyze verify complains about the other kind of units');
    const timer = await readFile(path.join(units, 'strata-backup-sched-test.timer'), 'utf8');
    assert.match(timer, /^OnCalendar=\*-\*-\* 01:15:00$/m);
    assert.match(timer, /^Persistent=true$/m);
    assert.match(timer, /^RandomizedDelaySec=\d+min$/m);
    const service = await readFile(path.join(units, 'strata-backup-sched-test.service'), 'utf8');
    // Absolute paths only: the config, the state folder, node and strata itself.
    assert.ok(service.includes(`"--config" "${config}" "--state" "${state}" "--quiet" "backup" "--tier" "auto"`), service);
    assert.match(service, /^ExecStart="\/[^"]+node[^"]*" "\/[^"]+\.js" /m);

    // Again, at another time and without verify: one schedule, the verify units gone.
    const again = await strata([...g, 'schedule', 'install', '--at', '22:05'], { env });
    assert.equal(again.code, 0, show(again));
    assert.deepEqual((await readdir(units)).sort(), ['strata-backup-sched-test.service', 'strata-backup-sched-test.timer']);
    assert.match(await readFile(path.join(units, 'strata-backup-sched-test.timer'), 'utf8'), /^OnCalendar=\*-\*-\* 22:05:00$/m);
    const shown = await strata([...g, '--json', 'schedule', 'show'], { env });
    assert.equal(shown.code, 0, show(shown));
    const doc = JSON.parse(shown.stdout) as { installed: { kind: string; at: string; nextRun: string }[] };
    assert.deepEqual(doc.installed.map((i) => [i.kind, i.at]), [['systemd', '22:05']]);
    assert.equal(new Date(doc.installed[0]?.nextRun ?? '').getHours(), 22);

    // status names the next run from the installed schedule.
    const status = await strata([...g, '--json', 'status'], { env });
    assert.equal((JSON.parse(status.stdout) as { nextRun: string | null }).nextRun, doc.installed[0]?.nextRun, show(status));

    const removed = await strata([...g, 'schedule', 'remove'], { env });
    assert.equal(removed.code, 0, show(removed));
    assert.deepEqual(await readdir(units), []);
    const none = await strata([...g, 'schedule', 'show'], { env });
    assert.match(none.stdout, /no schedule is installed for job sched-test/);
  });

  it('bad input: --at not HH:MM, schedule.at in the config, --verify, a missing config: exit 2 with a hint, nothing installed', { timeout: 60_000 }, async (t) => {
    const { root, config, state } = await job(t);
    const units = path.join(root, 'units');
    const env = { STRATA_SCHEDULER: 'systemd', STRATA_SYSTEMD_DIR: units };
    for (const at of ['25:00', '2pm', '02:30:00', '0230']) {
      const r = await strata(['--config', config, '--state', state, 'schedule', 'install', '--at', at], { env });
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, new RegExp(`--at: "${at}" is not a time of day HH:MM`), show(r));
      assert.match(r.stderr, /hint: Write the time of day as HH:MM/);
    }
    const bad = path.join(root, 'bad.yaml');
    await writeFile(bad, (await readFile(config, 'utf8')) + 'schedule:\n  at: "7 o\'clock"\n');
    const r = await strata(['--config', bad, '--state', state, 'schedule', 'install'], { env });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /bad\.yaml:8:\d+: .*schedule\.at.*HH:MM|bad\.yaml:8:\d+:.*HH:MM/, show(r));
    const v = await strata(['--config', config, '--state', state, 'schedule', 'install', '--verify', '0'], { env });
    assert.equal(v.code, 2, show(v));
    assert.match(v.stderr, /--verify: "0" is not a percentage/);
    const elsewhere = await tempDir(t, 'strata-schedule-noconfig-');
    const noConfig = await strata(['--state', state, 'schedule', 'install'], { env, cwd: elsewhere });
    assert.equal(noConfig.code, 2, show(noConfig));
    assert.match(noConfig.stderr, /schedule needs a config file/);
    await assert.rejects(readdir(units), { code: 'ENOENT' });
  });
});

describe('strata schedule with the real crontab', () => {
  it('install → show → remove; twice is one entry; the other lines of the crontab stay', { timeout: 60_000 }, async (t) => {
    const { config, state } = await job(t);
    // As root: user nobody's crontab, never root's. Otherwise this user's, restored afterwards.
    const user = isRoot ? ['-u', 'nobody'] : [];
    const env: Record<string, string> = { STRATA_SCHEDULER: 'cron', STRATA_SYSTEMD_DIR: path.join(state, 'no-units'), ...(isRoot ? { STRATA_CRONTAB_USER: 'nobody' } : {}) };
    const list = async (): Promise<string> => {
      try {
        return (await execFileP('crontab', [...user, '-l'])).stdout;
      } catch {
        return '';
      }
    };
    const saved = await list();
    t.after(async () => {
      const child = execFile('crontab', [...user, '-']);
      child.stdin?.end(saved);
      await new Promise((resolve) => child.on('close', resolve));
    });
    const setCrontab = async (text: string): Promise<void> => {
      const child = execFile('crontab', [...user, '-']);
      child.stdin?.end(text);
      const code = await new Promise((resolve) => child.on('close', resolve));
      assert.equal(code, 0);
    };
    const mine = '# a line of my own\n17 4 * * * /bin/true\n';
    await setCrontab(mine);
    const g = ['--config', config, '--state', state];
    for (const at of ['02:30', '03:45']) {
      const r = await strata([...g, 'schedule', 'install', '--at', at, '--verify', '10', '--verify-on', 'monday'], { env });
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /installed \(cron\)/);
    }
    const text = await list();
    assert.ok(text.startsWith(mine), text);
    assert.equal(text.split('# BEGIN strata job sched-test').length - 1, 1, `installing twice made two entries:\n${text}`);
    assert.match(text, new RegExp(`^45 3 \\* \\* \\* \\S*node\\S* \\S+\\.js --config ${config.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} --state \\S+ --quiet backup --tier auto$`, 'm'));
    assert.match(text, /^45 3 \* \* 1 .* verify --read-data=10$/m);
    assert.match(text, /^# END strata job sched-test$/m);
    const shown = await strata([...g, 'schedule', 'show'], { env });
    assert.equal(shown.code, 0, show(shown));
    assert.match(shown.stdout, /^cron: job sched-test, daily backup at 03:45, verify --read-data=10 every monday \(crontab\)$/m);
    const removed = await strata([...g, 'schedule', 'remove'], { env });
    assert.equal(removed.code, 0, show(removed));
    assert.match(removed.stdout, /removed the schedule of job sched-test: crontab/);
    assert.equal(await list(), mine);
    const gone = await strata([...g, 'schedule', 'show'], { env });
    assert.match(gone.stdout, /no schedule is installed/);
  });
});
