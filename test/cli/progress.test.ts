/**
 * The progress line (issue 12): on a terminal one line updated in place with the phase, bytes done
 * / total, speed and ETA, every stage of a backup visible; off a terminal no control characters,
 * and with --verbose plain lines; a summary with the duration; --json phases with seconds and bytes.
 * The terminal is a real pseudo-terminal (util-linux `script`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Backend } from '../../src/backend/s3.js';
import { CLI_ENTRY, strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const outputModule = fileURLToPath(new URL('../../src/ui/output.js', import.meta.url));

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** underPty runs a shell command with a pseudo-terminal as its stdin/stdout/stderr; resolves with what the terminal showed. */
function underPty(command: string, env: Record<string, string>): Promise<{ output: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb', COLUMNS: '100', ...env } });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ output, code });
    });
  });
}

const CONTROL = /[\r\x1b\b]/; // eslint-disable-line no-control-regex

test('on a terminal: one line redrawn in place with phase, bytes done / total, speed and ETA, clipped to the width', { skip: hasScript ? false : 'util-linux script is not installed', timeout: 60_000 }, async () => {
  // The real ConsoleOutput on a real terminal, fed 100 MiB over ~2 s.
  const driver = `import(${JSON.stringify(outputModule)}).then(async (m) => {
    process.stderr.columns = 100;
    const out = new m.ConsoleOutput({ json: false, verbosity: 'normal' });
    const bar = out.progress('docs: archiving 3 files', 100 * 1048576, { bytes: true });
    for (let i = 1; i <= 8; i++) { await new Promise((r) => setTimeout(r, 300)); bar.update(i * 10 * 1048576, 'dir/' + 'long-name-'.repeat(20) + i); }
    bar.done();
    process.stderr.write('END\\n');
  });`;
  const { output, code } = await underPty(`${JSON.stringify(process.execPath)} --input-type=module -e ${shellQuote(driver)}`, {});
  assert.equal(code, 0, output);
  assert.match(output, /END/);
  const frames = output.split('\r').filter((f) => f.includes('docs: archiving'));
  assert.ok(frames.length >= 3, `the line is redrawn in place with \\r: ${JSON.stringify(output)}`);
  assert.ok(!output.slice(0, output.indexOf('END')).includes('\n'), 'no new line while the task runs');
  const line = frames.find((f) => /ETA/.test(f));
  assert.ok(line !== undefined, JSON.stringify(frames));
  assert.match(line, /^\[0:0\d\] {2}docs: archiving 3 files {2}\d+\.\d MiB \/ 100\.0 MiB {2}\d+% {2}\d+(\.\d+)? MiB\/s {2}ETA 0:0\d {2}dir\/long-name/);
  for (const f of frames) assert.ok(f.trimEnd().length <= 99, `clipped to the width: ${f.length}`);
});

test('a backup on a terminal shows every stage, and ends with a summary and its duration', { skip: hasScript ? false : 'util-linux script is not installed', timeout: 180_000 }, async (t) => {
  const root = await tempDir(t, 'strata-progress-');
  const src = path.join(root, 'docs');
  await mkdir(src);
  await mkdir(path.join(root, 'dest'));
  await writeFile(path.join(src, 'big.bin'), randomBytes(8 << 20));
  await writeFile(path.join(src, 'a.txt'), 'alpha\n');
  const args = ['--state', path.join(root, 'state'), 'backup', '-t', 'weekly', '--source', src, '--dest', path.join(root, 'dest')];
  const { output, code } = await underPty([process.execPath, CLI_ENTRY, ...args].map(shellQuote).join(' '), { STRATA_PASSWORD: 'pty pw' });
  assert.equal(code, 0, output);
  for (const stage of ['docs: scanning', 'docs: archiving 2 files', 'docs: completing the archive (PAR2, uploads)', 'docs: checking the sources did not change while read', 'docs: manifest', 'docs: checking the stored objects', 'docs: descriptor, local state and audit trail']) {
    assert.ok(output.includes(`\r[0:`) && output.includes(`  ${stage}`), `stage ${stage} is shown: ${JSON.stringify(output)}`);
  }
  assert.match(output, /\r\[0:\d\d\] {2}docs: archiving 2 files {2}[\d.]+ [KM]?i?B \/ 8\.00 MiB/);
  // 7-Zip's file counter, and after archiving bytes done / total for PAR2 and uploads, and the read-back.
  assert.match(output, /docs: archiving 2 files {2}[^\r]* [0-2] \/ 2 files/);
  const bytes = '[\\d.]+ [KMG]?i?B \\/ [\\d.]+ [KMG]?i?B {2}\\d+%';
  assert.match(output, new RegExp(`docs: completing the archive \\(PAR2, uploads\\) {2}${bytes}`));
  assert.match(output, new RegExp(`docs: checking the stored objects {2}${bytes}`));
  assert.match(output, /backup finished in \d+(\.\d+)? s/);
  // verify and restore show their phases with bytes too, and end with their duration.
  const state = ['--state', path.join(root, 'state')];
  const verify = await underPty([process.execPath, CLI_ENTRY, ...state, 'verify', '--dest', path.join(root, 'dest')].map(shellQuote).join(' '), { STRATA_PASSWORD: 'pty pw' });
  assert.equal(verify.code, 0, verify.output);
  assert.match(verify.output, new RegExp(`_FULL_docs: checking \\d+ objects {2}${bytes}`));
  assert.match(verify.output, new RegExp(`_FULL_docs: 7-Zip test {2}${bytes}`));
  // par2's own progress, as bytes of the volumes it checks.
  assert.match(verify.output, new RegExp(`_FULL_docs: PAR2 {2}${bytes}`));
  assert.match(verify.output, /verify finished in \d+(\.\d+)? s/);
  const restore = await underPty([process.execPath, CLI_ENTRY, ...state, 'restore', '--dest', path.join(root, 'dest'), '--to', path.join(root, 'r')].map(shellQuote).join(' '), { STRATA_PASSWORD: 'pty pw' });
  assert.equal(restore.code, 0, restore.output);
  // From a local destination the volumes' SHA-256 are checked beside the extraction (restore/run
  // fetchAndExtract), not as a stage before it: the extraction's bar, with bytes, is what shows.
  assert.match(restore.output, new RegExp(`_FULL_docs: manifest`));
  assert.match(restore.output, new RegExp(`_FULL_docs: extracting 2 files {2}${bytes}`));
  assert.match(restore.output, new RegExp(`_FULL_docs: checking and placing 2 files`));
  assert.match(restore.output, /restore finished in \d+(\.\d+)? s/);
  // --json on a terminal: the JSON document alone, no status line mixed into it.
  await writeFile(path.join(src, 'b.txt'), 'beta\n');
  const json = await underPty([process.execPath, CLI_ENTRY, ...state, '--json', 'backup', '-t', 'weekly', '--source', src, '--dest', path.join(root, 'dest')].map(shellQuote).join(' '), { STRATA_PASSWORD: 'pty pw' });
  assert.equal(json.code, 0, json.output);
  assert.doesNotMatch(json.output, /\[0:\d\d\]/, 'no status line with --json');
  const doc = JSON.parse(json.output) as { sources: { phases: unknown[] }[] };
  assert.equal(doc.sources.length, 1);
});

test('off a terminal: no control characters, even with --verbose, which writes plain lines per stage; --json carries phases and durations', { timeout: 180_000 }, async (t) => {
  const root = await tempDir(t, 'strata-progress-plain-');
  const src = path.join(root, 'docs');
  await mkdir(src);
  await writeFile(path.join(src, 'a.txt'), 'alpha\n'.repeat(1000));
  await writeFile(path.join(src, 'b.bin'), randomBytes(200_000));
  const env = { STRATA_PASSWORD: 'plain pw' };
  const state = ['--state', path.join(root, 'state')];
  const dest = path.join(root, 'dest');
  const b = await strata([...state, '--verbose', 'backup', '-t', 'weekly', '--source', src, '--dest', dest], { env });
  assert.equal(b.code, 0, b.stderr);
  assert.ok(!CONTROL.test(b.stderr) && !CONTROL.test(b.stdout), `control characters off a terminal: ${JSON.stringify(b.stderr)}`);
  for (const stage of ['scanning', 'archiving 2 files', 'completing the archive (PAR2, uploads)', 'manifest', 'checking the stored objects']) {
    assert.match(b.stderr, new RegExp(`^\\[0:\\d\\d\\]  docs: ${stage.replace(/[()]/g, '\\$&')}`, 'm'));
  }
  assert.match(b.stdout, /^backup finished in \d+\.\d+ s$/m);
  for (const args of [['verify', '--dest', dest], ['restore', '--dest', dest, '--to', path.join(root, 'r')]]) {
    const r = await strata([...state, '--verbose', ...args], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!CONTROL.test(r.stderr) && !CONTROL.test(r.stdout), `${args[0]}: ${JSON.stringify(r.stderr)}`);
    assert.match(r.stdout, new RegExp(`^${args[0]} finished in \\d+\\.\\d+ s$`, 'm'));
  }
  // Without --verbose, off a terminal: no progress at all.
  await writeFile(path.join(src, 'c.txt'), 'gamma\n');
  const quietish = await strata([...state, 'backup', '-t', 'weekly', '--source', src, '--dest', dest], { env });
  assert.equal(quietish.code, 0, quietish.stderr);
  assert.doesNotMatch(quietish.stderr, /\[0:\d\d\]/);
  // --json: per set, each stage with its seconds (monotonic, not the pinned clock) and bytes.
  await writeFile(path.join(src, 'd.txt'), 'delta\n');
  const j = await strata([...state, '--json', 'backup', '-t', 'weekly', '--source', src, '--dest', dest], { env: { ...env, STRATA_NOW: '2026-12-05T10:00:00Z' } });
  assert.equal(j.code, 0, j.stderr);
  const doc = JSON.parse(j.stdout) as { seconds: number; sources: { phases: { name: string; seconds: number; bytes: number | null }[]; bytes: number; archivedBytes: number }[] };
  assert.ok(doc.seconds > 0, 'the run took time, though the clock is pinned');
  const [s] = doc.sources;
  assert.ok(s !== undefined);
  assert.deepEqual(s.phases.map((p) => p.name), ['prepare', 'scan', 'archive', 'complete', 'recheck', 'manifest', 'read-back', 'finalize']);
  for (const p of s.phases) assert.ok(p.seconds >= 0 && p.seconds < 120, JSON.stringify(p));
  assert.ok(s.phases.reduce((n, p) => n + p.seconds, 0) > 0);
  const bytesOf = (name: string): number | null | undefined => s.phases.find((p) => p.name === name)?.bytes;
  assert.equal(bytesOf('scan'), s.bytes);
  assert.equal(bytesOf('archive'), s.archivedBytes);
  assert.ok((bytesOf('complete') ?? 0) > 0 && (bytesOf('read-back') ?? 0) > (bytesOf('complete') ?? 0));
  assert.equal(bytesOf('prepare'), null);
  // restore and verify: the same shape, phases named alike (prepare … finalize), with bytes where they handle them.
  type Phases = { seconds: number; phases: { name: string; seconds: number; bytes: number | null }[] };
  const rj = JSON.parse((await strata([...state, '--json', 'restore', '--dest', dest, '--to', path.join(root, 'r2')], { env })).stdout) as Phases & { restored: { bytes: number }[] };
  assert.ok(rj.seconds > 0);
  assert.deepEqual(rj.phases.map((p) => p.name), ['prepare', 'manifest', 'fetch', 'extract', 'place', 'finalize']);
  assert.ok((rj.phases.find((p) => p.name === 'fetch')?.bytes ?? 0) > 0);
  assert.equal(rj.phases.find((p) => p.name === 'place')?.bytes, rj.restored[0]?.bytes);
  // Each holding set is extracted whole here: the bytes extracted are the bytes restored.
  assert.equal(rj.phases.find((p) => p.name === 'extract')?.bytes, rj.restored[0]?.bytes);
  const vj = JSON.parse((await strata([...state, '--json', 'verify', '--dest', dest], { env })).stdout) as Phases;
  assert.ok(vj.seconds > 0);
  assert.deepEqual(vj.phases.map((p) => p.name), ['prepare', 'check', 'par2', 'test', 'restore-text']);
  assert.ok((vj.phases.find((p) => p.name === 'check')?.bytes ?? 0) > (vj.phases.find((p) => p.name === 'test')?.bytes ?? 0));
  // par2 checked every volume (and the manifest): at least the bytes 7-Zip tested.
  assert.ok((vj.phases.find((p) => p.name === 'par2')?.bytes ?? 0) > (vj.phases.find((p) => p.name === 'test')?.bytes ?? 0), JSON.stringify(vj.phases));
  for (const ph of [...rj.phases, ...vj.phases]) assert.ok(ph.seconds >= 0 && ph.seconds <= Math.max(rj.seconds, vj.seconds), JSON.stringify(ph));
  const remote = JSON.parse((await strata([...state, '--json', 'verify', '--read-data', '--dest', dest], { env })).stdout) as Phases;
  assert.deepEqual(remote.phases.map((p) => p.name), ['prepare', 'check', 'read', 'restore-text']);
  assert.ok((remote.phases.find((p) => p.name === 'read')?.bytes ?? 0) > 0);
});

test('a resumed backup on a terminal shows PAR2 and uploads with bytes done / total (no blank screen)', { skip: hasScript ? false : 'util-linux script is not installed', timeout: 180_000 }, async (t) => {
  const root = await tempDir(t, 'strata-progress-resume-');
  const src = path.join(root, 'docs');
  await mkdir(src);
  for (let i = 0; i < 2; i++) await writeFile(path.join(src, `f${i}.bin`), randomBytes(150_000));
  const state = path.join(root, 'state');
  const args = ['--state', state, 'backup', '-t', 'weekly', '--source', src, '--dest', path.join(root, 'dest'), '--volume-size', '64KiB', '--level', '1'];
  const env = { STRATA_PASSWORD: 'resume pw', STRATA_NOW: '2026-11-29T10:00:00Z' };
  // The first run is killed as soon as its resume journal exists: the archive is written, not stored.
  let killed = false;
  const first = await strata(args, {
    env,
    onSpawn: (child) => {
      const timer = setInterval(() => {
        let names: string[] = [];
        try {
          names = readdirSync(state, { recursive: true }).map(String);
        } catch {
          return;
        }
        if (names.some((n) => n.endsWith('.resume.json'))) {
          killed = child.kill('SIGKILL');
          clearInterval(timer);
        }
      }, 1);
      child.on('exit', () => clearInterval(timer));
    },
  });
  assert.ok(killed && first.signal === 'SIGKILL', `the first run was killed after archiving (code ${first.code}, ${first.stderr})`);
  const { output, code } = await underPty([process.execPath, CLI_ENTRY, ...args].map(shellQuote).join(' '), { ...env, STRATA_NOW: '2026-11-29T11:00:00Z' });
  assert.equal(code, 0, output);
  assert.match(output, /resuming the unfinished set/);
  assert.match(output, /\r\[0:\d\d\] {2}docs: completing the archive \(PAR2, uploads\) {2}[\d.]+ [KMG]?i?B \/ [\d.]+ [KMG]?i?B {2}\d+%/);
  assert.match(output, /backup finished in/);
});

test('with an S3 destination: uploads, fetching and verify show bytes as they stream', { skip: hasScript ? false : 'util-linux script is not installed', timeout: 180_000 }, async (t) => {
  const endpoint = process.env['STRATA_TEST_S3_ENDPOINT'] ?? '';
  const key = process.env['STRATA_TEST_S3_KEY'] ?? '';
  const secret = process.env['STRATA_TEST_S3_SECRET'] ?? '';
  assert.ok(endpoint !== '' && key !== '' && secret !== '', 'the test servers are not set up (STRATA_TEST_S3_*; see /work/test-env.sh or scripts/test-servers)');
  const bucket = `strata-progress-${randomBytes(4).toString('hex')}`;
  const s3 = new S3Backend({ bucket, endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: key, secretAccessKey: secret } });
  await s3.createBucket();
  await s3.close();
  const dest = `s3://${bucket}/p?endpoint=${encodeURIComponent(endpoint)}&pathStyle=true`;
  const root = await tempDir(t, 'strata-progress-s3-');
  const src = path.join(root, 'docs');
  await mkdir(src);
  await writeFile(path.join(src, 'big.bin'), randomBytes(512 << 10));
  const env = { STRATA_PASSWORD: 'pty s3 pw', AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret };
  const state = ['--state', path.join(root, 'state')];
  const bytes = '[\\d.]+ [KMG]?i?B \\/ [\\d.]+ [KMG]?i?B {2}\\d+%';
  const run = async (args: string[]): Promise<string> => {
    const { output, code } = await underPty([process.execPath, CLI_ENTRY, ...state, ...args].map(shellQuote).join(' '), env);
    assert.equal(code, 0, output);
    return output;
  };
  const backup = await run(['backup', '-t', 'weekly', '--source', src, '--dest', dest]);
  // What is left after 7-Zip (uploads, counted as they stream, and PAR2) has a total in bytes.
  assert.match(backup, new RegExp(`docs: completing the archive \\(PAR2, uploads\\) {2}${bytes}`));
  const restore = await run(['restore', '--dest', dest, '--to', path.join(root, 'r')]);
  assert.match(restore, new RegExp(`_FULL_docs: fetching \\d+ volumes? {2}${bytes}`));
  assert.match(restore, new RegExp(`_FULL_docs: checking \\d+ volumes? {2}${bytes}`));
  const verify = await run(['verify', '--dest', dest]);
  assert.match(verify, new RegExp(`_FULL_docs: fetching \\d+ objects {2}${bytes}`));
  assert.match(verify, /verify finished in/);
});
