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
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Backend, BodySource, ObjectInfo, PutOptions } from '../backend/backend.js';
import { bufferSource } from '../backend/local.js';
import { StrataError, errnoCode, errorMessage, fromFsError, isStrataError } from '../errors.js';
import { isMachineRef, parseDescriptor, type Descriptor, type MachineRef } from '../core/descriptor.js';
import { parseSetId } from '../core/naming.js';
import { currentStamp, isStampAlive } from './process.js';
import { descriptorKey, isDescriptorKey, isSetObjectKey, pendingKey, setObjectKey } from '../core/keys.js';

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
      if (raw === null || typeof raw !== 'object') return undefined;
      const p = raw as Partial<Record<keyof PendingInfo, unknown>>;
      if (typeof p.host !== 'string' || typeof p.pid !== 'number' || typeof p.started !== 'string') return undefined;
      const info: PendingInfo = { host: p.host, pid: p.pid, started: p.started };
      if (typeof p.job === 'string') info.job = p.job;
      // Kept as read: isOtherMachine treats a machine field that is not a machine as another's.
      if (p.machine !== undefined) info.machine = p.machine as MachineRef;
      if (typeof p.bootId === 'string') info.bootId = p.bootId;
      if (typeof p.procStart === 'string') info.procStart = p.procStart;
      if (p.removing === true) info.removing = true;
      return info;
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
  async readSmall(key: string, limit = 16 << 20): Promise<Buffer> {
    return retryCut(() => this.readSmallOnce(key, limit));
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
    await this.backend.put(descriptorKey(d.id), bufferSource(JSON.stringify(d, null, 2) + '\n'), { overwrite: false, tags: { tier: d.tier, type: d.type, set: d.id } });
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
   * isOtherMachine tells whether a marker names another machine than this one: its set is that
   * machine's to finish, resume or remove, never this one's. A marker of an older version (no
   * machine) falls back to the host name and process checks of isDebris.
   */
  static isOtherMachine(pending: PendingInfo | undefined, machine: MachineRef): boolean {
    // A machine field that is not a machine (edited, torn) does not prove the set is this machine's.
    const m: unknown = pending?.machine;
    return m !== undefined && !(isMachineRef(m) && m.id === machine.id);
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
   * with other bytes is damage: not retried.
   */
  async download(key: string, file: string, expect?: { size: number; sha256: string }): Promise<void> {
    await retryCut(() => this.downloadOnce(key, file, expect));
  }

  private async downloadOnce(key: string, file: string, expect?: { size: number; sha256: string }): Promise<void> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const hash = createHash('sha256');
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    const body = await this.backend.get(key);
    try {
      await pipeline(body, counter, createWriteStream(file));
    } catch (e) {
      await fsp.rm(file, { force: true });
      // This machine's disk (full, read-only, no permission) is not the network: no retry.
      if (LOCAL_ERRNOS.has(errnoCode(e) ?? '')) throw fromFsError(e, `writing ${file}`);
      if (isStrataError(e) && !e.retriable) throw e;
      throw new TransferCut(`downloading ${key}: ${errorMessage(e)}`, e);
    }
    if (expect !== undefined) {
      const sha = hash.digest('hex');
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
async function retryCut<T>(transfer: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transfer();
    } catch (e) {
      if (attempt >= DOWNLOAD_ATTEMPTS || !(e instanceof TransferCut)) throw e instanceof ShortDownload ? e.damaged : e;
      await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)));
    }
  }
}

/** DOWNLOAD_ATTEMPTS is how often an object whose transfer was cut off is tried. */
const DOWNLOAD_ATTEMPTS = 4;

const LOCAL_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR']);

/** hashFile computes a local file's SHA-256 and size, streaming. */
export async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}
