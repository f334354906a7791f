/**
 * Resuming an unfinished set: a backup whose upload fails halfway is not complete, and the next run
 * uploads only what is not on the destination intact — unless the source, the settings or the
 * objects no longer match, in which case it starts over. A killed run is resumed the same way.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import type { Backend, BodySource, ByteRange, ObjectInfo, PutOptions } from '../../src/backend/backend.js';
import { LocalBackend } from '../../src/backend/local.js';
import { FaultyBackend } from '../../src/backend/wrappers.js';
import type { ProtectionConfig } from '../../src/core/protection/index.js';
import { jobPaths } from '../../src/pipeline/backup.js';
import { runRestore } from '../../src/pipeline/restore/index.js';
import { allObjects, checkObjects } from '../../src/pipeline/setfiles.js';
import { Repository } from '../../src/repository/repository.js';
import { strata } from '../helpers/cli.js';
import { PASSWORD, backup, configFor, makeFixture, realTools, silentOutput, type Fixture } from './helpers.js';

/** PutLog counts the puts per key that reach the inner backend (so a put a fault stopped is not counted). */
class PutLog implements Backend {
  readonly description: string;
  readonly puts = new Map<string, number>();
  constructor(private readonly inner: Backend) {
    this.description = inner.description;
  }
  async put(key: string, body: BodySource, options?: PutOptions): Promise<ObjectInfo> {
    this.puts.set(key, (this.puts.get(key) ?? 0) + 1);
    return this.inner.put(key, body, options);
  }
  get(key: string, range?: ByteRange): Promise<Readable> {
    return this.inner.get(key, range);
  }
  stat(key: string): Promise<ObjectInfo> {
    return this.inner.stat(key);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  localPath(key: string): string | undefined {
    return this.inner.localPath?.(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** AsRemote hides that a backend is a local folder: no in-place reads, no hashing by path. */
class AsRemote extends PutLog {
  override localPath(): undefined {
    return undefined;
  }
}

/** tinyWindows: sliding windows of 4 volumes by 2, so PAR2 units are made (and stored) while 7-Zip writes. */
function tinyWindows(base: ProtectionConfig): ProtectionConfig {
  const table = [{ name: 'all', upTo: null, redundancyPercent: 30 }];
  return { ...base, directMaxBytes: 0, groupedMaxBytes: 0, windowSize: 4, windowSlide: 2, tiers: { daily: table, weekly: table, monthly: table, yearly: table } };
}

/** destFiles lists the objects of the destination (keys), without the pending marker. */
async function destFiles(dest: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of new LocalBackend(dest).list('')) if (!o.key.endsWith('.pending')) keys.push(o.key);
  return keys.sort();
}

/** tree reads every file below a folder as path → contents. */
async function tree(dir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const e of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    m.set(path.relative(dir, full), (await fsp.readFile(full)).toString('base64'));
  }
  return m;
}

/** assertRestores restores the newest set and compares it with the source. */
async function assertRestores(f: Fixture, name: string): Promise<void> {
  const to = path.join(f.root, `restored-${name}`);
  const work = path.join(f.root, `work-${name}`);
  await fsp.mkdir(work, { recursive: true });
  await runRestore({ repo: new Repository(new LocalBackend(f.dest)), tools: await realTools(), password: PASSWORD, to, paths: [], overwrite: false, workDir: work, out: silentOutput(), signal: new AbortController().signal });
  assert.deepEqual(await tree(to), await tree(f.src), 'the restored tree equals the source');
}

async function journals(f: Fixture): Promise<string[]> {
  try {
    return (await fsp.readdir(jobPaths(f.jobDir).staging)).filter((n) => n.endsWith('.resume.json'));
  } catch {
    return [];
  }
}

const LATER = new Date('2026-11-29T11:00:00Z');

describe('resuming an unfinished set', () => {
  it('a run whose upload fails halfway is resumed: only missing objects are stored', async (t) => {
    const f = await makeFixture(t, 1280); // ≈ 20 volumes of 64 KiB
    const config = configFor(f, (c) => ({ ...c, protection: tinyWindows(c.protection) }));
    const faulty = new FaultyBackend(new LocalBackend(f.dest)).fail('put', { after: 8 });
    await assert.rejects(backup(f, faulty, config), /injected put fault/);
    const repo = new Repository(new LocalBackend(f.dest));
    let catalog = await repo.catalog();
    assert.equal(catalog.complete.length, 0, 'no descriptor after the failed run');
    assert.equal(catalog.incomplete.length, 1);
    const setId = catalog.incomplete[0]?.id ?? '';
    assert.deepEqual(await journals(f), [`${setId}.resume.json`], 'the archive is journaled for the next run');
    const before = await destFiles(f.dest);
    const volumesBefore = before.filter((k) => /\.7z\.\d{3}$/.test(k));
    assert.ok(volumesBefore.length >= 3, `some volumes were stored by the failed run (${volumesBefore.length})`);

    const log = new PutLog(new LocalBackend(f.dest));
    const second = await backup(f, log, config, undefined, LATER);
    assert.equal(second.sources[0]?.setId, setId, 'the same set is completed');
    assert.deepEqual(second.removedDebris, []);
    const n = second.sources[0]?.volumes ?? 0;
    assert.ok(n >= 18, `expected about 20 volumes, got ${n}`);
    for (const k of before) assert.equal(log.puts.get(k) ?? 0, 0, `${k} was stored by the failed run and not again`);
    for (const [k, c] of log.puts) assert.equal(c, 1, `${k} is stored once`);
    const d = await repo.readDescriptor(setId);
    for (const v of d.volumes) assert.ok(before.includes(`${setId}/${v.name}`) || log.puts.get(`${setId}/${v.name}`) === 1, `${v.name} is on the destination`);
    t.diagnostic(`run 1 stored ${before.length} objects (${volumesBefore.length} volumes); run 2 stored ${log.puts.size}`);
    catalog = await repo.catalog();
    assert.equal(catalog.complete.length, 1);
    assert.equal(catalog.incomplete.length, 0);
    assert.deepEqual(await journals(f), [], 'the journal is gone once the set is complete');
    await assertRestores(f, 'resumed');
  });

  it('does not resume when the source changed: a fresh set, the debris removed', async (t) => {
    const f = await makeFixture(t, 1280);
    const config = configFor(f);
    await assert.rejects(backup(f, new FaultyBackend(new LocalBackend(f.dest)).fail('put', { after: 6 }), config), /injected put fault/);
    const repo = new Repository(new LocalBackend(f.dest));
    const first = (await repo.catalog()).incomplete[0]?.id ?? '';
    assert.equal((await journals(f)).length, 1);
    const storedBefore = (await destFiles(f.dest)).filter((k) => /\.7z\.\d{3}$/.test(k));
    await fsp.writeFile(path.join(f.src, 'sub', 't0.txt'), 'changed after the failed run\n');

    const log = new PutLog(new LocalBackend(f.dest));
    const second = await backup(f, log, config, undefined, LATER);
    assert.deepEqual(second.removedDebris, [first], 'the unfinished set was removed');
    const setId = second.sources[0]?.setId ?? '';
    const d = await repo.readDescriptor(setId);
    // A fresh archive: every volume was stored by this run.
    for (const v of d.volumes) assert.equal(log.puts.get(`${setId}/${v.name}`), 1, `${v.name} stored anew`);
    assert.ok(storedBefore.length > 0);
    const catalog = await repo.catalog();
    assert.equal(catalog.complete.length, 1);
    assert.equal(catalog.incomplete.length, 0);
    assert.deepEqual(await journals(f), []);
    await assertRestores(f, 'fresh');
  });

  it('stores again an object that was damaged on the destination between the runs', async (t) => {
    const f = await makeFixture(t, 1280);
    const config = configFor(f);
    await assert.rejects(backup(f, new FaultyBackend(new LocalBackend(f.dest)).fail('put', { after: 8 }), config), /injected put fault/);
    const repo = new Repository(new LocalBackend(f.dest));
    const setId = (await repo.catalog()).incomplete[0]?.id ?? '';
    const victim = `${setId}/${setId}.7z.003`;
    const file = path.join(f.dest, victim);
    const size = (await fsp.stat(file)).size;
    const fh = await fsp.open(file, 'r+');
    await fh.write(Buffer.alloc(100, 0x5a), 0, 100, Math.floor(size / 2)); // same size, other bytes
    await fh.close();
    const untouched = (await destFiles(f.dest)).filter((k) => k !== victim);

    const log = new PutLog(new LocalBackend(f.dest));
    const second = await backup(f, log, config, undefined, LATER);
    assert.equal(second.sources[0]?.setId, setId, 'resumed');
    assert.equal(log.puts.get(victim), 1, 'the damaged volume is not trusted: it is stored again');
    for (const k of untouched) assert.equal(log.puts.get(k) ?? 0, 0, `${k} is intact and not stored again`);
    await assertRestores(f, 'repaired');
  });

  it('a provider that reports no SHA-256 (rclone, plain WebDAV): an object of the right size but other bytes is never trusted', async (t) => {
    const f = await makeFixture(t, 1280);
    const config = configFor(f);
    // A local folder seen as a remote: stat gives sizes only and there is no local path, like rclone.
    await assert.rejects(backup(f, new FaultyBackend(new AsRemote(new LocalBackend(f.dest))).fail('put', { after: 8 }), config), /injected put fault/);
    const setId = (await new Repository(new LocalBackend(f.dest)).catalog()).incomplete[0]?.id ?? '';
    const file = path.join(f.dest, setId, `${setId}.7z.002`);
    const size = (await fsp.stat(file)).size;
    const fh = await fsp.open(file, 'r+');
    await fh.write(Buffer.alloc(8, 0x5a), 0, 8, Math.floor(size / 2)); // same size, other bytes
    await fh.close();

    await backup(f, new AsRemote(new LocalBackend(f.dest)), config, undefined, LATER);
    const repo = new Repository(new LocalBackend(f.dest));
    const catalog = await repo.catalog();
    assert.equal(catalog.complete.length, 1);
    const d = catalog.complete[0];
    assert.ok(d !== undefined);
    const states = await checkObjects(path.join(f.dest, d.id), allObjects(d));
    assert.deepEqual([...states.entries()].filter(([, st]) => st !== 'ok'), [], 'every object of the complete set is intact on the destination');
    await assertRestores(f, 'nohash');
  });

  it('resumes a run that was killed (SIGKILL) after the archive was written', async (t) => {
    const f = await makeFixture(t, 1280);
    const state = path.join(f.root, 'state');
    const staging = jobPaths(f.jobDir).staging;
    const args = ['--state', state, 'backup', '--tier', 'weekly', '--source', f.src, '--dest', f.dest, '--volume-size', '64KiB', '--level', '1'];
    const env = { STRATA_PASSWORD: PASSWORD, STRATA_NOW: '2026-11-29T10:00:00Z' };
    let killed = false;
    const first = await strata(args, {
      env,
      onSpawn: (child) => {
        // Killed as soon as the journal exists: the archive is written, the set not yet complete.
        const timer = setInterval(() => {
          let names: string[] = [];
          try {
            names = readdirSync(staging);
          } catch {
            return;
          }
          if (names.some((n) => n.endsWith('.resume.json'))) {
            killed = child.kill('SIGKILL');
            clearInterval(timer);
          }
        }, 1);
        child.on('exit', () => clearInterval(timer));
      },
    });
    assert.ok(killed && first.signal === 'SIGKILL', `the first run was killed mid-upload (code ${first.code}, ${first.stderr})`);
    const repo = new Repository(new LocalBackend(f.dest));
    let catalog = await repo.catalog();
    assert.equal(catalog.complete.length, 0, 'the killed run left no complete set');
    assert.equal(catalog.incomplete.length, 1);
    const setId = catalog.incomplete[0]?.id ?? '';

    const second = await strata(args, { env: { ...env, STRATA_NOW: '2026-11-29T11:00:00Z' } });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout + second.stderr, new RegExp(`resuming the unfinished set ${setId}`));
    catalog = await repo.catalog();
    assert.deepEqual(catalog.complete.map((d) => d.id), [setId]);
    assert.equal(catalog.incomplete.length, 0);
    await assertRestores(f, 'killed');
  });
});
