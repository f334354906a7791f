/**
 * parity/gf16: GF(2^16) arithmetic as PAR2 2.0 defines it (generator polynomial 0x1100B), the
 * constants of the input slices and the Reed-Solomon coefficients. Pure; the fast region kernel is
 * asm/gf16.ts (WebAssembly), this is what it is checked against.
 *
 * - Input slice i gets the constant 2^n_i, n_i the i-th integer n ≥ 1 with gcd(n, 65535) = 1 (not
 *   divisible by 3, 5, 17 or 257), so log(constant_i) = n_i.
 * - Recovery slice e is Σ_i constant_i^e · slice_i over 16-bit little-endian words, so its
 *   coefficient for input i is 2^(n_i·e mod 65535).
 */

/** GF_EXP[k] = 2^k for k < 65535 (and GF_EXP[65535] = 1); GF_LOG is its inverse (GF_LOG[0] unused). */
export const GF_EXP = new Uint16Array(65536);
export const GF_LOG = new Uint16Array(65536);
{
  let x = 1;
  for (let k = 0; k < 65535; k++) {
    GF_EXP[k] = x;
    GF_LOG[x] = k;
    x <<= 1;
    if (x & 0x10000) x ^= 0x1100b;
  }
  GF_EXP[65535] = 1;
}

/** gfMul multiplies two field elements. */
export function gfMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return GF_EXP[((GF_LOG[a] ?? 0) + (GF_LOG[b] ?? 0)) % 65535] ?? 0;
}

/** gfPow raises a field element to the power e. */
export function gfPow(a: number, e: number): number {
  if (e === 0) return 1;
  if (a === 0) return 0;
  return GF_EXP[((GF_LOG[a] ?? 0) * e) % 65535] ?? 0;
}

/** MAX_INPUT_SLICES is how many input slices PAR2 can give distinct constants (φ(65535)). */
export const MAX_INPUT_SLICES = 32768;

/** inputLogs returns log(constant_i) for the first `count` input slices. */
export function inputLogs(count: number): Uint32Array {
  if (count > MAX_INPUT_SLICES) throw new RangeError(`PAR2 allows at most ${MAX_INPUT_SLICES} input slices, not ${count}`);
  const out = new Uint32Array(count);
  let n = 0;
  for (let i = 0; i < count; i++) {
    do n++;
    while (n % 3 === 0 || n % 5 === 0 || n % 17 === 0 || n % 257 === 0);
    out[i] = n;
  }
  return out;
}

/** coefficient is the factor of input slice i (log n_i) in recovery slice e. */
export function coefficient(logConstant: number, exponent: number): number {
  return GF_EXP[(logConstant * exponent) % 65535] ?? 0;
}

/**
 * mulAddWords is the plain (scalar) multiply-add: dst ^= c·src over little-endian 16-bit words.
 * The reference the kernel is tested against; too slow for real data.
 */
export function mulAddWords(src: Uint8Array, dst: Uint8Array, c: number): void {
  for (let o = 0; o + 1 < src.length; o += 2) {
    const p = gfMul((src[o] ?? 0) | ((src[o + 1] ?? 0) << 8), c);
    dst[o] = (dst[o] ?? 0) ^ (p & 0xff);
    dst[o + 1] = (dst[o + 1] ?? 0) ^ (p >> 8);
  }
}
