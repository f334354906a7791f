/**
 * The in-process PAR2 creator (parity/wasm-engine): GF(2^16) arithmetic and the kernel against
 * known values and the scalar reference, par2cmdline's file names and packets byte for byte (all
 * but the creator packet), and stock par2 0.8.1 verifying and repairing what it writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type { ProtectionUnit } from '../../src/core/protection/index.js';
import { isStrataError } from '../../src/errors.js';
import { crc32Js } from '../../src/parity/crc32.js';
import { GF_EXP, GF_LOG, coefficient, gfMul, gfPow, inputLogs, mulAddWords } from '../../src/parity/gf16.js';
import { DATA_BASE, loadKernel } from '../../src/parity/gf16-wasm.js';
import { openParityEngine } from '../../src/parity/open.js';
import { recoveryFiles } from '../../src/parity/par2-format.js';
import { findPar2 } from '../../src/parity/par2cmdline.js';
import { LOW_MEMORY, WasmPar2Engine, bufferPlan, planBytes } from '../../src/parity/wasm-engine.js';
import { tempDir } from '../helpers/tmp.js';

const sh = promisify(execFile);

test('GF(2^16) arithmetic and the input constants are PAR2 2.0’s (generator 0x1100B)', () => {
  assert.equal(gfMul(0x8000, 2), 0x100b); // x^16 = x^12 + x^3 + x + 1
  assert.equal(gfPow(2, 16), 0x100b);
  assert.equal(gfMul(0xffff, 1), 0xffff);
  assert.equal(gfMul(0x1234, 0), 0);
  assert.equal(GF_EXP[65535], 1);
  for (let x = 1; x < 65536; x += 997) assert.equal(GF_EXP[GF_LOG[x]!], x);
  for (let k = 0; k < 200; k++) {
    const [a, b, c] = [(k * 7919) & 0xffff, (k * 104729 + 3) & 0xffff, (k * 15485863 + 11) & 0xffff];
    assert.equal(gfMul(a, b ^ c), gfMul(a, b) ^ gfMul(a, c));
    assert.equal(gfMul(gfMul(a, b), c), gfMul(a, gfMul(b, c)));
  }
  // Constants 2^n, n not divisible by 3, 5, 17 or 257.
  assert.deepEqual(Array.from(inputLogs(18)), [1, 2, 4, 7, 8, 11, 13, 14, 16, 19, 22, 23, 26, 28, 29, 31, 32, 37]);
  assert.equal(inputLogs(32768)[32767], 65534);
  assert.throws(() => inputLogs(32769), RangeError);
  assert.equal(coefficient(7, 0), 1);
  assert.equal(coefficient(1, 5), 32);
  assert.equal(coefficient(4, 3), gfPow(gfPow(2, 4), 3));
});

test('the WebAssembly kernel multiplies regions exactly like the scalar reference', () => {
  const k = loadKernel();
  const len = 4096;
  const nIn = 5;
  const nOut = 3;
  k.ensure((nIn + nOut) * len + 64);
  const inputs = Array.from({ length: nIn }, () => randomBytes(len));
  const logs = inputLogs(nIn);
  const e0 = 40000;
  const want = Array.from({ length: nOut }, () => new Uint8Array(len));
  for (let j = 0; j < nOut; j++) for (let i = 0; i < nIn; i++) mulAddWords(inputs[i]!, want[j]!, coefficient(logs[i]!, e0 + j));
  const m = new Uint8Array(k.memory.buffer);
  const inBase = DATA_BASE;
  const outBase = inBase + nIn * len;
  const logsAt = outBase + nOut * len;
  inputs.forEach((b, i) => m.set(b, inBase + i * len));
  m.fill(0, outBase, outBase + nOut * len);
  new Uint32Array(k.memory.buffer, logsAt, nIn).set(logs);
  k.split(inBase, nIn * len);
  k.block(inBase, nIn, outBase, nOut, len, len, logsAt, e0);
  k.unsplit(outBase, nOut * len);
  for (let j = 0; j < nOut; j++) assert.deepEqual(m.subarray(outBase + j * len, outBase + (j + 1) * len), want[j], `recovery slice ${e0 + j}`);
});

test('the JavaScript CRC32 (for a Node without zlib.crc32) equals zlib’s', () => {
  const b = randomBytes(5000);
  assert.equal(crc32Js(b), zlib.crc32(b));
  assert.equal(crc32Js(b.subarray(1000), crc32Js(b.subarray(0, 1000))), zlib.crc32(b));
  assert.equal(crc32Js(new Uint8Array(0)), 0);
});

test('recovery file names and block counts are par2 create -c -n -u -f’s', () => {
  assert.deepEqual(recoveryFiles('u', 10, 3).map((f) => f.name), ['u.vol00+4.par2', 'u.vol04+3.par2', 'u.vol07+3.par2', 'u.par2']);
  assert.deepEqual(recoveryFiles('u', 5, 2, 10).map((f) => [f.name, f.firstExponent, f.count]), [['u.vol10+3.par2', 10, 3], ['u.vol13+2.par2', 13, 2], ['u.par2', 15, 0]]);
  assert.deepEqual(recoveryFiles('u', 100, 3).map((f) => f.name), ['u.vol000+34.par2', 'u.vol034+33.par2', 'u.vol067+33.par2', 'u.par2']);
  assert.deepEqual(recoveryFiles('u', 2, 5).map((f) => f.name), ['u.vol0+1.par2', 'u.vol1+1.par2', 'u.par2']);
});

/** packets splits a PAR2 file into its packets. */
function packets(b: Buffer): { type: string; bytes: Buffer }[] {
  const out: { type: string; bytes: Buffer }[] = [];
  for (let o = 0; o < b.length; ) {
    assert.equal(b.subarray(o, o + 8).toString('latin1'), 'PAR2\0PKT');
    const len = Number(b.readBigUInt64LE(o + 8));
    out.push({ type: b.subarray(o + 48, o + 64).toString('latin1'), bytes: b.subarray(o, o + len) });
    o += len;
  }
  return out;
}

function unitOf(name: string, volumes: number, blockSize: number, sourceBlocks: number, recoveryBlocks: number, recoveryFiles: number, dir = ''): ProtectionUnit {
  return { name, dir, volumes: Array.from({ length: volumes }, (_, i) => i), blockSize, sourceBlocks, recoveryBlocks, recoveryBytes: recoveryBlocks * blockSize, recoveryFiles };
}

const CASES = [
  { label: 'three volumes, partial last slices', sizes: [50000, 30001, 12288], bs: 4096, r: 10, files: 3, first: 0 },
  { label: 'recovery added later (-f10)', sizes: [50000, 30001, 12288], bs: 4096, r: 5, files: 2, first: 10 },
  { label: '100 recovery slices, one volume smaller than a chunk', sizes: [200000, 100], bs: 8192, r: 100, files: 3, first: 0 },
  // Slices of 4100 bytes (not a multiple of 64: MD5 tails of 4 bytes), windows of 11 slices (eight
  // MD5 lanes, then three), recovery slices made 3 at a time in 3 passes over the inputs.
  { label: 'odd block size, several windows and passes', sizes: [50000, 30001, 4099], bs: 4100, r: 8, files: 2, first: 0, engine: { chunk: 1024, group: 11, maxOutputBytes: 3 * 4160 } },  // CreateOptions.lowMemory (the manifest's PAR2 set): one thread, the same bytes.
  { label: 'the low-memory plan', sizes: [50000, 30001, 12288], bs: 4096, r: 12, files: 3, first: 0, lowMemory: true },
];

for (const c of CASES) {
  test(`same files as par2cmdline, byte for byte but the creator packet: ${c.label}`, async (t) => {
    const par2 = await findPar2();
    const root = await tempDir(t, 'strata-wasm-par2-');
    const [a, b] = [path.join(root, 'a'), path.join(root, 'b')];
    await mkdir(a);
    await mkdir(b);
    const names = c.sizes.map((_, i) => `S.7z.${String(i + 1).padStart(3, '0')}`);
    for (const [i, n] of names.entries()) {
      await writeFile(path.join(a, n), randomBytes(c.sizes[i]!));
      await copyFile(path.join(a, n), path.join(b, n));
    }
    const slices = c.sizes.reduce((s, z) => s + Math.ceil(z / c.bs), 0);
    const unit = unitOf('S_0001-0003', names.length, c.bs, slices, c.r, c.files, 'S_0001-0003');
    await mkdir(path.join(a, unit.dir));
    await sh(par2.path, ['create', '-qq', `-B${a}`, `-s${c.bs}`, `-c${c.r}`, `-n${c.files}`, ...(c.first === 0 ? [] : [`-f${c.first}`]), '-u', '--', path.join(a, unit.dir, `${unit.name}.par2`), ...names.map((n) => path.join(a, n))]);
    const engine = await WasmPar2Engine.open(process.env, 'engine' in c ? c.engine : { chunk: 2048, group: 3 });
    const made = await engine.create(unit, b, names, { firstBlock: c.first, lowMemory: 'lowMemory' in c && c.lowMemory });
    const theirs = (await readdir(path.join(a, unit.dir))).sort();
    assert.deepEqual([...made].sort(), theirs.map((f) => `${unit.dir}/${f}`));
    assert.equal(made[0], `${unit.dir}/${unit.name}.par2`);
    for (const f of theirs) {
      const want = packets(await readFile(path.join(a, unit.dir, f))).filter((p) => !p.type.startsWith('PAR 2.0\0Creator'));
      const got = packets(await readFile(path.join(b, unit.dir, f)));
      assert.equal(got.filter((p) => p.type.startsWith('PAR 2.0\0Creator')).length, 1, `${f}: one creator packet`);
      assert.deepEqual(
        got.filter((p) => !p.type.startsWith('PAR 2.0\0Creator')).map((p) => p.bytes.toString('hex')),
        want.map((p) => p.bytes.toString('hex')),
        `${f}: packets`,
      );
    }
    assert.deepEqual((await readdir(b)).filter((f) => f.startsWith('.')), [], 'no partial folder left');
  });
}

test('the buffer plan: the default keeps 16 MiB windows and 64 MiB of recovery data per pass; lowMemory a quarter of that on one thread', () => {
  // The manifest of a set of 1,000,000 files: 47 MB in 32 blocks of 1,470,464 bytes, 32 recovery blocks (100 %).
  const stride = 1470464;
  const fast = bufferPlan(stride, 32, { threads: 2, group: 16, windowBytes: 16 << 20, maxOutputBytes: 64 << 20 });
  assert.deepEqual(fast, { threads: 2, window: 11, perPass: 45 });
  assert.equal(Math.round(planBytes(fast, stride, 32) / 2 ** 20), 107); // + two worker threads: the 124–130 MiB measured
  const low = bufferPlan(stride, 32, { threads: 1, group: 16, windowBytes: LOW_MEMORY.windowBytes, maxOutputBytes: LOW_MEMORY.maxOutputBytes });
  assert.deepEqual(low, { threads: 1, window: 2, perPass: 11 });
  assert.ok(planBytes(low, stride, 32) <= 25 << 20, `low-memory plan holds ${planBytes(low, stride, 32)} bytes`);
  // Small blocks: the windows are bounded by the group, the passes by the output bound.
  assert.deepEqual(bufferPlan(4160, 8, { threads: 2, group: 11, windowBytes: 16 << 20, maxOutputBytes: 3 * 4160 }), { threads: 2, window: 11, perPass: 3 });
  // Never more threads than recovery slices per pass.
  assert.equal(bufferPlan(stride, 32, { threads: 8, group: 16, windowBytes: 16 << 20, maxOutputBytes: stride }).threads, 1);
});

test('stock par2 verifies and repairs what the engine writes, with recovery files added later (-f)', async (t) => {
  const par2 = await findPar2();
  const dir = await tempDir(t, 'strata-wasm-par2-');
  const sizes = [40960, 40960, 40960, 35000];
  const names = sizes.map((_, i) => `R.7z.${String(i + 1).padStart(3, '0')}`);
  const originals = sizes.map((s) => randomBytes(s));
  for (const [i, n] of names.entries()) await writeFile(path.join(dir, n), originals[i]!);
  const engine = await WasmPar2Engine.open();
  const base = unitOf('R_0001-0004', 4, 4096, 39, 6, 2, 'R_0001-0004');
  await engine.create(base, dir, names);
  await engine.create({ ...base, name: 'R_0001-0004.f6', recoveryBlocks: 6, recoveryFiles: 2 }, dir, names, { firstBlock: 6 });
  const index = path.join(dir, base.dir, `${base.name}.par2`);
  await sh(par2.path, ['verify', '-qq', `-B${dir}`, '--', index]);
  // A whole volume (10 slices) and one more damaged slice: 11 blocks, more than either file set holds alone.
  await rm(path.join(dir, names[1]!));
  const damaged = Buffer.from(originals[3]!);
  damaged[20000] = damaged[20000]! ^ 0xff;
  await writeFile(path.join(dir, names[3]!), damaged);
  const extra = (await readdir(path.join(dir, base.dir))).filter((f) => f.startsWith('R_0001-0004.f6.'));
  assert.deepEqual(extra.sort(), ['R_0001-0004.f6.par2', 'R_0001-0004.f6.vol06+3.par2', 'R_0001-0004.f6.vol09+3.par2']);
  const aside = path.join(dir, 'aside');
  await mkdir(aside);
  for (const f of extra) await rename(path.join(dir, base.dir, f), path.join(aside, f));
  await assert.rejects(sh(par2.path, ['verify', '-qq', `-B${dir}`, '--', index]), (e: { code?: unknown }) => e.code === 2);
  for (const f of extra) await rename(path.join(aside, f), path.join(dir, base.dir, f));
  await sh(par2.path, ['repair', '-qq', `-B${dir}`, '--', index]);
  for (const [i, n] of names.entries()) assert.deepEqual(await readFile(path.join(dir, n)), originals[i], n);
  // And through the engine (verify and repair stay par2cmdline's).
  await rm(path.join(dir, names[0]!));
  assert.equal((await engine.verify(base, dir)).status, 'repairable');
  assert.deepEqual(await engine.repair(base, dir), { status: 'repaired', repaired: [names[0]!] });
  assert.deepEqual(await readFile(path.join(dir, names[0]!)), originals[0]);
});

test('a failed or cancelled create leaves nothing behind and keeps the earlier files', async (t) => {
  const dir = await tempDir(t, 'strata-wasm-par2-');
  const names = ['F.7z.001', 'F.7z.002'];
  for (const n of names) await writeFile(path.join(dir, n), randomBytes(30000));
  const engine = await WasmPar2Engine.open();
  const unit = unitOf('F_0001-0002', 2, 4096, 16, 4, 2, 'F_0001-0002');
  const made = await engine.create(unit, dir, names);
  const before = (await readdir(path.join(dir, unit.dir))).sort();
  assert.deepEqual(before, made.map((f) => path.basename(f)).sort());
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(engine.create(unit, dir, names, { signal: ac.signal }), (e: unknown) => isStrataError(e, 'CANCELLED'));
  await assert.rejects(engine.create({ ...unit, sourceBlocks: 17 }, dir, names), (e: unknown) => isStrataError(e, 'INTERNAL'));
  await assert.rejects(engine.create(unit, dir, ['F.7z.001', 'F.7z.009']), (e: unknown) => isStrataError(e, 'NOT_FOUND') && e.message.includes('F.7z.009'));
  assert.deepEqual((await readdir(path.join(dir, unit.dir))).sort(), before);
  assert.deepEqual((await readdir(dir)).sort(), [...names, unit.dir].sort());
});

test('STRATA_PAR2_ENGINE chooses the engine: wasm by default, par2cmdline on request, anything else a CONFIG error', async () => {
  const env = { ...process.env };
  delete env['STRATA_PAR2_ENGINE'];
  assert.ok((await openParityEngine(env)) instanceof WasmPar2Engine);
  assert.match((await openParityEngine({ ...env, STRATA_PAR2_ENGINE: 'wasm' })).version, /^strata-par2 .*verify\/repair par2cmdline 0\.8/);
  assert.match((await openParityEngine({ ...env, STRATA_PAR2_ENGINE: 'par2cmdline' })).version, /^par2cmdline \d/);
  await assert.rejects(openParityEngine({ ...env, STRATA_PAR2_ENGINE: 'turbo' }), (e: unknown) => isStrataError(e, 'CONFIG') && /par2cmdline/.test(e.hint ?? ''));
});

test('recreating the PAR2 files of a set par2cmdline made gives par2cmdline’s bytes exactly (verify rebuilds lost PAR2 files and checks their hashes)', async (t) => {
  const root = await tempDir(t, 'strata-wasm-par2-');
  const [a, b] = [path.join(root, 'a'), path.join(root, 'b')];
  await mkdir(a);
  await mkdir(b);
  const names = ['P.7z.001', 'P.7z.002'];
  for (const n of names) {
    await writeFile(path.join(a, n), randomBytes(33333));
    await copyFile(path.join(a, n), path.join(b, n));
  }
  const unit = unitOf('P', 2, 4096, 18, 6, 2);
  const stock = await openParityEngine({ ...process.env, STRATA_PAR2_ENGINE: 'par2cmdline' });
  const made = await stock.create(unit, a, names);
  const engine = await WasmPar2Engine.open();
  assert.deepEqual(await engine.create(unit, b, names, { madeBy: stock.version }), made);
  for (const f of made) assert.deepEqual(await readFile(path.join(b, f)), await readFile(path.join(a, f)), f);
});
