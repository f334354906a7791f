/**
 * config/schema: what a strata.yaml may contain, as a zod schema, and the StrataConfig it becomes.
 *
 * Every mapping is strict: an unknown key is an error, never silently ignored, because a typo
 * ("exlude") would otherwise back up what the user meant to leave out. Messages are written for
 * people ("expected a list of strings, got a string"); config/load.ts prefixes each with the file
 * position of the key it concerns. New sections (retention, protection) are added in one place:
 * see `sections` below.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { z } from 'zod';
import { defaultProtectionConfig, validateProtectionConfig, type ProtectionConfig, type SizeClassRule } from '../core/protection/index.js';
import { DESTINATION_BLOCK_KEYS, DESTINATION_KINDS, parseDestination } from '../core/destination.js';
import { parseSize, volumeSizeProblem } from '../core/size.js';
import { errorMessage, isStrataError } from '../errors.js';
import { resolveUserPath } from './paths.js';
import { describe, expected, parseSeconds } from './schema-values.js';
import { notifySchema, retentionSectionSchema, scheduleAtSchema, type NotifyConfig, type RetentionConfig } from './schema-lifecycle.js';

export { parseSeconds } from './schema-values.js';
export { NOTIFY_EVENTS, NOTIFY_TIMEOUT_S, type NotifyConfig, type RetentionConfig } from './schema-lifecycle.js';

/** TIERS are the backup tiers, each with its own archive settings (defined in core/naming). */
export { TIERS, type Tier } from '../core/naming.js';
import type { Tier } from '../core/naming.js';
import { defaultRoutePolicy, type RoutePolicy } from '../core/parts.js';

/** WEEKDAYS are the values of schedule.weeklyOn, Monday first. */
export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
/** Weekday is a day of the week in lower case. */
export type Weekday = (typeof WEEKDAYS)[number];

const MiB = 1024 * 1024;

/**
 * DEFAULTS are the values used for keys a config leaves out. Daily volumes are smaller because
 * daily sets are incremental and usually small: a 50MiB volume wastes less of a slow upload
 * when one fails and is retried; the larger tiers favour fewer files on the destination.
 */
export const DEFAULTS = {
  job: 'default',
  level: 5,
  volumeSize: { daily: 50 * MiB, weekly: 100 * MiB, monthly: 100 * MiB, yearly: 100 * MiB } satisfies Record<Tier, number>,
  weeklyOn: 'sunday' as Weekday,
  maxVolumes: 4,
} as const;

/** SourceConfig is one folder to back up. */
export interface SourceConfig {
  /** Unique within the job; names the sets of this source. */
  name: string;
  /** Absolute path of the folder. */
  path: string;
  /** Patterns in .gitignore syntax, relative to path. */
  exclude: string[];
}

/** PasswordConfig says where the password comes from when neither environment variable is set. */
export type PasswordConfig = { command: string; timeoutSeconds?: number } | { file: string } | { env: string };

/** PASSWORD_COMMAND_TIMEOUT_S is how long a password command may run when the config sets no password.timeout. */
export const PASSWORD_COMMAND_TIMEOUT_S = 60;

/** ArchiveTierConfig holds the 7-Zip settings of one tier. */
export interface ArchiveTierConfig {
  /** Compression level 0 (store) … 9 (ultra). */
  level: number;
  /** Bytes per archive volume. */
  volumeSize: number;
}

/** StrataConfig is a validated job configuration with every default filled in and paths absolute. */
export interface StrataConfig {
  job: string;
  sources: SourceConfig[];
  /** A path or URL, or a structured block that the backend layer parses. */
  destination: string | Record<string, unknown>;
  password?: PasswordConfig;
  archive: Record<Tier, ArchiveTierConfig>;
  schedule: { weeklyOn: Weekday; /** The daily time of `strata schedule install`, HH:MM (local). */ at?: string };
  staging: { maxVolumes: number };
  /** How a set's files are split into archives (core/parts): the `routing:` section over defaultRoutePolicy; absent: the defaults. */
  routing?: RoutePolicy;
  /** The PAR2 policy (core/protection): the `protection:` section over defaultProtectionConfig. */
  protection: ProtectionConfig;
  /** Who hears how runs end (ops/notify); absent: nobody. */
  notify?: NotifyConfig;
  /** How long each tier's sets are kept (core/retention), and whether a backup prunes after it. */
  retention: RetentionConfig;
  /**
   * The named destinations of `destinations:` (the first is the primary, also in `destination`),
   * each with its retention (its own keys over the job's). Absent with a single `destination:`:
   * see destinationsOf.
   */
  destinations?: NamedDestination[];
  /** `replicate: after-backup`: a backup copies its sets to the other destinations (pipeline/replicate). */
  replicate?: ReplicateMode;
}

/** NamedDestination is one entry of `destinations:`. */
export interface NamedDestination {
  name: string;
  /** A path or URL, or a structured block (as `destination:`). */
  destination: string | Record<string, unknown>;
  retention: RetentionConfig;
}

/** REPLICATE_MODES are the values of `replicate:`: only by `strata replicate`, or after each backup too. */
export const REPLICATE_MODES = ['manual', 'after-backup'] as const;
/** ReplicateMode is a value of `replicate:`. */
export type ReplicateMode = (typeof REPLICATE_MODES)[number];

/** PRIMARY_NAME is the name of the destination of a config with a single `destination:`. */
export const PRIMARY_NAME = 'default';

/** destinationsOf lists a config's destinations, the primary first (a single `destination:` is one named "default"). */
export function destinationsOf(config: Pick<StrataConfig, 'destination' | 'destinations' | 'retention'>): NamedDestination[] {
  return config.destinations ?? [{ name: PRIMARY_NAME, destination: config.destination, retention: config.retention }];
}

/** ConfigIssue is one problem found in a config, at a path of keys and list indexes. */
export interface ConfigIssue {
  path: (string | number)[];
  message: string;
  /** Set when the problem is a key that is not allowed there (the key is the last path element). */
  unknownKey?: boolean;
  /** The keys allowed beside an unknown one, where the schema cannot tell (the destination block). */
  allowed?: string[];
}

// ---------------------------------------------------------------------------------------------
// Messages


// ---------------------------------------------------------------------------------------------
// Schema

const NAME_RULE = 'may contain only letters, digits, ".", "_" and "-"';
const nameSchema = z
  .string(expected('a name'))
  .regex(/^[A-Za-z0-9._-]+$/, { error: NAME_RULE })
  .refine((v) => v !== '.' && v !== '..', { error: 'must not be "." or ".."' });

const levelError = expected('a compression level from 0 to 9');
const levelSchema = z.number(levelError).int(levelError).min(0, levelError).max(9, levelError);

const sizeSchema = z.union([z.number(), z.string()], expected('a size such as 100MiB')).transform((v, ctx): number => {
  let bytes: number;
  if (typeof v === 'number') {
    bytes = v;
  } else {
    try {
      bytes = parseSize(v);
    } catch (e) {
      ctx.issues.push({ code: 'custom', input: v, message: `${errorMessage(e)} (expected a size such as 123, 64KiB, 100MiB, 1.5GiB or 100MB)` });
      return z.NEVER;
    }
  }
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    ctx.issues.push({ code: 'custom', input: v, message: `expected a size of at least 1 byte, got ${describe(v)}` });
    return z.NEVER;
  }
  return bytes;
});

/** volumeSizeSchema is a size that 7-Zip and the PAR2 planning can use as a volume (core/size MIN_VOLUME_SIZE). */
const volumeSizeSchema = sizeSchema.superRefine((bytes, ctx) => {
  const problem = volumeSizeProblem(bytes);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', input: bytes, message: problem });
});

const sourceSchema = z.strictObject(
  {
    path: z.string(expected('a folder path')).min(1, { error: 'must not be empty' }),
    name: nameSchema.optional(),
    exclude: z.array(z.string(expected('a pattern string')), expected('a list of strings')).default([]),
  },
  expected('a mapping with path, name and exclude'),
);

const passwordSchema = z
  .strictObject(
    {
      command: z.string(expected('a shell command', true)).min(1, { error: 'must not be empty' }).optional(),
      file: z.string(expected('a file path', true)).min(1, { error: 'must not be empty' }).optional(),
      env: z
        .string(expected('an environment variable name', true))
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name (letters, digits, "_")' })
        .optional(),
      timeout: z
        .union([z.number(), z.string()], expected('a duration such as 60s or 2m'))
        .refine((t) => parseSeconds(t) !== undefined, { error: 'must be a duration from 1 second to 24 hours, such as 60s or 2m' })
        .optional(),
    },
    expected('a mapping with one of command, file or env', true),
  )
  .superRefine((v, ctx) => {
    const given = [v.command, v.file, v.env].filter((x) => x !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', message: `give exactly one of command, file or env (found ${given})` });
    else if (v.timeout !== undefined && v.command === undefined) ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'applies to password.command only' });
  })
  .transform((v): PasswordConfig => {
    if (v.command !== undefined) return v.timeout === undefined ? { command: v.command } : { command: v.command, timeoutSeconds: parseSeconds(v.timeout) ?? PASSWORD_COMMAND_TIMEOUT_S };
    if (v.file !== undefined) return { file: v.file };
    return { env: v.env ?? '' };
  });

function tierSchema(tier: Tier) {
  return z
    .strictObject({ level: levelSchema.default(DEFAULTS.level), volumeSize: volumeSizeSchema.default(DEFAULTS.volumeSize[tier]) }, expected('a mapping with level and volumeSize'))
    .prefault({});
}

const weekdayError = expected(`a weekday (${WEEKDAYS.join(', ')})`);

// ---------------------------------------------------------------------------------------------
// protection: the PAR2 policy of core/protection, key by key. Field checks (ranges, whole numbers)
// live here so that a bad value is reported on its own line; the rules that relate several
// fields (size classes growing, windowSlide ≤ windowSize …) are core/protection's
// validateProtectionConfig, run once the section has its shape, so the two can never disagree.

const percentError = expected('a percentage above 0 and at most 100');
const percentSchema = z.number(percentError).gt(0, percentError).max(100, percentError);
const wholeError = expected('a whole number of at least 1');
const wholeSchema = z.number(wholeError).int(wholeError).min(1, wholeError);
const countError = expected('a whole number (0 or more)');

/** upToSchema: a size, or "unlimited" (an empty or null value means the same: see stripNulls). */
const upToSchema = z
  .union([z.literal('unlimited'), sizeSchema], expected('a size such as 1GiB, or "unlimited"'))
  .transform((v): number | null => (v === 'unlimited' ? null : v));

const sizeClassSchema = z
  .strictObject(
    {
      name: z.string(expected('a name for the size class')).min(1, { error: 'must not be empty' }),
      upTo: upToSchema.optional(),
      redundancyPercent: percentSchema,
    },
    expected('a mapping with name, upTo and redundancyPercent'),
  )
  .transform((r): SizeClassRule => ({ name: r.name, upTo: r.upTo ?? null, redundancyPercent: r.redundancyPercent }));

function sizeClassesSchema(tier: Tier) {
  return z.array(sizeClassSchema, expected('a list of size classes, smallest first')).default(() => defaultProtectionConfig.tiers[tier].map((r) => ({ ...r })));
}

const defaultsP = defaultProtectionConfig;

/** protectionIssuePath maps the first word of a validateProtectionConfig message to the key it is about. */
function protectionIssuePath(message: string): (string | number)[] {
  const m = /^protection: ([A-Za-z]+)(?:\.([A-Za-z]+))?/.exec(message);
  const head = m?.[1];
  if (head === 'tiers' && m?.[2] !== undefined) return ['tiers', m[2]];
  if (head === 'blocks') return m?.[2] === 'blockSize' ? ['blockSize'] : [];
  return head === undefined ? [] : [head];
}

const protectionSchema = z
  .strictObject(
    {
      tiers: z
        .strictObject(
          { daily: sizeClassesSchema('daily'), weekly: sizeClassesSchema('weekly'), monthly: sizeClassesSchema('monthly'), yearly: sizeClassesSchema('yearly') },
          expected('a mapping of tiers (daily, weekly, monthly, yearly)'),
        )
        .prefault({}),
      directMaxBytes: sizeSchema.default(defaultsP.directMaxBytes),
      groupedMaxBytes: sizeSchema.default(defaultsP.groupedMaxBytes),
      groupSize: wholeSchema.default(defaultsP.groupSize),
      windowSize: wholeSchema.default(defaultsP.windowSize),
      windowSlide: wholeSchema.default(defaultsP.windowSlide),
      minWholeVolumes: z.number(countError).int(countError).min(0, countError).default(defaultsP.minWholeVolumes),
      maxRedundancyPercent: percentSchema.default(defaultsP.maxRedundancyPercent),
      blockSize: z.union([z.literal('auto'), sizeSchema], expected('"auto" or a size such as 64KiB')).default('auto'),
    },
    expected('a mapping of protection settings'),
  )
  .transform((p, ctx): ProtectionConfig => {
    const config: ProtectionConfig = {
      ...defaultsP,
      tiers: p.tiers,
      directMaxBytes: p.directMaxBytes,
      groupedMaxBytes: p.groupedMaxBytes,
      groupSize: p.groupSize,
      windowSize: p.windowSize,
      windowSlide: p.windowSlide,
      minWholeVolumes: p.minWholeVolumes,
      maxRedundancyPercent: p.maxRedundancyPercent,
      blocks: { ...defaultsP.blocks, blockSize: p.blockSize },
    };
    try {
      validateProtectionConfig(config);
    } catch (e) {
      if (!isStrataError(e, 'CONFIG')) throw e;
      ctx.issues.push({ code: 'custom', input: p, path: protectionIssuePath(e.message), message: e.message.replace(/^protection: (tiers\.[A-Za-z]+(: |\.))?/, '') });
      return z.NEVER;
    }
    return config;
  })
  .prefault({});


// ---------------------------------------------------------------------------------------------
// destinations: named destinations, the first the primary (pipeline/replicate copies sets to the
// others). An entry is a name, an optional retention, and a destination: `path:` or `url:` alone,
// or a structured block (type: s3 …) checked like `destination:` (checkDestinationBlock).

const ENTRY_OWN_KEYS = ['name', 'retention'];
const destinationEntrySchema = z.looseObject({ name: nameSchema, retention: z.record(z.string(), z.unknown(), expected('a mapping of retention settings')).optional() }, expected('a mapping with name and a destination (path, url or type …)'));

// ---------------------------------------------------------------------------------------------
/**
 * sections are the top-level keys of strata.yaml. EXTENSION POINT: a later feature adds its
 * section here as `name: z.strictObject({...}, expected(...)).prefault({})` (or `.optional()`),
 * adds the field to StrataConfig, and documents it in config/template.ts; the template test
 * fails until every key is documented. Until then `retention:` is an unknown key.
 */
const sections = {
  job: nameSchema.default(DEFAULTS.job),
  sources: z.array(sourceSchema, expected('a list of sources')).min(1, { error: 'must list at least one source' }),
  destination: z.union([z.string().min(1, { error: 'must not be empty' }), z.record(z.string(), z.unknown())], expected('a path or URL, or a mapping')).optional(),
  destinations: z.array(destinationEntrySchema, expected('a list of destinations, each with a name')).min(1, { error: 'must list at least one destination' }).optional(),
  replicate: z.enum(REPLICATE_MODES, expected(`one of ${REPLICATE_MODES.join(', ')}`)).optional(),
  password: passwordSchema.optional(),
  archive: z
    .strictObject(
      { daily: tierSchema('daily'), weekly: tierSchema('weekly'), monthly: tierSchema('monthly'), yearly: tierSchema('yearly') },
      expected('a mapping of tiers (daily, weekly, monthly, yearly)'),
    )
    .prefault({}),
  schedule: z
    .strictObject(
      {
        weeklyOn: z
          .string(weekdayError)
          .transform((s) => s.toLowerCase())
          .pipe(z.enum(WEEKDAYS, weekdayError))
          .default(DEFAULTS.weeklyOn),
        at: scheduleAtSchema.optional(),
      },
      expected('a mapping with weeklyOn and at'),
    )
    .prefault({}),
  staging: z
    .strictObject(
      { maxVolumes: z.number(expected('a whole number of at least 1')).int(expected('a whole number of at least 1')).min(1, expected('a whole number of at least 1')).default(DEFAULTS.maxVolumes) },
      expected('a mapping with maxVolumes'),
    )
    .prefault({}),
  // Issue 11: incompressible files to a stored archive, the rest to one or two LZMA2 archives written at once (core/parts).
  routing: z
    .strictObject(
      {
        enabled: z.boolean(expected('true or false')).default(defaultRoutePolicy.enabled),
        minBytes: sizeSchema.default(defaultRoutePolicy.minBytes),
        splitMinBytes: sizeSchema.default(defaultRoutePolicy.splitMinBytes),
        storeMinBytes: sizeSchema.default(defaultRoutePolicy.storeMinBytes),
      },
      expected('a mapping with enabled, minBytes, splitMinBytes, storeMinBytes'),
    )
    .prefault({}),
  protection: protectionSchema,
  retention: retentionSectionSchema,
  notify: notifySchema.optional(),
};

/** configSchema validates the parsed YAML of a config file (before paths and source names are settled). */
export const configSchema = z.strictObject(sections, expected('a mapping of settings'));

/** FileConfig is what configSchema yields: source names may still be missing, paths as written. */
export type FileConfig = z.output<typeof configSchema>;

// ---------------------------------------------------------------------------------------------
// Schema introspection (unknown-key suggestions, the template's completeness test)

interface SchemaNode {
  def: { type: string; innerType?: SchemaNode; in?: SchemaNode; shape?: Record<string, SchemaNode>; element?: SchemaNode; options?: SchemaNode[] };
}

/** unwrap looks through optional/default/pipe wrappers to the schema that checks the value. */
function unwrap(s: SchemaNode): SchemaNode {
  for (;;) {
    const d = s.def;
    if (d.innerType !== undefined) s = d.innerType;
    else if (d.type === 'pipe' && d.in !== undefined) s = d.in;
    else return s;
  }
}

/** keysAt lists the keys allowed in the mapping at a config path, or undefined if it is not a fixed mapping. */
export function keysAt(at: readonly (string | number)[]): string[] | undefined {
  let s = unwrap(configSchema as unknown as SchemaNode);
  for (const seg of at) {
    if (typeof seg === 'number') {
      if (s.def.element === undefined) return undefined;
      s = unwrap(s.def.element);
    } else {
      const next = s.def.shape?.[seg];
      if (next === undefined) return undefined;
      s = unwrap(next);
    }
  }
  return s.def.type === 'object' && s.def.shape !== undefined ? Object.keys(s.def.shape) : undefined;
}

/**
 * keyPaths lists every key a config may hold, as "sources[].exclude" style paths; the
 * structured destination block is opaque here and listed only as "destination".
 */
export function keyPaths(): string[] {
  const out: string[] = [];
  const walk = (s: SchemaNode, prefix: string): void => {
    s = unwrap(s);
    if (s.def.type === 'array' && s.def.element !== undefined) {
      walk(s.def.element, `${prefix}[]`);
      return;
    }
    if (s.def.type !== 'object' || s.def.shape === undefined) return;
    for (const [key, child] of Object.entries(s.def.shape)) {
      const p = prefix === '' ? key : `${prefix}.${key}`;
      out.push(p);
      walk(child, p);
    }
  };
  walk(configSchema as unknown as SchemaNode, '');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation

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
