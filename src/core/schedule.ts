/**
 * core/schedule: the text of what `strata schedule install` puts in place — systemd service and
 * timer units, or a block of crontab lines — and how an installed schedule is read back (the time
 * of day, the next run). Pure: the commands layer (ops/scheduler) writes the files and runs
 * systemctl and crontab.
 */

/** ClockTime is a time of day, local time. */
export interface ClockTime {
  hour: number;
  minute: number;
}

/** DEFAULT_AT is the time of the daily backup when neither --at nor schedule.at says. */
export const DEFAULT_AT: ClockTime = { hour: 3, minute: 0 };

/** RANDOM_DELAY_MIN is the systemd timer's RandomizedDelaySec, in minutes: machines sharing a destination do not all start at once. */
export const RANDOM_DELAY_MIN = 30;

/** AT_HINT says how to write a time of day. */
export const AT_HINT = 'Write the time of day as HH:MM on a 24-hour clock, e.g. 02:30 or 21:00 (in YAML, quote it: at: "02:30").';

/** parseClockTime reads "HH:MM" (24-hour clock, local time); undefined when it is anything else. */
export function parseClockTime(text: string): ClockTime | undefined {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (m === null) return undefined;
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/** formatClockTime writes a time of day as HH:MM. */
export function formatClockTime(t: ClockTime): string {
  return `${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`;
}

/** SCHEDULE_WEEKDAYS are the days --verify-on accepts, Monday first (cron numbers them 1-7, Sunday 0/7). */
export const SCHEDULE_WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
/** ScheduleWeekday is a day of the week in lower case. */
export type ScheduleWeekday = (typeof SCHEDULE_WEEKDAYS)[number];

/** ScheduleSpec is what one job's schedule runs, and when. */
export interface ScheduleSpec {
  job: string;
  /** The program and leading arguments that start this strata (absolute node and script paths). */
  strata: string[];
  /** Absolute path of the config file. */
  config: string;
  /** Absolute path of the state folder (cron and systemd do not see the installer's XDG variables). */
  state: string;
  at: ClockTime;
  /** A weekly `verify --read-data=PERCENT` on a weekday, at the same time, after the backup. */
  verify?: { percent: number; on: ScheduleWeekday };
  /** System units (root) rather than user units. */
  system: boolean;
}

/** backupArgv is the command line of the scheduled backup. */
export function backupArgv(spec: ScheduleSpec): string[] {
  return [...spec.strata, '--config', spec.config, '--state', spec.state, '--quiet', 'backup', '--tier', 'auto'];
}

/** verifyArgv is the command line of the scheduled verify. */
export function verifyArgv(spec: ScheduleSpec & { verify: { percent: number } }): string[] {
  return [...spec.strata, '--config', spec.config, '--state', spec.state, '--quiet', 'verify', `--read-data=${spec.verify.percent}`];
}

/** unitNames are the systemd units of a job's schedule. */
export function unitNames(job: string): { backupService: string; backupTimer: string; verifyService: string; verifyTimer: string } {
  return { backupService: `strata-backup-${job}.service`, backupTimer: `strata-backup-${job}.timer`, verifyService: `strata-verify-${job}.service`, verifyTimer: `strata-verify-${job}.timer` };
}

/**
 * systemdQuote quotes one ExecStart= argument: double quotes (spaces), backslash escapes, and the
 * specifier "%" and variable "$" characters doubled so systemd passes them on as written.
 */
export function systemdQuote(arg: string): string {
  return `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

/** shellQuote quotes one argument for sh, in single quotes. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./=:@,+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** hasLineBreak tells whether a path would break a unit file or crontab line (refused by the caller). */
export function hasLineBreak(text: string): boolean {
  return /[\r\n\0]/.test(text);
}

const DAY_ABBR: Record<ScheduleWeekday, string> = { monday: 'Mon', tuesday: 'Tue', wednesday: 'Wed', thursday: 'Thu', friday: 'Fri', saturday: 'Sat', sunday: 'Sun' };
const CRON_DOW: Record<ScheduleWeekday, number> = { monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6, sunday: 0 };

/** UnitFile is one generated systemd unit. */
export interface UnitFile {
  name: string;
  text: string;
}

const HEADER = '# Written by "strata schedule install"; "strata schedule remove" removes it. Edits are lost on the next install.';

function service(spec: ScheduleSpec, what: string, argv: string[], after: string | undefined): string {
  const lines = [HEADER, '[Unit]', `Description=strata ${what} (job ${spec.job})`];
  // The user manager has no network-online.target; a system service waits for the network.
  if (spec.system) lines.push('Wants=network-online.target', 'After=network-online.target');
  if (after !== undefined) lines.push(`After=${after}`);
  lines.push('', '[Service]', 'Type=oneshot', `ExecStart=${argv.map(systemdQuote).join(' ')}`, 'Nice=10', 'IOSchedulingClass=idle', '');
  return lines.join('\n');
}

function timer(spec: ScheduleSpec, what: string, onCalendar: string, unit: string): string {
  return [
    HEADER,
    '[Unit]',
    `Description=strata ${what} (job ${spec.job})`,
    '',
    '[Timer]',
    `OnCalendar=${onCalendar}`,
    // A machine that was off or asleep at that time runs the backup as soon as it is back.
    'Persistent=true',
    `RandomizedDelaySec=${RANDOM_DELAY_MIN}min`,
    'AccuracySec=1min',
    `Unit=${unit}`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

/** systemdUnits generates the units of a schedule: the daily backup, and the weekly verify when asked. */
export function systemdUnits(spec: ScheduleSpec): UnitFile[] {
  const n = unitNames(spec.job);
  const at = `${formatClockTime(spec.at)}:00`;
  const units: UnitFile[] = [
    { name: n.backupService, text: service(spec, 'backup', backupArgv(spec), undefined) },
    { name: n.backupTimer, text: timer(spec, 'daily backup', `*-*-* ${at}`, n.backupService) },
  ];
  if (spec.verify !== undefined) {
    const v = { ...spec, verify: spec.verify };
    // Started at the same moment as that day's backup, it waits for it (ordering applies to queued jobs).
    units.push({ name: n.verifyService, text: service(spec, `verify --read-data=${spec.verify.percent}`, verifyArgv(v), n.backupService) });
    units.push({ name: n.verifyTimer, text: timer(spec, 'weekly verify', `${DAY_ABBR[spec.verify.on]} *-*-* ${at}`, n.verifyService) });
  }
  return units;
}

/** cronBegin and cronEnd are the comment lines that enclose a job's crontab entries. */
export function cronMarkers(job: string): { begin: string; end: string } {
  return { begin: `# BEGIN strata job ${job} (managed by "strata schedule"; remove with "strata schedule remove")`, end: `# END strata job ${job}` };
}

/** cronQuote quotes an argument for a crontab line: shell quoting, and "%" escaped (cron makes it a newline). */
function cronQuote(arg: string): string {
  return shellQuote(arg).replace(/%/g, '\\%');
}

/** cronBlock generates a job's crontab lines, enclosed in its markers. */
export function cronBlock(spec: ScheduleSpec): string[] {
  const { begin, end } = cronMarkers(spec.job);
  const lines = [begin, `${spec.at.minute} ${spec.at.hour} * * * ${backupArgv(spec).map(cronQuote).join(' ')}`];
  if (spec.verify !== undefined) {
    lines.push(`${spec.at.minute} ${spec.at.hour} * * ${CRON_DOW[spec.verify.on]} ${verifyArgv({ ...spec, verify: spec.verify }).map(cronQuote).join(' ')}`);
  }
  lines.push(end);
  return lines;
}

/** splitCrontab separates a crontab into the lines outside a job's block and the block's own lines (undefined when absent). */
export function findCronBlock(crontab: string, job: string): { before: string[]; block: string[] | undefined; after: string[] } {
  const lines = crontab.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const { begin, end } = cronMarkers(job);
  const start = lines.findIndex((l) => l.trim() === begin);
  if (start < 0) return { before: lines, block: undefined, after: [] };
  let stop = lines.findIndex((l, i) => i > start && l.trim() === end);
  // A block whose end marker was deleted by hand ends at the next blank or comment line.
  if (stop < 0) {
    stop = lines.findIndex((l, i) => i > start && (l.trim() === '' || l.trim().startsWith('#')));
    if (stop < 0) stop = lines.length;
    else stop -= 1;
  }
  return { before: lines.slice(0, start), block: lines.slice(start, stop + 1), after: lines.slice(stop + 1) };
}

/** withCronBlock returns the crontab with the job's block replaced (or added at the end): installing twice never makes two. */
export function withCronBlock(crontab: string, spec: ScheduleSpec): string {
  const rest = withoutCronBlock(crontab, spec.job);
  const lines = rest === '' ? [] : rest.replace(/\n$/, '').split('\n');
  return [...lines, ...cronBlock(spec)].join('\n') + '\n';
}

/** withoutCronBlock returns the crontab without the job's block (every copy of it); other lines as they were. */
export function withoutCronBlock(crontab: string, job: string): string {
  let text = crontab;
  for (;;) {
    const { before, block, after } = findCronBlock(text, job);
    if (block === undefined) break;
    text = [...before, ...after].join('\n') + (before.length + after.length > 0 ? '\n' : '');
  }
  return text;
}

/** InstalledSchedule is what a job's installed schedule says, read back from its files. */
export interface InstalledSchedule {
  kind: 'systemd' | 'cron';
  at: ClockTime;
  verify: { percent: number; on: ScheduleWeekday } | undefined;
}

/** parseTimer reads the daily time (and a weekday, if any) from a timer unit this module wrote. */
export function parseTimer(text: string): { at: ClockTime; on: ScheduleWeekday | undefined } | undefined {
  const m = /^OnCalendar=(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?\*-\*-\* (\d{2}):(\d{2}):00$/m.exec(text);
  if (m === null) return undefined;
  const on = m[1] === undefined ? undefined : SCHEDULE_WEEKDAYS.find((d) => DAY_ABBR[d] === m[1]);
  return { at: { hour: Number(m[2]), minute: Number(m[3]) }, on };
}

/** parseReadPercentArg finds --read-data=PERCENT in a unit's ExecStart or a crontab line. */
export function parseReadPercentArg(text: string): number | undefined {
  const m = /--read-data=(\d+(?:\.\d+)?)/.exec(text);
  return m === null ? undefined : Number(m[1]);
}

/** parseCronBlock reads a job's block back: the backup's time, and the verify's day and percentage. */
export function parseCronBlock(block: readonly string[]): InstalledSchedule | undefined {
  const entries = block.filter((l) => !l.trim().startsWith('#') && l.trim() !== '');
  const backup = entries.find((l) => / backup --tier auto/.test(l));
  const m = backup === undefined ? null : /^(\d+) (\d+) \* \* \* /.exec(backup);
  if (m === null) return undefined;
  const verifyLine = entries.find((l) => / verify --read-data=/.test(l));
  const vm = verifyLine === undefined ? null : /^\d+ \d+ \* \* (\d) /.exec(verifyLine);
  const percent = verifyLine === undefined ? undefined : parseReadPercentArg(verifyLine);
  const on = vm === null ? undefined : SCHEDULE_WEEKDAYS.find((d) => CRON_DOW[d] === Number(vm[1]) % 7);
  return { kind: 'cron', at: { hour: Number(m[2]), minute: Number(m[1]) }, verify: on !== undefined && percent !== undefined ? { percent, on } : undefined };
}

/**
 * nextRun is the next moment (local time) the daily schedule starts after `now`. A systemd timer
 * adds up to RANDOM_DELAY_MIN minutes to it; a missed run (machine off) starts as soon as it is back.
 */
export function nextRun(at: ClockTime, now: Date): Date {
  const next = new Date(now.getTime());
  next.setHours(at.hour, at.minute, 0, 0);
  if (next.getTime() <= now.getTime()) next.setDate(next.getDate() + 1);
  return next;
}
