/**
 * io/retry: the one retry loop of strata — exponential backoff with jitter, cancellable through an
 * AbortSignal (the wait between attempts ends at once on abort, and no attempt starts after it).
 * Used by the backend retry wrapper (operations that failed with a retriable error) and by the
 * repository (transfers cut off midway). Its own function rather than p-retry: it is twenty lines,
 * needs no new dependency, and keeps the jitter, the injectable clock and the retry decision
 * (StrataError.retriable, TransferCut) exactly as strata's tests pin them.
 */
import { StrataError } from '../errors.js';

/** BackoffOptions shape the waits between attempts. */
export interface BackoffOptions {
  /** Attempts in all, the first included (at least 1). */
  attempts: number;
  /** Delay before the first retry, doubled each time. */
  baseDelayMs: number;
  /** Longest delay. */
  maxDelayMs: number;
  /**
   * The share of each delay that is fixed, the rest random: 0 (default) is full jitter — so that
   * parallel operations that failed together do not retry together — 0.5 waits at least half.
   */
  fixedShare?: number;
  /** Injectable for tests (default: a timer that an abort ends with CANCELLED). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injectable for tests (default Math.random). */
  random?: () => number;
}

/** RetryRequest is one retried operation. */
export interface RetryRequest extends BackoffOptions {
  /** Whether a failure of attempt `attempt` may be tried again. */
  retriable: (error: unknown, attempt: number) => boolean;
  /** Called before each wait (for a warning line). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  signal?: AbortSignal | undefined;
}

/** backoffDelay is the wait after failed attempt `attempt` (1-based). */
export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const cap = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (attempt - 1));
  const fixed = o.fixedShare ?? 0;
  return Math.round(cap * (fixed + (1 - fixed) * (o.random ?? Math.random)()));
}

/**
 * retry runs `fn` until it succeeds, its failure is not retriable, the attempts are used up or the
 * signal aborts; it rejects with the last failure (CANCELLED when aborted during a wait).
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, r: RetryRequest): Promise<T> {
  const attempts = Math.max(1, r.attempts);
  const sleep = r.sleep ?? abortableSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= attempts || r.signal?.aborted === true || !r.retriable(e, attempt)) throw e;
      const delayMs = backoffDelay(attempt, r);
      r.onRetry?.({ attempt, delayMs, error: e });
      await sleep(delayMs, r.signal);
    }
  }
}

/** abortableSleep waits `ms`, or rejects with CANCELLED as soon as the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new StrataError('CANCELLED', 'cancelled'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new StrataError('CANCELLED', 'cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
