/**
 * pipeline/restore/follow: a holder's files are hashed while 7-Zip extracts the next ones, not
 * after it has finished. `7zz x -bb1` prints `- path` as it starts each item, after closing the
 * item before and setting its mode and times: from then on 7-Zip does not touch that file again,
 * so it is hashed at once (the names come in archive order, which is the manifest's). A set of several
 * archives (core/parts) is extracted by one 7-Zip process per archive at once: each archive holds a
 * subsequence of the manifest in its order, so each is followed on its own, all of them served by
 * one pass over the holder's files that keeps what it has read until an archive claims it
 * (FollowSet, Ahead). Each file
 * hashed early keeps what identifies it (device, inode, size, mtime, ctime); placeExtracted,
 * after 7-Zip has exited, compares them again before moving the file into place and hashes it
 * anew when anything differs, so a file changed in between is caught. A name that does not match
 * (a name 7-Zip printed differently, a folder, a link) only means that file is hashed afterwards.
 * Memory stays bounded: at most MAX_AHEAD files read ahead and not claimed, and at most MAX_EARLY results
 * waiting for their placing; beyond that the rest is checked after extraction, as before.
 */
import * as fs from 'node:fs';
import type { ManifestEntry } from '../../core/manifest.js';
import { stagedFile, verifyExtracted } from './extract.js';
import type { Extracted } from './place.js';
import type { ScanStat } from '../../scan/stat-ahead.js';
import { StatThread } from '../../scan/stat-thread.js';

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
  /** Once every 7-Zip has exited: the lstat of the file on the stat thread, and whether it is still `id`. */
  confirmed?: Promise<void>;
  same?: boolean;
}

/** CONFIRM_CHUNK is how many files of one folder one request to the stat thread names. */
const CONFIRM_CHUNK = 512;

/** MAX_AHEAD bounds the holder's files read ahead and not yet claimed by an archive's item line. */
const MAX_AHEAD = 65_536;
/** YIELD_MS is the longest the checks run without letting 7-Zip's output be read. */
const YIELD_MS = 4;
/** MAX_EARLY bounds the results (and names) waiting; beyond it, files are checked after extraction. */
const MAX_EARLY = 200_000;

/**
 * Ahead reads a holder's files once, in manifest order, for the checks of all of a set's archives.
 * Each archive holds a subsequence of the manifest, and the archives go at their own pace (a stored
 * archive of a few large files, two LZMA2 archives of thousands of small ones): an archive's next
 * name may lie any distance ahead of where another archive is. The files read and not claimed yet
 * wait here, at most MAX_AHEAD of them; beyond that a name not found is hashed after extraction.
 * Once at the limit, claims by the archives behind free room to read on.
 */
class Ahead {
  private readonly unclaimed = new Map<string, Selected>();
  private exhausted = false;
  /** Claims run one at a time: two reading the list at once would each miss what the other read. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly files: AsyncIterator<Selected>) {}

  /** claimRead gives the holder's file named `name` when it has been read already (and not claimed), at once. */
  claimRead(name: string): Selected | undefined {
    const hit = this.unclaimed.get(name);
    if (hit !== undefined) this.unclaimed.delete(name);
    return hit;
  }

  /** claim gives the holder's file that 7-Zip names `name`, once; undefined when not found within the bound. */
  claim(name: string): Promise<Selected | undefined> {
    const found = this.queue.then(() => this.find(name));
    this.queue = found.catch(() => undefined);
    return found;
  }

  /** close ends the pass over the holder's files. */
  async close(): Promise<void> {
    await this.queue;
    this.unclaimed.clear();
    await this.files.return?.();
  }

  private async find(name: string): Promise<Selected | undefined> {
    const hit = this.claimRead(name);
    if (hit !== undefined) return hit;
    while (!this.exhausted && this.unclaimed.size < MAX_AHEAD) {
      const n = await this.files.next();
      if (n.done === true) this.exhausted = true;
      else if (n.value.found.path === name) return n.value;
      else this.unclaimed.set(n.value.found.path, n.value);
    }
    return undefined;
  }
}

/** EarlyChecks follows one archive's extraction: item() with each name 7-Zip starts, stop() when it has exited. */
class EarlyChecks {
  private readonly names: string[] = [];
  private nameHead = 0;
  private pending: string | undefined;
  private wake: (() => void) | undefined;
  private stopped = false;
  private readonly checked = new Set<string>();
  private readonly pump: Promise<void>;

  /** `ahead` finds the holder's files; `out` is its staging folder; each file that checks out goes to `results`. */
  constructor(private readonly ahead: Ahead, private readonly out: string, private readonly results: Map<string, Early>) {
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
      // Mostly read already (by another archive's claims): then without a turn through the queue.
      const hit = this.ahead.claimRead(name) ?? (await this.ahead.claim(name));
      if (hit === undefined || hit.e.sparse === true || this.results.size >= MAX_EARLY) continue;
      // Recorded with holes, a file is copied while hashed: that is left to placeExtracted.
      const src = stagedFile(this.out, name, this.checked);
      if (src === undefined) continue;
      const ok = await verifyExtracted(src, hit.e, true);
      if (typeof ok === 'string' || ok.id === undefined || this.stopped) continue;
      this.results.set(name, { path: name, extracted: { file: ok.file, mode: ok.mode, mtimeNs: ok.mtimeNs }, id: ok.id });
    }
  }
}

/**
 * FollowSet follows the extraction of a set's archives, one 7-Zip process each and at once: each
 * archive's item lines go to their own EarlyChecks; one pass over the holder's files (Ahead) serves
 * them all, and the results waiting are bounded together.
 */
export class FollowSet {
  private readonly archives = new Map<number, EarlyChecks>();
  /** Files hashed early by path, waiting for placeExtracted. */
  private readonly results = new Map<string, Early>();
  private ahead: Ahead | undefined;
  private thread: StatThread | undefined;

  /** `listFiles` lists the holder's files to place in manifest order; `out` is its staging folder. */
  constructor(private readonly listFiles: () => AsyncIterator<Selected>, private readonly out: string) {}

  /** item notes that 7-Zip, extracting the set's archive `archive`, started `name`. */
  item(archive: number, name: string): void {
    let one = this.archives.get(archive);
    if (one === undefined) {
      this.ahead ??= new Ahead(this.listFiles());
      // Started with the extraction, so that it is ready when 7-Zip has exited (confirm).
      this.thread ??= startThread();
      one = new EarlyChecks(this.ahead, this.out, this.results);
      this.archives.set(archive, one);
    }
    one.item(name);
  }

  /**
   * stop ends every archive's early checks (every 7-Zip has exited) and has the files hashed early
   * stat'ed again on the stat thread, while placing goes on (take waits for the file's answer).
   */
  async stop(): Promise<void> {
    await Promise.all([...this.archives.values()].map((a) => a.stop()));
    await this.ahead?.close();
    this.confirm();
  }

  /** close ends the stat thread; a result not taken yet is checked by take() itself. */
  async close(): Promise<void> {
    const t = this.thread;
    this.thread = undefined;
    await t?.close();
  }

  /**
   * confirm asks the stat thread for the lstat of every file hashed early, a folder's files at a
   * time, and notes on each result whether it is still exactly the file hashed. Nothing writes into
   * staging any more, so what the thread sees is what placing moves. Without the thread (not
   * started in time, failed), take() makes the lstat itself.
   */
  private confirm(): void {
    const t = this.thread;
    if (t === undefined || !t.ready) return;
    const byDir = new Map<string, Early[]>();
    for (const r of this.results.values()) {
      const slash = r.path.lastIndexOf('/');
      const dir = slash < 0 ? '' : r.path.slice(0, slash);
      let rs = byDir.get(dir);
      if (rs === undefined) byDir.set(dir, (rs = []));
      rs.push(r);
    }
    for (const [dir, rs] of byDir) {
      for (let i = 0; i < rs.length; i += CONFIRM_CHUNK) {
        const chunk = rs.slice(i, i + CONFIRM_CHUNK);
        const names = chunk.map((r) => r.path.slice(dir === '' ? 0 : dir.length + 1));
        const asked = t.stat(dir === '' ? this.out : `${this.out}/${dir}`, names).then(
          (outs) => {
            outs.forEach((o, k) => {
              const r = chunk[k];
              if (r !== undefined) r.same = 'st' in o && sameIdentity(o.st, r.id);
            });
          },
          () => undefined, // take() looks itself
        );
        for (const r of chunk) r.confirmed = asked;
      }
    }
  }

  /** hashed counts the files hashed early and waiting. */
  get hashed(): number {
    return this.results.size;
  }

  /**
   * take gives the early result for the file at `path` if that file is still exactly the one
   * hashed (called in manifest order by placeExtracted); each result is handed out once.
   */
  async take(path: string, src: string): Promise<Extracted | undefined> {
    const r = this.results.get(path);
    if (r === undefined) return undefined;
    this.results.delete(path);
    if (r.confirmed !== undefined && src === `${this.out}/${path}`) {
      await r.confirmed;
      if (r.same !== undefined) return r.same ? r.extracted : undefined;
    }
    return sameFile(src, r.id) ? r.extracted : undefined;
  }
}

/** startThread starts a stat thread for confirm; undefined where threads cannot start. */
function startThread(): StatThread | undefined {
  try {
    return new StatThread();
  } catch {
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
  return st !== undefined && sameIdentity(st, id);
}

/** sameIdentity tells whether an lstat is of the regular file `id` identifies, unchanged. */
function sameIdentity(st: ScanStat, id: Identity): boolean {
  return st.isFile() && st.dev === id.dev && st.ino === id.ino && st.size === id.size && st.mtimeNs === id.mtimeNs && st.ctimeNs === id.ctimeNs;
}
