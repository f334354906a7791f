/**
 * io/lines: bounded-memory line IO for the sorted files the scanner merge-joins (manifests, stat
 * caches) and for the audit trail. Readers stream a file line by line; writers buffer a few
 * hundred KiB and flush with back-pressure, so neither side ever holds a whole file.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/** readLines yields the non-empty lines of a UTF-8 file; a missing file yields nothing when `missingOk`. */
export async function* readLines(file: string, missingOk = false): AsyncGenerator<string> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    if (missingOk && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  // The stream owns the handle from here on; readline splits on \n (JSON lines never hold a raw newline).
  const rl = createInterface({ input: createReadStream('', { fd: fh, encoding: 'utf8', highWaterMark: 1 << 16 }), crlfDelay: Infinity });
  try {
    for await (const line of rl) {
      if (line !== '') yield line;
    }
  } finally {
    rl.close();
    await fh.close().catch(() => undefined);
  }
}

/** Peekable wraps an async iterator so that a merge-join can look at the next item without taking it. */
export class Peekable<T> {
  private head: IteratorResult<T> | undefined;

  constructor(private readonly it: AsyncIterator<T>) {}

  /** peek returns the next item without consuming it (undefined at the end). */
  async peek(): Promise<T | undefined> {
    this.head ??= await this.it.next();
    return this.head.done === true ? undefined : this.head.value;
  }

  /** take consumes and returns the next item (undefined at the end). */
  async take(): Promise<T | undefined> {
    const v = await this.peek();
    if (this.head?.done !== true) this.head = undefined;
    return v;
  }

  /** close releases the underlying file early (a merge-join may stop before the end). */
  async close(): Promise<void> {
    await this.it.return?.(undefined);
  }
}

/** LineWriter appends lines to a new file through a bounded buffer. */
export class LineWriter {
  private parts: string[] = [];
  private size = 0;
  private closed = false;

  private constructor(private readonly fh: FileHandle) {}

  /** create truncates or creates `file` and returns a writer for it. */
  static async create(file: string): Promise<LineWriter> {
    return new LineWriter(await open(file, 'w'));
  }

  /** handle is the open file (the scanner reads its mtime as the filesystem's "now"). */
  get handle(): FileHandle {
    return this.fh;
  }

  /** line appends one line (a newline is added). */
  async line(text: string): Promise<void> {
    this.parts.push(text, '\n');
    this.size += text.length + 1;
    if (this.size >= 1 << 18) await this.flush();
  }

  /** flush writes the buffered lines. */
  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await this.fh.writeFile(chunk, 'utf8');
  }

  /** close flushes, optionally fsyncs (files that a later rename makes authoritative), and closes. */
  async close(sync = false): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flush();
      if (sync) await this.fh.sync();
    } finally {
      await this.fh.close();
    }
  }

  /** abandon closes the file without flushing (error paths). */
  async abandon(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }
}
