/**
 * archive/sevenzip: the 7-Zip driver. Runs `7zz` (7-Zip ≥ 22) to create encrypted, optionally
 * split 7z sets, test them, extract them and list them. The password always goes in on stdin;
 * exit codes and stderr become StrataErrors; partial outputs are removed on failure; finished
 * volumes are announced while 7zz is still writing later ones, so the pipeline can upload and
 * protect them early. Argument building and parsing live in src/core/sevenzip.ts (pure).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { StrataError, errorMessage, fromFsError } from '../errors.js';
import { lastLines, run, type RunResult } from '../exec/run.js';
import { parseSplitVolumeName, splitVolumeName } from '../core/keys.js';
import {
  ProgressParser,
  createArgs,
  extractArgs,
  ItemLines,
  listArgs,
  memoryLimitBytes,
  parseSltListing,
  testArgs,
  type ListItem,
  type ProgressEvent,
} from '../core/sevenzip.js';

export type { ListItem, ProgressEvent } from '../core/sevenzip.js';

/** MIN_MAJOR_VERSION is the oldest 7-Zip strata accepts: 22 brought -mmemuse and reliable stdin passwords. */
export const MIN_MAJOR_VERSION = 22;

const INSTALL_HINT = 'Install 7-Zip ≥ 22: sudo apt-get install 7zip (Debian 12+/Ubuntu 22.04+ provides /usr/bin/7zz)';

/** findSevenZip locates `7zz` (STRATA_7ZZ overrides the path) and checks its version. */
export async function findSevenZip(env: NodeJS.ProcessEnv = process.env): Promise<SevenZip> {
  const override = env['STRATA_7ZZ'];
  const program = override !== undefined && override !== '' ? override : '7zz';
  let res: RunResult;
  try {
    // With no arguments 7zz prints its banner and usage, exit 0.
    res = await run(program, [], { env, maxCapture: 64 * 1024 });
  } catch (e) {
    throw new StrataError('MISSING_TOOL', `7-Zip (${program}) could not be started: ${errorMessage(e)}`, { hint: INSTALL_HINT, cause: e });
  }
  const m = /7-Zip(?: \([a-z]\))? (\d+)\.(\d+)/.exec(res.stdout + res.stderr);
  if (m === null) {
    throw new StrataError('MISSING_TOOL', `${program} does not look like 7-Zip (no version banner)`, { hint: INSTALL_HINT });
  }
  const version = `${m[1] ?? '0'}.${m[2] ?? '0'}`;
  if (Number(m[1]) < MIN_MAJOR_VERSION) {
    throw new StrataError('MISSING_TOOL', `${program} is 7-Zip ${version}, too old (strata needs ≥ ${MIN_MAJOR_VERSION}.00)`, {
      hint: INSTALL_HINT,
    });
  }
  return new SevenZip(program, version);
}

/** CreateOptions describes one archive to write. */
export interface CreateOptions {
  /** Folder the listed names are relative to. */
  cwd: string;
  /** X.7z (relative to cwd or absolute); with volumeSize, 7zz writes X.7z.001, X.7z.002, … */
  archivePath: string;
  /** UTF-8 list file, one name per line (names that pass isListFileSafe). */
  listFile: string;
  /** Names that fail isListFileSafe (go into argv after `--`). */
  extraPaths: string[];
  password: string;
  /** Compression level 0–9 (0 stores). */
  level: number;
  volumeSize?: number;
  /** Number of files going in (sizes the memory budget, see memoryLimitBytes). */
  fileCount: number;
  /** Thread count (default: all cores). */
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  /** Called once per volume, in a moment when that volume has its final name and final contents. */
  onVolumeFinal?: (volumePath: string) => void | Promise<void>;
  /** How often to look for finished volumes (ms, default 200). */
  pollMs?: number;
  /** Called when 7zz is started (tests read /proc/<pid>/cmdline). */
  onSpawn?: (child: ChildProcess) => void;
}

/** CreateResult lists what was written. */
export interface CreateResult {
  /** Absolute paths: X.7z, or X.7z.001, X.7z.002, … in order. */
  volumes: string[];
  /** 7zz warnings (exit 1), e.g. a listed file that vanished; the archive was still written. */
  warnings: string[];
}

/** ReadOptions identifies an archive to read. */
export interface ReadOptions {
  /** X.7z or the first volume X.7z.001. */
  archive: string;
  password: string;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  onSpawn?: (child: ChildProcess) => void;
}

/** ExtractOptions describes one extraction. */
export interface ExtractOptions extends ReadOptions {
  /** Staging folder (created when missing); existing files in it are overwritten without asking. */
  outDir: string;
  /** Extract only the archive paths listed in this UTF-8 file (exact; a folder brings its contents). */
  listFile?: string;
  /** More archive paths to extract, for names a list file would mangle. */
  extraPaths?: string[];
  /** Create links whatever they point at (see extractArgs): for staging folders only. */
  anyLinks?: boolean;
  /** Called with the archive path of each item as 7zz starts it (the previous item is then final); a hint, see ItemLines. */
  onItem?: (name: string) => void;
  /**
   * The file-mode creation mask 7zz extracts under, instead of strata's private one (it is started
   * through `/bin/sh -c 'umask …; exec 7zz …'`): with 0, every file gets the mode the archive
   * records, and folders 0777. For a staging folder that nobody else can enter only.
   */
  umask?: number;
}


/** SevenZip runs one located `7zz` binary. */
export class SevenZip {
  /** Path or name of the binary. */
  readonly path: string;
  /** Version as "major.minor", e.g. "26.02". */
  readonly version: string;

  constructor(program: string, version: string) {
    this.path = program;
    this.version = version;
  }

  /**
   * create writes a new encrypted archive (headers too). It refuses an archive path that already
   * exists in any form (7zz `a` would UPDATE it, possibly with a different password). Finished
   * volumes are reported through onVolumeFinal while 7zz keeps writing: measured on 26.02,
   * volume k ≥ 2 is written as X.7z.00k.tmp, closed, then renamed; X.7z.001 stays .tmp until the
   * end (its start header is rewritten last) and the last volume is renamed after it. A volume
   * k ≥ 2 is reported once it has its final name AND volume k+1 exists (that also holds for
   * 7-Zip versions that write without .tmp); the first and the last after 7zz exits with 0 or 1.
   * Exit 1 (warnings) resolves with the warnings; any failure removes every X.7z* file this call
   * made and throws: DISK_FULL, TOOL_FAILED, INTERNAL (exit 7, bad arguments), CANCELLED.
   */
  async create(o: CreateOptions): Promise<CreateResult> {
    checkPassword(o.password);
    const archivePath = path.resolve(o.cwd, o.archivePath);
    const listFile = path.resolve(o.cwd, o.listFile);
    const dir = path.dirname(archivePath);
    const base = path.basename(archivePath);
    const isOurs = (name: string): boolean => ourOutput(base, name);
    let existing: string[];
    try {
      existing = (await fsp.readdir(dir)).filter(isOurs);
    } catch (e) {
      throw fromFsError(e, `reading ${dir}`);
    }
    if (existing.length > 0) {
      throw new StrataError('ALREADY_EXISTS', `archive ${archivePath} already exists (${existing.sort().join(', ')})`, {
        hint: '7-Zip would update it in place; write each set to a fresh path (or remove the leftover files).',
      });
    }
    const args = createArgs({
      archivePath,
      listFile,
      extraPaths: o.extraPaths,
      level: o.level,
      volumeSize: o.volumeSize,
      memoryLimit: memoryLimitBytes(o.fileCount, os.totalmem()),
      threads: o.threads,
    });

    const watcher = new VolumeWatcher(dir, base, o.onVolumeFinal);
    const parser = new ProgressParser();
    const watching = o.volumeSize !== undefined && o.onVolumeFinal !== undefined;
    const timer = watching
      ? setInterval(() => {
        // poll never rejects (a failed readdir is retried on the next tick).
        void watcher.poll();
      }, o.pollMs ?? 200)
      : undefined;
    // The timer is the guarantee; a filesystem notification (inotify) polls at once when 7-Zip
    // renames a finished volume, so callers that pause 7-Zip react within a volume, not a tick.
    let notify: fs.FSWatcher | undefined;
    if (watching) {
      try {
        // Only names appearing, vanishing or renamed matter ('rename'); 7-Zip's writes into the open
        // volume raise a 'change' per write, and a readdir for each cost 0.5 s of CPU per 100 MiB.
        notify = fs.watch(dir, { persistent: false }, (event) => {
          if (event === 'rename') void watcher.poll();
        });
        notify.on('error', () => notify?.close());
      } catch {
        notify = undefined; // no notifications here (some network filesystems): the timer still polls
      }
    }
    let ok = false;
    try {
      const res = await run(this.path, args, {
        cwd: o.cwd,
        input: `${o.password}\n`,
        signal: o.signal,
        onSpawn: o.onSpawn,
        onStdout: progressSink(parser, o.onProgress),
      });
      flushProgress(parser, o.onProgress);
      if (timer !== undefined) clearInterval(timer);
      notify?.close();
      if (res.exitCode !== 0 && res.exitCode !== 1) throw createFailure(res, archivePath, o.password);
      const volumes = await finalVolumes(dir, base, o.volumeSize !== undefined);
      if (volumes.length === 0) {
        throw new StrataError('TOOL_FAILED', `7zz reported success but wrote no ${base}`, { hint: 'Run again; if it persists, report a bug.' });
      }
      // The first and last volumes (or the single X.7z) are final only now that 7zz exited.
      watcher.reportAll(volumes);
      await watcher.settled();
      ok = true;
      return { volumes, warnings: res.exitCode === 1 ? parseWarnings(scrub(res.stderr, o.password)) : [] };
    } finally {
      if (timer !== undefined) clearInterval(timer);
      notify?.close();
      if (!ok) {
        await watcher.settled().catch(() => undefined);
        await removeOutputs(dir, base);
      }
    }
  }

  /**
   * test checks every volume and every item (`7zz t`). Throws WRONG_PASSWORD when 7zz says
   * "Wrong password": with AES a corrupt archive says exactly that too (measured: a flipped byte in
   * a middle volume gives "CRC Failed in encrypted file. Wrong password?"), so a caller that has
   * verified the password another way must read WRONG_PASSWORD here as DAMAGED. A missing volume
   * → DAMAGED naming it; "Data Error", "CRC Failed", "Headers Error", "Unexpected end" → DAMAGED.
   */
  async test(o: ReadOptions): Promise<void> {
    checkPassword(o.password);
    const archive = path.resolve(o.archive);
    const parser = new ProgressParser();
    const res = await run(this.path, testArgs({ archive }), {
      input: `${o.password}\n`,
      signal: o.signal,
      onSpawn: o.onSpawn,
      onStdout: progressSink(parser, o.onProgress),
    });
    flushProgress(parser, o.onProgress);
    if (res.exitCode !== 0) throw await readFailure(res, archive, o.password, 'testing');
  }

  /**
   * extract unpacks into outDir (`7zz x -aoa -spd`), everything or only the listed archive paths.
   * Same error mapping as test; a stored relative link pointing outside outDir makes 7zz write
   * an empty file and fail ("Dangerous link path") → UNSAFE_PATH. What was extracted before a
   * failure stays in outDir (the caller owns that staging folder).
   */
  async extract(o: ExtractOptions): Promise<void> {
    checkPassword(o.password);
    const archive = path.resolve(o.archive);
    const outDir = path.resolve(o.outDir);
    try {
      await fsp.mkdir(outDir, { recursive: true });
    } catch (e) {
      throw fromFsError(e, `creating ${outDir}`);
    }
    const parser = new ProgressParser();
    const args = extractArgs({
      archive,
      outDir,
      listFile: o.listFile === undefined ? undefined : path.resolve(o.listFile),
      extraPaths: o.extraPaths,
      anyLinks: o.anyLinks,
      listItems: o.onItem !== undefined,
    });
    // The shell sets the mask and replaces itself with 7zz (the same process: signals and the
    // password on stdin reach 7zz); 7zz's path and arguments are passed as arguments, never parsed.
    const [program, argv] = o.umask === undefined ? [this.path, args] : ['/bin/sh', ['-c', `umask ${(o.umask & 0o777).toString(8).padStart(3, '0')} && exec "$0" "$@"`, this.path, ...args]];
    const res = await run(program, argv, { input: `${o.password}\n`, signal: o.signal, onSpawn: o.onSpawn, onStdout: itemSink(parser, o.onProgress, o.onItem) });
    flushProgress(parser, o.onProgress);
    if (res.exitCode !== 0) throw await readFailure(res, archive, o.password, 'extracting');
  }

  /**
   * list reads the (encrypted) headers: paths, sizes, folder/link flags, modes, mtimes (100 ns).
   * Runs with TZ=UTC because 7zz prints times in local time. Names containing a newline come
   * back with '_' in its place (7zz's display), so this is for checks, not for restoring names.
   */
  async list(o: ReadOptions): Promise<ListItem[]> {
    checkPassword(o.password);
    const archive = path.resolve(o.archive);
    const res = await run(this.path, listArgs({ archive }), {
      input: `${o.password}\n`,
      signal: o.signal,
      onSpawn: o.onSpawn,
      env: { ...process.env, TZ: 'UTC' },
      maxCapture: 512 * 1024 * 1024,
    });
    if (res.exitCode !== 0) throw await readFailure(res, archive, o.password, 'listing');
    return parseSltListing(res.stdout);
  }
}

/** checkPassword refuses passwords 7zz could not read from stdin as one line. */
function checkPassword(pw: string): void {
  if (pw === '') {
    throw new StrataError('NO_PASSWORD', 'an empty password cannot encrypt or open a set', { hint: 'Set a password (see strata init).' });
  }
  if (/[\r\n]/.test(pw)) {
    throw new StrataError('USAGE', 'the password contains a line break, which 7-Zip cannot read from stdin', {
      hint: 'Use a password without line breaks.',
    });
  }
}

function progressSink(parser: ProgressParser, cb: ((e: ProgressEvent) => void) | undefined): ((chunk: string) => void) | undefined {
  if (cb === undefined) return undefined;
  return (chunk) => {
    for (const e of parser.push(chunk)) cb(e);
  };
}

function itemSink(parser: ProgressParser, cb: ((e: ProgressEvent) => void) | undefined, onItem: ((name: string) => void) | undefined): ((chunk: string) => void) | undefined {
  const progress = progressSink(parser, cb);
  if (onItem === undefined) return progress;
  const lines = new ItemLines();
  return (chunk) => {
    progress?.(chunk);
    for (const name of lines.push(chunk)) onItem(name);
  };
}

function flushProgress(parser: ProgressParser, cb: ((e: ProgressEvent) => void) | undefined): void {
  if (cb === undefined) return;
  for (const e of parser.end()) cb(e);
}

/** ourOutput says whether a folder entry is one of 7zz's outputs for archive `base`. */
function ourOutput(base: string, name: string): boolean {
  if (!name.startsWith(base)) return false;
  const rest = name.slice(base.length);
  return /^(\.\d{3,})?(\.tmp)?$/.test(rest);
}

async function removeOutputs(dir: string, base: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => ourOutput(base, n)).map((n) => fsp.rm(path.join(dir, n), { force: true }).catch(() => undefined)));
}

/** finalVolumes lists the finished outputs of a successful run, in volume order. */
async function finalVolumes(dir: string, base: string, split: boolean): Promise<string[]> {
  const names = await fsp.readdir(dir);
  if (!split) return names.includes(base) ? [path.join(dir, base)] : [];
  return names
    .map((n) => ({ n, v: parseSplitVolumeName(n) }))
    .filter((x) => x.v?.archive === base)
    .sort((a, b) => (a.v?.number ?? 0) - (b.v?.number ?? 0))
    .map((x) => path.join(dir, x.n));
}

/**
 * VolumeWatcher polls the archive folder and calls back once per finished volume. Callbacks run
 * one at a time, in the order volumes finish; their failures surface from settled().
 */
class VolumeWatcher {
  private readonly reported = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private polling = false;
  private again = false;
  private failure: Error | undefined;

  constructor(
    private readonly dir: string,
    private readonly base: string,
    private readonly cb: ((p: string) => void | Promise<void>) | undefined,
  ) {}

  /** poll reports volumes k ≥ 2 that have their final name while volume k+1 exists. */
  async poll(): Promise<void> {
    if (this.cb === undefined) return;
    if (this.polling) {
      // A notification during a poll: look again right after it, so the rename is not missed until the next tick.
      this.again = true;
      return;
    }
    this.polling = true;
    try {
      const names = await fsp.readdir(this.dir).catch(() => [] as string[]);
      const final = new Set<number>();
      const present = new Set<number>();
      for (const n of names) {
        if (!n.startsWith(`${this.base}.`)) continue;
        const rest = n.slice(this.base.length + 1);
        const m = /^(\d{3,})(\.tmp)?$/.exec(rest);
        if (m === null) continue;
        const k = Number(m[1]);
        present.add(k);
        if (m[2] === undefined) final.add(k);
      }
      const ready = [...final].filter((k) => k >= 2 && present.has(k + 1)).sort((a, b) => a - b);
      this.reportAll(ready.map((k) => path.join(this.dir, splitVolumeName(this.base, k))));
    } finally {
      this.polling = false;
    }
    if (this.again) {
      this.again = false;
      await this.poll();
    }
  }

  /** reportAll queues the callback for each path not reported yet, in the given order. */
  reportAll(paths: string[]): void {
    const cb = this.cb;
    if (cb === undefined) return;
    for (const p of paths) {
      if (this.reported.has(p)) continue;
      this.reported.add(p);
      this.chain = this.chain.then(async () => {
        if (this.failure !== undefined) return;
        try {
          await cb(p);
        } catch (e) {
          this.failure = e instanceof Error ? e : new Error(String(e));
        }
      });
    }
  }

  /** settled waits for every callback and rethrows the first callback failure. */
  async settled(): Promise<void> {
    await this.chain;
    if (this.failure !== undefined) throw this.failure;
  }
}

/** scrub removes the password from any text that may end up in an error message. */
function scrub(text: string, password: string): string {
  return password === '' ? text : text.split(password).join('***');
}

/** parseWarnings pulls the per-file lines out of 7zz's "Scan WARNINGS" section, or its last lines. */
function parseWarnings(stderr: string): string[] {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim());
  const out: string[] = [];
  let inSection = false;
  for (const l of lines) {
    if (/^Scan WARNINGS for files and folders:/.test(l)) {
      inSection = true;
      continue;
    }
    if (inSection) {
      if (l.startsWith('----') || /^Scan WARNINGS:/.test(l)) {
        inSection = false;
        continue;
      }
      if (l !== '') out.push(l);
    }
  }
  if (out.length > 0) return out;
  const tail = lastLines(stderr, 10);
  return tail === '' ? [] : [tail];
}

function createFailure(res: RunResult, archivePath: string, password: string): StrataError {
  const err = scrub(res.stderr, password);
  const tail = lastLines(err, 6);
  const killed = killedBy(res, `writing ${archivePath}`);
  if (killed !== undefined) return killed;
  if (isCancelled(res)) return new StrataError('CANCELLED', `cancelled while 7zz was writing ${archivePath}`);
  if (/No space left|errno=28\b|disk full|ENOSPC/i.test(err)) {
    return new StrataError('DISK_FULL', `no space left while writing ${archivePath}: ${tail}`, {
      hint: 'Free some space (or point the work folder at a larger disk) and run again; the partial archive was removed.',
    });
  }
  if (res.exitCode === 7 || /E_INVALIDARG/.test(err)) {
    return new StrataError('INTERNAL', `7zz rejected strata's command line (exit ${res.exitCode}): ${tail}`, {
      hint: 'This is a strata bug; please report it with the 7zz version.',
    });
  }
  if (res.exitCode === 8) {
    return new StrataError('TOOL_FAILED', `7zz ran out of memory writing ${archivePath}: ${tail}`, {
      hint: 'Lower the compression level or the thread count, or free memory, and run again.',
    });
  }
  return new StrataError('TOOL_FAILED', `7zz failed (exit ${res.exitCode}) writing ${archivePath}: ${tail}`);
}

/**
 * isCancelled tells a user's interrupt (Ctrl-C reaches 7zz too: SIGINT, or its "Break signaled"
 * exit 255) from 7zz being killed by someone else. strata's own cancellation never gets here:
 * run() rejects with CANCELLED when its signal fired.
 */
function isCancelled(res: RunResult): boolean {
  return res.exitCode === 255 || res.signal === 'SIGINT';
}

/** killedBy describes a 7zz killed by a signal that was not a user's interrupt (e.g. the OOM killer). */
function killedBy(res: RunResult, what: string): StrataError | undefined {
  if (res.signal === null || res.signal === 'SIGINT') return undefined;
  return new StrataError('TOOL_FAILED', `7zz was killed by ${res.signal} while ${what}`, {
    hint: res.signal === 'SIGKILL' ? 'Something killed it (the out-of-memory killer?). Check free memory and run again.' : 'Run again.',
  });
}

/** readFailure maps a failed t/x/l run to a StrataError, naming missing volumes when it can. */
async function readFailure(res: RunResult, archive: string, password: string, action: string): Promise<StrataError> {
  const err = scrub(res.stderr, password);
  const tail = lastLines(err, 6);
  const killed = killedBy(res, `${action} ${archive}`);
  if (killed !== undefined) return killed;
  if (isCancelled(res)) return new StrataError('CANCELLED', `cancelled while 7zz was ${action} ${archive}`);
  if (res.exitCode === 7) {
    return new StrataError('INTERNAL', `7zz rejected strata's command line (exit 7): ${tail}`, {
      hint: 'This is a strata bug; please report it with the 7zz version.',
    });
  }
  const missing = await missingVolumes(archive);
  if (missing.gaps.length > 0) {
    return new StrataError('DAMAGED', `volume ${missing.gaps.join(', ')} of ${archive} is missing (7zz: ${tail})`, {
      hint: 'Fetch the missing volume again, or repair the set from its PAR2 files.',
    });
  }
  if (/Wrong password/i.test(err)) {
    return new StrataError('WRONG_PASSWORD', `7zz could not decrypt ${archive}: wrong password, or the archive is damaged (7zz: ${tail})`, {
      hint: 'Check the password; if it is right, the set is damaged: verify/repair it with its PAR2 files.',
    });
  }
  if (/No space left|errno=28\b|disk full/i.test(err)) {
    return new StrataError('DISK_FULL', `no space left while ${action} ${archive}: ${tail}`, {
      hint: 'Free some space in the output folder and run again.',
    });
  }
  if (/Dangerous link path/i.test(err)) {
    return new StrataError('UNSAFE_PATH', `${archive} holds a link that points outside the output folder: ${tail}`, {
      hint: 'Extract regular files only and recreate links from the manifest.',
    });
  }
  if (/Data Error|CRC Failed|Headers Error|Unexpected end|Cannot open the file as|is not archive|Missing volume|There are data after the end|Unsupported/i.test(err)) {
    const maybe = missing.maybeLast === undefined ? '' : ` (${missing.maybeLast} may be missing: the last volume present is full-size)`;
    return new StrataError('DAMAGED', `${archive} is damaged${maybe}: ${tail}`, {
      hint: 'Verify and repair the set with its PAR2 files, or use another copy.',
    });
  }
  if (/No such file|errno=2\b/.test(err)) {
    return new StrataError('NOT_FOUND', `${archive} could not be opened: ${tail}`);
  }
  return new StrataError('TOOL_FAILED', `7zz failed (exit ${res.exitCode}) ${action} ${archive}: ${tail}`);
}

/**
 * missingVolumes looks at the sibling volumes of a split archive: numbers missing between 001
 * and the highest present are certainly missing; a highest volume as large as volume 001 hints
 * that the (smaller) last one is gone.
 */
async function missingVolumes(archive: string): Promise<{ gaps: string[]; maybeLast?: string }> {
  const v = parseSplitVolumeName(path.basename(archive));
  if (v === null) return { gaps: [] };
  const base = v.archive;
  const dir = path.dirname(archive);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return { gaps: [] };
  }
  const nums = names
    .map(parseSplitVolumeName)
    .filter((x) => x?.archive === base)
    .map((x) => x?.number ?? 0);
  if (nums.length === 0) return { gaps: [] };
  const max = Math.max(...nums);
  const have = new Set(nums);
  const name = (k: number): string => splitVolumeName(base, k);
  const gaps: string[] = [];
  for (let k = 1; k <= max; k++) if (!have.has(k)) gaps.push(name(k));
  if (gaps.length > 0 || max < 2) return { gaps };
  try {
    const [first, last] = await Promise.all([fsp.stat(path.join(dir, name(1))), fsp.stat(path.join(dir, name(max)))]);
    if (first.size === last.size) return { gaps, maybeLast: name(max + 1) };
  } catch {
    // Unreadable volumes: no hint.
  }
  return { gaps };
}
