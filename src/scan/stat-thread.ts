/**
 * scan/stat-thread: the walk's lstat calls on a second thread (a worker, scan/stat-worker), for
 * local filesystems. A synchronous lstat costs the scan's one thread 3-7 µs a path, a third or more
 * of a no-change scan; asked for a chunk of a folder's names at a time, a few chunks ahead of the
 * visit, the worker makes those calls on the other core while the scan compares and writes. Until
 * the worker has started (tens of milliseconds), the walk makes its lstat calls itself.
 * (Asynchronous lstat on the thread pool costs more per call than it saves on a local disk; see
 * scan/stat-ahead.) The results are the same fields, in the same order, as lstat's.
 */
import { Worker } from 'node:worker_threads';
import { StrataError } from '../errors.js';
import type { HashOutcome } from './hash-file.js';
import type { ScanStat, StatOutcome } from './stat-ahead.js';

/** STAT_FIELDS is how many numbers one path's stat takes in a reply (stat-worker writes them in ScanStat's order). */
export const STAT_FIELDS = 10;

/** StatRequest asks the worker for the lstat of `names` in the folder `dir`. */
export interface StatRequest {
  id: number;
  dir: string;
  names: string[];
  /** Which names to hash too when they are small regular files (undefined: none). */
  hash?: boolean[];
}

/** StatReply is the worker's answer: STAT_FIELDS numbers per name, and the errors of those whose lstat failed. */
export interface StatReply {
  id: number;
  stats: BigInt64Array;
  errors: { index: number; message: string; code?: string; errno?: number }[];
  hashes: { index: number; outcome: HashOutcome }[];
}

const S_IFMT = 0o170000n;

/** PackedStat is one path's fields out of a reply. */
class PackedStat implements ScanStat {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly mode: bigint;
  readonly nlink: bigint;
  readonly uid: bigint;
  readonly gid: bigint;
  readonly size: bigint;
  readonly blocks: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;

  constructor(s: BigInt64Array, o: number) {
    this.dev = BigInt.asUintN(64, s[o] ?? 0n);
    this.ino = BigInt.asUintN(64, s[o + 1] ?? 0n);
    this.mode = s[o + 2] ?? 0n;
    this.nlink = s[o + 3] ?? 0n;
    this.uid = s[o + 4] ?? 0n;
    this.gid = s[o + 5] ?? 0n;
    this.size = s[o + 6] ?? 0n;
    this.blocks = s[o + 7] ?? 0n;
    this.mtimeNs = s[o + 8] ?? 0n;
    this.ctimeNs = s[o + 9] ?? 0n;
  }

  private is(type: bigint): boolean {
    return (this.mode & S_IFMT) === type;
  }

  isFile(): boolean {
    return this.is(0o100000n);
  }
  isDirectory(): boolean {
    return this.is(0o040000n);
  }
  isSymbolicLink(): boolean {
    return this.is(0o120000n);
  }
  isFIFO(): boolean {
    return this.is(0o010000n);
  }
  isSocket(): boolean {
    return this.is(0o140000n);
  }
  isCharacterDevice(): boolean {
    return this.is(0o020000n);
  }
  isBlockDevice(): boolean {
    return this.is(0o060000n);
  }
}

/** outcomes unpacks a reply into one StatOutcome per name. */
export function outcomes(reply: StatReply, count: number): StatOutcome[] {
  const out: StatOutcome[] = [];
  const hashes = new Map(reply.hashes.map((h) => [h.index, h.outcome]));
  for (let i = 0; i < count; i++) {
    const hash = hashes.get(i);
    out.push(hash === undefined ? { st: new PackedStat(reply.stats, i * STAT_FIELDS) } : { st: new PackedStat(reply.stats, i * STAT_FIELDS), hash });
  }
  for (const e of reply.errors) {
    // The error as lstat threw it: errnoCode() and errorMessage() read it the same way.
    out[e.index] = { err: Object.assign(new Error(e.message), { code: e.code, errno: e.errno, syscall: 'lstat' }) };
  }
  return out;
}

/** StatThread is one worker serving one scan's lstat calls; close() ends it. */
export class StatThread {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly waiting = new Map<number, { count: number; resolve: (o: StatOutcome[]) => void; reject: (e: unknown) => void }>();
  private failure: Error | undefined;
  /** Whether the worker has started and takes requests (before that, callers lstat themselves). */
  ready = false;
  /** Resolves once the worker is ready (rejects if it fails first). */
  readonly started: Promise<void>;
  private onReady: () => void = () => undefined;

  constructor() {
    this.worker = new Worker(new URL('./stat-worker.js', import.meta.url));
    let failStart: (e: unknown) => void = () => undefined;
    this.started = new Promise<void>((resolve, reject) => {
      this.onReady = resolve;
      failStart = reject;
    });
    this.started.catch(() => undefined); // awaited only by callers that wait for the thread
    this.worker.on('message', (reply: StatReply | { ready: true }) => {
      if ('ready' in reply) {
        this.ready = true;
        this.onReady();
        return;
      }
      const w = this.waiting.get(reply.id);
      if (w === undefined) return;
      this.waiting.delete(reply.id);
      w.resolve(outcomes(reply, w.count));
    });
    const fail = (e: unknown): void => {
      const err = e instanceof Error ? e : new StrataError('INTERNAL', `the scan's stat thread failed: ${String(e)}`);
      failStart(err);
      this.failure ??= err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new StrataError('INTERNAL', `the scan's stat thread stopped (exit code ${code})`)));
  }

  /** stat asks for the lstat of `names` in the folder `dir` (absolute), one outcome per name, in
   *  order; `hash` marks the names whose contents to hash as well if they are small regular files. */
  stat(dir: string, names: string[], hash?: boolean[]): Promise<StatOutcome[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    const req: StatRequest = hash === undefined ? { id, dir, names } : { id, dir, names, hash };
    return new Promise<StatOutcome[]>((resolve, reject) => {
      this.waiting.set(id, { count: names.length, resolve, reject });
      this.worker.postMessage(req);
    });
  }

  /** close stops the worker (requests still waiting are rejected). */
  async close(): Promise<void> {
    this.failure ??= new StrataError('INTERNAL', 'the scan\'s stat thread was closed');
    await this.worker.terminate();
  }
}
