/**
 * A destination is initialised once, and a missing one is an error (issue 7 §2): strata never
 * creates a missing destination folder (an unmounted disk would fill the internal one); the first
 * backup onto an existing folder, or `strata init --dest`, writes `strata-destination.json` (format,
 * version, id, a password check — never the password); a wrong password against it exits 12 before
 * anything is written; a destination with sets but no marker is refused until `init --adopt`; a
 * marker of another format or a tampered one is refused clearly. Also on S3 (missing bucket),
 * WebDAV (missing collection) and rclone (missing remote path), and foreign files survive a backup
 * on S3 and WebDAV (issue 7 §1).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { bufferSource } from '../../src/io/hash.js';
import { openBackend } from '../../src/backend/open.js';
import { S3Backend } from '../../src/backend/s3.js';
import { parseDestination, type Destination } from '../../src/core/destination.js';
import { tempDir } from '../helpers/tmp.js';
import { PASSWORD, cli, jsonOf } from './util.js';

const MARKER = 'strata-destination.json';

async function box(t: Parameters<typeof tempDir>[0]): Promise<{ root: string; src: string; dest: string; g: string[] }> {
  const root = await tempDir(t, 'strata-dest-');
  const src = path.join(root, 'src');
  await fsp.mkdir(src);
  await fsp.writeFile(path.join(src, 'a.txt'), 'alpha');
  return { root, src, dest: path.join(root, 'usbdisk', 'backups'), g: ['--state', path.join(root, 'state')] };
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(() => true, () => false);
}

// Each test has its own folders (box): two at a time.
describe('a local destination', { concurrency: 2 }, () => {
  it('that is missing is an error for every command (exit 10, with the hint), and is never created', async (t) => {
    const b = await box(t);
    const r = await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g], { expect: 10, createDest: false });
    assert.match(r.stderr, /does not exist/);
    assert.match(r.stderr, /Not mounted\? Wrong path\? Create it, or run `strata init --dest /);
    for (const args of [['list'], ['verify'], ['restore', '--to', path.join(b.root, 'out')], ['check-destination']]) {
      const x = await cli([...args, '--dest', b.dest, ...b.g], { expect: 10 });
      assert.match(x.stderr, /does not exist/, args[0]);
    }
    assert.equal(await exists(path.join(b.root, 'usbdisk')), false, 'no folder was created');
  });

  it('is marked by its first backup (format, version, id, password check; not the password); a wrong password then exits 12 and writes nothing', async (t) => {
    const b = await box(t);
    await fsp.mkdir(b.dest, { recursive: true });
    const first = await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g]);
    assert.match(first.stderr, /initialised the destination/);
    const text = await fsp.readFile(path.join(b.dest, MARKER), 'utf8');
    const m = JSON.parse(text) as Record<string, unknown>;
    assert.equal(m['format'], 'strata-destination');
    assert.equal(m['version'], 1);
    assert.match(String(m['id']), /^[0-9a-f]{32}$/);
    assert.deepEqual(Object.keys(m).sort(), ['check', 'created', 'format', 'hmac', 'id', 'kdf', 'version']);
    assert.ok(!text.includes(PASSWORD));
    const before = (await fsp.readdir(b.dest)).sort();
    await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g], { expect: 12, env: { STRATA_PASSWORD: 'wrong' }, now: '2027-01-05T10:00:00Z' });
    assert.deepEqual((await fsp.readdir(b.dest)).sort(), before);
    await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g], { now: '2027-01-05T10:00:00Z' });
    assert.equal(await fsp.readFile(path.join(b.dest, MARKER), 'utf8'), text, 'the marker is written once');
  });

  it('strata init --dest creates and marks it; a wrong password against the marker alone exits 12 before anything is written', async (t) => {
    const b = await box(t);
    const init = await cli(['init', '--dest', b.dest, ...b.g, '--json']);
    assert.deepEqual(jsonOf(init)['initialised'], true);
    assert.deepEqual(await fsp.readdir(b.dest), [MARKER]);
    const again = await cli(['init', '--dest', b.dest, ...b.g]);
    assert.match(again.stdout, /already a strata destination/);
    await cli(['init', '--dest', b.dest, ...b.g], { expect: 12, env: { STRATA_PASSWORD: 'wrong' } });
    const r = await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g], { expect: 12, env: { STRATA_PASSWORD: 'wrong' } });
    assert.match(r.stderr, /password does not match/);
    assert.deepEqual(await fsp.readdir(b.dest), [MARKER], 'no set was started');
    await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g]);
    assert.equal((await fsp.readdir(b.dest)).length, 2);
  });

  it('with sets but no marker (an earlier strata) is refused for backup until init --adopt, which checks the password; reading it still works', async (t) => {
    const b = await box(t);
    await fsp.mkdir(b.dest, { recursive: true });
    await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g]);
    await fsp.rm(path.join(b.dest, MARKER));
    const r = await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g], { expect: 10, now: '2027-01-05T10:00:00Z' });
    assert.match(r.stderr, /holds 1 strata set but no strata-destination\.json/);
    assert.match(r.stderr, /strata init --dest .* --adopt/);
    await cli(['init', '--dest', b.dest, ...b.g], { expect: 10 });
    assert.equal(jsonOf<{ sets: unknown[] }>(await cli(['list', '--json', '--dest', b.dest, ...b.g])).sets.length, 1);
    await cli(['restore', '--dest', b.dest, '--to', path.join(b.root, 'out'), ...b.g]);
    await cli(['init', '--dest', b.dest, '--adopt', ...b.g], { expect: 12, env: { STRATA_PASSWORD: 'wrong' } });
    assert.equal(await exists(path.join(b.dest, MARKER)), false);
    const adopt = await cli(['init', '--dest', b.dest, '--adopt', ...b.g]);
    assert.match(adopt.stdout, /adopted .* with its 1 set/);
    await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g], { now: '2027-01-05T10:00:00Z' });
    await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g], { expect: 12, env: { STRATA_PASSWORD: 'wrong' }, now: '2027-01-06T10:00:00Z' });
  });

  it('with a marker of another format or version is refused clearly; a tampered one is TAMPERED (13), not a crash', async (t) => {
    const b = await box(t);
    await fsp.mkdir(b.dest, { recursive: true });
    await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g]);
    const good = await fsp.readFile(path.join(b.dest, MARKER), 'utf8');
    const m = JSON.parse(good) as { version: number; kdf: { N: number }; check: string };
    await fsp.writeFile(path.join(b.dest, MARKER), JSON.stringify({ ...m, version: 2 }));
    for (const args of [['backup', '--tier', 'weekly', '--source', b.src], ['list'], ['restore', '--to', path.join(b.root, 'out')]]) {
      const r = await cli([...args, '--dest', b.dest, ...b.g], { expect: 10, now: '2027-01-05T10:00:00Z' });
      assert.match(r.stderr, /version 2 of the destination format; this strata writes version 1/, args[0]);
    }
    await fsp.writeFile(path.join(b.dest, MARKER), JSON.stringify({ format: 'restic', version: 1 }));
    assert.match((await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g], { expect: 10 })).stderr, /format "restic"/);
    await fsp.writeFile(path.join(b.dest, MARKER), JSON.stringify({ ...m, kdf: { ...m.kdf, N: 3 } }));
    const bad = await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g], { expect: 13 });
    assert.match(bad.stderr, /kdf\.N is out of range/);
    assert.doesNotMatch(bad.stderr, /RangeError|at .*\.js:\d+/);
    await fsp.writeFile(path.join(b.dest, MARKER), JSON.stringify({ ...m, id: 'f'.repeat(32) }));
    assert.match((await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', b.dest, ...b.g], { expect: 13 })).stderr, /was edited/);
  });
});

const S3_VARS = ['STRATA_TEST_S3_ENDPOINT', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET', 'STRATA_TEST_WEBDAV_URL', 'STRATA_TEST_WEBDAV_USER', 'STRATA_TEST_WEBDAV_PASS'] as const;

// Each test has its own folders, bucket or collection (named with its own prefix and runId): all at once.
describe('remote destinations (the real test servers)', { concurrency: true }, () => {
  const env = Object.fromEntries(S3_VARS.map((n) => [n, process.env[n] ?? ''])) as Record<(typeof S3_VARS)[number], string>;
  const runId = randomBytes(4).toString('hex');
  const s3Env = { AWS_ACCESS_KEY_ID: env.STRATA_TEST_S3_KEY, AWS_SECRET_ACCESS_KEY: env.STRATA_TEST_S3_SECRET, AWS_PROFILE: undefined, AWS_REGION: undefined };
  const s3Url = (bucket: string): string => `s3://${bucket}/backups?endpoint=${encodeURIComponent(env.STRATA_TEST_S3_ENDPOINT)}&pathStyle=true`;
  const davBase = (): URL => new URL(env.STRATA_TEST_WEBDAV_URL);
  const davUrl = (p: string): string => `webdav+http://${encodeURIComponent(env.STRATA_TEST_WEBDAV_USER)}@${davBase().host}/${p}`;
  const davEnv = { STRATA_WEBDAV_PASSWORD: env.STRATA_TEST_WEBDAV_PASS };
  const rcEnv = (): Record<string, string> => ({
    RCLONE_CONFIG: '/dev/null',
    RCLONE_CONFIG_STRATADEST_TYPE: 'webdav',
    RCLONE_CONFIG_STRATADEST_URL: env.STRATA_TEST_WEBDAV_URL,
    RCLONE_CONFIG_STRATADEST_VENDOR: 'other',
    RCLONE_CONFIG_STRATADEST_USER: env.STRATA_TEST_WEBDAV_USER,
    RCLONE_CONFIG_STRATADEST_PASS: execFileSync('rclone', ['obscure', env.STRATA_TEST_WEBDAV_PASS], { encoding: 'utf8' }).trim(),
  });

  it('the test servers are configured', () => {
    assert.deepEqual(S3_VARS.filter((n) => env[n] === ''), [], 'source /work/test-env.sh (scripts/test-servers/.env) first');
  });

  it('S3: a missing bucket exits 10 for backup, list and init, and is never created', async (t) => {
    const b = await box(t);
    const bucket = `strata-missing-${runId}`;
    const r = await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', s3Url(bucket), ...b.g], { expect: 10, env: s3Env });
    assert.match(r.stderr, /bucket .* does not exist/);
    await cli(['list', '--dest', s3Url(bucket), ...b.g], { expect: 10, env: s3Env });
    await cli(['init', '--dest', s3Url(bucket), ...b.g], { expect: 10, env: s3Env });
    const client = new S3Client({ endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET } });
    try {
      await assert.rejects(client.send(new HeadBucketCommand({ Bucket: bucket })), 'the bucket was not created');
    } finally {
      client.destroy();
    }
  });

  it('WebDAV and rclone: a missing collection / remote path exits 10 for backup and list and is not created; init --dest creates it', async (t) => {
    const b = await box(t);
    for (const [dest, e] of [[davUrl(`missing-${runId}/backups`), davEnv], [`rclone:stratadest:rc-missing-${runId}/backups`, rcEnv()]] as const) {
      const r = await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', dest, ...b.g], { expect: 10, env: e });
      assert.match(r.stderr, /does not exist/);
      await cli(['list', '--dest', dest, ...b.g], { expect: 10, env: e });
      const backend = await openBackend(dest.startsWith('rclone:') ? parseDestination(dest) : ({ ...parseDestination(dest), password: env.STRATA_TEST_WEBDAV_PASS } as Destination), { env: { ...process.env, ...e } });
      try {
        assert.equal(await backend.rootExists?.(), false, `${dest} was not created`);
        await cli(['init', '--dest', dest, ...b.g], { env: e });
        assert.equal(await backend.rootExists?.(), true);
        await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', dest, ...b.g], { env: e });
        const keys: string[] = [];
        for await (const o of backend.list('')) keys.push(o.key);
        assert.ok(keys.includes(MARKER) && keys.some((k) => k.endsWith('.strata.json')), keys.join(', '));
      } finally {
        await backend.close();
      }
    }
  });

  it('S3 and WebDAV: foreign objects in the destination survive a backup (with a wrong password too); only this job\'s debris objects go', async (t) => {
    const b = await box(t);
    const bucket = `strata-foreign-${runId}`;
    const s3Parsed = { ...parseDestination(s3Url(bucket)), accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET } as Destination;
    await new S3Backend({ bucket, endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET } }).createBucket();
    const davDest = davUrl(`foreign-${runId}/backups`);
    const targets = [
      { dest: s3Url(bucket), e: s3Env, parsed: s3Parsed },
      { dest: davDest, e: davEnv, parsed: { ...parseDestination(davDest), password: env.STRATA_TEST_WEBDAV_PASS } as Destination },
    ];
    const marker = (job: string | undefined): string => JSON.stringify({ host: 'elsewhere', pid: 1, started: '2020-01-01T00:00:00.000Z', ...(job === undefined ? {} : { job }) });
    for (const target of targets) {
      const backend = await openBackend(target.parsed, { env: { ...process.env, ...target.e } });
      try {
        await backend.createRoot?.();
        await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', target.dest, ...b.g], { env: target.e, now: '2026-11-29T09:00:00Z' });
        const foreign: Record<string, string> = {
          'notes.txt': 'mine',
          '.hidden': 'hidden',
          'Photos/2019/img.jpg': 'photo',
          '261120_FULL_docs/261120_FULL_docs.7z.001': 'no marker',
          '261122_FULL_src/261122_FULL_src.pending': marker('other-job'),
          '261122_FULL_src/261122_FULL_src.7z.001': 'other job',
          '261121_FULL_src/261121_FULL_src.pending': marker(undefined),
          '261129_FULL_src/my-file.txt': 'dropped into a real set',
          '261124_FULL_src/keep-me.txt': 'dropped into debris',
        };
        const debris = { '261124_FULL_src/261124_FULL_src.pending': marker('default'), '261124_FULL_src/261124_FULL_src.7z.001': 'partial' };
        for (const [k, v] of Object.entries({ ...foreign, ...debris })) await backend.put(k, bufferSource(v), { overwrite: true });
        const read = async (k: string): Promise<string> => {
          const chunks: Buffer[] = [];
          try {
            for await (const c of await backend.get(k)) chunks.push(c as Buffer);
          } catch {
            return '<missing>';
          }
          return Buffer.concat(chunks).toString('utf8');
        };
        await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', target.dest, ...b.g], { env: { ...target.e, STRATA_PASSWORD: 'wrong' }, expect: 12, now: '2026-11-30T09:00:00Z' });
        assert.equal(await read('261124_FULL_src/261124_FULL_src.7z.001'), 'partial', `${target.dest}: nothing removed before the password check`);
        const r = await cli(['backup', '--tier', 'weekly', '--source', b.src, '--dest', target.dest, ...b.g], { env: target.e, now: '2026-11-30T09:00:00Z' });
        assert.match(r.stderr, /removed the unfinished set 261124_FULL_src/);
        for (const [k, v] of Object.entries(foreign)) assert.equal(await read(k), v, `${target.dest}: ${k}`);
        for (const k of Object.keys(debris)) assert.equal(await read(k), '<missing>', `${target.dest}: ${k} of this job's debris is removed`);
        const list = jsonOf<{ sets: unknown[]; problems: unknown[] }>(await cli(['list', '--json', '--dest', target.dest, ...b.g], { env: target.e }));
        assert.deepEqual([list.sets.length, list.problems], [2, []]);
      } finally {
        await backend.close();
      }
    }
  });
});
