/**
 * parity/wasm-engine: the ParityEngine that creates PAR2 files in-process — Reed-Solomon over
 * GF(2^16) with a WebAssembly SIMD kernel (asm/gf16.ts) on worker threads — and leaves verify and
 * repair to par2cmdline. Its files are what `par2 create -s -c -n -u [-f]` writes (par2-format.ts),
 * byte for byte except the creator packet, so stock par2 0.8.1 verifies and repairs them.
 *
 * Decisions:
 * - Each input byte is read once (per pass): the main thread reads a window of consecutive slices
 *   into one of two shared buffers, hashes each file (MD5) as its slices go by, and hands the window
 *   to every worker while it reads the next. Workers split the recovery slices and keep theirs whole
 *   in memory (more than maxOutputBytes: several passes over the inputs), multiply a sub-chunk of
 *   every slice of the window into all of them while it is in cache, and hash the slices (MD5 eight
 *   at a time in the kernel, CRC32 with zlib) of every other window, beside the multiplying.
 * - Like par2cmdline.ts: files are made in a hidden `.<unit>.par2-partial` folder and moved into
 *   place only when complete, replacing the unit's older files; a failure or cancel leaves nothing.
 * - A volume of 0 bytes (par2 puts empty files outside the recovery set) goes to par2cmdline.
 * - The creator packet names this engine, or par2cmdline when remaking a set par2cmdline made
 *   (CreateOptions.madeBy): then the files are par2cmdline's exactly.
 */
import { createHash } from 'node:crypto';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ProtectionUnit } from '../core/protection/index.js';
import { StrataError, fromFsError } from '../errors.js';
import type { CheckOptions, CreateOptions, ParityEngine, RepairResult, UnitRef, VerifyResult } from './engine.js';
import { MAX_INPUT_SLICES, inputLogs } from './gf16.js';
import {
  HEADER_BYTES,
  PacketType,
  compareIds,
  creatorBody,
  fileDescBody,
  fileDescBytes,
  fileId,
  fileLayout,
  ifscBody,
  ifscBytes,
  mainBody,
  packet,
  recoveryFiles,
  type SourceFile,
} from './par2-format.js';
import { Par2CmdlineEngine } from './par2cmdline.js';
import type { WindowMessage, WorkerInput, WorkerResult } from './par2-worker.js';
import { placeUnitFiles, preparePartial } from './unit-files.js';

/** ENGINE_NAME is recorded in each set's descriptor and in the creator packet. */
export const ENGINE_NAME = 'strata-par2 1 (WebAssembly SIMD)';

/** WasmEngineOptions tunes the creator (defaults suit 2 cores). */
export interface WasmEngineOptions {
  threads?: number;
  /** Bytes of each slice per kernel call (cache blocking). */
  chunk?: number;
  /** Input slices per window (read once, multiplied into every recovery slice). */
  group?: number;
  /** Recovery bytes all workers keep in memory at once; more are made in further passes over the inputs. */
  maxOutputBytes?: number;
}

/** WINDOW_BYTES bounds a window buffer (there are two, and each worker copies one). */
const WINDOW_BYTES = 16 << 20;

/**
 * LOW_MEMORY is the buffer plan of CreateOptions.lowMemory. Measured on a 47 MB manifest with 100 %
 * recovery data (a set of 1,000,000 files): the default plan (two threads, 16 MiB windows, 64 MiB of
 * recovery data per pass) adds 124–130 MiB to the process for 0.6 s; this one adds 38 MiB for
 * about 1.0 s.
 */
export const LOW_MEMORY = { threads: 1, windowBytes: 4 << 20, maxOutputBytes: 16 << 20 } as const;

/** BufferPlan is how one create lays out its memory: worker threads, input slices per window (two
 *  windows in the parent, a copy of one in each worker) and recovery slices kept in memory per pass. */
export interface BufferPlan {
  threads: number;
  window: number;
  perPass: number;
}

/** bufferPlan chooses the BufferPlan for slices of `stride` bytes and `outputs` recovery slices. */
export function bufferPlan(stride: number, outputs: number, o: { threads: number; group: number; windowBytes: number; maxOutputBytes: number }): BufferPlan {
  const window = Math.max(1, Math.min(o.group, Math.floor(o.windowBytes / stride)));
  const perPass = Math.max(1, Math.floor(o.maxOutputBytes / stride));
  return { threads: Math.max(1, Math.min(o.threads, outputs, perPass)), window, perPass };
}

/** planBytes is the memory a BufferPlan holds at once: the parent's two windows, each worker's copy of one, and one pass of recovery slices. */
export function planBytes(p: BufferPlan, stride: number, outputs: number): number {
  return (2 + p.threads) * p.window * stride + Math.min(outputs, p.perPass) * stride;
}

type Output = WorkerInput['outputs'][number];

interface Planned {
  file: SourceFile;
  id: Buffer;
  path: string;
  slices: number;
}

/** WasmPar2Engine: see the module comment. */
export class WasmPar2Engine implements ParityEngine {
  readonly version: string;
  private readonly threads: number;
  private readonly chunk: number;
  private readonly group: number;
  private readonly maxOutputBytes: number;

  constructor(
    private readonly par2: Par2CmdlineEngine,
    options: WasmEngineOptions = {},
  ) {
    this.version = `${ENGINE_NAME}; verify/repair ${par2.version}`;
    this.threads = Math.max(1, options.threads ?? availableParallelism());
    this.chunk = Math.max(32, Math.ceil((options.chunk ?? 32768) / 32) * 32);
    this.group = Math.max(1, options.group ?? 16);
    this.maxOutputBytes = Math.max(1, options.maxOutputBytes ?? 64 << 20);
  }

  /** open finds par2 (for verify and repair) and returns the engine. */
  static async open(env: NodeJS.ProcessEnv = process.env, options: WasmEngineOptions = {}): Promise<WasmPar2Engine> {
    return new WasmPar2Engine(await Par2CmdlineEngine.open(env, options.threads === undefined ? {} : { threads: options.threads }), options);
  }

  verify(unit: UnitRef, setDir: string, opts: CheckOptions = {}): Promise<VerifyResult> {
    return this.par2.verify(unit, setDir, opts);
  }

  repair(unit: UnitRef, setDir: string, opts: CheckOptions = {}): Promise<RepairResult> {
    return this.par2.repair(unit, setDir, opts);
  }

  async create(unit: ProtectionUnit, setDir: string, volumeNames: readonly string[], opts: CreateOptions = {}): Promise<string[]> {
    const names = unit.volumes.map((i) => {
      const n = volumeNames[i];
      if (n === undefined) throw new StrataError('INTERNAL', `protection unit ${unit.name} names volume ${i + 1}, but the set has ${volumeNames.length}`);
      return n;
    });
    const sizes: number[] = [];
    for (const n of names) {
      try {
        sizes.push((await stat(path.join(setDir, n))).size);
      } catch (e) {
        throw new StrataError('NOT_FOUND', `cannot protect ${unit.name}: volume ${n} is missing or unreadable in ${setDir}`, { cause: e });
      }
    }
    if (sizes.some((s) => s === 0)) return this.par2.create(unit, setDir, volumeNames, opts);
    const first = opts.firstBlock ?? 0;
    if (first + unit.recoveryBlocks > 65535) throw new StrataError('INTERNAL', `${unit.name}: recovery exponents ${first}…${first + unit.recoveryBlocks - 1} exceed PAR2's 65535`);

    const bs = unit.blockSize;
    if (bs <= 0 || bs % 4 !== 0) throw new StrataError('INTERNAL', `${unit.name}: PAR2 block size ${bs} is not a positive multiple of 4`);
    const planned: Planned[] = [];
    for (const [k, n] of names.entries()) {
      const p = path.join(setDir, n);
      const size = sizes[k] ?? 0;
      const head = await readHead(p, Math.min(size, 16384));
      const file: SourceFile = { name: path.relative(setDir, p).split(path.sep).join('/'), size, hash16k: createHash('md5').update(head).digest() };
      planned.push({ file, id: fileId(file), path: p, slices: Math.ceil(size / bs) });
    }
    planned.sort((a, b) => compareIds(a.id, b.id));
    const totalSlices = planned.reduce((s, f) => s + f.slices, 0);
    if (totalSlices !== unit.sourceBlocks || totalSlices > MAX_INPUT_SLICES) {
      throw new StrataError('INTERNAL', `the volumes of ${unit.name} make ${totalSlices} source blocks of ${bs} bytes; the plan says ${unit.sourceBlocks}`, {
        hint: 'The volumes changed after planning; nothing was marked complete.',
      });
    }
    const mainPkt = packet(new Uint8Array(16), PacketType.main, mainBody(bs, planned.map((f) => f.id)));
    const setId = createHash('md5').update(mainBody(bs, planned.map((f) => f.id))).digest();
    // Critical packet sizes are known now; their contents after hashing.
    const criticalSizes = [mainPkt.length, ...planned.map((f) => fileDescBytes(f.file.name)), ...planned.map((f) => ifscBytes(f.slices))];
    const creator = packet(setId, PacketType.creator, creatorBody(creatorText(opts.madeBy)));
    const files = recoveryFiles(unit.name, unit.recoveryBlocks, unit.recoveryFiles, first);

    const partial = await preparePartial(setDir, unit);
    try {
      // Lay out every file; make each at its final size.
      const outputs: WorkerInput['outputs'] = [];
      const criticalAt: { file: string; offset: number; index: number | 'creator' }[] = [];
      for (const f of files) {
        const p = path.join(partial, f.name);
        let offset = 0;
        for (const e of fileLayout(f, criticalSizes.length)) {
          if (e.kind === 'recovery') {
            outputs.push({ exponent: e.exponent, path: p, headerOffset: offset });
            offset += HEADER_BYTES + 4 + bs;
          } else if (e.kind === 'critical') {
            criticalAt.push({ file: p, offset, index: e.index });
            offset += criticalSizes[e.index] ?? 0;
          } else {
            criticalAt.push({ file: p, offset, index: 'creator' });
            offset += creator.length;
          }
        }
        const h = await open(p, 'wx');
        try {
          await h.truncate(offset);
        } finally {
          await h.close();
        }
      }
      outputs.sort((a, b) => a.exponent - b.exponent);

      const { fileMd5, sliceHashes } = await this.encode(planned, bs, outputs, setId, opts);
      if (sliceHashes.length !== totalSlices || sliceHashes.some((h, i) => h.index !== i)) throw new StrataError('INTERNAL', `the PAR2 workers hashed ${sliceHashes.length} of ${totalSlices} slices of ${unit.name}`);
      let nextSlice = 0;
      const hashes = planned.map((f, k) => {
        const slices = sliceHashes.slice(nextSlice, nextSlice + f.slices);
        nextSlice += f.slices;
        return { full: fileMd5[k], slices };
      });

      const critical = [
        packet(setId, PacketType.main, mainBody(bs, planned.map((f) => f.id))),
        ...planned.map((f, k) => packet(setId, PacketType.fileDesc, fileDescBody(f.id, hashes[k]?.full ?? new Uint8Array(16), f.file))),
        ...planned.map((f, k) => packet(setId, PacketType.ifsc, ifscBody(f.id, hashes[k]?.slices ?? []))),
      ];
      const handles = new Map<string, FileHandle>();
      try {
        for (const c of criticalAt) {
          let h = handles.get(c.file);
          if (h === undefined) {
            h = await open(c.file, 'r+');
            handles.set(c.file, h);
          }
          const bytes = c.index === 'creator' ? creator : critical[c.index];
          if (bytes === undefined) throw new StrataError('INTERNAL', `PAR2 layout names critical packet ${String(c.index)} of ${critical.length}`);
          await h.write(bytes, 0, bytes.length, c.offset);
        }
      } finally {
        for (const h of handles.values()) await h.close();
      }

      const made = [files[files.length - 1]?.name ?? '', ...files.slice(0, -1).map((f) => f.name)];
      const keys = await placeUnitFiles(setDir, unit, partial, made);
      opts.onProgress?.(1);
      return keys;
    } catch (e) {
      if (e instanceof StrataError) throw e;
      if (opts.signal?.aborted === true) throw new StrataError('CANCELLED', `PAR2 creation for ${unit.name} was cancelled`);
      throw fromFsError(e, `creating the PAR2 files of ${unit.name}`);
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  }
  /**
   * encode makes the recovery slices (the workers write them into the laid-out files) and the
   * hashes. Each pass reads the inputs once, a window of consecutive slices at a time, into one of
   * two shared buffers (the next window is read while the workers multiply this one) and hands
   * every window to every worker; the first pass also hashes each file (MD5, here, as its slices go
   * by) and each slice (in the workers, a window each in turn). Workers keep their recovery slices
   * whole in memory; more than maxOutputBytes of them are made in several passes.
   */
  private async encode(planned: readonly Planned[], bs: number, outputs: readonly Output[], setId: Uint8Array, opts: CreateOptions): Promise<{ fileMd5: Buffer[]; sliceHashes: WorkerResult['slices'] }> {
    const stride = Math.ceil(bs / 64) * 64;
    const chunk = Math.min(Math.max(32, Math.floor(this.chunk / 32) * 32), stride);
    const totalSlices = planned.reduce((n, f) => n + f.slices, 0);
    const low = opts.lowMemory === true;
    const { threads, window, perPass } = bufferPlan(stride, outputs.length, {
      threads: low ? Math.min(this.threads, LOW_MEMORY.threads) : this.threads,
      group: this.group,
      windowBytes: low ? LOW_MEMORY.windowBytes : WINDOW_BYTES,
      maxOutputBytes: low ? Math.min(this.maxOutputBytes, LOW_MEMORY.maxOutputBytes) : this.maxOutputBytes,
    });
    const logs = Array.from(inputLogs(totalSlices));
    const buffers = [new SharedArrayBuffer(window * stride), new SharedArrayBuffer(window * stride)];
    // Slice i: its file and its index in the file.
    const where: { file: number; slice: number }[] = [];
    planned.forEach((f, k) => {
      for (let s = 0; s < f.slices; s++) where.push({ file: k, slice: s });
    });
    const fileHashes = planned.map(() => createHash('md5'));
    const sliceHashes: WorkerResult['slices'] = [];
    const totalWork = Math.max(1, totalSlices * bs * outputs.length);
    let work = 0;
    const cancelled = (): StrataError => new StrataError('CANCELLED', 'PAR2 creation was cancelled');
    let onAbort = (): void => undefined;
    const aborted = new Promise<never>((_, reject) => {
      if (opts.signal?.aborted === true) reject(cancelled());
      onAbort = () => reject(cancelled());
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    const handles: FileHandle[] = [];
    let pool: RunningWorker[] = [];
    try {
      for (const f of planned) handles.push(await open(f.path, 'r'));
      for (let p = 0; p * perPass < outputs.length; p++) {
        const passOut = outputs.slice(p * perPass, (p + 1) * perPass);
        const n = Math.min(threads, passOut.length);
        pool = [];
        for (let w = 0; w < n; w++) {
          const mine = passOut.slice(Math.floor((w * passOut.length) / n), Math.floor(((w + 1) * passOut.length) / n));
          const input: WorkerInput = { blockSize: bs, stride, chunk, window, buffers, setId, outputs: mine };
          pool.push(
            startWorker(input, (bytes) => {
              work += bytes * mine.length;
              opts.onProgress?.(work / totalWork);
            }),
          );
        }
        const wait = <T>(x: Promise<T>): Promise<T> => Promise.race([x, aborted, ...pool.map((r) => r.failed)]);
        for (let first = 0, k = 0; first < totalSlices; first += window, k++) {
          const count = Math.min(window, totalSlices - first);
          const b = k % 2;
          await wait(Promise.all(pool.map((r) => r.busy[b] ?? Promise.resolve())));
          const buf = buffers[b] ?? new SharedArrayBuffer(0);
          for (let i = 0; i < count; i++) {
            const at = where[first + i];
            const f = at === undefined ? undefined : planned[at.file];
            const h = at === undefined ? undefined : handles[at.file];
            if (at === undefined || f === undefined || h === undefined) throw new StrataError('INTERNAL', `PAR2 slice ${first + i} has no file`);
            const view = new Uint8Array(buf, i * stride, stride);
            const start = at.slice * bs;
            const want = Math.min(bs, f.file.size - start);
            let got = 0;
            while (got < want) {
              const { bytesRead } = await h.read(view, got, want - got, start + got);
              if (bytesRead === 0) throw new StrataError('INTERNAL', `${f.path} got shorter while PAR2 data was being made`);
              got += bytesRead;
            }
            view.fill(0, want);
            if (p === 0) fileHashes[at.file]?.update(view.subarray(0, want));
          }
          pool.forEach((r, w) => r.post({ buffer: b, first, n: count, logs: logs.slice(first, first + count), hash: p === 0 && k % pool.length === w }));
        }
        for (const r of pool) r.post({ end: true });
        for (const r of await wait(Promise.all(pool.map((r) => r.result)))) sliceHashes.push(...r.slices);
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      for (const r of pool) r.terminate();
      for (const h of handles) await h.close();
    }
    sliceHashes.sort((a, b) => a.index - b.index);
    return { fileMd5: fileHashes.map((h) => h.digest()), sliceHashes };
  }
}

/**
 * creatorText is the creator packet's text. Everything else is par2cmdline's byte for byte, so when
 * the files of a set par2cmdline made are made again (verify rebuilding a lost PAR2 file, checked
 * against the recorded hash), its creator text makes the files identical to the originals.
 */
export function creatorText(madeBy: string | undefined): string {
  const m = /^par2cmdline (\d+\.\d+\.\d+)$/.exec(madeBy ?? '');
  return m === null ? `Created by ${ENGINE_NAME}, compatible with par2cmdline.` : `Created by par2cmdline version ${m[1] ?? ''}.`;
}

async function readHead(p: string, n: number): Promise<Buffer> {
  const h = await open(p, 'r');
  try {
    const b = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await h.read(b, got, n - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return b.subarray(0, got);
  } finally {
    await h.close();
  }
}

const workerUrl = new URL('./par2-worker.js', import.meta.url);

interface RunningWorker {
  outputs: number;
  /** busy[b] settles when the worker has copied the window last posted in buffer b. */
  busy: (Promise<void> | undefined)[];
  post(m: WindowMessage | { end: true }): void;
  /** Rejects when the worker fails or stops before its result; never resolves. */
  failed: Promise<never>;
  result: Promise<WorkerResult>;
  terminate(): void;
}

function startWorker(input: WorkerInput, onProgress: (bytes: number) => void): RunningWorker {
  const worker = new Worker(workerUrl, { workerData: input });
  const waiting = new Map<number, () => void>();
  let fail: (e: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => undefined);
  let result: WorkerResult | undefined;
  const done = new Promise<WorkerResult>((resolve, reject) => {
    worker.on('message', (m: { progress?: number; released?: number } | WorkerResult) => {
      if ('progress' in m && m.progress !== undefined) onProgress(m.progress);
      if ('released' in m && m.released !== undefined) {
        waiting.get(m.released)?.();
        waiting.delete(m.released);
      }
      if ('done' in m) result = m;
    });
    worker.on('error', (e) => {
      fail(e);
      reject(e);
    });
    worker.on('exit', (code) => {
      if (result !== undefined && code === 0) {
        resolve(result);
        return;
      }
      const e = new StrataError('INTERNAL', `a PAR2 worker thread stopped (exit code ${code})`);
      fail(e);
      reject(e);
    });
  });
  done.catch(() => undefined);
  const busy: (Promise<void> | undefined)[] = [];
  return {
    outputs: input.outputs.length,
    busy,
    post: (m) => {
      if (!('end' in m)) busy[m.buffer] = new Promise<void>((resolve) => waiting.set(m.buffer, resolve));
      worker.postMessage(m);
    },
    failed,
    result: done,
    terminate: () => void worker.terminate(),
  };
}
