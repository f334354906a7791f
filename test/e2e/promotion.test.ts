/**
 * End to end: promotion (pipeline/promote) on a local folder and on the real Ceph RGW.
 * - local: November 2026 ends with two weekly sets (the last two Sundays missed); the first run in
 *   December promotes the last one to monthly: new sealed descriptor (promotedFrom, promotedAt),
 *   RESTORE.txt rewritten and recorded, further PAR2 recovery files made from the volumes only;
 *   `list --protection` shows the raised guarantee, and damage the weekly protection could not
 *   repair is repaired by stock par2 following the rewritten RESTORE.txt, then extracted by 7zz.
 * - crash: a promotion cut before its descriptor (a wrapper refuses the descriptor's put) leaves the
 *   old set standing; the next backup sweeps its extra files (manual promotion: rolled back) or
 *   promotes again (automatic: redone).
 * - S3: `strata promote` by hand; GetObjectTagging shows the new tier on every object of the set.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { GetObjectTaggingCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { Backend, BodySource, ByteRange, ObjectInfo, PutOptions } from '../../src/backend/backend.js';
import { LocalBackend } from '../../src/backend/local.js';
import { S3Backend } from '../../src/backend/s3.js';
import { checkDescriptor, type Descriptor } from '../../src/core/descriptor.js';
import { defaultProtectionConfig } from '../../src/core/protection/index.js';
import { isExtraRecoveryName } from '../../src/core/promotion.js';
import { openParityEngine } from '../../src/parity/open.js';
import { autoPromote, promoteSet, type PromoteContext } from '../../src/pipeline/promote.js';
import { Repository } from '../../src/repository/repository.js';
import { StrataError } from '../../src/errors.js';
import type { Output, Progress } from '../../src/ui/output.js';
import { strata, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { PROTECTION_YAML, assertSameTree, makeSource, treeHashes } from './damage.js';

const PASSWORD = 'promotion pässword';

function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

async function run(args: string[], opts: { now?: string; expect?: number; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = { STRATA_PASSWORD: PASSWORD, ...opts.env };
  if (opts.now !== undefined) env['STRATA_NOW'] = opts.now;
  const r = await strata(args, { env, input: '', timeoutMs: 180_000 });
  assert.equal(r.code, opts.expect ?? 0, `strata ${args.join(' ')}\n${show(r)}`);
  return r;
}

interface BackupJson {
  sources: { source: string; tier: string; type: string; setId: string | null }[];
  promotion?: { promoted: { id: string; from: string; to: string; addedRecoveryBytes: number; addedFiles: string[] }[]; failed: unknown[]; settled: { id: string; removed: string[] }[] };
  exitCode: number;
}

/** Rig is one job: a config file with a source, a destination and a state folder. */
interface Rig {
  root: string;
  source: string;
  dest: string;
  g: string[];
}

async function makeRig(t: Parameters<typeof tempDir>[0], dest?: string, env?: Record<string, string | undefined>): Promise<Rig> {
  const root = await tempDir(t, 'strata-e2e-promote-');
  const source = path.join(root, 'docs');
  await makeSource(source, 700_000);
  const local = dest ?? path.join(root, 'dest');
  if (dest === undefined) await mkdir(local);
  const cfg = path.join(root, 'strata.yaml');
  const lines = ['sources:', `  - path: ${JSON.stringify(source)}`, '    name: docs', `destination: ${JSON.stringify(local)}`, 'archive:', '  weekly:', '    level: 0', '    volumeSize: 64KiB', PROTECTION_YAML];
  await writeFile(cfg, lines.join('\n') + '\n');
  const g = ['--config', cfg, '--state', path.join(root, 'state')];
  await run(['init', '--dest', local, ...g], { env });
  return { root, source, dest: local, g };
}

async function backupAt(rig: Rig, now: string, env?: Record<string, string | undefined>, expect = 0): Promise<BackupJson> {
  const r = await run(['backup', '--tier', 'auto', '--json', ...rig.g], { now, env, expect });
  return JSON.parse(r.stdout) as BackupJson;
}

async function descriptorOf(dest: string, id: string): Promise<Descriptor> {
  return JSON.parse(await readFile(path.join(dest, id, `${id}.strata.json`), 'utf8')) as Descriptor;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** sh runs one line of RESTORE.txt as a person would, in the set folder, with a bare environment. */
function sh(line: string, cwd: string, input = ''): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', line], { cwd, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cwd, LANG: 'C.UTF-8' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

async function flipByte(file: string, offset: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = (b[0] ?? 0) ^ 0xff;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

const quiet: Output = {
  json: false, verbosity: 'normal',
  result: () => undefined, summary: () => undefined, data: () => undefined, info: () => undefined, verbose: () => undefined, warn: () => undefined,
  progress: (): Progress => ({ update: () => undefined, done: () => undefined }),
};

/** CutBeforeDescriptor is a destination on which every write of a descriptor fails: a promotion killed just before its last step. */
class CutBeforeDescriptor implements Backend {
  constructor(protected readonly inner: Backend) {}
  get description(): string {
    return this.inner.description;
  }
  put(key: string, body: BodySource, options?: PutOptions): Promise<ObjectInfo> {
    if (key.endsWith('.strata.json')) return Promise.reject(new Error('cut: the process was killed here'));
    return this.inner.put(key, body, options);
  }
  get(key: string, range?: ByteRange): Promise<Readable> {
    return this.inner.get(key, range);
  }
  stat(key: string): Promise<ObjectInfo> {
    return this.inner.stat(key);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  localPath(key: string): string | undefined {
    return this.inner.localPath?.(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** ArchivedVolumes answers reads of volumes as S3 does for objects in an archive class (and is no local folder). */
class ArchivedVolumes extends CutBeforeDescriptor {
  override put(key: string, body: BodySource, options?: PutOptions): Promise<ObjectInfo> {
    return this.inner.put(key, body, options);
  }
  override get(key: string, range?: ByteRange): Promise<Readable> {
    if (/\.7z\.\d{3}$/.test(key)) return Promise.reject(new StrataError('ARCHIVED', `reading ${key} on s3://bucket: the object is in archive storage (InvalidObjectState)`));
    return this.inner.get(key, range);
  }
  override localPath(): string | undefined {
    return undefined;
  }
}

async function promoteContext(backend: Backend, rig: Rig, now: string): Promise<PromoteContext> {
  const d = (await new Repository(backend).catalog()).complete[0];
  assert.ok(d?.machine !== undefined);
  return {
    backend, password: PASSWORD, parity: await openParityEngine(), protection: { ...defaultProtectionConfig, directMaxBytes: 256 * 1024, groupedMaxBytes: 1 << 20, groupSize: 4, windowSize: 6, windowSlide: 3 },
    workDir: path.join(rig.root, 'work'), job: d.job, machine: d.machine, now: new Date(now), out: quiet, signal: new AbortController().signal,
  };
}

describe('promotion end to end', { concurrency: 1 }, () => {
  test('local: the first run after a month with missed Sundays promotes its last weekly set; stock par2 repairs what only the raised protection can', async (t) => {
    const rig = await makeRig(t);
    // Sundays 8 and 15 November 2026; the 22nd and 29th are missed.
    const w1 = await backupAt(rig, '2026-11-08T09:00:00Z');
    assert.deepEqual(w1.sources.map((s) => [s.tier, s.setId]), [['weekly', '261108_FULL_docs']]);
    assert.deepEqual(w1.promotion?.promoted, []);
    const w2 = await backupAt(rig, '2026-11-15T09:00:00Z');
    assert.deepEqual(w2.sources.map((s) => [s.tier, s.setId]), [['weekly', '261115_FULL_docs']]);
    const id = '261115_FULL_docs';
    const before = await descriptorOf(rig.dest, id);
    const setDir = path.join(rig.dest, id);
    const volumesBefore = new Map((await readdir(setDir)).filter((n) => n.includes('.7z.')).map((n) => [n, n]));
    // Tuesday 1 December: a daily run; November has ended with two weekly sets: the last becomes monthly.
    const dec = await backupAt(rig, '2026-12-01T09:00:00Z');
    assert.deepEqual(dec.sources.map((s) => s.tier), ['daily']);
    assert.equal(dec.exitCode, 0);
    assert.deepEqual(dec.promotion?.promoted.map((p) => [p.id, p.from, p.to]), [[id, 'weekly', 'monthly']]);
    assert.ok((dec.promotion?.promoted[0]?.addedRecoveryBytes ?? 0) > 0, 'recovery data added');

    const d = await descriptorOf(rig.dest, id);
    assert.deepEqual([d.tier, d.promotedFrom, d.promotedAt], ['monthly', 'weekly', '2026-12-01T09:00:00.000Z']);
    assert.equal(checkDescriptor(d, PASSWORD), 'ok', 'the new descriptor is sealed with the password');
    // The volumes and the manifest are the same objects; only recovery files were added.
    assert.deepEqual(d.volumes, before.volumes);
    assert.deepEqual(d.manifest, before.manifest);
    assert.deepEqual(d.recovery.slice(0, before.recovery.length), before.recovery);
    const extra = d.recovery.slice(before.recovery.length);
    assert.ok(extra.length > 0 && extra.every((o) => isExtraRecoveryName(path.posix.basename(o.name))), JSON.stringify(extra));
    for (const o of d.recovery) assert.equal(sha256(await readFile(path.join(setDir, ...o.name.split('/')))), o.sha256, o.name);
    assert.deepEqual(new Map((await readdir(setDir)).filter((n) => n.includes('.7z.')).map((n) => [n, n])), volumesBefore);
    // RESTORE.txt rewritten for the new tier, and recorded.
    const restoreText = await readFile(path.join(setDir, 'RESTORE.txt'));
    assert.deepEqual({ size: restoreText.length, sha256: sha256(restoreText) }, d.restoreText);
    assert.match(restoreText.toString('utf8'), /monthly/);
    const oldUnits = before.protection?.units ?? [];
    const newUnits = d.protection?.units ?? [];
    assert.ok(newUnits.length > 1 && newUnits.length === oldUnits.length, 'a grouped set');
    // Every group gains what the monthly table asks, unless its whole-volume floor already gave it
    // more (the tail group of three volumes: one volume is 33 % > 30 %).
    for (const [i, u] of newUnits.entries()) assert.ok(u.recoveryBlocks >= (oldUnits[i]?.recoveryBlocks ?? Infinity), `${u.name} kept its recovery blocks`);
    assert.ok((newUnits[0]?.recoveryBlocks ?? 0) > (oldUnits[0]?.recoveryBlocks ?? Infinity), 'the first group gained recovery blocks');
    assert.equal(d.protection?.redundancyPercent, 30);
    assert.equal(before.protection?.redundancyPercent, 15);

    // list --protection shows the raised guarantee; verify passes.
    const listed = await run(['list', '--protection', '--set', id, ...rig.g]);
    const u0 = newUnits[0];
    assert.ok(u0 !== undefined);
    assert.ok(listed.stdout.includes(`${u0.name}: volumes ${(u0.volumes[0] ?? 0) + 1}-${(u0.volumes[u0.volumes.length - 1] ?? 0) + 1}, ${u0.sourceBlocks} blocks, ${u0.recoveryBlocks} recovery blocks`), listed.stdout);
    assert.match(listed.stdout, /tier monthly/);
    assert.match(listed.stdout, /promoted from weekly to monthly at 2026-12-01 09:00:00 UTC/);
    await run(['verify', '--set', id, ...rig.g]);
    // The next run has nothing left to promote.
    const again = await backupAt(rig, '2026-12-02T09:00:00Z');
    assert.deepEqual(again.promotion?.promoted, []);

    // Damage the first group beyond its weekly protection but within the monthly one: one volume
    // lost, and as many further blocks flipped as the added recovery blocks allow.
    const old0 = oldUnits[0];
    assert.ok(old0 !== undefined);
    const block = u0.blockSize;
    const sizes = d.volumes.map((v) => v.size);
    const blocksOf = (v: number): number => Math.ceil((sizes[v] ?? 0) / block);
    const [lost, flipped] = [u0.volumes[1] ?? 1, u0.volumes[2] ?? 2];
    const flips = u0.recoveryBlocks - blocksOf(lost);
    assert.ok(blocksOf(lost) + flips > old0.recoveryBlocks && flips <= blocksOf(flipped), `damage ${blocksOf(lost)} + ${flips} blocks: beyond ${old0.recoveryBlocks}, within ${u0.recoveryBlocks}`);
    const damaged = path.join(rig.root, 'damaged');
    await cp(setDir, damaged, { recursive: true });
    const lostName = d.volumes[lost]?.name ?? '';
    const flippedName = d.volumes[flipped]?.name ?? '';
    await rm(path.join(damaged, lostName));
    for (let b = 0; b < flips; b++) await flipByte(path.join(damaged, flippedName), b * block + 7);
    const text = restoreText.toString('utf8');
    const lines = text.split('\n').filter((l) => /^ {2}(par2|7zz) /.test(l)).map((l) => l.trim());
    const repairLines = lines.filter((l) => l.startsWith('par2 repair '));
    const unitLine = repairLines.find((l) => l.endsWith(`${u0.dir}/${u0.name}.par2`));
    assert.ok(unitLine !== undefined, text);
    // Without the recovery files promotion added, stock par2 cannot repair it (the weekly guarantee).
    const weeklyOnly = path.join(rig.root, 'weekly-only');
    await cp(damaged, weeklyOnly, { recursive: true });
    for (const o of extra) await rm(path.join(weeklyOnly, ...o.name.split('/')));
    const short = await sh(unitLine, weeklyOnly);
    assert.equal(short.code, 2, `the weekly protection alone is not enough\n${short.out}`);
    assert.match(short.out, /You need \d+ more recovery blocks?/);
    // With them, RESTORE.txt's lines as written repair every volume, and its 7zz line extracts.
    for (const line of repairLines) {
      const r = await sh(line, damaged);
      assert.equal(r.code, 0, `${line}\n${r.out}`);
    }
    const hashes = await treeHashes(damaged);
    for (const v of d.volumes) assert.equal(hashes.get(v.name), v.sha256, `${v.name} rebuilt`);
    const extract = lines.find((l) => l.startsWith('7zz x ') && !l.includes('.manifest.7z'));
    assert.ok(extract !== undefined, text);
    const x = await sh(extract, damaged, `${PASSWORD}\n`);
    assert.equal(x.code, 0, `${extract}\n${x.out}`);
    await assertSameTree(path.resolve(damaged, /-o(\S+)/.exec(extract)?.[1] ?? ''), rig.source, 'the promoted set extracted with 7zz after a stock par2 repair');
  });

  test('crash: a promotion cut before its descriptor leaves the old set standing; the next run sweeps a manual one and redoes an automatic one', async (t) => {
    const rig = await makeRig(t);
    await backupAt(rig, '2026-11-08T09:00:00Z');
    await backupAt(rig, '2026-11-15T09:00:00Z');
    const cut = new CutBeforeDescriptor(new LocalBackend(rig.dest));
    // A manual promotion of the 8 November set to yearly, killed before its descriptor.
    const first = await descriptorOf(rig.dest, '261108_FULL_docs');
    const ctx = await promoteContext(cut, rig, '2026-11-20T09:00:00Z');
    await assert.rejects(promoteSet(ctx, first, 'yearly', 'by hand'), /cut/);
    const folder = path.join(rig.dest, first.id);
    const left = await readdir(folder, { recursive: true });
    assert.ok(left.some((n) => isExtraRecoveryName(path.basename(n))), `extra recovery files were uploaded: ${left.join(' ')}`);
    assert.ok(left.includes(`${first.id}.promoting`));
    // The old descriptor stands: the set is weekly and whole.
    assert.deepEqual(await descriptorOf(rig.dest, first.id), first);
    const listed = JSON.parse((await run(['list', '--json', ...rig.g])).stdout) as { sets: { id: string; tier: string }[] };
    assert.deepEqual(listed.sets.map((s) => [s.id, s.tier]), [['261108_FULL_docs', 'weekly'], ['261115_FULL_docs', 'weekly']]);
    // The next backup (mid-month: nothing to promote) rolls it back: extra files gone, RESTORE.txt as recorded.
    const next = await backupAt(rig, '2026-11-21T09:00:00Z');
    assert.deepEqual(next.promotion?.settled.map((s) => s.id), [first.id]);
    assert.ok((next.promotion?.settled[0]?.removed.length ?? 0) > 0);
    assert.deepEqual(next.promotion?.promoted, []);
    const after = await readdir(folder, { recursive: true });
    assert.ok(!after.some((n) => isExtraRecoveryName(path.basename(n)) || n.endsWith('.promoting')), after.join(' '));
    await run(['verify', '--set', first.id, ...rig.g]);

    // The automatic promotion of 15 November (December's first run), cut the same way: redone by the next run.
    const auto = await autoPromote(await promoteContext(cut, rig, '2026-12-01T09:00:00Z'), (await new Repository(cut).catalog()).complete);
    assert.deepEqual(auto.failed.map((f) => [f.id, f.to]), [['261115_FULL_docs', 'monthly']]);
    assert.equal((await descriptorOf(rig.dest, '261115_FULL_docs')).tier, 'weekly');
    const redo = await backupAt(rig, '2026-12-02T09:00:00Z');
    assert.deepEqual(redo.promotion?.settled.map((s) => s.id), ['261115_FULL_docs']);
    assert.deepEqual(redo.promotion?.promoted.map((p) => [p.id, p.to]), [['261115_FULL_docs', 'monthly']]);
    const d = await descriptorOf(rig.dest, '261115_FULL_docs');
    assert.equal(d.tier, 'monthly');
    const files = await readdir(path.join(rig.dest, d.id), { recursive: true });
    const extraOnDisk = files.filter((n) => isExtraRecoveryName(path.basename(n))).sort();
    assert.deepEqual(extraOnDisk, d.recovery.map((o) => o.name).filter((n) => isExtraRecoveryName(path.posix.basename(n))).sort());
    await run(['verify', '--set', d.id, ...rig.g]);
  });

  test('archive class: volumes the provider will not serve (S3 InvalidObjectState) — promoted by descriptor and tags, told why; promote again adds the recovery data', async (t) => {
    const rig = await makeRig(t);
    await backupAt(rig, '2026-11-08T09:00:00Z');
    const local = new LocalBackend(rig.dest);
    const archived = new ArchivedVolumes(local);
    const d = await descriptorOf(rig.dest, '261108_FULL_docs');
    const got = await promoteSet(await promoteContext(archived, rig, '2026-11-10T09:00:00Z'), d, 'monthly', 'by hand');
    assert.match(got.note ?? '', /PAR2 protection not raised: its volumes are in an archive storage class/);
    assert.deepEqual([got.addedFiles, got.redundancyPercent], [[], 15]);
    const p = await descriptorOf(rig.dest, d.id);
    assert.deepEqual([p.tier, p.promotedFrom, p.protection, p.recovery], ['monthly', 'weekly', d.protection, d.recovery]);
    await run(['verify', '--set', d.id, ...rig.g]);
    // Readable again: the same promotion adds the recovery data (the tier stays, promotedFrom too).
    const again = await promoteSet(await promoteContext(local, rig, '2026-11-11T09:00:00Z'), p, 'monthly', 'by hand');
    assert.ok(again.addedFiles.length > 0 && again.note === undefined);
    const q = await descriptorOf(rig.dest, d.id);
    assert.deepEqual([q.tier, q.promotedFrom, q.protection?.redundancyPercent], ['monthly', 'weekly', 30]);
    await run(['verify', '--set', d.id, ...rig.g]);
    // Nothing short any more: a third time is refused.
    await assert.rejects(promoteSet(await promoteContext(local, rig, '2026-11-12T09:00:00Z'), q, 'monthly', 'by hand'), /monthly already/);
  });

  test('bad input: promote needs --set and monthly|yearly, refuses INCR sets and a set at that tier already', async (t) => {
    const rig = await makeRig(t);
    await backupAt(rig, '2026-11-08T09:00:00Z');
    await writeFile(path.join(rig.source, 'new.txt'), randomBytes(100));
    await backupAt(rig, '2026-11-09T09:00:00Z');
    const usage = await run(['promote', '--tier', 'monthly', ...rig.g], { expect: 2 });
    assert.match(usage.stderr, /promote needs --set/);
    const tier = await run(['promote', '--set', '261108_FULL_docs', '--tier', 'daily', ...rig.g], { expect: 2 });
    assert.match(tier.stderr, /cannot promote to "daily"/);
    const incr = await run(['promote', '--set', '261109_INCR_docs', '--tier', 'monthly', ...rig.g], { expect: 2 });
    assert.match(incr.stderr, /INCR set: only FULL sets are promoted/);
    await run(['promote', '--set', '261199_FULL_docs', '--tier', 'monthly', ...rig.g], { expect: 1 });
    await run(['promote', '--set', '261108_FULL_docs', '--tier', 'monthly', ...rig.g], { now: '2026-11-10T09:00:00Z' });
    const twice = await run(['promote', '--set', '261108_FULL_docs', '--tier', 'monthly', ...rig.g], { expect: 2 });
    assert.match(twice.stderr, /monthly already/);
  });

  const endpoint = process.env['STRATA_TEST_S3_ENDPOINT'];
  const key = process.env['STRATA_TEST_S3_KEY'];
  const secret = process.env['STRATA_TEST_S3_SECRET'];
  test('S3 (Ceph RGW): strata promote by hand retags every object of the set, uploads only the new files, and the set verifies', async (t) => {
    assert.ok(endpoint !== undefined && key !== undefined && secret !== undefined, 'STRATA_TEST_S3_* not set: source /work/test-env.sh (scripts/test-servers)');
    const bucket = `strata-promote-${randomBytes(4).toString('hex')}`;
    const creds = { accessKeyId: key, secretAccessKey: secret };
    await new S3Backend({ bucket, endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds }).createBucket();
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds });
    after(() => client.destroy());
    const env = { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret, AWS_PROFILE: undefined, AWS_REGION: undefined };
    const dest = `s3://${bucket}/b?endpoint=${encodeURIComponent(endpoint)}&pathStyle=true`;
    const rig = await makeRig(t, dest, env);
    const w = await backupAt(rig, '2026-11-08T09:00:00Z', env);
    const id = w.sources[0]?.setId ?? '';
    assert.equal(id, '261108_FULL_docs');
    const keys = async (): Promise<string[]> => {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `b/${id}/`, ContinuationToken: token }));
        for (const o of page.Contents ?? []) out.push(o.Key ?? '');
        token = page.NextContinuationToken;
      } while (token !== undefined);
      return out.sort();
    };
    const tierOf = async (k: string): Promise<string | undefined> => (await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: k }))).TagSet?.find((x) => x.Key === 'tier')?.Value;
    const before = await keys();
    for (const k of before) assert.equal(await tierOf(k), 'weekly', k);
    const r = await run(['promote', '--set', id, '--tier', 'yearly', '--json', ...rig.g], { now: '2026-11-10T09:00:00Z', env });
    const out = JSON.parse(r.stdout) as { promoted: { id: string; to: string; addedFiles: string[]; retagged: number }[] };
    assert.deepEqual(out.promoted.map((p) => [p.id, p.to]), [[id, 'yearly']]);
    const afterKeys = await keys();
    // Only the added recovery files are new; the marker is gone.
    assert.deepEqual(afterKeys.filter((k) => !before.includes(k)), (out.promoted[0]?.addedFiles ?? []).map((f) => `b/${id}/${f}`).sort());
    assert.ok((out.promoted[0]?.addedFiles.length ?? 0) > 0);
    for (const k of afterKeys) assert.equal(await tierOf(k), 'yearly', `GetObjectTagging ${k}`);
    const listed = JSON.parse((await run(['list', '--json', ...rig.g], { env })).stdout) as { sets: { id: string; tier: string; promotedFrom: string | null }[] };
    assert.deepEqual(listed.sets.map((s) => [s.id, s.tier, s.promotedFrom]), [[id, 'yearly', 'weekly']]);
    await run(['verify', '--set', id, ...rig.g], { env });
    const restored = path.join(rig.root, 'restored');
    await run(['restore', '--set', id, '--to', restored, ...rig.g], { env });
    await assertSameTree(path.join(restored), rig.source, 'the promoted set restored from S3');
  });

  const davUrl = process.env['STRATA_TEST_WEBDAV_URL'];
  const davUser = process.env['STRATA_TEST_WEBDAV_USER'];
  const davPass = process.env['STRATA_TEST_WEBDAV_PASS'];
  test('WebDAV (Apache mod_dav): the automatic promotion downloads the volumes, uploads the new recovery files and replaces the descriptor', async (t) => {
    assert.ok(davUrl !== undefined && davUser !== undefined && davPass !== undefined, 'STRATA_TEST_WEBDAV_* not set: source /work/test-env.sh (scripts/test-servers)');
    const env = { STRATA_WEBDAV_PASSWORD: davPass };
    const dest = `webdav+http://${encodeURIComponent(davUser)}@${new URL(davUrl).host}/promote-${randomBytes(4).toString('hex')}/backups`;
    const rig = await makeRig(t, dest, env);
    await backupAt(rig, '2026-11-15T09:00:00Z', env);
    const dec = await backupAt(rig, '2026-12-01T09:00:00Z', env);
    assert.deepEqual(dec.promotion?.promoted.map((p) => [p.id, p.from, p.to]), [['261115_FULL_docs', 'weekly', 'monthly']]);
    assert.ok((dec.promotion?.promoted[0]?.addedFiles.length ?? 0) > 0);
    const listed = JSON.parse((await run(['list', '--json', ...rig.g], { env })).stdout) as { sets: { id: string; tier: string; promotedFrom: string | null; recoveryPercent: number }[] };
    assert.deepEqual(listed.sets.map((s) => [s.id, s.tier, s.promotedFrom]), [['261115_FULL_docs', 'monthly', 'weekly']]);
    // verify downloads every object, checks each against the new descriptor, and PAR2 with the added files.
    await run(['verify', '--set', '261115_FULL_docs', ...rig.g], { env });
  });
});
