/**
 * ops/scheduler: puts a job's schedule (core/schedule) in place and takes it away — systemd units
 * enabled with systemctl where systemd runs, else a block in the user's crontab — and reads back
 * what is installed. Locations are injectable for tests: STRATA_SYSTEMD_DIR (the unit folder),
 * STRATA_SCHEDULER (systemd or cron, instead of detecting), STRATA_CRONTAB (the crontab program)
 * and STRATA_CRONTAB_USER (crontab -u USER).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { findCronBlock, parseCronBlock, parseReadPercentArg, parseTimer, systemdUnits, unitNames, withCronBlock, withoutCronBlock, type InstalledSchedule, type ScheduleSpec } from '../core/schedule.js';
import { errnoCode, isStrataError, StrataError } from '../errors.js';
import { lastLines, run } from '../exec/run.js';
import { homeDir } from '../config/paths.js';

/** SchedulerKind is how a schedule is installed. */
export type SchedulerKind = 'systemd' | 'cron';

/** isRoot tells whether strata runs as root (system units) or as a user (user units). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** systemdRunning tells whether systemd is the init system (sd_booted: /run/systemd/system exists). */
export function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

/** chooseScheduler: STRATA_SCHEDULER when set, else systemd where it runs, else cron. */
export function chooseScheduler(env: NodeJS.ProcessEnv): SchedulerKind {
  const forced = env['STRATA_SCHEDULER'];
  if (forced === 'systemd' || forced === 'cron') return forced;
  if (forced !== undefined && forced !== '') throw new StrataError('USAGE', `STRATA_SCHEDULER must be systemd or cron, not ${JSON.stringify(forced)}`, { hint: 'Unset it to let strata choose.' });
  return systemdRunning() ? 'systemd' : 'cron';
}

/** unitDir is where the job's units go: STRATA_SYSTEMD_DIR, else /etc/systemd/system (root) or ~/.config/systemd/user. */
export function unitDir(env: NodeJS.ProcessEnv, system: boolean): string {
  const forced = env['STRATA_SYSTEMD_DIR'];
  if (forced !== undefined && forced !== '') return forced;
  if (system) return '/etc/systemd/system';
  const xdg = env['XDG_CONFIG_HOME'];
  return path.join(xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(homeDir(env), '.config'), 'systemd', 'user');
}

function crontabArgs(env: NodeJS.ProcessEnv, args: string[]): { program: string; args: string[] } {
  const user = env['STRATA_CRONTAB_USER'];
  const program = env['STRATA_CRONTAB'] !== undefined && env['STRATA_CRONTAB'] !== '' ? env['STRATA_CRONTAB'] : 'crontab';
  return { program, args: [...(user !== undefined && user !== '' ? ['-u', user] : []), ...args] };
}

/** readCrontab returns the user's crontab ('' when there is none). */
export async function readCrontab(env: NodeJS.ProcessEnv): Promise<string> {
  const c = crontabArgs(env, ['-l']);
  const r = await run(c.program, c.args, { env });
  if (r.exitCode === 0) return r.stdout;
  if (/no crontab for/i.test(r.stderr)) return '';
  throw new StrataError('TOOL_FAILED', `crontab -l failed (exit ${r.exitCode}): ${lastLines(r.stderr)}`, { hint: 'Check that cron is installed and that you may use it (/etc/cron.allow, /etc/cron.deny).' });
}

/** writeCrontab replaces the user's crontab. */
async function writeCrontab(env: NodeJS.ProcessEnv, text: string): Promise<void> {
  const c = crontabArgs(env, ['-']);
  const r = await run(c.program, c.args, { env, input: text });
  if (r.exitCode !== 0) throw new StrataError('TOOL_FAILED', `crontab failed to install the new table (exit ${r.exitCode}): ${lastLines(r.stderr)}`, { hint: 'Check that cron is installed and that you may use it (/etc/cron.allow, /etc/cron.deny).' });
}

/** crontabOrNothing reads the crontab, or undefined when no crontab program is installed. */
async function crontabOrNothing(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    return await readCrontab(env);
  } catch (e) {
    if (isStrataError(e, 'MISSING_TOOL')) return undefined;
    throw e;
  }
}

async function systemctl(system: boolean, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const r = await run('systemctl', [...(system ? [] : ['--user']), ...args], { env });
  if (r.exitCode !== 0) {
    throw new StrataError('TOOL_FAILED', `systemctl ${system ? '' : '--user '}${args.join(' ')} failed (exit ${r.exitCode}): ${lastLines(r.stderr)}`, {
      hint: system ? 'Check "systemctl status" and the journal.' : 'A user manager needs a login session; run "loginctl enable-linger" once so your timers run while you are logged out.',
    });
  }
}

async function removeIfThere(file: string): Promise<boolean> {
  try {
    await rm(file);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}

/** InstallReport says what install or remove did, for the command to print. */
export interface InstallReport {
  kind: SchedulerKind;
  /** Unit files written or removed, or "crontab". */
  changed: string[];
  /** Whether systemctl enabled (or disabled) the timers. */
  enabled: boolean;
  notes: string[];
}

/** installSchedule installs (or replaces) the job's schedule; any earlier schedule of the job, of either kind, is replaced. */
export async function installSchedule(spec: ScheduleSpec, kind: SchedulerKind, env: NodeJS.ProcessEnv): Promise<InstallReport> {
  const report: InstallReport = { kind, changed: [], enabled: false, notes: [] };
  const dir = unitDir(env, spec.system);
  const names = unitNames(spec.job);
  const running = systemdRunning();
  if (kind === 'systemd') {
    const crontab = await crontabOrNothing(env);
    if (crontab !== undefined && findCronBlock(crontab, spec.job).block !== undefined) {
      await writeCrontab(env, withoutCronBlock(crontab, spec.job));
      report.notes.push('removed the earlier crontab entry of this job');
    }
    await mkdir(dir, { recursive: true });
    const units = systemdUnits(spec);
    // A verify timer installed before and not asked for now goes.
    if (spec.verify === undefined && existsSync(path.join(dir, names.verifyTimer))) {
      if (running) await systemctl(spec.system, ['disable', '--now', names.verifyTimer], env).catch(() => undefined);
      for (const n of [names.verifyTimer, names.verifyService]) if (await removeIfThere(path.join(dir, n))) report.changed.push(path.join(dir, n));
    }
    for (const u of units) {
      await writeFile(path.join(dir, u.name), u.text, { mode: 0o644 });
      report.changed.push(path.join(dir, u.name));
    }
    if (running) {
      await systemctl(spec.system, ['daemon-reload'], env);
      await systemctl(spec.system, ['enable', '--now', ...units.filter((u) => u.name.endsWith('.timer')).map((u) => u.name)], env);
      report.enabled = true;
      if (!spec.system) report.notes.push('user timers run while you are logged in; "loginctl enable-linger" makes them run at all times');
    } else {
      report.notes.push(`systemd is not running: the units are written but not enabled; enable them with "systemctl ${spec.system ? '' : '--user '}enable --now ${units.filter((u) => u.name.endsWith('.timer')).map((u) => u.name).join(' ')}"`);
    }
    return report;
  }
  // cron: the job's systemd units, if any were installed before, go first.
  const removed = await removeUnits(spec.job, dir, spec.system, running, env);
  if (removed.length > 0) report.notes.push('removed the earlier systemd units of this job');
  report.changed.push(...removed);
  const crontab = await readCrontab(env).catch((e: unknown) => {
    if (isStrataError(e, 'MISSING_TOOL')) throw new StrataError('MISSING_TOOL', 'systemd is not running and crontab is not installed: strata cannot schedule the backup', { hint: 'Install cron (Debian/Ubuntu: sudo apt-get install cron) and run strata schedule install again.' });
    throw e;
  });
  await writeCrontab(env, withCronBlock(crontab, spec));
  report.changed.push('crontab');
  report.notes.push('cron does not catch up a run missed while the machine was off; systemd timers do');
  return report;
}

async function removeUnits(job: string, dir: string, system: boolean, running: boolean, env: NodeJS.ProcessEnv): Promise<string[]> {
  const names = unitNames(job);
  const there = [names.backupTimer, names.verifyTimer].filter((n) => existsSync(path.join(dir, n)));
  if (there.length > 0 && running) await systemctl(system, ['disable', '--now', ...there], env);
  const removed: string[] = [];
  for (const n of [names.backupTimer, names.backupService, names.verifyTimer, names.verifyService]) if (await removeIfThere(path.join(dir, n))) removed.push(path.join(dir, n));
  if (removed.length > 0 && running) await systemctl(system, ['daemon-reload'], env);
  return removed;
}

/** removeSchedule removes the job's schedule of either kind; returns what it removed. */
export async function removeSchedule(job: string, env: NodeJS.ProcessEnv, system: boolean): Promise<string[]> {
  const removed = await removeUnits(job, unitDir(env, system), system, systemdRunning(), env);
  const crontab = await crontabOrNothing(env);
  if (crontab !== undefined && findCronBlock(crontab, job).block !== undefined) {
    await writeCrontab(env, withoutCronBlock(crontab, job));
    removed.push('crontab');
  }
  return removed;
}

/** Installed is one installed schedule of the job, with where it lives and its text. */
export interface Installed extends InstalledSchedule {
  where: string;
  text: string;
}

/** readInstalled returns the job's installed schedules (normally one). */
export async function readInstalled(job: string, env: NodeJS.ProcessEnv, system: boolean): Promise<Installed[]> {
  const out: Installed[] = [];
  const dir = unitDir(env, system);
  const names = unitNames(job);
  const timerFile = path.join(dir, names.backupTimer);
  if (existsSync(timerFile)) {
    const timer = await readFile(timerFile, 'utf8');
    const t = parseTimer(timer);
    if (t !== undefined) {
      let verify: InstalledSchedule['verify'];
      let text = timer;
      const vTimer = path.join(dir, names.verifyTimer);
      if (existsSync(vTimer)) {
        const vt = parseTimer(await readFile(vTimer, 'utf8'));
        const vs = await readFile(path.join(dir, names.verifyService), 'utf8').catch(() => '');
        const percent = parseReadPercentArg(vs);
        if (vt?.on !== undefined && percent !== undefined) verify = { percent, on: vt.on };
        text += `\n${vs}`;
      }
      out.push({ kind: 'systemd', at: t.at, verify, where: dir, text: `${await readFile(path.join(dir, names.backupService), 'utf8').catch(() => '')}\n${text}` });
    }
  }
  const crontab = await crontabOrNothing(env);
  const block = crontab === undefined ? undefined : findCronBlock(crontab, job).block;
  const parsed = block === undefined ? undefined : parseCronBlock(block);
  if (block !== undefined && parsed !== undefined) out.push({ ...parsed, where: 'crontab', text: block.join('\n') + '\n' });
  return out;
}
