/**
 * ui: what strata prints. Human text goes to stderr (progress, warnings) and stdout (results);
 * with --json, stdout carries exactly one JSON document per command and nothing else.
 */

import { progressLine } from '../core/progress.js';
import { formatSize } from '../core/size.js';

/** Verbosity chosen by --quiet / --verbose. */
export type Verbosity = 'quiet' | 'normal' | 'verbose';

/** Output is the sink commands write to; tests capture it. */
export interface Output {
  readonly json: boolean;
  readonly verbosity: Verbosity;
  /** A result line for people (suppressed with --json). */
  result(line: string): void;
  /** A summary of an action that succeeded (backup, restore, a set verified OK): like result, but
   *  --quiet drops it, so that a scheduled run prints nothing unless something is wrong. */
  summary(line: string): void;
  /** The JSON document of a command (only with --json). */
  data(value: unknown): void;
  info(line: string): void;
  verbose(line: string): void;
  warn(line: string): void;
  /**
   * A progress reporter for long work: one line updated in place on a terminal (core/progress
   * progressLine); off a terminal nothing, or with --verbose a plain line at the start and every
   * 10 s. With --json nothing unless --verbose. `total` and `done` count bytes when `opts.bytes`, else items.
   */
  progress(label: string, total?: number, opts?: ProgressOptions): Progress;
}

/** ProgressOptions: whether the counts are bytes, and how many files the task covers. */
export interface ProgressOptions {
  bytes?: boolean;
  filesTotal?: number;
}

/** Progress reports how far a long task is (`files`: files done so far, when known). */
export interface Progress {
  update(done: number, detail?: string, files?: number): void;
  done(summary?: string): void;
}

const noProgress: Progress = { update: () => undefined, done: () => undefined };

/** ConsoleOutput writes to the process streams. */
export class ConsoleOutput implements Output {
  readonly json: boolean;
  readonly verbosity: Verbosity;
  private readonly stdout: NodeJS.WriteStream;
  private readonly stderr: NodeJS.WriteStream;
  /** The status line on a terminal, if one is drawn: a message clears it and it is drawn again below. */
  private line: LineProgress | undefined;

  constructor(options: { json: boolean; verbosity: Verbosity; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream }) {
    this.json = options.json;
    this.verbosity = options.verbosity;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
  }

  result(line: string): void {
    if (!this.json) this.stdout.write(line + '\n');
  }

  summary(line: string): void {
    if (!this.json && this.verbosity !== 'quiet') this.stdout.write(line + '\n');
  }

  data(value: unknown): void {
    if (this.json) this.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  info(line: string): void {
    if (this.verbosity !== 'quiet') this.say(line);
  }

  verbose(line: string): void {
    if (this.verbosity === 'verbose') this.say(line);
  }

  warn(line: string): void {
    this.say(`warning: ${line}`);
  }

  private say(line: string): void {
    const active = this.line?.active() === true ? this.line : undefined;
    active?.clear();
    this.stderr.write(line + '\n');
    active?.redraw();
  }

  progress(label: string, total?: number, opts?: ProgressOptions): Progress {
    if (this.verbosity === 'quiet') return noProgress;
    // With --json a program reads the output: no human status line mixes with it (on a terminal
    // stdout and stderr share the screen) unless --verbose asks for it.
    if (this.json && this.verbosity !== 'verbose') return noProgress;
    if (this.stderr.isTTY) return (this.line = new LineProgress(this.stderr, label, total, opts ?? {}, 'tty'));
    if (this.verbosity === 'verbose') return new LineProgress(this.stderr, label, total, opts ?? {}, 'plain');
    return noProgress;
  }
}

/** How often the terminal line is redrawn (ms), and how often a plain line is written off a terminal. */
const TTY_REDRAW_MS = 250;
const PLAIN_EVERY_MS = 10_000;

/**
 * LineProgress draws the status line: on a terminal in place (`\r`, clipped to the width, redrawn
 * every second even without news so that the elapsed time moves), off a terminal (--verbose) as
 * plain lines without control characters, at the start and every 10 s.
 */
class LineProgress implements Progress {
  private readonly start = performance.now();
  private lastDraw = -Infinity;
  private doneCount = 0;
  private files: number | undefined;
  private detail: string | undefined;
  private readonly timer: NodeJS.Timeout;
  private finished = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly opts: ProgressOptions,
    private readonly mode: 'tty' | 'plain',
  ) {
    this.timer = setInterval(() => this.draw(mode === 'tty'), mode === 'tty' ? 1000 : PLAIN_EVERY_MS);
    this.timer.unref();
    this.draw(true);
  }

  update(done: number, detail?: string, files?: number): void {
    this.doneCount = done;
    this.detail = detail;
    if (files !== undefined) this.files = files;
    this.draw(false);
  }

  done(summary?: string): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.timer);
    if (this.mode === 'tty') this.clear();
    if (summary !== undefined) this.stream.write(summary + '\n');
  }

  active(): boolean {
    return !this.finished && this.mode === 'tty';
  }

  clear(): void {
    this.stream.write('\r' + ' '.repeat(this.width() - 1) + '\r');
  }

  redraw(): void {
    this.draw(true);
  }

  private draw(force: boolean): void {
    if (this.finished) return;
    const now = performance.now();
    const every = this.mode === 'tty' ? TTY_REDRAW_MS : PLAIN_EVERY_MS;
    if (!force && now - this.lastDraw < every) return;
    this.lastDraw = now;
    const state = {
      phase: this.label,
      done: this.doneCount,
      total: this.total,
      bytes: this.opts.bytes === true,
      files: this.files ?? (this.opts.filesTotal !== undefined ? 0 : undefined),
      filesTotal: this.opts.filesTotal,
      elapsedSeconds: (now - this.start) / 1000,
      detail: this.mode === 'tty' ? this.detail : undefined,
    };
    if (this.mode === 'plain') {
      this.stream.write(progressLine(state, 10_000) + '\n');
      return;
    }
    const width = this.width();
    this.stream.write('\r' + progressLine(state, width).padEnd(width - 1));
  }

  private width(): number {
    return this.stream.columns > 20 ? this.stream.columns : 80;
  }
}

/** formatBytes prints a byte count for tables and summaries: core/size formatSize, `short`. */
export function formatBytes(n: number): string {
  return formatSize(n, 'short');
}
