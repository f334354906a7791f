/**
 * bench/par2: PAR2 creation, strata's in-process engine (parity/wasm-engine) against par2cmdline
 * (`par2 create -t<cores>` with the same block size, recovery block count and files), on the same
 * volumes with the plan strata makes for them, run in turn (A B A B …) so the ratio holds while the
 * machine's speed drifts.
 *
 *   npm run build && node dist/bench/par2.js [--size 252MiB] [--volume 100MiB] [--rounds 3] [--tiers weekly,monthly]
 *   npm run bench -- --only par2                     (the same, from bench.ts)
 *   node dist/bench/par2.js --create DIR --engine wasm|par2cmdline --tier weekly
 *                                                     (one create over DIR's *.7z.NNN, for an outside timer)
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultProtectionConfig, planProtection, type Tier } from '../src/core/protection/index.js';
import { parseSize } from '../src/core/size.js';
import type { ParityEngine } from '../src/parity/engine.js';
import { Par2CmdlineEngine } from '../src/parity/par2cmdline.js';
import { WasmPar2Engine } from '../src/parity/wasm-engine.js';

const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** createAll makes every unit of the plan strata makes for the volumes in dir; returns seconds. */
async function createAll(engine: ParityEngine, dir: string, tier: Tier): Promise<{ seconds: number; recovery: string }> {
  const names = (await fsp.readdir(dir)).filter((f) => /\.7z\.\d{3}$/.test(f)).sort();
  const sizes = names.map((n) => fs.statSync(path.join(dir, n)).size);
  const plan = planProtection({ setId: 'bench', tier, volumeSizes: sizes }, defaultProtectionConfig);
  const t0 = performance.now();
  for (const unit of plan.units) await engine.create(unit, dir, names);
  const seconds = (performance.now() - t0) / 1000;
  const recovery = plan.units.map((u) => `${u.name}: ${u.sourceBlocks} blocks of ${(u.blockSize / 1048576).toFixed(2)} MiB, ${u.recoveryBlocks} recovery in ${u.recoveryFiles} files`).join('; ');
  return { seconds, recovery: `${plan.strategy}, ${plan.redundancyPercent}% (${recovery})` };
}

async function removePar2(dir: string): Promise<void> {
  for (const f of await fsp.readdir(dir)) if (!/\.7z\.\d{3}$/.test(f)) await fsp.rm(path.join(dir, f), { recursive: true, force: true });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

/** par2EngineBench prints, per tier, both engines' median times and the ratio par2cmdline / strata. */
export async function par2EngineBench(opts: { size: number; volume: number; rounds: number; tiers: Tier[]; root: string }): Promise<void> {
  const dir = path.join(opts.root, 'par2-volumes');
  await fsp.mkdir(dir, { recursive: true });
  let left = opts.size;
  for (let i = 1; left > 0; i++) {
    const n = Math.min(opts.volume, left);
    // Encrypted 7-Zip volumes look random: random bytes are the same work for PAR2.
    await fsp.writeFile(path.join(dir, `bench.7z.${String(i).padStart(3, '0')}`), randomBytes(n));
    left -= n;
  }
  const wasm = await WasmPar2Engine.open();
  const par2 = await Par2CmdlineEngine.open();
  console.log(`PAR2 create on ${(opts.size / 1048576).toFixed(0)} MiB of volumes (${(opts.volume / 1048576).toFixed(0)} MiB each), ${os.cpus().length} cores, ${opts.rounds} rounds each, load average ${load()}`);
  console.log(`  strata engine: ${wasm.version}; par2: ${par2.version} -t${os.cpus().length}`);
  for (const tier of opts.tiers) {
    const ours: number[] = [];
    const theirs: number[] = [];
    const ratios: number[] = [];
    let what = '';
    for (let r = 0; r < opts.rounds; r++) {
      const a = await createAll(wasm, dir, tier);
      await removePar2(dir);
      const b = await createAll(par2, dir, tier);
      await removePar2(dir);
      ours.push(a.seconds);
      theirs.push(b.seconds);
      ratios.push(b.seconds / a.seconds);
      what = a.recovery;
    }
    const mb = opts.size / 1048576;
    console.log(`  ${tier}: ${what}`);
    console.log(`    strata ${median(ours).toFixed(2)} s (${(mb / median(ours)).toFixed(1)} MB/s)   par2cmdline ${median(theirs).toFixed(2)} s (${(mb / median(theirs)).toFixed(1)} MB/s)   speed-up (par2cmdline / strata, pair by pair) median ${median(ratios).toFixed(2)}×, min ${Math.min(...ratios).toFixed(2)}×, max ${Math.max(...ratios).toFixed(2)}×`);
  }
  console.log(`  load average at the end: ${load()}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '252MiB' },
      volume: { type: 'string', default: '100MiB' },
      rounds: { type: 'string', default: '3' },
      tiers: { type: 'string', default: 'weekly,monthly' },
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
    await par2EngineBench({ size: parseSize(values.size), volume: parseSize(values.volume), rounds: Number(values.rounds), tiers: values.tiers.split(',') as Tier[], root });
  } finally {
    if (!values.keep) await fsp.rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
