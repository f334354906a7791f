// scripts/build-wasm.mjs: compiles the PAR2 GF(2^16) kernel (asm/gf16.ts, AssemblyScript) to
// dist/src/parity/gf16.wasm, part of `npm run build`; skipped when the output is newer than the source.
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'asm', 'gf16.ts');
const out = path.join(root, 'dist', 'src', 'parity', 'gf16.wasm');
const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
};
if (mtime(out) > mtime(src) && mtime(out) > mtime(import.meta.filename)) process.exit(0);
mkdirSync(path.dirname(out), { recursive: true });
const asc = path.join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
const r = spawnSync(process.execPath, [asc, src, '-o', out, '-O3', '--runtime', 'stub', '--enable', 'simd', '--initialMemory', '4'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
