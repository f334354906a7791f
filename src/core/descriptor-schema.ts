/**
 * core/descriptor-schema: what a set descriptor read from a destination may contain, checked field
 * by field BEFORE anything uses it. A descriptor is plaintext that anyone with write access to the
 * destination can edit, and its HMAC can only be checked after scrypt has run with its KDF
 * parameters: so those parameters are bounded here (an N of 3 makes scrypt throw, an N of 2^40
 * would exhaust memory), and every name it gives is a plain relative path (it becomes a local file
 * name when a set is downloaded). Fields this version does not know are left alone: the HMAC
 * covers them, and newer versions may add some.
 */
import * as z from 'zod';
import { TIERS } from './naming.js';
import { partsIssues } from './parts.js';

/** KDF_BOUNDS are the scrypt parameters a descriptor may ask for (the default is N=2^15, r=8, p=1). */
export const KDF_BOUNDS = {
  /** N: a power of two, from 2^14 to 2^18. */
  minLog2N: 14,
  maxLog2N: 18,
  maxR: 16,
  maxP: 4,
  /** scrypt needs 128·N·r bytes: at most this much, whatever N and r are. */
  maxMemory: 256 * 1024 * 1024,
  /** Salt length in bytes (decoded). */
  minSalt: 16,
  maxSalt: 64,
} as const;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const positive = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const finite = z.number(); // zod 4 refuses Infinity and NaN by itself

/** A name a descriptor gives for a set or a file: one path segment, no dot-dot, nothing odd. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._+=-]*$/;
const segment = z
  .string()
  .max(255)
  .refine((s) => SEGMENT.test(s) && !s.includes('..'), 'expected a plain name (letters, digits, . _ + = -)');

/** A relative path of plain segments ('a/b.par2'), as object names inside a set folder are. */
const relativePath = z
  .string()
  .max(1024)
  .refine((s) => s.split('/').every((p) => SEGMENT.test(p) && !p.includes('..')), 'expected a relative path of plain names');

const setId = segment;

const storedObject = z.object({ name: relativePath, size: count, sha256: hex64 });

const salt = z.string().refine((s) => {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return false;
  const n = Buffer.from(s, 'base64').length;
  return n >= KDF_BOUNDS.minSalt && n <= KDF_BOUNDS.maxSalt;
}, `expected base64 of ${KDF_BOUNDS.minSalt} to ${KDF_BOUNDS.maxSalt} bytes`);

/** kdfSchema bounds the scrypt parameters: a power-of-two N near the default, small r and p, a real salt. */
export const kdfSchema = z
  .object({
    alg: z.literal('scrypt'),
    N: z
      .number()
      .int()
      .refine((n) => n >= 2 ** KDF_BOUNDS.minLog2N && n <= 2 ** KDF_BOUNDS.maxLog2N && (n & (n - 1)) === 0, `expected a power of two from 2^${KDF_BOUNDS.minLog2N} to 2^${KDF_BOUNDS.maxLog2N}`),
    r: z.number().int().min(1).max(KDF_BOUNDS.maxR),
    p: z.number().int().min(1).max(KDF_BOUNDS.maxP),
    salt,
  })
  .refine((k) => 128 * k.N * k.r <= KDF_BOUNDS.maxMemory, { error: `N·r needs more than ${KDF_BOUNDS.maxMemory >> 20} MiB of memory`, path: ['N'] });

const unit = z.object({
  name: segment,
  dir: z.union([z.literal(''), relativePath]),
  volumes: z.array(count).max(100_000),
  blockSize: positive,
  sourceBlocks: count,
  recoveryBlocks: count,
  recoveryBytes: count,
  recoveryFiles: count.max(10_000),
});

const guarantees = z.object({
  blockSize: count,
  wholeVolumesAnywhere: count,
  scatteredBlocks: count,
  scatteredBytes: count,
  contiguousBytes: count,
  protectedBytes: count,
  recoveryBytes: count,
  overheadPercent: finite,
  perUnit: z.array(z.object({ name: segment, firstVolume: count, lastVolume: count, wholeVolumes: count, scatteredBlocks: count, contiguousBytes: count })),
  notes: z.array(z.string().max(10_000)),
});

const protection = z.object({
  strategy: z.enum(['direct', 'grouped', 'sliding']),
  strategyReason: z.string().max(10_000),
  sizeClass: z.string().max(200),
  redundancyPercent: finite.min(0).max(10_000),
  units: z.array(unit).max(100_000),
  guarantees,
});

/** descriptorSchema is every field of a descriptor this version reads (unknown top-level fields pass). */
/** machineRefSchema: the machine that made a set — a random hex id and a host name of sane length. */
export const machineRefSchema = z.object({ id: z.string().regex(/^[0-9a-f]{8,64}$/), host: z.string().max(255) });

export const descriptorSchema = z
  .looseObject({
    format: z.literal('strata-set'),
    version: z.literal(1),
    id: setId,
    job: z.string().min(1).max(200),
    source: segment.refine((s) => s.length <= 64, 'at most 64 characters'),
    tier: z.enum(TIERS),
    type: z.enum(['FULL', 'INCR']),
    created: z.string().refine((s) => /^\d{4}-\d\d-\d\dT/.test(s) && Number.isFinite(Date.parse(s)), 'expected an ISO 8601 time'),
    base: setId.nullable(),
    depends: z.array(setId).max(100_000),
    volumes: z.array(storedObject).max(100_000),
    /** The archives of the set (core/parts); absent: one LZMA2 archive `<set>.7z`. */
    parts: z.array(z.object({ archive: segment, method: z.enum(['lzma2', 'copy']), volumes: count })).min(1).max(1000).optional(),
    manifest: storedObject,
    protection: protection.nullable(),
    manifestProtection: unit.nullable().optional(),
    recovery: z.array(storedObject).max(1_000_000),
    stats: z.object({ files: count, bytes: count, archivedFiles: count, archivedBytes: count, added: count, modified: count, deleted: count }),
    tool: z.record(z.string().max(100), z.string().max(200)),
    kdf: kdfSchema,
    /** RESTORE.txt as written (sets made since it is recorded). */
    restoreText: z.object({ size: count, sha256: hex64 }).optional(),
    machine: machineRefSchema.optional(),
    /** The tier the set was made with, when `strata promote` or automatic promotion raised it since (absent: never promoted). */
    promotedFrom: z.enum(TIERS).optional(),
    /** When it was promoted (ISO 8601). */
    promotedAt: z.string().refine((s) => /^\d{4}-\d\d-\d\dT/.test(s) && Number.isFinite(Date.parse(s)), 'expected an ISO 8601 time').optional(),
    check: hex64,
    hmac: hex64,
  })
  .superRefine((d, ctx) => {
    if ((d.type === 'FULL') !== (d.base === null)) ctx.addIssue({ code: 'custom', path: ['base'], message: `a ${d.type} set ${d.type === 'FULL' ? 'has no' : 'needs a'} base` });
    for (const [i, u] of (d.protection?.units ?? []).entries()) {
      if (u.volumes.some((v) => v >= d.volumes.length)) ctx.addIssue({ code: 'custom', path: ['protection', 'units', i, 'volumes'], message: 'names a volume the set does not have' });
    }
    if (d.parts !== undefined) for (const m of partsIssues(d.id, d.volumes, d.parts)) ctx.addIssue({ code: 'custom', path: ['parts'], message: m });
    if ((d.promotedFrom === undefined) !== (d.promotedAt === undefined)) ctx.addIssue({ code: 'custom', path: ['promotedAt'], message: 'promotedFrom and promotedAt go together' });
    if (d.manifestProtection != null && d.manifestProtection.volumes.some((v) => v !== 0)) {
      ctx.addIssue({ code: 'custom', path: ['manifestProtection', 'volumes'], message: 'the manifest is its one volume (index 0)' });
    }
  });

/** descriptorIssues lists what is wrong with a parsed descriptor, one line per field (empty: valid). */
export function descriptorIssues(raw: unknown): string[] {
  const r = descriptorSchema.safeParse(raw);
  if (r.success) return [];
  return r.error.issues.slice(0, 5).map((i) => `${i.path.length === 0 ? '(descriptor)' : i.path.map(String).join('.')}: ${i.message}`);
}
