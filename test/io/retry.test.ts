/** io/retry: the one retry loop — backoff with jitter, the retry decision, and cancellation. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StrataError, isStrataError } from '../../src/errors.js';
import { backoffDelay, retry } from '../../src/io/retry.js';

const transient = (): StrataError => new StrataError('BACKEND', 'flaky', { retriable: true });

describe('retry', () => {
  it('tries again until success, waiting longer each time up to the cap', async () => {
    const delays: number[] = [];
    let calls = 0;
    const v = await retry(
      async (attempt) => {
        calls++;
        if (attempt < 5) throw transient();
        return 'done';
      },
      { attempts: 5, baseDelayMs: 100, maxDelayMs: 500, random: () => 1, sleep: async (ms) => void delays.push(ms), retriable: () => true },
    );
    assert.equal(v, 'done');
    assert.equal(calls, 5);
    assert.deepEqual(delays, [100, 200, 400, 500]);
  });

  it('full jitter may wait nothing; a fixed share keeps a floor', () => {
    const o = { attempts: 4, baseDelayMs: 200, maxDelayMs: 10_000, random: () => 0 };
    assert.equal(backoffDelay(3, o), 0);
    assert.equal(backoffDelay(3, { ...o, fixedShare: 0.5 }), 400);
    assert.equal(backoffDelay(3, { ...o, fixedShare: 0.5, random: () => 1 }), 800);
  });

  it('stops at a failure that is not retriable, and after the last attempt', async () => {
    let calls = 0;
    await assert.rejects(
      retry(
        async () => {
          calls++;
          throw new StrataError('AUTH', 'denied');
        },
        { attempts: 5, baseDelayMs: 1, maxDelayMs: 1, retriable: (e) => isStrataError(e) && e.retriable },
      ),
      (e) => isStrataError(e, 'AUTH'),
    );
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(
      retry(
        async () => {
          calls++;
          throw transient();
        },
        { attempts: 3, baseDelayMs: 1, maxDelayMs: 1, retriable: () => true },
      ),
      (e) => isStrataError(e, 'BACKEND'),
    );
    assert.equal(calls, 3);
  });

  it('an abort ends the wait at once with CANCELLED, and no attempt follows', async () => {
    const ac = new AbortController();
    let calls = 0;
    const t0 = performance.now();
    const p = retry(
      async () => {
        calls++;
        throw transient();
      },
      { attempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000, fixedShare: 1, retriable: () => true, signal: ac.signal },
    );
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(p, (e) => isStrataError(e, 'CANCELLED'));
    assert.equal(calls, 1);
    assert.ok(performance.now() - t0 < 5000, 'the minute-long wait was cut short');
  });
});
