/** Backend conformance of S3Backend against the real Ceph RGW from scripts/test-servers (small parts and pages). */
import { randomBytes } from 'node:crypto';
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
