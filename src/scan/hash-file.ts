/**
 * scan/hash-file: the SHA-256 of a source file as the scan reads it, and whether the file stayed the
 * same while it was read (then the hash is its contents; else it is read again next run).
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, lstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { errorMessage } from '../errors.js';
import type { ScanStat } from './stat-ahead.js';

/** HashOutcome is a file's hash, or why it could not be taken as it is. */
export type HashOutcome = { ok: true; sha256: string } | { ok: false; message: string };

/** hashFile reads a file through a handle opened without following links or blocking (a path swapped for a
 * FIFO must not hang the scan), and fails if the file changed while it was read (lstat before and after
 * must agree on size, mtime, ctime and inode). */
export async function hashFile(abs: string, before: ScanStat, buf: Buffer): Promise<HashOutcome> {
  if (before.size <= SYNC_HASH_MAX) return hashSmallFile(abs, before, buf);
  let fh;
  try {
    fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    return { ok: false, message: `cannot open: ${errorMessage(e)}` };
  }
  const h = createHash('sha256');
  let bytes = 0;
  // Reading stops at the size lstat gave (saving the extra read that would find EOF): a file that grew,
  // shrank or was swapped for another one in the meantime shows in the lstat after reading.
  const size = Number(before.size);
  try {
    while (bytes < size) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
  } catch (e) {
    return { ok: false, message: `cannot read: ${errorMessage(e)}` };
  } finally {
    await fh.close().catch(() => undefined);
  }
  let after: BigIntStats;
  try {
    after = await lstat(abs, { bigint: true });
  } catch (e) {
    return { ok: false, message: `changed while being read (${errorMessage(e)})` };
  }
  return readOutcome(before, after, bytes, h);
}

/** hashSmallFile is hashFile() for a small file, with the same checks, in synchronous calls. */
export function hashSmallFile(abs: string, before: ScanStat, buf: Buffer): HashOutcome {
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    return { ok: false, message: `cannot open: ${errorMessage(e)}` };
  }
  const h = createHash('sha256');
  let bytes = 0;
  const size = Number(before.size);
  try {
    while (bytes < size) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - bytes), null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } catch (e) {
    return { ok: false, message: `cannot read: ${errorMessage(e)}` };
  } finally {
    closeSync(fd);
  }
  let after: BigIntStats;
  try {
    after = lstatSync(abs, { bigint: true });
  } catch (e) {
    return { ok: false, message: `changed while being read (${errorMessage(e)})` };
  }
  return readOutcome(before, after, bytes, h);
}

/** readOutcome is the result of hashing a file: the hash, unless the file changed while it was read
 * (lstat before and after must agree on size, mtime, ctime and inode, and all bytes were read). */
function readOutcome(before: ScanStat, after: BigIntStats, bytes: number, h: Hash): HashOutcome {
  if (after.size !== before.size || after.mtimeNs !== before.mtimeNs || after.ctimeNs !== before.ctimeNs || after.ino !== before.ino || BigInt(bytes) !== before.size) {
    return { ok: false, message: 'changed while being read (size or modification time differ before and after); it will be read again next run' };
  }
  return { ok: true, sha256: h.digest('hex') };
}

/** Files up to this size are hashed with synchronous calls: for the many small files of a typical
 * source, the thread-pool hand-offs of open/read/close/lstat cost more than the syscalls. */
export const SYNC_HASH_MAX = 256n * 1024n;
