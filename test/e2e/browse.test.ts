/**
 * Browsing sets without restoring (strata ls, find, diff), absolute paths under a source (restore,
 * history, ls, find) and the audit trail rebuilt from the destination on a fresh machine — end to
 * end with the real CLI on a local destination, and on S3 (Ceph RGW).
 *
 * One chain of three sets of a source "docs" is made once: a weekly FULL (day 0), then two daily
 * INCRs (day 1: a.txt changed, old.txt deleted, reports/new.txt added; day 2: a.txt changed again,
 * reports/sub/deep.txt added). reports/q1.txt never changes: its bytes stay in the FULL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { S3Backend } from '../../src/backend/s3.js';
import { tempDir } from '../helpers/tmp.js';
import { cli, day, jsonOf, listTree } from './util.js';

interface EntryJson { path: string; type: string; size: number; mtime: string; mode: string; set?: string; target?: string }
interface LsJson { listings: { source: string; set: string; type: string; path: string; entries: EntryJson[] }[] }
interface FindJson { pattern: string; sets: string[]; matches: { source: string; path: string; versions: (EntryJson & { sets: string[] })[] }[] }
interface DiffJson {
  source: string; from: string; to: string; added: number; addedBytes: number; modified: number; deleted: number; deletedBytes: number; metadata: number;
  changes: { change: string; path: string; before?: EntryJson; after?: EntryJson }[];
}
interface HistoryJson {
  path: string; source: string | null;
  events: { change: string; setId: string; date: string; entry?: EntryJson }[];
  auditTrail: { rebuilt: boolean; from?: string; sets?: string[]; added?: string[] };
}
interface LogJson { runs: { setId: string; date: string; tier: string; type: string; added: number; modified: number; deleted: number }[]; auditTrail: { rebuilt: boolean; sets?: string[] } }

const FULL = '261129_FULL_docs';
const INCR1 = '261130_INCR_docs';
const INCR2 = '261201_INCR_docs';

/** makeChain writes the source of day 0 and backs it up three times with `args`, changing it between runs. */
async function makeChain(docs: string, args: string[], env: Record<string, string | undefined> = {}): Promise<void> {
  await fsp.mkdir(path.join(docs, 'reports'), { recursive: true });
  await fsp.mkdir(path.join(docs, 'empty'));
  await fsp.writeFile(path.join(docs, 'a.txt'), 'v1\n');
  await fsp.writeFile(path.join(docs, 'old.txt'), 'old file\n');
  await fsp.writeFile(path.join(docs, 'reports', 'q1.txt'), 'q1\n');
  await fsp.symlink('a.txt', path.join(docs, 'link'));
  await cli(['backup', '--quiet', '--tier', 'weekly', ...args], { now: day(0), env });
  await fsp.writeFile(path.join(docs, 'a.txt'), 'v2 longer\n');
  await fsp.rm(path.join(docs, 'old.txt'));
  await fsp.writeFile(path.join(docs, 'reports', 'new.txt'), 'new\n');
  await cli(['backup', '--quiet', '--tier', 'daily', ...args], { now: day(1), env });
  await fsp.writeFile(path.join(docs, 'a.txt'), 'v3 even longer\n');
  await fsp.mkdir(path.join(docs, 'reports', 'sub'));
  await fsp.writeFile(path.join(docs, 'reports', 'sub', 'deep.txt'), 'deep\n');
  await cli(['backup', '--quiet', '--tier', 'daily', ...args], { now: day(2), env });
}

describe('browse sets on a local destination', { concurrency: 1 }, () => {
  let root = '';
  let docs = '';
  let g: string[] = [];
  let config = '';
  before(async () => {
    root = await tempDir(undefined, 'strata-browse-');
    docs = path.join(root, 'home', 'me', 'docs');
    config = path.join(root, 'strata.yaml');
    await fsp.mkdir(path.join(root, 'dest'));
    await fsp.writeFile(config, `job: browse\nsources:\n  - path: ${docs}\ndestination: ${path.join(root, 'dest')}\n`);
    g = ['--config', config, '--state', path.join(root, 'state')];
    await makeChain(docs, g);
  });
  after(() => fsp.rm(root, { recursive: true, force: true }));

  it('ls shows the top folder of the newest set; for an INCR the whole tree as of that set, each file naming the set that holds it', async () => {
    const top = jsonOf<LsJson>(await cli(['ls', '--json', ...g]));
    assert.equal(top.listings.length, 1);
    assert.equal(top.listings[0]?.set, INCR2);
    assert.deepEqual(top.listings[0]?.entries.map((e) => [e.path, e.type]), [['a.txt', 'file'], ['empty', 'dir'], ['link', 'symlink'], ['reports', 'dir']]);
    const all = jsonOf<LsJson>(await cli(['ls', '-r', '--json', ...g])).listings[0]?.entries ?? [];
    assert.deepEqual(all.map((e) => e.path), ['a.txt', 'empty', 'link', 'reports', 'reports/new.txt', 'reports/q1.txt', 'reports/sub', 'reports/sub/deep.txt']);
    const byPath = new Map(all.map((e) => [e.path, e]));
    // Unchanged since the FULL: listed in the INCR's tree, its bytes in the FULL.
    assert.equal(byPath.get('reports/q1.txt')?.set, FULL);
    assert.equal(byPath.get('reports/new.txt')?.set, INCR1);
    assert.equal(byPath.get('a.txt')?.set, INCR2);
    assert.equal(byPath.get('a.txt')?.size, 15);
    assert.equal(byPath.get('link')?.target, 'a.txt');
  });

  it('ls --set and --at show the tree of an earlier set: deleted files still there, later ones not yet', async () => {
    const full = jsonOf<LsJson>(await cli(['ls', '-r', '--json', '--set', FULL, ...g])).listings[0];
    assert.equal(full?.set, FULL);
    assert.deepEqual(full?.entries.map((e) => e.path), ['a.txt', 'empty', 'link', 'old.txt', 'reports', 'reports/q1.txt']);
    const atDay1 = jsonOf<LsJson>(await cli(['ls', '-r', '--json', '--at', day(1, '12:00:00'), ...g])).listings[0];
    assert.equal(atDay1?.set, INCR1);
    assert.deepEqual(atDay1?.entries.map((e) => e.path), ['a.txt', 'empty', 'link', 'reports', 'reports/new.txt', 'reports/q1.txt']);
    assert.equal(atDay1?.entries.find((e) => e.path === 'a.txt')?.size, 10);
  });

  it('ls FOLDER lists its direct children like ls -l; ls FILE the file; an unknown path exits 1', async () => {
    const r = await cli(['ls', 'reports', ...g]);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', new RegExp(`^docs/reports: set ${INCR2} \\(INCR on ${INCR1}, 2026-12-01 09:00:00 UTC\\)$`));
    assert.match(lines[1] ?? '', /^-rw-r--r-- {2}4 {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}reports\/new\.txt$/);
    assert.match(lines[2] ?? '', /^-rw-r--r-- {2}3 {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}reports\/q1\.txt$/);
    assert.match(lines[3] ?? '', /^drwxr-xr-x {2}0 {2}.* {2}reports\/sub$/);
    assert.equal(lines[4], '3 entries, 2 files, 7 B');
    assert.equal(lines.length, 5, 'a folder lists its direct children only');
    const link = await cli(['ls', './link', ...g]);
    assert.match(link.stdout, /^lrwxrwxrwx {2}0 {2}.* {2}link -> a\.txt$/m);
    const missing = await cli(['ls', 'nope.txt', ...g], { expect: 1 });
    assert.match(missing.stderr, new RegExp(`no "nope.txt" in set ${INCR2}`));
  });

  it('find PATTERN: the versions of each matching path and the sets that hold them', async () => {
    const f = jsonOf<FindJson>(await cli(['find', '--json', '*.txt', ...g]));
    assert.deepEqual(f.sets, [FULL, INCR1, INCR2]);
    const v = new Map(f.matches.map((m) => [m.path, m.versions.map((x) => [x.size, x.sets])]));
    assert.deepEqual([...v.keys()], ['a.txt', 'old.txt', 'reports/new.txt', 'reports/q1.txt', 'reports/sub/deep.txt'], 'a pattern without "/" matches names in any folder');
    assert.deepEqual(v.get('a.txt'), [[3, [FULL]], [10, [INCR1]], [15, [INCR2]]]);
    assert.deepEqual(v.get('old.txt'), [[9, [FULL]]]);
    assert.deepEqual(v.get('reports/q1.txt'), [[3, [FULL, INCR1, INCR2]]]);
    const text = await cli(['find', 'reports/**/*.txt', ...g]);
    assert.match(text.stdout, new RegExp(`^ {3}3 {2}\\d{4}-.* {2}reports/q1\\.txt {2}in ${FULL} … ${INCR2} \\(3 sets\\)$`, 'm'));
    assert.match(text.stdout, new RegExp(`^ {3}5 {2}.* {2}reports/sub/deep\\.txt {2}in ${INCR2}$`, 'm'));
    assert.doesNotMatch(text.stdout, /a\.txt/);
    const none = await cli(['find', '*.xlsx', ...g]);
    assert.match(none.stdout, /no path matches "\*\.xlsx" in 3 sets/);
  });

  it('diff SET_A SET_B: added, modified, deleted, with sizes', async () => {
    const d = jsonOf<DiffJson>(await cli(['diff', '--json', FULL, INCR2, ...g]));
    assert.equal(d.source, 'docs');
    const changed = (kind: string): string[] => d.changes.filter((c) => c.change === kind).map((c) => c.path);
    assert.deepEqual(changed('added'), ['reports/new.txt', 'reports/sub', 'reports/sub/deep.txt']);
    assert.deepEqual(changed('deleted'), ['old.txt']);
    assert.deepEqual(changed('modified'), ['a.txt']);
    assert.deepEqual([d.added, d.addedBytes, d.modified, d.deleted, d.deletedBytes], [3, 9, 1, 1, 9]);
    const a = d.changes.find((c) => c.path === 'a.txt');
    assert.deepEqual([a?.before?.size, a?.after?.size], [3, 15]);
    const text = await cli(['diff', FULL, INCR2, ...g]);
    assert.match(text.stdout, /^M {2}3 -> 15 {2}a\.txt$/m);
    assert.match(text.stdout, /^- {8}9 {2}old\.txt$/m);
    assert.match(text.stdout, /^\+ {8}4 {2}reports\/new\.txt$/m);
    assert.match(text.stdout, /^\+ {8}0 {2}reports\/sub\/$/m);
    assert.match(text.stdout, /^3 added \(9 B\), 1 modified, 1 deleted \(9 B\)/m);
    // The other way round: what was added is deleted.
    const back = jsonOf<DiffJson>(await cli(['diff', '--json', INCR2, FULL, ...g]));
    assert.deepEqual([back.added, back.deleted, back.deletedBytes], [1, 3, 9]);
    const bad = await cli(['diff', FULL, '261299_FULL_docs', ...g], { expect: 1 });
    assert.match(bad.stderr, /no complete set 261299_FULL_docs/);
    await cli(['diff', FULL, ...g], { expect: 2 });
  });

  it('absolute paths under a source: restore, history, ls and find read them in that source; a path outside every source exits 2', async () => {
    const abs = path.join(docs, 'reports', 'q1.txt');
    const to = path.join(root, 'restored-abs');
    await cli(['restore', '--quiet', '--to', to, abs, ...g]);
    assert.deepEqual(await listTree(to), ['reports', 'reports/q1.txt']);
    const h = jsonOf<HistoryJson>(await cli(['history', '--json', path.join(docs, 'a.txt'), ...g]));
    assert.equal(h.source, 'docs');
    assert.deepEqual(h.events.map((e) => [e.change, e.setId]), [['modified', INCR2], ['modified', INCR1], ['added', FULL]]);
    assert.equal(h.auditTrail.rebuilt, false, 'this machine\'s own trail');
    const ls = jsonOf<LsJson>(await cli(['ls', '--json', path.join(docs, 'reports') + '/', ...g]));
    assert.deepEqual(ls.listings[0]?.entries.map((e) => e.path), ['reports/new.txt', 'reports/q1.txt', 'reports/sub']);
    const f = jsonOf<FindJson>(await cli(['find', '--json', path.join(docs, 'reports', '*.txt'), ...g]));
    assert.deepEqual(f.matches.map((m) => m.path), ['reports/new.txt', 'reports/q1.txt']);
    // The source folder itself is the whole source.
    const whole = jsonOf<LsJson>(await cli(['ls', '--json', docs, ...g]));
    assert.equal(whole.listings[0]?.entries.length, 4);
    for (const cmd of [['restore', '--to', path.join(root, 'never')], ['history'], ['ls'], ['find']]) {
      const out = await cli([...cmd, path.join(root, 'elsewhere', 'a.txt'), ...g], { expect: 2 });
      assert.match(out.stderr, new RegExp(`${cmd[0] ?? ''}: .*/elsewhere/a\\.txt is not in any source folder \\(docs = ${docs}\\)`));
      assert.match(out.stderr, /hint: Give a path inside one of these folders/);
    }
    await assert.rejects(fsp.access(path.join(root, 'never')));
    const wrongSource = await cli(['ls', '--source', 'photos', abs, ...g], { expect: 2 });
    assert.match(wrongSource.stderr, /the paths are in source docs, not in --source photos/);
    // Without a config file the sources' folders are unknown: say how to give the path.
    const free = await cli(['ls', '--dest', path.join(root, 'dest'), '--state', path.join(root, 'state'), abs], { expect: 2 });
    assert.match(free.stderr, /hint: Absolute paths are read against the sources of a config file/);
  });

  it('a fresh machine: history and log rebuild the audit trail from the manifests, say so and from which sets, and keep it up to date', async () => {
    const fresh = ['--config', config, '--state', path.join(root, 'fresh-state')];
    const own = jsonOf<LogJson>(await cli(['log', '--json', ...g]));
    const text = await cli(['history', 'a.txt', ...fresh]);
    assert.match(text.stderr, new RegExp(`no audit trail of job browse on this machine: rebuilt it from the manifests on ${path.join(root, 'dest')}, 3 sets: ${FULL}, ${INCR1}, ${INCR2}`));
    const lines = text.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? '', new RegExp(`^2026-12-01 09:00:00 {2}modified {2}${INCR2} 15 bytes sha256 `));
    assert.match(lines[1] ?? '', new RegExp(`^2026-11-30 09:00:00 {2}modified {2}${INCR1} 10 bytes sha256 `));
    assert.match(lines[2] ?? '', new RegExp(`^2026-11-29 09:00:00 {2}added {5}${FULL} 3 bytes sha256 `));
    // The rebuilt trail tells the same story as the machine's own.
    const rebuilt = jsonOf<LogJson>(await cli(['log', '--json', ...fresh]));
    assert.equal(rebuilt.auditTrail.rebuilt, true);
    assert.deepEqual(rebuilt.auditTrail.sets, [FULL, INCR1, INCR2]);
    assert.deepEqual(rebuilt.runs.map(({ commit: _c, ...r }: LogJson['runs'][number] & { commit?: string }) => r), own.runs.map(({ commit: _c, ...r }: LogJson['runs'][number] & { commit?: string }) => r));
    const old = jsonOf<HistoryJson>(await cli(['history', '--json', 'old.txt', ...fresh]));
    assert.deepEqual(old.events.map((e) => [e.change, e.setId]), [['deleted', INCR1], ['added', FULL]]);
    // A new set on the destination is added on the next read.
    await fsp.writeFile(path.join(docs, 'a.txt'), 'v4\n');
    await cli(['backup', '--quiet', '--tier', 'daily', ...g], { now: day(3) });
    const again = await cli(['history', '--json', 'a.txt', ...fresh]);
    assert.match(again.stderr, /reading the one rebuilt from the manifests on .*, 4 sets: .* \(1 added now\)/);
    const h = jsonOf<HistoryJson>(again);
    assert.deepEqual(h.events.map((e) => e.setId), ['261202_INCR_docs', INCR2, INCR1, FULL]);
    assert.deepEqual(h.auditTrail.added, ['261202_INCR_docs']);
    // A run killed mid-commit leaves git's lock in the rebuilt trail: it is made anew, not stuck.
    const rebuiltDir = path.join(root, 'fresh-state', 'jobs', 'browse', 'audit-rebuilt');
    const [only, ...more] = await fsp.readdir(rebuiltDir);
    assert.deepEqual(more, [], 'one rebuilt trail for the one job and machine');
    await fsp.writeFile(path.join(rebuiltDir, only ?? '', '.git', 'index.lock'), '');
    await fsp.writeFile(path.join(docs, 'a.txt'), 'v5\n');
    await cli(['backup', '--quiet', '--tier', 'daily', ...g], { now: day(4) });
    const relocked = await cli(['log', '--json', ...fresh]);
    assert.match(relocked.stderr, /rebuilt it from the manifests on .*, 5 sets/);
    assert.equal(jsonOf<LogJson>(relocked).runs.length, 5);
    await assert.rejects(fsp.access(path.join(rebuiltDir, only ?? '', '.git', 'index.lock')));
    // No trail, no config and no destination: exit 10 saying how to rebuild it.
    const none = await cli(['history', '--state', path.join(root, 'empty-state'), 'a.txt'], { expect: 10, cwd: path.join(root, 'home') });
    assert.match(none.stderr, /no destination to rebuild it from/);
    assert.match(none.stderr, /pass --dest DEST/);
    // A wrong password rebuilds nothing (exit 12).
    await cli(['log', ...fresh.slice(0, 2), '--state', path.join(root, 'fresh-2')], { expect: 12, env: { STRATA_PASSWORD: 'not the password' } });
  });
});

const S3_VARS = ['STRATA_TEST_S3_ENDPOINT', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET'] as const;
const missing = S3_VARS.filter((n) => (process.env[n] ?? '') === '');
if (missing.length > 0) {
  test('browse on S3', () => {
    assert.fail(`${missing.join(', ')} not set: start the test servers first (scripts/test-servers/start.sh) and source their variables`);
  });
} else {
  test('browse on S3 (Ceph RGW): ls, find, diff and the audit trail rebuilt on a fresh machine', async (t) => {
    const [endpoint, key, secret] = S3_VARS.map((n) => process.env[n] ?? '') as [string, string, string];
    const bucket = `strata-browse-${randomBytes(4).toString('hex')}`;
    await new S3Backend({ bucket, endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: key, secretAccessKey: secret } }).createBucket();
    const dest = `s3://${bucket}/backups?endpoint=${encodeURIComponent(endpoint)}&pathStyle=true`;
    const env = { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret, AWS_PROFILE: undefined, AWS_REGION: undefined };
    const root = await tempDir(t, 'strata-browse-s3-');
    const docs = path.join(root, 'docs');
    await makeChain(docs, ['--source', docs, '--dest', dest, '--state', path.join(root, 'state')], env);
    // Everything below runs as on a new machine: a state folder of its own, the destination only.
    const r = ['--dest', dest, '--state', path.join(root, 'new-machine')];
    const ls = jsonOf<LsJson>(await cli(['ls', '-r', '--json', ...r], { env }));
    assert.equal(ls.listings[0]?.set, INCR2);
    assert.equal(ls.listings[0]?.entries.find((e) => e.path === 'reports/q1.txt')?.set, FULL);
    assert.equal(ls.listings[0]?.entries.some((e) => e.path === 'old.txt'), false);
    const f = jsonOf<FindJson>(await cli(['find', '--json', 'old.txt', ...r], { env }));
    assert.deepEqual(f.matches.map((m) => m.versions.map((v) => v.sets)), [[[FULL]]]);
    const d = jsonOf<DiffJson>(await cli(['diff', '--json', FULL, INCR1, ...r], { env }));
    assert.deepEqual(d.changes.map((c) => [c.change, c.path]), [['modified', 'a.txt'], ['deleted', 'old.txt'], ['metadata', 'reports'], ['added', 'reports/new.txt']]);
    const h = await cli(['history', '--json', 'a.txt', ...r], { env });
    assert.match(h.stderr, /no audit trail of job default on this machine: rebuilt it from the manifests on s3:\/\/.*, 3 sets/);
    assert.deepEqual(jsonOf<HistoryJson>(h).events.map((e) => [e.change, e.setId]), [['modified', INCR2], ['modified', INCR1], ['added', FULL]]);
  });
}
