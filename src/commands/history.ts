/** commands/history and log: read the git audit trail in the state folder. */
import * as path from 'node:path';
import { parseCommandArgs } from './args.js';
import type { Command, CommandContext, OptionSpecs } from './context.js';
import { AuditTrail, type AuditLogEntry } from '../audit/audit.js';
import { serializeEntry } from '../core/manifest.js';
import { findConfig, loadConfig } from '../config/load.js';
import { jobStateDir, stateDir } from '../config/paths.js';
import { ExitCode, StrataError, isStrataError } from '../errors.js';
import { summaryLine } from '../core/runlog.js';
import { readRuns } from '../ops/runlog.js';
import { jobPaths } from '../pipeline/backup/index.js';
import { Manifests } from '../pipeline/browse.js';
import { rebuildAuditTrail, rebuiltTrailDir } from '../pipeline/audit-rebuild.js';
import { Repository } from '../repository/repository.js';
import type { SourceConfig } from '../config/schema.js';
import { counted } from '../core/words.js';
import { mkdir } from 'node:fs/promises';
import { getPassword, jobOfConfigFile, loadJob, openWithTools, ownMachineId, privateStateFolder } from './common.js';
import { resolveSourceArgs } from './source-paths.js';

/** TrailInfo says where the audit trail that was read comes from. */
interface TrailInfo {
  /** Rebuilt from the manifests on the destination (this machine has no trail of the job, or --host names another machine). */
  rebuilt: boolean;
  dir: string;
  /** Rebuilt: the destination and the sets the trail was made from, oldest first (and those added by this run). */
  from?: string;
  sets?: string[];
  added?: string[];
}

/** describeSets names the sets a rebuilt trail holds: all of them when few, else the first and the last ones. */
function describeSets(ids: readonly string[]): string {
  return ids.length <= 6 ? ids.join(', ') : `${ids.slice(0, 3).join(', ')}, …, ${ids.slice(-2).join(', ')}`;
}

/**
 * auditFor opens the job's audit trail on this machine; when there is none (a fresh machine) or
 * --host names a machine, the trail is rebuilt from the manifests on the destination (with the
 * password) and kept in the state folder (pipeline/audit-rebuild), saying so.
 */
async function auditFor(ctx: CommandContext, values: { job?: string | undefined; host?: string | undefined; dest?: string | undefined }): Promise<{ audit: AuditTrail; trail: TrailInfo; sources: readonly Pick<SourceConfig, 'name' | 'path'>[] }> {
  const file = await findConfig(ctx.global.config, ctx.env);
  const fileConfig = file === undefined ? undefined : await loadConfig(file, ctx.env);
  const name = values.job ?? fileConfig?.job ?? 'default';
  const jobDir = jobStateDir(stateDir(ctx.global.state, ctx.env), name);
  const dir = jobPaths(jobDir).audit;
  const audit = new AuditTrail(dir);
  if (values.host === undefined && (await audit.exists())) return { audit, trail: { rebuilt: false, dir }, sources: fileConfig?.sources ?? [] };
  if (fileConfig === undefined && values.dest === undefined) {
    throw new StrataError('NO_REPOSITORY', `no audit trail for job ${name} in ${path.dirname(dir)}, and no destination to rebuild it from`, {
      hint: 'It is written by strata backup on this machine; on another machine pass --dest DEST (or --config FILE) to rebuild it from the manifests there, or --state if it lives elsewhere.',
    });
  }
  const config = await loadJob(ctx, { dest: values.dest }, false);
  const { tools, backend } = await openWithTools(ctx, config);
  try {
    const password = await getPassword(ctx, config, false);
    const workDir = path.join(jobDir, 'work');
    await privateStateFolder(ctx);
    await mkdir(workDir, { recursive: true });
    const m = await Manifests.open(new Repository(backend), tools, password, workDir);
    for (const p of m.catalog.problems) ctx.out.warn(`set ${p.id} is left out of the audit trail: its descriptor cannot be read (${p.message})`);
    const sets = m.inScope({ job: values.job ?? jobOfConfigFile(config), host: values.host, machineId: await ownMachineId(ctx) });
    const trailDir = rebuiltTrailDir(jobDir, sets);
    const bar = ctx.out.progress('rebuilding the audit trail', sets.length);
    let n = 0;
    const r = await rebuildAuditTrail(trailDir, sets, m, (d) => {
      bar.update(n++, d.id);
      ctx.out.verbose(`reading the manifest of ${d.id}`);
    }).finally(() => bar.done());
    const why = values.host === undefined ? `no audit trail of job ${name} on this machine` : `the audit trail of host ${values.host}`;
    ctx.out.info(
      r.created
        ? `${why}: rebuilt it from the manifests on ${backend.description}, ${counted(r.sets.length, 'set')}: ${describeSets(r.sets)}`
        : `${why}: reading the one rebuilt from the manifests on ${backend.description}, ${counted(r.sets.length, 'set')}: ${describeSets(r.sets)}${r.added.length > 0 ? ` (${r.added.length} added now)` : ''}`,
    );
    return { audit: r.audit, trail: { rebuilt: true, dir: trailDir, from: backend.description, sets: r.sets, added: r.added }, sources: config.sources };
  } finally {
    await backend.close();
  }
}

const rebuildOptions = {
  host: { type: 'string', value: 'HOST', help: 'the trail of this machine (host name or machine id prefix), rebuilt from the destination' },
  dest: { type: 'string', value: 'DEST', help: 'the destination to rebuild the trail from, on a machine without one (without a config file)' },
} as const satisfies OptionSpecs;

const historyOptions = { job: { type: 'string', value: 'NAME', help: 'the job whose audit trail to read' }, source: { type: 'string', value: 'NAME', help: 'only this source' }, ...rebuildOptions } as const satisfies OptionSpecs;

/** historyCommand lists when one file changed, from the audit trail. */
export const historyCommand: Command = {
  name: 'history',
  summary: 'when a file was added, changed or deleted, from the git audit trail',
  usage: 'history [--job NAME] [--source NAME] [--host HOST] [--dest DEST] PATH',
  options: historyOptions,
  examples: ['strata history reports/2026.xlsx', 'strata history /home/me/docs/reports/2026.xlsx', 'strata history --dest /mnt/nas/backups --source docs reports/2026.xlsx   (a new machine: rebuilt from the destination)'],
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('history', args, historyOptions, true);
    if (positionals.length !== 1) throw new StrataError('USAGE', 'history needs exactly one PATH (relative to the source folder)', { hint: 'e.g. strata history reports/2026.xlsx' });
    const { audit, trail, sources } = await auditFor(ctx, values);
    const resolved = await resolveSourceArgs(sources, positionals, values.source, 'history');
    const file = resolved.paths[0] ?? '';
    const events = await audit.history(file.replace(/^\.\/+/, ''), resolved.source === undefined ? {} : { source: resolved.source });
    // Entries hold the mtime as a bigint (ns), which JSON.stringify refuses: emit the manifest's own line form.
    const jsonEvents = events.map((e) => ({
      ...e,
      entry: e.entry === undefined ? undefined : (JSON.parse(serializeEntry(e.entry, false)) as unknown),
      previous: e.previous === undefined ? undefined : (JSON.parse(serializeEntry(e.previous, false)) as unknown),
    }));
    ctx.out.data({ path: file, source: resolved.source ?? null, events: jsonEvents, auditTrail: trail });
    if (events.length === 0) ctx.out.result(`no record of ${JSON.stringify(file)} in the audit trail`);
    for (const e of events) {
      const detail = e.entry === undefined ? '' : e.entry.type === 'file' ? ` ${e.entry.size} bytes sha256 ${e.entry.sha256?.slice(0, 12) ?? ''}…` : ` (${e.entry.type})`;
      ctx.out.result(`${e.date.slice(0, 19).replace('T', ' ')}  ${e.change.padEnd(8)}  ${e.setId}${detail}`);
    }
    return ExitCode.ok;
  },
};

const logOptions = {
  job: { type: 'string', value: 'NAME', help: 'the job whose runs and audit trail to read' },
  failures: { type: 'boolean', default: false, help: 'only the runs that did not succeed (failed, partial, cancelled)' },
  ...rebuildOptions,
} as const satisfies OptionSpecs;

/** logCommand lists the runs of the run log (failures included) next to the backups of the audit trail, newest first. */
export const logCommand: Command = {
  name: 'log',
  summary: 'the runs (failures included) and the backups recorded in the git audit trail, newest first',
  usage: 'log [--job NAME] [--failures] [--host HOST] [--dest DEST]',
  options: logOptions,
  examples: ['strata log', 'strata log --failures', 'strata --json log', 'strata log --dest s3://bucket/backups --host laptop   (rebuilt from the destination)'],
  async run(ctx, args) {
    const { values } = parseCommandArgs('log', args, logOptions);
    const job = values.job ?? (await configuredJob(ctx));
    const state = stateDir(ctx.global.state, ctx.env);
    // The run log is this machine's: another machine's (--host) runs are not in it.
    const records = values.host !== undefined ? [] : (await readRuns(state)).filter((r) => (r.job === job || r.job === null) && (!values.failures || r.result !== 'success')).reverse();
    let runs: AuditLogEntry[] = [];
    let trail: TrailInfo | undefined;
    try {
      if (!values.failures) {
        const found = await auditFor(ctx, values);
        runs = await found.audit.log();
        trail = found.trail;
      }
    } catch (e) {
      // A job whose first backup failed has runs but no audit trail yet.
      if (!isStrataError(e, 'NO_REPOSITORY') || records.length === 0) throw e;
    }
    ctx.out.data({ runs, runLog: records, auditTrail: trail ?? null });
    const lines = [
      ...records.map((r) => ({ date: r.start, text: `${r.start.slice(0, 19).replace('T', ' ')}  ${summaryLine(r)}` })),
      ...runs.map((r) => ({ date: r.date, text: `${r.date.slice(0, 19).replace('T', ' ')}  ${r.tier.padEnd(7)} ${r.type.padEnd(4)}  ${r.setId}  +${r.added} ~${r.modified} -${r.deleted}` })),
    ].sort((a, b) => b.date.localeCompare(a.date));
    if (lines.length === 0) ctx.out.result(values.failures ? 'no failed runs recorded' : 'no backup runs recorded');
    for (const l of lines) ctx.out.result(l.text);
    return ExitCode.ok;
  },
};

/** configuredJob is the job of the config file in use, or "default" without one. */
async function configuredJob(ctx: CommandContext): Promise<string> {
  const file = await findConfig(ctx.global.config, ctx.env);
  return file === undefined ? 'default' : (await loadConfig(file, ctx.env)).job;
}
