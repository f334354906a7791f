/**
 * archive/probe: the IO half of core/compressibility — read a sample from the middle of a file and
 * compress it with deflate level 1 (node:zlib), to decide whether the file goes to the stored
 * archive or the compressed one. A file that cannot be read is compressed (7-Zip then reports it
 * as it would anyway); the probe never fails a backup.
 */
import * as fsp from 'node:fs/promises';
import { promisify } from 'node:util';
import { constants, deflateRaw } from 'node:zlib';
import { defaultProbePolicy, probeRange, storageFor, type ProbePolicy, type Storage } from '../core/compressibility.js';

const deflate = promisify(deflateRaw);

/** ProbeResult is one file's probe: what was sampled, how well it compressed, and the decision. */
export interface ProbeResult {
  storage: Storage;
  /** Bytes sampled (0: not probed). */
  sampled: number;
  /** Their deflate -1 size (0: not probed). */
  compressed: number;
}

/** probeFile samples `file` (`size` bytes as the scan saw it) and decides where it goes. */
export async function probeFile(file: string, size: number, policy: ProbePolicy = defaultProbePolicy): Promise<ProbeResult> {
  const range = probeRange(size, policy);
  if (range === null) return { storage: 'compress', sampled: 0, compressed: 0 };
  const [offset, length] = range;
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(file, 'r');
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got === 0) return { storage: 'compress', sampled: 0, compressed: 0 };
    const out = await deflate(buf.subarray(0, got), { level: 1, strategy: constants.Z_DEFAULT_STRATEGY });
    const sample = { sampled: got, compressed: out.length };
    return { storage: storageFor(sample, policy), ...sample };
  } catch {
    return { storage: 'compress', sampled: 0, compressed: 0 };
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** probeFiles probes many files, `concurrency` at a time, in the order given. */
export async function probeFiles(files: readonly { path: string; size: number }[], policy: ProbePolicy = defaultProbePolicy, concurrency = 4): Promise<ProbeResult[]> {
  const out = new Array<ProbeResult>(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < files.length; i = next++) {
      const f = files[i];
      if (f !== undefined) out[i] = await probeFile(f.path, f.size, policy);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, worker));
  return out;
}
