/**
 * scan/manifest-reader: the previous set's manifest, streamed in pathCompare order for merge-joins.
 * The order is checked as it is read, because a merge-join over unsorted input would silently turn
 * unchanged files into additions and deletions.
 */
import { parseLine, pathCompare, type ManifestEntry } from '../core/manifest.js';
import { StrataError } from '../errors.js';
import { Peekable, readLines } from '../io/lines.js';

async function* entries(file: string): AsyncGenerator<ManifestEntry> {
  let last: string | undefined;
  let n = 0;
  for await (const line of readLines(file)) {
    n++;
    let parsed;
    try {
      parsed = parseLine(line);
    } catch (e) {
      throw new StrataError('DAMAGED', `previous manifest ${file}, line ${n}: ${e instanceof Error ? e.message : String(e)}`, {
        hint: 'Run `strata verify` on the previous set, or make a FULL backup to start a new chain.',
        cause: e,
      });
    }
    // Deletion lines describe the previous set's own base; its live entries are the whole state.
    if (parsed.kind !== 'entry') continue;
    const p = parsed.entry.path;
    if (last !== undefined && pathCompare(last, p) >= 0) {
      throw new StrataError('DAMAGED', `previous manifest ${file} is not in path order at line ${n} (${JSON.stringify(p)})`, {
        hint: 'Run `strata verify` on the previous set, or make a FULL backup to start a new chain.',
      });
    }
    last = p;
    yield parsed.entry;
  }
}

/** ManifestReader reads a manifest's live entries in step with a walk. */
export class ManifestReader {
  private readonly it: Peekable<ManifestEntry>;

  constructor(file: string | undefined) {
    this.it = new Peekable(file === undefined ? (async function* () {})() : entries(file));
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
