/**
 * End-to-end test helpers: run the compiled CLI with a password and a pinned clock, check exit
 * codes and --json output, and take exact snapshots of folder trees (type, bytes, mode, link
 * target, mtime in ns) so a restored tree can be compared with its source.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { strata, type CliOptions, type CliResult } from '../helpers/cli.js';

const execFileP = promisify(execFile);

/** PASSWORD is the password every e2e backup uses. */
export const PASSWORD = 'e2e-pässword with spaces';

/** RunOptions tune one CLI run. */
export interface RunOptions extends CliOptions {
  /** STRATA_NOW for this run (ISO 8601). */
  now?: string;
  /** The exit code the run must end with (default 0). */
  expect?: number;
}

/** cli runs strata with the password (and STRATA_NOW) and asserts the exit code. */
export async function cli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = { STRATA_PASSWORD: PASSWORD, ...opts.env };
  if (opts.now !== undefined) env['STRATA_NOW'] = opts.now;
  const t0 = performance.now();
  const r = await strata(args, { ...opts, env });
  if (process.env['STRATA_E2E_TIMING'] !== undefined) process.stderr.write(`[e2e] ${((performance.now() - t0) / 1000).toFixed(1)} s  strata ${args.slice(0, 3).join(' ')}\n`);
  const expect = opts.expect ?? 0;
  assert.equal(r.code, expect, `strata ${args.join(' ')} exited ${r.code}, expected ${expect}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

/** jsonOf asserts that stdout is exactly one JSON document and returns it, typed as the caller says. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the document's shape, as with `JSON.parse(...) as T`
export function jsonOf<T = Record<string, unknown>>(r: CliResult): T {
  const text = r.stdout.trim();
  assert.ok(text.startsWith('{') && text.endsWith('}'), `stdout is not one JSON object:\n${r.stdout}`);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    assert.fail(`stdout is not one JSON document (${e instanceof Error ? e.message : String(e)}):\n${r.stdout}`);
  }
}

/** Node is one path of a snapshot. */
export interface Node {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  size: number;
  sha256?: string;
  target?: string;
  mtimeNs: bigint;
}

/** Snapshot maps '/'-separated relative paths to what is there (the root itself is not included). */
export type Snapshot = Map<string, Node>;

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) h.update(chunk);
  return h.digest('hex');
}

/** snapshot walks a tree without following symlinks. */
export async function snapshot(root: string): Promise<Snapshot> {
  const out: Snapshot = new Map();
  const walk = async (rel: string): Promise<void> => {
    const names = await fsp.readdir(path.join(root, rel));
    for (const name of names.sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const full = path.join(root, r);
      const st = await fsp.lstat(full, { bigint: true });
      const base = { mode: Number(st.mode & 0o7777n), size: Number(st.size), mtimeNs: st.mtimeNs };
      if (st.isSymbolicLink()) out.set(r, { ...base, type: 'symlink', size: 0, target: await fsp.readlink(full) });
      else if (st.isDirectory()) {
        out.set(r, { ...base, type: 'dir', size: 0 });
        await walk(r);
      } else if (st.isFile()) out.set(r, { ...base, type: 'file', sha256: await sha256File(full) });
      else out.set(r, { ...base, type: 'other' });
    }
  };
  await walk('');
  return out;
}

/** CompareOptions say how strictly mtimes are compared. */
export interface CompareOptions {
  /** Largest allowed |restored - original| mtime difference in ns (default 999: same microsecond). */
  mtimeToleranceNs?: bigint;
  /** Skip mtimes of symlinks (default false). */
  ignoreSymlinkMtime?: boolean;
  /** Skip mtimes of folders (default false). */
  ignoreDirMtime?: boolean;
}

/** MtimeStats records how far restored mtimes were from the originals. */
export interface MtimeStats {
  compared: number;
  exactNs: number;
  maxDeltaNs: bigint;
  /** Restored mtimes whose sub-microsecond part is zero. */
  wholeMicroseconds: number;
}

/** assertSameTree compares two snapshots exactly (mtimes within the tolerance) and returns mtime statistics. */
export function assertSameTree(actual: Snapshot, expected: Snapshot, opts: CompareOptions = {}): MtimeStats {
  const tol = opts.mtimeToleranceNs ?? 999n;
  const extra = [...actual.keys()].filter((k) => !expected.has(k));
  const missing = [...expected.keys()].filter((k) => !actual.has(k));
  assert.deepEqual({ extra, missing }, { extra: [], missing: [] }, 'the restored tree has other paths than the original');
  const stats: MtimeStats = { compared: 0, exactNs: 0, maxDeltaNs: 0n, wholeMicroseconds: 0 };
  for (const [p, e] of expected) {
    const a = actual.get(p)!;
    const label = JSON.stringify(p);
    assert.equal(a.type, e.type, `${label}: type`);
    assert.equal(a.mode.toString(8), e.mode.toString(8), `${label}: mode`);
    if (e.type === 'file') {
      assert.equal(a.size, e.size, `${label}: size`);
      assert.equal(a.sha256, e.sha256, `${label}: sha256`);
    }
    if (e.type === 'symlink') assert.equal(a.target, e.target, `${label}: symlink target`);
    if ((e.type === 'symlink' && opts.ignoreSymlinkMtime === true) || (e.type === 'dir' && opts.ignoreDirMtime === true)) continue;
    const d = a.mtimeNs > e.mtimeNs ? a.mtimeNs - e.mtimeNs : e.mtimeNs - a.mtimeNs;
    assert.ok(d <= tol, `${label}: mtime ${a.mtimeNs} differs from the original ${e.mtimeNs} by ${d} ns (> ${tol} ns)`);
    stats.compared++;
    if (d === 0n) stats.exactNs++;
    if (d > stats.maxDeltaNs) stats.maxDeltaNs = d;
    if (a.mtimeNs % 1000n === 0n) stats.wholeMicroseconds++;
  }
  return stats;
}

/** setMtimeNs sets a path's mtime (and atime) to the nanosecond with touch(1), without following symlinks. */
export async function setMtimeNs(file: string, ns: bigint): Promise<void> {
  const secs = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  await execFileP('touch', ['-h', '-d', `@${secs}.${frac}`, '--', file]);
}

/** listTree lists every path under root (relative, sorted), hidden ones included. */
export async function listTree(root: string): Promise<string[]> {
  return [...(await snapshot(root)).keys()];
}

/** du returns the bytes a file really occupies on disk (st_blocks * 512). */
export async function diskUsage(file: string): Promise<number> {
  const st = await fsp.stat(file);
  return st.blocks * 512;
}

/** freeBytes is the space available to this user on the filesystem holding dir. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await fsp.statfs(dir);
  return s.bavail * s.bsize;
}

/** day returns STRATA_NOW for 2026-11-29 + n days at the given UTC time (day 0 is Sunday 2026-11-29). */
export function day(n: number, time = '09:00:00'): string {
  const d = new Date(Date.UTC(2026, 10, 29 + n));
  return `${d.toISOString().slice(0, 10)}T${time}Z`;
}
