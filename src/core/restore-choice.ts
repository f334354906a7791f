/**
 * core/restore-choice: which sets a restore reads — per source the set asked for (--set) or in force
 * at a moment (--at, default now), within one job and machine (--job, --host, this machine's own),
 * and the FULL + INCR chain that set needs. Pure: pipeline/restore reads the catalog and calls it.
 */
import { chainGaps, describeGap, latestFor, restoreScope, sourcesOf, withDependencies, type JobIdentity, type ScopeResult, type SetSummary } from './catalog.js';
import { StrataError } from '../errors.js';

/** SetChoiceRequest is what a restore was asked for: a set, or a moment within a source, job and machine. */
export interface SetChoiceRequest {
  /** Restore this set (its source's state at that set). */
  setId?: string | undefined;
  /** Restore the state at this moment (latest complete set at or before it). */
  at?: Date | undefined;
  /** Only this source (default: all sources on the destination). */
  source?: string | undefined;
  /** Only sets of this job (--job, or the config file's). */
  job?: string | undefined;
  /** Only sets of this machine: host name or machine id prefix (--host). */
  host?: string | undefined;
  /** This machine's id, if it has one: without --host its own sets are restored. */
  machineId?: string | undefined;
}

/** chooseSets picks, per source, the set to restore. */
export function chooseSets<T extends SetSummary>(all: readonly T[], req: SetChoiceRequest): T[] {
  if (req.setId !== undefined) {
    const s = all.find((d) => d.id === req.setId);
    if (s === undefined) throw new StrataError('NOT_FOUND', `no complete set ${req.setId} on the destination`, { hint: 'strata list shows the sets there.' });
    return [s];
  }
  if (all.length === 0) throw new StrataError('NO_REPOSITORY', 'the destination holds no complete set', { hint: 'Check --dest; run a backup first.' });
  const scope = restoreScope(all, { job: req.job, host: req.host, source: req.source, machineId: req.machineId });
  if (!scope.ok) throw scopeError(scope, req);
  const complete = scope.sets;
  const sources = req.source !== undefined ? [req.source] : sourcesOf(complete);
  const chosen: T[] = [];
  for (const src of sources) {
    const s = latestFor(complete, src, req.at);
    if (s === undefined) {
      if (req.source !== undefined || sources.length === 1) {
        throw new StrataError('NOT_FOUND', `no complete set of source ${src}${req.at !== undefined ? ` at or before ${req.at.toISOString()}` : ''}`, { hint: 'strata list shows the sets and their times.' });
      }
      continue;
    }
    chosen.push(s);
  }
  if (chosen.length === 0) throw new StrataError('NOT_FOUND', `no complete set at or before ${req.at?.toISOString() ?? 'now'}`, { hint: 'strata list shows the sets and their times.' });
  return chosen;
}

/**
 * restoreChain is the sets a restore of `set` reads, oldest first: the FULL it builds on, the INCRs
 * between, and itself. A needed set that is missing or whose descriptor cannot be read
 * (`unreadable`) makes the set unrestorable: a DAMAGED error names each.
 */
export function restoreChain<T extends SetSummary>(set: T, complete: readonly T[], unreadable: readonly { id: string }[] = []): T[] {
  const gaps = chainGaps(set, complete, unreadable);
  if (gaps.length > 0) {
    throw new StrataError('DAMAGED', `set ${set.id} cannot be restored: it needs ${gaps.map(describeGap).join('; and ')}`, { hint: 'Restore an earlier or later FULL set instead (strata list).' });
  }
  return withDependencies([set], complete);
}

/** describeIdentity is one line naming a job of a machine: job, host, machine id, sources, newest set. */
export function describeIdentity(i: JobIdentity): string {
  const machine = i.machine === null ? 'host unknown (sets made before strata recorded the machine)' : `host ${i.machine.host}, machine ${i.machine.id.slice(0, 8)}`;
  return `job ${i.job}, ${machine}: sources ${i.sources.join(', ')}; newest set ${i.newest.id} (${i.newest.created.slice(0, 16).replace('T', ' ')} UTC)`;
}

/** scopeError explains why there is no single job and machine to restore from, listing what there is. */
function scopeError<T extends SetSummary>(scope: Exclude<ScopeResult<T>, { ok: true }>, req: Pick<SetChoiceRequest, 'job' | 'host' | 'source'>): StrataError {
  const pick = 'Pick one with --host HOST (a host name or the first digits of a machine id) and/or --job NAME, or a set with --set ID; strata list shows every set with its job and host.';
  if (scope.why === 'none' && req.job === undefined && req.host === undefined) {
    const elsewhere = scope.found.filter((i) => i.sources.includes(req.source ?? ''));
    return new StrataError('NOT_FOUND', `no complete set of source ${req.source ?? '?'}${elsewhere.length > 0 ? ` of this machine; other machines have one:\n  ${elsewhere.map(describeIdentity).join('\n  ')}` : ''}`, {
      hint: elsewhere.length > 0 ? 'Pick the machine with --host HOST (a host name or the first digits of its machine id).' : 'strata list shows the sets and their sources.',
    });
  }
  if (scope.why === 'none') {
    const asked = [req.job === undefined ? '' : `job ${req.job}`, req.host === undefined ? '' : `host ${req.host}`, req.source === undefined ? '' : `source ${req.source}`].filter((x) => x !== '').join(', ');
    const found = scope.found.length === 0 ? '' : `; the destination holds:\n  ${scope.found.map(describeIdentity).join('\n  ')}`;
    return new StrataError('NO_REPOSITORY', `no complete set of ${asked} on the destination${found}`, { hint: pick });
  }
  const list = scope.candidates.map(describeIdentity).join('\n  ');
  if (scope.why === 'machines') {
    return new StrataError('USAGE', `the destination holds sets of several machines; strata restores the sets of one:\n  ${list}`, { hint: pick });
  }
  const jobs = [...new Set(scope.candidates.map((c) => c.job))].sort();
  return new StrataError('USAGE', `the destination holds sets of a source named ${scope.source ?? '?'} from several jobs (${jobs.join(', ')}):\n  ${list}`, {
    hint: 'Pick the job with --job NAME or its config file (--config), or one set with --set ID (strata list shows them).',
  });
}
