/** Backend conformance of WebDavBackend against the real Apache mod_dav server from scripts/test-servers. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { BodySource } from '../../src/backend/backend.js';
import { WebDavBackend } from '../../src/backend/webdav.js';
import { backendConformance, testServerEnv } from './conformance.js';

const env = testServerEnv('webdav', ['STRATA_TEST_WEBDAV_URL', 'STRATA_TEST_WEBDAV_USER', 'STRATA_TEST_WEBDAV_PASS'] as const);
if (env !== undefined) {
  // A folder that does not exist yet, two levels deep: the backend must create it.
  const url = new URL(`strata-test-${randomBytes(4).toString('hex')}/backups/`, env.STRATA_TEST_WEBDAV_URL).toString();
  const open = (password: string): WebDavBackend => new WebDavBackend({ url, username: env.STRATA_TEST_WEBDAV_USER, password });
  backendConformance('webdav', async () => open(env.STRATA_TEST_WEBDAV_PASS), {
    statSha256: true,
    secrets: [env.STRATA_TEST_WEBDAV_PASS],
    makeBadCredentials: async () => open('wrong-password'),
  });

  // Volumes of hundreds of MB: streamed with an explicit Content-Length, never held in memory.
  test('a 400 MiB object is streamed up in bounded memory and reads back intact', { timeout: 300_000 }, async (t) => {
    const MiB = 1024 * 1024;
    const chunks = 400;
    const block = randomBytes(MiB);
    const chunk = (i: number): Buffer => {
      const b = Buffer.from(block);
      b.writeUInt32LE(i, 0); // every MiB differs
      return b;
    };
    const body: BodySource = { size: chunks * MiB, open: () => Readable.from((function* () { for (let i = 0; i < chunks; i++) yield chunk(i); })()) };
    const want = createHash('sha256');
    for (let i = 0; i < chunks; i++) want.update(chunk(i));
    const sha256 = want.digest('hex');
    const b = open(env.STRATA_TEST_WEBDAV_PASS);
    t.after(() => b.delete('huge/volume.7z.001'));
    const base = process.memoryUsage().rss;
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss - base)), 20);
    try {
      await b.put('huge/volume.7z.001', body, { sha256 });
    } finally {
      clearInterval(timer);
    }
    t.diagnostic(`RSS grew by at most ${(peak / MiB).toFixed(1)} MiB while storing ${chunks} MiB`);
    assert.ok(peak < 96 * MiB, `the upload held ${(peak / MiB).toFixed(0)} MiB`);
    const info = await b.stat('huge/volume.7z.001');
    assert.equal(info.size, chunks * MiB);
    assert.equal(info.sha256, sha256);
    const tail: Buffer[] = [];
    for await (const c of await b.get('huge/volume.7z.001', { offset: (chunks - 1) * MiB })) tail.push(c as Buffer);
    assert.deepEqual(Buffer.concat(tail), chunk(chunks - 1));
  });
}
