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

/**
 * racer is one of several processes that start acquireLock at the same moment (each waits, ready,
 * for a "go" file) and tell what they got; a holder keeps the lock until a "release" file appears,
 * so that however slowly the others start on a loaded machine, none can come after it let go.
 */
function racer(dir: string, go: string, release: string): { ready: Promise<void>; result: Promise<string>; closed: Promise<void> } {
  const script = `
    const { existsSync } = await import('node:fs');
    const { acquireLock } = await import(${JSON.stringify(LOCK_MODULE)});
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    process.stdout.write('ready\\n');
    while (!existsSync(${JSON.stringify(go)})) await sleep(5);
    try {
      const l = await acquireLock(${JSON.stringify(dir)}, 'test', new Date());
      process.stdout.write('got\\n');
      while (!existsSync(${JSON.stringify(release)})) await sleep(10);
      await l.release();
    } catch (e) {
      process.stdout.write(e.code === 'LOCKED' ? 'locked\\n' : 'error ' + e.message + '\\n');
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let onReady: () => void = () => undefined;
  let onResult: (r: string) => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  const result = new Promise<string>((r) => (onResult = r));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const lines = out.split('\n').filter((l) => l !== '');
    if (lines.includes('ready')) onReady();
    const verdict = lines.find((l) => l !== 'ready');
    if (verdict !== undefined) onResult(verdict);
  });
  const closed = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => {
      onReady();
      onResult(out.split('\n').find((l) => l !== '' && l !== 'ready') ?? `exited: ${out}`);
      resolve();
    });
  });
  return { ready, result, closed };
}

test('eight runs at once against a dead holder\'s lock: exactly one holds it, the others are told it is locked', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t, 'strata-lock-');
  const signals = await tempDir(t, 'strata-lock-signals-');
  for (let round = 0; round < 6; round++) {
    await fsp.writeFile(path.join(dir, 'lock'), JSON.stringify({ pid: await deadPid(), host: hostname(), started: 'x', command: 'backup' }));
    const go = path.join(signals, `go-${round}`);
    const release = path.join(signals, `release-${round}`);
    const racers = Array.from({ length: 8 }, () => racer(dir, go, release));
    await Promise.all(racers.map((r) => r.ready));
    await fsp.writeFile(go, '');
    const results = await Promise.all(racers.map((r) => r.result));
    await fsp.writeFile(release, '');
    await Promise.all(racers.map((r) => r.closed));
    assert.equal(results.filter((r) => r === 'got').length, 1, `round ${round}: ${results.join(', ')}`);
    assert.equal(results.filter((r) => r === 'locked').length, 7, `round ${round}: ${results.join(', ')}`);
    assert.deepEqual(await fsp.readdir(dir), [], 'no lock or temporary file is left');
  }
});
