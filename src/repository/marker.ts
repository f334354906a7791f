/**
 * repository/marker: the destination marker `strata-destination.json`, written once at the root of
 * a destination by its first backup or by `strata init --dest` (like `restic init`). It says that
 * the place is a strata destination of this format, gives it a random id, and holds a password
 * check (scrypt parameters, salt, an HMAC check value; never the password), so that a wrong
 * password is refused before anything on the destination is touched, even before it holds a set.
 *
 * A destination is refused when it is missing (strata never creates one on its own: an unmounted
 * disk would silently fill the internal one), when its marker is of another format or version,
 * and — for writing — when it holds sets but no marker (made by an earlier strata): adopting it is
 * an explicit `strata init --dest … --adopt`, which checks the password against those sets.
 */
import { counted } from '../core/words.js';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Backend } from '../backend/backend.js';
import { bufferSource } from '../io/hash.js';
import { canonicalJson, defaultKdf, deriveKeysAsync, type KdfParams } from '../core/descriptor.js';
import { StrataError, isStrataError } from '../errors.js';
import type { Repository } from './repository.js';

/** MARKER_KEY is where the marker lives, at the destination's root. */
export const MARKER_KEY = 'strata-destination.json';
const FORMAT = 'strata-destination';
const VERSION = 1;

/** DestinationMarker is the content of strata-destination.json. */
export interface DestinationMarker {
  format: typeof FORMAT;
  version: typeof VERSION;
  /** Random id of this destination (hex). */
  id: string;
  created: string;
  kdf: KdfParams;
  /** HMAC(check key, "strata destination password check"), hex. */
  check: string;
  /** HMAC(mac key) over the canonical JSON of every other field, hex. */
  hmac: string;
}

/** MarkerCheck is the outcome of checking a marker against a password. */
export type MarkerCheck = 'ok' | 'wrong-password' | 'tampered';

const CHECK_LABEL = 'strata destination password check';

/** Bounds on the KDF parameters a marker may ask for: a tampered marker must not make scrypt
 * crash or exhaust memory. */
function kdfProblem(k: unknown): string | undefined {
  if (k === null || typeof k !== 'object') return 'no kdf';
  const { alg, N, r, p, salt } = k as Record<string, unknown>;
  if (alg !== 'scrypt') return 'kdf.alg is not scrypt';
  if (typeof N !== 'number' || !Number.isInteger(N) || N < 1 << 10 || N > 1 << 20 || (N & (N - 1)) !== 0) return 'kdf.N is out of range';
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1 || r > 32) return 'kdf.r is out of range';
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 16) return 'kdf.p is out of range';
  if (typeof salt !== 'string' || !/^[A-Za-z0-9+/]{16,88}={0,2}$/.test(salt)) return 'kdf.salt is malformed';
  return undefined;
}

/**
 * parseMarker reads a marker. Another format or version is NO_DESTINATION (it is not a strata
 * destination this strata can write); a marker of this format with bad fields is TAMPERED.
 */
export function parseMarker(text: string, where: string): DestinationMarker {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const m = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  if (m['format'] !== FORMAT || m['version'] !== VERSION) {
    const what = m['format'] === FORMAT ? `version ${JSON.stringify(m['version'])} of the destination format` : typeof m['format'] === 'string' ? `a destination of format ${JSON.stringify(m['format'])}` : 'a file strata does not recognise';
    throw new StrataError('NO_DESTINATION', `${where}: ${MARKER_KEY} describes ${what}; this strata writes version ${VERSION} of ${JSON.stringify(FORMAT)}`, {
      hint: 'Use the strata version that made this destination (or a newer one), or choose another destination.',
    });
  }
  const bad = kdfProblem(m['kdf']) ?? (['id', 'created', 'check', 'hmac'].find((f) => typeof m[f] !== 'string') === undefined ? undefined : 'a field is missing');
  if (bad !== undefined) throw new StrataError('TAMPERED', `${where}: ${MARKER_KEY} is damaged or was edited (${bad})`, { hint: 'Do not trust this destination; restore the marker from a copy, or choose another destination.' });
  return m as unknown as DestinationMarker;
}

function macOf(key: Buffer, m: Omit<DestinationMarker, 'hmac'>): string {
  const { hmac: _drop, ...rest } = m as DestinationMarker;
  return createHmac('sha256', key).update(canonicalJson(rest)).digest('hex');
}

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** makeMarker builds a new marker for `password` (with `kdf`, or fresh scrypt parameters). */
export async function makeMarker(password: string, now: Date, kdf: KdfParams = defaultKdf(randomBytes(16).toString('base64'))): Promise<DestinationMarker> {
  const keys = await deriveKeysAsync(password, kdf);
  const body = { format: FORMAT, version: VERSION, id: randomBytes(16).toString('hex'), created: now.toISOString(), kdf, check: createHmac('sha256', keys.check).update(CHECK_LABEL).digest('hex') } as const;
  return { ...body, hmac: macOf(keys.mac, body) };
}

/** checkMarker tells whether the password is the destination's and the marker untouched. */
export async function checkMarker(m: DestinationMarker, password: string): Promise<MarkerCheck> {
  const keys = await deriveKeysAsync(password, m.kdf);
  if (!equalHex(createHmac('sha256', keys.check).update(CHECK_LABEL).digest('hex'), m.check)) return 'wrong-password';
  return equalHex(macOf(keys.mac, m), m.hmac) ? 'ok' : 'tampered';
}

/** readMarker reads the destination's marker; undefined when there is none. */
export async function readMarker(repo: Repository): Promise<DestinationMarker | undefined> {
  let text: string;
  try {
    text = (await repo.readSmall(MARKER_KEY, 64 << 10)).toString('utf8');
  } catch (e) {
    if (isStrataError(e, 'NOT_FOUND')) return undefined;
    throw e;
  }
  return parseMarker(text, repo.backend.description);
}

/** writeMarker stores a new marker; ALREADY_EXISTS when another run wrote one meanwhile. */
export async function writeMarker(backend: Backend, m: DestinationMarker): Promise<void> {
  await backend.put(MARKER_KEY, bufferSource(JSON.stringify(m, null, 2) + '\n'), { overwrite: false });
}

/** missingDestination is the error for a destination that does not exist. */
export function missingDestination(description: string, dest: string | undefined, kind: string): StrataError {
  if (kind === 's3') {
    return new StrataError('NO_DESTINATION', `the bucket of ${description} does not exist`, {
      hint: 'Check the bucket name, region and endpoint; strata never creates a bucket (create it with your provider\'s console or CLI).',
    });
  }
  return new StrataError('NO_DESTINATION', `the destination ${description} does not exist`, {
    hint: `Not mounted? Wrong path? Create it, or run \`strata init --dest ${dest ?? '…'}\`.`,
  });
}

/** requireRoot throws NO_DESTINATION when the destination does not exist. */
export async function requireRoot(backend: Backend, dest: string | undefined, kind: string): Promise<void> {
  if ((await backend.rootExists?.()) === false) throw missingDestination(backend.description, dest, kind);
}

/** wrongPassword is the error for a password that does not match the destination's marker. */
export function wrongPassword(description: string): StrataError {
  return new StrataError('WRONG_PASSWORD', `the password does not match the destination ${description}`, {
    hint: 'Use the password this destination was initialised with (a destination holds sets of one password).',
  });
}

/** tamperedMarker is the error for a marker whose HMAC does not match. */
export function tamperedMarker(description: string): StrataError {
  return new StrataError('TAMPERED', `${description}: ${MARKER_KEY} was edited (its HMAC does not match)`, {
    hint: 'Do not trust this destination; restore the marker from a copy, or choose another destination.',
  });
}

/** legacyDestination is the error for a destination with sets but no marker. */
export function legacyDestination(description: string, sets: number, dest: string | undefined): StrataError {
  return new StrataError('NO_DESTINATION', `${description} holds ${counted(sets, 'strata set')} but no ${MARKER_KEY} (it was made by an earlier strata version)`, {
    hint: `If it is the right destination, run \`strata init --dest ${dest ?? '…'} --adopt\` once: it checks your password against those sets and writes the marker.`,
  });
}
