/** commands/prune: `strata prune [--apply] [--job NAME] [--host HOST] [--json]` — retention, planned and applied. */
import { hostname } from 'node:os';
import { parseCommandArgs } from './args.js';
import type { Command, CommandContext, OptionSpecs } from './context.js';
import { matchesHost } from '../core/catalog.js';
import type { Descriptor, MachineRef } from '../core/descriptor.js';
import { describeReason, formatPlan, formatRetention, type RetentionDecision } from '../core/retention.js';
import { counted } from '../core/words.js';
import type { StrataConfig } from '../config/schema.js';
import { ExitCode, StrataError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import { runPrune, type PruneResult } from '../pipeline/prune.js';
import { checkMarker, legacyDestination, readMarker, tamperedMarker, wrongPassword } from '../repository/marker.js';
import { Repository } from '../repository/repository.js';
import { configFrom, destinationText, getPassword, jobDirFor, loadJob, machineFor, openDestination, ownMachineId, privateStateFolder } from './common.js';

const pruneOptions = {
  apply: { type: 'boolean', default: false, help: 'remove the sets the plan marks REMOVE (default: only print the plan)' },
  from: { type: 'string', value: 'NAME', help: 'read destination NAME of the config\'s destinations: (default: the primary)' },
  dest: { type: 'string', value: 'DEST', help: 'the destination, without a config file (default retention)' },
  job: { type: 'string', value: 'NAME', help: 'the job whose sets are planned (default: the config\'s job, else "default")' },
  host: { type: 'string', value: 'HOST', help: 'plan another machine\'s sets (host name or machine id prefix; not with --apply)' },
} as const satisfies OptionSpecs;

/** pruneCommand prints every set of the job with its retention decision, and removes with --apply. */
export const pruneCommand: Command = {
  name: 'prune',
  summary: 'apply the retention: list each set of the job as kept or removed, and why; --apply removes',
  usage: 'prune [--apply] [--job NAME] [--host HOST] [--from NAME] [--dest DEST] [--json]',
  options: pruneOptions,
  examples: ['strata prune', 'strata prune --apply', 'STRATA_NOW=2027-06-01T09:00:00Z strata prune   (what would go on that day)'],
  async run(ctx, args) {
    const { values } = parseCommandArgs('prune', args, pruneOptions);
    let config = configFrom(await loadJob(ctx, { dest: values.dest }, false), values.from);
    if (values.job !== undefined) config = { ...config, job: values.job };
    const backend = await openDestination(ctx, config);
    try {
      const password = await unlockForPrune(ctx, config, backend, values.apply);
      const machine = await machineToPlan(ctx, backend, config.job, values.host, values.apply);
      if (machine === undefined) {
        ctx.out.data({ job: config.job, machine: null, applied: values.apply, sets: [], removed: [], swept: [] });
        ctx.out.result(`no sets of job ${config.job} made by this machine (its state folder has no machine id yet)`);
        return ExitCode.ok;
      }
      if (values.apply) await privateStateFolder(ctx);
      const result = await runPrune({ config, backend, jobDir: jobDirFor(ctx, config), machine, password, apply: values.apply, out: ctx.out, clock: ctx.clock, signal: ctx.signal });
      ctx.run?.attach({ sets: { pruned: [...result.removed, ...result.swept] } });
      printPrune(ctx, config, machine, result, values.apply);
      return ExitCode.ok;
    } finally {
      await backend.close();
    }
  },
};

/**
 * unlockForPrune returns the password once the destination's marker accepts it (exit 12
 * otherwise). A destination with sets but no marker (an earlier strata) is planned but not
 * changed until it is adopted.
 */
async function unlockForPrune(ctx: CommandContext, config: StrataConfig, backend: Backend, apply: boolean): Promise<string> {
  const repo = new Repository(backend);
  const marker = await readMarker(repo);
  const password = await getPassword(ctx, config, false);
  if (marker !== undefined) {
    const check = await checkMarker(marker, password);
    if (check === 'wrong-password') throw wrongPassword(backend.description);
    if (check === 'tampered') throw tamperedMarker(backend.description);
  } else if (apply) {
    const sets = (await repo.catalog()).complete.length;
    if (sets > 0) throw legacyDestination(backend.description, sets, destinationText(config));
  }
  return password;
}

/**
 * machineToPlan is the machine whose sets are planned: this one (undefined when its state folder
 * has no machine id yet and nothing is to be removed), or with --host the one machine it names.
 * --apply removes only this machine's sets: another machine's are its own to prune.
 */
async function machineToPlan(ctx: CommandContext, backend: Backend, job: string, host: string | undefined, apply: boolean): Promise<MachineRef | undefined> {
  const ownId = apply ? (await machineFor(ctx)).id : await ownMachineId(ctx);
  if (host === undefined) return ownId === undefined ? undefined : { id: ownId, host: hostname() };
  const found = new Map<string, MachineRef>();
  for (const d of (await new Repository(backend).catalog()).complete) if (d.job === job && d.machine !== undefined && matchesHost(d.machine, host)) found.set(d.machine.id, d.machine);
  const machines = [...found.values()];
  if (machines.length === 0) throw new StrataError('NOT_FOUND', `no sets of job ${job} made by a machine named ${JSON.stringify(host)} on ${backend.description}`, { hint: 'strata list shows the job and host of every set.' });
  if (machines.length > 1) {
    throw new StrataError('USAGE', `--host ${host} names ${counted(machines.length, 'machine')}: ${machines.map((m) => `${m.host} ${m.id.slice(0, 8)}`).join(', ')}`, { hint: 'Give a machine id prefix instead (strata list shows them).' });
  }
  const m = machines[0] as MachineRef;
  if (apply && m.id !== ownId) {
    throw new StrataError('USAGE', `prune --apply removes only this machine's sets; ${m.host} (${m.id.slice(0, 8)}) is another machine`, { hint: 'Run strata prune --apply on that machine (with its state folder), or leave out --apply to see its plan.' });
  }
  return m;
}

/** printPrune shows the plan (one line per set with its reason) and what was removed. */
function printPrune(ctx: CommandContext, config: StrataConfig, machine: MachineRef, r: PruneResult, applied: boolean): void {
  const policy = config.retention.tiers;
  ctx.out.data({
    job: config.job,
    machine,
    now: r.now,
    retention: { daily: formatRetention(policy.daily), weekly: formatRetention(policy.weekly), monthly: formatRetention(policy.monthly), yearly: formatRetention(policy.yearly) },
    applied,
    sets: r.plan.map(setRow),
    removed: r.removed,
    swept: r.swept,
    ...(r.tagged !== undefined ? { tagged: r.tagged } : {}),
    ...(r.retagged !== undefined ? { retagged: r.retagged } : {}),
  });
  const toRemove = r.plan.filter((d) => !d.keep).length;
  if (r.plan.length === 0) ctx.out.result(`no sets of job ${config.job} from this machine on the destination`);
  else {
    ctx.out.result(`retention of job ${config.job}: daily ${formatRetention(policy.daily)}, weekly ${formatRetention(policy.weekly)}, monthly ${formatRetention(policy.monthly)}, yearly ${formatRetention(policy.yearly)} (now ${r.now.slice(0, 16).replace('T', ' ')} UTC)`);
    for (const line of formatPlan(r.plan)) ctx.out.result(line);
  }
  if (r.retagged !== undefined) ctx.out.info(`updated the tags of ${counted(r.retagged.length, 'kept set')}: ${r.retagged.join(', ')}`);
  if (applied && r.tagged !== undefined) ctx.out.summary(r.tagged.length === 0 ? 'nothing to remove' : `tagged ${counted(r.tagged.length, 'set')} expire=yes for the bucket's lifecycle rule to delete (retention.deleteBy: tag): ${r.tagged.join(', ')}`);
  else if (applied) ctx.out.summary(r.removed.length === 0 ? 'nothing to remove' : `removed ${counted(r.removed.length, 'set')}: ${r.removed.join(', ')}`);
  else if (toRemove > 0) ctx.out.summary(`dry run: nothing was removed; run strata prune --apply to remove ${counted(toRemove, 'set')}`);
}

/** setRow is one set of the plan in --json. */
export function setRow(d: RetentionDecision<Descriptor>): Record<string, unknown> {
  return {
    id: d.set.id, source: d.set.source, tier: d.set.tier, type: d.set.type, created: d.set.created, ageDays: d.ageDays,
    decision: d.keep ? 'keep' : 'remove', reason: d.reason.kind, why: describeReason(d), neededBy: d.neededBy,
  };
}
