/** `strata version`: the Node.js note about the AWS SDK is said here, once, not on every S3 run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeNotes } from '../../src/commands/version.js';
import { randomBytes } from 'node:crypto';
import { S3Backend } from '../../src/backend/s3.js';
import { testServerEnv } from '../backend/conformance.js';
import { strata } from '../helpers/cli.js';

test('nodeNotes warns below Node.js 22 only', () => {
  assert.equal(nodeNotes('v20.20.2').length, 1);
  assert.match(nodeNotes('v20.20.2')[0] ?? '', /Node\.js ≥ 22/);
  assert.deepEqual(nodeNotes('v22.1.0'), []);
  assert.deepEqual(nodeNotes('v24.0.0'), []);
});

test('strata version --json names the tools and the notes for this Node.js', async () => {
  const r = await strata(['--json', 'version']);
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout) as { node: string; notes: string[]; '7zz': { version?: string }; par2: { version?: string } };
  assert.equal(v.node, process.version);
  assert.deepEqual(v.notes, nodeNotes(process.version));
  assert.match(v['7zz'].version ?? '', /^\d+\.\d+$/);
  assert.match(v.par2.version ?? '', /^\d+\.\d+\.\d+$/);
});

test('strata version reports a missing 7zz instead of failing', async () => {
  const r = await strata(['version'], { env: { STRATA_7ZZ: '/nonexistent/7zz' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^7zz\s+not usable: .*could not be started/m);
});

const s3 = testServerEnv('no SDK warning on S3 runs', ['STRATA_TEST_S3_ENDPOINT', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET'] as const);
if (s3 !== undefined) {
  test('an S3 run prints no AWS SDK Node.js support warning (that is said by strata version only)', async () => {
    const bucket = `strata-nowarn-${randomBytes(4).toString('hex')}`;
    await new S3Backend({ bucket, prefix: '', endpoint: s3.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.STRATA_TEST_S3_KEY, secretAccessKey: s3.STRATA_TEST_S3_SECRET } }).createBucket();
    const dest = `s3://${bucket}/x?endpoint=${encodeURIComponent(s3.STRATA_TEST_S3_ENDPOINT)}&pathStyle=true&region=us-east-1`;
    const r = await strata(['check-destination', '--dest', dest], { env: { AWS_ACCESS_KEY_ID: s3.STRATA_TEST_S3_KEY, AWS_SECRET_ACCESS_KEY: s3.STRATA_TEST_S3_SECRET, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr + r.stdout, /NodeVersionSupportWarning|will require node/);
  });
}
