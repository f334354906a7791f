/** cli/args: flag parsing for commands, with bad flags reported as USAGE errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { StrataError } from '../errors.js';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** parseCommandArgs wraps parseArgs so that a bad flag is a USAGE error naming the command. */
export function parseCommandArgs<O extends ParseArgsOptionsConfig>(command: string, args: string[], options: O, allowPositionals = false) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals });
  } catch (e) {
    throw new StrataError('USAGE', `${command}: ${e instanceof Error ? e.message : String(e)}`, { hint: `Run "strata ${command} --help".` });
  }
  // "--to=" (or --dest "") gives an empty string, which would quietly mean the current folder or
  // the default: no option of strata takes an empty value.
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === '' || (Array.isArray(value) && value.includes(''))) {
      throw new StrataError('USAGE', `${command}: --${name} needs a value`, { hint: `Run "strata ${command} --help".` });
    }
  }
  return parsed;
}
