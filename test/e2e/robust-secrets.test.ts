/**
 * Secrets through the real CLI: after weekly + daily backups, a restore, verify and list (some with
 * --verbose), no byte on the destination holds a source file or folder name (UTF-8 or UTF-16LE),
 * the password or the source's absolute path; the state folder and every run's output never hold
 * the password. While a backup and a restore run, the argv of every descendant process never holds
 * the password, and no child (7zz, par2, git) inherits STRATA_PASSWORD / STRATA_PASSWORD_FILE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { tempDir } from '../helpers/tmp.js';
import type { CliResult } from '../helpers/cli.js';
import { ProcWatcher, Rng, assertSameTree, exeOf, findNeedles, makeRig, needles, readProc, show, sleep, snapshot, walk, writeTree } from './robust-util.js';

const PASSWORD = 'Corvid-Ωmega-pässwort-9f3e7a1b';

/** Distinctive names: ASCII, Latin-1, CJK, emoji, and a 200-character one; each one is searched for. */
const DIRS = ['Xylophone_Folder_Q7', 'Ordner_Größe_Straße', '秘密の資料フォルダ', 'Zzz_' + 'LongFolderName'.repeat(14)];
const FILES = ['Quokka_Manifesto_2024.txt', 'Bücherliste_Übersicht.md', '日本語のファイル名.dat', 'Émoji_🦊_Renard.bin', 'Yy_' + 'LongFileName'.repeat(16) + '.log'];

async function makeSource(src: string): Promise<string[]> {
  const rng = new Rng(42);
  const files: Record<string, Buffer> = {};
  for (const d of DIRS) for (const f of FILES) files[`${d}/${f}`] = rng.next() < 0.5 ? rng.text(rng.int(100, 30_000)) : rng.bytes(rng.int(100, 30_000));
  files['Top_Level_Pamplemousse.cfg'] = rng.text(500);
  await writeTree(src, files);
  await fsp.mkdir(path.join(src, 'Empty_Vestibule_Folder'));
  await fsp.symlink('Top_Level_Pamplemousse.cfg', path.join(src, 'Symlink_Gargoyle_Pointer'));
  return [...DIRS, ...FILES, 'Top_Level_Pamplemousse.cfg', 'Empty_Vestibule_Folder', 'Symlink_Gargoyle_Pointer'];
}

test('no file name, folder name, source path or password on the destination; no password in state or output', { timeout: 300_000 }, async (t) => {
  const root = await tempDir(t, 'strata-robust-names-');
  // The source folder's own name names the sets, so it is plain; its absolute path must not appear.
  const src = path.join(root, 'docs');
  const rig = makeRig({ src, dest: path.join(root, 'dest'), state: path.join(root, 'state'), password: PASSWORD, volumeSize: '64KiB' });
  const names = await makeSource(src);
  const runs: { what: string; r: CliResult }[] = [];
  const go = async (what: string, p: Promise<CliResult>, expect = 0): Promise<void> => {
    const r = await p;
    runs.push({ what, r });
    assert.equal(r.code, expect, `${what}\n${show(r)}`);
  };

  await go('weekly --verbose', rig.backup('weekly', ['--verbose']));
  await fsp.writeFile(path.join(src, DIRS[0] ?? '', 'Newcomer_Marzipan_Note.txt'), 'added between the runs');
  await fsp.rm(path.join(src, DIRS[1] ?? '', FILES[0] ?? ''));
  names.push('Newcomer_Marzipan_Note.txt');
  await go('daily --verbose', rig.backup('daily', ['--verbose']));
  await go('daily --json (nothing changed)', rig.run(['--json', 'backup', '--tier', 'daily', '--source', src, '--dest', rig.dest, '--volume-size', '64KiB']));
  await go('list --verbose', rig.run(['--verbose', 'list', '--dest', rig.dest]));
  await go('verify --all --verbose', rig.verify(['--all', '--verbose']));
  const to = path.join(root, 'restored');
  await go('restore --verbose', rig.restore(to, ['--verbose']));
  assertSameTree(await snapshot(to), await snapshot(src), 'restore');
  // A wrong password and a password file are runs too: their output must not echo what they got.
  await go('verify, wrong password', rig.verify(['--all'], { env: { STRATA_PASSWORD: `${PASSWORD}-wrong` } }), 12);
  const pwFile = path.join(root, 'pw');
  await fsp.writeFile(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
  await go('list via STRATA_PASSWORD_FILE', rig.run(['list', '--dest', rig.dest], { env: { STRATA_PASSWORD: undefined, STRATA_PASSWORD_FILE: pwFile } }));

  // Every byte on the destination.
  const destNeedles = needles([...names, PASSWORD, src]);
  const dest = await findNeedles(rig.dest, destNeedles);
  t.diagnostic(`destination: ${dest.files} files, ${dest.bytes} bytes searched for ${destNeedles.length} patterns`);
  assert.ok(dest.files >= 10 && dest.bytes > 100_000, 'the destination should hold the sets');
  const kinds = new Set((await walk(rig.dest)).map((e) => e.rel.replace(/^.*?\.(strata\.json|manifest\.7z|7z\.\d+|par2|txt)$/, '$1')));
  for (const k of ['strata.json', 'manifest.7z', '7z.001', 'par2', 'txt']) assert.ok(kinds.has(k), `no ${k} object was searched`);
  assert.deepEqual(dest.hits, [], 'source names, the source path or the password on the destination');

  // The state folder (manifests, stat cache, audit trail, work folders) holds names, never the password.
  const pw = needles([PASSWORD]);
  const state = await findNeedles(rig.state, pw);
  t.diagnostic(`state: ${state.files} files, ${state.bytes} bytes`);
  assert.deepEqual(state.hits, [], 'the password in the state folder');
  // Output of every run, wrong-password runs included.
  for (const { what, r } of runs) {
    for (const n of pw) assert.ok(!Buffer.from(r.stdout + r.stderr).includes(n.bytes), `${what} printed the password`);
  }
});

/** Sample is what was seen of one process below strata. */
interface Sample {
  pid: number;
  exe: string;
  argv: string[];
  secretEnv: string[];
}

/**
 * watchChildren polls /proc every 2 ms while `run` is alive and records argv and the password
 * variables of every descendant that has exec'd its own program (a forked node before exec still
 * shows node's own memory, which legitimately holds the variable).
 */
async function watchChildren(pidOf: () => number | undefined, done: () => boolean, password: string): Promise<{ samples: Sample[]; leaks: string[] }> {
  const watcher = new ProcWatcher();
  const seen = new Map<string, Sample>();
  const leaks: string[] = [];
  const pwBytes = Buffer.from(password);
  while (!done()) {
    const pid = pidOf();
    if (pid !== undefined) {
      for (const child of watcher.poll(pid)) {
        const exe = exeOf(child);
        if (exe === undefined || exe === process.execPath) continue;
        const key = `${child}:${exe}`;
        if (seen.has(key)) continue;
        const cmdline = readProc(child, 'cmdline');
        const environ = readProc(child, 'environ');
        // Right after exec, /proc shows the new exe while cmdline and environ still read empty: look again.
        if (cmdline === undefined || environ === undefined || cmdline.length === 0 || environ.length === 0) continue;
        const vars = environ.toString('utf8').split('\0');
        const sample: Sample = {
          pid: child,
          exe,
          argv: cmdline.toString('utf8').split('\0').filter((a) => a !== ''),
          secretEnv: vars.filter((v) => v.startsWith('STRATA_PASSWORD')).map((v) => v.split('=')[0] ?? v),
        };
        seen.set(key, sample);
        if (cmdline.includes(pwBytes)) leaks.push(`argv of ${exe} (pid ${child}): ${sample.argv.join(' ')}`);
        if (environ.includes(pwBytes)) leaks.push(`environment of ${exe} (pid ${child}) holds the password`);
        if (sample.secretEnv.length > 0) leaks.push(`${exe} (pid ${child}) inherited ${sample.secretEnv.join(', ')}`);
      }
    }
    await sleep(2);
  }
  return { samples: [...seen.values()], leaks };
}

async function watched(run: (onSpawn: (c: ChildProcess) => void) => Promise<CliResult>): Promise<{ r: CliResult; samples: Sample[]; leaks: string[] }> {
  let child: ChildProcess | undefined;
  let finished = false;
  const p = run((c) => (child = c)).finally(() => (finished = true));
  const watch = watchChildren(() => child?.pid, () => finished, PASSWORD);
  const r = await p;
  const w = await watch;
  return { r, ...w };
}

test('the password is never in the argv or the environment of a child process (backup and restore)', { timeout: 300_000 }, async (t) => {
  const root = await tempDir(t, 'strata-robust-argv-');
  const src = path.join(root, 'src');
  const rng = new Rng(3);
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 24; i++) files[`f${i}.bin`] = rng.bytes(100_000);
  await writeTree(src, files);
  const rig = makeRig({ src, dest: path.join(root, 'dest'), state: path.join(root, 'state'), password: PASSWORD, volumeSize: '512KiB', level: '1' });

  const b = await watched((onSpawn) => rig.backup('weekly', [], { onSpawn }));
  assert.equal(b.r.code, 0, show(b.r));
  const progs = (s: Sample[]): string[] => [...new Set(s.map((x) => path.basename(x.exe)))].sort();
  t.diagnostic(`backup: ${b.samples.length} child processes seen: ${progs(b.samples).join(', ')}`);
  assert.ok(b.samples.some((s) => path.basename(s.exe) === '7zz' && s.argv[1] === 'a'), 'the 7zz that writes the archive was never seen; make the data bigger');
  assert.deepEqual(b.leaks, [], 'backup: the password or its variables reached a child');

  // The restore takes the password from a file: neither the password nor the variable reaches a child.
  const pwFile = path.join(root, 'pw');
  await fsp.writeFile(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
  const to = path.join(root, 'restored');
  const r = await watched((onSpawn) => rig.restore(to, [], { onSpawn, env: { STRATA_PASSWORD: undefined, STRATA_PASSWORD_FILE: pwFile } }));
  assert.equal(r.r.code, 0, show(r.r));
  t.diagnostic(`restore: ${r.samples.length} child processes seen: ${progs(r.samples).join(', ')}`);
  assert.ok(r.samples.some((s) => path.basename(s.exe) === '7zz' && s.argv[1] === 'x'), 'the 7zz that extracts was never seen');
  assert.deepEqual(r.leaks, [], 'restore: the password or its variables reached a child');
  assertSameTree(await snapshot(to), await snapshot(src), 'restore');
});
