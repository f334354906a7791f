/**
 * Helpers for the robustness suites (test/e2e/robust*.test.ts): a strata runner bound to one
 * destination, state folder and password; process-tree inspection through /proc (descendants,
 * argv, environment); source-tree generation, snapshots and comparison; byte searches.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import { CLI_ENTRY, strata, type CliOptions, type CliResult } from '../helpers/cli.js';

/** Rng is a small deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  /** next returns a float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** int returns an integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** pick returns one element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    const x = xs[Math.floor(this.next() * xs.length)];
    if (x === undefined) throw new Error('pick from an empty array');
    return x;
  }
  /** bytes returns n pseudo-random bytes (incompressible). */
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n + 4);
    for (let i = 0; i < n; i += 4) b.writeUInt32LE(Math.floor(this.next() * 4294967296), i);
    return b.subarray(0, n);
  }
  /** text returns n bytes of compressible text. */
  text(n: number): Buffer {
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
    const parts: string[] = [];
    let len = 0;
    while (len < n) {
      const w = this.pick(words) + (this.next() < 0.1 ? '\n' : ' ');
      parts.push(w);
      len += w.length;
    }
    return Buffer.from(parts.join('').slice(0, n));
  }
}

/** Rig is one strata job under test: its folders, password and a runner that always passes --state. */
export interface Rig {
  src: string;
  dest: string;
  state: string;
  password: string;
  /** run runs `strata --state STATE ...args` with STRATA_PASSWORD set (unless env overrides it). */
  run(args: string[], opts?: CliOptions): Promise<CliResult>;
  backup(tier: string, extra?: string[], opts?: CliOptions): Promise<CliResult>;
  restore(to: string, extra?: string[], opts?: CliOptions): Promise<CliResult>;
  verify(extra: string[], opts?: CliOptions): Promise<CliResult>;
  list(opts?: CliOptions): Promise<ListJson>;
}

/** ListJson is the part of `strata list --json` the robustness tests read. */
export interface ListJson {
  sets: { id: string; source: string; type: string; created: string }[];
  incomplete: unknown[];
  problems: unknown[];
}

/** makeRig binds a runner to folders and a password. */
export function makeRig(o: { src: string; dest: string; state: string; password: string; volumeSize?: string; level?: string }): Rig {
  const run = (args: string[], opts: CliOptions = {}): Promise<CliResult> =>
    strata(['--state', o.state, ...args], { ...opts, env: { STRATA_PASSWORD: o.password, ...opts.env } });
  const archiveFlags = [...(o.volumeSize !== undefined ? ['--volume-size', o.volumeSize] : []), ...(o.level !== undefined ? ['--level', o.level] : [])];
  return {
    ...o,
    run,
    backup: (tier, extra = [], opts) => run(['backup', '--tier', tier, '--source', o.src, '--dest', o.dest, ...archiveFlags, ...extra], opts),
    restore: (to, extra = [], opts) => run(['restore', '--dest', o.dest, '--to', to, ...extra], opts),
    verify: (extra, opts) => run(['verify', '--dest', o.dest, ...extra], opts),
    list: async (opts) => {
      const r = await run(['list', '--dest', o.dest, '--json'], opts);
      if (r.code === 10) return { sets: [], incomplete: [], problems: [] };
      assert.equal(r.code, 0, `list failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as ListJson;
    },
  };
}

/** show formats a run for assertion messages. */
export function show(r: CliResult): string {
  return `exit ${r.code} signal ${String(r.signal)}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

// ---------------------------------------------------------------------------------------------
// Processes

/** ProcInfo is one process as /proc shows it. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
}

/** processTable reads every process's pid, parent and command name (synchronously: it is polled). */
export function processTable(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    out.push({ pid: Number(name), ppid: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return out;
}

/** descendants lists every process below pid (children, grandchildren, ...). */
export function descendants(pid: number, table: ProcInfo[] = processTable()): ProcInfo[] {
  const byParent = new Map<number, ProcInfo[]>();
  for (const p of table) {
    const list = byParent.get(p.ppid) ?? [];
    list.push(p);
    byParent.set(p.ppid, list);
  }
  const result: ProcInfo[] = [];
  const queue = [pid];
  for (let q = queue.shift(); q !== undefined; q = queue.shift()) {
    for (const c of byParent.get(q) ?? []) {
      result.push(c);
      queue.push(c.pid);
    }
  }
  return result;
}

/** readProc reads /proc/<pid>/<what> (cmdline, environ), or undefined when the process is gone. */
export function readProc(pid: number, what: 'cmdline' | 'environ'): Buffer | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${what}`);
  } catch {
    return undefined;
  }
}

/** procState is a process's state letter from /proc/<pid>/stat (R, S, T stopped, Z zombie …), or undefined when it is gone. */
export function procState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** isAlive tells whether a pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const state = procState(pid);
  return state !== undefined && state !== 'Z';
}

/** killQuietly sends a signal, ignoring a process that is already gone. */
export function killQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

/** elapsedMs is a monotonic clock in whole milliseconds, for durations and deadlines. */
export function elapsedMs(): number {
  return Math.round(performance.now());
}

/** sleep waits ms milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** waitFor polls until pred() returns a value (not undefined), or gives up after timeoutMs. */
export async function waitFor<T>(pred: () => T | undefined, timeoutMs: number, everyMs = 5): Promise<T | undefined> {
  const end = elapsedMs() + timeoutMs;
  for (;;) {
    const v = pred();
    if (v !== undefined) return v;
    if (elapsedMs() > end) return undefined;
    await sleep(everyMs);
  }
}

/** childRunning finds a descendant running `comm` whose first argument is one of verbs (e.g. 7zz a, par2 create). */
export function childRunning(rootPid: number, comm: string, verbs: readonly string[]): ProcInfo | undefined {
  return descendants(rootPid).find((p) => {
    if (p.comm !== comm) return false;
    const argv = readProc(p.pid, 'cmdline')?.toString('utf8').split('\0') ?? [];
    return verbs.includes(argv[1] ?? '');
  });
}

/** asUser runs the compiled CLI as another user (setpriv), the way strata() runs it as root. */
export function strataAs(uid: number, gid: number, args: string[], env: Record<string, string>, cwd?: string): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env };
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, CLI_ENTRY, ...args], {
      env: childEnv,
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, signal, stdout, stderr });
    });
    child.stdin.end('');
  });
}

// ---------------------------------------------------------------------------------------------
// Files

/** walk lists every entry below root (relative paths, '/'-separated), folders included. */
export async function walk(root: string): Promise<{ rel: string; abs: string; kind: 'file' | 'dir' | 'symlink' | 'other' }[]> {
  const out: { rel: string; abs: string; kind: 'file' | 'dir' | 'symlink' | 'other' }[] = [];
  const visit = async (dir: string, rel: string): Promise<void> => {
    const entries = await fsp.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      const kind = e.isSymbolicLink() ? 'symlink' : e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other';
      out.push({ rel: r, abs, kind });
      if (kind === 'dir') await visit(abs, r);
    }
  };
  await visit(root, '');
  return out;
}

/** TreeEntry describes one entry of a snapshot. */
export interface TreeEntry {
  kind: string;
  mode: number;
  size: number;
  mtimeNs: bigint;
  sha256: string;
}

/** snapshot records every entry below root: kind, mode, size, mtime (ns) and content hash / link target. */
export async function snapshot(root: string, opts: { mtimes?: boolean } = {}): Promise<Map<string, TreeEntry>> {
  const map = new Map<string, TreeEntry>();
  for (const e of await walk(root)) {
    const st = await fsp.lstat(e.abs, { bigint: true });
    let sha256 = '';
    if (e.kind === 'file') sha256 = createHash('sha256').update(await fsp.readFile(e.abs)).digest('hex');
    else if (e.kind === 'symlink') sha256 = `-> ${await fsp.readlink(e.abs)}`;
    map.set(e.rel, {
      kind: e.kind,
      mode: Number(st.mode & 0o7777n),
      size: e.kind === 'file' ? Number(st.size) : 0,
      mtimeNs: opts.mtimes === false || e.kind === 'dir' ? 0n : st.mtimeNs,
      sha256,
    });
  }
  return map;
}

/** assertSameTree fails with the first differences between two snapshots. */
export function assertSameTree(actual: Map<string, TreeEntry>, expected: Map<string, TreeEntry>, what: string): void {
  const problems: string[] = [];
  for (const [rel, e] of expected) {
    const a = actual.get(rel);
    if (a === undefined) problems.push(`missing ${rel}`);
    else {
      if (a.kind !== e.kind) problems.push(`${rel}: kind ${a.kind}, expected ${e.kind}`);
      if (a.sha256 !== e.sha256) problems.push(`${rel}: content differs (size ${a.size}, expected ${e.size})`);
      if (a.mode !== e.mode && e.kind !== 'symlink') problems.push(`${rel}: mode ${a.mode.toString(8)}, expected ${e.mode.toString(8)}`);
      // fs.utimes takes seconds as a double (about 0.24 µs apart in this century), so a restored
      // mtime can be off by a microsecond: compare within 2 µs.
      const drift = a.mtimeNs > e.mtimeNs ? a.mtimeNs - e.mtimeNs : e.mtimeNs - a.mtimeNs;
      if (drift > 2000n && e.kind === 'file') problems.push(`${rel}: mtime ${a.mtimeNs}, expected ${e.mtimeNs}`);
    }
  }
  for (const rel of actual.keys()) if (!expected.has(rel)) problems.push(`unexpected ${rel}`);
  assert.deepEqual(problems.slice(0, 20), [], `${what}: ${problems.length} difference(s)`);
}

/** needles turns strings into the byte patterns to look for: UTF-8 and UTF-16LE. */
export function needles(strings: Iterable<string>): { label: string; bytes: Buffer }[] {
  const out: { label: string; bytes: Buffer }[] = [];
  for (const s of new Set(strings)) {
    out.push({ label: `${JSON.stringify(s)} (UTF-8)`, bytes: Buffer.from(s, 'utf8') });
    out.push({ label: `${JSON.stringify(s)} (UTF-16LE)`, bytes: Buffer.from(s, 'utf16le') });
  }
  return out;
}

/** findNeedles reads every byte of every file below root and reports which needle is in which file. */
export async function findNeedles(root: string, pats: { label: string; bytes: Buffer }[]): Promise<{ files: number; bytes: number; hits: string[] }> {
  const hits: string[] = [];
  let files = 0;
  let bytes = 0;
  for (const e of await walk(root)) {
    if (e.kind !== 'file') continue;
    const data = await fsp.readFile(e.abs);
    files++;
    bytes += data.length;
    for (const p of pats) if (data.includes(p.bytes)) hits.push(`${p.label} in ${e.rel}`);
  }
  return { files, bytes, hits };
}

/** setFolders lists the set folders on a local destination and whether each has its descriptor. */
export async function setFolders(dest: string): Promise<{ id: string; complete: boolean }[]> {
  const out: { id: string; complete: boolean }[] = [];
  for (const e of await fsp.readdir(dest, { withFileTypes: true }).catch(() => [])) {
    if (!e.isDirectory()) continue;
    const complete = fs.existsSync(path.join(dest, e.name, `${e.name}.strata.json`));
    out.push({ id: e.name, complete });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** writeTree creates files from a map of relative path → content (folders as needed). */
export async function writeTree(root: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    await fsp.mkdir(path.dirname(abs), { recursive: true });
    await fsp.writeFile(abs, content);
  }
}

/** isMounted tells whether a folder is a mount point (from /proc/self/mounts). */
export function isMounted(dir: string): boolean {
  const mounts = fs.readFileSync('/proc/self/mounts', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[1] === dir);
}

/** ProcWatcher follows the process tree below one pid cheaply: /proc/<pid>/stat is read once per new pid. */
export class ProcWatcher {
  private readonly parent = new Map<number, number>();

  /** poll refreshes the table and returns the current descendants of root. */
  poll(root: number): number[] {
    const live = new Set<number>();
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      live.add(pid);
      if (this.parent.has(pid)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        this.parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // gone meanwhile
      }
    }
    for (const pid of this.parent.keys()) if (!live.has(pid)) this.parent.delete(pid);
    const out: number[] = [];
    const queue = [root];
    for (let q = queue.shift(); q !== undefined; q = queue.shift()) {
      for (const [pid, ppid] of this.parent) {
        if (ppid === q) {
          out.push(pid);
          queue.push(pid);
        }
      }
    }
    return out;
  }
}

/** exeOf returns the program a process runs, or undefined when it is gone. */
export function exeOf(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/** errorText describes a thrown value (with a child process's stderr when there is one). */
export function errorText(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'stderr' in e) {
    const s = e.stderr;
    if (Buffer.isBuffer(s) || typeof s === 'string') return s.toString().trim();
  }
  return e instanceof Error ? e.message : String(e);
}
