/**
 * commands/common: what several commands share — finding the configuration (file or flags),
 * the state folder, the destination, the tools and the password.
 */
import * as path from 'node:path';
import { findSevenZip } from '../archive/sevenzip.js';
import type { Backend } from '../backend/backend.js';
import { openBackend } from '../backend/open.js';
import { parseDestination } from '../core/destination.js';
import type { CommandContext } from '../cli/context.js';
import { applyOverrides, configFromFlags, findConfig, loadConfig } from '../config/load.js';
import { resolvePassword } from '../config/password.js';
import { jobStateDir, stateDir } from '../config/paths.js';
import type { StrataConfig } from '../config/schema.js';
import { StrataError } from '../errors.js';
import { Par2CmdlineEngine } from '../parity/par2cmdline.js';
import type { Tools } from '../pipeline/backup.js';

/** JobFlags are the flags that stand in for a config file. */
export interface JobFlags {
  source?: string[];
  dest?: string;
  volumeSize?: string;
  level?: string;
}

/** loadJob returns the configuration from --config/STRATA_CONFIG/./strata.yaml or from flags. */
export async function loadJob(ctx: CommandContext, flags: JobFlags, needSources: boolean): Promise<StrataConfig> {
  const file = await findConfig(ctx.global.config, ctx.env);
  const sources = flags.source ?? [];
  let config: StrataConfig;
  if (file !== undefined) {
    config = await loadConfig(file, ctx.env);
    if (sources.length > 0) {
      throw new StrataError('USAGE', '--source cannot be combined with a config file', { hint: `Edit the sources in ${file}, or run without a config file.` });
    }
  } else {
    if (flags.dest === undefined) {
      throw new StrataError('USAGE', 'no configuration file and no --dest', { hint: 'Run "strata init" to write strata.yaml, or pass --dest DIR (and --source DIR for a backup).' });
    }
    if (needSources && sources.length === 0) {
      throw new StrataError('USAGE', 'no configuration file and no --source', { hint: 'Pass --source DIR (several allowed), or run "strata init".' });
    }
    // Commands that read a destination need no sources: validate with a stand-in, then drop it.
    config = configFromFlags({ sources: sources.length > 0 ? sources : [process.cwd()], dest: flags.dest }, ctx.env);
    if (sources.length === 0) config = { ...config, sources: [] };
  }
  if (file !== undefined && flags.dest !== undefined) config = { ...config, destination: flags.dest };
  return applyOverrides(config, { volumeSize: flags.volumeSize, level: flags.level });
}

/** openDestination opens the configured destination's backend. */
export async function openDestination(ctx: CommandContext, config: StrataConfig): Promise<Backend> {
  const dest = parseDestination(config.destination);
  return openBackend(dest, { env: ctx.env, onWarning: (w) => ctx.out.warn(w) });
}

/** jobDirFor returns the job's state folder. */
export function jobDirFor(ctx: CommandContext, config: StrataConfig): string {
  return jobStateDir(stateDir(ctx.global.state, ctx.env), config.job);
}

/** workDirFor returns a scratch folder for commands that run without a job (restore on a fresh machine). */
export function workDirFor(ctx: CommandContext, config: StrataConfig): string {
  return path.join(jobDirFor(ctx, config), 'work');
}

/** findTools locates 7zz and par2 (MISSING_TOOL with the install command otherwise). */
export async function findTools(ctx: CommandContext): Promise<Tools> {
  const [sevenZip, parity] = await Promise.all([findSevenZip(ctx.env), Par2CmdlineEngine.open(ctx.env)]);
  return { sevenZip, parity };
}

/** getPassword resolves the password; `confirm` asks twice on a terminal (first set). */
export async function getPassword(ctx: CommandContext, config: StrataConfig, confirm: boolean): Promise<string> {
  return resolvePassword({ config, env: ctx.env, confirm, isTTY: process.stdin.isTTY });
}

/** parseWhen reads a --at value: ISO 8601 date or date-time (local time when no zone is given). */
export function parseWhen(text: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T23:59:59.999` : text);
  if (Number.isNaN(d.getTime())) {
    throw new StrataError('USAGE', `--at: not a date: ${JSON.stringify(text)}`, { hint: 'Use ISO 8601, e.g. 2026-11-29 or 2026-11-29T14:30:00Z.' });
  }
  return d;
}
