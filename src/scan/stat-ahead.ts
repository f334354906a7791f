/**
 * scan/stat-ahead: how a source's lstat calls are made: ahead of the walk on the thread pool
 * (network filesystems, where their latencies overlap), or, on local ones, by the stat thread
 * (scan/stat-thread: a worker, a chunk of names at a time) or synchronously.
 */
import { lstatSync, type BigIntStats } from 'node:fs';
import { lstat, statfs } from 'node:fs/promises';
import type { HashOutcome } from './hash-file.js';

/** StatMode: see ScanOptions.statMode. */
export type StatMode = 'auto' | 'ahead' | 'thread' | 'sync';

/** LSTAT_AHEAD is how many lstat calls run ahead of the walk within one folder (network sources). */
export const LSTAT_AHEAD = 16;

/** Filesystem types (statfs f_type) whose metadata calls cross a network or a user-space daemon:
 *  NFS, SMB/CIFS (three magics), FUSE (rclone mount, sshfs, cloud-drive clients), Ceph, 9P, AFS,
 *  Coda, NCP, Lustre, GFS2, OCFS2. There the walk keeps LSTAT_AHEAD calls in flight on the thread
 *  pool so their latencies overlap. Everywhere else (ext4, xfs, btrfs, zfs, tmpfs, overlay, apfs
 *  over a local disk …) an lstat is a few microseconds in the kernel and a synchronous call is
 *  about three times cheaper than the thread-pool hand-off of an asynchronous one (measured on
 *  20k files: 127 ms against 364 ms). */
const NETWORK_FS = new Set([0x6969, 0x517b, 0xff534d42, 0xfe534d42, 0x65735546, 0x00c36400, 0x01021997, 0x5346414f, 0x6b414653, 0x73757245, 0x564c, 0x0bd00bd0, 0x01161970, 0x7461636f]);

/** statsAhead tells whether a source's lstat calls should run ahead asynchronously (network
 *  filesystems, or a filesystem that cannot be identified). */
export async function statsAhead(root: string, mode: StatMode): Promise<boolean> {
  if (mode !== 'auto') return mode === 'ahead';
  try {
    return NETWORK_FS.has((await statfs(root)).type);
  } catch {
    return true;
  }
}

/** walkStatMode is how a walk of `root` makes its lstat calls: `auto` is ahead on a network
 *  filesystem (or one that cannot be identified), else the stat thread. */
export async function walkStatMode(root: string, mode: StatMode): Promise<Exclude<StatMode, 'auto'>> {
  if (mode !== 'auto') return mode;
  return (await statsAhead(root, mode)) ? 'ahead' : 'thread';
}

/** lstatOutcomeAsync is lstatOutcome on the thread pool. */
export function lstatOutcomeAsync(abs: string): Promise<StatOutcome> {
  return lstat(abs, { bigint: true }).then((st) => ({ st }), (err: unknown) => ({ err }));
}

export function lstatOutcome(abs: string): StatOutcome {
  try {
    return { st: lstatSync(abs, { bigint: true }) };
  } catch (err) {
    return { err };
  }
}

/** ScanStat is what the scan reads of a path's lstat (BigIntStats has it; the stat thread sends just this). */
export type ScanStat = Pick<
  BigIntStats,
  'dev' | 'ino' | 'mode' | 'nlink' | 'uid' | 'gid' | 'size' | 'blocks' | 'mtimeNs' | 'ctimeNs' | 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'
>;

/** StatOutcome is a path's lstat, or its error; the stat thread may add the hash of a small file it read right after (HashOutcome of scan/hash-file). */
export type StatOutcome = { st: ScanStat; hash?: HashOutcome } | { err: unknown };
