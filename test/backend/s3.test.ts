/** Backend conformance of S3Backend against the real Ceph RGW from scripts/test-servers (small parts and pages). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { bufferSource } from '../../src/io/hash.js';
import { RESTORE_TEXT, manifestUnitName, objectTags } from '../../src/core/keys.js';
import { S3Backend, S3_MIN_PART_SIZE } from '../../src/backend/s3.js';
import { backendConformance, testServerEnv } from './conformance.js';

const env = testServerEnv('s3', ['STRATA_TEST_S3_ENDPOINT', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET'] as const);
if (env !== undefined) {
  const bucket = `strata-test-${randomBytes(4).toString('hex')}`;
  const open = (secret: string): S3Backend =>
    new S3Backend({ bucket, prefix: 'p/q', endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: secret }, partSize: S3_MIN_PART_SIZE, pageSize: 100, storageClass: 'STANDARD_IA' });
  backendConformance('s3', async () => {
    const b = open(env.STRATA_TEST_S3_SECRET);
    await b.createBucket();
    return b;
  }, { tags: true, statSha256: true, secrets: [env.STRATA_TEST_S3_SECRET], makeBadCredentials: async () => open('wrong-secret') });
}

// A tier's storage class (storageClass.<tier>=GLACIER) is for the set's data only: the manifest,
// its recovery files and RESTORE.txt (kind=meta) stay readable without a restore request.
if (env !== undefined) {
  test('a tier\'s storage class applies to data objects, never to meta objects or descriptors (RGW)', async () => {
    const bucket = `strata-test-${randomBytes(4).toString('hex')}`;
    const b = new S3Backend({ bucket, endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET }, storageClasses: { weekly: 'GLACIER' } });
    try {
      await b.createBucket();
      const set = { id: '2026-11-29T0900_weekly_FULL', tier: 'weekly', type: 'FULL' };
      const put = async (name: string): Promise<string> => {
        const key = `${set.id}/${name}`;
        await b.put(key, bufferSource(name), { tags: objectTags(set, name) });
        return b.storageClassOf(key);
      };
      assert.equal(await put(`${set.id}.7z.001`), 'GLACIER', 'a volume (data) takes the tier\'s class');
      assert.equal(await put(RESTORE_TEXT), 'STANDARD', 'RESTORE.txt (meta) stays STANDARD');
      assert.equal(await put(`${manifestUnitName(set.id)}.par2`), 'STANDARD', 'the manifest\'s recovery file (meta) stays STANDARD');
    } finally {
      await b.close();
    }
  });
}
