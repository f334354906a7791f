/**
 * Sets in cold storage, end to end: a FULL backed up to S3 with storageClass.weekly=GLACIER and a
 * daily INCR in STANDARD_IA (read directly), on the real Ceph RGW behind test/helpers/glacier-proxy
 * (RGW stores the class; the proxy enforces what AWS does with it: 403 InvalidObjectState until a
 * restore, x-amz-restore while it runs). Real 7zz and par2 throughout.
 * - restore: exit 75 (pending) with counts, bytes and the wait, having requested exactly the FULL's
 *   volumes (the INCR's manifest says which sets hold the files); again while ongoing: no second
 *   request, still pending; after the proxy finishes the restores: byte-exact.
 * - a restore of a file only the INCR holds requests nothing and succeeds at once.
 * - verify --read-data --retrieval-tier Bulk requests the rest (the recovery files; metadata stays STANDARD) at Bulk.
 * - a volume damaged on the destination (overwritten, still GLACIER) after the restored copies
 *   expired: restore requests the volumes (75), then, finding the damage before extracting anything,
 *   exactly the recovery files of the PAR2 units covering that volume (75), with nothing extracted
 *   (not even the INCR's files, read first), never anything twice;
 *   then repairs and restores byte-exact.
 * - a wrong tier (flag or destination option) is a usage error (exit 2) with a hint.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Backend } from '../../src/backend/s3.js';
import type { Descriptor } from '../../src/core/descriptor.js';
import { objectKind, par2FilePattern, volumeIndex } from '../../src/core/keys.js';
import { ExitCode } from '../../src/errors.js';
import { startGlacierProxy, type GlacierProxy } from '../helpers/glacier-proxy.js';
import { tempDir } from '../helpers/tmp.js';
import { assertSameTree, cli, jsonOf, snapshot } from './util.js';

const REQUIRED = ['STRATA_TEST_S3_ENDPOINT', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET'] as const;
const missing = REQUIRED.filter((n) => (process.env[n] ?? '') === '');

interface BackupJson {
  sources: { setId: string | null; volumes: number }[];
}
interface RemoteJson {
  sets: { id: string; status: string; readOk: number; sampled: number }[];
}

if (missing.length > 0) {
  test('cold storage end to end', () => {
    assert.fail(`${missing.join(', ')} not set: start the test servers first — bash scripts/test-servers/install.sh && bash scripts/test-servers/start.sh && set -a && . scripts/test-servers/.env && set +a`);
  });
} else {
  const env = Object.fromEntries(REQUIRED.map((n) => [n, process.env[n] ?? ''])) as Record<(typeof REQUIRED)[number], string>;
  describe('sets in cold storage (RGW behind the glacier proxy)', { concurrency: 1 }, () => {
    const bucket = `strata-cold-e2e-${randomBytes(4).toString('hex')}`;
    const prefix = 'backups';
    const credentials = { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET };
    const cliEnv = { AWS_ACCESS_KEY_ID: env.STRATA_TEST_S3_KEY, AWS_SECRET_ACCESS_KEY: env.STRATA_TEST_S3_SECRET, AWS_PROFILE: undefined, AWS_REGION: undefined };
    let proxy: GlacierProxy;
    let dest: string;
    let root: string;
    let src: string;
    let full = '';
    let fullVolumes: string[] = [];
    const run = (args: string[], state: string, expect = 0) => cli([...args, '--dest', dest, '--state', path.join(root, state)], { env: cliEnv, cwd: root, expect });
    const requests = (): string[] => proxy.restoreRequests.map((r) => r.key.slice(bucket.length + 1)).sort();

    before(async () => {
      proxy = await startGlacierProxy({ target: env.STRATA_TEST_S3_ENDPOINT, ...credentials });
      await new S3Backend({ bucket, endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials }).createBucket();
      dest = `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(proxy.endpoint)}&pathStyle=true&storageClass.weekly=GLACIER&storageClass.daily=STANDARD_IA`;
      root = await tempDir(undefined, 'strata-e2e-cold-');
      src = path.join(root, 'docs');
      await fsp.mkdir(path.join(src, 'fotos'), { recursive: true });
      await fsp.writeFile(path.join(src, 'fotos', 'urlaub.bin'), randomBytes(200 * 1024));
      await fsp.writeFile(path.join(src, 'bericht.txt'), 'Quartalsbericht\n'.repeat(500));
      await cli(['init', '--dest', dest, '--state', path.join(root, 'state-init')], { env: cliEnv, cwd: root });
    });
    after(async () => {
      await proxy.close();
      await fsp.rm(root, { recursive: true, force: true });
    });

    it('backs up a FULL into GLACIER and an INCR into STANDARD_IA', async () => {
      const f = jsonOf<BackupJson>(await run(['backup', '--json', '--tier', 'weekly', '--source', src, '--volume-size', '64KiB'], 'state-a')).sources[0];
      await fsp.writeFile(path.join(src, 'neu.txt'), 'nur im INCR\n');
      // Listed before the FULL's files: the INCR's volumes are read first.
      await fsp.writeFile(path.join(src, 'aktuell.txt'), 'auch nur im INCR\n');
      const i = jsonOf<BackupJson>(await run(['backup', '--json', '--tier', 'daily', '--source', src, '--volume-size', '64KiB'], 'state-a')).sources[0];
      assert.ok(f?.setId != null && i?.setId != null && i.setId !== f.setId);
      full = f.setId;
      const client = new S3Client({ endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials });
      try {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/${full}/` }));
        const objs = page.Contents ?? [];
        fullVolumes = objs.map((o) => o.Key ?? '').filter((k) => volumeIndex(path.posix.basename(k)) !== null).sort();
        assert.equal(fullVolumes.length, f.volumes);
        assert.ok(f.volumes >= 3, `FULL has ${f.volumes} volumes`);
        // The tier's class applies to data (volumes, their recovery files); metadata stays STANDARD.
        for (const o of objs) assert.equal(o.StorageClass, objectKind(full, (o.Key ?? '').slice(`${prefix}/${full}/`.length)) === 'data' ? 'GLACIER' : 'STANDARD', o.Key);
      } finally {
        client.destroy();
      }
    });

    it('restores a file only the INCR holds without any restore request', async () => {
      const to = path.join(root, 'only-new');
      await run(['restore', '--to', to, 'neu.txt'], 'state-b');
      assert.equal(await fsp.readFile(path.join(to, 'neu.txt'), 'utf8'), 'nur im INCR\n');
      assert.deepEqual(proxy.restoreRequests, []);
      assert.deepEqual(proxy.refusedGets, []);
    });

    it('restore: requests exactly the archived volumes needed, exits pending, does not ask twice, then restores byte-exact', async () => {
      const to = path.join(root, 'restored');
      const first = await run(['restore', '--to', to], 'state-c', ExitCode.pending);
      const out = first.stdout + first.stderr;
      assert.deepEqual(requests(), fullVolumes, out);
      assert.ok(proxy.restoreRequests.every((r) => r.tier === 'Standard' && r.status === 202));
      assert.match(out, new RegExp(`restore requested now: ${fullVolumes.length} objects \\(\\d`));
      assert.match(out, /expected wait \(AWS's typical times\): 3–5 hours \(GLACIER, Standard\)/);
      assert.match(out, /run the same strata restore again after the wait/i);
      assert.deepEqual(proxy.refusedGets, [], 'nothing was read before every object was readable');
      assert.deepEqual(await fsp.readdir(to).catch(() => []), [], 'nothing was extracted');

      const second = await run(['restore', '--to', to], 'state-c', ExitCode.pending);
      assert.equal(proxy.restoreRequests.length, fullVolumes.length, 'no second RestoreObject while one is under way');
      assert.match(second.stdout + second.stderr, new RegExp(`already on their way \\(requested before, not requested again\\): ${fullVolumes.length} objects`));

      proxy.finishRestores();
      const done = await run(['restore', '--to', to], 'state-c');
      assert.equal(proxy.restoreRequests.length, fullVolumes.length);
      assert.match(done.stdout + done.stderr, new RegExp(`${fullVolumes.length} objects read from restored copies of archive storage`));
      assertSameTree(await snapshot(to), await snapshot(src));
    });

    it('verify --read-data requests the rest at the tier asked for, pending, then verifies', async () => {
      const before = proxy.restoreRequests.length;
      const pending = await run(['verify', '--all', '--read-data', '--retrieval-tier', 'bulk'], 'state-c', ExitCode.pending);
      const asked = proxy.restoreRequests.slice(before);
      assert.ok(asked.length > 0 && asked.every((r) => r.tier === 'Bulk' && r.status === 202 && !fullVolumes.includes(r.key.slice(bucket.length + 1))), JSON.stringify(asked));
      assert.match(pending.stdout + pending.stderr, /5–12 hours \(GLACIER, Bulk\)/);
      proxy.finishRestores();
      const ok = jsonOf<RemoteJson>(await run(['verify', '--all', '--read-data', '--json'], 'state-c'));
      assert.deepEqual(ok.sets.map((s) => [s.status, s.readOk === s.sampled]), [['ok', true], ['ok', true]]);
      assert.equal(proxy.restoreRequests.length, before + asked.length);
    });

    it('restore: a damaged volume in cold storage gets exactly its recovery files requested (pending), then is repaired', async () => {
      proxy.expireRestores();
      const before = proxy.restoreRequests.length;
      const damagedKey = fullVolumes[1] ?? '';
      const client = new S3Client({ endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials });
      let descriptor: Descriptor;
      try {
        const get = async (key: string): Promise<Buffer> => Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToByteArray() ?? new Uint8Array());
        descriptor = JSON.parse((await get(`${prefix}/${full}/${full}.strata.json`)).toString('utf8')) as Descriptor;
        const bytes = await get(damagedKey);
        randomBytes(3000).copy(bytes, 1000);
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: damagedKey, Body: bytes, StorageClass: 'GLACIER' }));
      } finally {
        client.destroy();
      }
      const index = volumeIndex(path.posix.basename(damagedKey)) ?? -1;
      const units = (descriptor.protection?.units ?? []).filter((u) => u.volumes.includes(index));
      const recovery = descriptor.recovery
        .filter((r) => units.some((u) => path.posix.dirname(r.name) === (u.dir === '' ? '.' : u.dir) && par2FilePattern(u.name).test(path.posix.basename(r.name))))
        .map((r) => `${prefix}/${full}/${r.name}`)
        .sort();
      assert.ok(units.length > 0 && recovery.length > 0, JSON.stringify(descriptor.protection));
      const since = (n: number): string[] => proxy.restoreRequests.slice(n).map((r) => r.key.slice(bucket.length + 1)).sort();
      const to = path.join(root, 'repaired');

      await run(['restore', '--to', to], 'state-d', ExitCode.pending);
      assert.deepEqual(since(before), fullVolumes, 'the expired volumes are requested again');
      proxy.finishRestores();
      const afterVolumes = proxy.restoreRequests.length;
      const pending = await run(['restore', '--to', to], 'state-d', ExitCode.pending);
      const out = pending.stdout + pending.stderr;
      assert.deepEqual(since(afterVolumes), recovery, out);
      assert.match(out, new RegExp(`restore requested now: ${recovery.length} objects? \\(\\d`));
      assert.match(out, /damaged/);
      assert.match(out, /expected wait \(AWS's typical times\): 3–5 hours \(GLACIER, Standard\)/);
      assert.deepEqual(await fsp.readdir(to).catch(() => []), [], 'nothing was extracted before the recovery files are readable');

      proxy.finishRestores();
      const done = await run(['restore', '--to', to, '--json'], 'state-d');
      assert.equal(proxy.restoreRequests.length, afterVolumes + recovery.length, 'nothing requested twice');
      assert.ok(proxy.restoreRequests.slice(before).every((r) => r.status === 202));
      assert.deepEqual(jsonOf<{ restored: { repairedVolumes: string[] }[] }>(done).restored.flatMap((r) => r.repairedVolumes), [damagedKey.slice(prefix.length + 1)]);
      assertSameTree(await snapshot(to), await snapshot(src));
    });

    it('refuses an unknown retrieval tier with exit 2 and a hint (flag and destination option)', async () => {
      const flag = await run(['restore', '--to', path.join(root, 'x'), '--retrieval-tier', 'Fast'], 'state-c', ExitCode.usage);
      assert.match(flag.stderr, /--retrieval-tier: "Fast" is not a retrieval tier/);
      assert.match(flag.stderr, /hint: Use Expedited, Standard, Bulk/);
      const opt = await cli(['list', '--dest', `${dest}&retrievalTier=Slow`, '--state', path.join(root, 'state-c')], { env: cliEnv, cwd: root, expect: ExitCode.usage });
      assert.match(opt.stderr, /retrievalTier: "Slow" is not a retrieval tier/);
    });
  });
}
