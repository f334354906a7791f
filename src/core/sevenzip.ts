/**
 * core/sevenzip: the pure half of the 7-Zip driver — how much memory to allow, which `7zz`
 * arguments to pass, how to read its `-bsp1` progress frames, and which file names can go
 * through a list file. No IO here (src/archive/sevenzip.ts runs the tool); everything below
 * was checked against 7zz 26.02 (see the comments for what was measured).
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** MEMORY_FLOOR_BYTES is the least memory strata ever allows 7zz (2 GiB), for one or two files. */
export const MEMORY_FLOOR_BYTES = 2 * GiB;
/** MEMORY_CEILING_BYTES is the most memory strata ever allows 7zz (12 GiB), for more than 70 files. */
export const MEMORY_CEILING_BYTES = 12 * GiB;
/** MEMORY_RAM_SHARE is the share of the machine's RAM 7zz may use at most, so the OS and strata keep room. */
export const MEMORY_RAM_SHARE = 0.75;

/**
 * memoryLimitBytes is the adaptive memory budget for one `7zz a` run (passed as `-mmemuse`).
 *
 * Formula: wanted = 2 GiB + 10 GiB × clamp((fileCount − 2) / 68, 0, 1), i.e. 2 GiB for up to two
 * files, rising linearly to 12 GiB at 70 files and beyond; the result is
 * min(wanted, ⌊0.75 × totalMemBytes⌋), rounded down to a whole MiB (at least 64 MiB).
 * Why: few files means one or two large LZMA2 streams, which gain little from more threads
 * (memory) than that; many files keep all threads busy. The RAM cap keeps a small machine
 * from swapping: 7zz lowers its thread count (not the ratio) to fit `-mmemuse`.
 * A non-finite or non-positive totalMemBytes means "unknown" and skips the cap.
 */
export function memoryLimitBytes(fileCount: number, totalMemBytes: number): number {
  const n = Number.isFinite(fileCount) ? fileCount : 0;
  const t = Math.min(1, Math.max(0, (n - 2) / 68));
  let bytes = MEMORY_FLOOR_BYTES + (MEMORY_CEILING_BYTES - MEMORY_FLOOR_BYTES) * t;
  if (Number.isFinite(totalMemBytes) && totalMemBytes > 0) {
    bytes = Math.min(bytes, Math.floor(totalMemBytes * MEMORY_RAM_SHARE));
  }
  return Math.max(64 * MiB, Math.floor(bytes / MiB) * MiB);
}

/** CreateArgsOptions describes one `7zz a` run. */
export interface CreateArgsOptions {
  /** Absolute path of the archive (X.7z; with volumes 7zz writes X.7z.001, …). Must not start with '-' or '@'. */
  archivePath: string;
  /** Absolute path of a UTF-8 list file, one name per line (only names isListFileSafe accepts). */
  listFile: string;
  /** Names that a list file would mangle; they go after `--` so nothing in them is read as a switch or @list. */
  extraPaths: string[];
  /** Compression level 0–9; 0 stores (Copy method). */
  level: number;
  /** Volume size in bytes; omitted means one file X.7z. */
  volumeSize?: number;
  /** Memory budget in bytes (see memoryLimitBytes). */
  memoryLimit: number;
  /** Thread count; omitted means all cores. */
  threads?: number;
}

/**
 * COMMON_SWITCHES are passed to every 7zz command.
 * -sccUTF-8: the console (and so the password read from stdin) is UTF-8 whatever the locale, so a
 *   non-ASCII password derives the same key on every machine and every command.
 * -bso0: normal output off — stdout then carries only -bsp1 progress (and, for `a`, not even the
 *   password prompt: measured); errors and warnings still go to stderr (-bse2).
 * -bb0: no per-file log lines.
 */
const COMMON_SWITCHES = ['-sccUTF-8', '-bse2', '-bb0'] as const;

/**
 * createArgs builds the `7zz a` argument vector. The password is never in it: bare `-p` makes 7zz
 * read it from stdin (one line, once). Every -m switch was checked against 7zz 26.02, which
 * rejects an unknown method parameter with exit 2 "E_INVALIDARG".
 */
/** SOLID_BLOCK bounds a split archive's solid blocks: at most 100 files and 1 MiB of them. */
export const SOLID_BLOCK = '-ms=100f1m';

export function createArgs(o: CreateArgsOptions): string[] {
  if (!Number.isInteger(o.level) || o.level < 0 || o.level > 9) {
    throw new RangeError(`createArgs: level must be an integer 0..9, got ${o.level}`);
  }
  if (o.archivePath.startsWith('-') || o.archivePath.startsWith('@')) {
    throw new RangeError('createArgs: archivePath must be absolute (it sits before "--")');
  }
  const split = o.volumeSize !== undefined;
  const args = [
    'a',
    '-t7z',
    // Level 0 is Copy: `-m0=lzma2 -mx=0` still runs LZMA2 (measured "LZMA2:16"), which is not a store.
    o.level === 0 ? '-m0=copy' : '-m0=lzma2',
    `-mx=${o.level}`,
    // Encrypt the headers too, so names and sizes are hidden without the password.
    '-mhe=on',
    // Bare -p: prompt and read the password from stdin. `-pPW` would show in ps; `-p PW` names the archive PW.
    '-p',
  ];
  if (split) {
    if (!Number.isInteger(o.volumeSize) || (o.volumeSize ?? 0) < 1024) {
      throw new RangeError(`createArgs: volumeSize must be an integer ≥ 1024 bytes, got ${o.volumeSize}`);
    }
    // Exact bytes (`b`), and small solid blocks (SOLID_BLOCK): damage beyond what PAR2 repairs loses
    // at most the files of the blocks it touches — at most 100 files and about 1 MiB each — not the
    // rest of a large solid block spanning volumes. Fully non-solid (-ms=off, the seed's choice)
    // makes 7-Zip start a stream per file: 20,000 small files took 9.6 s and 3.6 MB where blocks of
    // 100 files took 3.9 s and 1.6 MB (issue 11; measured in the README, Speed).
    args.push(`-v${o.volumeSize}b`, SOLID_BLOCK);
  }
  args.push(
    // All cores unless told; LZMA2 splits a large file into blocks (default 4 × dictionary) and
    // compresses them on separate threads, so big files are what profit from threads.
    o.threads === undefined ? '-mmt=on' : `-mmt=${Math.max(1, Math.floor(o.threads))}`,
    // 7-Zip ≥ 22: memory limit for compression; 7zz lowers the thread count to stay below it
    // (accepts `<n>b`, `<n>g`, `p<percent>`; a malformed value is exit 2).
    `-mmemuse=${Math.floor(o.memoryLimit)}b`,
    // Store symlinks as links; without it 7zz follows them (and walks linked folders, even /etc).
    '-snl',
    // Names are literal: `*` and `?` are legal in Linux names.
    '-spd',
    // Do not touch the sources' access times: a backup should leave no trace on what it reads.
    '-ssp',
    // List files are UTF-8 regardless of locale.
    '-scsUTF-8',
    ...COMMON_SWITCHES,
    '-bso0',
    '-bsp1',
    o.archivePath,
    `@${o.listFile}`,
  );
  // `--` stops switch and @list parsing: names such as "-x" or "@y" are plain files after it.
  if (o.extraPaths.length > 0) args.push('--', ...o.extraPaths);
  return args;
}

/** testArgs builds `7zz t` arguments; no -p (7zz asks on stdin when the archive is encrypted). */
export function testArgs(o: { archive: string }): string[] {
  return ['t', ...COMMON_SWITCHES, '-bso0', '-bsp1', o.archive];
}

/** ExtractArgsOptions describes one `7zz x` run. */
export interface ExtractArgsOptions {
  archive: string;
  outDir: string;
  /** Extract only these archive paths (exact, folders recursively); one per line. */
  listFile?: string;
  /** More archive paths that a list file would mangle. */
  extraPaths?: string[];
  /**
   * Create symlinks whatever they point at (-snld20) instead of refusing links that lead outside
   * the output folder. Only for a staging folder whose links are never followed (strata restore
   * recreates links from its manifest and moves only regular files out of staging).
   */
  anyLinks?: boolean;
  /** Print `- path` as each item starts (-bb1 on stdout): see ItemLines. */
  listItems?: boolean;
}

/**
 * extractArgs builds `7zz x` arguments. No -p (stdin prompt); no -spf (it would write to absolute
 * stored paths). -aoa overwrites without asking: the staging folder is strata's own, and a
 * question would read stdin (already at EOF) and end as "Break signaled". -spd makes the selected
 * names exact (measured: `b.txt` selects only the top-level b.txt, `a*b` only the file "a*b").
 * No -snl: 7zz 26.02 restores stored links as links either way (measured); strata restores
 * links itself from its manifest and normally extracts regular files only.
 */
export function extractArgs(o: ExtractArgsOptions): string[] {
  // -bb1 -bso1: a line `- path` as each item starts (restore hashes the item before it meanwhile).
  const common = o.listItems === true ? COMMON_SWITCHES.map((s) => (s === '-bb0' ? '-bb1' : s)) : COMMON_SWITCHES;
  // With item lines, no progress frames: 7-Zip would redraw one after every line (three writes per item).
  const args = ['x', '-aoa', `-o${o.outDir}`, '-spd', '-scsUTF-8', ...common, ...(o.listItems === true ? ['-bso1', '-bsp0'] : ['-bso0', '-bsp1']), o.archive];
  if (o.anyLinks === true) args.splice(args.length - 1, 0, '-snld20');
  if (o.listFile !== undefined) args.push(`@${o.listFile}`);
  const extra = o.extraPaths ?? [];
  if (extra.length > 0) args.push('--', ...extra);
  return args;
}

/** listArgs builds `7zz l -slt -ba` arguments (technical listing, no header). Normal output stays on: it is the listing. */
export function listArgs(o: { archive: string }): string[] {
  return ['l', '-slt', '-ba', ...COMMON_SWITCHES, o.archive];
}

/** ProgressEvent is one progress frame: percent done and, when shown, the current item. */
export interface ProgressEvent {
  percent: number;
  /** Items 7-Zip has reached so far (the count in ` 37% 12 + path`), when shown. */
  items?: number;
  file?: string;
}

// ` 37% 12 + path`: percent, optional count of items done, optional operation mark and item name.
// Marks: + add, - extract, T test, U update, = copy, R rename, D delete, A analyze.
const FRAME = /^(\d{1,3})%(?:\s+(\d+))?(?:\s+([-+=TURDA])(?:\s+(.*))?)?$/;

/**
 * ProgressParser turns the `-bsp1` stream into events. 7zz writes a frame, then backspaces,
 * blanks and backspaces again to erase it (no newlines), so a frame is complete only when the
 * next `\b` arrives; a frame cut across chunks waits in the buffer.
 */
export class ProgressParser {
  private buffer = '';

  /** push feeds one chunk of stdout and returns the frames it completed. */
  push(chunk: string): ProgressEvent[] {
    this.buffer += chunk;
    const parts = this.buffer.split(/[\b\r\n]+/);
    this.buffer = parts.pop() ?? '';
    return parseFrames(parts);
  }

  /** end returns the last frame if the stream stopped without erasing it. */
  end(): ProgressEvent[] {
    const rest = this.buffer;
    this.buffer = '';
    return parseFrames([rest]);
  }
}

function parseFrames(parts: string[]): ProgressEvent[] {
  const events: ProgressEvent[] = [];
  for (const part of parts) {
    const m = FRAME.exec(part.trim());
    if (m === null) continue;
    const percent = Math.min(100, Number(m[1]));
    const file = m[4];
    const e: ProgressEvent = { percent };
    if (m[2] !== undefined) e.items = Number(m[2]);
    if (file !== undefined && file !== '') e.file = file;
    events.push(e);
  }
  return events;
}

/**
 * parseProgress parses complete `-bsp1` frames from one string (for a whole captured output;
 * a stream should use ProgressParser, which copes with frames split across chunks).
 */
export function parseProgress(chunk: string): ProgressEvent[] {
  const p = new ProgressParser();
  return [...p.push(chunk), ...p.end()];
}

/**
 * isListFileSafe says whether a relative path survives 7zz's list-file reader unchanged.
 * Measured on 7zz 26.02 (`a … @list`): lines end at LF or CR (so a name holding either is split);
 * spaces and tabs at either end of a line are trimmed (other whitespace — VT, FF, NBSP,
 * U+3000 — is kept); a name wrapped in double quotes loses them (`"q"` → `q`; one quote at
 * one end survives); a UTF-8 BOM at the start of the file is dropped; empty lines are skipped.
 * Names that fail go into argv after `--` instead (argv carries any byte but NUL; only the
 * password must stay out of argv).
 */
export function isListFileSafe(relPath: string): boolean {
  if (relPath === '') return false;
  if (/[\r\n]/.test(relPath)) return false;
  if (/^[ \t]|[ \t]$/.test(relPath)) return false;
  if (relPath.startsWith('"') && relPath.endsWith('"')) return false;
  if (relPath.startsWith('\uFEFF')) return false;
  return true;
}

/** ListItem is one entry of an archive listing. */
export interface ListItem {
  path: string;
  size: number;
  isDir: boolean;
  isSymlink?: boolean;
  /** Permission bits from the stored Unix mode, when present. */
  mode?: number;
  /** Modification time in ns since the epoch; 7z keeps 100 ns (FILETIME) precision. */
  mtimeNs?: bigint;
}

/**
 * parseSltListing reads `7zz l -slt -ba` output (run with TZ=UTC: 7zz prints local time).
 * Blocks of `Key = Value` lines separated by blank lines; other lines (the password prompt) are
 * ignored. 7zz shows a newline inside a name as '_', so such names cannot be listed faithfully.
 */
export function parseSltListing(text: string): ListItem[] {
  const items: ListItem[] = [];
  let cur = new Map<string, string>();
  const flush = (): void => {
    const p = cur.get('Path');
    if (p !== undefined) items.push(toItem(p, cur));
    cur = new Map();
  };
  for (const line of text.split('\n')) {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (l === '') {
      flush();
      continue;
    }
    const eq = l.indexOf(' = ');
    if (eq <= 0) {
      // "Path =" with an empty value comes without the trailing space once trimmed by some tools.
      const bare = /^([A-Za-z ]+) =$/.exec(l);
      if (bare?.[1] !== undefined) cur.set(bare[1], '');
      continue;
    }
    const key = l.slice(0, eq);
    if (key === 'Path' && cur.has('Path')) flush();
    cur.set(key, l.slice(eq + 3));
  }
  flush();
  return items;
}

function toItem(p: string, f: Map<string, string>): ListItem {
  const attrs = f.get('Attributes') ?? '';
  const unix = /([-dlcbps])([-r][-w][-xsS][-r][-w][-xsS][-r][-w][-xtT])/.exec(attrs);
  const isDir = f.get('Folder') === '+' || attrs.startsWith('D') || unix?.[1] === 'd';
  const item: ListItem = { path: p, size: Number(f.get('Size') ?? '0') || 0, isDir };
  if (unix?.[1] === 'l') item.isSymlink = true;
  if (unix?.[2] !== undefined) item.mode = modeBits(unix[2]);
  const m = f.get('Modified');
  if (m !== undefined && m !== '') {
    const ns = parseUtcTimestampNs(m);
    if (ns !== undefined) item.mtimeNs = ns;
  }
  return item;
}

function modeBits(s: string): number {
  let mode = 0;
  const bit = (i: number, v: number): void => {
    const c = s[i] ?? '-';
    if (c !== '-' && c !== 'S' && c !== 'T') mode |= v;
  };
  bit(0, 0o400); bit(1, 0o200); bit(2, 0o100);
  bit(3, 0o040); bit(4, 0o020); bit(5, 0o010);
  bit(6, 0o004); bit(7, 0o002); bit(8, 0o001);
  if (s[2] === 's' || s[2] === 'S') mode |= 0o4000;
  if (s[5] === 's' || s[5] === 'S') mode |= 0o2000;
  if (s[8] === 't' || s[8] === 'T') mode |= 0o1000;
  return mode;
}

/** parseUtcTimestampNs reads `YYYY-MM-DD hh:mm:ss[.fffffff]` (UTC) into ns since the epoch. */
export function parseUtcTimestampNs(s: string): bigint | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/.exec(s.trim());
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(ms)) return undefined;
  const frac = (m[7] ?? '').padEnd(9, '0');
  return BigInt(ms) * 1_000_000n + BigInt(frac);
}

/**
 * ItemLines picks the `- path` lines that `7zz x -bb1 -bso1` prints as each item starts (measured on
 * 26.02: a line after the erased progress frame, once the previous item is closed and its mode and
 * times are set). Lines are cut at LF, so a name holding one arrives in pieces: callers must treat a
 * name only as a hint and check what they find.
 */
export class ItemLines {
  private buffer = '';

  /** push feeds one chunk of stdout and returns the item names of the lines it completed. */
  push(chunk: string): string[] {
    this.buffer += chunk;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop() ?? '';
    const names: string[] = [];
    for (const line of lines) {
      const text = line.slice(line.lastIndexOf('\b') + 1);
      if (text.startsWith('- ') && text.length > 2) names.push(text.slice(2));
    }
    return names;
  }
}
