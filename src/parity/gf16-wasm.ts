/**
 * parity/gf16-wasm: loads the GF(2^16) region kernel (asm/gf16.ts, compiled by `npm run build` to
 * gf16.wasm beside this file) and lays out its memory: tables at 64 KiB, the antilog table after
 * them, the caller's buffers from DATA_BASE on.
 */
import { readFileSync } from 'node:fs';
import { GF_EXP } from './gf16.js';

/** The few WebAssembly JS API types used here (lib "dom" is not in this project's tsconfig). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
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
  /** ensure grows the memory to hold `bytes` from DATA_BASE. */
  ensure(bytes: number): void;
}

/** kernelUrl is where the compiled kernel lives. */
export const kernelUrl = new URL('./gf16.wasm', import.meta.url);

let compiled: object | undefined;

/** loadKernel compiles (once per thread) and instantiates the kernel. */
export function loadKernel(): Gf16Kernel {
  compiled ??= new WebAssemblyApi.Module(readFileSync(kernelUrl));
  const instance = new WebAssemblyApi.Instance(compiled, {
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
  return { memory, muladd: ex.muladd, block: ex.block, split: ex.split, unsplit: ex.unsplit, ensure };
}
