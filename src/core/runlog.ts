/**
 * core/runlog: one record per run of a command that reads or changes a destination — what it did,
 * how it ended — as it is stored (one JSON line in the state folder's run log), shown by
 * `strata log`, summarised for notifications and read back by `strata status`. Pure; the file and
 * its rotation live in ops/runlog.
 */

/** RUN_LOGGED_COMMANDS are the commands that append a run record (each reads or changes a destination). */
export const RUN_LOGGED_COMMANDS: ReadonlySet<string> = new Set(['backup', 'restore', 'verify', 'prune', 'promote', 'check-destination', 'replicate']);

/** NOTIFIED_COMMANDS are the commands that notify (the unattended lifecycle; restore and check-destination are run by hand). */
export const NOTIFIED_COMMANDS: ReadonlySet<string> = new Set(['backup', 'verify', 'prune', 'promote', 'replicate']);

/** RunResult is how a run ended: its exit code in words. */
export type RunResult = 'success' | 'partial' | 'failure' | 'cancelled' | 'pending';

/** resultOf reads an exit code: 0 success, 3 partial, 130 cancelled, 75 pending, anything else failure. */
export function resultOf(exitCode: number): RunResult {
  if (exitCode === 0) return 'success';
  if (exitCode === 3) return 'partial';
  if (exitCode === 130) return 'cancelled';
  // 75: objects are being restored from archive storage (S3 GLACIER): run again later, nothing is wrong.
  if (exitCode === 75) return 'pending';
  return 'failure';
}

/** RunSets names the sets a run made, removed, promoted or verified. */
export interface RunSets {
  made: string[];
  pruned: string[];
  promoted: string[];
  verified: string[];
}

/** RunDetails is what a command attaches to its run record (all optional, merged). */
export interface RunDetails {
  sets?: Partial<RunSets>;
  /** Counts: files, added, modified, deleted, errors, damaged … */
  counts?: Record<string, number>;
  /** Byte counts: source, stored, read … */
  bytes?: Record<string, number>;
  /** Per destination name, what a replication to it did (replicate, or a backup with `replicate: after-backup`). */
  replication?: Record<string, ReplicationOutcome>;
}

/** ReplicationOutcome is what one run's replication did for one destination: `error` when it could not run at all. */
export interface ReplicationOutcome {
  copied: number;
  failed: number;
  error: string | null;
}

/** RunRecord is one line of the run log. */
export interface RunRecord {
  v: 1;
  start: string;
  end: string;
  command: string;
  job: string | null;
  /** The destination with credentials, user-info and secret query values removed. */
  destination: string | null;
  exitCode: number;
  result: RunResult;
  sets: RunSets;
  counts: Record<string, number>;
  bytes: Record<string, number>;
  warnings: string[];
  error: { code: string; message: string; hint: string | null } | null;
  /** Set by runs that replicated (absent in older records). */
  replication?: Record<string, ReplicationOutcome>;
}

/** MAX_WARNINGS and MAX_TEXT bound what one record keeps, so a run with a million unreadable files still writes one short line. */
export const MAX_WARNINGS = 50;
const MAX_TEXT = 1000;

/** clip shortens a text to MAX_TEXT characters. */
export function clip(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`;
}

/** emptySets is a RunSets with nothing in it. */
export function emptySets(): RunSets {
  return { made: [], pruned: [], promoted: [], verified: [] };
}

/** mergeDetails adds details to a record under construction (set ids appended without repeats, counts replaced). */
export function mergeDetails(into: Pick<RunRecord, 'sets' | 'counts' | 'bytes' | 'replication'>, d: RunDetails): void {
  for (const k of ['made', 'pruned', 'promoted', 'verified'] as const) {
    for (const id of d.sets?.[k] ?? []) if (!into.sets[k].includes(id)) into.sets[k].push(id);
  }
  Object.assign(into.counts, d.counts ?? {});
  Object.assign(into.bytes, d.bytes ?? {});
  if (d.replication !== undefined) into.replication = { ...into.replication, ...d.replication };
}

/** parseRunLine reads one line of the run log; undefined for a line that is not a record (a torn write). */
export function parseRunLine(line: string): RunRecord | undefined {
  if (line.trim() === '') return undefined;
  try {
    const r = JSON.parse(line) as Partial<RunRecord> | null;
    if (r === null || typeof r !== 'object' || r.v !== 1 || typeof r.command !== 'string' || typeof r.start !== 'string' || typeof r.exitCode !== 'number') return undefined;
    return { ...emptyRecordFields(), ...r } as RunRecord;
  } catch {
    return undefined;
  }
}

function emptyRecordFields(): Pick<RunRecord, 'sets' | 'counts' | 'bytes' | 'warnings' | 'error' | 'job' | 'destination'> {
  return { sets: emptySets(), counts: {}, bytes: {}, warnings: [], error: null, job: null, destination: null };
}

/** summaryLine is one line for people: when, what, how it ended, what it did. */
export function summaryLine(r: RunRecord): string {
  const parts: string[] = [];
  const s = r.sets;
  if (s.made.length > 0) parts.push(`made ${s.made.join(', ')}`);
  if (s.pruned.length > 0) parts.push(`pruned ${s.pruned.join(', ')}`);
  if (s.promoted.length > 0) parts.push(`promoted ${s.promoted.join(', ')}`);
  if (s.verified.length > 0) parts.push(`verified ${s.verified.join(', ')}`);
  if (r.warnings.length > 0) parts.push(`${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'}`);
  if (r.error !== null) parts.push(r.error.message);
  return `${r.command} ${r.result.toUpperCase()} (exit ${r.exitCode})${parts.length > 0 ? ': ' + parts.join('; ') : ''}`;
}

/** notifyEnv is the run's summary as environment variables for a notify command (never the password). */
export function notifyEnv(r: RunRecord): Record<string, string> {
  return {
    STRATA_RUN_RESULT: r.result,
    STRATA_RUN_COMMAND: r.command,
    STRATA_RUN_JOB: r.job ?? '',
    STRATA_RUN_DESTINATION: r.destination ?? '',
    STRATA_RUN_EXIT_CODE: String(r.exitCode),
    STRATA_RUN_START: r.start,
    STRATA_RUN_END: r.end,
    STRATA_RUN_SETS_MADE: r.sets.made.join(' '),
    STRATA_RUN_SETS_PRUNED: r.sets.pruned.join(' '),
    STRATA_RUN_SETS_PROMOTED: r.sets.promoted.join(' '),
    STRATA_RUN_SETS_VERIFIED: r.sets.verified.join(' '),
    STRATA_RUN_WARNINGS: String(r.warnings.length),
    STRATA_RUN_ERROR: r.error === null ? '' : r.error.message,
    STRATA_RUN_SUMMARY: summaryLine(r),
  };
}

/** NotifyEvent chooses when a notify command runs; a cancelled run counts as a failure, a pending one (archive storage) as partial. */
export type NotifyEvent = 'failure' | 'partial' | 'success';

/** eventOf is the notify event of a run. */
export function eventOf(result: RunResult): NotifyEvent {
  return result === 'cancelled' ? 'failure' : result === 'pending' ? 'partial' : result;
}

/** pingUrl is the healthchecks-style URL for a moment of a run: `<url>/start`, `<url>` on success, `<url>/fail` otherwise. */
export function pingUrl(base: string, moment: 'start' | RunResult): string {
  // The suffix goes on the path, before a query string (`…/uuid?create=1` → `…/uuid/start?create=1`).
  const q = base.search(/[?#]/);
  const [pathPart, rest] = q < 0 ? [base, ''] : [base.slice(0, q), base.slice(q)];
  const trimmed = pathPart.replace(/\/+$/, '');
  // A partial run did not back up everything: that is a failure to a monitor.
  const suffix = moment === 'start' ? '/start' : moment === 'success' ? '' : '/fail';
  return `${trimmed}${suffix}${rest}`;
}
