/** cli/args: flag parsing for commands, with bad flags reported as USAGE errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { StrataError } from '../errors.js';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** parseCommandArgs wraps parseArgs so that a bad flag is a USAGE error naming the command. */
export function parseCommandArgs<O extends ParseArgsOptionsConfig>(command: string, args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (e) {
    throw new StrataError('USAGE', `${command}: ${e instanceof Error ? e.message : String(e)}`, { hint: `Run "strata ${command} --help".` });
  }
}
