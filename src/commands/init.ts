/**
 * commands/init: `strata init` writes a commented strata.yaml that documents every key and its
 * default. It never overwrites an existing file unless told to (--force): a config is the one
 * file that says what is being backed up, and losing edits to it silently would be bad.
 *
 * `strata init --dest DEST` without --source initialises a destination instead (like `restic
 * init`): it creates the folder (never an S3 bucket) and writes its marker; `--adopt` marks a
 * destination that holds sets of an earlier strata (see commands/destination).
 */
import { open } from 'node:fs/promises';
import * as path from 'node:path';
import { parseCommandArgs } from './args.js';
import type { Command, CommandContext, OptionSpecs } from './context.js';
import { configFilePath, configFromFlags, parseConfigText } from '../config/load.js';
import { newJobName } from '../config/machine.js';
import { PLACEHOLDER_DESTINATION, renderTemplate, type TemplateOptions } from '../config/template.js';
import { errnoCode, fromFsError, StrataError } from '../errors.js';
import { openBackend } from '../backend/open.js';
import { parseDestination } from '../core/destination.js';
import { loadJob } from './common.js';
import { initDestination } from './destination.js';

const initOptions = {
  force: { type: 'boolean', default: false, help: 'replace an existing strata.yaml' },
  source: { type: 'string', multiple: true, value: 'DIR', help: 'a folder to back up, written into the config (several allowed)' },
  dest: { type: 'string', value: 'DEST', help: 'the destination; alone (no --source, no --force) it initialises that destination instead' },
  adopt: { type: 'boolean', default: false, help: 'with --dest alone: mark a destination an older strata wrote sets to' },
} as const satisfies OptionSpecs;

/** initCommand writes strata.yaml (or the --config path). */
export const initCommand: Command = {
  name: 'init',
  summary: 'write a commented strata.yaml with every setting and its default',
  usage: 'init [--force] [--source DIR ...] [--dest DEST]  |  init --dest DEST [--adopt]',
  options: initOptions,
  examples: ['strata init --source ~/Documents --dest /mnt/nas/backups', 'strata init --dest /mnt/nas/backups', 'strata init --dest /mnt/nas/backups --adopt'],
  async run(ctx: CommandContext, args: string[]): Promise<number> {
    const { values } = parseCommandArgs('init', args, initOptions);
    if (values.adopt && (values.dest === undefined || values.source !== undefined)) {
      throw new StrataError('USAGE', '--adopt goes with --dest DEST alone', { hint: 'Run `strata init --dest DEST --adopt`.' });
    }
    if (values.dest !== undefined && values.source === undefined && !values.force) return initDestinationCommand(ctx, values.dest, values.adopt);
    const cwd = process.cwd();
    const file = configFilePath(ctx.global.config, ctx.env, cwd);
    const sources = values.source ?? [];
    const options: TemplateOptions = { job: newJobName() };
    if (sources.length > 0 || values.dest !== undefined) {
      // Validate and name the flags exactly as a config-less backup would, then write the
      // results out explicitly: absolute paths and fixed names do not change if the file moves
      // or a source is added later.
      const cfg = configFromFlags({ sources: sources.length > 0 ? sources : [cwd], dest: values.dest ?? PLACEHOLDER_DESTINATION }, ctx.env, cwd);
      if (sources.length > 0) options.sources = cfg.sources.map((s) => ({ path: s.path, name: s.name }));
      if (values.dest !== undefined && typeof cfg.destination === 'string') options.destination = cfg.destination;
    }
    const text = renderTemplate(options);
    const rel = path.relative(cwd, file);
    const shown = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
    // The written file must load; checking before writing means a bad flag never leaves a broken file.
    parseConfigText(text, shown, { baseDir: path.dirname(file), env: ctx.env });
    try {
      // 0600: a config may hold a password command or destination credentials. The mode only
      // applies to a new file, so a replaced one (--force) is made private before it is written.
      const handle = await open(file, values.force ? 'w' : 'wx', 0o600);
      try {
        await handle.chmod(0o600);
        await handle.writeFile(text);
      } finally {
        await handle.close();
      }
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'EEXIST') {
        throw new StrataError('ALREADY_EXISTS', `${shown} already exists`, { hint: 'Edit it, or pass --force to replace it with a fresh template (your edits are lost).' });
      }
      if (code === 'ENOENT') {
        throw new StrataError('USAGE', `cannot write ${shown}: the folder ${path.dirname(file)} does not exist`, { hint: 'Create the folder first, or choose another --config path.' });
      }
      throw fromFsError(e, `writing ${shown}`);
    }
    const placeholders = options.sources === undefined || options.destination === undefined;
    ctx.out.summary(`wrote ${shown}`);
    if (placeholders) ctx.out.info(`edit the lines marked "CHANGE THIS" in ${shown} (sources and destination) before the first backup`);
    ctx.out.data({ config: file, placeholders });
    return 0;
  },
};

/** initDestinationCommand is `strata init --dest DEST [--adopt]`: create and mark a destination. */
async function initDestinationCommand(ctx: CommandContext, dest: string, adopt: boolean): Promise<number> {
  // The password settings come from the config file when there is one (password.command).
  const config = await loadJob(ctx, { dest }, false);
  const parsed = parseDestination(config.destination);
  const backend = await openBackend(parsed, { env: ctx.env, onWarning: (w) => ctx.out.warn(w) });
  try {
    await initDestination(ctx, config, backend, parsed.kind, adopt);
  } finally {
    await backend.close();
  }
  ctx.out.data({ destination: backend.description, initialised: true });
  return 0;
}
