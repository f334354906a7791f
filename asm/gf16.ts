// asm/gf16.ts (AssemblyScript, compiled by `npm run build` to dist/src/parity/gf16.wasm):
// the PAR2 multiply-add kernel over GF(2^16), generator 0x1100B.
//
// Method: SPLIT_TABLE(16,4) with a byte shuffle. A 16-bit word is four 4-bit nibbles; the product
// c·w is the XOR of c·(nibble_k << 4k), each looked up in a 16-entry table, split into a table of
// low bytes and one of high bytes, 16 lookups at a time with i8x16.swizzle.
//
// Data layout ("split"): each 32-byte group holds 16 words as 16 low bytes then 16 high bytes.
// split/unsplit convert from/to PAR2's little-endian words in place (len a multiple of 32).
//
// Memory the host sets up (byte offsets): TBL 128 bytes of tables, EXP the antilog table
// (65536 u16: EXP[k] = 2^k), from DATA on the host's buffers.

const TBL: usize = 65536;
const EXP: usize = 65536 + 1024;

@inline function dbl(x: u32): u32 {
  x <<= 1;
  if (x & 0x10000) x ^= 0x1100b;
  return x;
}

function buildTables(c: u32): void {
  let p = c;
  for (let k: usize = 0; k < 4; k++) {
    const p0 = p;
    const p1 = dbl(p0);
    const p2 = dbl(p1);
    const p3 = dbl(p2);
    p = dbl(p3);
    const lo = TBL + k * 16;
    const hi = TBL + 64 + k * 16;
    for (let n: u32 = 0; n < 16; n++) {
      let v: u32 = 0;
      if (n & 1) v ^= p0;
      if (n & 2) v ^= p1;
      if (n & 4) v ^= p2;
      if (n & 8) v ^= p3;
      store<u8>(lo + n, <u8>(v & 0xff));
      store<u8>(hi + n, <u8>(v >> 8));
    }
  }
}

/** muladd: dst ^= c·src over len bytes (split layout, len a multiple of 32). */
export function muladd(src: usize, dst: usize, len: usize, c: u32): void {
  if (c == 0) return;
  buildTables(c);
  const l0 = v128.load(TBL);
  const l1 = v128.load(TBL + 16);
  const l2 = v128.load(TBL + 32);
  const l3 = v128.load(TBL + 48);
  const h0 = v128.load(TBL + 64);
  const h1 = v128.load(TBL + 80);
  const h2 = v128.load(TBL + 96);
  const h3 = v128.load(TBL + 112);
  const mask = i8x16.splat(0x0f);
  for (let o: usize = 0; o < len; o += 32) {
    const a = v128.load(src + o);
    const b = v128.load(src + o, 16);
    const n0 = v128.and(a, mask);
    const n1 = v128.and(i16x8.shr_u(a, 4), mask);
    const n2 = v128.and(b, mask);
    const n3 = v128.and(i16x8.shr_u(b, 4), mask);
    const rl = v128.xor(v128.xor(i8x16.swizzle(l0, n0), i8x16.swizzle(l1, n1)), v128.xor(i8x16.swizzle(l2, n2), i8x16.swizzle(l3, n3)));
    const rh = v128.xor(v128.xor(i8x16.swizzle(h0, n0), i8x16.swizzle(h1, n1)), v128.xor(i8x16.swizzle(h2, n2), i8x16.swizzle(h3, n3)));
    v128.store(dst + o, v128.xor(v128.load(dst + o), rl));
    v128.store(dst + o, v128.xor(v128.load(dst + o, 16), rh), 16);
  }
}

/**
 * block: for every output j < nOut and input i < nIn, out_j ^= (2^log_i)^(e0+j) · in_i, where
 * in_i is at inBase + i·stride, out_j at outBase + j·stride, log_i a u32 at logs + 4i; len bytes.
 * Each output stays in cache while the inputs stream past it.
 */
export function block(inBase: usize, nIn: u32, outBase: usize, nOut: u32, stride: usize, len: usize, logs: usize, e0: u32): void {
  for (let j: u32 = 0; j < nOut; j++) {
    const e: u64 = <u64>(e0 + j);
    const dst = outBase + <usize>j * stride;
    for (let i: u32 = 0; i < nIn; i++) {
      const lg: u64 = <u64>load<u32>(logs + (<usize>i << 2));
      const c: u32 = <u32>load<u16>(EXP + (<usize>((lg * e) % 65535) << 1));
      muladd(inBase + <usize>i * stride, dst, len, c);
    }
  }
}

/** split converts len bytes of little-endian words to the split layout, in place. */
export function split(p: usize, len: usize): void {
  for (let o: usize = 0; o < len; o += 32) {
    const a = v128.load(p + o);
    const b = v128.load(p + o, 16);
    v128.store(p + o, i8x16.shuffle(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
    v128.store(p + o, i8x16.shuffle(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), 16);
  }
}

/** unsplit converts len bytes of the split layout back to little-endian words, in place. */
export function unsplit(p: usize, len: usize): void {
  for (let o: usize = 0; o < len; o += 32) {
    const l = v128.load(p + o);
    const h = v128.load(p + o, 16);
    v128.store(p + o, i8x16.shuffle(l, h, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
    v128.store(p + o, i8x16.shuffle(l, h, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), 16);
  }
}
