/**
 * commands/source-paths: PATH arguments given as absolute paths (`/home/me/docs/a.txt`) are read as
 * a path in the source whose folder holds them (`a.txt` in source docs), for restore, history, ls
 * and find. The sources are the config file's; a path under none of them is a usage error.
 */
import { realpath } from 'node:fs/promises';
import type { SourceConfig } from '../config/schema.js';
import { sourceRelative, type SourceFolder } from '../core/browse.js';
import { StrataError } from '../errors.js';

/** sourceFolders lists the sources with their folders, as written and with links resolved. */
export async function sourceFolders(sources: readonly Pick<SourceConfig, 'name' | 'path'>[]): Promise<SourceFolder[]> {
  return Promise.all(
    sources.map(async (s) => {
      const real = await realpath(s.path).catch(() => s.path);
      return { name: s.name, paths: real === s.path ? [s.path] : [s.path, real] };
    }),
  );
}

/**
 * resolveSourceArgs maps absolute PATH arguments to paths relative to their source and returns the
 * source they name (which then narrows the command, like --source). Relative arguments are kept.
 * Refused (exit 2): an absolute path under no source, paths of several sources in one command, or
 * a --source other than the one the paths are in. Where the command takes patterns (restore,
 * find), an argument under no source that holds a glob character (`/*.txt`) is a pattern anchored
 * at the source's top, as in .gitignore, and is kept.
 */
export async function resolveSourceArgs(
  sources: readonly Pick<SourceConfig, 'name' | 'path'>[],
  args: readonly string[],
  sourceFlag: string | undefined,
  command: string,
  patterns = false,
): Promise<{ source: string | undefined; paths: string[] }> {
  if (!args.some((a) => a.startsWith('/'))) return { source: sourceFlag, paths: [...args] };
  const folders = await sourceFolders(sources);
  const named = new Set<string>();
  const paths = args.map((a) => {
    const r = sourceRelative(a, folders);
    if (r === undefined && patterns && /[*?[]/.test(a)) return a;
    if (r === undefined) {
      const list = folders.map((f) => `${f.name} = ${f.paths[0] ?? ''}`).join(', ');
      throw new StrataError('USAGE', `${command}: ${a} is not in any source folder${folders.length > 0 ? ` (${list})` : ''}`, {
        hint: folders.length > 0
          ? 'Give a path inside one of these folders, or a path relative to its source folder with --source NAME.'
          : 'Absolute paths are read against the sources of a config file (--config FILE); without one, give the path relative to its source folder with --source NAME (strata list shows the sources).',
      });
    }
    if (r.source !== undefined) named.add(r.source);
    return r.path;
  });
  if (named.size > 1) {
    throw new StrataError('USAGE', `${command}: the paths are in several sources (${[...named].sort().join(', ')})`, { hint: `Run strata ${command} once per source.` });
  }
  const source = [...named][0];
  if (source !== undefined && sourceFlag !== undefined && sourceFlag !== source) {
    throw new StrataError('USAGE', `${command}: the paths are in source ${source}, not in --source ${sourceFlag}`, { hint: 'Drop --source: an absolute path names its source.' });
  }
  return { source: source ?? sourceFlag, paths };
}
