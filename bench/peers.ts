/**
 * bench/peers: strata against restic and borg (and the raw seed pipeline) on the same corpus in the
 * same run — the table of issue 11: time, CPU (user + system of the whole process tree), peak RSS,
 * output size and ratios, for a full backup, a no-change run, a full restore, and a second corpus of
 * tiny files (full / no-change). restic and borg come from Debian (apt-get install restic
 * borgbackup), installed here when missing and apt-get can (root); without them their columns say so.
 *
 * Sizes by environment (a quick run: STRATA_BENCH_SIZE=40MiB STRATA_BENCH_FILES=5000 STRATA_BENCH_TINY=20000):
 *   STRATA_BENCH_SIZE   corpus bytes (default 100MiB)     STRATA_BENCH_FILES  small files in it (20000)
 *   STRATA_BENCH_TINY   tiny-file corpora, file counts by commas (20000,200000; 0 leaves them out);
 *                       `npm run bench -- --only tiny` runs just these against restic (STRATA_BENCH_BORG=0: no borg)
 *   STRATA_BENCH_SEED   corpus seed (1): the same seed makes the same bytes
 */
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

/** Measured is one timed command: wall and CPU seconds (its whole process tree), peak RSS. */
export interface Measured {
  seconds: number;
  cpu: number;
  /** The largest RSS of the command's own process (VmHWM, sampled), bytes. */
  peakRss: number;
}

/** seeded gives `n` deterministic pseudo-random (incompressible) bytes: AES-CTR over zeros, keyed by the seed and a label. */
export function seeded(seed: string, label: string, n: number): Buffer {
  const key = createHash('sha256').update(`${seed}/${label}`).digest().subarray(0, 16);
  const c = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

/** measure runs a command with its CPU time from the kernel (getrusage of the waited tree via
 *  /usr/bin/time) and its own peak RSS sampled from /proc. The writes of whatever ran before reach
 *  the disk first (sync): a run that makes its files durable (fsync) must not wait for another's
 *  writeback, e.g. a no-change run right after the full backup that wrote a whole set. */
export function measure(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; stdoutFile?: string } = {}): Promise<Measured> {
  spawnSync('sync');
  return new Promise((resolve, reject) => {
    const timeFile = path.join(os.tmpdir(), `strata-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const useTime = fs.existsSync('/usr/bin/time');
    const out = opts.stdoutFile === undefined ? 'ignore' : fs.openSync(opts.stdoutFile, 'w');
    const start = performance.now();
    const child = useTime
      ? spawn('/usr/bin/time', ['-q', '-f', '%U %S', '-o', timeFile, cmd, ...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', out, 'pipe'] })
      : spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', out, 'pipe'] });
    if (typeof out === 'number') fs.closeSync(out);
    let peak = 0;
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const sample = (): void => {
      try {
        // Under /usr/bin/time the command is its only child.
        const pid = useTime ? Number(fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]) : child.pid;
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m !== null) peak = Math.max(peak, Number(m[1]) * 1024);
      } catch {
        // not started yet, or exited
      }
    };
    const timer = setInterval(sample, 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - start) / 1000;
      let cpu = NaN;
      try {
        const [u, s] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()?.split(' ').map(Number) ?? [];
        cpu = (u ?? NaN) + (s ?? NaN);
        fs.rmSync(timeFile, { force: true });
      } catch {
        // no /usr/bin/time
      }
      if (code !== 0 && code !== 3) reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.slice(-2000)}`));
      else resolve({ seconds, cpu, peakRss: peak });
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/** duBytes is the bytes of the files under `dir`. */
export async function duBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) if (e.isFile()) n += (await fsp.lstat(path.join(e.parentPath, e.name))).size;
  return n;
}

/** ensurePeers installs restic and borg from the distribution when missing (root and apt-get only). */
export function ensurePeers(): { restic: boolean; borg: boolean } {
  // `restic version`, `borg --version` (restic has no --version).
  const has = (c: string): boolean => spawnSync(c, [c === 'restic' ? 'version' : '--version'], { stdio: 'ignore' }).status === 0;
  if ((!has('restic') || !has('borg')) && process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get')) {
    console.log('installing restic and borgbackup (apt-get) ...');
    spawnSync('apt-get', ['install', '-y', '-q', 'restic', 'borgbackup'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  return { restic: has('restic'), borg: has('borg') };
}

/** makeTiny writes `count` tiny files (a few bytes each, 1,000 per folder), deterministic. */
export async function makeTiny(dir: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    if (i % 1000 === 0) await fsp.mkdir(path.join(dir, `d${Math.floor(i / 1000)}`), { recursive: true });
    fs.writeFileSync(path.join(dir, `d${Math.floor(i / 1000)}`, `f${i}.txt`), `tiny ${i}\n`);
  }
}

/** Row is one line of the table: each tool's figures for one operation (undefined: not run). */
export interface Row {
  op: string;
  strata: Measured;
  raw?: { label: string; m: Measured };
  restic?: Measured;
  borg?: Measured;
  sizes?: { strata: number; raw?: number; restic?: number; borg?: number };
}

const fmtS = (m: Measured | undefined): string => (m === undefined ? '—' : `${m.seconds.toFixed(2)} s (cpu ${Number.isNaN(m.cpu) ? '?' : m.cpu.toFixed(1)}, ${(m.peakRss / 1048576).toFixed(0)} MiB)`);
const ratio = (a: Measured, b: Measured | undefined): string => (b === undefined ? '—' : (a.seconds / b.seconds).toFixed(2));
const mib = (n: number | undefined): string => (n === undefined ? '' : ` ${(n / 1048576).toFixed(1)} MiB`);

/** printTable prints the rows as the issue's table (markdown), then the ratios. */
export function printTable(rows: Row[]): void {
  console.log('');
  console.log('| operation | strata | raw seed pipeline | restic | borg | strata/raw | strata/restic | strata/borg |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const s = r.sizes;
    console.log(`| ${r.op} | ${fmtS(r.strata)}${mib(s?.strata)} | ${r.raw === undefined ? '—' : `${r.raw.label} ${fmtS(r.raw.m)}${mib(s?.raw)}`} | ${fmtS(r.restic)}${mib(s?.restic)} | ${fmtS(r.borg)}${mib(s?.borg)} | ${ratio(r.strata, r.raw?.m)} | ${ratio(r.strata, r.restic)} | ${ratio(r.strata, r.borg)} |`);
  }
  console.log('(time wall-clock; cpu = user + system seconds of the whole process tree; MiB after it = peak RSS of the tool\'s own process; last MiB = output size)');
}

/** PeerOptions: the corpus, where to work, how strata runs. */
export interface PeerOptions {
  root: string;
  src: string;
  /** Tiny-file corpora to run (file counts), e.g. [20000, 200000]. */
  tiny: number[];
  strata: string;
  password: string;
  /** The raw seed pipeline's figures from the same run (bench.ts). */
  raw: { full: Measured; fullBytes: number; noChange: Measured; restore: Measured };
  strataRuns: { full: Measured; noChange: Measured; restore: Measured; stored: number };
}

/** peers runs restic and borg over the corpus (and the tiny-file corpus with strata too) and prints the table. */
export async function peers(o: PeerOptions): Promise<void> {
  const have = ensurePeers();
  const env = { ...process.env, RESTIC_PASSWORD: o.password, BORG_PASSPHRASE: o.password, BORG_BASE_DIR: path.join(o.root, 'borgbase'), RESTIC_CACHE_DIR: path.join(o.root, 'resticcache'), STRATA_PASSWORD: o.password };
  const restic = have.restic ? await resticRuns(o.root, o.src, env, 'r') : undefined;
  const borg = have.borg ? await borgRuns(o.root, o.src, env, 'b') : undefined;
  const s = o.strataRuns;
  const rows: Row[] = [
    { op: 'first full backup (weekly)', strata: s.full, raw: { label: '7zz a + par2', m: o.raw.full }, restic: restic?.full, borg: borg?.full, sizes: { strata: s.stored, raw: o.raw.fullBytes, ...(restic ? { restic: restic.bytes } : {}), ...(borg ? { borg: borg.bytes } : {}) } },
    { op: 'no-change run', strata: s.noChange, raw: { label: 'git status', m: o.raw.noChange }, restic: restic?.noChange, borg: borg?.noChange },
    { op: 'full restore', strata: s.restore, raw: { label: '7zz x', m: o.raw.restore }, restic: restic?.restore, borg: borg?.restore },
  ];
  const notes: string[] = [];
  for (const n of o.tiny) {
    const t = await tinyRuns(o.root, n, o.strata, env, have.restic, have.borg);
    rows.push(...t.rows);
    notes.push(t.note);
  }
  printTable(rows);
  for (const n of notes) console.log(n);
  if (!have.restic || !have.borg) console.log(`(${[have.restic ? '' : 'restic', have.borg ? '' : 'borg'].filter((x) => x !== '').join(' and ')} not installed: apt-get install restic borgbackup)`);
}

/** tinyCounts parses STRATA_BENCH_TINY: file counts separated by commas (0 or empty: none). */
export function tinyCounts(text: string | undefined): number[] {
  return (text ?? '20000,200000').split(',').map((x) => Number(x.trim())).filter((n) => Number.isFinite(n) && n > 0);
}

/** phaseSeconds reads a backup's --json output: the seconds of each phase of its first source. */
function phaseSeconds(file: string): Record<string, number> {
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { sources?: { phases?: { name: string; seconds: number }[] }[] };
    return Object.fromEntries((doc.sources?.[0]?.phases ?? []).map((p) => [p.name, p.seconds]));
  } catch {
    return {};
  }
}

/**
 * tinyRuns: a corpus of `n` tiny files — strata's full and no-change backup against restic's (and
 * borg's) and git status, with strata's own phases (scan, manifest) and peak RSS, and the load.
 */
export async function tinyRuns(root: string, n: number, strata: string, env: NodeJS.ProcessEnv, restic: boolean, borg: boolean): Promise<{ rows: Row[]; note: string }> {
  const tinySrc = path.join(root, `tiny${n}`);
  await makeTiny(tinySrc, n);
  await new Promise((r) => setTimeout(r, 2500)); // older than the racy-stat margin
  const dest = path.join(root, `tinydest${n}`);
  await fsp.mkdir(dest);
  const state = path.join(root, `tinystate${n}`);
  const json = path.join(root, `tiny${n}.json`);
  const load0 = os.loadavg()[0] ?? 0;
  const full = await measure('node', [strata, '--state', state, '--json', 'backup', '--tier', 'weekly', '--source', tinySrc, '--dest', dest], { env, stdoutFile: json });
  const fullPhases = phaseSeconds(json);
  const noChange = await measure('node', [strata, '--state', state, '--json', 'backup', '--tier', 'daily', '--source', tinySrc, '--dest', dest], { env, stdoutFile: json });
  const dailyPhases = phaseSeconds(json);
  const gitDir = path.join(root, `tinygit${n}`);
  spawnSync('git', ['init', '-q', gitDir]);
  const g = ['--git-dir', path.join(gitDir, '.git'), '--work-tree', tinySrc];
  spawnSync('git', [...g, 'add', '-A'], { stdio: 'ignore' });
  const git = await measure('git', [...g, 'status', '--porcelain']);
  const tr = restic ? await resticRuns(root, tinySrc, env, `tr${n}`, false) : undefined;
  const tb = borg ? await borgRuns(root, tinySrc, env, `tb${n}`, false) : undefined;
  const rows: Row[] = [
    { op: `${n} tiny files: full`, strata: full, restic: tr?.full, borg: tb?.full, sizes: { strata: await duBytes(dest), ...(tr ? { restic: tr.bytes } : {}), ...(tb ? { borg: tb.bytes } : {}) } },
    { op: `${n} tiny files: no-change`, strata: noChange, raw: { label: 'git status', m: git }, restic: tr?.noChange, borg: tb?.noChange },
  ];
  const f = (x: number | undefined): string => (x === undefined ? '?' : x.toFixed(2));
  const note =
    `${n} tiny files: strata full ${full.seconds.toFixed(2)} s (scan ${f(fullPhases['scan'])} s, manifest phase ${f(fullPhases['manifest'])} s, peak RSS ${(full.peakRss / 1048576).toFixed(0)} MiB)` +
    `${tr ? ` = ${(full.seconds / tr.full.seconds).toFixed(2)}× restic's first backup (target <= 2)` : ''}; ` +
    `no-change ${noChange.seconds.toFixed(2)} s (scan ${f(dailyPhases['scan'])} s, peak RSS ${(noChange.peakRss / 1048576).toFixed(0)} MiB)` +
    `${tr ? ` = ${(noChange.seconds / tr.noChange.seconds).toFixed(2)}× restic's (target <= 0.5)` : ''}${n === 20000 ? ' (target <= 0.6 s)' : ''}; ` +
    `load average ${load0.toFixed(1)} at the start, ${(os.loadavg()[0] ?? 0).toFixed(1)} at the end`;
  return { rows, note };
}

interface PeerRuns {
  full: Measured;
  noChange: Measured;
  restore?: Measured;
  bytes: number;
}

async function resticRuns(root: string, src: string, env: NodeJS.ProcessEnv, tag: string, restore = true): Promise<PeerRuns> {
  const repo = path.join(root, `${tag}-restic`);
  spawnSync('restic', ['init', '--repo', repo], { env, stdio: 'ignore' });
  const full = await measure('restic', ['--repo', repo, 'backup', '--quiet', '.'], { env, cwd: src });
  const noChange = await measure('restic', ['--repo', repo, 'backup', '--quiet', '.'], { env, cwd: src });
  const bytes = await duBytes(repo);
  const out = path.join(root, `${tag}-restic-out`);
  const r = restore ? await measure('restic', ['--repo', repo, 'restore', 'latest', '--quiet', '--target', out], { env }) : undefined;
  await fsp.rm(out, { recursive: true, force: true });
  return { full, noChange, bytes, ...(r !== undefined ? { restore: r } : {}) };
}

async function borgRuns(root: string, src: string, env: NodeJS.ProcessEnv, tag: string, restore = true): Promise<PeerRuns> {
  const repo = path.join(root, `${tag}-borg`);
  spawnSync('borg', ['init', '--encryption=repokey', repo], { env, stdio: 'ignore' });
  // Borg's default compression (lz4), as in the issue's table.
  const full = await measure('borg', ['create', `${repo}::a1`, '.'], { env, cwd: src });
  const noChange = await measure('borg', ['create', `${repo}::a2`, '.'], { env, cwd: src });
  const bytes = await duBytes(repo);
  const out = path.join(root, `${tag}-borg-out`);
  await fsp.mkdir(out, { recursive: true });
  const r = restore ? await measure('borg', ['extract', `${repo}::a1`], { env, cwd: out }) : undefined;
  await fsp.rm(out, { recursive: true, force: true });
  return { full, noChange, bytes, ...(r !== undefined ? { restore: r } : {}) };
}
