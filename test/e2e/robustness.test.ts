/**
 * Robustness through the real CLI: `strata backup` killed at random moments (SIGKILL of strata
 * alone or of its whole process tree, SIGKILL of its 7zz or par2 child, Ctrl-C). After every kill:
 * each set folder on the destination either has its descriptor and passes `verify --set`, or is
 * removed by the next run; `list` shows only sets that verify; the next run succeeds and leaves no
 * debris (no set folder without descriptor, no .strata-tmp-* file, empty staging, no lock); and a
 * restore of the newest state equals the source exactly, so no change was lost.
 * Set STRATA_ROBUST_SEED to replay a run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { tempDir } from '../helpers/tmp.js';
import type { CliResult } from '../helpers/cli.js';
import {
  Rng, assertSameTree, childRunning, descendants, elapsedMs, isAlive, killQuietly, makeRig, setFolders, show, sleep, snapshot, waitFor, walk, type Rig,
} from './robust-util.js';

const PASSWORD = 'kill-loop-Pässwort-4711';

/** makeSource writes about 1.5 MiB in 200 files over 10 folders, plus a symlink and an empty folder. */
async function makeSource(src: string, rng: Rng): Promise<void> {
  for (let d = 0; d < 10; d++) {
    const dir = path.join(src, `dir${String(d).padStart(2, '0')}`, d % 3 === 0 ? 'deeper' : '');
    await fsp.mkdir(dir, { recursive: true });
    for (let f = 0; f < 20; f++) await fsp.writeFile(path.join(dir, `file${f}.dat`), fileContent(rng));
  }
  await fsp.mkdir(path.join(src, 'empty-folder'));
  await fsp.symlink('dir00/deeper/file0.dat', path.join(src, 'link-to-file0'));
}

function fileContent(rng: Rng): Buffer {
  return rng.next() < 0.6 ? rng.text(rng.int(200, 16_000)) : rng.bytes(rng.int(1000, 16_000));
}

/** mutate changes the source the way a user does between runs: edits, new files, deletions, a rename, a chmod. */
async function mutate(src: string, rng: Rng, round: number): Promise<string> {
  const files = (await walk(src)).filter((e) => e.kind === 'file');
  let edited = 0;
  for (const f of files) {
    if (rng.next() >= 0.15) continue;
    if (rng.next() < 0.3) {
      // Same size, different bytes: only the mtime and the hash tell.
      const old = await fsp.readFile(f.abs);
      const b = Buffer.from(old);
      if (b.length > 0) b[rng.int(0, b.length - 1)] = ((b[0] ?? 0) + 1 + rng.int(0, 200)) & 0xff;
      await fsp.writeFile(f.abs, b);
    } else {
      await fsp.writeFile(f.abs, fileContent(rng));
    }
    edited++;
  }
  const added = rng.int(1, 4);
  for (let i = 0; i < added; i++) {
    const dir = path.join(src, `dir${String(rng.int(0, 9)).padStart(2, '0')}`);
    await fsp.writeFile(path.join(dir, `new-r${round}-${i}.dat`), fileContent(rng));
  }
  const victims = files.filter(() => rng.next() < 0.01);
  for (const v of victims) await fsp.rm(v.abs, { force: true });
  const mover = rng.pick(files);
  if (fs.existsSync(mover.abs)) await fsp.rename(mover.abs, `${mover.abs}.moved${round}`);
  const chmodder = rng.pick(files);
  if (fs.existsSync(chmodder.abs)) await fsp.chmod(chmodder.abs, rng.next() < 0.5 ? 0o600 : 0o640);
  return `edited ${edited}, added ${added}, deleted ${victims.length}, renamed 1`;
}

/**
 * Kind is how a round interrupts the run: SIGKILL after a random delay (of the whole tree, or of
 * strata alone so that its children live on as orphans), SIGKILL when the upload has begun or the
 * instant the descriptor appears (before the local state moves forward), SIGKILL of the 7zz or par2
 * child, or Ctrl-C.
 */
type Kind = 'kill-tree' | 'kill-strata-only' | 'kill-at-upload' | 'kill-at-descriptor' | 'kill-7zz' | 'kill-par2' | 'sigint';

/** newSetObject finds, in a set folder that was not there before, a file whose name passes the test. */
function newSetObject(dest: string, before: ReadonlySet<string>, test: (name: string, id: string) => boolean): string | undefined {
  let dirs: string[];
  try {
    dirs = fs.readdirSync(dest);
  } catch {
    return undefined;
  }
  for (const id of dirs) {
    if (before.has(id)) continue;
    try {
      const hit = fs.readdirSync(path.join(dest, id)).find((n) => test(n, id));
      if (hit !== undefined) return `${id}/${hit}`;
    } catch {
      // not a folder, or removed meanwhile
    }
  }
  return undefined;
}

/** crash SIGKILLs strata (stopped first, so it spawns nothing more) and, unless told otherwise, its whole tree. */
function crash(pid: number, leaveOrphans: boolean): { phase: string; orphans: number[] } {
  killQuietly(pid, 'SIGSTOP');
  const kids = descendants(pid);
  killQuietly(pid, 'SIGKILL');
  if (!leaveOrphans) for (const k of kids) killQuietly(k.pid, 'SIGKILL');
  const phase = kids.length === 0 ? 'strata only (scan/manifest/upload/descriptor)' : kids.map((k) => k.comm).join('+');
  return { phase, orphans: leaveOrphans ? kids.map((k) => k.pid) : [] };
}

async function assertNoDebris(rig: Rig, what: string): Promise<void> {
  const folders = await setFolders(rig.dest);
  assert.deepEqual(folders.filter((f) => !f.complete).map((f) => f.id), [], `${what}: set folders without descriptor remain`);
  // A `.pending` marker inside a complete set (killed between descriptor and marker removal) is a
  // known bug checked by its own test below; markers of unfinished sets go with their folder.
  const tmp = (await walk(rig.dest)).filter((e) => path.basename(e.rel).startsWith('.strata-tmp-'));
  assert.deepEqual(tmp.map((e) => e.rel), [], `${what}: temporary files remain on the destination`);
  const jobDir = path.join(rig.state, 'jobs', 'default');
  const staging = path.join(jobDir, 'staging');
  const left = fs.existsSync(staging) ? (await walk(staging)).map((e) => e.rel) : [];
  assert.deepEqual(left, [], `${what}: the staging folder is not empty`);
  assert.equal(fs.existsSync(path.join(jobDir, 'lock')), false, `${what}: the lock file remains`);
}

test('backup killed at random moments loses no change and leaves no complete-looking broken set', { timeout: 600_000 }, async (t) => {
  const root = await tempDir(t, 'strata-robust-kill-');
  const seed = Number(process.env['STRATA_ROBUST_SEED'] ?? String(randomInt(2_147_483_647)));
  t.diagnostic(`seed ${seed} (STRATA_ROBUST_SEED=${seed} replays it)`);
  const rng = new Rng(seed);
  const src = path.join(root, 'src');
  const rig = makeRig({ src, dest: path.join(root, 'dest'), state: path.join(root, 'state'), password: PASSWORD, volumeSize: '64KiB', level: '1' });
  await makeSource(src, rng);
  const orphans: number[] = [];
  t.after(() => {
    for (const pid of orphans) killQuietly(pid, 'SIGKILL');
  });

  let started = elapsedMs();
  const first = await rig.backup('daily');
  assert.equal(first.code, 0, show(first));
  let runMs = elapsedMs() - started;
  t.diagnostic(`first (FULL) run: ${runMs} ms`);

  const plan: Kind[] = ['kill-tree', 'kill-7zz', 'kill-at-upload', 'kill-par2', 'kill-at-descriptor', 'sigint', 'kill-strata-only', 'kill-tree', 'kill-tree', 'kill-strata-only'];
  const rounds = Number(process.env['STRATA_ROBUST_ROUNDS'] ?? '8');
  for (const [round, kind] of plan.slice(0, rounds).entries()) {
    const change = await mutate(src, rng, round);
    const expected = await snapshot(src);
    const before = new Set((await setFolders(rig.dest)).map((f) => f.id));
    let child: ChildProcess | undefined;
    let interrupted: number[] = [];
    started = elapsedMs();
    // The default PAR2 engine runs in strata's own worker threads (killed with strata in the other
    // rounds); par2cmdline, still a selectable engine, is a child that can die on its own.
    const killed = rig.backup('daily', [], { onSpawn: (c) => (child = c), ...(kind === 'kill-par2' ? { env: { STRATA_PAR2_ENGINE: 'par2cmdline' } } : {}) });
    const pid = await waitFor(() => child?.pid, 10_000);
    assert.ok(pid !== undefined, 'strata did not start');
    let phase = '';
    if (kind === 'kill-tree' || kind === 'kill-strata-only') {
      // Spread over the whole run: the previous un-killed run of the same kind tells how long it takes.
      const delay = Math.floor(rng.next() * runMs);
      await sleep(delay);
      const c = crash(pid, kind === 'kill-strata-only');
      orphans.push(...c.orphans);
      phase = `after ${delay} ms of ~${runMs}: ${c.phase}`;
    } else if (kind === 'kill-at-upload' || kind === 'kill-at-descriptor') {
      const wanted = kind === 'kill-at-upload' ? (n: string): boolean => /\.7z\.\d{3}$/.test(n) : (n: string, id: string): boolean => n === `${id}.strata.json`;
      const hit = await waitFor(() => newSetObject(rig.dest, before, wanted), 120_000, 1);
      assert.ok(hit !== undefined, `${kind}: the run never got there`);
      const c = crash(pid, false);
      phase = `when ${hit} appeared after ${elapsedMs() - started} ms: ${c.phase}`;
    } else {
      // Not the version probes at start-up: the 7zz that writes the archive, the par2 that creates recovery files.
      const [comm, verbs] = kind === 'kill-par2' ? ['par2', ['create', 'c']] : ['7zz', ['a']];
      const target = await waitFor(() => childRunning(pid, comm, verbs), 120_000, 2);
      assert.ok(target !== undefined, `${kind}: no ${comm} child was seen during the run`);
      if (kind === 'sigint') {
        // Ctrl-C on a terminal reaches the whole foreground process group: strata and its children.
        interrupted = descendants(pid).map((d) => d.pid);
        for (const p of [pid, ...interrupted]) killQuietly(p, 'SIGINT');
      } else {
        killQuietly(target.pid, 'SIGKILL');
      }
      phase = `${kind} (pid ${target.pid}) after ${elapsedMs() - started} ms`;
    }
    const res: CliResult = await killed;
    t.diagnostic(`round ${round} ${kind}: ${change}; ${phase}; exit ${res.code} ${String(res.signal)}`);
    if (kind === 'kill-7zz' || kind === 'kill-par2') {
      assert.notEqual(res.code, 0, `${kind}: strata must fail when its child is killed\n${show(res)}`);
      assert.equal(res.signal, null, `${kind}: strata must exit by itself, with a message\n${show(res)}`);
      assert.match(res.stderr, /error/i, show(res));
    }
    if (kind === 'sigint') {
      assert.equal(res.code, 130, `Ctrl-C must exit 130\n${show(res)}`);
      // One word for it, whichever phase was cut: "cancelled".
      assert.match(res.stderr, /strata: error: .*cancelled/, show(res));
      assert.doesNotMatch(res.stderr, /interrupted|aborted/i, show(res));
      const running = await waitFor(() => (interrupted.every((p) => !isAlive(p)) ? true : undefined), 10_000);
      assert.ok(running === true, 'Ctrl-C left children running');
    }

    // (a)+(b): every set folder with a descriptor verifies; list shows only those.
    const folders = await setFolders(rig.dest);
    if (kind === 'kill-7zz' || kind === 'kill-par2' || kind === 'sigint') {
      const made = folders.filter((f) => !before.has(f.id) && f.complete).map((f) => f.id);
      assert.deepEqual(made, [], `${kind}: the failed run left a complete set`);
    }
    // A set the killed run completed (killed after its descriptor) must verify at once. Sets of
    // un-killed runs are verified by the restores below (the sets they read) and by verify --all at the end.
    for (const f of folders.filter((x) => x.complete && !before.has(x.id))) {
      const v = await rig.verify(['--set', f.id]);
      assert.equal(v.code, 0, `round ${round}: set ${f.id} has a descriptor but does not verify\n${show(v)}`);
    }
    const listed = await rig.list();
    assert.deepEqual(listed.sets.map((x) => x.id).sort(), folders.filter((f) => f.complete).map((f) => f.id), `round ${round}: list must show exactly the sets with a descriptor`);
    const unfinished = folders.filter((f) => !f.complete).map((f) => f.id);

    // (c): the next run succeeds and removes the debris.
    // Every third round makes a FULL set, so that restore chains (and the suite's time) stay short.
    const tier = round % 3 === 2 ? 'weekly' : 'daily';
    started = elapsedMs();
    const next = await rig.backup(tier);
    const nextMs = elapsedMs() - started;
    if (tier === 'daily') runMs = nextMs;
    assert.equal(next.code, 0, `round ${round}: the run after the kill failed\n${show(next)}`);
    // An unfinished set is either removed as debris or, when 7-Zip had finished it, resumed and
    // completed by this run (then it has its descriptor): nothing stays unfinished.
    for (const id of unfinished) {
      const gone = !fs.existsSync(path.join(rig.dest, id));
      const resumed = fs.existsSync(path.join(rig.dest, id, `${id}.strata.json`));
      assert.ok(gone || resumed, `round ${round}: unfinished set ${id} was neither removed nor completed`);
    }
    for (const p of orphans.splice(0)) killQuietly(p, 'SIGKILL');
    await assertNoDebris(rig, `round ${round}`);

    // (d): the newest state is exactly the source.
    const to = path.join(root, `restored-${round}`);
    started = elapsedMs();
    const r = await rig.restore(to);
    t.diagnostic(`round ${round}: next run (${tier}) ${nextMs} ms, restore ${elapsedMs() - started} ms`);
    assert.equal(r.code, 0, `round ${round}: restore failed\n${show(r)}`);
    assertSameTree(await snapshot(to), expected, `round ${round}: restore of the newest state`);
    await fsp.rm(to, { recursive: true, force: true });
  }
  const all = await rig.verify(['--all']);
  assert.equal(all.code, 0, `verify --all at the end\n${show(all)}`);
});

/** smallRig makes a source of a few hundred KiB in 40 files, enough for a 7zz run of a second or so. */
async function smallRig(t: import('node:test').TestContext, prefix: string): Promise<Rig> {
  const root = await tempDir(t, prefix);
  const rng = new Rng(7);
  const src = path.join(root, 'src');
  for (let i = 0; i < 40; i++) {
    await fsp.mkdir(path.join(src, `d${i % 4}`), { recursive: true });
    await fsp.writeFile(path.join(src, `d${i % 4}`, `f${i}.bin`), rng.bytes(rng.int(4000, 20_000)));
  }
  return makeRig({ src, dest: path.join(root, 'dest'), state: path.join(root, 'state'), password: PASSWORD, volumeSize: '64KiB', level: '1' });
}

test('a 7zz killed by someone else (OOM killer) is a tool failure, exit 1, not Ctrl-C (130)', async (t) => {
  const rig = await smallRig(t, 'strata-robust-oom-');
  let child: ChildProcess | undefined;
  const run = rig.backup('weekly', [], { onSpawn: (c) => (child = c) });
  const pid = await waitFor(() => child?.pid, 10_000);
  assert.ok(pid !== undefined);
  const sz = await waitFor(() => childRunning(pid, '7zz', ['a']), 120_000, 2);
  assert.ok(sz !== undefined, 'no 7zz a was seen');
  killQuietly(sz.pid, 'SIGKILL');
  const res = await run;
  assert.deepEqual((await setFolders(rig.dest)).filter((f) => f.complete), [], 'no set may be complete');
  assert.equal(res.code, 1, `the user did not press Ctrl-C: expected a tool failure (exit 1) naming the signal\n${show(res)}`);
  assert.match(res.stderr, /SIGKILL|killed/i, show(res));
});

test('Ctrl-C during start-up (while the tools are probed) exits 130, not "missing tool"', async (t) => {
  const rig = await smallRig(t, 'strata-robust-int0-');
  const slow = path.join(path.dirname(rig.src), 'slow-7zz');
  await fsp.writeFile(slow, '#!/bin/sh\nsleep 5\nexec 7zz "$@"\n', { mode: 0o755 });
  let child: ChildProcess | undefined;
  const run = rig.backup('weekly', [], { onSpawn: (c) => (child = c), env: { STRATA_7ZZ: slow } });
  const pid = await waitFor(() => child?.pid, 10_000);
  assert.ok(pid !== undefined);
  const probe = await waitFor(() => descendants(pid).find((p) => p.comm === 'sleep'), 30_000, 2);
  assert.ok(probe !== undefined, 'the 7zz probe was not seen');
  for (const p of [pid, ...descendants(pid).map((d) => d.pid)]) killQuietly(p, 'SIGINT');
  const res = await run;
  assert.equal(res.code, 130, show(res));
  assert.match(res.stderr, /strata: error: cancelled\n/, show(res));
  assert.deepEqual(await setFolders(rig.dest), [], 'nothing may be written');
  const again = await rig.backup('weekly');
  assert.equal(again.code, 0, show(again));
});

test('a run killed right after its descriptor leaves its .pending marker; the next run must remove it', { timeout: 300_000 }, async (t) => {
  const rig = await smallRig(t, 'strata-robust-marker-');
  let child: ChildProcess | undefined;
  const run = rig.backup('weekly', [], { onSpawn: (c) => (child = c) });
  const pid = await waitFor(() => child?.pid, 10_000);
  assert.ok(pid !== undefined);
  const hit = await waitFor(() => newSetObject(rig.dest, new Set(), (n, id) => n === `${id}.strata.json`), 120_000, 1);
  assert.ok(hit !== undefined, 'the descriptor never appeared');
  crash(pid, false);
  await run;
  const id = hit.split('/')[0] ?? '';
  const marker = path.join(rig.dest, id, `${id}.pending`);
  if (!fs.existsSync(marker)) {
    t.diagnostic('the run got past clearPending before the kill; nothing to check this time');
    return;
  }
  const v = await rig.verify(['--set', id]);
  assert.equal(v.code, 0, `the set is complete and must verify\n${show(v)}`);
  await fsp.writeFile(path.join(rig.src, 'another.txt'), 'z');
  const next = await rig.backup('daily');
  assert.equal(next.code, 0, show(next));
  assert.equal(fs.existsSync(marker), false, `${id}/${id}.pending of the dead run is still on the destination (debris)`);
});
