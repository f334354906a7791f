/**
 * Failure handling through the real CLI: a wrong password (exit 12, nothing written), damage that
 * PAR2 cannot help with (tampered or deleted descriptor, lost volumes: exit 13 naming what is lost),
 * the job lock (exit 11 naming the holder; a stale lock taken over), a partial backup of an
 * unreadable file (exit 3 as user nobody; picked up by the next run), missing 7zz / par2 (exit 14
 * with the apt hint) and configuration errors (exit 2, destination and state untouched).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { tempDir } from '../helpers/tmp.js';
import type { CliResult } from '../helpers/cli.js';
import {
  Rng, assertSameTree, isAlive, makeRig, setFolders, show, snapshot, strataAs, waitFor, walk, writeTree, type Rig, type TreeEntry,
} from './robust-util.js';

const PASSWORD = 'errors-suite-password-31337';
const WRONG = { env: { STRATA_PASSWORD: 'this-is-not-the-password' } };

/** rigWith makes a source of `count` files of up to `maxSize` bytes (random, so volumes fill). */
async function rigWith(t: TestContext, prefix: string, count: number, maxSize: number): Promise<{ rig: Rig; root: string }> {
  const root = await tempDir(t, prefix);
  const rng = new Rng(count * 31 + maxSize);
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < count; i++) files[`folder${i % 5}/file-${String(i).padStart(3, '0')}.bin`] = rng.bytes(rng.int(Math.floor(maxSize / 4), maxSize));
  await writeTree(path.join(root, 'src'), files);
  await fsp.mkdir(path.join(root, 'dest')); // strata never creates a missing destination
  const rig = makeRig({ src: path.join(root, 'src'), dest: path.join(root, 'dest'), state: path.join(root, 'state'), password: PASSWORD, volumeSize: '64KiB', level: '1' });
  return { rig, root };
}

function sameSnapshot(a: Map<string, TreeEntry>, b: Map<string, TreeEntry>, what: string): void {
  assert.deepEqual([...a.entries()], [...b.entries()], `${what} changed`);
}

test('wrong password: restore, verify and backup exit 12 with a clear message and write nothing', { timeout: 300_000 }, async (t) => {
  const { rig, root } = await rigWith(t, 'strata-robust-pw-', 12, 20_000);
  const first = await rig.backup('weekly');
  assert.equal(first.code, 0, show(first));
  const destBefore = await snapshot(rig.dest);

  const to = path.join(root, 'restore-here');
  const r = await rig.restore(to, [], WRONG);
  assert.equal(r.code, 12, show(r));
  assert.match(r.stderr, /password/i, show(r));
  const written = fs.existsSync(to) ? (await walk(to)).map((e) => e.rel) : [];
  assert.deepEqual(written, [], 'restore with a wrong password wrote into the target');
  // The password is checked while the manifest is read: a target folder made meanwhile (and those
  // above it) is removed again.
  assert.equal(fs.existsSync(to), false, 'restore with a wrong password left the target folder it made');
  const deep = await rig.restore(path.join(root, 'made', 'above', 'target'), [], WRONG);
  assert.equal(deep.code, 12, show(deep));
  assert.equal(fs.existsSync(path.join(root, 'made')), false, 'restore with a wrong password left the folders it made above the target');
  await fsp.mkdir(to);
  const r2 = await rig.restore(to, [], WRONG);
  assert.equal(r2.code, 12, show(r2));
  assert.deepEqual((await walk(to)).map((e) => e.rel), [], 'restore with a wrong password wrote into an existing target');

  const v = await rig.verify(['--all'], WRONG);
  assert.equal(v.code, 12, show(v));
  assert.match(v.stdout + v.stderr, /wrong password/i, show(v));

  for (const tier of ['weekly', 'daily']) {
    const b = await rig.backup(tier, [], WRONG);
    assert.equal(b.code, 12, `${tier} backup with another password into a destination with sets\n${show(b)}`);
    assert.match(b.stderr, /password/i, show(b));
  }
  sameSnapshot(await snapshot(rig.dest), destBefore, 'the destination');
  assert.deepEqual((await rig.list()).sets.map((s) => s.id), [...destBefore.keys()].filter((k) => !k.includes('/') && k !== 'strata-destination.json'));
});

test('damage without PAR2 help: tampered descriptor, deleted descriptor, lost volumes', { timeout: 300_000 }, async (t) => {
  const { rig, root } = await rigWith(t, 'strata-robust-damage-', 30, 40_000);
  const first = await rig.backup('weekly');
  assert.equal(first.code, 0, show(first));
  const [set] = await setFolders(rig.dest);
  assert.ok(set?.complete === true);
  const id = set.id;
  const source = await snapshot(rig.src);
  const sourceFiles = [...source.entries()].filter(([, e]) => e.kind === 'file').map(([rel]) => rel);
  const copy = async (name: string): Promise<string> => {
    const d = path.join(root, name);
    await fsp.cp(rig.dest, d, { recursive: true });
    return d;
  };
  const at = (dest: string): Rig => makeRig({ src: rig.src, dest, state: rig.state, password: PASSWORD });

  // 1. One character of a hash in the descriptor changed: the HMAC no longer matches.
  const tampered = await copy('tampered');
  const descFile = path.join(tampered, id, `${id}.strata.json`);
  const text = await fsp.readFile(descFile, 'utf8');
  const m = /"sha256": "([0-9a-f])/.exec(text);
  assert.ok(m !== null && m.index !== undefined, 'no sha256 in the descriptor');
  const pos = m.index + m[0].length - 1;
  await fsp.writeFile(descFile, text.slice(0, pos) + (m[1] === '0' ? '1' : '0') + text.slice(pos + 1));
  const vt = await at(tampered).verify(['--set', id]);
  assert.equal(vt.code, 13, show(vt));
  assert.match(vt.stderr + vt.stdout, /tamper|modified/i, show(vt));

  // 2. The descriptor deleted: the set no longer counts.
  const headless = await copy('headless');
  await fsp.rm(path.join(headless, id, `${id}.strata.json`));
  assert.deepEqual((await at(headless).list()).sets, [], 'a set without descriptor is listed');

  // 3. One middle volume and every PAR2 file gone: beyond repair. verify names the lost objects,
  //    restore restores every intact file and names the lost ones.
  const lost = await copy('lost');
  const objects = await fsp.readdir(path.join(lost, id));
  const volumes = objects.filter((n) => /\.7z\.\d{3}$/.test(n)).sort();
  assert.ok(volumes.length >= 4, `expected several volumes, got ${volumes.join(' ')}`);
  const gone = volumes[Math.floor(volumes.length / 2)] ?? '';
  const par2 = objects.filter((n) => n.endsWith('.par2'));
  assert.ok(par2.length > 0, 'no par2 files');
  for (const n of [gone, ...par2]) await fsp.rm(path.join(lost, id, n));
  const vl = await at(lost).verify(['--set', id]);
  assert.equal(vl.code, 13, show(vl));
  assert.ok((vl.stdout + vl.stderr).includes(gone), `verify does not name the lost volume ${gone}\n${show(vl)}`);
  const to = path.join(root, 'restored-lost');
  const rl = await at(lost).restore(to);
  assert.equal(rl.code, 13, show(rl));
  const restored = await snapshot(to);
  const named = sourceFiles.filter((f) => (rl.stdout + rl.stderr).includes(f));
  assert.ok(named.length > 0, `restore names no lost file\n${show(rl)}`);
  for (const f of sourceFiles) {
    const got = restored.get(f);
    if (got === undefined) assert.ok(named.includes(f), `${f} was neither restored nor named as lost\n${show(rl)}`);
    else assert.equal(got.sha256, source.get(f)?.sha256, `${f} was restored with wrong contents`);
  }
  for (const f of named) assert.equal(restored.get(f), undefined, `${f} is named as lost but was restored`);
  t.diagnostic(`lost ${gone}: ${named.length} of ${sourceFiles.length} files named lost, the rest restored intact`);

  // 4. Every volume and PAR2 file gone.
  const empty = await copy('empty');
  for (const n of [...volumes, ...par2]) await fsp.rm(path.join(empty, id, n));
  const ve = await at(empty).verify(['--set', id]);
  assert.equal(ve.code, 13, show(ve));
  for (const v of volumes) assert.ok((ve.stdout + ve.stderr).includes(v), `verify does not name ${v}\n${show(ve)}`);
  const re = await at(empty).restore(path.join(root, 'restored-empty'));
  assert.equal(re.code, 13, show(re));
  for (const f of sourceFiles) assert.ok((re.stdout + re.stderr).includes(f), `restore does not name the lost ${f}\n${show(re)}`);

  // 5. The manifest gone, read by a machine that has no copy of it (a fresh state folder): rebuilt
  //    from its PAR2 set; gone with its PAR2 files too, the set cannot be read: exit 13 (damage),
  //    not 1, naming the manifest, with what to do.
  const elsewhere = (dest: string): Rig => makeRig({ src: rig.src, dest, state: path.join(root, `state-${path.basename(dest)}`), password: PASSWORD });
  const manifestObjects = objects.filter((n) => n.startsWith(`${id}.manifest.`));
  const manifestArchive = `${id}.manifest.7z`;
  assert.ok(manifestObjects.includes(manifestArchive) && manifestObjects.some((n) => n.endsWith('.par2')), manifestObjects.join(' '));
  const repairable = await copy('manifest-only');
  await fsp.rm(path.join(repairable, id, manifestArchive));
  const toRepaired = path.join(root, 'restored-manifest-repaired');
  const rr = await elsewhere(repairable).restore(toRepaired);
  assert.equal(rr.code, 0, show(rr));
  assertSameTree(await snapshot(toRepaired), source, 'restore with the manifest rebuilt from its PAR2 set');
  const manifestLost = await copy('manifest-lost');
  for (const n of manifestObjects) await fsp.rm(path.join(manifestLost, id, n));
  const toLost = path.join(root, 'restored-manifest-lost');
  const rm = await elsewhere(manifestLost).restore(toLost);
  assert.equal(rm.code, 13, show(rm));
  assert.match(rm.stderr, new RegExp(`manifest of set ${id} is missing on the destination and its PAR2 files could not rebuild it`), show(rm));
  assert.match(rm.stderr, /hint: .*another set/, show(rm));
  assert.equal(fs.existsSync(toLost) ? (await walk(toLost)).length : 0, 0, 'a restore without a manifest wrote into the target');
});

test('lock: a second concurrent backup exits 11 naming the holder; a stale lock is taken over', { timeout: 300_000 }, async (t) => {
  const { rig } = await rigWith(t, 'strata-robust-lock-', 40, 40_000);
  const lockFile = path.join(rig.state, 'jobs', 'default', 'lock');
  let child: ChildProcess | undefined;
  // The first run's 7zz waits (before archiving) until the second run has ended, so the two overlap
  // however slow the machine is.
  const go = path.join(path.dirname(rig.src), 'go');
  const held7zz = path.join(path.dirname(rig.src), 'held-7zz');
  await fsp.writeFile(held7zz, `#!/bin/sh\nif [ "$1" = a ]; then while [ ! -e '${go}' ]; do sleep 0.1; done; fi\nexec 7zz "$@"\n`, { mode: 0o755 });
  const a = rig.backup('weekly', [], { onSpawn: (c) => (child = c), env: { STRATA_7ZZ: held7zz } });
  const held = await waitFor(() => (fs.existsSync(lockFile) ? true : undefined), 60_000, 2);
  assert.ok(held === true, 'the first run never took the lock');
  const b = await rig.backup('weekly');
  await fsp.writeFile(go, '');
  const ra = await a;
  assert.equal(ra.code, 0, show(ra));
  assert.equal(b.code, 11, `the second run must be refused while the first holds the lock\n${show(b)}`);
  assert.ok(b.stderr.includes(`pid ${child?.pid ?? -1}`), `the message must name the holder (pid ${child?.pid ?? -1})\n${show(b)}`);
  assert.equal(fs.existsSync(lockFile), false, 'the lock was not released');
  assert.equal((await setFolders(rig.dest)).length, 1, 'the refused run wrote a set');

  // A lock left by a process that is gone (same host) is taken over.
  let dead = 4_194_000;
  while (isAlive(dead) || fs.existsSync(`/proc/${dead}`)) dead--;
  await fsp.writeFile(lockFile, JSON.stringify({ pid: dead, host: hostname(), started: '2001-01-01T00:00:00.000Z', command: 'backup' }));
  await fsp.writeFile(path.join(rig.src, 'after-stale-lock.txt'), 'x');
  const c = await rig.backup('daily');
  assert.equal(c.code, 0, `a stale lock (pid ${dead}) must be taken over\n${show(c)}`);
  assert.equal(fs.existsSync(lockFile), false);
  // A lock file cut short (its writer died at once) is stale too.
  await fsp.writeFile(lockFile, '{"pid": 12');
  await fsp.writeFile(path.join(rig.src, 'after-torn-lock.txt'), 'y');
  const d = await rig.backup('daily');
  assert.equal(d.code, 0, `a torn lock file must be taken over\n${show(d)}`);
  assert.equal((await setFolders(rig.dest)).filter((f) => f.complete).length, 3);
});

test('partial: an unreadable file gives exit 3, the rest is a complete set, the next run picks it up (as user nobody)', { timeout: 300_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test runs strata as user nobody and must itself run as root');
  const NOBODY = 65534;
  const root = await tempDir(t, 'strata-robust-partial-');
  const src = path.join(root, 'src');
  const rng = new Rng(5);
  const files: Record<string, Buffer> = { 'unreadable-secret.txt': rng.text(5000) };
  for (let i = 0; i < 15; i++) files[`sub${i % 3}/ok-${i}.dat`] = rng.text(rng.int(100, 20_000));
  await writeTree(src, files);
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  await fsp.mkdir(dest);
  await fsp.mkdir(state);
  for (const e of [{ abs: root }, ...(await walk(root))]) await fsp.lchown(e.abs, NOBODY, NOBODY);
  const bad = path.join(src, 'unreadable-secret.txt');
  await fsp.chmod(bad, 0o000);
  const env = { STRATA_PASSWORD: PASSWORD, HOME: root };
  const asNobody = (args: string[]): Promise<CliResult> => strataAs(NOBODY, NOBODY, ['--state', state, ...args], env, root);
  const backup = (tier: string): Promise<CliResult> => asNobody(['backup', '--tier', tier, '--source', src, '--dest', dest, '--volume-size', '64KiB']);

  const r = await backup('weekly');
  assert.equal(r.code, 3, `an unreadable file must make the run partial\n${show(r)}`);
  assert.ok(r.stderr.includes('unreadable-secret.txt'), `stderr must list the file\n${show(r)}`);
  const sets = await setFolders(dest);
  assert.equal(sets.length, 1);
  assert.equal(sets[0]?.complete, true, 'the rest must be a complete set');
  const v = await asNobody(['verify', '--dest', dest, '--all']);
  assert.equal(v.code, 0, show(v));
  const to1 = path.join(root, 'restored-1');
  const r1 = await asNobody(['restore', '--dest', dest, '--to', to1]);
  assert.equal(r1.code, 0, show(r1));
  // Root reads the chmod-000 file anyway, so the expected state is the source without it.
  const expected = await snapshot(src);
  expected.delete('unreadable-secret.txt');
  assertSameTree(await snapshot(to1), expected, 'restore of the partial set');

  await fsp.chmod(bad, 0o644);
  const again = await backup('daily');
  assert.equal(again.code, 0, `after chmod 644 the next run must succeed\n${show(again)}`);
  assert.match(again.stdout, /\+1\b/, `the next run must add the file\n${show(again)}`);
  const to2 = path.join(root, 'restored-2');
  const r2 = await asNobody(['restore', '--dest', dest, '--to', to2]);
  assert.equal(r2.code, 0, show(r2));
  assertSameTree(await snapshot(to2), await snapshot(src), 'restore after the file became readable');
});

test('missing 7zz or par2: exit 14 with the apt hint, nothing written', { timeout: 120_000 }, async (t) => {
  const { rig, root } = await rigWith(t, 'strata-robust-tools-', 3, 2000);
  const cases = [
    { env: { STRATA_7ZZ: '/nonexistent/7zz' }, hint: /apt(-get)? install 7zip/ },
    { env: { STRATA_PAR2: '/nonexistent/par2' }, hint: /apt(-get)? install par2/ },
  ];
  for (const c of cases) {
    const r = await rig.backup('weekly', [], { env: c.env });
    assert.equal(r.code, 14, `${JSON.stringify(c.env)}\n${show(r)}`);
    assert.match(r.stderr, c.hint, show(r));
    assert.deepEqual(await setFolders(rig.dest), [], 'a set was started without the tools');
  }
  const ok = await rig.backup('weekly');
  assert.equal(ok.code, 0, show(ok));
  const r = await rig.restore(path.join(root, 'out'), [], { env: { STRATA_7ZZ: '/nonexistent/7zz' } });
  assert.equal(r.code, 14, show(r));
  assert.match(r.stderr, /apt(-get)? install 7zip/, show(r));
  assert.equal(fs.existsSync(path.join(root, 'out')), false, 'restore without 7zz created its target');
});

test('a configuration error exits 2 and leaves destination and state untouched', { timeout: 120_000 }, async (t) => {
  const { rig, root } = await rigWith(t, 'strata-robust-config-', 4, 4000);
  const cfg = path.join(root, 'strata.yaml');
  const good = ['job: cfgtest', 'sources:', `  - path: ${rig.src}`, '    exclude: []', `destination: ${rig.dest}`, 'archive:', '  weekly:', '    volumeSize: 64KiB', ''];
  await fsp.writeFile(cfg, good.join('\n'));
  const first = await rig.run(['--config', cfg, 'backup', '--tier', 'weekly']);
  assert.equal(first.code, 0, show(first));
  await fsp.writeFile(path.join(rig.src, 'changed-since.txt'), 'a change the broken run must not back up');
  const dest = await snapshot(rig.dest);
  const state = await snapshot(rig.state);
  const broken: { text: string[]; says: RegExp }[] = [
    { text: good.map((l) => l.replace('exclude:', 'exlude:')), says: /strata\.yaml:4:\d+:.*exlude.*did you mean "exclude"/ },
    { text: good.map((l) => l.replace('destination:', 'destinaton:')), says: /destinaton/ },
    { text: good.map((l) => l.replace('64KiB', 'lots')), says: /volumeSize|size/i },
  ];
  for (const b of broken) {
    await fsp.writeFile(cfg, b.text.join('\n'));
    for (const args of [['backup', '--tier', 'weekly'], ['backup', '--tier', 'daily'], ['restore', '--to', path.join(root, 'out')]]) {
      const r = await rig.run(['--config', cfg, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}\n${show(r)}`);
      assert.match(r.stderr, b.says, show(r));
    }
    sameSnapshot(await snapshot(rig.dest), dest, 'the destination');
    sameSnapshot(await snapshot(rig.state), state, 'the state folder');
    assert.equal(fs.existsSync(path.join(root, 'out')), false);
  }
});
