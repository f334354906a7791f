// scripts/bundle.mjs: bundles the compiled CLI (dist/src, from tsc) into dist/bundle, the code
// bin/strata.js runs; part of `npm run build`.
//
// Why (issue 11, target 5): Node 20 resolves, reads and links each ES module of its own. The backup
// command's graph was 216 modules (94 of them zod's), about 0.2 s of every start. Bundled, a command
// loads a few files. Code splitting keeps what a command does not need out of its start: each
// command (cli/registry's dynamic imports) and each backend (backend/open's) is a chunk of its own,
// loaded when used; the AWS SDK stays a package of node_modules, imported by the S3 chunk only.
//
// The files found next to the code at run time by `new URL('./x', import.meta.url)` — the two
// worker scripts and the PAR2 kernels — sit beside the chunks: the workers are entry points named
// as before, the kernels are copied. dist/bundle/meta.json (esbuild's metafile) tells which source
// module went into which chunk (test/cli/startup reads it to name what a run loaded).
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'dist', 'src');
const out = path.join(root, 'dist', 'bundle');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: [path.join(src, 'cli', 'bin.js'), path.join(src, 'scan', 'stat-worker.js'), path.join(src, 'parity', 'par2-worker.js')],
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  // The AWS SDK is large and loaded only for an S3 destination: it stays in node_modules.
  external: ['@aws-sdk/*', '@smithy/*'],
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
  // CommonJS packages bundled into ES modules (yaml, ignore, picomatch) call require() for Node's
  // own modules; esbuild's shim needs a real require in scope to do that ("Dynamic require of
  // "process" is not supported" otherwise), so each output file gets one.
  banner: { js: "import { createRequire as strataCreateRequire } from 'node:module'; const require = strataCreateRequire(import.meta.url);" },
});
// Whatever kernels scripts/build-wasm.mjs made (its list of outputs is the one list of them).
for (const kernel of readdirSync(path.join(src, 'parity')).filter((n) => n.endsWith('.wasm'))) copyFileSync(path.join(src, 'parity', kernel), path.join(out, kernel));
writeFileSync(path.join(out, 'meta.json'), JSON.stringify(result.metafile));
