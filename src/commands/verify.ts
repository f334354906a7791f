/** commands/verify: `strata verify [--set ID | --all] [--repair] [--no-password]`. */
import * as fsp from 'node:fs/promises';
import { parseCommandArgs } from '../cli/args.js';
import type { Command } from '../cli/context.js';
import { ExitCode, StrataError } from '../errors.js';
import { latestFor, sourcesOf } from '../core/catalog.js';
import { runVerify } from '../pipeline/verify.js';
import { Repository } from '../repository/repository.js';
import { findTools, getPassword, loadJob, openDestination, workDirFor } from './common.js';

/** verifyCommand checks (and with --repair, repairs) sets on the destination. */
export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check sets: descriptor HMAC, hashes, PAR2, 7-Zip integrity; --repair rebuilds damaged volumes',
  usage: 'verify [--set ID | --all] [--repair] [--no-password] [--dest DEST]',
  async run(ctx, args) {
    const { values } = parseCommandArgs('verify', args, {
      set: { type: 'string' },
      all: { type: 'boolean', default: false },
      repair: { type: 'boolean', default: false },
      'no-password': { type: 'boolean', default: false },
      dest: { type: 'string' },
    });
    const config = await loadJob(ctx, { dest: values.dest }, false);
    const tools = await findTools(ctx);
    const backend = await openDestination(ctx, config);
    try {
      const repo = new Repository(backend);
      const catalog = await repo.catalog();
      let sets = catalog.complete;
      if (values.set !== undefined) {
        sets = sets.filter((d) => d.id === values.set);
        if (sets.length === 0) throw new StrataError('NOT_FOUND', `no complete set ${values.set}`, { hint: 'strata list shows the sets.' });
      } else if (!values.all) {
        sets = sourcesOf(sets).map((s) => latestFor(catalog.complete, s)).filter((d) => d !== undefined);
      }
      if (sets.length === 0) throw new StrataError('NO_REPOSITORY', 'the destination holds no complete set', { hint: 'Check --dest; run a backup first.' });
      const password = values['no-password'] ? null : await getPassword(ctx, config, false);
      const workDir = workDirFor(ctx, config);
      await fsp.mkdir(workDir, { recursive: true });
      const verdicts = await runVerify({ repo, tools, password, sets, repair: values.repair, workDir, out: ctx.out, signal: ctx.signal });
      for (const v of verdicts) {
        ctx.out.result(`${v.id}: ${v.status.toUpperCase()}  (objects ${Object.values(v.objects).filter((s) => s === 'ok').length}/${Object.keys(v.objects).length} intact, PAR2 ${v.par2}, 7-Zip test ${v.archiveTest})`);
        if (v.repaired.length > 0) ctx.out.result(`  repaired: ${v.repaired.join(', ')}`);
        for (const l of v.lost) ctx.out.result(`  damaged or missing: ${l}${values.repair ? ' (beyond repair)' : ''}`);
        for (const m of v.messages) ctx.out.result(`  ${m}`);
      }
      for (const p of catalog.problems) ctx.out.warn(`${p.id}: ${p.message}`);
      const failed = verdicts.filter((v) => v.status !== 'ok' && v.status !== 'repaired');
      const code = failed.some((v) => v.status === 'wrong-password') ? ExitCode.wrongPassword : failed.length > 0 ? ExitCode.damaged : ExitCode.ok;
      ctx.out.data({ sets: verdicts, exitCode: code });
      if (failed.length > 0 && !values.repair && failed.every((v) => v.status === 'damaged')) ctx.out.info('hint: strata verify --repair rebuilds damaged volumes from PAR2');
      return code;
    } finally {
      await backend.close();
    }
  },
};
