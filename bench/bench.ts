/**
 * bench: `npm run bench [-- --size 100MiB --files 20000]` — strata against the raw tools on the
 * same data in the same run, printed side by side as ratios:
 *   full backup        vs  7zz a (same settings: LZMA2, level, AES + -mhe, volumes, -ms=off)
 *   no-change daily    vs  git status on the same tree (a git repo of it, made beforehand)
 *   restore            vs  7zz x of the same set's archives (pairs in turn, median ratio)
 *   PAR2 creation      vs  par2 create with the same redundancy on the same volumes
 *   PAR2 throughput    strata's engine create/verify/repair (MB/s) vs plain par2 with the same
 *                      redundancy and block size on the same volumes
 *   pipelined backup   a sliding-window set (--pipe-volume, bench-only protection config) vs `7zz a`
 *                      followed by `par2 create` per group — the streaming pipeline overlaps them
 * `--only weekly [--rounds 3]`: issue 11 target 1 alone — the full weekly backup of an issue-like
 * corpus (51 % media, 31 % text documents, 18 % small files of --size) against `7zz a` + `par2
 * create` (the raw seed pipeline), alternating, as a wall-time ratio (also part of the full run).
 * `--only par2`: PAR2 creation alone, strata's engine vs par2cmdline, as ratios (bench/par2.ts).
 * `--only tiny`: the tiny-file corpora alone (20,000 and 200,000 files), strata vs restic (bench/peers.ts).
 * `--only restore`: a full backup, then its full restore against `7zz x` of the same set, 5 pairs in turn.
 * plus the peak memory (RSS) of the strata process, at the full file count and at half of it,
 * to show that memory does not grow with the number of files; and then (bench/peers.ts) restic and
 * borg on the same corpus in the same run, and a corpus of tiny files, printed as one table.
 * Sizes also by environment (STRATA_BENCH_SIZE, STRATA_BENCH_FILES, STRATA_BENCH_TINY,
 * STRATA_BENCH_SEED; see bench/peers.ts); the corpus is the same for the same seed.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { parseSize } from '../src/core/size.js';
import { formatBytes } from '../src/ui/output.js';
import { planProtection, defaultProtectionConfig } from '../src/core/protection/index.js';
import { openParityEngine } from '../src/parity/open.js';
import { par2EngineBench } from './par2.js';
import { duBytes, ensurePeers, measure, peers, printTable, seeded, tinyCounts, tinyRuns, type Measured } from './peers.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: process.env['STRATA_BENCH_SIZE'] ?? '100MiB' },
    files: { type: 'string', default: process.env['STRATA_BENCH_FILES'] ?? '20000' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'pipe-volume': { type: 'string', default: '4MiB' },
    only: { type: 'string' },
    rounds: { type: 'string', default: '3' },
  },
});
const totalBytes = parseSize(values.size);
const smallFiles = Number(values.files);
const tinyFiles = tinyCounts(process.env['STRATA_BENCH_TINY']);
const seed = process.env['STRATA_BENCH_SEED'] ?? '1';
const root = path.resolve(values.dir ?? path.join(os.tmpdir(), `strata-bench-${process.pid}`));
// STRATA_BENCH_CLI runs another build's entry point (e.g. a private tsc outDir).
const strata = process.env['STRATA_BENCH_CLI'] ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../bin/strata.js');
const password = 'bench-' + randomBytes(8).toString('hex');
const env = { ...process.env, STRATA_PASSWORD: password };

const words = 'the quick brown fox jumps over lazy dog backup archive volume parity restore encrypt window tier daily weekly monthly yearly'.split(' ');
function text(n: number): Buffer {
  const parts: string[] = [];
  let len = 0;
  let i = 0;
  while (len < n) {
    const w = words[(i * 7919 + (i >> 3)) % words.length] ?? 'x';
    parts.push(w);
    len += w.length + 1;
    i++;
    if (i % 12 === 0) parts.push('\n');
  }
  return Buffer.from(parts.join(' ')).subarray(0, n);
}

async function makeCorpus(dir: string, files: number, bytes: number): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const smallEach = 2048;
  const smallTotal = files * smallEach;
  const rest = Math.max(0, bytes - smallTotal);
  const textBytes = Math.floor(rest * 0.45);
  const randomBytesTotal = rest - textBytes;
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, 'small', `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) await fsp.mkdir(sub, { recursive: true });
    await fsp.writeFile(path.join(sub, `f${i}.txt`), i % 3 === 0 ? seeded(seed, `${path.basename(dir)}/${i}`, smallEach) : text(smallEach));
  }
  await fsp.mkdir(path.join(dir, 'text'), { recursive: true });
  await fsp.mkdir(path.join(dir, 'bin'), { recursive: true });
  const chunk = 8 << 20;
  for (let i = 0, left = textBytes; left > 0; i++, left -= chunk) await fsp.writeFile(path.join(dir, 'text', `doc${i}.txt`), text(Math.min(chunk, left)));
  for (let i = 0, left = randomBytesTotal; left > 0; i++, left -= chunk) await fsp.writeFile(path.join(dir, 'bin', `blob${i}.bin`), seeded(seed, `blob${i}`, Math.min(chunk, left)));
}

interface Timed extends Measured {
  code: number;
}

/** time runs a command: wall and CPU time, and its own peak RSS (bench/peers measure). */
async function time(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<Timed> {
  return { ...(await measure(cmd, args, { ...opts, env })), code: 0 };
}

function row(name: string, ours: number, theirs: number, against: string, target: string): void {
  const ratio = ours / theirs;
  console.log(`${name.padEnd(26)} ${ours.toFixed(2).padStart(8)} s  ${against.padEnd(22)} ${theirs.toFixed(2).padStart(8)} s  ratio ${ratio.toFixed(3)}  ${target}`);
}

async function duSize(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) if (e.isFile()) n += (await fsp.stat(path.join(e.parentPath, e.name))).size;
  return n;
}

/** mbps is MB/s (MiB, as the facts file) for bytes in seconds. */
function mbps(bytes: number, seconds: number): string {
  return (bytes / 1048576 / seconds).toFixed(1);
}

/**
 * par2Throughput: strata's engine against plain par2 on the same volumes, same plan (redundancy,
 * block size, recovery files), each timed on its own copy; repair after deleting one volume.
 */
async function par2Throughput(volDir: string): Promise<void> {
  const vols = (await fsp.readdir(volDir)).filter((f) => /\.7z\.\d{3}$/.test(f)).sort();
  const sizes = vols.map((v) => fs.statSync(path.join(volDir, v)).size);
  const bytes = sizes.reduce((a, b) => a + b, 0);
  const plan = planProtection({ setId: 'bench', tier: 'weekly', volumeSizes: sizes }, { ...defaultProtectionConfig, directMaxBytes: Number.MAX_SAFE_INTEGER, groupedMaxBytes: Number.MAX_SAFE_INTEGER });
  const unit = plan.units[0];
  if (unit === undefined) return;
  const engine = await openParityEngine();
  const ours = path.join(root, 'p2ours');
  const theirs = path.join(root, 'p2raw');
  for (const d of [ours, theirs]) {
    await fsp.mkdir(d, { recursive: true });
    for (const v of vols) await fsp.copyFile(path.join(volDir, v), path.join(d, `bench.7z.${v.slice(-3)}`));
  }
  const names = vols.map((v) => `bench.7z.${v.slice(-3)}`);
  const t = async (f: () => Promise<unknown>): Promise<number> => {
    const s0 = performance.now();
    await f();
    return (performance.now() - s0) / 1000;
  };
  const threads = `-t${os.cpus().length}`;
  const oc = await t(() => engine.create(unit, ours, names));
  const rc = await time('par2', ['create', '-q', '-q', `-s${unit.blockSize}`, `-c${unit.recoveryBlocks}`, `-n${unit.recoveryFiles}`, '-u', threads, path.join(theirs, 'raw.par2'), ...names.map((n) => path.join(theirs, n))]);
  const ov = await t(() => engine.verify(unit, ours));
  const rv = await time('par2', ['verify', '-q', '-q', path.join(theirs, 'raw.par2')]);
  const victim = names[Math.floor(names.length / 2)] ?? names[0] ?? '';
  await fsp.rm(path.join(ours, victim));
  await fsp.rm(path.join(theirs, victim));
  const or = await t(() => engine.repair(unit, ours));
  const rr = await time('par2', ['repair', '-q', '-q', path.join(theirs, 'raw.par2')]);
  console.log('');
  console.log(`PAR2 on ${vols.length} volumes, ${formatBytes(bytes)}: ${unit.recoveryBlocks} recovery blocks of ${formatBytes(unit.blockSize)} (${plan.redundancyPercent}%), ${os.cpus().length} threads`);
  console.log(`  create  strata ${mbps(bytes, oc).padStart(7)} MB/s   par2 ${mbps(bytes, rc.seconds).padStart(7)} MB/s   ratio ${(oc / rc.seconds).toFixed(3)}`);
  console.log(`  verify  strata ${mbps(bytes, ov).padStart(7)} MB/s   par2 ${mbps(bytes, rv.seconds).padStart(7)} MB/s   ratio ${(ov / rv.seconds).toFixed(3)}`);
  console.log(`  repair  strata ${mbps(bytes, or).padStart(7)} MB/s   par2 ${mbps(bytes, rr.seconds).padStart(7)} MB/s   ratio ${(or / rr.seconds).toFixed(3)}  (one volume deleted)`);
}

/** rawPar2Create runs plain `par2 create` for every unit of a plan, one after the other, with the
 *  plan's block size, recovery block count and file count; returns the summed time. */
async function rawPar2Create(plan: ReturnType<typeof planProtection>, vols: string[], dir: string): Promise<{ seconds: number; cpu: number }> {
  let seconds = 0;
  let cpu = 0;
  for (const [u, unit] of plan.units.entries()) {
    const files = unit.volumes.map((i) => vols[i] ?? '');
    const p = await time('par2', ['create', '-q', '-q', `-s${unit.blockSize}`, `-c${unit.recoveryBlocks}`, `-n${unit.recoveryFiles}`, '-u', `-t${os.cpus().length}`, path.join(dir, `u${u}.par2`), ...files]);
    seconds += p.seconds;
    cpu += p.cpu;
  }
  return { seconds, cpu };
}

/**
 * pipelined: a full backup laid out in sliding windows (bench-only strata.yaml: windows of 8
 * volumes of --pipe-volume sliding by 4; only sliding layouts are streamed) against `7zz a` with
 * the same settings followed by `par2 create` of the same windows (the same per-unit block size and
 * recovery block count, from the same plan), run one after the other.
 */
async function pipelined(src: string): Promise<void> {
  const vol = parseSize(values['pipe-volume']);
  const windowSize = 8;
  const windowSlide = 4;
  const dir = path.join(root, 'pipe');
  await fsp.mkdir(path.join(dir, 'dest'), { recursive: true });
  const cfg = path.join(dir, 'strata.yaml');
  await fsp.writeFile(cfg, [
    'sources:', `  - path: ${JSON.stringify(src)}`, `destination: ${JSON.stringify(path.join(dir, 'dest'))}`,
    'archive:', `  weekly: { level: 5, volumeSize: ${vol} }`,
    'protection:', '  directMaxBytes: 1', '  groupedMaxBytes: 1', `  windowSize: ${windowSize}`, `  windowSlide: ${windowSlide}`, '',
  ].join('\n'));
  const ours = await time('node', [strata, '--config', cfg, '--state', path.join(dir, 'state'), '--quiet', 'backup', '--tier', 'weekly']);
  const rawDir = path.join(dir, 'raw');
  await fsp.mkdir(rawDir);
  const raw = await time('7zz', ['a', '-t7z', '-m0=lzma2', '-mx=5', '-mhe=on', '-p', `-v${vol}b`, '-ms=off', '-mmt=on', '-snl', '-bso0', '-bsp0', path.join(rawDir, 'raw.7z'), '.'], { cwd: src, input: password + '\n' });
  const rawVols = (await fsp.readdir(rawDir)).sort();
  const sizes = rawVols.map((v) => fs.statSync(path.join(rawDir, v)).size);
  const plan = planProtection({ setId: 'raw', tier: 'weekly', volumeSizes: sizes }, { ...defaultProtectionConfig, directMaxBytes: 1, groupedMaxBytes: 1, windowSize, windowSlide });
  const parSeconds = (await rawPar2Create(plan, rawVols.map((v) => path.join(rawDir, v)), rawDir)).seconds;
  console.log('');
  console.log(`pipelined backup (${rawVols.length} volumes of ${formatBytes(vol)}, ${plan.strategy} windows of ${windowSize} sliding by ${windowSlide}):`);
  row('strata backup (streamed)', ours.seconds, raw.seconds + parSeconds, '7zz a, then par2 create', 'target < 1 (overlap)');
  console.log(`  7zz a ${raw.seconds.toFixed(2)} s + par2 create ${parSeconds.toFixed(2)} s; strata ${mbps(totalBytes, ours.seconds)} MB/s vs ${mbps(totalBytes, raw.seconds + parSeconds)} MB/s`);
  await par2Throughput(rawDir);
}

/**
 * makeIssueCorpus writes a corpus shaped like issue 11's (411 MB there: 51 % media, 31 % text
 * documents, 18 % small code files): incompressible "media" files of 5 MiB, text documents of
 * 3 MiB and small text files of 1–7 KB, in those shares of `bytes`.
 */
async function makeIssueCorpus(dir: string, bytes: number): Promise<void> {
  const media = Math.floor(bytes * 0.51);
  const docs = Math.floor(bytes * 0.31);
  const small = bytes - media - docs;
  for (const d of ['media', 'docs', 'code']) await fsp.mkdir(path.join(dir, d), { recursive: true });
  const MiB = 1 << 20;
  for (let i = 0, left = media; left > 0; i++, left -= 5 * MiB) await fsp.writeFile(path.join(dir, 'media', `clip${i}.mp4`), seeded(seed, `media${i}`, Math.min(5 * MiB, left)));
  for (let i = 0, left = docs; left > 0; i++, left -= 3 * MiB) await fsp.writeFile(path.join(dir, 'docs', `doc${i}.txt`), text(Math.min(3 * MiB, left)));
  for (let i = 0, left = small; left > 0; i++) {
    const n = Math.min(left, 1024 + ((i * 2654435761) % 6144));
    const sub = path.join(dir, 'code', `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) await fsp.mkdir(sub, { recursive: true });
    // Shifted so that the small files are not all the same text.
    await fsp.writeFile(path.join(sub, `f${i}.ts`), Buffer.concat([Buffer.from(`// ${i}\n`), text(n + (i % 97))]).subarray(0, n));
    left -= n;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/**
 * weeklyVsSeed (issue 11, target 1): strata's full weekly backup of the issue-like corpus against
 * the raw seed pipeline — `7zz a` (LZMA2 mx5, AES + -mhe, 100 MiB volumes, -ms=off, all cores) then
 * `par2 create` of those volumes at the redundancy strata's planner gives them — alternating
 * strata and seed `rounds` times in this one run; prints medians of wall and CPU seconds, the
 * output bytes and the wall ratio pair by pair, with the load average around each round.
 */
async function weeklyVsSeed(src: string, rounds: number): Promise<void> {
  const pairs: { ours: Measured; seed: number; seedCpu: number; oursBytes: number; seedBytes: number; load: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    const dir = path.join(root, `weekly-${r}`);
    const dest = path.join(dir, 'dest');
    await fsp.mkdir(dest, { recursive: true });
    const load = os.loadavg()[0] ?? 0;
    const ours = await time('node', [strata, '--state', path.join(dir, 'state'), '--quiet', 'backup', '--tier', 'weekly', '--source', src, '--dest', dest, '--volume-size', '100MiB']);
    const rawDir = path.join(dir, 'raw');
    await fsp.mkdir(rawDir);
    const raw = await time('7zz', ['a', '-t7z', '-m0=lzma2', '-mx=5', '-mhe=on', '-p', '-v100m', '-ms=off', '-mmt=on', '-snl', '-bso0', '-bsp0', path.join(rawDir, 'raw.7z'), '.'], { cwd: src, input: password + '\n' });
    const rawVols = (await fsp.readdir(rawDir)).sort().map((f) => path.join(rawDir, f));
    const rawPlan = planProtection({ setId: 'raw', tier: 'weekly', volumeSizes: rawVols.map((f) => fs.statSync(f).size) }, defaultProtectionConfig);
    const rawPar = await rawPar2Create(rawPlan, rawVols, rawDir);
    pairs.push({ ours, seed: raw.seconds + rawPar.seconds, seedCpu: raw.cpu + rawPar.cpu, oursBytes: await duSize(dest), seedBytes: await duSize(rawDir), load: (load + (os.loadavg()[0] ?? 0)) / 2 });
    await fsp.rm(dir, { recursive: true, force: true });
  }
  const m = (f: (p: (typeof pairs)[number]) => number): number => median(pairs.map(f));
  console.log('');
  console.log(`full weekly backup vs the raw seed pipeline (issue 11 target 1: <= 0.5), ${rounds} alternating rounds, medians:`);
  row('strata backup (weekly)', m((p) => p.ours.seconds), m((p) => p.seed), '7zz a + par2 create', 'target <= 0.5');
  console.log(`  CPU s: strata ${m((p) => p.ours.cpu).toFixed(1)}, seed ${m((p) => p.seedCpu).toFixed(1)}; output: strata ${formatBytes(m((p) => p.oursBytes))}, seed ${formatBytes(m((p) => p.seedBytes))} (7zz volumes + PAR2)`);
  console.log(`  wall ratio per round: ${pairs.map((p) => (p.ours.seconds / p.seed).toFixed(3)).join(' ')}; load average (1 min) per round: ${pairs.map((p) => p.load.toFixed(1)).join(' ')}`);
}

/**
 * restoreVs7zz: a full `strata restore` (which checks every volume's and every file's SHA-256, and
 * restores metadata) against `7zz x` of the same set's archives, in turn (A B A B …), each into a
 * fresh folder; prints each pair's ratio and the median, with the load average. Returns the
 * median-ratio pair.
 */
async function restoreVs7zz(state: string, dest: string, rounds: number): Promise<{ ours: Timed; raw: Timed }> {
  const firsts = (await fsp.readdir(dest, { recursive: true })).filter((f) => /\.7z(\.001)?$/.test(f) && !f.includes('.manifest.')).map((f) => path.join(dest, f));
  const pairs: { ours: Timed; raw: Timed; ratio: number }[] = [];
  const load0 = os.loadavg()[0] ?? 0;
  // Every round's output stays until all rounds are done. On ext4, files created within a minute
  // or so after many were deleted are slow to create: the inode allocator skips recently deleted
  // inodes one by one (the kernel's recently_deleted(), seen with perf). Measured here: `7zz x` of
  // 20,000 files took 7.6-13 s (system time 6.6-12 s) right after the previous round's output was
  // removed, and 1.5-1.8 s otherwise; whichever side ran after a removal lost.
  const outputs: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const to = path.join(root, `restored${i}`);
    const ours = await time('node', [strata, '--state', state, '--quiet', 'restore', '--dest', dest, '--to', to]);
    const rawOut = path.join(root, `rawout${i}`);
    let raw: Timed = { seconds: 0, cpu: 0, peakRss: 0, code: 0 };
    for (const first of firsts) {
      const one = await time('7zz', ['x', '-bso0', '-bsp0', `-o${rawOut}`, first], { input: password + '\n' });
      raw = { ...raw, seconds: raw.seconds + one.seconds, cpu: raw.cpu + one.cpu, peakRss: Math.max(raw.peakRss, one.peakRss) };
    }
    pairs.push({ ours, raw, ratio: ours.seconds / raw.seconds });
    outputs.push(to, rawOut);
  }
  for (const o of outputs) await fsp.rm(o, { recursive: true, force: true });
  pairs.sort((a, b) => a.ratio - b.ratio);
  const mid = pairs[Math.floor(pairs.length / 2)] ?? { ours: { seconds: 0, cpu: 0, peakRss: 0, code: 0 }, raw: { seconds: 0, cpu: 0, peakRss: 0, code: 0 }, ratio: 0 };
  row('full restore', mid.ours.seconds, mid.raw.seconds, `7zz x (${firsts.length} archive${firsts.length === 1 ? '' : 's'})`, 'target <= 1.2 (checks every SHA-256)');
  console.log(`  restore / 7zz x, ${rounds} pairs in turn: ${pairs.map((p) => p.ratio.toFixed(3)).join(' ')} (median ${mid.ratio.toFixed(3)}); CPU s strata ${mid.ours.cpu.toFixed(2)} vs 7zz ${mid.raw.cpu.toFixed(2)}; load average ${load0.toFixed(2)} → ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
  return mid;
}

async function main(): Promise<void> {
  const src = path.join(root, 'src');
  if (values.only === 'par2') {
    // PAR2 creation alone: strata's engine vs par2 create on random volumes (bench/par2.ts).
    await par2EngineBench({ size: totalBytes, volume: parseSize('100MiB'), fixed: false, rounds: 3, tiers: ['weekly', 'monthly', 'yearly'], root });
    if (!values.keep) await fsp.rm(root, { recursive: true, force: true });
    return;
  }
  if (values.only === 'tiny') {
    // The tiny-file corpora alone (issue 11 target 5): strata against restic, full and no-change.
    console.log(`strata bench: tiny-file corpora ${tinyFiles.join(', ')} in ${root} (${os.cpus().length} cores), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    await fsp.mkdir(root, { recursive: true });
    const have = ensurePeers();
    const tenv = { ...env, RESTIC_PASSWORD: password, BORG_PASSPHRASE: password, BORG_BASE_DIR: path.join(root, 'borgbase'), RESTIC_CACHE_DIR: path.join(root, 'resticcache') };
    const rows = [];
    const notes = [];
    for (const n of tinyFiles) {
      const t = await tinyRuns(root, n, strata, tenv, have.restic, have.borg && process.env['STRATA_BENCH_BORG'] !== '0');
      rows.push(...t.rows);
      notes.push(t.note);
    }
    printTable(rows);
    for (const n of notes) console.log(n);
    if (!values.keep) await fsp.rm(root, { recursive: true, force: true });
    return;
  }
  if (values.only === 'weekly') {
    // Issue 11 target 1 alone: the issue-like corpus, strata vs the seed pipeline, alternating.
    console.log(`strata bench: issue-like corpus ${formatBytes(totalBytes)} in ${root} (${os.cpus().length} cores), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    await makeIssueCorpus(src, totalBytes);
    await weeklyVsSeed(src, Number(values.rounds));
    if (!values.keep) await fsp.rm(root, { recursive: true, force: true });
    return;
  }
  console.log(`strata bench: corpus ${formatBytes(totalBytes)} with ${smallFiles} small files in ${root} (${os.cpus().length} cores), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  await makeCorpus(src, smallFiles, totalBytes);
  // Files modified within 2 s of a scan are read again by the next one (the racy-git rule; git's
  // index does the same): let the corpus age so that the no-change daily measures the no-change path.
  await new Promise((r) => setTimeout(r, 2500));
  if (values.only === 'pipeline') {
    await pipelined(src);
    console.log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    if (!values.keep) await fsp.rm(root, { recursive: true, force: true });
    return;
  }
  const state = path.join(root, 'state');
  const dest = path.join(root, 'dest');
  // A local destination must exist (a missing one is an unmounted drive, not a folder to create).
  await fsp.mkdir(dest, { recursive: true });
  const volume = '100MiB';
  // 1. Full backup vs 7zz a with the same settings.
  const ours = await time('node', [strata, '--state', state, '--quiet', 'backup', '--tier', 'weekly', '--source', src, '--dest', dest, '--volume-size', volume]);
  if (values.only === 'restore') {
    // `--only restore`: the full restore of that set against 7zz x of its archives, 5 pairs in turn.
    await restoreVs7zz(state, dest, 5);
    if (!values.keep) await fsp.rm(root, { recursive: true, force: true });
    return;
  }
  const rawDir = path.join(root, 'raw');
  await fsp.mkdir(rawDir);
  const raw = await time('7zz', ['a', '-t7z', '-m0=lzma2', '-mx=5', '-mhe=on', '-p', '-v100m', '-ms=off', '-mmt=on', '-snl', '-bso0', '-bsp0', path.join(rawDir, 'raw.7z'), '.'], { cwd: src, input: password + '\n' });
  const par2Dir = path.join(root, 'par2raw');
  await fsp.mkdir(par2Dir);
  const rawVols = (await fsp.readdir(rawDir)).sort().map((f) => path.join(rawDir, f));
  // par2 with what strata's planner gives these volumes (redundancy, block size, files per unit).
  const rawPlan = planProtection({ setId: 'raw', tier: 'weekly', volumeSizes: rawVols.map((f) => fs.statSync(f).size) }, defaultProtectionConfig);
  const rawPar = await rawPar2Create(rawPlan, rawVols, rawDir);
  console.log('');
  console.log(`${'operation'.padEnd(26)} ${'strata'.padStart(10)}  ${'raw tool'.padEnd(22)} ${'raw'.padStart(10)}`);
  row('full backup (weekly)', ours.seconds, raw.seconds + rawPar.seconds, '7zz a + par2 create', 'target <= 1.05 + protection');
  row('  archive only', ours.seconds - rawPar.seconds, raw.seconds, '7zz a', 'target <= 1.05 (approx.)');
  // 2. No-change daily vs git status.
  const gitDir = path.join(root, 'gitcheck');
  spawnSync('git', ['init', '-q', gitDir]);
  spawnSync('git', ['--git-dir', path.join(gitDir, '.git'), '--work-tree', src, 'add', '-A'], { stdio: 'ignore' });
  spawnSync('git', ['--git-dir', path.join(gitDir, '.git'), '--work-tree', src, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qm', 'x'], { stdio: 'ignore' });
  const daily = await time('node', [strata, '--state', state, '--quiet', 'backup', '--tier', 'daily', '--source', src, '--dest', dest]);
  const git = await time('git', ['--git-dir', path.join(gitDir, '.git'), '--work-tree', src, 'status', '--porcelain']);
  row('no-change daily', daily.seconds, git.seconds, 'git status', 'target <= 1.0');
  // 3. Restore vs 7zz x of the same set.
  const { ours: rest, raw: rawX } = await restoreVs7zz(state, dest, 3);
  // 3a. Issue 11 target 1: the full weekly backup of an issue-like corpus vs the seed pipeline (one round here; --only weekly for more).
  const issueSrc = path.join(root, 'issue-src');
  await makeIssueCorpus(issueSrc, totalBytes);
  await weeklyVsSeed(issueSrc, 1);
  await fsp.rm(issueSrc, { recursive: true, force: true });
  // 3b. restic and borg on the same corpus, and the tiny-file corpus: the table of issue 11.
  await peers({
    root, src, tiny: tinyFiles, strata, password,
    raw: { full: { seconds: raw.seconds + rawPar.seconds, cpu: raw.cpu + rawPar.cpu, peakRss: raw.peakRss }, fullBytes: await duBytes(rawDir), noChange: git, restore: rawX },
    strataRuns: { full: ours, noChange: daily, restore: rest, stored: await duBytes(dest) },
  });
  if (values.only === 'peers') {
    if (!values.keep) await fsp.rm(root, { recursive: true, force: true });
    return;
  }
  // 4. Verify vs 7zz t + par2 verify.
  const ver = await time('node', [strata, '--state', state, '--quiet', 'verify', '--dest', dest]);
  const rawT = await time('7zz', ['t', '-bso0', '-bsp0', path.join(rawDir, 'raw.7z.001')], { input: password + '\n' });
  let rawPvSeconds = 0;
  for (const u of rawPlan.units.keys()) rawPvSeconds += (await time('par2', ['verify', '-q', '-q', path.join(rawDir, `u${u}.par2`)])).seconds;
  const rawPv = { seconds: rawPvSeconds };
  row('verify', ver.seconds, rawT.seconds + rawPv.seconds, '7zz t + par2 verify', '');
  const stored = await duSize(dest);
  console.log('');
  console.log(`stored: strata ${formatBytes(stored)}; raw 7zz ${formatBytes(await duSize(rawDir))} (incl. par2: ${rawPlan.strategy} ${rawPlan.redundancyPercent}% as strata plans it)`);
  console.log(`throughput: strata full backup ${(totalBytes / 1048576 / ours.seconds).toFixed(1)} MB/s; 7zz a ${(totalBytes / 1048576 / raw.seconds).toFixed(1)} MB/s; par2 create ${(rawVols.reduce((s, f) => s + fs.statSync(f).size, 0) / 1048576 / rawPar.seconds).toFixed(1)} MB/s at ${rawPlan.redundancyPercent}%`);
  // 5. Memory as the file count grows: a no-change scan of the corpus vs of one with half the files.
  const halfSrc = path.join(root, 'half');
  await makeCorpus(halfSrc, Math.floor(smallFiles / 2), Math.floor(smallFiles / 2) * 2048);
  const fullSrcSmall = path.join(root, 'fullsmall');
  await makeCorpus(fullSrcSmall, smallFiles, smallFiles * 2048);
  const memDest = path.join(root, 'memdest');
  for (const d of [memDest + '1', memDest + '2']) await fsp.mkdir(d, { recursive: true });
  const m1 = await time('node', [strata, '--state', path.join(root, 'memstate1'), '--quiet', 'backup', '--tier', 'weekly', '--level', '1', '--source', halfSrc, '--dest', memDest + '1']);
  const m2 = await time('node', [strata, '--state', path.join(root, 'memstate2'), '--quiet', 'backup', '--tier', 'weekly', '--level', '1', '--source', fullSrcSmall, '--dest', memDest + '2']);
  console.log('');
  console.log(`peak RSS of the strata process: full backup ${formatBytes(ours.peakRss)}, no-change daily ${formatBytes(daily.peakRss)}, restore ${formatBytes(rest.peakRss)}`);
  console.log(`peak RSS vs file count: ${Math.floor(smallFiles / 2)} files ${formatBytes(m1.peakRss)}; ${smallFiles} files ${formatBytes(m2.peakRss)} (ratio ${(m2.peakRss / m1.peakRss).toFixed(2)}; bounded when close to 1)`);
  await pipelined(src);
  console.log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (!values.keep) await fsp.rm(root, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
