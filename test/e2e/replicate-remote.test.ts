/**
 * A second provider across the real test servers (issue 10): a local primary replicated to S3 (Ceph
 * RGW) — every copied object carries its tags (tier, type, set, kind) —, then the S3 copy as the primary of
 * a second config replicated to WebDAV (Apache); a volume and every recovery file deleted on S3, so
 * that PAR2 cannot help, and a restore from S3 takes the volume from WebDAV, says so, and is exact.
 * Without the servers' variables this FAILS with how to start them (it does not skip).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectTaggingCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { S3Backend } from '../../src/backend/s3.js';
import { objectTags } from '../../src/core/keys.js';
import { tempDir } from '../helpers/tmp.js';
import { assertSameTree, cli, day, jsonOf, snapshot } from './util.js';

const REQUIRED = ['STRATA_TEST_S3_ENDPOINT', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET', 'STRATA_TEST_WEBDAV_URL', 'STRATA_TEST_WEBDAV_USER', 'STRATA_TEST_WEBDAV_PASS'] as const;

interface ReplicateJson {
  destinations: { name: string; copied: string[]; failed: unknown[] }[];
}

describe('replicate across the real servers: local → S3 (RGW), S3 → WebDAV (Apache)', { concurrency: 1 }, () => {
  const missing = REQUIRED.filter((n) => (process.env[n] ?? '') === '');
  if (missing.length > 0) {
    it('needs the test servers', () => assert.fail(`${missing.join(', ')} not set: start the test servers first (scripts/test-servers/start.sh) and source their .env`));
    return;
  }
  const env = Object.fromEntries(REQUIRED.map((n) => [n, process.env[n] ?? ''])) as Record<(typeof REQUIRED)[number], string>;
  const runId = randomBytes(4).toString('hex');
  const bucket = `strata-repl-${runId}`;
  const prefix = 'offsite';
  const s3Url = `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(env.STRATA_TEST_S3_ENDPOINT)}&pathStyle=true`;
  const dav = new URL(env.STRATA_TEST_WEBDAV_URL);
  const davUrl = `webdav+http://${encodeURIComponent(env.STRATA_TEST_WEBDAV_USER)}@${dav.host}/e2e-repl-${runId}/backups`;
  const cliEnv = { AWS_ACCESS_KEY_ID: env.STRATA_TEST_S3_KEY, AWS_SECRET_ACCESS_KEY: env.STRATA_TEST_S3_SECRET, AWS_PROFILE: undefined, AWS_REGION: undefined, STRATA_WEBDAV_PASSWORD: env.STRATA_TEST_WEBDAV_PASS };
  const client = new S3Client({ endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET } });
  let root: string, src: string, state: string, local: string, setId: string;
  const configs = { first: '', second: '' };
  const run = (config: string, args: string[], expect = 0, st?: string): ReturnType<typeof cli> => cli(['--config', config, '--state', st ?? state, ...args], { now: day(0, '12:00:00'), expect, env: cliEnv, cwd: root });

  before(async () => {
    await new S3Backend({ bucket, endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET } }).createBucket();
    root = await tempDir(undefined, 'strata-e2e-replicate-remote-');
    [src, state, local] = ['docs', 'state', 'nas'].map((n) => path.join(root, n)) as [string, string, string];
    await fsp.mkdir(path.join(src, 'sub'), { recursive: true });
    await fsp.mkdir(local);
    await fsp.writeFile(path.join(src, 'big.bin'), randomBytes(180 * 1024));
    await fsp.writeFile(path.join(src, 'sub', 'note.txt'), 'a note\n');
    const head = `job: rr\nsources: [{ path: ${JSON.stringify(src)}, name: docs }]\narchive: { weekly: { level: 0, volumeSize: 64KiB } }\n`;
    configs.first = path.join(root, 'first.yaml');
    configs.second = path.join(root, 'second.yaml');
    await fsp.writeFile(configs.first, `${head}destinations:\n  - { name: nas, path: ${JSON.stringify(local)} }\n  - { name: s3, url: ${JSON.stringify(s3Url)} }\n`);
    await fsp.writeFile(configs.second, `${head}destinations:\n  - { name: s3, url: ${JSON.stringify(s3Url)} }\n  - { name: dav, url: ${JSON.stringify(davUrl)} }\n`);
    // The WebDAV folder is created explicitly (strata never creates a missing destination on its own).
    await cli(['init', '--dest', davUrl, '--state', path.join(root, 'state-init')], { env: cliEnv, cwd: root });
    setId = jsonOf<{ sources: { setId: string }[] }>(await run(configs.first, ['--json', 'backup', '--tier', 'weekly'])).sources[0]?.setId ?? '';
  });
  after(async () => {
    client.destroy();
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('copies local → S3 with every object tagged, then S3 → WebDAV', async () => {
    const toS3 = jsonOf<ReplicateJson>(await run(configs.first, ['--json', 'replicate']));
    assert.deepEqual(toS3.destinations.map((d) => [d.name, d.copied, d.failed.length]), [['s3', [setId], 0]]);
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/${setId}/` }));
    const keys = (page.Contents ?? []).map((o) => o.Key ?? '');
    const localKeys = (await fsp.readdir(path.join(local, setId), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(local, path.join(e.parentPath, e.name)));
    assert.deepEqual(keys.map((k) => k.slice(prefix.length + 1)).sort(), localKeys.sort());
    const kinds = new Set<string>();
    for (const key of keys) {
      const tags = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
      const expected = objectTags({ id: setId, tier: 'weekly', type: 'FULL' }, key.slice(`${prefix}/${setId}/`.length));
      assert.deepEqual(Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value])), expected, key);
      kinds.add(expected.kind ?? '');
    }
    assert.deepEqual([...kinds].sort(), ['data', 'meta'], 'volumes are data, the descriptor and manifest meta, as the backup tags them');
    const toDav = jsonOf<ReplicateJson>(await run(configs.second, ['--json', 'replicate', '--to', 'dav']));
    assert.deepEqual(toDav.destinations.map((d) => [d.name, d.copied, d.failed.length]), [['dav', [setId], 0]]);
    assert.deepEqual(jsonOf<{ sets: { id: string }[] }>(await run(configs.second, ['--json', 'list', '--from', 'dav'])).sets.map((s) => s.id), [setId]);
  });

  it('restores from S3 with a volume lost beyond PAR2 there, taking it from WebDAV', async () => {
    const expected = await snapshot(src);
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/${setId}/` }));
    const gone = (page.Contents ?? []).map((o) => o.Key ?? '').filter((k) => k.endsWith('.7z.001') || (k.endsWith('.par2') && !k.includes('.manifest')));
    assert.ok(gone.length >= 2, `a volume and recovery files to delete: ${gone.join(', ')}`);
    for (const key of gone) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    const r = await run(configs.second, ['restore', '--to', path.join(root, 'out')], 0, path.join(root, 'fresh'));
    assert.match(r.stderr, new RegExp(`set ${setId}: ${setId}\\.7z\\.001 is missing or damaged beyond PAR2 repair here; took it from destination dav`));
    assertSameTree(await snapshot(path.join(root, 'out')), expected);
  });
});
