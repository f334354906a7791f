// scripts/build-wasm.mjs: compiles the PAR2 GF(2^16) kernel (asm/gf16.ts, AssemblyScript) to
// dist/src/parity/gf16.wasm (WebAssembly SIMD) and gf16-relaxed.wasm (the same source with
// i8x16.relaxed_swizzle, which V8 compiles to one pshufb: the kernel's indices are always 0…15, where
// both swizzles agree); part of `npm run build`, skipped when the outputs are newer than the source.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'asm', 'gf16.ts');
const outDir = path.join(root, 'dist', 'src', 'parity');
const outputs = [
  { file: path.join(outDir, 'gf16.wasm'), relaxed: false },
  { file: path.join(outDir, 'gf16-relaxed.wasm'), relaxed: true },
];
/** @param {string} p a file's path @returns {number} its mtime in ms, -1 when it does not exist */
const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
};
const newest = Math.max(mtime(src), mtime(import.meta.filename));
const stale = outputs.filter((o) => mtime(o.file) <= newest);
if (stale.length === 0) process.exit(0);
mkdirSync(outDir, { recursive: true });
const asc = path.join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'strata-asm-'));
try {
  for (const o of stale) {
    let input = src;
    const args = ['-O3', '--runtime', 'stub', '--enable', 'simd', '--initialMemory', '4'];
    if (o.relaxed) {
      input = path.join(tmp, 'gf16-relaxed.ts');
      writeFileSync(input, readFileSync(src, 'utf8').replaceAll('i8x16.swizzle(', 'i8x16.relaxed_swizzle('));
      args.push('--enable', 'relaxed-simd');
    }
    const r = spawnSync(process.execPath, [asc, input, '-o', o.file, ...args], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
