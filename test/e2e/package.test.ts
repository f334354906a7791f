/**
 * The packed npm package is what `npm install -g` gives a user: it must hold the compiled code
 * (the package once shipped without dist/ and crashed at once with ERR_MODULE_NOT_FOUND) and
 * nothing else (no tests, no test-server scripts). Installed into an empty prefix, its `strata`
 * reports the tools it found and makes and restores a real backup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, input: opts.input ?? '', encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

test('npm pack holds the compiled CLI and nothing else; the installed strata backs up and restores', { timeout: 300_000 }, async (t) => {
  const work = await tempDir(t, 'strata-pack-');
  // The suite has built dist/ already; prepack (npm run build) is for a person running npm pack.
  const packed = JSON.parse(sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: repoRoot })) as { filename: string; files: { path: string }[] }[];
  const info = packed[0];
  assert.ok(info !== undefined, 'npm pack reported no package');
  const files = info.files.map((f) => f.path).sort();
  assert.ok(files.includes('bin/strata.js'), 'bin/strata.js missing from the package');
  assert.ok(files.includes('dist/bundle/bin.js'), 'the bundled CLI is missing from the package');
  assert.ok(files.includes('package.json') && files.includes('README.md'));
  // The PAR2 creator's WebAssembly kernels are compiled at build time and loaded at run time.
  assert.ok(files.includes('dist/bundle/gf16.wasm') && files.includes('dist/bundle/gf16-relaxed.wasm'), 'the PAR2 kernels are missing from the package');
  // The worker scripts are loaded by path, beside the chunks that start them.
  assert.ok(files.includes('dist/bundle/stat-worker.js') && files.includes('dist/bundle/par2-worker.js'), 'a worker script is missing from the package');
  // The bundle holds the compiled sources: dist/src (tsc's output, what the tests import) is not shipped.
  const unwanted = files.filter((f) => !(f === 'package.json' || f === 'README.md' || f === 'bin/strata.js' || (/^dist\/bundle\/[^/]+\.(js|wasm)$/.test(f))));
  assert.deepEqual(unwanted, [], 'the package holds files a user does not need');

  const prefix = path.join(work, 'prefix');
  await mkdir(prefix);
  const tarball = path.join(work, info.filename);
  sh('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball]);
  const bin = path.join(prefix, 'bin', 'strata');
  const env: NodeJS.ProcessEnv = { ...process.env, STRATA_PASSWORD: 'packaged-password' };
  delete env['STRATA_CONFIG'];
  delete env['STRATA_NOW'];

  const version = sh(bin, ['--version'], { env });
  const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  assert.match(version, new RegExp(`^strata ${pkg.version.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(version, /^7zz\s+\d+\.\d+ /m, version);
  assert.match(version, /^par2\s+\d+\.\d+\.\d+ /m, version);
  assert.match(version, new RegExp(`^node\\s+${process.version.replace(/\./g, '\\.')}$`, 'm'));

  const src = path.join(work, 'docs');
  await mkdir(path.join(src, 'sub'), { recursive: true });
  await writeFile(path.join(src, 'a.txt'), 'alpha\n');
  await writeFile(path.join(src, 'sub', 'b.bin'), Buffer.alloc(100_000, 7));
  const dest = path.join(work, 'dest');
  await mkdir(dest);
  const state = path.join(work, 'state');
  sh(bin, ['--state', state, 'backup', '--source', src, '--dest', dest, '--tier', 'weekly'], { env });
  const to = path.join(work, 'restored');
  sh(bin, ['--state', path.join(work, 'fresh-state'), 'restore', '--dest', dest, '--source', 'docs', '--to', to], { env });
  assert.deepEqual((await readdir(to)).sort(), ['a.txt', 'sub']);
  assert.equal(await readFile(path.join(to, 'a.txt'), 'utf8'), 'alpha\n');
  assert.deepEqual(await readFile(path.join(to, 'sub', 'b.bin')), Buffer.alloc(100_000, 7));
});
