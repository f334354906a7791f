/**
 * core/compressibility: whether a file is worth compressing, decided from a sample (pure; the IO
 * is archive/probe). Media, archives and encrypted files do not shrink, yet LZMA2 still runs its
 * match finder over them: on the issue-11 corpus 27 % of 7-Zip's time went to media that came out
 * the same size. Such files can go to a stored (-m0=Copy) archive instead, the rest keeps LZMA2.
 *
 * The decision is by content, not by name: a `.mp4` that is text is compressed, a `.log` of
 * random bytes is stored. A sample of `sampleBytes` from the middle of the file (past headers,
 * which are often compressible in media files: tables, metadata) is compressed with a fast codec
 * (deflate level 1); when it comes out at `storeRatio` of its size or more, the file is stored.
 * Files under `minBytes` are not probed (their compression costs little, probing costs an open and
 * a read each, and there are many of them): they are compressed. LZMA2 mx5 gains a few percent
 * over deflate -1 on data deflate cannot shrink at all (random bytes: nothing); a threshold of
 * 0.97 keeps files deflate shrinks by 3 % or more on the compressed side.
 */

/** ProbePolicy is when a file is probed and when it is stored. */
export interface ProbePolicy {
  /** Files smaller than this are compressed without a probe. */
  minBytes: number;
  /** Bytes sampled from the middle of a file. */
  sampleBytes: number;
  /** Stored when deflate -1 leaves at least this fraction of the sample. */
  storeRatio: number;
}

export const defaultProbePolicy: ProbePolicy = { minBytes: 256 * 1024, sampleBytes: 64 * 1024, storeRatio: 0.97 };

/** Storage is where a file goes: the compressed archive or the stored one. */
export type Storage = 'compress' | 'store';

/** probeRange is the [offset, length] to sample from a file of `size` bytes, or null when it is not probed. */
export function probeRange(size: number, policy: ProbePolicy = defaultProbePolicy): [offset: number, length: number] | null {
  if (!(size >= policy.minBytes) || size <= 0) return null;
  const length = Math.min(policy.sampleBytes, size);
  return [Math.floor((size - length) / 2), length];
}

/** storageFor decides from a sample: `sampled` bytes read, `compressed` their deflate -1 size; null sample (not probed, unreadable): compress. */
export function storageFor(sample: { sampled: number; compressed: number } | null, policy: ProbePolicy = defaultProbePolicy): Storage {
  if (sample === null || sample.sampled <= 0) return 'compress';
  return sample.compressed >= sample.sampled * policy.storeRatio ? 'store' : 'compress';
}
