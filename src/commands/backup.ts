/** commands/backup: `strata backup --tier daily|weekly|monthly|yearly|auto`. */
import { parseCommandArgs } from '../cli/args.js';
import type { Command } from '../cli/context.js';
import { ExitCode, StrataError } from '../errors.js';
import { TIERS, type Tier } from '../core/naming.js';
import { runBackup } from '../pipeline/backup.js';
import { formatBytes } from '../ui/output.js';
import { findTools, jobDirFor, loadJob, openDestination } from './common.js';
import { unlockForBackup } from './destination.js';
import { strataVersion } from '../version.js';

/** backupCommand makes one set per source. */
export const backupCommand: Command = {
  name: 'backup',
  summary: 'back up every source: daily INCR sets, weekly/monthly/yearly FULL sets',
  usage: 'backup --tier daily|weekly|monthly|yearly|auto [--source DIR ...] [--dest DEST] [--volume-size SIZE] [--level 0-9]',
  async run(ctx, args) {
    const { values } = parseCommandArgs('backup', args, {
      tier: { type: 'string' },
      source: { type: 'string', multiple: true },
      dest: { type: 'string' },
      'volume-size': { type: 'string' },
      level: { type: 'string' },
    });
    const tier = values.tier;
    if (tier === undefined) throw new StrataError('USAGE', 'backup needs --tier', { hint: 'Use --tier daily, weekly, monthly, yearly or auto.' });
    if (tier !== 'auto' && !(TIERS as readonly string[]).includes(tier)) {
      throw new StrataError('USAGE', `unknown tier ${JSON.stringify(tier)}`, { hint: 'Use --tier daily, weekly, monthly, yearly or auto.' });
    }
    const config = await loadJob(ctx, { source: values.source, dest: values.dest, volumeSize: values['volume-size'], level: values.level }, true);
    const tools = await findTools(ctx);
    const backend = await openDestination(ctx, config);
    try {
      // The destination's marker checks the password (or is written on first use) before anything there is touched.
      const password = await unlockForBackup(ctx, config, backend);
      const result = await runBackup({
        config, tier: tier as Tier | 'auto', backend, jobDir: jobDirFor(ctx, config), password, tools,
        out: ctx.out, clock: ctx.clock, signal: ctx.signal, version: await strataVersion(),
      });
      for (const r of result.sources) {
        if (r.setId === null) {
          ctx.out.result(`${r.source}: ${r.skipped ?? 'no set written'}`);
          continue;
        }
        ctx.out.result(
          `${r.setId}: ${r.tier} ${r.type}${r.fullBecauseNoBase ? ' (no earlier set: FULL)' : ''} — ${r.files} entries (${formatBytes(r.bytes)}), ` +
            `+${r.added} ~${r.modified} -${r.deleted}, archived ${r.archivedFiles} files, stored ${formatBytes(r.storedBytes)} in ${r.volumes} volume(s)` +
            (r.protection !== null ? `, PAR2 ${r.protection}` : ''),
        );
        for (const w of r.warnings) ctx.out.warn(`${r.source}: ${w}`);
      }
      for (const r of result.sources) for (const e of r.errors) ctx.out.warn(`${r.source}: not backed up: ${JSON.stringify(e.path)}: ${e.message}`);
      const errorCount = result.sources.reduce((s, r) => s + r.errors.length, 0);
      if (errorCount > 0) ctx.out.warn(`${errorCount} file(s) could not be backed up (listed above); the run is PARTIAL. Fix them and run again.`);
      ctx.out.data({ ...result, exitCode: result.partial ? ExitCode.partial : ExitCode.ok });
      return result.partial ? ExitCode.partial : ExitCode.ok;
    } finally {
      await backend.close();
    }
  },
};
