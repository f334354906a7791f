/**
 * core/progress: the text of the progress line and of durations, rates and ETAs (pure; the TTY
 * rendering is ui/output). A line reads like restic's status line:
 *   `[0:12]  archiving docs  41.2 MiB / 100.0 MiB  41%  3.43 MiB/s  ETA 0:17  1204 / 2950 files`
 */
import { formatSize } from './size.js';

/** formatDuration prints seconds as `m:ss` (or `h:mm:ss`); negative or non-finite values as `-`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** formatSeconds prints a duration for summaries: `0.42 s`, `12.3 s`, `2 min 05 s`, `1 h 02 min`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** rate is bytes per second, or undefined before there is anything to measure. */
export function rate(doneBytes: number, elapsedSeconds: number): number | undefined {
  if (elapsedSeconds <= 0 || doneBytes <= 0) return undefined;
  return doneBytes / elapsedSeconds;
}

/** formatRate prints a byte rate: `3.4 MB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatSize(Math.round(bytesPerSecond), 'short')}/s`;
}

/** eta is the seconds left at the average rate so far; undefined when it cannot be told yet. */
export function eta(done: number, total: number | undefined, elapsedSeconds: number): number | undefined {
  if (total === undefined || total <= 0 || done <= 0 || elapsedSeconds <= 0) return undefined;
  if (done >= total) return 0;
  return ((total - done) * elapsedSeconds) / done;
}

/** ProgressState is what the line shows. */
export interface ProgressState {
  phase: string;
  /** Units done: bytes when `bytes`, else a count (sets, files). */
  done: number;
  total?: number | undefined;
  bytes: boolean;
  /** Files, when known (shown as `N files`, or `N / M files`). */
  files?: number | undefined;
  filesTotal?: number | undefined;
  elapsedSeconds: number;
  /** The current item (a file name), shown last and clipped first. */
  detail?: string | undefined;
}

/** progressLine is the status line for a terminal `width` columns wide (never longer than width - 1). */
export function progressLine(st: ProgressState, width: number): string {
  const parts: string[] = [`[${formatDuration(st.elapsedSeconds)}]`, st.phase];
  const fmt = (n: number): string => (st.bytes ? formatSize(n, 'short') : String(n));
  const hasTotal = st.total !== undefined && st.total > 0;
  if (st.done > 0 || hasTotal) parts.push(hasTotal ? `${fmt(st.done)} / ${fmt(st.total ?? 0)}` : fmt(st.done));
  if (hasTotal) parts.push(`${Math.min(100, Math.floor((st.done / (st.total ?? 1)) * 100))}%`);
  if (st.bytes) {
    const r = rate(st.done, st.elapsedSeconds);
    if (r !== undefined) parts.push(formatRate(r));
  }
  const left = eta(st.done, st.total, st.elapsedSeconds);
  if (left !== undefined && left > 0) parts.push(`ETA ${formatDuration(left)}`);
  if (st.files !== undefined) parts.push(st.filesTotal !== undefined ? `${st.files} / ${st.filesTotal} files` : `${st.files} files`);
  let line = parts.join('  ');
  if (st.detail !== undefined && st.detail !== '') line += `  ${st.detail}`;
  return clip(line, Math.max(10, width - 1));
}

/** clip shortens a line to `max` characters (code points), ending with `…` when cut; control characters become spaces. */
export function clip(line: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const chars = Array.from(line.replace(/[\u0000-\u001f\u007f]/g, ' '));
  if (chars.length <= max) return chars.join('');
  return chars.slice(0, max - 1).join('') + '…';
}

/** PhaseTiming is one phase of a run: how long it took (monotonic clock) and the bytes it handled. */
export interface PhaseTiming {
  name: string;
  seconds: number;
  bytes: number | null;
}

/** PhaseClock records phases from a monotonic clock in milliseconds (performance.now, given by the caller). */
export class PhaseClock {
  readonly phases: PhaseTiming[] = [];
  private last: number;
  constructor(private readonly nowMs: () => number) {
    this.last = nowMs();
  }

  /** end closes the current phase under `name` and returns it. */
  end(name: string, bytes?: number): PhaseTiming {
    const now = this.nowMs();
    const p: PhaseTiming = { name, seconds: Math.round(now - this.last) / 1000, bytes: bytes ?? null };
    this.last = now;
    this.phases.push(p);
    return p;
  }
}

/**
 * mergePhases sums phases of the same name (a restore fetches and extracts once per holding set, a
 * verify checks each set): one entry per name, in the order each first appeared; bytes are summed
 * where known (null when no part of it counted bytes).
 */
export function mergePhases(phases: readonly PhaseTiming[]): PhaseTiming[] {
  const out: PhaseTiming[] = [];
  for (const p of phases) {
    const seen = out.find((o) => o.name === p.name);
    if (seen === undefined) {
      out.push({ ...p });
      continue;
    }
    seen.seconds = Math.round((seen.seconds + p.seconds) * 1000) / 1000;
    if (p.bytes !== null) seen.bytes = (seen.bytes ?? 0) + p.bytes;
  }
  return out;
}
