/**
 * config/validate: a parsed strata.yaml becomes a StrataConfig, or every problem found in it, each
 * at its path of keys. The shape is checked by config/schema's configSchema; here come what a
 * schema cannot say alone: nulls that mean "the default", sources named from their folders (and
 * clashing names told apart), destinations parsed and made absolute, paths resolved against the
 * config file's folder.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as z from 'zod';
import { DESTINATION_BLOCK_KEYS, DESTINATION_KINDS, parseDestination } from '../core/destination.js';
import { isStrataError } from '../errors.js';
import { resolveUserPath } from './paths.js';
import { ENTRY_OWN_KEYS, configSchema, keysAt, type ConfigIssue, type NamedDestination, type StrataConfig } from './schema.js';
import { retentionSectionSchema } from './schema-lifecycle.js';
import { describe } from './schema-values.js';

/** ValidateOptions says how paths are made absolute and how clashing source names are handled. */
export interface ValidateOptions {
  /** Relative paths are resolved against this folder (the config file's folder, or the cwd). */
  baseDir: string;
  env: NodeJS.ProcessEnv;
  /**
   * 'error': two sources may not end up with the same name (config files: a name derived from
   * the folder must not change when another source is added, so a clash asks for an explicit
   * name). 'suffix': derived names that clash get a hash of their absolute path, `docs-3f9a2c`
   * (config-less use with --source: the same folder gets the same name whatever the flag order).
   */
  nameClash: 'error' | 'suffix';
}

/** ValidateResult is either a usable config or every problem found. */
export type ValidateResult = { ok: true; config: StrataConfig } | { ok: false; issues: ConfigIssue[] };

/**
 * stripNulls drops allowed keys whose value is empty, so that `exclude:` with only comments under
 * it means "the default". An empty unknown key is kept, to be reported like any other.
 */
function stripNulls(v: unknown, at: (string | number)[] = []): unknown {
  if (Array.isArray(v)) return v.map((x, i) => stripNulls(x, [...at, i]));
  if (v !== null && typeof v === 'object') {
    const allowed = keysAt(at) ?? [];
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if ((x === null || x === undefined) && allowed.includes(k)) continue;
      out[k] = stripNulls(x, [...at, k]);
    }
    return out;
  }
  return v;
}

/** defaultName turns a folder's name into a source name: invalid characters become "-". */
export function defaultName(folder: string): string {
  const base = path.basename(folder).replace(/[^A-Za-z0-9._-]+/g, '-');
  return base === '' || base === '.' || base === '..' || /^-+$/.test(base) ? 'source' : base;
}

/** resolveDestination makes a local destination absolute; URLs (scheme:...) are left to the backend layer. */
function resolveDestination(dest: string, options: ValidateOptions): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(dest)) return dest;
  return resolveUserPath(dest, options.baseDir, options.env);
}

/**
 * checkDestinationBlock makes a structured destination as strict as the rest of the config: an
 * unknown key (a misspelt "endpiont" would silently mean the AWS default) or a block the backend
 * layer refuses is a ConfigIssue, so it is reported with its line, before anything runs. A local
 * path is made absolute against the config's folder, like every other path in the file. Values
 * are never quoted in messages: the block may hold keys and passwords.
 */
function checkDestinationBlock(block: Record<string, unknown>, options: ValidateOptions, at: (string | number)[] = ['destination']): { block: Record<string, unknown>; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const typeKey = 'type' in block || !('kind' in block) ? 'type' : 'kind';
  const type = block[typeKey];
  let allowed: readonly string[];
  if (type === undefined || type === null) allowed = ['type', 'url'];
  // The keys of each kind come from core/destination's one discriminated union (destinationBlockSchema).
  else if (typeof type === 'string' && DESTINATION_BLOCK_KEYS[type] !== undefined) allowed = DESTINATION_BLOCK_KEYS[type];
  else return { block, issues: [{ path: [...at, typeKey], message: `expected one of ${DESTINATION_KINDS.join(', ').replace(/, (\w+)$/, ' or $1')}, got ${describe(type)}` }] };
  const allowedHere = allowed.map((k) => (k === 'type' ? typeKey : k));
  for (const key of Object.keys(block)) {
    if (!allowedHere.includes(key)) issues.push({ path: [...at, key], message: `unknown key "${key}"`, unknownKey: true, allowed: [...allowedHere] });
  }
  if (issues.length > 0) return { block, issues };
  let dest;
  try {
    dest = parseDestination(block);
  } catch (e) {
    if (!isStrataError(e)) throw e;
    // Point at the key the message names ('s3 destination needs "bucket"'), else at the block.
    const named = [...e.message.matchAll(/"([A-Za-z]+)"/g)].map((m) => m[1] ?? '').find((k) => k in block);
    return { block, issues: [{ path: named === undefined ? at : [...at, named], message: e.message.replace(/^destination: /, '') }] };
  }
  if (dest.kind === 'local') {
    const key = typeof block['path'] === 'string' ? 'path' : 'url';
    return { block: { ...block, [key]: resolveUserPath(dest.path, options.baseDir, options.env) }, issues };
  }
  return { block, issues };
}

/**
 * nameSources settles every source's name: explicit names must be unique; derived names come
 * from the folder and are made unique or reported, as options.nameClash says. It reads the raw
 * input so that name clashes are reported together with schema problems.
 */
function nameSources(raw: unknown, options: ValidateOptions): { names: Map<number, string>; issues: ConfigIssue[] } {
  const names = new Map<number, string>();
  const issues: ConfigIssue[] = [];
  if (raw === null || typeof raw !== 'object' || !Array.isArray((raw as { sources?: unknown }).sources)) return { names, issues };
  const sources = (raw as { sources: unknown[] }).sources;
  const owner = new Map<string, number>();
  const explicit = (s: unknown): unknown => (s !== null && typeof s === 'object' ? (s as { name?: unknown }).name : undefined);
  sources.forEach((s, i) => {
    const name = explicit(s);
    if (typeof name !== 'string') return;
    const first = owner.get(name);
    if (first !== undefined) issues.push({ path: ['sources', i, 'name'], message: `duplicate source name "${name}" (also used by sources[${first}])` });
    else owner.set(name, i);
    names.set(i, name);
  });
  const derived: { i: number; abs: string; name: string }[] = [];
  sources.forEach((s, i) => {
    if (explicit(s) !== undefined || s === null || typeof s !== 'object') return;
    const p = (s as { path?: unknown }).path;
    if (typeof p !== 'string' || p === '') return;
    const abs = resolveUserPath(p, options.baseDir, options.env);
    derived.push({ i, abs, name: defaultName(abs) });
  });
  if (options.nameClash === 'suffix') {
    // Config-free names must not depend on the order of the --source flags: every source whose
    // folder name is shared (with another source or an explicit name) is named after its whole
    // path instead, `<folder>-<first 6 hex digits of SHA-256 of the absolute path>`.
    const seen = new Map<string, number>();
    for (const d of derived) {
      const twice = seen.get(d.abs);
      if (twice !== undefined) issues.push({ path: ['sources', d.i, 'path'], message: `the folder ${d.abs} is given twice (also sources[${twice}])` });
      else seen.set(d.abs, d.i);
    }
    const count = new Map<string, number>();
    for (const d of derived) count.set(d.name, (count.get(d.name) ?? 0) + 1);
    for (const d of derived) {
      const clash = (count.get(d.name) ?? 0) > 1 || owner.has(d.name);
      const name = clash ? `${d.name}-${createHash('sha256').update(d.abs).digest('hex').slice(0, 6)}` : d.name;
      owner.set(name, d.i);
      names.set(d.i, name);
    }
    return { names, issues };
  }
  for (const { i, name } of derived) {
    const first = owner.get(name);
    if (first !== undefined) {
      issues.push({
        path: ['sources', i, 'path'],
        message: `this source would be named "${name}" after its folder, like sources[${first}]; give one of them an explicit name:`,
      });
      continue;
    }
    owner.set(name, i);
    names.set(i, name);
  }
  return { names, issues };
}

/** issuesFromZod turns one zod issue into ConfigIssues (an unknown-keys issue becomes one per key). */
function issuesFromZod(iss: z.core.$ZodIssue): ConfigIssue[] {
  const at = iss.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (iss.code === 'unrecognized_keys') {
    return iss.keys.map((key) => ({ path: [...at, key], message: `unknown key "${key}"`, unknownKey: true }));
  }
  return [{ path: at, message: iss.message }];
}

/**
 * validateConfig checks parsed YAML (or an object built from flags) and returns the complete
 * StrataConfig, or every problem found. Paths become absolute, "~" is expanded, source names are
 * settled; empty values count as absent so that their defaults apply.
 */
export function validateConfig(raw: unknown, options: ValidateOptions): ValidateResult {
  const input = stripNulls(raw);
  const parsed = configSchema.safeParse(input);
  const named = nameSources(input, options);
  const rawDest = input !== null && typeof input === 'object' ? (input as { destination?: unknown }).destination : undefined;
  const destBlock = rawDest !== null && typeof rawDest === 'object' && !Array.isArray(rawDest) ? checkDestinationBlock(rawDest as Record<string, unknown>, options) : undefined;
  const dests = checkDestinations(input, options);
  const issues: ConfigIssue[] = [...(parsed.success ? [] : parsed.error.issues.flatMap(issuesFromZod)), ...named.issues, ...(destBlock?.issues ?? []), ...dests.issues];
  if (!parsed.success || issues.length > 0) return { ok: false, issues };
  const c = parsed.data;
  const primary = dests.list?.[0];
  const config: StrataConfig = {
    job: c.job,
    sources: c.sources.map((s, i) => ({
      name: named.names.get(i) ?? s.name ?? defaultName(s.path),
      path: resolveUserPath(s.path, options.baseDir, options.env),
      exclude: s.exclude,
    })),
    destination: primary !== undefined ? primary.destination : typeof c.destination === 'string' ? resolveDestination(c.destination, options) : (destBlock?.block ?? c.destination ?? ''),
    archive: c.archive,
    schedule: c.schedule,
    staging: c.staging,
    routing: c.routing,
    protection: c.protection,
    retention: primary?.retention ?? c.retention,
  };
  if (c.notify !== undefined) config.notify = c.notify;
  if (dests.list !== undefined) config.destinations = dests.list;
  if (c.replicate !== undefined) config.replicate = c.replicate;
  if (c.password !== undefined) {
    config.password = 'file' in c.password ? { file: resolveUserPath(c.password.file, options.baseDir, options.env) } : c.password;
  }
  return { ok: true, config };
}

/**
 * checkDestinations reads `destinations:` (with `destination:`: neither or both is an issue): each
 * entry's destination is settled like `destination:` (a local path made absolute, a block checked
 * key by key) and its retention is its own keys over the job's `retention:`. Zod has checked the
 * entries' names and retention values already; this adds what relates entries or keys.
 */
function checkDestinations(input: unknown, options: ValidateOptions): { list?: NamedDestination[]; issues: ConfigIssue[] } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return { issues: [] };
  const raw = input as Record<string, unknown>;
  const entries = raw['destinations'];
  if (entries === undefined) return { issues: raw['destination'] === undefined ? [{ path: ['destination'], message: 'is required' }] : [] };
  if (raw['destination'] !== undefined) {
    return { issues: [{ path: ['destinations'], message: 'give either destination: (one) or destinations: (a list, the first the primary), not both' }] };
  }
  if (!Array.isArray(entries)) return { issues: [] };
  const issues: ConfigIssue[] = [];
  const list: NamedDestination[] = [];
  const seen = new Map<string, number>();
  const jobRetention = raw['retention'] !== null && typeof raw['retention'] === 'object' ? (raw['retention'] as Record<string, unknown>) : {};
  entries.forEach((entry, i) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return;
    const e = entry as Record<string, unknown>;
    const name = typeof e['name'] === 'string' ? e['name'] : undefined;
    if (name !== undefined) {
      const first = seen.get(name);
      if (first !== undefined) issues.push({ path: ['destinations', i, 'name'], message: `duplicate destination name "${name}" (also used by destinations[${first}])` });
      else seen.set(name, i);
    }
    const rest = Object.fromEntries(Object.entries(e).filter(([k]) => !ENTRY_OWN_KEYS.includes(k)));
    const keys = Object.keys(rest);
    let destination: string | Record<string, unknown> | undefined;
    if (keys.length === 1 && typeof rest['url'] === 'string' && rest['url'] !== '') destination = resolveDestination(rest['url'], options);
    else if (keys.length === 1 && typeof rest['path'] === 'string' && rest['path'] !== '') destination = resolveUserPath(rest['path'], options.baseDir, options.env);
    else if (keys.length === 0) issues.push({ path: ['destinations', i], message: 'needs a destination: path, url, or type with its keys' });
    else {
      const typed = 'type' in rest || 'kind' in rest || !('path' in rest) ? rest : { type: 'local', ...rest };
      const checked = checkDestinationBlock(typed, options, ['destinations', i]);
      issues.push(...checked.issues);
      destination = checked.block;
    }
    const own = e['retention'];
    const merged = retentionSectionSchema.safeParse({ ...jobRetention, ...(own !== null && typeof own === 'object' ? own : {}) });
    if (!merged.success) {
      // A problem of the job's own retention: values is reported there once; the entry's own keys
      // and the rules across tiers of the merged retention are reported at the entry.
      const ownKeys = own !== null && typeof own === 'object' ? Object.keys(own) : [];
      const jobFine = retentionSectionSchema.safeParse(jobRetention).success;
      for (const x of merged.error.issues.flatMap(issuesFromZod)) {
        const key = x.path[0];
        if (typeof key === 'string' && ownKeys.includes(key)) issues.push({ ...x, path: ['destinations', i, 'retention', ...x.path] });
        else if (jobFine) issues.push({ ...x, path: ['destinations', i, 'retention'] });
      }
      return;
    }
    if (name !== undefined && destination !== undefined) list.push({ name, destination, retention: merged.data });
  });
  return { list, issues };
}
