/**
 * cli/main: argv → command, and the one place that maps errors to exit codes and messages.
 */
import { parseArgs } from 'node:util';
import { clockFromEnv } from '../clock.js';
import { ExitCode, StrataError, isStrataError } from '../errors.js';
import { ConsoleOutput } from '../ui/output.js';
import type { Command, CommandContext, GlobalOptions } from './context.js';
import { commands } from './registry.js';
import { strataVersion } from '../version.js';

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
    if (name === 'config' || name === 'state') {
      globals.push(a);
      if (!a.includes('=')) globals.push(argv[++i] ?? '');
    } else if (name === 'json' || name === 'quiet' || name === 'verbose' || a === '-q' || a === '-v') {
      globals.push(a);
    } else {
      rest.push(a);
    }
  }
  return { globals, rest };
}

function usage(): string {
  const lines = ['usage: strata [--config FILE] [--state DIR] [--json] [--quiet|--verbose] <command> [options]', '', 'commands:'];
  for (const c of commands) lines.push(`  ${c.name.padEnd(18)} ${c.summary}`);
  lines.push('', 'Run "strata <command> --help" for a command\'s options.');
  return lines.join('\n');
}

/** main runs strata with the given arguments and exits the process with the right code. */
export async function main(argv: string[]): Promise<void> {
  const code = await runCli(argv);
  process.exitCode = code;
}

/** runCli runs one command and returns its exit code; every error is reported here. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let json = argv.includes('--json');
  try {
    const { globals, rest } = splitGlobals(argv);
    let parsed;
    try {
      parsed = parseArgs({ args: globals, options: globalSpec, strict: true, allowPositionals: false });
    } catch (e) {
      throw new StrataError('USAGE', e instanceof Error ? e.message : String(e), { hint: 'Run "strata --help".' });
    }
    const v = parsed.values;
    json = v.json;
    const global: GlobalOptions = { json: v.json, quiet: v.quiet, verbose: v.verbose };
    if (v.config !== undefined) global.config = v.config;
    if (v.state !== undefined) global.state = v.state;
    const [name, ...args] = rest;
    if (name === '--version' || name === 'version') {
      process.stdout.write(`strata ${await strataVersion()}\n`);
      return ExitCode.ok;
    }
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(usage() + '\n');
      return name === undefined ? ExitCode.usage : ExitCode.ok;
    }
    const command: Command | undefined = commands.find((c) => c.name === name);
    if (command === undefined) {
      throw new StrataError('USAGE', `unknown command "${name}"`, { hint: `Commands: ${commands.map((c) => c.name).join(', ')}.` });
    }
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(`usage: strata ${command.usage}\n\n${command.summary}\n`);
      return ExitCode.ok;
    }
    const out = new ConsoleOutput({ json: global.json, verbosity: global.quiet ? 'quiet' : global.verbose ? 'verbose' : 'normal' });
    const ctx: CommandContext = { global, out, clock: clockFromEnv(env), env, signal: controller.signal };
    return await command.run(ctx, args);
  } catch (e) {
    // After Ctrl-C, what fails next fails because of it (a child killed by the same SIGINT, e.g.
    // the 7zz version probe, would otherwise read as "7zz missing"): report the cancellation.
    if (controller.signal.aborted && !isStrataError(e, 'CANCELLED')) {
      return report(new StrataError('CANCELLED', 'cancelled (interrupted)', { cause: e }), json);
    }
    return report(e, json);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** report prints an error (as text or JSON) and returns its exit code. */
function report(e: unknown, json: boolean): number {
  const err = isStrataError(e) ? e : new StrataError('INTERNAL', e instanceof Error ? (e.stack ?? e.message) : String(e), { hint: 'This is a bug in strata; please report it with the command you ran.' });
  if (json) {
    process.stdout.write(JSON.stringify({ error: { code: err.code, message: err.message, hint: err.hint ?? null, exitCode: err.exitCode } }, null, 2) + '\n');
  }
  process.stderr.write(`strata: error: ${err.message}\n`);
  if (err.hint !== undefined) process.stderr.write(`hint: ${err.hint}\n`);
  return err.exitCode;
}
