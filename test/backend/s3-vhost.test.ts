/**
 * Backend conformance of S3Backend with virtual-host addressing (`bucket.host`, the AWS default:
 * pathStyle false) against the real Ceph RGW from scripts/test-servers, whose "rgw dns name" is
 * localhost; start.sh makes the fixed bucket's host name resolve to 127.0.0.1. Had the requests not
 * named the bucket in the Host header, RGW would read the first path segment as the bucket and
 * every call would fail: passing the suite is the proof.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { bufferSource } from '../../src/io/hash.js';
import { openBackend } from '../../src/backend/open.js';
import { S3Backend, S3_MIN_PART_SIZE } from '../../src/backend/s3.js';
import { parseDestinationUrl } from '../../src/core/destination.js';
import { isStrataError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { backendConformance, testServerEnv } from './conformance.js';

const env = testServerEnv('s3 (virtual-host addressing)', ['STRATA_TEST_S3_VHOST_ENDPOINT', 'STRATA_TEST_S3_VHOST_BUCKET', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET'] as const);
if (env !== undefined) {
  const bucket = env.STRATA_TEST_S3_VHOST_BUCKET;
  const open = (secret: string): S3Backend =>
    new S3Backend({ bucket, prefix: 'v', endpoint: env.STRATA_TEST_S3_VHOST_ENDPOINT, region: 'us-east-1', forcePathStyle: false, credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: secret }, partSize: S3_MIN_PART_SIZE, pageSize: 100 });
  /** roundTrip stores, stats, reads back and deletes one object through a backend opened from a URL. */
  const roundTrip = async (t: TestContext, url: string, env: NodeJS.ProcessEnv): Promise<void> => {
    const b = await openBackend(parseDestinationUrl(url), { env, retry: false });
    t.after(() => b.delete(`rt/${t.name.length}`).catch(() => undefined));
    const body = Buffer.from(`hello ${t.name}`);
    await b.put(`rt/${t.name.length}`, bufferSource(body), { overwrite: true });
    assert.equal((await b.stat(`rt/${t.name.length}`)).size, body.length);
    const chunks: Buffer[] = [];
    for await (const c of await b.get(`rt/${t.name.length}`)) chunks.push(c as Buffer);
    assert.deepEqual(Buffer.concat(chunks), body);
  };
  const url = (extra: string): string => `s3://${bucket}/url-test?endpoint=${encodeURIComponent(env.STRATA_TEST_S3_VHOST_ENDPOINT)}&region=us-east-1${extra}`;

  test('a destination URL without pathStyle is virtual-host addressed; credentials from AWS_* variables (the standard chain)', async (t) => {
    const d = parseDestinationUrl(url(''));
    assert.ok(d.kind === 's3' && d.pathStyle === undefined);
    // The bucket is in the host name: a bucket whose name does not resolve cannot even be reached
    // (path-style would have asked the server, which answers "does not exist").
    const elsewhere = { bucket: 'strata-unresolvable', endpoint: env.STRATA_TEST_S3_VHOST_ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET } };
    await assert.rejects(new S3Backend({ ...elsewhere, forcePathStyle: false }).stat('x'), /ENOTFOUND strata-unresolvable\.localhost/);
    await assert.rejects(new S3Backend({ ...elsewhere, forcePathStyle: true }).stat('x'), (e: unknown) => isStrataError(e) && e.code === 'NOT_FOUND');
    await open(env.STRATA_TEST_S3_SECRET).createBucket();
    process.env['AWS_ACCESS_KEY_ID'] = env.STRATA_TEST_S3_KEY;
    process.env['AWS_SECRET_ACCESS_KEY'] = env.STRATA_TEST_S3_SECRET;
    try {
      await roundTrip(t, url(''), process.env);
    } finally {
      delete process.env['AWS_ACCESS_KEY_ID'];
      delete process.env['AWS_SECRET_ACCESS_KEY'];
    }
  });

  test('credentials from a named profile in a shared credentials file (profile= in the URL)', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'credentials');
    await writeFile(file, `[default]\naws_access_key_id = WRONGKEY\naws_secret_access_key = wrong\n\n[strata-test]\naws_access_key_id = ${env.STRATA_TEST_S3_KEY}\naws_secret_access_key = ${env.STRATA_TEST_S3_SECRET}\n`, { mode: 0o600 });
    await writeFile(path.join(dir, 'config'), '');
    process.env['AWS_SHARED_CREDENTIALS_FILE'] = file;
    process.env['AWS_CONFIG_FILE'] = path.join(dir, 'config');
    try {
      await roundTrip(t, url('&profile=strata-test'), process.env);
      // The default profile of the same file holds wrong keys: a clear authentication error.
      await assert.rejects(roundTrip(t, url(''), process.env), (e: unknown) => isStrataError(e) && e.code === 'AUTH');
    } finally {
      delete process.env['AWS_SHARED_CREDENTIALS_FILE'];
      delete process.env['AWS_CONFIG_FILE'];
    }
  });

  backendConformance('s3 (virtual-host addressing)', async () => {
    const b = open(env.STRATA_TEST_S3_SECRET);
    await b.createBucket();
    return b;
  }, { tags: true, statSha256: true, secrets: [env.STRATA_TEST_S3_SECRET], makeBadCredentials: async () => open('wrong-secret') });
}
