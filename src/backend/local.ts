/**
 * backend/local: a Backend on a local or synced folder (OneDrive, Google Drive, iCloud Drive,
 * Proton Drive, a mounted NAS). Objects are files; uploads are written to a hidden temporary file,
 * hashed and fsynced, then linked into place so that a completed object appears atomically.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { StrataError, errnoCode, fromFsError, notFound } from '../errors.js';
import type { Backend, BodySource, ByteRange, ObjectInfo, PutOptions } from './backend.js';
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
    const hash = createHash('sha256');
    let size = 0;
    try {
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      await pipeline(body.open(), counter, createWriteStream(tmp, { flags: 'wx' }), { signal: options.signal });
      const sha256 = hash.digest('hex');
      if (size !== body.size) {
        throw new StrataError('CHECKSUM', `${key}: source gave ${size} bytes, expected ${body.size}`);
      }
      if (options.sha256 !== undefined && options.sha256 !== sha256) {
        throw new StrataError('CHECKSUM', `${key}: SHA-256 mismatch (got ${sha256}, expected ${options.sha256})`);
      }
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

/** fileSource makes a BodySource of a local file. */
export async function fileSource(file: string): Promise<BodySource> {
  const st = await fsp.stat(file);
  return { size: st.size, open: () => createReadStream(file) };
}

/** bufferSource makes a BodySource of bytes in memory (small objects: descriptors, RESTORE.txt). */
export function bufferSource(data: Buffer | string): BodySource {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return { size: buf.length, open: () => Readable.from([buf]) };
}
