/**
 * The job lock and `.pending` markers after a reboot or pid reuse: a record whose pid belongs to a
 * live process, but whose boot id or start time is not that process's, names a writer that is gone.
 * (pid 1 is always alive; the test's own pid is alive and its start time known.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { acquireLock } from '../../src/repository/lock.js';
import { Repository, type PendingInfo } from '../../src/repository/repository.js';
import { isStrataError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

const BOOT_ID = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const OTHER_BOOT = '00000000-0000-4000-8000-000000000000';

/** startTicks is field 22 of /proc/<pid>/stat. */
function startTicks(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

test('a lock whose pid is alive but whose boot id differs (a reboot) is taken over', async (t) => {
  const dir = await tempDir(t, 'strata-pidreuse-');
  await fsp.writeFile(path.join(dir, 'lock'), JSON.stringify({ pid: 1, host: hostname(), started: '2026-01-01T00:00:00Z', command: 'backup', bootId: OTHER_BOOT, procStart: startTicks(1) }));
  const lock = await acquireLock(dir, 'backup', new Date());
  const info = JSON.parse(await fsp.readFile(path.join(dir, 'lock'), 'utf8')) as Record<string, unknown>;
  assert.equal(info['pid'], process.pid);
  assert.equal(info['bootId'], BOOT_ID, 'the new lock records the boot id');
  assert.equal(info['procStart'], startTicks(process.pid), 'the new lock records the start time');
  await lock.release();
});

test('a lock whose pid is alive but whose start time differs (pid reuse) is taken over', async (t) => {
  const dir = await tempDir(t, 'strata-pidreuse-');
  const ppid = process.ppid;
  const reused = String(Number(startTicks(ppid)) + 12345);
  await fsp.writeFile(path.join(dir, 'lock'), JSON.stringify({ pid: ppid, host: hostname(), started: '2026-01-01T00:00:00Z', command: 'backup', bootId: BOOT_ID, procStart: reused }));
  const lock = await acquireLock(dir, 'backup', new Date());
  await lock.release();
});

test('a lock of the live holder (same pid, boot id and start time) still holds; an old lock with a pid only too', async (t) => {
  const dir = await tempDir(t, 'strata-pidreuse-');
  const ppid = process.ppid;
  await fsp.writeFile(path.join(dir, 'lock'), JSON.stringify({ pid: ppid, host: hostname(), started: 'x', command: 'backup', bootId: BOOT_ID, procStart: startTicks(ppid) }));
  await assert.rejects(acquireLock(dir, 'backup', new Date()), (e: unknown) => isStrataError(e, 'LOCKED'));
  await fsp.writeFile(path.join(dir, 'lock'), JSON.stringify({ pid: ppid, host: hostname(), started: 'x', command: 'backup' }));
  await assert.rejects(acquireLock(dir, 'backup', new Date()), (e: unknown) => isStrataError(e, 'LOCKED'));
});

test('a .pending marker whose pid is alive but whose boot id or start time differs is debris', () => {
  const now = new Date();
  const base = { host: hostname(), started: now.toISOString(), job: 'default' };
  const ppid = process.ppid;
  const rebooted = { ...base, pid: 1, bootId: OTHER_BOOT, procStart: startTicks(1) } as PendingInfo;
  const reused = { ...base, pid: ppid, bootId: BOOT_ID, procStart: String(Number(startTicks(ppid)) + 777) } as PendingInfo;
  const live = { ...base, pid: ppid, bootId: BOOT_ID, procStart: startTicks(ppid) } as PendingInfo;
  assert.equal(Repository.isDebris(rebooted, now, 'default'), true, 'written before a reboot');
  assert.equal(Repository.isDebris(reused, now, 'default'), true, 'pid reused by another process');
  assert.equal(Repository.isDebris(live, now, 'default'), false, 'the writer still runs');
  assert.equal(Repository.isDebris({ ...base, pid: ppid }, now, 'default'), false, 'an old marker (pid only) of a live pid');
});

test('a takeover guard left by a run that died is removed even when its pid now runs another process; a live one stays', async (t) => {
  const dir = await tempDir(t, 'strata-pidreuse-');
  const stale = JSON.stringify({ pid: 1, host: hostname(), started: '2026-01-01T00:00:00Z', command: 'backup', bootId: OTHER_BOOT, procStart: startTicks(1) });
  const guard = path.join(dir, 'lock.takeover');
  // The guard's writer died mid-takeover before a reboot; pid 1 runs now (alive, but not the writer).
  await fsp.writeFile(path.join(dir, 'lock'), stale);
  await fsp.writeFile(guard, JSON.stringify({ pid: 1, bootId: OTHER_BOOT, procStart: startTicks(1) }));
  const lock = await acquireLock(dir, 'backup', new Date());
  assert.equal((JSON.parse(await fsp.readFile(path.join(dir, 'lock'), 'utf8')) as { pid: number }).pid, process.pid);
  await assert.rejects(fsp.stat(guard), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT', 'the dead run\'s guard is gone');
  await lock.release();
  // A guard whose writer still runs (this process: pid, boot id and start time) is never removed.
  await fsp.writeFile(path.join(dir, 'lock'), stale);
  await fsp.writeFile(guard, JSON.stringify({ pid: process.pid, bootId: BOOT_ID, procStart: startTicks(process.pid) }));
  await assert.rejects(acquireLock(dir, 'backup', new Date()), (e: unknown) => isStrataError(e, 'LOCKED') && /could not take the lock/.test(e.message));
  assert.ok((await fsp.stat(guard)).isFile(), 'the live guard stays');
});
