/**
 * core/descriptor: the plaintext record that makes a set complete. It names no source file: only
 * the set's own objects (volumes, manifest, recovery files) with their sizes and SHA-256, the tier,
 * type, time, and the sets it depends on. An HMAC keyed from the password detects tampering, and a
 * separate password check value tells a wrong password apart from damaged data.
 */
import { createHmac, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { StrataError } from '../errors.js';
import { descriptorIssues, kdfSchema, machineRefSchema } from './descriptor-schema.js';
import type { SetType, Tier } from './naming.js';
import type { SetPart } from './parts.js';
import type { ProtectionPlan, ProtectionUnit } from './protection/index.js';

/** StoredObject is one object of a set with its size and hash. */
export interface StoredObject {
  /** Key relative to the set's folder, e.g. `261129_FULL_docs.7z.001`. */
  name: string;
  size: number;
  sha256: string;
}

/** KdfParams are the scrypt parameters the set's keys were derived with. */
export interface KdfParams {
  alg: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
}

/** ProtectionSummary is the set's PAR2 plan (core/protection) as it was carried out, so that
 * verify and repair work from what was made, not from today's configuration. */
export type ProtectionSummary = Omit<ProtectionPlan, 'setId' | 'tier' | 'volumeSizes'>;

/**
 * MachineRef names the machine that made a set: `id` is random, made once per state folder
 * (`<state>/machine-id`), and is what tells machines apart; `host` is the host name, for display.
 */
export interface MachineRef {
  id: string;
  host: string;
}

/** Descriptor is the content of `<set>/<set>.strata.json`. */
export interface Descriptor {
  format: 'strata-set';
  version: 1;
  id: string;
  job: string;
  /**
   * The machine that made the set (sealed by the HMAC like every field). Absent in sets made
   * before strata recorded it ("legacy" sets; core/catalog says how they are treated).
   */
  machine?: MachineRef;
  source: string;
  tier: Tier;
  type: SetType;
  created: string;
  /** The set this INCR's changes are relative to. */
  base: string | null;
  /** Every set whose archive holds bytes this set's manifest refers to (itself included when it has volumes). */
  depends: string[];
  volumes: StoredObject[];
  /**
   * The archives the volumes belong to, in order (core/parts): absent in sets of one LZMA2 archive
   * `<set>.7z` (every set made before parts, and small sets).
   */
  parts?: SetPart[];
  manifest: StoredObject;
  protection: ProtectionSummary | null;
  /**
   * The manifest's own PAR2 set (core/protection manifestUnit; its one "volume", index 0, is the
   * manifest object), or absent in sets made before manifests were protected. Its files are listed
   * in `recovery` like the volumes' recovery files.
   */
  manifestProtection?: ProtectionUnit | null;
  /** Recovery files (PAR2), keys relative to the set folder. */
  recovery: StoredObject[];
  stats: { files: number; bytes: number; archivedFiles: number; archivedBytes: number; added: number; modified: number; deleted: number };
  tool: Record<string, string>;
  kdf: KdfParams;
  /** Size and SHA-256 of the set's RESTORE.txt (absent in sets made before it was recorded). */
  restoreText?: { size: number; sha256: string };
  /** The tier the set was made with, when it was promoted since (pipeline/promote; absent: never promoted). */
  promotedFrom?: Tier;
  /** When it was promoted (ISO 8601), with promotedFrom. */
  promotedAt?: string;
  /** HMAC(check key, "strata password check"), hex. */
  check: string;
  /** HMAC over the canonical JSON of every other field, hex. */
  hmac: string;
}

/** canonicalJson renders a value with object keys sorted, so the HMAC input is stable. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SetKeys are the two keys derived from the password for one set. */
export interface SetKeys {
  check: Buffer;
  mac: Buffer;
}

const keyCache = new Map<string, SetKeys>();

/** defaultKdf gives fresh scrypt parameters with the given random salt (base64). */
export function defaultKdf(saltB64: string): KdfParams {
  return { alg: 'scrypt', N: 1 << 15, r: 8, p: 1, salt: saltB64 };
}

function keyCacheKey(password: string, kdf: KdfParams): string {
  return `${kdf.N}:${kdf.r}:${kdf.p}:${kdf.salt}:${createHmac('sha256', 'strata-cache').update(password).digest('hex')}`;
}

function scryptOptions(kdf: KdfParams): { N: number; r: number; p: number; maxmem: number } {
  // Never scrypt with parameters from outside the bounds (a crash, or all the memory): parseDescriptor
  // refuses such descriptors, and this keeps any other caller from getting that far.
  const k = kdfSchema.safeParse(kdf);
  if (!k.success) throw new StrataError('TAMPERED', `scrypt parameters out of bounds: ${k.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ')}`, { hint: 'The descriptor was edited; do not trust this set.' });
  return { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + (1 << 20) };
}

function keysOf(raw: Buffer): SetKeys {
  return { check: raw.subarray(0, 32), mac: raw.subarray(32, 64) };
}

/** deriveKeys runs scrypt once per (password, salt) and caches the result for the process. */
export function deriveKeys(password: string, kdf: KdfParams): SetKeys {
  const cacheKey = keyCacheKey(password, kdf);
  const hit = keyCache.get(cacheKey);
  if (hit !== undefined) return hit;
  const keys = keysOf(scryptSync(password.normalize('NFC'), Buffer.from(kdf.salt, 'base64'), 64, scryptOptions(kdf)));
  keyCache.set(cacheKey, keys);
  return keys;
}

/** Derivations on the thread pool, in flight: a second caller of the same (password, salt) waits for the first. */
const deriving = new Map<string, Promise<SetKeys>>();

/** deriveKeysAsync is deriveKeys on the thread pool (scrypt takes ~0.15 s), so that a caller can
 *  overlap it with other work; it fills the same cache, and runs scrypt once for callers that ask at once. */
export async function deriveKeysAsync(password: string, kdf: KdfParams): Promise<SetKeys> {
  const cacheKey = keyCacheKey(password, kdf);
  const hit = keyCache.get(cacheKey);
  if (hit !== undefined) return hit;
  const running = deriving.get(cacheKey);
  if (running !== undefined) return running;
  const derivation = new Promise<Buffer>((resolve, reject) => {
    scrypt(password.normalize('NFC'), Buffer.from(kdf.salt, 'base64'), 64, scryptOptions(kdf), (err, key) => (err === null ? resolve(key) : reject(err)));
  }).then((raw) => {
    const keys = keyCache.get(cacheKey) ?? keysOf(raw);
    keyCache.set(cacheKey, keys);
    return keys;
  }).finally(() => deriving.delete(cacheKey));
  deriving.set(cacheKey, derivation);
  return derivation;
}

function checkValue(keys: SetKeys): string {
  return createHmac('sha256', keys.check).update('strata password check').digest('hex');
}

function macValue(keys: SetKeys, d: Omit<Descriptor, 'hmac'>): string {
  const { hmac: _drop, ...rest } = d as Descriptor;
  return createHmac('sha256', keys.mac).update(canonicalJson(rest)).digest('hex');
}

/** sealDescriptor fills in `check` and `hmac` for a descriptor. */
export function sealDescriptor(d: Omit<Descriptor, 'check' | 'hmac'>, password: string): Descriptor {
  const keys = deriveKeys(password, d.kdf);
  const withCheck = { ...d, check: checkValue(keys) };
  return { ...withCheck, hmac: macValue(keys, withCheck) };
}

/** DescriptorCheck is the outcome of checking a descriptor against a password. */
export type DescriptorCheck = 'ok' | 'wrong-password' | 'tampered';

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** checkDescriptor tells whether the password is right and the descriptor untouched. */
export function checkDescriptor(d: Descriptor, password: string): DescriptorCheck {
  return checkWithKeys(d, deriveKeys(password, d.kdf));
}

/** checkDescriptorAsync is checkDescriptor with scrypt on the thread pool. */
export async function checkDescriptorAsync(d: Descriptor, password: string): Promise<DescriptorCheck> {
  return checkWithKeys(d, await deriveKeysAsync(password, d.kdf));
}

function checkWithKeys(d: Descriptor, keys: SetKeys): DescriptorCheck {
  const check = checkValue(keys);
  if (!equalHex(check, d.check)) {
    // The HMAC covers the check value. When only the check value was changed, the HMAC over the value
    // this password gives still verifies: proof that the password is right and the descriptor was
    // edited (a wrong password cannot make the HMAC verify).
    return equalHex(macValue(keys, { ...d, check }), d.hmac) ? 'tampered' : 'wrong-password';
  }
  return equalHex(macValue(keys, d), d.hmac) ? 'ok' : 'tampered';
}

/**
 * parseDescriptor checks every field of a descriptor read from a destination (core/descriptor-schema)
 * before anything uses it: text that is not JSON is DAMAGED (a torn or damaged object), JSON that is
 * not a valid descriptor — a field out of bounds, a KDF parameter scrypt cannot or must not run
 * with — is TAMPERED. The object is returned as read (the HMAC covers it as it is).
 */
export function parseDescriptor(text: string, key: string): Descriptor {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new StrataError('DAMAGED', `${key} is not valid JSON`, { hint: 'The descriptor is damaged; restore from another set (strata list), or from a copy of this one.' });
  }
  const issues = descriptorIssues(raw);
  if (issues.length > 0) {
    throw new StrataError('TAMPERED', `${key} is not a valid strata set descriptor (tampered with, or damaged): ${issues.join('; ')}`, {
      hint: 'Do not trust this set; the other sets are not affected (strata list, strata verify --all).',
    });
  }
  return raw as Descriptor;
}

/** isMachineRef checks the shape of a recorded machine: a hex id and a host name of sane length. */
export function isMachineRef(m: unknown): m is MachineRef {
  return machineRefSchema.safeParse(m).success;
}

/**
 * recoveryPercent is the recovery data a set really stores (every PAR2 file, the manifest's
 * included) as a percentage of the data it protects (volumes and manifest): what the set costs
 * beyond its archive, which can be far above the table's redundancy for a small set (the
 * whole-volume floor).
 */
export function recoveryPercent(d: Pick<Descriptor, 'volumes' | 'manifest' | 'recovery'>): number {
  const data = d.volumes.reduce((s, v) => s + v.size, 0) + d.manifest.size;
  const recovery = d.recovery.reduce((s, v) => s + v.size, 0);
  return data === 0 ? 0 : Math.round((recovery / data) * 100);
}

/** setBytes is the stored size of a set: volumes, manifest and recovery files. */
export function setBytes(d: Descriptor): number {
  return d.volumes.reduce((s, v) => s + v.size, 0) + d.manifest.size + d.recovery.reduce((s, v) => s + v.size, 0);
}

/** planOf rebuilds the full protection plan of a set from its descriptor (null: no recovery files). */
export function planOf(d: Descriptor): ProtectionPlan | null {
  if (d.protection === null) return null;
  return { ...d.protection, setId: d.id, tier: d.tier, volumeSizes: d.volumes.map((v) => v.size) };
}
