/** Tests of the Backend wrappers: retries recover from transient faults, injected faults leave
 * nothing behind, the concurrency limit holds, logging shows keys but no data, and the whole stack
 * still passes the conformance suite. */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { bufferSource } from '../../src/io/hash.js';
import { ExpireByTagBackend } from '../../src/backend/expire-by-tag.js';
import { FaultyBackend, LimitedBackend, LoggingBackend, RetryingBackend } from '../../src/backend/wrappers.js';
import { S3Backend } from '../../src/backend/s3.js';
import type { Backend, BodySource, ObjectInfo } from '../../src/backend/backend.js';
import { StrataError, isStrataError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { backendConformance } from './conformance.js';

const noSleep = async (): Promise<void> => undefined;

async function allFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

describe('RetryingBackend', () => {
  it('recovers from two transient failures', async (t) => {
    const dir = await tempDir(t);
    const faulty = new FaultyBackend(new LocalBackend(dir)).fail('put', { times: 2 });
    const retries: number[] = [];
    const b = new RetryingBackend(faulty, { attempts: 3, sleep: noSleep, onRetry: (i) => retries.push(i.attempt) });
    const info = await b.put('a/b.bin', bufferSource('hello'));
    assert.equal(info.size, 5);
    assert.equal(faulty.calls.put, 3);
    assert.deepEqual(retries, [1, 2]);
    assert.equal((await b.stat('a/b.bin')).size, 5);
  });

  it('recovers from a put whose stream broke halfway, re-opening the body', async (t) => {
    const dir = await tempDir(t);
    const faulty = new FaultyBackend(new LocalBackend(dir)).fail('put', { times: 2, afterBytes: 50_000 });
    let opens = 0;
    const data = Buffer.alloc(100_000, 7);
    const body: BodySource = { size: data.length, open: () => (opens++, bufferSource(data).open()) };
    await new RetryingBackend(faulty, { sleep: noSleep }).put('v.7z', body);
    assert.equal(opens, 3);
    assert.deepEqual(await allFiles(dir), ['v.7z']);
  });

  it('does not retry errors that are not retriable, and gives up after the last attempt', async (t) => {
    const dir = await tempDir(t);
    const faulty = new FaultyBackend(new LocalBackend(dir)).fail('stat', { error: new StrataError('AUTH', 'denied') });
    await assert.rejects(new RetryingBackend(faulty, { sleep: noSleep }).stat('x'), (e) => isStrataError(e, 'AUTH'));
    assert.equal(faulty.calls.stat, 1);
    faulty.fail('delete', { times: Infinity });
    await assert.rejects(new RetryingBackend(faulty, { attempts: 4, sleep: noSleep }).delete('x'), (e) => isStrataError(e, 'BACKEND'));
    assert.equal(faulty.calls.delete, 4);
  });

  it('backs off exponentially with jitter', async (t) => {
    const delays: number[] = [];
    const faulty = new FaultyBackend(new LocalBackend(await tempDir(t))).fail('stat', { times: 4 });
    const b = new RetryingBackend(faulty, { attempts: 5, baseDelayMs: 100, maxDelayMs: 500, random: () => 1, sleep: async (ms) => void delays.push(ms) });
    await assert.rejects(b.stat('missing'), (e) => isStrataError(e, 'NOT_FOUND'));
    assert.deepEqual(delays, [100, 200, 400, 500]);
  });

  it('a restarted listing yields each key once', async (t) => {
    const local = new LocalBackend(await tempDir(t));
    for (let i = 0; i < 5; i++) await local.put(`k${i}`, bufferSource('x'));
    const faulty = new FaultyBackend(local).fail('list', { afterBytes: 3 });
    const keys: string[] = [];
    for await (const o of new RetryingBackend(faulty, { sleep: noSleep }).list('')) keys.push(o.key);
    assert.deepEqual(keys.sort(), ['k0', 'k1', 'k2', 'k3', 'k4']);
  });
});

describe('FaultyBackend', () => {
  it('the Nth put failing halfway through its stream leaves nothing behind', async (t) => {
    const dir = await tempDir(t);
    const faulty = new FaultyBackend(new LocalBackend(dir)).fail('put', { after: 2, afterBytes: 500 });
    await faulty.put('one', bufferSource(Buffer.alloc(1000)));
    await faulty.put('two', bufferSource(Buffer.alloc(1000)));
    await assert.rejects(faulty.put('three', bufferSource(Buffer.alloc(1000))), /injected put fault/);
    await faulty.put('four', bufferSource(Buffer.alloc(1000)));
    assert.deepEqual((await allFiles(dir)).sort(), ['four', 'one', 'two']);
  });

  it('fails a get stream after k bytes', async (t) => {
    const local = new LocalBackend(await tempDir(t));
    await local.put('g', bufferSource(Buffer.alloc(1000)));
    const faulty = new FaultyBackend(local).fail('get', { afterBytes: 100 });
    const stream = await faulty.get('g');
    let n = 0;
    await assert.rejects(
      (async () => {
        for await (const c of stream) n += (c as Buffer).length;
      })(),
    );
    assert.equal(n, 100);
  });
});

describe('LimitedBackend and LoggingBackend', () => {
  it('never runs more operations at once than the limit', async (t) => {
    const local = new LocalBackend(await tempDir(t));
    let active = 0;
    let peak = 0;
    const slow: Backend = {
      description: 'slow',
      put: async (key, body): Promise<ObjectInfo> => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return local.put(key, body);
      },
      get: (k, r) => local.get(k, r),
      stat: (k) => local.stat(k),
      list: (p) => local.list(p),
      delete: (k) => local.delete(k),
      close: () => local.close(),
    };
    const b = new LimitedBackend(slow, 3);
    await Promise.all(Array.from({ length: 20 }, (_, i) => b.put(`k${i}`, bufferSource('x'))));
    assert.equal(peak, 3);
  });

  it('logs keys and outcomes, never data', async (t) => {
    const lines: string[] = [];
    const b = new LoggingBackend(new LocalBackend(await tempDir(t)), (l) => lines.push(l));
    await b.put('set/v.7z', bufferSource('TOP-SECRET-DATA'), { tags: { tier: 'cold' } });
    await assert.rejects(b.stat('nope'));
    assert.ok(lines.some((l) => l.includes('put set/v.7z') && l.includes('ok')));
    assert.ok(lines.some((l) => l.includes('stat nope') && l.includes('NOT_FOUND')));
    assert.ok(!lines.join('\n').includes('TOP-SECRET') && !lines.join('\n').includes('cold'));
  });
});

backendConformance('local + retry + limit + logging wrappers', async () => {
  const dir = await tempDir(undefined, 'strata-wrapped-');
  return new RetryingBackend(new LimitedBackend(new LoggingBackend(new LocalBackend(dir), () => undefined), 4), { sleep: noSleep });
}, { listCount: 300 });

describe('ExpireByTagBackend', () => {
  // It is the outermost wrapper of an S3 destination with retention.deleteBy: tag: whatever the
  // S3 backend can do beyond the basic calls must stay visible through it (restore asks `archives`
  // before requesting archived volumes; init creates the bucket with createRoot).
  it('passes on every capability of the backend it wraps: archives, createRoot, coldState, thaw', () => {
    const s3 = new S3Backend({ bucket: 'strata-never-contacted', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const wrapped: Backend = new ExpireByTagBackend(new RetryingBackend(s3), { Key: 'expire', Value: 'yes' });
    assert.equal(s3.archives, true);
    assert.equal(wrapped.archives, true, 'archives');
    assert.equal(typeof wrapped.createRoot, 'function', 'createRoot');
    assert.equal(typeof wrapped.coldState, 'function', 'coldState');
    assert.equal(typeof wrapped.thaw, 'function', 'thaw');
  });
});
