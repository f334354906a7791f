/**
 * repository: the layout of sets on a destination. Each set lives in its own folder:
 *   <set>/<set>.7z.001 …            the encrypted 7-Zip volumes
 *   <set>/<set>.manifest.7z         the encrypted manifest
 *   <set>/<set>.par2, <set>/<set>_0001-0040/…   PAR2 recovery files (layout from core/protection)
 *   <set>/RESTORE.txt               how to open the set with stock tools
 *   <set>/<set>.pending             written first: who is writing this set (host, pid); removed last
 *   <set>/<set>.strata.json         the descriptor — written LAST; its presence makes the set complete
 * The catalog is rebuilt from the destination alone, so a fresh machine can restore.
 */
import { createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Backend, BodySource, ObjectInfo, PutOptions } from '../backend/backend.js';
import { HashingCounter, bufferSource, type Hashed } from '../io/hash.js';
import { closed } from '../io/streams.js';
import { retry } from '../io/retry.js';
import { StrataError, errnoCode, errorMessage, fromFsError, isStrataError } from '../errors.js';
import { isMachineRef, parseDescriptor, type Descriptor, type MachineRef } from '../core/descriptor.js';
import { parseSetId } from '../core/naming.js';
import { currentStamp, isStampAlive } from './process.js';
import * as z from 'zod';
import { descriptorKey, descriptorName, isDescriptorKey, isSetObjectKey, objectTags, pendingKey, setObjectKey } from '../core/keys.js';

/** PendingInfo is the content of a `.pending` marker (bootId and procStart: see repository/process). */
export interface PendingInfo {
  host: string;
  pid: number;
  started: string;
  /** The job writing the set. Debris removal and resume touch only sets whose marker names their
   * own job; a marker without it (an older strata) is never this job's. */
  job?: string;
  /** The machine writing the set (config/machine); absent in markers of older versions. */
  machine?: MachineRef;
  /** The writer's boot id, when known (a marker of an older strata has none). */
  bootId?: string;
  /** The writer's start time in clock ticks after boot, when known. */
  procStart?: string;
  /**
   * Set when the marker says the set is being removed (a prune), not written: written before its
   * descriptor is deleted, removed after its last object. A folder holding such a marker and no
   * descriptor is debris by the same rules (isDebris), and never resumed.
   */
  removing?: true;
}

/** RemovalStep names the steps of Repository.removeSet, in order. */
export type RemovalStep = 'marked' | 'descriptor' | 'objects' | 'unmarked';

/** An optional text field of a marker: one of another type is dropped, not a reason to distrust the marker. */
const optionalText = z.string().optional().catch(undefined);

/** pendingSchema reads a `.pending` marker: host, pid and start are required; other fields are kept when well-typed. */
const pendingSchema = z.object({
  host: z.string(),
  pid: z.number(),
  started: z.string(),
  job: optionalText,
  // Kept as read: markerOwner treats a machine field that is not a machine as another's.
  machine: z.custom<MachineRef>(() => true).optional(),
  bootId: optionalText,
  procStart: optionalText,
  // A removal's marker (prune): only `true` counts.
  removing: z.literal(true).optional().catch(undefined),
});

/** CatalogProblem is a set folder whose descriptor could not be read. */
export interface CatalogProblem {
  id: string;
  message: string;
  /** The descriptor is well-formed JSON but not a valid descriptor (a field out of bounds, edited). */
  tampered?: boolean;
}

/** Catalog is every set found on a destination. */
export interface Catalog {
  complete: Descriptor[];
  /** Set folders without a descriptor: in progress elsewhere, or debris of a crashed run. */
  incomplete: { id: string; pending: PendingInfo | undefined; keys: string[] }[];
  /** Folders at the top whose name is not a set id: not strata's, never touched or reported as problems. */
  foreign: string[];
  problems: CatalogProblem[];
  /**
   * Complete sets that still hold their `.pending` marker: the writer was killed between the
   * descriptor and removing the marker. Remove it (clearPending) once isDebris says the writer is gone.
   */
  leftoverPending: { id: string; pending: PendingInfo | undefined }[];
}

/** STALE_PENDING_MS: a pending marker from another host older than this is considered debris. */
export const STALE_PENDING_MS = 24 * 3600 * 1000;

/** Repository reads and writes sets on one Backend. */
export class Repository {
  constructor(readonly backend: Backend) {}

  /** catalog lists every set folder and reads every descriptor. */
  async catalog(): Promise<Catalog> {
    const folders = new Map<string, string[]>();
    for await (const obj of this.backend.list('')) {
      const slash = obj.key.indexOf('/');
      if (slash < 0) continue; // files at the top level are not strata's
      const id = obj.key.slice(0, slash);
      let keys = folders.get(id);
      if (keys === undefined) folders.set(id, (keys = []));
      keys.push(obj.key);
    }
    const result: Catalog = { complete: [], incomplete: [], foreign: [], problems: [], leftoverPending: [] };
    for (const [id, keys] of [...folders.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      // Only a folder named like a set can be one: anything else is the person's own (a synced
      // folder may hold their photos), neither a set nor a problem.
      if (parseSetId(id) === undefined) {
        result.foreign.push(id);
        continue;
      }
      const pending = keys.includes(pendingKey(id)) ? await this.readPending(id) : undefined;
      if (keys.includes(descriptorKey(id))) {
        try {
          result.complete.push(await this.readDescriptor(id));
        } catch (e) {
          // A descriptor that cannot be fetched (network, credentials) is not one that is broken:
          // the command fails rather than act on a catalog with a set missing from it.
          if (isStrataError(e) && (e.code === 'BACKEND' || e.code === 'AUTH' || e.code === 'CANCELLED')) throw e;
          // Gone since the listing (a set being removed): not a set any more, and not a broken one.
          if (isStrataError(e, 'NOT_FOUND')) continue;
          result.problems.push({ id, message: errorMessage(e), ...(isStrataError(e, 'TAMPERED') ? { tampered: true } : {}) });
        }
        if (keys.includes(pendingKey(id))) result.leftoverPending.push({ id, pending });
      } else {
        result.incomplete.push({ id, pending, keys });
      }
    }
    return result;
  }

  /** readPending reads a set's in-progress marker; undefined when it is unreadable (a torn write). */
  private async readPending(id: string): Promise<PendingInfo | undefined> {
    try {
      const raw: unknown = JSON.parse((await this.readSmall(pendingKey(id), 64 << 10)).toString('utf8'));
      const parsed = pendingSchema.safeParse(raw);
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** readDescriptor reads and shape-checks one descriptor (the HMAC is checked by the caller, who has the password). */
  async readDescriptor(id: string): Promise<Descriptor> {
    const key = descriptorKey(id);
    const d = parseDescriptor((await this.readSmall(key)).toString('utf8'), key);
    if (d.id !== id) throw new StrataError('TAMPERED', `${key} describes set ${d.id}, not ${id}`, { hint: 'The descriptor was moved or edited; do not trust this set.' });
    return d;
  }

  /** readSmall reads a small object (descriptor, marker) into memory. */
  async readSmall(key: string, limit = 16 << 20, signal?: AbortSignal): Promise<Buffer> {
    return retryCut(() => this.readSmallOnce(key, limit), signal);
  }

  private async readSmallOnce(key: string, limit: number): Promise<Buffer> {
    const stream = await this.backend.get(key);
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        n += chunk.length;
        if (n > limit) throw new StrataError('DAMAGED', `${key} is larger than expected (${n} bytes)`);
        chunks.push(chunk);
      }
    } catch (e) {
      // A read cut off midway is tried again, as in download: it is not an unreadable object.
      if (isStrataError(e) && !e.retriable) throw e;
      throw new TransferCut(`reading ${key}: ${errorMessage(e)}`, e);
    }
    return Buffer.concat(chunks);
  }

  /** put stores one object of a set. */
  async put(setId: string, name: string, body: BodySource, options: PutOptions = {}): Promise<ObjectInfo> {
    return this.backend.put(setObjectKey(setId, name), body, options);
  }

  /**
   * markPending records that this process is writing a set of `job`. Without `overwrite` (a new set)
   * it fails with ALREADY_EXISTS when another run marked the same set first: two runs that picked one name.
   */
  async markPending(setId: string, now: Date, job: string, machine?: MachineRef, options: { overwrite?: boolean } = {}): Promise<void> {
    const info: PendingInfo = { ...currentStamp(), host: hostname(), started: now.toISOString(), job, machine };
    await this.backend.put(pendingKey(setId), bufferSource(JSON.stringify(info)), { overwrite: options.overwrite ?? true });
  }

  /**
   * removeSet removes a complete set of `job` in an order that a crash at any moment leaves safe:
   * 1. a `.pending` marker naming this job, machine and process, marked `removing` — so that a
   *    later sweep can prove the rest is this job's (isDebris);
   * 2. the descriptor: from here on the set no longer counts (a listing shows it as unfinished);
   * 3. the set's own objects (isSetObjectKey: never anything else in its folder);
   * 4. the marker.
   * `onStep` is called after each step (tests stop a removal between them). Returns the keys of
   * the folder that are not strata's, which stay.
   */
  async removeSet(setId: string, now: Date, job: string, machine: MachineRef, onStep?: (step: RemovalStep) => void | Promise<void>): Promise<string[]> {
    const info: PendingInfo = { ...currentStamp(), host: hostname(), started: now.toISOString(), job, machine, removing: true };
    await this.backend.put(pendingKey(setId), bufferSource(JSON.stringify(info)), { overwrite: true });
    await onStep?.('marked');
    await this.backend.delete(descriptorKey(setId));
    await onStep?.('descriptor');
    const keys: string[] = [];
    for await (const o of this.backend.list(`${setId}/`)) keys.push(o.key);
    const kept = await this.removeSetObjects(setId, keys.filter((k) => k !== pendingKey(setId)));
    await onStep?.('objects');
    await this.backend.delete(pendingKey(setId));
    // Backends whose folders outlive their objects (WebDAV): the emptied folder goes too. An empty
    // folder left behind is no set (listings see objects only): not worth failing the removal for.
    if (kept.length === 0) await this.backend.removeFolder?.(`${setId}/`).catch(() => undefined);
    await onStep?.('unmarked');
    return kept;
  }

  /** clearPending removes the in-progress marker once the descriptor is in place. */
  async clearPending(setId: string): Promise<void> {
    await this.backend.delete(pendingKey(setId));
  }

  /** writeDescriptor stores the descriptor: the last write of a set, which makes it complete. */
  async writeDescriptor(d: Descriptor): Promise<void> {
    await this.backend.put(descriptorKey(d.id), bufferSource(JSON.stringify(d, null, 2) + '\n'), { overwrite: false, tags: objectTags(d, descriptorName(d.id)) });
  }

  /**
   * removeSetObjects deletes the objects of set `setId` among `keys` (debris or an explicit
   * removal): only keys that are the set's own objects by name (isSetObjectKey). Anything else in
   * the folder — a file a person dropped there — is left, and returned.
   */
  async removeSetObjects(setId: string, keys: readonly string[]): Promise<string[]> {
    const own = keys.filter((k) => isSetObjectKey(setId, k));
    // The descriptor first would make a half-deleted set look complete-but-damaged; it goes last,
    // and the marker that says "being written" after every object it covers.
    const rank = (k: string): number => (isDescriptorKey(k) ? 2 : k === pendingKey(setId) ? 1 : 0);
    const ordered = [...own].sort((a, b) => rank(a) - rank(b));
    for (const k of ordered) await this.backend.delete(k);
    return keys.filter((k) => !isSetObjectKey(setId, k));
  }

  /**
   * markerOwner tells whose run wrote a `.pending` marker. 'other': it names another machine — its
   * set is that machine's to finish, resume or remove, never this one's (a machine field that is
   * not a machine, edited or torn, does not prove the set is this machine's either). 'this': it
   * names this machine, or — a marker of an older version, without a machine — this host. 'unknown':
   * no readable marker, or an older marker of another host (isDebris then decides by host and process).
   */
  static markerOwner(pending: PendingInfo | undefined, machine: MachineRef): 'this' | 'other' | 'unknown' {
    if (pending === undefined) return 'unknown';
    const m: unknown = pending.machine;
    if (m !== undefined) return isMachineRef(m) && m.id === machine.id ? 'this' : 'other';
    return pending.host === hostname() ? 'this' : 'unknown';
  }

  /**
   * isDebris tells whether an incomplete set folder was left by a run of `job` that is gone. A
   * folder without a readable marker, or whose marker names no job or another job, is never
   * debris: strata cannot prove it is its own.
   */
  static isDebris(pending: PendingInfo | undefined, now: Date, job: string): boolean {
    if (pending?.job !== job) return false;
    if (pending.host === hostname()) return !isStampAlive(pending) || pending.pid === process.pid;
    return now.getTime() - Date.parse(pending.started) > STALE_PENDING_MS;
  }

  /**
   * download copies an object into a local file, checking it against `expect` when given. A
   * download cut off midway (a dropped connection, a stream that ends early) is tried again — up to
   * DOWNLOAD_ATTEMPTS in all — so that a network hiccup never passes for a damaged or missing
   * object (which would spend PAR2 redundancy, or lose files). An object that arrives whole but
   * with other bytes is damage: not retried. An abort of `signal` ends the wait between attempts
   * (CANCELLED).
   */
  async download(key: string, file: string, expect?: Hashed, signal?: AbortSignal, onBytes?: (n: number) => void): Promise<void> {
    // Progress: a retried download first takes back what the cut attempt reported.
    let got = 0;
    const count = onBytes === undefined ? undefined : (n: number): void => {
      got += n;
      onBytes(n);
    };
    await retryCut(() => {
      if (got > 0) onBytes?.(-got);
      got = 0;
      return this.downloadOnce(key, file, expect, count);
    }, signal);
  }

  private async downloadOnce(key: string, file: string, expect?: Hashed, onBytes?: (n: number) => void): Promise<void> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const counter = new HashingCounter(undefined);
    const body = await this.backend.get(key);
    const out = createWriteStream(file);
    try {
      if (onBytes !== undefined) counter.on('data', (chunk: Buffer) => onBytes(chunk.length));
      await pipeline(body, counter, out);
    } catch (e) {
      // Not before the stream has closed: opened after the removal (and after a retry began
      // writing), it would truncate the retry's bytes (io/streams).
      await closed(out);
      await fsp.rm(file, { force: true });
      // This machine's disk (full, read-only, no permission) is not the network: no retry.
      if (LOCAL_ERRNOS.has(errnoCode(e) ?? '')) throw fromFsError(e, `writing ${file}`);
      if (isStrataError(e) && !e.retriable) throw e;
      throw new TransferCut(`downloading ${key}: ${errorMessage(e)}`, e);
    }
    if (expect !== undefined) {
      const size = counter.bytes;
      const sha = counter.sha256();
      if (size !== expect.size || sha !== expect.sha256) {
        const damaged = new StrataError('DAMAGED', `${key} is damaged (size ${size}, expected ${expect.size}; sha256 ${sha.slice(0, 12)}…, expected ${expect.sha256.slice(0, 12)}…)`);
        // Fewer bytes than recorded may be a transfer cut short without an error: try again first.
        if (size < expect.size) throw new ShortDownload(`downloading ${key}: ${size} of ${expect.size} bytes arrived`, damaged);
        throw damaged;
      }
    }
  }
}

/** TransferCut is a download that failed after it had started (a dropped connection): retried. */
class TransferCut extends StrataError {
  constructor(message: string, cause?: unknown) {
    super('BACKEND', message, { retriable: true, cause });
  }
}

/** ShortDownload is a transfer that ended early without an error: retried, and damage if it persists. */
class ShortDownload extends TransferCut {
  constructor(
    message: string,
    readonly damaged: StrataError,
  ) {
    super(message);
  }
}

/**
 * retryCut runs a transfer and tries it again — DOWNLOAD_ATTEMPTS in all, with exponential backoff
 * and jitter — when it was cut off after it started (TransferCut). Failures to start one were
 * already retried by the backend's wrapper; a transfer that keeps arriving short ends as damage.
 */
async function retryCut<T>(transfer: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await retry(transfer, { attempts: DOWNLOAD_ATTEMPTS, baseDelayMs: 200, maxDelayMs: 200 * 2 ** DOWNLOAD_ATTEMPTS, fixedShare: 0.5, retriable: (e) => e instanceof TransferCut, signal });
  } catch (e) {
    throw e instanceof ShortDownload ? e.damaged : e;
  }
}

/** DOWNLOAD_ATTEMPTS is how often an object whose transfer was cut off is tried. */
const DOWNLOAD_ATTEMPTS = 4;

const LOCAL_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR']);

/** Kept for src/pipeline/backup.ts and older imports; the one implementation is io/hash. */
