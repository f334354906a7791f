/**
 * exec/orphans: processes a dead run left behind. strata pauses 7-Zip with SIGSTOP while staging
 * is full; if strata itself is then killed (SIGKILL, the OOM killer, a power-off of its session),
 * the paused 7zz is re-parented and waits forever, holding its files open. The next run of the job
 * (which holds the job's lock, so no live run owns anything in its staging folder) finds such
 * processes by their argv — an argument naming a path inside the staging folder, alone or after a
 * switch (`-B…`, `@…`, `-o…`) — and kills them before it clears the folder.
 *
 * Linux (/proc); elsewhere it finds nothing. Processes of other users are left alone (the kill is
 * refused and ignored).
 */
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { errnoCode } from '../errors.js';

/** Orphan is one process found working in a folder. */
export interface Orphan {
  pid: number;
  /** Its program's base name (7zz, par2, …). */
  command: string;
}

/** namesPathIn tells whether one argument names a path inside dir: `dir/…`, or a switch followed by it. */
export function namesPathIn(arg: string, dir: string): boolean {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const at = arg.indexOf(prefix);
  return at >= 0 && /^(?:-[A-Za-z]*|@)?$/.test(arg.slice(0, at));
}

/** findWorkingIn lists the processes (other than this one and its parent) whose argv names a path inside dir. */
export async function findWorkingIn(dir: string): Promise<Orphan[]> {
  const abs = path.resolve(dir);
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return [];
  }
  const pids = names.filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => pid !== process.pid && pid !== process.ppid);
  // The command lines are read CMDLINE_READS at a time: one by one, a machine's few hundred
  // processes cost a thread-pool round trip each, ~20 ms of every backup's start (issue 11).
  const found: Orphan[] = [];
  for (let i = 0; i < pids.length; i += CMDLINE_READS) {
    const argvs = await Promise.all(pids.slice(i, i + CMDLINE_READS).map(async (pid) => {
      try {
        return { pid, argv: (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '') };
      } catch {
        return undefined; // gone meanwhile, or not ours to read
      }
    }));
    for (const p of argvs) {
      if (p !== undefined && p.argv.slice(1).some((a) => namesPathIn(a, abs))) found.push({ pid: p.pid, command: path.basename(p.argv[0] ?? '?') });
    }
  }
  return found;
}

/** CMDLINE_READS is how many /proc/PID/cmdline reads findWorkingIn has in flight at once. */
const CMDLINE_READS = 32;

/**
 * reapOrphans kills (SIGKILL: it ends a stopped process too) every process working in dir and waits
 * up to 5 s for each to go, so that its files can be removed. Returns the ones it killed.
 */
export async function reapOrphans(dir: string): Promise<Orphan[]> {
  const killed: Orphan[] = [];
  for (const o of await findWorkingIn(dir)) {
    try {
      process.kill(o.pid, 'SIGKILL');
      killed.push(o);
    } catch (e) {
      if (errnoCode(e) !== 'ESRCH' && errnoCode(e) !== 'EPERM') throw e;
    }
  }
  for (const o of killed) {
    for (let i = 0; i < 100 && (await alive(o.pid)); i++) await new Promise((r) => setTimeout(r, 50));
  }
  return killed;
}

/** alive tells whether a pid still exists and is not a zombie (a zombie holds no files). */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
