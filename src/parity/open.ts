/**
 * parity/open: chooses the PAR2 engine. STRATA_PAR2_ENGINE=wasm (the default) creates PAR2 files
 * in-process (wasm-engine.ts: several times faster, same files as par2cmdline) and verifies and
 * repairs with par2cmdline; STRATA_PAR2_ENGINE=par2cmdline does everything with par2cmdline. Both
 * need par2 installed (RESTORE.txt promises repair with stock par2).
 */
import { existsSync } from 'node:fs';
import { StrataError } from '../errors.js';
import type { ParityEngine } from './engine.js';
import { kernelUrl } from './gf16-wasm.js';
import { Par2CmdlineEngine } from './par2cmdline.js';
import { WasmPar2Engine } from './wasm-engine.js';

/** PARITY_ENGINES are the values STRATA_PAR2_ENGINE accepts. */
export const PARITY_ENGINES = ['wasm', 'par2cmdline'] as const;

/** openParityEngine returns the engine STRATA_PAR2_ENGINE names (default wasm). */
export async function openParityEngine(env: NodeJS.ProcessEnv = process.env, options: { threads?: number } = {}): Promise<ParityEngine> {
  const choice = env['STRATA_PAR2_ENGINE'] ?? '';
  if (choice !== '' && !(PARITY_ENGINES as readonly string[]).includes(choice)) {
    throw new StrataError('CONFIG', `STRATA_PAR2_ENGINE is ${choice}; it must be one of ${PARITY_ENGINES.join(', ')}`, { hint: 'Unset it for the default (wasm), or set par2cmdline to create PAR2 files with par2 itself.' });
  }
  if (choice === 'par2cmdline') return Par2CmdlineEngine.open(env, options);
  const par2 = await Par2CmdlineEngine.open(env, options);
  // A build without the kernel (asm/ not compiled) still works, with par2cmdline.
  if (!existsSync(kernelUrl)) return par2;
  return new WasmPar2Engine(par2, options);
}
