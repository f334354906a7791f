/** commands/restore: `strata restore [--at DATETIME | --set ID] [--to DIR] [PATH-OR-GLOB ...]`. */
import { formatSeconds } from '../core/progress.js';
import { counted } from '../core/words.js';
import { parseRetrievalTier } from '../core/cold.js';
import * as path from 'node:path';
import { parseCommandArgs } from './args.js';
import type { Command, OptionSpecs } from './context.js';
import { restoreDetails } from '../ops/details.js';
import { ExitCode, StrataError } from '../errors.js';
import { describeNotSet, runRestore } from '../pipeline/restore/index.js';
import { Repository } from '../repository/repository.js';
import { PhaseMeter } from '../ui/meter.js';
import { formatBytes } from '../ui/output.js';
import { getPassword, jobOfConfigFile, loadJob, openWithTools, ownMachineId, parseWhen, privateStateFolder, workDirFor, configFrom, otherDestinations } from './common.js';
import * as fsp from 'node:fs/promises';
import { resolveSourceArgs } from './source-paths.js';

const restoreOptions = {
  at: { type: 'string', value: 'DATETIME', help: 'the state at this moment (ISO 8601: 2026-11-29 is the end of that day; local time unless Z or +01:00)' },
  set: { type: 'string', value: 'ID', help: 'restore exactly this set (strata list shows the ids)' },
  source: { type: 'string', value: 'NAME', help: 'only this source' },
  job: { type: 'string', value: 'NAME', help: 'the job whose sets to read (on a destination several jobs share)' },
  host: { type: 'string', value: 'HOST', help: 'the machine whose sets to read: a host name or a machine id prefix' },
  to: { type: 'string', value: 'DIR', help: 'where to restore (default: ./restored; several sources go to DIR/<source>/)' },
  overwrite: { type: 'boolean', default: false, help: 'replace files that are in the way (default: refuse, exit 1)' },
  'no-owner': { type: 'boolean', default: false, help: 'do not set owners and groups (set by default when run as root)' },
  'retrieval-tier': { type: 'string', value: 'TIER', help: 'objects in S3 GLACIER/DEEP_ARCHIVE: restore them at Expedited, Standard or Bulk (default: the destination\'s retrievalTier, else Standard)' },
  from: { type: 'string', value: 'NAME', help: 'read destination NAME of the config\'s destinations: (default: the primary)' },
  dest: { type: 'string', value: 'DEST', help: 'the destination, without a config file' },
} as const satisfies OptionSpecs;

/** restoreCommand restores the state of a moment, or of one set, into a folder. */
export const restoreCommand: Command = {
  name: 'restore',
  summary: 'restore the state at a moment (default: the newest) into a folder, checking every file',
  usage: 'restore [--at DATETIME | --set ID] [--source NAME] [--job NAME] [--host HOST] [--to DIR] [--overwrite] [--no-owner] [--retrieval-tier TIER] [--from NAME] [--dest DEST] [PATH-OR-GLOB ...]',
  options: restoreOptions,
  examples: ['strata restore                      (the newest state of every source into ./restored)', 'strata restore --at 2026-11-29 --to /tmp/old \'reports/**/*.xlsx\'', 'strata restore --dest /mnt/nas/backups --host laptop --to ~/restored'],
  async run(ctx, args) {
    const started = performance.now();
    // Times the phases from here: `prepare` includes reading the configuration and the catalog.
    const meter = new PhaseMeter(ctx.out);
    const { values, positionals } = parseCommandArgs('restore', args, restoreOptions, true);
    if (values.at !== undefined && values.set !== undefined) throw new StrataError('USAGE', '--at and --set cannot be used together', { hint: 'Pick a moment (--at) or a set (--set).' });
    // A bad --at is a usage error before anything is opened or asked for.
    const at = values.at === undefined ? undefined : parseWhen(values.at);
    const retrievalTier = values['retrieval-tier'] === undefined ? undefined : parseRetrievalTier(values['retrieval-tier'], '--retrieval-tier');
    const config = configFrom(await loadJob(ctx, { dest: values.dest }, false), values.from);
    // Absolute paths name their source (commands/source-paths): /home/me/docs/a.txt is a.txt of source docs.
    const { source, paths } = await resolveSourceArgs(config.sources, positionals, values.source, 'restore', true);
    const { tools, backend } = await openWithTools(ctx, config);
    const others = otherDestinations(ctx, config, values.from);
    try {
      const password = await getPassword(ctx, config, false);
      const to = path.resolve(values.to ?? 'restored');
      const workDir = workDirFor(ctx, config);
      await privateStateFolder(ctx);
      await fsp.mkdir(workDir, { recursive: true });
      const results = await runRestore({
        repo: new Repository(backend), tools, password, setId: values.set, at,
        source, job: values.job ?? jobOfConfigFile(config), host: values.host, machineId: await ownMachineId(ctx), to, paths, overwrite: values.overwrite, noOwner: values['no-owner'], workDir, out: ctx.out, signal: ctx.signal, retrievalTier, meter, others: others.list,
      });
      ctx.run?.attach(restoreDetails(results));
      let lost = 0;
      const lostVolumes: string[] = [];
      for (const r of results) {
        ctx.out.summary(`${r.source}: restored ${counted(r.files, 'file')} (${formatBytes(r.bytes)}${r.hardLinks > 0 ? `; ${r.hardLinks} of them hard links` : ''}), ${counted(r.dirs, 'folder')}, ${counted(r.symlinks, 'symlink')} from ${r.setId} into ${r.target}`);
        for (const n of r.notSet) ctx.out.warn(`${r.source}: ${describeNotSet(n)}`);
        if (r.repairedVolumes.length > 0) ctx.out.info(`${r.source}: repaired with PAR2 on the way: ${r.repairedVolumes.join(', ')}`);
        for (const l of r.lost) ctx.out.warn(`${r.source}: NOT restored (lost): ${JSON.stringify(l.path)}: ${l.reason}`);
        lost += r.lost.length;
        lostVolumes.push(...r.lostVolumes);
      }
      const seconds = Math.round(performance.now() - started) / 1000;
      ctx.out.summary(`restore finished in ${formatSeconds(seconds)}`);
      if (lost === 0) {
        ctx.out.data({ restored: results, phases: meter.phases, seconds, exitCode: ExitCode.ok });
        return ExitCode.ok;
      }
      const error = new StrataError('DAMAGED', `${counted(lost, 'file')} could not be restored intact (listed above)${lostVolumes.length > 0 ? `; volumes beyond repair: ${lostVolumes.join(', ')}` : ''}; every other file was restored and checked`, {
        hint: 'Try an earlier set with --at, or repair the destination with strata verify --repair.',
      });
      if (ctx.out.json) {
        // One JSON document on stdout: the results with the error in it (not a second document from the error report).
        ctx.out.data({ restored: results, phases: meter.phases, seconds, exitCode: ExitCode.damaged, error: { code: error.code, message: error.message, hint: error.hint ?? null, exitCode: ExitCode.damaged } });
        return ExitCode.damaged;
      }
      throw error;
    } finally {
      await backend.close();
      await others.close();
    }
  },
};
