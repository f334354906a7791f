/**
 * Lifecycle tags are read back from the destination before a set is marked complete (against the
 * real Ceph RGW): every object of a set carries tier, type, set and kind (data or meta); a provider that accepts tags
 * and keeps none (here: uploads reach RGW without them) gives a warning naming the problem.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { S3Backend, S3_MIN_PART_SIZE } from '../../src/backend/s3.js';
import { FaultyBackend } from '../../src/backend/wrappers.js';
import { testServerEnv } from '../backend/conformance.js';
import { backup, configFor, makeFixture } from './helpers.js';

const env = testServerEnv('s3 tags read back', ['STRATA_TEST_S3_ENDPOINT', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET'] as const);
if (env !== undefined) {
  const open = async (): Promise<S3Backend> => {
    const b = new S3Backend({
      bucket: `strata-tags-${randomBytes(4).toString('hex')}`, endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true,
      credentials: { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET }, partSize: S3_MIN_PART_SIZE,
    });
    await b.createBucket();
    return b;
  };

  describe('lifecycle tags read back', () => {
    it('a set on S3: every object carries tier, type, set and kind (data: volumes and their recovery files; meta: the rest), and no warning', async (t) => {
      const f = await makeFixture(t, 512);
      const s3 = await open();
      const r = await backup(f, s3, configFor(f));
      const s = r.sources[0];
      assert.ok(s?.setId !== undefined && s.setId !== null);
      assert.deepEqual(s.warnings, []);
      let objects = 0;
      const kinds = new Map<string, string[]>();
      for await (const o of s3.list(`${s.setId}/`)) {
        const name = o.key.slice(s.setId.length + 1);
        // Volumes and the PAR2 files of the volumes are data; descriptor, manifest, its PAR2, RESTORE.txt are meta.
        const kind = /\.7z\.\d{3}$/.test(name) || (name.endsWith('.par2') && !name.includes('.manifest.')) ? 'data' : 'meta';
        assert.deepEqual((await s3.stat(o.key)).tags, { tier: 'weekly', type: 'FULL', set: s.setId, kind }, o.key);
        kinds.set(kind, [...(kinds.get(kind) ?? []), name]);
        objects++;
      }
      assert.ok(objects > 5, `the set has its volumes, manifest and recovery files (${objects})`);
      assert.ok((kinds.get('data') ?? []).some((n) => n.endsWith('.par2')), 'recovery files of the volumes are data');
      const meta = (kinds.get('meta') ?? []).sort();
      assert.ok(meta.includes('RESTORE.txt') && meta.includes(`${s.setId}.strata.json`) && meta.includes(`${s.setId}.manifest.7z`) && meta.some((n) => n.startsWith(`${s.setId}.manifest.`) && n.endsWith('.par2')), meta.join(', '));
    });

    it('a provider that keeps no tags: the set completes and the backup warns that lifecycle rules will not apply', async (t) => {
      const f = await makeFixture(t, 512);
      const faulty = new FaultyBackend(await open());
      faulty.dropTags = true;
      const r = await backup(f, faulty, configFor(f));
      const s = r.sources[0];
      assert.ok(s?.setId !== undefined && s.setId !== null, 'the data is intact: the set is complete');
      assert.equal(s.warnings.length, 1, s.warnings.join('\n'));
      assert.match(s.warnings[0] ?? '', /objects on the destination do not carry their tags \(tier, type, set, kind\).*lifecycle rules by tag will not apply/);
    });
  });
}
