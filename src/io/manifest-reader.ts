/**
 * io/manifest-reader: reading manifest files — every line parsed (readManifestLines, the one
 * reader every layer uses), and the previous set's manifest streamed in pathCompare order for merge-joins.
 * The order is checked as it is read, because a merge-join over unsorted input would silently turn
 * unchanged files into additions and deletions.
 */
import * as path from 'node:path';
import { parseLine, pathCompare, type ManifestEntry, type ManifestLine } from '../core/manifest.js';
import { StrataError, errorMessage } from '../errors.js';
import { LineReader, readLines } from './lines.js';

/** ReadManifestOptions say how a manifest is named in errors. */
export interface ReadManifestOptions {
  /** The manifest as errors name it (default: `manifest <file name>`). */
  what?: string;
  /** The hint of a DAMAGED error. */
  hint?: string;
}

/**
 * readManifestLines streams a manifest file's lines, parsed (header, live entries, deletions): the
 * one manifest reader of strata. A line that does not parse is DAMAGED, naming the line.
 */
export async function* readManifestLines(file: string, opts: ReadManifestOptions = {}): AsyncGenerator<ManifestLine> {
  const what = opts.what ?? `manifest ${path.basename(file)}`;
  let n = 0;
  for await (const line of readLines(file)) {
    n++;
    let parsed: ManifestLine;
    try {
      parsed = parseLine(line);
    } catch (e) {
      throw new StrataError('DAMAGED', `${what}, line ${n} is malformed: ${errorMessage(e)}`, { ...(opts.hint !== undefined ? { hint: opts.hint } : {}), cause: e });
    }
    yield parsed;
  }
}

/** readManifestEntries streams only the live entries of a manifest. */
export async function* readManifestEntries(file: string, opts: ReadManifestOptions = {}): AsyncGenerator<ManifestEntry> {
  for await (const parsed of readManifestLines(file, opts)) if (parsed.kind === 'entry') yield parsed.entry;
}

const PREVIOUS_HINT = 'Run `strata verify` on the previous set, or make a FULL backup to start a new chain.';

/** Entries streams the previous set's live entries, checking their path order: a LineReader
 *  parsed in place (one await per entry, not a chain of generators: the scan asks once per path). */
class Entries {
  private last: string | undefined;
  private n = 0;
  private lineNo = 0;
  private head: ManifestEntry | undefined;
  private headLine = '';
  /** The line of the entry take() returned last. */
  takenLine = '';
  private ended = false;

  constructor(
    private readonly file: string,
    private readonly lines: Promise<LineReader> | undefined,
  ) {}

  async peek(): Promise<ManifestEntry | undefined> {
    if (this.head !== undefined || this.ended) return this.head;
    if (this.lines === undefined) {
      this.ended = true;
      return undefined;
    }
    const r = await this.lines;
    for (;;) {
      const line = await r.next();
      if (line === undefined) {
        this.ended = true;
        return undefined;
      }
      this.lineNo++;
      let parsed: ManifestLine;
      try {
        parsed = parseLine(line);
      } catch (e) {
        throw new StrataError('DAMAGED', `previous manifest ${this.file}, line ${this.lineNo} is malformed: ${errorMessage(e)}`, { hint: PREVIOUS_HINT, cause: e });
      }
      // Deletion lines describe the previous set's own base; its live entries are the whole state.
      if (parsed.kind !== 'entry') continue;
      const entry = parsed.entry;
      this.n++;
      const p = entry.path;
      if (this.last !== undefined && pathCompare(this.last, p) >= 0) {
        throw new StrataError('DAMAGED', `previous manifest ${this.file} is not in path order at entry ${this.n} (${JSON.stringify(p)})`, { hint: PREVIOUS_HINT });
      }
      this.last = p;
      this.head = entry;
      this.headLine = line;
      return entry;
    }
  }

  async take(): Promise<ManifestEntry | undefined> {
    const e = await this.peek();
    this.head = undefined;
    this.takenLine = this.headLine;
    return e;
  }

  async close(): Promise<void> {
    this.ended = true;
    this.head = undefined;
    if (this.lines !== undefined) await (await this.lines.catch(() => undefined))?.close();
  }
}

/** ManifestReader reads a manifest's live entries in step with a walk. */
export class ManifestReader {
  private readonly it: Entries;

  constructor(file: string | undefined) {
    const lines = file === undefined ? undefined : LineReader.open(file);
    // An open that fails is reported by the first read; until then it must not count as unhandled.
    lines?.catch(() => undefined);
    this.it = new Entries(file ?? '', lines);
  }

  /** until consumes every entry before `path`, passing each to `skipped`, and returns the entry for
   * `path` itself if there is one (consumed too). */
  async until(path: string, skipped: (e: ManifestEntry) => Promise<void>): Promise<ManifestEntry | undefined> {
    for (;;) {
      const e = await this.it.peek();
      if (e === undefined) return undefined;
      const c = pathCompare(e.path, path);
      if (c > 0) return undefined;
      await this.it.take();
      if (c === 0) return e;
      await skipped(e);
    }
  }

  /** lastLine is the line of the entry until() returned last (a path's unchanged entry is written
   *  again as it is). */
  get lastLine(): string {
    return this.it.takenLine;
  }

  /** under consumes every entry strictly inside folder `dir` (its whole subtree), passing each to `fn`. */
  async under(dir: string, fn: (e: ManifestEntry) => Promise<void>): Promise<void> {
    const prefix = `${dir}/`;
    for (;;) {
      const e = await this.it.peek();
      if (e === undefined || !e.path.startsWith(prefix)) return;
      await this.it.take();
      await fn(e);
    }
  }

  /** rest consumes every remaining entry. */
  async rest(fn: (e: ManifestEntry) => Promise<void>): Promise<void> {
    for (;;) {
      const e = await this.it.take();
      if (e === undefined) return;
      await fn(e);
    }
  }

  /** close stops reading early. */
  async close(): Promise<void> {
    await this.it.close();
  }
}
