/**
 * parity/par2-worker: one thread of the in-process PAR2 creator (wasm-engine.ts). It computes a
 * range of recovery slices over all input slices, a chunk of every slice at a time (memory: a chunk
 * × (its recovery slices + one group of inputs)), writes their data straight into the recovery
 * files at the offsets the layout gave, hashes each packet as its data goes by and finally writes
 * the packet headers. Reports progress (input bytes processed) to the parent.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { DATA_BASE, loadKernel } from './gf16-wasm.js';
import { recoveryHashPrefix, recoveryHeader } from './par2-format.js';

/** WorkerInput is what the parent hands a worker. */
export interface WorkerInput {
  blockSize: number;
  /** Bytes of each slice per pass (a multiple of 32, at most blockSize rounded up to 32). */
  chunk: number;
  /** Input slices multiplied per kernel call. */
  group: number;
  /** Input files in slice order; slices = ceil(size / blockSize). */
  inputs: { path: string; size: number; slices: number }[];
  /** log of each input slice's constant. */
  logs: number[];
  setId: Uint8Array;
  /** This worker also hashes (MD5 + CRC32, padded) the input slices i with i % hashModulus === hashRemainder. */
  hashModulus: number;
  hashRemainder: number;
  /** The recovery slices of this worker, consecutive exponents. */
  outputs: { exponent: number; path: string; headerOffset: number }[];
}

/** WorkerResult is what a worker sends when done: the slice hashes it was asked for. */
export interface WorkerResult {
  done: true;
  slices: { index: number; md5: Uint8Array; crc32: number }[];
}

function run(w: WorkerInput): WorkerResult {
  const k = loadKernel();
  const nIn = w.logs.length;
  const nOut = w.outputs.length;
  const stride = w.chunk;
  const group = Math.min(w.group, nIn);
  const inBase = DATA_BASE;
  const logsBase = inBase + group * stride;
  const outBase = logsBase + Math.ceil((group * 4) / 32) * 32;
  k.ensure(outBase - DATA_BASE + nOut * stride);
  const mem = (): Uint8Array => new Uint8Array(k.memory.buffer);
  const logsView = new Uint32Array(k.memory.buffer, logsBase, group);

  // Slice i → (fd, offset of the slice in its file, bytes of the file from there).
  const inFds = w.inputs.map((f) => openSync(f.path, 'r'));
  const where: { fd: number; start: number; bytes: number }[] = [];
  w.inputs.forEach((f, n) => {
    for (let s = 0; s < f.slices; s++) where.push({ fd: inFds[n] ?? -1, start: s * w.blockSize, bytes: Math.min(w.blockSize, f.size - s * w.blockSize) });
  });
  const outFds = new Map<string, number>();
  for (const o of w.outputs) if (!outFds.has(o.path)) outFds.set(o.path, openSync(o.path, 'r+'));
  const hashes: Hash[] = w.outputs.map((o) => createHash('md5').update(recoveryHashPrefix(w.setId, o.exponent)));
  const e0 = w.outputs[0]?.exponent ?? 0;
  // Slice hashes: the chunks of each slice go by in order, so a running MD5 and CRC32 per slice.
  const sliceMd5 = new Map<number, Hash>();
  const sliceCrc = new Map<number, number>();
  for (let i = w.hashRemainder; i < nIn; i += w.hashModulus) {
    sliceMd5.set(i, createHash('md5'));
    sliceCrc.set(i, 0);
  }

  try {
    for (let off = 0; off < w.blockSize; off += stride) {
      const len = Math.min(stride, w.blockSize - off);
      const lenP = Math.ceil(len / 32) * 32;
      const m = mem();
      m.fill(0, outBase, outBase + nOut * stride);
      for (let g = 0; g < nIn; g += group) {
        const n = Math.min(group, nIn - g);
        for (let i = 0; i < n; i++) {
          const s = where[g + i];
          const p = inBase + i * stride;
          const want = s === undefined ? 0 : Math.max(0, Math.min(len, s.bytes - off));
          let got = 0;
          while (s !== undefined && got < want) {
            const r = readSync(s.fd, m, p + got, want - got, s.start + off + got);
            if (r === 0) throw new Error(`${w.inputs.find((_, x) => inFds[x] === s.fd)?.path ?? 'an input'} got shorter while PAR2 data was being made`);
            got += r;
          }
          if (want < lenP) m.fill(0, p + want, p + lenP);
          const h = sliceMd5.get(g + i);
          if (h !== undefined) {
            const bytes = m.subarray(p, p + len);
            h.update(bytes);
            sliceCrc.set(g + i, zlib.crc32(bytes, sliceCrc.get(g + i) ?? 0));
          }
          logsView[i] = w.logs[g + i] ?? 0;
        }
        k.split(inBase, n * stride);
        k.block(inBase, n, outBase, nOut, stride, lenP, logsBase, e0);
      }
      k.unsplit(outBase, nOut * stride);
      w.outputs.forEach((o, j) => {
        const data = m.subarray(outBase + j * stride, outBase + j * stride + len);
        hashes[j]?.update(data);
        let done = 0;
        const fd = outFds.get(o.path) ?? -1;
        while (done < len) done += writeSync(fd, data, done, len - done, o.headerOffset + 68 + off + done);
      });
      parentPort?.postMessage({ progress: len * nIn });
    }
    w.outputs.forEach((o, j) => {
      const header = recoveryHeader(w.setId, o.exponent, w.blockSize, hashes[j]?.digest() ?? new Uint8Array(16));
      writeSync(outFds.get(o.path) ?? -1, header, 0, header.length, o.headerOffset);
    });
  } finally {
    for (const fd of inFds) closeSync(fd);
    for (const fd of outFds.values()) closeSync(fd);
  }
  return { done: true, slices: [...sliceMd5].map(([index, h]) => ({ index, md5: h.digest(), crc32: sliceCrc.get(index) ?? 0 })) };
}

if (parentPort !== null) {
  parentPort.postMessage(run(workerData as WorkerInput));
}
