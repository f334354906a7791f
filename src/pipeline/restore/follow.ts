/**
 * pipeline/restore/follow: a holder's files are hashed while 7-Zip extracts the next ones, not
 * after it has finished. `7zz x -bb1` prints `- path` as it starts each item, after closing the
 * item before and setting its mode and times: from then on 7-Zip does not touch that file again,
 * so it is hashed at once (the names come in archive order, which is the manifest's). A set of several
 * archives (core/parts) is extracted by one 7-Zip process per archive at once: each archive holds a
 * subsequence of the manifest in its order, so each is followed on its own (FollowSet). Each file
 * hashed early keeps what identifies it (device, inode, size, mtime, ctime); placeExtracted,
 * after 7-Zip has exited, compares them again before moving the file into place and hashes it
 * anew when anything differs, so a file changed in between is caught. A name that does not match
 * (a name 7-Zip printed differently, a folder, a link) only means that file is hashed afterwards.
 * Memory stays bounded: a window of upcoming manifest entries, and at most MAX_EARLY results
 * waiting for their placing; beyond that the rest is checked after extraction, as before.
 */
import * as fs from 'node:fs';
import type { ManifestEntry } from '../../core/manifest.js';
import { stagedFile, verifyExtracted } from './extract.js';
import type { Extracted } from './place.js';

/** Selected is one file of a holder to place: `found` names it in the archive (and staging), `e` is the entry placed. */
export interface Selected {
  found: ManifestEntry;
  e: ManifestEntry;
}

/** Identity is what a later change of a staged file changes. */
export interface Identity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** Early is a file hashed while 7-Zip went on. */
interface Early {
  path: string;
  extracted: Extracted;
  id: Identity;
}

/** WINDOW is how many upcoming manifest entries a name is looked up in. */
const WINDOW = 512;
/** YIELD_MS is the longest the checks run without letting 7-Zip's output be read. */
const YIELD_MS = 4;
/** MAX_EARLY bounds the results (and names) waiting; beyond it, files are checked after extraction. */
const MAX_EARLY = 200_000;

/** EarlyChecks follows one extraction: item() with each name 7-Zip starts, stop() when it has exited, take() while placing. */
export class EarlyChecks {
  private readonly names: string[] = [];
  private nameHead = 0;
  private pending: string | undefined;
  private wake: (() => void) | undefined;
  private stopped = false;
  private readonly window: Selected[] = [];
  private readonly byPath = new Map<string, Selected>();
  private exhausted = false;
  /** Files hashed early by path, waiting for placeExtracted. */
  private readonly results = new Map<string, Early>();
  private readonly checked = new Set<string>();
  private readonly pump: Promise<void>;

  /** `files` are the holder's files to place in manifest order; `out` is its staging folder. */
  constructor(private readonly files: AsyncIterator<Selected>, private readonly out: string, private readonly waiting: { n: number } = { n: 0 }) {
    this.pump = this.run().catch(() => {
      // Early checks are an optimisation: on any failure every file is checked after extraction.
      this.stopped = true;
    });
  }

  /** item notes that 7-Zip started `name`: the item started before it is final. */
  item(name: string): void {
    if (this.pending !== undefined && !this.stopped && this.names.length - this.nameHead < MAX_EARLY) {
      this.names.push(this.pending);
      this.wake?.();
    }
    this.pending = name;
  }

  /** stop ends the early checks (7-Zip has exited); the files not hashed yet are checked by placeExtracted. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.pump;
    this.names.length = 0;
    await this.files.return?.();
  }

  /** hashed counts the files hashed early and waiting (for tests and reports). */
  get hashed(): number {
    return this.results.size;
  }

  /** has tells whether `path` was hashed early here. */
  has(path: string): boolean {
    return this.results.has(path);
  }

  /**
   * take gives the early result for the file at `path` if that file is still exactly the one
   * hashed; called in manifest order by placeExtracted.
   */
  take(path: string, src: string): Extracted | undefined {
    const r = this.results.get(path);
    if (r === undefined) return undefined;
    this.results.delete(path);
    this.waiting.n--;
    return sameFile(src, r.id) ? r.extracted : undefined;
  }

  private async run(): Promise<void> {
    let since = performance.now();
    for (;;) {
      if (this.stopped) return;
      // Hashing small files resolves without I/O: give the event loop a turn every few
      // milliseconds, or 7-Zip's lines wait unread and 7-Zip blocks on a full pipe.
      if (performance.now() - since > YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        since = performance.now();
      }
      if (this.nameHead === this.names.length) {
        // stop() may have come during the turn given to the event loop above: checked here, in the
        // same synchronous step as setting wake, or this wait would never end (and stop() with it).
        if (this.stopped) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const name = this.names[this.nameHead++] ?? '';
      if (this.nameHead > 4096 && this.nameHead * 2 > this.names.length) {
        this.names.splice(0, this.nameHead);
        this.nameHead = 0;
      }
      const hit = await this.lookup(name);
      if (hit === undefined || hit.e.sparse === true || this.waiting.n >= MAX_EARLY) continue;
      // Recorded with holes, a file is copied while hashed: that is left to placeExtracted.
      const src = stagedFile(this.out, name, this.checked);
      if (src === undefined) continue;
      const ok = await verifyExtracted(src, hit.e, true);
      if (typeof ok === 'string' || ok.id === undefined || this.stopped) continue;
      this.results.set(name, { path: name, extracted: { file: ok.file, mode: ok.mode, mtimeNs: ok.mtimeNs }, id: ok.id });
      this.waiting.n++;
    }
  }

  /** lookup finds `name` among the next WINDOW files; the files before it are left for afterwards. */
  private async lookup(name: string): Promise<Selected | undefined> {
    while (this.window.length < WINDOW && !this.exhausted) {
      const n = await this.files.next();
      if (n.done === true) this.exhausted = true;
      else {
        this.window.push(n.value);
        this.byPath.set(n.value.found.path, n.value);
      }
    }
    const hit = this.byPath.get(name);
    if (hit === undefined) return undefined;
    for (;;) {
      const first = this.window.shift();
      if (first === undefined) return undefined;
      this.byPath.delete(first.found.path);
      if (first === hit) return hit;
    }
  }
}

/**
 * FollowSet follows the extraction of a set's archives, one 7-Zip process each and at once: each
 * archive's item lines go to their own EarlyChecks (its own pass over the holder's files); the
 * results waiting are bounded together.
 */
export class FollowSet {
  private readonly archives = new Map<number, EarlyChecks>();
  private readonly waiting = { n: 0 };

  /** `listFiles` lists the holder's files to place in manifest order (once per archive); `out` is its staging folder. */
  constructor(private readonly listFiles: () => AsyncIterator<Selected>, private readonly out: string) {}

  /** item notes that 7-Zip, extracting the set's archive `archive`, started `name`. */
  item(archive: number, name: string): void {
    let one = this.archives.get(archive);
    if (one === undefined) {
      one = new EarlyChecks(this.listFiles(), this.out, this.waiting);
      this.archives.set(archive, one);
    }
    one.item(name);
  }

  /** stop ends every archive's early checks (every 7-Zip has exited). */
  async stop(): Promise<void> {
    await Promise.all([...this.archives.values()].map((a) => a.stop()));
  }

  /** hashed counts the files hashed early and waiting. */
  get hashed(): number {
    return this.waiting.n;
  }

  /** take gives the early result for the file at `path` if that file is still exactly the one hashed (EarlyChecks.take). */
  take(path: string, src: string): Extracted | undefined {
    for (const a of this.archives.values()) if (a.has(path)) return a.take(path, src);
    return undefined;
  }
}

/** identityOf reads what identifies a file's current state from an open descriptor's stat. */
export function identityOf(st: fs.BigIntStats): Identity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/** sameFile tells whether `file` is still the regular file hashed, unchanged (every write or chmod changes ctime, a replacement the inode). */
export function sameFile(file: string, id: Identity): boolean {
  const st = fs.lstatSync(file, { bigint: true, throwIfNoEntry: false });
  return st !== undefined && st.isFile() && st.dev === id.dev && st.ino === id.ino && st.size === id.size && st.mtimeNs === id.mtimeNs && st.ctimeNs === id.ctimeNs;
}
