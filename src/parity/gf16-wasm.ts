/**
 * parity/gf16-wasm: loads the GF(2^16) region kernel (asm/gf16.ts, compiled by `npm run build` to
 * gf16.wasm beside this file) and lays out its memory: tables at 64 KiB, the antilog table after
 * them, the caller's buffers from DATA_BASE on.
 *
 * gf16-relaxed.wasm is the same kernel with i8x16.relaxed_swizzle (about 1.5× faster in V8: no
 * fix-up for indices ≥ 16, which the kernel never makes). Node 20 needs V8's
 * --experimental-wasm-relaxed-simd for it (on by default from Node 22); it is set here, per process,
 * only when the module does not validate without it. Each loaded kernel is checked against the
 * scalar reference (gf16.ts) before use; a kernel that fails the check is not used.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { GF_EXP, mulAddWords } from './gf16.js';

/** The few WebAssembly JS API types used here (lib "dom" is not in this project's tsconfig). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  validate(bytes: Uint8Array): boolean;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const TABLE_BASE = 65536;
const EXP_BASE = TABLE_BASE + 1024;
/** DATA_BASE is the first byte callers may use. */
export const DATA_BASE = 4 * 65536;

/** Gf16Kernel is an instantiated kernel (one per thread). */
export interface Gf16Kernel {
  memory: WasmMemory;
  /** dst ^= c·src over len bytes (split layout, len a multiple of 32). */
  muladd(src: number, dst: number, len: number, c: number): void;
  /** For j < nOut, i < nIn: out_j ^= (2^log_i)^(e0+j)·in_i (split layout); in_i at inBase+i·stride, out_j at outBase+j·stride, log_i a u32 at logs+4i. */
  block(inBase: number, nIn: number, outBase: number, nOut: number, stride: number, len: number, logs: number, e0: number): void;
  split(p: number, len: number): void;
  unsplit(p: number, len: number): void;
  /** Eight MD5 streams, `blocks` 64-byte blocks each: state (A, B, C, D as i32x4 for lanes 0…3, then for 4…7) at `state`, lane k's data at the u32 pointer at ptrs + 4k. */
  md5x8(state: number, ptrs: number, blocks: number): void;
  /** ensure grows the memory to hold `bytes` from DATA_BASE. */
  ensure(bytes: number): void;
}

/** kernelUrl is where the compiled kernel lives. */
export const kernelUrl = new URL('./gf16.wasm', import.meta.url);
const relaxedUrl = new URL('./gf16-relaxed.wasm', import.meta.url);

let compiled: { module: object; relaxed: boolean } | undefined;

function compileRelaxed(): object | undefined {
  if (!existsSync(relaxedUrl)) return undefined;
  const bytes = readFileSync(relaxedUrl);
  try {
    if (!WebAssemblyApi.validate(bytes)) setFlagsFromString('--experimental-wasm-relaxed-simd');
    return WebAssemblyApi.validate(bytes) ? new WebAssemblyApi.Module(bytes) : undefined;
  } catch {
    return undefined;
  }
}

/** loadKernel compiles (once per thread) and instantiates the kernel, the relaxed one if it works here. */
export function loadKernel(): Gf16Kernel & { relaxed: boolean } {
  if (compiled === undefined) {
    const relaxed = compileRelaxed();
    if (relaxed !== undefined) {
      const k = instantiate(relaxed);
      if (selfCheck(k)) compiled = { module: relaxed, relaxed: true };
    }
    compiled ??= { module: new WebAssemblyApi.Module(readFileSync(kernelUrl)), relaxed: false };
  }
  const k = instantiate(compiled.module);
  if (!compiled.relaxed && !selfCheck(k)) throw new Error('the GF(2^16) kernel computes wrong products on this machine');
  return { ...k, relaxed: compiled.relaxed };
}

/** selfCheck multiplies 1 KiB by a few constants with the kernel and the scalar reference. */
function selfCheck(k: Gf16Kernel): boolean {
  const len = 1024;
  k.ensure(2 * len);
  const src = new Uint8Array(len);
  for (let i = 0; i < len; i++) src[i] = (i * 167 + 13) & 0xff;
  for (const c of [1, 2, 0x100b, 0x8000, 0xffff, 0x1234]) {
    const want = new Uint8Array(len).fill(0x5a);
    mulAddWords(src, want, c);
    const m = new Uint8Array(k.memory.buffer);
    m.set(src, DATA_BASE);
    m.fill(0x5a, DATA_BASE + len, DATA_BASE + 2 * len);
    k.split(DATA_BASE, len);
    k.split(DATA_BASE + len, len);
    k.muladd(DATA_BASE, DATA_BASE + len, len, c);
    k.unsplit(DATA_BASE + len, len);
    const got = new Uint8Array(k.memory.buffer, DATA_BASE + len, len);
    for (let i = 0; i < len; i++) if (got[i] !== want[i]) return false;
  }
  return md5Check(k);
}

/** md5Check hashes eight messages of 0…7 blocks (padded) with md5x8 and compares with node:crypto. */
function md5Check(k: Gf16Kernel): boolean {
  const state = DATA_BASE;
  const ptrs = DATA_BASE + 128;
  const data = DATA_BASE + 256;
  const iv = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const m = new Uint8Array(k.memory.buffer);
  const st = new Uint32Array(k.memory.buffer, state, 32);
  const p = new Uint32Array(k.memory.buffer, ptrs, 8);
  // Eight different 55-byte messages, each padded to one block.
  const msgs = Array.from({ length: 8 }, (_, l) => Uint8Array.from({ length: 55 }, (_, i) => (i * 31 + l * 7) & 0xff));
  for (let s = 0; s < 2; s++) for (let w = 0; w < 4; w++) st.fill(iv[w] ?? 0, s * 16 + w * 4, s * 16 + w * 4 + 4);
  msgs.forEach((msg, l) => {
    const at = data + l * 64;
    m.set(msg, at);
    m.fill(0, at + 55, at + 64);
    m[at + 55] = 0x80;
    new DataView(k.memory.buffer).setBigUint64(at + 56, 55n * 8n, true);
    p[l] = at;
  });
  k.md5x8(state, ptrs, 1);
  return msgs.every((msg, l) => {
    const want = createHash('md5').update(msg).digest();
    return [0, 1, 2, 3].every((w) => want.readUInt32LE(w * 4) === st[(l >> 2) * 16 + w * 4 + (l & 3)]);
  });
}

function instantiate(module: object): Gf16Kernel {
  const instance = new WebAssemblyApi.Instance(module, {
    env: {
      abort: () => {
        throw new Error('gf16 kernel aborted');
      },
    },
  });
  const ex = instance.exports as unknown as Omit<Gf16Kernel, 'ensure'> & { memory: WasmMemory };
  const memory = ex.memory;
  const ensure = (bytes: number): void => {
    const need = Math.ceil((DATA_BASE + bytes) / 65536) - memory.buffer.byteLength / 65536;
    if (need > 0) memory.grow(need);
  };
  ensure(0);
  new Uint16Array(memory.buffer, EXP_BASE, 65536).set(GF_EXP);
  return { memory, muladd: ex.muladd, block: ex.block, split: ex.split, unsplit: ex.unsplit, md5x8: ex.md5x8, ensure };
}
