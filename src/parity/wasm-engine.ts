/**
 * parity/wasm-engine: the ParityEngine that creates PAR2 files in-process — Reed-Solomon over
 * GF(2^16) with a WebAssembly SIMD kernel (asm/gf16.ts) on worker threads — and leaves verify and
 * repair to par2cmdline. Its files are what `par2 create -s -c -n -u [-f]` writes (par2-format.ts),
 * byte for byte except the creator packet, so stock par2 0.8.1 verifies and repairs them.
 *
 * Decisions:
 * - Workers split the recovery slices (each reads every input, from the page cache the second
 *   time); each takes a chunk of every input slice and multiplies it into all its recovery slices
 *   while it is in cache, so memory is chunk × (recovery slices + group), not the file size.
 * - The main thread hashes each whole file (MD5) while the workers compute; each worker also hashes
 *   every W-th input slice (MD5 + CRC32) from the chunks it reads anyway. The recovery set id needs
 *   only the first 16 KiB of each file, so the workers start at once.
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
import type { WorkerInput, WorkerResult } from './par2-worker.js';
import { placeUnitFiles, preparePartial } from './unit-files.js';

/** ENGINE_NAME is recorded in each set's descriptor and in the creator packet. */
export const ENGINE_NAME = 'strata-par2 1 (WebAssembly SIMD)';

/** WasmEngineOptions tunes the creator (defaults suit 2 cores). */
export interface WasmEngineOptions {
  threads?: number;
  /** Bytes of each slice per pass. */
  chunk?: number;
  /** Input slices per kernel call. */
  group?: number;
}

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

  constructor(
    private readonly par2: Par2CmdlineEngine,
    options: WasmEngineOptions = {},
  ) {
    this.version = `${ENGINE_NAME}; verify/repair ${par2.version}`;
    this.threads = Math.max(1, options.threads ?? availableParallelism());
    this.chunk = Math.max(32, Math.ceil((options.chunk ?? 16384) / 32) * 32);
    this.group = Math.max(1, options.group ?? 16);
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

      const logs = Array.from(inputLogs(totalSlices));
      const inputs = planned.map((f) => ({ path: f.path, size: f.file.size, slices: f.slices }));
      const workers = this.threads;
      const sliceHashes: WorkerResult['slices'] = [];
      // Per worker: chunk × (its recovery slices + group) bytes; keep that under ~64 MiB for big plans.
      const perWorkerOutputs = Math.ceil(outputs.length / workers);
      const cap = Math.max(1024, Math.floor((64 << 20) / (perWorkerOutputs + this.group) / 32) * 32);
      const chunk = Math.min(this.chunk, cap, Math.ceil(bs / 32) * 32);
      const perWorker = totalSlices * bs;
      const progress = new Array<number>(workers).fill(0);
      const report = (): void => opts.onProgress?.(progress.reduce((a, b) => a + b, 0) / Math.max(1, perWorker * workers));
      const jobs: Promise<void>[] = [];
      for (let w = 0; w < workers; w++) {
        const from = Math.floor((w * outputs.length) / workers);
        const to = Math.floor(((w + 1) * outputs.length) / workers);
        const input: WorkerInput = { blockSize: bs, chunk, group: this.group, inputs, logs, setId, hashModulus: workers, hashRemainder: w, outputs: outputs.slice(from, to) };
        jobs.push(
          runWorker(input, opts.signal, (bytes) => {
            progress[w] = (progress[w] ?? 0) + bytes;
            report();
          }).then((r) => {
            sliceHashes.push(...r.slices);
          }),
        );
      }
      const hashing = fileMd5s(planned, opts.signal);
      const settled = await Promise.allSettled([hashing, ...jobs]);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      const fullMd5 = await hashing;
      sliceHashes.sort((a, b) => a.index - b.index);
      if (sliceHashes.length !== totalSlices || sliceHashes.some((h, i) => h.index !== i)) throw new StrataError('INTERNAL', `the PAR2 workers hashed ${sliceHashes.length} of ${totalSlices} slices of ${unit.name}`);
      let nextSlice = 0;
      const hashes = planned.map((f, k) => {
        const slices = sliceHashes.slice(nextSlice, nextSlice + f.slices);
        nextSlice += f.slices;
        return { full: fullMd5[k], slices };
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

/** fileMd5s reads each file once, in order, for its MD5 (the workers hash the slices). */
async function fileMd5s(planned: readonly Planned[], signal: AbortSignal | undefined): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const buf = Buffer.alloc(1 << 20);
  for (const f of planned) {
    const full = createHash('md5');
    const h = await open(f.path, 'r');
    try {
      let pos = 0;
      while (pos < f.file.size) {
        if (signal?.aborted === true) throw new StrataError('CANCELLED', 'PAR2 creation was cancelled');
        const { bytesRead } = await h.read(buf, 0, Math.min(buf.length, f.file.size - pos), pos);
        if (bytesRead === 0) throw new StrataError('INTERNAL', `${f.path} got shorter while PAR2 data was being made`);
        full.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
    } finally {
      await h.close();
    }
    out.push(full.digest());
  }
  return out;
}

const workerUrl = new URL('./par2-worker.js', import.meta.url);

function runWorker(input: WorkerInput, signal: AbortSignal | undefined, onProgress: (bytes: number) => void): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new StrataError('CANCELLED', 'PAR2 creation was cancelled'));
      return;
    }
    const worker = new Worker(workerUrl, { workerData: input });
    let result: WorkerResult | undefined;
    const onAbort = (): void => {
      void worker.terminate();
      reject(new StrataError('CANCELLED', 'PAR2 creation was cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: { progress?: number } | WorkerResult) => {
      if ('progress' in m && m.progress !== undefined) onProgress(m.progress);
      if ('done' in m) result = m;
    });
    worker.on('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    worker.on('exit', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (result !== undefined && code === 0) resolve(result);
      else reject(new StrataError('INTERNAL', `a PAR2 worker thread stopped (exit code ${code})`));
    });
  });
}
