/** commands/args: flag parsing for commands, with bad flags reported as USAGE errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { StrataError } from '../errors.js';
import { suggest } from '../core/suggest.js';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** parseCommandArgs wraps parseArgs so that a bad flag is a USAGE error naming the command. */
export function parseCommandArgs<O extends ParseArgsOptionsConfig>(command: string, args: string[], options: O, allowPositionals = false) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals });
  } catch (e) {
    throw parseError(command, e, Object.keys(options));
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

/**
 * parseError words parseArgs' failures in strata's own terms (no option-parser text reaches the
 * user), with the nearest flag for a mistyped one.
 */
export function parseError(command: string, e: unknown, known: readonly string[]): StrataError {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  // parseArgs names an option with a short form as '-t, --tier <value>': the long name is the one to show.
  const flag = /(--[A-Za-z0-9][A-Za-z0-9-]*)/.exec(message)?.[1] ?? /'(-{1,2}[^' =<,]+)/.exec(message)?.[1] ?? '';
  // command '' is strata's global options.
  const help = command === '' ? 'Run "strata --help".' : `Run "strata ${command} --help" for its options.`;
  const where = command === '' ? '' : `${command}: `;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const near = suggest(flag.replace(/^-+/, ''), known);
      return new StrataError('USAGE', `${where}unknown option ${flag}`, { hint: near === undefined ? help : `Did you mean --${near}? ${help}` });
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take an argument/.test(message)
        ? new StrataError('USAGE', `${where}${flag} takes no value`, { hint: `Write ${flag} alone. ${help}` })
        : new StrataError('USAGE', `${where}${flag} needs a value`, { hint: `Write ${flag} VALUE (or ${flag}=VALUE for a value that starts with "-"). ${help}` });
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /argument '([^']*)'/.exec(message)?.[1] ?? '';
      return new StrataError('USAGE', `${where}unexpected argument ${JSON.stringify(arg)}`, { hint: `This takes options only. ${help}` });
    }
    default:
      return new StrataError('USAGE', `${where}${message}`, { hint: help });
  }
}
