/** commands/promote: `strata promote --set ID --tier monthly|yearly` — a set's tier raised by hand (pipeline/promote). */
import * as fsp from 'node:fs/promises';
import { parseCommandArgs } from './args.js';
import type { Command, OptionSpecs } from './context.js';
import { ExitCode, StrataError } from '../errors.js';
import { acquireLock } from '../repository/lock.js';
import { Repository } from '../repository/repository.js';
import { describePromotion, promoteSet, settlePromotions, type PromoteContext } from '../pipeline/promote.js';
import { findTools, getPassword, jobDirFor, loadJob, machineFor, openDestination, privateStateFolder, workDirFor } from './common.js';

const promoteOptions = {
  set: { type: 'string', value: 'ID', help: 'the set to promote (a FULL set; strata list shows them)' },
  tier: { type: 'string', short: 't', value: 'TIER', help: 'monthly or yearly' },
  dest: { type: 'string', value: 'DEST', help: 'the destination, without a config file' },
} as const satisfies OptionSpecs;

/** promoteCommand raises one set to monthly or yearly: descriptor, tags, RESTORE.txt and PAR2 protection. */
export const promoteCommand: Command = {
  name: 'promote',
  summary: 'promote a FULL set to monthly or yearly: new descriptor, tags, RESTORE.txt, more PAR2 recovery data',
  usage: 'promote --set ID --tier monthly|yearly [--dest DEST]',
  options: promoteOptions,
  examples: ['strata promote --set 261115_FULL_docs --tier monthly', 'strata promote --set 261227_FULL_docs -t yearly --dest s3://bucket/backups'],
  async run(ctx, args) {
    const { values } = parseCommandArgs('promote', args, promoteOptions);
    const tier = values.tier;
    if (values.set === undefined) throw new StrataError('USAGE', 'promote needs --set', { hint: 'strata list shows the sets; e.g. strata promote --set 261115_FULL_docs --tier monthly' });
    if (tier !== 'monthly' && tier !== 'yearly') {
      throw new StrataError('USAGE', tier === undefined ? 'promote needs --tier' : `cannot promote to ${JSON.stringify(tier)}`, { hint: 'Use --tier monthly or --tier yearly.' });
    }
    const config = await loadJob(ctx, { dest: values.dest }, false);
    const backend = await openDestination(ctx, config);
    try {
      const catalog = await new Repository(backend).catalog();
      const d = catalog.complete.find((s) => s.id === values.set);
      if (d === undefined) {
        const problem = catalog.problems.find((p) => p.id === values.set);
        if (problem !== undefined) throw new StrataError(problem.tampered === true ? 'TAMPERED' : 'DAMAGED', `set ${problem.id} cannot be promoted: ${problem.message}`, { hint: `strata verify --set ${problem.id} tells more.` });
        throw new StrataError('NOT_FOUND', `no complete set ${values.set} on ${backend.description}`, { hint: 'Run "strata list" to see the sets.' });
      }
      const tools = await findTools(ctx);
      const password = await getPassword(ctx, config, false);
      await privateStateFolder(ctx);
      const jobDir = jobDirFor(ctx, config);
      const now = ctx.clock.now();
      const lock = await acquireLock(jobDir, 'promote', now);
      try {
        const workDir = workDirFor(ctx, config);
        await fsp.mkdir(workDir, { recursive: true });
        const pctx: PromoteContext = { backend, password, parity: tools.parity, protection: config.protection, workDir, job: config.job, machine: await machineFor(ctx), now, out: ctx.out, signal: ctx.signal };
        // A promotion of this set cut earlier is settled first (its extra files swept).
        for (const s of await settlePromotions(pctx, [d])) ctx.out.info(`${s.id}: an interrupted promotion${s.target !== undefined ? ` to ${s.target}` : ''} was rolled back${s.removed.length > 0 ? ` (removed ${s.removed.length} recovery file(s) it had made)` : ''}`);
        const outcome = await promoteSet(pctx, d, tier, 'by hand');
        ctx.out.summary(describePromotion(outcome));
        ctx.out.data({ promoted: [outcome], exitCode: ExitCode.ok });
        return ExitCode.ok;
      } finally {
        await lock.release();
      }
    } finally {
      await backend.close();
    }
  },
};
