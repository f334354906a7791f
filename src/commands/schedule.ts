/**
 * commands/schedule: `strata schedule install [--at HH:MM] [--verify PERCENT [--verify-on DAY]]`,
 * `schedule show` and `schedule remove` — the daily `strata backup --tier auto` of the config in
 * use, as a systemd timer (or a crontab entry where systemd is not running).
 */
import { realpathSync } from 'node:fs';
import * as path from 'node:path';
import { parseCommandArgs } from './args.js';
import type { Command, CommandContext, OptionSpecs } from './context.js';
import { findConfig, loadConfig } from '../config/load.js';
import { stateDir } from '../config/paths.js';
import type { StrataConfig } from '../config/schema.js';
import { AT_HINT, DEFAULT_AT, formatClockTime, hasLineBreak, nextRun, parseClockTime, SCHEDULE_WEEKDAYS, type ClockTime, type ScheduleSpec, type ScheduleWeekday } from '../core/schedule.js';
import { ExitCode, StrataError } from '../errors.js';
import { chooseScheduler, installSchedule, isRoot, readInstalled, removeSchedule } from '../ops/scheduler.js';
import { parseReadPercent } from '../pipeline/remote-verify.js';

const scheduleOptions = {
  at: { type: 'string', value: 'HH:MM', help: 'install: the time of the daily backup, local time (default: the config\'s schedule.at, else 03:00)' },
  verify: { type: 'string', value: 'PERCENT', help: 'install: also a weekly "verify --read-data=PERCENT"' },
  'verify-on': { type: 'string', value: 'DAY', help: 'install: the weekday of that verify (default: the config\'s schedule.weeklyOn)' },
} as const satisfies OptionSpecs;

/** scheduleCommand installs, shows and removes the job's daily backup schedule. */
export const scheduleCommand: Command = {
  name: 'schedule',
  summary: 'install, show or remove the daily "backup --tier auto" (systemd timer, else crontab)',
  usage: 'schedule install [--at HH:MM] [--verify PERCENT [--verify-on DAY]] | schedule show | schedule remove',
  options: scheduleOptions,
  examples: ['strata schedule install --at 02:30', 'strata schedule install --verify 5', 'strata schedule show', 'strata schedule remove'],
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('schedule', args, scheduleOptions, true);
    const [sub, ...extra] = positionals;
    if ((sub !== 'install' && sub !== 'show' && sub !== 'remove') || extra.length > 0) {
      throw new StrataError('USAGE', sub === undefined ? 'schedule: say what to do' : `schedule: unknown subcommand ${JSON.stringify(positionals.join(' '))}`, { hint: 'Run "strata schedule install [--at HH:MM]", "strata schedule show" or "strata schedule remove".' });
    }
    if (sub !== 'install' && (values.at !== undefined || values.verify !== undefined || values['verify-on'] !== undefined)) {
      throw new StrataError('USAGE', `schedule ${sub} takes no options`, { hint: 'The options are for "strata schedule install".' });
    }
    // Bad input is refused before anything is read or installed.
    let at: ClockTime | undefined;
    if (values.at !== undefined) {
      at = parseClockTime(values.at);
      if (at === undefined) throw new StrataError('USAGE', `--at: ${JSON.stringify(values.at)} is not a time of day HH:MM`, { hint: AT_HINT });
    }
    const percent = values.verify === undefined ? undefined : parseVerifyPercent(values.verify);
    const verifyOn = values['verify-on'] === undefined ? undefined : parseWeekday(values['verify-on']);
    if (verifyOn !== undefined && percent === undefined) throw new StrataError('USAGE', '--verify-on needs --verify PERCENT', { hint: 'e.g. strata schedule install --verify 5 --verify-on wednesday' });
    const { file, config } = await configFile(ctx);
    const system = isRoot();
    if (sub === 'show') return show(ctx, config, system);
    if (sub === 'remove') {
      const removed = await removeSchedule(config.job, ctx.env, system);
      ctx.out.data({ job: config.job, removed });
      ctx.out.result(removed.length === 0 ? `no schedule of job ${config.job} was installed` : `removed the schedule of job ${config.job}: ${removed.join(', ')}`);
      return ExitCode.ok;
    }
    const state = stateDir(ctx.global.state, ctx.env);
    const strata = [process.execPath, realpathSync(process.argv[1] ?? '')];
    for (const p of [file, state, ...strata]) {
      if (hasLineBreak(p)) throw new StrataError('USAGE', `cannot schedule a path with a line break: ${JSON.stringify(p)}`, { hint: 'Move the config or state folder to a path without line breaks.' });
    }
    const configuredAt = config.schedule.at === undefined ? undefined : parseClockTime(config.schedule.at);
    const spec: ScheduleSpec = { job: config.job, strata, config: file, state, at: at ?? configuredAt ?? DEFAULT_AT, system };
    if (percent !== undefined) spec.verify = { percent, on: verifyOn ?? config.schedule.weeklyOn };
    const kind = chooseScheduler(ctx.env);
    const report = await installSchedule(spec, kind, ctx.env);
    if (config.password === undefined) {
      ctx.out.warn('the config has no password: block, and a scheduled run cannot ask for one: add password: { file: … } or { command: … } (see strata init), or every run will fail');
    }
    const next = nextRun(spec.at, ctx.clock.now());
    ctx.out.data({ job: config.job, kind, at: formatClockTime(spec.at), verify: spec.verify ?? null, changed: report.changed, enabled: report.enabled, nextRun: next.toISOString(), notes: report.notes });
    ctx.out.result(`installed (${kind}): job ${config.job}, daily "strata backup --tier auto" at ${formatClockTime(spec.at)}${kind === 'systemd' ? ' (+ up to 30 min random delay; missed runs catch up)' : ''}`);
    if (spec.verify !== undefined) ctx.out.result(`  and "strata verify --read-data=${spec.verify.percent}" every ${spec.verify.on}`);
    ctx.out.result(`  config ${file}; state ${state}`);
    ctx.out.result(`  next run: ${next.toString()}`);
    for (const c of report.changed) ctx.out.info(`  wrote ${c}`);
    for (const n of report.notes) ctx.out.info(`note: ${n}`);
    return ExitCode.ok;
  },
};

async function show(ctx: CommandContext, config: StrataConfig, system: boolean): Promise<number> {
  const installed = await readInstalled(config.job, ctx.env, system);
  const now = ctx.clock.now();
  ctx.out.data({ job: config.job, installed: installed.map((i) => ({ kind: i.kind, at: formatClockTime(i.at), verify: i.verify ?? null, where: i.where, nextRun: nextRun(i.at, now).toISOString(), text: i.text })) });
  if (installed.length === 0) ctx.out.result(`no schedule is installed for job ${config.job} (strata schedule install)`);
  for (const i of installed) {
    ctx.out.result(`${i.kind}: job ${config.job}, daily backup at ${formatClockTime(i.at)}${i.verify === undefined ? '' : `, verify --read-data=${i.verify.percent} every ${i.verify.on}`} (${i.where})`);
    ctx.out.result(`  next run: ${nextRun(i.at, now).toString()}`);
    for (const l of i.text.trimEnd().split('\n')) ctx.out.verbose(`  | ${l}`);
  }
  return ExitCode.ok;
}

/** configFile finds the config file (a schedule runs a config, never flags) and loads it. */
async function configFile(ctx: CommandContext): Promise<{ file: string; config: StrataConfig }> {
  const found = await findConfig(ctx.global.config, ctx.env);
  if (found === undefined) throw new StrataError('USAGE', 'schedule needs a config file', { hint: 'Run "strata init" to write strata.yaml, or pass --config FILE.' });
  const file = path.resolve(found);
  return { file, config: await loadConfig(file, ctx.env) };
}

function parseVerifyPercent(text: string): number {
  try {
    return parseReadPercent(text);
  } catch {
    throw new StrataError('USAGE', `--verify: ${JSON.stringify(text)} is not a percentage in (0, 100]`, { hint: 'e.g. --verify 5 reads a 5% sample of the newest sets every week.' });
  }
}

function parseWeekday(text: string): ScheduleWeekday {
  const day = SCHEDULE_WEEKDAYS.find((d) => d === text.toLowerCase());
  if (day === undefined) throw new StrataError('USAGE', `--verify-on: ${JSON.stringify(text)} is not a weekday`, { hint: `Use one of ${SCHEDULE_WEEKDAYS.join(', ')}.` });
  return day;
}
