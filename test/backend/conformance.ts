/**
 * test/backend/conformance: one suite that checks every point of the Backend contract (see
 * src/backend/backend.ts) against any implementation, so that a backend's own test file only
 * configures it (the restic/kopia/unstorage pattern). Every run works under a fresh random prefix
 * and removes what it wrote, so suites can share a server and run twice.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it, test } from 'node:test';
import { Readable } from 'node:stream';
import type { Backend, BodySource } from '../../src/backend/backend.js';
import { isStrataError, type ErrorCode } from '../../src/errors.js';

/** ConformanceOptions describe what a backend supports and how to provoke its failures. */
export interface ConformanceOptions {
  /** Opens the same destination with wrong credentials (checks AUTH). */
  makeBadCredentials?: () => Promise<Backend>;
  /** A size larger than one multipart part of the backend (default 6 MiB + 17). */
  largeSize?: number;
  /** Objects in the listing test (default 1500). */
  listCount?: number;
  /** Parallel uploads when seeding the listing test (default 16). */
  parallel?: number;
  /** Creates the listing test's objects another way (e.g. one bulk copy for rclone, whose put
   * starts several processes); each object's content is its key. Default: put() each. */
  seedList?: (keys: string[]) => Promise<void>;
  /** Removes everything under a prefix at the end in one go (default: delete() each object). */
  purge?: (prefix: string) => Promise<void>;
  /** The backend stores tags and stat() returns them. */
  tags?: boolean;
  /** stat() returns the SHA-256 stored with each put (otherwise it must return none, never a guess). */
  statSha256?: boolean;
  /** Strings that must never appear in the backend's description (passwords, secret keys). */
  secrets?: string[];
}

/** PatternSource is a re-openable deterministic pseudo-random body that is never held in memory whole. */
function patternSource(size: number, seed: number): BodySource {
  return {
    size,
    open: () =>
      Readable.from(
        (function* () {
          let x = (seed * 2654435761) >>> 0 || 1;
          let left = size;
          while (left > 0) {
            const n = Math.min(left, 64 * 1024);
            const buf = Buffer.allocUnsafe(n);
            for (let i = 0; i < n; i++) {
              x ^= x << 13;
              x >>>= 0;
              x ^= x >>> 17;
              x ^= x << 5;
              x >>>= 0;
              buf[i] = x & 0xff;
            }
            left -= n;
            yield buf;
          }
        })(),
      ),
  };
}

/** failingSource gives `failAt` bytes of a pattern, then fails (a disk error mid-read). */
function failingSource(size: number, failAt: number): BodySource {
  return {
    size,
    open: () => {
      const inner = patternSource(size, 7).open();
      let seen = 0;
      return Readable.from(
        (async function* () {
          for await (const chunk of inner) {
            const b = chunk as Buffer;
            if (seen + b.length >= failAt) {
              yield b.subarray(0, failAt - seen);
              inner.destroy();
              throw new Error('simulated source failure');
            }
            seen += b.length;
            yield b;
          }
        })(),
      );
    },
  };
}

function bytesSource(data: Buffer | string): BodySource {
  const buf = Buffer.from(data);
  return { size: buf.length, open: () => Readable.from([buf]) };
}

async function sha256Of(stream: Readable): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    size += b.length;
    h.update(b);
  }
  return { sha256: h.digest('hex'), size };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isStrataError(e), `${what}: expected StrataError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `${what}: expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  });
}

async function keysUnder(b: Backend, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of b.list(prefix)) keys.push(o.key);
  return keys.sort();
}

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

/** backendConformance registers node:test subtests for every point of the Backend contract. */
export function backendConformance(name: string, makeBackend: () => Promise<Backend>, options: ConformanceOptions = {}): void {
  const large = options.largeSize ?? 6 * 1024 * 1024 + 17;
  const listCount = options.listCount ?? 1500;
  const parallel = options.parallel ?? 16;
  const root = `conformance-${randomBytes(4).toString('hex')}/`;
  let b: Backend;

  describe(`Backend conformance: ${name}`, () => {
    before(async () => {
      b = await makeBackend();
    });
    after(async () => {
      if (b === undefined) return;
      if (options.purge !== undefined) await options.purge(root);
      else {
        const left = await keysUnder(b, root).catch(() => []);
        await inParallel(left, parallel, (k) => b.delete(k));
      }
      await b.close();
    });

    it('rejects invalid keys with UNSAFE_PATH', async () => {
      for (const key of ['', '/abs', 'a//b', 'a/../b', './a', 'a/.', 'a\\b']) {
        await rejectsWith(b.put(key, bytesSource('x')), 'UNSAFE_PATH', `put ${JSON.stringify(key)}`);
        await rejectsWith(b.stat(key), 'UNSAFE_PATH', `stat ${JSON.stringify(key)}`);
      }
    });

    for (const size of [0, 1, 1000, large]) {
      it(`stores and reads back ${size} bytes (with and without a given SHA-256)`, async () => {
        const src = patternSource(size, size + 1);
        const want = await sha256Of(src.open());
        const withSha = `${root}sizes/with-${size}.bin`;
        const info = await b.put(withSha, src, { sha256: want.sha256 });
        assert.equal(info.size, size);
        assert.equal(info.key, withSha);
        const without = `${root}sizes/without-${size}.bin`;
        const info2 = await b.put(without, src);
        assert.equal(info2.size, size);
        assert.equal(info.sha256, want.sha256, 'put() reports the SHA-256 of the bytes');
        assert.equal(info2.sha256, want.sha256, 'put() reports the SHA-256 of the bytes it hashed itself');
        for (const key of [withSha, without]) {
          const st = await b.stat(key);
          assert.equal(st.size, size, `stat ${key}`);
          assert.equal(st.sha256, options.statSha256 === true ? want.sha256 : undefined, `stat ${key}: the stored SHA-256 where the backend keeps one, else none`);
          assert.deepEqual(await sha256Of(await b.get(key)), want, `get ${key}`);
        }
      });
    }

    it('reads ranges: inside, at the end, cut at the end, past the end, empty', async () => {
      const data = randomBytes(1000);
      const key = `${root}range/r.bin`;
      await b.put(key, bytesSource(data));
      const cases: [number, number | undefined, Buffer][] = [
        [0, 10, data.subarray(0, 10)],
        [500, 100, data.subarray(500, 600)],
        [990, 10, data.subarray(990)],
        [995, 10, data.subarray(995)],
        [500, undefined, data.subarray(500)],
        [0, undefined, data],
        [999, 1, data.subarray(999)],
        [1000, 5, Buffer.alloc(0)],
        [1000, undefined, Buffer.alloc(0)],
        [5000, 10, Buffer.alloc(0)],
        [10, 0, Buffer.alloc(0)],
      ];
      for (const [offset, length, want] of cases) {
        const range = length === undefined ? { offset } : { offset, length };
        const got = await readAll(await b.get(key, range));
        assert.ok(got.equals(want), `range ${offset}+${length ?? 'end'}: got ${got.length} bytes, want ${want.length}`);
      }
    });

    it('reads a range across a multipart part boundary', async () => {
      const src = patternSource(large, 99);
      const key = `${root}range/large.bin`;
      await b.put(key, src);
      const full = await readAll(src.open());
      const offset = 5 * 1024 * 1024 - 100;
      const got = await readAll(await b.get(key, { offset, length: 300 }));
      assert.ok(got.equals(full.subarray(offset, offset + 300)));
      const tail = await readAll(await b.get(key, { offset: large - 7, length: 100 }));
      assert.ok(tail.equals(full.subarray(large - 7)));
    });

    it('missing object: stat, get and range get reject NOT_FOUND; delete resolves', async () => {
      const key = `${root}missing/nothing-here.bin`;
      await rejectsWith(b.stat(key), 'NOT_FOUND', 'stat');
      await rejectsWith(b.get(key), 'NOT_FOUND', 'get');
      await rejectsWith(b.get(key, { offset: 0, length: 10 }), 'NOT_FOUND', 'range get');
      await rejectsWith(b.get(key, { offset: 10, length: 0 }), 'NOT_FOUND', 'empty range get');
      await b.delete(key);
      await b.delete(`${root}never/existed/at/all.bin`);
    });

    it('delete removes an object; deleting again resolves', async () => {
      const key = `${root}delete/d.bin`;
      await b.put(key, bytesSource('bye'));
      await b.delete(key);
      await rejectsWith(b.stat(key), 'NOT_FOUND', 'stat after delete');
      assert.deepEqual(await keysUnder(b, `${root}delete/`), []);
      await b.delete(key);
    });

    it('refuses to overwrite unless overwrite is set', async () => {
      const key = `${root}overwrite/o.bin`;
      await b.put(key, bytesSource('first'));
      await rejectsWith(b.put(key, bytesSource('second!')), 'ALREADY_EXISTS', 'second put');
      assert.equal((await readAll(await b.get(key))).toString(), 'first');
      const info = await b.put(key, bytesSource('second!'), { overwrite: true });
      assert.equal(info.size, 7);
      assert.equal((await readAll(await b.get(key))).toString(), 'second!');
      assert.equal((await b.stat(key)).size, 7);
      // Same size, other bytes (a repaired volume replacing a corrupted one): sync tools that compare
      // sizes and times (rclone moveto) must not take it for the same object.
      await b.put(key, bytesSource('SECOND!'), { overwrite: true });
      assert.equal((await readAll(await b.get(key))).toString(), 'SECOND!');
      assert.deepEqual(await keysUnder(b, `${root}overwrite/`), [key], 'no temporary objects left');
    });

    it('rejects a wrong SHA-256 with CHECKSUM and leaves nothing (small and multipart)', async () => {
      for (const size of [1000, large]) {
        const key = `${root}checksum/c-${size}.bin`;
        await rejectsWith(b.put(key, patternSource(size, 3), { sha256: '0'.repeat(64) }), 'CHECKSUM', `put ${size}`);
        await rejectsWith(b.stat(key), 'NOT_FOUND', 'stat after a rejected put');
      }
      assert.deepEqual(await keysUnder(b, `${root}checksum/`), []);
    });

    it('a source stream that fails midway leaves nothing visible (small and multipart)', async () => {
      for (const [size, failAt] of [[1000, 500], [large, large - 1000], [large, Math.floor(large / 2)]] as const) {
        const key = `${root}failing/f-${size}-${failAt}.bin`;
        await assert.rejects(b.put(key, failingSource(size, failAt)), `put ${size} failing at ${failAt}`);
        await rejectsWith(b.stat(key), 'NOT_FOUND', 'stat after a failed put');
      }
      assert.deepEqual(await keysUnder(b, `${root}failing/`), []);
    });

    it('a source shorter or longer than its announced size is rejected and leaves nothing', async () => {
      const short: BodySource = { size: 1000, open: () => Readable.from([randomBytes(600)]) };
      const long: BodySource = { size: 100, open: () => Readable.from([randomBytes(600)]) };
      await assert.rejects(b.put(`${root}sizes-wrong/short.bin`, short));
      await assert.rejects(b.put(`${root}sizes-wrong/long.bin`, long));
      assert.deepEqual(await keysUnder(b, `${root}sizes-wrong/`), []);
    });

    it('stores keys with spaces, unicode and URL-special characters', async () => {
      const keys = [`${root}names/with space.bin`, `${root}names/ümlaut-日本.bin`, `${root}names/plus+percent%25#hash?q&amp.bin`, `${root}names/deep/er/still/x.bin`];
      for (const key of keys) await b.put(key, bytesSource(key));
      for (const key of keys) assert.equal((await readAll(await b.get(key))).toString(), key);
      assert.deepEqual(await keysUnder(b, `${root}names/`), [...keys].sort());
    });

    it('runs parallel uploads into new folders', async () => {
      const keys = Array.from({ length: 24 }, (_, i) => `${root}parallel/${i % 3}/sub/p-${i}.bin`);
      await Promise.all(keys.map((k, i) => b.put(k, patternSource(20_000 + i, i))));
      assert.deepEqual(await keysUnder(b, `${root}parallel/`), [...keys].sort());
      const st = await Promise.all(keys.map((k) => b.stat(k)));
      assert.deepEqual(st.map((s) => s.size), keys.map((_, i) => 20_000 + i));
    });

    it(`lists exactly ${listCount} objects once each (paging), and filters by prefix`, async () => {
      const base = `${root}list/`;
      const keys = Array.from({ length: listCount }, (_, i) => `${base}${i % 10 === 0 ? 'sub/' : ''}obj-${String(i).padStart(4, '0')}`);
      if (options.seedList !== undefined) await options.seedList(keys);
      else {
        await inParallel(keys, parallel, async (k) => {
          await b.put(k, bytesSource(k));
        });
      }
      await b.put(`${root}listx/decoy`, bytesSource('decoy'));
      const seen: string[] = [];
      for await (const o of b.list(base)) {
        seen.push(o.key);
        assert.equal(o.size, Buffer.byteLength(o.key));
      }
      assert.equal(seen.length, listCount, 'every object once');
      assert.equal(new Set(seen).size, listCount, 'no duplicates');
      assert.deepEqual(seen.sort(), [...keys].sort());
      const partial = `${base}obj-00`;
      assert.deepEqual(await keysUnder(b, partial), keys.filter((k) => k.startsWith(partial)).sort(), 'a prefix that ends mid-name');
      assert.deepEqual(await keysUnder(b, `${base}sub/`), keys.filter((k) => k.startsWith(`${base}sub/`)).sort());
      assert.deepEqual(await keysUnder(b, `${root}nothing-here/`), []);
    });

    if (options.tags === true) {
      it('stores tags and reads them back', async () => {
        const key = `${root}tags/t.bin`;
        const tags = { tier: 'cold', type: 'volume', set: '2026-11-29T0900' };
        const info = await b.put(key, bytesSource('tagged'), { tags });
        assert.deepEqual(info.tags, tags);
        assert.deepEqual((await b.stat(key)).tags, tags);
        const bigKey = `${root}tags/big.bin`;
        await b.put(bigKey, patternSource(large, 5), { tags });
        assert.deepEqual((await b.stat(bigKey)).tags, tags, 'tags on a multipart object');
      });

      it('retag replaces the tags of a stored object and leaves its bytes; a missing key is NOT_FOUND', async () => {
        const key = `${root}tags/retag.bin`;
        const put = await b.put(key, bytesSource('promoted'), { tags: { tier: 'weekly', type: 'FULL', set: 'x' } });
        assert.ok(b.retag !== undefined, 'a backend with tags can retag');
        assert.equal(await b.retag(key, { tier: 'monthly', type: 'FULL', set: 'x' }), true);
        const st = await b.stat(key);
        assert.deepEqual(st.tags, { tier: 'monthly', type: 'FULL', set: 'x' });
        assert.equal(st.size, put.size);
        assert.equal((await readAll(await b.get(key))).toString('utf8'), 'promoted');
        await rejectsWith(b.retag(`${root}tags/missing.bin`, { tier: 'monthly' }), 'NOT_FOUND', 'retag');
      });
    }

    if (options.makeBadCredentials !== undefined) {
      const makeBad = options.makeBadCredentials;
      it('rejects wrong credentials with AUTH', async () => {
        const bad = await makeBad();
        try {
          await rejectsWith(bad.stat(`${root}auth/x.bin`), 'AUTH', 'stat');
          await rejectsWith(bad.put(`${root}auth/x.bin`, bytesSource('x')), 'AUTH', 'put');
          await rejectsWith(bad.get(`${root}auth/x.bin`), 'AUTH', 'get');
          await rejectsWith(keysUnder(bad, root), 'AUTH', 'list');
        } finally {
          await bad.close();
        }
      });
    }

    if (options.secrets !== undefined) {
      const secrets = options.secrets;
      it('keeps credentials out of its description', () => {
        for (const s of secrets) assert.ok(!b.description.includes(s), `description ${JSON.stringify(b.description)} shows a secret`);
      });
    }
  });
}

/** testServerEnv reads the test-server variables. When one is missing it registers a failing test
 * that says how to start the servers (or a skipped one with STRATA_TEST_NO_SERVERS=1) and returns
 * undefined, so that a forgotten server never passes silently. */
export function testServerEnv<K extends string>(suite: string, names: readonly K[]): Record<K, string> | undefined {
  const missing = names.filter((n) => (process.env[n] ?? '') === '');
  if (missing.length === 0) return Object.fromEntries(names.map((n) => [n, process.env[n] ?? ''])) as Record<K, string>;
  if (process.env['STRATA_TEST_NO_SERVERS'] === '1') {
    test(`Backend conformance: ${suite}`, { skip: 'STRATA_TEST_NO_SERVERS=1' }, () => undefined);
    return undefined;
  }
  test(`Backend conformance: ${suite}`, () => {
    assert.fail(
      `${missing.join(', ')} not set: start the test servers first — scripts/test-servers/install.sh && scripts/test-servers/start.sh && . scripts/test-servers/.env — or set STRATA_TEST_NO_SERVERS=1 for a quick run without them.`,
    );
  });
  return undefined;
}
