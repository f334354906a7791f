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

// ---- 4-lane MD5 (PAR2's slice and file hashes) ----
// Independent MD5 streams at once, one per 32-bit lane of each v128 (multi-buffer MD5, as ParPar
// does): a state is A, B, C, D, each an i32x4 holding that word of lanes 0…3. md5x8 runs two such
// states interleaved (8 streams; the second hides the first's latency), `blocks` 64-byte blocks of
// each lane's message (no padding: the host pads). Measured here: about 1.7× node:crypto's MD5.
// The message words go through MSG (two sets of 16 transposed words) after a 4×4 transpose.

const MSG: usize = 65536 + 256;
// K[i] splatted to 4 lanes (16 bytes each); the I round's K[i] − 1 (see stepI).
const KT: usize = memory.data<u32>([0xd76aa478, 0xd76aa478, 0xd76aa478, 0xd76aa478, 0xe8c7b756, 0xe8c7b756, 0xe8c7b756, 0xe8c7b756, 0x242070db, 0x242070db, 0x242070db, 0x242070db, 0xc1bdceee, 0xc1bdceee, 0xc1bdceee, 0xc1bdceee, 0xf57c0faf, 0xf57c0faf, 0xf57c0faf, 0xf57c0faf, 0x4787c62a, 0x4787c62a, 0x4787c62a, 0x4787c62a, 0xa8304613, 0xa8304613, 0xa8304613, 0xa8304613, 0xfd469501, 0xfd469501, 0xfd469501, 0xfd469501, 0x698098d8, 0x698098d8, 0x698098d8, 0x698098d8, 0x8b44f7af, 0x8b44f7af, 0x8b44f7af, 0x8b44f7af, 0xffff5bb1, 0xffff5bb1, 0xffff5bb1, 0xffff5bb1, 0x895cd7be, 0x895cd7be, 0x895cd7be, 0x895cd7be, 0x6b901122, 0x6b901122, 0x6b901122, 0x6b901122, 0xfd987193, 0xfd987193, 0xfd987193, 0xfd987193, 0xa679438e, 0xa679438e, 0xa679438e, 0xa679438e, 0x49b40821, 0x49b40821, 0x49b40821, 0x49b40821, 0xf61e2562, 0xf61e2562, 0xf61e2562, 0xf61e2562, 0xc040b340, 0xc040b340, 0xc040b340, 0xc040b340, 0x265e5a51, 0x265e5a51, 0x265e5a51, 0x265e5a51, 0xe9b6c7aa, 0xe9b6c7aa, 0xe9b6c7aa, 0xe9b6c7aa, 0xd62f105d, 0xd62f105d, 0xd62f105d, 0xd62f105d, 0x2441453, 0x2441453, 0x2441453, 0x2441453, 0xd8a1e681, 0xd8a1e681, 0xd8a1e681, 0xd8a1e681, 0xe7d3fbc8, 0xe7d3fbc8, 0xe7d3fbc8, 0xe7d3fbc8, 0x21e1cde6, 0x21e1cde6, 0x21e1cde6, 0x21e1cde6, 0xc33707d6, 0xc33707d6, 0xc33707d6, 0xc33707d6, 0xf4d50d87, 0xf4d50d87, 0xf4d50d87, 0xf4d50d87, 0x455a14ed, 0x455a14ed, 0x455a14ed, 0x455a14ed, 0xa9e3e905, 0xa9e3e905, 0xa9e3e905, 0xa9e3e905, 0xfcefa3f8, 0xfcefa3f8, 0xfcefa3f8, 0xfcefa3f8, 0x676f02d9, 0x676f02d9, 0x676f02d9, 0x676f02d9, 0x8d2a4c8a, 0x8d2a4c8a, 0x8d2a4c8a, 0x8d2a4c8a, 0xfffa3942, 0xfffa3942, 0xfffa3942, 0xfffa3942, 0x8771f681, 0x8771f681, 0x8771f681, 0x8771f681, 0x6d9d6122, 0x6d9d6122, 0x6d9d6122, 0x6d9d6122, 0xfde5380c, 0xfde5380c, 0xfde5380c, 0xfde5380c, 0xa4beea44, 0xa4beea44, 0xa4beea44, 0xa4beea44, 0x4bdecfa9, 0x4bdecfa9, 0x4bdecfa9, 0x4bdecfa9, 0xf6bb4b60, 0xf6bb4b60, 0xf6bb4b60, 0xf6bb4b60, 0xbebfbc70, 0xbebfbc70, 0xbebfbc70, 0xbebfbc70, 0x289b7ec6, 0x289b7ec6, 0x289b7ec6, 0x289b7ec6, 0xeaa127fa, 0xeaa127fa, 0xeaa127fa, 0xeaa127fa, 0xd4ef3085, 0xd4ef3085, 0xd4ef3085, 0xd4ef3085, 0x4881d05, 0x4881d05, 0x4881d05, 0x4881d05, 0xd9d4d039, 0xd9d4d039, 0xd9d4d039, 0xd9d4d039, 0xe6db99e5, 0xe6db99e5, 0xe6db99e5, 0xe6db99e5, 0x1fa27cf8, 0x1fa27cf8, 0x1fa27cf8, 0x1fa27cf8, 0xc4ac5665, 0xc4ac5665, 0xc4ac5665, 0xc4ac5665, 0xf4292243, 0xf4292243, 0xf4292243, 0xf4292243, 0x432aff96, 0x432aff96, 0x432aff96, 0x432aff96, 0xab9423a6, 0xab9423a6, 0xab9423a6, 0xab9423a6, 0xfc93a038, 0xfc93a038, 0xfc93a038, 0xfc93a038, 0x655b59c2, 0x655b59c2, 0x655b59c2, 0x655b59c2, 0x8f0ccc91, 0x8f0ccc91, 0x8f0ccc91, 0x8f0ccc91, 0xffeff47c, 0xffeff47c, 0xffeff47c, 0xffeff47c, 0x85845dd0, 0x85845dd0, 0x85845dd0, 0x85845dd0, 0x6fa87e4e, 0x6fa87e4e, 0x6fa87e4e, 0x6fa87e4e, 0xfe2ce6df, 0xfe2ce6df, 0xfe2ce6df, 0xfe2ce6df, 0xa3014313, 0xa3014313, 0xa3014313, 0xa3014313, 0x4e0811a0, 0x4e0811a0, 0x4e0811a0, 0x4e0811a0, 0xf7537e81, 0xf7537e81, 0xf7537e81, 0xf7537e81, 0xbd3af234, 0xbd3af234, 0xbd3af234, 0xbd3af234, 0x2ad7d2ba, 0x2ad7d2ba, 0x2ad7d2ba, 0x2ad7d2ba, 0xeb86d390, 0xeb86d390, 0xeb86d390, 0xeb86d390]);

@inline function rotl(x: v128, s: i32): v128 {
  return v128.or(i32x4.shl(x, s), i32x4.shr_u(x, 32 - s));
}
@inline function stepF(a: v128, b: v128, c: v128, d: v128, m: v128, k: v128, s: i32): v128 {
  return i32x4.add(b, rotl(i32x4.add(i32x4.add(a, i32x4.add(m, k)), v128.bitselect(c, d, b)), s));
}
@inline function stepG(a: v128, b: v128, c: v128, d: v128, m: v128, k: v128, s: i32): v128 {
  return i32x4.add(b, rotl(i32x4.add(i32x4.add(a, i32x4.add(m, k)), v128.bitselect(b, c, d)), s));
}
@inline function stepH(a: v128, b: v128, c: v128, d: v128, m: v128, k: v128, s: i32): v128 {
  return i32x4.add(b, rotl(i32x4.add(i32x4.add(a, i32x4.add(m, k)), v128.xor(v128.xor(b, c), d)), s));
}
@inline function stepI(a: v128, b: v128, c: v128, d: v128, m: v128, k: v128, s: i32): v128 {
  return i32x4.add(b, rotl(i32x4.sub(i32x4.add(a, i32x4.add(m, k)), v128.xor(c, v128.andnot(d, b))), s));
}

@inline function transpose(p0: usize, p1: usize, p2: usize, p3: usize, msg: usize): void {
  for (let q: usize = 0; q < 64; q += 16) {
    const x0 = v128.load(p0 + q);
    const x1 = v128.load(p1 + q);
    const x2 = v128.load(p2 + q);
    const x3 = v128.load(p3 + q);
    const t0 = v128.shuffle<i32>(x0, x1, 0, 4, 1, 5);
    const t1 = v128.shuffle<i32>(x2, x3, 0, 4, 1, 5);
    const t2 = v128.shuffle<i32>(x0, x1, 2, 6, 3, 7);
    const t3 = v128.shuffle<i32>(x2, x3, 2, 6, 3, 7);
    v128.store(msg + q * 4, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
    v128.store(msg + q * 4, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7), 16);
    v128.store(msg + q * 4, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5), 32);
    v128.store(msg + q * 4, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7), 48);
  }
}

/** md5x8: eight MD5 streams, two interleaved md5x4 states (lanes 0…3 at state, 4…7 at state + 64); lane k's message at load<usize>(ptrs + 4k). */
export function md5x8(state: usize, ptrs: usize, blocks: u32): void {
  let p0 = load<usize>(ptrs);
  let p1 = load<usize>(ptrs, 4);
  let p2 = load<usize>(ptrs, 8);
  let p3 = load<usize>(ptrs, 12);
  let p4 = load<usize>(ptrs, 16);
  let p5 = load<usize>(ptrs, 20);
  let p6 = load<usize>(ptrs, 24);
  let p7 = load<usize>(ptrs, 28);
  let a0 = v128.load(state);
  let b0 = v128.load(state, 16);
  let c0 = v128.load(state, 32);
  let d0 = v128.load(state, 48);
  let a1 = v128.load(state, 64);
  let b1 = v128.load(state, 80);
  let c1 = v128.load(state, 96);
  let d1 = v128.load(state, 112);
  for (let n: u32 = 0; n < blocks; n++) {
    transpose(p0, p1, p2, p3, MSG);
    transpose(p4, p5, p6, p7, MSG + 256);
    const sa0 = a0;
    const sb0 = b0;
    const sc0 = c0;
    const sd0 = d0;
    const sa1 = a1;
    const sb1 = b1;
    const sc1 = c1;
    const sd1 = d1;
    a0 = stepF(a0, b0, c0, d0, v128.load(MSG + 0), v128.load(KT + 0), 7);
    a1 = stepF(a1, b1, c1, d1, v128.load(MSG + 256), v128.load(KT + 0), 7);
    d0 = stepF(d0, a0, b0, c0, v128.load(MSG + 16), v128.load(KT + 16), 12);
    d1 = stepF(d1, a1, b1, c1, v128.load(MSG + 272), v128.load(KT + 16), 12);
    c0 = stepF(c0, d0, a0, b0, v128.load(MSG + 32), v128.load(KT + 32), 17);
    c1 = stepF(c1, d1, a1, b1, v128.load(MSG + 288), v128.load(KT + 32), 17);
    b0 = stepF(b0, c0, d0, a0, v128.load(MSG + 48), v128.load(KT + 48), 22);
    b1 = stepF(b1, c1, d1, a1, v128.load(MSG + 304), v128.load(KT + 48), 22);
    a0 = stepF(a0, b0, c0, d0, v128.load(MSG + 64), v128.load(KT + 64), 7);
    a1 = stepF(a1, b1, c1, d1, v128.load(MSG + 320), v128.load(KT + 64), 7);
    d0 = stepF(d0, a0, b0, c0, v128.load(MSG + 80), v128.load(KT + 80), 12);
    d1 = stepF(d1, a1, b1, c1, v128.load(MSG + 336), v128.load(KT + 80), 12);
    c0 = stepF(c0, d0, a0, b0, v128.load(MSG + 96), v128.load(KT + 96), 17);
    c1 = stepF(c1, d1, a1, b1, v128.load(MSG + 352), v128.load(KT + 96), 17);
    b0 = stepF(b0, c0, d0, a0, v128.load(MSG + 112), v128.load(KT + 112), 22);
    b1 = stepF(b1, c1, d1, a1, v128.load(MSG + 368), v128.load(KT + 112), 22);
    a0 = stepF(a0, b0, c0, d0, v128.load(MSG + 128), v128.load(KT + 128), 7);
    a1 = stepF(a1, b1, c1, d1, v128.load(MSG + 384), v128.load(KT + 128), 7);
    d0 = stepF(d0, a0, b0, c0, v128.load(MSG + 144), v128.load(KT + 144), 12);
    d1 = stepF(d1, a1, b1, c1, v128.load(MSG + 400), v128.load(KT + 144), 12);
    c0 = stepF(c0, d0, a0, b0, v128.load(MSG + 160), v128.load(KT + 160), 17);
    c1 = stepF(c1, d1, a1, b1, v128.load(MSG + 416), v128.load(KT + 160), 17);
    b0 = stepF(b0, c0, d0, a0, v128.load(MSG + 176), v128.load(KT + 176), 22);
    b1 = stepF(b1, c1, d1, a1, v128.load(MSG + 432), v128.load(KT + 176), 22);
    a0 = stepF(a0, b0, c0, d0, v128.load(MSG + 192), v128.load(KT + 192), 7);
    a1 = stepF(a1, b1, c1, d1, v128.load(MSG + 448), v128.load(KT + 192), 7);
    d0 = stepF(d0, a0, b0, c0, v128.load(MSG + 208), v128.load(KT + 208), 12);
    d1 = stepF(d1, a1, b1, c1, v128.load(MSG + 464), v128.load(KT + 208), 12);
    c0 = stepF(c0, d0, a0, b0, v128.load(MSG + 224), v128.load(KT + 224), 17);
    c1 = stepF(c1, d1, a1, b1, v128.load(MSG + 480), v128.load(KT + 224), 17);
    b0 = stepF(b0, c0, d0, a0, v128.load(MSG + 240), v128.load(KT + 240), 22);
    b1 = stepF(b1, c1, d1, a1, v128.load(MSG + 496), v128.load(KT + 240), 22);
    a0 = stepG(a0, b0, c0, d0, v128.load(MSG + 16), v128.load(KT + 256), 5);
    a1 = stepG(a1, b1, c1, d1, v128.load(MSG + 272), v128.load(KT + 256), 5);
    d0 = stepG(d0, a0, b0, c0, v128.load(MSG + 96), v128.load(KT + 272), 9);
    d1 = stepG(d1, a1, b1, c1, v128.load(MSG + 352), v128.load(KT + 272), 9);
    c0 = stepG(c0, d0, a0, b0, v128.load(MSG + 176), v128.load(KT + 288), 14);
    c1 = stepG(c1, d1, a1, b1, v128.load(MSG + 432), v128.load(KT + 288), 14);
    b0 = stepG(b0, c0, d0, a0, v128.load(MSG + 0), v128.load(KT + 304), 20);
    b1 = stepG(b1, c1, d1, a1, v128.load(MSG + 256), v128.load(KT + 304), 20);
    a0 = stepG(a0, b0, c0, d0, v128.load(MSG + 80), v128.load(KT + 320), 5);
    a1 = stepG(a1, b1, c1, d1, v128.load(MSG + 336), v128.load(KT + 320), 5);
    d0 = stepG(d0, a0, b0, c0, v128.load(MSG + 160), v128.load(KT + 336), 9);
    d1 = stepG(d1, a1, b1, c1, v128.load(MSG + 416), v128.load(KT + 336), 9);
    c0 = stepG(c0, d0, a0, b0, v128.load(MSG + 240), v128.load(KT + 352), 14);
    c1 = stepG(c1, d1, a1, b1, v128.load(MSG + 496), v128.load(KT + 352), 14);
    b0 = stepG(b0, c0, d0, a0, v128.load(MSG + 64), v128.load(KT + 368), 20);
    b1 = stepG(b1, c1, d1, a1, v128.load(MSG + 320), v128.load(KT + 368), 20);
    a0 = stepG(a0, b0, c0, d0, v128.load(MSG + 144), v128.load(KT + 384), 5);
    a1 = stepG(a1, b1, c1, d1, v128.load(MSG + 400), v128.load(KT + 384), 5);
    d0 = stepG(d0, a0, b0, c0, v128.load(MSG + 224), v128.load(KT + 400), 9);
    d1 = stepG(d1, a1, b1, c1, v128.load(MSG + 480), v128.load(KT + 400), 9);
    c0 = stepG(c0, d0, a0, b0, v128.load(MSG + 48), v128.load(KT + 416), 14);
    c1 = stepG(c1, d1, a1, b1, v128.load(MSG + 304), v128.load(KT + 416), 14);
    b0 = stepG(b0, c0, d0, a0, v128.load(MSG + 128), v128.load(KT + 432), 20);
    b1 = stepG(b1, c1, d1, a1, v128.load(MSG + 384), v128.load(KT + 432), 20);
    a0 = stepG(a0, b0, c0, d0, v128.load(MSG + 208), v128.load(KT + 448), 5);
    a1 = stepG(a1, b1, c1, d1, v128.load(MSG + 464), v128.load(KT + 448), 5);
    d0 = stepG(d0, a0, b0, c0, v128.load(MSG + 32), v128.load(KT + 464), 9);
    d1 = stepG(d1, a1, b1, c1, v128.load(MSG + 288), v128.load(KT + 464), 9);
    c0 = stepG(c0, d0, a0, b0, v128.load(MSG + 112), v128.load(KT + 480), 14);
    c1 = stepG(c1, d1, a1, b1, v128.load(MSG + 368), v128.load(KT + 480), 14);
    b0 = stepG(b0, c0, d0, a0, v128.load(MSG + 192), v128.load(KT + 496), 20);
    b1 = stepG(b1, c1, d1, a1, v128.load(MSG + 448), v128.load(KT + 496), 20);
    a0 = stepH(a0, b0, c0, d0, v128.load(MSG + 80), v128.load(KT + 512), 4);
    a1 = stepH(a1, b1, c1, d1, v128.load(MSG + 336), v128.load(KT + 512), 4);
    d0 = stepH(d0, a0, b0, c0, v128.load(MSG + 128), v128.load(KT + 528), 11);
    d1 = stepH(d1, a1, b1, c1, v128.load(MSG + 384), v128.load(KT + 528), 11);
    c0 = stepH(c0, d0, a0, b0, v128.load(MSG + 176), v128.load(KT + 544), 16);
    c1 = stepH(c1, d1, a1, b1, v128.load(MSG + 432), v128.load(KT + 544), 16);
    b0 = stepH(b0, c0, d0, a0, v128.load(MSG + 224), v128.load(KT + 560), 23);
    b1 = stepH(b1, c1, d1, a1, v128.load(MSG + 480), v128.load(KT + 560), 23);
    a0 = stepH(a0, b0, c0, d0, v128.load(MSG + 16), v128.load(KT + 576), 4);
    a1 = stepH(a1, b1, c1, d1, v128.load(MSG + 272), v128.load(KT + 576), 4);
    d0 = stepH(d0, a0, b0, c0, v128.load(MSG + 64), v128.load(KT + 592), 11);
    d1 = stepH(d1, a1, b1, c1, v128.load(MSG + 320), v128.load(KT + 592), 11);
    c0 = stepH(c0, d0, a0, b0, v128.load(MSG + 112), v128.load(KT + 608), 16);
    c1 = stepH(c1, d1, a1, b1, v128.load(MSG + 368), v128.load(KT + 608), 16);
    b0 = stepH(b0, c0, d0, a0, v128.load(MSG + 160), v128.load(KT + 624), 23);
    b1 = stepH(b1, c1, d1, a1, v128.load(MSG + 416), v128.load(KT + 624), 23);
    a0 = stepH(a0, b0, c0, d0, v128.load(MSG + 208), v128.load(KT + 640), 4);
    a1 = stepH(a1, b1, c1, d1, v128.load(MSG + 464), v128.load(KT + 640), 4);
    d0 = stepH(d0, a0, b0, c0, v128.load(MSG + 0), v128.load(KT + 656), 11);
    d1 = stepH(d1, a1, b1, c1, v128.load(MSG + 256), v128.load(KT + 656), 11);
    c0 = stepH(c0, d0, a0, b0, v128.load(MSG + 48), v128.load(KT + 672), 16);
    c1 = stepH(c1, d1, a1, b1, v128.load(MSG + 304), v128.load(KT + 672), 16);
    b0 = stepH(b0, c0, d0, a0, v128.load(MSG + 96), v128.load(KT + 688), 23);
    b1 = stepH(b1, c1, d1, a1, v128.load(MSG + 352), v128.load(KT + 688), 23);
    a0 = stepH(a0, b0, c0, d0, v128.load(MSG + 144), v128.load(KT + 704), 4);
    a1 = stepH(a1, b1, c1, d1, v128.load(MSG + 400), v128.load(KT + 704), 4);
    d0 = stepH(d0, a0, b0, c0, v128.load(MSG + 192), v128.load(KT + 720), 11);
    d1 = stepH(d1, a1, b1, c1, v128.load(MSG + 448), v128.load(KT + 720), 11);
    c0 = stepH(c0, d0, a0, b0, v128.load(MSG + 240), v128.load(KT + 736), 16);
    c1 = stepH(c1, d1, a1, b1, v128.load(MSG + 496), v128.load(KT + 736), 16);
    b0 = stepH(b0, c0, d0, a0, v128.load(MSG + 32), v128.load(KT + 752), 23);
    b1 = stepH(b1, c1, d1, a1, v128.load(MSG + 288), v128.load(KT + 752), 23);
    a0 = stepI(a0, b0, c0, d0, v128.load(MSG + 0), v128.load(KT + 768), 6);
    a1 = stepI(a1, b1, c1, d1, v128.load(MSG + 256), v128.load(KT + 768), 6);
    d0 = stepI(d0, a0, b0, c0, v128.load(MSG + 112), v128.load(KT + 784), 10);
    d1 = stepI(d1, a1, b1, c1, v128.load(MSG + 368), v128.load(KT + 784), 10);
    c0 = stepI(c0, d0, a0, b0, v128.load(MSG + 224), v128.load(KT + 800), 15);
    c1 = stepI(c1, d1, a1, b1, v128.load(MSG + 480), v128.load(KT + 800), 15);
    b0 = stepI(b0, c0, d0, a0, v128.load(MSG + 80), v128.load(KT + 816), 21);
    b1 = stepI(b1, c1, d1, a1, v128.load(MSG + 336), v128.load(KT + 816), 21);
    a0 = stepI(a0, b0, c0, d0, v128.load(MSG + 192), v128.load(KT + 832), 6);
    a1 = stepI(a1, b1, c1, d1, v128.load(MSG + 448), v128.load(KT + 832), 6);
    d0 = stepI(d0, a0, b0, c0, v128.load(MSG + 48), v128.load(KT + 848), 10);
    d1 = stepI(d1, a1, b1, c1, v128.load(MSG + 304), v128.load(KT + 848), 10);
    c0 = stepI(c0, d0, a0, b0, v128.load(MSG + 160), v128.load(KT + 864), 15);
    c1 = stepI(c1, d1, a1, b1, v128.load(MSG + 416), v128.load(KT + 864), 15);
    b0 = stepI(b0, c0, d0, a0, v128.load(MSG + 16), v128.load(KT + 880), 21);
    b1 = stepI(b1, c1, d1, a1, v128.load(MSG + 272), v128.load(KT + 880), 21);
    a0 = stepI(a0, b0, c0, d0, v128.load(MSG + 128), v128.load(KT + 896), 6);
    a1 = stepI(a1, b1, c1, d1, v128.load(MSG + 384), v128.load(KT + 896), 6);
    d0 = stepI(d0, a0, b0, c0, v128.load(MSG + 240), v128.load(KT + 912), 10);
    d1 = stepI(d1, a1, b1, c1, v128.load(MSG + 496), v128.load(KT + 912), 10);
    c0 = stepI(c0, d0, a0, b0, v128.load(MSG + 96), v128.load(KT + 928), 15);
    c1 = stepI(c1, d1, a1, b1, v128.load(MSG + 352), v128.load(KT + 928), 15);
    b0 = stepI(b0, c0, d0, a0, v128.load(MSG + 208), v128.load(KT + 944), 21);
    b1 = stepI(b1, c1, d1, a1, v128.load(MSG + 464), v128.load(KT + 944), 21);
    a0 = stepI(a0, b0, c0, d0, v128.load(MSG + 64), v128.load(KT + 960), 6);
    a1 = stepI(a1, b1, c1, d1, v128.load(MSG + 320), v128.load(KT + 960), 6);
    d0 = stepI(d0, a0, b0, c0, v128.load(MSG + 176), v128.load(KT + 976), 10);
    d1 = stepI(d1, a1, b1, c1, v128.load(MSG + 432), v128.load(KT + 976), 10);
    c0 = stepI(c0, d0, a0, b0, v128.load(MSG + 32), v128.load(KT + 992), 15);
    c1 = stepI(c1, d1, a1, b1, v128.load(MSG + 288), v128.load(KT + 992), 15);
    b0 = stepI(b0, c0, d0, a0, v128.load(MSG + 144), v128.load(KT + 1008), 21);
    b1 = stepI(b1, c1, d1, a1, v128.load(MSG + 400), v128.load(KT + 1008), 21);

    a0 = i32x4.add(a0, sa0);
    b0 = i32x4.add(b0, sb0);
    c0 = i32x4.add(c0, sc0);
    d0 = i32x4.add(d0, sd0);
    a1 = i32x4.add(a1, sa1);
    b1 = i32x4.add(b1, sb1);
    c1 = i32x4.add(c1, sc1);
    d1 = i32x4.add(d1, sd1);
    p0 += 64;
    p1 += 64;
    p2 += 64;
    p3 += 64;
    p4 += 64;
    p5 += 64;
    p6 += 64;
    p7 += 64;
  }
  v128.store(state, a0);
  v128.store(state, b0, 16);
  v128.store(state, c0, 32);
  v128.store(state, d0, 48);
  v128.store(state, a1, 64);
  v128.store(state, b1, 80);
  v128.store(state, c1, 96);
  v128.store(state, d1, 112);
}
