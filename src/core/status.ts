/**
 * core/status: what `strata status` reports — per source the newest complete set and its age, the
 * sets per tier, the stored size, the last run, the next scheduled run — and the warnings, in
 * plain words, that make its exit code non-zero. Pure: the command gathers the catalog, the run
 * log and the installed schedule.
 */
import type { Tier } from './naming.js';
import { TIERS } from './naming.js';
import type { RunRecord } from './runlog.js';

/** STALE_SET_DAYS: a source whose newest complete set is older than this is a warning. */
export const STALE_SET_DAYS = 2;
/** STALE_VERIFY_DAYS: no successful verify for longer than this is a warning. */
export const STALE_VERIFY_DAYS = 30;

/** StatusSet is what status needs of a complete set. */
export interface StatusSet {
  id: string;
  job: string;
  source: string;
  tier: Tier;
  created: string;
  bytes: number;
}

/** SourceStatus is one source of the job. */
export interface SourceStatus {
  source: string;
  newest: { id: string; created: string; ageHours: number } | null;
  sets: Record<Tier, number>;
  bytes: number;
}

/** StatusInput is everything status is computed from. */
export interface StatusInput {
  job: string;
  now: Date;
  /** The job's configured sources (a source without any set is reported too). */
  sources: string[];
  /** The job's complete sets; undefined when the destination could not be read. */
  sets: StatusSet[] | undefined;
  /** Why the destination could not be read. */
  destinationError?: string;
  /** The job's run records, oldest first. */
  runs: RunRecord[];
  /** The next scheduled run, or null when no schedule is installed. */
  nextRun: Date | null;
  /** The destinations replicated to (`destinations:` but the primary); none with a single destination. */
  replicas?: string[];
}

/** ReplicaStatus is the last replication to one destination, from the run log (null: none recorded). */
export interface ReplicaStatus {
  destination: string;
  last: { at: string; command: string; copied: number; failed: number; error: string | null } | null;
}

/** Status is the report. */
export interface Status {
  job: string;
  sources: SourceStatus[];
  bytes: number;
  lastRun: RunRecord | null;
  lastVerify: RunRecord | null;
  nextRun: string | null;
  warnings: string[];
  /** Remarks that are not warnings (no schedule installed: backups may be run another way). */
  notes: string[];
  /** The last replication to each other destination. */
  replication: ReplicaStatus[];
}

const HOUR = 3600_000;

/** ageText writes an age in hours as "5 hours" or "3 days". */
export function ageText(hours: number): string {
  if (hours < 48) {
    const h = Math.max(0, Math.floor(hours));
    return `${h} hour${h === 1 ? '' : 's'}`;
  }
  const d = Math.floor(hours / 24);
  return `${d} days`;
}

/** computeStatus builds the report and its warnings. */
export function computeStatus(input: StatusInput): Status {
  const warnings: string[] = [];
  const now = input.now.getTime();
  const sets = input.sets ?? [];
  const names = [...new Set([...input.sources, ...sets.map((s) => s.source)])].sort();
  const sources: SourceStatus[] = names.map((source) => {
    const own = sets.filter((s) => s.source === source).sort((a, b) => a.created.localeCompare(b.created));
    const newest = own[own.length - 1];
    const counts = Object.fromEntries(TIERS.map((t) => [t, own.filter((s) => s.tier === t).length])) as Record<Tier, number>;
    return {
      source,
      newest: newest === undefined ? null : { id: newest.id, created: newest.created, ageHours: (now - Date.parse(newest.created)) / HOUR },
      sets: counts,
      bytes: own.reduce((n, s) => n + s.bytes, 0),
    };
  });
  if (input.sets === undefined) {
    warnings.push(`the destination could not be read: ${input.destinationError ?? 'unknown error'}`);
  } else {
    for (const s of sources) {
      if (s.newest === null) warnings.push(`source ${s.source} has no complete set`);
      else if (s.newest.ageHours > STALE_SET_DAYS * 24) warnings.push(`source ${s.source}: no complete set for ${ageText(s.newest.ageHours)} (newest ${s.newest.id}); backups are not running or failing`);
    }
  }
  const runs = input.runs;
  const lastRun = runs[runs.length - 1] ?? null;
  const lastBackup = [...runs].reverse().find((r) => r.command === 'backup');
  if (lastBackup !== undefined && lastBackup.result !== 'success') {
    warnings.push(`the last backup (${lastBackup.start}) ended ${lastBackup.result.toUpperCase()}${lastBackup.error === null ? '' : `: ${lastBackup.error.message}`}`);
  }
  const verifies = runs.filter((r) => r.command === 'verify');
  const lastVerify = [...verifies].reverse().find((r) => r.result === 'success') ?? null;
  const lastVerifyRun = verifies[verifies.length - 1];
  if (lastVerifyRun !== undefined && lastVerifyRun.result !== 'success') {
    warnings.push(`the last verify (${lastVerifyRun.start}) ended ${lastVerifyRun.result.toUpperCase()}${lastVerifyRun.error === null ? '' : `: ${lastVerifyRun.error.message}`}`);
  }
  const oldest = sets.reduce<number | undefined>((m, s) => (m === undefined || Date.parse(s.created) < m ? Date.parse(s.created) : m), undefined);
  if (lastVerify === null) {
    // A job younger than the period has not missed a verify yet.
    if (oldest !== undefined && (now - oldest) / HOUR > STALE_VERIFY_DAYS * 24) warnings.push(`no verify has succeeded in the run log, and the oldest set is older than ${STALE_VERIFY_DAYS} days (strata verify --read-data=5, or strata schedule install --verify 5)`);
  } else {
    const age = (now - Date.parse(lastVerify.end)) / HOUR;
    if (age > STALE_VERIFY_DAYS * 24) warnings.push(`the last successful verify was ${ageText(age)} ago (${lastVerify.end})`);
  }
  // A promotion or prune that failed and has not succeeded since: sets are kept too long or at the wrong tier.
  for (const command of ['prune', 'promote']) {
    const own = runs.filter((r) => r.command === command);
    const last = own[own.length - 1];
    if (last !== undefined && last.result !== 'success') {
      warnings.push(`the last ${command} (${last.start}) failed${last.error === null ? '' : `: ${last.error.message}`}`);
    }
  }
  // A backup prunes and promotes after it: a failure there is a warning of that backup.
  if (lastBackup !== undefined) {
    for (const w of lastBackup.warnings) if (/\b(prune|promot)/i.test(w) && /\b(fail|could not|cannot)/i.test(w)) warnings.push(`the last backup: ${w}`);
  }
  const notes: string[] = [];
  if (input.nextRun === null) notes.push('no schedule is installed (strata schedule install)');
  // The last replication to each other destination: one that failed (or copied not every set) is a warning until one succeeds.
  const replication = (input.replicas ?? []).map((name): ReplicaStatus => {
    const r = [...runs].reverse().find((x) => x.replication?.[name] !== undefined);
    const o = r?.replication?.[name];
    if (r === undefined || o === undefined) {
      notes.push(`no replication to ${name} recorded yet (strata replicate --to ${name})`);
      return { destination: name, last: null };
    }
    if (o.error !== null || o.failed > 0) {
      warnings.push(`the last replication to ${name} (${r.start}, ${r.command}) failed${o.failed > 0 ? ` for ${o.failed} set${o.failed === 1 ? '' : 's'}` : ''}${o.error === null ? '' : `: ${o.error}`}; strata replicate --to ${name} tries again`);
    }
    return { destination: name, last: { at: r.start, command: r.command, copied: o.copied, failed: o.failed, error: o.error } };
  });
  return {
    job: input.job,
    sources,
    bytes: sources.reduce((n, s) => n + s.bytes, 0),
    lastRun,
    lastVerify,
    nextRun: input.nextRun === null ? null : input.nextRun.toISOString(),
    warnings,
    notes,
    replication,
  };
}
