/**
 * ui/meter: the phases of one command on the status line. Each phase is shown with its bytes done
 * / total (and so speed and ETA) as the work reports them, and timed for the --json summary
 * (`phases`: name, seconds, bytes). Drawing stays in ui/output; this only feeds it.
 */
import { PhaseClock, mergePhases, type PhaseTiming } from '../core/progress.js';
import type { Output, Progress } from './output.js';

/** ByteSink receives bytes as they are handled: an upload streaming, a download, a file hashed, PAR2 at work. */
export interface ByteSink {
  add(bytes: number, detail?: string): void;
}

/** PhaseMeter shows and times the phases of one command, one status line at a time. */
export class PhaseMeter implements ByteSink {
  private readonly clock = new PhaseClock(() => performance.now());
  private bar: Progress | undefined;
  private done = 0;

  constructor(private readonly out: Output) {}

  /** show puts the next phase on the status line: `text`, and the bytes it will handle when known. */
  show(text: string, total?: number): void {
    this.bar?.done();
    this.done = 0;
    this.bar = this.out.progress(text, total, { bytes: true });
  }

  /** add counts bytes done in the phase shown (negative takes back a retried transfer's). */
  add(bytes: number, detail?: string): void {
    this.done = Math.max(0, this.done + bytes);
    this.bar?.update(this.done, detail);
  }

  /** end closes the phase `name` (the time since the previous end) with the bytes it handled. */
  end(name: string, bytes?: number): void {
    this.close();
    this.clock.end(name, bytes);
  }

  /** close clears the status line (a phase that failed). */
  close(): void {
    this.bar?.done();
    this.bar = undefined;
  }

  /** phases lists each phase once, summed over its occurrences. */
  get phases(): PhaseTiming[] {
    return mergePhases(this.clock.phases);
  }
}
