/**
 * config/load: finding and reading strata.yaml, and building the same StrataConfig from flags
 * when there is no file. Problems are reported as `file:line:col: key: message`, all at once,
 * so a user fixes a config in one pass; nothing runs with a config that did not validate.
 */
import { access, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as Yaml from 'yaml';
import type { Document } from 'yaml';
import { formatSize, MIN_VOLUME_SIZE, parseSize, volumeSizeProblem } from '../core/size.js';
import { errnoCode, errorMessage, StrataError } from '../errors.js';
import { suggest } from '../core/suggest.js';
import { hideFromChildren } from '../exec/run.js';
import { keysAt, type ConfigIssue, type SourceConfig, type StrataConfig } from './schema.js';
import { validateConfig, type ValidateOptions } from './validate.js';

/** yaml loads the YAML parser when a config text is parsed: runs from flags alone (--source, --dest)
 *  never need it, and it is about a sixth of the start-up (issue 11: load only what a command needs). */
function yaml(): typeof Yaml {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return yamlModule;
}
let yamlModule: typeof Yaml | undefined;

/** CONFIG_FILE_NAME is the file strata looks for in the current folder. */
export const CONFIG_FILE_NAME = 'strata.yaml';

/** configFilePath is where the config is, or would be written: --config, else $STRATA_CONFIG, else ./strata.yaml. */
export function configFilePath(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string = process.cwd()): string {
  if (flag !== undefined && flag !== '') return path.resolve(cwd, flag);
  const fromEnv = env['STRATA_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(cwd, fromEnv);
  return path.join(cwd, CONFIG_FILE_NAME);
}

/**
 * findConfig returns the config file to use: --config FILE, else $STRATA_CONFIG (both even if
 * missing, so that loadConfig reports it), else ./strata.yaml if it exists, else undefined
 * (the command then runs from flags alone).
 */
export async function findConfig(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string = process.cwd()): Promise<string | undefined> {
  const file = configFilePath(flag, env, cwd);
  if ((flag !== undefined && flag !== '') || (env['STRATA_CONFIG'] ?? '') !== '') return file;
  try {
    await access(file);
    return file;
  } catch {
    return undefined;
  }
}

/** displayName shows a config path relative to the working folder when it is inside it. */
function displayName(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

const HINT = 'Fix the listed lines; "strata init" in an empty folder writes an example with every key and its default.';

/**
 * loadConfig reads, parses and validates a config file; every problem is a CONFIG error naming
 * its line. env supplies $HOME for "~"; cwd resolves a relative file name and shortens messages.
 */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Promise<StrataConfig> {
  const abs = path.resolve(cwd, file);
  const shown = displayName(abs, cwd);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      throw new StrataError('CONFIG', `config file ${shown} does not exist`, {
        hint: 'Create one with "strata init", fix --config / STRATA_CONFIG, or give --source and --dest instead.',
        cause: e,
      });
    }
    throw new StrataError('CONFIG', `cannot read config file ${shown}: ${errorMessage(e)}`, { hint: 'Check the path and its permissions.', cause: e });
  }
  return parseConfigText(text, shown, { baseDir: path.dirname(abs), env });
}

/**
 * sourceOrigins remembers where in its file each source's `path:` key is, for errors found after
 * loading (a source folder that does not exist); a WeakMap keeps StrataConfig plain data.
 */
const sourceOrigins = new WeakMap<SourceConfig, string>();

/** sourceOrigin is "strata.yaml:4:7" for a source loaded from a file, else undefined (--source flags). */
export function sourceOrigin(source: SourceConfig): string | undefined {
  return sourceOrigins.get(source);
}

/** parseConfigText validates config text; `shown` names the file in messages, baseDir anchors relative paths. */
export function parseConfigText(text: string, shown: string, options: { baseDir: string; env: NodeJS.ProcessEnv }): StrataConfig {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
      const what = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      return { offset: e.pos[0], text: `${shown}:${pos.line}:${pos.col}: YAML syntax error: ${what}${snippet(text, pos.line, pos.col)}` };
    });
    // One mistake often confuses the parser about what follows: the first problem is the one to fix.
    const first = lines.sort((a, b) => a.offset - b.offset).slice(0, 1);
    throw configError(shown, first);
  }
  if (doc.contents === null) {
    throw configError(shown, [{ offset: 0, text: `${shown}:1:1: the file has no settings (sources and destination are required)` }]);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // The yaml package stops an alias that expands too often ("billion laughs"): a config error.
    if (!(e instanceof ReferenceError)) throw e;
    throw configError(shown, [{ offset: 0, text: `${shown}: YAML aliases expand too much (${e.message}); a config needs no such aliases` }]);
  }
  const validateOptions: ValidateOptions = { baseDir: options.baseDir, env: options.env, nameClash: 'error' };
  const result = validateConfig(raw, validateOptions);
  if (result.ok) {
    // The variable holding the password must not reach any child process, and some run before
    // (tool version probes) or without (verify --no-password, list) the password being resolved.
    const password = result.config.password;
    if (password !== undefined && 'env' in password) hideFromChildren(password.env);
    result.config.sources.forEach((source, i) => {
      const { offset, found } = locate(doc, { path: ['sources', i, 'path'], message: '' });
      const { line, col } = lineCounter.linePos(offset);
      if (found) sourceOrigins.set(source, `${shown}:${line}:${col}`);
    });
    return result.config;
  }
  const lines = result.issues.map((issue) => {
    const { offset, found } = locate(doc, issue);
    const { line, col } = lineCounter.linePos(offset);
    return { offset, text: `${shown}:${line}:${col}: ${issueText(issue, found)}${colonHint(issue.message)}` };
  });
  throw configError(shown, lines);
}

/** configError lists every problem, in file order; one problem is the whole message. */
/** snippet shows a line of the file with a caret under the column, and a hint for `key:value`. */
export function snippet(text: string, line: number, col: number): string {
  const src = (text.split(/\r?\n/)[line - 1] ?? '').replace(/\t/g, ' ');
  if (src.trim() === '') return '';
  const gutter = String(line);
  const shown = src.length > 120 ? `${src.slice(0, 117)}...` : src;
  const m = /^(\s*)([A-Za-z_][\w.-]*):(\S.*)$/.exec(src);
  const fix = m === null ? '' : `\n    (a key needs a space after its colon: "${m[2] ?? ''}: ${m[3] ?? ''}")`;
  return `\n    ${gutter} | ${shown}\n    ${' '.repeat(gutter.length)} | ${' '.repeat(Math.max(0, Math.min(col - 1, 117)))}^${fix}`;
}

/** colonHint: a value such as "level:3" is almost always a key written without the space after its colon. */
function colonHint(message: string): string {
  const m = /got the string "([A-Za-z_][\w.-]*):(\S[^"]*)"/.exec(message);
  return m === null ? '' : ` (a key needs a space after its colon: "${m[1] ?? ''}: ${m[2] ?? ''}")`;
}

function configError(shown: string, lines: { offset: number; text: string }[]): StrataError {
  const sorted = lines.map((l, i) => ({ ...l, i })).sort((a, b) => a.offset - b.offset || a.i - b.i);
  const message = sorted.length === 1 ? (sorted[0]?.text ?? '') : `${sorted.length} problems in ${shown}:\n  ${sorted.map((l) => l.text).join('\n  ')}`;
  return new StrataError('CONFIG', message, { hint: HINT });
}

/** formatPath writes a config path the way a user reads it: sources[0].exclude. */
export function formatPath(at: readonly (string | number)[]): string {
  let out = '';
  for (const seg of at) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

/** issueText words one issue: "key: message", or the unknown-key sentence with a suggestion. */
function issueText(issue: ConfigIssue, present: boolean): string {
  const parent = issue.path.slice(0, -1);
  const last = issue.path[issue.path.length - 1];
  if (issue.unknownKey === true && typeof last === 'string') {
    const where = parent.length === 0 ? 'at the top level' : `in ${formatPath(parent)}`;
    const allowed = issue.allowed ?? keysAt(parent) ?? [];
    const guess = suggest(last, allowed);
    const tail = guess !== undefined ? ` (did you mean "${guess}"?)` : allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : '';
    return `unknown key "${last}" ${where}${tail}`;
  }
  if (issue.message === 'is required' && last !== undefined) {
    if (present) return `${formatPath(issue.path)}: has no value, and one is required`;
    const where = parent.length === 0 ? '' : `${formatPath(parent)}: `;
    return `${where}missing required key "${String(last)}"`;
  }
  return issue.path.length === 0 ? issue.message : `${formatPath(issue.path)}: ${issue.message}`;
}

/**
 * locate finds the offset an issue is about: the key of the last mapping entry on its path (so
 * the line shows the key's name), a list item's start, or for a missing key the mapping that
 * should hold it (found: false).
 */
function locate(doc: Document, issue: ConfigIssue): { offset: number; found: boolean } {
  const { isMap, isScalar, isSeq } = yaml();
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  const missing = (): { offset: number; found: boolean } => ({ offset, found: false });
  for (const seg of issue.path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (pair === undefined) return missing();
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (item === undefined) return missing();
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      return missing();
    }
  }
  return { offset, found: true };
}

function rangeStart(node: unknown): number | undefined {
  if (node !== null && typeof node === 'object' && 'range' in node) {
    const range = (node as { range?: unknown }).range;
    if (Array.isArray(range) && typeof range[0] === 'number') return range[0];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Config-less use

/** FlagConfig is what `strata backup --source DIR --dest DEST [--volume-size S] [--level N]` says. */
export interface FlagConfig {
  sources: string[];
  dest: string | undefined;
  volumeSize?: string | number | undefined;
  level?: string | number | undefined;
}

/**
 * configFromFlags builds a StrataConfig without a file: job "default" (machines are told apart by
 * their machine id, config/machine), one source per --source named after its folder (folders of
 * the same name: docs-<hash of the absolute path>, whatever the flag order), every default
 * applied, then the overrides.
 * Relative paths are resolved against cwd. Problems are USAGE errors naming the flag.
 */
export function configFromFlags(flags: FlagConfig, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): StrataConfig {
  const hint = 'Give at least one --source DIR and a --dest, or write a config file with "strata init".';
  if (flags.sources.length === 0) throw new StrataError('USAGE', 'no config file and no --source given', { hint });
  if (flags.dest === undefined || flags.dest === '') throw new StrataError('USAGE', 'no config file and no --dest given', { hint });
  const raw = { job: 'default', sources: flags.sources.map((p) => ({ path: p })), destination: flags.dest };
  const result = validateConfig(raw, { baseDir: cwd, env, nameClash: 'suffix' });
  if (!result.ok) {
    const lines = result.issues.map((issue) => {
      const [section, index] = issue.path;
      const flag = section === 'sources' && typeof index === 'number' ? `--source ${JSON.stringify(flags.sources[index] ?? '')}` : section === 'destination' ? '--dest' : formatPath(issue.path);
      return `${flag}: ${issue.message}`;
    });
    throw new StrataError('USAGE', lines.join('; '), { hint });
  }
  return applyOverrides(result.config, { volumeSize: flags.volumeSize, level: flags.level });
}

/** Overrides are the archive flags that win over the config for one run. */
export interface Overrides {
  volumeSize?: string | number | undefined;
  level?: string | number | undefined;
}

/**
 * applyOverrides returns a copy of config with --volume-size and --level applied to every tier
 * (a run uses one tier, so setting all is the same as setting the one in use); bad values are
 * USAGE errors naming the flag.
 */
export function applyOverrides(config: StrataConfig, overrides: Overrides): StrataConfig {
  const volumeSize = overrides.volumeSize === undefined ? undefined : flagSize(overrides.volumeSize);
  const level = overrides.level === undefined ? undefined : flagLevel(overrides.level);
  const archive = { ...config.archive };
  for (const tier of Object.keys(archive) as (keyof typeof archive)[]) {
    archive[tier] = { level: level ?? archive[tier].level, volumeSize: volumeSize ?? archive[tier].volumeSize };
  }
  return { ...config, archive };
}

function flagSize(v: string | number): number {
  const hint = `Write a size of at least ${formatSize(MIN_VOLUME_SIZE)}, like 50MiB, 1.5GiB or 100MB.`;
  let bytes: number;
  try {
    bytes = typeof v === 'number' ? v : parseSize(v);
  } catch (e) {
    throw new StrataError('USAGE', `--volume-size: ${errorMessage(e)}`, { hint });
  }
  const problem = volumeSizeProblem(bytes);
  if (problem !== undefined) throw new StrataError('USAGE', `--volume-size ${JSON.stringify(String(v))}: ${problem}`, { hint });
  return bytes;
}

function flagLevel(v: string | number): number {
  const n = typeof v === 'number' ? v : /^\s*\d\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 9) {
    throw new StrataError('USAGE', `--level: expected a compression level from 0 to 9, got ${JSON.stringify(v)}`, { hint: '0 stores without compression, 5 is the default, 9 compresses most (slowest).' });
  }
  return n;
}
