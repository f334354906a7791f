/**
 * parity/par2-progress: par2cmdline's progress output (verify and repair, run without -q) read as
 * bytes of the unit's volumes handled, for the status line. Pure: it is fed stdout as it comes.
 *
 * What par2cmdline 0.8.1 prints (lines end in `\n`, progress lines in `\r`):
 *   Loading "u.vol00+20.par2".            then `Loading: 4.9%` … (per PAR2 file, no bytes counted: detail only)
 *   The total size of the data files is 4000000 bytes.     (the unit's volumes)
 *   Verifying source files:  Opening: "v.001"  Scanning: 1.6% …   (percent of the data files' bytes)
 *   Repairing: 0.8% …  Wrote 3000000 bytes to disk          (repair: percent of its pass over the data)
 *   Verifying repaired files:  Scanning: 2.1% …             (percent of the bytes written)
 * A unit's verify thus handles its data bytes once; a repair twice more plus the bytes it rewrote.
 * Each stage is topped up to its whole when the next begins (or at `end`), so a unit counts exactly
 * that even when a stage skips ahead (a missing volume is not scanned). Unknown lines are ignored.
 */

/** ProgressSink receives bytes as they are handled (ui/meter's ByteSink fits). */
export interface ProgressSink {
  add(bytes: number, detail?: string): void;
}

type Stage = 'load' | 'scan' | 'repair' | 'reverify';

/** Par2Progress turns one par2 run's stdout into bytes for a ProgressSink. */
export class Par2Progress {
  private rest = '';
  private stage: Stage = 'load';
  /** Bytes of the current stage, when known, and how many were counted so far. */
  private target: number | undefined;
  private counted = 0;
  private dataBytes: number | undefined;
  private wrote: number | undefined;
  private file = '';
  /** Bytes given to the sink over the whole run. */
  total = 0;

  constructor(private readonly sink: ProgressSink) {}

  /** feed takes the next piece of stdout (pieces may split lines anywhere). */
  feed(chunk: string): void {
    const parts = (this.rest + chunk).split(/[\r\n]/);
    this.rest = parts.pop() ?? '';
    for (const line of parts) this.line(line);
  }

  /** end reads what is left and counts the current stage as whole (call it when par2 exited). */
  end(): void {
    if (this.rest !== '') this.line(this.rest);
    this.rest = '';
    this.finishStage();
  }

  private line(text: string): void {
    const line = text.trim();
    let m: RegExpExecArray | null;
    if ((m = /^Loading "(.*)"\.$/.exec(line)) !== null) {
      this.file = m[1] ?? '';
      this.sink.add(0, `loading ${this.file}`);
    } else if ((m = /^The total size of the data files is (\d+) bytes\.$/.exec(line)) !== null) {
      this.dataBytes = Number(m[1]);
    } else if (/^Verifying source files:$/.test(line)) {
      this.begin('scan', this.dataBytes);
    } else if ((m = /^Opening: "(.*)"$/.exec(line)) !== null) {
      this.file = m[1] ?? '';
      this.sink.add(0, this.file);
    } else if ((m = /^Wrote (\d+) bytes to disk$/.exec(line)) !== null) {
      this.wrote = Number(m[1]);
    } else if (/^Verifying repaired files:$/.test(line)) {
      this.begin('reverify', this.wrote);
    } else if ((m = /^(Loading|Scanning|Repairing): (\d+(?:\.\d+)?)%$/.exec(line)) !== null) {
      const percent = Math.min(100, Number(m[2]));
      if (m[1] === 'Loading') {
        if (this.stage === 'load') this.sink.add(0, `loading ${this.file} ${m[2] ?? ''}%`);
        return;
      }
      if (m[1] === 'Repairing' && this.stage !== 'repair') this.begin('repair', this.dataBytes);
      this.advance(percent);
    }
  }

  private begin(stage: Stage, target: number | undefined): void {
    this.finishStage();
    this.stage = stage;
    this.target = target;
    this.counted = 0;
  }

  private advance(percent: number): void {
    if (this.target === undefined || this.stage === 'load') return;
    this.give(Math.round((percent / 100) * this.target) - this.counted);
  }

  private finishStage(): void {
    if (this.target !== undefined && this.stage !== 'load') this.give(this.target - this.counted);
    this.target = undefined;
  }

  private give(bytes: number): void {
    if (bytes <= 0) return;
    this.counted += bytes;
    this.total += bytes;
    this.sink.add(bytes, this.stage === 'repair' ? 'repairing' : this.file);
  }
}
