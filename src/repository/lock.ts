/**
 * repository/lock: one run at a time per job. The lock is a file in the job's state folder
 * holding the owner's host, pid, boot id and process start time; a lock whose process is gone
 * (same host) is taken over, so a killed run never blocks the next one forever — also after a
 * reboot, when another process may have been given the holder's pid (see repository/process).
 *
 * The lock appears whole or not at all: it is written under a private name and hard-linked into
 * place (link fails when the lock exists), so no contender ever reads a half-written lock. Taking
 * over a stale lock is guarded by a second exclusive file, and the stale lock is removed only if it
 * is still the very one judged stale: several runs started at once against a dead holder's lock
 * end with exactly one holder.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { StrataError, errnoCode } from '../errors.js';
import { currentStamp, isStampAlive, stampOf, type ProcessStamp } from './process.js';

/** LockInfo is what a lock file records (bootId and procStart: see repository/process). */
export interface LockInfo extends ProcessStamp {
  host: string;
  started: string;
  command: string;
}

/** Lock is a held lock; release() removes it. */
export interface Lock {
  release(): Promise<void>;
}

/** acquireLock takes the job lock or throws LOCKED naming the holder. */
export async function acquireLock(dir: string, command: string, now: Date): Promise<Lock> {
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'lock');
  const info: LockInfo = { ...currentStamp(), host: hostname(), started: now.toISOString(), command };
  const mine = path.join(dir, `lock.${process.pid}.${randomBytes(4).toString('hex')}`);
  const fh = await fsp.open(mine, 'wx', 0o600);
  try {
    await fh.writeFile(JSON.stringify(info));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        await fsp.link(mine, file);
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
      let text: string;
      try {
        text = await fsp.readFile(file, 'utf8');
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') continue; // released meanwhile: try again
        throw e;
      }
      let holder: LockInfo | undefined;
      try {
        holder = JSON.parse(text) as LockInfo;
      } catch {
        holder = undefined; // not a lock strata writes (it links whole files): stale
      }
      const stale = holder === undefined || typeof holder.pid !== 'number' || (holder.host === info.host && !isStampAlive(holder));
      if (!stale && holder !== undefined) {
        throw new StrataError('LOCKED', `another strata run holds the lock (${holder.command}, pid ${holder.pid} on ${holder.host}, since ${holder.started})`, {
          hint: `Wait for it to finish. If that process is really gone, delete ${file}.`,
        });
      }
      await takeOver(file, text);
    }
    throw new StrataError('LOCKED', `could not take the lock ${file}`, { hint: 'Other runs keep taking it; try again.' });
  } finally {
    await fsp.rm(mine, { force: true });
  }
}

/**
 * takeOver removes a stale lock, provided it still holds `staleText`: between judging it stale and
 * removing it, a faster contender may have taken over and written its own lock, which must stay.
 * One contender at a time, under an exclusive guard file; the others wait a moment and look again.
 */
async function takeOver(file: string, staleText: string): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    await fsp.writeFile(guard, JSON.stringify(currentStamp()), { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if (errnoCode(e) !== 'EEXIST') throw e;
    // A guard whose writer is gone was left by a run that died in the middle of a takeover (its
    // pid may run another process by now: the stamp tells them apart, as for the lock).
    const writer = guardStamp(await fsp.readFile(guard, 'utf8').catch(() => ''));
    if (writer !== undefined && !isStampAlive(writer)) await fsp.rm(guard, { force: true });
    else await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
    return;
  }
  try {
    const current = await fsp.readFile(file, 'utf8').catch(() => undefined);
    if (current === staleText) await fsp.rm(file, { force: true });
  } finally {
    await fsp.rm(guard, { force: true });
  }
}

/** guardStamp reads a takeover guard: a ProcessStamp as JSON, or a bare pid (written by older versions); undefined while it is being written. */
function guardStamp(text: string): ProcessStamp | undefined {
  if (/^\d+$/.test(text.trim())) return stampOf({ pid: Number(text) });
  try {
    return stampOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}
