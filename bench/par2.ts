/**
 * bench/par2: PAR2 creation, strata's in-process engine (parity/wasm-engine) against par2cmdline
 * (`par2 create -t<cores>` with the same block size, recovery block count and files), on the same
 * volumes with the plan strata makes for them, run in turn (A B A B …) so the ratio holds while the
 * machine's speed drifts. Wall and CPU seconds (this process and its children: par2) per run, and
 * the ratios pair by pair. The volumes are cut as strata cuts a set of that size in each tier
 * (core/protection/volume-size, at most --volume) unless --volume is a size with --fixed.
 *
 *   npm run build && node dist/bench/par2.js [--size 252MiB] [--volume 100MiB [--fixed]] [--rounds 3] [--tiers weekly,monthly,yearly]
 *   npm run bench -- --only par2                     (the same, from bench.ts)
 *   node dist/bench/par2.js --create DIR --engine wasm|par2cmdline --tier weekly
 *                                                     (one create over DIR's *.7z.NNN, for an outside timer)
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultProtectionConfig, planProtection, type Tier } from '../src/core/protection/index.js';
import { chooseVolumeSize } from '../src/core/protection/volume-size.js';
import { parseSize } from '../src/core/size.js';
import type { ParityEngine } from '../src/parity/engine.js';
import { Par2CmdlineEngine } from '../src/parity/par2cmdline.js';
import { crc32 } from '../src/parity/crc32.js';
import { DATA_BASE, loadKernel } from '../src/parity/gf16-wasm.js';
import { WasmPar2Engine } from '../src/parity/wasm-engine.js';

const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** cpuSeconds is this process's CPU time (all threads) plus that of its reaped children (Linux /proc; 0 elsewhere). */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    // Fields after the command name: state is field 3; cutime and cstime are fields 16 and 17.
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    children = (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    children = 0;
  }
  return (own.user + own.system) / 1e6 + children;
}

/** createAll makes every unit of the plan strata makes for the volumes in dir; returns seconds (wall and CPU). */
async function createAll(engine: ParityEngine, dir: string, tier: Tier): Promise<{ seconds: number; cpu: number; recovery: string }> {
  const names = (await fsp.readdir(dir)).filter((f) => /\.7z\.\d{3}$/.test(f)).sort();
  const sizes = names.map((n) => fs.statSync(path.join(dir, n)).size);
  const plan = planProtection({ setId: 'bench', tier, volumeSizes: sizes }, defaultProtectionConfig);
  const t0 = performance.now();
  const c0 = cpuSeconds();
  for (const unit of plan.units) await engine.create(unit, dir, names);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  const recovery = plan.units.map((u) => `${u.name}: ${u.sourceBlocks} blocks of ${(u.blockSize / 1048576).toFixed(2)} MiB, ${u.recoveryBlocks} recovery in ${u.recoveryFiles} files`).join('; ');
  return { seconds, cpu, recovery: `${sizes.length} volumes, ${plan.strategy}, ${plan.redundancyPercent}% (${recovery})` };
}

async function removePar2(dir: string): Promise<void> {
  for (const f of await fsp.readdir(dir)) if (!/\.7z\.\d{3}$/.test(f)) await fsp.rm(path.join(dir, f), { recursive: true, force: true });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

/** cpuOf runs f `times` times and returns the CPU seconds of the fastest run (this thread only runs it). */
function cpuOf(f: () => void, times = 3): number {
  let best = Infinity;
  for (let i = 0; i < times; i++) {
    const c = process.cpuUsage();
    f();
    const d = process.cpuUsage(c);
    best = Math.min(best, (d.user + d.system) / 1e6);
  }
  return best;
}

/**
 * floorRates measures, on one core, what PAR2 creation cannot do without: MD5 (node:crypto, and the
 * kernel's md5x8), CRC32 and the kernel's multiply-add (input bytes × recovery slices per second).
 */
function floorRates(): { md5: number; md5x8: number; crc: number; gf: number } {
  const mib = 1 << 20;
  const data = randomBytes(64 * mib);
  const md5 = (64 * mib) / cpuOf(() => void createHash('md5').update(data).digest());
  const crc = (64 * mib) / cpuOf(() => void crc32(data));
  const k = loadKernel();
  const lane = 4 * mib;
  k.ensure(8 * lane + 4096);
  const m = new Uint8Array(k.memory.buffer);
  m.set(data.subarray(0, 8 * lane), DATA_BASE + 4096);
  const ptrs = new Uint32Array(k.memory.buffer, DATA_BASE + 128, 8);
  for (let l = 0; l < 8; l++) ptrs[l] = DATA_BASE + 4096 + l * lane;
  const md5x8 = (8 * lane) / cpuOf(() => k.md5x8(DATA_BASE, DATA_BASE + 128, lane / 64));
  // 16 input slices of 512 KiB into 34 recovery slices, 32 KiB at a time (the engine's blocking).
  const stride = 512 * 1024;
  const nIn = 16;
  const nOut = 34;
  k.ensure((nIn + nOut) * stride + 4096);
  const inBase = DATA_BASE + 4096;
  const outBase = inBase + nIn * stride;
  new Uint32Array(k.memory.buffer, DATA_BASE, nIn).set(Array.from({ length: nIn }, (_, i) => i + 1));
  const gf = (nIn * nOut * stride) / cpuOf(() => {
    for (let off = 0; off < stride; off += 32768) k.block(inBase + off, nIn, outBase + off, nOut, stride, 32768, DATA_BASE, 0);
  }, 4);
  return { md5, md5x8, crc, gf };
}

/** writeVolumes fills dir with `size` random bytes in volumes of `volume` (encrypted 7-Zip volumes look random: the same work for PAR2). */
async function writeVolumes(dir: string, size: number, volume: number): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  let left = size;
  for (let i = 1; left > 0; i++) {
    const n = Math.min(volume, left);
    const h = await fsp.open(path.join(dir, `bench.7z.${String(i).padStart(3, '0')}`), 'w');
    try {
      for (let done = 0; done < n; done += 1 << 20) await h.write(randomBytes(Math.min(1 << 20, n - done)));
    } finally {
      await h.close();
    }
    left -= n;
  }
}

/** par2EngineBench prints, per tier, both engines' median wall and CPU times and the ratios par2cmdline / strata. */
export async function par2EngineBench(opts: { size: number; volume: number; fixed: boolean; rounds: number; tiers: Tier[]; root: string }): Promise<void> {
  const wasm = await WasmPar2Engine.open();
  const par2 = await Par2CmdlineEngine.open();
  console.log(`PAR2 create on ${(opts.size / 1048576).toFixed(0)} MiB of volumes, ${os.cpus().length} cores, ${opts.rounds} rounds each, load average ${load()}`);
  console.log(`  strata engine: ${wasm.version}; par2: ${par2.version} -t${os.cpus().length}`);
  const rate = floorRates();
  const mbs = (x: number): string => `${(x / 1e6).toFixed(0)} MB/s`;
  console.log(`  one core: MD5 node:crypto ${mbs(rate.md5)}, md5x8 ${mbs(rate.md5x8)}, CRC32 ${mbs(rate.crc)}, GF(2^16) multiply-add ${mbs(rate.gf)} (input bytes × recovery slices)`);
  for (const tier of opts.tiers) {
    const volume = opts.fixed ? opts.volume : chooseVolumeSize(tier, opts.size, opts.volume, defaultProtectionConfig).volumeSize;
    const dir = path.join(opts.root, `par2-volumes-${volume}`);
    if (!fs.existsSync(dir)) await writeVolumes(dir, opts.size, volume);
    const runs: { ours: { seconds: number; cpu: number }; theirs: { seconds: number; cpu: number } }[] = [];
    let what = '';
    for (let r = 0; r < opts.rounds; r++) {
      const a = await createAll(wasm, dir, tier);
      await removePar2(dir);
      const b = await createAll(par2, dir, tier);
      await removePar2(dir);
      runs.push({ ours: a, theirs: b });
      what = a.recovery;
    }
    const mb = opts.size / 1048576;
    const m = (f: (x: (typeof runs)[number]) => number): number => median(runs.map(f));
    const ratios = (f: (x: { seconds: number; cpu: number }) => number): string => {
      const rs = runs.map((x) => f(x.theirs) / f(x.ours));
      return `${median(rs).toFixed(2)}× (${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)})`;
    };
    console.log(`  ${tier}: ${what}`);
    // The floor: every byte hashed twice (file MD5 with node:crypto, slice MD5 with md5x8) and CRC'd once, multiplied into every recovery slice.
    const recovery = Number(/ (\d+) recovery/.exec(what)?.[1] ?? 0);
    const floor = opts.size / rate.md5 + opts.size / rate.md5x8 + opts.size / rate.crc + (opts.size * recovery) / rate.gf;
    console.log(`    floor (CPU of hashing and multiplying alone, no reading, no start-up): ${floor.toFixed(2)} s = MD5 ${(opts.size / rate.md5 + opts.size / rate.md5x8).toFixed(2)} + CRC ${(opts.size / rate.crc).toFixed(2)} + GF ${((opts.size * recovery) / rate.gf).toFixed(2)}; par2cmdline's CPU / floor: ${(m((x) => x.theirs.cpu) / floor).toFixed(2)}×`);
    console.log(`    strata      wall ${m((x) => x.ours.seconds).toFixed(2)} s (${(mb / m((x) => x.ours.seconds)).toFixed(1)} MB/s), CPU ${m((x) => x.ours.cpu).toFixed(2)} s`);
    console.log(`    par2cmdline wall ${m((x) => x.theirs.seconds).toFixed(2)} s (${(mb / m((x) => x.theirs.seconds)).toFixed(1)} MB/s), CPU ${m((x) => x.theirs.cpu).toFixed(2)} s`);
    console.log(`    speed-up (par2cmdline / strata, pair by pair, median (min–max)): wall ${ratios((x) => x.seconds)}, CPU ${ratios((x) => x.cpu)}`);
  }
  console.log(`  load average at the end: ${load()}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '252MiB' },
      volume: { type: 'string', default: '100MiB' },
      fixed: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '3' },
      tiers: { type: 'string', default: 'weekly,monthly,yearly' },
      tier: { type: 'string', default: 'weekly' },
      dir: { type: 'string' },
      create: { type: 'string' },
      engine: { type: 'string', default: 'wasm' },
      keep: { type: 'boolean', default: false },
    },
  });
  if (values.create !== undefined) {
    const engine = values.engine === 'par2cmdline' ? await Par2CmdlineEngine.open() : await WasmPar2Engine.open();
    await removePar2(values.create);
    const r = await createAll(engine, values.create, values.tier as Tier);
    console.log(`${values.engine} ${values.tier}: ${r.seconds.toFixed(2)} s; ${r.recovery}`);
    return;
  }
  const root = path.resolve(values.dir ?? path.join(os.tmpdir(), `strata-bench-par2-${process.pid}`));
  try {
    await par2EngineBench({ size: parseSize(values.size), volume: parseSize(values.volume), fixed: values.fixed, rounds: Number(values.rounds), tiers: values.tiers.split(',') as Tier[], root });
  } finally {
    if (!values.keep) await fsp.rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
