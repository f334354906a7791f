/** Tests of the git audit trail against a real git repository in a temp folder. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { serializeDeleted, serializeEntry, serializeHeader, type ManifestEntry } from '../../src/core/manifest.js';
import { AuditTrail } from '../../src/audit/index.js';
import { tempDir } from '../helpers/tmp.js';

const execFileP = promisify(execFile);

function file(p: string, content: string, set: string, mtimeS = 1_790_000_000): ManifestEntry {
  return { path: p, type: 'file', size: content.length, mtimeNs: BigInt(mtimeS) * 1_000_000_000n, mode: 0o644, sha256: content.padEnd(64, '0').slice(0, 64), set };
}

async function manifest(dir: string, set: string, type: 'FULL' | 'INCR', entries: ManifestEntry[], deleted: string[] = []): Promise<string> {
  const f = path.join(dir, `${set}.jsonl`);
  const header = serializeHeader({ strata: 'manifest', version: 1, set, source: 'docs', type, tier: 'daily', created: '2026-11-27T09:00:00Z', base: null });
  await writeFile(f, [header, ...entries.map((e) => serializeEntry(e)), ...deleted.map(serializeDeleted), ''].join('\n'));
  return f;
}

/** plainGit runs git the way a person would inspect the trail (only isolated from this machine's config). */
async function plainGit(dir: string, args: string[]): Promise<string> {
  const { stdout } = await execFileP('git', ['-C', dir, ...args], { env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
  return stdout;
}

test('three backups: commits, messages, log and per-file history', async (t) => {
  const dir = await tempDir(t);
  const trail = new AuditTrail(path.join(dir, 'audit'));
  assert.equal(await trail.exists(), false);
  await trail.init();
  await trail.init(); // idempotent
  assert.equal(await trail.exists(), true);
  const weird = 'notes/line one\nline "two" ünï 日本';
  const m1 = await manifest(dir, '261127_FULL_docs', 'FULL', [file('a.txt', 'a1', '261127_FULL_docs'), file('b.txt', 'b1', '261127_FULL_docs'), file(weird, 'w1', '261127_FULL_docs')]);
  const c1 = await trail.commit({ source: 'docs', manifestFile: m1, date: new Date('2026-11-27T09:00:00Z'), tier: 'monthly', type: 'FULL', setId: '261127_FULL_docs', summary: { added: 3, modified: 0, deleted: 0 } });
  assert.match(c1 ?? '', /^[0-9a-f]{40}$/);
  const m2 = await manifest(dir, '261128_INCR_docs', 'INCR', [file('a.txt', 'a2', '261128_INCR_docs'), file('b.txt', 'b1', '261127_FULL_docs', 1_790_000_500), file('c.txt', 'c1', '261128_INCR_docs'), file(weird, 'w1', '261127_FULL_docs')]);
  await trail.commit({ source: 'docs', manifestFile: m2, date: new Date('2026-11-28T09:00:00Z'), tier: 'daily', type: 'INCR', setId: '261128_INCR_docs', summary: { added: 1, modified: 1, deleted: 0 } });
  const m3 = await manifest(dir, '261129_INCR_docs', 'INCR', [file('b.txt', 'b1', '261127_FULL_docs', 1_790_000_500), file('c.txt', 'c1', '261128_INCR_docs'), file(weird, 'w2', '261129_INCR_docs')], ['a.txt']);
  await trail.commit({ source: 'docs', manifestFile: m3, date: new Date('2026-11-29T09:00:00Z'), tier: 'daily', type: 'INCR', setId: '261129_INCR_docs', summary: { added: 0, modified: 1, deleted: 1 } });

  // The repository holds the audit form: no header, no `set`, no deletion lines.
  const stored = await readFile(path.join(dir, 'audit', 'docs.manifest'), 'utf8');
  assert.equal(stored.split('\n').filter((l) => l !== '').length, 3);
  assert.ok(!stored.includes('"set"') && !stored.includes('"strata"') && !stored.includes('"deleted"'));

  const subjects = await plainGit(trail.dir, ['log', '--format=%ad|%s', '--date=iso-strict']);
  assert.equal(subjects, [
    '2026-11-29T09:00:00+00:00|2026-11-29 daily INCR 261129_INCR_docs: +0 ~1 -1',
    '2026-11-28T09:00:00+00:00|2026-11-28 daily INCR 261128_INCR_docs: +1 ~1 -0',
    '2026-11-27T09:00:00+00:00|2026-11-27 monthly FULL 261127_FULL_docs: +3 ~0 -0',
    '',
  ].join('\n'));
  const patch = await plainGit(trail.dir, ['log', '-p', '-1']);
  assert.match(patch, /Author: strata <strata@localhost>/);
  assert.match(patch, /Incremental backup of source "docs" \(daily\)/);
  assert.match(patch, /^-\{"path":"a.txt"/m);

  const log = await trail.log();
  assert.deepEqual(log.map((l) => [l.setId, l.source, l.tier, l.type, l.added, l.modified, l.deleted, l.date]), [
    ['261129_INCR_docs', 'docs', 'daily', 'INCR', 0, 1, 1, '2026-11-29T09:00:00.000Z'],
    ['261128_INCR_docs', 'docs', 'daily', 'INCR', 1, 1, 0, '2026-11-28T09:00:00.000Z'],
    ['261127_FULL_docs', 'docs', 'monthly', 'FULL', 3, 0, 0, '2026-11-27T09:00:00.000Z'],
  ]);
  assert.equal(log[2]!.commit, c1);

  const a = await trail.history('a.txt');
  assert.deepEqual(a.map((h) => [h.setId, h.change, h.entry?.sha256?.slice(0, 2)]), [
    ['261129_INCR_docs', 'deleted', undefined],
    ['261128_INCR_docs', 'modified', 'a2'],
    ['261127_FULL_docs', 'added', 'a1'],
  ]);
  assert.equal(a[0]!.previous?.sha256?.slice(0, 2), 'a2');
  assert.equal(a[2]!.entry?.set, undefined);
  const b = await trail.history('b.txt', { source: 'docs' });
  assert.deepEqual(b.map((h) => [h.setId, h.change]), [['261128_INCR_docs', 'metadata'], ['261127_FULL_docs', 'added']]);
  const w = await trail.history(weird);
  assert.deepEqual(w.map((h) => [h.setId, h.change, h.entry?.path]), [['261129_INCR_docs', 'modified', weird], ['261127_FULL_docs', 'added', weird]]);
  // A prefix of a path, or a path that only differs in punctuation, is not the path.
  assert.deepEqual(await trail.history('a'), []);
  assert.deepEqual(await trail.history('a_txt'), []);
  assert.deepEqual(await trail.history('notes/line one'), []);
  assert.deepEqual(await trail.history('b.txt', { source: 'other' }), []);
});

test('committing the same set twice makes one commit; an empty change still logs the run', async (t) => {
  const dir = await tempDir(t);
  const trail = new AuditTrail(path.join(dir, 'audit'));
  await trail.init();
  assert.deepEqual(await trail.log(), []);
  assert.deepEqual(await trail.history('x'), []);
  const m1 = await manifest(dir, '261127_FULL_docs', 'FULL', [file('x', 'x1', '261127_FULL_docs')]);
  const c = { source: 'docs', manifestFile: m1, date: new Date('2026-11-27T09:00:00Z'), tier: 'daily', type: 'FULL' as const, setId: '261127_FULL_docs', summary: { added: 1, modified: 0, deleted: 0 } };
  assert.notEqual(await trail.commit(c), undefined);
  assert.equal(await trail.commit(c), undefined);
  // A set id that merely contains the first one is another set.
  assert.notEqual(await trail.commit({ ...c, setId: '261127_FULL_docs2', date: new Date('2026-11-28T09:00:00Z'), summary: { added: 0, modified: 0, deleted: 0 } }), undefined);
  const log = await trail.log();
  assert.deepEqual(log.map((l) => l.setId), ['261127_FULL_docs2', '261127_FULL_docs']);
  assert.equal(await trail.hasSet('261127_FULL_docs'), true);
  assert.equal(await trail.hasSet('261127_FULL'), false);
});

test('source names that could escape the repository are refused with a hint', async (t) => {
  const dir = await tempDir(t);
  const trail = new AuditTrail(path.join(dir, 'audit'));
  await trail.init();
  const m = await manifest(dir, 's', 'FULL', []);
  await assert.rejects(
    trail.commit({ source: '../evil', manifestFile: m, date: new Date('2026-11-27T09:00:00Z'), tier: 'daily', type: 'FULL', setId: 's', summary: { added: 0, modified: 0, deleted: 0 } }),
    (e: unknown) => e instanceof Error && /cannot be used/.test(e.message),
  );
});

test('a git killed mid-commit leaves index.lock: git fails until clearStaleLocks removes it', async (t) => {
  const dir = await tempDir(t);
  const trail = new AuditTrail(path.join(dir, 'audit'));
  await trail.init();
  const m1 = await manifest(dir, '261127_FULL_docs', 'FULL', [file('x', 'x1', '261127_FULL_docs')]);
  const c = { source: 'docs', manifestFile: m1, date: new Date('2026-11-27T09:00:00Z'), tier: 'weekly', type: 'FULL' as const, setId: '261127_FULL_docs', summary: { added: 1, modified: 0, deleted: 0 } };
  await trail.commit(c);
  const lock = path.join(dir, 'audit', '.git', 'index.lock');
  await writeFile(lock, '');
  const m2 = await manifest(dir, '261128_INCR_docs', 'INCR', [file('x', 'x2', '261128_INCR_docs')]);
  const c2 = { ...c, manifestFile: m2, date: new Date('2026-11-28T09:00:00Z'), tier: 'daily', type: 'INCR' as const, setId: '261128_INCR_docs', summary: { added: 0, modified: 1, deleted: 0 } };
  await assert.rejects(trail.commit(c2), /Another git process seems to be running/);
  assert.deepEqual(await trail.clearStaleLocks(), [lock]);
  assert.notEqual(await trail.commit(c2), undefined);
  assert.deepEqual((await trail.log()).map((l) => l.setId), ['261128_INCR_docs', '261127_FULL_docs']);
  assert.deepEqual(await trail.clearStaleLocks(), [], 'nothing else is removed');
});
