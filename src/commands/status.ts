/**
 * commands/status: `strata status [--json]` — per source the newest complete set and its age,
 * sets per tier, stored size, the last run (from the run log), the next scheduled run (from the
 * installed schedule), and warnings in plain words. Exit 0 when all is well, 4 (ATTENTION) when
 * there is a warning, so that monitoring can run it.
 */
import { parseCommandArgs } from './args.js';
import type { Command, OptionSpecs } from './context.js';
import { stateDir } from '../config/paths.js';
import { destinationsOf } from '../config/schema.js';
import { counted } from '../core/words.js';
import { setBytes } from '../core/descriptor.js';
import { nextRun } from '../core/schedule.js';
import { ageText, computeStatus, type StatusSet } from '../core/status.js';
import { summaryLine } from '../core/runlog.js';
import { TIERS } from '../core/naming.js';
import { ExitCode, errorMessage, isStrataError } from '../errors.js';
import { readRuns } from '../ops/runlog.js';
import { isRoot, readInstalled } from '../ops/scheduler.js';
import { Repository } from '../repository/repository.js';
import { formatBytes } from '../ui/output.js';
import { loadJob, openDestination } from './common.js';

const statusOptions = {
  dest: { type: 'string', value: 'DEST', help: 'the destination, without a config file' },
} as const satisfies OptionSpecs;

/** statusCommand reports how the job's backups are doing. */
export const statusCommand: Command = {
  name: 'status',
  summary: 'how the job is doing: newest set per source and its age, sets per tier, last and next run, warnings (exit 4)',
  usage: 'status [--dest DEST] [--json]',
  options: statusOptions,
  examples: ['strata status', 'strata --json status', 'strata -q status || notify-send "strata needs attention"'],
  async run(ctx, args) {
    const { values } = parseCommandArgs('status', args, statusOptions);
    const config = await loadJob(ctx, { dest: values.dest }, false);
    const now = ctx.clock.now();
    let sets: StatusSet[] | undefined;
    let destinationError: string | undefined;
    try {
      const backend = await openDestination(ctx, config);
      try {
        const catalog = await new Repository(backend).catalog();
        sets = catalog.complete.filter((d) => d.job === config.job).map((d) => ({ id: d.id, job: d.job, source: d.source, tier: d.tier, created: d.created, bytes: setBytes(d) }));
      } finally {
        await backend.close();
      }
    } catch (e) {
      // An unreachable destination is what status is for: a warning, not a failure of status.
      if (isStrataError(e, 'CANCELLED')) throw e;
      destinationError = errorMessage(e);
    }
    const runs = (await readRuns(stateDir(ctx.global.state, ctx.env))).filter((r) => r.job === config.job);
    let next: Date | null = null;
    try {
      const installed = await readInstalled(config.job, ctx.env, isRoot());
      const first = installed[0];
      if (first !== undefined) next = nextRun(first.at, now);
    } catch (e) {
      ctx.out.verbose(`could not read the installed schedule: ${errorMessage(e)}`);
    }
    const input = { job: config.job, now, sources: config.sources.map((s) => s.name), sets, runs, nextRun: next, replicas: destinationsOf(config).slice(1).map((d) => d.name) };
    const status = computeStatus(destinationError === undefined ? input : { ...input, destinationError });
    const code = status.warnings.length > 0 ? ExitCode.attention : ExitCode.ok;
    ctx.out.data({ ...status, exitCode: code });
    ctx.out.summary(`job ${status.job}: ${formatBytes(status.bytes)} stored`);
    for (const s of status.sources) {
      const tiers = TIERS.filter((t) => s.sets[t] > 0).map((t) => `${s.sets[t]} ${t}`).join(', ');
      ctx.out.summary(`  ${s.source}: ${s.newest === null ? 'no complete set' : `newest ${s.newest.id}, ${ageText(s.newest.ageHours)} old`}; ${tiers === '' ? 'no sets' : tiers}; ${formatBytes(s.bytes)}`);
    }
    ctx.out.summary(`last run: ${status.lastRun === null ? 'none recorded' : `${status.lastRun.start.slice(0, 19).replace('T', ' ')}  ${summaryLine(status.lastRun)}`}`);
    ctx.out.summary(`last verify: ${status.lastVerify === null ? 'none recorded' : status.lastVerify.end.slice(0, 19).replace('T', ' ')}`);
    ctx.out.summary(`next scheduled run: ${next === null ? 'none (no schedule installed)' : next.toString()}`);
    for (const r of status.replication) {
      const l = r.last;
      ctx.out.summary(`replication to ${r.destination}: ${l === null ? 'none recorded' : `${l.at.slice(0, 19).replace('T', ' ')}  ${l.error === null && l.failed === 0 ? 'OK' : 'FAILED'}, copied ${counted(l.copied, 'set')}${l.failed > 0 ? `, ${l.failed} not copied` : ''} (${l.command})`}`);
    }
    for (const n of status.notes) ctx.out.info(`note: ${n}`);
    // Warnings are what status exists for: printed even with --quiet.
    for (const w of status.warnings) ctx.out.result(`WARNING: ${w}`);
    return code;
  },
};
