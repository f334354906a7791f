/**
 * ui: what strata prints. Human text goes to stderr (progress, warnings) and stdout (results);
 * with --json, stdout carries exactly one JSON document per command and nothing else.
 */

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
  /** A progress reporter for long work; a no-op off a terminal. */
  progress(label: string, total?: number): Progress;
}

/** Progress reports how far a long task is. */
export interface Progress {
  update(done: number, detail?: string): void;
  done(summary?: string): void;
}

const noProgress: Progress = { update: () => undefined, done: () => undefined };

/** ConsoleOutput writes to the process streams. */
export class ConsoleOutput implements Output {
  readonly json: boolean;
  readonly verbosity: Verbosity;
  private readonly stdout: NodeJS.WriteStream;
  private readonly stderr: NodeJS.WriteStream;

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
    if (this.verbosity !== 'quiet') this.stderr.write(line + '\n');
  }

  verbose(line: string): void {
    if (this.verbosity === 'verbose') this.stderr.write(line + '\n');
  }

  warn(line: string): void {
    this.stderr.write(`warning: ${line}\n`);
  }

  progress(label: string, total?: number): Progress {
    if (this.verbosity === 'quiet' || !this.stderr.isTTY) return noProgress;
    return new TtyProgress(this.stderr, label, total);
  }
}

class TtyProgress implements Progress {
  private last = 0;
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
    private readonly total: number | undefined,
  ) {}

  update(done: number, detail?: string): void {
    const now = performance.now();
    if (now - this.last < 100) return;
    this.last = now;
    const width = this.stream.columns > 20 ? this.stream.columns : 80;
    let text = this.label;
    if (this.total !== undefined && this.total > 0) {
      const frac = Math.max(0, Math.min(1, done / this.total));
      const barWidth = 24;
      const filled = Math.round(frac * barWidth);
      text += ` [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`;
    } else {
      text += ` ${done}`;
    }
    if (detail !== undefined) text += ` ${detail}`;
    this.stream.write('\r' + text.slice(0, width - 1).padEnd(width - 1));
  }

  done(summary?: string): void {
    const width = this.stream.columns > 20 ? this.stream.columns : 80;
    this.stream.write('\r' + ' '.repeat(width - 1) + '\r');
    if (summary !== undefined) this.stream.write(summary + '\n');
  }
}

/** formatBytes prints a byte count for tables and summaries: core/size formatSize, `short`. */
export function formatBytes(n: number): string {
  return formatSize(n, 'short');
}
