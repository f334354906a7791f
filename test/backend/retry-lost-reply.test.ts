/**
 * A put whose final step completed on the server while its reply was lost (FaultyBackend
 * `lostReply` around the real backends): RetryingBackend's retry meets ALREADY_EXISTS and must
 * take the stored object for its own when it holds the same bytes — also without a given SHA-256
 * (a descriptor) and where stat() reports no SHA-256 (rclone, WebDAV without properties) — and keep
 * ALREADY_EXISTS for other bytes. On S3 the accepted object must carry the put's tags.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import type { Backend, BodySource } from '../../src/backend/backend.js';
import { LocalBackend } from '../../src/backend/local.js';
import { RcloneBackend } from '../../src/backend/rclone.js';
import { S3Backend, S3_MIN_PART_SIZE } from '../../src/backend/s3.js';
import { WebDavBackend } from '../../src/backend/webdav.js';
import { FaultyBackend, RetryingBackend } from '../../src/backend/wrappers.js';
import { isStrataError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { testServerEnv } from './conformance.js';

/** A re-openable body that arrives in several chunks. */
function chunked(data: Buffer): BodySource {
  return { size: data.length, open: () => Readable.from((function* () { for (let i = 0; i < data.length; i += 100_000) yield data.subarray(i, i + 100_000); })()) };
}

async function readAll(b: Backend, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await b.get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha = (d: Buffer): string => createHash('sha256').update(d).digest('hex');

interface Target {
  name: string;
  open: () => Promise<Backend>;
  /** The backend keeps tags (S3). */
  tags?: boolean;
  /** A size beyond one multipart part (S3). */
  large?: number;
  /** stat() reports no SHA-256, so the retry must read the object back. */
  noStatSha256?: boolean;
}

function lostReplySuite(t: Target): void {
  describe(`a put whose reply was lost, retried: ${t.name}`, () => {
    let inner: Backend;
    const root = `lost-reply-${randomBytes(4).toString('hex')}/`;
    const written: string[] = [];
    /** The first put reaches the backend without its tags: on S3 the reply of the upload itself
     * (PutObject, CompleteMultipartUpload) is what got lost, so the tagging step after it never ran.
     * The retry (after the back-off) passes them. */
    const wrap = (): { faulty: FaultyBackend; b: RetryingBackend } => {
      const faulty = new FaultyBackend(inner);
      faulty.dropTags = true;
      const sleep = async (): Promise<void> => void (faulty.dropTags = false);
      return { faulty, b: new RetryingBackend(faulty, { attempts: 3, sleep }) };
    };
    after(async () => {
      if (inner === undefined) return;
      for (const k of written) await inner.delete(k).catch(() => undefined);
      for (const dir of ['set-2/', 'set-3/', 'set-4/', '']) await inner.removeFolder?.(`${root}${dir}`).catch(() => undefined);
      await inner.close();
    });

    it('without a given SHA-256 (a descriptor): the retry resolves and the object holds the bytes', async () => {
      inner = await t.open();
      const { faulty, b } = wrap();
      faulty.fail('put', { lostReply: true });
      const data = Buffer.from(JSON.stringify({ id: 'set-1', files: randomBytes(300).toString('hex') }));
      const key = `${root}set-1.strata.json`;
      written.push(key);
      const tags = { tier: 'weekly', type: 'FULL', set: 'set-1' };
      const info = await b.put(key, chunked(data), { tags });
      assert.equal(faulty.calls.put, 2, 'the first attempt stored the object and failed; the retry met ALREADY_EXISTS');
      assert.equal(info.size, data.length);
      assert.equal(info.sha256, sha(data));
      assert.ok((await readAll(inner, key)).equals(data));
      if (t.noStatSha256 === true) assert.equal((await inner.stat(key)).sha256, undefined, 'the retry had to read the object back');
      if (t.tags === true) assert.deepEqual((await inner.stat(key)).tags, tags, 'the accepted object carries the put\'s tags');
    });

    const sizes = [250_000, ...(t.large !== undefined ? [t.large] : [])];
    for (const size of sizes) {
      it(`with a given SHA-256 (${size} bytes): the retry resolves${t.tags === true ? ' and the object is tagged' : ''}`, async () => {
        const { faulty, b } = wrap();
        faulty.fail('put', { lostReply: true });
        const data = randomBytes(size);
        const key = `${root}set-2/set-2.7z.${size}`;
        written.push(key);
        const tags = { tier: 'monthly', type: 'INCR', set: 'set-2' };
        const info = await b.put(key, chunked(data), { sha256: sha(data), tags });
        assert.equal(faulty.calls.put, 2);
        assert.equal(info.size, size);
        assert.equal((await inner.stat(key)).size, size);
        assert.equal(sha(await readAll(inner, key)), sha(data));
        if (t.tags === true) {
          assert.deepEqual(info.tags, tags);
          assert.deepEqual((await inner.stat(key)).tags, tags, 'the accepted object carries the put\'s tags');
        }
      });
    }

    it('other bytes of the same size under the key: a retried put keeps ALREADY_EXISTS and changes nothing', async () => {
      const { faulty, b } = wrap();
      const key = `${root}set-3/set-3.7z.001`;
      written.push(key);
      const theirs = randomBytes(50_000);
      await inner.put(key, chunked(theirs));
      const mine = randomBytes(50_000);
      for (const options of [{}, { sha256: sha(mine) }]) {
        // The first attempt fails before it starts (retriable): the retry meets ALREADY_EXISTS.
        faulty.fail('put');
        await assert.rejects(b.put(key, chunked(mine), { ...options, tags: { tier: 'x', type: 'FULL', set: 'set-3' } }), (e: unknown) => isStrataError(e, 'ALREADY_EXISTS'));
      }
      // And another size.
      faulty.fail('put');
      await assert.rejects(b.put(key, chunked(theirs.subarray(1))), (e: unknown) => isStrataError(e, 'ALREADY_EXISTS'));
      assert.ok((await readAll(inner, key)).equals(theirs), 'the object is unchanged');
      if (t.tags === true) assert.deepEqual((await inner.stat(key)).tags, {}, 'no tags were set on an object that is not the put\'s');
    });

    it('a first attempt that meets another object is a conflict (nothing is retried)', async () => {
      const { b } = wrap();
      const key = `${root}set-4/set-4.7z.001`;
      written.push(key);
      const data = randomBytes(1000);
      await inner.put(key, chunked(data));
      const other = randomBytes(1000);
      await assert.rejects(b.put(key, chunked(other)), (e: unknown) => isStrataError(e, 'ALREADY_EXISTS'));
    });
  });
}

lostReplySuite({ name: 'local', open: async () => new LocalBackend(await tempDir(undefined, 'strata-lost-reply-')) });

const dav = testServerEnv('lost reply: webdav and rclone', ['STRATA_TEST_WEBDAV_URL', 'STRATA_TEST_WEBDAV_USER', 'STRATA_TEST_WEBDAV_PASS'] as const);
if (dav !== undefined) {
  // Each suite works under its own random folder of the server's root, and removes it at the end.
  const url = dav.STRATA_TEST_WEBDAV_URL;
  lostReplySuite({ name: 'webdav', open: async () => new WebDavBackend({ url, username: dav.STRATA_TEST_WEBDAV_USER, password: dav.STRATA_TEST_WEBDAV_PASS }) });
  lostReplySuite({
    name: 'webdav on a server that keeps no properties (stat() has no SHA-256)',
    noStatSha256: true,
    open: async () => {
      const b = new WebDavBackend({ url, username: dav.STRATA_TEST_WEBDAV_USER, password: dav.STRATA_TEST_WEBDAV_PASS });
      // What the backend concludes after a server refused PROPPATCH: SHA-256 sums are not stored.
      (b as unknown as { props: boolean }).props = false;
      return b;
    },
  });
  const { AWS_CA_BUNDLE: _ca, ...base } = process.env;
  const rcEnv: NodeJS.ProcessEnv = {
    ...base,
    RCLONE_CONFIG_LOSTDAV_TYPE: 'webdav',
    RCLONE_CONFIG_LOSTDAV_URL: dav.STRATA_TEST_WEBDAV_URL,
    RCLONE_CONFIG_LOSTDAV_VENDOR: 'other',
    RCLONE_CONFIG_LOSTDAV_USER: dav.STRATA_TEST_WEBDAV_USER,
    RCLONE_CONFIG_LOSTDAV_PASS: execFileSync('rclone', ['obscure', dav.STRATA_TEST_WEBDAV_PASS], { encoding: 'utf8' }).trim(),
  };
  lostReplySuite({ name: 'rclone (stat() never has a SHA-256)', noStatSha256: true, open: async () => new RcloneBackend({ target: 'lostdav:', env: rcEnv, args: ['--config', '/dev/null'] }) });
}

const s3 = testServerEnv('lost reply: s3', ['STRATA_TEST_S3_ENDPOINT', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET'] as const);
if (s3 !== undefined) {
  lostReplySuite({
    name: 's3',
    tags: true,
    large: S3_MIN_PART_SIZE + 1000,
    open: async () => {
      const b = new S3Backend({
        bucket: `strata-lost-${randomBytes(4).toString('hex')}`, endpoint: s3.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true,
        credentials: { accessKeyId: s3.STRATA_TEST_S3_KEY, secretAccessKey: s3.STRATA_TEST_S3_SECRET }, partSize: S3_MIN_PART_SIZE,
      });
      await b.createBucket();
      return b;
    },
  });
}
