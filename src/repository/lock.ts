/**
 * repository/lock: one run at a time per job. The lock is a file in the job's state folder
 * holding the owner's host and pid; a lock whose process is gone (same host) is taken over,
 * so a killed run never blocks the next one forever.
 */
import { hostname } from 'node:os';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { StrataError, errnoCode } from '../errors.js';

/** LockInfo is what a lock file records. */
export interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
}

/** isProcessAlive tells whether a pid on this host still runs. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

/** Lock is a held lock; release() removes it. */
export interface Lock {
  release(): Promise<void>;
}

/** acquireLock takes the job lock or throws LOCKED naming the holder. */
export async function acquireLock(dir: string, command: string, now: Date): Promise<Lock> {
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'lock');
  const info: LockInfo = { pid: process.pid, host: hostname(), started: now.toISOString(), command };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fsp.open(file, 'wx', 0o600);
      await fh.writeFile(JSON.stringify(info));
      await fh.sync();
      await fh.close();
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          await fsp.rm(file, { force: true });
        },
      };
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    let holder: LockInfo | undefined;
    try {
      holder = JSON.parse(await fsp.readFile(file, 'utf8')) as LockInfo;
    } catch {
      holder = undefined; // half-written by a process that died at once: stale
    }
    const stale = holder === undefined || (holder.host === info.host && !isProcessAlive(holder.pid));
    if (!stale && holder !== undefined) {
      throw new StrataError('LOCKED', `another strata run holds the lock (${holder.command}, pid ${holder.pid} on ${holder.host}, since ${holder.started})`, {
        hint: `Wait for it to finish. If that process is really gone, delete ${file}.`,
      });
    }
    await fsp.rm(file, { force: true });
  }
  throw new StrataError('LOCKED', `could not take the lock ${file}`, { hint: 'Another run keeps taking it; try again.' });
}
