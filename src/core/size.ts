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
  return Math.round(value);
}

/** formatSize prints a byte count with binary units, exact when it is a whole number of a unit
 * ("100 MiB", "4 KiB") and to two decimals otherwise ("1.50 GiB"). */
export function formatSize(bytes: number): string {
  const names = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = bytes;
  while (Math.abs(v) >= KiB && i < names.length - 1) {
    v /= KiB;
    i++;
  }
  const name = names[i] ?? 'B';
  if (i === 0 || Number.isInteger(v)) return `${v} ${name}`;
  return `${v.toFixed(2)} ${name}`;
}
