/**
 * repository/lock against real processes: a live holder keeps the lock, a dead holder's lock is
 * taken over, and several runs started at once against a dead holder's lock end with exactly one
 * holder (each contender is its own process: the lock judges holders by pid).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { acquireLock } from '../../src/repository/lock.js';
import { isStrataError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

const LOCK_MODULE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/repository/lock.js');

/** contender runs acquireLock in its own process, holds the lock for holdMs, and says what it got. */
function contender(dir: string, holdMs: number): Promise<string> {
  const script = `
    const { acquireLock } = await import(${JSON.stringify(LOCK_MODULE)});
    try {
      const l = await acquireLock(${JSON.stringify(dir)}, 'test', new Date());
      await new Promise((r) => setTimeout(r, ${holdMs}));
      await l.release();
      process.stdout.write('got');
    } catch (e) {
      process.stdout.write(e.code === 'LOCKED' ? 'locked' : 'error ' + e.message);
    }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

/** A pid that is not running: spawn a process and wait for it to end. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid ?? 0;
  await new Promise((r) => child.on('close', r));
  return pid;
}

test('a live holder keeps the lock; a dead holder\'s lock is taken over; release frees it', async (t) => {
  const dir = await tempDir(t, 'strata-lock-');
  const held = await acquireLock(dir, 'backup', new Date());
  await assert.rejects(acquireLock(dir, 'backup', new Date()), (e: unknown) => isStrataError(e, 'LOCKED') && e.message.includes(`pid ${process.pid}`));
  assert.equal(await contender(dir, 0), 'locked', 'another process sees the live holder');
  await held.release();
  assert.equal(await contender(dir, 0), 'got');
  await fsp.writeFile(path.join(dir, 'lock'), JSON.stringify({ pid: await deadPid(), host: hostname(), started: 'x', command: 'backup' }));
  assert.equal(await contender(dir, 0), 'got', 'a dead holder\'s lock is taken over');
  assert.deepEqual(await fsp.readdir(dir), [], 'no lock or temporary file is left');
});

test('eight runs at once against a dead holder\'s lock: exactly one holds it, the others are told it is locked', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t, 'strata-lock-');
  for (let round = 0; round < 6; round++) {
    await fsp.writeFile(path.join(dir, 'lock'), JSON.stringify({ pid: await deadPid(), host: hostname(), started: 'x', command: 'backup' }));
    const results = await Promise.all(Array.from({ length: 8 }, () => contender(dir, 1500)));
    assert.equal(results.filter((r) => r === 'got').length, 1, `round ${round}: ${results.join(', ')}`);
    assert.equal(results.filter((r) => r === 'locked').length, 7, `round ${round}: ${results.join(', ')}`);
    assert.deepEqual(await fsp.readdir(dir), [], 'no lock or temporary file is left');
  }
});
