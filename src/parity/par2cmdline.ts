/**
 * parity/par2cmdline: the ParityEngine on stock par2cmdline (0.8 or newer, `par2` on PATH or
 * STRATA_PAR2). Measured behaviour this relies on is in /work/shared/reference (exit codes 0 ok,
 * 1 repairable, 2 not repairable, 3 bad arguments / no .par2, 6 I/O error; it never overwrites
 * a .par2; repair keeps damaged originals as `NAME.1`).
 *
 * Decisions:
 * - create writes into a hidden `.<unit>.par2-partial` folder inside the set folder and moves the
 *   files into place only when par2 succeeded, after removing the unit's older files: a rerun
 *   replaces, a failed or cancelled run leaves nothing half-made, and the recovery files never
 *   depend on where they were made because names are stored relative to the -B base path.
 * - After a successful repair the `NAME.1`/`NAME.2`… copies par2 made of damaged originals are
 *   deleted (only files that appeared during that repair): par2 has just checked the rebuilt
 *   volume against its MD5, so the damaged copy has no value, and leaving it would be uploaded
 *   or confuse the next verify. A failed repair writes nothing, so nothing is deleted then.
 * - Every run uses all cores (`-t<n>`); block size and recovery block count come from the plan
 *   (`-s`, `-c`), never from par2's defaults, so the guarantees computed in core/protection hold;
 *   create checks par2's reported source block count against the plan.
 */
import { access, constants, readdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import type { ProtectionUnit } from '../core/protection/index.js';
import { par2FilePattern, par2IndexName } from '../core/keys.js';
import { StrataError } from '../errors.js';
import { lastLines, run, type RunResult } from '../exec/run.js';
import type { CheckOptions, CreateOptions, ParityEngine, RepairResult, UnitRef, VerifyResult } from './engine.js';
import { Par2Progress } from './par2-progress.js';
import { placeUnitFiles, preparePartial } from './unit-files.js';

/** PAR2_HINT tells people how to get par2. */
export const PAR2_HINT = 'Install par2cmdline: sudo apt-get install par2 (or set STRATA_PAR2 to the par2 program).';

/** Par2Tool is a located, version-checked par2 program. */
export interface Par2Tool {
  path: string;
  /** e.g. "0.8.1". */
  version: string;
}

const MIN_VERSION = [0, 8, 0] as const;

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** findPar2 locates par2 (STRATA_PAR2, else PATH) and checks it is par2cmdline 0.8 or newer
 * (older ones lack -B and -t); it throws MISSING_TOOL with an install hint when there is none. */
export async function findPar2(env: NodeJS.ProcessEnv = process.env): Promise<Par2Tool> {
  let program: string | undefined;
  const explicit = env['STRATA_PAR2'];
  if (explicit !== undefined && explicit !== '') {
    if (!(await isExecutable(explicit))) throw new StrataError('MISSING_TOOL', `STRATA_PAR2 names ${explicit}, which is not an executable program`, { hint: PAR2_HINT });
    program = explicit;
  } else {
    for (const dir of (env['PATH'] ?? '').split(path.delimiter)) {
      if (dir === '') continue;
      const candidate = path.join(dir, 'par2');
      if (await isExecutable(candidate)) {
        program = candidate;
        break;
      }
    }
  }
  if (program === undefined) throw new StrataError('MISSING_TOOL', 'par2 is not installed (not found on PATH)', { hint: PAR2_HINT });
  let r: RunResult;
  try {
    r = await run(program, ['-V'], { env });
  } catch (e) {
    if (e instanceof StrataError && e.code === 'MISSING_TOOL') throw new StrataError('MISSING_TOOL', e.message, { hint: PAR2_HINT, cause: e });
    throw e;
  }
  const m = /par2cmdline(?:-turbo)? version (\d+)\.(\d+)\.(\d+)/.exec(r.stdout + r.stderr);
  if (m === null) {
    throw new StrataError('MISSING_TOOL', `${program} does not look like par2cmdline (par2 -V said: ${lastLines(r.stdout + r.stderr, 2)})`, { hint: PAR2_HINT });
  }
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  const version = v.join('.');
  // Compare component by component: the first that differs decides.
  const diff = v.map((x, i) => x - (MIN_VERSION[i] ?? 0)).find((d) => d !== 0) ?? 0;
  const tooOld = diff < 0;
  if (tooOld) {
    throw new StrataError('MISSING_TOOL', `par2cmdline ${version} is too old (strata needs ${MIN_VERSION.join('.')} or newer for -B and -t)`, { hint: PAR2_HINT });
  }
  return { path: program, version };
}

/** TargetReport is par2's per-file verdict, from its `Target:` / `File:` lines. */
interface TargetReport {
  found: string[];
  damaged: string[];
  missing: string[];
  badBlocks: Record<string, number>;
}

/** parseTargets reads the `Target: "x" - found|damaged|missing` lines of one verification pass. */
function parseTargets(text: string): TargetReport {
  const out: TargetReport = { found: [], damaged: [], missing: [], badBlocks: {} };
  for (const m of text.matchAll(/^Target: "(.*)" - (found|damaged|missing)\.(?: Found (\d+) of (\d+) data blocks\.)?/gm)) {
    const name = m[1] ?? '';
    if (m[2] === 'found') out.found.push(name);
    else if (m[2] === 'missing') out.missing.push(name);
    else {
      out.damaged.push(name);
      if (m[3] !== undefined && m[4] !== undefined) out.badBlocks[name] = Number(m[4]) - Number(m[3]);
    }
  }
  // A file that is there but holds no usable block at all.
  for (const m of text.matchAll(/^File: "(.*)" - no data found\./gm)) out.damaged.push(m[1] ?? '');
  return out;
}

function blocksNeeded(text: string): number | undefined {
  const m = /You need (\d+) more recovery blocks?/.exec(text);
  return m === null ? undefined : Number(m[1]);
}

/** unitFilePattern matches the file names par2 gives a unit's index and recovery files (core/keys names them). */
export const unitFilePattern = par2FilePattern;

/** par2FileOrder puts the index file first, then the vol files by first block number. */
function par2FileOrder(a: string, b: string): number {
  const key = (f: string): number => {
    const m = /\.vol(\d+)\+\d+\.par2$/.exec(f);
    return m === null ? -1 : Number(m[1]);
  };
  return key(a) - key(b) || a.localeCompare(b);
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Par2CmdlineEngine drives stock par2cmdline; see the module comment for its decisions. */
export class Par2CmdlineEngine implements ParityEngine {
  readonly version: string;
  private readonly threads: number;

  constructor(
    private readonly tool: Par2Tool,
    options: { threads?: number } = {},
  ) {
    this.version = `par2cmdline ${tool.version}`;
    this.threads = options.threads ?? availableParallelism();
  }

  /** open finds par2 and returns an engine on it. */
  static async open(env: NodeJS.ProcessEnv = process.env, options: { threads?: number } = {}): Promise<Par2CmdlineEngine> {
    return new Par2CmdlineEngine(await findPar2(env), options);
  }

  async create(unit: ProtectionUnit, setDir: string, volumeNames: readonly string[], opts: CreateOptions = {}): Promise<string[]> {
    const names = unit.volumes.map((i) => {
      const n = volumeNames[i];
      if (n === undefined) throw new StrataError('INTERNAL', `protection unit ${unit.name} names volume ${i + 1}, but the set has ${volumeNames.length}`);
      return n;
    });
    for (const n of names) {
      try {
        await access(path.join(setDir, n), constants.R_OK);
      } catch (e) {
        // par2 create skips a missing input and still exits 0: check first, so the message names the volume.
        throw new StrataError('NOT_FOUND', `cannot protect ${unit.name}: volume ${n} is missing or unreadable in ${setDir}`, { cause: e });
      }
    }
    const partial = await preparePartial(setDir, unit);
    try {
      const args = [
        'create',
        `-B${setDir}`,
        `-s${unit.blockSize}`,
        `-c${unit.recoveryBlocks}`,
        `-n${unit.recoveryFiles}`,
        ...(opts.firstBlock === undefined || opts.firstBlock === 0 ? [] : [`-f${opts.firstBlock}`]),
        '-u',
        `-t${this.threads}`,
        '--',
        path.join(partial, par2IndexName(unit.name)),
        ...names.map((n) => path.join(setDir, n)),
      ];
      const onProgress = opts.onProgress;
      const r = await run(this.tool.path, args, {
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        onStdout: (chunk) => {
          if (onProgress === undefined) return;
          const all = [...chunk.matchAll(/Processing: (\d+(?:\.\d+)?)%/g)];
          const last = all[all.length - 1];
          if (last !== undefined) onProgress(Number(last[1]) / 100);
        },
      });
      if (r.exitCode !== 0) throw this.failure('create', unit, r);
      const src = /Source block count: (\d+)/.exec(r.stdout);
      const rec = /Recovery block count: (\d+)/.exec(r.stdout);
      if ((src !== null && Number(src[1]) !== unit.sourceBlocks) || (rec !== null && Number(rec[1]) !== unit.recoveryBlocks)) {
        throw new StrataError('INTERNAL', `par2 made ${src?.[1] ?? '?'} source / ${rec?.[1] ?? '?'} recovery blocks for ${unit.name}; the plan says ${unit.sourceBlocks} / ${unit.recoveryBlocks}`, {
          hint: 'The volumes changed after planning, or this par2 counts blocks differently; nothing was marked complete.',
        });
      }
      const pattern = unitFilePattern(unit.name);
      const made = (await readdir(partial)).filter((f) => pattern.test(f)).sort(par2FileOrder);
      if (made.length === 0) throw new StrataError('TOOL_FAILED', `par2 reported success but wrote no files for ${unit.name}`);
      const keys = await placeUnitFiles(setDir, unit, partial, made);
      opts.onProgress?.(1);
      return keys;
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  }

  async verify(unit: UnitRef, setDir: string, opts: CheckOptions = {}): Promise<VerifyResult> {
    const file = await this.par2File(unit, setDir);
    const r = await this.check('verify', file, setDir, opts);
    const t = parseTargets(r.stdout);
    const base = { damaged: t.damaged, missing: t.missing, badBlocks: t.badBlocks };
    switch (r.exitCode) {
      case 0:
        return { status: 'ok', damaged: [], missing: [] };
      case 1:
        return { status: 'repairable', ...base };
      case 2: {
        const needed = blocksNeeded(r.stdout);
        if (needed === undefined && t.found.length + t.damaged.length + t.missing.length === 0) throw this.unreadable(unit, r);
        return needed === undefined ? { status: 'unrepairable', ...base } : { status: 'unrepairable', ...base, blocksNeeded: needed };
      }
      default:
        throw this.failure('verify', unit, r);
    }
  }

  async repair(unit: UnitRef, setDir: string, opts: CheckOptions = {}): Promise<RepairResult> {
    const file = await this.par2File(unit, setDir);
    const before = new Set(await listDir(setDir));
    const r = await this.check('repair', file, setDir, opts);
    // Only the first pass (before "Verifying repaired files") says what was wrong.
    const firstPass = r.stdout.split(/^Verifying repaired files/m)[0] ?? '';
    const t = parseTargets(firstPass);
    const broken = [...t.damaged, ...t.missing];
    switch (r.exitCode) {
      case 0: {
        if (broken.length === 0) return { status: 'ok', repaired: [] };
        await this.removeBackups(setDir, before, broken);
        return { status: 'repaired', repaired: broken.sort() };
      }
      case 2: {
        const needed = blocksNeeded(r.stdout);
        if (needed === undefined && t.found.length + broken.length === 0) throw this.unreadable(unit, r);
        return needed === undefined ? { status: 'unrepairable', repaired: [] } : { status: 'unrepairable', repaired: [], blocksNeeded: needed };
      }
      default:
        throw this.failure('repair', unit, r);
    }
  }

  /**
   * check runs `par2 verify|repair`: with a progress sink without -q, its progress read as bytes
   * (par2-progress.ts). Either way the result's stdout has one line per line (`\r` made `\n`), so
   * the verdict lines are read alike.
   */
  private async check(action: 'verify' | 'repair', file: string, setDir: string, opts: CheckOptions): Promise<RunResult> {
    const sink = opts.progress;
    const progress = sink === undefined ? undefined : new Par2Progress(sink);
    const r = await run(this.tool.path, [action, ...(progress === undefined ? ['-q'] : []), `-B${setDir}`, '--', file], {
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      ...(progress === undefined ? {} : { onStdout: (chunk: string) => progress.feed(chunk), maxCapture: 1 << 26 }),
    });
    progress?.end();
    return { ...r, stdout: r.stdout.replace(/\r\n?/g, '\n') };
  }

  /** par2File picks the file to hand par2: the index file, else any surviving vol file (each holds the critical packets). */
  private async par2File(unit: UnitRef, setDir: string): Promise<string> {
    const dir = path.join(setDir, unit.dir);
    const pattern = unitFilePattern(unit.name);
    const files = (await listDir(dir)).filter((f) => pattern.test(f)).sort(par2FileOrder);
    const first = files[0];
    if (first === undefined) {
      throw new StrataError('DAMAGED', `the PAR2 files of ${unit.name} are missing (looked in ${dir})`, {
        hint: 'Without them the volumes of this unit cannot be checked or repaired by PAR2; copy them back from another copy of the set if you have one.',
      });
    }
    return path.join(dir, first);
  }

  /** removeBackups deletes the `NAME.<n>` copies par2 made of damaged originals during this repair. */
  private async removeBackups(setDir: string, before: ReadonlySet<string>, repaired: readonly string[]): Promise<void> {
    const wanted = new Set(repaired);
    for (const f of await listDir(setDir)) {
      if (before.has(f)) continue;
      const m = /^(.*)\.\d+$/.exec(f);
      if (m !== null && wanted.has(m[1] ?? '')) await rm(path.join(setDir, f), { force: true });
    }
  }

  private unreadable(unit: UnitRef, r: RunResult): StrataError {
    return new StrataError('DAMAGED', `the PAR2 files of ${unit.name} are unreadable (${lastLines(r.stdout + '\n' + r.stderr, 2)})`, {
      hint: 'Their critical packets are damaged in every copy; copy the PAR2 files back from another copy of the set if you have one.',
    });
  }

  private failure(action: string, unit: UnitRef, r: RunResult): StrataError {
    const detail = lastLines(r.stderr + '\n' + r.stdout, 3);
    if (/no space left|disk full/i.test(detail)) {
      return new StrataError('DISK_FULL', `par2 ${action} for ${unit.name}: no space left on device`, { hint: 'Free some space and run again; nothing was marked complete.' });
    }
    const why = r.exitCode === 3 ? 'bad arguments or no files inside the base path' : r.exitCode === 6 ? 'I/O error' : `exit code ${r.exitCode}${r.signal === null ? '' : `, signal ${r.signal}`}`;
    return new StrataError('TOOL_FAILED', `par2 ${action} for ${unit.name} failed (${why}): ${detail}`, {
      hint: action === 'create' ? 'Check the set folder is writable and has space; nothing was marked complete.' : 'Run the par2 command by hand (see RESTORE.txt) to see its full output.',
    });
  }
}
