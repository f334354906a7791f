/**
 * How RcloneBackend classifies rclone's failures, with the real rclone: a transient failure about
 * an object whose name ends in .401 or .403 is a retriable BACKEND error (the number in the name is
 * not an HTTP status), while a real authentication failure of the test WebDAV server stays AUTH.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { RcloneBackend } from '../../src/backend/rclone.js';
import { RetryingBackend } from '../../src/backend/wrappers.js';
import { isStrataError, type StrataError } from '../../src/errors.js';
import { testServerEnv } from './conformance.js';

/** A local port nothing listens on (connection refused: a transient network failure). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  assert.ok(addr !== null && typeof addr === 'object');
  return addr.port;
}

const { AWS_CA_BUNDLE: _ca, ...base } = process.env;
const davRemote = (url: string, user: string, password: string): NodeJS.ProcessEnv => ({
  ...base,
  RCLONE_CONFIG_ERRDAV_TYPE: 'webdav',
  RCLONE_CONFIG_ERRDAV_URL: url,
  RCLONE_CONFIG_ERRDAV_VENDOR: 'other',
  RCLONE_CONFIG_ERRDAV_USER: user,
  RCLONE_CONFIG_ERRDAV_PASS: execFileSync('rclone', ['obscure', password], { encoding: 'utf8' }).trim(),
});

function transient(e: unknown): e is StrataError {
  assert.ok(isStrataError(e), String(e));
  assert.equal(e.code, 'BACKEND', `${e.code}: ${e.message}`);
  assert.equal(e.retriable, true, e.message);
  assert.doesNotMatch(e.hint ?? '', /credentials/);
  return true;
}

describe('rclone error classification', () => {
  it('a transient failure about set.7z.401 / set.7z.403 is retriable, not AUTH', async () => {
    const port = await closedPort();
    const rc = new RcloneBackend({ target: 'errdav:backups', env: davRemote(`http://127.0.0.1:${port}/dav`, 'u', 'p'), args: ['--config', '/dev/null'] });
    const body = { size: 3, open: () => Readable.from([Buffer.from('abc')]) };
    for (const key of ['set/set.7z.401', 'set/set.7z.403', 'set.401/x.403', '403/401']) {
      await assert.rejects(rc.stat(key), transient, `stat ${key}`);
      await assert.rejects(rc.put(key, body), transient, `put ${key}`);
      await assert.rejects(rc.get(key), transient, `get ${key}`);
    }
    // And so the retry wrapper does retry it.
    const retried: number[] = [];
    const retrying = new RetryingBackend(rc, { attempts: 3, sleep: async () => undefined, onRetry: (i) => retried.push(i.attempt) });
    await assert.rejects(retrying.stat('set/set.7z.401'), transient);
    assert.deepEqual(retried, [1, 2]);
  });

  const env = testServerEnv('rclone error classification', ['STRATA_TEST_WEBDAV_URL', 'STRATA_TEST_WEBDAV_USER', 'STRATA_TEST_WEBDAV_PASS'] as const);
  if (env !== undefined) {
    it('a real authentication failure (rclone prints "401 Unauthorized") is still AUTH, whatever the name', async () => {
      const rc = new RcloneBackend({ target: `errdav:rclone-errors-${randomBytes(4).toString('hex')}`, env: davRemote(env.STRATA_TEST_WEBDAV_URL, env.STRATA_TEST_WEBDAV_USER, 'wrong-password'), args: ['--config', '/dev/null'] });
      for (const key of ['set/set.7z.001', 'set/set.7z.500']) {
        await assert.rejects(rc.stat(key), (e: unknown) => isStrataError(e, 'AUTH') && /401 Unauthorized/.test(e.message) && /credentials/.test(e.hint ?? ''), key);
        await assert.rejects(rc.put(key, { size: 1, open: () => Readable.from([Buffer.from('x')]) }), (e: unknown) => isStrataError(e, 'AUTH'), key);
      }
    });
  }
});
