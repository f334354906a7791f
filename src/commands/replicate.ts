/** commands/replicate: `strata replicate [--to NAME] [--json]` — copy the complete sets each other destination lacks (pipeline/replicate). */
import { parseCommandArgs } from './args.js';
import type { Command, CommandContext, OptionSpecs } from './context.js';
import { destinationsOf, type StrataConfig } from '../config/schema.js';
import { counted } from '../core/words.js';
import { ExitCode, StrataError, errorMessage, isStrataError } from '../errors.js';
import { runReplicate, type Endpoint, type TargetResult } from '../pipeline/replicate.js';
import { runPrune } from '../pipeline/prune.js';
import { acquireLock } from '../repository/lock.js';
import { checkMarker, readMarker, tamperedMarker, wrongPassword } from '../repository/marker.js';
import { Repository } from '../repository/repository.js';
import { formatBytes } from '../ui/output.js';
import { configFrom, getPassword, jobDirFor, loadJob, machineFor, openDestination, privateStateFolder, workDirFor } from './common.js';

const replicateOptions = {
  to: { type: 'string', value: 'NAME', help: 'only this destination (default: every destination but the primary)' },
} as const satisfies OptionSpecs;

/** ReplicateSummary is what a replicate run reports (--json, the run log, a backup's `replicate`). */
export interface ReplicateSummary {
  destinations: TargetResult[];
  /** Per target, the sets its own retention removed after the copy (after a backup with retention.pruneAfterBackup). */
  pruned?: Record<string, string[]>;
}

/** replicateCommand copies the job's complete sets to the other destinations of `destinations:`. */
export const replicateCommand: Command = {
  name: 'replicate',
  summary: 'copy every complete set the other destinations lack, object by object, checked (destinations:)',
  usage: 'replicate [--to NAME] [--json]',
  options: replicateOptions,
  examples: ['strata replicate', 'strata replicate --to offsite', 'strata --json replicate'],
  async run(ctx, args) {
    const { values } = parseCommandArgs('replicate', args, replicateOptions);
    const config = await loadJob(ctx, {}, false);
    const password = await getPassword(ctx, config, false);
    const summary = await replicateJob(ctx, config, password, values.to, false);
    const failed = summary.destinations.reduce((n, d) => n + d.failed.length, 0);
    const exitCode = failed > 0 ? ExitCode.partial : ExitCode.ok;
    ctx.out.data({ ...summary, exitCode });
    if (failed > 0) ctx.out.warn(`${counted(failed, 'set')} could not be copied (listed above); run strata replicate again once the cause is fixed`);
    return exitCode;
  },
};

/**
 * replicateJob opens every destination of the config, checks the password against the primary's
 * marker, and copies under the job lock; with `prune`, each target is then pruned by its own
 * retention. Prints one line per destination.
 */
export async function replicateJob(ctx: CommandContext, config: StrataConfig, password: string, to: string | undefined, prune: boolean): Promise<ReplicateSummary> {
  const all = destinationsOf(config);
  if (all.length < 2) {
    throw new StrataError('CONFIG', 'replicate needs at least two destinations, and the config has one', {
      hint: 'List them under destinations: (the first is the primary), e.g. destinations: [{ name: nas, path: /mnt/nas/strata }, { name: offsite, url: s3://bucket/strata }].',
    });
  }
  const targets = to === undefined ? all.slice(1).map((d) => d.name) : [to];
  if (to !== undefined && !all.some((d) => d.name === to)) throw new StrataError('USAGE', `--to ${to}: the config names no such destination`, { hint: `Destinations: ${all.map((d) => d.name).join(', ')}.` });
  if (to !== undefined && all[0]?.name === to) throw new StrataError('USAGE', `--to ${to}: that is the primary, which backups write to`, { hint: `Replicate to one of: ${all.slice(1).map((d) => d.name).join(', ')}.` });
  const endpoints: Endpoint[] = [];
  let recorded = false;
  try {
    for (const d of all) endpoints.push({ name: d.name, backend: await openDestination(ctx, configFrom(config, d.name)), policy: d.retention.tiers });
    const primary = endpoints[0] as Endpoint;
    const marker = await readMarker(new Repository(primary.backend));
    if (marker !== undefined) {
      const check = await checkMarker(marker, password);
      if (check === 'wrong-password') throw wrongPassword(primary.backend.description);
      if (check === 'tampered') throw tamperedMarker(primary.backend.description);
    }
    await privateStateFolder(ctx);
    const machine = await machineFor(ctx);
    const now = ctx.clock.now();
    const jobDir = jobDirFor(ctx, config);
    const lock = await acquireLock(jobDir, 'replicate', now);
    let results: TargetResult[];
    try {
      results = await runReplicate({ endpoints, targets, job: config.job, machine, password, workDir: workDirFor(ctx, config), now, out: ctx.out, signal: ctx.signal });
    } finally {
      await lock.release();
    }
    for (const r of results) {
      ctx.out.summary(
        `${r.name}: copied ${counted(r.copied.length, 'set')} (${formatBytes(r.bytes)})${r.copied.length > 0 ? `: ${r.copied.join(', ')}` : ''}; ${r.present} already there` +
          (r.skipped.length > 0 ? `; ${r.skipped.length} not copied` : '') + (r.failed.length > 0 ? `; ${r.failed.length} FAILED` : ''),
      );
    }
    ctx.run?.attach({
      counts: { replicatedSets: results.reduce((n, r) => n + r.copied.length, 0), replicationFailures: results.reduce((n, r) => n + r.failed.length, 0) },
      bytes: { replicated: results.reduce((n, r) => n + r.bytes, 0) },
      replication: Object.fromEntries(results.map((r) => [r.name, { copied: r.copied.length, failed: r.failed.length, error: r.failed[0] === undefined ? null : `${r.failed[0].id}: ${r.failed[0].message}` }])),
    });
    recorded = true;
    const summary: ReplicateSummary = { destinations: results };
    if (prune) {
      summary.pruned = {};
      for (const r of results) {
        const e = endpoints.find((x) => x.name === r.name) as Endpoint;
        const p = await runPrune({ config: configFrom(config, r.name), backend: e.backend, jobDir, machine, password, apply: true, out: ctx.out, clock: ctx.clock, signal: ctx.signal });
        summary.pruned[r.name] = p.removed;
        if (p.removed.length > 0) ctx.out.summary(`${r.name}: pruned ${counted(p.removed.length, 'expired set')}: ${p.removed.join(', ')}`);
      }
    }
    return summary;
  } catch (e) {
    // The run log keeps, per destination, that this replication did not run through (strata status).
    if (!recorded) ctx.run?.attach({ replication: Object.fromEntries(targets.map((t) => [t, { copied: 0, failed: 0, error: errorMessage(e) }])) });
    throw e;
  } finally {
    for (const e of endpoints) await e.backend.close();
  }
}

/**
 * replicateAfterBackup is `replicate: after-backup`: after a complete config-driven backup, copy
 * to every other destination. A replication that fails does not undo the backup: it is a warning,
 * and the run ends PARTIAL (3).
 */
export async function replicateAfterBackup(ctx: CommandContext, config: StrataConfig, password: string): Promise<{ summary?: ReplicateSummary; failed: boolean }> {
  try {
    const summary = await replicateJob(ctx, config, password, undefined, config.retention.pruneAfterBackup);
    const failed = summary.destinations.some((d) => d.failed.length > 0);
    if (failed) ctx.out.warn('the backup is complete, but some sets could not be replicated (listed above); the next backup or strata replicate tries again');
    return { summary, failed };
  } catch (e) {
    if (isStrataError(e, 'CANCELLED')) throw e;
    ctx.out.warn(`the backup is complete, but replication failed: ${errorMessage(e)}; the next backup or strata replicate tries again`);
    return { failed: true };
  }
}
