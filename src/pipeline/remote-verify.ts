/**
 * pipeline/remote-verify: checking sets where they are stored, without a local copy.
 *
 * - `remote` mode asks the provider: one list per set (sizes, and SHA-256 where the listing has it),
 *   then a stat of each object whose listing had no SHA-256 (S3 keeps it as metadata, WebDAV as a
 *   property). Nothing is downloaded, so it is cheap enough to run often; it cannot see damage the
 *   provider does not know about (bit rot below its own checksums) — `read-data` can.
 * - `read-data` mode also downloads objects and hashes the stream (no temporary files): all of
 *   them, or a sample whose bytes are about `percent` of each set. The sample is drawn from a seed
 *   (random per run, printed, and accepted back) so that a run can be repeated exactly.
 * Neither needs the password; with one, each descriptor's HMAC is checked as well.
 */
import { createHmac } from 'node:crypto';
import pLimit from 'p-limit';
import type { Backend, ObjectInfo } from '../backend/backend.js';
import { digestStream, type Hashed } from '../io/hash.js';
import type { Descriptor, StoredObject } from '../core/descriptor.js';
import { StrataError, errorMessage, isStrataError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { PhaseMeter } from '../ui/meter.js';
import type { Output } from '../ui/output.js';
import { checkRestoreFile } from './restore-file.js';
import { checkSet } from './set-check.js';
import { RESTORE_TEXT, restoreTextKey, setObjectKey } from '../core/keys.js';
import { counted } from '../core/words.js';
import type { RetrievalTier } from '../core/cold.js';
import { thawObjects } from './restore/thaw.js';

/** RemoteObjectState is what a remote check found for one object. */
export type RemoteObjectState = 'ok' | 'missing' | 'size-mismatch' | 'hash-mismatch' | 'unreadable';

/** RemoteObjectProblem is one object that is not as its descriptor says. */
export interface RemoteObjectProblem {
  name: string;
  state: Exclude<RemoteObjectState, 'ok'>;
  detail: string;
}

/** RemoteSetVerdict is the outcome of checking one set remotely. */
export interface RemoteSetVerdict {
  id: string;
  status: 'ok' | 'damaged' | 'tampered' | 'wrong-password';
  /** The descriptor's HMAC: checked with the password, or skipped without one. */
  descriptor: 'ok' | 'tampered' | 'wrong-password' | 'skipped';
  /** Objects the descriptor lists. */
  objects: number;
  /** Objects whose size matched. */
  sizeOk: number;
  /** Objects whose SHA-256 the provider reported (and it matched). */
  providerHashOk: number;
  /** Objects downloaded and hashed (read-data), and their bytes. */
  readOk: number;
  readBytes: number;
  /** Objects of the set chosen for reading (read-data), and their bytes. */
  sampled: number;
  sampledBytes: number;
  problems: RemoteObjectProblem[];
  messages: string[];
}

/** RemoteVerifyRequest selects sets and how deep to check them. */
export interface RemoteVerifyRequest {
  repo: Repository;
  sets: Descriptor[];
  /** With a password the descriptors' HMACs are checked too. */
  password: string | null;
  /** Download and hash objects: a share of each set's bytes in percent (0 < p ≤ 100), or undefined for none. */
  readPercent?: number;
  /** Seed of the read sample (default: random); only used below 100 %. */
  seed?: string;
  /** Objects checked at once (default 4). */
  concurrency?: number;
  out: Output;
  signal: AbortSignal;
  /** The destination's other sets: a failed password check they contradict is tampering. */
  others?: readonly Descriptor[];
  /** Retrieval tier of restore requests for archived objects (--retrieval-tier). */
  retrievalTier?: RetrievalTier | undefined;
  /** Shows each phase of each set with its bytes on the status line and times it (--json `phases`). */
  meter?: PhaseMeter;
}

/** runRemoteVerify checks each set on the destination and returns a verdict per set. */
export async function runRemoteVerify(request: RemoteVerifyRequest): Promise<RemoteSetVerdict[]> {
  const req = { ...request, meter: request.meter ?? new PhaseMeter(request.out) };
  const verdicts: RemoteSetVerdict[] = [];
  try {
    // Archived objects the sample reads are requested up front, in one pass (restore/thaw).
    if (req.readPercent !== undefined) {
      // RESTORE.txt is read whatever the sample (checkRestoreFileRemotely).
      const read = req.sets.flatMap((d) => [
        ...sampleObjects(d.id, [...d.volumes, d.manifest, ...d.recovery], req.readPercent ?? 100, req.seed ?? '').map((o) => ({ key: setObjectKey(d.id, o.name), size: o.size })),
        ...(d.restoreText === undefined ? [] : [{ key: restoreTextKey(d.id), size: d.restoreText.size }]),
      ]);
      await thawObjects(req.repo.backend, read, { tier: req.retrievalTier, out: req.out, command: (req.readPercent ?? 100) < 100 ? 'the same strata verify (with the same --seed)' : 'the same strata verify' });
    }
    for (const d of req.sets) {
      if (req.signal.aborted) throw new StrataError('CANCELLED', 'verify cancelled');
      verdicts.push(await verifySetRemotely(req, d));
    }
  } finally {
    req.meter.close();
  }
  return verdicts;
}

/** parseReadPercent reads a --read-data value: '' or undefined (all), `10`, `10%`, `2.5%`. */
export function parseReadPercent(text: string | undefined): number {
  if (text === undefined || text === '') return 100;
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  const p = m === null ? NaN : Number(m[1]);
  if (!(p > 0 && p <= 100)) throw new StrataError('USAGE', `--read-data: ${JSON.stringify(text)} is not a percentage in (0, 100]`, { hint: 'Write --read-data for everything, or e.g. --read-data=10% for a tenth.' });
  return p;
}

/**
 * sampleObjects picks the objects to read: in an order drawn from the seed, until their bytes reach
 * `percent` of the set's bytes (at least one object). At 100 % it is every object.
 */
export function sampleObjects(setId: string, objects: readonly StoredObject[], percent: number, seed: string): StoredObject[] {
  if (percent >= 100) return [...objects];
  const total = objects.reduce((s, o) => s + o.size, 0);
  const want = (total * percent) / 100;
  const order = objects
    .map((o) => ({ o, rank: createHmac('sha256', seed).update(setObjectKey(setId, o.name)).digest('hex') }))
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
  const picked: StoredObject[] = [];
  let bytes = 0;
  for (const { o } of order) {
    if (picked.length > 0 && bytes >= want) break;
    picked.push(o);
    bytes += o.size;
  }
  return picked;
}

async function verifySetRemotely(req: RemoteVerifyRequest & { meter: PhaseMeter }, d: Descriptor): Promise<RemoteSetVerdict> {
  const { meter } = req;
  const objects = [...d.volumes, d.manifest, ...d.recovery];
  meter.show(`${d.id}: checking ${counted(objects.length, 'object')} on the destination`);
  const v: RemoteSetVerdict = {
    id: d.id, status: 'ok', descriptor: 'skipped', objects: objects.length, sizeOk: 0, providerHashOk: 0, readOk: 0, readBytes: 0, sampled: 0, sampledBytes: 0, problems: [], messages: [],
  };
  if (req.password !== null) {
    const checked = checkSet(d, req.password, req.others);
    v.descriptor = checked.check;
    if (v.descriptor === 'wrong-password') {
      v.status = 'wrong-password';
      v.messages.push(`wrong password for set ${d.id}`);
      return v;
    }
    if (v.descriptor === 'tampered') {
      // A tampered descriptor's sizes and hashes cannot be trusted: comparing with them proves nothing.
      v.status = 'tampered';
      v.messages.push(checked.reason ?? `the descriptor of set ${d.id} has been modified`);
      return v;
    }
  }
  const backend = req.repo.backend;
  req.out.verbose(`${d.id}: checking ${objects.length} objects on ${backend.description}`);
  const listed = new Map<string, ObjectInfo>();
  for await (const info of backend.list(`${d.id}/`)) listed.set(info.key, info);
  const limit = Math.max(1, req.concurrency ?? 4);
  const problem = (o: StoredObject, state: RemoteObjectProblem['state'], detail: string): void => {
    v.problems.push({ name: o.name, state, detail });
  };

  // 1. What the provider knows: presence, size, and its SHA-256 where it keeps one.
  const present: StoredObject[] = [];
  const needStat: StoredObject[] = [];
  for (const o of objects) {
    const info = listed.get(setObjectKey(d.id, o.name));
    if (info === undefined) problem(o, 'missing', 'not on the destination');
    else if (info.size !== o.size) problem(o, 'size-mismatch', `${info.size} bytes, expected ${o.size}`);
    else {
      present.push(o);
      if (info.sha256 !== undefined) compareHash(v, o, info.sha256);
      else needStat.push(o);
    }
  }
  v.sizeOk = present.length;
  // A stat per object only when the listing had no hashes; after a stat without one, the provider
  // evidently keeps none, and the rest would be round trips for nothing.
  let providerHashes = true;
  await forEachLimited(needStat, limit, async (o) => {
    if (!providerHashes) return;
    let info: ObjectInfo;
    try {
      info = await backend.stat(setObjectKey(d.id, o.name));
    } catch (e) {
      if (isStrataError(e, 'NOT_FOUND')) problem(o, 'missing', 'vanished while it was checked');
      else throw e;
      return;
    }
    if (info.sha256 === undefined) providerHashes = false;
    else compareHash(v, o, info.sha256);
  });
  if (!providerHashes && v.providerHashOk === 0) v.messages.push(`${backend.description} reports no SHA-256: sizes checked only (--read-data hashes the bytes)`);
  meter.end('check');

  // 2. What the bytes say: download and hash (the sample, or everything).
  if (req.readPercent !== undefined) {
    const alreadyBad = new Set(v.problems.map((p) => p.name));
    const sample = sampleObjects(d.id, objects, req.readPercent, req.seed ?? '').filter((o) => !alreadyBad.has(o.name));
    v.sampled = sample.length;
    v.sampledBytes = sample.reduce((s, o) => s + o.size, 0);
    meter.show(`${d.id}: reading ${counted(sample.length, 'object')}`, v.sampledBytes);
    await forEachLimited(sample, limit, async (o) => {
      if (req.signal.aborted) throw new StrataError('CANCELLED', 'verify cancelled');
      const got = await readAndHash(backend, setObjectKey(d.id, o.name), req.signal, (n) => meter.add(n, o.name));
      if ('error' in got) {
        problem(o, got.missing ? 'missing' : 'unreadable', got.error);
        return;
      }
      if (got.size !== o.size) problem(o, 'size-mismatch', `read ${got.size} bytes, expected ${o.size}`);
      else if (got.sha256 !== o.sha256) problem(o, 'hash-mismatch', `read bytes have SHA-256 ${got.sha256.slice(0, 12)}…, expected ${o.sha256.slice(0, 12)}…`);
      else {
        v.readOk++;
        v.readBytes += got.size;
      }
    });
    meter.end('read', v.sampledBytes);
  }
  // 3. RESTORE.txt, against the record in the descriptor: like the other objects (listing, the
  //    provider's SHA-256), and read and hashed with --read-data.
  meter.show(`${d.id}: ${RESTORE_TEXT}`);
  const rt = await checkRestoreFileRemotely(req, d, v, listed.get(restoreTextKey(d.id)), providerHashes);
  meter.end('restore-text');
  if (rt !== undefined) v.messages.push(rt);
  // Several checks may flag one object (a hash from the provider and from reading): keep the first.
  const first = new Map<string, RemoteObjectProblem>();
  for (const p of v.problems) if (!first.has(p.name)) first.set(p.name, p);
  v.problems = [...first.values()];
  const order = new Map(objects.map((o, i) => [o.name, i]));
  v.problems.sort((a, b) => (order.get(a.name) ?? objects.length) - (order.get(b.name) ?? objects.length));
  if (v.problems.length > 0) v.status = 'damaged';
  return v;
}

/**
 * checkRestoreFileRemotely checks RESTORE.txt without downloading it (size from the listing, SHA-256
 * from the provider where it keeps one), or by reading it with --read-data (whatever the sample: it
 * is a few KiB); a problem goes to the verdict, a remark is returned. It is not counted among the
 * set's objects (those the descriptor lists for the archive).
 */
async function checkRestoreFileRemotely(req: RemoteVerifyRequest, d: Descriptor, v: RemoteSetVerdict, info: ObjectInfo | undefined, providerHashes: boolean): Promise<string | undefined> {
  const rec = d.restoreText;
  if (rec === undefined) return `${RESTORE_TEXT}: not covered (made by an older version)`;
  const fail = (state: RemoteObjectProblem['state'], detail: string): undefined => {
    v.problems.push({ name: RESTORE_TEXT, state, detail });
    return undefined;
  };
  if (info === undefined) return fail('missing', `${RESTORE_TEXT} is missing`);
  if (info.size !== rec.size) return fail('size-mismatch', `${RESTORE_TEXT} has been changed or damaged (${info.size} bytes, recorded ${rec.size})`);
  if (req.readPercent !== undefined) {
    const rt = await checkRestoreFile(req.repo, d);
    if (rt.state === 'missing') return fail('missing', rt.detail);
    if (rt.state === 'changed') return fail('hash-mismatch', rt.detail);
    return undefined;
  }
  let sha = info.sha256;
  // A provider that reported no SHA-256 for the other objects is not asked again.
  if (sha === undefined && providerHashes) {
    try {
      sha = (await req.repo.backend.stat(restoreTextKey(d.id))).sha256;
    } catch (e) {
      if (isStrataError(e, 'NOT_FOUND')) return fail('missing', `${RESTORE_TEXT} vanished while it was checked`);
      throw e;
    }
  }
  if (sha !== undefined && sha !== rec.sha256) return fail('hash-mismatch', `${RESTORE_TEXT} has been changed or damaged (the provider reports SHA-256 ${sha.slice(0, 12)}…, recorded ${rec.sha256.slice(0, 12)}…)`);
  return undefined;
}

function compareHash(v: RemoteSetVerdict, o: StoredObject, sha256: string): void {
  if (sha256 === o.sha256) v.providerHashOk++;
  else v.problems.push({ name: o.name, state: 'hash-mismatch', detail: `the provider reports SHA-256 ${sha256.slice(0, 12)}…, expected ${o.sha256.slice(0, 12)}…` });
}

/** readAndHash streams one object through SHA-256; a failure is returned, not thrown (it is a finding). */
async function readAndHash(backend: Backend, key: string, signal: AbortSignal, onBytes?: (n: number) => void): Promise<Hashed | { error: string; missing: boolean }> {
  // A failed read takes back the bytes it reported (progress).
  let got = 0;
  try {
    return await digestStream(await backend.get(key), signal, 'verify cancelled', (n) => {
      got += n;
      onBytes?.(n);
    });
  } catch (e) {
    if (got > 0) onBytes?.(-got);
    if (isStrataError(e, 'CANCELLED') || isStrataError(e, 'AUTH') || isStrataError(e, 'ARCHIVED')) throw e;
    return { error: errorMessage(e), missing: isStrataError(e, 'NOT_FOUND') };
  }
}

/** forEachLimited runs `fn` over the items with at most `limit` at once; the first failure rejects. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  await pLimit(limit).map(items, fn);
}
