/**
 * S3 archive storage (GLACIER / DEEP_ARCHIVE): reading an archived object is its own error
 * (ARCHIVED), never a credentials problem; coldState and thaw follow x-amz-restore. Against the real
 * Ceph RGW behind test/helpers/glacier-proxy, which enforces the archive semantics RGW only stores.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { S3Backend, mapS3Error } from '../../src/backend/s3.js';
import { systemClock } from '../../src/clock.js';
import { ExitCode, isStrataError } from '../../src/errors.js';
import { bufferSource } from '../../src/io/hash.js';
import { startGlacierProxy, type GlacierProxy } from '../helpers/glacier-proxy.js';
import { testServerEnv } from './conformance.js';

/** sdkError builds an error as the AWS SDK throws it for an S3 error reply. */
function sdkError(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

describe('S3 errors of archived objects', () => {
  it('maps 403 InvalidObjectState to ARCHIVED (its own exit code and hint), not to AUTH', () => {
    const e = mapS3Error(sdkError('InvalidObjectState', 403), 'reading s1/v.7z.001 on s3://b/p');
    assert.equal(e.code, 'ARCHIVED');
    assert.equal(e.exitCode, ExitCode.archived);
    assert.notEqual(e.exitCode, ExitCode.error);
    assert.match(e.message, /archive storage/);
    assert.match(e.hint ?? '', /run the same command again|restore/i);
  });
  it('still maps AccessDenied to AUTH', () => {
    assert.equal(mapS3Error(sdkError('AccessDenied', 403), 'x').code, 'AUTH');
  });
});

const env = testServerEnv('s3', ['STRATA_TEST_S3_ENDPOINT', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET'] as const);
if (env !== undefined) {
  describe('S3Backend on archived objects (RGW behind the glacier proxy)', () => {
    const bucket = `strata-cold-${randomBytes(4).toString('hex')}`;
    let proxy: GlacierProxy;
    let b: S3Backend;
    before(async () => {
      proxy = await startGlacierProxy({ target: env.STRATA_TEST_S3_ENDPOINT, accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET });
      b = new S3Backend({ bucket, prefix: 'p', endpoint: proxy.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET } });
      await b.createBucket();
    });
    after(async () => {
      await b.close();
      await proxy.close();
    });

    it('a GET of a GLACIER object fails ARCHIVED; a GLACIER_IR object reads directly', async () => {
      await b.put('s/cold.bin', bufferSource(Buffer.from('cold bytes')), { storageClass: 'GLACIER' });
      await b.put('s/ir.bin', bufferSource(Buffer.from('instant bytes')), { storageClass: 'GLACIER_IR' });
      await assert.rejects(b.get('s/cold.bin'), (e: unknown) => isStrataError(e, 'ARCHIVED') && /s\/cold\.bin/.test(e.message));
      assert.equal(proxy.refusedGets.length, 1);
      const chunks: Buffer[] = [];
      for await (const c of await b.get('s/ir.bin')) chunks.push(c as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), 'instant bytes');
    });

    it('coldState and thaw follow x-amz-restore: archived, requested once, restoring, restored and readable', async () => {
      assert.deepEqual(await b.coldState('s/ir.bin'), { storageClass: 'GLACIER_IR', state: 'hot' });
      assert.deepEqual(await b.coldState('s/cold.bin'), { storageClass: 'GLACIER', state: 'archived' });
      assert.deepEqual(await b.thaw('s/cold.bin', 'Bulk', 'GLACIER'), { outcome: 'requested', tier: 'Bulk' });
      assert.deepEqual(await b.coldState('s/cold.bin'), { storageClass: 'GLACIER', state: 'restoring' });
      assert.deepEqual(await b.thaw('s/cold.bin', 'Bulk', 'GLACIER'), { outcome: 'in-progress', tier: 'Bulk' });
      assert.deepEqual(proxy.restoreRequests.map((r) => [r.tier, r.status]), [['Bulk', 202], ['Bulk', 409]]);
      await assert.rejects(b.get('s/cold.bin'), (e: unknown) => isStrataError(e, 'ARCHIVED'));
      proxy.finishRestores();
      const st = await b.coldState('s/cold.bin');
      assert.equal(st.state, 'restored');
      assert.ok(st.expiry !== undefined && Date.parse(st.expiry) > systemClock.now().getTime(), JSON.stringify(st));
      const chunks: Buffer[] = [];
      for await (const c of await b.get('s/cold.bin')) chunks.push(c as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), 'cold bytes');
      await assert.rejects(b.coldState('s/none.bin'), (e: unknown) => isStrataError(e, 'NOT_FOUND'));
    });

    it('on RGW itself (no restore: 501) an archive-class object is reported unsupported once and read directly', async () => {
      const direct = new S3Backend({ bucket, prefix: 'p', endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET } });
      try {
        await direct.put('s/deep.bin', bufferSource(Buffer.from('deep bytes')), { storageClass: 'DEEP_ARCHIVE' });
        assert.deepEqual(await direct.coldState('s/deep.bin'), { storageClass: 'DEEP_ARCHIVE', state: 'archived' });
        assert.deepEqual(await direct.thaw('s/deep.bin', 'Expedited', 'DEEP_ARCHIVE'), { outcome: 'unsupported', tier: 'Standard' });
        const chunks: Buffer[] = [];
        for await (const c of await direct.get('s/deep.bin')) chunks.push(c as Buffer);
        assert.equal(Buffer.concat(chunks).toString(), 'deep bytes');
      } finally {
        await direct.close();
      }
    });
  });
}
