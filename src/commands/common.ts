/**
 * commands/common: what several commands share — finding the configuration (file or flags),
 * the state folder, the destination, the tools and the password.
 */
import * as path from 'node:path';
import { findSevenZip } from '../archive/sevenzip.js';
import type { Backend } from '../backend/backend.js';
import { openBackend } from '../backend/open.js';
import { parseDestination } from '../core/destination.js';
import type { CommandContext } from './context.js';
import { stat } from 'node:fs/promises';
import { applyOverrides, configFromFlags, findConfig, loadConfig, sourceOrigin } from '../config/load.js';
import { resolvePassword } from '../config/password.js';
import { jobStateDir, stateDir } from '../config/paths.js';
import { machineIdentity, readMachineId } from '../config/machine.js';
import type { MachineRef } from '../core/descriptor.js';
import { makeStatePrivate } from '../config/private-state.js';
import { destinationsOf, type StrataConfig } from '../config/schema.js';
import { errnoCode, errorMessage, StrataError } from '../errors.js';
import { openParityEngine } from '../parity/open.js';
import { checkSourceFilesystems } from '../scan/index.js';
import type { Tools } from '../pipeline/backup/index.js';
import { readMarker, requireRoot } from '../repository/marker.js';
import { Repository } from '../repository/repository.js';
import type { OtherDestination } from '../pipeline/fallback.js';

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
  if (file !== undefined && flags.dest !== undefined) {
    // --dest stands for the whole list of destinations: the config's others are not this run's.
    const { destinations: _others, ...rest } = config;
    config = { ...rest, destination: flags.dest };
  }
  // From here on the run is recorded in the run log (and notified), failures included.
  ctx.run?.setTarget({ job: config.job, destination: config.destination, notify: config.notify, passwordEnv: config.password !== undefined && 'env' in config.password ? config.password.env : undefined });
  if (needSources) {
    await checkSourceFolders(config);
    checkSourceFilesystems(config.sources, (w) => ctx.out.warn(w));
  }
  return applyOverrides(config, { volumeSize: flags.volumeSize, level: flags.level });
}

/**
 * checkSourceFolders refuses, before anything runs, a source whose folder is missing or not a
 * folder, naming the `path:` key and its line when the source comes from a config file.
 */
async function checkSourceFolders(config: StrataConfig): Promise<void> {
  for (const [i, source] of config.sources.entries()) {
    let why: string | undefined;
    try {
      if (!(await stat(source.path)).isDirectory()) why = 'is not a folder';
    } catch (e) {
      why = errnoCode(e) === 'ENOENT' ? 'does not exist' : `cannot be read (${errorMessage(e)})`;
    }
    if (why === undefined) continue;
    const origin = sourceOrigin(source);
    const where = origin === undefined ? `--source ${JSON.stringify(source.path)}: ` : `${origin}: sources[${i}].path: `;
    throw new StrataError('CONFIG', `${where}the source folder ${source.path} ${why}`, {
      hint: origin === undefined ? 'Check the folder name.' : 'Fix the path in the config (or mount the drive it is on).',
    });
  }
}

/**
 * openDestination opens the configured destination's backend. A destination that does not exist
 * (NO_DESTINATION, exit 10: strata never creates one) or whose marker is of another format is
 * refused here, before any command reads or writes it.
 */
export async function openDestination(ctx: CommandContext, config: StrataConfig): Promise<Backend> {
  const dest = parseDestination(config.destination);
  // retention.deleteBy: tag — strata tags what it would delete, the bucket's lifecycle rule deletes it.
  const backend = await openBackend(dest, { env: ctx.env, onWarning: (w) => ctx.out.warn(w), deleteByTag: config.retention.deleteBy === 'tag' });
  try {
    await requireRoot(backend, destinationText(config), dest.kind);
    await readMarker(new Repository(backend));
  } catch (e) {
    await backend.close();
    throw e;
  }
  return backend;
}

/** destinationText is the destination as the user wrote it (for hints), when it is one string. */
export function destinationText(config: StrataConfig): string | undefined {
  return typeof config.destination === 'string' ? config.destination : undefined;
}

/** jobDirFor returns the job's state folder. */
export function jobDirFor(ctx: CommandContext, config: StrataConfig): string {
  return jobStateDir(stateDir(ctx.global.state, ctx.env), config.job);
}

/** machineFor returns this machine's identity, making its id in the state folder on first use. */
export async function machineFor(ctx: CommandContext): Promise<MachineRef> {
  return machineIdentity(stateDir(ctx.global.state, ctx.env));
}

/** ownMachineId is this machine's id if its state folder has one yet (never made by reading commands). */
export async function ownMachineId(ctx: CommandContext): Promise<string | undefined> {
  return readMachineId(stateDir(ctx.global.state, ctx.env));
}

/**
 * jobOfConfigFile is the job a config file names, or undefined for a config-free command (its
 * config has no sources: sources come only from a file, or from --source for a backup). Restore
 * and verify then consider only that job's sets.
 */
export function jobOfConfigFile(config: StrataConfig): string | undefined {
  return config.sources.length > 0 ? config.job : undefined;
}

/**
 * privateStateFolder makes an existing state folder private (config/private-state), once a command
 * is about to write to it: a run refused for a config error leaves the state folder untouched.
 * Not being able to (a folder of another user, read-only) is no reason to stop: the command reports
 * a state folder it cannot use when it uses it.
 */
export async function privateStateFolder(ctx: CommandContext): Promise<void> {
  await makeStatePrivate(stateDir(ctx.global.state, ctx.env)).catch(() => undefined);
}

/** workDirFor returns a scratch folder for commands that run without a job (restore on a fresh machine). */
export function workDirFor(ctx: CommandContext, config: StrataConfig): string {
  return path.join(jobDirFor(ctx, config), 'work');
}

/** findTools locates 7zz and par2 (MISSING_TOOL with the install command otherwise). */
export async function findTools(ctx: CommandContext): Promise<Tools> {
  const [sevenZip, parity] = await Promise.all([findSevenZip(ctx.env), openParityEngine(ctx.env)]);
  return { sevenZip, parity };
}

/**
 * openWithTools finds 7zz and par2 (findTools) while the destination opens (openDestination): the
 * tools' version probes are child processes, the destination's root and marker reads IO, and
 * neither needs the other. A missing tool is still the error reported first, as when the two ran
 * one after the other; a destination opened when a tool turns out missing is closed again.
 */
export async function openWithTools(ctx: CommandContext, config: StrataConfig): Promise<{ tools: Tools; backend: Backend }> {
  const toolsFound = findTools(ctx);
  toolsFound.catch(() => undefined); // awaited below on every path; never an unhandled rejection meanwhile
  const backend = await openDestination(ctx, config).catch(async (e: unknown) => {
    await toolsFound;
    throw e;
  });
  const tools = await toolsFound.catch(async (e: unknown) => {
    await backend.close();
    throw e;
  });
  return { tools, backend };
}

/** getPassword resolves the password; `confirm` asks twice on a terminal (first set). */
export async function getPassword(ctx: CommandContext, config: StrataConfig, confirm: boolean): Promise<string> {
  return resolvePassword({ config, env: ctx.env, confirm, isTTY: process.stdin.isTTY });
}

const WHEN_HINT = 'Use ISO 8601: 2026-11-29 (the end of that day), 2026-11-29T14:30, 2026-11-29 14:30:00 (local time) or 2026-11-29T14:30:00Z / +01:00.';

/**
 * WHEN is the ISO 8601 subset --at accepts: a date, or a date and time (seconds and fraction
 * optional) with "T" or a space, and an optional Z or ±HH:MM zone. new Date() alone is lenient
 * ("2026-11-31" becomes 1 December, "banana 2026-12-01" and "1" are dates), which would silently
 * restore the wrong moment.
 */
const WHEN = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** parseWhen reads a --at value: ISO 8601 date or date-time (local time when no zone is given). */
export function parseWhen(text: string): Date {
  const bad = (why: string): StrataError => new StrataError('USAGE', `--at: ${why}: ${JSON.stringify(text)}`, { hint: WHEN_HINT });
  const m = WHEN.exec(text.trim());
  if (m === null) throw bad('not an ISO 8601 date or date-time');
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // A date alone means the end of that day: every set made that day counts.
  const timeGiven = m[4] !== undefined;
  const [h, mi, sec] = timeGiven ? [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)] : [23, 59, 59];
  const ms = timeGiven ? Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3)) : 999;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth) throw bad('no such day');
  if (h > 23 || mi > 59 || sec > 59) throw bad('no such time of day');
  const zone = m[8];
  if (zone === undefined) {
    // setFullYear keeps years 0–99 as written (the Date constructor would read them as 1900–1999).
    const local = new Date(2000, 0, 1);
    local.setFullYear(y, mo - 1, d);
    local.setHours(h, mi, sec, ms);
    return local;
  }
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const [oh, om] = [Number(zone.slice(1, 3)), Number(zone.slice(4, 6))];
    if (oh > 23 || om > 59) throw bad('no such time zone offset');
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(y, mo - 1, d);
  utc.setUTCHours(h, mi, sec, ms);
  return new Date(utc.getTime() - offsetMinutes * 60_000);
}

/**
 * configFrom is the config with destination NAME of `destinations:` as its destination (and that
 * destination's retention): `--from NAME` of list, restore, verify and prune. Without a name, the
 * config as it is (the primary).
 */
export function configFrom(config: StrataConfig, from: string | undefined): StrataConfig {
  if (from === undefined) return config;
  const all = destinationsOf(config);
  const d = all.find((x) => x.name === from);
  if (d === undefined) {
    throw new StrataError('USAGE', `--from ${from}: the config names no such destination`, { hint: `Destinations: ${all.map((x) => x.name).join(', ')}.` });
  }
  return { ...config, destination: d.destination, retention: d.retention };
}

/**
 * otherDestinations are the config's destinations other than the one read (`--from`, else the
 * primary), opened on first use: where restore takes what is lost on the one it reads
 * (pipeline/fallback). `close` closes those that were opened.
 */
export function otherDestinations(ctx: CommandContext, config: StrataConfig, from: string | undefined): { list: OtherDestination[]; close: () => Promise<void> } {
  if (config.destinations === undefined) return { list: [], close: async () => undefined };
  const used = from ?? config.destinations[0]?.name;
  const opened: Backend[] = [];
  const list = config.destinations
    .filter((d) => d.name !== used)
    .map((d): OtherDestination => {
      let repo: Promise<Repository> | undefined;
      return {
        name: d.name,
        open: () =>
          (repo ??= openDestination(ctx, configFrom(config, d.name)).then((b) => {
            opened.push(b);
            return new Repository(b);
          })),
      };
    });
  return { list, close: async () => { for (const b of opened) await b.close(); } };
}
