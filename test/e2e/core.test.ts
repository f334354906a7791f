/**
 * End-to-end tests of strata's core promise, through the compiled CLI as a user runs it:
 * an exact restore of an awkward tree (links, modes, odd names, empty folders, several volumes,
 * mtimes to the microsecond); tiers, chains and `restore --at` over simulated days (STRATA_NOW);
 * subset restores; conflicts and --overwrite; restoring on a fresh machine (no state folder);
 * and the git audit trail (history, log, plain `git log -p`).
 * Every run passes STRATA_PASSWORD and --state <tmp>; the tests run concurrently (they share nothing).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/tmp.js';
import { assertSameTree, cli, day, jsonOf, listTree, setMtimeNs, snapshot, type Snapshot } from './util.js';

const execFileP = promisify(execFile);

/** Box is one scenario's folders: source, destination, state. */
interface Box {
  root: string;
  src: string;
  dest: string;
  state: string;
}

async function box(t: TestContext, name = 'src'): Promise<Box> {
  const root = await tempDir(t, 'strata-e2e-');
  const src = path.join(root, name);
  await fsp.mkdir(src);
  return { root, src, dest: path.join(root, 'dest'), state: path.join(root, 'state') };
}

async function put(root: string, rel: string, content: string | Buffer, mode?: number): Promise<void> {
  const file = path.join(root, rel);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, content);
  if (mode !== undefined) await fsp.chmod(file, mode);
}

function common(b: Box): string[] {
  return ['--dest', b.dest, '--state', b.state];
}

interface ListedSet {
  id: string;
  source: string;
  tier: string;
  type: string;
  created: string;
  base: string | null;
  chain: string[];
  depends: string[];
}

async function listSets(b: Box): Promise<ListedSet[]> {
  return jsonOf<{ sets: ListedSet[] }>(await cli(['list', '--json', ...common(b)])).sets;
}

interface BackupJson {
  sources: { source: string; tier: string; type: string; setId: string | null; skipped?: string; fullBecauseNoBase: boolean; added: number; modified: number; deleted: number; volumes: number; phases: { name: string; seconds: number }[] }[];
  exitCode: number;
}

async function backup(b: Box, tier: string, now: string, extra: string[] = []): Promise<BackupJson['sources'][number]> {
  const r = await cli(['backup', '--json', '--tier', tier, '--source', b.src, ...common(b), ...extra], { now });
  const j = jsonOf<BackupJson>(r);
  assert.equal(j.sources.length, 1);
  return j.sources[0]!;
}

async function restoreTo(b: Box, to: string, extra: string[] = [], expect = 0): Promise<{ stdout: string; stderr: string }> {
  return cli(['restore', '--to', to, ...common(b), ...extra], { expect });
}

/** The awkward names of test 1; each becomes a file in names/. */
const ODD_NAMES = [
  'with space.txt',
  'new\nline.txt',
  ' leading space.txt',
  'trailing space.txt ',
  '  both  ',
  'quote"s\'.txt',
  '"wrapped in quotes"',
  'star*.txt',
  'question?.txt',
  'caf\u00e9 NFC.txt',
  'cafe\u0301 NFD.txt',
  '\u00e9', // NFC é alone …
  'e\u0301', // … and its NFD twin: two different names in one folder
  'emoji \u{1F389}\u{1F468}\u200D\u{1F469}\u200D\u{1F467}.txt',
  '-dash-first',
  '@at-first',
  'tab\there',
  'back\\slash',
];

describe('strata end to end (core)', { concurrency: 4 }, () => {
  it('1. restores an awkward tree exactly: types, bytes, modes, links, odd names, empty folders, mtimes', async (t) => {
    const b = await box(t);
    const s = b.src;
    await put(s, 'docs/readme.md', '# readme\n');
    await put(s, 'docs/sub/deep/nested.txt', 'deep\n');
    await fsp.mkdir(path.join(s, 'empty/inner-empty'), { recursive: true });
    await put(s, 'zero.bin', '');
    await fsp.symlink('docs/readme.md', path.join(s, 'link-to-file'));
    await fsp.symlink('docs/sub', path.join(s, 'link-to-dir'));
    await fsp.symlink('does/not/exist', path.join(s, 'dangling'));
    await fsp.symlink('/etc/hostname', path.join(s, 'absolute-link'));
    await put(s, 'perm/0600.txt', 'private\n', 0o600);
    await put(s, 'perm/0755.sh', '#!/bin/sh\necho hi\n', 0o755);
    await put(s, 'perm/0444.txt', 'read only\n', 0o444);
    await put(s, 'private/secret.txt', 'secret\n');
    for (const [i, n] of ODD_NAMES.entries()) await put(s, `names/${n}`, `odd name ${i}\n`);
    await put(s, 'names/dir with space/and file.txt', 'x\n');
    // ~2.5 MiB of incompressible data: several 256 KiB volumes.
    await put(s, 'random/r1.bin', randomBytes(1536 * 1024));
    await put(s, 'random/r2.bin', randomBytes(1024 * 1024 + 17));
    // mtimes with all 9 fractional digits, deepest first so a folder's own time sticks.
    const paths = [...(await snapshot(s)).keys()].reverse();
    let ns = 1_700_000_000_123_456_789n;
    for (const p of paths) {
      await setMtimeNs(path.join(s, p), ns);
      ns += 86_400_000_000_007n;
    }
    await fsp.chmod(path.join(s, 'private'), 0o700);
    await setMtimeNs(path.join(s, 'private'), 1_650_000_000_987_654_321n);
    const original = await snapshot(s);
    assert.equal(original.get('names/\u00e9')?.type, 'file');
    assert.equal(original.get('names/e\u0301')?.type, 'file');

    const r = await backup(b, 'weekly', day(0), ['--volume-size', '256KiB']);
    assert.equal(r.type, 'FULL');
    assert.ok(r.volumes >= 8, `expected several volumes, got ${r.volumes}`);

    const to = path.join(b.root, 'restored');
    await restoreTo(b, to);
    const restored = await snapshot(to);
    const stats = assertSameTree(restored, original, { mtimeToleranceNs: 999n });
    assert.equal(restored.get('empty/inner-empty')?.type, 'dir');
    assert.equal(restored.get('private')?.mode, 0o700);
    assert.equal(restored.get('absolute-link')?.target, '/etc/hostname');
    assert.ok(!(await fsp.readdir(to)).some((n) => n.startsWith('.strata')), 'staging leftovers in the target');
    // Precision: strata's manifest keeps ns; restore sets times through utimes(), which Node/libuv
    // truncate to microseconds. Record what really came back.
    t.diagnostic(`mtimes compared ${stats.compared}, exact to the ns ${stats.exactNs}, max |delta| ${stats.maxDeltaNs} ns, restored at whole µs ${stats.wholeMicroseconds}`);
    // Same microsecond (truncated), not merely within 1 µs.
    for (const [p, e] of original) {
      const a = restored.get(p)!;
      assert.equal(a.mtimeNs / 1000n, e.mtimeNs / 1000n, `${JSON.stringify(p)}: restored mtime ${a.mtimeNs} is not in the microsecond of ${e.mtimeNs}`);
    }
  });

  it('2. tiers and chains over simulated days: list, restore --at every day, --set, auto, same-day ids, no-change runs', async (t) => {
    const b = await box(t);
    const s = b.src;
    await put(s, 'a.txt', 'alpha v1\n');
    await put(s, 'b.txt', 'bravo\n');
    await put(s, 'docs/c.txt', 'charlie\n');
    await put(s, 'docs/d.txt', 'delta\n');
    await put(s, 'mode.txt', 'mode\n', 0o644);
    await put(s, 'touch.txt', 'touch\n');
    await fsp.mkdir(path.join(s, 'keep-empty'));
    const states: Snapshot[] = [];
    const ids: string[] = [];

    // Day 0, Sunday 2026-11-29, the last Sunday of November: auto → a weekly FULL set that the
    // promotion rule makes monthly at once (the last weekly set of a month with fewer than four).
    states.push(await snapshot(s));
    let r = await backup(b, 'auto', day(0));
    assert.deepEqual([r.tier, r.type, r.setId], ['monthly', 'FULL', '261129_FULL_src']);
    ids.push(r.setId!);

    // Day 1, Monday: add and modify → auto → daily INCR.
    await put(s, 'f.txt', 'foxtrot (new)\n');
    await put(s, 'a.txt', 'alpha v2, longer\n');
    states.push(await snapshot(s));
    r = await backup(b, 'auto', day(1));
    assert.deepEqual([r.tier, r.type, r.setId, r.added, r.modified, r.deleted], ['daily', 'INCR', '261130_INCR_src', 1, 1, 0]);
    ids.push(r.setId!);

    // Day 2: delete and rename.
    await fsp.rm(path.join(s, 'b.txt'));
    await fsp.rename(path.join(s, 'docs/c.txt'), path.join(s, 'docs/c-renamed.txt'));
    states.push(await snapshot(s));
    r = await backup(b, 'daily', day(2));
    assert.deepEqual([r.type, r.setId, r.added, r.deleted], ['INCR', '261201_INCR_src', 1, 2]);
    ids.push(r.setId!);

    // Day 3: chmod only, touch only (same bytes).
    await fsp.chmod(path.join(s, 'mode.txt'), 0o600);
    await setMtimeNs(path.join(s, 'touch.txt'), 1_600_000_000_555_555_555n);
    states.push(await snapshot(s));
    r = await backup(b, 'daily', day(3));
    assert.equal(r.setId, '261202_INCR_src');
    ids.push(r.setId);

    // Day 3 again, later: a second INCR of the day gets a unique id that sorts after the first.
    await put(s, 'g.txt', 'golf, same day\n');
    states.push(await snapshot(s));
    r = await backup(b, 'daily', day(3, '15:30:07'));
    assert.equal(r.setId, '261202_INCR_src_153007');
    assert.ok(r.setId > ids[3]!, 'same-day ids sort by time');
    ids.push(r.setId);

    // Nothing changed: no set, exit 0.
    r = await backup(b, 'daily', day(3, '18:00:00'));
    assert.equal(r.setId, null);
    assert.match(r.skipped ?? '', /nothing changed/);
    assert.deepEqual(r.phases.map((p) => p.name), ['prepare', 'scan'], 'a no-change run reports its phases');

    const sets = await listSets(b);
    assert.deepEqual(sets.map((x) => x.id), ids, 'list shows exactly the sets written, oldest first');
    assert.deepEqual(sets.map((x) => `${x.tier}/${x.type}`), ['monthly/FULL', 'daily/INCR', 'daily/INCR', 'daily/INCR', 'daily/INCR']);
    for (const [i, x] of sets.entries()) {
      assert.equal(x.base, i === 0 ? null : ids[i - 1], `${x.id}: base`);
      assert.deepEqual(x.chain, ids.slice(0, i + 1).reverse(), `${x.id}: chain`);
    }

    // restore --at every moment gives exactly that state, and --set the set's. A date without a time
    // means the end of that day (local time; pinned to UTC here). All at once: they share nothing.
    const jobs: [string, string[], number][] = [
      ['at-0', ['--at', day(0, '12:00:00')], 0],
      ['at-1', ['--at', day(1, '12:00:00')], 1],
      ['at-2', ['--at', '2026-12-01'], 2],
      ['at-3', ['--at', day(3, '12:00:00')], 3],
      ['at-4', ['--at', day(3, '23:00:00')], 4],
      ['set-1', ['--set', ids[1]!], 1],
    ];
    await Promise.all(jobs.map(async ([name, args, n]) => {
      const to = path.join(b.root, name);
      await cli(['restore', ...args, '--to', to, '--dest', b.dest, '--state', path.join(b.root, `state-${name}`)], { env: { TZ: 'UTC' } });
      assertSameTree(await snapshot(to), states[n]!);
    }));
    // Before the first set there is nothing.
    const early = await cli(['restore', '--at', '2026-11-28T00:00:00Z', '--to', path.join(b.root, 'early'), ...common(b)], { expect: 1 });
    assert.match(early.stderr, /no complete set of source src at or before 2026-11-28T00:00:00\.000Z/);
  });

  it('2b. --tier daily without an earlier set makes a FULL set and says so; --tier auto follows the weekday', async (t) => {
    const b = await box(t);
    await put(b.src, 'x.txt', 'x\n');
    // Tuesday, first run: auto → daily → FULL because there is no base.
    const text = await cli(['backup', '--tier', 'auto', '--source', b.src, ...common(b)], { now: day(2) });
    assert.match(text.stdout, /^261201_FULL_src: daily FULL \(no earlier set: FULL\)/m);
    assert.match(text.stderr, /no complete set yet, so this daily run makes a FULL set/);
    await put(b.src, 'y.txt', 'y\n');
    const next = await backup(b, 'auto', day(3)); // Wednesday → daily INCR
    assert.deepEqual([next.tier, next.type, next.fullBecauseNoBase], ['daily', 'INCR', false]);
    await put(b.src, 'z.txt', 'z\n');
    const sunday = await backup(b, 'auto', day(7)); // Sunday 2026-12-06 → weekly FULL
    assert.deepEqual([sunday.tier, sunday.type, sunday.setId], ['weekly', 'FULL', '261206_FULL_src']);
    const other = await box(t);
    await put(other.src, 'x.txt', 'x\n');
    const first = await backup(other, 'daily', day(1));
    assert.deepEqual([first.tier, first.type, first.fullBecauseNoBase, first.setId], ['daily', 'FULL', true, '261130_FULL_src']);
    const sets = await listSets(other);
    assert.deepEqual(sets.map((x) => [x.id, x.tier, x.type, x.base]), [['261130_FULL_src', 'daily', 'FULL', null]]);
  });

  it('3. subset restore: a path, a folder, globs; nothing else; no match is an error', async (t) => {
    const b = await box(t);
    const files: Record<string, string> = {
      'top.txt': 'top\n', 'top.md': 'top md\n', 'docs/a.txt': 'a\n', 'docs/b.md': 'b\n', 'docs/sub/alpha.txt': 'alpha\n',
      'docs/sub/beta.md': 'beta\n', 'docs/sub/deep/apple.md': 'apple\n', 'docs/sub/deep/zebra.md': 'zebra\n', 'other/x.txt': 'x\n',
    };
    for (const [p, c] of Object.entries(files)) await put(b.src, p, c);
    await fsp.mkdir(path.join(b.src, 'docs/sub/empty'));
    await fsp.chmod(path.join(b.src, 'docs'), 0o750);
    await setMtimeNs(path.join(b.src, 'docs/sub'), 1_700_000_000_111_111_111n);
    await setMtimeNs(path.join(b.src, 'docs'), 1_700_000_000_222_222_222n);
    const original = await snapshot(b.src);
    await backup(b, 'weekly', day(0));
    const cases: [string[], string[]][] = [
      [['docs/sub/beta.md'], ['docs/sub/beta.md']],
      [['docs/sub'], ['docs/sub/alpha.txt', 'docs/sub/beta.md', 'docs/sub/deep/apple.md', 'docs/sub/deep/zebra.md', 'docs/sub/empty']],
      // Rules of .gitignore: a pattern without a slash matches at any depth; a leading / anchors it at the top.
      [['*.txt'], ['docs/a.txt', 'docs/sub/alpha.txt', 'other/x.txt', 'top.txt']],
      [['/*.txt'], ['top.txt']],
      [['docs/**/a*'], ['docs/a.txt', 'docs/sub/alpha.txt', 'docs/sub/deep/apple.md']],
      // Several arguments: their union; `./` and a trailing `/` are ignored, `?` is one character.
      [['./docs/?.md', 'other/', '**/z*'], ['docs/b.md', 'docs/sub/deep/zebra.md', 'other/x.txt']],
    ];
    await Promise.all(cases.map(async ([args, want], i) => {
      const to = path.join(b.root, `subset-${i}`);
      await cli(['restore', '--to', to, '--dest', b.dest, '--state', path.join(b.root, `state-${i}`), ...args]);
      const got = await snapshot(to);
      const leaves = [...got].filter(([p, n]) => n.type !== 'dir' || ![...got.keys()].some((q) => q.startsWith(p + '/'))).map(([p]) => p);
      assert.deepEqual(leaves, want, `restore ${args.join(' ')}`);
      // Every path restored — the selected ones and the folders above them — is exactly as recorded
      // (a parent folder made by the restore must not be left at 0700 with the time of the restore).
      for (const p of got.keys()) {
        const o = original.get(p)!;
        const n = got.get(p)!;
        assert.deepEqual([n.type, n.sha256, n.mode, n.mtimeNs / 1000n], [o.type, o.sha256, o.mode, o.mtimeNs / 1000n], `${p} restored exactly`);
      }
    }));
    const none = await cli(['restore', '--to', path.join(b.root, 'none'), ...common(b), 'nope/*.xyz', 'missing.txt'], { expect: 1 });
    assert.match(none.stderr, /nothing in set 261129_FULL_src matches "nope\/\*\.xyz" "missing\.txt"/);
    assert.deepEqual(await fsp.readdir(path.join(b.root, 'none')).catch(() => []), [], 'no match leaves nothing behind');
  });

  it('4. conflicts: an existing file stops the restore (exit 1, named, untouched); --overwrite replaces it', async (t) => {
    const b = await box(t);
    await put(b.src, 'docs/a.txt', 'original a\n');
    await put(b.src, 'docs/b.txt', 'original b\n');
    await put(b.src, 'c.txt', 'original c\n');
    const original = await snapshot(b.src);
    await backup(b, 'weekly', day(0));
    const to = path.join(b.root, 'target');
    await put(to, 'docs/a.txt', 'MINE — do not touch\n');
    const before = await snapshot(to);
    const r = await restoreTo(b, to, [], 1);
    assert.match(r.stderr, /already has 1 .*"docs\/a\.txt"/);
    assert.match(r.stderr, /--overwrite/);
    assertSameTree(await snapshot(to), before, { mtimeToleranceNs: 0n });
    await restoreTo(b, to, ['--overwrite']);
    assertSameTree(await snapshot(to), original);
    assert.equal(await fsp.readFile(path.join(to, 'docs/a.txt'), 'utf8'), 'original a\n');
  });

  it('5. fresh machine: with the state folder deleted, list, verify and restore need only --dest and the password', async (t) => {
    const b = await box(t);
    await put(b.src, 'a.txt', 'a\n');
    await put(b.src, 'big.bin', randomBytes(200_000));
    await backup(b, 'weekly', day(0), ['--volume-size', '64KiB']);
    await put(b.src, 'b.txt', 'b\n');
    await backup(b, 'daily', day(1), ['--volume-size', '64KiB']);
    const expected = await snapshot(b.src);
    const listBefore = jsonOf(await cli(['list', '--json', ...common(b)]));
    const verifyBefore = jsonOf<{ phases?: { seconds: number }[] }>(await cli(['verify', '--all', '--json', ...common(b)]));
    await fsp.rm(b.state, { recursive: true, force: true });
    const listAfter = jsonOf(await cli(['list', '--json', ...common(b)]));
    assert.deepEqual(listAfter, listBefore);
    const verifyAfter = jsonOf<{ sets: { id: string; status: string }[]; phases?: { seconds: number }[] }>(await cli(['verify', '--all', '--json', ...common(b)]));
    // The same verdicts; only durations differ from run to run: the whole run's and each phase's (--json `phases`).
    const withoutSeconds = (doc: { phases?: { seconds: number }[] }): object => ({ ...doc, seconds: 0, phases: doc.phases?.map((p) => ({ ...p, seconds: 0 })) });
    assert.deepEqual(withoutSeconds(verifyAfter), withoutSeconds(verifyBefore));
    assert.deepEqual(verifyAfter.sets.map((v) => v.status), ['ok', 'ok']);
    await fsp.rm(b.state, { recursive: true, force: true });
    const to = path.join(b.root, 'restored');
    await restoreTo(b, to);
    assertSameTree(await snapshot(to), expected);
    // Wrong password on the fresh machine: exit 12, nothing written.
    const wrong = await cli(['restore', '--to', path.join(b.root, 'wrong'), ...common(b)], { env: { STRATA_PASSWORD: 'not it' }, expect: 12 });
    assert.match(wrong.stderr, /wrong password/);
  });

  it('6. audit trail: history, log (newest first, +~-), --json, plain git log -p; no .git in the source', async (t) => {
    const b = await box(t);
    await put(b.src, 'notes/todo.txt', 'v1\n');
    await put(b.src, 'other.txt', 'o\n');
    const v1Mtime = 1_790_000_000_123_456_789n;
    await setMtimeNs(path.join(b.src, 'notes/todo.txt'), v1Mtime);
    await backup(b, 'weekly', day(0));
    await put(b.src, 'notes/todo.txt', 'v2 longer\n');
    await put(b.src, 'new.txt', 'n\n');
    await backup(b, 'daily', day(1));
    await fsp.rm(path.join(b.src, 'notes/todo.txt'));
    await backup(b, 'daily', day(2));
    await put(b.src, 'notes/todo.txt', 'back again\n');
    await backup(b, 'daily', day(3));

    const st = ['--state', b.state];
    const h = jsonOf<{ path: string; events: { date: string; setId: string; change: string; entry?: { size: number; mtime: string } }[] }>(await cli(['history', '--json', ...st, 'notes/todo.txt']));
    assert.deepEqual(h.events.map((e) => [e.change, e.setId, e.date]), [
      ['added', '261202_INCR_src', '2026-12-02T09:00:00.000Z'],
      ['deleted', '261201_INCR_src', '2026-12-01T09:00:00.000Z'],
      ['modified', '261130_INCR_src', '2026-11-30T09:00:00.000Z'],
      ['added', '261129_FULL_src', '2026-11-29T09:00:00.000Z'],
    ]);
    assert.equal(h.events[2]?.entry?.size, 10);
    // The manifest (and so the trail) keeps mtimes to the nanosecond.
    assert.equal(h.events[3]?.entry?.mtime, `${new Date(Number(v1Mtime / 1_000_000n)).toISOString().slice(0, 19)}.123456789Z`);
    const ht = await cli(['history', ...st, './notes/todo.txt']);
    assert.match(ht.stdout, /^2026-12-01 09:00:00 {2}deleted {3}261201_INCR_src$/m);
    const none = jsonOf<{ events: unknown[] }>(await cli(['history', '--json', ...st, 'never-existed.txt']));
    assert.deepEqual(none.events, []);

    const log = jsonOf<{ runs: { date: string; setId: string; tier: string; type: string; added: number; modified: number; deleted: number }[] }>(await cli(['log', '--json', ...st]));
    assert.deepEqual(log.runs.map((x) => [x.setId, x.date, x.tier, x.type, x.added, x.modified, x.deleted]), [
      ['261202_INCR_src', '2026-12-02T09:00:00.000Z', 'daily', 'INCR', 1, 0, 0],
      ['261201_INCR_src', '2026-12-01T09:00:00.000Z', 'daily', 'INCR', 0, 0, 1],
      ['261130_INCR_src', '2026-11-30T09:00:00.000Z', 'daily', 'INCR', 1, 1, 0],
      ['261129_FULL_src', '2026-11-29T09:00:00.000Z', 'weekly', 'FULL', 3, 0, 0],
    ]);
    const lt = await cli(['log', ...st]);
    // The audit trail's backups, newest first, each beside its run from the run log.
    assert.deepEqual(lt.stdout.split('\n').slice(0, 2), ['2026-12-02 09:00:00  backup SUCCESS (exit 0): made 261202_INCR_src', '2026-12-02 09:00:00  daily   INCR  261202_INCR_src  +1 ~0 -0']);

    // The trail is a plain git repository: <state>/jobs/<job>/audit (config/paths.ts + pipeline/backup.ts jobPaths).
    const audit = path.join(b.state, 'jobs', 'default', 'audit');
    const { stdout: gitLog } = await execFileP('git', ['-C', audit, 'log', '-p'], { env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_PAGER: 'cat' } });
    assert.match(gitLog, /2026-11-30 daily INCR 261130_INCR_src: \+1 ~1 -0/);
    assert.match(gitLog, /^-\{"path":"notes\/todo\.txt","type":"file","size":10,/m);
    assert.match(gitLog, /Date: +Mon Nov 30 09:00:00 2026 \+0000/);
    const gitDirs = (await listTree(b.src)).filter((p) => p === '.git' || p.endsWith('/.git'));
    assert.deepEqual(gitDirs, [], 'the source folder never gets a .git');
    await assert.rejects(fsp.access(path.join(b.root, '.git')));
    // No trail yet → exit 10.
    const missing = await cli(['log', '--state', path.join(b.root, 'no-state')], { expect: 10 });
    assert.match(missing.stderr, /no audit trail/);
  });
});
