/**
 * io/hash: the one place strata computes the SHA-256 of bytes — of a buffer, a stream, a local file,
 * or bytes passing through on their way elsewhere (HashingCounter) — and the re-openable byte
 * sources uploads read from (fileSource, bufferSource). Every layer that moves bytes (backends,
 * repository, pipeline) uses these; none hashes on its own.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { StrataError, errorMessage, isStrataError } from '../errors.js';

/** Hashed is the size and SHA-256 (hex) of some bytes. */
export interface Hashed {
  size: number;
  sha256: string;
}

/** BodySource is a re-openable byte source of known size (what a Backend's put() reads). */
export interface BodySource {
  size: number;
  open(): Readable;
}

/** sha256Hex is the SHA-256 (hex) of bytes in memory. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** checkSha256 rejects with CHECKSUM when `expected` is given and differs from what was hashed. */
export function checkSha256(key: string, actual: string, expected: string | undefined): void {
  if (expected !== undefined && expected !== actual) {
    throw new StrataError('CHECKSUM', `${key}: SHA-256 mismatch (got ${actual}, expected ${expected})`);
  }
}

/** HashingCounter passes bytes through while hashing (SHA-256) and counting them; it fails the
 * stream when the source gives more or fewer bytes than `expected`, so that an upload with an
 * explicit Content-Length never hangs or sends a wrong body. */
export class HashingCounter extends Transform {
  /** bytes is how many bytes have passed so far. */
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private digestHex: string | undefined;

  constructor(private readonly expected: number | undefined, private readonly what = 'source') {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expected !== undefined && this.bytes > this.expected) {
      cb(new StrataError('CHECKSUM', `${this.what} gave more than the announced ${this.expected} bytes`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.expected !== undefined && this.bytes !== this.expected) {
      cb(new StrataError('CHECKSUM', `${this.what} gave ${this.bytes} bytes, expected ${this.expected}`));
      return;
    }
    cb();
  }

  /** sha256 is the hex digest of all bytes seen; call it after the stream ended. */
  sha256(): string {
    this.digestHex ??= this.hash.digest('hex');
    return this.digestHex;
  }
}

/**
 * hashingSource opens a body and returns it piped through a HashingCounter that checks its size
 * (`what` names it in errors, e.g. `${key}: source`): a failing source fails the counter, and
 * destroying the counter closes the source.
 */
export function hashingSource(body: BodySource, what: string): HashingCounter {
  const counter = new HashingCounter(body.size, what);
  const source = body.open();
  source.on('error', (e) => counter.destroy(e));
  counter.on('close', () => source.destroy());
  return source.pipe(counter);
}

/**
 * digestStream reads a stream to its end and returns its size and SHA-256; the stream is destroyed
 * afterwards in every case. With a signal, an abort between chunks rejects with CANCELLED
 * (`cancelled` is the message). Other failures are the stream's own. `onBytes` hears each chunk (progress).
 */
export async function digestStream(stream: Readable, signal?: AbortSignal, cancelled = 'cancelled', onBytes?: (n: number) => void): Promise<Hashed> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | Uint8Array>) {
      if (signal?.aborted === true) throw new StrataError('CANCELLED', cancelled);
      hash.update(chunk);
      size += chunk.length;
      onBytes?.(chunk.length);
    }
  } finally {
    stream.destroy();
  }
  return { size, sha256: hash.digest('hex') };
}

/** hashStream reads a stream to its end and returns its SHA-256 (hex). A failure that is not a
 * StrataError becomes a BACKEND error, retriable as asked (a remote read is, a local source is not). */
export async function hashStream(stream: Readable, what: string, retriable: boolean, signal?: AbortSignal): Promise<string> {
  try {
    return (await digestStream(stream, signal, `${what}: cancelled`)).sha256;
  } catch (e) {
    throw isStrataError(e) ? e : new StrataError('BACKEND', `${what}: ${errorMessage(e)}`, { cause: e, retriable });
  }
}

/**
 * hashFile computes a local file's SHA-256 and size, streaming (`onBytes` hears each chunk). It reads
 * 1 MiB at a time: each chunk needs a turn of the event loop, and beside a busy loop (restore hashes
 * extracted files while it checks the volumes) 64 KiB chunks made checking 49 MB of volumes take a second.
 */
export function hashFile(file: string, onBytes?: (n: number) => void): Promise<Hashed> {
  return digestStream(createReadStream(file, { highWaterMark: HASH_CHUNK }), undefined, 'cancelled', onBytes);
}

const HASH_CHUNK = 1 << 20;

/** fileSource makes a BodySource of a local file. */
export async function fileSource(file: string): Promise<BodySource> {
  const st = await fsp.stat(file);
  return { size: st.size, open: () => createReadStream(file) };
}

/**
 * meteredSource reports the bytes of `body` as they are read (an upload's progress). A body opened
 * again (a retried upload, a hash before it) first takes back what its earlier reading reported.
 */
export function meteredSource(body: BodySource, onBytes: (n: number) => void): BodySource {
  let reported = 0;
  return {
    size: body.size,
    open: () => {
      if (reported > 0) onBytes(-reported);
      reported = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, cb): void {
          reported += chunk.length;
          onBytes(chunk.length);
          cb(null, chunk);
        },
      });
      const source = body.open();
      source.on('error', (e) => meter.destroy(e));
      meter.on('close', () => source.destroy());
      return source.pipe(meter);
    },
  };
}

/** bufferSource makes a BodySource of bytes in memory (small objects: descriptors, RESTORE.txt). */
export function bufferSource(data: Buffer | string): BodySource {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return { size: buf.length, open: () => Readable.from([buf]) };
}
