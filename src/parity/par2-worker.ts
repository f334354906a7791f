/**
 * parity/par2-worker: one thread of the in-process PAR2 creator (wasm-engine.ts). It keeps a range
 * of recovery slices whole in its WebAssembly memory; the parent reads the input slices once, a
 * window of consecutive slices at a time, into shared buffers, and every worker multiplies each
 * window into its recovery slices (a sub-chunk of every slice of the window against all its recovery
 * slices while it is in cache). The worker named for a window also hashes its slices (MD5 four and
 * eight at a time with the kernel's md5x8, CRC32) from the copy it makes anyway. At the end it
 * writes its recovery packets (data, then header with the packet hash) into the files at the offsets
 * the layout gave. Reports progress (input bytes multiplied) to the parent.
 *
 * Messages: the parent posts WindowMessage per window and { end: true } at the end; the worker
 * answers { released: buffer } as soon as it has copied a window (the parent may refill it),
 * { progress: bytes } after multiplying it, and WorkerResult when its files are written.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { DATA_BASE, loadKernel } from './gf16-wasm.js';
import { crc32 } from './crc32.js';
import { recoveryHashPrefix, recoveryHeader } from './par2-format.js';

/** WorkerInput is what the parent hands a worker when it starts. */
export interface WorkerInput {
  blockSize: number;
  /** Bytes of each slice in a window buffer and in memory: blockSize rounded up to 64. */
  stride: number;
  /** Bytes of each slice per kernel call (a multiple of 32). */
  chunk: number;
  /** Input slices per window (at most). */
  window: number;
  /** The parent's window buffers, each window × stride bytes. */
  buffers: SharedArrayBuffer[];
  setId: Uint8Array;
  /** The recovery slices of this worker, consecutive exponents. */
  outputs: { exponent: number; path: string; headerOffset: number }[];
}

/** WindowMessage hands a worker n slices (from slice `first`) in buffer `buffer`, their constants' logs, and whether to hash them. */
export interface WindowMessage {
  buffer: number;
  first: number;
  n: number;
  logs: number[];
  hash: boolean;
}

/** WorkerResult is what a worker sends when done: the slice hashes it was asked for. */
export interface WorkerResult {
  done: true;
  slices: { index: number; md5: Uint8Array; crc32: number }[];
}

const MD5_IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

function start(w: WorkerInput): void {
  const port = parentPort;
  if (port === null) return;
  const k = loadKernel();
  const nOut = w.outputs.length;
  const stride = w.stride;
  const inBase = DATA_BASE;
  const logsBase = inBase + w.window * stride;
  const outBase = logsBase + Math.ceil((w.window * 4) / 64) * 64;
  const padBase = outBase + nOut * stride;
  const stateBase = padBase + 8 * 128;
  const ptrsBase = stateBase + 128;
  k.ensure(ptrsBase + 64 - DATA_BASE);
  const mem = (): Uint8Array => new Uint8Array(k.memory.buffer);
  mem().fill(0, outBase, outBase + nOut * stride);
  const e0 = w.outputs[0]?.exponent ?? 0;
  const slices: WorkerResult['slices'] = [];
  const bs = w.blockSize;
  const full = Math.floor(bs / 64);
  const tail = bs % 64;
  // The MD5 padding of a slice: its last bs % 64 bytes, 0x80, zeros, the bit length (1 or 2 blocks).
  const padBlocks = tail < 56 ? 1 : 2;
  const padding = new Uint8Array(padBlocks * 64 - tail);
  padding[0] = 0x80;
  new DataView(padding.buffer).setBigUint64(padding.length - 8, BigInt(bs) * 8n, true);

  /** hashSlices: MD5 (eight at a time) and CRC32 of the n slices now at inBase. */
  const hashSlices = (first: number, n: number): void => {
    for (let g = 0; g < n; g += 8) {
      const lanes = Math.min(8, n - g);
      const st = new Uint32Array(k.memory.buffer, stateBase, 32);
      for (let s = 0; s < 2; s++) for (let word = 0; word < 4; word++) st.fill(MD5_IV[word] ?? 0, s * 16 + word * 4, s * 16 + word * 4 + 4);
      const ptrs = new Uint32Array(k.memory.buffer, ptrsBase, 8);
      // Lanes past the window hash slice g again; their result is dropped.
      for (let l = 0; l < 8; l++) ptrs[l] = inBase + (g + (l < lanes ? l : 0)) * stride;
      if (full > 0) k.md5x8(stateBase, ptrsBase, full);
      const m = mem();
      for (let l = 0; l < 8; l++) {
        const src = inBase + (g + (l < lanes ? l : 0)) * stride + full * 64;
        m.copyWithin(padBase + l * 128, src, src + tail);
        m.set(padding, padBase + l * 128 + tail);
        ptrs[l] = padBase + l * 128;
      }
      k.md5x8(stateBase, ptrsBase, padBlocks);
      const words = new Uint32Array(k.memory.buffer, stateBase, 32);
      for (let l = 0; l < lanes; l++) {
        const md5 = new Uint8Array(16);
        const dv = new DataView(md5.buffer);
        for (let word = 0; word < 4; word++) dv.setUint32(word * 4, words[(l >> 2) * 16 + word * 4 + (l & 3)] ?? 0, true);
        const at = inBase + (g + l) * stride;
        slices.push({ index: first + g + l, md5, crc32: crc32(m.subarray(at, at + bs)) });
      }
    }
  };

  port.on('message', (msg: WindowMessage | { end: true }) => {
    if ('end' in msg) {
      finish();
      return;
    }
    const { n } = msg;
    const src = new Uint8Array(w.buffers[msg.buffer] ?? new SharedArrayBuffer(0), 0, n * stride);
    mem().set(src, inBase);
    port.postMessage({ released: msg.buffer });
    if (msg.hash) hashSlices(msg.first, n);
    new Uint32Array(k.memory.buffer, logsBase, n).set(msg.logs);
    k.split(inBase, n * stride);
    for (let off = 0; off < stride; off += w.chunk) {
      const len = Math.min(w.chunk, stride - off);
      k.block(inBase + off, n, outBase + off, nOut, stride, len, logsBase, e0);
    }
    port.postMessage({ progress: n * bs });
  });

  const finish = (): void => {
    k.unsplit(outBase, nOut * stride);
    const m = mem();
    const fds = new Map<string, number>();
    try {
      for (const o of w.outputs) if (!fds.has(o.path)) fds.set(o.path, openSync(o.path, 'r+'));
      w.outputs.forEach((o, j) => {
        const data = m.subarray(outBase + j * stride, outBase + j * stride + bs);
        const fd = fds.get(o.path) ?? -1;
        let done = 0;
        while (done < bs) done += writeSync(fd, data, done, bs - done, o.headerOffset + 68 + done);
        const hash = createHash('md5').update(recoveryHashPrefix(w.setId, o.exponent)).update(data).digest();
        const header = recoveryHeader(w.setId, o.exponent, bs, hash);
        writeSync(fd, header, 0, header.length, o.headerOffset);
      });
    } finally {
      for (const fd of fds.values()) closeSync(fd);
    }
    const result: WorkerResult = { done: true, slices };
    port.postMessage(result);
    port.close();
  };
}

if (parentPort !== null) start(workerData as WorkerInput);
