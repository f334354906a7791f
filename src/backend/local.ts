/**
 * backend/local: a Backend on a local or synced folder (OneDrive, Google Drive, iCloud Drive,
 * Proton Drive, a mounted NAS). Objects are files; uploads are written to a hidden temporary file,
 * hashed and fsynced, then linked into place so that a completed object appears atomically.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { StrataError, errnoCode, fromFsError, notFound } from '../errors.js';
import type { Backend, BodySource, ByteRange, ObjectInfo, PutOptions } from './backend.js';
import { HashingCounter, checkSha256 } from '../io/hash.js';
import { closed } from '../io/streams.js';
import { validateKey } from './keys.js';

const TMP_PREFIX = '.strata-tmp-';
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');

/**
 * isStaleTemp tells whether a temporary upload file was left by a process of this host that is
 * gone (a killed run): its name carries the writer's host and pid. Files of other hosts (a shared
 * NAS folder) and of live processes are left alone.
 */
function isStaleTemp(name: string): boolean {
  const m = /^\.strata-tmp-(.+)-(\d+)-[0-9a-f]+$/.exec(name);
  if (m === null || m[1] !== HOST) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (e) {
    return errnoCode(e) === 'ESRCH';
  }
}

/** sweepStaleTemps removes the stale temporary files of one folder; it returns how many it removed. */
async function sweepStaleTemps(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return 0;
  }
  const stale = names.filter(isStaleTemp);
  for (const n of stale) await fsp.rm(path.join(dir, n), { force: true });
  return stale.length;
}

/** LocalBackend stores objects as files under a root folder. */
export class LocalBackend implements Backend {
  readonly description: string;
  readonly root: string;
  private readonly swept = new Set<string>();

  constructor(root: string) {
    this.root = path.resolve(root);
    this.description = this.root;
  }

  private file(key: string): string {
    return path.join(this.root, ...validateKey(key).split('/'));
  }

  localPath(key: string): string {
    return this.file(key);
  }

  async put(key: string, body: BodySource, options: PutOptions = {}): Promise<ObjectInfo> {
    const target = this.file(key);
    const dir = path.dirname(target);
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (e) {
      throw fromFsError(e, `creating ${dir}`);
    }
    if (options.overwrite !== true && (await exists(target))) {
      throw new StrataError('ALREADY_EXISTS', `${key} already exists on ${this.description}`);
    }
    if (!this.swept.has(dir)) {
      // Once per folder and run: leftovers of a killed upload into this folder go first.
      this.swept.add(dir);
      await sweepStaleTemps(dir);
    }
    const tmp = path.join(dir, `${TMP_PREFIX}${HOST}-${process.pid}-${randomBytes(6).toString('hex')}`);
    const out = createWriteStream(tmp, { flags: 'wx' });
    try {
      const counter = new HashingCounter(body.size, `${key}: source`);
      await pipeline(body.open(), counter, out, { signal: options.signal });
      const size = counter.bytes;
      const sha256 = counter.sha256();
      checkSha256(key, sha256, options.sha256);
      await fsyncFile(tmp);
      if (options.overwrite === true) {
        await fsp.rename(tmp, target);
      } else {
        try {
          await fsp.link(tmp, target);
        } catch (e) {
          if (errnoCode(e) === 'EEXIST') throw new StrataError('ALREADY_EXISTS', `${key} already exists on ${this.description}`);
          throw e;
        }
        await fsp.unlink(tmp);
      }
      await fsyncDir(dir);
      return { key, size, sha256 };
    } catch (e) {
      // Not before the stream has closed: a source failing at once left the temporary file behind
      // (io/streams; seen in 3 of 1,500 such puts under load).
      await closed(out);
      await fsp.rm(tmp, { force: true });
      throw fromFsError(e, `writing ${key} to ${this.description}`);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.file(key);
    const st = await this.statFile(key, file);
    if (range === undefined) return createReadStream(file);
    const start = range.offset;
    const endExclusive = range.length === undefined ? st.size : Math.min(st.size, start + range.length);
    if (start >= st.size || endExclusive <= start) return Readable.from([]);
    return createReadStream(file, { start, end: endExclusive - 1 });
  }

  private async statFile(key: string, file: string): Promise<{ size: number }> {
    try {
      const st = await fsp.stat(file);
      if (!st.isFile()) throw notFound(`${key} on ${this.description}`);
      return { size: st.size };
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') throw notFound(`${key} on ${this.description}`);
      throw fromFsError(e, `reading ${key}`);
    }
  }

  async stat(key: string): Promise<ObjectInfo> {
    const st = await this.statFile(key, this.file(key));
    return { key, size: st.size };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    const start = dirKey === '' ? this.root : this.file(dirKey);
    for await (const info of walk(start, dirKey)) {
      if (info.key.startsWith(prefix)) yield info;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    try {
      await fsp.unlink(file);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return;
      throw fromFsError(e, `deleting ${key}`);
    }
    // Remove folders left empty, up to the root, so a deleted set leaves no trace.
    let dir = path.dirname(file);
    while (dir.startsWith(this.root + path.sep)) {
      try {
        await fsp.rmdir(dir);
      } catch (e) {
        // A folder holding only what a killed upload left behind is empty for every purpose.
        if (errnoCode(e) !== 'ENOTEMPTY' || (await sweepStaleTemps(dir)) === 0) break;
        continue;
      }
      dir = path.dirname(dir);
    }
  }

  async rootExists(): Promise<boolean> {
    try {
      return (await fsp.stat(this.root)).isDirectory();
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return false;
      throw fromFsError(e, `opening ${this.root}`);
    }
  }

  async createRoot(): Promise<void> {
    try {
      await fsp.mkdir(this.root, { recursive: true });
    } catch (e) {
      throw fromFsError(e, `creating ${this.root}`);
    }
  }

  async close(): Promise<void> {
    // Nothing to release.
  }
}

async function* walk(dir: string, keyPrefix: string): AsyncGenerator<ObjectInfo> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return;
    throw fromFsError(e, `listing ${dir}`);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // A folder that holds nothing but what killed uploads left behind (a run killed while writing
  // its first object) is swept away here, so it does not linger unseen by every listing.
  if (keyPrefix !== '' && entries.length > 0 && entries.every((e) => e.isFile() && isStaleTemp(e.name))) {
    await sweepStaleTemps(dir);
    await fsp.rmdir(dir).catch(() => undefined);
    return;
  }
  for (const ent of entries) {
    if (ent.name.startsWith(TMP_PREFIX)) continue;
    const key = keyPrefix === '' ? ent.name : `${keyPrefix}/${ent.name}`;
    const full = path.join(dir, ent.name);
    if (ent.isDirectory()) {
      yield* walk(full, key);
    } else if (ent.isFile()) {
      const st = await fsp.stat(full);
      yield { key, size: st.size };
    }
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** fsyncFile flushes a file's data to stable storage. */
export async function fsyncFile(file: string): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncDir flushes a folder's entries (a rename or link in it) to stable storage. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // Some filesystems (and synced-folder drivers) refuse fsync on folders; the data itself is synced.
  } finally {
    await fh?.close();
  }
}

/** Kept for src/pipeline/backup.ts and older imports; the one implementation is io/hash. */
