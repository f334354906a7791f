/** commands/history and log: read the git audit trail in the state folder. */
import * as path from 'node:path';
import { parseCommandArgs } from './args.js';
import type { Command, CommandContext, OptionSpecs } from './context.js';
import { AuditTrail } from '../audit/audit.js';
import { serializeEntry } from '../core/manifest.js';
import { findConfig, loadConfig } from '../config/load.js';
import { jobStateDir, stateDir } from '../config/paths.js';
import { ExitCode, StrataError } from '../errors.js';
import { jobPaths } from '../pipeline/backup.js';

async function auditFor(ctx: CommandContext, job: string | undefined): Promise<AuditTrail> {
  let name = job;
  if (name === undefined) {
    const file = await findConfig(ctx.global.config, ctx.env);
    name = file === undefined ? 'default' : (await loadConfig(file, ctx.env)).job;
  }
  const dir = jobPaths(jobStateDir(stateDir(ctx.global.state, ctx.env), name)).audit;
  const audit = new AuditTrail(dir);
  if (!(await audit.exists())) {
    throw new StrataError('NO_REPOSITORY', `no audit trail for job ${name} in ${path.dirname(dir)}`, { hint: 'It is written by strata backup on this machine; pass --state or --config if it lives elsewhere.' });
  }
  return audit;
}

const historyOptions = { job: { type: 'string', value: 'NAME', help: 'the job whose audit trail to read' }, source: { type: 'string', value: 'NAME', help: 'only this source' } } as const satisfies OptionSpecs;

/** historyCommand lists when one file changed, from the audit trail. */
export const historyCommand: Command = {
  name: 'history',
  summary: 'when a file was added, changed or deleted, from the git audit trail',
  usage: 'history [--job NAME] [--source NAME] PATH',
  options: historyOptions,
  examples: ['strata history reports/2026.xlsx'],
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('history', args, historyOptions, true);
    if (positionals.length !== 1) throw new StrataError('USAGE', 'history needs exactly one PATH (relative to the source folder)', { hint: 'e.g. strata history reports/2026.xlsx' });
    const file = positionals[0] ?? '';
    const audit = await auditFor(ctx, values.job);
    const events = await audit.history(file.replace(/^\.\/+/, ''), values.source === undefined ? {} : { source: values.source });
    // Entries hold the mtime as a bigint (ns), which JSON.stringify refuses: emit the manifest's own line form.
    const jsonEvents = events.map((e) => ({
      ...e,
      entry: e.entry === undefined ? undefined : (JSON.parse(serializeEntry(e.entry, false)) as unknown),
      previous: e.previous === undefined ? undefined : (JSON.parse(serializeEntry(e.previous, false)) as unknown),
    }));
    ctx.out.data({ path: file, events: jsonEvents });
    if (events.length === 0) ctx.out.result(`no record of ${JSON.stringify(file)} in the audit trail`);
    for (const e of events) {
      const detail = e.entry === undefined ? '' : e.entry.type === 'file' ? ` ${e.entry.size} bytes sha256 ${e.entry.sha256?.slice(0, 12) ?? ''}…` : ` (${e.entry.type})`;
      ctx.out.result(`${e.date.slice(0, 19).replace('T', ' ')}  ${e.change.padEnd(8)}  ${e.setId}${detail}`);
    }
    return ExitCode.ok;
  },
};

const logOptions = { job: { type: 'string', value: 'NAME', help: 'the job whose audit trail to read' } } as const satisfies OptionSpecs;

/** logCommand lists the backup runs recorded in the audit trail. */
export const logCommand: Command = {
  name: 'log',
  summary: 'the backup runs recorded in the git audit trail',
  usage: 'log [--job NAME]',
  options: logOptions,
  examples: ['strata log', 'strata --json log'],
  async run(ctx, args) {
    const { values } = parseCommandArgs('log', args, logOptions);
    const audit = await auditFor(ctx, values.job);
    const runs = await audit.log();
    ctx.out.data({ runs });
    if (runs.length === 0) ctx.out.result('no backup runs recorded');
    for (const r of runs) ctx.out.result(`${r.date.slice(0, 19).replace('T', ' ')}  ${r.tier.padEnd(7)} ${r.type.padEnd(4)}  ${r.setId}  +${r.added} ~${r.modified} -${r.deleted}`);
    return ExitCode.ok;
  },
};
