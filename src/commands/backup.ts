/** commands/backup: `strata backup --tier daily|weekly|monthly|yearly|auto`. */
import { formatSeconds } from '../core/progress.js';
import { counted } from '../core/words.js';
import { parseCommandArgs } from './args.js';
import type { Command, OptionSpecs } from './context.js';
import { ExitCode, StrataError, errorMessage, isStrataError } from '../errors.js';
import { TIERS, isNameableDate, type Tier } from '../core/naming.js';
import { runBackup } from '../pipeline/backup/index.js';
import { checkSourcesApart, localDestinationPath } from '../scan/index.js';
import { stateDir } from '../config/paths.js';
import { formatBytes } from '../ui/output.js';
import { jobDirFor, loadJob, machineFor, openWithTools, privateStateFolder, workDirFor } from './common.js';
import { unlockForBackup } from './destination.js';
import { strataVersion } from '../version.js';
import type { Backend } from '../backend/backend.js';
import type { ParityEngine } from '../parity/engine.js';
import type { CommandContext } from './context.js';
import type { StrataConfig } from '../config/schema.js';
import { backupDetails } from '../ops/details.js';
import { Repository } from '../repository/repository.js';
import { acquireLock } from '../repository/lock.js';
import { autoPromote, describePromotion, type AutoPromoteResult } from '../pipeline/promote.js';
import { sourceOrigin } from '../config/load.js';
import { runPrune } from '../pipeline/prune.js';
import { replicateAfterBackup } from './replicate.js';

const backupOptions = {
  tier: { type: 'string', short: 't', value: 'TIER', help: 'daily (INCR), weekly, monthly or yearly (FULL), or auto: weekly on schedule.weeklyOn, else daily (required)' },
  source: { type: 'string', multiple: true, value: 'DIR', help: 'a folder to back up, without a config file (several allowed)' },
  dest: { type: 'string', value: 'DEST', help: 'the destination: a folder, s3://…, webdav+https://… or rclone:remote:path (default: the config\'s)' },
  'volume-size': { type: 'string', value: 'SIZE', help: 'largest 7-Zip volume, e.g. 100MiB (default: the config\'s, else 50MiB daily, 100MiB otherwise); sets up to 1GiB get smaller ones' },
  level: { type: 'string', value: '0-9', help: 'LZMA2 compression level (default: the config\'s, else 5)' },
} as const satisfies OptionSpecs;

/** backupCommand makes one set per source. */
export const backupCommand: Command = {
  name: 'backup',
  summary: 'back up every source: daily INCR sets, weekly/monthly/yearly FULL sets',
  usage: 'backup --tier daily|weekly|monthly|yearly|auto [--source DIR ...] [--dest DEST] [--volume-size SIZE] [--level 0-9]',
  options: backupOptions,
  examples: ['strata backup -t auto', 'strata backup --tier weekly --source ~/Documents --dest /mnt/nas/backups', 'STRATA_NOW=2026-12-06T09:00:00Z strata backup -t daily   (a pinned clock, for trials)'],
  async run(ctx, args) {
    const started = performance.now();
    const { values } = parseCommandArgs('backup', args, backupOptions);
    const tier = values.tier;
    if (tier === undefined) throw new StrataError('USAGE', 'backup needs --tier', { hint: 'Use --tier daily, weekly, monthly, yearly or auto.' });
    if (tier !== 'auto' && !(TIERS as readonly string[]).includes(tier)) {
      throw new StrataError('USAGE', `unknown tier ${JSON.stringify(tier)}`, { hint: 'Use --tier daily, weekly, monthly, yearly or auto.' });
    }
    // Set ids carry a two-digit year: a clock before 2000 (a dead RTC battery says 1970) or after
    // 2099 would name sets that sort wrongly (and git refuses dates before 1970). Refused before
    // anything is read or written.
    const now = ctx.clock.now();
    if (!isNameableDate(now)) {
      const pinned = ctx.env['STRATA_NOW'] !== undefined && ctx.env['STRATA_NOW'] !== '';
      throw new StrataError('USAGE', `the ${pinned ? 'STRATA_NOW' : 'system'} clock says ${now.toISOString()}, outside the years 2000–2099 that set names can order`, {
        hint: pinned ? 'Set STRATA_NOW to a moment between 2000-01-01 and 2099-12-31, or unset it.' : 'Set the system clock right (date, timedatectl, NTP) and run again; nothing was written.',
      });
    }
    const config = await loadJob(ctx, { source: values.source, dest: values.dest, volumeSize: values['volume-size'], level: values.level }, true);
    checkSourcesApart(config.sources, { destination: localDestinationPath(config.destination), state: stateDir(ctx.global.state, ctx.env) });
    const { tools, backend } = await openWithTools(ctx, config);
    try {
      // The destination's marker checks the password (or is written on first use); the run awaits
      // that check before it writes or removes anything.
      const { password, checked } = await unlockForBackup(ctx, config, backend);
      await privateStateFolder(ctx);
      const result = await runBackup({
        config, tier: tier as Tier | 'auto', backend, jobDir: jobDirFor(ctx, config), machine: await machineFor(ctx), password, markerChecked: checked, tools,
        out: ctx.out, clock: ctx.clock, signal: ctx.signal, version: await strataVersion(),
      });
      ctx.run?.attach(backupDetails(result));
      for (const r of result.sources) {
        if (r.setId === null) {
          ctx.out.summary(`${r.source}: ${r.skipped ?? 'no set written'}`);
          continue;
        }
        ctx.out.summary(
          `${r.setId}: ${r.tier} ${r.type}${r.fullBecauseNoBase ? ' (no earlier set: FULL)' : ''} — ${counted(r.files, 'entry', 'entries')} (${formatBytes(r.bytes)}), ` +
            `+${r.added} ~${r.modified} -${r.deleted}, archived ${counted(r.archivedFiles, 'file')}, stored ${formatBytes(r.storedBytes)} in ${counted(r.volumes, 'volume')}` +
            (r.protection !== null ? `, PAR2 ${r.protection}` : ''),
        );
        for (const w of r.warnings) ctx.out.warn(`${r.source}: ${w}`);
      }
      for (const r of result.sources) for (const e of r.errors) ctx.out.warn(`${r.source}: not backed up: ${JSON.stringify(e.path)}: ${e.message}`);
      const errorCount = result.sources.reduce((s, r) => s + r.errors.length, 0);
      if (errorCount > 0) ctx.out.warn(`${counted(errorCount, 'file')} could not be backed up (listed above); the run is PARTIAL. Fix them and run again.`);
      // Promotion (pipeline/promote), then retention: after a complete config-driven run only; a
      // partial or failed run never promotes (nor prunes). Promoting first keeps a set that becomes
      // monthly from being judged by its weekly age.
      const promotion = !result.partial && configDriven(config) ? await promoteAfterBackup(ctx, config, backend, password, tools.parity) : undefined;
      const promotionFailed = promotion !== undefined && promotion.failed.length > 0;
      // Retention after a run that succeeded (config files only, retention.pruneAfterBackup): a
      // partial or failed run never prunes. A prune that fails does not undo the backup, but the
      // run says so and does not end as a success.
      let prune: { removed: string[]; swept: string[]; kept: number; tagged?: string[] } | { skipped: string } | { error: { code: string; message: string; hint?: string | undefined } } | null = null;
      let exitCode: number = result.partial || promotionFailed ? ExitCode.partial : ExitCode.ok;
      if (pruneAfterBackup(config)) {
        if (result.partial) {
          prune = { skipped: 'the run was partial' };
          ctx.out.info('not pruning: the run was partial (retention.pruneAfterBackup prunes after a complete run only)');
        } else {
          try {
            const p = await runPrune({ config, backend, jobDir: jobDirFor(ctx, config), machine: await machineFor(ctx), password, apply: true, out: ctx.out, clock: ctx.clock, signal: ctx.signal });
            prune = { removed: p.removed, swept: p.swept, kept: p.plan.filter((d) => d.keep).length, ...(p.tagged !== undefined ? { tagged: p.tagged } : {}) };
            ctx.run?.attach({ sets: { pruned: [...p.removed, ...p.swept] } });
            if (p.removed.length > 0) ctx.out.summary(`pruned ${counted(p.removed.length, 'expired set')}: ${p.removed.join(', ')}`);
            if (p.tagged !== undefined && p.tagged.length > 0) ctx.out.summary(`tagged ${counted(p.tagged.length, 'expired set')} expire=yes for the bucket's lifecycle rule to delete: ${p.tagged.join(', ')}`);
          } catch (e) {
            if (isStrataError(e, 'CANCELLED')) throw e;
            const code = isStrataError(e) ? e.code : 'INTERNAL';
            prune = { error: { code, message: errorMessage(e), hint: isStrataError(e) ? e.hint : undefined } };
            ctx.out.warn(`the backup is complete, but pruning failed: ${errorMessage(e)}${isStrataError(e) && e.hint !== undefined ? ` (${e.hint})` : ''}`);
            exitCode = isStrataError(e) ? e.exitCode : ExitCode.error;
          }
        }
      }
      // Replication to the other destinations (replicate: after-backup), after a complete config-driven run only.
      const replication = config.replicate === 'after-backup' && configDriven(config) && !result.partial ? await replicateAfterBackup(ctx, config, password) : undefined;
      if (replication?.failed === true && exitCode === ExitCode.ok) exitCode = ExitCode.partial;
      const seconds = Math.round(performance.now() - started) / 1000;
      ctx.out.summary(`backup finished in ${formatSeconds(seconds)}`);
      ctx.out.data({ ...result, ...(promotion === undefined ? {} : { promotion }), prune, ...(replication === undefined ? {} : { replicate: replication.summary ?? null }), seconds, exitCode });
      return exitCode;
    } finally {
      await backend.close();
    }
  },
};

/**
 * promoteAfterBackup runs the automatic promotion (pipeline/promote autoPromote) over this job's own
 * sets, this machine's, under the job lock: months whose monthly (or December whose yearly) the
 * schedule could not decide at creation, and promotions a killed run left unfinished. A failed
 * promotion is a warning and makes the exit code PARTIAL (3): the backup itself is complete.
 */
async function promoteAfterBackup(ctx: CommandContext, config: StrataConfig, backend: Backend, password: string, parity: ParityEngine): Promise<AutoPromoteResult> {
  let r: AutoPromoteResult;
  try {
    const machine = await machineFor(ctx);
    const now = ctx.clock.now();
    const lock = await acquireLock(jobDirFor(ctx, config), 'promote', now);
    try {
      const catalog = await new Repository(backend).catalog();
      const own = catalog.complete.filter((d) => d.job === config.job && d.machine?.id === machine.id);
      r = await autoPromote({ backend, password, parity, protection: config.protection, workDir: workDirFor(ctx, config), job: config.job, machine, now, out: ctx.out, signal: ctx.signal }, own);
    } finally {
      await lock.release();
    }
  } catch (e) {
    // The backup is complete whatever happens here: a promotion pass that cannot run is a warning.
    if (isStrataError(e, 'CANCELLED')) throw e;
    ctx.out.warn(`the automatic promotion could not run: ${errorMessage(e)}; the backup itself is complete, and the next backup tries again`);
    return { settled: [], promoted: [], failed: [{ id: '', to: 'monthly', message: errorMessage(e) }] };
  }
  for (const p of r.promoted) ctx.out.summary(describePromotion(p));
  for (const f of r.failed) ctx.out.warn(`${f.id}: promotion to ${f.to} failed: ${f.message}; the set keeps its tier, and the next backup tries again`);
  return r;
}

/** configDriven tells whether the run's sources come from a config file (config-free runs --source/--dest never promote nor prune). */
function configDriven(config: StrataConfig): boolean {
  return config.sources.some((s) => sourceOrigin(s) !== undefined);
}

/** pruneAfterBackup tells whether a backup prunes after it: a config file's job with retention.pruneAfterBackup. */
function pruneAfterBackup(config: StrataConfig): boolean {
  return configDriven(config) && config.retention.pruneAfterBackup;
}
