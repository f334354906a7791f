/**
 * backend/wrappers: Backends that wrap another Backend to add one behaviour each — retries with
 * backoff, a concurrency limit, debug logging, and fault injection for tests. Each wrapper keeps
 * the contract of backend.ts, so they stack in any order.
 */
import { Readable } from 'node:stream';
import pLimit, { type LimitFunction } from 'p-limit';
import { StrataError, isStrataError } from '../errors.js';
import { hashStream } from '../io/hash.js';
import { retry, type BackoffOptions } from '../io/retry.js';
import type { Backend, BodySource, ByteRange, ColdState, ObjectInfo, PutOptions, RetrievalTier, ThawResult } from './backend.js';
import { coldStateOf, thawOf } from './forwarding.js';

/** Kept for src/pipeline/backup.ts and older imports; the one implementation is io/hash. */

// ------------------------------------------------------------------------------------------ retry

/** RetryOptions tune RetryingBackend. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  attempts?: number;
  /** Delay before the first retry, doubled each time (default 250 ms). */
  baseDelayMs?: number;
  /** Longest delay (default 20 s). */
  maxDelayMs?: number;
  /** Called before each retry (for a warning line). */
  onRetry?: (info: { method: string; key: string; attempt: number; delayMs: number; error: StrataError }) => void;
  /** Injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/**
 * RetryingBackend retries operations that failed with a `retriable` StrataError, with exponential
 * backoff and full jitter (so that parallel uploads that failed together do not retry together).
 * Bodies are re-opened for each attempt. A retried put() that meets ALREADY_EXISTS resolves when
 * the object under the key holds exactly the body's bytes (an earlier attempt stored it and its
 * reply was lost); otherwise ALREADY_EXISTS stands. A get() is retried until its stream is returned; a list()
 * restarts and skips keys it already yielded, so each key is still yielded once.
 */
export class RetryingBackend implements Backend {
  readonly description: string;
  private readonly backoff: BackoffOptions;

  constructor(private readonly inner: Backend, private readonly options: RetryOptions = {}) {
    this.description = inner.description;
    this.backoff = {
      attempts: Math.max(1, options.attempts ?? 5),
      baseDelayMs: options.baseDelayMs ?? 250,
      maxDelayMs: options.maxDelayMs ?? 20_000,
      ...(options.sleep !== undefined ? { sleep: options.sleep } : {}),
      ...(options.random !== undefined ? { random: options.random } : {}),
    };
  }

  private retry<T>(method: string, key: string, fn: (attempt: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return retry(fn, {
      ...this.backoff,
      signal,
      retriable: (e) => isStrataError(e) && e.retriable,
      onRetry: ({ attempt, delayMs, error }) => {
        if (isStrataError(error)) this.options.onRetry?.({ method, key, attempt, delayMs, error });
      },
    });
  }

  put(key: string, body: BodySource, options: PutOptions = {}): Promise<ObjectInfo> {
    return this.retry(
      'put',
      key,
      async (attempt) => {
        try {
          return await this.inner.put(key, body, options);
        } catch (e) {
          // An earlier attempt may have stored the object with its reply lost (the final MOVE,
          // PutObject or moveto completed, the answer never came): the same bytes under the key are
          // that attempt's success, not a conflict.
          if (attempt > 1 && isStrataError(e, 'ALREADY_EXISTS') && options.overwrite !== true) {
            const info = await this.storedAlready(key, body, options);
            if (info !== undefined) return info;
          }
          throw e;
        }
      },
      options.signal,
    );
  }

  /**
   * storedAlready returns the object under `key` when it holds exactly the body's bytes: the same
   * size and SHA-256. The stored hash is stat()'s where the backend keeps one, else the object is
   * read back and hashed; the expected hash is `options.sha256`, else the source is hashed.
   */
  private async storedAlready(key: string, body: BodySource, options: PutOptions): Promise<ObjectInfo | undefined> {
    let info: ObjectInfo;
    try {
      info = await this.inner.stat(key);
    } catch (e) {
      if (isStrataError(e, 'NOT_FOUND')) return undefined;
      throw e;
    }
    if (info.size !== body.size) return undefined;
    const expected = options.sha256 ?? (await hashStream(body.open(), `reading the source of ${key}`, false, options.signal));
    const stored = info.sha256 ?? (await hashStream(await this.inner.get(key), `reading back ${key} from ${this.description}`, true, options.signal));
    if (expected !== stored) return undefined;
    return { ...info, key, size: body.size, sha256: expected };
  }

  get(key: string, range?: ByteRange): Promise<Readable> {
    return this.retry('get', key, () => this.inner.get(key, range));
  }

  stat(key: string): Promise<ObjectInfo> {
    return this.retry('stat', key, () => this.inner.stat(key));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // A listing that fails is restarted, skipping the keys it already yielded; each step may fail
    // and be retried as often as any other operation.
    const seen = new Set<string>();
    let it: AsyncIterator<ObjectInfo> | undefined;
    try {
      for (;;) {
        const next = await this.retry('list', prefix, async () => {
          for (;;) {
            it ??= this.inner.list(prefix)[Symbol.asyncIterator]();
            try {
              const r = await it.next();
              if (r.done === true || !seen.has(r.value.key)) return r;
            } catch (e) {
              it = undefined;
              throw e;
            }
          }
        });
        if (next.done === true) return;
        seen.add(next.value.key);
        yield next.value;
      }
    } finally {
      await it?.return?.();
    }
  }

  delete(key: string): Promise<void> {
    return this.retry('delete', key, () => this.inner.delete(key));
  }

  removeFolder(prefix: string): Promise<void> {
    return this.retry('removeFolder', prefix, async () => this.inner.removeFolder?.(prefix));
  }

  retag(key: string, tags: Record<string, string>, signal?: AbortSignal): Promise<boolean> {
    return this.retry('retag', key, async () => (await this.inner.retag?.(key, tags, signal)) ?? false);
  }

  rootExists(): Promise<boolean> {
    return this.retry('rootExists', '', async () => (await this.inner.rootExists?.()) ?? true);
  }

  createRoot(): Promise<void> {
    return this.retry('createRoot', '', async () => this.inner.createRoot?.());
  }

  get archives(): boolean {
    return this.inner.archives === true;
  }

  coldState(key: string): Promise<ColdState> {
    return this.retry('coldState', key, () => coldStateOf(this.inner, key));
  }

  thaw(key: string, tier?: RetrievalTier, storageClass?: string): Promise<ThawResult> {
    return this.retry('thaw', key, () => thawOf(this.inner, key, tier, storageClass));
  }

  localPath(key: string): string | undefined {
    return this.inner.localPath?.(key);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

// ------------------------------------------------------------------------------------------ limit

/**
 * LimitedBackend runs at most `concurrency` operations on the inner backend at once. A get() holds
 * its slot until its stream closes (a transfer is what providers limit), so read or destroy every
 * stream you open; list() holds a slot only while fetching each item.
 */
export class LimitedBackend implements Backend {
  readonly description: string;
  private readonly limit: LimitFunction;

  constructor(private readonly inner: Backend, concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new StrataError('INTERNAL', `LimitedBackend: bad concurrency ${concurrency}`);
    this.description = inner.description;
    this.limit = pLimit(concurrency);
  }

  private limited<T>(fn: () => Promise<T>): Promise<T> {
    return this.limit(fn);
  }

  /** acquire waits for a slot and holds it until the returned release is called (once or more). */
  private acquire(): Promise<() => void> {
    return new Promise((granted) => {
      void this.limit(
        () =>
          new Promise<void>((release) => {
            let released = false;
            granted(() => {
              if (released) return;
              released = true;
              release();
            });
          }),
      );
    });
  }

  put(key: string, body: BodySource, options?: PutOptions): Promise<ObjectInfo> {
    return this.limited(() => this.inner.put(key, body, options));
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const release = await this.acquire();
    try {
      const stream = await this.inner.get(key, range);
      stream.once('close', release);
      stream.once('error', release);
      stream.once('end', release);
      return stream;
    } catch (e) {
      release();
      throw e;
    }
  }

  stat(key: string): Promise<ObjectInfo> {
    return this.limited(() => this.inner.stat(key));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const it = this.inner.list(prefix)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await this.limited(() => it.next());
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      await it.return?.();
    }
  }

  delete(key: string): Promise<void> {
    return this.limited(() => this.inner.delete(key));
  }

  removeFolder(prefix: string): Promise<void> {
    return this.limited(async () => this.inner.removeFolder?.(prefix));
  }

  retag(key: string, tags: Record<string, string>, signal?: AbortSignal): Promise<boolean> {
    return this.limited(async () => (await this.inner.retag?.(key, tags, signal)) ?? false);
  }

  rootExists(): Promise<boolean> {
    return this.limited(async () => (await this.inner.rootExists?.()) ?? true);
  }

  createRoot(): Promise<void> {
    return this.limited(async () => this.inner.createRoot?.());
  }

  get archives(): boolean {
    return this.inner.archives === true;
  }

  coldState(key: string): Promise<ColdState> {
    return this.limited(() => coldStateOf(this.inner, key));
  }

  thaw(key: string, tier?: RetrievalTier, storageClass?: string): Promise<ThawResult> {
    return this.limited(() => thawOf(this.inner, key, tier, storageClass));
  }

  localPath(key: string): string | undefined {
    return this.inner.localPath?.(key);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

// ---------------------------------------------------------------------------------------- logging

/**
 * LoggingBackend reports each operation as one debug line (method, key, size, outcome, time) through
 * a callback. It never logs data, tags' values or credentials; the description it prints is the
 * inner backend's, which backends keep redacted.
 */
export class LoggingBackend implements Backend {
  readonly description: string;

  constructor(private readonly inner: Backend, private readonly log: (line: string) => void) {
    this.description = inner.description;
  }

  private async logged<T>(what: string, fn: () => Promise<T>, done?: (v: T) => string): Promise<T> {
    const t0 = performance.now();
    try {
      const v = await fn();
      this.log(`backend ${what}: ok${done === undefined ? '' : ` ${done(v)}`} (${Math.round(performance.now() - t0)} ms)`);
      return v;
    } catch (e) {
      const code = isStrataError(e) ? `${e.code}${e.retriable ? ' (retriable)' : ''}` : 'error';
      this.log(`backend ${what}: ${code} (${Math.round(performance.now() - t0)} ms)`);
      throw e;
    }
  }

  put(key: string, body: BodySource, options?: PutOptions): Promise<ObjectInfo> {
    const flags = [options?.overwrite === true ? 'overwrite' : '', options?.storageClass ?? '', options?.tags !== undefined ? `tags=${Object.keys(options.tags).join(',')}` : '']
      .filter((f) => f !== '')
      .join(' ');
    return this.logged(`put ${key} ${body.size} B${flags === '' ? '' : ` [${flags}]`}`, () => this.inner.put(key, body, options));
  }

  get(key: string, range?: ByteRange): Promise<Readable> {
    const r = range === undefined ? '' : ` [${range.offset}+${range.length ?? 'end'}]`;
    return this.logged(`get ${key}${r}`, () => this.inner.get(key, range));
  }

  stat(key: string): Promise<ObjectInfo> {
    return this.logged(`stat ${key}`, () => this.inner.stat(key), (i) => `${i.size} B`);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const t0 = performance.now();
    let n = 0;
    try {
      for await (const info of this.inner.list(prefix)) {
        n++;
        yield info;
      }
      this.log(`backend list ${JSON.stringify(prefix)}: ok ${n} objects (${Math.round(performance.now() - t0)} ms)`);
    } catch (e) {
      this.log(`backend list ${JSON.stringify(prefix)}: ${isStrataError(e) ? e.code : 'error'} after ${n} objects`);
      throw e;
    }
  }

  delete(key: string): Promise<void> {
    return this.logged(`delete ${key}`, () => this.inner.delete(key));
  }

  removeFolder(prefix: string): Promise<void> {
    return this.logged(`removeFolder ${prefix}`, async () => this.inner.removeFolder?.(prefix));
  }

  retag(key: string, tags: Record<string, string>, signal?: AbortSignal): Promise<boolean> {
    return this.logged(`retag ${key}`, async () => (await this.inner.retag?.(key, tags, signal)) ?? false);
  }

  rootExists(): Promise<boolean> {
    return this.logged('rootExists', async () => (await this.inner.rootExists?.()) ?? true);
  }

  createRoot(): Promise<void> {
    return this.logged('createRoot', async () => this.inner.createRoot?.());
  }

  get archives(): boolean {
    return this.inner.archives === true;
  }

  coldState(key: string): Promise<ColdState> {
    return this.logged(`coldState ${key}`, () => coldStateOf(this.inner, key));
  }

  thaw(key: string, tier?: RetrievalTier, storageClass?: string): Promise<ThawResult> {
    return this.logged(`thaw ${key}`, () => thawOf(this.inner, key, tier, storageClass));
  }

  localPath(key: string): string | undefined {
    return this.inner.localPath?.(key);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

// ---------------------------------------------------------------------------------------- faults

/** FaultMethod names the Backend methods faults can be injected into. */
export type FaultMethod = 'put' | 'get' | 'stat' | 'list' | 'delete';

/** FaultSpec says which calls fail and how. */
export interface FaultSpec {
  /** How many calls fail (default 1; Infinity: all). */
  times?: number;
  /** Calls that pass before the first failure (default 0: the next call fails). */
  after?: number;
  /** The error thrown (default: a retriable BACKEND error). */
  error?: Error;
  /** put: the source stream fails after this many bytes (the backend sees a failing source);
   * get: the returned stream fails after this many bytes. Omitted: the call fails before starting. */
  afterBytes?: number;
  /** put: the inner put runs to completion, then the call fails anyway — the object is stored but
   * its reply was lost (a dropped connection after the final MOVE/PutObject/moveto). */
  lostReply?: boolean;
}

interface Fault {
  method: FaultMethod;
  remaining: number;
  skip: number;
  error: () => Error;
  afterBytes: number | undefined;
  lostReply: boolean;
}

/** injectedError is the default error of a FaultyBackend: transient, so retries apply. */
function injectedError(method: string): StrataError {
  return new StrataError('BACKEND', `injected ${method} fault`, { retriable: true });
}

/** failAfter passes the first `limit` bytes of a stream, then fails it with `error` (also when the
 * source is shorter: the fault must happen). The result reads on demand (highWaterMark 0), so the
 * consumer receives all `limit` bytes before it sees the error. */
export function failAfter(source: Readable, limit: number, error: Error): Readable {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let seen = 0;
  return new Readable({
    highWaterMark: 0,
    read() {
      if (seen >= limit) {
        source.destroy();
        this.destroy(error);
        return;
      }
      it.next().then(
        (r) => {
          if (r.done === true) {
            seen = limit;
            this.destroy(error);
            return;
          }
          const part = r.value.subarray(0, limit - seen);
          seen += part.length;
          this.push(part);
        },
        (e: unknown) => this.destroy(e instanceof Error ? e : new Error(String(e))),
      );
    },
    destroy(err, cb) {
      source.destroy();
      cb(err);
    },
  });
}

/**
 * FaultyBackend injects failures into an inner backend for tests: `fail('put', { after: 2, afterBytes: n })`
 * makes the third put's source stream break after n bytes, `fail('put', { lostReply: true })` makes
 * the next put store its object and then fail. Rules are consumed in the order given.
 */
export class FaultyBackend implements Backend {
  readonly description: string;
  /** calls counts the calls made per method (failed ones included). */
  readonly calls: Record<FaultMethod, number> = { put: 0, get: 0, stat: 0, list: 0, delete: 0 };
  private readonly faults: Fault[] = [];
  /** Uploads reach the inner backend without their tags, like a provider that accepts and drops them. */
  dropTags = false;

  constructor(private readonly inner: Backend) {
    this.description = `faulty(${inner.description})`;
  }

  /** fail adds a fault rule for a method; returns this for chaining. */
  fail(method: FaultMethod, spec: FaultSpec = {}): this {
    const err = spec.error;
    this.faults.push({
      method,
      remaining: spec.times ?? 1,
      skip: spec.after ?? 0,
      error: () => err ?? injectedError(method),
      afterBytes: spec.afterBytes,
      lostReply: spec.lostReply === true,
    });
    return this;
  }

  /** clear removes all fault rules. */
  clear(): void {
    this.faults.length = 0;
  }

  private take(method: FaultMethod): Fault | undefined {
    this.calls[method]++;
    const fault = this.faults.find((f) => f.method === method && f.remaining > 0);
    if (fault === undefined) return undefined;
    if (fault.skip > 0) {
      fault.skip--;
      return undefined;
    }
    fault.remaining--;
    return fault;
  }

  async put(key: string, body: BodySource, options?: PutOptions): Promise<ObjectInfo> {
    const fault = this.take('put');
    if (this.dropTags && options?.tags !== undefined) {
      const { tags: _dropped, ...rest } = options;
      options = rest;
    }
    if (fault === undefined) return this.inner.put(key, body, options);
    if (fault.lostReply) {
      await this.inner.put(key, body, options);
      throw fault.error();
    }
    if (fault.afterBytes === undefined) throw fault.error();
    const limit = fault.afterBytes;
    const broken: BodySource = { size: body.size, open: () => failAfter(body.open(), limit, fault.error()) };
    return this.inner.put(key, broken, options);
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const fault = this.take('get');
    if (fault === undefined) return this.inner.get(key, range);
    if (fault.afterBytes === undefined) throw fault.error();
    return failAfter(await this.inner.get(key, range), fault.afterBytes, fault.error());
  }

  async stat(key: string): Promise<ObjectInfo> {
    const fault = this.take('stat');
    if (fault !== undefined) throw fault.error();
    return this.inner.stat(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const fault = this.take('list');
    let n = 0;
    for await (const info of this.inner.list(prefix)) {
      // afterBytes counts objects for list: fail after yielding that many.
      if (fault !== undefined && n >= (fault.afterBytes ?? 0)) throw fault.error();
      n++;
      yield info;
    }
    if (fault !== undefined) throw fault.error();
  }

  async delete(key: string): Promise<void> {
    const fault = this.take('delete');
    if (fault !== undefined) throw fault.error();
    return this.inner.delete(key);
  }

  async removeFolder(prefix: string): Promise<void> {
    return this.inner.removeFolder?.(prefix);
  }

  async retag(key: string, tags: Record<string, string>, signal?: AbortSignal): Promise<boolean> {
    return (await this.inner.retag?.(key, tags, signal)) ?? false;
  }

  async rootExists(): Promise<boolean> {
    return (await this.inner.rootExists?.()) ?? true;
  }

  async createRoot(): Promise<void> {
    return this.inner.createRoot?.();
  }

  get archives(): boolean {
    return this.inner.archives === true;
  }

  coldState(key: string): Promise<ColdState> {
    return coldStateOf(this.inner, key);
  }

  thaw(key: string, tier?: RetrievalTier, storageClass?: string): Promise<ThawResult> {
    return thawOf(this.inner, key, tier, storageClass);
  }

  localPath(key: string): string | undefined {
    return this.inner.localPath?.(key);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
