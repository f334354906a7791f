/**
 * bench: `npm run bench [-- --size 100MiB --files 20000]` — strata against the raw tools on the
 * same data in the same run, printed side by side as ratios:
 *   full backup        vs  7zz a (same settings: LZMA2, level, AES + -mhe, volumes, -ms=off)
 *   no-change daily    vs  git status on the same tree (a git repo of it, made beforehand)
 *   restore            vs  7zz x
 *   PAR2 creation      vs  par2 create with the same redundancy on the same volumes
 * plus the peak memory (RSS) of the strata process, at the full file count and at half of it,
 * to show that memory does not grow with the number of files.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { parseSize } from '../src/core/size.js';
import { formatBytes } from '../src/ui/output.js';

const { values } = parseArgs({
  options: { size: { type: 'string', default: '100MiB' }, files: { type: 'string', default: '20000' }, dir: { type: 'string' }, keep: { type: 'boolean', default: false } },
});
const totalBytes = parseSize(values.size);
const smallFiles = Number(values.files);
const root = path.resolve(values.dir ?? path.join(os.tmpdir(), `strata-bench-${process.pid}`));
const strata = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../bin/strata.js');
const password = 'bench-' + randomBytes(8).toString('hex');
const env = { ...process.env, STRATA_PASSWORD: password };

const words = 'the quick brown fox jumps over lazy dog backup archive volume parity restore encrypt window tier daily weekly monthly yearly'.split(' ');
function text(n: number): Buffer {
  const parts: string[] = [];
  let len = 0;
  let i = 0;
  while (len < n) {
    const w = words[(i * 7919 + (i >> 3)) % words.length] ?? 'x';
    parts.push(w);
    len += w.length + 1;
    i++;
    if (i % 12 === 0) parts.push('\n');
  }
  return Buffer.from(parts.join(' ')).subarray(0, n);
}

async function makeCorpus(dir: string, files: number, bytes: number): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const smallEach = 2048;
  const smallTotal = files * smallEach;
  const rest = Math.max(0, bytes - smallTotal);
  const textBytes = Math.floor(rest * 0.45);
  const randomBytesTotal = rest - textBytes;
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, 'small', `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) await fsp.mkdir(sub, { recursive: true });
    await fsp.writeFile(path.join(sub, `f${i}.txt`), i % 3 === 0 ? randomBytes(smallEach) : text(smallEach));
  }
  await fsp.mkdir(path.join(dir, 'text'), { recursive: true });
  await fsp.mkdir(path.join(dir, 'bin'), { recursive: true });
  const chunk = 8 << 20;
  for (let i = 0, left = textBytes; left > 0; i++, left -= chunk) await fsp.writeFile(path.join(dir, 'text', `doc${i}.txt`), text(Math.min(chunk, left)));
  for (let i = 0, left = randomBytesTotal; left > 0; i++, left -= chunk) await fsp.writeFile(path.join(dir, 'bin', `blob${i}.bin`), randomBytes(Math.min(chunk, left)));
}

interface Timed {
  seconds: number;
  peakRss: number;
  code: number;
}

/** time runs a command and samples its RSS (VmRSS from /proc) to find the peak. */
function time(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env, stdio: ['pipe', 'ignore', 'pipe'] });
    let peak = 0;
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const sample = (): void => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m !== null) peak = Math.max(peak, Number(m[1]) * 1024);
      } catch {
        // exited
      }
    };
    const timer = setInterval(sample, 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - start) / 1000;
      if (code !== 0 && code !== 3) reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.slice(-2000)}`));
      else resolve({ seconds, peakRss: peak, code: code ?? -1 });
    });
    child.stdin.end(opts.input ?? '');
  });
}

function row(name: string, ours: number, theirs: number, against: string, target: string): void {
  const ratio = ours / theirs;
  console.log(`${name.padEnd(26)} ${ours.toFixed(2).padStart(8)} s  ${against.padEnd(22)} ${theirs.toFixed(2).padStart(8)} s  ratio ${ratio.toFixed(3)}  ${target}`);
}

async function duSize(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) if (e.isFile()) n += (await fsp.stat(path.join(e.parentPath, e.name))).size;
  return n;
}

async function main(): Promise<void> {
  const src = path.join(root, 'src');
  console.log(`strata bench: corpus ${formatBytes(totalBytes)} with ${smallFiles} small files in ${root} (${os.cpus().length} cores)`);
  await makeCorpus(src, smallFiles, totalBytes);
  const state = path.join(root, 'state');
  const dest = path.join(root, 'dest');
  const volume = '100MiB';
  // 1. Full backup vs 7zz a with the same settings.
  const ours = await time('node', [strata, '--state', state, '--quiet', 'backup', '--tier', 'weekly', '--source', src, '--dest', dest, '--volume-size', volume]);
  const rawDir = path.join(root, 'raw');
  await fsp.mkdir(rawDir);
  const raw = await time('7zz', ['a', '-t7z', '-m0=lzma2', '-mx=5', '-mhe=on', '-p', '-v100m', '-ms=off', '-mmt=on', '-snl', '-bso0', '-bsp0', path.join(rawDir, 'raw.7z'), '.'], { cwd: src, input: password + '\n' });
  const par2Dir = path.join(root, 'par2raw');
  await fsp.mkdir(par2Dir);
  const rawVols = (await fsp.readdir(rawDir)).sort().map((f) => path.join(rawDir, f));
  const rawPar = await time('par2', ['create', '-q', '-q', '-r12', `-t${os.cpus().length}`, '-n1', path.join(rawDir, 'raw.par2'), ...rawVols]);
  console.log('');
  console.log(`${'operation'.padEnd(26)} ${'strata'.padStart(10)}  ${'raw tool'.padEnd(22)} ${'raw'.padStart(10)}`);
  row('full backup (weekly)', ours.seconds, raw.seconds + rawPar.seconds, '7zz a + par2 create', 'target <= 1.05 + protection');
  row('  archive only', ours.seconds - rawPar.seconds, raw.seconds, '7zz a', 'target <= 1.05 (approx.)');
  // 2. No-change daily vs git status.
  const gitDir = path.join(root, 'gitcheck');
  spawnSync('git', ['init', '-q', gitDir]);
  spawnSync('git', ['--git-dir', path.join(gitDir, '.git'), '--work-tree', src, 'add', '-A'], { stdio: 'ignore' });
  spawnSync('git', ['--git-dir', path.join(gitDir, '.git'), '--work-tree', src, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qm', 'x'], { stdio: 'ignore' });
  const daily = await time('node', [strata, '--state', state, '--quiet', 'backup', '--tier', 'daily', '--source', src, '--dest', dest]);
  const git = await time('git', ['--git-dir', path.join(gitDir, '.git'), '--work-tree', src, 'status', '--porcelain']);
  row('no-change daily', daily.seconds, git.seconds, 'git status', 'target <= 1.0');
  // 3. Restore vs 7zz x.
  const restoreDir = path.join(root, 'restored');
  const rest = await time('node', [strata, '--state', state, '--quiet', 'restore', '--dest', dest, '--to', restoreDir]);
  const rawOut = path.join(root, 'rawout');
  const rawX = await time('7zz', ['x', '-bso0', '-bsp0', `-o${rawOut}`, path.join(rawDir, 'raw.7z.001')], { input: password + '\n' });
  row('restore', rest.seconds, rawX.seconds, '7zz x', '(checks every SHA-256)');
  // 4. Verify vs 7zz t + par2 verify.
  const ver = await time('node', [strata, '--state', state, '--quiet', 'verify', '--dest', dest]);
  const rawT = await time('7zz', ['t', '-bso0', '-bsp0', path.join(rawDir, 'raw.7z.001')], { input: password + '\n' });
  const rawPv = await time('par2', ['verify', '-q', '-q', path.join(rawDir, 'raw.par2')]);
  row('verify', ver.seconds, rawT.seconds + rawPv.seconds, '7zz t + par2 verify', '');
  const stored = await duSize(dest);
  console.log('');
  console.log(`stored: strata ${formatBytes(stored)}; raw 7zz ${formatBytes(await duSize(rawDir))} (incl. par2)`);
  console.log(`throughput: strata full backup ${(totalBytes / 1048576 / ours.seconds).toFixed(1)} MB/s; 7zz a ${(totalBytes / 1048576 / raw.seconds).toFixed(1)} MB/s; par2 create ${(rawVols.reduce((s, f) => s + fs.statSync(f).size, 0) / 1048576 / rawPar.seconds).toFixed(1)} MB/s`);
  // 5. Memory as the file count grows: a no-change scan of the corpus vs of one with half the files.
  const halfSrc = path.join(root, 'half');
  await makeCorpus(halfSrc, Math.floor(smallFiles / 2), Math.floor(smallFiles / 2) * 2048);
  const fullSrcSmall = path.join(root, 'fullsmall');
  await makeCorpus(fullSrcSmall, smallFiles, smallFiles * 2048);
  const memDest = path.join(root, 'memdest');
  const m1 = await time('node', [strata, '--state', path.join(root, 'memstate1'), '--quiet', 'backup', '--tier', 'weekly', '--level', '1', '--source', halfSrc, '--dest', memDest + '1']);
  const m2 = await time('node', [strata, '--state', path.join(root, 'memstate2'), '--quiet', 'backup', '--tier', 'weekly', '--level', '1', '--source', fullSrcSmall, '--dest', memDest + '2']);
  console.log('');
  console.log(`peak RSS of the strata process: full backup ${formatBytes(ours.peakRss)}, no-change daily ${formatBytes(daily.peakRss)}, restore ${formatBytes(rest.peakRss)}`);
  console.log(`peak RSS vs file count: ${Math.floor(smallFiles / 2)} files ${formatBytes(m1.peakRss)}; ${smallFiles} files ${formatBytes(m2.peakRss)} (ratio ${(m2.peakRss / m1.peakRss).toFixed(2)}; bounded when close to 1)`);
  if (values.keep !== true) await fsp.rm(root, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
