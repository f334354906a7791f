/**
 * The backup's password check runs while the run prepares and scans (scrypt on the thread pool):
 * a check that fails still ends the run with its own error, and nothing in the state folder or on
 * the destination is removed or replaced before it is known.
 */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { fixedClock } from '../../src/clock.js';
import { machineIdentity } from '../../src/config/machine.js';
import type { KdfParams } from '../../src/core/descriptor.js';
import { StrataError, isStrataError } from '../../src/errors.js';
import { jobPaths, runBackup } from '../../src/pipeline/backup/index.js';
import { PASSWORD, backup, configFor, makeFixture, realTools, silentOutput, type Fixture } from './helpers.js';

async function listing(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir, { recursive: true })).map(String).sort();
}

async function failingRun(f: Fixture, checked: Promise<KdfParams>): Promise<unknown> {
  checked.catch(() => undefined); // as unlockForBackup does: the run awaits it
  return runBackup({
    config: configFor(f), tier: 'daily', backend: new LocalBackend(f.dest), jobDir: f.jobDir,
    machine: await machineIdentity(path.dirname(path.dirname(f.jobDir))), password: PASSWORD, markerChecked: checked,
    tools: await realTools(), out: silentOutput(), clock: fixedClock(new Date('2026-11-30T10:00:00Z')), signal: new AbortController().signal, version: 'test', pollMs: 10,
  }).then(() => undefined, (e: unknown) => e);
}

const wrong = (): StrataError => new StrataError('WRONG_PASSWORD', 'the password does not open the destination marker (test)');

test('a password check that fails while the run prepares and scans: WRONG_PASSWORD, staging kept, nothing replaced', { timeout: 180_000 }, async (t) => {
  const f = await makeFixture(t, 512);
  // Enough files that the scan is still running when a late check fails.
  await fsp.mkdir(path.join(f.src, 'many'));
  for (let i = 0; i < 3000; i++) await fsp.writeFile(path.join(f.src, 'many', `f${i}`), `file ${i}\n`);
  const first = await backup(f, new LocalBackend(f.dest), configFor(f));
  assert.ok(first.sources[0]?.setId !== null);
  await fsp.writeFile(path.join(f.src, 'many', 'f0'), 'changed since the first set\n');
  const paths = jobPaths(f.jobDir);
  // Something in staging that a run with the right password would remove as debris.
  await fsp.mkdir(paths.staging, { recursive: true });
  await fsp.writeFile(path.join(paths.staging, 'left-by-another-run'), 'x');
  const cacheFile = path.join(paths.cache, `${path.basename(f.src)}.statcache`);
  const cacheBefore = await fsp.readFile(cacheFile, 'utf8');
  const destBefore = await listing(f.dest);
  const stagingBefore = await listing(paths.staging);

  // 1. Failing at once: staging is not emptied (a journal that does not load under a wrong
  //    password is not debris), nothing is replaced.
  const e = await failingRun(f, Promise.reject(wrong()));
  assert.ok(isStrataError(e, 'WRONG_PASSWORD'), `expected WRONG_PASSWORD, got ${String(e)}`);
  assert.deepEqual(await listing(paths.staging), stagingBefore, 'staging was emptied before the password was known');
  const unchanged = async (): Promise<void> => {
    assert.equal(await fsp.readFile(cacheFile, 'utf8'), cacheBefore, 'the stat cache was replaced');
    assert.deepEqual(await listing(f.dest), destBefore, 'the destination changed');
    assert.equal(await fsp.access(`${cacheFile}.new`).then(() => true, () => false), false, 'the new stat cache was left behind');
  };
  await unchanged();

  // 2. Failing while the scan runs (its new stat cache has appeared): the scan stops, and the
  //    error is the password's, not a cancel.
  await fsp.rm(path.join(paths.staging, 'left-by-another-run'));
  const duringScan = new Promise<KdfParams>((_, reject) => {
    const poll = (): void => {
      void fsp.access(`${cacheFile}.new`).then(() => reject(wrong()), () => setTimeout(poll, 1));
    };
    poll();
  });
  const e2 = await failingRun(f, duringScan);
  assert.ok(isStrataError(e2, 'WRONG_PASSWORD'), `expected WRONG_PASSWORD, got ${String(e2)}`);
  await unchanged();
});

test('a tampered base whose manifest is not cached here: its manifest is never fetched, and the run makes a FULL set', { timeout: 180_000 }, async (t) => {
  const f = await makeFixture(t, 256);
  const first = await backup(f, new LocalBackend(f.dest), configFor(f));
  const id = first.sources[0]?.setId;
  assert.ok(id !== null && id !== undefined);
  // The descriptor edited (its HMAC no longer matches), and this machine's copy of the manifest gone.
  const descFile = path.join(f.dest, id, `${id}.strata.json`);
  const d = JSON.parse(await fsp.readFile(descFile, 'utf8')) as { stats: { files: number } };
  d.stats.files = 12345;
  await fsp.writeFile(descFile, JSON.stringify(d, null, 2));
  const manifests = jobPaths(f.jobDir).manifests;
  await fsp.rm(manifests, { recursive: true, force: true });
  const warnings: string[] = [];
  const r = await runBackup({
    config: configFor(f), tier: 'daily', backend: new LocalBackend(f.dest), jobDir: f.jobDir,
    machine: await machineIdentity(path.dirname(path.dirname(f.jobDir))), password: PASSWORD,
    tools: await realTools(), out: silentOutput(warnings), clock: fixedClock(new Date('2026-11-30T10:00:00Z')), signal: new AbortController().signal, version: 'test', pollMs: 10,
  });
  assert.equal(r.sources[0]?.type, 'FULL');
  assert.ok(warnings.some((w) => w.includes(`${id} is not used as a base`)), warnings.join('\n'));
  const cached = await fsp.readdir(manifests).catch(() => []);
  assert.ok(!cached.some((n) => n.startsWith(id)), `the tampered set's manifest was fetched into ${manifests}: ${cached.join(', ')}`);
});
