/**
 * commands/context: what every command receives — parsed global options, output, clock, environment,
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

/** OptionHelp is one option of a command: what parseArgs needs, and what `--help` says of it. */
export interface OptionHelp {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
  /** One line for `strata CMD --help`. */
  help: string;
  /** The value's placeholder in help (string options), e.g. DIR. */
  value?: string;
}

/** OptionSpecs are a command's options, declared once for parsing and for help. */
export type OptionSpecs = Record<string, OptionHelp>;

/** Command is one verb: it returns the exit code on success and throws StrataError on failure. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** The command's options (parsed with parseCommandArgs, shown by --help). */
  options?: OptionSpecs;
  /** Two or three command lines a person would type. */
  examples?: string[];
  run(ctx: CommandContext, args: string[]): Promise<number>;
}
