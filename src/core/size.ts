/**
 * core/size: byte counts as people type and read them ("5GiB", "100MiB", "1.5G", "123456").
 * Pure, so the CLI, config loading and plans share one reading of a size.
 */
import { StrataError } from '../errors.js';

const KiB = 1024;

/** Units are binary (a "G" and a "GiB" are both 2^30) because 7-Zip's -v100m means 100 MiB too;
 * "GB" (decimal) is accepted explicitly for people who mean it. */
const units: Record<string, number> = {
  '': 1,
  b: 1,
  k: KiB,
  kb: 1000,
  kib: KiB,
  m: KiB ** 2,
  mb: 1000 ** 2,
  mib: KiB ** 2,
  g: KiB ** 3,
  gb: 1000 ** 3,
  gib: KiB ** 3,
  t: KiB ** 4,
  tb: 1000 ** 4,
  tib: KiB ** 4,
};

/** parseSize reads a byte count such as "123456", "64KiB", "100m", "5GiB" or "1.5 GB";
 * it throws StrataError('USAGE') with a hint for anything else. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = units[(m?.[2] ?? '').toLowerCase()];
  if (m === null || unit === undefined) {
    throw new StrataError('USAGE', `not a size: ${JSON.stringify(text)}`, {
      hint: 'Write a byte count like 123456, 64KiB, 100MiB, 5GiB or 2TiB (k/m/g/t are binary; kB/MB/GB/TB decimal).',
    });
  }
  const value = Number(m[1]) * unit;
  if (!Number.isFinite(value) || value > Number.MAX_SAFE_INTEGER) {
    throw new StrataError('USAGE', `size too large: ${JSON.stringify(text)}`, { hint: 'Sizes up to 8 PiB are supported.' });
  }
  // "1.5" bytes used to become 2: a size is a whole number of bytes (1.5GiB is one; 0.1KiB is not).
  if (!Number.isInteger(value)) {
    throw new StrataError('USAGE', `not a whole number of bytes: ${JSON.stringify(text)} is ${value} bytes`, {
      hint: 'Write a whole byte count, or a size in a unit that makes one (1.5GiB, 512KiB).',
    });
  }
  return value;
}

/**
 * MIN_VOLUME_SIZE is the smallest archive volume strata accepts, checked when the config or the
 * flag is read. 7-Zip refuses volumes under 1 KiB (the run then failed half-way, leaving an
 * unfinished set); from 1 KiB up, 7-Zip and the PAR2 planning work (odd sizes included), but
 * every volume is an object with its own upload and PAR2 files: 64 KiB keeps a margin over what
 * breaks and the object count of a small backup sane.
 */
export const MIN_VOLUME_SIZE = 64 * KiB;

/** volumeSizeProblem says why a byte count cannot be a volume size, or undefined when it can. */
export function volumeSizeProblem(bytes: number): string | undefined {
  if (!Number.isSafeInteger(bytes)) return `expected a whole number of bytes, got ${bytes}`;
  if (bytes < MIN_VOLUME_SIZE) return `a volume must be at least ${formatSize(MIN_VOLUME_SIZE)}, got ${formatSize(bytes)}`;
  return undefined;
}

/**
 * formatSize prints a byte count with binary units — the one byte formatter of strata. `exact`
 * (default: config, plans, errors) is exact when it is a whole number of a unit ("100 MiB",
 * "4 KiB") and to two decimals otherwise ("1.50 GiB"); `short` (tables and summaries) keeps three
 * figures or so ("12.34 MiB", "123.4 MiB"). Bytes are always whole ("12 B").
 */
export function formatSize(bytes: number, style: 'exact' | 'short' = 'exact'): string {
  const names = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = bytes;
  while (Math.abs(v) >= KiB && i < names.length - 1) {
    v /= KiB;
    i++;
  }
  const name = names[i] ?? 'B';
  if (i === 0) return `${v} ${name}`;
  if (style === 'short') return `${v.toFixed(Math.abs(v) < 10 ? 2 : 1)} ${name}`;
  if (Number.isInteger(v)) return `${v} ${name}`;
  return `${v.toFixed(2)} ${name}`;
}
