/** io/hash: one SHA-256 for buffers, streams, files and bytes passing through; size checks. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { isStrataError } from '../../src/errors.js';
import { bufferSource, checkSha256, digestStream, fileSource, hashFile, hashStream, hashingSource, meteredSource, sha256Hex } from '../../src/io/hash.js';
import { tempDir } from '../helpers/tmp.js';

const DATA = randomBytes(200_000);
const SHA = createHash('sha256').update(DATA).digest('hex');

async function drain(stream: Readable): Promise<number> {
  let n = 0;
  for await (const c of stream as AsyncIterable<Buffer>) n += c.length;
  return n;
}

describe('io/hash', () => {
  it('buffer, stream, file and source hashes agree', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'f');
    await writeFile(file, DATA);
    assert.equal(sha256Hex(DATA), SHA);
    assert.deepEqual(await digestStream(Readable.from([DATA.subarray(0, 7), DATA.subarray(7)])), { size: DATA.length, sha256: SHA });
    assert.deepEqual(await hashFile(file), { size: DATA.length, sha256: SHA });
    assert.equal(await hashStream((await fileSource(file)).open(), 'f', false), SHA);
    assert.equal((await fileSource(file)).size, DATA.length);
    const counter = hashingSource(bufferSource(DATA), 'k: source');
    assert.equal(await drain(counter), DATA.length);
    assert.equal(counter.sha256(), SHA);
  });

  it('a source that gives more or fewer bytes than announced fails with CHECKSUM', async () => {
    const short = { size: 10, open: () => Readable.from([Buffer.alloc(6)]) };
    await assert.rejects(drain(hashingSource(short, 'k: source')), (e) => isStrataError(e, 'CHECKSUM') && e.message === 'k: source gave 6 bytes, expected 10');
    const long = { size: 3, open: () => Readable.from([Buffer.alloc(6)]) };
    await assert.rejects(drain(hashingSource(long, 'k: source')), (e) => isStrataError(e, 'CHECKSUM') && /more than the announced 3 bytes/.test(e.message));
  });

  it('a failing stream is a BACKEND error, retriable as asked; a mismatch is CHECKSUM', async () => {
    const broken = (): Readable =>
      new Readable({
        read() {
          this.destroy(new Error('disk gone'));
        },
      });
    await assert.rejects(hashStream(broken(), 'reading x', true), (e) => isStrataError(e, 'BACKEND') && e.retriable && e.message === 'reading x: disk gone');
    await assert.rejects(hashStream(broken(), 'reading x', false), (e) => isStrataError(e, 'BACKEND') && !e.retriable);
    assert.throws(() => checkSha256('k', 'a'.repeat(64), 'b'.repeat(64)), (e) => isStrataError(e, 'CHECKSUM'));
    assert.doesNotThrow(() => checkSha256('k', 'a'.repeat(64), undefined));
  });

  it('an aborted signal stops the read with CANCELLED', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(digestStream(bufferSource(DATA).open(), ac.signal), (e) => isStrataError(e, 'CANCELLED'));
  });
});

describe('meteredSource (upload progress)', () => {
  it('reports the bytes as they are read, and a body opened again takes back the earlier reading', async () => {
    const data = randomBytes(200_000);
    let done = 0;
    const body = meteredSource(bufferSource(data), (n) => (done += n));
    assert.equal(body.size, data.length);
    const first = body.open();
    for await (const chunk of first as AsyncIterable<Buffer>) {
      assert.ok(chunk.length > 0);
      break; // a transfer cut short
    }
    first.destroy();
    assert.ok(done > 0 && done <= data.length);
    // The retry reads everything: counted once, not on top of the cut attempt.
    const h = await digestStream(body.open());
    assert.equal(h.sha256, sha256Hex(data));
    assert.equal(done, data.length);
  });
  it('digestStream and hashFile report each chunk', async (t) => {
    const dir = await tempDir(t, 'strata-meter-');
    const file = path.join(dir, 'f');
    await writeFile(file, randomBytes(300_000));
    let seen = 0;
    const h = await hashFile(file, (n) => (seen += n));
    assert.equal(seen, h.size);
    assert.equal(h.size, 300_000);
  });
});
