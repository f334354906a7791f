/**
 * cli/main: argv → command, and the one place that maps errors to exit codes and messages.
 */
import { parseArgs } from 'node:util';
import { clockFromEnv } from '../clock.js';
import * as path from 'node:path';
import { stateDir } from '../config/paths.js';
import { usePrivateUmask } from '../config/private-state.js';
import { ExitCode, StrataError, errnoCode, fromFsError, isStrataError } from '../errors.js';
import { untilFinished } from './unfinished.js';
import { ConsoleOutput } from '../ui/output.js';
import type { Command, CommandContext, GlobalOptions } from '../commands/context.js';
import { commandNames, loadCommand, loadCommands } from './registry.js';
import { parseError } from '../commands/args.js';
import { suggest } from '../core/suggest.js';
import { runRecorded } from './run-record.js';

const globalSpec = {
  config: { type: 'string' },
  state: { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', short: 'q', default: false },
  verbose: { type: 'boolean', short: 'v', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
} as const;

/** splitGlobals separates the global options (anywhere on the line) from the command's own. */
function splitGlobals(argv: string[]): { globals: string[]; rest: string[] } {
  const globals: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const name = a.startsWith('--') ? a.slice(2).split('=')[0] : undefined;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '-c' || a.startsWith('-c=')) {
      // -c is --config.
      const value = a.startsWith('-c=') ? a.slice(3) : argv[++i];
      if (value === undefined || value === '' || (!a.startsWith('-c=') && value.startsWith('-'))) {
        throw new StrataError('USAGE', '-c needs a value', { hint: 'Write -c FILE (--config FILE).' });
      }
      globals.push(`--config=${value}`);
    } else if (name === 'config' || name === 'state') {
      // A missing value (last argument, "--state=", or another option next) must not silently
      // mean "the default": that would read another config, or write state somewhere else.
      const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (value === undefined || value === '' || (!a.includes('=') && value.startsWith('-'))) {
        throw new StrataError('USAGE', `--${name} needs a value`, { hint: `Write --${name} ${name === 'config' ? 'FILE' : 'DIR'} (or --${name}=VALUE for a value that starts with "-").` });
      }
      globals.push(`--${name}=${value}`);
    } else if (name === 'json' || name === 'quiet' || name === 'verbose' || a === '-q' || a === '-v') {
      globals.push(a);
    } else {
      rest.push(a);
    }
  }
  return { globals, rest };
}

/** findCommand looks a command up by name; an unknown one is a usage error with a suggestion. */
async function findCommand(name: string): Promise<Command> {
  const command = await loadCommand(name);
  if (command !== undefined) return command;
  const near = suggest(name, [...commandNames]);
  const list = `Commands: ${commandNames.join(', ')}.`;
  throw new StrataError('USAGE', `unknown command "${name}"`, { hint: near === undefined ? list : `Did you mean "strata ${near}"? ${list}` });
}

/** commandHelp is what `strata help CMD` and `strata CMD --help` print. */
export function commandHelp(command: Command): string {
  const lines = [`usage: strata ${command.usage}`, '', command.summary];
  const options = Object.entries(command.options ?? {});
  if (options.length > 0) {
    lines.push('', 'options:');
    const left = options.map(([long, o]) => `${o.short === undefined ? '    ' : `-${o.short}, `}--${long}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`);
    const width = Math.max(...left.map((l) => l.length));
    options.forEach(([, o], i) => lines.push(`  ${(left[i] ?? '').padEnd(width)}  ${o.help}`));
  }
  if ((command.examples ?? []).length > 0) lines.push('', 'examples:', ...(command.examples ?? []).map((e) => `  ${e}`));
  lines.push('', GLOBAL_HELP);
  return lines.join('\n');
}

const GLOBAL_HELP = 'global options: -c, --config FILE (else $STRATA_CONFIG, else ./strata.yaml); --state DIR; --json; -q, --quiet; -v, --verbose';

function usage(commands: readonly Command[]): string {
  const lines = ['usage: strata [-c|--config FILE] [--state DIR] [--json] [-q|--quiet|-v|--verbose] <command> [options]', '', 'commands:'];
  for (const c of commands) lines.push(`  ${c.name.padEnd(18)} ${c.summary}`);
  lines.push(`  ${'completion SHELL'.padEnd(18)} print a completion script for bash, zsh or fish (source <(strata completion bash))`);
  lines.push('', 'Run "strata help <command>" (or "strata <command> --help") for its options and examples.');
  return lines.join('\n');
}

/** main runs strata with the given arguments and exits the process with the right code. */
export async function main(argv: string[]): Promise<void> {
  // The state folder (and the staging of sets) holds every file name and hash: what strata and
  // its children (git, 7zz, par2) create is private to the user. Restore sets the recorded modes
  // of what it restores explicitly (see pipeline/restore).
  usePrivateUmask();
  quietOnClosedPipe(process.stdout);
  quietOnClosedPipe(process.stderr);
  process.exitCode = await untilFinished(() => runCli(argv));
}

/**
 * quietOnClosedPipe keeps a reader that went away (`strata log | head -1`: EPIPE) from crashing
 * strata with a stack trace: what is still written is dropped, and the command finishes as it
 * would have — a backup piped into head is still completed, not left half-written.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: unknown) => {
    const code = errnoCode(e);
    if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED') return;
    // Anything else on stdout/stderr is unexpected: fail as Node would without this listener.
    setImmediate(() => {
      throw e;
    });
  });
}

/** runCli runs one command and returns its exit code; every error is reported here. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let json = argv.includes('--json');
  let state: string | undefined;
  try {
    const { globals, rest } = splitGlobals(argv);
    let parsed;
    try {
      parsed = parseArgs({ args: globals, options: globalSpec, strict: true, allowPositionals: false });
    } catch (e) {
      throw parseError('', e, Object.keys(globalSpec));
    }
    const v = parsed.values;
    json = v.json;
    const global: GlobalOptions = { json: v.json, quiet: v.quiet, verbose: v.verbose };
    if (v.config !== undefined) global.config = v.config;
    if (v.state !== undefined) global.state = v.state;
    state = stateDir(v.state, env);
    const [first, ...args] = rest;
    // `strata --version` is the version command (strata's version and the tools it found).
    const name = first === '--version' || first === '-V' ? 'version' : first;
    if (name === undefined && json) {
      // --json promises one JSON document on stdout: the usage error, not the plain-text usage.
      throw new StrataError('USAGE', 'no command given', { hint: `Run "strata --help"; commands: ${commandNames.join(', ')}.` });
    }
    if (name === 'completion') {
      const shell = args[0];
      const { bashCompletion, fishCompletion, zshCompletion } = await import('./completion.js');
      const commands = await loadCommands();
      const script = shell === 'bash' ? bashCompletion(commands) : shell === 'zsh' ? zshCompletion(commands) : shell === 'fish' ? fishCompletion(commands) : undefined;
      if (script === undefined || args.length !== 1) throw new StrataError('USAGE', 'completion needs one shell: bash, zsh or fish', { hint: 'e.g. source <(strata completion bash)' });
      process.stdout.write(script);
      return ExitCode.ok;
    }
    if (name === 'help' && args[0] !== undefined) {
      // strata help CMD: that command's options, defaults and examples.
      process.stdout.write(commandHelp(await findCommand(args[0])) + '\n');
      return ExitCode.ok;
    }
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(usage(await loadCommands()) + '\n');
      return name === undefined ? ExitCode.usage : ExitCode.ok;
    }
    const command = await findCommand(name);
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(commandHelp(command) + '\n');
      return ExitCode.ok;
    }
    const out = new ConsoleOutput({ json: global.json, verbosity: global.quiet ? 'quiet' : global.verbose ? 'verbose' : 'normal' });
    const ctx: CommandContext = { global, out, clock: clockFromEnv(env), env, signal: controller.signal };
    const stateFolder = state;
    return await runRecorded(command, ctx, args, stateFolder, (e) => asStrataError(reportedError(e, controller.signal, stateFolder)));
  } catch (e) {
    return report(reportedError(e, controller.signal, state), json);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** reportedError is the error a failed run reports. */
function reportedError(e: unknown, signal: AbortSignal, state: string | undefined): unknown {
  // After Ctrl-C, what fails next fails because of it (a child killed by the same SIGINT, e.g.
  // the 7zz version probe, would otherwise read as "7zz missing"): report the cancellation.
  if (signal.aborted && !isStrataError(e, 'CANCELLED')) return new StrataError('CANCELLED', 'cancelled', { cause: e });
  return stateFolderError(e, state);
}

const STATE_FOLDER_ERRNOS = new Set(['ENOTDIR', 'EISDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'ELOOP', 'ENAMETOOLONG']);

/**
 * stateFolderError turns a filesystem failure inside the state folder (not a folder, read-only,
 * no permission, full: it surfaces wherever a command first touches it, e.g. the job lock or a
 * work folder) into a user error naming the folder, instead of an internal error with a stack.
 */
function stateFolderError(e: unknown, dir: string | undefined): unknown {
  // Only what the folder's owner can fix; anything else (ENOENT of a file strata made) stays a bug report.
  if (isStrataError(e) || !STATE_FOLDER_ERRNOS.has(errnoCode(e) ?? '')) return e;
  const failed = (e as NodeJS.ErrnoException).path;
  if (typeof failed !== 'string' || dir === undefined) return e;
  const rel = path.relative(dir, path.resolve(failed));
  if (rel.startsWith('..') || path.isAbsolute(rel)) return e;
  const err = fromFsError(e, `cannot use the state folder ${dir}`);
  return new StrataError(err.code, err.message, {
    hint: err.code === 'DISK_FULL' ? err.hint : 'Point --state at a folder you can write to (default: $XDG_STATE_HOME/strata or ~/.local/state/strata), or fix its permissions.',
    cause: e,
  });
}

/** asStrataError is a StrataError as it is, anything else an INTERNAL error (a bug). */
function asStrataError(e: unknown): StrataError {
  return isStrataError(e) ? e : new StrataError('INTERNAL', e instanceof Error ? (e.stack ?? e.message) : String(e), { hint: 'This is a bug in strata; please report it with the command you ran.' });
}

/** report prints an error (as text or JSON) and returns its exit code. */
function report(e: unknown, json: boolean): number {
  const err = asStrataError(e);
  if (json) {
    process.stdout.write(JSON.stringify({ error: { code: err.code, message: err.message, hint: err.hint ?? null, exitCode: err.exitCode } }, null, 2) + '\n');
  }
  process.stderr.write(`strata: error: ${err.message}\n`);
  if (err.hint !== undefined) process.stderr.write(`hint: ${err.hint}\n`);
  return err.exitCode;
}
