/** Fixtures for the parity tests: sets of random volumes, exact damage injection, and comparison. */
import { randomBytes } from 'node:crypto';
import { open, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { defaultProtectionConfig, planProtection, volumeFileName, type ProtectionConfig, type ProtectionPlan } from '../../src/core/protection/index.js';
import type { ParityEngine } from '../../src/parity/engine.js';
import { tempDir } from '../helpers/tmp.js';

/** BLOCK is the block size every test plan uses (4 KiB, 16 blocks per 64 KiB volume). */
export const BLOCK = 4096;

/** testConfig makes a policy for small volumes: 16 blocks each, one strategy forced, one redundancy. */
export function testConfig(strategy: 'direct' | 'grouped' | 'sliding', percent: number, extra: Partial<ProtectionConfig> = {}): ProtectionConfig {
  const rule = [{ name: 'test', upTo: null, redundancyPercent: percent }];
  return {
    ...defaultProtectionConfig,
    tiers: { daily: rule, weekly: rule, monthly: rule, yearly: rule },
    directMaxBytes: strategy === 'direct' ? Number.MAX_SAFE_INTEGER : 0,
    groupedMaxBytes: strategy === 'sliding' ? 0 : Number.MAX_SAFE_INTEGER,
    blocks: { ...defaultProtectionConfig.blocks, blockSize: BLOCK },
    ...extra,
  };
}

/** TestSet is a set folder with random volumes and their PAR2 files. */
export interface TestSet {
  dir: string;
  plan: ProtectionPlan;
  names: string[];
  originals: Buffer[];
  /** Files create returned, relative to dir. */
  par2Files: string[];
  createMs: number;
}

/** makeSet writes random volumes, plans them and creates the PAR2 files with the engine. */
export async function makeSet(t: TestContext, engine: ParityEngine, sizes: number[], config: ProtectionConfig, setId = '261129_FULL_docs'): Promise<TestSet> {
  const dir = await tempDir(t, 'strata-parity-');
  const names = sizes.map((_, i) => volumeFileName(setId, i));
  const originals = sizes.map((s) => randomBytes(s));
  for (const [i, n] of names.entries()) await writeFile(path.join(dir, n), originals[i]!);
  const plan = planProtection({ setId, tier: 'monthly', volumeSizes: sizes }, config);
  const started = performance.now();
  const par2Files: string[] = [];
  for (const unit of plan.units) par2Files.push(...(await engine.create(unit, dir, names)));
  return { dir, plan, names, originals, par2Files, createMs: performance.now() - started };
}

/** restore writes every original volume back and removes stray files (NAME.1 backups must not exist anyway). */
export async function restore(set: TestSet): Promise<void> {
  for (const [i, n] of set.names.entries()) await writeFile(path.join(set.dir, n), set.originals[i]!);
}

/** assertIdentical checks every volume is byte-identical to its original. */
export async function assertIdentical(set: TestSet, only?: number[]): Promise<void> {
  for (const [i, n] of set.names.entries()) {
    if (only !== undefined && !only.includes(i)) continue;
    const now = await readFile(path.join(set.dir, n));
    assert.ok(now.equals(set.originals[i]!), `${n} is byte-identical`);
  }
}

/** assertClean checks no par2 backup (`NAME.1`) or partial folder is left in the set folder. */
export async function assertClean(set: TestSet): Promise<void> {
  const stray = (await readdir(set.dir)).filter((f) => (/\.\d+$/.test(f) && !set.names.includes(f)) || f.endsWith('.par2-partial'));
  assert.deepEqual(stray, [], 'no backups or partial folders left');
}

/** flip inverts one byte of a file. */
export async function flip(file: string, offset: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = (b[0] ?? 0) ^ 0xff;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

/** flipBlocks flips one byte in each given (volume, block) and returns the damaged-block map. */
export async function flipBlocks(set: TestSet, blocks: [number, number][]): Promise<Map<number, number>> {
  const damage = new Map<number, number>();
  for (const [v, b] of blocks) {
    assert.ok(b < Math.ceil(set.originals[v]!.length / BLOCK), `block ${b} is inside volume ${v}`);
    const len = Math.min(BLOCK, set.originals[v]!.length - b * BLOCK);
    await flip(path.join(set.dir, set.names[v]!), b * BLOCK + ((v * 131 + b * 17) % len));
    damage.set(v, (damage.get(v) ?? 0) + 1);
  }
  return damage;
}

/** damageRun overwrites `length` bytes starting at a stream offset (volumes concatenated), across boundaries. */
export async function damageRun(set: TestSet, start: number, length: number): Promise<void> {
  let offset = 0;
  for (const [i, n] of set.names.entries()) {
    const size = set.originals[i]!.length;
    const a = Math.max(start, offset);
    const b = Math.min(start + length, offset + size);
    if (a < b) {
      const fh = await open(path.join(set.dir, n), 'r+');
      try {
        const junk = Buffer.from(set.originals[i]!.subarray(a - offset, b - offset)).map((x) => x ^ 0x5a);
        await fh.write(junk, 0, junk.length, a - offset);
      } finally {
        await fh.close();
      }
    }
    offset += size;
  }
}

/** removeVolumes deletes volumes and returns the damaged-block map (all their blocks). */
export async function removeVolumes(set: TestSet, volumes: number[]): Promise<Map<number, number>> {
  for (const v of volumes) await rm(path.join(set.dir, set.names[v]!));
  return new Map(volumes.map((v) => [v, Math.ceil(set.originals[v]!.length / BLOCK)]));
}

/** truncateVolume cuts a volume to `keep` bytes and returns the number of blocks lost. */
export async function truncateVolume(set: TestSet, v: number, keep: number): Promise<number> {
  await truncate(path.join(set.dir, set.names[v]!), keep);
  return Math.ceil(set.originals[v]!.length / BLOCK) - Math.floor(keep / BLOCK);
}

/** damageRecoveryPackets flips one byte inside each of the first `count` recovery-slice packets of a unit,
 * found by their PAR2 packet headers, so that exactly `count` recovery blocks are lost. */
export async function damageRecoveryPackets(set: TestSet, unitIndex: number, count: number): Promise<void> {
  const unit = set.plan.units[unitIndex]!;
  const files = set.par2Files.filter((f) => f.startsWith(unit.dir === '' ? unit.name : `${unit.dir}/`) && f.includes('.vol'));
  let left = count;
  for (const f of files) {
    const file = path.join(set.dir, f);
    const buf = await readFile(file);
    for (let at = buf.indexOf('PAR2\0PKT'); at >= 0 && left > 0; at = buf.indexOf('PAR2\0PKT', at + 8)) {
      if (buf.subarray(at + 48, at + 64).toString('latin1') === 'PAR 2.0\0RecvSlic') {
        await flip(file, at + 64 + 4 + 100);
        left--;
      }
    }
  }
  assert.equal(left, 0, `found ${count} recovery packets to damage`);
}
