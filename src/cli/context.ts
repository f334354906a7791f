/**
 * cli/context: what every command receives — parsed global options, output, clock, environment,
 * and a cancellation signal. Commands are thin: they parse their own flags with parseArgs,
 * call into the layers below and print through `out`.
 */
import type { Clock } from '../clock.js';
import type { Output } from '../ui/output.js';

/** GlobalOptions are accepted by every command. */
export interface GlobalOptions {
  config?: string;
  state?: string;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** CommandContext is handed to every command. */
export interface CommandContext {
  global: GlobalOptions;
  out: Output;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
}

/** Command is one verb: it returns the exit code on success and throws StrataError on failure. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(ctx: CommandContext, args: string[]): Promise<number>;
}
