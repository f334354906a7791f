/**
 * config/schema: what a strata.yaml may contain, as a zod schema, and the StrataConfig it becomes.
 *
 * Every mapping is strict: an unknown key is an error, never silently ignored, because a typo
 * ("exlude") would otherwise back up what the user meant to leave out. Messages are written for
 * people ("expected a list of strings, got a string"); config/load.ts prefixes each with the file
 * position of the key it concerns. New sections (retention, protection) are added in one place:
 * see `sections` below. What the shape alone cannot check (source names, destinations, paths) is
 * config/validate's.
 */
import * as z from 'zod';
import { defaultProtectionConfig, validateProtectionConfig, type ProtectionConfig, type SizeClassRule } from '../core/protection/index.js';
import { parseSize, volumeSizeProblem } from '../core/size.js';
import { errorMessage, isStrataError } from '../errors.js';
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

/** ENTRY_OWN_KEYS are the keys of a `destinations:` entry that are not the destination's own. */
export const ENTRY_OWN_KEYS = ['name', 'retention'];
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
