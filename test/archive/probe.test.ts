/** core/compressibility + archive/probe: which files go to the stored archive, decided by a deflate -1 sample from the middle. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { defaultProbePolicy, probeRange, storageFor } from '../../src/core/compressibility.js';
import { probeFile, probeFiles } from '../../src/archive/probe.js';
import { tempDir } from '../helpers/tmp.js';

const KiB = 1024;

function text(bytes: number): Buffer {
  const words = ['backup', 'volume', 'parity', 'restore', 'archive', 'tier', 'weekly', 'the', 'of', 'and', 'manifest', 'destination'];
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const w = words[(i * 7 + (i >> 2)) % words.length] ?? 'x';
    parts.push(i % 11 === 10 ? `${w}\n` : `${w} `);
    n += w.length + 1;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

describe('core/compressibility', () => {
  it('probeRange samples 64 KiB from the middle; files under 256 KiB are not probed', () => {
    assert.deepEqual(probeRange(1024 * KiB), [480 * KiB, 64 * KiB]);
    assert.deepEqual(probeRange(256 * KiB), [96 * KiB, 64 * KiB]);
    assert.equal(probeRange(256 * KiB - 1), null);
    assert.equal(probeRange(0), null);
    assert.deepEqual(probeRange(100, { ...defaultProbePolicy, minBytes: 1 }), [0, 100]);
  });

  it('storageFor: stored at 97 % or more of the sample, compressed below; no sample: compressed', () => {
    assert.equal(storageFor({ sampled: 65536, compressed: 65600 }), 'store');
    assert.equal(storageFor({ sampled: 10000, compressed: 9700 }), 'store');
    assert.equal(storageFor({ sampled: 10000, compressed: 9699 }), 'compress');
    assert.equal(storageFor({ sampled: 65536, compressed: 20000 }), 'compress');
    assert.equal(storageFor(null), 'compress');
    assert.equal(storageFor({ sampled: 0, compressed: 0 }), 'compress');
  });
});

describe('archive/probe', () => {
  it('stores random data and compresses text, whatever the file is called', async (t) => {
    const dir = await tempDir(t, 'strata-probe-');
    const files = {
      'clip.mp4': randomBytes(512 * KiB), // media: random bytes
      'notes.mp4': text(512 * KiB), // named like media, but text
      'random.log': randomBytes(512 * KiB), // named like text, but random
      'doc.txt': text(512 * KiB),
      // Compressible head (a media file's tables), random middle: the middle decides.
      'movie.mkv': Buffer.concat([text(128 * KiB), randomBytes(384 * KiB)]),
      'small.bin': randomBytes(100 * KiB), // under 256 KiB: compressed without a probe
    };
    for (const [name, data] of Object.entries(files)) await writeFile(path.join(dir, name), data);
    const got: Record<string, string> = {};
    for (const name of Object.keys(files)) got[name] = (await probeFile(path.join(dir, name), files[name as keyof typeof files].length)).storage;
    assert.deepEqual(got, { 'clip.mp4': 'store', 'notes.mp4': 'compress', 'random.log': 'store', 'doc.txt': 'compress', 'movie.mkv': 'store', 'small.bin': 'compress' });
    const r = await probeFile(path.join(dir, 'doc.txt'), 512 * KiB);
    assert.equal(r.sampled, 64 * KiB);
    assert.ok(r.compressed > 0 && r.compressed < 0.5 * r.sampled, `text compresses: ${r.compressed}`);
  });

  it('a file that vanished or shrank since the scan is compressed (7-Zip reports it), never an error', async (t) => {
    const dir = await tempDir(t, 'strata-probe-');
    assert.deepEqual(await probeFile(path.join(dir, 'gone.bin'), 1024 * KiB), { storage: 'compress', sampled: 0, compressed: 0 });
    await writeFile(path.join(dir, 'shrank.bin'), randomBytes(10 * KiB));
    assert.deepEqual(await probeFile(path.join(dir, 'shrank.bin'), 1024 * KiB), { storage: 'compress', sampled: 0, compressed: 0 });
    await writeFile(path.join(dir, 'some.bin'), randomBytes(300 * KiB));
    const partial = await probeFile(path.join(dir, 'some.bin'), 600 * KiB);
    assert.equal(partial.storage, 'store', 'what could be read decides');
    assert.ok(partial.sampled > 0 && partial.sampled < 64 * KiB);
  });

  it('probeFiles keeps the order of its input', async (t) => {
    const dir = await tempDir(t, 'strata-probe-');
    const list: { path: string; size: number }[] = [];
    for (let i = 0; i < 9; i++) {
      const p = path.join(dir, `f${i}`);
      const data = i % 3 === 0 ? randomBytes(300 * KiB) : text(300 * KiB);
      await writeFile(p, data);
      list.push({ path: p, size: data.length });
    }
    const r = await probeFiles(list, defaultProbePolicy, 3);
    assert.deepEqual(r.map((x) => x.storage), list.map((_, i) => (i % 3 === 0 ? 'store' : 'compress')));
  });
});
