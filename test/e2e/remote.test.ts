/**
 * End-to-end through each real server of scripts/test-servers (Ceph RGW for S3, Apache mod_dav for
 * WebDAV, rclone pointed at that WebDAV server): a weekly FULL and a daily INCR of a small
 * multi-volume source; list, verify, verify --remote and verify --read-data; an exact restore on a
 * fresh machine; then a volume deleted and another corrupted on the server, found by verify and
 * verify --remote, rebuilt and re-uploaded by verify --repair, and restored exactly again.
 * S3: every object's tags (tier, type, set) and the storage class per tier are read back with the
 * AWS SDK. WebDAV: Apache's access log shows that verify --remote downloads nothing and a restore
 * only what it needs. Finally the servers' stored bytes (RADOS pools, the DAV folder on disk) are
 * grepped for every source file and folder name (UTF-8 and UTF-16LE) and for the password.
 * Without the servers' variables this FAILS with how to start them (it does not skip).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it, test } from 'node:test';
import { promisify } from 'node:util';
import { GetObjectTaggingCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Backend } from '../../src/backend/backend.js';
import { bufferSource } from '../../src/io/hash.js';
import { openBackend } from '../../src/backend/open.js';
import { S3Backend } from '../../src/backend/s3.js';
import { parseDestination, type Destination } from '../../src/core/destination.js';
import { tempDir } from '../helpers/tmp.js';
import { PASSWORD, assertSameTree, cli, day, jsonOf, snapshot, type Snapshot } from './util.js';

const execFileP = promisify(execFile);

const REQUIRED = [
  'STRATA_TEST_S3_ENDPOINT', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET', 'STRATA_TEST_CEPH_CONF',
  'STRATA_TEST_WEBDAV_URL', 'STRATA_TEST_WEBDAV_USER', 'STRATA_TEST_WEBDAV_PASS', 'STRATA_TEST_WEBDAV_ROOT',
] as const;
type ServerEnv = Record<(typeof REQUIRED)[number], string>;

/** Target is one remote destination as the CLI sees it, plus a direct Backend on it for damage. */
interface Target {
  kind: 's3' | 'webdav' | 'rclone';
  dest: string;
  /** Variables the CLI needs (credentials), added to the environment of every run. */
  env: Record<string, string | undefined>;
  /** The destination with everything needed to open it in this process. */
  parsed: Destination;
  /** Key prefix of this run on the server (for the access log). */
  prefix: string;
}

interface BackupJson {
  sources: { setId: string | null; type: string; tier: string; volumes: number }[];
}
interface ListJson {
  sets: { id: string; tier: string; type: string; volumes: number; chain: string[] }[];
}
interface VerifyJson {
  sets: { id: string; status: string; lost: string[]; repaired: string[]; archiveTest: string }[];
}
interface RemoteJson {
  mode: string;
  sets: { id: string; status: string; descriptor: string; objects: number; sizeOk: number; providerHashOk: number; readOk: number; sampled: number; problems: { name: string; state: string }[]; messages: string[] }[];
}

/** Scenario is what one backend's run shares between its steps. */
interface Scenario {
  root: string;
  src: string;
  names: string[];
  full: string;
  incr: string;
  expected: Snapshot;
}

/** writeSource fills a source with unmistakable names (a random token in each) and returns them. */
async function writeSource(src: string, tok: string): Promise<string[]> {
  const files: Record<string, string | Buffer> = {
    [`Projekt-${tok}/Bericht-${tok}-vertraulich.txt`]: `Quartalsbericht ${tok}\n`.repeat(400),
    [`Projekt-${tok}/Übersicht-${tok}.md`]: `# Übersicht ${tok}\n`.repeat(50),
    [`Fotos-${tok}/urlaub-${tok}.bin`]: randomBytes(300 * 1024),
    [`notiz-${tok}.txt`]: 'erste Fassung\n',
  };
  for (const [rel, data] of Object.entries(files)) {
    await fsp.mkdir(path.join(src, path.dirname(rel)), { recursive: true });
    await fsp.writeFile(path.join(src, rel), data);
  }
  await fsp.mkdir(path.join(src, `leer-${tok}`), { recursive: true });
  return [`Projekt-${tok}`, `Bericht-${tok}-vertraulich.txt`, `Übersicht-${tok}.md`, `Fotos-${tok}`, `urlaub-${tok}.bin`, `notiz-${tok}.txt`, `leer-${tok}`, `neu-${tok}.txt`, `nachtrag-${tok}.bin`];
}

/** changeSource makes the day-1 changes: one modified, two added, one deleted. */
async function changeSource(src: string, tok: string): Promise<void> {
  await fsp.writeFile(path.join(src, `notiz-${tok}.txt`), 'zweite Fassung, länger\n');
  await fsp.writeFile(path.join(src, `neu-${tok}.txt`), 'neu\n');
  await fsp.writeFile(path.join(src, `Fotos-${tok}`, `nachtrag-${tok}.bin`), randomBytes(100 * 1024));
  await fsp.rm(path.join(src, `Projekt-${tok}`, `Übersicht-${tok}.md`));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** needlesFor gives the byte strings that must never be stored: names (UTF-8, UTF-16LE) and the password. */
function needlesFor(names: readonly string[]): { label: string; bytes: Buffer }[] {
  const out: { label: string; bytes: Buffer }[] = [];
  for (const s of [...names, PASSWORD]) {
    const label = s === PASSWORD ? 'the password' : JSON.stringify(s);
    out.push({ label: `${label} (UTF-8)`, bytes: Buffer.from(s, 'utf8') }, { label: `${label} (UTF-16LE)`, bytes: Buffer.from(s, 'utf16le') });
    // NFD as well: macOS-style decomposed names would be another spelling of the same name.
    if (s.normalize('NFD') !== s) out.push({ label: `${label} (UTF-8 NFD)`, bytes: Buffer.from(s.normalize('NFD'), 'utf8') });
  }
  return out;
}

/** filesBelow reads every regular file under a folder. */
async function filesBelow(dir: string): Promise<{ file: string; data: Buffer }[]> {
  const out: { file: string; data: Buffer }[] = [];
  for (const e of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    // Other runs write to the same server meanwhile: a file that vanished since the listing is skipped.
    const data = await fsp.readFile(file).catch((err: unknown) => {
      if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (data !== undefined) out.push({ file, data });
  }
  return out;
}

/** radosDump exports every pool of the test Ceph cluster (object data, xattrs and omap) and returns the dumps. */
async function radosDump(conf: string, work: string): Promise<{ file: string; data: Buffer }[]> {
  const pools = (await execFileP('rados', ['-c', conf, 'lspools'], { timeout: 60_000 })).stdout.split('\n').map((s) => s.trim()).filter((s) => s !== '');
  assert.ok(pools.some((p) => p.endsWith('.rgw.buckets.data')), `no RGW data pool among ${pools.join(', ')}`);
  assert.ok(pools.some((p) => p.endsWith('.rgw.buckets.index')), `no RGW index pool among ${pools.join(', ')}`);
  const out: { file: string; data: Buffer }[] = [];
  for (const pool of pools) {
    const file = path.join(work, `${pool}.export`);
    await execFileP('rados', ['-c', conf, '-p', pool, 'export', file], { timeout: 120_000 });
    out.push({ file: `rados pool ${pool}`, data: await fsp.readFile(file) });
    await fsp.rm(file);
  }
  return out;
}

/** assertNoSecrets fails on the first stored file holding a source name or the password; `proof` must be found (it shows the bytes are the real ones). */
function assertNoSecrets(stored: readonly { file: string; data: Buffer }[], names: readonly string[], proofs: readonly Buffer[]): void {
  assert.ok(stored.length > 0, 'nothing stored on the server?');
  for (const proof of proofs) assert.ok(stored.some((s) => s.data.includes(proof)), `the stored bytes do not contain a known piece of an uploaded volume (${proof.length} bytes): not the real storage?`);
  for (const n of needlesFor(names)) {
    const hit = stored.find((s) => s.data.includes(n.bytes));
    assert.equal(hit, undefined, `${n.label} is stored in plaintext in ${hit?.file ?? ''}`);
  }
}

/** tagMap turns an S3 TagSet into a plain record. */
function tagMap(set: { Key?: string | undefined; Value?: string | undefined }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of set ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/** volumeKey names volume `n` (1-based) of a set. */
function volumeKey(setId: string, n: number): string {
  return `${setId}/${setId}.7z.${String(n).padStart(3, '0')}`;
}

/** remoteScenario registers the steps every backend goes through; `extra` adds backend-specific ones at the end. */
function remoteScenario(makeTarget: () => Promise<Target>, extra: (get: () => { t: Target; s: Scenario; backend: Backend }) => void): void {
  let t: Target;
  let backend: Backend;
  let s: Scenario;
  const tok = randomBytes(4).toString('hex');
  const run = (args: string[], state: string, opts: { now?: string; expect?: number; env?: Record<string, string | undefined> } = {}) =>
    cli([...args, '--dest', t.dest, '--state', path.join(s.root, state)], { ...opts, env: { ...t.env, ...opts.env }, cwd: s.root });

  before(async () => {
    t = await makeTarget();
    backend = await openBackend(t.parsed, { env: { ...process.env, ...t.env } });
    const root = await tempDir(undefined, 'strata-e2e-remote-');
    const src = path.join(root, 'docs');
    s = { root, src, names: await writeSource(src, tok), full: '', incr: '', expected: new Map() };
    // A new destination is initialised first (strata never creates a missing one on its own).
    await cli(['init', '--dest', t.dest, '--state', path.join(root, 'state-init')], { env: t.env, cwd: root });
  });
  after(async () => {
    await backend.close();
    await fsp.rm(s.root, { recursive: true, force: true });
  });

  it('backs up a weekly FULL and a daily INCR of a multi-volume source', async () => {
    const full = jsonOf<BackupJson>(await run(['backup', '--json', '--tier', 'weekly', '--source', s.src, '--volume-size', '64KiB'], 'state-a', { now: day(0) }));
    await changeSource(s.src, tok);
    const incr = jsonOf<BackupJson>(await run(['backup', '--json', '--tier', 'daily', '--source', s.src, '--volume-size', '64KiB'], 'state-a', { now: day(1) }));
    const f = full.sources[0];
    const i = incr.sources[0];
    assert.ok(f?.setId != null && i?.setId != null);
    assert.deepEqual([f.tier, f.type, i.tier, i.type], ['weekly', 'FULL', 'daily', 'INCR']);
    assert.ok(f.volumes >= 4, `FULL has ${f.volumes} volumes`);
    assert.ok(i.volumes >= 2, `INCR has ${i.volumes} volumes`);
    s.full = f.setId;
    s.incr = i.setId;
    s.expected = await snapshot(s.src);
  });

  it('lists the sets, and verify, verify --remote and verify --read-data find them intact', async () => {
    const list = jsonOf<ListJson>(await run(['list', '--json'], 'state-a'));
    assert.deepEqual(list.sets.map((x) => [x.id, x.tier, x.type]), [[s.full, 'weekly', 'FULL'], [s.incr, 'daily', 'INCR']]);
    assert.deepEqual(list.sets[1]?.chain, [s.incr, s.full]);
    const v = jsonOf<VerifyJson>(await run(['verify', '--all', '--json'], 'state-a'));
    assert.deepEqual(v.sets.map((x) => [x.id, x.status, x.archiveTest]), [[s.full, 'ok', 'ok'], [s.incr, 'ok', 'ok']]);
    const r = jsonOf<RemoteJson>(await run(['verify', '--all', '--remote', '--json'], 'state-a'));
    for (const x of r.sets) {
      assert.deepEqual([x.status, x.descriptor, x.sizeOk, x.problems], ['ok', 'ok', x.objects, []], JSON.stringify(x));
      // S3 keeps the SHA-256 as metadata and WebDAV as a property; rclone's WebDAV remote reports none.
      assert.equal(x.providerHashOk, t.kind === 'rclone' ? 0 : x.objects, JSON.stringify(x));
      if (t.kind === 'rclone') assert.ok(x.messages.some((m) => /sizes checked only/.test(m)), x.messages.join('\n'));
    }
    const rd = jsonOf<RemoteJson>(await run(['verify', '--all', '--read-data', '--json', '--no-password'], 'state-a'));
    assert.equal(rd.mode, 'read-data');
    for (const x of rd.sets) assert.deepEqual([x.status, x.descriptor, x.readOk, x.sampled], ['ok', 'skipped', x.objects, x.objects], JSON.stringify(x));
    const sample = jsonOf<RemoteJson>(await run(['verify', '--all', '--read-data=40%', '--seed', tok, '--json'], 'state-a'));
    for (const x of sample.sets) assert.ok(x.status === 'ok' && x.sampled > 0 && x.sampled < x.objects && x.readOk === x.sampled, JSON.stringify(x));
  });

  it('restores exactly on a fresh machine (no state folder)', async () => {
    const to = path.join(s.root, 'restored-1');
    await run(['restore', '--to', to], 'state-fresh-1');
    assertSameTree(await snapshot(to), s.expected);
  });

  it('finds a deleted and a corrupted volume, repairs and re-uploads them, and restores exactly again', async () => {
    const deleted = volumeKey(s.full, 2);
    const corrupted = volumeKey(s.incr, 1);
    await backend.stat(deleted);
    await backend.delete(deleted);
    const bytes = await readAll(await backend.get(corrupted));
    for (let i = 0; i < 100; i++) bytes[(bytes.length >> 1) + i] = (bytes[(bytes.length >> 1) + i] ?? 0) ^ 0x5a;
    await backend.put(corrupted, bufferSource(bytes), { overwrite: true, tags: { tier: 'daily', type: 'INCR', set: s.incr } });
    const name = (k: string): string => k.slice(k.indexOf('/') + 1);

    const remote = jsonOf<RemoteJson>(await run(['verify', '--all', '--remote', '--json'], 'state-b', { expect: 13 }));
    const problems = Object.fromEntries(remote.sets.map((x) => [x.id, x.problems.map((p) => [p.name, p.state])]));
    assert.deepEqual(problems[s.full], [[name(deleted), 'missing']]);
    // Same size: only a provider that reports SHA-256 shows the corruption without reading.
    assert.deepEqual(problems[s.incr], t.kind === 'rclone' ? [] : [[name(corrupted), 'hash-mismatch']]);
    const read = jsonOf<RemoteJson>(await run(['verify', '--all', '--read-data', '--json'], 'state-b', { expect: 13 }));
    assert.deepEqual(read.sets.map((x) => x.problems.map((p) => [p.name, p.state])), [[[name(deleted), 'missing']], [[name(corrupted), 'hash-mismatch']]]);

    const v = jsonOf<VerifyJson>(await run(['verify', '--all', '--json'], 'state-b', { expect: 13 }));
    assert.deepEqual(v.sets.map((x) => [x.status, x.lost]), [['damaged', [name(deleted)]], ['damaged', [name(corrupted)]]]);
    const fixed = jsonOf<VerifyJson>(await run(['verify', '--all', '--repair', '--json'], 'state-b'));
    assert.deepEqual(fixed.sets.map((x) => [x.status, x.repaired, x.lost]), [['repaired', [name(deleted)], []], ['repaired', [name(corrupted)], []]]);

    const clean = jsonOf<RemoteJson>(await run(['verify', '--all', '--remote', '--json'], 'state-c'));
    for (const x of clean.sets) assert.deepEqual([x.status, x.problems], ['ok', []], JSON.stringify(x));
    await run(['verify', '--all', '--read-data'], 'state-c');
    const to = path.join(s.root, 'restored-2');
    await run(['restore', '--to', to], 'state-fresh-2');
    assertSameTree(await snapshot(to), s.expected);
  });

  extra(() => ({ t, s, backend }));
}

const missing = REQUIRED.filter((n) => (process.env[n] ?? '') === '');
if (missing.length > 0) {
  test('remote destinations end to end: the test servers are running', () => {
    assert.fail(`${missing.join(', ')} not set: start the test servers first — bash scripts/test-servers/install.sh && bash scripts/test-servers/start.sh && set -a && . scripts/test-servers/.env && set +a`);
  });
} else {
  const env = Object.fromEntries(REQUIRED.map((n) => [n, process.env[n] ?? ''])) as ServerEnv;
  const runId = randomBytes(4).toString('hex');
  const davAccessLog = path.join(path.dirname(env.STRATA_TEST_WEBDAV_ROOT), 'logs', 'access.log');

  describe('remote destinations end to end', { concurrency: true }, () => {
    describe('S3 (Ceph RGW)', { concurrency: 1 }, () => {
      const bucket = `strata-e2e-${runId}`;
      const prefix = `run-${runId}/backups`;
      const dest = `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(env.STRATA_TEST_S3_ENDPOINT)}&pathStyle=true&storageClass.weekly=STANDARD_IA&storageClass.daily=GLACIER`;
      const client = new S3Client({ endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET } });
      after(() => client.destroy());
      remoteScenario(
        async () => {
          await new S3Backend({ bucket, endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET } }).createBucket();
          const parsed = parseDestination(dest);
          assert.equal(parsed.kind, 's3');
          return {
            kind: 's3', dest, prefix,
            env: { AWS_ACCESS_KEY_ID: env.STRATA_TEST_S3_KEY, AWS_SECRET_ACCESS_KEY: env.STRATA_TEST_S3_SECRET, AWS_PROFILE: undefined, AWS_REGION: undefined },
            parsed: { ...parsed, accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET },
          };
        },
        (get) => {
          it('tags every object with tier, type and set, and stores each tier in its storage class (after the repair too)', async () => {
            const { s } = get();
            const keys: string[] = [];
            let token: string | undefined;
            do {
              const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
              for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
              token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
            } while (token !== undefined);
            const expect = { [s.full]: { tier: 'weekly', type: 'FULL', cls: 'STANDARD_IA' }, [s.incr]: { tier: 'daily', type: 'INCR', cls: 'GLACIER' } };
            let checked = 0;
            const kinds = new Set<string>();
            for (const key of keys) {
              if (key === `${prefix}/strata-destination.json`) continue; // the destination's marker
              const set = key.slice(prefix.length + 1).split('/')[0] ?? '';
              const want = expect[set];
              assert.ok(want !== undefined, `unexpected object ${key}`);
              const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
              if (key.endsWith('.strata.json')) {
                // Every command reads descriptors: they stay in the default class, never in an archive tier.
                assert.equal(head.StorageClass ?? 'STANDARD', 'STANDARD', `${key}: storage class`);
                continue;
              }
              const tags = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
              const got = tagMap(tags.TagSet);
              assert.deepEqual({ tier: got['tier'], type: got['type'], set: got['set'] }, { tier: want.tier, type: want.type, set }, `${key}: tags`);
              // The tier's class is for data (volumes, their recovery files); the manifest, its
              // recovery files and RESTORE.txt (kind=meta) stay STANDARD, readable without a restore request.
              const kind = (/\.7z\.\d{3}$/.test(key) || key.endsWith('.par2')) && !key.includes('.manifest') ? 'data' : 'meta';
              assert.equal(got['kind'], kind, `${key}: kind`);
              assert.equal(head.StorageClass ?? 'STANDARD', kind === 'data' ? want.cls : 'STANDARD', `${key}: storage class`);
              kinds.add(kind);
              checked++;
            }
            assert.ok(checked >= 12, `only ${checked} objects checked`);
            assert.deepEqual([...kinds].sort(), ['data', 'meta']);
          });
          it('the descriptor carries the tags too', async () => {
            const { s } = get();
            for (const id of [s.full, s.incr]) {
              const tags = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: `${prefix}/${id}/${id}.strata.json` }));
              assert.equal(tagMap(tags.TagSet)['set'], id);
            }
          });
          it('stores no source file or folder name and not the password (every RADOS pool grepped)', async () => {
            const { s, backend } = get();
            const proof = (await readAll(await backend.get(volumeKey(s.full, 3)))).subarray(1000, 1256);
            const work = await tempDir(undefined, 'strata-e2e-rados-');
            try {
              assertNoSecrets(await radosDump(env.STRATA_TEST_CEPH_CONF, work), s.names, [proof, Buffer.from(s.full)]);
            } finally {
              await fsp.rm(work, { recursive: true, force: true });
            }
          });
        },
      );
    });

    describe('WebDAV (Apache mod_dav)', { concurrency: 1 }, () => {
      const prefix = `e2e-${runId}/backups`;
      const base = new URL(env.STRATA_TEST_WEBDAV_URL);
      const dest = `webdav+http://${encodeURIComponent(env.STRATA_TEST_WEBDAV_USER)}@${base.host}/${prefix}`;
      remoteScenario(
        async () => ({ kind: 'webdav', dest, prefix, env: { STRATA_WEBDAV_PASSWORD: env.STRATA_TEST_WEBDAV_PASS }, parsed: { ...parseDestination(dest), password: env.STRATA_TEST_WEBDAV_PASS } as Destination }),
        (get) => {
          /** getsDuring runs a command and returns the paths of this run it downloaded (Apache's access log). */
          const getsDuring = async (fn: () => Promise<unknown>): Promise<string[]> => {
            const start = (await fsp.stat(davAccessLog)).size;
            await fn();
            const fh = await fsp.open(davAccessLog);
            try {
              const { size } = await fh.stat();
              const buf = Buffer.alloc(size - start);
              await fh.read(buf, 0, buf.length, start);
              return buf.toString('utf8').split('\n').map((l) => /"GET (\S+) HTTP/.exec(l)?.[1]).filter((p): p is string => p !== undefined && decodeURIComponent(p).includes(`/${prefix}/`)).map((p) => decodeURIComponent(p).slice(prefix.length + 2));
            } finally {
              await fh.close();
            }
          };
          it('downloads nothing for verify --remote, and only the sets it needs for a restore', async () => {
            const { t, s } = get();
            const remoteGets = await getsDuring(() => cli(['verify', '--all', '--remote', '--dest', t.dest, '--state', path.join(s.root, 'state-log-1')], { env: t.env }));
            // Descriptors, and the destination's marker (every command checks its format).
            assert.ok(remoteGets.length > 0 && remoteGets.every((p) => p.endsWith('.strata.json') || p === 'strata-destination.json'), `verify --remote read: ${remoteGets.join(', ')}`);
            const to = path.join(s.root, 'restored-at-day0');
            const restoreGets = await getsDuring(() => cli(['restore', '--at', day(0, '12:00:00'), '--to', to, '--dest', t.dest, '--state', path.join(s.root, 'state-log-2')], { env: t.env }));
            const incrReads = restoreGets.filter((p) => p.startsWith(`${s.incr}/`));
            assert.deepEqual(incrReads, [`${s.incr}/${s.incr}.strata.json`], 'restoring the FULL set read only the descriptor of the INCR set');
            assert.ok(restoreGets.includes(volumeKey(s.full, 1)), restoreGets.join(', '));
          });
          it('stores no source file or folder name and not the password (the DAV folder on disk grepped)', async () => {
            const { s, backend } = get();
            const proof = (await readAll(await backend.get(volumeKey(s.full, 3)))).subarray(1000, 1256);
            assertNoSecrets(await filesBelow(env.STRATA_TEST_WEBDAV_ROOT), s.names, [proof, Buffer.from(s.full)]);
          });
        },
      );
    });

    describe('rclone (WebDAV remote from RCLONE_CONFIG_* variables)', { concurrency: 1 }, () => {
      const prefix = `rclone-e2e-${runId}/backups`;
      const dest = `rclone:stratae2e:${prefix}`;
      const rcEnv: Record<string, string | undefined> = {
        // AWS_CA_BUNDLE breaks rclone's TLS set-up here; RCLONE_CONFIG keeps any user config out.
        AWS_CA_BUNDLE: undefined,
        RCLONE_CONFIG: '/dev/null',
        RCLONE_CONFIG_STRATAE2E_TYPE: 'webdav',
        RCLONE_CONFIG_STRATAE2E_URL: env.STRATA_TEST_WEBDAV_URL,
        RCLONE_CONFIG_STRATAE2E_VENDOR: 'other',
        RCLONE_CONFIG_STRATAE2E_USER: env.STRATA_TEST_WEBDAV_USER,
        RCLONE_CONFIG_STRATAE2E_PASS: execFileSync('rclone', ['obscure', env.STRATA_TEST_WEBDAV_PASS], { encoding: 'utf8' }).trim(),
      };
      remoteScenario(
        async () => ({ kind: 'rclone', dest, prefix, env: rcEnv, parsed: parseDestination(dest) }),
        (get) => {
          it('stores no source file or folder name and not the password (the DAV folder behind rclone grepped)', async () => {
            const { s, backend } = get();
            const proof = (await readAll(await backend.get(volumeKey(s.full, 3)))).subarray(1000, 1256);
            const stored = await filesBelow(path.join(env.STRATA_TEST_WEBDAV_ROOT, 'rclone-e2e-' + runId));
            assertNoSecrets(stored, s.names, [proof, Buffer.from(s.full)]);
          });
        },
      );
    });
  });
}
