/**
 * core/report/model: what `strata report` shows, computed from the destination's descriptors (no
 * data is read) and the run log. Pure: the catalog, the runs and the clock come in as values.
 */
import { byCreated, chainGaps, chainOf, describeGap } from '../catalog.js';
import { planOf, recoveryPercent, setBytes, type Descriptor } from '../descriptor.js';
import { TIERS, type Tier } from '../naming.js';

/** ReportRun is one run from the run log, as much of it as the report shows. */
export interface ReportRun {
  start: string;
  end: string;
  command: string;
  exitCode: number;
  /** ok, partial, failed or cancelled. */
  result: string;
  error?: string;
  sets: string[];
}

/** ReportSet is one complete set as the report shows it. */
export interface ReportSet {
  id: string;
  tier: Tier;
  type: 'FULL' | 'INCR';
  created: string;
  /** Stored bytes: volumes, manifest and recovery files. */
  bytes: number;
  files: number;
  sourceBytes: number;
  recoveryPercent: number;
  /** What the set survives for certain (null: no recovery data). */
  survives: { wholeVolumes: number; scatteredBytes: number; contiguousBytes: number; volumes: number; strategy: string } | null;
  /** The sets a restore of this one reads, newest first (itself first). */
  chain: string[];
  /** Why a restore of this set would fail today (missing or unreadable sets of its chain). */
  broken: string[];
}

/** ReportSource is one source of the job: its sets and their stored size over time. */
export interface ReportSource {
  name: string;
  sets: ReportSet[];
  /** Stored bytes of every complete set of the source present now, counted at each set's time. */
  storedOverTime: { at: string; bytes: number }[];
  tierCounts: Record<Tier, number>;
  newest: { id: string; created: string; ageHours: number } | null;
}

/** ReportModel is the whole report. */
export interface ReportModel {
  generated: string;
  destination: string;
  job: string | null;
  sources: ReportSource[];
  totalBytes: number;
  runs: ReportRun[];
  incomplete: string[];
  problems: { id: string; message: string; tampered: boolean }[];
  warnings: string[];
}

/** ReportInput is what buildReport works from. */
export interface ReportInput {
  now: Date;
  destination: string;
  job: string | null;
  /** The complete sets to show (already narrowed to the job/machine/source asked for). */
  sets: readonly Descriptor[];
  /** Every complete set on the destination (chains may reach sets of the same job only, but gaps are judged against all). */
  allComplete: readonly Descriptor[];
  incomplete: readonly string[];
  problems: readonly { id: string; message: string; tampered?: boolean }[];
  runs: readonly ReportRun[];
  /** Hours after which a source without a new complete set is a warning (the status command uses the same). */
  staleHours?: number;
}

const HOUR = 3600 * 1000;

function reportSet(d: Descriptor, input: ReportInput): ReportSet {
  const plan = planOf(d);
  return {
    id: d.id,
    tier: d.tier,
    type: d.type,
    created: d.created,
    bytes: setBytes(d),
    files: d.stats.files,
    sourceBytes: d.stats.bytes,
    recoveryPercent: recoveryPercent(d),
    survives:
      plan === null
        ? null
        : {
            wholeVolumes: plan.guarantees.wholeVolumesAnywhere,
            scatteredBytes: plan.guarantees.scatteredBytes,
            contiguousBytes: plan.guarantees.contiguousBytes,
            volumes: d.volumes.length,
            strategy: plan.strategy,
          },
    chain: chainOf(d, input.sets).map((s) => s.id),
    broken: chainGaps(d, input.allComplete, input.problems).map(describeGap),
  };
}

/** buildReport computes the report's model. */
export function buildReport(input: ReportInput): ReportModel {
  const staleHours = input.staleHours ?? 48;
  const sorted = [...input.sets].sort(byCreated);
  const names = [...new Set(sorted.map((d) => d.source))].sort();
  const warnings: string[] = [];
  const sources = names.map((name): ReportSource => {
    const own = sorted.filter((d) => d.source === name);
    const sets = own.map((d) => reportSet(d, input));
    let running = 0;
    const storedOverTime = sets.map((s) => ({ at: s.created, bytes: (running += s.bytes) }));
    const tierCounts = Object.fromEntries(TIERS.map((t) => [t, sets.filter((s) => s.tier === t).length])) as Record<Tier, number>;
    const last = sets.at(-1);
    const newest = last === undefined ? null : { id: last.id, created: last.created, ageHours: Math.max(0, (input.now.getTime() - Date.parse(last.created)) / HOUR) };
    if (newest !== null && newest.ageHours > staleHours) {
      warnings.push(`${name}: no complete set for ${Math.floor(newest.ageHours / 24)} days (newest ${newest.id})`);
    }
    for (const s of sets) if (s.broken.length > 0) warnings.push(`${s.id} cannot be restored: it needs ${s.broken.join('; ')}`);
    return { name, sets, storedOverTime, tierCounts, newest };
  });
  for (const p of input.problems) warnings.push(`${p.id}: ${p.tampered === true ? 'TAMPERED' : 'DAMAGED'}, not usable: ${p.message}`);
  for (const id of input.incomplete) warnings.push(`${id} is incomplete (a run did not finish; the next backup sweeps or resumes it)`);
  const runs = [...input.runs].sort((a, b) => b.start.localeCompare(a.start)).slice(0, 30);
  const lastRun = runs[0];
  if (lastRun !== undefined && lastRun.result !== 'ok') {
    warnings.push(`the last run (${lastRun.command}, ${lastRun.start.slice(0, 16).replace('T', ' ')}) ${lastRun.result === 'partial' ? 'was partial' : lastRun.result === 'cancelled' ? 'was cancelled' : 'failed'}${lastRun.error === undefined ? '' : `: ${lastRun.error}`}`);
  }
  if (sources.length === 0) warnings.push('no complete set on this destination yet');
  return {
    generated: input.now.toISOString(),
    destination: input.destination,
    job: input.job,
    sources,
    totalBytes: sources.reduce((s, src) => s + src.sets.reduce((t, x) => t + x.bytes, 0), 0),
    runs,
    incomplete: [...input.incomplete],
    problems: input.problems.map((p) => ({ id: p.id, message: p.message, tampered: p.tampered === true })),
    warnings,
  };
}
