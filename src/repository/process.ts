/**
 * repository/process: telling a process apart from a later one that got the same pid. A lock, a
 * `.pending` marker or a restore's work folder records its writer's pid, the machine's boot id
 * (/proc/sys/kernel/random/boot_id) and the process's start time (/proc/<pid>/stat field 22, in
 * clock ticks since boot). After a reboot, or once the pid has been given to another process, the
 * writer is gone even though "a process with that pid" runs: only all three matching means alive.
 * Where /proc is missing (not Linux), the pid alone decides, as before.
 */
import { readFileSync } from 'node:fs';
import { errnoCode } from '../errors.js';

/** ProcessStamp identifies a process beyond its pid; the extra fields are absent where /proc is missing. */
export interface ProcessStamp {
  pid: number;
  /** The kernel's boot id when the process ran. */
  bootId?: string;
  /** The process's start time in clock ticks after boot (/proc/<pid>/stat field 22), as text. */
  procStart?: string;
}

let cachedBootId: string | undefined | null = null;

/** bootId is this boot's id, or undefined where the kernel does not publish one. */
export function bootId(): string | undefined {
  if (cachedBootId === null) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      cachedBootId = undefined;
    }
  }
  return cachedBootId;
}

/** processStartTicks is field 22 of /proc/<pid>/stat (start time after boot), undefined when unreadable. */
export function processStartTicks(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 is "(comm)" and may hold spaces and parentheses: count from the last ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[22 - 3];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

/** currentStamp identifies this process. */
export function currentStamp(): ProcessStamp {
  const stamp: ProcessStamp = { pid: process.pid };
  const boot = bootId();
  const start = processStartTicks(process.pid);
  if (boot !== undefined) stamp.bootId = boot;
  if (start !== undefined) stamp.procStart = start;
  return stamp;
}

/** stampOf reads the stamp recorded in a parsed JSON object (pid, and bootId, procStart when present); undefined without a valid pid. */
export function stampOf(value: unknown): ProcessStamp | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Partial<Record<keyof ProcessStamp, unknown>>;
  if (typeof o.pid !== 'number' || !Number.isInteger(o.pid) || o.pid <= 0) return undefined;
  const stamp: ProcessStamp = { pid: o.pid };
  if (typeof o.bootId === 'string') stamp.bootId = o.bootId;
  if (typeof o.procStart === 'string') stamp.procStart = o.procStart;
  return stamp;
}

/** isPidAlive tells whether some process with this pid runs on this machine. */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

/**
 * isStampAlive tells whether the process a stamp names (on this machine) still runs: its pid is
 * alive and, where both are known, the boot id and the start time are the recorded ones.
 */
export function isStampAlive(stamp: ProcessStamp): boolean {
  if (!isPidAlive(stamp.pid)) return false;
  if (typeof stamp.bootId === 'string') {
    const boot = bootId();
    if (boot !== undefined && boot !== stamp.bootId) return false;
  }
  if (typeof stamp.procStart === 'string') {
    const start = processStartTicks(stamp.pid);
    if (start !== undefined && start !== stamp.procStart) return false;
  }
  return true;
}
