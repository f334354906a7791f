/**
 * parity/crc32: CRC-32 (IEEE, as PAR2's slice checksums use) of a byte range: zlib.crc32 where Node
 * has it (22.2+, 20.15+: native, several GB/s), else a table in JavaScript.
 */
import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, initial?: number) => number;

const native = (zlib as { crc32?: Crc32 }).crc32;

let table: Uint32Array | undefined;

/** crc32Js is the table-driven CRC-32 (the fallback; exported for its test). */
export function crc32Js(data: Uint8Array, initial = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~initial >>> 0;
  for (const b of data) c = (table[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return ~c >>> 0;
}

/** crc32 is CRC-32 of data (continuing from `initial`). */
export const crc32: Crc32 = native ?? crc32Js;
