/**
 * Helpers for the end-to-end protection tests: make real sets with the strata CLI, read their
 * descriptors' PAR2 plans, inject exact damage into volumes and recovery files (flipped bytes,
 * contiguous runs across volume boundaries, truncation, deletion), predict from the plan's block
 * arithmetic (core/protection's simulateRepair) what a repair achieves, and compare folder trees.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, open, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { planOf, type Descriptor } from '../../src/core/descriptor.js';
import { simulateRepair, type ProtectionPlan, type RepairPrediction } from '../../src/core/protection/index.js';
import { strata, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/** PASSWORD is the password of every test set. */
export const PASSWORD = 'correct horse battery staple';

/** Strategy names the PAR2 layouts under test. */
export type StrategyName = 'direct' | 'grouped' | 'sliding';

/**
 * protectionYaml is the `protection:` section that makes small sets grouped or sliding:
 * ≤ 256 KiB direct, ≤ 1 MiB groups of 4 volumes, above windows of 6 volumes sliding by 3.
 */
export const PROTECTION_YAML = ['protection:', '  directMaxBytes: 256KiB', '  groupedMaxBytes: 1MiB', '  groupSize: 4', '  windowSize: 6', '  windowSlide: 3'].join('\n');

/** SOURCE_BYTES is how much incompressible data each strategy's source holds (64 KiB volumes). */
export const SOURCE_BYTES: Record<StrategyName, number> = {
  // Default policy (no protection section): direct below 1 GiB; ~24 volumes.
  direct: 1_500_000,
  // 256 KiB < size ≤ 1 MiB: ~11 volumes in fixed groups of 4 (1-4, 5-8, then a tail group of 2-3
  // volumes, or one volume joins 5-8), streamed: groups are made while 7-Zip writes later volumes.
  grouped: 700_000,
  // > 1 MiB: ~22 volumes in windows of 6 sliding by 3.
  sliding: 1_400_000,
};

/** Fixture is one real set made by `strata backup`, kept pristine as a template for damage cases. */
export interface Fixture {
  strategy: StrategyName;
  root: string;
  source: string;
  /** The pristine destination (never damaged: cases work on copies). */
  dest: string;
  config: string;
  state: string;
  setId: string;
  descriptor: Descriptor;
  plan: ProtectionPlan;
  backupMs: number;
}

/** makeSource writes a source folder: one large file, several medium ones and small text files (all incompressible but the text). */
export async function makeSource(dir: string, totalBytes: number): Promise<void> {
  await mkdir(path.join(dir, 'docs', 'deep'), { recursive: true });
  const big = Math.floor(totalBytes * 0.55);
  await writeFile(path.join(dir, 'big.bin'), randomBytes(big));
  const medium = 8;
  const each = Math.floor((totalBytes - big) / medium);
  for (let i = 0; i < medium; i++) await writeFile(path.join(dir, i % 2 === 0 ? 'docs' : 'docs/deep', `m${i}.bin`), randomBytes(each));
  for (let i = 0; i < 5; i++) await writeFile(path.join(dir, `note${i}.txt`), `note ${i}\n`.repeat(10 + i));
}

/** cli runs strata with the test password in the environment. */
export function cli(args: string[], opts: { password?: string | null; input?: string } = {}): Promise<CliResult> {
  const password = opts.password === undefined ? PASSWORD : opts.password;
  const env: Record<string, string | undefined> = { STRATA_PASSWORD: password ?? undefined };
  return strata(args, { env, input: opts.input ?? '', timeoutMs: 180_000 });
}

/** show renders a CLI result for assertion messages. */
export function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** makeFixture backs up a fresh source with the strategy's policy and reads the set's plan from its descriptor. */
export async function makeFixture(t: TestContext | undefined, strategy: StrategyName): Promise<Fixture> {
  const root = await tempDir(t, `strata-e2e-${strategy}-`);
  const source = path.join(root, 'docs');
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  await mkdir(dest); // strata never creates a missing destination
  await makeSource(source, SOURCE_BYTES[strategy]);
  const config = path.join(root, 'strata.yaml');
  const lines = ['sources:', `  - path: ${JSON.stringify(source)}`, '    name: docs', `destination: ${JSON.stringify(dest)}`, 'archive:', '  weekly:', '    level: 0', '    volumeSize: 64KiB'];
  if (strategy !== 'direct') lines.push(PROTECTION_YAML);
  await writeFile(config, lines.join('\n') + '\n');
  const started = performance.now();
  const r = await cli(['--config', config, '--state', state, 'backup', '--tier', 'weekly']);
  const backupMs = performance.now() - started;
  assert.equal(r.code, 0, `backup of the ${strategy} fixture\n${show(r)}`);
  const sets = (await readdir(dest)).filter((n) => !n.startsWith('.') && n !== 'strata-destination.json');
  assert.equal(sets.length, 1, `one set folder in ${dest}: ${sets.join(', ')}`);
  const setId = sets[0] ?? '';
  const descriptor = await readDescriptor(path.join(dest, setId), setId);
  const plan = planOf(descriptor);
  assert.ok(plan !== null, 'the set has a PAR2 plan');
  assert.equal(plan.strategy, strategy, `the ${strategy} fixture got a ${plan.strategy} plan (${plan.strategyReason})`);
  return { strategy, root, source, dest, config, state, setId, descriptor, plan, backupMs };
}

/** readDescriptor reads `<set>.strata.json`. */
export async function readDescriptor(setDir: string, setId: string): Promise<Descriptor> {
  return JSON.parse(await readFile(path.join(setDir, `${setId}.strata.json`), 'utf8')) as Descriptor;
}

/** Case is a damaged copy of a fixture's destination. */
export interface Case {
  dest: string;
  setDir: string;
  /** Where restores go. */
  out: string;
  state: string;
}

let caseCounter = 0;

/** copyCase copies the pristine destination so one damage case can be applied to it. */
export async function copyCase(fx: Fixture, label: string): Promise<Case> {
  const base = path.join(fx.root, `case-${++caseCounter}-${label.replace(/[^A-Za-z0-9]+/g, '-')}`);
  const dest = path.join(base, 'dest');
  await cp(fx.dest, dest, { recursive: true });
  return { dest, setDir: path.join(dest, fx.setId), out: path.join(base, 'restored'), state: path.join(base, 'state') };
}

/** volumeName is the file name of a 0-based volume. */
export function volumeName(fx: Fixture, index: number): string {
  const v = fx.descriptor.volumes[index];
  assert.ok(v !== undefined, `volume ${index} exists`);
  return v.name;
}

/** flipAt inverts one byte of a file. */
export async function flipAt(file: string, offset: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    const { bytesRead } = await fh.read(b, 0, 1, offset);
    assert.equal(bytesRead, 1, `${file} has a byte at ${offset}`);
    b[0] = (b[0] ?? 0) ^ 0xff;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

/** BlockSpot is one PAR2 block of a volume (0-based volume and block within it). */
export type BlockSpot = [volume: number, block: number];

/** blocksIn is how many PAR2 blocks a volume has. */
export function blocksIn(plan: ProtectionPlan, volume: number): number {
  const size = plan.volumeSizes[volume] ?? 0;
  return Math.max(1, Math.ceil(size / plan.guarantees.blockSize));
}

/** flipBlocks flips one byte in the middle of each given block and returns the damaged-block count per volume. */
export async function flipBlocks(fx: Fixture, c: Case, spots: readonly BlockSpot[]): Promise<Map<number, number>> {
  const bs = fx.plan.guarantees.blockSize;
  const per = new Map<number, Set<number>>();
  for (const [v, b] of spots) {
    const size = fx.plan.volumeSizes[v] ?? 0;
    const offset = Math.min(size - 1, b * bs + Math.floor(bs / 2));
    await flipAt(path.join(c.setDir, volumeName(fx, v)), offset);
    const s = per.get(v) ?? new Set<number>();
    s.add(b);
    per.set(v, s);
  }
  return new Map([...per].map(([v, s]) => [v, s.size]));
}

/** spreadSpots picks `count` distinct blocks round-robin over the given volumes (avoiding each volume's first block and the set's first 64 bytes). */
export function spreadSpots(plan: ProtectionPlan, volumes: readonly number[], count: number): BlockSpot[] {
  const out: BlockSpot[] = [];
  const next = new Map(volumes.map((v) => [v, 1]));
  for (let i = 0; out.length < count; i++) {
    const v = volumes[i % volumes.length];
    assert.ok(v !== undefined && i < count * 100, `room for ${count} damaged blocks in volumes ${volumes.join(',')}`);
    const b = next.get(v) ?? 1;
    if (b < blocksIn(plan, v)) {
      out.push([v, b]);
      next.set(v, b + 1);
    }
  }
  return out;
}

/** volumeStart is the offset of a volume in the concatenation of all volumes. */
export function volumeStart(plan: ProtectionPlan, volume: number): number {
  return plan.volumeSizes.slice(0, volume).reduce((a, b) => a + b, 0);
}

/** runBlocks is the damaged-block count per volume of a contiguous run over the concatenated volumes. */
export function runBlocks(plan: ProtectionPlan, offset: number, length: number): Map<number, number> {
  const bs = plan.guarantees.blockSize;
  const out = new Map<number, number>();
  let start = 0;
  for (const [v, size] of plan.volumeSizes.entries()) {
    const a = Math.max(offset, start);
    const b = Math.min(offset + length, start + size);
    if (a < b) out.set(v, Math.floor((b - 1 - start) / bs) - Math.floor((a - start) / bs) + 1);
    start += size;
  }
  return out;
}

/** damageRun inverts every byte of a contiguous run over the concatenated volumes (crossing volume files). */
export async function damageRun(fx: Fixture, c: Case, offset: number, length: number): Promise<Map<number, number>> {
  let start = 0;
  for (const [v, size] of fx.plan.volumeSizes.entries()) {
    const a = Math.max(offset, start);
    const b = Math.min(offset + length, start + size);
    if (a < b) {
      const fh = await open(path.join(c.setDir, volumeName(fx, v)), 'r+');
      try {
        const buf = Buffer.alloc(b - a);
        await fh.read(buf, 0, buf.length, a - start);
        for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] ?? 0) ^ 0xff;
        await fh.write(buf, 0, buf.length, a - start);
      } finally {
        await fh.close();
      }
    }
    start += size;
  }
  return runBlocks(fx.plan, offset, length);
}

/** deleteVolumes removes whole volumes and returns their block counts (all lost). */
export async function deleteVolumes(fx: Fixture, c: Case, volumes: readonly number[]): Promise<Map<number, number>> {
  for (const v of volumes) await rm(path.join(c.setDir, volumeName(fx, v)));
  return new Map(volumes.map((v) => [v, blocksIn(fx.plan, v)]));
}

/** truncateVolume cuts a volume to `keep` bytes; every block from the cut on is lost. */
export async function truncateVolume(fx: Fixture, c: Case, volume: number, keep: number): Promise<Map<number, number>> {
  await truncate(path.join(c.setDir, volumeName(fx, volume)), keep);
  const bs = fx.plan.guarantees.blockSize;
  return new Map([[volume, blocksIn(fx.plan, volume) - Math.floor(keep / bs)]]);
}

/** unitRecoveryFiles lists a unit's recovery (vol) files with their block counts, from the descriptor. */
export function unitRecoveryFiles(fx: Fixture, unitIndex: number): { name: string; blocks: number }[] {
  const u = fx.plan.units[unitIndex];
  assert.ok(u !== undefined);
  const prefix = u.dir === '' ? `${u.name}.vol` : `${u.dir}/${u.name}.vol`;
  return fx.descriptor.recovery
    .filter((o) => o.name.startsWith(prefix))
    .map((o) => {
      const m = /\.vol(\d+)\+(\d+)\.par2$/.exec(o.name);
      assert.ok(m !== null, `recovery file name ${o.name}`);
      return { name: o.name, blocks: Number(m[2]) };
    });
}

/** unitIndexFile is a unit's `.par2` index file (relative to the set folder). */
export function unitIndexFile(fx: Fixture, unitIndex: number): string {
  const u = fx.plan.units[unitIndex];
  assert.ok(u !== undefined);
  return u.dir === '' ? `${u.name}.par2` : `${u.dir}/${u.name}.par2`;
}

/** predict is what repairing unit by unit until nothing changes achieves for this damage (core/protection). */
export function predict(fx: Fixture, damage: ReadonlyMap<number, number>, lostRecovery: ReadonlyMap<number, number> = new Map()): RepairPrediction {
  return simulateRepair(fx.plan, damage, lostRecovery);
}

/** merge adds damaged-block maps (volumes in both add up, capped at the volume's blocks). */
export function merge(fx: Fixture, ...maps: ReadonlyMap<number, number>[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of maps) for (const [v, b] of m) out.set(v, Math.min(blocksIn(fx.plan, v), (out.get(v) ?? 0) + b));
  return out;
}

/** treeHashes maps every regular file below a folder (relative path) to its SHA-256. */
export async function treeHashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out.set(r, createHash('sha256').update(await readFile(path.join(dir, r))).digest('hex'));
      else out.set(r, `<${e.isSymbolicLink() ? 'symlink' : 'other'}>`);
    }
  };
  await walk('');
  return out;
}

/** assertSameTree checks that two folders hold the same files with the same bytes. */
export async function assertSameTree(actual: string, expected: string, what: string): Promise<void> {
  const a = await treeHashes(actual);
  const e = await treeHashes(expected);
  assert.deepEqual([...a.keys()].sort(), [...e.keys()].sort(), `${what}: same file names`);
  for (const [k, h] of e) assert.equal(a.get(k), h, `${what}: ${k} is byte-identical`);
}

/** setFileHashes hashes every file of a set folder (to prove a command did or did not change it). */
export async function setFileHashes(setDir: string): Promise<Map<string, string>> {
  return treeHashes(setDir);
}

/** ROUTING_YAML makes a small source split into parts (core/parts): every threshold low enough for a ~1.5 MB set. */
export const ROUTING_YAML = ['routing:', '  minBytes: 1', '  splitMinBytes: 64KiB', '  storeMinBytes: 1'].join('\n');

/** makePartsSource writes media (random, ≥ the probe's 256 KiB: stored), text documents and many small text files (compressed). */
export async function makePartsSource(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'code', 'deep'), { recursive: true });
  await writeFile(path.join(dir, 'clip.mp4'), randomBytes(420_000));
  await writeFile(path.join(dir, 'photo.txt'), randomBytes(300_000)); // random bytes under a text name: stored by content
  const words = ['alpha', 'beta', 'gamma', 'delta', 'strata', 'volume', 'archive', 'restore', 'parity', 'backup'];
  let seed = 7;
  const word = (): string => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return words[seed % words.length] ?? 'x';
  };
  for (let d = 0; d < 2; d++) await writeFile(path.join(dir, `report${d}.txt`), Array.from({ length: 40_000 }, word).join(' '));
  for (let i = 0; i < 150; i++) await writeFile(path.join(dir, i % 3 === 0 ? 'code/deep' : 'code', `f${i}.ts`), Array.from({ length: 50 + (i % 7) * 40 }, word).join(' '));
}

/** makePartsFixture backs up a parts source (direct PAR2 plan, 64 KiB volumes) and checks the set has two LZMA2 parts and a stored one. */
export async function makePartsFixture(t: TestContext | undefined): Promise<Fixture> {
  const root = await tempDir(t, 'strata-e2e-parts-');
  const source = path.join(root, 'docs');
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  await mkdir(dest);
  await makePartsSource(source);
  const config = path.join(root, 'strata.yaml');
  await writeFile(config, ['sources:', `  - path: ${JSON.stringify(source)}`, '    name: docs', `destination: ${JSON.stringify(dest)}`, 'archive:', '  weekly:', '    level: 1', '    volumeSize: 64KiB', ROUTING_YAML].join('\n') + '\n');
  const started = performance.now();
  const r = await cli(['--config', config, '--state', state, 'backup', '--tier', 'weekly']);
  const backupMs = performance.now() - started;
  assert.equal(r.code, 0, `backup of the parts fixture\n${show(r)}`);
  const setId = (await readdir(dest)).find((n) => /^\d{6}_FULL_docs/.test(n)) ?? '';
  const descriptor = await readDescriptor(path.join(dest, setId), setId);
  const plan = planOf(descriptor);
  assert.ok(plan !== null, 'the set has a PAR2 plan');
  assert.deepEqual(descriptor.parts?.map((p) => [p.archive, p.method]), [[`${setId}.7z`, 'lzma2'], [`${setId}.p2.7z`, 'lzma2'], [`${setId}.p3.7z`, 'copy']], 'two compressed parts and a stored one');
  return { strategy: 'direct', root, source, dest, config, state, setId, descriptor, plan, backupMs };
}
